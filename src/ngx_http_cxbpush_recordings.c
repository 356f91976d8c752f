/*
 * ngx_http_cxbpush_module: recordings (SPEC section 7).
 *
 * Configuration of the object store (cxbpush_s3) and of the sealed token
 * secrets (cxbpush_token_secret), the two hooks that give the variable
 * context its recording URL rules 2 and 3, the public recordings route
 * (cxbpush_recordings) and $cxbpush_recording_url.
 *
 * The route takes the token from the last path segment.  A sealed token is
 * opened natively; any other token is resolved by a GET subrequest to
 * cxbpush_recordings_lookup (auth_request's pattern: no body, no client
 * headers, header only, the answer read once the subrequest is done).  A
 * resolved key is checked (no "." or ".." segment, no leading "/", no
 * control byte) and then either answered with a 302 to a presigned URL or
 * internally redirected to cxbpush_recordings_pass + key.  An internal
 * redirect clears every module context, so the resolved key is kept in a
 * cleanup entry of the request pool, found again by its handler (the way
 * lua-nginx-module keeps its ngx.ctx across redirects).
 *
 * Nothing here logs a secret, a token or a presigned URL.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>

#include "ngx_http_cxbpush_module.h"


/* lifetime of the URLs the route signs: a 302's Location, a proxied GET */
#define NGX_HTTP_CXBPUSH_REC_EXPIRES      300

/* redirects of sealed tokens remembered per worker (a power of 2) */
#define NGX_HTTP_CXBPUSH_RCACHE_SIZE      256

/* the largest secret file read */
#define NGX_HTTP_CXBPUSH_SECRET_FILE_MAX  4096

/* the parameters of cxbpush_s3: indexes into ngx_http_cxbpush_s3_params */
#define NGX_HTTP_CXBPUSH_S3_ENDPOINT      0
#define NGX_HTTP_CXBPUSH_S3_BUCKET        1
#define NGX_HTTP_CXBPUSH_S3_REGION        2
#define NGX_HTTP_CXBPUSH_S3_ACCESS_KEY    3
#define NGX_HTTP_CXBPUSH_S3_SECRET_KEY    4
#define NGX_HTTP_CXBPUSH_S3_SECRET_FILE   5
#define NGX_HTTP_CXBPUSH_S3_EXPIRES       6
#define NGX_HTTP_CXBPUSH_S3_STYLE         7
#define NGX_HTTP_CXBPUSH_S3_NPARAMS       8


/* one pass through the recordings route: lives in the request pool */
typedef struct {
    ngx_str_t                     key;
    ngx_str_t                     token;     /* a sealed one, else empty */
    ngx_http_cxbpush_loc_conf_t  *conf;      /* of the route */
    ngx_http_request_t           *lookup;    /* the lookup subrequest */
} ngx_http_cxbpush_rec_t;


/*
 * A redirect answered for a sealed token, reused by the same worker for a
 * fifth of the URL's lifetime: a sealed token always names the same key, so
 * the answer can only change with the configuration (cycle, location).
 */
typedef struct {
    ngx_cycle_t                  *cycle;
    ngx_http_cxbpush_loc_conf_t  *conf;
    ngx_uint_t                    method;
    time_t                        signed_at;
    ngx_str_t                     token;
    ngx_str_t                     url;       /* allocated with the token */
} ngx_http_cxbpush_rcache_t;


static ngx_int_t ngx_http_cxbpush_recordings_handler(ngx_http_request_t *r);
static void ngx_http_cxbpush_keys_cleanup(void *data);
static ngx_int_t ngx_http_cxbpush_token(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_http_cxbpush_lookup(ngx_http_request_t *r,
    ngx_http_cxbpush_rec_t *rec, ngx_str_t *token);
static ngx_int_t ngx_http_cxbpush_lookup_done(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_cxbpush_lookup_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_cxbpush_recordings_serve(ngx_http_request_t *r,
    ngx_http_cxbpush_rec_t *rec);
static ngx_int_t ngx_http_cxbpush_recordings_redirect(ngx_http_request_t *r,
    ngx_http_cxbpush_rec_t *rec);
static ngx_int_t ngx_http_cxbpush_send_redirect(ngx_http_request_t *r,
    u_char *url, size_t len);
static ngx_http_cxbpush_rcache_t *ngx_http_cxbpush_rcache(
    ngx_http_request_t *r, ngx_http_cxbpush_loc_conf_t *cplcf,
    ngx_str_t *token);
static void ngx_http_cxbpush_rcache_store(ngx_http_request_t *r,
    ngx_http_cxbpush_rec_t *rec, ngx_str_t *url);
static time_t ngx_http_cxbpush_rec_expires(ngx_http_cxbpush_s3_t *s3);
static ngx_int_t ngx_http_cxbpush_valid_key(u_char *p, size_t len);
static ngx_int_t ngx_http_cxbpush_sign(ngx_http_request_t *r,
    ngx_http_cxbpush_s3_t *s3, ngx_str_t *key, ngx_str_t *url);
static ngx_http_cxbpush_rec_t *ngx_http_cxbpush_rec_create(
    ngx_http_request_t *r);
static ngx_http_cxbpush_rec_t *ngx_http_cxbpush_rec_get(
    ngx_http_request_t *r);
static void ngx_http_cxbpush_rec_cleanup(void *data);
static char *ngx_http_cxbpush_s3_check(ngx_conf_t *cf,
    ngx_http_cxbpush_s3_t *s3);


static ngx_str_t  ngx_http_cxbpush_recording_key =
    ngx_string("X-Recording-Key");


static ngx_http_cxbpush_rcache_t
    ngx_http_cxbpush_rcache_entries[NGX_HTTP_CXBPUSH_RCACHE_SIZE];


static ngx_str_t  ngx_http_cxbpush_s3_params[] = {
    ngx_string("endpoint="),
    ngx_string("bucket="),
    ngx_string("region="),
    ngx_string("access_key="),
    ngx_string("secret_key="),
    ngx_string("secret_key_file="),
    ngx_string("expires="),
    ngx_string("style=")
};


/* configuration */

char *
ngx_http_cxbpush_s3(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cxbpush_loc_conf_t *cplcf = conf;

    char                   *rv;
    u_char                 *p;
    size_t                  n;
    time_t                  expires;
    ngx_str_t              *value, v[NGX_HTTP_CXBPUSH_S3_NPARAMS];
    ngx_str_t               secret;
    ngx_uint_t              i, j;
    ngx_http_cxbpush_s3_t  *s3;

    if (cplcf->s3 != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    ngx_memzero(v, sizeof(v));

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        for (j = 0; j < NGX_HTTP_CXBPUSH_S3_NPARAMS; j++) {
            n = ngx_http_cxbpush_s3_params[j].len;

            if (value[i].len >= n
                && ngx_strncmp(value[i].data,
                               ngx_http_cxbpush_s3_params[j].data, n)
                   == 0)
            {
                break;
            }
        }

        if (j == NGX_HTTP_CXBPUSH_S3_NPARAMS) {
            p = ngx_strlchr(value[i].data, value[i].data + value[i].len,
                            '=');

            /* without "name=" it could be a misplaced secret: not shown */

            if (p == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"cxbpush_s3\" parameter %ui is not "
                                   "\"name=value\"", i);
                return NGX_CONF_ERROR;
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown \"cxbpush_s3\" parameter \"%*s\"",
                               (size_t) (p - value[i].data), value[i].data);
            return NGX_CONF_ERROR;
        }

        if (v[j].data != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate \"cxbpush_s3\" parameter \"%*s\"",
                               n - 1, value[i].data);
            return NGX_CONF_ERROR;
        }

        /* NUL-terminated: the rest of the argument */

        v[j].data = value[i].data + n;
        v[j].len = value[i].len - n;
    }

    if (v[NGX_HTTP_CXBPUSH_S3_ENDPOINT].data == NULL
        || v[NGX_HTTP_CXBPUSH_S3_BUCKET].data == NULL
        || v[NGX_HTTP_CXBPUSH_S3_REGION].data == NULL
        || v[NGX_HTTP_CXBPUSH_S3_ACCESS_KEY].data == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"cxbpush_s3\" requires \"endpoint=\", "
                           "\"bucket=\", \"region=\" and \"access_key=\"");
        return NGX_CONF_ERROR;
    }

    if ((v[NGX_HTTP_CXBPUSH_S3_SECRET_KEY].data == NULL)
        == (v[NGX_HTTP_CXBPUSH_S3_SECRET_FILE].data == NULL))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"cxbpush_s3\" requires exactly one of "
                           "\"secret_key=\" and \"secret_key_file=\"");
        return NGX_CONF_ERROR;
    }

    s3 = ngx_pcalloc(cf->pool, sizeof(ngx_http_cxbpush_s3_t));
    if (s3 == NULL) {
        return NGX_CONF_ERROR;
    }

    s3->s3.endpoint = (const char *) v[NGX_HTTP_CXBPUSH_S3_ENDPOINT].data;
    s3->s3.bucket = (const char *) v[NGX_HTTP_CXBPUSH_S3_BUCKET].data;
    s3->s3.region = (const char *) v[NGX_HTTP_CXBPUSH_S3_REGION].data;
    s3->s3.access_key = (const char *) v[NGX_HTTP_CXBPUSH_S3_ACCESS_KEY].data;

    secret = v[NGX_HTTP_CXBPUSH_S3_SECRET_KEY];

    if (secret.data == NULL
        && ngx_http_cxbpush_read_secret(cf, "cxbpush_s3",
                                        &v[NGX_HTTP_CXBPUSH_S3_SECRET_FILE],
                                        &secret)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    s3->s3.secret_key = (const char *) secret.data;

    s3->expires = CXB_S3_EXPIRES_MAX;

    if (v[NGX_HTTP_CXBPUSH_S3_EXPIRES].data) {
        expires = ngx_parse_time(&v[NGX_HTTP_CXBPUSH_S3_EXPIRES], 1);

        if (expires == (time_t) NGX_ERROR || expires == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"cxbpush_s3\" value \"expires=%V\"",
                               &v[NGX_HTTP_CXBPUSH_S3_EXPIRES]);
            return NGX_CONF_ERROR;
        }

        if (expires > CXB_S3_EXPIRES_MAX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"cxbpush_s3\" value \"expires=%V\" exceeds "
                               "7 days, the longest a presigned URL can be "
                               "valid", &v[NGX_HTTP_CXBPUSH_S3_EXPIRES]);
            return NGX_CONF_ERROR;
        }

        s3->expires = expires;
    }

    if (v[NGX_HTTP_CXBPUSH_S3_STYLE].data) {
        if (ngx_strcmp(v[NGX_HTTP_CXBPUSH_S3_STYLE].data, "virtual") == 0) {
            s3->s3.virtual_style = 1;

        } else if (ngx_strcmp(v[NGX_HTTP_CXBPUSH_S3_STYLE].data, "path")
                   != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"cxbpush_s3\" value \"style=%V\", "
                               "it must be \"path\" or \"virtual\"",
                               &v[NGX_HTTP_CXBPUSH_S3_STYLE]);
            return NGX_CONF_ERROR;
        }
    }

    rv = ngx_http_cxbpush_s3_check(cf, s3);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    cplcf->s3 = s3;

    return NGX_CONF_OK;
}


/*
 * The core's cxb_s3_check() tells only "bad": each value is checked in
 * turn against known-good others, so that the error names the culprit.
 * Keys are never printed.
 */

static char *
ngx_http_cxbpush_s3_check(ngx_conf_t *cf, ngx_http_cxbpush_s3_t *s3)
{
    cxb_s3_t  t;

    static const cxb_s3_t  good = {
        "http://127.0.0.1:9000", "bucket", "us-east-1", "access", "secret", 0
    };

    t = good;
    t.endpoint = s3->s3.endpoint;

    if (cxb_s3_check(&t) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"cxbpush_s3\" value \"endpoint=%s\", it "
                           "must be \"http://\" or \"https://\", a host and "
                           "an optional port, without a path",
                           s3->s3.endpoint);
        return NGX_CONF_ERROR;
    }

    t = good;
    t.bucket = s3->s3.bucket;

    if (cxb_s3_check(&t) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"cxbpush_s3\" value \"bucket=%s\"",
                           s3->s3.bucket);
        return NGX_CONF_ERROR;
    }

    t = good;
    t.region = s3->s3.region;

    if (cxb_s3_check(&t) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"cxbpush_s3\" value \"region=%s\"",
                           s3->s3.region);
        return NGX_CONF_ERROR;
    }

    t = good;
    t.access_key = s3->s3.access_key;

    if (cxb_s3_check(&t) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"cxbpush_s3\" \"access_key=\": 1 to 128 "
                           "visible characters other than \"/\"");
        return NGX_CONF_ERROR;
    }

    t = good;
    t.secret_key = s3->s3.secret_key;

    if (cxb_s3_check(&t) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"cxbpush_s3\" secret key: 1 to 256 "
                           "bytes");
        return NGX_CONF_ERROR;
    }

    if (cxb_s3_check(&s3->s3) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"cxbpush_s3\" \"style=virtual\" requires an "
                           "endpoint with a host name, not \"%s\"",
                           s3->s3.endpoint);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_cxbpush_token_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cxbpush_loc_conf_t *cplcf = conf;

    void                *old;
    ngx_str_t           *value, secret;
    ngx_uint_t           n;
    cxb_token_key_t     *k;

    value = cf->args->elts;

    if (ngx_http_cxbpush_secret_arg(cf, "cxbpush_token_secret", &value[1],
                                    &secret)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (secret.len < CXB_TOKEN_SECRET_MIN) {
        ngx_explicit_memzero(secret.data, secret.len);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"cxbpush_token_secret\" must be at least %d "
                           "bytes long", CXB_TOKEN_SECRET_MIN);
        return NGX_CONF_ERROR;
    }

    if (cplcf->token_keys == NGX_CONF_UNSET_PTR) {
        cplcf->token_keys = ngx_http_cxbpush_keys_array(cf,
                                                        sizeof(cxb_token_key_t));
        if (cplcf->token_keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    old = cplcf->token_keys->elts;
    n = cplcf->token_keys->nelts;

    k = ngx_array_push(cplcf->token_keys);
    if (k == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cplcf->token_keys->elts != old) {
        /* the array moved: wipe the keys left behind */
        ngx_explicit_memzero(old, n * sizeof(cxb_token_key_t));
    }

    if (cxb_token_key_derive(k, secret.data, secret.len) != 0) {
        ngx_explicit_memzero(secret.data, secret.len);
        cplcf->token_keys->nelts--;
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"cxbpush_token_secret\": key derivation failed");
        return NGX_CONF_ERROR;
    }

    /* the keys are derived: the secret itself is needed no more */

    ngx_explicit_memzero(secret.data, secret.len);

    return NGX_CONF_OK;
}


/*
 * An array of keys (token or signing) whose memory is wiped when the
 * configuration goes.
 */

ngx_array_t *
ngx_http_cxbpush_keys_array(ngx_conf_t *cf, size_t size)
{
    ngx_array_t         *keys;
    ngx_pool_cleanup_t  *cln;

    keys = ngx_array_create(cf->pool, 2, size);
    cln = ngx_pool_cleanup_add(cf->pool, 0);

    if (keys == NULL || cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_cxbpush_keys_cleanup;
    cln->data = keys;

    return keys;
}


static void
ngx_http_cxbpush_keys_cleanup(void *data)
{
    ngx_array_t  *keys = data;

    ngx_explicit_memzero(keys->elts, keys->nalloc * keys->size);
}


/*
 * A "SECRET | file=PATH" argument: the secret itself, or read from PATH.
 */

ngx_int_t
ngx_http_cxbpush_secret_arg(ngx_conf_t *cf, const char *directive,
    ngx_str_t *arg, ngx_str_t *secret)
{
    ngx_str_t  path;

    if (arg->len < sizeof("file=") - 1
        || ngx_strncmp(arg->data, "file=", sizeof("file=") - 1) != 0)
    {
        *secret = *arg;
        return NGX_OK;
    }

    path.data = arg->data + sizeof("file=") - 1;
    path.len = arg->len - (sizeof("file=") - 1);

    return ngx_http_cxbpush_read_secret(cf, directive, &path, secret);
}


/*
 * Reads a secret from a file at configuration time (relative names are
 * taken from the configuration prefix); trailing white space and line
 * breaks are not part of it.  The contents are never logged.
 */

ngx_int_t
ngx_http_cxbpush_read_secret(ngx_conf_t *cf, const char *directive,
    ngx_str_t *path, ngx_str_t *secret)
{
    off_t             size;
    u_char           *buf, *p;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    if (path->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" requires a file name", directive);
        return NGX_ERROR;
    }

    if (ngx_conf_full_name(cf->cycle, path, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%s\": " ngx_open_file_n " \"%s\" failed",
                           directive, path->data);
        return NGX_ERROR;
    }

    buf = NULL;
    n = NGX_ERROR;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%s\": " ngx_fd_info_n " \"%s\" failed",
                           directive, path->data);
        goto done;
    }

    size = ngx_file_size(&fi);

    if (size > NGX_HTTP_CXBPUSH_SECRET_FILE_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\": the secret file \"%s\" is larger than "
                           "%d bytes", directive, path->data,
                           NGX_HTTP_CXBPUSH_SECRET_FILE_MAX);
        goto done;
    }

    buf = ngx_pnalloc(cf->pool, (size_t) size + 1);
    if (buf == NULL) {
        goto done;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = *path;
    file.log = cf->log;

    n = ngx_read_file(&file, buf, (size_t) size, 0);

    if (n != (ssize_t) size) {
        if (n != NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%s\": short read of \"%s\"",
                               directive, path->data);
        }

        ngx_explicit_memzero(buf, (size_t) size);
        n = NGX_ERROR;
        goto done;
    }

    for (p = buf + n; p > buf; p--) {
        if (p[-1] != ' ' && p[-1] != '\t' && p[-1] != CR && p[-1] != LF) {
            break;
        }
    }

    *p = '\0';

    secret->data = buf;
    secret->len = p - buf;

    if (secret->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\": the secret file \"%s\" is empty",
                           directive, path->data);
        n = NGX_ERROR;
    }

done:

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%s\" failed", path->data);
    }

    return n == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


char *
ngx_http_cxbpush_recordings(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cxbpush_loc_conf_t *cplcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (cplcf->recordings) {
        return "is duplicate";
    }

    cplcf->recordings = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_cxbpush_recordings_handler;

    return NGX_CONF_OK;
}


/* the recording URL hooks of the variable context (rules 2 and 3) */

int
ngx_http_cxbpush_seal_token(void *data, cxb_buf_t *out, const char *key)
{
    ngx_http_cxbpush_loc_conf_t *cplcf = data;

    size_t  len;

    if (cplcf->token_keys == NULL || cplcf->token_keys->nelts == 0) {
        return -1;
    }

    len = ngx_strlen(key);

    /* a key the route would refuse gets no token */

    if (ngx_http_cxbpush_valid_key((u_char *) key, len) != NGX_OK) {
        return -1;
    }

    return cxb_token_seal(out, cplcf->token_keys->elts, key, len);
}


int
ngx_http_cxbpush_presign(void *data, cxb_buf_t *out, const char *ref)
{
    ngx_http_cxbpush_loc_conf_t *cplcf = data;

    int                     rc;
    cxb_buf_t               key;
    ngx_http_cxbpush_s3_t  *s3;

    s3 = cplcf->s3;

    if (s3 == NULL) {
        return -1;
    }

    cxb_buf_init(&key);

    rc = -1;

    if (cxb_s3_ref_to_key(&key, &s3->s3, ref, ngx_strlen(ref)) == 0) {
        rc = cxb_s3_presign(out, &s3->s3, "GET", key.data, key.len,
                            (int64_t) ngx_time(), (long) s3->expires);
    }

    cxb_buf_free(&key);

    return rc;
}


/* the route */

static ngx_int_t
ngx_http_cxbpush_recordings_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_str_t                     token;
    cxb_buf_t                     key;
    ngx_array_t                  *keys;
    ngx_table_elt_t              *allow;
    ngx_http_cxbpush_rec_t       *rec;
    ngx_http_cxbpush_rcache_t    *e;
    ngx_http_cxbpush_loc_conf_t  *cplcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        allow = ngx_list_push(&r->headers_out.headers);
        if (allow == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        allow->hash = 1;
        ngx_str_set(&allow->key, "Allow");
        ngx_str_set(&allow->value, "GET, HEAD");

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    cplcf = ngx_http_get_module_loc_conf(r, ngx_http_cxbpush_module);

    if (ngx_http_cxbpush_token(r, &token) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (token.len == 0) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "cxbpush recordings: no token");
        return NGX_HTTP_NOT_FOUND;
    }

    keys = cplcf->token_keys;

    if (keys && cplcf->recordings_redirect) {
        e = ngx_http_cxbpush_rcache(r, cplcf, &token);

        if (e) {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "cxbpush recordings: redirect reused");

            return ngx_http_cxbpush_send_redirect(r, e->url.data,
                                                  e->url.len);
        }
    }

    rec = ngx_http_cxbpush_rec_create(r);
    if (rec == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rec->conf = cplcf;

    if (keys) {
        cxb_buf_init(&key);

        if (cxb_token_open(&key, keys->elts, keys->nelts,
                           (const char *) token.data, token.len)
            == 0)
        {
            rec->key.data = ngx_pnalloc(r->pool, key.len);
            if (rec->key.data == NULL) {
                cxb_buf_free(&key);
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ngx_memcpy(rec->key.data, key.data, key.len);
            rec->key.len = key.len;
            cxb_buf_free(&key);

            rec->token = token;

            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "cxbpush recordings: sealed token of \"%V\"",
                           &rec->key);

            return ngx_http_cxbpush_recordings_serve(r, rec);
        }

        cxb_buf_free(&key);
    }

    if (cplcf->recordings_lookup.len == 0) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "cxbpush recordings: unknown token");
        return NGX_HTTP_NOT_FOUND;
    }

    if (ngx_http_cxbpush_lookup(r, rec, &token) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* kept until ngx_http_cxbpush_lookup_resume() finalizes the request */

    r->main->count++;

    return NGX_DONE;
}


/*
 * The token is the last segment of the path, percent-decoded once.  It is
 * taken from the URI as the client sent it, so that a token with an escaped
 * "/" stays whole; after a rewrite, from the (decoded) current URI.
 */

static ngx_int_t
ngx_http_cxbpush_token(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char  *p, *last, *start, *dst;

    if (!r->valid_unparsed_uri) {
        p = r->uri.data;
        last = p + r->uri.len;

        for (start = last; start > p && start[-1] != '/'; start--) {
            /* void */
        }

        token->data = start;
        token->len = last - start;

        return NGX_OK;
    }

    p = r->unparsed_uri.data;
    last = ngx_strlchr(p, p + r->unparsed_uri.len, '?');

    if (last == NULL) {
        last = p + r->unparsed_uri.len;
    }

    for (start = last; start > p && start[-1] != '/'; start--) {
        /* void */
    }

    token->len = 0;

    if (start == last) {
        return NGX_OK;
    }

    dst = ngx_pnalloc(r->pool, last - start);
    if (dst == NULL) {
        return NGX_ERROR;
    }

    token->data = dst;

    ngx_unescape_uri(&dst, &start, last - start, 0);

    token->len = dst - token->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_cxbpush_lookup(ngx_http_request_t *r, ngx_http_cxbpush_rec_t *rec,
    ngx_str_t *token)
{
    u_char                       *p, *q;
    size_t                        len;
    uintptr_t                     n;
    ngx_str_t                     uri, args;
    ngx_http_request_t           *sr;
    ngx_http_post_subrequest_t   *ps;

    uri = rec->conf->recordings_lookup;
    ngx_str_null(&args);

    /* "URI?args": the token is added to the configured arguments */

    q = ngx_strlchr(uri.data, uri.data + uri.len, '?');

    if (q) {
        args.data = q + 1;
        args.len = uri.data + uri.len - args.data;
        uri.len = q - uri.data;
    }

    n = ngx_escape_uri(NULL, token->data, token->len,
                       NGX_ESCAPE_URI_COMPONENT);

    len = (args.len ? args.len + 1 : 0) + sizeof("token=") - 1
          + token->len + 2 * n;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    q = p;

    if (args.len) {
        q = ngx_cpymem(q, args.data, args.len);
        *q++ = '&';
    }

    q = ngx_cpymem(q, "token=", sizeof("token=") - 1);
    q = (u_char *) ngx_escape_uri(q, token->data, token->len,
                                  NGX_ESCAPE_URI_COMPONENT);

    args.data = p;
    args.len = q - p;

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_cxbpush_lookup_done;
    ps->data = rec;

    if (ngx_http_subrequest(r, &uri, &args, &sr, ps,
                            NGX_HTTP_SUBREQUEST_WAITED)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* nothing of the public request: neither its headers nor its body */

    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));

    if (ngx_list_init(&sr->headers_in.headers, r->pool, 1,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->headers_in.content_length_n = -1;
    sr->headers_in.keep_alive_n = -1;

    sr->request_body = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (sr->request_body == NULL) {
        return NGX_ERROR;
    }

    sr->header_only = 1;

    rec->lookup = sr;

    return NGX_OK;
}


static ngx_int_t
ngx_http_cxbpush_lookup_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cxbpush recordings: lookup done s:%ui rc:%i",
                   r->headers_out.status, rc);

    /* the answer is read once the subrequest is over */

    r->parent->write_event_handler = ngx_http_cxbpush_lookup_resume;

    return rc;
}


static void
ngx_http_cxbpush_lookup_resume(ngx_http_request_t *r)
{
    u_char                  *key;
    ngx_uint_t               i, status;
    ngx_list_part_t         *part;
    ngx_table_elt_t         *h, *found;
    ngx_http_request_t      *sr;
    ngx_http_cxbpush_rec_t  *rec;

    rec = ngx_http_cxbpush_rec_get(r);

    if (rec == NULL || rec->lookup == NULL) {
        r->write_event_handler = ngx_http_request_empty_handler;
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    sr = rec->lookup;

    if (!sr->done) {
        return;
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    status = sr->headers_out.status;

    /* a 4xx: the lookup does not know the token */

    if (status >= NGX_HTTP_BAD_REQUEST
        && status < NGX_HTTP_INTERNAL_SERVER_ERROR)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "cxbpush recordings: lookup answered %ui", status);

        ngx_http_finalize_request(r, NGX_HTTP_NOT_FOUND);
        return;
    }

    if (status != NGX_HTTP_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cxbpush: recording lookup \"%V\" failed (status %ui)",
                      &rec->conf->recordings_lookup, status);

        ngx_http_finalize_request(r, NGX_HTTP_BAD_GATEWAY);
        return;
    }

    found = NULL;
    part = &sr->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        if (h[i].key.len == ngx_http_cxbpush_recording_key.len
            && ngx_strncasecmp(h[i].key.data,
                               ngx_http_cxbpush_recording_key.data,
                               h[i].key.len)
               == 0)
        {
            found = &h[i];
        }
    }

    if (found == NULL || found->value.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cxbpush: recording lookup \"%V\" answered 200 "
                      "without an \"X-Recording-Key\" header",
                      &rec->conf->recordings_lookup);

        ngx_http_finalize_request(r, NGX_HTTP_BAD_GATEWAY);
        return;
    }

    key = ngx_pnalloc(r->pool, found->value.len);
    if (key == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_memcpy(key, found->value.data, found->value.len);

    rec->key.data = key;
    rec->key.len = found->value.len;

    ngx_http_finalize_request(r, ngx_http_cxbpush_recordings_serve(r, rec));
}


static ngx_int_t
ngx_http_cxbpush_recordings_serve(ngx_http_request_t *r,
    ngx_http_cxbpush_rec_t *rec)
{
    u_char     *p;
    ngx_str_t   uri, *pass;

    if (ngx_http_cxbpush_valid_key(rec->key.data, rec->key.len) != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "cxbpush: refused a recording key with a \".\" or "
                      "\"..\" segment, a leading \"/\", a control "
                      "character or over %d bytes", CXB_S3_KEY_MAX);
        rec->key.len = 0;
        return NGX_HTTP_NOT_FOUND;
    }

    if (rec->conf->recordings_redirect) {
        return ngx_http_cxbpush_recordings_redirect(r, rec);
    }

    pass = &rec->conf->recordings_pass;

    uri.len = pass->len + rec->key.len;
    uri.data = ngx_pnalloc(r->pool, uri.len);
    if (uri.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(uri.data, pass->data, pass->len);
    ngx_memcpy(p, rec->key.data, rec->key.len);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cxbpush recordings: pass to \"%V\"", &uri);

    return ngx_http_internal_redirect(r, &uri, NULL);
}


static ngx_int_t
ngx_http_cxbpush_recordings_redirect(ngx_http_request_t *r,
    ngx_http_cxbpush_rec_t *rec)
{
    ngx_str_t  url;

    if (ngx_http_cxbpush_sign(r, rec->conf->s3, &rec->key, &url) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rec->token.len) {
        ngx_http_cxbpush_rcache_store(r, rec, &url);
    }

    return ngx_http_cxbpush_send_redirect(r, url.data, url.len);
}


static ngx_int_t
ngx_http_cxbpush_send_redirect(ngx_http_request_t *r, u_char *url,
    size_t len)
{
    ngx_table_elt_t  *location, *cc;

    ngx_http_clear_location(r);

    location = ngx_list_push(&r->headers_out.headers);
    cc = ngx_list_push(&r->headers_out.headers);

    if (location == NULL || cc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    location->value.data = ngx_pnalloc(r->pool, len);
    if (location->value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(location->value.data, url, len);
    location->value.len = len;

    location->hash = 1;
    ngx_str_set(&location->key, "Location");

    r->headers_out.location = location;

    /* the URL expires: never cache the redirect */

    cc->hash = 1;
    ngx_str_set(&cc->key, "Cache-Control");
    ngx_str_set(&cc->value, "no-store");

    return NGX_HTTP_MOVED_TEMPORARILY;
}


/*
 * The redirect this worker answered for the same sealed token, location and
 * method within the last fifth of the URL's lifetime, or NULL.  The token is
 * compared in constant time.
 */

static ngx_http_cxbpush_rcache_t *
ngx_http_cxbpush_rcache(ngx_http_request_t *r,
    ngx_http_cxbpush_loc_conf_t *cplcf, ngx_str_t *token)
{
    time_t                      now;
    ngx_http_cxbpush_rcache_t  *e;

    e = &ngx_http_cxbpush_rcache_entries[ngx_hash_key(token->data,
                                                      token->len)
                                         & (NGX_HTTP_CXBPUSH_RCACHE_SIZE - 1)];

    now = ngx_time();

    if (e->token.len != token->len
        || e->cycle != (ngx_cycle_t *) ngx_cycle
        || e->conf != cplcf
        || e->method != r->method
        || now < e->signed_at
        || now - e->signed_at
           >= ngx_http_cxbpush_rec_expires(cplcf->s3) / 5)
    {
        return NULL;
    }

    if (CRYPTO_memcmp(e->token.data, token->data, token->len) != 0) {
        return NULL;
    }

    return e;
}


static void
ngx_http_cxbpush_rcache_store(ngx_http_request_t *r,
    ngx_http_cxbpush_rec_t *rec, ngx_str_t *url)
{
    u_char                     *p;
    ngx_http_cxbpush_rcache_t  *e;

    e = &ngx_http_cxbpush_rcache_entries[ngx_hash_key(rec->token.data,
                                                      rec->token.len)
                                         & (NGX_HTTP_CXBPUSH_RCACHE_SIZE - 1)];

    p = ngx_alloc(rec->token.len + url->len, r->connection->log);
    if (p == NULL) {
        return;
    }

    if (e->token.data) {
        ngx_free(e->token.data);
    }

    e->cycle = (ngx_cycle_t *) ngx_cycle;
    e->conf = rec->conf;
    e->method = r->method;
    e->signed_at = ngx_time();

    e->token.data = p;
    e->token.len = rec->token.len;
    p = ngx_cpymem(p, rec->token.data, rec->token.len);

    e->url.data = p;
    e->url.len = url->len;
    ngx_memcpy(p, url->data, url->len);
}


/*
 * A key may be redirected only when it cannot leave a directory: 1 to 1024
 * bytes, no leading "/", no "." or ".." segment, no control character
 * (NUL included).
 */

static ngx_int_t
ngx_http_cxbpush_valid_key(u_char *p, size_t len)
{
    u_char  *last, *seg;

    if (len == 0 || len > CXB_S3_KEY_MAX || p[0] == '/') {
        return NGX_DECLINED;
    }

    last = p + len;
    seg = p;

    for ( ;; ) {

        if (p == last || *p == '/') {
            if ((p - seg == 1 && seg[0] == '.')
                || (p - seg == 2 && seg[0] == '.' && seg[1] == '.'))
            {
                return NGX_DECLINED;
            }

            if (p == last) {
                return NGX_OK;
            }

            seg = p + 1;

        } else if (*p < 0x20 || *p == 0x7f) {
            return NGX_DECLINED;
        }

        p++;
    }
}


/*
 * The presigned URL of key for this request's method (a HEAD is signed as
 * HEAD, anything else as GET), valid for NGX_HTTP_CXBPUSH_REC_EXPIRES
 * seconds or the store's expires=, whichever is shorter.
 */

static ngx_int_t
ngx_http_cxbpush_sign(ngx_http_request_t *r, ngx_http_cxbpush_s3_t *s3,
    ngx_str_t *key, ngx_str_t *url)
{
    long        expires;
    cxb_buf_t   buf;

    expires = (long) ngx_http_cxbpush_rec_expires(s3);

    cxb_buf_init(&buf);

    if (cxb_s3_presign(&buf, &s3->s3,
                       r->method == NGX_HTTP_HEAD ? "HEAD" : "GET",
                       (const char *) key->data, key->len,
                       (int64_t) ngx_time(), expires)
        != 0)
    {
        cxb_buf_free(&buf);
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cxbpush: could not presign a recording URL");
        return NGX_ERROR;
    }

    url->data = ngx_pnalloc(r->pool, buf.len);
    if (url->data == NULL) {
        cxb_buf_free(&buf);
        return NGX_ERROR;
    }

    ngx_memcpy(url->data, buf.data, buf.len);
    url->len = buf.len;

    cxb_buf_free(&buf);

    return NGX_OK;
}


static time_t
ngx_http_cxbpush_rec_expires(ngx_http_cxbpush_s3_t *s3)
{
    return ngx_min(s3->expires, NGX_HTTP_CXBPUSH_REC_EXPIRES);
}


/* $cxbpush_recording_url */

ngx_int_t
ngx_http_cxbpush_recording_url_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                     url;
    ngx_http_cxbpush_s3_t        *s3;
    ngx_http_cxbpush_rec_t       *rec;
    ngx_http_cxbpush_loc_conf_t  *cplcf;

    rec = ngx_http_cxbpush_rec_get(r);

    if (rec == NULL || rec->key.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    /* this location's store, else the one of the route that resolved it */

    cplcf = ngx_http_get_module_loc_conf(r, ngx_http_cxbpush_module);

    s3 = cplcf->s3 ? cplcf->s3 : rec->conf->s3;

    if (s3 == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cxbpush: \"$cxbpush_recording_url\" requires "
                      "\"cxbpush_s3\"");
        v->not_found = 1;
        return NGX_OK;
    }

    if (ngx_http_cxbpush_sign(r, s3, &rec->key, &url) != NGX_OK) {
        return NGX_ERROR;
    }

    v->data = url.data;
    v->len = url.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* the worker exits: the remembered redirects go */

void
ngx_http_cxbpush_recordings_exit(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i;
    ngx_http_cxbpush_rcache_t  *e;

    for (i = 0; i < NGX_HTTP_CXBPUSH_RCACHE_SIZE; i++) {
        e = &ngx_http_cxbpush_rcache_entries[i];

        if (e->token.data) {
            ngx_free(e->token.data);
            ngx_memzero(e, sizeof(ngx_http_cxbpush_rcache_t));
        }
    }
}


/* the resolved key, kept across internal redirects */

static ngx_http_cxbpush_rec_t *
ngx_http_cxbpush_rec_create(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t      *cln;
    ngx_http_cxbpush_rec_t  *rec;

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_cxbpush_rec_t));
    if (cln == NULL) {
        return NULL;
    }

    rec = cln->data;
    ngx_memzero(rec, sizeof(ngx_http_cxbpush_rec_t));

    cln->handler = ngx_http_cxbpush_rec_cleanup;

    return rec;
}


static ngx_http_cxbpush_rec_t *
ngx_http_cxbpush_rec_get(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;

    /* the newest first: a later pass through the route wins */

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_cxbpush_rec_cleanup) {
            return cln->data;
        }
    }

    return NULL;
}


/* the marker of our cleanup entries; nothing to free */

static void
ngx_http_cxbpush_rec_cleanup(void *data)
{
    ngx_http_cxbpush_rec_t  *rec = data;

    rec->key.len = 0;
}
