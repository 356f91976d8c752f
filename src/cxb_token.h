/*
 * Sealed recording tokens: the object key, encrypted and authenticated, as
 * an opaque URL-safe string that never expires.
 *
 *   token = base64url-nopad(version || nonce || ciphertext || tag)
 *
 *   version     1 byte, 0x01
 *   nonce       12 bytes, HMAC-SHA256(mac key, object key) truncated: the
 *               same key and secret always give the same token (SIV-like);
 *               opening re-derives it from the plaintext and compares
 *   ciphertext  AES-256-GCM of the object key (same length), AAD = version
 *   tag         16 bytes, the GCM tag
 *
 * The AES and MAC keys are derived from the secret with HKDF-SHA256 (RFC
 * 5869; salt "cxbpush token v1", info "cxbpush token enc v1" and
 * "cxbpush token mac v1").  A key of n bytes gives a token of
 * CXB_TOKEN_LEN(n) = ceil(4 * (n + 29) / 3) characters: 92 for n = 40,
 * 1404 for n = 1024.
 *
 * Plain C over OpenSSL 3, no nginx headers.
 */

#ifndef CXB_TOKEN_H
#define CXB_TOKEN_H

#include <stddef.h>

#include "cxb_buf.h"


#define CXB_TOKEN_VERSION      0x01
#define CXB_TOKEN_NONCE_LEN    12
#define CXB_TOKEN_TAG_LEN      16
#define CXB_TOKEN_OVERHEAD     (1 + CXB_TOKEN_NONCE_LEN + CXB_TOKEN_TAG_LEN)
#define CXB_TOKEN_KEY_MAX      1024
#define CXB_TOKEN_SECRET_MIN   16

/* characters of the token of an n-byte key */
#define CXB_TOKEN_LEN(n)       ((4 * ((n) + CXB_TOKEN_OVERHEAD) + 2) / 3)
#define CXB_TOKEN_MIN_LEN      CXB_TOKEN_LEN(1)                    /* 40 */
#define CXB_TOKEN_MAX_LEN      CXB_TOKEN_LEN(CXB_TOKEN_KEY_MAX)    /* 1404 */


typedef struct {
    unsigned char  enc[32];
    unsigned char  mac[32];
} cxb_token_key_t;


/* Derives the keys once (configuration time): secret >= 16 bytes, else -1. */
int cxb_token_key_derive(cxb_token_key_t *k, const unsigned char *secret,
    size_t secret_len);

/* Wipes derived keys. */
void cxb_token_key_clear(cxb_token_key_t *k);

/*
 * Appends the token of objkey (1..1024 bytes) to out: 0, or -1 (bad
 * arguments, out of memory, OpenSSL failure) with out's length unchanged.
 */
int cxb_token_seal(cxb_buf_t *out, const cxb_token_key_t *k,
    const char *objkey, size_t len);

/*
 * Opens a token with each of the nkeys keys in turn (rotation: the first
 * mints, all verify).  Returns 0 with the object key appended to out, or -1
 * with out's length unchanged.  Bad lengths, characters outside the
 * base64url alphabet, non-canonical encodings and unknown versions are
 * rejected before any cryptography.
 */
int cxb_token_open(cxb_buf_t *out, const cxb_token_key_t *keys,
    size_t nkeys, const char *token, size_t len);


#endif /* CXB_TOKEN_H */
