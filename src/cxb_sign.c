/*
 * Webhook signatures (Standard Webhooks).
 */

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cxb_crypto.h"
#include "cxb_sign.h"


int
cxb_sign_key_parse(cxb_sign_key_t *k, const char *secret, size_t len)
{
    long  n;

    if (len >= 6 && memcmp(secret, "whsec_", 6) == 0) {
        secret += 6;
        len -= 6;
    }

    n = cxb_base64_decode(k->key, sizeof(k->key), secret, len);

    if (n < 16) {
        OPENSSL_cleanse(k->key, sizeof(k->key));
        return -1;
    }

    k->len = (size_t) n;

    return 0;
}


int
cxb_sign(cxb_buf_t *out, const cxb_sign_key_t *keys, size_t nkeys,
    const char *id, int64_t timestamp, const char *body, size_t len)
{
    int            rc;
    char           ts[24];
    size_t         i, start;
    cxb_buf_t      msg;
    unsigned char  md[CXB_SHA256_LEN];

    start = out->len;

    cxb_buf_init(&msg);
    snprintf(ts, sizeof(ts), "%lld", (long long) timestamp);

    cxb_buf_adds(&msg, id);
    cxb_buf_addc(&msg, '.');
    cxb_buf_adds(&msg, ts);
    cxb_buf_addc(&msg, '.');
    cxb_buf_add(&msg, body, len);

    rc = msg.failed ? -1 : 0;

    for (i = 0; rc == 0 && i < nkeys; i++) {
        if (cxb_hmac_sha256(md, keys[i].key, keys[i].len, msg.data, msg.len)
            != 0)
        {
            rc = -1;
            break;
        }

        if (i) {
            cxb_buf_addc(out, ' ');
        }

        cxb_buf_adds(out, "v1,");
        cxb_base64_encode(out, md, sizeof(md));
    }

    OPENSSL_cleanse(md, sizeof(md));
    cxb_buf_free(&msg);

    if (rc != 0 || out->failed) {
        out->len = start;
        return -1;
    }

    return 0;
}
