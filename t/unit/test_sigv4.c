/*
 * Unit tests for src/cxb_sigv4.c: SigV4 presigned URLs and recording
 * references.  The reference signatures come from AWS's published example
 * (S3 "Authenticating Requests: Using Query Parameters") and from botocore
 * 1.43 (S3SigV4QueryAuth) run once over the same inputs.
 */

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "cxb_sigv4.h"


#define AWS_AK   "AKIAIOSFODNN7EXAMPLE"
#define AWS_SK   "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define AWS_SIG  "aeeed9bbccd4d02ee5c0109b86d86835"                          \
                 "f995330da4c265957d157751f604d404"


static const char  *presign(const cxb_s3_t *s3, const char *method,
    const char *key, const char *date, long expires);
static const char  *canonical(const cxb_s3_t *s3, const char *key);
static const char  *signature_of(const char *url);
static const char  *encode(const char *s, int keep_slash);
static const char  *ref(const cxb_s3_t *s3, const char *r);
static void check_url_matches_canonical(const cxb_s3_t *s3, const char *key,
    const char *name);


static cxb_buf_t  res;


static const char *
presign(const cxb_s3_t *s3, const char *method, const char *key,
    const char *date, long expires)
{
    cxb_buf_reset(&res);

    if (cxb_s3_presign_at(&res, NULL, s3, method, key, strlen(key), date,
                          expires)
        != 0)
    {
        return NULL;
    }

    return cxb_buf_cstr(&res);
}


static const char *
canonical(const cxb_s3_t *s3, const char *key)
{
    cxb_buf_t  url;

    cxb_buf_init(&url);
    cxb_buf_reset(&res);

    if (cxb_s3_presign_at(&url, &res, s3, "GET", key, strlen(key),
                          "20130524T000000Z", 86400)
        != 0)
    {
        cxb_buf_free(&url);
        return NULL;
    }

    cxb_buf_free(&url);

    return cxb_buf_cstr(&res);
}


static const char *
signature_of(const char *url)
{
    const char  *p;

    if (url == NULL) {
        return NULL;
    }

    p = strstr(url, "&X-Amz-Signature=");

    return p ? p + sizeof("&X-Amz-Signature=") - 1 : NULL;
}


static const char *
encode(const char *s, int keep_slash)
{
    cxb_buf_reset(&res);
    cxb_buf_adds(&res, "");
    cxb_sigv4_uri_encode(&res, s, strlen(s), keep_slash);

    return cxb_buf_cstr(&res);
}


static const char *
ref(const cxb_s3_t *s3, const char *r)
{
    cxb_buf_reset(&res);

    if (cxb_s3_ref_to_key(&res, s3, r, strlen(r)) != 0) {
        return "(rejected)";
    }

    return cxb_buf_cstr(&res);
}


/* the URL's path and query are byte-identical to the signed ones */

static void
check_url_matches_canonical(const cxb_s3_t *s3, const char *key,
    const char *name)
{
    int         ok;
    char       *c, *path, *query, *up, *uq, *sig;
    size_t      n;
    cxb_buf_t   url, canon;

    ok = 0;
    cxb_buf_init(&url);
    cxb_buf_init(&canon);

    if (cxb_s3_presign_at(&url, &canon, s3, "GET", key, strlen(key),
                          "20240101T000000Z", 600)
        == 0
        && cxb_buf_cstr(&url) != NULL && cxb_buf_cstr(&canon) != NULL)
    {
        c = canon.data;
        path = strchr(c, '\n') + 1;
        query = strchr(path, '\n') + 1;
        n = strchr(query, '\n') - query;

        up = strstr(url.data, "://") + 3;
        up = strchr(up, '/');
        uq = strchr(up, '?');
        sig = strstr(uq, "&X-Amz-Signature=");

        ok = uq != NULL && sig != NULL
             && (size_t) (uq - up) == (size_t) (query - 1 - path)
             && memcmp(up, path, uq - up) == 0
             && (size_t) (sig - (uq + 1)) == n
             && memcmp(uq + 1, query, n) == 0
             && strlen(sig) == sizeof("&X-Amz-Signature=") - 1 + 64;
    }

    TAP_OK(ok, "URL path and query are the signed ones: %s", name);

    cxb_buf_free(&url);
    cxb_buf_free(&canon);
}


int
main(void)
{
    int          i, rc;
    char         hex[65], date[17], *big;
    const char  *u;
    cxb_buf_t    b;
    cxb_s3_t     aws, local, s3;

    static const struct {
        const char  *in;
        int          keep_slash;
        const char  *out;
    } enc[] = {
        { "calls/x.wav", 1, "calls/x.wav" },
        { "calls/x.wav", 0, "calls%2Fx.wav" },
        { "a b", 1, "a%20b" },
        { "a+b", 1, "a%2Bb" },
        { "AZaz09-._~", 1, "AZaz09-._~" },
        { "!'()*", 1, "%21%27%28%29%2A" },
        { ":,;=@$&?#[]", 1, "%3A%2C%3B%3D%40%24%26%3F%23%5B%5D" },
        { "%20", 1, "%2520" },
        { "\xc3\xa9\xe6\x97\xa5", 1, "%C3%A9%E6%97%A5" },
        { "a//b/./c/../d", 1, "a//b/./c/../d" },
        { "\x01\x7f\xff", 1, "%01%7F%FF" },
        { "\\\"<>^`{|}", 1, "%5C%22%3C%3E%5E%60%7B%7C%7D" },
    };

    /* botocore S3SigV4QueryAuth, 20130524T000000Z, 86400 s, us-east-1 */

    static const struct {
        const char  *endpoint;
        const char  *key;
        const char  *sig;
    } boto[] = {
        { "http://127.0.0.1:9000", "calls/a b+c.wav",
          "8a6de079b5469f600506eb45ee080080"
          "bdd705dc608b0306de8b3bb1c2bd5094" },
        { "http://127.0.0.1:9000",
          "x~()!*'\xc3\xa9\xe6\x97\xa5\xe6\x9c\xac:,;=@$&.wav",
          "855e3d7771dd8ab73de4da0e365ce00d"
          "ab37e0ad2e252de098d883628b59e056" },
        { "https://minio.example", "a//b/./c/../d",
          "de30f96bbf5799a1c7cbe95b4a041f54"
          "761e806898e5349f95c8113ac67b49ca" },
        { "https://minio.example:443", "a//b/./c/../d",
          "de30f96bbf5799a1c7cbe95b4a041f54"
          "761e806898e5349f95c8113ac67b49ca" },
        { "http://minio.example:8080", "k",
          "ec7183f9333fa8ce26fe69d79f1f74de"
          "93d6d9de34949dc147cf13be5acb5058" },
        { "http://MINIO.Example:8080/", "k",
          "ec7183f9333fa8ce26fe69d79f1f74de"
          "93d6d9de34949dc147cf13be5acb5058" },
        { "http://[::1]:9000", "k",
          "88520bbd8eb3fed96778a6169dc274dd"
          "c868c8c5d38dd455ad7333f5e52d2057" },
    };

    static const char  *bad_endpoints[] = {
        "ftp://h", "http://", "http:///", "http://h/path", "http://u@h",
        "http://h:0", "http://h:65536", "http://h:", "http://h:9x",
        "127.0.0.1:9000", "http//h", "http://h?x", "http://h#x",
        "http://h h", "http://.h", "http://h.", "http://[::1", "http://[]",
        "http://h//", "s3://h",
    };

    cxb_buf_init(&res);

    /* hex SHA-256 */

    TAP_OK(cxb_sigv4_sha256_hex(hex, "", 0) == 0
           && strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                          "27ae41e4649b934ca495991b7852b855") == 0,
           "sha256 of empty string");
    TAP_OK(cxb_sigv4_sha256_hex(hex, "abc", 3) == 0
           && strcmp(hex, "ba7816bf8f01cfea414140de5dae2223"
                          "b00361a396177a9cb410ff61f20015ad") == 0,
           "sha256 of abc");

    /* amz dates */

    TAP_OK(cxb_sigv4_amz_date(date, 1369353600) == 0
           && strcmp(date, "20130524T000000Z") == 0, "amz date of example");
    TAP_OK(cxb_sigv4_amz_date(date, 0) == 0
           && strcmp(date, "19700101T000000Z") == 0, "amz date of epoch");
    TAP_OK(cxb_sigv4_amz_date(date, 1709251199) == 0
           && strcmp(date, "20240229T235959Z") == 0, "amz date leap day");
    TAP_OK(cxb_sigv4_amz_date(date, -1) == -1, "negative time rejected");
    TAP_OK(cxb_sigv4_amz_date(date, INT64_C(253402300800)) == -1,
           "year 10000 rejected");

    /* URI encoding */

    for (i = 0; i < (int) (sizeof(enc) / sizeof(enc[0])); i++) {
        TAP_IS_STR(encode(enc[i].in, enc[i].keep_slash), enc[i].out,
                   "uri encode #%d (%s)", i, enc[i].out);
    }

    /* AWS's published example */

    aws.endpoint = "https://s3.amazonaws.com";
    aws.bucket = "examplebucket";
    aws.region = "us-east-1";
    aws.access_key = AWS_AK;
    aws.secret_key = AWS_SK;
    aws.virtual_style = 1;

    cxb_buf_init(&b);
    rc = cxb_s3_presign(&b, &aws, "GET", "test.txt", 8, 1369353600, 86400);
    TAP_IS_STR(rc == 0 ? cxb_buf_cstr(&b) : NULL,
               "https://examplebucket.s3.amazonaws.com/test.txt"
               "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
               "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
               "us-east-1%2Fs3%2Faws4_request"
               "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
               "&X-Amz-SignedHeaders=host&X-Amz-Signature=" AWS_SIG,
               "AWS example presigned URL");
    cxb_buf_free(&b);

    TAP_IS_STR(canonical(&aws, "test.txt"),
               "GET\n/test.txt\n"
               "X-Amz-Algorithm=AWS4-HMAC-SHA256"
               "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
               "us-east-1%2Fs3%2Faws4_request"
               "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
               "&X-Amz-SignedHeaders=host\n"
               "host:examplebucket.s3.amazonaws.com\n\nhost\n"
               "UNSIGNED-PAYLOAD",
               "AWS example canonical request");

    u = canonical(&aws, "test.txt");
    TAP_OK(u != NULL && cxb_sigv4_sha256_hex(hex, u, strlen(u)) == 0
           && strcmp(hex, "3bfa292879f6447bbcda7001decf97f4"
                          "a54dc650c8942174ae0a9121cf58ad04") == 0,
           "AWS example canonical request hash");

    /* an endpoint host already naming the bucket is not prefixed again */

    s3 = aws;
    s3.endpoint = "https://examplebucket.s3.amazonaws.com";
    u = presign(&s3, "GET", "test.txt", "20130524T000000Z", 86400);
    TAP_OK(u != NULL && strncmp(u, "https://examplebucket.s3.amazonaws.com"
                                   "/test.txt?", 48) == 0
           && strcmp(signature_of(u), AWS_SIG) == 0,
           "bucket-named endpoint host kept as is");

    s3.endpoint = "https://EXAMPLEBUCKET.S3.amazonaws.com:443/";
    u = presign(&s3, "GET", "test.txt", "20130524T000000Z", 86400);
    TAP_OK(u != NULL && strcmp(signature_of(u), AWS_SIG) == 0,
           "host lower-cased, default port and trailing slash dropped");

    u = presign(&aws, "GET", "test.txt", "20130524T000000Z", 86401);
    TAP_OK(u != NULL && strcmp(signature_of(u), AWS_SIG) != 0,
           "expires is signed");

    aws.secret_key = AWS_SK "x";
    u = presign(&aws, "GET", "test.txt", "20130524T000000Z", 86400);
    TAP_OK(u != NULL && strcmp(signature_of(u), AWS_SIG) != 0,
           "secret is used");
    aws.secret_key = AWS_SK;

    u = presign(&aws, "GET", "test.txt", "20130524T000000Z", 86400);
    TAP_OK(u != NULL && strstr(u, AWS_SK) == NULL
           && strstr(u, "wJalrXUtnFEMI") == NULL, "secret not in URL");

    /* botocore cross-checks: path style, ports, tricky keys */

    local.endpoint = NULL;
    local.bucket = "recordings";
    local.region = "us-east-1";
    local.access_key = AWS_AK;
    local.secret_key = AWS_SK;
    local.virtual_style = 0;

    for (i = 0; i < (int) (sizeof(boto) / sizeof(boto[0])); i++) {
        local.endpoint = boto[i].endpoint;
        TAP_IS_STR(signature_of(presign(&local, "GET", boto[i].key,
                                        "20130524T000000Z", 86400)),
                   boto[i].sig, "botocore vector %d (%s)", i,
                   boto[i].endpoint);
    }

    local.endpoint = "http://127.0.0.1:9000";
    local.region = "eu-west-3";
    TAP_IS_STR(signature_of(presign(&local, "HEAD", "x.wav",
                                    "20240229T235959Z", 3600)),
               "b44602e505bc65ff7b11e18457edb4d1"
               "27ef26034853d0e7a167881218094f3d",
               "botocore HEAD vector, other region");
    local.region = "us-east-1";

    /* host and port */

    TAP_OK(strstr(canonical(&local, "k"), "\nhost:127.0.0.1:9000\n") != NULL,
           "signed host keeps a non-default port");

    local.endpoint = "http://minio:80";
    TAP_OK(strstr(canonical(&local, "k"), "\nhost:minio\n") != NULL,
           "http :80 dropped from the signed host");
    TAP_OK(strncmp(presign(&local, "GET", "k", "20130524T000000Z", 60),
                   "http://minio/recordings/k?", 26) == 0,
           "http :80 dropped from the URL");

    local.endpoint = "http://minio:443";
    TAP_OK(strstr(canonical(&local, "k"), "\nhost:minio:443\n") != NULL,
           "http :443 kept");

    local.endpoint = "https://minio:80";
    TAP_OK(strstr(canonical(&local, "k"), "\nhost:minio:80\n") != NULL,
           "https :80 kept");
    TAP_OK(strncmp(presign(&local, "GET", "k", "20130524T000000Z", 60),
                   "https://minio:80/recordings/k?", 30) == 0,
           "https :80 kept in the URL");

    local.endpoint = "HTTPS://Minio.Example:443";
    TAP_OK(strstr(canonical(&local, "k"), "\nhost:minio.example\n") != NULL,
           "https :443 dropped, host lower-cased");
    TAP_OK(strncmp(presign(&local, "GET", "k", "20130524T000000Z", 60),
                   "https://minio.example/recordings/k?", 35) == 0,
           "scheme lower-cased in the URL");

    local.endpoint = "http://[::1]:9000";
    TAP_OK(strncmp(presign(&local, "GET", "k", "20130524T000000Z", 60),
                   "http://[::1]:9000/recordings/k?", 31) == 0,
           "IPv6 endpoint");

    local.endpoint = "http://minio.local:9000";
    local.virtual_style = 1;
    TAP_OK(strstr(canonical(&local, "k"),
                  "\n/k\n") != NULL
           && strstr(canonical(&local, "k"),
                     "\nhost:recordings.minio.local:9000\n") != NULL,
           "virtual style: bucket in host, not in path");
    TAP_OK(strncmp(presign(&local, "GET", "k", "20130524T000000Z", 60),
                   "http://recordings.minio.local:9000/k?", 37) == 0,
           "virtual style URL");
    local.virtual_style = 0;

    /* keys: encoded once, never normalised */

    local.endpoint = "http://127.0.0.1:9000";

    TAP_OK(strstr(canonical(&local, "a//b/./c/../d"),
                  "\n/recordings/a//b/./c/../d\n") != NULL,
           "// . .. kept in the canonical URI");
    TAP_OK(strstr(canonical(&local, "./x"), "\n/recordings/./x\n") != NULL,
           "./x kept");
    TAP_OK(strstr(canonical(&local, "/lead"), "\n/recordings//lead\n")
           != NULL, "leading slash kept");
    TAP_OK(strstr(canonical(&local, "a b+c%20d"),
                  "\n/recordings/a%20b%2Bc%2520d\n") != NULL,
           "space, plus and percent encoded once");

    check_url_matches_canonical(&local, "calls/a b+c.wav", "space plus");
    check_url_matches_canonical(&local, "\xc3\xa9t\xc3\xa9/\xe6\x97\xa5",
                                "unicode");
    check_url_matches_canonical(&local, "~()!*'", "sub-delims");
    check_url_matches_canonical(&local, "a//b/../c", "dot segments");
    local.virtual_style = 1;
    local.endpoint = "https://s3.example.com";
    check_url_matches_canonical(&local, "x/y z", "virtual style");
    local.virtual_style = 0;
    local.endpoint = "http://127.0.0.1:9000";

    /* limits and bad arguments: -1 and out untouched */

    big = malloc(CXB_S3_KEY_MAX + 2);

    if (big != NULL) {
        memset(big, 'k', CXB_S3_KEY_MAX + 1);
        big[CXB_S3_KEY_MAX + 1] = '\0';
        TAP_OK(presign(&local, "GET", big, "20130524T000000Z", 60) == NULL,
               "1025-byte key rejected");
        big[CXB_S3_KEY_MAX] = '\0';
        TAP_OK(presign(&local, "GET", big, "20130524T000000Z", 60) != NULL,
               "1024-byte key signed");
        free(big);

    } else {
        TAP_OK(0, "malloc");
    }

    TAP_OK(presign(&local, "GET", "", "20130524T000000Z", 60) == NULL,
           "empty key rejected");
    TAP_OK(presign(&local, "GET", "k", "20130524T000000Z", 0) == NULL,
           "expires 0 rejected");
    TAP_OK(presign(&local, "GET", "k", "20130524T000000Z", 604801) == NULL,
           "expires 604801 rejected");
    TAP_OK(presign(&local, "GET", "k", "20130524T000000Z", 604800) != NULL,
           "expires 604800 signed");
    TAP_OK(presign(&local, "get", "k", "20130524T000000Z", 60) == NULL,
           "lower-case method rejected");
    TAP_OK(presign(&local, "", "k", "20130524T000000Z", 60) == NULL,
           "empty method rejected");
    TAP_OK(presign(&local, "GET", "k", "2013-05-24T00:00", 60) == NULL,
           "bad amz date rejected");

    cxb_buf_init(&b);
    cxb_buf_adds(&b, "X");
    TAP_OK(cxb_s3_presign(&b, &local, "GET", "k", 1, -5, 60) == -1
           && b.len == 1, "negative now rejected, out untouched");
    TAP_OK(cxb_s3_presign(&b, &local, NULL, "k", 1, 0, 60) == -1
           && cxb_s3_presign(&b, NULL, "GET", "k", 1, 0, 60) == -1
           && cxb_s3_presign(&b, &local, "GET", NULL, 1, 0, 60) == -1
           && b.len == 1, "NULL arguments rejected");
    cxb_buf_free(&b);

    for (i = 0; i < (int) (sizeof(bad_endpoints) / sizeof(bad_endpoints[0]));
         i++)
    {
        s3 = local;
        s3.endpoint = bad_endpoints[i];
        TAP_OK(cxb_s3_check(&s3) == -1
               && presign(&s3, "GET", "k", "20130524T000000Z", 60) == NULL,
               "bad endpoint rejected: %s", bad_endpoints[i]);
    }

    s3 = local;
    TAP_OK(cxb_s3_check(&s3) == 0, "good config accepted");
    s3.virtual_style = 1;
    TAP_OK(cxb_s3_check(&s3) == -1, "virtual style on an IP rejected");
    s3 = local;
    s3.endpoint = NULL;
    TAP_OK(cxb_s3_check(&s3) == -1, "NULL endpoint rejected");
    s3 = local;
    s3.region = "us east";
    TAP_OK(cxb_s3_check(&s3) == -1, "bad region rejected");
    s3.region = "";
    TAP_OK(cxb_s3_check(&s3) == -1, "empty region rejected");
    s3 = local;
    s3.bucket = "a/b";
    TAP_OK(cxb_s3_check(&s3) == -1, "bucket with / rejected");
    s3 = local;
    s3.access_key = "AK/ID";
    TAP_OK(cxb_s3_check(&s3) == -1, "access key with / rejected");
    s3.access_key = "minio=admin";
    TAP_OK(strstr(presign(&s3, "GET", "k", "20130524T000000Z", 60),
                  "X-Amz-Credential=minio%3Dadmin%2F20130524%2F") != NULL,
           "access key encoded in the credential");
    s3 = local;
    s3.secret_key = "";
    TAP_OK(cxb_s3_check(&s3) == -1, "empty secret rejected");

    /* recording references */

    s3 = local;
    s3.endpoint = "http://127.0.0.1:9000";

    TAP_IS_STR(ref(&s3, "calls/x.wav"), "calls/x.wav", "bare key");
    TAP_IS_STR(ref(&s3, "calls/a%20b.wav"), "calls/a%20b.wav",
               "bare key not decoded");
    TAP_IS_STR(ref(&s3, "a b+c//./x"), "a b+c//./x", "bare key verbatim");
    TAP_IS_STR(ref(&s3, "calls/x://y"), "calls/x://y",
               "':' after '/' is a bare key");
    TAP_IS_STR(ref(&s3, ""), "(rejected)", "empty ref rejected");
    TAP_IS_STR(ref(&s3, "ftp://127.0.0.1:9000/recordings/x"), "(rejected)",
               "other scheme rejected");

    TAP_IS_STR(ref(&s3, "s3://recordings/calls/x.wav"), "calls/x.wav",
               "s3:// form");
    TAP_IS_STR(ref(&s3, "S3://recordings/calls/a%20b%2Bc+d.wav"),
               "calls/a b+c+d.wav", "s3:// form decoded once");
    TAP_IS_STR(ref(&s3, "s3://recordings/%2541"), "%41",
               "s3:// decoded only once");
    TAP_IS_STR(ref(&s3, "s3://other/calls/x.wav"), "(rejected)",
               "s3:// other bucket rejected");
    TAP_IS_STR(ref(&s3, "s3://recordingsx/x"), "(rejected)",
               "s3:// longer bucket rejected");
    TAP_IS_STR(ref(&s3, "s3://recordings"), "(rejected)",
               "s3:// without key rejected");
    TAP_IS_STR(ref(&s3, "s3://recordings/"), "(rejected)",
               "s3:// empty key rejected");
    TAP_IS_STR(ref(&s3, "s3://recordings/a%2"), "(rejected)",
               "s3:// truncated escape rejected");
    TAP_IS_STR(ref(&s3, "s3://recordings/a%zz"), "(rejected)",
               "s3:// bad escape rejected");
    TAP_IS_STR(ref(&s3, "s3://recordings/a%00b"), "(rejected)",
               "s3:// NUL rejected");

    TAP_IS_STR(ref(&s3, "http://127.0.0.1:9000/recordings/calls/x%20y.wav"),
               "calls/x y.wav", "path style http form");
    TAP_IS_STR(ref(&s3, "http://127.0.0.1:9000/recordings/a//b/./c"),
               "a//b/./c", "path style keeps // and .");
    TAP_IS_STR(ref(&s3, "http://127.0.0.1:9000/recordings/x.wav"
                        "?X-Amz-Algorithm=AWS4-HMAC-SHA256#frag"),
               "x.wav", "query and fragment dropped");
    TAP_IS_STR(ref(&s3, "http://127.0.0.1:9000/record%69ngs/x"), "x",
               "escaped bucket segment");
    TAP_IS_STR(ref(&s3, "http://127.0.0.1:9000/other/x"), "(rejected)",
               "path style other bucket rejected");
    TAP_IS_STR(ref(&s3, "http://127.0.0.1:9000/recordingsx/x"), "(rejected)",
               "path style longer bucket rejected");
    TAP_IS_STR(ref(&s3, "http://127.0.0.1:9000/recording/x"), "(rejected)",
               "path style shorter bucket rejected");
    TAP_IS_STR(ref(&s3, "http://127.0.0.1:9000/recordings"), "(rejected)",
               "path style without key rejected");
    TAP_IS_STR(ref(&s3, "http://127.0.0.1:9000/recordings/"), "(rejected)",
               "path style empty key rejected");
    TAP_IS_STR(ref(&s3, "http://127.0.0.1:9001/recordings/x"), "(rejected)",
               "other port rejected");
    TAP_IS_STR(ref(&s3, "http://127.0.0.1/recordings/x"), "(rejected)",
               "missing port rejected");
    TAP_IS_STR(ref(&s3, "http://127.0.0.2:9000/recordings/x"), "(rejected)",
               "other host rejected");
    TAP_IS_STR(ref(&s3, "http://evil@127.0.0.1:9000/recordings/x"),
               "(rejected)", "userinfo rejected");
    TAP_IS_STR(ref(&s3, "http://127.0.0.1:9000"), "(rejected)",
               "no path rejected");
    TAP_IS_STR(ref(&s3, "http://127.0.0.1:9000?x=/recordings/x"),
               "(rejected)", "query before path rejected");
    TAP_IS_STR(ref(&s3, "http://127.0.0.1:9000/recordings/%G0"),
               "(rejected)", "bad escape in path rejected");

    s3.endpoint = "https://minio.example.com";
    TAP_IS_STR(ref(&s3, "https://MINIO.example.com:443/recordings/k"), "k",
               "host case and explicit default port");
    TAP_IS_STR(ref(&s3, "http://minio.example.com/recordings/k"),
               "(rejected)", "http on port 80 vs https endpoint rejected");
    TAP_IS_STR(ref(&s3, "https://recordings.minio.example.com/calls/%C3%A9"),
               "calls/\xc3\xa9", "virtual host form");
    TAP_IS_STR(ref(&s3, "https://other.minio.example.com/calls/x"),
               "(rejected)", "virtual host other bucket rejected");
    TAP_IS_STR(ref(&s3, "https://recordings.evil.com/calls/x"),
               "(rejected)", "virtual host other domain rejected");
    TAP_IS_STR(ref(&s3, "https://recordings.minio.example.com/"),
               "(rejected)", "virtual host empty key rejected");
    TAP_IS_STR(ref(&s3, "https://xrecordings.minio.example.com/k"),
               "(rejected)", "virtual host longer label rejected");

    s3.endpoint = "https://recordings.s3.example.com";
    TAP_IS_STR(ref(&s3, "https://recordings.s3.example.com/recordings/k"),
               "k", "bucket-named endpoint, path style");
    s3.virtual_style = 1;
    TAP_IS_STR(ref(&s3, "https://recordings.s3.example.com/recordings/k"),
               "recordings/k", "bucket-named endpoint, virtual style");

    s3 = aws;
    TAP_IS_STR(ref(&s3, "https://examplebucket.s3.amazonaws.com/test.txt"),
               "test.txt", "AWS virtual host URL");
    TAP_IS_STR(ref(&s3, "https://s3.amazonaws.com/examplebucket/test.txt"),
               "test.txt", "AWS path style URL with virtual config");

    cxb_buf_init(&b);
    cxb_buf_adds(&b, "pre:");
    TAP_OK(cxb_s3_ref_to_key(&b, &s3, "s3://examplebucket/a", 20) == 0
           && b.len == 5 && memcmp(b.data, "pre:a", 5) == 0,
           "ref appends to key_out");
    TAP_OK(cxb_s3_ref_to_key(&b, &s3, "s3://examplebucket/a%zz", 23) == -1
           && b.len == 5, "failed ref leaves key_out untouched");
    TAP_OK(cxb_s3_ref_to_key(&b, &s3, "s3://examplebucket/abc", 20) == 0
           && b.len == 6 && memcmp(b.data, "pre:aa", 6) == 0,
           "ref honours len");
    cxb_buf_free(&b);

    big = malloc(CXB_S3_KEY_MAX + 32);

    if (big != NULL) {
        strcpy(big, "s3://examplebucket/");
        memset(big + 19, 'k', CXB_S3_KEY_MAX + 1);
        big[19 + CXB_S3_KEY_MAX + 1] = '\0';
        TAP_IS_STR(ref(&s3, big), "(rejected)", "1025-byte key rejected");
        big[19 + CXB_S3_KEY_MAX] = '\0';
        TAP_OK(strlen(ref(&s3, big)) == CXB_S3_KEY_MAX,
               "1024-byte key accepted");
        free(big);

    } else {
        TAP_OK(0, "malloc");
    }

    cxb_buf_free(&res);

    return TAP_DONE();
}
