/*
 * libFuzzer target: the result document, its variable context and its
 * pushes (src/cxb_context.c, src/cxb_push.c, with src/cxb_template.c,
 * src/cxb_time.c, src/cxb_token.c and src/cxb_sigv4.c behind them).
 *
 * Input: an ingestion body.  cxb_doc_parse() -> cxb_call_build() (fixed
 * push time, a public base URL, both recording hooks set: sealed tokens
 * and SigV4 presigning with a fixed configuration) -> cxb_call_answer()
 * (202 and dry run) -> cxb_record() of every push.
 *
 * Checks:
 *   - a refused body or document always comes with a reason;
 *   - cxb_call_build() never reports an internal failure (-2: out of
 *     memory), and for a body of at most 4096 bytes no push fails as "could
 *     not be rendered" (the 16 MiB render cap cannot be reached from it, and
 *     nothing runs out of memory);
 *   - the answers and records are JSON with the call id and one entry per
 *     push; records redact secret headers;
 *   - every ready push has an http(s) URL without spaces or control
 *     characters or a fragment, valid header names, header values without
 *     CR/LF/NUL/control characters, no connection-managed header, at most
 *     CXB_MAX_HEADERS headers, a JSON body with Content-Type (none for GET
 *     and DELETE); skipped and failed pushes have a reason;
 *   - a recording URL made with a sealed token opens back to recording_key;
 *   - cxb_json_string_utf8() of the raw input (as a CRM's answer) is valid
 *     UTF-8 without NUL, and the input itself when that already holds;
 *   - with two Standard Webhooks signing keys set, every ready push carries
 *     webhook-id (its id), webhook-timestamp (the push time) and a
 *     webhook-signature that matches an independent HMAC-SHA256 + base64
 *     over id.timestamp.body for both keys.
 */

#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cxb_buf.h"
#include "cxb_context.h"
#include "cxb_push.h"
#include "cxb_sign.h"
#include "cxb_sigv4.h"
#include "cxb_template.h"
#include "cxb_token.h"
#include "fuzz_common.h"


#define FUZZ_SMALL     4096
#define FUZZ_NOW_MS    INT64_C(1795428000000)      /* 2026-11-23T10:00:00Z */
#define FUZZ_BASE      "https://pub.example/"
#define FUZZ_REC_PATH  "https://pub.example/api/v1/public/recordings/"


typedef struct {
    cxb_token_key_t  key;
    cxb_s3_t         s3;
} fuzz_rec_t;


static fuzz_rec_t      rec;
static cxb_sign_key_t  sign_keys[2];
static int         initialized;


static int
seal_token(void *data, cxb_buf_t *out, const char *key)
{
    fuzz_rec_t  *r = data;

    return cxb_token_seal(out, &r->key, key, strlen(key));
}


static int
presign(void *data, cxb_buf_t *out, const char *ref)
{
    int          rc;
    cxb_buf_t    key;
    fuzz_rec_t  *r = data;

    cxb_buf_init(&key);

    rc = cxb_s3_ref_to_key(&key, &r->s3, ref, strlen(ref));

    if (rc == 0) {
        rc = cxb_s3_presign(out, &r->s3, "GET", key.data, key.len,
                            FUZZ_NOW_MS / 1000, 604800);
    }

    cxb_buf_free(&key);

    return rc;
}


static void
init(void)
{
    static const char  secret[] = "fuzzing secret, 32 bytes long!!";

    if (cxb_token_key_derive(&rec.key, (const unsigned char *) secret,
                             sizeof(secret) - 1) != 0)
    {
        abort();
    }

    rec.s3.endpoint = "http://127.0.0.1:9000";
    rec.s3.bucket = "recordings";
    rec.s3.region = "us-east-1";
    rec.s3.access_key = "AKIAIOSFODNN7EXAMPLE";
    rec.s3.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    rec.s3.virtual_style = 0;

    if (cxb_s3_check(&rec.s3) != 0) {
        abort();
    }

    /* the Standard Webhooks example secret, and a second one (rotation) */
    if (cxb_sign_key_parse(&sign_keys[0], "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                           sizeof("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") - 1)
        != 0
        || cxb_sign_key_parse(&sign_keys[1],
                              "c2Vjb25kIHNpZ25pbmcga2V5LCAzMiBieXRlcyE=",
                              sizeof("c2Vjb25kIHNpZ25pbmcga2V5LCAzMiBieXRlcyE=")
                              - 1)
           != 0)
    {
        abort();
    }

    initialized = 1;
}


static int
is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9')
           || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}


static void
check_push(const cxb_push_t *p)
{
    size_t         i, j, n;
    int            ctype;
    cJSON         *body;
    const char    *m;
    unsigned char  c;

    static const char  *managed[] = {
        "Host", "Content-Length", "Transfer-Encoding", "Connection",
        "Keep-Alive", "TE", "Upgrade", "Expect", "Proxy-Connection", NULL
    };

    FUZZ_CHECK(p->integration != NULL && p->method != NULL
               && p->event_type != NULL, "a push without a name or method");
    FUZZ_CHECK(strncmp(p->id, "msg_", 4) == 0 && strlen(p->id) == 24
               && fuzz_is_lower_hex(p->id + 4, 20), "bad push id %s", p->id);

    if (p->state != CXB_PUSH_READY) {
        FUZZ_CHECK(p->state == CXB_PUSH_SKIPPED
                   || p->state == CXB_PUSH_FAILED, "bad state %d", p->state);
        FUZZ_CHECK(p->reason != NULL && p->reason[0] != '\0',
                   "push %s not ready without a reason", p->integration);
        return;
    }

    m = p->method;
    FUZZ_CHECK(strcmp(m, "POST") == 0 || strcmp(m, "GET") == 0
               || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0
               || strcmp(m, "DELETE") == 0, "method %s", m);

    /* the URL */

    FUZZ_CHECK(p->url != NULL, "a ready push without a url");
    n = strlen(p->url);
    FUZZ_CHECK((n > 7 && strncasecmp(p->url, "http://", 7) == 0)
               || (n > 8 && strncasecmp(p->url, "https://", 8) == 0),
               "url %s", fuzz_show(p->url, n));

    for (i = 0; i < n; i++) {
        c = (unsigned char) p->url[i];
        FUZZ_CHECK(c > 0x20 && c != 0x7f && c != '#',
                   "byte 0x%02x in url %s", c, fuzz_show(p->url, n));
    }

    /* the headers */

    FUZZ_CHECK(p->nheaders <= CXB_MAX_HEADERS, "%zu headers", p->nheaders);
    ctype = 0;

    for (i = 0; i < p->nheaders; i++) {
        const char  *name = p->headers[i].name;
        const char  *value = p->headers[i].value;

        FUZZ_CHECK(name != NULL && name[0] != '\0' && value != NULL,
                   "empty header");

        for (j = 0; name[j]; j++) {
            FUZZ_CHECK(is_tchar((unsigned char) name[j]),
                       "header name %s", fuzz_show(name, strlen(name)));
        }

        for (j = 0; value[j]; j++) {
            c = (unsigned char) value[j];
            FUZZ_CHECK((c >= 0x20 || c == '\t') && c != 0x7f,
                       "byte 0x%02x in the value of header %s", c, name);
        }

        for (j = 0; managed[j]; j++) {
            FUZZ_CHECK(strcasecmp(name, managed[j]) != 0,
                       "managed header %s kept", name);
        }

        if (strcasecmp(name, "Content-Type") == 0) {
            ctype = 1;
        }
    }

    /* the body */

    if (strcmp(m, "GET") == 0 || strcmp(m, "DELETE") == 0) {
        FUZZ_CHECK(p->body == NULL, "%s push with a body", m);
    }

    if (p->body != NULL) {
        FUZZ_CHECK(p->body_len == strlen(p->body), "body_len %zu, strlen %zu",
                   p->body_len, strlen(p->body));
        body = cJSON_ParseWithLength(p->body, p->body_len);
        FUZZ_CHECK(body != NULL, "the body is not JSON: %s",
                   fuzz_show(p->body, p->body_len));
        cJSON_Delete(body);
        FUZZ_CHECK(ctype, "a body without Content-Type");
    }
}


static const char *
header(const cxb_push_t *p, const char *name)
{
    size_t  i;

    for (i = 0; i < p->nheaders; i++) {
        if (strcasecmp(p->headers[i].name, name) == 0) {
            return p->headers[i].value;
        }
    }

    return NULL;
}


/* webhook-* headers, checked against OpenSSL directly */
static void
check_signature(const cxb_push_t *p)
{
    char           ts[24], want[2 * (3 + 44) + 2];
    size_t         i, n;
    unsigned int   mdlen;
    const char    *id, *t, *sig;
    unsigned char  md[EVP_MAX_MD_SIZE], *msg;

    id = header(p, "webhook-id");
    t = header(p, "webhook-timestamp");
    sig = header(p, "webhook-signature");

    FUZZ_CHECK(id && t && sig, "push %s is not signed", p->integration);
    FUZZ_CHECK(strcmp(id, p->id) == 0, "webhook-id %s, push id %s", id,
               p->id);

    snprintf(ts, sizeof(ts), "%lld", (long long) (FUZZ_NOW_MS / 1000));
    FUZZ_CHECK(strcmp(t, ts) == 0, "webhook-timestamp %s", t);

    n = strlen(id) + 1 + strlen(ts) + 1 + p->body_len;
    msg = malloc(n + 1);
    FUZZ_CHECK(msg != NULL, "malloc");
    snprintf((char *) msg, n + 1, "%s.%s.", id, ts);

    if (p->body_len) {
        memcpy(msg + strlen(id) + 1 + strlen(ts) + 1, p->body, p->body_len);
    }

    want[0] = '\0';

    for (i = 0; i < 2; i++) {
        FUZZ_CHECK(HMAC(EVP_sha256(), sign_keys[i].key,
                        (int) sign_keys[i].len, msg, n, md, &mdlen)
                   != NULL && mdlen == 32, "HMAC");
        strcat(want, i ? " v1," : "v1,");
        EVP_EncodeBlock((unsigned char *) want + strlen(want), md, 32);
    }

    free(msg);

    FUZZ_CHECK(strcmp(sig, want) == 0, "webhook-signature %s, expected %s",
               sig, want);
}


static void
check_record(const cxb_call_t *c, const cxb_push_t *p,
    const cxb_result_t *res)
{
    cJSON        *j;
    cxb_buf_t     out;
    const cJSON  *h, *v;

    cxb_buf_init(&out);

    FUZZ_CHECK(cxb_record(&out, c, p, res) == 0, "cxb_record failed");

    j = cJSON_ParseWithLength(out.data, out.len);
    FUZZ_CHECK(j != NULL, "the record is not JSON: %s",
               fuzz_show(out.data, out.len));

    v = cJSON_GetObjectItemCaseSensitive(j, "call_id");
    FUZZ_CHECK(cJSON_IsString(v) && strcmp(v->valuestring, c->ctx.call_id) == 0,
               "record: wrong call_id");

    h = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "request"), "headers");
    FUZZ_CHECK(cJSON_IsObject(h), "record: no request headers");

    cJSON_ArrayForEach(v, h) {
        if (cxb_header_is_secret(v->string, strlen(v->string))) {
            FUZZ_CHECK(cJSON_IsString(v)
                       && strcmp(v->valuestring, "[redacted]") == 0,
                       "record: secret header %s not redacted", v->string);
        }
    }

    cJSON_Delete(j);
    cxb_buf_free(&out);
}


static void
check_answer(cxb_call_t *c, int dry_run)
{
    cJSON        *j;
    cxb_buf_t     out;
    const cJSON  *v;

    cxb_buf_init(&out);

    FUZZ_CHECK(cxb_call_answer(&out, c, dry_run) == 0,
               "cxb_call_answer(dry_run=%d) failed", dry_run);

    j = cJSON_ParseWithLength(out.data, out.len);
    FUZZ_CHECK(j != NULL, "the answer is not JSON: %s",
               fuzz_show(out.data, out.len));

    v = cJSON_GetObjectItemCaseSensitive(j, "call_id");
    FUZZ_CHECK(cJSON_IsString(v) && strcmp(v->valuestring, c->ctx.call_id) == 0,
               "answer: wrong call_id");

    v = cJSON_GetObjectItemCaseSensitive(j, "pushes");
    FUZZ_CHECK(cJSON_IsArray(v)
               && (size_t) cJSON_GetArraySize(v) == c->npushes,
               "answer: %d pushes, not %zu", cJSON_GetArraySize(v),
               c->npushes);

    if (dry_run) {
        FUZZ_CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j,
                                                               "variables")),
                   "dry run without variables");
    }

    cJSON_Delete(j);
    cxb_buf_free(&out);
}


/* a recording URL with a minted token must open back to recording_key */
static void
check_recording_url(cxb_call_t *c)
{
    size_t        n;
    cxb_buf_t     key;
    const char   *url, *rk, *tok;
    const cJSON  *v;

    v = cxb_ctx_lookup(&c->ctx, "result.recording_url",
                       sizeof("result.recording_url") - 1);
    FUZZ_CHECK(cJSON_IsString(v), "no result.recording_url");

    url = v->valuestring;
    rk = cxb_json_str(c->ctx.call, "recording_key");
    tok = cxb_json_str(c->ctx.call, "recording_access_token");

    if (rk == NULL || rk[0] == '\0' || (tok != NULL && tok[0] != '\0')) {
        return;
    }

    n = strlen(rk);

    if (n > CXB_TOKEN_KEY_MAX) {
        FUZZ_CHECK(strncmp(url, FUZZ_REC_PATH, sizeof(FUZZ_REC_PATH) - 1) != 0
                   || cxb_json_str(c->ctx.call, "recording_url") != NULL,
                   "a token minted for a key over %d bytes",
                   CXB_TOKEN_KEY_MAX);
        return;
    }

    FUZZ_CHECK(strncmp(url, FUZZ_REC_PATH, sizeof(FUZZ_REC_PATH) - 1) == 0,
               "recording_key without a token gave %s",
               fuzz_show(url, strlen(url)));

    url += sizeof(FUZZ_REC_PATH) - 1;

    cxb_buf_init(&key);
    FUZZ_CHECK(cxb_token_open(&key, &rec.key, 1, url, strlen(url)) == 0
               && key.len == n && memcmp(key.data, rk, n) == 0,
               "the minted token does not open to recording_key");
    cxb_buf_free(&key);
}


/* length of the valid UTF-8 sequence at s[i], or 0 (NUL is not valid) */
static size_t
utf8_seq(const unsigned char *s, size_t len, size_t i)
{
    size_t    n, k;
    uint32_t  cp;

    if (s[i] == 0) {
        return 0;
    }

    if (s[i] < 0x80) {
        return 1;
    }

    if ((s[i] & 0xe0) == 0xc0) {
        n = 2;
        cp = s[i] & 0x1f;

    } else if ((s[i] & 0xf0) == 0xe0) {
        n = 3;
        cp = s[i] & 0x0f;

    } else if ((s[i] & 0xf8) == 0xf0) {
        n = 4;
        cp = s[i] & 0x07;

    } else {
        return 0;
    }

    if (len - i < n) {
        return 0;
    }

    for (k = 1; k < n; k++) {
        if ((s[i + k] & 0xc0) != 0x80) {
            return 0;
        }

        cp = cp << 6 | (s[i + k] & 0x3f);
    }

    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800)
        || (n == 4 && cp < 0x10000) || cp > 0x10ffff
        || (cp >= 0xd800 && cp <= 0xdfff))
    {
        return 0;
    }

    return n;
}


static int
utf8_valid(const unsigned char *s, size_t len)
{
    size_t  i, n;

    for (i = 0; i < len; i += n) {
        n = utf8_seq(s, len, i);

        if (n == 0) {
            return 0;
        }
    }

    return 1;
}


static void
check_utf8(const uint8_t *data, size_t size)
{
    cJSON   *v;
    size_t   n;

    v = cxb_json_string_utf8((const char *) data, size);
    FUZZ_CHECK(cJSON_IsString(v), "cxb_json_string_utf8 failed");

    n = strlen(v->valuestring);
    FUZZ_CHECK(utf8_valid((const unsigned char *) v->valuestring, n),
               "cxb_json_string_utf8 gave invalid UTF-8: %s",
               fuzz_show(v->valuestring, n));

    if (utf8_valid(data, size)) {
        FUZZ_CHECK(n == size && memcmp(v->valuestring, data, size) == 0,
                   "cxb_json_string_utf8 changed valid UTF-8");
    }

    cJSON_Delete(v);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             rc;
    size_t          i;
    cJSON          *doc;
    cxb_buf_t       err;
    cxb_call_t      call;
    cxb_result_t    res;
    cxb_ctx_opts_t  opts;

    if (!initialized) {
        init();
    }

    check_utf8(data, size);

    cxb_buf_init(&err);

    doc = cxb_doc_parse((const char *) data, size, &err);

    if (doc == NULL) {
        FUZZ_CHECK(err.len > 0, "a body refused without a reason");
        cxb_buf_free(&err);
        return 0;
    }

    memset(&opts, 0, sizeof(cxb_ctx_opts_t));
    opts.public_base_url = FUZZ_BASE;
    opts.public_base_url_len = sizeof(FUZZ_BASE) - 1;
    opts.now_ms = FUZZ_NOW_MS;
    opts.nonce = UINT64_C(0x0123456789abcdef);
    opts.seal_token = seal_token;
    opts.presign = presign;
    opts.recording_data = &rec;
    opts.sign_keys = sign_keys;
    opts.nsign_keys = 2;

    rc = cxb_call_build(&call, doc, &opts, &err);

    if (rc == -1) {
        FUZZ_CHECK(err.len > 0, "a document refused without a reason");
    }

    FUZZ_CHECK(rc != -2, "cxb_call_build: internal failure (-2) on a "
               "%zu-byte document", size);

    if (rc != 0) {
        cJSON_Delete(doc);
        cxb_buf_free(&err);
        return 0;
    }

    for (i = 0; i < call.npushes; i++) {
        check_push(&call.pushes[i]);

        /* the core's reason for a render over 16 MiB or out of memory */
        if (size <= FUZZ_SMALL && call.pushes[i].reason != NULL) {
            FUZZ_CHECK(strncmp(call.pushes[i].reason,
                               "the push could not be rendered",
                               sizeof("the push could not be rendered") - 1)
                       != 0,
                       "push %s of a %zu-byte document: %s",
                       call.pushes[i].integration, size,
                       call.pushes[i].reason);
        }

        if (call.pushes[i].state == CXB_PUSH_READY) {
            check_signature(&call.pushes[i]);
        }
    }

    check_answer(&call, 0);

    memset(&res, 0, sizeof(cxb_result_t));
    res.status = "ok";
    res.http_status = 200;
    res.response = "{\"ok\":true,\"bytes\":\"\xff\xfe\xc3\"}";
    res.response_len = strlen(res.response);
    res.attempt = 1;
    res.at_ms = FUZZ_NOW_MS + 1500;
    res.duration_ms = 120;

    for (i = 0; i < call.npushes; i++) {
        check_record(&call, &call.pushes[i], &res);
    }

    res.status = "failed";
    res.http_status = -1;
    res.response = NULL;
    res.response_len = 0;
    res.error = "connection refused";
    res.attempt = 3;

    for (i = 0; i < call.npushes; i++) {
        check_record(&call, &call.pushes[i], &res);
    }

    check_answer(&call, 1);
    check_recording_url(&call);

    cxb_call_free(&call);
    cJSON_Delete(doc);
    cxb_buf_free(&err);

    return 0;
}
