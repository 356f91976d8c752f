/*
 * Small cryptographic helpers shared by the core.
 */

#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cxb_crypto.h"


static const char  cxb_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


int
cxb_hmac_sha256(unsigned char *md, const void *key, size_t key_len,
    const void *p, size_t len)
{
    unsigned int   n;
    unsigned char  r[EVP_MAX_MD_SIZE];

    /* key and md may overlap: chains feed each result into the next key */

    if (HMAC(EVP_sha256(), key, (int) key_len, p, len, r, &n) == NULL
        || n != CXB_SHA256_LEN)
    {
        OPENSSL_cleanse(r, sizeof(r));
        return -1;
    }

    memcpy(md, r, CXB_SHA256_LEN);
    OPENSSL_cleanse(r, sizeof(r));

    return 0;
}


void
cxb_base64_encode(cxb_buf_t *out, const unsigned char *src, size_t len)
{
    char      *d;
    size_t     i;
    uint32_t   v;

    if (cxb_buf_reserve(out, (len + 2) / 3 * 4) != 0) {
        return;
    }

    d = out->data + out->len;

    for (i = 0; i + 2 < len; i += 3) {
        v = (uint32_t) src[i] << 16 | (uint32_t) src[i + 1] << 8 | src[i + 2];
        *d++ = cxb_b64[v >> 18];
        *d++ = cxb_b64[(v >> 12) & 0x3f];
        *d++ = cxb_b64[(v >> 6) & 0x3f];
        *d++ = cxb_b64[v & 0x3f];
    }

    if (i < len) {
        v = (uint32_t) src[i] << 16;

        if (i + 1 < len) {
            v |= (uint32_t) src[i + 1] << 8;
        }

        *d++ = cxb_b64[v >> 18];
        *d++ = cxb_b64[(v >> 12) & 0x3f];
        *d++ = (i + 1 < len) ? cxb_b64[(v >> 6) & 0x3f] : '=';
        *d++ = '=';
    }

    out->len = (size_t) (d - out->data);
}


long
cxb_base64_decode(unsigned char *dst, size_t dst_size, const char *src,
    size_t len)
{
    int           bits;
    size_t        i, n;
    uint32_t      acc;
    const char   *p;

    while (len && src[len - 1] == '=') {
        len--;
    }

    if (len % 4 == 1) {
        return -1;
    }

    acc = 0;
    bits = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        p = src[i] ? strchr(cxb_b64, src[i]) : NULL;

        if (p == NULL) {
            return -1;
        }

        acc = (acc << 6) | (uint32_t) (p - cxb_b64);
        bits += 6;

        if (bits >= 8) {
            bits -= 8;

            if (n == dst_size) {
                return -1;
            }

            dst[n++] = (unsigned char) (acc >> bits);
        }
    }

    return (long) n;
}
