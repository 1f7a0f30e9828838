/* err.h: one error slot for the whole core.

   Contract: a core function that can fail returns NULL or a negative number and
   leaves a message in the slot. The message says what happened and ends with a
   hint, "... Hint: what to do.". The caller (CLI, Worker, tests) reads it with
   nl_error(). The slot is per process (the core is single-threaded per module
   instance), and a later failure overwrites an earlier one. */
#ifndef NL_ERR_H
#define NL_ERR_H

#if defined(__GNUC__)
#define NL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define NL_PRINTF(a, b)
#endif

/* Formats the message into the slot. Always returns -1, so `return nl_fail(...)`
   reads naturally in functions that return int. */
int nl_fail(const char *fmt, ...) NL_PRINTF(1, 2);
const char *nl_error(void);
void nl_clear_error(void);

#endif
