/*
 * cxb_entry: spool entries and the retry schedule (see cxb_entry.h).
 */

#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cxb_context.h"
#include "cxb_entry.h"


#define CXB_ENTRY_VERSION  1


static int cxb_entry_num(const cJSON *o, const char *name, int64_t *v);


int
cxb_entry_write(cxb_buf_t *out, const cxb_call_t *c, const cxb_push_t *p,
    int attempts, int64_t next_ms, int64_t created_ms, unsigned conf)
{
    int      ok;
    size_t   i;
    cJSON   *e, *hs, *h, *v;

    e = cJSON_CreateObject();
    if (e == NULL) {
        return -1;
    }

    ok = cJSON_AddNumberToObject(e, "v", CXB_ENTRY_VERSION) != NULL
         && cJSON_AddStringToObject(e, "id", p->id) != NULL
         && cJSON_AddStringToObject(e, "call_id", c->call_id) != NULL
         && cJSON_AddStringToObject(e, "bot_id", c->bot_id) != NULL
         && cJSON_AddStringToObject(e, "integration", p->integration) != NULL
         && cJSON_AddStringToObject(e, "event_type", p->event_type) != NULL
         && cJSON_AddNumberToObject(e, "conf", conf) != NULL
         && cJSON_AddNumberToObject(e, "attempts", attempts) != NULL
         && cJSON_AddNumberToObject(e, "next_ms", (double) next_ms) != NULL
         && cJSON_AddNumberToObject(e, "created_ms", (double) created_ms)
            != NULL
         && cJSON_AddStringToObject(e, "method", p->method) != NULL
         && cJSON_AddStringToObject(e, "url", p->url) != NULL;

    if (ok) {
        v = c->start_ms != CXB_TIME_NONE
            ? cJSON_CreateNumber((double) c->start_ms) : cJSON_CreateNull();
        ok = v != NULL && cJSON_AddItemToObject(e, "start_ms", v);
        if (!ok) {
            cJSON_Delete(v);
        }
    }

    hs = ok ? cJSON_AddArrayToObject(e, "headers") : NULL;
    ok = hs != NULL;

    for (i = 0; ok && i < p->nheaders; i++) {
        h = cJSON_CreateArray();
        ok = h != NULL && cJSON_AddItemToArray(hs, h);

        if (!ok) {
            cJSON_Delete(h);
            break;
        }

        ok = (v = cJSON_CreateString(p->headers[i].name)) != NULL
             && cJSON_AddItemToArray(h, v)
             && (v = cJSON_CreateString(p->headers[i].value)) != NULL
             && cJSON_AddItemToArray(h, v);
    }

    if (ok) {
        v = p->body ? cJSON_CreateString(p->body) : cJSON_CreateNull();
        ok = v != NULL && cJSON_AddItemToObject(e, "body", v);
        if (!ok) {
            cJSON_Delete(v);
        }
    }

    return cxb_json_emit(out, e, ok);
}


static int
cxb_entry_num(const cJSON *o, const char *name, int64_t *v)
{
    const cJSON  *n;

    n = cJSON_GetObjectItemCaseSensitive(o, name);

    if (!cJSON_IsNumber(n) || n->valuedouble < -9.2e18
        || n->valuedouble > 9.2e18)
    {
        return -1;
    }

    *v = (int64_t) n->valuedouble;

    return 0;
}


#define cxb_entry_str(o, name)                                               \
    (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, name))               \
     ? cJSON_GetObjectItemCaseSensitive(o, name)->valuestring : NULL)


int
cxb_entry_read(cxb_entry_t *e, const char *text, size_t len,
    const char **err)
{
    size_t        i, n;
    int64_t       ver, attempts, conf;
    cJSON        *d, *hs, *h, *name, *value, *body, *start;
    const char   *id;

    memset(e, 0, sizeof(cxb_entry_t));

    d = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(d)) {
        cJSON_Delete(d);
        *err = "not a JSON object";
        return -1;
    }

    e->doc = d;

    if (cxb_entry_num(d, "v", &ver) != 0 || ver != CXB_ENTRY_VERSION) {
        *err = "unknown entry version";
        goto bad;
    }

    id = cxb_entry_str(d, "id");
    e->call.call_id = cxb_entry_str(d, "call_id");
    e->call.bot_id = cxb_entry_str(d, "bot_id");
    e->push.integration = cxb_entry_str(d, "integration");
    e->push.event_type = cxb_entry_str(d, "event_type");
    e->push.method = cxb_entry_str(d, "method");
    e->push.url = cxb_entry_str(d, "url");

    if (id == NULL || strlen(id) >= sizeof(e->push.id)
        || e->call.call_id == NULL || e->call.bot_id == NULL
        || e->push.integration == NULL || e->push.event_type == NULL
        || e->push.method == NULL || e->push.url == NULL)
    {
        *err = "a field is missing or not a string";
        goto bad;
    }

    strcpy(e->push.id, id);

    if (cxb_entry_num(d, "attempts", &attempts) != 0 || attempts < 0
        || attempts > 1000
        || cxb_entry_num(d, "conf", &conf) != 0 || conf < 0
        || conf > 65535
        || cxb_entry_num(d, "next_ms", &e->next_ms) != 0
        || cxb_entry_num(d, "created_ms", &e->created_ms) != 0)
    {
        *err = "a number is missing or out of range";
        goto bad;
    }

    e->attempts = (int) attempts;
    e->conf = (unsigned) conf;

    start = cJSON_GetObjectItemCaseSensitive(d, "start_ms");
    if (cJSON_IsNumber(start)) {
        cxb_entry_num(d, "start_ms", &e->call.start_ms);

    } else {
        e->call.start_ms = CXB_TIME_NONE;
    }

    hs = cJSON_GetObjectItemCaseSensitive(d, "headers");
    if (!cJSON_IsArray(hs)) {
        *err = "no headers";
        goto bad;
    }

    n = (size_t) cJSON_GetArraySize(hs);

    if (n) {
        e->push.headers = calloc(n, sizeof(cxb_header_t));
        if (e->push.headers == NULL) {
            *err = "out of memory";
            goto bad;
        }
    }

    i = 0;

    cJSON_ArrayForEach(h, hs) {
        name = cJSON_GetArrayItem(h, 0);
        value = cJSON_GetArrayItem(h, 1);

        if (!cJSON_IsString(name) || !cJSON_IsString(value)) {
            *err = "a header is not a [name, value] pair";
            goto bad;
        }

        e->push.headers[i].name = name->valuestring;
        e->push.headers[i].value = value->valuestring;
        i++;
    }

    e->push.nheaders = i;

    body = cJSON_GetObjectItemCaseSensitive(d, "body");

    if (cJSON_IsString(body)) {
        e->push.body = body->valuestring;
        e->push.body_len = strlen(body->valuestring);

    } else if (!cJSON_IsNull(body)) {
        *err = "the body is neither a string nor null";
        goto bad;
    }

    e->push.state = CXB_PUSH_READY;

    return 0;

bad:

    cxb_entry_free(e);
    return -1;
}


void
cxb_entry_free(cxb_entry_t *e)
{
    free(e->push.headers);
    free(e->signed_ts);
    free(e->signed_sig);
    cJSON_Delete(e->doc);
    memset(e, 0, sizeof(cxb_entry_t));
}


int
cxb_entry_resign(cxb_entry_t *e, const cxb_sign_key_t *keys, size_t n,
    int64_t now_s)
{
    char       ts[24];
    size_t     i;
    cxb_buf_t  sig;
    char      *ts_copy, *sig_copy;

    for (i = 0; i < e->push.nheaders; i++) {
        if (strcasecmp(e->push.headers[i].name, "webhook-signature") == 0) {
            break;
        }
    }

    if (i == e->push.nheaders || n == 0) {
        return 0;
    }

    snprintf(ts, sizeof(ts), "%lld", (long long) now_s);

    cxb_buf_init(&sig);

    if (cxb_sign(&sig, keys, n, e->push.id, now_s,
                 e->push.body ? e->push.body : "", e->push.body_len)
        != 0
        || cxb_buf_cstr(&sig) == NULL)
    {
        cxb_buf_free(&sig);
        return -1;
    }

    ts_copy = strdup(ts);
    sig_copy = cxb_buf_detach(&sig, NULL);

    if (ts_copy == NULL || sig_copy == NULL) {
        free(ts_copy);
        free(sig_copy);
        return -1;
    }

    for (i = 0; i < e->push.nheaders; i++) {
        if (strcasecmp(e->push.headers[i].name, "webhook-timestamp") == 0) {
            e->push.headers[i].value = ts_copy;

        } else if (strcasecmp(e->push.headers[i].name, "webhook-signature")
                   == 0)
        {
            e->push.headers[i].value = sig_copy;
        }
    }

    free(e->signed_ts);
    free(e->signed_sig);
    e->signed_ts = ts_copy;
    e->signed_sig = sig_copy;

    return 0;
}


int
cxb_retry_retryable(int http_status)
{
    return http_status < 0 || http_status == 429 || http_status >= 500;
}


int64_t
cxb_retry_delay(const cxb_retry_t *rt, int attempts, int64_t retry_after_ms,
    double rnd)
{
    int      i;
    int64_t  d, ceiling;

    if (rt->nsteps == 0) {
        return 0;
    }

    i = attempts - 1;

    if (i < 0) {
        i = 0;
    }

    if (i >= rt->nsteps) {
        i = rt->nsteps - 1;
    }

    d = rt->steps[i];

    if (retry_after_ms >= 0) {
        ceiling = rt->steps[i + 1 < rt->nsteps ? i + 1 : i];
        d = retry_after_ms < ceiling ? retry_after_ms : ceiling;
    }

    if (rt->jitter && rnd > 0) {
        d += (int64_t) ((double) d * rt->jitter / 100.0 * rnd);
    }

    return d;
}


int
cxb_retry_parse_schedule(cxb_retry_t *rt, const char *s, size_t len)
{
    size_t       k;
    int64_t      v, unit;
    const char  *p, *end;

    rt->nsteps = 0;
    p = s;
    end = s + len;

    while (p < end) {
        if (rt->nsteps == CXB_RETRY_STEPS_MAX) {
            return -1;
        }

        v = 0;
        k = 0;

        while (p < end && *p >= '0' && *p <= '9' && k < 9) {
            v = v * 10 + (*p++ - '0');
            k++;
        }

        if (k == 0) {
            return -1;
        }

        unit = 1000;

        if (end - p >= 2 && p[0] == 'm' && p[1] == 's') {
            unit = 1;
            p += 2;

        } else if (p < end && *p != ',') {
            switch (*p) {
            case 's': unit = 1000; break;
            case 'm': unit = 60 * 1000; break;
            case 'h': unit = 3600 * 1000; break;
            case 'd': unit = 86400 * 1000; break;
            default: return -1;
            }

            p++;
        }

        v *= unit;

        if (v < 1 || v > (int64_t) 30 * 86400 * 1000) {
            return -1;
        }

        rt->steps[rt->nsteps++] = v;

        if (p < end) {
            if (*p != ',' || p + 1 == end) {
                return -1;
            }

            p++;
        }
    }

    return rt->nsteps ? 0 : -1;
}


int64_t
cxb_retry_after_ms(const char *v, size_t len, int64_t now_ms)
{
    char       buf[64];
    size_t     i;
    int64_t    n;
    time_t     t;
    struct tm  tm;
    char      *end;

    while (len && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }

    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t')) {
        len--;
    }

    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }

    if (v[0] >= '0' && v[0] <= '9') {
        n = 0;

        for (i = 0; i < len; i++) {
            if (v[i] < '0' || v[i] > '9' || n > 100000000) {
                return -1;
            }

            n = n * 10 + (v[i] - '0');
        }

        return n * 1000;
    }

    memcpy(buf, v, len);
    buf[len] = '\0';
    memset(&tm, 0, sizeof(tm));

    end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL || *end != '\0') {
        return -1;
    }

    t = timegm(&tm);
    n = (int64_t) t * 1000 - now_ms;

    return n > 0 ? n : 0;
}
