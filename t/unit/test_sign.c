/*
 * Webhook signatures: the Standard Webhooks example vector, rotation,
 * secret parsing, base64.
 */

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "cxb_crypto.h"
#include "cxb_sign.h"


int
main(void)
{
    long            n;
    cxb_buf_t       b;
    cxb_sign_key_t  k[2];
    unsigned char   raw[8];

    const char  *body = "{\"test\": 2432232314}";

    TAP_OK(cxb_sign_key_parse(&k[0], "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                              38) == 0, "parse the example secret");
    TAP_OK(k[0].len == 24, "it decodes to 24 bytes");

    cxb_buf_init(&b);
    TAP_OK(cxb_sign(&b, k, 1, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                    body, strlen(body)) == 0, "sign the example");
    TAP_IS_STR(cxb_buf_cstr(&b),
               "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
               "the published signature");

    TAP_OK(cxb_sign_key_parse(&k[1], "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 32)
           == 0, "the whsec_ prefix is optional");

    cxb_buf_reset(&b);
    TAP_OK(cxb_sign(&b, k, 2, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                    body, strlen(body)) == 0, "sign with two secrets");
    TAP_IS_STR(cxb_buf_cstr(&b),
               "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= "
               "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
               "space-separated signatures during rotation");

    cxb_buf_reset(&b);
    TAP_OK(cxb_sign(&b, k, 1, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331,
                    body, strlen(body)) == 0
           && strcmp(cxb_buf_cstr(&b),
                     "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") != 0,
           "another timestamp, another signature");

    TAP_OK(cxb_sign_key_parse(&k[1], "whsec_c2hvcnQ=", 14) == -1,
           "a secret under 16 bytes is refused");
    TAP_OK(cxb_sign_key_parse(&k[1], "whsec_not*base64!", 17) == -1,
           "a secret that is not base64 is refused");
    TAP_OK(cxb_sign_key_parse(&k[1], "whsec_", 6) == -1,
           "an empty secret is refused");

    cxb_buf_reset(&b);
    cxb_base64_encode(&b, (const unsigned char *) "a", 1);
    cxb_base64_encode(&b, (const unsigned char *) "ab", 2);
    cxb_base64_encode(&b, (const unsigned char *) "abc", 3);
    TAP_IS_STR(cxb_buf_cstr(&b), "YQ==YWI=YWJj", "base64 padding");

    n = cxb_base64_decode(raw, sizeof(raw), "YWJj", 4);
    TAP_OK(n == 3 && memcmp(raw, "abc", 3) == 0, "base64 decode");
    TAP_OK(cxb_base64_decode(raw, 2, "YWJj", 4) == -1,
           "decoding past the buffer is refused");
    TAP_OK(cxb_base64_decode(raw, sizeof(raw), "Y", 1) == -1,
           "a lone base64 character is refused");

    cxb_buf_free(&b);

    return TAP_DONE();
}
