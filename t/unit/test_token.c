/*
 * Unit tests for src/cxb_token.c: sealed recording tokens.
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tap.h"
#include "cxb_token.h"


#define SECRET_OLD  "0123456789abcdef"
#define SECRET_NEW  "a much longer and newer secret, 2024"


static const char  b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


static int seal(cxb_buf_t *out, const cxb_token_key_t *k, const char *s,
    size_t len);
static int opens_to(const cxb_token_key_t *keys, size_t nkeys,
    const char *token, size_t len, const char *expect, size_t elen);
static int rejected(const cxb_token_key_t *keys, size_t nkeys,
    const char *token, size_t len);
static size_t b64_encode(char *dst, const unsigned char *src, size_t len);
static size_t b64_decode(unsigned char *dst, const char *src, size_t len);
static int b64_only(const char *s, size_t len);
static size_t forge_with_nonce(char *dst, const cxb_token_key_t *k,
    const unsigned char *nonce, const char *objkey, size_t len);
static int hex_is(const unsigned char *p, const char *hex);


static int
seal(cxb_buf_t *out, const cxb_token_key_t *k, const char *s, size_t len)
{
    cxb_buf_reset(out);

    return cxb_token_seal(out, k, s, len) == 0 && !out->failed ? 0 : -1;
}


static int
opens_to(const cxb_token_key_t *keys, size_t nkeys, const char *token,
    size_t len, const char *expect, size_t elen)
{
    int        ok;
    cxb_buf_t  b;

    cxb_buf_init(&b);

    ok = cxb_token_open(&b, keys, nkeys, token, len) == 0
         && b.len == elen && (elen == 0 || memcmp(b.data, expect, elen) == 0);

    cxb_buf_free(&b);

    return ok;
}


static int
rejected(const cxb_token_key_t *keys, size_t nkeys, const char *token,
    size_t len)
{
    int        ok;
    cxb_buf_t  b;

    cxb_buf_init(&b);
    cxb_buf_adds(&b, "keep");

    ok = cxb_token_open(&b, keys, nkeys, token, len) == -1 && b.len == 4;

    cxb_buf_free(&b);

    return ok;
}


static size_t
b64_encode(char *dst, const unsigned char *src, size_t len)
{
    size_t         i, n, bits;
    unsigned long  v;

    n = 0;
    v = 0;
    bits = 0;

    for (i = 0; i < len; i++) {
        v = (v << 8 | src[i]) & 0xffff;
        bits += 8;

        while (bits >= 6) {
            bits -= 6;
            dst[n++] = b64[(v >> bits) & 0x3f];
        }
    }

    if (bits) {
        dst[n++] = b64[(v << (6 - bits)) & 0x3f];
    }

    return n;
}


static size_t
b64_decode(unsigned char *dst, const char *src, size_t len)
{
    size_t         i, n, bits;
    unsigned long  v;

    n = 0;
    v = 0;
    bits = 0;

    for (i = 0; i < len; i++) {
        v = (v << 6 | (unsigned long) (strchr(b64, src[i]) - b64)) & 0xffff;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            dst[n++] = (unsigned char) (v >> bits);
        }
    }

    return n;
}


static int
b64_only(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] == '\0' || strchr(b64, s[i]) == NULL) {
            return 0;
        }
    }

    return 1;
}


/* a token under k's AES key whose nonce is not the synthetic one */

static size_t
forge_with_nonce(char *dst, const cxb_token_key_t *k,
    const unsigned char *nonce, const char *objkey, size_t len)
{
    int              n;
    unsigned char    raw[CXB_TOKEN_OVERHEAD + CXB_TOKEN_KEY_MAX];
    EVP_CIPHER_CTX  *ctx;

    raw[0] = CXB_TOKEN_VERSION;
    memcpy(raw + 1, nonce, CXB_TOKEN_NONCE_LEN);

    ctx = EVP_CIPHER_CTX_new();

    if (ctx == NULL
        || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->enc, nonce)
           != 1
        || EVP_EncryptUpdate(ctx, NULL, &n, raw, 1) != 1
        || EVP_EncryptUpdate(ctx, raw + 1 + CXB_TOKEN_NONCE_LEN, &n,
                             (const unsigned char *) objkey, (int) len) != 1
        || EVP_EncryptFinal_ex(ctx, raw + 1 + CXB_TOKEN_NONCE_LEN + len, &n)
           != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CXB_TOKEN_TAG_LEN,
                               raw + 1 + CXB_TOKEN_NONCE_LEN + len) != 1)
    {
        EVP_CIPHER_CTX_free(ctx);
        return 0;
    }

    EVP_CIPHER_CTX_free(ctx);

    return b64_encode(dst, raw, len + CXB_TOKEN_OVERHEAD);
}


static int
hex_is(const unsigned char *p, const char *hex)
{
    size_t  i;
    char    s[3];

    for (i = 0; hex[2 * i]; i++) {
        s[0] = hex[2 * i];
        s[1] = hex[2 * i + 1];
        s[2] = '\0';

        if (strtoul(s, NULL, 16) != p[i]) {
            return 0;
        }
    }

    return 1;
}


int
main(void)
{
    int              ok, ok2;
    char            *t, *big, forged[2 * CXB_TOKEN_MAX_LEN];
    size_t           i, j, k, n, len;
    cxb_buf_t        a, b;
    unsigned char    raw[2 * CXB_TOKEN_MAX_LEN], nonce[CXB_TOKEN_NONCE_LEN];
    unsigned char    bin[256];
    cxb_token_key_t  kold, knew, kother, rot[2];

    static const char  *keys[] = {
        "calls/x.wav",
        "k",
        "recordings/2024/05/calls with spaces/a+b.wav",
        "r\303\251cordings/\346\227\245\346\234\254/\360\237\216\247.mp3",
        "a//b/./c/../d?x=1#f",
        "%2F%20 ~()!*'",
    };

    cxb_buf_init(&a);
    cxb_buf_init(&b);

    /* key derivation */

    TAP_OK(cxb_token_key_derive(&kold, (const unsigned char *) SECRET_OLD,
                                15) == -1, "15-byte secret rejected");
    TAP_OK(cxb_token_key_derive(&kold, NULL, 16) == -1, "NULL secret");
    TAP_OK(cxb_token_key_derive(&kold, (const unsigned char *) SECRET_OLD,
                                16) == 0, "16-byte secret accepted");
    TAP_OK(cxb_token_key_derive(&knew, (const unsigned char *) SECRET_NEW,
                                strlen(SECRET_NEW)) == 0, "new secret");
    TAP_OK(cxb_token_key_derive(&kother,
                                (const unsigned char *) SECRET_OLD "x",
                                17) == 0, "other secret");

    /* against "openssl kdf ... HKDF", salt "cxbpush token v1" */

    TAP_OK(hex_is(kold.enc, "35fe811679d18bd699bca16d2fdb9f30"
                            "8ef399c43c11f5c076d21ce192d3ebbf"),
           "enc key is HKDF-SHA256(info \"cxbpush token enc v1\")");
    TAP_OK(hex_is(kold.mac, "de0f62cd6a5b07ca540fa3673079cef8"
                            "bf9c0de12fd7822dbfa968900d153e50"),
           "mac key is HKDF-SHA256(info \"cxbpush token mac v1\")");

    rot[0] = knew;
    rot[1] = kold;

    /*
     * Known answers, computed independently (Python: hmac, hashlib,
     * cryptography's AESGCM): the format must never change, tokens already
     * handed out have to keep opening.
     */

    ok = seal(&a, &kold, "calls/x.wav", 11) == 0;
    TAP_IS_STR(ok ? cxb_buf_cstr(&a) : NULL,
               "AZJbdZtHyoYo9n7Qe9gWvhsAqM0vHrV1ELuBdrofHS0FywvPwPlZSQ",
               "known answer: calls/x.wav");
    ok = seal(&a, &kold, "calls/\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac+x.wav",
              21) == 0;
    TAP_IS_STR(ok ? cxb_buf_cstr(&a) : NULL,
               "AY5oOMx5AjLjqGutNizGrUeXhb_JtN6zgY8kQFKFZ__jXgKC6eYuiTEfL5Gj"
               "6CfAs3M", "known answer: unicode, space, plus");

    /* determinism, roundtrips, alphabet */

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        len = strlen(keys[i]);

        ok = seal(&a, &kold, keys[i], len) == 0;
        t = ok ? cxb_buf_detach(&a, &n) : NULL;
        ok = t != NULL && seal(&a, &kold, keys[i], len) == 0
             && a.len == n && memcmp(a.data, t, n) == 0;
        TAP_OK(ok, "same key and secret, same token: %s", keys[i]);

        TAP_OK(t != NULL && n == CXB_TOKEN_LEN(len) && b64_only(t, n),
               "length %zu is CXB_TOKEN_LEN(%zu), base64url only", n, len);

        TAP_OK(t != NULL && opens_to(&kold, 1, t, n, keys[i], len),
               "roundtrip: %s", keys[i]);

        TAP_OK(t != NULL && strstr(t, "calls") == NULL
               && strstr(t, "wav") == NULL, "opaque");

        ok = t != NULL && seal(&b, &kother, keys[i], len) == 0
             && (b.len != n || memcmp(b.data, t, n) != 0)
             && rejected(&kother, 1, t, n)
             && rejected(&kold, 1, b.data, b.len);
        TAP_OK(ok, "other secret, other token, neither opens the other");

        free(t);
    }

    ok = seal(&a, &kold, "calls/a.wav", 11) == 0
         && seal(&b, &kold, "calls/b.wav", 11) == 0
         && memcmp(a.data, b.data, a.len) != 0
         && memcmp(a.data, b.data, 3) != 0;
    TAP_OK(ok, "different keys, different tokens (and nonces)");

    /* every key length, binary keys */

    big = malloc(CXB_TOKEN_KEY_MAX + 1);

    if (big == NULL) {
        TAP_OK(0, "malloc");
        return TAP_DONE();
    }

    for (i = 0; i < CXB_TOKEN_KEY_MAX + 1; i++) {
        big[i] = (char) (i * 7 + 1);
    }

    ok = 1;

    for (len = 1; len <= CXB_TOKEN_KEY_MAX; len++) {
        if (seal(&a, &knew, big, len) != 0 || a.len != CXB_TOKEN_LEN(len)
            || !b64_only(a.data, a.len)
            || !opens_to(rot, 2, a.data, a.len, big, len))
        {
            ok = 0;
            break;
        }
    }

    TAP_OK(ok, "every key length 1..1024 seals to CXB_TOKEN_LEN, opens");

    memset(big, 'k', CXB_TOKEN_KEY_MAX);
    ok = seal(&a, &knew, big, CXB_TOKEN_KEY_MAX) == 0
         && a.len == CXB_TOKEN_MAX_LEN && CXB_TOKEN_MAX_LEN == 1404
         && opens_to(&knew, 1, a.data, a.len, big, CXB_TOKEN_KEY_MAX);
    TAP_OK(ok, "1024-byte key: 1404 characters, roundtrip");

    for (i = 0; i < sizeof(bin); i++) {
        bin[i] = (unsigned char) i;
    }

    ok = seal(&a, &knew, (const char *) bin, sizeof(bin)) == 0
         && opens_to(&knew, 1, a.data, a.len, (const char *) bin,
                     sizeof(bin));
    TAP_OK(ok, "binary key with NUL and 0xff bytes roundtrips");

    cxb_buf_reset(&a);
    TAP_OK(cxb_token_seal(&a, &knew, big, CXB_TOKEN_KEY_MAX + 1) == -1
           && cxb_token_seal(&a, &knew, big, 0) == -1
           && cxb_token_seal(&a, &knew, NULL, 1) == -1
           && cxb_token_seal(&a, NULL, big, 1) == -1
           && a.len == 0, "bad seal arguments rejected, out untouched");

    /* length bound: a 40-character key gives fewer than 100 characters */

    TAP_OK(CXB_TOKEN_LEN(40) == 92, "CXB_TOKEN_LEN(40) == 92");
    ok = seal(&a, &knew, "calls/2024/05/24/0123456789abcdef012.wav", 40)
         == 0 && a.len == 92 && a.len < 100;
    TAP_OK(ok, "40-character key: %zu characters (< 100)", a.len);
    TAP_OK(CXB_TOKEN_MIN_LEN == 40, "shortest token: 40 characters");

    /* rotation */

    ok = seal(&a, &kold, "calls/rotated.wav", 17) == 0;
    TAP_OK(ok && opens_to(rot, 2, a.data, a.len, "calls/rotated.wav", 17),
           "old token verifies with [new, old]");
    TAP_OK(ok && rejected(&rot[0], 1, a.data, a.len),
           "old token rejected with [new]");
    TAP_OK(ok && rejected(rot, 0, a.data, a.len), "no keys: rejected");
    ok = seal(&a, &rot[0], "calls/rotated.wav", 17) == 0;
    TAP_OK(ok && opens_to(rot, 2, a.data, a.len, "calls/rotated.wav", 17)
           && opens_to(rot, 1, a.data, a.len, "calls/rotated.wav", 17),
           "new token verifies with [new, old] and [new]");
    TAP_OK(ok && rejected(&kold, 1, a.data, a.len),
           "new token rejected with [old]");

    /*
     * forgeries, for keys of 16, 17 and 18 bytes: tokens of 60, 62 and 63
     * characters, with 0, 4 and 2 unused bits in the last one
     */

    for (k = 0; k < 3; k++) {
        ok = seal(&a, &kold, "calls/forged.wav/", 16 + k) == 0;
        t = ok ? cxb_buf_detach(&a, &n) : NULL;
        ok = t != NULL;
        ok2 = t != NULL;

        /* every character changed to every other one */

        for (i = 0; ok && i < n; i++) {
            memcpy(forged, t, n);

            for (j = 0; j < 64; j++) {
                if (b64[j] == t[i]) {
                    continue;
                }

                forged[i] = b64[j];

                if (!rejected(rot, 2, forged, n)) {
                    ok = 0;
                    break;
                }
            }

            for (j = 0; j < 8; j++) {
                forged[i] = (char) (t[i] ^ (1 << j));

                if (!rejected(rot, 2, forged, n)) {
                    ok2 = 0;
                }
            }
        }

        TAP_OK(ok, "%zu chars: every character replaced by every other: "
               "rejected", n);
        TAP_OK(ok2, "%zu chars: every bit of every character flipped: "
               "rejected", n);

        /* every bit of the sealed bytes flipped (re-encoded canonically) */

        len = t != NULL ? b64_decode(raw, t, n) : 0;
        ok = len == 16 + k + CXB_TOKEN_OVERHEAD;

        for (i = 0; ok && i < len * 8; i++) {
            raw[i / 8] ^= (unsigned char) (1 << (i % 8));

            if (b64_encode(forged, raw, len) != n
                || !rejected(rot, 2, forged, n))
            {
                ok = 0;
            }

            raw[i / 8] ^= (unsigned char) (1 << (i % 8));
        }

        TAP_OK(ok, "%zu chars: every bit of version, nonce, ciphertext, tag: "
               "rejected", n);

        /* wrong version, otherwise intact */

        ok = len > 0;

        for (i = 0; ok && i < 256; i++) {
            if (i == CXB_TOKEN_VERSION) {
                continue;
            }

            raw[0] = (unsigned char) i;
            b64_encode(forged, raw, len);
            ok = rejected(rot, 2, forged, n);
        }

        raw[0] = CXB_TOKEN_VERSION;
        b64_encode(forged, raw, len);
        TAP_OK(ok && opens_to(rot, 2, forged, n, "calls/forged.wav/", 16 + k),
               "%zu chars: every other version byte rejected", n);

        /* truncated to every length, extended */

        ok = t != NULL;

        for (i = 0; ok && i < n; i++) {
            ok = rejected(rot, 2, t, i);
        }

        TAP_OK(ok, "%zu chars: truncated to every length: rejected", n);

        ok = t != NULL;

        for (i = 0; ok && i < 64; i++) {
            memcpy(forged, t, n);
            forged[n] = b64[i];
            forged[n + 1] = 'A';
            forged[n + 2] = 'A';
            ok = rejected(rot, 2, forged, n + 1)
                 && rejected(rot, 2, forged, n + 2)
                 && rejected(rot, 2, forged, n + 3);
        }

        TAP_OK(ok, "%zu chars: extended by 1..3 characters: rejected", n);

        free(t);
    }

    /* a valid GCM seal under a nonce that is not the synthetic one */

    memset(nonce, 0x5a, sizeof(nonce));
    n = forge_with_nonce(forged, &kold, nonce, "calls/forged.wav", 16);
    TAP_OK(n == CXB_TOKEN_LEN(16) && rejected(rot, 2, forged, n),
           "authentic ciphertext under a foreign nonce: rejected");

    /* garbage, alphabet, oversized */

    TAP_OK(rejected(rot, 2, "", 0), "empty");
    TAP_OK(rejected(rot, 2, NULL, 0) && rejected(NULL, 1, "x", 1),
           "NULL arguments");
    memset(forged, 'A', sizeof(forged));
    TAP_OK(rejected(rot, 2, forged, 92), "all 'A'");
    TAP_OK(rejected(rot, 2, "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 42),
           "version 1 and zeros");

    ok = seal(&a, &knew, "calls/x.wav", 11) == 0;
    memcpy(forged, a.data, a.len);

    for (i = 0; ok && i < a.len; i++) {
        static const char  bad[] = "+/=.~ %\n\0\x80";

        for (j = 0; j < sizeof(bad) - 1; j++) {
            forged[i] = bad[j];
            ok = rejected(rot, 2, forged, a.len);

            if (!ok) {
                break;
            }
        }

        forged[i] = a.data[i];
    }

    TAP_OK(ok, "any character outside base64url at any position: rejected");

    forged[a.len] = '=';
    TAP_OK(ok && rejected(rot, 2, forged, a.len + 1), "padding rejected");

    srand(42);
    ok = 1;

    for (i = 0; i < 20000; i++) {
        n = CXB_TOKEN_MIN_LEN + (size_t) rand() % 200;

        for (j = 0; j < n; j++) {
            forged[j] = b64[rand() % 64];
        }

        if (!rejected(rot, 2, forged, n)) {
            ok = 0;
        }
    }

    TAP_OK(ok, "20000 random base64url strings: rejected");

    memset(big, 'k', CXB_TOKEN_KEY_MAX);
    ok = seal(&a, &knew, big, CXB_TOKEN_KEY_MAX) == 0;
    TAP_OK(ok && opens_to(&knew, 1, a.data, a.len, big, CXB_TOKEN_KEY_MAX),
           "longest token opens");
    cxb_buf_adds(&a, "AAAA");
    TAP_OK(rejected(rot, 2, a.data, CXB_TOKEN_MAX_LEN + 1)
           && rejected(rot, 2, a.data, CXB_TOKEN_MAX_LEN + 4),
           "oversized: rejected");

    free(big);
    big = malloc(4096);

    if (big != NULL) {
        memset(big, 'A', 4096);
        TAP_OK(rejected(rot, 2, big, 2048) && rejected(rot, 2, big, 2049)
               && rejected(rot, 2, big, 4096), "2048..4096 characters");
        free(big);
    }

    /* append semantics */

    cxb_buf_reset(&a);
    cxb_buf_adds(&a, "p:");
    ok = cxb_token_seal(&a, &knew, "k", 1) == 0 && a.len == 2 + 40
         && memcmp(a.data, "p:", 2) == 0;
    TAP_OK(ok, "seal appends");
    cxb_buf_reset(&b);
    cxb_buf_adds(&b, "q:");
    ok = ok && cxb_token_open(&b, rot, 2, a.data + 2, a.len - 2) == 0
         && b.len == 3 && memcmp(b.data, "q:k", 3) == 0;
    TAP_OK(ok, "open appends");

    cxb_token_key_clear(&kold);
    TAP_OK(kold.enc[0] == 0 && kold.mac[31] == 0
           && memcmp(kold.enc, kold.enc + 1, 31) == 0, "key clear wipes");

    cxb_token_key_clear(&knew);
    cxb_token_key_clear(&kother);
    cxb_token_key_clear(&rot[0]);
    cxb_token_key_clear(&rot[1]);
    cxb_buf_free(&a);
    cxb_buf_free(&b);

    return TAP_DONE();
}
