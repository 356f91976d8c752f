/*
 * Pushes of a call (SPEC section 6) and their result records (section 8).
 *
 * Plain C over cJSON, no nginx headers: shared by the module and the CLI.
 * cxb_call_build() validates a result document, assembles its variable
 * context and renders every push it yields into a ready HTTP request;
 * the caller sends them (nginx subrequests, or libcurl in the CLI) and
 * writes one record per attempt with cxb_record().
 */

#ifndef CXB_PUSH_H
#define CXB_PUSH_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "cxb_buf.h"
#include "cxb_context.h"


#define CXB_PUSH_READY    0     /* rendered: to be sent */
#define CXB_PUSH_SKIPPED  1     /* nothing to send */
#define CXB_PUSH_FAILED   2     /* could not be built: never sent */

#define CXB_MAX_HEADERS        64
#define CXB_HEADER_NAME_MAX   256      /* bytes */
#define CXB_HEADER_VALUE_MAX  8192     /* bytes, after rendering */
#define CXB_TEMPLATE_MAX      65536    /* bytes per template string */
#define CXB_EXPR_MAX          10000    /* "{{" per push definition */
#define CXB_MAX_INTEGRATIONS   32


typedef struct {
    char               *name;
    char               *value;
} cxb_header_t;


typedef struct {
    char                id[32];         /* stable across attempts */
    char               *integration;
    const char         *event_type;
    int                 state;
    char               *reason;         /* NULL when none */

    const char         *method;         /* static */
    char               *url;
    cxb_header_t       *headers;
    size_t              nheaders;
    char               *body;           /* NULL: no body */
    size_t              body_len;
} cxb_push_t;


typedef struct {
    cxb_ctx_t           ctx;            /* until cxb_call_drop_context() */
    char               *call_id;
    char               *bot_id;
    int64_t             start_ms;
    cxb_push_t         *pushes;
    size_t              npushes;
    size_t              nalloc;
    uint64_t            nonce;
} cxb_call_t;


typedef struct {
    const char         *status;         /* ok, rejected, failed, skipped */
    int                 http_status;    /* -1: the CRM never answered */
    const char         *response;
    size_t              response_len;
    const char         *error;          /* NULL: none */
    int                 attempt;
    int                 more;           /* another attempt will follow */
    int64_t             at_ms;
    int64_t             duration_ms;
} cxb_result_t;


/*
 * Returns 0; -1 with the reason in err for a bad document (answer 400);
 * -2 on allocation failure.
 */
int cxb_call_build(cxb_call_t *c, const cJSON *doc, const cxb_ctx_opts_t *o,
    cxb_buf_t *err);
void cxb_call_free(cxb_call_t *c);

/*
 * Frees the variable context once the pushes are built and the answer is
 * written: records need only the call's own fields.  The caller may then
 * delete the document (the context borrows from it).
 */
void cxb_call_drop_context(cxb_call_t *c);

/* The ingestion answer: 202's {"call_id", "pushes"} or the dry run's. */
int cxb_call_answer(cxb_buf_t *out, cxb_call_t *c, int dry_run);

/* One result record, as one line of JSON without the newline. */
int cxb_record(cxb_buf_t *out, const cxb_call_t *c, const cxb_push_t *p,
    const cxb_result_t *res);

/* What a record says of its push, for records built without the call. */
typedef struct {
    const char         *id;
    const char         *call_id;
    const char         *bot_id;
    const char         *integration;
    const char         *event_type;
    cJSON              *request;        /* taken over (deleted) */
    int                 has_t;
    int64_t             t_ms;           /* since the call's start */
} cxb_record_head_t;

/* The record of an attempt, in the one field order of every record. */
int cxb_record_write(cxb_buf_t *out, const cxb_record_head_t *h,
    const cxb_result_t *res);

/* Status of an answer: "ok" for 2xx, else "rejected". */
const char *cxb_classify(int http_status);

/* Whether a header's value is a secret that records must redact. */
int cxb_header_is_secret(const char *name, size_t len);

/*
 * Appends the unformatted text of j to out when ok, and deletes j in any
 * case: 0, or -1 (not ok, or out of memory).
 */
int cxb_json_emit(cxb_buf_t *out, cJSON *j, int ok);

/* A cJSON string holding s (len bytes) made valid UTF-8 (U+FFFD). */
cJSON *cxb_json_string_utf8(const char *s, size_t len);


#endif /* CXB_PUSH_H */
