/*
 * Shared helpers of the libFuzzer targets (fuzz/fuzz_*.c).
 *
 * FUZZ_CHECK() is a property check: when it fails it prints what was
 * expected and aborts, which libFuzzer reports as a crash (and saves the
 * input under build/fuzz/artifacts/<target>/).
 */

#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define FUZZ_CHECK(cond, ...)                                                 \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "\nfuzz property violated at %s:%d: %s\n  ",      \
                    __FILE__, __LINE__, #cond);                               \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
            abort();                                                          \
        }                                                                     \
    } while (0)


/* a NUL-terminated copy of the input (free()) */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
    char  *s;

    s = malloc(size + 1);
    if (s == NULL) {
        abort();
    }

    if (size) {
        memcpy(s, data, size);
    }

    s[size] = '\0';

    return s;
}


static inline int
fuzz_has_prefix(const char *s, size_t len, const char *prefix)
{
    size_t  n = strlen(prefix);

    return len >= n && memcmp(s, prefix, n) == 0;
}


static inline int
fuzz_is_lower_hex(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }

    return 1;
}


/* a printable rendering of at most 200 bytes, for messages */
static inline const char *
fuzz_show(const char *s, size_t len)
{
    static char  buf[4 * 200 + 8];
    size_t       i, n;
    unsigned     c;

    n = 0;

    for (i = 0; i < len && i < 200; i++) {
        c = (unsigned char) s[i];

        if (c >= 0x20 && c < 0x7f && c != '\\') {
            buf[n++] = (char) c;

        } else {
            n += (size_t) snprintf(buf + n, 5, "\\x%02x", c);
        }
    }

    if (i < len) {
        memcpy(buf + n, "...", 4);

    } else {
        buf[n] = '\0';
    }

    return buf;
}


#endif /* FUZZ_COMMON_H */
