/* check.h: the tiny harness of the native C tests.

   CHECK(cond, fmt, ...) counts a pass or prints the failure with file:line;
   CHECK_CLOSE(a, b, tol, what) compares floats with a relative+absolute tolerance.
   check_summary() prints "N passed, N failed" and returns the exit code.
   Every test binary is one file with its own main(). */
#ifndef NL_CHECK_H
#define NL_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_pass, check_fail;

#define CHECK(cond, ...)                                              \
    do {                                                              \
        if (cond) {                                                   \
            check_pass++;                                             \
        } else {                                                      \
            check_fail++;                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);      \
            fprintf(stderr, __VA_ARGS__);                             \
            fprintf(stderr, "\n");                                    \
        }                                                             \
    } while (0)

#define CHECK_CLOSE(a, b, tol, what)                                                       \
    do {                                                                                   \
        double a_ = (a), b_ = (b);                                                         \
        CHECK(fabs(a_ - b_) <= (tol) * (1.0 + fabs(b_)), "%s: %.9g vs %.9g (tol %g)", what, \
              a_, b_, (double)(tol));                                                      \
    } while (0)

static inline int check_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, check_pass, check_fail);
    return check_fail ? 1 : 0;
}

#endif
