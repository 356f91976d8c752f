/*
 * ngx_http_cxbpush_module: retries.
 *
 * A push whose attempt failed, or was answered 429 or 5xx, becomes a job:
 * a self-contained copy of its request (cxb_entry_t: the spool entry's
 * text read back) with a timer for its next attempt.  When the timer
 * fires there is no client request: the job builds a fake one (a
 * connection over a socketpair, so that the proxy's event calls work, and
 * a request created on it with the ingestion location's configuration),
 * issues the push as a background subrequest to cxbpush_pass as the first
 * attempt did, and lets go of the fake request: nginx finalizes it, and
 * closes the connection, when its last subrequest (the push, then its
 * result record) ends.  Every attempt is re-signed, with the same id.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cxbpush_module.h"


static void ngx_http_cxbpush_job_timer(ngx_event_t *ev);
static ngx_http_request_t *ngx_http_cxbpush_fake_request(
    ngx_http_cxbpush_job_t *job);
static void ngx_http_cxbpush_fake_event(ngx_event_t *ev);
static u_char *ngx_http_cxbpush_fake_log(ngx_log_t *log, u_char *buf,
    size_t len);
static void ngx_http_cxbpush_fake_cleanup(void *data);
static void ngx_http_cxbpush_job_release(void *data);
static ngx_http_cxbpush_job_t *ngx_http_cxbpush_job_new(const char *text,
    size_t len, const char **err);
static void ngx_http_cxbpush_job_init(ngx_http_cxbpush_job_t *job,
    ngx_http_cxbpush_loc_conf_t *conf);
static void ngx_http_cxbpush_job_let_go(ngx_http_cxbpush_job_t *job);
static void ngx_http_cxbpush_job_free(ngx_http_cxbpush_job_t *job);


static ngx_queue_t  ngx_http_cxbpush_jobs;
static ngx_uint_t   ngx_http_cxbpush_njobs;

/*
 * Attempts sent from timers are not held back by any client connection:
 * at most 128 run at once per worker, and no more than a quarter of
 * worker_connections (each takes a fake connection and an upstream one);
 * the others wait, in order, for a slot.
 */
static ngx_queue_t  ngx_http_cxbpush_waiting;
static ngx_uint_t   ngx_http_cxbpush_running;

/*
 * Each job holds its spool entry open (and locked): a worker holds at most
 * this many, set from its file descriptor limit; the entries beyond wait
 * on disk, unlocked, for a scan of this worker or another.
 */
static ngx_uint_t   ngx_http_cxbpush_hold_max;


void
ngx_http_cxbpush_retry_init_process(void)
{
    ngx_uint_t     n;
    struct rlimit  rl;

    ngx_queue_init(&ngx_http_cxbpush_jobs);
    ngx_queue_init(&ngx_http_cxbpush_waiting);
    ngx_http_cxbpush_running = 0;

    ngx_http_cxbpush_hold_max = 8192;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        n = (ngx_uint_t) rl.rlim_cur;
        n = n > ngx_cycle->connection_n + 64
            ? n - ngx_cycle->connection_n - 64 : 0;
        ngx_http_cxbpush_hold_max = ngx_max(ngx_min(n, 8192), 16);
    }
}


ngx_uint_t
ngx_http_cxbpush_retry_room(void)
{
    return ngx_http_cxbpush_njobs < ngx_http_cxbpush_hold_max
           ? ngx_http_cxbpush_hold_max - ngx_http_cxbpush_njobs : 0;
}


static ngx_uint_t
ngx_http_cxbpush_slots(void)
{
    ngx_uint_t  n;

    n = ngx_min(ngx_cycle->connection_n / 4, 128);

    return n ? n : 1;
}


/*
 * At exit: the jobs still here (a rewrite of their entry under way when
 * the worker stopped, or a fake request never finished) are freed; their
 * entries' locks go with the process.  The thread pools are gone by now.
 */

void
ngx_http_cxbpush_retry_exit_process(void)
{
    ngx_queue_t             *q;
    ngx_http_cxbpush_job_t  *job;

    if (ngx_queue_next(&ngx_http_cxbpush_jobs) == NULL) {
        return;
    }

    while (!ngx_queue_empty(&ngx_http_cxbpush_jobs)) {
        q = ngx_queue_head(&ngx_http_cxbpush_jobs);
        job = ngx_queue_data(q, ngx_http_cxbpush_job_t, queue);

        if (job->item.fd != -1) {
            (void) close(job->item.fd);
        }

        ngx_http_cxbpush_job_free(job);
    }
}


/*
 * After an attempt: whether another follows, and when (ms from now).
 */

ngx_int_t
ngx_http_cxbpush_retry_next(ngx_http_cxbpush_loc_conf_t *conf,
    ngx_http_cxbpush_sr_ctx_t *ctx, int attempt, ngx_msec_t *delay)
{
    cxb_retry_t  *rt;

    rt = conf->retry;

    if (rt == NULL || attempt >= rt->attempts
        || (ctx->refused && !ctx->guard_transient)
        || !cxb_retry_retryable((int) ctx->http_status))
    {
        return 0;
    }

    *delay = (ngx_msec_t) cxb_retry_delay(rt, attempt, ctx->retry_after_ms,
                                          (double) ngx_random()
                                          / ((double) 0x7fffffff + 1));

    return 1;
}


/*
 * Schedules the next attempt of a push: the ingestion's first attempt
 * creates the job (hc->job == NULL); a retry re-arms its own.
 */

void
ngx_http_cxbpush_retry_schedule(ngx_http_cxbpush_call_t *hc, cxb_push_t *p,
    int attempt, ngx_msec_t delay)
{
    cxb_buf_t                       text;
    const char                     *err;
    ngx_log_t                      *log;
    ngx_http_cxbpush_job_t         *job;
    ngx_http_cxbpush_spool_item_t  *it;

    log = hc->request->connection->log;

    job = hc->job;

    if (job == NULL) {
        cxb_buf_init(&text);

        job = cxb_entry_write(&text, &hc->call, p, attempt,
                              ngx_http_cxbpush_now_ms() + delay,
                              ngx_http_cxbpush_now_ms(), hc->conf->index)
              == 0
              ? ngx_http_cxbpush_job_new(text.data, text.len, &err) : NULL;

        cxb_buf_free(&text);

        if (job == NULL) {
            ngx_log_error(NGX_LOG_ALERT, log, 0,
                          "cxbpush: could not keep push \"%s\" of call "
                          "\"%s\" for a retry", p->id, hc->call.call_id);
            return;
        }

        ngx_http_cxbpush_job_init(job, hc->conf);

        /* the push's locked spool entry goes with it */

        it = hc->items ? &hc->items[p - hc->call.pushes] : NULL;

        if (it && it->fd != -1) {
            job->item.fd = it->fd;
            it->fd = -1;
        }

    } else {
        job->e.attempts = attempt;
        job->e.next_ms = ngx_http_cxbpush_now_ms() + delay;
        job->attempting = 0;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, log, 0,
                   "cxbpush push %s: attempt %d in %M ms", job->e.push.id,
                   attempt + 1, delay);

    if (job->item.fd != -1) {
        if (ngx_http_cxbpush_spool_update(job) == NGX_OK) {
            /* armed once the entry is rewritten */
            return;
        }

        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "cxbpush: could not rewrite the spool entry of push "
                      "\"%s\"", job->e.push.id);
    }

    ngx_http_cxbpush_retry_arm(job);
}


/*
 * A job from an entry's text, not yet in the queue; NULL with *err set when
 * the text is not an entry, NULL with *err NULL when out of memory.
 */

static ngx_http_cxbpush_job_t *
ngx_http_cxbpush_job_new(const char *text, size_t len, const char **err)
{
    ngx_http_cxbpush_job_t  *job;

    *err = NULL;

    job = ngx_calloc(sizeof(ngx_http_cxbpush_job_t), ngx_cycle->log);
    if (job == NULL) {
        return NULL;
    }

    if (cxb_entry_read(&job->e, text, len, err) != 0) {
        ngx_free(job);
        return NULL;
    }

    return job;
}


static void
ngx_http_cxbpush_job_init(ngx_http_cxbpush_job_t *job,
    ngx_http_cxbpush_loc_conf_t *conf)
{
    job->conf = conf;
    job->timer.handler = ngx_http_cxbpush_job_timer;
    job->timer.data = job;
    job->timer.log = ngx_cycle->log;
    job->timer.cancelable = 1;
    job->item.fd = -1;
    ngx_cpystrn((u_char *) job->item.id, (u_char *) job->e.push.id,
                sizeof(job->item.id));

    ngx_queue_insert_tail(&ngx_http_cxbpush_jobs, &job->queue);
    ngx_http_cxbpush_njobs++;
}


void
ngx_http_cxbpush_retry_arm(ngx_http_cxbpush_job_t *job)
{
    int64_t  wait;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        /* the next workers take the entry over from the spool */
        ngx_http_cxbpush_job_let_go(job);
        return;
    }

    wait = job->e.next_ms - ngx_http_cxbpush_now_ms();

    ngx_add_timer(&job->timer, (ngx_msec_t) (wait > 0 ? wait : 1));
}


/*
 * A push just spooled by the ingestion location: a job whose first attempt
 * fires at once from a timer, holding the entry's lock.
 */

ngx_int_t
ngx_http_cxbpush_retry_detach(ngx_http_cxbpush_call_t *hc, size_t i)
{
    const char                     *err;
    ngx_http_cxbpush_job_t         *job;
    ngx_http_cxbpush_spool_item_t  *it;

    it = &hc->items[i];

    if (it->fd == -1 || it->text == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_http_cxbpush_retry_room() == 0) {
        /* on disk, unlocked: a scan takes it when there is room */
        (void) close(it->fd);
        it->fd = -1;
        ngx_http_cxbpush_spool_defer();
        return NGX_OK;
    }

    job = ngx_http_cxbpush_job_new(it->text, it->len, &err);
    if (job == NULL) {
        return NGX_ERROR;
    }

    ngx_http_cxbpush_job_init(job, hc->conf);

    job->item.fd = it->fd;
    it->fd = -1;

    ngx_http_cxbpush_retry_arm(job);

    return NGX_OK;
}


/* A push from the spool that no worker holds: this worker takes it. */

ngx_int_t
ngx_http_cxbpush_retry_adopt(ngx_http_cxbpush_spool_item_t *it)
{
    const char                     *err;
    ngx_http_cxbpush_job_t         *job;
    ngx_http_cxbpush_loc_conf_t   **ingests;
    ngx_http_cxbpush_main_conf_t   *cpmcf;

    cpmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                                ngx_http_cxbpush_module);

    if (cpmcf->ingests.nelts == 0 || ngx_http_cxbpush_retry_room() == 0) {
        return NGX_DECLINED;
    }

    job = ngx_http_cxbpush_job_new(it->text, it->len, &err);

    if (job == NULL) {
        if (err == NULL) {
            return NGX_ERROR;
        }

        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "cxbpush: the spool entry \"%s.json\" is unreadable "
                      "(%s): moved to dead/", it->id, err);
        ngx_http_cxbpush_spool_forget(it, 1);
        return NGX_OK;
    }

    ingests = cpmcf->ingests.elts;

    if (job->e.conf >= cpmcf->ingests.nelts) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "cxbpush: push \"%s\" came from an ingestion location "
                      "the configuration no longer has: it is sent with the "
                      "first one's settings", job->e.push.id);
        job->e.conf = 0;
    }

    ngx_http_cxbpush_job_init(job, ingests[job->e.conf]);
    job->item.fd = it->fd;

    /* the entry is the file it was read from, whatever id it holds */
    ngx_memcpy(job->item.id, it->id, sizeof(job->item.id));

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "cxbpush: took over push \"%s\" of call \"%s\" from the "
                  "spool (attempt %d next)", job->e.push.id,
                  job->e.call.call_id, job->e.attempts + 1);

    ngx_http_cxbpush_retry_arm(job);

    return NGX_OK;
}


/* The push ended for good: clear its spool entry; free the job later. */

void
ngx_http_cxbpush_retry_done(ngx_http_cxbpush_call_t *hc, cxb_push_t *p,
    ngx_uint_t ok)
{
    ngx_http_cxbpush_spool_item_t  *it;

    if (hc->job) {
        hc->job->done = 1;
        hc->job->attempting = 0;
        ngx_http_cxbpush_spool_forget(&hc->job->item, !ok);
        return;
    }

    if (hc->items) {
        it = &hc->items[p - hc->call.pushes];
        ngx_http_cxbpush_spool_forget(it, !ok);
    }
}


/* closes the entry (another worker may take it) and frees what it can */

static void
ngx_http_cxbpush_job_let_go(ngx_http_cxbpush_job_t *job)
{
    if (job->item.fd != -1) {
        (void) close(job->item.fd);
        job->item.fd = -1;
    }

    job->done = 1;

    if (job->refs == 0) {
        ngx_http_cxbpush_job_free(job);
    }
}


static void
ngx_http_cxbpush_job_free(ngx_http_cxbpush_job_t *job)
{
    if (job->timer.timer_set) {
        ngx_del_timer(&job->timer);
    }

    if (job->waiting) {
        ngx_queue_remove(&job->wait);
        job->waiting = 0;
    }

    ngx_queue_remove(&job->queue);
    ngx_http_cxbpush_njobs--;

    cxb_entry_free(&job->e);
    ngx_free(job->text);
    ngx_free(job);

    ngx_http_cxbpush_spool_kick();
}


/* what this worker holds: pushes being sent or waiting, the oldest's age */

void
ngx_http_cxbpush_retry_held(ngx_uint_t *pending, int64_t *oldest_ms)
{
    ngx_queue_t             *q;
    ngx_http_cxbpush_job_t  *job;

    *pending = ngx_http_cxbpush_first_attempts;
    *oldest_ms = 0;

    for (q = ngx_queue_head(&ngx_http_cxbpush_jobs);
         q != ngx_queue_sentinel(&ngx_http_cxbpush_jobs);
         q = ngx_queue_next(q))
    {
        job = ngx_queue_data(q, ngx_http_cxbpush_job_t, queue);

        if (job->done) {
            continue;
        }

        (*pending)++;

        if (*oldest_ms == 0 || job->e.created_ms < *oldest_ms) {
            *oldest_ms = job->e.created_ms;
        }
    }
}


void
ngx_http_cxbpush_retry_release_all(void)
{
    ngx_queue_t             *q, *next;
    ngx_http_cxbpush_job_t  *job;

    for (q = ngx_queue_head(&ngx_http_cxbpush_jobs);
         q != ngx_queue_sentinel(&ngx_http_cxbpush_jobs);
         q = next)
    {
        next = ngx_queue_next(q);
        job = ngx_queue_data(q, ngx_http_cxbpush_job_t, queue);

        if (!job->attempting && !job->updating) {
            ngx_http_cxbpush_job_let_go(job);
        }
    }
}


static void
ngx_http_cxbpush_job_timer(ngx_event_t *ev)
{
    ngx_http_cxbpush_job_t *job = ev->data;

    ngx_connection_t         *c;
    ngx_http_request_t       *r;
    ngx_pool_cleanup_t       *cln;
    ngx_http_cxbpush_call_t  *hc;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        ngx_http_cxbpush_job_let_go(job);
        return;
    }

    if (ngx_http_cxbpush_running >= ngx_http_cxbpush_slots()) {
        if (!job->waiting) {
            ngx_queue_insert_tail(&ngx_http_cxbpush_waiting, &job->wait);
            job->waiting = 1;
        }

        return;
    }

    r = ngx_http_cxbpush_fake_request(job);

    if (r == NULL) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "cxbpush: could not start attempt %d of push \"%s\", "
                      "trying again in 1s", job->e.attempts + 1,
                      job->e.push.id);
        ngx_add_timer(&job->timer, 1000);
        return;
    }

    c = r->connection;

    hc = ngx_pcalloc(r->pool, sizeof(ngx_http_cxbpush_call_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (hc == NULL || cln == NULL) {
        ngx_http_free_request(r, 0);
        ngx_http_close_connection(c);
        ngx_add_timer(&job->timer, 1000);
        return;
    }

    job->refs++;
    job->attempting = 1;
    ngx_http_cxbpush_running++;
    cln->handler = ngx_http_cxbpush_job_release;
    cln->data = job;

    hc->call.call_id = job->e.call.call_id;
    hc->call.bot_id = job->e.call.bot_id;
    hc->call.start_ms = job->e.call.start_ms;
    hc->conf = job->conf;
    hc->request = r;
    hc->job = job;

    if (job->conf->sign_keys
        && cxb_entry_resign(&job->e, job->conf->sign_keys->elts,
                            job->conf->sign_keys->nelts, ngx_time())
           != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "cxbpush: could not sign attempt %d of push \"%s\"",
                      job->e.attempts + 1, job->e.push.id);
    }

    if (ngx_http_cxbpush_push_start(hc, &job->e.push) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "cxbpush: could not start attempt %d of push \"%s\", "
                      "trying again in 1s", job->e.attempts + 1,
                      job->e.push.id);
        ngx_http_free_request(r, 0);
        ngx_http_close_connection(c);
        return;
    }

    /* the subrequests hold the fake request from now on */

    r->count--;

    ngx_http_run_posted_requests(c);
}


static ngx_http_request_t *
ngx_http_cxbpush_fake_request(ngx_http_cxbpush_job_t *job)
{
    int                      fds[2];
    ngx_log_t               *log;
    ngx_pool_t              *pool;
    ngx_connection_t        *c;
    ngx_http_request_t      *r;
    ngx_pool_cleanup_t      *cln;
    ngx_http_log_ctx_t      *lctx;
    ngx_http_connection_t   *hcn;
    struct sockaddr_in      *sin;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == -1) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_socket_errno,
                      "cxbpush: socketpair() failed");
        return NULL;
    }

    if (ngx_nonblocking(fds[0]) == -1) {
        close(fds[0]);
        close(fds[1]);
        return NULL;
    }

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        close(fds[0]);
        close(fds[1]);
        return NULL;
    }

    log = ngx_pcalloc(pool, sizeof(ngx_log_t));
    lctx = ngx_pcalloc(pool, sizeof(ngx_http_log_ctx_t));
    hcn = ngx_pcalloc(pool, sizeof(ngx_http_connection_t));
    sin = ngx_pcalloc(pool, sizeof(struct sockaddr_in));
    cln = ngx_pool_cleanup_add(pool, sizeof(int));

    if (log == NULL || lctx == NULL || hcn == NULL || sin == NULL
        || cln == NULL)
    {
        ngx_destroy_pool(pool);
        close(fds[0]);
        close(fds[1]);
        return NULL;
    }

    *(int *) cln->data = fds[1];
    cln->handler = ngx_http_cxbpush_fake_cleanup;

    *log = *ngx_cycle->log;
    log->data = lctx;
    log->handler = ngx_http_cxbpush_fake_log;
    log->action = "sending a push";

    c = ngx_get_connection(fds[0], log);
    if (c == NULL) {
        ngx_destroy_pool(pool);
        close(fds[0]);
        return NULL;
    }

#if (NGX_STAT_STUB)
    (void) ngx_atomic_fetch_add(ngx_stat_active, 1);
#endif

    c->pool = pool;
    c->log = log;
    c->log_error = NGX_ERROR_INFO;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);
    log->connection = c->number;
    c->start_time = ngx_current_msec;

    sin->sin_family = AF_INET;
    c->sockaddr = (struct sockaddr *) sin;
    c->socklen = sizeof(struct sockaddr_in);
    c->local_sockaddr = c->sockaddr;
    c->local_socklen = c->socklen;
    ngx_str_set(&c->addr_text, "0.0.0.0");

    c->read->handler = ngx_http_cxbpush_fake_event;
    c->write->handler = ngx_http_cxbpush_fake_event;
    c->read->log = log;
    c->write->log = log;

    /* nothing is read: nginx closes the request once its work is done */
    c->read->eof = 1;

    lctx->connection = c;

    hcn->conf_ctx = job->conf->conf_ctx;
    c->data = hcn;

    r = ngx_http_create_request(c);
    if (r == NULL) {
        ngx_http_close_connection(c);
        return NULL;
    }

    c->data = r;

    r->logged = 1;
    r->method = NGX_HTTP_POST;
    ngx_str_set(&r->method_name, "POST");
    ngx_str_set(&r->uri, "/");
    ngx_str_set(&r->unparsed_uri, "/");
    /* what the error log shows as the request */
    r->request_line.data = ngx_pnalloc(r->pool, sizeof("attempt  of push ")
                                                + NGX_INT_T_LEN
                                                + sizeof(job->e.push.id));
    if (r->request_line.data) {
        r->request_line.len = ngx_sprintf(r->request_line.data,
                                          "attempt %d of push %s",
                                          job->e.attempts + 1,
                                          job->e.push.id)
                              - r->request_line.data;
    }

    ngx_str_set(&r->http_protocol, "HTTP/1.0");
    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    if (ngx_list_init(&r->headers_in.headers, r->pool, 1,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        ngx_http_free_request(r, 0);
        ngx_http_close_connection(c);
        return NULL;
    }

    return r;
}


/*
 * Error-log context of an attempt sent from a timer: the push, then what
 * nginx's own handler says of the subrequest (location, upstream).
 */

static u_char *
ngx_http_cxbpush_fake_log(ngx_log_t *log, u_char *buf, size_t len)
{
    u_char              *p;
    ngx_http_request_t  *r;
    ngx_http_log_ctx_t  *ctx;

    p = buf;

    if (log->action) {
        p = ngx_snprintf(buf, len, " while %s", log->action);
        len -= p - buf;
        buf = p;
    }

    ctx = log->data;
    r = ctx->request;

    if (r == NULL || r->log_handler == NULL) {
        return p;
    }

    return r->log_handler(r, ctx->current_request, p, len);
}


static void
ngx_http_cxbpush_fake_event(ngx_event_t *ev)
{
    /* the fake connection has nobody at its other end */
}


static void
ngx_http_cxbpush_fake_cleanup(void *data)
{
    int  *fd = data;

    (void) close(*fd);
}


/* the fake request of an attempt is gone */

static void
ngx_http_cxbpush_job_release(void *data)
{
    ngx_http_cxbpush_job_t *job = data;

    ngx_queue_t             *q;
    ngx_http_cxbpush_job_t  *next;

    job->refs--;
    ngx_http_cxbpush_running--;

    /* a slot is free: the longest-waiting job goes on the next tick */

    if (!ngx_queue_empty(&ngx_http_cxbpush_waiting)
        && !(ngx_exiting || ngx_quit || ngx_terminate))
    {
        q = ngx_queue_head(&ngx_http_cxbpush_waiting);
        next = ngx_queue_data(q, ngx_http_cxbpush_job_t, wait);
        ngx_queue_remove(q);
        next->waiting = 0;

        if (!next->timer.timer_set) {
            ngx_add_timer(&next->timer, 1);
        }
    }

    if (job->attempting) {
        /* the attempt never ended (torn down): try again in a second */
        job->attempting = 0;

        if (!job->done) {
            ngx_add_timer(&job->timer, 1000);
        }
    }

    if (job->done && job->refs == 0) {
        ngx_http_cxbpush_job_free(job);
    }
}


/*
 * cxbpush_retry [attempts=N] [schedule=5s,30s,...] [jitter=P%] | off
 */

char *
ngx_http_cxbpush_retry(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cxbpush_loc_conf_t *cplcf = conf;

    ngx_int_t     n;
    ngx_str_t    *value, v;
    ngx_uint_t    i, attempts_set;
    cxb_retry_t  *rt;

    static const char  default_schedule[] = "5s,30s,2m,10m,1h,6h";

    if (cplcf->retry != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        cplcf->retry = NULL;
        return NGX_CONF_OK;
    }

    rt = ngx_pcalloc(cf->pool, sizeof(cxb_retry_t));
    if (rt == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) cxb_retry_parse_schedule(rt, default_schedule,
                                    sizeof(default_schedule) - 1);
    rt->jitter = 10;
    attempts_set = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "attempts=", 9) == 0) {
            n = ngx_atoi(value[i].data + 9, value[i].len - 9);

            if (n < 1 || n > 100) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" value \"%V\": attempts "
                                   "must be 1 to 100", &cmd->name,
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            rt->attempts = (int) n;
            attempts_set = 1;
            continue;
        }

        if (ngx_strncmp(value[i].data, "schedule=", 9) == 0) {
            if (cxb_retry_parse_schedule(rt, (char *) value[i].data + 9,
                                         value[i].len - 9)
                != 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" value \"%V\": a comma-"
                                   "separated list of 1 to %d times "
                                   "(250ms, 5s, 2m, 1h, 1d), each at most "
                                   "30d", &cmd->name, &value[i],
                                   CXB_RETRY_STEPS_MAX);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "jitter=", 7) == 0) {
            v.data = value[i].data + 7;
            v.len = value[i].len - 7;

            if (v.len && v.data[v.len - 1] == '%') {
                v.len--;
            }

            n = ngx_atoi(v.data, v.len);

            if (n < 0 || n > 100) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" value \"%V\": jitter "
                                   "must be 0%% to 100%%", &cmd->name,
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            rt->jitter = (unsigned) n;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"%V\" parameter \"%V\"", &cmd->name,
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    if (!attempts_set) {
        rt->attempts = rt->nsteps + 1;
    }

    cplcf->retry = rt;

    return NGX_CONF_OK;
}
