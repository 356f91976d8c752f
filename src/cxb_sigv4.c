/*
 * AWS Signature Version 4 presigned URLs (query-string authentication) for
 * S3 and S3-compatible stores, and recording references resolved to keys.
 *
 * The canonical URI is built once from the key's bytes: every byte outside
 * A-Z a-z 0-9 - . _ ~ is encoded as upper-case %XX, '/' is kept, and nothing
 * is normalised ("//", "." and ".." stay).  The URL handed out carries the
 * very path and query that were signed.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cxb_crypto.h"
#include "cxb_sigv4.h"


#define CXB_SIGV4_ALGORITHM   "AWS4-HMAC-SHA256"
#define CXB_SIGV4_SECRET_MAX  256
#define CXB_SIGV4_ID_MAX      128


typedef struct {
    const char  *scheme;        /* "http" or "https", lower case */
    const char  *host;          /* as written in the endpoint */
    size_t       host_len;
    unsigned     port;          /* effective port */
    int          default_port;  /* port is the scheme's default */
    int          ip_literal;    /* IPv4 or [IPv6] */
} cxb_s3_url_t;


static int cxb_s3_parse_authority(cxb_s3_url_t *u, const char *p,
    size_t len);
static int cxb_s3_parse_endpoint(cxb_s3_url_t *u, const char *endpoint);
static int cxb_s3_scheme(const char *p, size_t len, size_t *skip);
static int cxb_s3_valid_token(const char *s, size_t max, const char *extra);
static void cxb_s3_add_host(cxb_buf_t *b, const cxb_s3_t *s3,
    const cxb_s3_url_t *ep);
static int cxb_s3_host_has_bucket(const cxb_s3_t *s3, const cxb_s3_url_t *ep);
static int cxb_s3_decode_key(cxb_buf_t *out, const char *p, size_t len);
static int cxb_s3_valid_date(const char *date);
static int cxb_sigv4_signing_key(unsigned char *k, const cxb_s3_t *s3,
    const char *amz_date);
static void cxb_hex(char *dst, const unsigned char *src, size_t len);
static int cxb_unhex(int c);
static int cxb_lower(int c);
static int cxb_strncaseeq(const char *a, const char *b, size_t n);


static const char  cxb_hex_upper[] = "0123456789ABCDEF";
static const char  cxb_hex_lower[] = "0123456789abcdef";


int
cxb_s3_check(const cxb_s3_t *s3)
{
    size_t        n;
    cxb_s3_url_t  ep;

    if (s3 == NULL || s3->secret_key == NULL) {
        return -1;
    }

    if (cxb_s3_parse_endpoint(&ep, s3->endpoint) != 0) {
        return -1;
    }

    if (!cxb_s3_valid_token(s3->bucket, 255, "._-~")
        || !cxb_s3_valid_token(s3->region, 64, "._-~"))
    {
        return -1;
    }

    /* any visible ASCII but '/', which would split the credential scope */

    if (s3->access_key == NULL) {
        return -1;
    }

    n = strlen(s3->access_key);

    if (n == 0 || n > CXB_SIGV4_ID_MAX) {
        return -1;
    }

    while (n--) {
        if (s3->access_key[n] <= 0x20 || s3->access_key[n] >= 0x7f
            || s3->access_key[n] == '/')
        {
            return -1;
        }
    }

    n = strlen(s3->secret_key);

    if (n == 0 || n > CXB_SIGV4_SECRET_MAX) {
        return -1;
    }

    /* "bucket.127.0.0.1" or "bucket.[::1]" cannot name a host */

    if (s3->virtual_style && ep.ip_literal) {
        return -1;
    }

    return 0;
}


int
cxb_s3_presign(cxb_buf_t *out, const cxb_s3_t *s3, const char *method,
    const char *key, size_t key_len, int64_t now, long expires)
{
    char  date[CXB_S3_AMZ_DATE_LEN + 1];

    if (cxb_sigv4_amz_date(date, now) != 0) {
        return -1;
    }

    return cxb_s3_presign_at(out, NULL, s3, method, key, key_len, date,
                             expires);
}


int
cxb_s3_presign_at(cxb_buf_t *out, cxb_buf_t *canonical, const cxb_s3_t *s3,
    const char *method, const char *key, size_t key_len, const char *amz_date,
    long expires)
{
    int            rc;
    char           hash[65], signature[65];
    size_t         n;
    cxb_buf_t      host, path, query, scope, buf;
    cxb_s3_url_t   ep;
    unsigned char  k[EVP_MAX_MD_SIZE], md[EVP_MAX_MD_SIZE];

    if (out == NULL || method == NULL || key == NULL || amz_date == NULL) {
        return -1;
    }

    n = strlen(method);

    if (n == 0 || n > 16) {
        return -1;
    }

    while (n--) {
        if (method[n] < 'A' || method[n] > 'Z') {
            return -1;
        }
    }

    if (key_len == 0 || key_len > CXB_S3_KEY_MAX
        || expires < 1 || expires > CXB_S3_EXPIRES_MAX
        || !cxb_s3_valid_date(amz_date)
        || cxb_s3_check(s3) != 0
        || cxb_s3_parse_endpoint(&ep, s3->endpoint) != 0)
    {
        return -1;
    }

    rc = -1;

    cxb_buf_init(&host);
    cxb_buf_init(&path);
    cxb_buf_init(&query);
    cxb_buf_init(&scope);
    cxb_buf_init(&buf);

    /* host, with ":port" unless it is the scheme's default */

    cxb_s3_add_host(&host, s3, &ep);

    /* canonical URI: the key's bytes encoded once, '/' kept */

    cxb_buf_addc(&path, '/');

    if (!s3->virtual_style) {
        cxb_sigv4_uri_encode(&path, s3->bucket, strlen(s3->bucket), 0);
        cxb_buf_addc(&path, '/');
    }

    cxb_sigv4_uri_encode(&path, key, key_len, 1);

    /* credential scope: date/region/s3/aws4_request */

    cxb_buf_add(&scope, amz_date, 8);
    cxb_buf_addc(&scope, '/');
    cxb_buf_adds(&scope, s3->region);
    cxb_buf_adds(&scope, "/s3/aws4_request");

    /* canonical query string, parameters sorted by name */

    cxb_buf_adds(&query, "X-Amz-Algorithm=" CXB_SIGV4_ALGORITHM
                         "&X-Amz-Credential=");
    cxb_sigv4_uri_encode(&query, s3->access_key, strlen(s3->access_key), 0);
    cxb_buf_adds(&query, "%2F");

    if (scope.data != NULL) {
        cxb_sigv4_uri_encode(&query, scope.data, scope.len, 0);
    }

    cxb_buf_adds(&query, "&X-Amz-Date=");
    cxb_buf_adds(&query, amz_date);
    cxb_buf_printf(&query, "&X-Amz-Expires=%ld", expires);
    cxb_buf_adds(&query, "&X-Amz-SignedHeaders=host");

    if (host.failed || path.failed || query.failed || scope.failed) {
        goto done;
    }

    /* canonical request */

    cxb_buf_adds(&buf, method);
    cxb_buf_addc(&buf, '\n');
    cxb_buf_add(&buf, path.data, path.len);
    cxb_buf_addc(&buf, '\n');
    cxb_buf_add(&buf, query.data, query.len);
    cxb_buf_adds(&buf, "\nhost:");
    cxb_buf_add(&buf, host.data, host.len);
    cxb_buf_adds(&buf, "\n\nhost\nUNSIGNED-PAYLOAD");

    if (buf.failed) {
        goto done;
    }

    if (canonical != NULL) {
        cxb_buf_add(canonical, buf.data, buf.len);

        if (canonical->failed) {
            goto done;
        }
    }

    if (cxb_sigv4_sha256_hex(hash, buf.data, buf.len) != 0) {
        goto done;
    }

    /* string to sign */

    cxb_buf_reset(&buf);
    cxb_buf_adds(&buf, CXB_SIGV4_ALGORITHM "\n");
    cxb_buf_adds(&buf, amz_date);
    cxb_buf_addc(&buf, '\n');
    cxb_buf_add(&buf, scope.data, scope.len);
    cxb_buf_addc(&buf, '\n');
    cxb_buf_add(&buf, hash, 64);

    if (buf.failed) {
        goto done;
    }

    /* signing key: HMAC chain from "AWS4" + secret over the scope */

    if (cxb_sigv4_signing_key(k, s3, amz_date) != 0
        || cxb_hmac_sha256(md, k, 32, buf.data, buf.len) != 0)
    {
        goto done;
    }

    cxb_hex(signature, md, 32);

    /* the URL: exactly the path and query that were signed */

    cxb_buf_reset(&buf);
    cxb_buf_adds(&buf, ep.scheme);
    cxb_buf_adds(&buf, "://");
    cxb_buf_add(&buf, host.data, host.len);
    cxb_buf_add(&buf, path.data, path.len);
    cxb_buf_addc(&buf, '?');
    cxb_buf_add(&buf, query.data, query.len);
    cxb_buf_adds(&buf, "&X-Amz-Signature=");
    cxb_buf_add(&buf, signature, 64);

    if (buf.failed) {
        goto done;
    }

    cxb_buf_add(out, buf.data, buf.len);

    if (!out->failed) {
        rc = 0;
    }

done:

    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(md, sizeof(md));

    cxb_buf_free(&host);
    cxb_buf_free(&path);
    cxb_buf_free(&query);
    cxb_buf_free(&scope);
    cxb_buf_free(&buf);

    return rc;
}


int
cxb_s3_ref_to_key(cxb_buf_t *key_out, const cxb_s3_t *s3, const char *ref,
    size_t len)
{
    int           scheme, vhost_match, path_match;
    size_t        skip, n, blen, i;
    const char   *p, *end, *auth, *q;
    cxb_s3_url_t  ep, u;

    if (key_out == NULL || s3 == NULL || s3->bucket == NULL || ref == NULL) {
        return -1;
    }

    scheme = cxb_s3_scheme(ref, len, &skip);

    if (scheme < 0) {
        return -1;
    }

    if (scheme == 0) {

        /* a bare key, byte for byte */

        if (len == 0 || len > CXB_S3_KEY_MAX || memchr(ref, '\0', len)) {
            return -1;
        }

        cxb_buf_add(key_out, ref, len);

        return key_out->failed ? -1 : 0;
    }

    p = ref + skip;
    end = ref + len;
    blen = strlen(s3->bucket);

    if (scheme == 1) {

        /* s3://bucket/key */

        q = memchr(p, '/', end - p);

        if (q == NULL || (size_t) (q - p) != blen
            || memcmp(p, s3->bucket, blen) != 0)
        {
            return -1;
        }

        return cxb_s3_decode_key(key_out, q + 1, end - (q + 1));
    }

    /* http(s)://authority/path[?query][#fragment] */

    if (cxb_s3_check(s3) != 0
        || cxb_s3_parse_endpoint(&ep, s3->endpoint) != 0)
    {
        return -1;
    }

    auth = p;

    while (p < end && *p != '/' && *p != '?' && *p != '#') {
        p++;
    }

    u.scheme = (scheme == 3) ? "https" : "http";

    if (cxb_s3_parse_authority(&u, auth, p - auth) != 0) {
        return -1;
    }

    if (p == end || *p != '/') {
        return -1;
    }

    for (q = p; q < end && *q != '?' && *q != '#'; q++) {
        /* void */
    }

    end = q;

    if (u.port != ep.port) {
        return -1;
    }

    /* bucket.host, or host when it already starts with "bucket." */

    vhost_match = 0;

    if (cxb_s3_host_has_bucket(s3, &ep)) {
        vhost_match = (u.host_len == ep.host_len
                       && cxb_strncaseeq(u.host, ep.host, ep.host_len));

    } else if (!ep.ip_literal) {
        vhost_match = (u.host_len == blen + 1 + ep.host_len
                       && cxb_strncaseeq(u.host, s3->bucket, blen)
                       && u.host[blen] == '.'
                       && cxb_strncaseeq(u.host + blen + 1, ep.host,
                                         ep.host_len));
    }

    path_match = (u.host_len == ep.host_len
                  && cxb_strncaseeq(u.host, ep.host, ep.host_len));

    if (vhost_match && (s3->virtual_style || !path_match)) {
        return cxb_s3_decode_key(key_out, p + 1, end - (p + 1));
    }

    if (!path_match) {
        return -1;
    }

    /* /bucket/key: the bucket segment may be escaped too */

    p++;
    q = memchr(p, '/', end - p);

    if (q == NULL) {
        return -1;
    }

    for (i = 0, n = 0; p + n < q; i++) {

        if (i == blen) {
            return -1;
        }

        if (p[n] == '%') {
            if (q - (p + n) < 3 || cxb_unhex(p[n + 1]) < 0
                || cxb_unhex(p[n + 2]) < 0
                || (cxb_unhex(p[n + 1]) << 4 | cxb_unhex(p[n + 2]))
                   != (unsigned char) s3->bucket[i])
            {
                return -1;
            }

            n += 3;

        } else {
            if (p[n] != s3->bucket[i]) {
                return -1;
            }

            n++;
        }
    }

    if (i != blen) {
        return -1;
    }

    return cxb_s3_decode_key(key_out, q + 1, end - (q + 1));
}


void
cxb_sigv4_uri_encode(cxb_buf_t *out, const char *p, size_t len,
    int keep_slash)
{
    char           *d;
    size_t          i, n;
    unsigned char   c;

    n = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) p[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~' || (c == '/' && keep_slash))
        {
            n++;

        } else {
            n += 3;
        }
    }

    if (n == 0 || cxb_buf_reserve(out, n) != 0) {
        return;
    }

    d = out->data + out->len;

    for (i = 0; i < len; i++) {
        c = (unsigned char) p[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~' || (c == '/' && keep_slash))
        {
            *d++ = (char) c;

        } else {
            *d++ = '%';
            *d++ = cxb_hex_upper[c >> 4];
            *d++ = cxb_hex_upper[c & 0x0f];
        }
    }

    out->len += n;
}


int
cxb_sigv4_sha256_hex(char *hex, const void *p, size_t len)
{
    unsigned char  md[CXB_SHA256_LEN];

    if (cxb_sha256(md, p, len) != 0) {
        return -1;
    }

    cxb_hex(hex, md, 32);

    return 0;
}


int
cxb_sigv4_amz_date(char *date, int64_t now)
{
    time_t     t;
    struct tm  tm;

    /* 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z */

    if (now < 0 || now > INT64_C(253402300799)) {
        return -1;
    }

    t = (time_t) now;

    if ((int64_t) t != now || gmtime_r(&t, &tm) == NULL) {
        return -1;
    }

    if (snprintf(date, CXB_S3_AMZ_DATE_LEN + 1, "%04d%02d%02dT%02d%02d%02dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec)
        != CXB_S3_AMZ_DATE_LEN)
    {
        return -1;
    }

    return 0;
}


/*
 * Returns 0 for no "scheme://" prefix (a bare key), 1 for s3, 2 for http,
 * 3 for https, -1 for any other scheme; *skip is the prefix length.
 */

static int
cxb_s3_scheme(const char *p, size_t len, size_t *skip)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')) {
            continue;
        }

        if (i > 0 && ((p[i] >= '0' && p[i] <= '9')
                      || p[i] == '+' || p[i] == '-' || p[i] == '.'))
        {
            continue;
        }

        break;
    }

    if (i == 0 || len - i < 3 || memcmp(p + i, "://", 3) != 0) {
        return 0;
    }

    *skip = i + 3;

    if (i == 2 && cxb_strncaseeq(p, "s3", 2)) {
        return 1;
    }

    if (i == 4 && cxb_strncaseeq(p, "http", 4)) {
        return 2;
    }

    if (i == 5 && cxb_strncaseeq(p, "https", 5)) {
        return 3;
    }

    return -1;
}


static int
cxb_s3_parse_endpoint(cxb_s3_url_t *u, const char *endpoint)
{
    int          scheme;
    size_t       skip, len;
    const char  *p, *end;

    if (endpoint == NULL) {
        return -1;
    }

    len = strlen(endpoint);
    scheme = cxb_s3_scheme(endpoint, len, &skip);

    if (scheme != 2 && scheme != 3) {
        return -1;
    }

    u->scheme = (scheme == 3) ? "https" : "http";

    p = endpoint + skip;
    end = endpoint + len;

    /* an optional single trailing '/', no path prefix, query or fragment */

    if (end > p && end[-1] == '/') {
        end--;
    }

    return cxb_s3_parse_authority(u, p, end - p);
}


/* host[:port] with u->scheme set; no userinfo, no path */

static int
cxb_s3_parse_authority(cxb_s3_url_t *u, const char *p, size_t len)
{
    int          digits_dots;
    size_t       i;
    unsigned     port;
    const char  *end, *host;

    end = p + len;
    host = p;
    u->ip_literal = 0;

    if (p < end && *p == '[') {

        for (p++; p < end && *p != ']'; p++) {
            if (!(cxb_unhex(*p) >= 0 || *p == ':' || *p == '.')) {
                return -1;
            }
        }

        if (p == end || p - host < 3) {
            return -1;
        }

        p++;
        u->ip_literal = 1;

    } else {
        digits_dots = 1;

        for ( /* void */ ; p < end && *p != ':'; p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                || *p == '-' || *p == '_')
            {
                digits_dots = 0;

            } else if (!((*p >= '0' && *p <= '9') || *p == '.')) {
                return -1;
            }
        }

        if (p == host || host[0] == '.' || p[-1] == '.') {
            return -1;
        }

        u->ip_literal = digits_dots;
    }

    u->host = host;
    u->host_len = p - host;

    if (p == end) {
        u->port = (strcmp(u->scheme, "https") == 0) ? 443 : 80;
        u->default_port = 1;
        return 0;
    }

    if (*p++ != ':' || p == end || end - p > 5) {
        return -1;
    }

    port = 0;

    for (i = 0; p + i < end; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        port = port * 10 + (p[i] - '0');
    }

    if (port == 0 || port > 65535) {
        return -1;
    }

    u->port = port;
    u->default_port = (port == ((strcmp(u->scheme, "https") == 0) ? 443 : 80));

    return 0;
}


/* 1..max bytes of A-Z a-z 0-9 and the characters in extra */

static int
cxb_s3_valid_token(const char *s, size_t max, const char *extra)
{
    size_t  i;

    if (s == NULL || s[0] == '\0') {
        return 0;
    }

    for (i = 0; s[i]; i++) {
        if (i == max) {
            return 0;
        }

        if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
            || (s[i] >= '0' && s[i] <= '9') || strchr(extra, s[i]))
        {
            continue;
        }

        return 0;
    }

    return 1;
}


static int
cxb_s3_host_has_bucket(const cxb_s3_t *s3, const cxb_s3_url_t *ep)
{
    size_t  blen;

    blen = strlen(s3->bucket);

    return !ep->ip_literal && ep->host_len > blen + 1
           && cxb_strncaseeq(ep->host, s3->bucket, blen)
           && ep->host[blen] == '.';
}


/* the lower-cased host to sign and to put in the URL */

static void
cxb_s3_add_host(cxb_buf_t *b, const cxb_s3_t *s3, const cxb_s3_url_t *ep)
{
    size_t  i;

    if (s3->virtual_style && !cxb_s3_host_has_bucket(s3, ep)) {
        for (i = 0; s3->bucket[i]; i++) {
            cxb_buf_addc(b, (char) cxb_lower(s3->bucket[i]));
        }

        cxb_buf_addc(b, '.');
    }

    for (i = 0; i < ep->host_len; i++) {
        cxb_buf_addc(b, (char) cxb_lower(ep->host[i]));
    }

    if (!ep->default_port) {
        cxb_buf_printf(b, ":%u", ep->port);
    }
}


static int
cxb_s3_decode_key(cxb_buf_t *out, const char *p, size_t len)
{
    int     hi, lo;
    char    c;
    size_t  i, n, start;

    start = out->len;

    for (i = 0, n = 0; i < len; n++) {

        if (p[i] == '%') {
            if (len - i < 3) {
                goto failed;
            }

            hi = cxb_unhex(p[i + 1]);
            lo = cxb_unhex(p[i + 2]);

            if (hi < 0 || lo < 0) {
                goto failed;
            }

            c = (char) (hi << 4 | lo);
            i += 3;

        } else {
            c = p[i++];
        }

        if (c == '\0' || n == CXB_S3_KEY_MAX) {
            goto failed;
        }

        cxb_buf_addc(out, c);
    }

    if (n == 0 || out->failed) {
        goto failed;
    }

    return 0;

failed:

    if (!out->failed) {
        out->len = start;
    }

    return -1;
}


static int
cxb_s3_valid_date(const char *date)
{
    size_t  i;

    for (i = 0; i < CXB_S3_AMZ_DATE_LEN; i++) {
        if (i == 8) {
            if (date[i] != 'T') {
                return 0;
            }

        } else if (i == 15) {
            if (date[i] != 'Z') {
                return 0;
            }

        } else if (date[i] < '0' || date[i] > '9') {
            return 0;
        }
    }

    return date[CXB_S3_AMZ_DATE_LEN] == '\0';
}


/*
 * The signing key of a secret, a region and a day: four chained HMACs,
 * kept for the last (secret, region, day) — the same all day long for a
 * configured store.
 */

static int
cxb_sigv4_signing_key(unsigned char *k, const cxb_s3_t *s3,
    const char *amz_date)
{
    size_t          secret_len, region_len;
    unsigned char   secret[4 + CXB_SIGV4_SECRET_MAX];

    static struct {
        int            valid;
        char           day[8];
        char           region[64];
        size_t         secret_len;
        unsigned char  secret[CXB_SIGV4_SECRET_MAX];
        unsigned char  key[32];
    } cache;

    secret_len = strlen(s3->secret_key);
    region_len = strlen(s3->region);

    if (secret_len > CXB_SIGV4_SECRET_MAX) {
        return -1;
    }

    if (cache.valid && memcmp(cache.day, amz_date, 8) == 0
        && region_len < sizeof(cache.region)
        && strcmp(cache.region, s3->region) == 0
        && cache.secret_len == secret_len
        && CRYPTO_memcmp(cache.secret, s3->secret_key, secret_len) == 0)
    {
        memcpy(k, cache.key, 32);
        return 0;
    }

    memcpy(secret, "AWS4", 4);
    memcpy(secret + 4, s3->secret_key, secret_len);

    if (cxb_hmac_sha256(k, secret, 4 + secret_len, amz_date, 8) != 0
        || cxb_hmac_sha256(k, k, 32, s3->region, region_len) != 0
        || cxb_hmac_sha256(k, k, 32, "s3", 2) != 0
        || cxb_hmac_sha256(k, k, 32, "aws4_request", 12) != 0)
    {
        OPENSSL_cleanse(secret, sizeof(secret));
        return -1;
    }

    OPENSSL_cleanse(secret, sizeof(secret));

    if (region_len < sizeof(cache.region)) {
        memcpy(cache.day, amz_date, 8);
        memcpy(cache.region, s3->region, region_len + 1);
        memcpy(cache.secret, s3->secret_key, secret_len);
        cache.secret_len = secret_len;
        memcpy(cache.key, k, 32);
        cache.valid = 1;
    }

    return 0;
}


static void
cxb_hex(char *dst, const unsigned char *src, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        dst[2 * i] = cxb_hex_lower[src[i] >> 4];
        dst[2 * i + 1] = cxb_hex_lower[src[i] & 0x0f];
    }

    dst[2 * len] = '\0';
}


static int
cxb_unhex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


static int
cxb_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}


static int
cxb_strncaseeq(const char *a, const char *b, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (cxb_lower((unsigned char) a[i]) != cxb_lower((unsigned char) b[i]))
        {
            return 0;
        }
    }

    return 1;
}
