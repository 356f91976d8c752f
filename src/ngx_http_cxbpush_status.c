/*
 * ngx_http_cxbpush_module: the operator's view (cxbpush_zone,
 * cxbpush_status).
 *
 * Counters live in a shared memory zone, updated with atomic adds by every
 * worker: pushes scheduled, attempts ok / rejected / failed, retries,
 * pushes dead, attempts in flight.  What is pending is per worker: each
 * worker publishes, in its own slot, how many pushes it holds (waiting for
 * a retry or being sent) and when the oldest of them was accepted; the
 * status location adds the slots up.  Answers JSON, or the Prometheus text
 * format with ?format=prometheus.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cxbpush_module.h"


#define NGX_HTTP_CXBPUSH_SLOTS  256


typedef struct {
    ngx_atomic_t                 pid;
    ngx_atomic_t                 pending;
    ngx_atomic_t                 oldest_ms;     /* 0: none */
} ngx_http_cxbpush_slot_t;


struct ngx_http_cxbpush_stats_s {
    ngx_atomic_t                 counters[NGX_HTTP_CXBPUSH_NSTATS];
    ngx_http_cxbpush_slot_t      slots[NGX_HTTP_CXBPUSH_SLOTS];
};


static ngx_int_t ngx_http_cxbpush_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_cxbpush_status_handler(ngx_http_request_t *r);
static void ngx_http_cxbpush_stats_timer(ngx_event_t *ev);


ngx_http_cxbpush_stats_t  *ngx_http_cxbpush_stats;

static ngx_event_t         ngx_http_cxbpush_stats_ev;


static struct {
    const char                  *json;
    const char                  *prom;
    const char                  *type;
    const char                  *help;
} ngx_http_cxbpush_stat_names[NGX_HTTP_CXBPUSH_NSTATS] = {
    { "scheduled", "cxbpush_pushes_scheduled_total", "counter",
      "Pushes accepted for delivery." },
    { "ok", "cxbpush_attempts_ok_total", "counter",
      "Attempts the CRM answered 2xx." },
    { "rejected", "cxbpush_attempts_rejected_total", "counter",
      "Attempts the CRM answered with another status." },
    { "failed", "cxbpush_attempts_failed_total", "counter",
      "Attempts without an answer, or that could not be sent." },
    { "retried", "cxbpush_retries_total", "counter",
      "Attempts after the first." },
    { "dead", "cxbpush_pushes_dead_total", "counter",
      "Pushes that ended without a 2xx after their last attempt." },
    { "in_flight", "cxbpush_in_flight", "gauge",
      "Attempts being sent now." },
};


/* cxbpush_zone NAME SIZE */

char *
ngx_http_cxbpush_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cxbpush_main_conf_t *cpmcf = conf;

    ssize_t          size;
    ngx_str_t       *value;
    ngx_shm_zone_t  *shm_zone;

    if (cpmcf->zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"%V\" size \"%V\": at least %uz",
                           &cmd->name, &value[2], 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    shm_zone = ngx_shared_memory_add(cf, &value[1], size,
                                     &ngx_http_cxbpush_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &value[1]);
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_http_cxbpush_zone_init;
    shm_zone->data = cpmcf;
    cpmcf->zone = shm_zone;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_cxbpush_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t           *shpool;
    ngx_http_cxbpush_stats_t  *stats;

    if (data) {
        /* a reload: the counters go on */
        shm_zone->data = data;
        ngx_http_cxbpush_stats = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        ngx_http_cxbpush_stats = shpool->data;
        return NGX_OK;
    }

    stats = ngx_slab_calloc(shpool, sizeof(ngx_http_cxbpush_stats_t));
    if (stats == NULL) {
        return NGX_ERROR;
    }

    shpool->data = stats;
    shm_zone->data = stats;
    ngx_http_cxbpush_stats = stats;

    return NGX_OK;
}


ngx_int_t
ngx_http_cxbpush_stats_init_process(ngx_cycle_t *cycle)
{
    ngx_http_cxbpush_main_conf_t  *cpmcf;

    cpmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                                ngx_http_cxbpush_module);

    if (cpmcf == NULL || cpmcf->zone == NULL) {
        ngx_http_cxbpush_stats = NULL;
        return NGX_OK;
    }

    ngx_http_cxbpush_stats = cpmcf->zone->data;

    ngx_http_cxbpush_stats_ev.handler = ngx_http_cxbpush_stats_timer;
    ngx_http_cxbpush_stats_ev.log = cycle->log;
    ngx_http_cxbpush_stats_ev.data = &ngx_http_cxbpush_stats_ev;
    ngx_http_cxbpush_stats_ev.cancelable = 1;

    ngx_add_timer(&ngx_http_cxbpush_stats_ev, 1);

    return NGX_OK;
}


void
ngx_http_cxbpush_stats_exit_process(void)
{
    ngx_http_cxbpush_slot_t  *slot;

    if (ngx_http_cxbpush_stats == NULL
        || ngx_worker >= NGX_HTTP_CXBPUSH_SLOTS)
    {
        return;
    }

    slot = &ngx_http_cxbpush_stats->slots[ngx_worker];

    if (slot->pid == (ngx_atomic_uint_t) ngx_pid) {
        slot->pending = 0;
        slot->oldest_ms = 0;
        slot->pid = 0;
    }
}


/* every second: what this worker holds */

static void
ngx_http_cxbpush_stats_timer(ngx_event_t *ev)
{
    int64_t                   oldest;
    ngx_uint_t                pending;
    ngx_http_cxbpush_slot_t  *slot;

    if (ngx_worker < NGX_HTTP_CXBPUSH_SLOTS) {
        ngx_http_cxbpush_retry_held(&pending, &oldest);

        slot = &ngx_http_cxbpush_stats->slots[ngx_worker];
        slot->pid = ngx_pid;
        slot->pending = pending;
        slot->oldest_ms = (ngx_atomic_uint_t) oldest;
    }

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        ngx_http_cxbpush_stats_exit_process();
        return;
    }

    ngx_add_timer(ev, 1000);
}


void
ngx_http_cxbpush_stat_add(ngx_uint_t which, ngx_atomic_int_t n)
{
    if (ngx_http_cxbpush_stats) {
        (void) ngx_atomic_fetch_add(&ngx_http_cxbpush_stats->counters[which],
                                    n);
    }
}


/* cxbpush_status */

char *
ngx_http_cxbpush_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_cxbpush_main_conf_t  *cpmcf;

    cpmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_cxbpush_module);

    if (cpmcf->zone == NULL) {
        return "requires \"cxbpush_zone\" at the http level, before it";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_cxbpush_status_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_cxbpush_status_handler(ngx_http_request_t *r)
{
    u_char                    *p;
    size_t                     size;
    int64_t                    now, oldest, age;
    ngx_int_t                  rc, prom;
    ngx_str_t                  fmt;
    ngx_buf_t                 *b;
    ngx_uint_t                 i, pending, pid;
    ngx_chain_t                out;
    ngx_atomic_uint_t          v[NGX_HTTP_CXBPUSH_NSTATS];
    ngx_http_cxbpush_stats_t  *st;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    st = ngx_http_cxbpush_stats;

    prom = 0;

    if (ngx_http_arg(r, (u_char *) "format", 6, &fmt) == NGX_OK) {
        if (fmt.len == 10 && ngx_strncmp(fmt.data, "prometheus", 10) == 0) {
            prom = 1;

        } else if (!(fmt.len == 4 && ngx_strncmp(fmt.data, "json", 4) == 0)) {
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    for (i = 0; i < NGX_HTTP_CXBPUSH_NSTATS; i++) {
        v[i] = st->counters[i];
    }

    pending = 0;
    oldest = 0;

    for (i = 0; i < NGX_HTTP_CXBPUSH_SLOTS; i++) {
        pid = st->slots[i].pid;

        if (pid == 0) {
            continue;
        }

        pending += st->slots[i].pending;

        if (st->slots[i].oldest_ms
            && (oldest == 0 || (int64_t) st->slots[i].oldest_ms < oldest))
        {
            oldest = (int64_t) st->slots[i].oldest_ms;
        }
    }

    now = ngx_http_cxbpush_now_ms();
    age = oldest && now > oldest ? (now - oldest) / 1000 : 0;

    size = 4096;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->last;

    if (prom) {
        for (i = 0; i < NGX_HTTP_CXBPUSH_NSTATS; i++) {
            p = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s %s\n%s %uA\n",
                            ngx_http_cxbpush_stat_names[i].prom,
                            ngx_http_cxbpush_stat_names[i].help,
                            ngx_http_cxbpush_stat_names[i].prom,
                            ngx_http_cxbpush_stat_names[i].type,
                            ngx_http_cxbpush_stat_names[i].prom, v[i]);
        }

        p = ngx_sprintf(p,
                "# HELP cxbpush_spool_depth Pushes accepted and not ended, "
                "held by the workers.\n"
                "# TYPE cxbpush_spool_depth gauge\n"
                "cxbpush_spool_depth %ui\n"
                "# HELP cxbpush_oldest_pending_age_seconds Age of the "
                "oldest of them.\n"
                "# TYPE cxbpush_oldest_pending_age_seconds gauge\n"
                "cxbpush_oldest_pending_age_seconds %L\n", pending, age);

        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4; charset=utf-8");

    } else {
        *p++ = '{';

        for (i = 0; i < NGX_HTTP_CXBPUSH_NSTATS; i++) {
            p = ngx_sprintf(p, "\"%s\":%uA,",
                            ngx_http_cxbpush_stat_names[i].json, v[i]);
        }

        p = ngx_sprintf(p, "\"spool_depth\":%ui,"
                        "\"oldest_pending_age_seconds\":%L}\n", pending, age);

        ngx_str_set(&r->headers_out.content_type, "application/json");
    }

    b->last = p;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    ngx_http_set_ctx(r, NULL, ngx_http_cxbpush_module);

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
