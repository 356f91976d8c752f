/*
 * The variable context of a result document (SPEC section 4).
 */

#include <math.h>
#include <stdint.h>
#if (defined __SSE2__)
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cxb_context.h"
#include "cxb_template.h"


#define CXB_LAZY_TRANSCRIPT  0
#define CXB_LAZY_SIP         1


typedef enum {
    CXB_T_STRING,
    CXB_T_OBJECT,
    CXB_T_ARRAY,
    CXB_T_BOOL,
    CXB_T_TIME
} cxb_field_type_e;


typedef struct {
    const char         *name;
    cxb_field_type_e    type;
} cxb_field_t;


static int cxb_ctx_validate(const cJSON *doc, cxb_buf_t *err);
static int cxb_check_fields(const cJSON *obj, const char *prefix,
    const cxb_field_t *fields, cxb_buf_t *err);
static int cxb_check_string_array(const cJSON *obj, const char *prefix,
    const char *name, cxb_buf_t *err);
static void cxb_add_ref(cJSON *to, const char *name, const cJSON *item,
    int *failed);
static void cxb_add_refs(cJSON *to, const cJSON *from, int *failed);
static void cxb_add_str(cJSON *to, const char *name, const char *s,
    int *failed);
static void cxb_add_strn(cJSON *to, const char *name, const char *s,
    size_t len, int *failed);
static void cxb_add_seed(cJSON *to, const char *name, int *failed);
static void cxb_add_time(cxb_ctx_t *ctx, cJSON *to, const char *name,
    int64_t ms, int *failed);
static cJSON *cxb_add_lazy(cxb_ctx_t *ctx, cJSON *to, const char *name,
    int which, const cJSON *src, int *failed);
static void cxb_ctx_call_ns(cxb_ctx_t *ctx, cJSON *root, int *failed);
static int cxb_ctx_result_ns(cxb_ctx_t *ctx, cJSON *root,
    const cxb_ctx_opts_t *o, int *failed);
static void cxb_ctx_analysis_ns(cxb_ctx_t *ctx, cJSON *root, int *failed);
static const char *cxb_auto_case(const cJSON *call);
static int cxb_materialize(cxb_ctx_t *ctx, int which);


static const cxb_field_t  cxb_call_fields[] = {
    { "call_id", CXB_T_STRING },
    { "status", CXB_T_STRING },
    { "direction", CXB_T_STRING },
    { "transport", CXB_T_STRING },
    { "phone_number", CXB_T_STRING },
    { "agent_name", CXB_T_STRING },
    { "disconnected_by", CXB_T_STRING },
    { "summary", CXB_T_STRING },
    { "recording_key", CXB_T_STRING },
    { "recording_access_token", CXB_T_STRING },
    { "recording_url", CXB_T_STRING },
    { "end_call_reason", CXB_T_STRING },
    { "custom_end_call_reason", CXB_T_STRING },
    { "external_webhook_url", CXB_T_STRING },
    { "start_time", CXB_T_TIME },
    { "answer_time", CXB_T_TIME },
    { "end_time", CXB_T_TIME },
    { "connected_event", CXB_T_OBJECT },
    { "sip_headers", CXB_T_OBJECT },
    { "crm_data", CXB_T_OBJECT },
    { "analysis", CXB_T_OBJECT },
    { "qc", CXB_T_OBJECT },
    { "data_capture", CXB_T_OBJECT },
    { "structured_output", CXB_T_OBJECT },
    { "trigger_data", CXB_T_OBJECT },
    { "transfer", CXB_T_OBJECT },
    { "collected_variables", CXB_T_OBJECT },
    { "transcript", CXB_T_ARRAY },
    { "skip_post_push", CXB_T_BOOL },
    { "voicemail_detected", CXB_T_BOOL },
    { "ivr_detected", CXB_T_BOOL },
    { NULL, CXB_T_STRING }
};


static const cxb_field_t  cxb_bot_fields[] = {
    { "bot_id", CXB_T_STRING },
    { "timezone", CXB_T_STRING },
    { "auto_disposition", CXB_T_OBJECT },
    { NULL, CXB_T_STRING }
};


static const char  *cxb_qc_seeds[] = {
    "empathy_score", "compliance_score", "overall_score", "remarks", NULL
};


int
cxb_ctx_build(cxb_ctx_t *ctx, const cJSON *doc, const cxb_ctx_opts_t *o,
    cxb_buf_t *err)
{
    int           failed, rc;
    cJSON        *root, *ns;
    const char   *tzname;
    const cJSON  *call, *bot;

    memset(ctx, 0, sizeof(cxb_ctx_t));
    ctx->start_ms = CXB_TIME_NONE;
    ctx->now_ms = o->now_ms;

    rc = cxb_ctx_validate(doc, err);
    if (rc != 0) {
        return rc;
    }

    call = cJSON_GetObjectItemCaseSensitive(doc, "call");
    bot = cJSON_GetObjectItemCaseSensitive(doc, "bot");

    if (!cJSON_IsObject(bot)) {
        bot = NULL;
    }

    ctx->doc = doc;
    ctx->call = call;
    ctx->bot = bot;
    ctx->call_id = cxb_json_str(call, "call_id");
    ctx->bot_id = cxb_json_str(bot, "bot_id");

    if (ctx->call_id == NULL) {
        ctx->call_id = "";
    }

    if (ctx->bot_id == NULL) {
        ctx->bot_id = "";
    }

    ctx->tz = NULL;
    tzname = cxb_json_str(bot, "timezone");

    if (tzname != NULL && tzname[0] != '\0') {
        ctx->tz = cxb_tz_get(tzname, strlen(tzname));
    }

    if (ctx->tz == NULL) {
        ctx->tz = cxb_tz_utc();
        tzname = "UTC";
    }

    if (cxb_json_time(call, "start_time", &ctx->start_ms) != 0) {
        ctx->start_ms = CXB_TIME_NONE;
    }

    root = cJSON_CreateObject();
    if (root == NULL) {
        return -2;
    }

    ctx->root = root;
    failed = 0;

    cxb_ctx_call_ns(ctx, root, &failed);

    ns = cJSON_AddObjectToObject(root, "crm");
    if (ns == NULL) {
        failed = 1;

    } else {
        cxb_add_refs(ns, cJSON_GetObjectItemCaseSensitive(call, "crm_data"),
                     &failed);
    }

    if (cxb_ctx_result_ns(ctx, root, o, &failed) != 0) {
        failed = 1;
    }

    cxb_ctx_analysis_ns(ctx, root, &failed);

    ns = cJSON_AddObjectToObject(root, "system");
    if (ns == NULL) {
        failed = 1;

    } else {
        cxb_add_str(ns, "call_id", ctx->call_id, &failed);
        cxb_add_str(ns, "bot_id", ctx->bot_id, &failed);
        cxb_add_str(ns, "timezone", tzname, &failed);
        cxb_add_time(ctx, ns, "now", o->now_ms, &failed);
        cxb_add_strn(ns, "public_base_url", o->public_base_url,
                     o->public_base_url_len, &failed);
    }

    ns = cJSON_AddObjectToObject(root, "call_info");
    if (ns == NULL) {
        failed = 1;

    } else {
        cxb_add_ref(ns, "call_log_id",
                    cJSON_GetObjectItemCaseSensitive(call, "call_id"),
                    &failed);
        cxb_add_ref(ns, "phone_number",
                    cJSON_GetObjectItemCaseSensitive(call, "phone_number"),
                    &failed);
        cxb_add_ref(ns, "agent_name",
                    cJSON_GetObjectItemCaseSensitive(call, "agent_name"),
                    &failed);
        cxb_add_ref(ns, "call_status",
                    cJSON_GetObjectItemCaseSensitive(call, "status"),
                    &failed);
        cxb_add_ref(ns, "call_type",
                    cJSON_GetObjectItemCaseSensitive(call, "direction"),
                    &failed);
    }

    cxb_add_ref(root, "call_summary",
                cJSON_GetObjectItemCaseSensitive(call, "summary"), &failed);
    cxb_add_ref(root, "data_capture",
                cJSON_GetObjectItemCaseSensitive(call, "data_capture"),
                &failed);
    cxb_add_ref(root, "structured_output",
                cJSON_GetObjectItemCaseSensitive(call, "structured_output"),
                &failed);
    cxb_add_ref(root, "call_trigger_data",
                cJSON_GetObjectItemCaseSensitive(call, "trigger_data"),
                &failed);

    if (failed) {
        cxb_ctx_free(ctx);
        return -2;
    }

    return 0;
}


static int
cxb_ctx_validate(const cJSON *doc, cxb_buf_t *err)
{
    const cJSON  *call, *bot;

    if (!cJSON_IsObject(doc)) {
        cxb_buf_adds(err, "the result document must be a JSON object");
        return -1;
    }

    call = cJSON_GetObjectItemCaseSensitive(doc, "call");

    if (call == NULL || cJSON_IsNull(call)) {
        cxb_buf_adds(err, "the result document has no \"call\" object");
        return -1;
    }

    if (!cJSON_IsObject(call)) {
        cxb_buf_adds(err, "\"call\" must be an object");
        return -1;
    }

    if (cxb_check_fields(call, "call", cxb_call_fields, err) != 0) {
        return -1;
    }

    bot = cJSON_GetObjectItemCaseSensitive(doc, "bot");

    if (bot == NULL || cJSON_IsNull(bot)) {
        return 0;
    }

    if (!cJSON_IsObject(bot)) {
        cxb_buf_adds(err, "\"bot\" must be an object");
        return -1;
    }

    if (cxb_check_fields(bot, "bot", cxb_bot_fields, err) != 0
        || cxb_check_string_array(bot, "bot", "analysis_keys", err) != 0
        || cxb_check_string_array(bot, "bot", "sip_header_variables", err)
           != 0)
    {
        return -1;
    }

    return 0;
}


static int
cxb_check_fields(const cJSON *obj, const char *prefix,
    const cxb_field_t *f, cxb_buf_t *err)
{
    int64_t       ms;
    const char   *what;
    const cJSON  *item;

    for ( /* void */ ; f->name; f++) {
        item = cJSON_GetObjectItemCaseSensitive(obj, f->name);

        if (item == NULL || cJSON_IsNull(item)) {
            continue;
        }

        switch (f->type) {

        case CXB_T_STRING:
            if (cJSON_IsString(item)) {
                continue;
            }
            what = "a string";
            break;

        case CXB_T_OBJECT:
            if (cJSON_IsObject(item)) {
                continue;
            }
            what = "an object";
            break;

        case CXB_T_ARRAY:
            /* a raw item is a transcript kept as (valid) JSON text */
            if (cJSON_IsArray(item) || cxb_doc_is_raw(item)) {
                continue;
            }
            what = "an array";
            break;

        case CXB_T_BOOL:
            if (cJSON_IsBool(item)) {
                continue;
            }
            what = "a boolean";
            break;

        default: /* CXB_T_TIME */
            if (cxb_json_time(obj, f->name, &ms) == 0) {
                continue;
            }
            what = "an ISO 8601 time string or epoch seconds";
            break;
        }

        cxb_buf_printf(err, "\"%s.%s\" must be %s", prefix, f->name, what);
        return -1;
    }

    return 0;
}


static int
cxb_check_string_array(const cJSON *obj, const char *prefix,
    const char *name, cxb_buf_t *err)
{
    const cJSON  *a, *e;

    a = cJSON_GetObjectItemCaseSensitive(obj, name);

    if (a == NULL || cJSON_IsNull(a)) {
        return 0;
    }

    if (cJSON_IsArray(a)) {
        cJSON_ArrayForEach(e, a) {
            if (!cJSON_IsString(e)) {
                goto bad;
            }
        }

        return 0;
    }

bad:

    cxb_buf_printf(err, "\"%s.%s\" must be an array of strings", prefix, name);
    return -1;
}


const char *
cxb_json_str(const cJSON *obj, const char *name)
{
    const cJSON  *item;

    if (obj == NULL) {
        return NULL;
    }

    item = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsString(item) ? item->valuestring : NULL;
}


int
cxb_json_time(const cJSON *obj, const char *name, int64_t *ms)
{
    double        d;
    const cJSON  *item;

    item = obj ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;

    if (item == NULL || cJSON_IsNull(item)) {
        return 1;
    }

    if (cJSON_IsString(item)) {
        return cxb_time_parse_iso(item->valuestring,
                                  strlen(item->valuestring), ms);
    }

    if (cJSON_IsNumber(item)) {
        d = item->valuedouble;

        /* years 0..9999 */
        if (!isfinite(d) || d < -62167219200.0 || d > 253402300799.0) {
            return -1;
        }

        *ms = (int64_t) floor(d * 1000.0 + 0.5);
        return 0;
    }

    return -1;
}


static void
cxb_add_ref(cJSON *to, const char *name, const cJSON *item, int *failed)
{
    if (item == NULL || cJSON_IsNull(item)) {
        return;
    }

    if (!cJSON_AddItemReferenceToObject(to, name, (cJSON *) item)) {
        *failed = 1;
    }
}


static void
cxb_add_refs(cJSON *to, const cJSON *from, int *failed)
{
    const cJSON  *item;

    if (!cJSON_IsObject(from)) {
        return;
    }

    cJSON_ArrayForEach(item, from) {
        cxb_add_ref(to, item->string, item, failed);
    }
}


static void
cxb_add_str(cJSON *to, const char *name, const char *s, int *failed)
{
    if (cJSON_AddStringToObject(to, name, s ? s : "") == NULL) {
        *failed = 1;
    }
}


static void
cxb_add_strn(cJSON *to, const char *name, const char *s, size_t len,
    int *failed)
{
    char  *p;

    p = malloc(len + 1);
    if (p == NULL) {
        *failed = 1;
        return;
    }

    if (len) {
        memcpy(p, s, len);
    }

    p[len] = '\0';
    cxb_add_str(to, name, p, failed);
    free(p);
}


static void
cxb_add_seed(cJSON *to, const char *name, int *failed)
{
    if (cJSON_GetObjectItemCaseSensitive(to, name) == NULL) {
        cxb_add_str(to, name, "", failed);
    }
}


static void
cxb_add_time(cxb_ctx_t *ctx, cJSON *to, const char *name, int64_t ms,
    int *failed)
{
    char     buf[40];
    int64_t  sec;

    if (ms == CXB_TIME_NONE) {
        cxb_add_str(to, name, "", failed);
        return;
    }

    sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    cxb_time_format(buf, sec, ctx->tz);
    cxb_add_str(to, name, buf, failed);
}


static cJSON *
cxb_add_lazy(cxb_ctx_t *ctx, cJSON *to, const char *name, int which,
    const cJSON *src, int *failed)
{
    cJSON  *item;

    item = cJSON_CreateNull();
    if (item == NULL || !cJSON_AddItemToObject(to, name, item)) {
        cJSON_Delete(item);
        *failed = 1;
        return NULL;
    }

    /* a raw item without text marks a value rendered on first lookup */
    item->type = cJSON_Raw;
    item->valuestring = NULL;

    ctx->lazy_item[which] = item;
    ctx->lazy_parent[which] = to;
    ctx->lazy_src[which] = src;

    return item;
}


static void
cxb_ctx_call_ns(cxb_ctx_t *ctx, cJSON *root, int *failed)
{
    size_t        n;
    cJSON        *ns;
    const char   *name;
    const cJSON  *sip, *vars, *v, *h;

    ns = cJSON_AddObjectToObject(root, "call");
    if (ns == NULL) {
        *failed = 1;
        return;
    }

    cxb_add_refs(ns, cJSON_GetObjectItemCaseSensitive(ctx->call,
                                                      "connected_event"),
                 failed);

    sip = cJSON_GetObjectItemCaseSensitive(ctx->call, "sip_headers");
    if (!cJSON_IsObject(sip)) {
        sip = NULL;
    }

    vars = ctx->bot ? cJSON_GetObjectItemCaseSensitive(ctx->bot,
                                                       "sip_header_variables")
                    : NULL;

    if (sip && cJSON_IsArray(vars)) {
        cJSON_ArrayForEach(v, vars) {
            name = v->valuestring;
            n = strlen(name);

            cJSON_ArrayForEach(h, sip) {
                if (strlen(h->string) == n
                    && strncasecmp(h->string, name, n) == 0)
                {
                    cxb_add_ref(ns, name, h, failed);
                    break;
                }
            }
        }

    } else if (sip) {
        cJSON_ArrayForEach(h, sip) {
            if (strncasecmp(h->string, "X-", 2) == 0) {
                cxb_add_ref(ns, h->string, h, failed);
            }
        }
    }

    cxb_add_lazy(ctx, ns, "sip_headers_json", CXB_LAZY_SIP, sip, failed);
}


static int
cxb_ctx_result_ns(cxb_ctx_t *ctx, cJSON *root, const cxb_ctx_opts_t *o,
    int *failed)
{
    int           rc;
    int64_t       start, answer, end, base;
    cJSON        *ns;
    cxb_buf_t     url;
    const char   *s, *key, *token, *ref, *fr;
    const cJSON  *call, *tr, *item;

    static const char  *tr_fields[][2] = {
        { "destination", "transfer_destination" },
        { "target", "transfer_target" },
        { "reason", "transfer_reason" },
        { "method", "transfer_method" },
        { "at", "transfer_at" },
        { NULL, NULL }
    };

    call = ctx->call;

    ns = cJSON_AddObjectToObject(root, "result");
    if (ns == NULL) {
        return -1;
    }

    cxb_add_str(ns, "call_id", ctx->call_id, failed);

    /* recording URL: SPEC section 7 */

    cxb_buf_init(&url);

    key = cxb_json_str(call, "recording_key");
    token = cxb_json_str(call, "recording_access_token");
    ref = cxb_json_str(call, "recording_url");

    if (key && key[0] == '\0') {
        key = NULL;
    }

    if (token && token[0] == '\0') {
        token = NULL;
    }

    if (ref && ref[0] == '\0') {
        ref = NULL;
    }

    rc = -1;

    if (key && o->public_base_url_len && (token || o->seal_token)) {

        /* the base without trailing slashes */
        s = o->public_base_url + o->public_base_url_len;
        while (s > o->public_base_url && s[-1] == '/') {
            s--;
        }

        cxb_buf_add(&url, o->public_base_url,
                    (size_t) (s - o->public_base_url));
        cxb_buf_adds(&url, "/api/v1/public/recordings/");

        if (token) {
            cxb_tpl_percent_encode(&url, token, strlen(token));
            rc = 0;

        } else {
            rc = o->seal_token(o->recording_data, &url, key);
        }
    }

    if (rc != 0 && ref && o->presign) {
        cxb_buf_reset(&url);
        rc = o->presign(o->recording_data, &url, ref);
    }

    if (rc != 0) {
        cxb_buf_reset(&url);

        if (ref) {
            cxb_buf_adds(&url, ref);
        }
    }

    if (url.failed) {
        cxb_buf_free(&url);
        return -1;
    }

    cxb_add_strn(ns, "recording_url", url.data, url.len, failed);
    cxb_buf_free(&url);

    /* times and duration */

    start = ctx->start_ms;

    if (cxb_json_time(call, "answer_time", &answer) != 0) {
        answer = CXB_TIME_NONE;
    }

    if (cxb_json_time(call, "end_time", &end) != 0) {
        end = CXB_TIME_NONE;
    }

    s = cxb_json_str(call, "transport");
    if (s && strcasecmp(s, "websocket") == 0) {
        answer = start;
    }

    base = answer != CXB_TIME_NONE ? answer : start;

    if (end != CXB_TIME_NONE && base != CXB_TIME_NONE) {
        item = cJSON_CreateNumber(end > base ? (double) ((end - base) / 1000)
                                             : 0.0);
        if (item == NULL || !cJSON_AddItemToObject(ns, "call_duration_seconds",
                                                   (cJSON *) item))
        {
            cJSON_Delete((cJSON *) item);
            *failed = 1;
        }

    } else {
        cxb_add_str(ns, "call_duration_seconds", "", failed);
    }

    s = cxb_json_str(call, "disconnected_by");
    cxb_add_str(ns, "disconnected_by", s, failed);

    if (s && (strcmp(s, "customer") == 0 || strcmp(s, "bot") == 0
              || strcmp(s, "timeout") == 0))
    {
        s = "Connected";

    } else if (s && strcmp(s, "error") == 0) {
        s = "Failed";

    } else {
        s = "Unknown";
    }

    cxb_add_str(ns, "disposition", s, failed);
    cxb_add_time(ctx, ns, "call_start_time", start, failed);
    cxb_add_time(ctx, ns, "call_end_time", end, failed);
    cxb_add_time(ctx, ns, "call_answer_time", answer, failed);

    cxb_add_lazy(ctx, ns, "transcript", CXB_LAZY_TRANSCRIPT, NULL, failed);

    /* transfer */

    tr = cJSON_GetObjectItemCaseSensitive(call, "transfer");
    if (!cJSON_IsObject(tr)) {
        tr = NULL;
    }

    fr = NULL;

    if (tr) {
        item = cJSON_GetObjectItemCaseSensitive(tr, "failed_reason");
        if (cJSON_IsString(item) && item->valuestring[0] != '\0') {
            fr = item->valuestring;
        }
    }

    cxb_add_str(ns, "was_transferred", (tr && fr == NULL) ? "yes" : "no",
                failed);

    for (size_t i = 0; tr_fields[i][0]; i++) {
        item = tr ? cJSON_GetObjectItemCaseSensitive(tr, tr_fields[i][0])
                  : NULL;

        if (item == NULL || cJSON_IsNull(item)) {
            cxb_add_str(ns, tr_fields[i][1], "", failed);

        } else {
            cxb_add_ref(ns, tr_fields[i][1], item, failed);
        }
    }

    cxb_add_str(ns, "transfer_failed_reason", fr, failed);

    return 0;
}


static void
cxb_ctx_analysis_ns(cxb_ctx_t *ctx, cJSON *root, int *failed)
{
    cJSON        *ns;
    const char   *c, **seed;
    const cJSON  *an, *keys, *k, *ad;

    ns = cJSON_AddObjectToObject(root, "analysis");
    if (ns == NULL) {
        *failed = 1;
        return;
    }

    an = cJSON_GetObjectItemCaseSensitive(ctx->call, "analysis");

    if (cJSON_IsObject(an)) {
        cxb_add_refs(ns, an, failed);

    } else if (ctx->bot) {
        c = cxb_auto_case(ctx->call);
        ad = cJSON_GetObjectItemCaseSensitive(ctx->bot, "auto_disposition");

        if (c && cJSON_IsObject(ad)) {
            cxb_add_refs(ns, cJSON_GetObjectItemCaseSensitive(ad, c), failed);
        }
    }

    cxb_add_seed(ns, "DISPOSITION", failed);
    cxb_add_seed(ns, "SUB_DISPOSITION", failed);

    keys = ctx->bot ? cJSON_GetObjectItemCaseSensitive(ctx->bot,
                                                       "analysis_keys")
                    : NULL;

    if (cJSON_IsArray(keys)) {
        cJSON_ArrayForEach(k, keys) {
            cxb_add_seed(ns, k->valuestring, failed);
        }
    }

    ns = cJSON_AddObjectToObject(root, "qc");
    if (ns == NULL) {
        *failed = 1;
        return;
    }

    cxb_add_refs(ns, cJSON_GetObjectItemCaseSensitive(ctx->call, "qc"),
                 failed);

    for (seed = cxb_qc_seeds; *seed; seed++) {
        cxb_add_seed(ns, *seed, failed);
    }
}


static const char *
cxb_auto_case(const cJSON *call)
{
    const char   *s;
    const cJSON  *tr, *turn;

    s = cxb_json_str(call, "status");

    if (s && (strcmp(s, "no_answer") == 0 || strcmp(s, "busy") == 0
              || strcmp(s, "rnr") == 0))
    {
        return "RNR";
    }

    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(call,
                                                      "voicemail_detected")))
    {
        return "VOICEMAIL";
    }

    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(call, "ivr_detected"))) {
        return "IVR";
    }

    s = cxb_json_str(call, "disconnected_by");

    if (s && strcmp(s, "timeout") == 0) {
        return "TIMEOUT";
    }

    if (s && strcmp(s, "error") == 0) {
        return "SYSTEM_ERROR";
    }

    tr = cxb_doc_transcript(call);

    if (cJSON_IsArray(tr)) {
        cJSON_ArrayForEach(turn, tr) {
            s = cxb_json_str(turn, "role");

            if (s && (strcmp(s, "customer") == 0 || strcmp(s, "user") == 0)) {
                return NULL;
            }
        }
    }

    return "NO_CUSTOMER_MESSAGE";
}


const cJSON *
cxb_ctx_lookup(void *data, const char *path, size_t len)
{
    cxb_ctx_t     *ctx = data;
    const cJSON   *item;

    item = cxb_json_path(ctx->root, path, len);

    if (item != NULL
        && (item == ctx->root || item == ctx->lazy_parent[CXB_LAZY_SIP]
            || item == ctx->lazy_parent[CXB_LAZY_TRANSCRIPT]))
    {
        /* a whole namespace: its lazy values are needed too */
        return cxb_ctx_materialize(ctx) == 0 ? item : NULL;
    }

    if (item && item->type == cJSON_Raw && item->valuestring == NULL) {

        if (cxb_materialize(ctx,
                item == ctx->lazy_item[CXB_LAZY_SIP] ? CXB_LAZY_SIP
                                                     : CXB_LAZY_TRANSCRIPT)
            != 0)
        {
            return NULL;
        }
    }

    return item;
}


static int
cxb_materialize(cxb_ctx_t *ctx, int which)
{
    char          *s;
    cJSON         *item;
    const cJSON   *src;

    item = ctx->lazy_item[which];

    if (item == NULL || item->valuestring != NULL) {
        return 0;
    }

    src = (which == CXB_LAZY_TRANSCRIPT) ? cxb_doc_transcript(ctx->call)
                                         : ctx->lazy_src[which];

    if (src == NULL || cJSON_IsNull(src)) {
        s = malloc(sizeof(which == CXB_LAZY_SIP ? "{}" : "[]"));
        if (s) {
            strcpy(s, which == CXB_LAZY_SIP ? "{}" : "[]");
        }

    } else {
        s = cJSON_PrintUnformatted(src);
    }

    if (s == NULL) {
        return -1;
    }

    item->valuestring = s;
    item->type = cJSON_String;

    return 0;
}


int
cxb_ctx_materialize(cxb_ctx_t *ctx)
{
    if (cxb_materialize(ctx, CXB_LAZY_TRANSCRIPT) != 0
        || cxb_materialize(ctx, CXB_LAZY_SIP) != 0)
    {
        return -1;
    }

    return 0;
}


void
cxb_ctx_free(cxb_ctx_t *ctx)
{
    cJSON_Delete(ctx->root);
    ctx->root = NULL;
}


/*
 * The result document parser.
 *
 * The transcript is most of a result document's bytes and most of its
 * JSON nodes, yet few pushes use it.  So the document is scanned once
 * (nesting depth, and the byte range of call.transcript, which is checked
 * to be valid JSON on the way), the rest is parsed by cJSON, and the
 * transcript is kept as a raw item (valid JSON text) that
 * cxb_doc_transcript() parses on first use.
 */

#define CXB_ONES    0x0101010101010101ULL
#define CXB_HIGHS   0x8080808080808080ULL

/* whether any of 8 bytes is '"', '\\' or a control byte (< 0x20) */
#define cxb_special8(v)                                                       \
    (((((v) ^ (CXB_ONES * '"')) - CXB_ONES) & ~((v) ^ (CXB_ONES * '"'))       \
      & CXB_HIGHS)                                                            \
     | ((((v) ^ (CXB_ONES * '\\')) - CXB_ONES) & ~((v) ^ (CXB_ONES * '\\'))    \
        & CXB_HIGHS)                                                          \
     | (((v) - CXB_ONES * 0x20) & ~(v) & CXB_HIGHS))

#define cxb_skip_ws(p, end)                                                   \
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) { \
        p++;                                                                  \
    }


/* skips string bytes that need no look, 16 or 8 at a time */

static inline const char *
cxb_skip_plain(const char *p, const char *end)
{
    uint64_t  v;

#if (defined __SSE2__)
    __m128i   x, quote, bslash, space;

    quote = _mm_set1_epi8('"');
    bslash = _mm_set1_epi8('\\');
    space = _mm_set1_epi8(0x20);

    while (end - p >= 16) {
        x = _mm_loadu_si128((const __m128i *) p);

        /* min(x, 0x20) == x: bytes below or at 0x20, space included */

        if (_mm_movemask_epi8(_mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(x, quote),
                             _mm_cmpeq_epi8(x, bslash)),
                _mm_andnot_si128(_mm_cmpeq_epi8(x, space),
                                 _mm_cmpeq_epi8(_mm_min_epu8(x, space), x))))
            != 0)
        {
            break;
        }

        p += 16;
    }
#endif

    while (end - p >= 8) {
        memcpy(&v, p, 8);

        if (cxb_special8(v)) {
            break;
        }

        p += 8;
    }

    while (p < end && *p != '"' && *p != '\\' && (unsigned char) *p >= 0x20) {
        p++;
    }

    return p;
}


static int
cxb_hex4(const char *p, unsigned *v)
{
    int  i;

    *v = 0;

    for (i = 0; i < 4; i++) {
        *v <<= 4;

        if (p[i] >= '0' && p[i] <= '9') {
            *v |= (unsigned) (p[i] - '0');

        } else if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f') {
            *v |= (unsigned) ((p[i] | 0x20) - 'a' + 10);

        } else {
            return -1;
        }
    }

    return 0;
}


/*
 * A strict JSON string at p (the opening quote): escapes, surrogate pairs,
 * no raw control bytes.  Returns what follows it, or NULL.
 */

static const char *
cxb_valid_string(const char *p, const char *end)
{
    unsigned  u, l;

    p++;

    for ( ;; ) {
        p = cxb_skip_plain(p, end);

        if (p == end || (unsigned char) *p < 0x20) {
            return NULL;
        }

        if (*p == '"') {
            return p + 1;
        }

        /* a backslash */

        if (end - p < 2) {
            return NULL;
        }

        switch (p[1]) {

        case '"': case '\\': case '/': case 'b': case 'f': case 'n':
        case 'r': case 't':
            p += 2;
            break;

        case 'u':
            if (end - p < 6 || cxb_hex4(p + 2, &u) != 0
                || (u >= 0xdc00 && u <= 0xdfff))
            {
                return NULL;
            }

            p += 6;

            if (u >= 0xd800 && u <= 0xdbff) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u'
                    || cxb_hex4(p + 2, &l) != 0 || l < 0xdc00 || l > 0xdfff)
                {
                    return NULL;
                }

                p += 6;
            }

            break;

        default:
            return NULL;
        }
    }
}


/* a strict JSON number or literal at p; what follows it, or NULL */

static const char *
cxb_valid_scalar(const char *p, const char *end)
{
    if (*p == 't') {
        return (end - p >= 4 && memcmp(p, "true", 4) == 0) ? p + 4 : NULL;
    }

    if (*p == 'f') {
        return (end - p >= 5 && memcmp(p, "false", 5) == 0) ? p + 5 : NULL;
    }

    if (*p == 'n') {
        return (end - p >= 4 && memcmp(p, "null", 4) == 0) ? p + 4 : NULL;
    }

    if (*p == '-') {
        p++;
    }

    if (p < end && *p == '0') {
        p++;

    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }

    } else {
        return NULL;
    }

    if (p < end && *p == '.') {
        p++;

        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    return p;
}


/*
 * A strict JSON array or object at p, nested at most CXB_DOC_MAX_DEPTH
 * levels counting the depth it starts at.  Returns what follows it, or
 * NULL (*deep is set when it nests too deep).
 */

static const char *
cxb_valid_container(const char *p, const char *end, size_t depth, int *deep)
{
    char    stack[CXB_DOC_MAX_DEPTH + 1];
    size_t  d;

    d = 0;

    /* p is at '[' or '{' */

open:

    if (depth + d + 1 > CXB_DOC_MAX_DEPTH) {
        *deep = 1;
        return NULL;
    }

    stack[++d] = (*p == '[') ? ']' : '}';
    p++;
    cxb_skip_ws(p, end);

    if (p < end && *p == stack[d]) {
        p++;
        goto close;
    }

member:

    if (stack[d] == '}') {
        if (p == end || *p != '"') {
            return NULL;
        }

        p = cxb_valid_string(p, end);
        if (p == NULL) {
            return NULL;
        }

        cxb_skip_ws(p, end);

        if (p == end || *p != ':') {
            return NULL;
        }

        p++;
        cxb_skip_ws(p, end);
    }

    if (p == end) {
        return NULL;
    }

    if (*p == '[' || *p == '{') {
        goto open;
    }

    p = (*p == '"') ? cxb_valid_string(p, end) : cxb_valid_scalar(p, end);
    if (p == NULL) {
        return NULL;
    }

next:

    cxb_skip_ws(p, end);

    if (p == end) {
        return NULL;
    }

    if (*p == ',') {
        p++;
        cxb_skip_ws(p, end);
        goto member;
    }

    if (*p != stack[d]) {
        return NULL;
    }

    p++;

close:

    if (--d == 0) {
        return p;
    }

    goto next;
}


/*
 * One pass over the document: the nesting depth, and where the value of
 * call.transcript is when it is an array (vs..ve; found is 0 otherwise,
 * or when that array is not valid JSON: cJSON then reports the error).
 * Returns -1 when the document nests too deep.
 */

static int
cxb_doc_scan(const char *s, size_t len, const char **vs, const char **ve)
{
    int          in_call, call_seen, tr_seen;
    char         stack[CXB_DOC_MAX_DEPTH + 1];
    char         key_expected[CXB_DOC_MAX_DEPTH + 1];
    size_t       depth, klen;
    int          deep;
    const char  *p, *q, *end, *k;

    p = s;
    end = s + len;
    depth = 0;
    in_call = 0;
    call_seen = 0;
    tr_seen = 0;
    *vs = NULL;
    *ve = NULL;

    while (p < end) {

        switch (*p) {

        case '"':

            /* a loose skip: cJSON validates all but the transcript */

            k = ++p;

            for ( ;; ) {
                p = cxb_skip_plain(p, end);

                if (p >= end || *p == '"') {
                    break;
                }

                p += (*p == '\\') ? 2 : 1;
            }

            if (p >= end) {
                return 0;
            }

            klen = (size_t) (p - k);
            p++;

            if (depth == 0 || stack[depth] != '{' || !key_expected[depth]) {
                break;
            }

            key_expected[depth] = 0;

            if (depth == 1) {
                /* only the first "call" counts, as for cJSON's lookups */
                in_call = !call_seen && klen == 4 && memcmp(k, "call", 4) == 0;
                call_seen |= in_call;
                break;
            }

            if (depth != 2 || !in_call || tr_seen
                || klen != 10 || memcmp(k, "transcript", 10) != 0)
            {
                break;
            }

            tr_seen = 1;

            q = p;
            cxb_skip_ws(q, end);

            if (q == end || *q != ':') {
                break;
            }

            q++;
            cxb_skip_ws(q, end);

            if (q == end || *q != '[') {
                break;
            }

            deep = 0;
            k = cxb_valid_container(q, end, depth, &deep);

            if (k == NULL) {
                if (deep) {
                    return -1;
                }

                /* invalid: cJSON will say where */
                break;
            }

            *vs = q;
            *ve = k;
            p = k;
            break;

        case '{':
        case '[':
            if (++depth > CXB_DOC_MAX_DEPTH) {
                return -1;
            }

            stack[depth] = *p;
            key_expected[depth] = (*p == '{');

            if (depth == 2 && (stack[1] != '{' || *p != '{')) {
                in_call = 0;
            }

            p++;
            break;

        case '}':
        case ']':
            if (depth) {
                if (depth == 2) {
                    in_call = 0;
                }

                depth--;
            }

            p++;
            break;

        case ',':
            if (depth && stack[depth] == '{') {
                key_expected[depth] = 1;
            }

            p++;
            break;

        default:
            p++;
            break;
        }
    }

    return 0;
}


cJSON *
cxb_doc_parse(const char *s, size_t len, cxb_buf_t *err)
{
    cJSON        *doc, *call, *item;
    size_t        i, skipped;
    cxb_buf_t     b;
    const char   *end, *vs, *ve, *in;

    for (i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
            break;
        }
    }

    if (i == len) {
        cxb_buf_adds(err, "empty body: a JSON result document is expected");
        return NULL;
    }

    if (cxb_doc_scan(s, len, &vs, &ve) != 0) {
        cxb_buf_printf(err, "the JSON document is nested deeper than %d "
                       "levels", CXB_DOC_MAX_DEPTH);
        return NULL;
    }

    /* parse the document with "[]" in place of the transcript */

    cxb_buf_init(&b);
    in = s;
    skipped = 0;

    if (vs != NULL) {
        cxb_buf_add(&b, s, (size_t) (vs - s));
        cxb_buf_add(&b, "[]", 2);
        cxb_buf_add(&b, ve, (size_t) (s + len - ve));

        if (b.failed) {
            cxb_buf_free(&b);
            return NULL;
        }

        in = b.data;
        skipped = (size_t) (ve - vs) - 2;
        len -= skipped;
    }

    doc = cJSON_ParseWithLengthOpts(in, len, &end, 0);

    if (doc == NULL) {
        end = cJSON_GetErrorPtr();

        if (end >= in && end <= in + len) {
            i = (size_t) (end - in);

            if (vs != NULL && i >= (size_t) (vs - s) + 2) {
                i += skipped;
            }

            cxb_buf_printf(err, "the body is not valid JSON (error near "
                           "byte %zu)", i);

        } else {
            cxb_buf_adds(err, "the body is not valid JSON");
        }

        cxb_buf_free(&b);
        return NULL;
    }

    for ( /* void */ ; end < in + len; end++) {
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            i = (size_t) (end - in);

            if (vs != NULL && i >= (size_t) (vs - s) + 2) {
                i += skipped;
            }

            cJSON_Delete(doc);
            cxb_buf_free(&b);
            cxb_buf_printf(err, "the body is not valid JSON (trailing data "
                           "at byte %zu)", i);
            return NULL;
        }
    }

    cxb_buf_free(&b);

    if (vs == NULL) {
        return doc;
    }

    /* keep the transcript's text as a raw item, parsed on first use */

    call = cJSON_GetObjectItemCaseSensitive(doc, "call");
    item = cJSON_GetObjectItemCaseSensitive(call, "transcript");

    if (!cJSON_IsArray(item) || item->child != NULL) {
        /* not the value scanned (a duplicate key): parse it all instead */
        cJSON_Delete(doc);
        return cJSON_ParseWithLength(s, len + skipped);
    }

    /*
     * The raw item refers to the caller's bytes (a reference: cJSON never
     * frees them); its length is in valueint.
     */

    item->type = cJSON_Raw | cJSON_IsReference;
    item->valuestring = (char *) vs;
    item->valueint = (int) (ve - vs);

    return doc;
}


int
cxb_doc_is_raw(const cJSON *item)
{
    return item != NULL && (item->type & 0xff) == cJSON_Raw
           && item->valuestring != NULL;
}


const cJSON *
cxb_doc_transcript(const cJSON *call)
{
    cJSON  *item, *parsed;

    item = cJSON_GetObjectItemCaseSensitive(call, "transcript");

    if (!cxb_doc_is_raw(item)) {
        return item;
    }

    parsed = cJSON_ParseWithLength(item->valuestring,
                                   (size_t) item->valueint);
    if (parsed == NULL) {
        return NULL;
    }

    /* swap the raw text for the tree, which the document then owns */

    item->valuestring = NULL;
    item->valueint = 0;
    item->type = parsed->type;
    item->child = parsed->child;
    parsed->child = NULL;
    cJSON_Delete(parsed);

    return item;
}
