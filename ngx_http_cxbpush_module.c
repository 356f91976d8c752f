/*
 * ngx_http_cxbpush_module: pushes the outcome of every voice-AI call into
 * the customer's CRM through nginx's own upstream machinery.
 *
 * This file holds the directives, configuration and variables; the request
 * path lives in src/ngx_http_cxbpush_ingest.c (ingestion) and
 * src/ngx_http_cxbpush_push.c (subrequests, capture, records).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cxbpush_module.h"
#include "cxb_crypto.h"
#include "cxb_time.h"


static ngx_int_t ngx_http_cxbpush_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_cxbpush_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void *ngx_http_cxbpush_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_cxbpush_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_cxbpush_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_cxbpush_ingest(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cxbpush_uri_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cxbpush_log(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cxbpush_public_base_url(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_cxbpush_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_cxbpush_init_process(ngx_cycle_t *cycle);
static void ngx_http_cxbpush_exit_process(ngx_cycle_t *cycle);


#define NGX_HTTP_CXBPUSH_VAR_URL          0
#define NGX_HTTP_CXBPUSH_VAR_METHOD       1
#define NGX_HTTP_CXBPUSH_VAR_CALL_ID      2
#define NGX_HTTP_CXBPUSH_VAR_INTEGRATION  3


static ngx_command_t  ngx_http_cxbpush_commands[] = {

    { ngx_string("cxbpush_ingest"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_cxbpush_ingest,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cxbpush_pass"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cxbpush_uri_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cxbpush_loc_conf_t, pass),
      NULL },

    { ngx_string("cxbpush_result_pass"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cxbpush_uri_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cxbpush_loc_conf_t, result_pass),
      NULL },

    { ngx_string("cxbpush_log"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cxbpush_log,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cxbpush_public_base_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cxbpush_public_base_url,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cxbpush_response_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cxbpush_loc_conf_t, response_max),
      NULL },

    { ngx_string("cxbpush_s3"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_cxbpush_s3,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cxbpush_body_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cxbpush_loc_conf_t, body_max),
      NULL },

    { ngx_string("cxbpush_allow_private"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cxbpush_loc_conf_t, allow_private),
      NULL },

    { ngx_string("cxbpush_allow_addr"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cxbpush_allow_addr,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cxbpush_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_cxbpush_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cxbpush_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_cxbpush_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cxbpush_spool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_cxbpush_spool,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cxbpush_retry"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cxbpush_retry,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cxbpush_signing_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cxbpush_signing_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cxbpush_token_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cxbpush_token_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cxbpush_recordings"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_cxbpush_recordings,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cxbpush_recordings_pass"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cxbpush_uri_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cxbpush_loc_conf_t, recordings_pass),
      NULL },

    { ngx_string("cxbpush_recordings_redirect"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cxbpush_loc_conf_t, recordings_redirect),
      NULL },

    { ngx_string("cxbpush_recordings_lookup"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cxbpush_uri_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cxbpush_loc_conf_t, recordings_lookup),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_cxbpush_module_ctx = {
    ngx_http_cxbpush_add_variables,        /* preconfiguration */
    ngx_http_cxbpush_init,                 /* postconfiguration */

    ngx_http_cxbpush_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_cxbpush_create_loc_conf,      /* create location configuration */
    ngx_http_cxbpush_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_cxbpush_module = {
    NGX_MODULE_V1,
    &ngx_http_cxbpush_module_ctx,          /* module context */
    ngx_http_cxbpush_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_cxbpush_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_cxbpush_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_cxbpush_vars[] = {

    { ngx_string("cxbpush_url"), NULL, ngx_http_cxbpush_variable,
      NGX_HTTP_CXBPUSH_VAR_URL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cxbpush_method"), NULL, ngx_http_cxbpush_variable,
      NGX_HTTP_CXBPUSH_VAR_METHOD, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cxbpush_call_id"), NULL, ngx_http_cxbpush_variable,
      NGX_HTTP_CXBPUSH_VAR_CALL_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cxbpush_integration"), NULL, ngx_http_cxbpush_variable,
      NGX_HTTP_CXBPUSH_VAR_INTEGRATION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("cxbpush_recording_url"), NULL,
      ngx_http_cxbpush_recording_url_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_int_t
ngx_http_cxbpush_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_cxbpush_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_cxbpush_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char                 *s;
    ngx_http_cxbpush_sr_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_cxbpush_module);

    if (ctx == NULL || ctx->push == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_CXBPUSH_VAR_URL:
        if (ctx->kind != NGX_HTTP_CXBPUSH_PUSH) {
            v->not_found = 1;
            return NGX_OK;
        }

        v->data = ctx->url.data;
        v->len = ctx->url.len;
        break;

    case NGX_HTTP_CXBPUSH_VAR_METHOD:
        if (ctx->kind != NGX_HTTP_CXBPUSH_PUSH) {
            v->not_found = 1;
            return NGX_OK;
        }

        v->data = ctx->method.data;
        v->len = ctx->method.len;
        break;

    case NGX_HTTP_CXBPUSH_VAR_CALL_ID:
        s = ctx->call->call.call_id;
        v->data = (u_char *) s;
        v->len = ngx_strlen(s);
        break;

    default: /* NGX_HTTP_CXBPUSH_VAR_INTEGRATION */
        s = ctx->push->integration;
        v->data = (u_char *) s;
        v->len = ngx_strlen(s);
        break;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static void *
ngx_http_cxbpush_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_cxbpush_main_conf_t  *cpmcf;

    cpmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_cxbpush_main_conf_t));
    if (cpmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&cpmcf->ingests, cf->pool, 4,
                       sizeof(ngx_http_cxbpush_loc_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return cpmcf;
}


static void *
ngx_http_cxbpush_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_cxbpush_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_cxbpush_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->pass = { 0, NULL };
     *     conf->result_pass = { 0, NULL };
     *     conf->public_base_url = NULL;
     *     conf->ingest = 0;
     *     conf->recordings_pass = { 0, NULL };
     *     conf->recordings_lookup = { 0, NULL };
     *     conf->recordings = 0;
     */

    conf->log = NGX_CONF_UNSET_PTR;
    conf->response_max = NGX_CONF_UNSET_SIZE;
    conf->body_max = NGX_CONF_UNSET_SIZE;
    conf->s3 = NGX_CONF_UNSET_PTR;
    conf->token_keys = NGX_CONF_UNSET_PTR;
    conf->sign_keys = NGX_CONF_UNSET_PTR;
    conf->recordings_redirect = NGX_CONF_UNSET;
    conf->allow_private = NGX_CONF_UNSET;
    conf->allow = NGX_CONF_UNSET_PTR;
    conf->retry = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_cxbpush_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_cxbpush_loc_conf_t *prev = parent;
    ngx_http_cxbpush_loc_conf_t *conf = child;

    ngx_http_compile_complex_value_t   ccv;

    static ngx_str_t  default_base = ngx_string("$scheme://$http_host");

    ngx_conf_merge_str_value(conf->pass, prev->pass, "");
    ngx_conf_merge_str_value(conf->result_pass, prev->result_pass, "");
    ngx_conf_merge_ptr_value(conf->log, prev->log, NULL);
    ngx_conf_merge_size_value(conf->response_max, prev->response_max, 1024);
    ngx_conf_merge_size_value(conf->body_max, prev->body_max, 1024 * 1024);
    ngx_conf_merge_value(conf->allow_private, prev->allow_private, 0);
    ngx_conf_merge_ptr_value(conf->allow, prev->allow, NULL);
    ngx_conf_merge_ptr_value(conf->retry, prev->retry, NULL);

    if (conf->public_base_url == NULL) {
        conf->public_base_url = prev->public_base_url;
    }

    if (conf->public_base_url == NULL) {
        conf->public_base_url = ngx_palloc(cf->pool,
                                           sizeof(ngx_http_complex_value_t));
        if (conf->public_base_url == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &default_base;
        ccv.complex_value = conf->public_base_url;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        /* share the compiled default with the locations below */
        prev->public_base_url = conf->public_base_url;
    }

    if (conf->ingest && conf->pass.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"cxbpush_ingest\" requires \"cxbpush_pass\"");
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_ptr_value(conf->s3, prev->s3, NULL);
    ngx_conf_merge_ptr_value(conf->token_keys, prev->token_keys, NULL);
    ngx_conf_merge_ptr_value(conf->sign_keys, prev->sign_keys, NULL);
    ngx_conf_merge_str_value(conf->recordings_pass, prev->recordings_pass,
                             "");
    ngx_conf_merge_str_value(conf->recordings_lookup,
                             prev->recordings_lookup, "");
    ngx_conf_merge_value(conf->recordings_redirect,
                         prev->recordings_redirect, 0);

    if (conf->recordings) {
        if (conf->ingest) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"cxbpush_recordings\" and "
                               "\"cxbpush_ingest\" cannot share a location");
            return NGX_CONF_ERROR;
        }

        if (conf->token_keys == NULL && conf->recordings_lookup.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"cxbpush_recordings\" requires "
                               "\"cxbpush_token_secret\" or "
                               "\"cxbpush_recordings_lookup\"");
            return NGX_CONF_ERROR;
        }

        if (conf->recordings_redirect && conf->s3 == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"cxbpush_recordings_redirect on\" requires "
                               "\"cxbpush_s3\"");
            return NGX_CONF_ERROR;
        }

        if (!conf->recordings_redirect && conf->recordings_pass.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"cxbpush_recordings\" requires "
                               "\"cxbpush_recordings_pass\" or "
                               "\"cxbpush_recordings_redirect on\"");
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_cxbpush_ingest(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cxbpush_loc_conf_t *cplcf = conf;

    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_cxbpush_loc_conf_t   **slot;
    ngx_http_cxbpush_main_conf_t   *cpmcf;

    if (cplcf->ingest) {
        return "is duplicate";
    }

    cplcf->ingest = 1;

    /* what a retry needs to rebuild a request in this location */

    cpmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_cxbpush_module);

    slot = ngx_array_push(&cpmcf->ingests);
    if (slot == NULL) {
        return NGX_CONF_ERROR;
    }

    *slot = cplcf;
    cplcf->conf_ctx = cf->ctx;
    cplcf->index = cpmcf->ingests.nelts - 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_cxbpush_ingest_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_cxbpush_uri_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t  *field, *value;

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must be a location URI starting with "
                           "\"/\", not \"%V\"", &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    *field = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_cxbpush_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cxbpush_loc_conf_t *cplcf = conf;

    ngx_str_t  *value;

    if (cplcf->log != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        cplcf->log = NULL;
        return NGX_CONF_OK;
    }

    cplcf->log = ngx_conf_open_file(cf->cycle, &value[1]);
    if (cplcf->log == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_cxbpush_public_base_url(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_cxbpush_loc_conf_t *cplcf = conf;

    ngx_str_t                         *value;
    ngx_http_compile_complex_value_t   ccv;

    if (cplcf->public_base_url != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    cplcf->public_base_url = ngx_palloc(cf->pool,
                                        sizeof(ngx_http_complex_value_t));
    if (cplcf->public_base_url == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = cplcf->public_base_url;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_cxbpush_init(ngx_conf_t *cf)
{
    if (ngx_http_cxbpush_guard_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_cxbpush_filter_init(cf);
}


static ngx_int_t
ngx_http_cxbpush_init_process(ngx_cycle_t *cycle)
{
    ngx_http_cxbpush_retry_init_process();

    if (ngx_http_cxbpush_stats_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_cxbpush_spool_init_process(cycle);
}


static void
ngx_http_cxbpush_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_cxbpush_stats_exit_process();
    ngx_http_cxbpush_retry_exit_process();

    ngx_http_cxbpush_recordings_exit(cycle);

    /* the per-process caches: time zones, OpenSSL algorithms */
    cxb_tz_cleanup();
    cxb_crypto_cleanup();
}
