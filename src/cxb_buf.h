/*
 * Growable byte buffer for the core (no nginx headers).
 *
 * Amortised O(1) appends (capacity doubles), so building a string piece by
 * piece stays linear.  A failed allocation sets "failed" and every later
 * append is a no-op: callers check once at the end.
 */

#ifndef CXB_BUF_H
#define CXB_BUF_H

#include <stddef.h>


typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
    int      failed;
} cxb_buf_t;


void cxb_buf_init(cxb_buf_t *b);
void cxb_buf_free(cxb_buf_t *b);
void cxb_buf_reset(cxb_buf_t *b);
int cxb_buf_reserve(cxb_buf_t *b, size_t n);
void cxb_buf_add(cxb_buf_t *b, const char *p, size_t n);
void cxb_buf_adds(cxb_buf_t *b, const char *s);
void cxb_buf_addc(cxb_buf_t *b, char c);
void cxb_buf_printf(cxb_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* NUL-terminates and hands the malloc'ed string to the caller (free()). */
char *cxb_buf_detach(cxb_buf_t *b, size_t *len);

/* NUL-terminated view of the contents, or NULL if an append failed. */
const char *cxb_buf_cstr(cxb_buf_t *b);


#endif /* CXB_BUF_H */
