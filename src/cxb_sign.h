/*
 * Webhook signatures as the Standard Webhooks specification defines them:
 *
 *   webhook-signature: v1,<base64 HMAC-SHA256(key, id "." timestamp "." body)>
 *
 * where key is the base64-decoded part of a "whsec_..." secret; several
 * secrets (rotation) give several space-separated signatures.
 *
 * Plain C over OpenSSL 3, no nginx headers.
 */

#ifndef CXB_SIGN_H
#define CXB_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "cxb_buf.h"


#define CXB_SIGN_KEY_MAX  64


typedef struct {
    unsigned char   key[CXB_SIGN_KEY_MAX];
    size_t          len;
} cxb_sign_key_t;


/*
 * Parses "whsec_<base64>" (the prefix is optional): 0, or -1 when the
 * secret is not base64 or decodes to fewer than 16 or more than 64 bytes.
 */
int cxb_sign_key_parse(cxb_sign_key_t *k, const char *secret, size_t len);

/* Appends the webhook-signature value ("v1,... v1,...") to out: 0 or -1. */
int cxb_sign(cxb_buf_t *out, const cxb_sign_key_t *keys, size_t nkeys,
    const char *id, int64_t timestamp, const char *body, size_t len);


#endif /* CXB_SIGN_H */
