/* fuzz_config.c: libFuzzer harness for the config parser (the URL hash is user input).
   Any input must parse or fail with a message; a parsed config must round-trip
   through its canonical string (which expands any preset), and its loss must resolve (loss.h) or fail with
   a message that ends with a hint. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "loss.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    Config c, d;
    if (config_parse(&c, s) == 0) {
        char buf[4096];
        if (config_to_string(&c, buf, sizeof buf) == 0) {
            if (config_parse(&d, buf) != 0 || memcmp(&c, &d, sizeof c) != 0) abort();
            if (strstr(buf, "preset=")) abort(); /* presets are expanded, never kept */
        }
        static Loss l;
        if (loss_from_config(&l, &c) == 0) {
            if (loss_params_json(&l, buf, sizeof buf) != 0) abort();
        } else if (!strstr(nl_error(), "Hint:")) {
            abort();
        }
    } else if (!strstr(nl_error(), "Hint:")) {
        abort(); /* every error ends with a hint */
    }
    free(s);
    return 0;
}
