/*
 * AWS Signature Version 4 presigned URLs for S3 and S3-compatible stores
 * (MinIO ...), and recording references resolved to object keys.
 *
 * Plain C over OpenSSL 3, no nginx headers.  Nothing here prints or logs;
 * the secret key never leaves the signing-key derivation.
 */

#ifndef CXB_SIGV4_H
#define CXB_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "cxb_buf.h"


#define CXB_S3_KEY_MAX        1024        /* S3's limit on key bytes */
#define CXB_S3_EXPIRES_MAX    604800      /* 7 days, S3's limit */
#define CXB_S3_AMZ_DATE_LEN   16          /* "20130524T000000Z" */


typedef struct {
    /* "http://127.0.0.1:9000", "https://s3.amazonaws.com" ...: a scheme,
     * a host (name, IPv4 or [IPv6]), an optional port, an optional "/" */
    const char  *endpoint;
    const char  *bucket;
    const char  *region;
    const char  *access_key;
    const char  *secret_key;
    /* 0: path style endpoint/bucket/key; 1: virtual host bucket.host/key
     * (an endpoint host that already starts with "bucket." is kept) */
    int          virtual_style;
} cxb_s3_t;


/*
 * Checks the endpoint, bucket, region and keys once (at configuration time):
 * 0 when cxb_s3_presign() can sign with them, else -1.
 */
int cxb_s3_check(const cxb_s3_t *s3);

/*
 * Appends the presigned URL of key (its bytes, 1..1024 of them) for method
 * (upper-case letters: "GET", "HEAD" ...) to out.  now is in unix seconds,
 * expires in seconds (1..604800).  Returns 0, or -1 (bad endpoint, bad
 * arguments, out of memory, OpenSSL failure) with nothing appended.  The
 * URL's host is lower-cased, with ":port" unless it is the scheme's default;
 * its path and query are byte for byte the signed ones.
 */
int cxb_s3_presign(cxb_buf_t *out, const cxb_s3_t *s3, const char *method,
    const char *key, size_t key_len, int64_t now, long expires);

/*
 * Resolves a recording reference to an object key in s3's bucket:
 *   "s3://bucket/key"                     bucket must be s3->bucket
 *   "http(s)://host[:port]/bucket/key"    path style, host[:port] must be
 *                                         the endpoint's
 *   "http(s)://bucket.host[:port]/key"    virtual host style
 *   "calls/x.wav"                         a bare key (no "scheme://"),
 *                                         taken byte for byte
 * Percent-escapes in the scheme forms are decoded once into the key; a
 * "?query" or "#fragment" of an http(s) form is dropped.  Returns 0 with the
 * key appended to key_out, or -1 when the reference names another bucket or
 * host, or is malformed (bad escape, empty key, key over 1024 bytes, NUL).
 */
int cxb_s3_ref_to_key(cxb_buf_t *key_out, const cxb_s3_t *s3,
    const char *ref, size_t len);


/* Lower-level pieces, exposed for the tests. */

/*
 * Appends p URI-encoded: RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~)
 * kept, '/' kept when keep_slash, every other byte as upper-case "%XX".
 */
void cxb_sigv4_uri_encode(cxb_buf_t *out, const char *p, size_t len,
    int keep_slash);

/* Lower-case hex SHA-256 of p into hex (65 bytes with the NUL): 0 or -1. */
int cxb_sigv4_sha256_hex(char *hex, const void *p, size_t len);

/* "YYYYMMDDTHHMMSSZ" of unix time now into date (17 bytes): 0 or -1. */
int cxb_sigv4_amz_date(char *date, int64_t now);

/*
 * cxb_s3_presign() with an explicit amz date ("YYYYMMDDTHHMMSSZ"); when
 * canonical is not NULL, the canonical request is appended to it.
 */
int cxb_s3_presign_at(cxb_buf_t *out, cxb_buf_t *canonical,
    const cxb_s3_t *s3, const char *method, const char *key, size_t key_len,
    const char *amz_date, long expires);


#endif /* CXB_SIGV4_H */
