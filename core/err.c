#include "err.h"

#include <stdarg.h>
#include <stdio.h>

static char slot[1024];

int nl_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(slot, sizeof slot, fmt, ap);
    va_end(ap);
    return -1;
}

const char *nl_error(void) { return slot; }
void nl_clear_error(void) { slot[0] = 0; }
