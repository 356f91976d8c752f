/*
 * ngx_http_cxbpush_module: the results-ingestion handler (cxbpush_ingest).
 *
 * Reads the result document (from memory or nginx's temp file), builds the
 * call's variable context and pushes with the core, answers 202 (or the dry
 * run's 200) and starts every ready push as a background subrequest.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cxbpush_module.h"


static void ngx_http_cxbpush_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_cxbpush_read_body(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_cxbpush_is_dry_run(ngx_http_request_t *r);
static ngx_int_t ngx_http_cxbpush_send(ngx_http_request_t *r,
    ngx_uint_t status, u_char *data, size_t len);
static ngx_buf_t *ngx_http_cxbpush_json_buf(ngx_http_request_t *r,
    u_char *data, size_t len);
static ngx_int_t ngx_http_cxbpush_send_buf(ngx_http_request_t *r,
    ngx_uint_t status, ngx_buf_t *b);
static ngx_int_t ngx_http_cxbpush_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *msg, size_t len);
static void ngx_http_cxbpush_cleanup_doc(void *data);
static void ngx_http_cxbpush_cleanup_call(void *data);
static ngx_int_t ngx_http_cxbpush_spool_call(ngx_http_cxbpush_call_t *hc,
    int64_t now_ms);
static void ngx_http_cxbpush_spooled(void *data, ngx_int_t rc,
    const char *what, int err);
static void ngx_http_cxbpush_accept(ngx_http_cxbpush_call_t *hc,
    ngx_uint_t detach);


ngx_int_t
ngx_http_cxbpush_ingest_handler(ngx_http_request_t *r)
{
    ngx_int_t         rc;
    ngx_table_elt_t  *allow;

    if (r->method != NGX_HTTP_POST) {
        allow = ngx_list_push(&r->headers_out.headers);
        if (allow == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        allow->hash = 1;
        ngx_str_set(&allow->key, "Allow");
        ngx_str_set(&allow->value, "POST");

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_cxbpush_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                           "only POST is allowed",
                                           sizeof("only POST is allowed") - 1);
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_cxbpush_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_cxbpush_body_handler(ngx_http_request_t *r)
{
    int                           dry_run;
    cJSON                        *doc;
    ngx_int_t                     rc;
    ngx_str_t                     body, base;
    cxb_buf_t                     err, out;
    const char                   *end;
    cxb_ctx_opts_t                opts;
    ngx_pool_cleanup_t           *cln, *dcln;
    ngx_http_cxbpush_call_t      *hc;
    ngx_http_cxbpush_loc_conf_t  *cplcf;

    cplcf = ngx_http_get_module_loc_conf(r, ngx_http_cxbpush_module);

    if (ngx_http_cxbpush_read_body(r, &body) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cxb_buf_init(&err);

    doc = cxb_doc_parse((const char *) body.data, body.len, &err);

    if (doc == NULL) {
        rc = err.failed ? NGX_HTTP_INTERNAL_SERVER_ERROR
                        : ngx_http_cxbpush_send_error(r, NGX_HTTP_BAD_REQUEST,
                                                      err.data, err.len);
        cxb_buf_free(&err);
        ngx_http_finalize_request(r, rc);
        return;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        cJSON_Delete(doc);
        cxb_buf_free(&err);
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_http_cxbpush_cleanup_doc;
    cln->data = doc;
    dcln = cln;

    if (ngx_http_complex_value(r, cplcf->public_base_url, &base) != NGX_OK) {
        cxb_buf_free(&err);
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* "$scheme://" of an absent Host is no base */
    end = (const char *) ngx_strlchr(base.data, base.data + base.len, ':');
    if (end && (size_t) (end - (char *) base.data) + 3 == base.len) {
        base.len = 0;
    }

    ngx_memzero(&opts, sizeof(cxb_ctx_opts_t));
    opts.public_base_url = (const char *) base.data;
    opts.public_base_url_len = base.len;
    opts.now_ms = ngx_http_cxbpush_now_ms();
    opts.body_max = cplcf->body_max;

    if (cplcf->sign_keys) {
        opts.sign_keys = cplcf->sign_keys->elts;
        opts.nsign_keys = cplcf->sign_keys->nelts;
    }
    opts.nonce = ((uint64_t) ngx_random() << 33)
                 ^ ((uint64_t) ngx_random() << 2)
                 ^ (uint64_t) opts.now_ms ^ ((uint64_t) ngx_pid << 48);

    /* recording URL rules 2 (sealed token) and 3 (presigned URL) */

    if (cplcf->token_keys) {
        opts.seal_token = ngx_http_cxbpush_seal_token;
    }

    if (cplcf->s3) {
        opts.presign = ngx_http_cxbpush_presign;
    }

    opts.recording_data = cplcf;

    hc = ngx_pcalloc(r->pool, sizeof(ngx_http_cxbpush_call_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (hc == NULL || cln == NULL) {
        cxb_buf_free(&err);
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    hc->conf = cplcf;
    hc->request = r;

    switch (cxb_call_build(&hc->call, doc, &opts, &err)) {

    case 0:
        break;

    case -1:
        rc = ngx_http_cxbpush_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         err.data, err.len);
        cxb_buf_free(&err);
        ngx_http_finalize_request(r, rc);
        return;

    default:
        cxb_buf_free(&err);
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cxb_buf_free(&err);

    cln->handler = ngx_http_cxbpush_cleanup_call;
    cln->data = hc;

    dry_run = ngx_http_cxbpush_is_dry_run(r);

    cxb_buf_init(&out);

    if (cxb_call_answer(&out, &hc->call, dry_run) != 0) {
        cxb_buf_free(&out);
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the answer, as it is sent (after the spool write, if any) */

    hc->answer = ngx_http_cxbpush_json_buf(r, (u_char *) out.data, out.len);
    cxb_buf_free(&out);

    if (hc->answer == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (dry_run) {
        rc = ngx_http_cxbpush_send_buf(r, NGX_HTTP_OK, hc->answer);
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (ngx_http_cxbpush_spool_enabled()) {
        rc = ngx_http_cxbpush_spool_call(hc, opts.now_ms);

        /*
         * The pushes are built: free the context and the document now,
         * while they are still in the CPU caches, rather than when the
         * pool goes after the last push.
         */

        cxb_call_drop_context(&hc->call);
        cJSON_Delete(doc);
        dcln->data = NULL;

        if (rc == NGX_DONE) {
            /* 202 once the spool has them */
            r->main->count++;
            return;
        }

        if (rc != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

    } else {
        cxb_call_drop_context(&hc->call);
        cJSON_Delete(doc);
        dcln->data = NULL;
    }

    ngx_http_cxbpush_accept(hc, 0);
}


/*
 * Spools the call's ready pushes: NGX_DONE when a write is under way
 * (ngx_http_cxbpush_spooled() follows), NGX_OK when there is nothing to
 * write, NGX_ERROR.
 */

static ngx_int_t
ngx_http_cxbpush_spool_call(ngx_http_cxbpush_call_t *hc, int64_t now_ms)
{
    size_t                          i, n;
    cxb_buf_t                       text;
    cxb_push_t                     *p;
    ngx_http_request_t             *r;
    ngx_http_cxbpush_spool_item_t  *it;

    r = hc->request;

    for (i = 0, n = 0; i < hc->call.npushes; i++) {
        n += hc->call.pushes[i].state == CXB_PUSH_READY;
    }

    if (n == 0) {
        return NGX_OK;
    }

    /* one item per push; those not ready have no text and are not written */

    hc->items = ngx_pcalloc(r->pool, hc->call.npushes
                                     * sizeof(ngx_http_cxbpush_spool_item_t));
    if (hc->items == NULL) {
        return NGX_ERROR;
    }

    cxb_buf_init(&text);

    for (i = 0; i < hc->call.npushes; i++) {
        p = &hc->call.pushes[i];
        it = &hc->items[i];
        it->fd = -1;

        if (p->state != CXB_PUSH_READY) {
            continue;
        }

        cxb_buf_reset(&text);

        if (cxb_entry_write(&text, &hc->call, p, 0, now_ms, now_ms,
                            hc->conf->index)
            != 0)
        {
            cxb_buf_free(&text);
            return NGX_ERROR;
        }

        ngx_cpystrn((u_char *) it->id, (u_char *) p->id, sizeof(it->id));

        it->text = ngx_pnalloc(r->pool, text.len);
        if (it->text == NULL) {
            cxb_buf_free(&text);
            return NGX_ERROR;
        }

        ngx_memcpy(it->text, text.data, text.len);
        it->len = text.len;
    }

    cxb_buf_free(&text);

    if (ngx_http_cxbpush_spool_write(hc->items, hc->call.npushes,
                                     ngx_http_cxbpush_spooled, hc)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_http_cxbpush_spooled(void *data, ngx_int_t rc, const char *what, int err)
{
    ngx_http_cxbpush_call_t *hc = data;

    u_char               msg[NGX_MAX_ERROR_STR], *last;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = hc->request;
    c = r->connection;

    r->main->count--;

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, c->log, err,
                      "cxbpush: %s failed in the spool \"%V\": call \"%s\" "
                      "refused with 503", what,
                      ngx_http_cxbpush_spool_dir(), hc->call.call_id);

        last = ngx_snprintf(msg, sizeof(msg),
                            "the pushes could not be stored durably "
                            "(%s failed: %s); nothing was accepted, retry "
                            "later", what, strerror(err));

        rc = ngx_http_cxbpush_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         (char *) msg, last - msg);
        ngx_http_finalize_request(r, rc);
        ngx_http_run_posted_requests(c);
        return;
    }

    /* each ready push holds its locked entry in hc->items */

    ngx_http_cxbpush_accept(hc, 1);
    ngx_http_run_posted_requests(c);
}


/*
 * Starts the ready pushes, records the others, answers 202.  Spooled
 * pushes are detached from the ingestion request (each becomes a job whose
 * first attempt fires from a timer), so the platform's connection is free
 * at once; otherwise they are background subrequests of this request.
 */

static void
ngx_http_cxbpush_accept(ngx_http_cxbpush_call_t *hc, ngx_uint_t detach)
{
    size_t               i;
    ngx_int_t            rc;
    cxb_push_t          *p;
    cxb_result_t         res;
    ngx_http_request_t  *r;

    r = hc->request;

    for (i = 0; i < hc->call.npushes; i++) {
        p = &hc->call.pushes[i];

        if (p->state == CXB_PUSH_READY) {
            if (detach && ngx_http_cxbpush_retry_detach(hc, i) == NGX_OK) {
                continue;
            }

            if (ngx_http_cxbpush_push_start(hc, p) == NGX_OK) {
                continue;
            }

            ngx_memzero(&res, sizeof(cxb_result_t));
            res.status = "failed";
            res.error = "internal error: the push could not be started";

            if (hc->items) {
                /* still spooled: another attempt comes from the spool scan */
                (void) close(hc->items[i].fd);
                hc->items[i].fd = -1;
                res.more = 1;
            }

        } else {
            ngx_memzero(&res, sizeof(cxb_result_t));
            res.status = p->state == CXB_PUSH_SKIPPED ? "skipped" : "failed";
            res.error = p->reason;
        }

        res.http_status = -1;
        res.attempt = 1;
        res.at_ms = ngx_http_cxbpush_now_ms();

        ngx_http_cxbpush_record(hc, p, &res);
    }

    rc = ngx_http_cxbpush_send_buf(r, NGX_HTTP_ACCEPTED, hc->answer);

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_cxbpush_read_body(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char       *p;
    off_t         len;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    body->len = 0;
    body->data = (u_char *) "";

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        body->data = cl->buf->pos;
        body->len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        len += b->in_file ? b->file_last - b->file_pos : b->last - b->pos;
    }

    p = ngx_pnalloc(r->pool, (size_t) len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                              b->file_pos);

            if (n != b->file_last - b->file_pos) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "cxbpush: could not read the request body "
                              "from \"%V\"", &b->file->name);
                return NGX_ERROR;
            }

            p += n;

        } else {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
        }
    }

    body->len = p - body->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_cxbpush_is_dry_run(ngx_http_request_t *r)
{
    ngx_str_t  v;

    if (ngx_http_arg(r, (u_char *) "dry_run", sizeof("dry_run") - 1, &v)
        != NGX_OK)
    {
        return 0;
    }

    return (v.len == 1 && v.data[0] == '1')
           || (v.len == 4 && ngx_strncasecmp(v.data, (u_char *) "true", 4)
                             == 0);
}


static ngx_int_t
ngx_http_cxbpush_send(ngx_http_request_t *r, ngx_uint_t status, u_char *data,
    size_t len)
{
    ngx_buf_t  *b;

    b = ngx_http_cxbpush_json_buf(r, data, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_cxbpush_send_buf(r, status, b);
}


/* a JSON answer body: the text and a newline, in the request's pool */

static ngx_buf_t *
ngx_http_cxbpush_json_buf(ngx_http_request_t *r, u_char *data, size_t len)
{
    ngx_buf_t  *b;

    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        return NULL;
    }

    b->last = ngx_cpymem(b->last, data, len);
    *b->last++ = LF;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    return b;
}


static ngx_int_t
ngx_http_cxbpush_send_buf(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b)
{
    ngx_int_t     rc;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_cxbpush_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg, size_t len)
{
    char       *s;
    cJSON      *o;
    ngx_int_t   rc;

    o = cJSON_CreateObject();
    if (o == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (cJSON_AddItemToObject(o, "error",
                              cxb_json_string_utf8(msg ? msg : "", len))
        == 0)
    {
        cJSON_Delete(o);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);

    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "cxbpush: rejected a result document: %s", s);

    rc = ngx_http_cxbpush_send(r, status, (u_char *) s, ngx_strlen(s));
    cJSON_free(s);

    return rc;
}


static void
ngx_http_cxbpush_cleanup_doc(void *data)
{
    cJSON_Delete(data);
}


static void
ngx_http_cxbpush_cleanup_call(void *data)
{
    ngx_http_cxbpush_call_t  *hc = data;

    size_t  i;

    /*
     * An entry whose attempt never ended (the request was torn down) is
     * let go: the next scan of the spool takes it up again.
     */

    for (i = 0; hc->items && i < hc->call.npushes; i++) {
        if (hc->items[i].fd != -1) {
            (void) close(hc->items[i].fd);
            hc->items[i].fd = -1;
        }
    }

    cxb_call_free(&hc->call);
}
