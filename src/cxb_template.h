/*
 * Template engine for the core (plain C over cJSON, no nginx headers).
 *
 * An expression is "{{" optional-spaces path optional-spaces "}}"; spaces
 * are ' ' and '\t'.  A path is dot-separated, non-empty names of
 * [A-Za-z0-9_-], at most CXB_TPL_MAX_PATH bytes.  Anything else that starts
 * with "{{" (unterminated, empty, "{{a b}}", "{{a..b}}", too long) is literal
 * text; scanning then resumes one byte later, so "{{{a}}}" renders as
 * "{" value "}".
 *
 * The variable context belongs to the caller; the engine reaches it only
 * through a lookup callback.  Every function here is linear in the size of
 * its input plus its output (lookups aside), and every render call is capped
 * at CXB_TPL_MAX_OUTPUT bytes.
 */

#ifndef CXB_TEMPLATE_H
#define CXB_TEMPLATE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "cxb_buf.h"


/*
 * Longest path inside an expression, in bytes; a longer one makes the
 * expression invalid (literal text).  cxb_tpl_resolve() only tries the
 * exact lookup for a longer path (fallback names are composed in a stack
 * buffer of CXB_TPL_MAX_PATH + 32 bytes).
 */
#define CXB_TPL_MAX_PATH    256

/*
 * Deepest nesting of objects/arrays a template-mode template may have: the
 * root container is level 1; a container at level CXB_TPL_MAX_DEPTH + 1
 * makes cxb_tpl_template() fail (NULL).  Values copied from the context are
 * not subject to it (cJSON_Parse already caps them at CJSON_NESTING_LIMIT).
 */
#define CXB_TPL_MAX_DEPTH   64

/*
 * Most output one render call may produce, in bytes: the text appended by
 * cxb_tpl_render_text()/cxb_tpl_render_url(); for cxb_tpl_keymapper() and
 * cxb_tpl_template() the sum over all rendered strings plus the approximate
 * compact-JSON size of every value copied from the context.  Exceeding it
 * fails the call (-1 / NULL).
 */
#define CXB_TPL_MAX_OUTPUT  (16 * 1024 * 1024)


/* exact dot-path lookup in the variable context; NULL when absent */
typedef const cJSON *(*cxb_lookup_pt)(void *data, const char *path,
    size_t len);

typedef struct {
    cxb_lookup_pt   lookup;
    void           *data;
} cxb_resolver_t;


/*
 * Walks a dot path ("a.b.0.c") through nested objects (key compared by
 * length, case-sensitive, first match wins) and arrays (a segment of digits
 * indexes into an array; on an object it is an ordinary key).  NULL when
 * root is NULL, the path or a segment is empty, or any step is missing.
 */
const cJSON *cxb_json_path(const cJSON *root, const char *path, size_t len);

/*
 * The SPEC's resolution: the exact path; then, with suffix = the part after
 * the first dot (or the whole name when there is no dot), "system." suffix,
 * "crm." suffix, "call." suffix in that order (a candidate equal to the
 * exact path is not looked up twice).  NULL if unresolved, or when r or
 * r->lookup is NULL.  Never allocates.
 */
const cJSON *cxb_tpl_resolve(const cxb_resolver_t *r, const char *path,
    size_t len);

/*
 * Appends a value as text: strings as they are; integral numbers with
 * |v| < 2^53 without a fraction ("-0" as "0"); other finite numbers in the
 * shortest "%.Ng" form that reads back to the same double ("1e+21", "0.1");
 * NaN/Inf as ""; true/false; null (and a NULL v) as ""; objects/arrays as
 * compact JSON (numbers inside formatted the same way, NaN/Inf as null).
 * Errors are reported through out->failed.
 */
void cxb_tpl_value_text(cxb_buf_t *out, const cJSON *v);

/*
 * Text mode: renders tpl into out (appending).  Unresolved expressions
 * become "" when drop_unresolved, else stay exactly as written.  Returns 0,
 * or -1 on allocation failure (out->failed) or when more than
 * CXB_TPL_MAX_OUTPUT bytes would be appended (out->len is then restored).
 */
int cxb_tpl_render_text(cxb_buf_t *out, const char *tpl, size_t len,
    const cxb_resolver_t *r, int drop_unresolved);

/*
 * key_mapper mode (CX Bridge): returns a NEW object with map's keys in
 * order; every string value rendered as text with drop_unresolved, then a
 * result that, trimmed of JSON whitespace, starts with '{' or '[' and
 * parses completely as JSON becomes that object/array, otherwise stays a
 * string.  Non-string values are deep copies.  NULL when map is not an
 * object, on allocation failure or when the output limit is exceeded.
 */
cJSON *cxb_tpl_keymapper(const cJSON *map, const cxb_resolver_t *r);

/*
 * template mode (OSVI Custom Template): returns a NEW deep copy of tpl
 * (any JSON value) where every string leaf (member values and array
 * elements at any depth; keys are not rendered) is rendered: a leaf that is
 * exactly one expression (no text around the braces) becomes a deep copy of
 * the resolved value, or null when unresolved; any other string is
 * rendered in text mode with unresolved expressions becoming "".  NULL on
 * allocation failure, nesting deeper than CXB_TPL_MAX_DEPTH or output over
 * CXB_TPL_MAX_OUTPUT.
 */
cJSON *cxb_tpl_template(const cJSON *tpl, const cxb_resolver_t *r);

/*
 * url mode (OSVI integration URL): each expression resolves first as
 * "call_trigger_data." path (exact lookup), then with cxb_tpl_resolve();
 * its text (cxb_tpl_value_text) is percent-encoded: every byte outside
 * A-Z a-z 0-9 - . _ ~ as %XX, upper-case hex.  An unresolved expression is
 * left exactly as written; text outside expressions is copied unchanged.
 * Returns as cxb_tpl_render_text().
 */
int cxb_tpl_render_url(cxb_buf_t *out, const char *url, size_t len,
    const cxb_resolver_t *r);

/*
 * Appends s percent-encoded as in url mode: every byte outside
 * A-Z a-z 0-9 - . _ ~ as %XX, upper-case hex (query parameters, tokens).
 * Errors are reported through out->failed.
 */
void cxb_tpl_percent_encode(cxb_buf_t *out, const char *s, size_t len);

/* whether s contains at least one valid expression (a single linear scan) */
int cxb_tpl_has_expr(const char *s, size_t len);


#endif /* CXB_TEMPLATE_H */
