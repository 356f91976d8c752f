/*
 * The variable context of a result document (SPEC section 4).
 *
 * Plain C over cJSON, no nginx headers: shared by the module and the CLI.
 * The context is one cJSON tree whose namespaces mostly hold references to
 * the document's own items (nothing is copied); values that are expensive
 * to compute and rarely used (the transcript as JSON text, all SIP headers
 * as JSON text) are produced on first lookup only.
 */

#ifndef CXB_CONTEXT_H
#define CXB_CONTEXT_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "cxb_buf.h"
#include "cxb_sign.h"
#include "cxb_time.h"


#define CXB_DOC_MAX_DEPTH  64

/* an absent time */
#define CXB_TIME_NONE  INT64_MIN


typedef struct {
    const char         *public_base_url;   /* may be NULL or "" */
    size_t              public_base_url_len;
    int64_t             now_ms;            /* push time */
    uint64_t            nonce;             /* random: makes push ids unique */

    /*
     * Recording URL rules 2 and 3 (SPEC section 7): seal_token appends a
     * sealed token for the object key, presign appends a presigned URL for
     * a recording reference; each returns 0, or -1 when it cannot.  NULL
     * hooks leave only rules 1 and 4.
     */
    int               (*seal_token)(void *data, cxb_buf_t *out,
                                    const char *key);
    int               (*presign)(void *data, cxb_buf_t *out,
                                 const char *ref);
    void               *recording_data;

    /*
     * Standard Webhooks signing: with keys, every push carries
     * webhook-id, webhook-timestamp and webhook-signature.
     */
    const cxb_sign_key_t *sign_keys;
    size_t              nsign_keys;

    /* largest rendered body a push may have; 0: no limit */
    size_t              body_max;
} cxb_ctx_opts_t;


typedef struct {
    cJSON              *root;

    /* borrowed from the document */
    const cJSON        *doc;
    const cJSON        *call;
    const cJSON        *bot;
    const char         *call_id;
    const char         *bot_id;

    const cxb_tz_t     *tz;
    int64_t             start_ms;          /* CXB_TIME_NONE: unknown */
    int64_t             now_ms;

    /* lazily rendered values: placeholder item and its source */
    cJSON              *lazy_item[2];
    cJSON              *lazy_parent[2];
    const cJSON        *lazy_src[2];
} cxb_ctx_t;


/*
 * Validates the document and builds its context.  Returns 0, or -1 with a
 * human-readable reason in err (a bad document: the caller answers 400),
 * or -2 on allocation failure.
 */
int cxb_ctx_build(cxb_ctx_t *ctx, const cJSON *doc, const cxb_ctx_opts_t *o,
    cxb_buf_t *err);

/* cxb_lookup_pt over a cxb_ctx_t: exact dot-path lookup in the context. */
const cJSON *cxb_ctx_lookup(void *data, const char *path, size_t len);

/*
 * Parses a result document of len bytes (not NUL-terminated).  NULL with
 * the reason in err for an empty body, bad JSON, trailing data or nesting
 * deeper than CXB_DOC_MAX_DEPTH.  The document refers to s (its
 * transcript, until used): s must outlive it.
 */
cJSON *cxb_doc_parse(const char *s, size_t len, cxb_buf_t *err);

/*
 * call.transcript of a document from cxb_doc_parse(), which keeps it as raw
 * JSON text: parsed (once) on first use.  NULL when absent, or when it
 * cannot be parsed (out of memory).
 */
const cJSON *cxb_doc_transcript(const cJSON *call);

/* Whether item is a transcript still kept as raw JSON text. */
int cxb_doc_is_raw(const cJSON *item);

/* Renders every lazy value, so that the whole tree can be printed. */
int cxb_ctx_materialize(cxb_ctx_t *ctx);

void cxb_ctx_free(cxb_ctx_t *ctx);

/* A string member of obj, or NULL when absent or not a string. */
const char *cxb_json_str(const cJSON *obj, const char *name);

/* Times of the document: 0 and ms, 1 when absent/null, -1 when invalid. */
int cxb_json_time(const cJSON *obj, const char *name, int64_t *ms);


#endif /* CXB_CONTEXT_H */
