/*
 * Pushes of a call (SPEC section 6) and their result records (section 8).
 */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cxb_push.h"
#include "cxb_template.h"
#include "cxb_time.h"


static cxb_push_t *cxb_push_add(cxb_call_t *c, const char *integration,
    const char *event_type);
static void cxb_push_skip(cxb_push_t *p, int state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cxb_push_post_call(cxb_call_t *c, const cxb_resolver_t *r);
static int cxb_push_integrations(cxb_call_t *c, const cxb_resolver_t *r);
static int cxb_push_integration(cxb_call_t *c, const cxb_resolver_t *r,
    const cJSON *in, size_t idx);
static cJSON *cxb_push_auto_body(cxb_call_t *c, const cJSON *sections,
    const char **bad);
static int cxb_push_external(cxb_call_t *c, const cxb_resolver_t *r);
static int cxb_push_json_body(cxb_push_t *p, const cJSON *body);
static int cxb_transcript_empty(const cJSON *tr);
static int cxb_push_sign(cxb_push_t *p, const cxb_ctx_opts_t *o);
static int cxb_push_template_limits(cxb_push_t *p, const cJSON *src);
static void cxb_push_count_templates(const cJSON *v, size_t *nexpr,
    size_t *longest);
static int cxb_push_url(cxb_push_t *p, const char *url, size_t len,
    cxb_buf_t *query);
static int cxb_push_header(cxb_push_t *p, const char *name,
    const char *value, size_t len);
static int cxb_push_has_header(const cxb_push_t *p, const char *name);
static void cxb_push_free(cxb_push_t *p);
static cJSON *cxb_push_request_json(const cxb_push_t *p);
static int cxb_is_tchar(unsigned char ch);


static const char  cxb_too_large[] =
    "the push could not be rendered: larger than 16 MiB, or out of memory";


static const char  *cxb_managed_headers[] = {
    "Host", "Content-Length", "Transfer-Encoding", "Connection",
    "Keep-Alive", "TE", "Upgrade", "Expect", "Proxy-Connection", NULL
};


static const char  *cxb_secret_headers[] = {
    "Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", NULL
};


int
cxb_call_build(cxb_call_t *c, const cJSON *doc, const cxb_ctx_opts_t *o,
    cxb_buf_t *err)
{
    int             rc;
    cxb_resolver_t  r;

    memset(c, 0, sizeof(cxb_call_t));

    rc = cxb_ctx_build(&c->ctx, doc, o, err);
    if (rc != 0) {
        return rc;
    }

    c->call_id = strdup(c->ctx.call_id);
    c->bot_id = strdup(c->ctx.bot_id);
    c->start_ms = c->ctx.start_ms;

    if (c->call_id == NULL || c->bot_id == NULL) {
        cxb_call_free(c);
        return -2;
    }

    c->nonce = o->nonce;

    r.lookup = cxb_ctx_lookup;
    r.data = &c->ctx;

    if (cxb_push_post_call(c, &r) != 0
        || cxb_push_integrations(c, &r) != 0
        || cxb_push_external(c, &r) != 0)
    {
        cxb_call_free(c);
        return -2;
    }

    for (size_t i = 0; o->body_max && i < c->npushes; i++) {
        if (c->pushes[i].state == CXB_PUSH_READY
            && c->pushes[i].body_len > o->body_max)
        {
            cxb_push_skip(&c->pushes[i], CXB_PUSH_FAILED,
                          "the rendered body (%zu bytes) is larger than "
                          "cxbpush_body_max (%zu bytes)",
                          c->pushes[i].body_len, o->body_max);
        }
    }

    /* every push carries its id; signed pushes, a timestamp and signature */

    for (size_t i = 0; i < c->npushes; i++) {
        if (c->pushes[i].state == CXB_PUSH_READY
            && (cxb_push_header(&c->pushes[i], "webhook-id", c->pushes[i].id,
                                strlen(c->pushes[i].id)) != 0
                || (o->nsign_keys && cxb_push_sign(&c->pushes[i], o) != 0)))
        {
            cxb_call_free(c);
            return -2;
        }
    }

    return 0;
}


void
cxb_call_free(cxb_call_t *c)
{
    size_t  i;

    for (i = 0; i < c->npushes; i++) {
        cxb_push_free(&c->pushes[i]);
    }

    free(c->pushes);
    c->pushes = NULL;
    c->npushes = 0;
    c->nalloc = 0;

    free(c->call_id);
    free(c->bot_id);
    c->call_id = NULL;
    c->bot_id = NULL;

    cxb_ctx_free(&c->ctx);
}


void
cxb_call_drop_context(cxb_call_t *c)
{
    cxb_ctx_free(&c->ctx);
    memset(&c->ctx, 0, sizeof(cxb_ctx_t));
}


static cxb_push_t *
cxb_push_add(cxb_call_t *c, const char *integration, const char *event_type)
{
    size_t       n;
    cxb_push_t  *p;

    if (c->npushes == c->nalloc) {
        n = c->nalloc ? c->nalloc * 2 : 4;

        p = realloc(c->pushes, n * sizeof(cxb_push_t));
        if (p == NULL) {
            return NULL;
        }

        c->pushes = p;
        c->nalloc = n;
    }

    p = &c->pushes[c->npushes];
    memset(p, 0, sizeof(cxb_push_t));

    p->integration = strdup(integration);
    if (p->integration == NULL) {
        return NULL;
    }

    c->npushes++;

    p->event_type = event_type;
    p->state = CXB_PUSH_READY;

    snprintf(p->id, sizeof(p->id), "msg_%016llx%04x",
             (unsigned long long) c->nonce, (unsigned) (c->npushes & 0xffff));

    return p;
}


static void
cxb_push_skip(cxb_push_t *p, int state, const char *fmt, ...)
{
    int        n;
    va_list    ap;

    p->state = state;

    free(p->reason);

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);

    p->reason = malloc(n + 1);
    if (p->reason == NULL) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(p->reason, n + 1, fmt, ap);
    va_end(ap);
}


/* CX Bridge's post_call_push: SPEC section 6.1 */

static int
cxb_push_post_call(cxb_call_t *c, const cxb_resolver_t *r)
{
    int            rc;
    char          *body;
    cJSON         *rendered, *item;
    cxb_buf_t      q, v;
    cxb_push_t    *p;
    const char    *url, *method;
    const cJSON   *pcp, *km, *hdrs, *token, *h;

    if (c->ctx.bot == NULL) {
        return 0;
    }

    pcp = cJSON_GetObjectItemCaseSensitive(c->ctx.bot, "post_call_push");

    if (pcp == NULL || cJSON_IsNull(pcp)) {
        return 0;
    }

    p = cxb_push_add(c, "post_call_push", "post_call_push");
    if (p == NULL) {
        return -1;
    }

    p->method = "POST";

    if (!cJSON_IsObject(pcp)) {
        cxb_push_skip(p, CXB_PUSH_SKIPPED,
                      "bot.post_call_push is not an object");
        return 0;
    }

    url = cxb_json_str(pcp, "url");

    if (url == NULL || url[0] == '\0') {
        cxb_push_skip(p, CXB_PUSH_SKIPPED, "post_call_push has no url");
        return 0;
    }

    if (cxb_push_template_limits(p, pcp) != 0) {
        return 0;
    }

    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->ctx.call,
                                                      "skip_post_push")))
    {
        cxb_push_skip(p, CXB_PUSH_SKIPPED, "call.skip_post_push is set");
        return 0;
    }

    item = cJSON_GetObjectItemCaseSensitive(pcp, "method");
    method = "POST";

    if (item && !cJSON_IsNull(item)) {
        if (cJSON_IsString(item) && strcasecmp(item->valuestring, "GET") == 0)
        {
            method = "GET";

        } else if (!cJSON_IsString(item)
                   || strcasecmp(item->valuestring, "POST") != 0)
        {
            cxb_push_skip(p, CXB_PUSH_SKIPPED,
                          "post_call_push.method must be POST or GET");
            return 0;
        }
    }

    p->method = method;

    km = cJSON_GetObjectItemCaseSensitive(pcp, "key_mapper");

    if (km != NULL && !cJSON_IsNull(km) && !cJSON_IsObject(km)) {
        cxb_push_skip(p, CXB_PUSH_SKIPPED,
                      "post_call_push.key_mapper is not an object");
        return 0;
    }

    hdrs = cJSON_GetObjectItemCaseSensitive(pcp, "headers");

    if (hdrs != NULL && !cJSON_IsNull(hdrs) && !cJSON_IsObject(hdrs)) {
        cxb_push_skip(p, CXB_PUSH_SKIPPED,
                      "post_call_push.headers is not an object");
        return 0;
    }

    if (cJSON_IsObject(km)) {
        rendered = cxb_tpl_keymapper(km, r);

    } else {
        rendered = cJSON_CreateObject();
    }

    if (rendered == NULL) {
        cxb_push_skip(p, CXB_PUSH_FAILED, "%s", cxb_too_large);
        return 0;
    }

    cxb_buf_init(&q);
    cxb_buf_init(&v);
    rc = 0;

    if (method[0] == 'G') {
        cJSON_ArrayForEach(item, rendered) {
            if (q.len) {
                cxb_buf_addc(&q, '&');
            }

            cxb_tpl_percent_encode(&q, item->string, strlen(item->string));
            cxb_buf_addc(&q, '=');

            cxb_buf_reset(&v);
            cxb_tpl_value_text(&v, item);
            cxb_tpl_percent_encode(&q, v.data, v.len);
        }

        if (q.failed || v.failed) {
            rc = -1;
        }

    } else {
        body = cJSON_PrintUnformatted(rendered);

        if (body == NULL) {
            rc = -1;

        } else {
            p->body = body;
            p->body_len = strlen(body);
        }
    }

    cJSON_Delete(rendered);
    cxb_buf_free(&v);

    if (rc == 0) {
        rc = cxb_push_url(p, url, strlen(url), &q);
    }

    cxb_buf_free(&q);

    if (rc != 0 || p->state != CXB_PUSH_READY) {
        return rc;
    }

    /* headers: "headers" when given, else Authorization: token */

    if (cJSON_IsObject(hdrs)) {
        cJSON_ArrayForEach(h, hdrs) {
            cxb_buf_init(&v);

            if (cJSON_IsString(h)) {
                rc = cxb_tpl_render_text(&v, h->valuestring,
                                         strlen(h->valuestring), r, 1);

            } else {
                cxb_tpl_value_text(&v, h);
                rc = v.failed ? -1 : 0;
            }

            if (rc != 0) {
                cxb_buf_free(&v);
                cxb_push_skip(p, CXB_PUSH_FAILED, "%s", cxb_too_large);
                return 0;
            }

            rc = cxb_push_header(p, h->string, v.data ? v.data : "", v.len);

            cxb_buf_free(&v);

            if (rc != 0 || p->state != CXB_PUSH_READY) {
                return rc;
            }
        }

    } else {
        token = cJSON_GetObjectItemCaseSensitive(pcp, "token");

        if (cJSON_IsString(token) && token->valuestring[0] != '\0') {
            rc = cxb_push_header(p, "Authorization", token->valuestring,
                                 strlen(token->valuestring));
            if (rc != 0 || p->state != CXB_PUSH_READY) {
                return rc;
            }
        }
    }

    if (p->body && !cxb_push_has_header(p, "Content-Type")) {
        return cxb_push_header(p, "Content-Type", "application/json",
                               sizeof("application/json") - 1);
    }

    return 0;
}


/* OSVI's per-agent webhook integrations: SPEC section 6.2 */

static int
cxb_push_integrations(cxb_call_t *c, const cxb_resolver_t *r)
{
    size_t        i;
    cxb_push_t   *p;
    const cJSON  *list, *in;

    if (c->ctx.bot == NULL) {
        return 0;
    }

    list = cJSON_GetObjectItemCaseSensitive(c->ctx.bot, "integrations");

    if (list == NULL || cJSON_IsNull(list)) {
        return 0;
    }

    if (!cJSON_IsArray(list)) {
        p = cxb_push_add(c, "integrations", "integration");
        if (p == NULL) {
            return -1;
        }

        p->method = "POST";
        cxb_push_skip(p, CXB_PUSH_SKIPPED, "bot.integrations is not an array");
        return 0;
    }

    i = 0;

    cJSON_ArrayForEach(in, list) {
        if (i == CXB_MAX_INTEGRATIONS) {
            p = cxb_push_add(c, "integrations", "integration");
            if (p == NULL) {
                return -1;
            }

            p->method = "POST";
            cxb_push_skip(p, CXB_PUSH_SKIPPED, "more than %d integrations: "
                          "the rest are ignored", CXB_MAX_INTEGRATIONS);
            return 0;
        }

        if (cxb_push_integration(c, r, in, i++) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
cxb_push_integration(cxb_call_t *c, const cxb_resolver_t *r,
    const cJSON *in, size_t idx)
{
    int            rc;
    char           name[40];
    cJSON         *body;
    cxb_buf_t      b;
    cxb_push_t    *p;
    const char    *s, *url, *mode, *bad;
    const cJSON   *item, *hdrs, *h, *spec, *tr;

    static const char  *methods[] = {
        "POST", "PUT", "PATCH", "GET", "DELETE", NULL
    };

    s = cxb_json_str(in, "name");

    if (s == NULL || s[0] == '\0') {
        snprintf(name, sizeof(name), "integration_%zu", idx + 1);
        s = name;
    }

    p = cxb_push_add(c, s, "integration");
    if (p == NULL) {
        return -1;
    }

    p->method = "POST";

    if (!cJSON_IsObject(in)) {
        cxb_push_skip(p, CXB_PUSH_SKIPPED, "the integration is not an object");
        return 0;
    }

    if (cxb_push_template_limits(p, in) != 0) {
        return 0;
    }

    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(in, "active"))) {
        cxb_push_skip(p, CXB_PUSH_SKIPPED, "the integration is not active");
        return 0;
    }

    s = cxb_json_str(c->ctx.call, "status");

    if (s == NULL || strcmp(s, "picked") != 0) {
        cxb_push_skip(p, CXB_PUSH_SKIPPED, "the call was not picked");
        return 0;
    }

    tr = cJSON_GetObjectItemCaseSensitive(c->ctx.call, "transcript");

    if (cxb_transcript_empty(tr)) {
        cxb_push_skip(p, CXB_PUSH_SKIPPED, "the call has no transcript");
        return 0;
    }

    item = cJSON_GetObjectItemCaseSensitive(in, "method");

    if (item != NULL && !cJSON_IsNull(item)) {
        p->method = NULL;

        if (cJSON_IsString(item)) {
            for (size_t i = 0; methods[i]; i++) {
                if (strcasecmp(item->valuestring, methods[i]) == 0) {
                    p->method = methods[i];
                    break;
                }
            }
        }

        if (p->method == NULL) {
            p->method = "POST";
            cxb_push_skip(p, CXB_PUSH_SKIPPED, "unsupported method: use "
                          "POST, PUT, PATCH, GET or DELETE");
            return 0;
        }
    }

    url = cxb_json_str(in, "url");

    if (url == NULL || url[0] == '\0') {
        cxb_push_skip(p, CXB_PUSH_SKIPPED, "the integration has no url");
        return 0;
    }

    hdrs = cJSON_GetObjectItemCaseSensitive(in, "headers");

    if (hdrs != NULL && !cJSON_IsNull(hdrs) && !cJSON_IsObject(hdrs)) {
        cxb_push_skip(p, CXB_PUSH_SKIPPED,
                      "the integration's headers are not an object");
        return 0;
    }

    /* the body, unless GET or DELETE */

    body = NULL;

    if (p->method[0] != 'G' && p->method[0] != 'D') {
        spec = cJSON_GetObjectItemCaseSensitive(in, "body");
        mode = cxb_json_str(spec, "mode");

        if (spec != NULL && !cJSON_IsNull(spec) && !cJSON_IsObject(spec)) {
            cxb_push_skip(p, CXB_PUSH_SKIPPED,
                          "the integration's body is not an object");
            return 0;
        }

        if (mode == NULL || strcmp(mode, "auto") == 0) {
            bad = NULL;
            body = cxb_push_auto_body(c,
                       cJSON_GetObjectItemCaseSensitive(spec, "sections"),
                       &bad);

            if (bad) {
                cJSON_Delete(body);
                cxb_push_skip(p, CXB_PUSH_SKIPPED, "%s", bad);
                return 0;
            }

        } else if (strcmp(mode, "template") == 0) {
            item = cJSON_GetObjectItemCaseSensitive(spec, "template");

            if (item == NULL) {
                cxb_push_skip(p, CXB_PUSH_SKIPPED,
                              "template mode without a template");
                return 0;
            }

            body = cxb_tpl_template(item, r);

            if (body == NULL) {
                cxb_push_skip(p, CXB_PUSH_FAILED, "%s", cxb_too_large);
                return 0;
            }

        } else {
            cxb_push_skip(p, CXB_PUSH_SKIPPED,
                          "unknown body mode: use auto or template");
            return 0;
        }

        if (body == NULL) {
            return -1;
        }

        rc = cxb_push_json_body(p, body);
        cJSON_Delete(body);

        if (rc != 0) {
            return rc;
        }
    }

    /* the URL: placeholders from call_trigger_data, percent-encoded */

    cxb_buf_init(&b);

    if (cxb_tpl_render_url(&b, url, strlen(url), r) != 0
        || cxb_buf_cstr(&b) == NULL)
    {
        cxb_buf_free(&b);
        cxb_push_skip(p, CXB_PUSH_FAILED, "%s", cxb_too_large);
        return 0;
    }

    rc = cxb_push_url(p, b.data, b.len, NULL);
    cxb_buf_free(&b);

    if (rc != 0 || p->state != CXB_PUSH_READY) {
        return rc;
    }

    if (cJSON_IsObject(hdrs)) {
        cJSON_ArrayForEach(h, hdrs) {
            if (strcasecmp(h->string, "Content-Type") == 0) {
                continue;
            }

            cxb_buf_init(&b);

            if (cJSON_IsString(h)) {
                rc = cxb_tpl_render_text(&b, h->valuestring,
                                         strlen(h->valuestring), r, 1);

            } else {
                cxb_tpl_value_text(&b, h);
                rc = b.failed ? -1 : 0;
            }

            if (rc != 0) {
                cxb_buf_free(&b);
                cxb_push_skip(p, CXB_PUSH_FAILED, "%s", cxb_too_large);
                return 0;
            }

            rc = cxb_push_header(p, h->string, b.data ? b.data : "", b.len);

            cxb_buf_free(&b);

            if (rc != 0 || p->state != CXB_PUSH_READY) {
                return rc;
            }
        }
    }

    return cxb_push_header(p, "Content-Type", "application/json",
                           sizeof("application/json") - 1);
}


/* whether a transcript is absent or empty, without parsing a raw one */

static int
cxb_transcript_empty(const cJSON *tr)
{
    const char  *p;

    if (cxb_doc_is_raw(tr)) {
        /* valid JSON text of an array: "[" white space "]" when empty */

        for (p = tr->valuestring + 1; *p == ' ' || *p == '\t' || *p == '\n'
                                      || *p == '\r'; p++)
        {
            /* void */
        }

        return *p == ']';
    }

    return !cJSON_IsArray(tr) || tr->child == NULL;
}


static cJSON *
cxb_push_auto_body(cxb_call_t *c, const cJSON *sections, const char **bad)
{
    int           want[5], failed;
    cJSON        *body;
    size_t        i;
    const cJSON  *s, *v, *ci;

    static const char  *names[] = {
        "call_info", "call_summary", "data_capture", "structured_output",
        "call_trigger_data", NULL
    };

    static const char  *info[] = {
        "call_log_id", "phone_number", "agent_name", "call_status",
        "call_type", NULL
    };

    for (i = 0; names[i]; i++) {
        want[i] = (sections == NULL || cJSON_IsNull(sections));
    }

    if (sections != NULL && !cJSON_IsNull(sections)) {
        if (!cJSON_IsArray(sections)) {
            *bad = "body.sections must be an array of section names";
            return NULL;
        }

        cJSON_ArrayForEach(s, sections) {
            for (i = 0; names[i]; i++) {
                if (cJSON_IsString(s) && strcmp(s->valuestring, names[i]) == 0)
                {
                    want[i] = 1;
                    break;
                }
            }

            if (names[i] == NULL) {
                *bad = "body.sections: unknown section (use call_info, "
                       "call_summary, data_capture, structured_output, "
                       "call_trigger_data)";
                return NULL;
            }
        }
    }

    body = cJSON_CreateObject();
    if (body == NULL) {
        return NULL;
    }

    failed = 0;

    for (i = 0; names[i]; i++) {
        if (!want[i]) {
            continue;
        }

        if (i == 0) {
            ci = cJSON_GetObjectItemCaseSensitive(c->ctx.root, "call_info");

            for (size_t k = 0; info[k]; k++) {
                v = cJSON_GetObjectItemCaseSensitive(ci, info[k]);

                if (v && !cJSON_IsNull(v)) {
                    if (!cJSON_AddItemReferenceToObject(body, info[k],
                                                        (cJSON *) v))
                    {
                        failed = 1;
                    }
                }
            }

            continue;
        }

        v = cJSON_GetObjectItemCaseSensitive(c->ctx.root, names[i]);

        /* sections without data are omitted */

        if (v == NULL || cJSON_IsNull(v)
            || (cJSON_IsString(v) && v->valuestring[0] == '\0')
            || ((cJSON_IsObject(v) || cJSON_IsArray(v)) && v->child == NULL))
        {
            continue;
        }

        if (!cJSON_AddItemReferenceToObject(body, names[i], (cJSON *) v)) {
            failed = 1;
        }
    }

    if (failed) {
        cJSON_Delete(body);
        return NULL;
    }

    return body;
}


/* Synthflow's external webhook: SPEC section 6.3 */

static int
cxb_push_external(cxb_call_t *c, const cxb_resolver_t *r)
{
    int            rc, failed;
    cJSON         *body, *call, *cv;
    cxb_push_t    *p;
    const char    *url, *s;
    const cJSON   *item, *v, *ex;

    static const char  *skip[] = {
        "call_id", "status", "end_call_reason", "custom_end_call_reason",
        "duration", "recording_url", "transcript", "analysis",
        "collected_variables", "external_webhook_url", "skip_post_push",
        "recording_key", "recording_access_token", NULL
    };

    url = cxb_json_str(c->ctx.call, "external_webhook_url");

    if (url == NULL || url[0] == '\0') {
        return 0;
    }

    p = cxb_push_add(c, "external_webhook", "external_webhook");
    if (p == NULL) {
        return -1;
    }

    p->method = "POST";

    body = cJSON_CreateObject();
    if (body == NULL) {
        return -1;
    }

    failed = 0;
    call = cJSON_AddObjectToObject(body, "call");

    if (call == NULL) {
        cJSON_Delete(body);
        return -1;
    }

#define cxb_ref(o, name, it)                                                  \
    if (!cJSON_AddItemReferenceToObject(o, name, (cJSON *) (it))) {           \
        failed = 1;                                                           \
    }

    ex = c->ctx.call;

    item = cJSON_GetObjectItemCaseSensitive(ex, "call_id");
    if (item) {
        cxb_ref(call, "call_id", item);
    }

    item = cJSON_GetObjectItemCaseSensitive(ex, "status");
    if (item) {
        cxb_ref(call, "status", item);
    }

    item = cJSON_GetObjectItemCaseSensitive(ex, "end_call_reason");
    if (item) {
        cxb_ref(call, "end_call_reason", item);
    }

    s = cxb_json_str(ex, "custom_end_call_reason");
    if (s && s[0] != '\0') {
        cxb_ref(call, "custom_end_call_reason",
                cJSON_GetObjectItemCaseSensitive(ex,
                                                 "custom_end_call_reason"));
    }

    v = r->lookup(r->data, "result.call_duration_seconds",
                  sizeof("result.call_duration_seconds") - 1);

    if (cJSON_IsNumber(v)) {
        cxb_ref(call, "duration", v);

    } else if (cJSON_AddNullToObject(call, "duration") == NULL) {
        failed = 1;
    }

    v = r->lookup(r->data, "result.recording_url",
                  sizeof("result.recording_url") - 1);
    if (v) {
        cxb_ref(call, "recording_url", v);
    }

    item = cxb_doc_transcript(ex);

    if (cJSON_IsArray(item)) {
        cxb_ref(call, "transcript", item);

    } else if (cJSON_AddArrayToObject(call, "transcript") == NULL) {
        failed = 1;
    }

    cJSON_ArrayForEach(item, ex) {
        size_t  i;

        for (i = 0; skip[i]; i++) {
            if (strcmp(item->string, skip[i]) == 0) {
                break;
            }
        }

        if (skip[i] == NULL) {
            cxb_ref(call, item->string, item);
        }
    }

    item = cJSON_GetObjectItemCaseSensitive(ex, "analysis");

    if (item && !cJSON_IsNull(item)) {
        cxb_ref(body, "analysis", item);

    } else if (cJSON_AddNullToObject(body, "analysis") == NULL) {
        failed = 1;
    }

    cv = cJSON_AddObjectToObject(body, "collected_variables");

    if (cv == NULL) {
        failed = 1;

    } else {
        item = cJSON_GetObjectItemCaseSensitive(ex, "collected_variables");

        if (cJSON_IsObject(item)) {
            cJSON_ArrayForEach(v, item) {
                if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v,
                                                              "collected")))
                {
                    cxb_ref(cv, v->string, v);
                }
            }
        }
    }

#undef cxb_ref

    rc = failed ? -1 : cxb_push_json_body(p, body);
    cJSON_Delete(body);

    if (rc != 0) {
        return rc;
    }

    rc = cxb_push_url(p, url, strlen(url), NULL);

    if (rc != 0 || p->state != CXB_PUSH_READY) {
        return rc;
    }

    return cxb_push_header(p, "Content-Type", "application/json",
                           sizeof("application/json") - 1);
}


static int
cxb_push_json_body(cxb_push_t *p, const cJSON *body)
{
    char  *s;

    s = cJSON_PrintUnformatted(body);
    if (s == NULL) {
        return -1;
    }

    free(p->body);
    p->body = s;
    p->body_len = strlen(s);

    return 0;
}


/*
 * The caps on what a push's definition may hold, checked before anything
 * is rendered: each string (a template) at most CXB_TEMPLATE_MAX bytes, and
 * at most CXB_EXPR_MAX expressions ("{{") in all.  The walk is linear and
 * its depth bounded by the document's 64 levels.
 */

static int
cxb_push_template_limits(cxb_push_t *p, const cJSON *src)
{
    size_t  nexpr, longest;

    nexpr = 0;
    longest = 0;

    cxb_push_count_templates(src, &nexpr, &longest);

    if (longest > CXB_TEMPLATE_MAX) {
        cxb_push_skip(p, CXB_PUSH_SKIPPED,
                      "a template of the push is longer than %d bytes (%zu)",
                      CXB_TEMPLATE_MAX, longest);
        return -1;
    }

    if (nexpr > CXB_EXPR_MAX) {
        cxb_push_skip(p, CXB_PUSH_SKIPPED,
                      "the push has more than %d template expressions (%zu)",
                      CXB_EXPR_MAX, nexpr);
        return -1;
    }

    return 0;
}


static void
cxb_push_count_templates(const cJSON *v, size_t *nexpr, size_t *longest)
{
    size_t        len;
    const char   *s, *e;
    const cJSON  *item;

    if (cJSON_IsString(v) && v->valuestring) {
        s = v->valuestring;
        len = strlen(s);

        if (len > *longest) {
            *longest = len;
        }

        for (e = s + len; (s = memchr(s, '{', e - s)) != NULL; s++) {
            if (s + 1 < e && s[1] == '{') {
                (*nexpr)++;
                s++;
            }
        }

        return;
    }

    cJSON_ArrayForEach(item, v) {
        if (item->string && strlen(item->string) > *longest) {
            *longest = strlen(item->string);
        }

        cxb_push_count_templates(item, nexpr, longest);
    }
}


/* Standard Webhooks headers over the push's id, the time and its body */

static int
cxb_push_sign(cxb_push_t *p, const cxb_ctx_opts_t *o)
{
    int        rc;
    char       ts[24];
    int64_t    now;
    cxb_buf_t  sig;

    now = o->now_ms / 1000;
    snprintf(ts, sizeof(ts), "%lld", (long long) now);

    cxb_buf_init(&sig);

    if (cxb_sign(&sig, o->sign_keys, o->nsign_keys, p->id, now,
                 p->body ? p->body : "", p->body_len)
        != 0)
    {
        cxb_buf_free(&sig);
        return -1;
    }

    rc = cxb_push_header(p, "webhook-timestamp", ts, strlen(ts));

    if (rc == 0) {
        rc = cxb_push_header(p, "webhook-signature", sig.data, sig.len);
    }

    cxb_buf_free(&sig);

    return rc;
}


/*
 * Validates an http(s) URL and stores it with the query appended; a URL
 * without a path gets "/", a fragment is dropped.  A bad URL fails the push.
 */

static int
cxb_push_url(cxb_push_t *p, const char *url, size_t len, cxb_buf_t *query)
{
    size_t          i, hs, he, end;
    cxb_buf_t       b;
    unsigned char   ch;

    if (len > 7 && strncasecmp(url, "http://", 7) == 0) {
        hs = 7;

    } else if (len > 8 && strncasecmp(url, "https://", 8) == 0) {
        hs = 8;

    } else {
        cxb_push_skip(p, CXB_PUSH_FAILED,
                      "invalid url: only http and https URLs are pushed");
        return 0;
    }

    end = len;

    for (i = 0; i < len; i++) {
        ch = (unsigned char) url[i];

        if (ch <= 0x20 || ch == 0x7f) {
            cxb_push_skip(p, CXB_PUSH_FAILED,
                          "invalid url: contains a space or control "
                          "character");
            return 0;
        }

        if (ch == '#' && end == len) {
            end = i;
        }
    }

    for (he = hs; he < end; he++) {
        if (url[he] == '/' || url[he] == '?') {
            break;
        }
    }

    if (he == hs || url[hs] == '@' || url[he - 1] == ':') {
        cxb_push_skip(p, CXB_PUSH_FAILED, "invalid url: no host");
        return 0;
    }

    cxb_buf_init(&b);
    cxb_buf_add(&b, url, he);

    if (he == end || url[he] != '/') {
        cxb_buf_addc(&b, '/');
    }

    cxb_buf_add(&b, url + he, end - he);

    if (query && query->len) {
        cxb_buf_addc(&b, memchr(url + he, '?', end - he) ? '&' : '?');
        cxb_buf_add(&b, query->data, query->len);
    }

    p->url = cxb_buf_detach(&b, NULL);

    return p->url ? 0 : -1;
}


static int
cxb_push_header(cxb_push_t *p, const char *name, const char *value,
    size_t len)
{
    size_t          i, n;
    cxb_header_t   *h;
    const char    **m;
    unsigned char   ch;

    n = strlen(name);

    if (n == 0) {
        cxb_push_skip(p, CXB_PUSH_FAILED, "invalid header: empty name");
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (!cxb_is_tchar((unsigned char) name[i])) {
            cxb_push_skip(p, CXB_PUSH_FAILED,
                          "invalid header name \"%.64s\"", name);
            return 0;
        }
    }

    if (n > CXB_HEADER_NAME_MAX || len > CXB_HEADER_VALUE_MAX) {
        cxb_push_skip(p, CXB_PUSH_FAILED,
                      "header \"%.64s\" is too large (names up to %d bytes, "
                      "values up to %d)", name, CXB_HEADER_NAME_MAX,
                      CXB_HEADER_VALUE_MAX);
        return 0;
    }

    for (i = 0; i < len; i++) {
        ch = (unsigned char) value[i];

        if (ch == '\r' || ch == '\n' || ch == '\0'
            || (ch < 0x20 && ch != '\t') || ch == 0x7f)
        {
            cxb_push_skip(p, CXB_PUSH_FAILED,
                          "invalid header value of \"%.64s\": contains CR, "
                          "LF, NUL or another control character", name);
            return 0;
        }
    }

    for (m = cxb_managed_headers; *m; m++) {
        if (strcasecmp(name, *m) == 0) {
            return 0;
        }
    }

    if (p->nheaders == CXB_MAX_HEADERS) {
        cxb_push_skip(p, CXB_PUSH_FAILED, "too many headers (max %d)",
                      CXB_MAX_HEADERS);
        return 0;
    }

    if (p->nheaders == 0) {
        p->headers = malloc(CXB_MAX_HEADERS * sizeof(cxb_header_t));
        if (p->headers == NULL) {
            return -1;
        }
    }

    h = &p->headers[p->nheaders];

    h->name = strdup(name);
    h->value = malloc(len + 1);

    if (h->name == NULL || h->value == NULL) {
        free(h->name);
        free(h->value);
        return -1;
    }

    memcpy(h->value, value, len);
    h->value[len] = '\0';
    p->nheaders++;

    return 0;
}


static int
cxb_push_has_header(const cxb_push_t *p, const char *name)
{
    size_t  i;

    for (i = 0; i < p->nheaders; i++) {
        if (strcasecmp(p->headers[i].name, name) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
cxb_is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
        || (ch >= '0' && ch <= '9'))
    {
        return 1;
    }

    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}


static void
cxb_push_free(cxb_push_t *p)
{
    size_t  i;

    for (i = 0; i < p->nheaders; i++) {
        free(p->headers[i].name);
        free(p->headers[i].value);
    }

    free(p->headers);
    free(p->integration);
    free(p->reason);
    free(p->url);
    free(p->body);
}


int
cxb_header_is_secret(const char *name, size_t len)
{
    const char  **s;

    for (s = cxb_secret_headers; *s; s++) {
        if (strlen(*s) == len && strncasecmp(*s, name, len) == 0) {
            return 1;
        }
    }

    return 0;
}


const char *
cxb_classify(int http_status)
{
    return (http_status >= 200 && http_status < 300) ? "ok" : "rejected";
}


static cJSON *
cxb_push_request_json(const cxb_push_t *p)
{
    size_t   i;
    cJSON   *req, *hdrs, *v;

    req = cJSON_CreateObject();
    if (req == NULL) {
        return NULL;
    }

    hdrs = NULL;

    if (cJSON_AddStringToObject(req, "method", p->method) == NULL
        || cJSON_AddStringToObject(req, "url", p->url ? p->url : "") == NULL
        || (hdrs = cJSON_AddObjectToObject(req, "headers")) == NULL)
    {
        goto failed;
    }

    for (i = 0; i < p->nheaders; i++) {
        v = cJSON_CreateString(cxb_header_is_secret(p->headers[i].name,
                                   strlen(p->headers[i].name))
                               ? "[redacted]" : p->headers[i].value);

        if (v == NULL || !cJSON_AddItemToObject(hdrs, p->headers[i].name, v))
        {
            cJSON_Delete(v);
            goto failed;
        }
    }

    v = p->body ? cxb_json_string_utf8(p->body, p->body_len)
                : cJSON_CreateNull();

    if (v == NULL || !cJSON_AddItemToObject(req, "body", v)) {
        cJSON_Delete(v);
        goto failed;
    }

    return req;

failed:

    cJSON_Delete(req);
    return NULL;
}


int
cxb_call_answer(cxb_buf_t *out, cxb_call_t *c, int dry_run)
{
    int          ok;
    size_t       i;
    cJSON       *ans, *arr, *o, *v;
    cxb_push_t  *p;

    ans = cJSON_CreateObject();
    if (ans == NULL) {
        return -1;
    }

    ok = cJSON_AddStringToObject(ans, "call_id", c->call_id) != NULL;

    if (ok && dry_run) {
        ok = cxb_ctx_materialize(&c->ctx) == 0
             && cJSON_AddItemReferenceToObject(ans, "variables",
                                               c->ctx.root);
    }

    arr = ok ? cJSON_AddArrayToObject(ans, "pushes") : NULL;
    ok = arr != NULL;

    for (i = 0; ok && i < c->npushes; i++) {
        p = &c->pushes[i];

        o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            ok = 0;
            break;
        }

        ok = cJSON_AddStringToObject(o, "integration", p->integration)
             != NULL;

        ok = ok && cJSON_AddStringToObject(o, "status",
                       p->state == CXB_PUSH_READY
                       ? (dry_run ? "rendered" : "scheduled") : "skipped")
                   != NULL;

        if (ok) {
            v = p->reason ? cJSON_CreateString(p->reason) : cJSON_CreateNull();
            ok = v != NULL && cJSON_AddItemToObject(o, "reason", v);

            if (!ok) {
                cJSON_Delete(v);
            }
        }

        if (ok && dry_run) {
            v = p->state == CXB_PUSH_READY ? cxb_push_request_json(p)
                                           : cJSON_CreateNull();
            ok = v != NULL && cJSON_AddItemToObject(o, "request", v);

            if (!ok) {
                cJSON_Delete(v);
            }
        }
    }

    return cxb_json_emit(out, ans, ok);
}


int
cxb_record(cxb_buf_t *out, const cxb_call_t *c, const cxb_push_t *p,
    const cxb_result_t *res)
{
    cxb_record_head_t  h;

    h.id = p->id;
    h.call_id = c->call_id;
    h.bot_id = c->bot_id;
    h.integration = p->integration;
    h.event_type = p->event_type;
    h.request = cxb_push_request_json(p);
    h.has_t = (c->start_ms != CXB_TIME_NONE);
    h.t_ms = h.has_t ? res->at_ms - c->start_ms : 0;

    if (h.request == NULL) {
        return -1;
    }

    return cxb_record_write(out, &h, res);
}


int
cxb_record_write(cxb_buf_t *out, const cxb_record_head_t *h,
    const cxb_result_t *res)
{
    int       ok;
    char      at[40];
    cJSON    *rec, *v, *ev;

    rec = cJSON_CreateObject();
    if (rec == NULL) {
        cJSON_Delete(h->request);
        return -1;
    }

    ok = cJSON_AddStringToObject(rec, "id", h->id) != NULL
         && cJSON_AddStringToObject(rec, "call_id", h->call_id) != NULL
         && cJSON_AddStringToObject(rec, "bot_id", h->bot_id) != NULL
         && cJSON_AddStringToObject(rec, "integration", h->integration)
            != NULL
         && cJSON_AddStringToObject(rec, "status", res->status) != NULL;

    if (ok) {
        v = res->http_status >= 0 ? cJSON_CreateNumber(res->http_status)
                                  : cJSON_CreateNull();
        ok = v != NULL && cJSON_AddItemToObject(rec, "http_status", v);
        if (!ok) {
            cJSON_Delete(v);
        }
    }

    if (ok) {
        v = res->response ? cxb_json_string_utf8(res->response,
                                                 res->response_len)
                          : cJSON_CreateNull();
        ok = v != NULL && cJSON_AddItemToObject(rec, "response_body", v);
        if (!ok) {
            cJSON_Delete(v);
        }
    }

    if (ok) {
        v = res->error ? cxb_json_string_utf8(res->error, strlen(res->error))
                       : cJSON_CreateNull();
        ok = v != NULL && cJSON_AddItemToObject(rec, "error", v);
        if (!ok) {
            cJSON_Delete(v);
        }
    }

    cxb_time_format_utc(at, res->at_ms / 1000);

    ok = ok && cJSON_AddNumberToObject(rec, "attempt", res->attempt) != NULL
         && cJSON_AddBoolToObject(rec, "final", !res->more) != NULL
         && cJSON_AddStringToObject(rec, "at", at) != NULL
         && cJSON_AddNumberToObject(rec, "duration_ms",
                                    (double) res->duration_ms) != NULL;

    /* the record takes the request over */

    if (ok) {
        ok = cJSON_AddItemToObject(rec, "request", h->request);
    }

    if (!ok) {
        cJSON_Delete(h->request);
    }

    ev = ok ? cJSON_AddObjectToObject(rec, "event") : NULL;
    ok = ev != NULL
         && cJSON_AddStringToObject(ev, "type", h->event_type) != NULL;

    if (ok) {
        v = h->has_t ? cJSON_CreateNumber((double) h->t_ms / 1000.0)
                     : cJSON_CreateNull();

        ok = v != NULL && cJSON_AddItemToObject(ev, "t", v);
        if (!ok) {
            cJSON_Delete(v);
        }
    }

    ok = ok && cJSON_AddStringToObject(ev, "status", res->status) != NULL;

    return cxb_json_emit(out, rec, ok);
}


int
cxb_json_emit(cxb_buf_t *out, cJSON *j, int ok)
{
    char  *s;

    s = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);

    if (s == NULL) {
        return -1;
    }

    cxb_buf_adds(out, s);
    cJSON_free(s);

    return out->failed ? -1 : 0;
}


cJSON *
cxb_json_string_utf8(const char *s, size_t len)
{
    int                   n, i;
    char                 *z;
    cJSON                *v;
    size_t                k;
    cxb_buf_t             b;
    uint32_t              cp;
    const unsigned char  *u;

    cxb_buf_init(&b);
    u = (const unsigned char *) s;
    k = 0;

    if (cxb_buf_reserve(&b, len) != 0) {
        return NULL;
    }

    while (k < len) {
        if (u[k] != 0 && u[k] < 0x80) {
            size_t  run = k;

            while (run < len && u[run] != 0 && u[run] < 0x80) {
                run++;
            }

            cxb_buf_add(&b, s + k, run - k);
            k = run;
            continue;
        }

        n = 0;
        cp = 0;

        if (u[k] >= 0xc2 && u[k] <= 0xdf) {
            n = 1;
            cp = u[k] & 0x1f;

        } else if (u[k] >= 0xe0 && u[k] <= 0xef) {
            n = 2;
            cp = u[k] & 0x0f;

        } else if (u[k] >= 0xf0 && u[k] <= 0xf4) {
            n = 3;
            cp = u[k] & 0x07;
        }

        if (n == 0) {
            cxb_buf_adds(&b, "\xef\xbf\xbd");
            k++;
            continue;
        }

        for (i = 1; i <= n; i++) {
            if (k + i >= len || (u[k + i] & 0xc0) != 0x80) {
                break;
            }
            cp = (cp << 6) | (u[k + i] & 0x3f);
        }

        if (i <= n
            || (n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
            || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
        {
            cxb_buf_adds(&b, "\xef\xbf\xbd");
            k++;
            continue;
        }

        cxb_buf_add(&b, s + k, n + 1);
        k += n + 1;
    }

    z = cxb_buf_detach(&b, NULL);
    if (z == NULL) {
        return NULL;
    }

    v = cJSON_CreateString(z);
    free(z);

    return v;
}
