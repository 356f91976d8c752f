/*
 * Sealed recording tokens: deterministic authenticated encryption of an
 * object key (AES-256-GCM under a synthetic nonce), base64url without
 * padding.  See cxb_token.h for the format.
 */

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cxb_crypto.h"
#include "cxb_token.h"


#define CXB_TOKEN_RAW_MAX  (CXB_TOKEN_OVERHEAD + CXB_TOKEN_KEY_MAX)


static int cxb_token_nonce(unsigned char *nonce, const cxb_token_key_t *k,
    const unsigned char *objkey, size_t len);
static int cxb_token_gcm(int encrypt, const cxb_token_key_t *k,
    const unsigned char *nonce, const unsigned char *aad,
    const unsigned char *in, size_t len, unsigned char *out,
    unsigned char *tag);
static void cxb_token_b64_encode(char *dst, const unsigned char *src,
    size_t len);
static int cxb_token_b64_decode(unsigned char *dst, const char *src,
    size_t len);


static const char  cxb_token_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


int
cxb_token_key_derive(cxb_token_key_t *k, const unsigned char *secret,
    size_t secret_len)
{
    int            rc;
    unsigned char  prk[32];

    static const char  salt[] = "cxbpush token v1";
    static const char  enc_info[] = "cxbpush token enc v1\x01";
    static const char  mac_info[] = "cxbpush token mac v1\x01";

    if (k == NULL || secret == NULL || secret_len < CXB_TOKEN_SECRET_MIN
        || secret_len > 0x7fffffff)
    {
        return -1;
    }

    /* HKDF-SHA256: extract, then one block of expand per key */

    rc = -1;

    if (cxb_hmac_sha256(prk, salt, sizeof(salt) - 1, secret, secret_len) == 0
        && cxb_hmac_sha256(k->enc, prk, sizeof(prk), enc_info,
                          sizeof(enc_info) - 1) == 0
        && cxb_hmac_sha256(k->mac, prk, sizeof(prk), mac_info,
                          sizeof(mac_info) - 1) == 0)
    {
        rc = 0;

    } else {
        cxb_token_key_clear(k);
    }

    OPENSSL_cleanse(prk, sizeof(prk));

    return rc;
}


void
cxb_token_key_clear(cxb_token_key_t *k)
{
    if (k != NULL) {
        OPENSSL_cleanse(k, sizeof(cxb_token_key_t));
    }
}


int
cxb_token_seal(cxb_buf_t *out, const cxb_token_key_t *k, const char *objkey,
    size_t len)
{
    size_t          n;
    unsigned char   raw[CXB_TOKEN_RAW_MAX];
    unsigned char  *nonce, *ct, *tag;

    if (out == NULL || k == NULL || objkey == NULL
        || len == 0 || len > CXB_TOKEN_KEY_MAX)
    {
        return -1;
    }

    n = CXB_TOKEN_LEN(len);

    if (cxb_buf_reserve(out, n) != 0) {
        return -1;
    }

    raw[0] = CXB_TOKEN_VERSION;
    nonce = raw + 1;
    ct = nonce + CXB_TOKEN_NONCE_LEN;
    tag = ct + len;

    if (cxb_token_nonce(nonce, k, (const unsigned char *) objkey, len) != 0
        || cxb_token_gcm(1, k, nonce, raw, (const unsigned char *) objkey,
                         len, ct, tag)
           != 0)
    {
        return -1;
    }

    cxb_token_b64_encode(out->data + out->len, raw, len + CXB_TOKEN_OVERHEAD);
    out->len += n;

    return 0;
}


int
cxb_token_open(cxb_buf_t *out, const cxb_token_key_t *keys, size_t nkeys,
    const char *token, size_t len)
{
    int             rc;
    size_t          i, raw_len, n;
    unsigned char   raw[CXB_TOKEN_RAW_MAX], pt[CXB_TOKEN_KEY_MAX];
    unsigned char   nonce[CXB_TOKEN_NONCE_LEN];

    if (out == NULL || keys == NULL || token == NULL) {
        return -1;
    }

    /* cheap checks first: length, alphabet, canonical encoding, version */

    if (len < CXB_TOKEN_MIN_LEN || len > CXB_TOKEN_MAX_LEN || len % 4 == 1) {
        return -1;
    }

    raw_len = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);

    if (cxb_token_b64_decode(raw, token, len) != 0
        || raw[0] != CXB_TOKEN_VERSION)
    {
        return -1;
    }

    n = raw_len - CXB_TOKEN_OVERHEAD;
    rc = -1;

    for (i = 0; i < nkeys; i++) {

        if (cxb_token_gcm(0, &keys[i], raw + 1, raw,
                          raw + 1 + CXB_TOKEN_NONCE_LEN, n, pt,
                          raw + 1 + CXB_TOKEN_NONCE_LEN + n)
            != 0)
        {
            continue;
        }

        /* the nonce must be the one this key derives from the plaintext */

        if (cxb_token_nonce(nonce, &keys[i], pt, n) != 0
            || CRYPTO_memcmp(nonce, raw + 1, CXB_TOKEN_NONCE_LEN) != 0)
        {
            continue;
        }

        cxb_buf_add(out, (const char *) pt, n);

        if (!out->failed) {
            rc = 0;
        }

        break;
    }

    OPENSSL_cleanse(pt, sizeof(pt));

    return rc;
}


static int
cxb_token_nonce(unsigned char *nonce, const cxb_token_key_t *k,
    const unsigned char *objkey, size_t len)
{
    unsigned char  md[32];

    if (cxb_hmac_sha256(md, k->mac, sizeof(k->mac), objkey, len) != 0) {
        return -1;
    }

    memcpy(nonce, md, CXB_TOKEN_NONCE_LEN);
    OPENSSL_cleanse(md, sizeof(md));

    return 0;
}


/* AES-256-GCM with the 1-byte version as AAD; on decryption tag is checked */

static int
cxb_token_gcm(int encrypt, const cxb_token_key_t *k,
    const unsigned char *nonce, const unsigned char *aad,
    const unsigned char *in, size_t len, unsigned char *out,
    unsigned char *tag)
{
    int              rc, n;
    EVP_CIPHER_CTX  *ctx;

    ctx = EVP_CIPHER_CTX_new();

    if (ctx == NULL) {
        return -1;
    }

    rc = -1;

    if (EVP_CipherInit_ex(ctx, cxb_aes_256_gcm(), NULL, NULL, NULL, encrypt)
           != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
                               CXB_TOKEN_NONCE_LEN, NULL)
           != 1
        || EVP_CipherInit_ex(ctx, NULL, NULL, k->enc, nonce, encrypt) != 1
        || EVP_CipherUpdate(ctx, NULL, &n, aad, 1) != 1
        || EVP_CipherUpdate(ctx, out, &n, in, (int) len) != 1
        || (size_t) n != len)
    {
        goto done;
    }

    if (encrypt) {
        if (EVP_CipherFinal_ex(ctx, out + n, &n) == 1 && n == 0
            && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
                                   CXB_TOKEN_TAG_LEN, tag)
               == 1)
        {
            rc = 0;
        }

    } else {
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CXB_TOKEN_TAG_LEN,
                                tag)
            == 1
            && EVP_CipherFinal_ex(ctx, out + n, &n) == 1 && n == 0)
        {
            rc = 0;
        }
    }

done:

    EVP_CIPHER_CTX_free(ctx);

    return rc;
}


static void
cxb_token_b64_encode(char *dst, const unsigned char *src, size_t len)
{
    unsigned long  v;

    for ( /* void */ ; len >= 3; len -= 3, src += 3) {
        v = (unsigned long) src[0] << 16 | src[1] << 8 | src[2];
        *dst++ = cxb_token_b64[v >> 18];
        *dst++ = cxb_token_b64[(v >> 12) & 0x3f];
        *dst++ = cxb_token_b64[(v >> 6) & 0x3f];
        *dst++ = cxb_token_b64[v & 0x3f];
    }

    if (len == 2) {
        v = (unsigned long) src[0] << 16 | src[1] << 8;
        *dst++ = cxb_token_b64[v >> 18];
        *dst++ = cxb_token_b64[(v >> 12) & 0x3f];
        *dst++ = cxb_token_b64[(v >> 6) & 0x3f];

    } else if (len == 1) {
        v = (unsigned long) src[0] << 16;
        *dst++ = cxb_token_b64[v >> 18];
        *dst++ = cxb_token_b64[(v >> 12) & 0x3f];
    }
}


/* len % 4 != 1; rejects other characters and non-zero trailing bits */

static int
cxb_token_b64_decode(unsigned char *dst, const char *src, size_t len)
{
    int            c;
    size_t         i, bits;
    unsigned long  v;

    v = 0;
    bits = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) src[i];

        if (c >= 'A' && c <= 'Z') {
            c -= 'A';

        } else if (c >= 'a' && c <= 'z') {
            c = c - 'a' + 26;

        } else if (c >= '0' && c <= '9') {
            c = c - '0' + 52;

        } else if (c == '-') {
            c = 62;

        } else if (c == '_') {
            c = 63;

        } else {
            return -1;
        }

        v = (v << 6 | (unsigned long) c) & 0xffffff;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            *dst++ = (unsigned char) (v >> bits);
        }
    }

    /* the unused low bits of the last character must be zero */

    if (v & ((1UL << bits) - 1)) {
        return -1;
    }

    return 0;
}
