/*
 * Small cryptographic helpers shared by the core.
 */

#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "cxb_crypto.h"


static const char  cxb_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


/*
 * OpenSSL 3 looks an algorithm up again on every one-shot HMAC() or
 * EVP_Digest(); fetching them once and reusing one context each (the core
 * runs in one thread: an nginx worker, the CLI) makes a presigned URL or a
 * token check several times cheaper.
 */

static EVP_MAC_CTX  *cxb_hmac_ctx;
static EVP_MD_CTX   *cxb_md_ctx;
static EVP_MD       *cxb_sha256_md;
static EVP_CIPHER   *cxb_gcm;


static int
cxb_crypto_init(void)
{
    EVP_MAC     *mac;
    OSSL_PARAM   params[2];

    if (cxb_hmac_ctx != NULL) {
        return 0;
    }

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) {
        return -1;
    }

    cxb_hmac_ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);

    if (cxb_hmac_ctx == NULL) {
        return -1;
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *) "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();

    cxb_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    cxb_md_ctx = EVP_MD_CTX_new();
    cxb_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);

    if (EVP_MAC_CTX_set_params(cxb_hmac_ctx, params) != 1
        || cxb_sha256_md == NULL || cxb_md_ctx == NULL || cxb_gcm == NULL)
    {
        cxb_crypto_cleanup();
        return -1;
    }

    return 0;
}


void
cxb_crypto_cleanup(void)
{
    EVP_MAC_CTX_free(cxb_hmac_ctx);
    EVP_MD_CTX_free(cxb_md_ctx);
    EVP_MD_free(cxb_sha256_md);
    EVP_CIPHER_free(cxb_gcm);

    cxb_gcm = NULL;
    cxb_hmac_ctx = NULL;
    cxb_md_ctx = NULL;
    cxb_sha256_md = NULL;
}


int
cxb_hmac_sha256(unsigned char *md, const void *key, size_t key_len,
    const void *p, size_t len)
{
    size_t         n;
    unsigned char  r[EVP_MAX_MD_SIZE];

    /* key and md may overlap: chains feed each result into the next key */

    if (cxb_crypto_init() != 0
        || EVP_MAC_init(cxb_hmac_ctx, key, key_len, NULL) != 1
        || EVP_MAC_update(cxb_hmac_ctx, p, len) != 1
        || EVP_MAC_final(cxb_hmac_ctx, r, &n, sizeof(r)) != 1
        || n != CXB_SHA256_LEN)
    {
        OPENSSL_cleanse(r, sizeof(r));
        return -1;
    }

    memcpy(md, r, CXB_SHA256_LEN);
    OPENSSL_cleanse(r, sizeof(r));

    return 0;
}


const EVP_CIPHER *
cxb_aes_256_gcm(void)
{
    return cxb_crypto_init() == 0 ? cxb_gcm : NULL;
}


int
cxb_sha256(unsigned char *md, const void *p, size_t len)
{
    unsigned int  n;

    if (cxb_crypto_init() != 0
        || EVP_DigestInit_ex(cxb_md_ctx, cxb_sha256_md, NULL) != 1
        || EVP_DigestUpdate(cxb_md_ctx, p, len) != 1
        || EVP_DigestFinal_ex(cxb_md_ctx, md, &n) != 1
        || n != CXB_SHA256_LEN)
    {
        return -1;
    }

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
