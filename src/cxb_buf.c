/*
 * Growable byte buffer for the core.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxb_buf.h"


void
cxb_buf_init(cxb_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
}


void
cxb_buf_free(cxb_buf_t *b)
{
    free(b->data);
    cxb_buf_init(b);
}


void
cxb_buf_reset(cxb_buf_t *b)
{
    b->len = 0;
    b->failed = 0;
}


int
cxb_buf_reserve(cxb_buf_t *b, size_t n)
{
    char    *p;
    size_t   cap;

    if (b->failed) {
        return -1;
    }

    if (b->len + n + 1 <= b->cap) {
        return 0;
    }

    cap = b->cap ? b->cap : 64;

    while (cap < b->len + n + 1) {
        if (cap > ((size_t) -1) / 2) {
            b->failed = 1;
            return -1;
        }
        cap *= 2;
    }

    p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = 1;
        return -1;
    }

    b->data = p;
    b->cap = cap;

    return 0;
}


void
cxb_buf_add(cxb_buf_t *b, const char *p, size_t n)
{
    if (n == 0 || cxb_buf_reserve(b, n) != 0) {
        return;
    }

    memcpy(b->data + b->len, p, n);
    b->len += n;
}


void
cxb_buf_adds(cxb_buf_t *b, const char *s)
{
    cxb_buf_add(b, s, strlen(s));
}


void
cxb_buf_addc(cxb_buf_t *b, char c)
{
    if (cxb_buf_reserve(b, 1) != 0) {
        return;
    }

    b->data[b->len++] = c;
}


void
cxb_buf_printf(cxb_buf_t *b, const char *fmt, ...)
{
    int       n;
    va_list   ap;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);

    if (n < 0 || cxb_buf_reserve(b, (size_t) n) != 0) {
        b->failed = 1;
        return;
    }

    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
    va_end(ap);

    b->len += n;
}


char *
cxb_buf_detach(cxb_buf_t *b, size_t *len)
{
    char  *p;

    if (cxb_buf_reserve(b, 0) != 0) {
        cxb_buf_free(b);
        return NULL;
    }

    b->data[b->len] = '\0';
    p = b->data;

    if (len) {
        *len = b->len;
    }

    cxb_buf_init(b);

    return p;
}


const char *
cxb_buf_cstr(cxb_buf_t *b)
{
    if (cxb_buf_reserve(b, 0) != 0) {
        return NULL;
    }

    b->data[b->len] = '\0';

    return b->data;
}
