/*
 * libFuzzer target: sealed recording tokens (src/cxb_token.c) and the
 * base64 helpers and webhook signing keys next to them (src/cxb_crypto.c,
 * src/cxb_sign.c).
 *
 * Input: a token to verify, and at the same time an object key to seal.
 *
 * Checks:
 *   - cxb_token_open() with two keys (rotation) either fails leaving the
 *     output untouched, or succeeds with a plaintext that one of the keys
 *     seals back to exactly the input (tokens are deterministic and
 *     canonical: no second spelling of a token opens);
 *   - an object key of 1..1024 bytes seals, under either key, to a token of
 *     CXB_TOKEN_LEN(n) base64url characters that opens (with both keys, and
 *     with its own key alone) to the same bytes, does not open with the
 *     other key alone, and is the same when sealed again;
 *   - changing any one character of a valid token makes it fail to open;
 *   - keys outside 1..1024 bytes do not seal;
 *   - cxb_base64_encode() agrees with OpenSSL's EVP_EncodeBlock() and
 *     cxb_base64_decode() gives the input back; decoding the raw input
 *     never overruns its buffer; cxb_sign_key_parse() accepts only keys of
 *     16..64 bytes.
 */

#include <openssl/evp.h>

#include "cxb_buf.h"
#include "cxb_crypto.h"
#include "cxb_sign.h"
#include "cxb_token.h"
#include "fuzz_common.h"


#define SECRET_NEW  "a much longer and newer secret, 2024"
#define SECRET_OLD  "0123456789abcdef"


static cxb_token_key_t  keys[2];
static int              initialized;

static const char  b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


static void
init(void)
{
    if (cxb_token_key_derive(&keys[0], (const unsigned char *) SECRET_NEW,
                             sizeof(SECRET_NEW) - 1) != 0
        || cxb_token_key_derive(&keys[1], (const unsigned char *) SECRET_OLD,
                                sizeof(SECRET_OLD) - 1) != 0)
    {
        abort();
    }

    initialized = 1;
}


static int
opens(const cxb_token_key_t *k, size_t nk, const char *tok, size_t len,
    const uint8_t *want, size_t wlen)
{
    int        ok;
    cxb_buf_t  b;

    cxb_buf_init(&b);

    ok = cxb_token_open(&b, k, nk, tok, len) == 0
         && b.len == wlen && memcmp(b.data, want, wlen) == 0;

    cxb_buf_free(&b);

    return ok;
}


static void
check_open(const uint8_t *data, size_t size)
{
    int        i, rc, same;
    cxb_buf_t  out, again;

    cxb_buf_init(&out);
    cxb_buf_adds(&out, "keep");

    rc = cxb_token_open(&out, keys, 2, (const char *) data, size);

    if (rc != 0) {
        FUZZ_CHECK(out.len == 4 && memcmp(out.data, "keep", 4) == 0,
                   "a failed open changed the output");
        cxb_buf_free(&out);
        return;
    }

    FUZZ_CHECK(out.len > 4 && out.len - 4 <= CXB_TOKEN_KEY_MAX,
               "opened to %zu bytes", out.len - 4);

    /* canonical: one of the keys seals the plaintext back to the input */

    same = 0;

    for (i = 0; i < 2 && !same; i++) {
        cxb_buf_init(&again);
        FUZZ_CHECK(cxb_token_seal(&again, &keys[i], out.data + 4,
                                  out.len - 4) == 0, "reseal failed");
        same = again.len == size && memcmp(again.data, data, size) == 0;
        cxb_buf_free(&again);
    }

    FUZZ_CHECK(same, "a token that is not what sealing gives opened: %s",
               fuzz_show((const char *) data, size));

    cxb_buf_free(&out);
}


static void
check_seal(const uint8_t *data, size_t size)
{
    int        i, j;
    char      *tok, *bad;
    size_t     n, k, pos;
    cxb_buf_t  t, t2;

    cxb_buf_init(&t);

    if (size == 0 || size > CXB_TOKEN_KEY_MAX) {
        cxb_buf_adds(&t, "keep");
        FUZZ_CHECK(cxb_token_seal(&t, &keys[0], (const char *) data, size)
                   == -1 && t.len == 4, "sealed a %zu-byte key", size);
        cxb_buf_free(&t);
        return;
    }

    for (i = 0; i < 2; i++) {
        cxb_buf_reset(&t);
        FUZZ_CHECK(cxb_token_seal(&t, &keys[i], (const char *) data, size)
                   == 0, "seal of a %zu-byte key failed", size);

        n = CXB_TOKEN_LEN(size);
        FUZZ_CHECK(t.len == n, "token of %zu chars for %zu bytes, want %zu",
                   t.len, size, n);

        for (k = 0; k < n; k++) {
            FUZZ_CHECK(t.data[k] != '\0' && strchr(b64url, t.data[k]),
                       "byte 0x%02x in a token", (unsigned char) t.data[k]);
        }

        tok = t.data;

        FUZZ_CHECK(opens(keys, 2, tok, n, data, size),
                   "sealed with key %d, does not open with both keys", i);
        FUZZ_CHECK(opens(&keys[i], 1, tok, n, data, size),
                   "sealed with key %d, does not open with it", i);
        FUZZ_CHECK(!opens(&keys[1 - i], 1, tok, n, data, size),
                   "sealed with key %d, opens with the other key", i);

        cxb_buf_init(&t2);
        FUZZ_CHECK(cxb_token_seal(&t2, &keys[i], (const char *) data, size)
                   == 0 && t2.len == n && memcmp(t2.data, tok, n) == 0,
                   "sealing is not deterministic");
        cxb_buf_free(&t2);

        /* any one changed character fails (position and value from data) */

        bad = fuzz_strndup((const uint8_t *) tok, n);
        pos = (size_t) data[0] * 7 % n;
        j = (int) (strchr(b64url, bad[pos]) - b64url);
        bad[pos] = b64url[(j + 1 + data[size - 1] % 63) % 64];

        cxb_buf_init(&t2);
        FUZZ_CHECK(cxb_token_open(&t2, keys, 2, bad, n) == -1 && t2.len == 0,
                   "a token with character %zu changed still opens", pos);
        cxb_buf_free(&t2);

        /* the open check on the modified token, as an arbitrary input */
        check_open((const uint8_t *) bad, n);
        free(bad);
    }

    cxb_buf_free(&t);
}


static void
check_base64(const uint8_t *data, size_t size)
{
    long           n;
    size_t         elen;
    cxb_buf_t      b;
    cxb_sign_key_t sk;
    unsigned char *ref, *dec;

    /* encode: against OpenSSL */

    cxb_buf_init(&b);
    cxb_base64_encode(&b, data, size);
    FUZZ_CHECK(!b.failed, "base64 encode failed");

    elen = (size + 2) / 3 * 4;
    ref = malloc(elen + 1);
    dec = malloc(size + 3);
    FUZZ_CHECK(ref && dec, "malloc");

    FUZZ_CHECK((size_t) EVP_EncodeBlock(ref, data, (int) size) == elen
               && b.len == elen && memcmp(b.data, ref, elen) == 0,
               "base64 of %zu bytes differs from OpenSSL's", size);

    /* decode back, into a buffer of exactly the right size */

    n = cxb_base64_decode(dec, size, b.data ? b.data : "", b.len);
    FUZZ_CHECK(n == (long) size && (size == 0 || memcmp(dec, data, size) == 0),
               "base64 does not decode back (%ld of %zu bytes)", n, size);

    if (size > 0) {
        FUZZ_CHECK(cxb_base64_decode(dec, size - 1, b.data, b.len) == -1,
                   "base64 decoded %zu bytes into %zu", size, size - 1);
    }

    /* the raw input as base64 text: bounded output */

    n = cxb_base64_decode(dec, size + 3, (const char *) data, size);
    FUZZ_CHECK(n == -1 || (n >= 0 && (size_t) n <= size * 3 / 4),
               "decoded %ld bytes from %zu characters", n, size);

    /* a webhook signing secret */

    if (cxb_sign_key_parse(&sk, (const char *) data, size) == 0) {
        FUZZ_CHECK(sk.len >= 16 && sk.len <= CXB_SIGN_KEY_MAX,
                   "a %zu-byte signing key", sk.len);
    }

    free(ref);
    free(dec);
    cxb_buf_free(&b);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!initialized) {
        init();
    }

    check_open(data, size);
    check_seal(data, size);
    check_base64(data, size);

    return 0;
}
