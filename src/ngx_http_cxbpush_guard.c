/*
 * ngx_http_cxbpush_module: the SSRF guard.
 *
 * A preaccess handler that acts only on our push subrequests, in the
 * cxbpush_pass location, before proxy_pass has a chance to connect: the
 * push URL must be http or https, and every address its host stands for
 * must be public or inside cxbpush_allow_addr (unless cxbpush_allow_private
 * is on).  A literal address in any inet_aton() form is checked at once; a
 * name of an upstream{} block is checked through that block's servers; any
 * other name is resolved with the location's resolver (the one proxy_pass
 * then uses, whose cache answers it the same addresses) and each resolved
 * address is checked.  A refused push ends with 403 before any connection,
 * and its record says "failed" with the reason.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cxbpush_module.h"


static ngx_int_t ngx_http_cxbpush_guard_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_cxbpush_guard_check(ngx_http_request_t *r,
    ngx_http_cxbpush_sr_ctx_t *ctx);
static ngx_int_t ngx_http_cxbpush_guard_upstream(ngx_http_request_t *r,
    ngx_http_cxbpush_sr_ctx_t *ctx, cxb_target_t *t);
static ngx_int_t ngx_http_cxbpush_guard_resolve(ngx_http_request_t *r,
    ngx_http_cxbpush_sr_ctx_t *ctx, cxb_target_t *t);
static void ngx_http_cxbpush_guard_resolved(ngx_resolver_ctx_t *rctx);
static void ngx_http_cxbpush_guard_cleanup(void *data);
static ngx_int_t ngx_http_cxbpush_guard_addr(ngx_http_request_t *r,
    ngx_http_cxbpush_sr_ctx_t *ctx, ngx_str_t *host, struct sockaddr *sa);
static void ngx_http_cxbpush_guard_refuse(ngx_http_request_t *r,
    ngx_http_cxbpush_sr_ctx_t *ctx, const char *fmt, ...);


#define NGX_HTTP_CXBPUSH_GUARD_NEW      0
#define NGX_HTTP_CXBPUSH_GUARD_PENDING  1
#define NGX_HTTP_CXBPUSH_GUARD_OK       2
#define NGX_HTTP_CXBPUSH_GUARD_REFUSED  3


static ngx_int_t
ngx_http_cxbpush_guard_handler(ngx_http_request_t *r)
{
    ngx_http_cxbpush_sr_ctx_t  *ctx;

    if (r == r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_cxbpush_module);

    if (ctx == NULL || ctx->kind != NGX_HTTP_CXBPUSH_PUSH) {
        return NGX_DECLINED;
    }

    switch (ctx->guard) {

    case NGX_HTTP_CXBPUSH_GUARD_NEW:
        return ngx_http_cxbpush_guard_check(r, ctx);

    case NGX_HTTP_CXBPUSH_GUARD_PENDING:
        return NGX_DONE;

    case NGX_HTTP_CXBPUSH_GUARD_OK:
        return NGX_DECLINED;

    default: /* NGX_HTTP_CXBPUSH_GUARD_REFUSED */
        return NGX_HTTP_FORBIDDEN;
    }
}


static ngx_int_t
ngx_http_cxbpush_guard_check(ngx_http_request_t *r,
    ngx_http_cxbpush_sr_ctx_t *ctx)
{
    const char                   *err, *why;
    cxb_target_t                  t;
    char                          text[384];
    ngx_http_cxbpush_loc_conf_t  *cplcf;

    cplcf = ctx->call->conf;

    if (cxb_target_parse((const char *) ctx->url.data, ctx->url.len, &t,
                         &err)
        != 0)
    {
        ngx_http_cxbpush_guard_refuse(r, ctx, "%s", err);
        return NGX_HTTP_FORBIDDEN;
    }

    if (cplcf->allow_private) {
        ctx->guard = NGX_HTTP_CXBPUSH_GUARD_OK;
        return NGX_DECLINED;
    }

    if (t.literal) {
        why = cxb_ip_refused(&t.ip, cplcf->allow ? cplcf->allow->elts : NULL,
                             cplcf->allow ? cplcf->allow->nelts : 0, 0);

        if (why) {
            cxb_addr_refusal(text, sizeof(text), t.host, t.host_len, 1,
                             &t.ip, why);
            ngx_http_cxbpush_guard_refuse(r, ctx, "%s", text);
            return NGX_HTTP_FORBIDDEN;
        }

        ctx->guard = NGX_HTTP_CXBPUSH_GUARD_OK;
        return NGX_DECLINED;
    }

    switch (ngx_http_cxbpush_guard_upstream(r, ctx, &t)) {

    case NGX_OK:
        ctx->guard = NGX_HTTP_CXBPUSH_GUARD_OK;
        return NGX_DECLINED;

    case NGX_ABORT:
        return NGX_HTTP_FORBIDDEN;

    case NGX_ERROR:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;

    default: /* NGX_DECLINED: not an upstream{} name */
        break;
    }

    return ngx_http_cxbpush_guard_resolve(r, ctx, &t);
}


/*
 * The host names an upstream{} block (or a proxy_pass's own upstream) the
 * way proxy_pass with variables finds one: check that block's addresses.
 */

static ngx_int_t
ngx_http_cxbpush_guard_upstream(ngx_http_request_t *r,
    ngx_http_cxbpush_sr_ctx_t *ctx, cxb_target_t *t)
{
    ngx_uint_t                      i, j, k;
    ngx_http_upstream_server_t     *us;
    ngx_http_upstream_rr_peer_t    *peer;
    ngx_http_upstream_rr_peers_t   *peers;
    ngx_http_upstream_srv_conf_t  **uscfp, *uscf;
    ngx_http_upstream_main_conf_t  *umcf;
    ngx_str_t                       host;

    host.data = (u_char *) t->host;
    host.len = t->host_len;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_upstream_module);
    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        uscf = uscfp[i];

        if (uscf->host.len != host.len
            || ngx_strncasecmp(uscf->host.data, host.data, host.len) != 0
            || !((uscf->port == 0 && !t->explicit_port)
                 || uscf->port == (in_port_t) t->port))
        {
            continue;
        }

        if (uscf->servers) {
            us = uscf->servers->elts;

            for (j = 0; j < uscf->servers->nelts; j++) {
                for (k = 0; k < us[j].naddrs; k++) {
                    if (ngx_http_cxbpush_guard_addr(r, ctx, &host,
                                                    us[j].addrs[k].sockaddr)
                        != NGX_OK)
                    {
                        return NGX_ABORT;
                    }
                }
            }

            return NGX_OK;
        }

        /* an implicit upstream of a proxy_pass: round robin over its host */

        for (peers = uscf->peer.data; peers; peers = peers->next) {
            for (peer = peers->peer; peer; peer = peer->next) {
                if (ngx_http_cxbpush_guard_addr(r, ctx, &host, peer->sockaddr)
                    != NGX_OK)
                {
                    return NGX_ABORT;
                }
            }
        }

        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_cxbpush_guard_resolve(ngx_http_request_t *r,
    ngx_http_cxbpush_sr_ctx_t *ctx, cxb_target_t *t)
{
    ngx_int_t                  rc;
    ngx_resolver_ctx_t        *rctx;
    ngx_pool_cleanup_t        *cln;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rctx = ngx_resolve_start(clcf->resolver, NULL);
    if (rctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rctx == NGX_NO_RESOLVER) {
        ngx_http_cxbpush_guard_refuse(r, ctx, "no resolver defined to check "
                                      "the addresses of \"%*s\"",
                                      t->host_len, t->host);
        return NGX_HTTP_FORBIDDEN;
    }

    rctx->name.len = t->host_len;
    rctx->name.data = ngx_pnalloc(r->pool, t->host_len);
    if (rctx->name.data == NULL) {
        ngx_resolve_name_done(rctx);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(rctx->name.data, t->host, t->host_len);

    rctx->handler = ngx_http_cxbpush_guard_resolved;
    rctx->data = r;
    rctx->timeout = clcf->resolver_timeout;

    ctx->resolving = rctx;
    ctx->guard = NGX_HTTP_CXBPUSH_GUARD_PENDING;
    ctx->guard_sync = 1;

    cln->handler = ngx_http_cxbpush_guard_cleanup;
    cln->data = ctx;

    rc = ngx_resolve_name(rctx);

    ctx->guard_sync = 0;

    if (rc != NGX_OK) {
        /* the resolver freed rctx */
        ctx->resolving = NULL;
        ngx_http_cxbpush_guard_refuse(r, ctx, "could not resolve \"%*s\"",
                                      t->host_len, t->host);
        return NGX_HTTP_FORBIDDEN;
    }

    /* a cached answer arrives within ngx_resolve_name() */

    return ngx_http_cxbpush_guard_handler(r);
}


static void
ngx_http_cxbpush_guard_resolved(ngx_resolver_ctx_t *rctx)
{
    ngx_uint_t                  i;
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_http_cxbpush_sr_ctx_t  *ctx;

    r = rctx->data;
    c = r->connection;

    ctx = ngx_http_get_module_ctx(r, ngx_http_cxbpush_module);

    if (rctx->state) {
        ngx_http_cxbpush_guard_refuse(r, ctx, "could not resolve \"%V\": %s",
                                      &rctx->name,
                                      ngx_resolver_strerror(rctx->state));

        /* DNS may answer next time: the push is retried */
        ctx->guard_transient = 1;

    } else {
        ctx->guard = NGX_HTTP_CXBPUSH_GUARD_OK;

        for (i = 0; i < rctx->naddrs; i++) {
            if (ngx_http_cxbpush_guard_addr(r, ctx, &rctx->name,
                                            rctx->addrs[i].sockaddr)
                != NGX_OK)
            {
                break;
            }
        }
    }

    ctx->resolving = NULL;
    ngx_resolve_name_done(rctx);

    if (ctx->guard_sync) {
        return;
    }

    ngx_http_set_log_request(c->log, r);

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_cxbpush_guard_cleanup(void *data)
{
    ngx_http_cxbpush_sr_ctx_t *ctx = data;

    if (ctx->resolving) {
        ngx_resolve_name_done(ctx->resolving);
        ctx->resolving = NULL;
    }
}


/* NGX_OK when the address may be pushed to; otherwise the push is refused */

static ngx_int_t
ngx_http_cxbpush_guard_addr(ngx_http_request_t *r,
    ngx_http_cxbpush_sr_ctx_t *ctx, ngx_str_t *host, struct sockaddr *sa)
{
    char                         text[384];
    cxb_ip_t                     ip;
    const char                  *why;
    ngx_http_cxbpush_loc_conf_t  *cplcf;

    cplcf = ctx->call->conf;

    if (cxb_ip_from_sockaddr(sa, &ip) != 0) {
        ngx_http_cxbpush_guard_refuse(r, ctx, "\"%V\" is not an IP host",
                                      host);
        return NGX_ERROR;
    }

    why = cxb_ip_refused(&ip, cplcf->allow ? cplcf->allow->elts : NULL,
                         cplcf->allow ? cplcf->allow->nelts : 0, 0);

    if (why == NULL) {
        return NGX_OK;
    }

    cxb_addr_refusal(text, sizeof(text), (const char *) host->data,
                     host->len, 0, &ip, why);
    ngx_http_cxbpush_guard_refuse(r, ctx, "%s", text);

    return NGX_ERROR;
}


static void
ngx_http_cxbpush_guard_refuse(ngx_http_request_t *r,
    ngx_http_cxbpush_sr_ctx_t *ctx, const char *fmt, ...)
{
    u_char   *p, *last;
    u_char    buf[512];
    va_list   args;

    p = ngx_cpymem(buf, "refused by the SSRF guard: ",
                   sizeof("refused by the SSRF guard: ") - 1);
    last = buf + sizeof(buf) - 1;

    va_start(args, fmt);
    p = ngx_vslprintf(p, last, fmt, args);
    va_end(args);

    *p++ = '\0';

    ctx->guard = NGX_HTTP_CXBPUSH_GUARD_REFUSED;

    ctx->refused = ngx_pnalloc(r->pool, p - buf);
    if (ctx->refused) {
        ngx_memcpy(ctx->refused, buf, p - buf);

    } else {
        ctx->refused = (char *) "refused by the SSRF guard";
    }
}


/*
 * cxbpush_allow_addr CIDR: an address range pushes may reach even when it
 * is loopback, private, link-local...; repeatable.
 */

char *
ngx_http_cxbpush_allow_addr(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cxbpush_loc_conf_t *cplcf = conf;

    ngx_str_t   *value;
    cxb_cidr_t  *c;

    value = cf->args->elts;

    if (cplcf->allow == NGX_CONF_UNSET_PTR) {
        cplcf->allow = ngx_array_create(cf->pool, 4, sizeof(cxb_cidr_t));
        if (cplcf->allow == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    c = ngx_array_push(cplcf->allow);
    if (c == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cxb_cidr_parse((const char *) value[1].data, value[1].len, c) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid CIDR \"%V\" in \"%V\": an IPv4 dotted "
                           "quad or an IPv6 address, an optional /bits, and "
                           "no bits set past the prefix", &value[1],
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_cxbpush_guard_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_cxbpush_guard_handler;

    return NGX_OK;
}
