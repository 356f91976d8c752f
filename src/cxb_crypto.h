/*
 * Small cryptographic helpers shared by the core (SigV4, sealed tokens,
 * webhook signatures): HMAC-SHA256 and standard base64.
 *
 * Plain C over OpenSSL 3, no nginx headers.
 */

#ifndef CXB_CRYPTO_H
#define CXB_CRYPTO_H

#include <stddef.h>

#include <openssl/evp.h>

#include "cxb_buf.h"


#define CXB_SHA256_LEN  32


/* md (32 bytes) = HMAC-SHA256(key, p); md may overlap key.  0 or -1. */
int cxb_hmac_sha256(unsigned char *md, const void *key, size_t key_len,
    const void *p, size_t len);

/* md (32 bytes) = SHA-256(p).  0 or -1. */
int cxb_sha256(unsigned char *md, const void *p, size_t len);

/* AES-256-GCM, fetched once (NULL on failure). */
const EVP_CIPHER *cxb_aes_256_gcm(void);

/* Frees the algorithms and contexts fetched on first use (at exit). */
void cxb_crypto_cleanup(void);

/* Appends standard base64 (with padding) of src to out. */
void cxb_base64_encode(cxb_buf_t *out, const unsigned char *src, size_t len);

/*
 * Decodes standard base64 (padding optional, no whitespace) into dst, which
 * has room for dst_size bytes.  Returns the decoded length, or -1 for bad
 * input or too small a buffer.
 */
long cxb_base64_decode(unsigned char *dst, size_t dst_size, const char *src,
    size_t len);


#endif /* CXB_CRYPTO_H */
