/*
 * ngx_http_cxbpush_module: the durable spool (cxbpush_spool DIR).
 *
 * Every push the ingestion location accepts is first written to DIR as
 * DIR/<push id>.json (write to a temporary name, fsync, rename, fsync the
 * directory), and only then is 202 answered; if that fails the answer is
 * 503 and nothing is sent.  The entry is rewritten the same way before
 * each retry, removed when the push ends ok and moved to DIR/dead/ when it
 * ends otherwise.  All of that runs in nginx's thread pool, never in the
 * event loop.
 *
 * Ownership: the worker that sends a push, or waits to retry it, holds an
 * exclusive flock() on its entry's open file.  Every worker scans DIR every
 * two seconds (and at start) and takes the entries nobody holds: those of
 * a worker that was killed, of the workers before a reload or a restart.
 * The kernel drops the locks of a process that dies, and a worker that
 * exits gracefully closes its entries first.  So each entry is sent by one
 * worker at a time.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <dirent.h>
#include <sys/file.h>

#include "ngx_http_cxbpush_module.h"


#define NGX_HTTP_CXBPUSH_SPOOL_WRITE    1
#define NGX_HTTP_CXBPUSH_SPOOL_UPDATE   2
#define NGX_HTTP_CXBPUSH_SPOOL_REMOVE   3
#define NGX_HTTP_CXBPUSH_SPOOL_DEAD     4
#define NGX_HTTP_CXBPUSH_SPOOL_SCAN     5

#define NGX_HTTP_CXBPUSH_SCAN_MAX       512
#define NGX_HTTP_CXBPUSH_SCAN_EVERY     2000
#define NGX_HTTP_CXBPUSH_ENTRY_MAX      (64 * 1024 * 1024)


typedef struct ngx_http_cxbpush_spool_task_s  ngx_http_cxbpush_spool_task_t;

typedef void (*ngx_http_cxbpush_spool_done_pt)(
    ngx_http_cxbpush_spool_task_t *t);
typedef void (*ngx_http_cxbpush_write_done_pt)(void *data, ngx_int_t rc,
    const char *what, int err);


struct ngx_http_cxbpush_spool_task_s {
    ngx_uint_t                       op;
    const char                      *dir;
    ngx_http_cxbpush_spool_item_t   *items;
    ngx_uint_t                       nitems;

    int                              err;        /* errno of the failure */
    unsigned                         full:1;     /* a scan ran out of room */
    const char                      *failed;     /* which call failed */

    ngx_http_cxbpush_spool_done_pt   done;
    ngx_http_cxbpush_write_done_pt   write_done;
    void                            *data;
    ngx_thread_task_t               *task;
};


static ngx_int_t ngx_http_cxbpush_spool_post(ngx_uint_t op,
    ngx_http_cxbpush_spool_item_t *items, ngx_uint_t n,
    ngx_http_cxbpush_spool_done_pt done, ngx_http_cxbpush_write_done_pt wdone,
    void *data);
static void ngx_http_cxbpush_spool_thread(void *data, ngx_log_t *log);
static void ngx_http_cxbpush_spool_event(ngx_event_t *ev);
static int ngx_http_cxbpush_spool_put(ngx_http_cxbpush_spool_task_t *t,
    ngx_http_cxbpush_spool_item_t *it);
static void ngx_http_cxbpush_spool_scan_dir(
    ngx_http_cxbpush_spool_task_t *t);
static void ngx_http_cxbpush_spool_scan_timer(ngx_event_t *ev);
static void ngx_http_cxbpush_spool_scanned(ngx_http_cxbpush_spool_task_t *t);
static void ngx_http_cxbpush_spool_job_updated(
    ngx_http_cxbpush_spool_task_t *t);
static void ngx_http_cxbpush_spool_forgotten(
    ngx_http_cxbpush_spool_task_t *t);


static ngx_http_cxbpush_main_conf_t  *ngx_http_cxbpush_spool_conf;
static ngx_event_t                    ngx_http_cxbpush_scan_ev;
static ngx_uint_t                     ngx_http_cxbpush_scanning;

/* entries were left on disk for lack of room: scan again soon */
static ngx_uint_t                     ngx_http_cxbpush_deferred;


/* cxbpush_spool DIR */

char *
ngx_http_cxbpush_spool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cxbpush_main_conf_t *cpmcf = conf;

    ngx_str_t   *value;
    ngx_path_t  *path;

    static ngx_str_t  dead = ngx_string("dead");

    if (cpmcf->spool.len) {
        return "is duplicate";
    }

    value = cf->args->elts;
    cpmcf->spool = value[1];

    if (ngx_conf_full_name(cf->cycle, &cpmcf->spool, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* nginx creates both directories, owned by the worker user */

    path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (path == NULL) {
        return NGX_CONF_ERROR;
    }

    path->name = cpmcf->spool;
    path->conf_file = cf->conf_file->file.name.data;
    path->line = cf->conf_file->line;

    if (ngx_add_path(cf, &path) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (path == NULL) {
        return NGX_CONF_ERROR;
    }

    path->name.len = cpmcf->spool.len + 1 + dead.len;
    path->name.data = ngx_pnalloc(cf->pool, path->name.len + 1);
    if (path->name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(path->name.data, "%V/%V%Z", &cpmcf->spool, &dead);
    path->conf_file = cf->conf_file->file.name.data;
    path->line = cf->conf_file->line;

    if (ngx_add_path(cf, &path) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* a NUL-terminated copy for the threads */

    value[1].data = ngx_pnalloc(cf->pool, cpmcf->spool.len + 1);
    if (value[1].data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(value[1].data, cpmcf->spool.data, cpmcf->spool.len);
    value[1].data[cpmcf->spool.len] = '\0';
    cpmcf->spool.data = value[1].data;

    cpmcf->thread_pool = ngx_thread_pool_add(cf, NULL);
    if (cpmcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_cxbpush_spool_init_process(ngx_cycle_t *cycle)
{
    ngx_http_cxbpush_main_conf_t  *cpmcf;

    cpmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                                ngx_http_cxbpush_module);

    if (cpmcf == NULL || cpmcf->spool.len == 0) {
        ngx_http_cxbpush_spool_conf = NULL;
        return NGX_OK;
    }

    ngx_http_cxbpush_spool_conf = cpmcf;

    ngx_http_cxbpush_scan_ev.handler = ngx_http_cxbpush_spool_scan_timer;
    ngx_http_cxbpush_scan_ev.log = cycle->log;
    ngx_http_cxbpush_scan_ev.data = cpmcf;
    ngx_http_cxbpush_scan_ev.cancelable = 1;

    /* take over what the previous workers left, at once */
    ngx_add_timer(&ngx_http_cxbpush_scan_ev, 1);

    return NGX_OK;
}


ngx_int_t
ngx_http_cxbpush_spool_enabled(void)
{
    return ngx_http_cxbpush_spool_conf != NULL;
}


ngx_str_t *
ngx_http_cxbpush_spool_dir(void)
{
    return &ngx_http_cxbpush_spool_conf->spool;
}


/*
 * Writes the entries of an ingested call (the items with a text); done()
 * runs in the event loop with their fds set, or none of them written.
 */

ngx_int_t
ngx_http_cxbpush_spool_write(ngx_http_cxbpush_spool_item_t *items,
    ngx_uint_t n, ngx_http_cxbpush_write_done_pt done, void *data)
{
    return ngx_http_cxbpush_spool_post(NGX_HTTP_CXBPUSH_SPOOL_WRITE, items, n,
                                       NULL, done, data);
}


static ngx_int_t
ngx_http_cxbpush_spool_post(ngx_uint_t op,
    ngx_http_cxbpush_spool_item_t *items, ngx_uint_t n,
    ngx_http_cxbpush_spool_done_pt done, ngx_http_cxbpush_write_done_pt wdone,
    void *data)
{
    ngx_thread_task_t              *task;
    ngx_http_cxbpush_spool_task_t  *t;

    task = ngx_calloc(sizeof(ngx_thread_task_t)
                      + sizeof(ngx_http_cxbpush_spool_task_t),
                      ngx_cycle->log);
    if (task == NULL) {
        return NGX_ERROR;
    }

    t = (ngx_http_cxbpush_spool_task_t *) (task + 1);
    task->ctx = t;
    task->handler = ngx_http_cxbpush_spool_thread;
    task->event.handler = ngx_http_cxbpush_spool_event;
    task->event.data = t;
    task->event.log = ngx_cycle->log;

    t->op = op;
    t->dir = (const char *) ngx_http_cxbpush_spool_conf->spool.data;
    t->items = items;
    t->nitems = n;
    t->done = done;
    t->write_done = wdone;
    t->data = data;
    t->task = task;

    if (ngx_thread_task_post(ngx_http_cxbpush_spool_conf->thread_pool, task)
        != NGX_OK)
    {
        ngx_free(task);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_cxbpush_spool_event(ngx_event_t *ev)
{
    ngx_http_cxbpush_spool_task_t *t = ev->data;

    ngx_thread_task_t  *task;

    task = t->task;

    if (t->op == NGX_HTTP_CXBPUSH_SPOOL_WRITE) {
        t->write_done(t->data, t->failed ? NGX_ERROR : NGX_OK, t->failed,
                      t->err);

    } else if (t->done) {
        t->done(t);
    }

    ngx_free(task);
}


/* --- in a thread: no nginx calls but ngx_log_error --- */

static void
ngx_http_cxbpush_spool_thread(void *data, ngx_log_t *log)
{
    ngx_http_cxbpush_spool_task_t *t = data;

    int                             dfd;
    char                            from[NGX_MAX_PATH], to[NGX_MAX_PATH];
    ngx_uint_t                      i, k;
    ngx_http_cxbpush_spool_item_t  *it;

    switch (t->op) {

    case NGX_HTTP_CXBPUSH_SPOOL_WRITE:
    case NGX_HTTP_CXBPUSH_SPOOL_UPDATE:

        for (i = 0; i < t->nitems; i++) {
            if (t->items[i].text != NULL
                && ngx_http_cxbpush_spool_put(t, &t->items[i]) != 0)
            {
                break;
            }
        }

        if (i == t->nitems) {
            dfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

            if (dfd == -1 || fsync(dfd) == -1) {
                t->err = errno;
                t->failed = "fsync() of the spool directory";
            }

            if (dfd != -1) {
                (void) close(dfd);
            }
        }

        if (t->failed && t->op == NGX_HTTP_CXBPUSH_SPOOL_WRITE) {
            /* a call is accepted whole or not at all */
            for (k = 0; k < t->nitems; k++) {
                it = &t->items[k];

                if (it->fd == -1) {
                    continue;
                }

                snprintf(to, sizeof(to), "%s/%s.json", t->dir, it->id);
                (void) unlink(to);
                (void) close(it->fd);
                it->fd = -1;
            }
        }

        return;

    case NGX_HTTP_CXBPUSH_SPOOL_REMOVE:
    case NGX_HTTP_CXBPUSH_SPOOL_DEAD:

        it = &t->items[0];
        snprintf(from, sizeof(from), "%s/%s.json", t->dir, it->id);

        if (t->op == NGX_HTTP_CXBPUSH_SPOOL_REMOVE) {
            if (unlink(from) == -1) {
                t->err = errno;
                t->failed = "unlink()";
            }

        } else {
            snprintf(to, sizeof(to), "%s/dead/%s.json", t->dir, it->id);

            if (rename(from, to) == -1) {
                t->err = errno;
                t->failed = "rename() to dead/";
            }
        }

        if (it->fd != -1) {
            (void) close(it->fd);
            it->fd = -1;
        }

        return;

    default: /* NGX_HTTP_CXBPUSH_SPOOL_SCAN */
        ngx_http_cxbpush_spool_scan_dir(t);
        return;
    }
}


/*
 * One entry, durably: DIR/.tmp.<id>.<pid>, locked, written, fsync()ed,
 * renamed to DIR/<id>.json.  The lock stays on the new file's open
 * description (it->fd); an older fd of the entry is closed.
 */

static int
ngx_http_cxbpush_spool_put(ngx_http_cxbpush_spool_task_t *t,
    ngx_http_cxbpush_spool_item_t *it)
{
    int       fd;
    char      tmp[NGX_MAX_PATH], path[NGX_MAX_PATH];
    size_t    off;
    ssize_t   n;

    snprintf(tmp, sizeof(tmp), "%s/.tmp.%s.%ld", t->dir, it->id,
             (long) getpid());
    snprintf(path, sizeof(path), "%s/%s.json", t->dir, it->id);

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1) {
        t->err = errno;
        t->failed = "open()";
        return -1;
    }

    if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
        t->err = errno;
        t->failed = "flock()";
        goto failed;
    }

    for (off = 0; off < it->len; off += n) {
        n = write(fd, it->text + off, it->len - off);

        if (n == -1) {
            if (errno == EINTR) {
                n = 0;
                continue;
            }

            t->err = errno;
            t->failed = "write()";
            goto failed;
        }
    }

    if (fsync(fd) == -1) {
        t->err = errno;
        t->failed = "fsync()";
        goto failed;
    }

    if (rename(tmp, path) == -1) {
        t->err = errno;
        t->failed = "rename()";
        goto failed;
    }

    if (it->fd != -1) {
        (void) close(it->fd);
    }

    it->fd = fd;

    return 0;

failed:

    (void) unlink(tmp);
    (void) close(fd);

    return -1;
}


/*
 * The entries nobody holds: each is opened, locked without waiting, and
 * read; one whose name no longer leads to the locked file (renamed over or
 * removed meanwhile) is let go.  Temporary files a dead worker left are
 * removed once unlocked and a minute old.
 */

static void
ngx_http_cxbpush_spool_scan_dir(ngx_http_cxbpush_spool_task_t *t)
{
    int                             fd;
    DIR                            *d;
    char                           *text, path[NGX_MAX_PATH];
    size_t                          len;
    ssize_t                         n;
    ngx_uint_t                      k, cap;
    struct stat                     st, st2;
    struct dirent                  *de;
    ngx_http_cxbpush_spool_item_t  *it;

    d = opendir(t->dir);
    if (d == NULL) {
        t->err = errno;
        t->failed = "opendir()";
        return;
    }

    k = 0;

    cap = t->nitems;

    while (k < cap && (de = readdir(d)) != NULL) {

        len = strlen(de->d_name);

        if (de->d_name[0] == '.') {
            if (strncmp(de->d_name, ".tmp.", 5) != 0) {
                continue;
            }

            snprintf(path, sizeof(path), "%s/%s", t->dir, de->d_name);
            fd = open(path, O_RDONLY | O_CLOEXEC);

            if (fd != -1) {
                if (flock(fd, LOCK_EX | LOCK_NB) == 0
                    && fstat(fd, &st) == 0 && st.st_mtime + 60 < time(NULL))
                {
                    (void) unlink(path);
                }

                (void) close(fd);
            }

            continue;
        }

        if (len < 6 || len > 64 || strcmp(de->d_name + len - 5, ".json") != 0)
        {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", t->dir, de->d_name);

        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd == -1) {
            continue;
        }

        if (flock(fd, LOCK_EX | LOCK_NB) == -1
            || fstat(fd, &st) == -1
            || stat(path, &st2) == -1
            || st.st_ino != st2.st_ino || st.st_dev != st2.st_dev
            || st.st_size <= 0 || st.st_size > NGX_HTTP_CXBPUSH_ENTRY_MAX)
        {
            (void) close(fd);
            continue;
        }

        text = malloc(st.st_size);
        if (text == NULL) {
            (void) close(fd);
            break;
        }

        n = pread(fd, text, st.st_size, 0);

        if (n != st.st_size) {
            free(text);
            (void) close(fd);
            continue;
        }

        it = &t->items[k++];
        it->fd = fd;
        it->text = text;
        it->len = n;
        ngx_memcpy(it->id, de->d_name, len - 5);
        it->id[len - 5] = '\0';
    }

    t->nitems = k;
    t->full = (k == cap);

    (void) closedir(d);
}


/* --- back in the event loop --- */

static void
ngx_http_cxbpush_spool_scan_timer(ngx_event_t *ev)
{
    ngx_uint_t                      room;
    ngx_http_cxbpush_spool_item_t  *items;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        ngx_http_cxbpush_retry_release_all();
        return;
    }

    /* no more entries than this worker may hold open */

    room = ngx_min(ngx_http_cxbpush_retry_room(), NGX_HTTP_CXBPUSH_SCAN_MAX);

    if (!ngx_http_cxbpush_scanning && room) {
        items = ngx_calloc(room * sizeof(ngx_http_cxbpush_spool_item_t),
                           ev->log);

        if (items
            && ngx_http_cxbpush_spool_post(NGX_HTTP_CXBPUSH_SPOOL_SCAN, items,
                                           room,
                                           ngx_http_cxbpush_spool_scanned,
                                           NULL, NULL)
               == NGX_OK)
        {
            ngx_http_cxbpush_scanning = 1;

        } else {
            ngx_free(items);
        }
    }

    ngx_add_timer(ev, NGX_HTTP_CXBPUSH_SCAN_EVERY);
}


/*
 * A job ended: when entries wait on disk for room, the next scan comes in
 * 100 ms rather than at the usual 2 s.
 */

void
ngx_http_cxbpush_spool_kick(void)
{
    if (ngx_http_cxbpush_spool_conf == NULL || !ngx_http_cxbpush_deferred
        || ngx_exiting || ngx_quit || ngx_terminate)
    {
        return;
    }

    if (ngx_http_cxbpush_scan_ev.timer_set
        && ngx_http_cxbpush_scan_ev.timer.key > ngx_current_msec + 100)
    {
        ngx_del_timer(&ngx_http_cxbpush_scan_ev);
    }

    if (!ngx_http_cxbpush_scan_ev.timer_set) {
        ngx_add_timer(&ngx_http_cxbpush_scan_ev, 100);
    }
}


void
ngx_http_cxbpush_spool_defer(void)
{
    ngx_http_cxbpush_deferred = 1;
}


static void
ngx_http_cxbpush_spool_scanned(ngx_http_cxbpush_spool_task_t *t)
{
    ngx_uint_t                      i;
    ngx_http_cxbpush_spool_item_t  *it;

    ngx_http_cxbpush_scanning = 0;

    /* a scan that had room for all it found left nothing behind */

    if (!t->full) {
        ngx_http_cxbpush_deferred = 0;
    }

    if (t->failed) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, t->err,
                      "cxbpush: %s of the spool \"%s\" failed", t->failed,
                      t->dir);
    }

    for (i = 0; i < t->nitems; i++) {
        it = &t->items[i];

        if (ngx_exiting || ngx_quit || ngx_terminate
            || ngx_http_cxbpush_retry_adopt(it) != NGX_OK)
        {
            (void) close(it->fd);
        }

        free(it->text);
    }

    ngx_free(t->items);
}


/*
 * After an attempt: the entry is rewritten (next attempt), removed (ok) or
 * moved to dead/ (no more attempts).  The job's timer is armed once the
 * rewrite is durable, so one entry has one operation at a time.
 */

ngx_int_t
ngx_http_cxbpush_spool_update(ngx_http_cxbpush_job_t *job)
{
    cxb_buf_t                       text;
    ngx_http_cxbpush_spool_item_t  *it;

    it = &job->item;

    cxb_buf_init(&text);

    if (cxb_entry_write(&text, &job->e.call, &job->e.push, job->e.attempts,
                        job->e.next_ms, job->e.created_ms, job->e.conf)
        != 0)
    {
        cxb_buf_free(&text);
        return NGX_ERROR;
    }

    ngx_free(job->text);
    job->text = cxb_buf_detach(&text, &it->len);
    it->text = job->text;

    if (it->text == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_cxbpush_spool_post(NGX_HTTP_CXBPUSH_SPOOL_UPDATE, it, 1,
                                    ngx_http_cxbpush_spool_job_updated, NULL,
                                    job)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    job->updating = 1;

    return NGX_OK;
}


static void
ngx_http_cxbpush_spool_job_updated(ngx_http_cxbpush_spool_task_t *t)
{
    ngx_http_cxbpush_job_t *job = t->data;

    job->updating = 0;

    if (t->failed) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, t->err,
                      "cxbpush: %s of the spool entry of push \"%s\" failed; "
                      "its next attempt is kept in memory only", t->failed,
                      job->e.push.id);
    }

    ngx_http_cxbpush_retry_arm(job);
}


/* ok: remove; dead: move to dead/.  The item is copied: the job may go. */

void
ngx_http_cxbpush_spool_forget(ngx_http_cxbpush_spool_item_t *item,
    ngx_uint_t dead)
{
    ngx_http_cxbpush_spool_item_t  *it;

    if (item->fd == -1) {
        return;
    }

    it = ngx_alloc(sizeof(ngx_http_cxbpush_spool_item_t), ngx_cycle->log);

    if (it) {
        *it = *item;
    }

    if (it == NULL
        || ngx_http_cxbpush_spool_post(dead ? NGX_HTTP_CXBPUSH_SPOOL_DEAD
                                            : NGX_HTTP_CXBPUSH_SPOOL_REMOVE,
                                       it, 1, ngx_http_cxbpush_spool_forgotten,
                                       NULL, it)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "cxbpush: could not clear the spool entry of push "
                      "\"%s\"; it will be sent again", item->id);
        (void) close(item->fd);
        ngx_free(it);
    }

    item->fd = -1;
}


static void
ngx_http_cxbpush_spool_forgotten(ngx_http_cxbpush_spool_task_t *t)
{
    if (t->failed) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, t->err,
                      "cxbpush: %s of the spool entry of push \"%s\" failed",
                      t->failed, t->items[0].id);
    }

    ngx_free(t->data);
}
