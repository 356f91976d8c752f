/*
 * Minimal TAP producer for the core unit tests (t/unit/test_*.c).
 * Each test binary prints "ok N - name" / "not ok N - name" lines and a
 * final "1..N" plan; t/000-core.t runs every binary and checks its TAP.
 */

#ifndef CXB_TAP_H
#define CXB_TAP_H

#include <stdio.h>
#include <string.h>

static int  tap_n;
static int  tap_failed;

#define TAP_OK(cond, ...)                                                     \
    do {                                                                      \
        int  tap_c_ = (cond) ? 1 : 0;                                         \
        tap_n++;                                                              \
        if (!tap_c_) {                                                        \
            tap_failed++;                                                     \
        }                                                                     \
        printf("%sok %d - ", tap_c_ ? "" : "not ", tap_n);                    \
        printf(__VA_ARGS__);                                                  \
        printf("\n");                                                         \
        if (!tap_c_) {                                                        \
            printf("#   failed at %s line %d\n", __FILE__, __LINE__);         \
        }                                                                     \
    } while (0)

#define TAP_IS_STR(got, expected, ...)                                        \
    do {                                                                      \
        const char  *tap_g_ = (got), *tap_e_ = (expected);                    \
        int  tap_c2_ = tap_g_ != NULL && tap_e_ != NULL                       \
                       && strcmp(tap_g_, tap_e_) == 0;                        \
        TAP_OK(tap_c2_, __VA_ARGS__);                                         \
        if (!tap_c2_) {                                                       \
            printf("#        got: '%s'\n#   expected: '%s'\n",                \
                   tap_g_ ? tap_g_ : "(null)", tap_e_ ? tap_e_ : "(null)");   \
        }                                                                     \
    } while (0)

#define TAP_DONE()                                                            \
    (printf("1..%d\n", tap_n), tap_failed ? 1 : 0)

#endif /* CXB_TAP_H */
