/*
 * ngx_http_cxbpush_module: shared declarations of the nginx glue.
 */

#ifndef NGX_HTTP_CXBPUSH_MODULE_H
#define NGX_HTTP_CXBPUSH_MODULE_H


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "cxb_addr.h"
#include "cxb_entry.h"
#include "cxb_push.h"
#include "cxb_sigv4.h"
#include "cxb_token.h"


#define NGX_HTTP_CXBPUSH_PUSH  1      /* a push to the CRM */
#define NGX_HTTP_CXBPUSH_SINK  2      /* a result record to the platform */


/* cxbpush_s3: the object store */
typedef struct {
    cxb_s3_t                     s3;
    time_t                       expires;       /* seconds, 1 .. 7 days */
} ngx_http_cxbpush_s3_t;


typedef struct {
    ngx_str_t                    pass;
    ngx_str_t                    result_pass;
    ngx_open_file_t             *log;
    ngx_http_complex_value_t    *public_base_url;
    size_t                       response_max;
    size_t                       body_max;
    ngx_flag_t                   ingest;
    ngx_flag_t                   allow_private;
    ngx_array_t                 *allow;         /* of cxb_cidr_t */
    cxb_retry_t                 *retry;         /* NULL: one attempt */

    ngx_http_conf_ctx_t         *conf_ctx;      /* of an ingestion location */
    ngx_uint_t                   index;         /* among them */

    ngx_http_cxbpush_s3_t       *s3;
    ngx_array_t                 *token_keys;    /* of cxb_token_key_t */
    ngx_array_t                 *sign_keys;     /* of cxb_sign_key_t */
    ngx_str_t                    recordings_pass;
    ngx_str_t                    recordings_lookup;
    ngx_flag_t                   recordings_redirect;
    ngx_flag_t                   recordings;
} ngx_http_cxbpush_loc_conf_t;


typedef struct {
    ngx_array_t                  ingests;       /* of loc conf pointers */
    ngx_str_t                    spool;         /* NUL-terminated */
    ngx_thread_pool_t           *thread_pool;
    ngx_shm_zone_t              *zone;          /* cxbpush_zone */
} ngx_http_cxbpush_main_conf_t;


/* the counters of cxbpush_zone */
#define NGX_HTTP_CXBPUSH_SCHEDULED   0
#define NGX_HTTP_CXBPUSH_OK          1
#define NGX_HTTP_CXBPUSH_REJECTED    2
#define NGX_HTTP_CXBPUSH_FAILED      3
#define NGX_HTTP_CXBPUSH_RETRIED     4
#define NGX_HTTP_CXBPUSH_DEAD        5
#define NGX_HTTP_CXBPUSH_IN_FLIGHT   6
#define NGX_HTTP_CXBPUSH_NSTATS      7

typedef struct ngx_http_cxbpush_stats_s  ngx_http_cxbpush_stats_t;


/* a spool entry: its file is DIR/<id>.json, locked through fd */
typedef struct {
    char                         id[32];
    char                        *text;
    size_t                       len;
    int                          fd;            /* -1: none */
} ngx_http_cxbpush_spool_item_t;


/* a push waiting for (or making) its next attempt */
typedef struct {
    cxb_entry_t                  e;
    ngx_http_cxbpush_loc_conf_t *conf;
    ngx_event_t                  timer;
    ngx_queue_t                  queue;
    ngx_queue_t                  wait;          /* for a free slot */
    ngx_uint_t                   refs;          /* fake requests alive */
    ngx_http_cxbpush_spool_item_t  item;        /* fd -1: not spooled */
    char                        *text;          /* item.text's memory */
    unsigned                     done:1;
    unsigned                     attempting:1;
    unsigned                     updating:1;    /* a thread has item */
    unsigned                     waiting:1;     /* in the wait queue */
} ngx_http_cxbpush_job_t;


/* one ingested call, or one retry: lives in its request's pool */
typedef struct {
    cxb_call_t                   call;
    ngx_http_cxbpush_loc_conf_t *conf;
    ngx_http_request_t          *request;
    ngx_http_cxbpush_job_t      *job;           /* a retry's */

    ngx_buf_t                   *answer;        /* the 202's body */
    ngx_http_cxbpush_spool_item_t  *items;      /* per push, or NULL */
} ngx_http_cxbpush_call_t;


/* context of one of our subrequests */
typedef struct {
    ngx_uint_t                   kind;
    ngx_http_cxbpush_call_t     *call;
    cxb_push_t                  *push;

    ngx_str_t                    method;
    ngx_str_t                    url;

    ngx_msec_t                   start;
    ngx_int_t                    http_status;   /* the CRM's, or -1 */
    ngx_int_t                    err_status;    /* nginx's own, or 0 */

    u_char                      *resp;
    size_t                       resp_len;
    size_t                       resp_max;
    int64_t                      retry_after_ms; /* -1: none */

    ngx_uint_t                   guard;         /* the SSRF guard's state */
    ngx_resolver_ctx_t          *resolving;
    char                        *refused;       /* why the guard refused */

    unsigned                     done:1;
    unsigned                     guard_sync:1;
    unsigned                     guard_transient:1;
} ngx_http_cxbpush_sr_ctx_t;


extern ngx_module_t  ngx_http_cxbpush_module;


static ngx_inline int64_t
ngx_http_cxbpush_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


ngx_int_t ngx_http_cxbpush_ingest_handler(ngx_http_request_t *r);

ngx_int_t ngx_http_cxbpush_push_start(ngx_http_cxbpush_call_t *hc,
    cxb_push_t *p);
void ngx_http_cxbpush_record(ngx_http_cxbpush_call_t *hc, cxb_push_t *p,
    cxb_result_t *res);
ngx_int_t ngx_http_cxbpush_filter_init(ngx_conf_t *cf);
ngx_int_t ngx_http_cxbpush_guard_init(ngx_conf_t *cf);

void ngx_http_cxbpush_retry_init_process(void);
void ngx_http_cxbpush_retry_exit_process(void);
ngx_int_t ngx_http_cxbpush_retry_next(ngx_http_cxbpush_loc_conf_t *conf,
    ngx_http_cxbpush_sr_ctx_t *ctx, int attempt, ngx_msec_t *delay);
void ngx_http_cxbpush_retry_schedule(ngx_http_cxbpush_call_t *hc,
    cxb_push_t *p, int attempt, ngx_msec_t delay);
void ngx_http_cxbpush_retry_done(ngx_http_cxbpush_call_t *hc,
    cxb_push_t *p, ngx_uint_t ok);
void ngx_http_cxbpush_retry_arm(ngx_http_cxbpush_job_t *job);
ngx_int_t ngx_http_cxbpush_retry_adopt(ngx_http_cxbpush_spool_item_t *it);
ngx_int_t ngx_http_cxbpush_retry_detach(ngx_http_cxbpush_call_t *hc,
    size_t i);
void ngx_http_cxbpush_retry_release_all(void);
ngx_uint_t ngx_http_cxbpush_retry_room(void);

extern ngx_uint_t  ngx_http_cxbpush_first_attempts;

void ngx_http_cxbpush_retry_held(ngx_uint_t *pending, int64_t *oldest_ms);

char *ngx_http_cxbpush_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_cxbpush_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_cxbpush_stats_init_process(ngx_cycle_t *cycle);
void ngx_http_cxbpush_stats_exit_process(void);
void ngx_http_cxbpush_stat_add(ngx_uint_t which, ngx_atomic_int_t n);

char *ngx_http_cxbpush_spool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_cxbpush_spool_init_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_cxbpush_spool_enabled(void);
ngx_str_t *ngx_http_cxbpush_spool_dir(void);
ngx_int_t ngx_http_cxbpush_spool_write(ngx_http_cxbpush_spool_item_t *items,
    ngx_uint_t n, void (*done)(void *data, ngx_int_t rc, const char *what,
    int err), void *data);
ngx_int_t ngx_http_cxbpush_spool_update(ngx_http_cxbpush_job_t *job);
void ngx_http_cxbpush_spool_kick(void);
void ngx_http_cxbpush_spool_defer(void);
void ngx_http_cxbpush_spool_forget(ngx_http_cxbpush_spool_item_t *item,
    ngx_uint_t dead);
char *ngx_http_cxbpush_retry(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_cxbpush_allow_addr(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

char *ngx_http_cxbpush_s3(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_cxbpush_signing_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_cxbpush_secret_arg(ngx_conf_t *cf, const char *directive,
    ngx_str_t *arg, ngx_str_t *secret);
ngx_int_t ngx_http_cxbpush_read_secret(ngx_conf_t *cf, const char *directive,
    ngx_str_t *path, ngx_str_t *secret);
ngx_array_t *ngx_http_cxbpush_keys_array(ngx_conf_t *cf, size_t size);
char *ngx_http_cxbpush_token_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_cxbpush_recordings(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_cxbpush_recording_url_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
int ngx_http_cxbpush_seal_token(void *data, cxb_buf_t *out, const char *key);
int ngx_http_cxbpush_presign(void *data, cxb_buf_t *out, const char *ref);
void ngx_http_cxbpush_recordings_exit(ngx_cycle_t *cycle);


#endif /* NGX_HTTP_CXBPUSH_MODULE_H */
