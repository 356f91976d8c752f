/*
 * ngx_http_cxbpush_module: outbound pushes and result records.
 *
 * Each push is a background subrequest to the cxbpush_pass location (the
 * way the mirror module fires its subrequests), with its own method, body
 * and headers: the ingestion request's headers never reach the CRM.  Our
 * header and body filters act only on our subrequests: they note the
 * CRM's status, keep the first cxbpush_response_max bytes of its answer and
 * swallow the rest, so any answer size classifies.  When the subrequest
 * ends, the attempt is classified, logged and handed to cxbpush_result_pass.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cxbpush_module.h"


static ngx_int_t ngx_http_cxbpush_subrequest(ngx_http_request_t *r,
    ngx_str_t *uri, ngx_http_cxbpush_sr_ctx_t *ctx, ngx_str_t *method,
    cxb_header_t *headers, size_t nheaders, u_char *body, size_t len);
static ngx_int_t ngx_http_cxbpush_method(ngx_str_t *name);
static ngx_int_t ngx_http_cxbpush_push_done(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_cxbpush_sink_done(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_cxbpush_sr_last(ngx_http_cxbpush_sr_ctx_t *ctx,
    ngx_int_t rc);
static const char *ngx_http_cxbpush_failure(ngx_http_request_t *r,
    ngx_http_cxbpush_sr_ctx_t *ctx);
static ngx_int_t ngx_http_cxbpush_header_filter(ngx_http_request_t *r);
static void ngx_http_cxbpush_retry_after(ngx_http_request_t *r,
    ngx_http_cxbpush_sr_ctx_t *ctx);
static ngx_int_t ngx_http_cxbpush_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


/* first attempts this worker is sending now (retries are jobs) */
ngx_uint_t  ngx_http_cxbpush_first_attempts;

static ngx_str_t  ngx_http_cxbpush_user_agent = ngx_string("cxbpush/1.0");
static ngx_str_t  ngx_http_cxbpush_post = ngx_string("POST");

static cxb_header_t  ngx_http_cxbpush_json_type = {
    (char *) "Content-Type", (char *) "application/json"
};


ngx_int_t
ngx_http_cxbpush_push_start(ngx_http_cxbpush_call_t *hc, cxb_push_t *p)
{
    ngx_http_request_t         *r;
    ngx_http_cxbpush_sr_ctx_t  *ctx;

    r = hc->request;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_cxbpush_sr_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->kind = NGX_HTTP_CXBPUSH_PUSH;
    ctx->call = hc;
    ctx->push = p;
    ctx->method.data = (u_char *) p->method;
    ctx->method.len = ngx_strlen(p->method);
    ctx->url.data = (u_char *) p->url;
    ctx->url.len = ngx_strlen(p->url);
    ctx->http_status = -1;
    ctx->retry_after_ms = -1;
    ctx->resp_max = hc->conf->response_max;

    if (ctx->resp_max) {
        ctx->resp = ngx_pnalloc(r->pool, ctx->resp_max);
        if (ctx->resp == NULL) {
            return NGX_ERROR;
        }
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cxbpush push \"%s\": %V %V", p->integration,
                   &ctx->method, &ctx->url);

    if (ngx_http_cxbpush_subrequest(r, &hc->conf->pass, ctx, &ctx->method,
                                    p->headers, p->nheaders,
                                    (u_char *) p->body, p->body_len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_cxbpush_stat_add(NGX_HTTP_CXBPUSH_IN_FLIGHT, 1);
    ngx_http_cxbpush_stat_add(hc->job && hc->job->e.attempts
                              ? NGX_HTTP_CXBPUSH_RETRIED
                              : NGX_HTTP_CXBPUSH_SCHEDULED, 1);

    if (hc->job == NULL) {
        ngx_http_cxbpush_first_attempts++;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_cxbpush_subrequest(ngx_http_request_t *r, ngx_str_t *uri,
    ngx_http_cxbpush_sr_ctx_t *ctx, ngx_str_t *method, cxb_header_t *headers,
    size_t nheaders, u_char *body, size_t len)
{
    size_t                        i, n;
    ngx_buf_t                    *b;
    ngx_int_t                     m;
    ngx_chain_t                  *cl;
    ngx_table_elt_t              *h;
    ngx_http_request_t           *sr;
    ngx_http_request_body_t      *rb;
    ngx_http_post_subrequest_t   *ps;

    m = ngx_http_cxbpush_method(method);

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ctx->kind == NGX_HTTP_CXBPUSH_PUSH
                  ? ngx_http_cxbpush_push_done : ngx_http_cxbpush_sink_done;
    ps->data = ctx;

    if (ngx_http_subrequest(r, uri, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_BACKGROUND)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_set_ctx(sr, ctx, ngx_http_cxbpush_module);

    ctx->start = ngx_current_msec;

    sr->method = m;
    sr->method_name = *method;
    sr->header_only = 0;

    /* the push's own headers only: nothing of the ingestion request */

    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));

    if (ngx_list_init(&sr->headers_in.headers, r->pool, nheaders + 1,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->headers_in.content_length_n = body ? (off_t) len : -1;
    sr->headers_in.keep_alive_n = -1;

    for (i = 0; i <= nheaders; i++) {
        h = ngx_list_push(&sr->headers_in.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        if (i == nheaders) {
            ngx_str_set(&h->key, "User-Agent");
            h->value = ngx_http_cxbpush_user_agent;

        } else {
            h->key.data = (u_char *) headers[i].name;
            h->key.len = ngx_strlen(headers[i].name);
            h->value.data = (u_char *) headers[i].value;
            h->value.len = ngx_strlen(headers[i].value);
        }

        n = h->key.len;

        h->lowcase_key = ngx_pnalloc(r->pool, n);
        if (h->lowcase_key == NULL) {
            return NGX_ERROR;
        }

        h->hash = ngx_hash_strlow(h->lowcase_key, h->key.data, n);

        if (n == sizeof("Content-Type") - 1
            && ngx_strncmp(h->lowcase_key, "content-type", n) == 0)
        {
            sr->headers_in.content_type = h;

        } else if (i == nheaders) {
            sr->headers_in.user_agent = h;
        }
    }

    rb = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (rb == NULL) {
        return NGX_ERROR;
    }

    if (body) {
        b = ngx_calloc_buf(r->pool);
        cl = ngx_alloc_chain_link(r->pool);

        if (b == NULL || cl == NULL) {
            return NGX_ERROR;
        }

        b->pos = body;
        b->last = body + len;
        b->start = b->pos;
        b->end = b->last;
        b->memory = 1;
        b->last_buf = 1;
        b->last_in_chain = 1;

        cl->buf = b;
        cl->next = NULL;

        rb->bufs = cl;
    }

    sr->request_body = rb;

    return NGX_OK;
}


static ngx_int_t
ngx_http_cxbpush_method(ngx_str_t *name)
{
    static struct {
        ngx_str_t   name;
        ngx_uint_t  method;
    } methods[] = {
        { ngx_string("GET"), NGX_HTTP_GET },
        { ngx_string("POST"), NGX_HTTP_POST },
        { ngx_string("PUT"), NGX_HTTP_PUT },
        { ngx_string("PATCH"), NGX_HTTP_PATCH },
        { ngx_string("DELETE"), NGX_HTTP_DELETE },
        { ngx_null_string, 0 }
    };

    ngx_uint_t  i;

    for (i = 0; methods[i].name.len; i++) {
        if (methods[i].name.len == name->len
            && ngx_strncmp(methods[i].name.data, name->data, name->len) == 0)
        {
            return methods[i].method;
        }
    }

    return NGX_HTTP_UNKNOWN;
}


/*
 * Whether this call of a post-subrequest handler is the subrequest's last:
 * the handler runs once per finalization, and an upstream failure first
 * finalizes with nginx's error status, then again after its error page.
 */

static ngx_int_t
ngx_http_cxbpush_sr_last(ngx_http_cxbpush_sr_ctx_t *ctx, ngx_int_t rc)
{
    if (ctx->done || rc == NGX_AGAIN) {
        return 0;
    }

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE && ctx->http_status == -1
        && ctx->err_status == 0)
    {
        /* nginx's own error page follows: finish after it */
        ctx->err_status = rc;
        return 0;
    }

    ctx->done = 1;

    return 1;
}


static ngx_int_t
ngx_http_cxbpush_push_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_cxbpush_sr_ctx_t *ctx = data;

    int                       attempt;
    size_t                    n;
    u_char                    note[64];
    ngx_msec_t                delay;
    cxb_result_t              res;
    ngx_http_cxbpush_call_t  *hc;

    if (!ngx_http_cxbpush_sr_last(ctx, rc)) {
        return rc;
    }

    hc = ctx->call;
    attempt = hc->job ? hc->job->e.attempts + 1 : 1;

    ngx_memzero(&res, sizeof(cxb_result_t));

    res.http_status = (int) ctx->http_status;
    res.attempt = attempt;
    res.at_ms = ngx_http_cxbpush_now_ms();
    res.duration_ms = (int64_t) (ngx_current_msec - ctx->start);

    if (ctx->refused) {
        res.status = "failed";
        res.error = ctx->refused;

    } else if (ctx->http_status >= 0) {
        res.status = cxb_classify((int) ctx->http_status);
        res.response = (const char *) ctx->resp;
        res.response_len = ctx->resp_len;

        if (res.response == NULL) {
            res.response = "";
        }

    } else {
        res.status = "failed";
        res.error = ngx_http_cxbpush_failure(r, ctx);
    }

    delay = 0;
    res.more = ngx_http_cxbpush_retry_next(hc->conf, ctx, attempt, &delay);

    ngx_http_cxbpush_stat_add(NGX_HTTP_CXBPUSH_IN_FLIGHT, -1);
    ngx_http_cxbpush_stat_add(res.status[0] == 'o' ? NGX_HTTP_CXBPUSH_OK
                              : res.status[0] == 'r' ? NGX_HTTP_CXBPUSH_REJECTED
                              : NGX_HTTP_CXBPUSH_FAILED, 1);

    if (!res.more && res.status[0] != 'o') {
        ngx_http_cxbpush_stat_add(NGX_HTTP_CXBPUSH_DEAD, 1);
    }

    if (hc->job == NULL) {
        ngx_http_cxbpush_first_attempts--;
    }

    if (res.status[0] != 'o') {
        n = 0;

        if (res.more || attempt > 1) {
            n = ngx_snprintf(note, sizeof(note), " (attempt %d, %s)", attempt,
                             res.more ? "will retry" : "the last")
                - note;
        }

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "cxbpush: push \"%s\" of call \"%s\" %s%s%s%*s",
                      ctx->push->integration, hc->call.call_id,
                      res.status, res.error ? ": " : "",
                      res.error ? res.error : "", n, note);
    }

    ngx_http_cxbpush_record(hc, ctx->push, &res);

    if (res.more) {
        ngx_http_cxbpush_retry_schedule(hc, ctx->push, attempt, delay);

    } else {
        ngx_http_cxbpush_retry_done(hc, ctx->push, res.status[0] == 'o');
    }

    return rc;
}


static const char *
ngx_http_cxbpush_failure(ngx_http_request_t *r, ngx_http_cxbpush_sr_ctx_t *ctx)
{
    ngx_http_upstream_t  *u;

    if (ctx->err_status == NGX_HTTP_GATEWAY_TIME_OUT) {
        return "timed out waiting for the CRM";
    }

    u = r->upstream;

    if (u == NULL) {
        return "the push location answered nothing";
    }

    if (u->state == NULL) {
        return "could not resolve or reach the CRM host";
    }

    if (u->state->connect_time == (ngx_msec_t) -1) {
        return "could not connect to the CRM (refused, unreachable or TLS "
               "failure)";
    }

    return "the CRM closed the connection without a valid answer";
}


void
ngx_http_cxbpush_record(ngx_http_cxbpush_call_t *hc, cxb_push_t *p,
    cxb_result_t *res)
{
    u_char                     *body;
    size_t                      len;
    ngx_str_t                   method;
    cxb_buf_t                   line;
    ngx_http_request_t         *r;
    ngx_http_cxbpush_sr_ctx_t  *ctx;

    r = hc->request;

    if (hc->conf->log == NULL && hc->conf->result_pass.len == 0) {
        /* nobody reads records: don't build them */
        return;
    }

    cxb_buf_init(&line);

    if (cxb_record(&line, &hc->call, p, res) != 0) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "cxbpush: could not build the result record of \"%s\"",
                      p->integration);
        cxb_buf_free(&line);
        return;
    }

    if (hc->conf->log) {
        cxb_buf_addc(&line, '\n');

        if (!line.failed
            && ngx_write_fd(hc->conf->log->fd, line.data, line.len)
               != (ssize_t) line.len)
        {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, ngx_errno,
                          "cxbpush: could not write to \"%V\"",
                          &hc->conf->log->name);
        }

        line.len--;
    }

    if (hc->conf->result_pass.len == 0 || line.failed) {
        cxb_buf_free(&line);
        return;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_cxbpush_sr_ctx_t));
    if (ctx == NULL) {
        cxb_buf_free(&line);
        return;
    }

    ctx->kind = NGX_HTTP_CXBPUSH_SINK;
    ctx->call = hc;
    ctx->push = p;
    ctx->http_status = -1;

    /* the record lives in the pool as long as its subrequest */

    body = ngx_pnalloc(r->pool, line.len);
    if (body == NULL) {
        cxb_buf_free(&line);
        return;
    }

    len = line.len;
    ngx_memcpy(body, line.data, len);
    cxb_buf_free(&line);

    method = ngx_http_cxbpush_post;

    if (ngx_http_cxbpush_subrequest(r, &hc->conf->result_pass, ctx, &method,
                                    &ngx_http_cxbpush_json_type, 1, body, len)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cxbpush: could not pass the result record of \"%s\" "
                      "to \"%V\"", p->integration, &hc->conf->result_pass);
    }
}


static ngx_int_t
ngx_http_cxbpush_sink_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_cxbpush_sr_ctx_t *ctx = data;

    if (!ngx_http_cxbpush_sr_last(ctx, rc)) {
        return rc;
    }

    if (ctx->http_status < 200 || ctx->http_status >= 300) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cxbpush: result record of \"%s\" of call \"%s\" not "
                      "accepted by \"%V\" (status %i)",
                      ctx->push->integration, ctx->call->call.call_id,
                      &ctx->call->conf->result_pass,
                      ctx->http_status >= 0 ? ctx->http_status
                                            : ctx->err_status);
    }

    return rc;
}


static ngx_int_t
ngx_http_cxbpush_header_filter(ngx_http_request_t *r)
{
    ngx_http_cxbpush_sr_ctx_t  *ctx;

    if (r == r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_cxbpush_module);

    if (ctx == NULL || ctx->kind == 0) {
        return ngx_http_next_header_filter(r);
    }

    if (ctx->refused) {
        /* the SSRF guard's 403: nothing was sent */

    } else if (r->upstream == NULL || r->upstream->headers_in.status_n) {
        /* the CRM answered (or the location itself did) */
        ctx->http_status = r->upstream ? r->upstream->headers_in.status_n
                                       : r->headers_out.status;

        if (ctx->kind == NGX_HTTP_CXBPUSH_PUSH && r->upstream
            && (ctx->http_status == 429 || ctx->http_status == 503))
        {
            ngx_http_cxbpush_retry_after(r, ctx);
        }

    } else if (ctx->err_status == 0) {
        ctx->err_status = r->headers_out.status;
    }

    r->header_sent = 1;

    return NGX_OK;
}


static void
ngx_http_cxbpush_retry_after(ngx_http_request_t *r,
    ngx_http_cxbpush_sr_ctx_t *ctx)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->upstream->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Retry-After") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Retry-After",
                               h[i].key.len)
               == 0)
        {
            ctx->retry_after_ms = cxb_retry_after_ms(
                                      (const char *) h[i].value.data,
                                      h[i].value.len,
                                      ngx_http_cxbpush_now_ms());
            return;
        }
    }
}


static ngx_int_t
ngx_http_cxbpush_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    off_t                       size;
    size_t                      n;
    ssize_t                     rd;
    ngx_buf_t                  *b;
    ngx_chain_t                *cl;
    ngx_http_cxbpush_sr_ctx_t  *ctx;

    if (r == r->main) {
        return ngx_http_next_body_filter(r, in);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_cxbpush_module);

    if (ctx == NULL || ctx->kind == 0) {
        return ngx_http_next_body_filter(r, in);
    }

    /* keep the first resp_max bytes, swallow everything */

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            size = b->last - b->pos;

            n = ngx_min((size_t) size, ctx->resp_max - ctx->resp_len);
            if (n) {
                ngx_memcpy(ctx->resp + ctx->resp_len, b->pos, n);
                ctx->resp_len += n;
            }

            b->pos = b->last;

            if (b->in_file) {
                b->file_pos = b->file_last;
            }

        } else if (b->in_file) {
            size = b->file_last - b->file_pos;

            n = ngx_min((size_t) size, ctx->resp_max - ctx->resp_len);
            if (n) {
                rd = ngx_read_file(b->file, ctx->resp + ctx->resp_len, n,
                                   b->file_pos);
                if (rd > 0) {
                    ctx->resp_len += rd;
                }
            }

            b->file_pos = b->file_last;
        }
    }

    return NGX_OK;
}


/*
 * cxbpush_signing_secret whsec_... | file=PATH: Standard Webhooks signing
 * of every push; repeat it to rotate (every secret signs).
 */

char *
ngx_http_cxbpush_signing_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_cxbpush_loc_conf_t *cplcf = conf;

    ngx_str_t           *value, secret;
    cxb_sign_key_t      *k;

    value = cf->args->elts;

    if (ngx_http_cxbpush_secret_arg(cf, "cxbpush_signing_secret", &value[1],
                                    &secret)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (cplcf->sign_keys == NGX_CONF_UNSET_PTR) {
        cplcf->sign_keys = ngx_http_cxbpush_keys_array(cf,
                                                       sizeof(cxb_sign_key_t));
        if (cplcf->sign_keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (cplcf->sign_keys->nelts == cplcf->sign_keys->nalloc) {
        /* the array would move and leave a copy of the keys behind */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many \"cxbpush_signing_secret\" (2 at most)");
        return NGX_CONF_ERROR;
    }

    k = ngx_array_push(cplcf->sign_keys);
    if (k == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cxb_sign_key_parse(k, (const char *) secret.data, secret.len) != 0) {
        ngx_explicit_memzero(secret.data, secret.len);
        cplcf->sign_keys->nelts--;
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"cxbpush_signing_secret\" must be \"whsec_\" "
                           "and the base64 of 16 to 64 bytes");
        return NGX_CONF_ERROR;
    }

    ngx_explicit_memzero(secret.data, secret.len);

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_cxbpush_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_cxbpush_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_cxbpush_body_filter;

    return NGX_OK;
}
