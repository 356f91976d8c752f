/*
 * cxb_entry: one push waiting for its next attempt, as the text kept in
 * the spool (and in memory between attempts): the call's identity, the
 * push's full request (secrets included: spool files are 0600), how many
 * attempts were made and when the next one is due.  Plus the retry
 * schedule's arithmetic.  No nginx headers: shared with the tests.
 */

#ifndef CXB_ENTRY_H
#define CXB_ENTRY_H


#include <stdint.h>

#include <cjson/cJSON.h>

#include "cxb_buf.h"
#include "cxb_push.h"
#include "cxb_sign.h"


#define CXB_RETRY_STEPS_MAX  16


typedef struct {
    cJSON              *doc;            /* owns the strings below */
    cxb_call_t          call;           /* call_id, bot_id, start_ms */
    cxb_push_t          push;
    int                 attempts;       /* made so far */
    int64_t             next_ms;        /* the next attempt is due then */
    int64_t             created_ms;     /* when the push was accepted */
    unsigned            conf;           /* which ingestion location */
    char               *signed_ts;      /* re-signed header values */
    char               *signed_sig;
} cxb_entry_t;


typedef struct {
    int                 attempts;       /* in all, the first included */
    int64_t             steps[CXB_RETRY_STEPS_MAX];   /* ms */
    int                 nsteps;
    unsigned            jitter;         /* percent, added */
} cxb_retry_t;


/* The entry's text: one JSON object. */
int cxb_entry_write(cxb_buf_t *out, const cxb_call_t *c, const cxb_push_t *p,
    int attempts, int64_t next_ms, int64_t created_ms, unsigned conf);

/* Reads an entry's text into e (0), or -1 with *err set. */
int cxb_entry_read(cxb_entry_t *e, const char *text, size_t len,
    const char **err);

void cxb_entry_free(cxb_entry_t *e);

/*
 * A new webhook-timestamp and webhook-signature for the next attempt (the
 * same webhook-id): 0, or -1 (memory).  Nothing to do when the push was
 * not signed.
 */
int cxb_entry_resign(cxb_entry_t *e, const cxb_sign_key_t *keys, size_t n,
    int64_t now_s);

/*
 * Whether an attempt that ended with http_status (-1: no answer) is
 * retried: failed, 429 and 5xx are; 2xx and other 4xx are final.
 */
int cxb_retry_retryable(int http_status);

/*
 * The wait before attempt `attempts + 1`, after `attempts` attempts: the
 * schedule's step (the last step repeats), or a Retry-After of
 * retry_after_ms (-1: none) capped at the step after it; plus up to
 * jitter percent, scaled by rnd in [0, 1).
 */
int64_t cxb_retry_delay(const cxb_retry_t *rt, int attempts,
    int64_t retry_after_ms, double rnd);

/*
 * "5s,30s,2m,10m,1h,6h" into steps: 0, or -1 (each 1ms .. 30d, at most
 * CXB_RETRY_STEPS_MAX steps).
 */
int cxb_retry_parse_schedule(cxb_retry_t *rt, const char *s, size_t len);

/* A Retry-After value (delta seconds or an HTTP date): ms, or -1. */
int64_t cxb_retry_after_ms(const char *v, size_t len, int64_t now_ms);


#endif /* CXB_ENTRY_H */
