/*
 * libFuzzer target: SigV4 presigned URLs and recording references
 * (src/cxb_sigv4.c).
 *
 * Input: a recording reference, and at the same time an object key.  Three
 * fixed configurations: path style on "http://127.0.0.1:9000", virtual host
 * style on "https://s3.amazonaws.com", path style on a mixed-case host with
 * a non-default port; and a fourth whose endpoint is the input itself.
 *
 * Checks, for every configuration:
 *   - cxb_s3_ref_to_key() yields 1..1024 bytes without NUL, or fails
 *     leaving the output untouched;
 *   - cxb_s3_presign() of the input bytes as a key succeeds exactly for
 *     1..1024 bytes, and so does that of the resolved key;
 *   - a presigned URL starts with the configuration's scheme, host and path
 *     prefix, its path and query hold only RFC 3986 unreserved characters
 *     and "/?&=%:", its escapes are upper-case %XX, it ends with the only
 *     "&X-Amz-Signature=" and 64 lower-case hex digits;
 *   - its path and query are byte for byte the signed canonical URI and
 *     query (cxb_s3_presign_at() with the canonical request);
 *   - the URL, taken as a recording reference, resolves back to the very
 *     key that was signed (when the key has no NUL byte);
 *   - an endpoint accepted by cxb_s3_check() presigns, and its URL resolves
 *     back to the key.
 */

#include "cxb_buf.h"
#include "cxb_sigv4.h"
#include "fuzz_common.h"


#define FUZZ_NOW   INT64_C(1795428000)             /* 2026-11-23T10:00:00Z */
#define FUZZ_DATE  "20261123T100000Z"
#define AK         "AKIAIOSFODNN7EXAMPLE"
#define SK         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


typedef struct {
    cxb_s3_t     s3;
    const char  *prefix;        /* every URL starts with it */
} fuzz_cfg_t;


static const fuzz_cfg_t  cfgs[] = {
    { { "http://127.0.0.1:9000", "recordings", "us-east-1", AK, SK, 0 },
      "http://127.0.0.1:9000/recordings/" },
    { { "https://s3.amazonaws.com", "examplebucket", "us-east-1", AK, SK, 1 },
      "https://examplebucket.s3.amazonaws.com/" },
    { { "HTTPS://Minio.Example:8443/", "rec.v2", "eu-west-3", AK, SK, 0 },
      "https://minio.example:8443/rec.v2/" },
};


static int
url_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
           || c == '~' || c == '/' || c == '?' || c == '&' || c == '='
           || c == '%' || c == ':';
}


static int
upper_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}


static const char *
find(const char *s, size_t len, const char *needle, size_t from)
{
    size_t  n = strlen(needle);

    for ( /* void */ ; from + n <= len; from++) {
        if (memcmp(s + from, needle, n) == 0) {
            return s + from;
        }
    }

    return NULL;
}


/* properties of one presigned URL of key; prefix may be NULL */
static void
check_url(const cxb_s3_t *s3, const char *prefix, const char *url,
    size_t len, const char *key, size_t key_len)
{
    size_t        i, plen, hlen;
    cxb_buf_t     canon, again, back;
    const char   *sig, *path, *q, *nl1, *nl2, *nl3;

    /* prefix, characters, escapes */

    if (prefix) {
        FUZZ_CHECK(fuzz_has_prefix(url, len, prefix), "URL %s, expected "
                   "prefix %s", fuzz_show(url, len), prefix);
    }

    /* after the authority (which may be an [IPv6] literal) */

    path = find(url, len, "://", 0);
    FUZZ_CHECK(path != NULL, "no scheme in %s", fuzz_show(url, len));
    path = memchr(path + 3, '/', len - (size_t) (path + 3 - url));
    FUZZ_CHECK(path != NULL, "no path in %s", fuzz_show(url, len));

    for (i = (size_t) (path - url); i < len; i++) {
        FUZZ_CHECK(url_char((unsigned char) url[i]), "byte 0x%02x in URL %s",
                   (unsigned char) url[i], fuzz_show(url, len));

        if (url[i] == '%') {
            FUZZ_CHECK(i + 2 < len && upper_hex(url[i + 1])
                       && upper_hex(url[i + 2]), "bad escape in URL %s",
                       fuzz_show(url, len));
        }
    }

    /* exactly one signature, last, 64 lower-case hex */

    sig = find(url, len, "X-Amz-Signature=", 0);
    FUZZ_CHECK(sig != NULL && sig > url && sig[-1] == '&',
               "no &X-Amz-Signature= in %s", fuzz_show(url, len));
    FUZZ_CHECK(find(url, len, "X-Amz-Signature=", sig - url + 1) == NULL,
               "two signatures in %s", fuzz_show(url, len));
    sig += sizeof("X-Amz-Signature=") - 1;
    FUZZ_CHECK(url + len - sig == 64 && fuzz_is_lower_hex(sig, 64),
               "signature %s", fuzz_show(sig, url + len - sig));

    /* the path and query are the signed ones */

    q = memchr(path, '?', len - (size_t) (path - url));
    FUZZ_CHECK(q != NULL, "no query");

    cxb_buf_init(&canon);
    cxb_buf_init(&again);
    FUZZ_CHECK(cxb_s3_presign_at(&again, &canon, s3, "GET", key, key_len,
                                 FUZZ_DATE, 604800) == 0, "presign_at failed");
    FUZZ_CHECK(again.len == len && memcmp(again.data, url, len) == 0,
               "presign and presign_at differ for the same instant");

    /* GET \n path \n query \n host:... */
    nl1 = memchr(canon.data, '\n', canon.len);
    FUZZ_CHECK(nl1 && nl1 - canon.data == 3, "canonical request method");
    nl2 = memchr(nl1 + 1, '\n', canon.len - (size_t) (nl1 + 1 - canon.data));
    FUZZ_CHECK(nl2 != NULL, "canonical request path");
    plen = (size_t) (nl2 - (nl1 + 1));
    FUZZ_CHECK(plen == (size_t) (q - path) && memcmp(nl1 + 1, path, plen) == 0,
               "signed path %s differs from the URL's",
               fuzz_show(nl1 + 1, plen));
    nl3 = memchr(nl2 + 1, '\n', canon.len - (size_t) (nl2 + 1 - canon.data));
    FUZZ_CHECK(nl3 != NULL, "canonical request query");
    FUZZ_CHECK((size_t) (nl3 - (nl2 + 1)) == (size_t) (sig - 1 - 16 - (q + 1))
               && memcmp(nl2 + 1, q + 1, (size_t) (nl3 - (nl2 + 1))) == 0,
               "signed query differs from the URL's");

    /* host:<the URL's authority> */
    hlen = (size_t) (path - (find(url, len, "://", 0) + 3));
    FUZZ_CHECK(canon.len - (size_t) (nl3 + 1 - canon.data) > 5 + hlen
               && memcmp(nl3 + 1, "host:", 5) == 0
               && memcmp(nl3 + 6, find(url, len, "://", 0) + 3, hlen) == 0
               && nl3[6 + hlen] == '\n', "signed host differs from the URL's");

    cxb_buf_free(&canon);
    cxb_buf_free(&again);

    /* the URL resolves back to the key */

    if (memchr(key, '\0', key_len) == NULL) {
        cxb_buf_init(&back);
        FUZZ_CHECK(cxb_s3_ref_to_key(&back, s3, url, len) == 0
                   && back.len == key_len
                   && memcmp(back.data, key, key_len) == 0,
                   "URL %s does not resolve back to key %s",
                   fuzz_show(url, len), fuzz_show(key, key_len));
        cxb_buf_free(&back);
    }
}


static void
check_presign(const cxb_s3_t *s3, const char *prefix, const char *key,
    size_t key_len)
{
    int        rc;
    cxb_buf_t  url;

    cxb_buf_init(&url);
    cxb_buf_adds(&url, "x");

    rc = cxb_s3_presign(&url, s3, "GET", key, key_len, FUZZ_NOW, 604800);

    if (key_len == 0 || key_len > CXB_S3_KEY_MAX) {
        FUZZ_CHECK(rc == -1 && url.len == 1, "presigned a %zu-byte key",
                   key_len);
        cxb_buf_free(&url);
        return;
    }

    FUZZ_CHECK(rc == 0, "presign of a %zu-byte key failed", key_len);

    check_url(s3, prefix, url.data + 1, url.len - 1, key, key_len);

    cxb_buf_free(&url);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          rc;
    char        *ep;
    size_t       i;
    cxb_s3_t     s3;
    cxb_buf_t    key;
    const char  *in = (const char *) data;

    for (i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {

        /* the input as a recording reference */

        cxb_buf_init(&key);
        cxb_buf_adds(&key, "k");

        rc = cxb_s3_ref_to_key(&key, &cfgs[i].s3, in, size);

        if (rc != 0) {
            FUZZ_CHECK(key.len == 1, "a failed ref_to_key changed its output");

        } else {
            FUZZ_CHECK(key.len > 1 && key.len - 1 <= CXB_S3_KEY_MAX
                       && memchr(key.data + 1, '\0', key.len - 1) == NULL,
                       "ref_to_key gave a key of %zu bytes", key.len - 1);

            check_presign(&cfgs[i].s3, cfgs[i].prefix, key.data + 1,
                          key.len - 1);
        }

        cxb_buf_free(&key);

        /* the input as a key */

        check_presign(&cfgs[i].s3, cfgs[i].prefix, in, size);
    }

    /* the input as an endpoint */

    if (size <= 256 && memchr(in, '\0', size) == NULL) {
        ep = fuzz_strndup(data, size);

        s3 = cfgs[0].s3;
        s3.endpoint = ep;

        for (s3.virtual_style = 0; s3.virtual_style < 2; s3.virtual_style++) {
            if (cxb_s3_check(&s3) == 0) {
                check_presign(&s3, NULL, "calls/2026/11/c 1.wav",
                              sizeof("calls/2026/11/c 1.wav") - 1);
            }
        }

        free(ep);
    }

    return 0;
}
