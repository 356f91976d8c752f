/*
 * Template engine for the core (SPEC section 5).
 *
 * Scanning: the renderers look for '{' with memchr() and try to parse an
 * expression at each "{{".  A failed parse only ever consumes path
 * characters and spaces, none of which is '{', so the regions examined by
 * successive attempts are disjoint and a render is linear in its input.
 * All output goes through a cxb_buf_t (amortised O(1) appends).
 *
 * Numbers are formatted with snprintf()/strtod(), which follow LC_NUMERIC;
 * nginx and the command-line tool never change it from "C".
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxb_template.h"


#define CXB_TPL_KEEP  0     /* unresolved expressions stay as written */
#define CXB_TPL_DROP  1     /* unresolved expressions become "" */
#define CXB_TPL_URL   2     /* url mode: percent-encode, keep unresolved */

#define CXB_TPL_TRIGGER  "call_trigger_data."

/* 2^53: integral numbers below it are written without a fraction */
#define CXB_TPL_MAX_INT  9007199254740992.0


typedef struct {
    const cxb_resolver_t  *r;
    cxb_buf_t              buf;       /* scratch for one string leaf */
    size_t                 budget;    /* output bytes left for the call */
} cxb_tpl_ctx_t;


static int cxb_tpl_path_char(unsigned char c);
static int cxb_tpl_unreserved(unsigned char c);
static int cxb_tpl_json_space(unsigned char c);
static size_t cxb_tpl_parse_expr(const char *p, const char *end,
    const char **path, size_t *plen);
static int cxb_tpl_key_eq(const char *key, const char *s, size_t n);
static const cJSON *cxb_tpl_resolve_url(const cxb_resolver_t *r,
    const char *path, size_t len);
static void cxb_tpl_number(cxb_buf_t *out, double d, int json);
static void cxb_tpl_json_string(cxb_buf_t *out, const char *s);
static void cxb_tpl_json(cxb_buf_t *out, const cJSON *v);
static void cxb_tpl_add_encoded(cxb_buf_t *out, const cJSON *v);
static int cxb_tpl_render(cxb_buf_t *out, const char *tpl, size_t len,
    const cxb_resolver_t *r, int mode, size_t limit);
static cJSON *cxb_tpl_dup(const cJSON *v, int recurse);
static cJSON *cxb_tpl_coerce(cxb_buf_t *b);
static size_t cxb_tpl_cost(const cJSON *v, size_t limit);
static cJSON *cxb_tpl_leaf(cxb_tpl_ctx_t *ctx, const char *s);
static cJSON *cxb_tpl_node(cxb_tpl_ctx_t *ctx, const cJSON *v,
    unsigned depth);


static const char  cxb_tpl_hex[] = "0123456789ABCDEF";

static const struct {
    const char  *name;
    size_t       len;
} cxb_tpl_fallbacks[] = {
    { "system.", sizeof("system.") - 1 },
    { "crm.", sizeof("crm.") - 1 },
    { "call.", sizeof("call.") - 1 },
};


static int
cxb_tpl_path_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}


static int
cxb_tpl_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
           || c == '~';
}


static int
cxb_tpl_json_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}


/*
 * p points into [p, end); returns the length of the expression starting at
 * p ("{{" ... "}}") and sets path/plen, or returns 0 when there is none.
 */

static size_t
cxb_tpl_parse_expr(const char *p, const char *end, const char **path,
    size_t *plen)
{
    int          dot;
    const char  *q, *s;

    if (end - p < 4 || p[0] != '{' || p[1] != '{') {
        return 0;
    }

    q = p + 2;

    while (q < end && (*q == ' ' || *q == '\t')) {
        q++;
    }

    s = q;
    dot = 1;    /* at the start of a segment */

    while (q < end && cxb_tpl_path_char((unsigned char) *q)) {

        if (*q == '.') {
            if (dot) {
                return 0;           /* leading dot or ".." */
            }
            dot = 1;

        } else {
            dot = 0;
        }

        if ((size_t) (++q - s) > CXB_TPL_MAX_PATH) {
            return 0;
        }
    }

    if (q == s || dot) {
        return 0;                   /* empty path or trailing dot */
    }

    *path = s;
    *plen = q - s;

    while (q < end && (*q == ' ' || *q == '\t')) {
        q++;
    }

    if (end - q < 2 || q[0] != '}' || q[1] != '}') {
        return 0;
    }

    return q + 2 - p;
}


/* whether the NUL-terminated key equals s[0..n) */

static int
cxb_tpl_key_eq(const char *key, const char *s, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (key[i] != s[i] || key[i] == '\0') {
            return 0;
        }
    }

    return key[n] == '\0';
}


const cJSON *
cxb_json_path(const cJSON *root, const char *path, size_t len)
{
    size_t        n, i, idx;
    const char   *seg, *end, *dot;
    const cJSON  *v, *c;

    if (root == NULL || path == NULL || len == 0) {
        return NULL;
    }

    v = root;
    seg = path;
    end = path + len;

    for ( ;; ) {
        dot = memchr(seg, '.', end - seg);
        n = (dot ? dot : end) - seg;

        if (n == 0) {
            return NULL;
        }

        if (cJSON_IsObject(v)) {
            for (c = v->child; c; c = c->next) {
                if (c->string && cxb_tpl_key_eq(c->string, seg, n)) {
                    break;
                }
            }

        } else if (cJSON_IsArray(v)) {
            idx = 0;

            for (i = 0; i < n; i++) {
                if (seg[i] < '0' || seg[i] > '9' || idx > 100000000) {
                    return NULL;
                }
                idx = idx * 10 + (seg[i] - '0');
            }

            for (c = v->child; c && idx; c = c->next) {
                idx--;
            }

        } else {
            return NULL;
        }

        if (c == NULL) {
            return NULL;
        }

        v = c;

        if (dot == NULL) {
            return v;
        }

        seg = dot + 1;
    }
}


const cJSON *
cxb_tpl_resolve(const cxb_resolver_t *r, const char *path, size_t len)
{
    char          name[CXB_TPL_MAX_PATH + 32];
    size_t        i, plen, slen;
    const char   *dot, *suffix;
    const cJSON  *v;

    if (r == NULL || r->lookup == NULL || path == NULL || len == 0) {
        return NULL;
    }

    v = r->lookup(r->data, path, len);
    if (v != NULL || len > CXB_TPL_MAX_PATH) {
        return v;
    }

    dot = memchr(path, '.', len);
    suffix = dot ? dot + 1 : path;
    slen = path + len - suffix;

    if (slen == 0) {
        return NULL;
    }

    for (i = 0; i < sizeof(cxb_tpl_fallbacks) / sizeof(cxb_tpl_fallbacks[0]);
         i++)
    {
        plen = cxb_tpl_fallbacks[i].len;

        if (dot && (size_t) (suffix - path) == plen
            && memcmp(path, cxb_tpl_fallbacks[i].name, plen) == 0)
        {
            continue;               /* the exact path, already tried */
        }

        memcpy(name, cxb_tpl_fallbacks[i].name, plen);
        memcpy(name + plen, suffix, slen);

        v = r->lookup(r->data, name, plen + slen);
        if (v != NULL) {
            return v;
        }
    }

    return NULL;
}


static const cJSON *
cxb_tpl_resolve_url(const cxb_resolver_t *r, const char *path, size_t len)
{
    char          name[sizeof(CXB_TPL_TRIGGER) + CXB_TPL_MAX_PATH];
    size_t        plen;
    const cJSON  *v;

    if (r == NULL || r->lookup == NULL) {
        return NULL;
    }

    if (len <= CXB_TPL_MAX_PATH) {
        plen = sizeof(CXB_TPL_TRIGGER) - 1;
        memcpy(name, CXB_TPL_TRIGGER, plen);
        memcpy(name + plen, path, len);

        v = r->lookup(r->data, name, plen + len);
        if (v != NULL) {
            return v;
        }
    }

    return cxb_tpl_resolve(r, path, len);
}


static void
cxb_tpl_number(cxb_buf_t *out, double d, int json)
{
    int   n, prec;
    char  num[40];

    if (!isfinite(d)) {
        if (json) {
            cxb_buf_add(out, "null", 4);
        }
        return;
    }

    if (d == floor(d) && fabs(d) < CXB_TPL_MAX_INT) {
        n = snprintf(num, sizeof(num), "%lld", (long long) d);

    } else {
        n = 0;

        for (prec = 1; prec <= 17; prec++) {
            n = snprintf(num, sizeof(num), "%.*g", prec, d);
            if (strtod(num, NULL) == d) {
                break;
            }
        }
    }

    if (n > 0 && (size_t) n < sizeof(num)) {
        cxb_buf_add(out, num, n);
    }
}


static void
cxb_tpl_json_string(cxb_buf_t *out, const char *s)
{
    char            esc[6];
    const char     *run;
    unsigned char   c;

    cxb_buf_addc(out, '"');

    for (run = s; *s; s++) {
        c = (unsigned char) *s;

        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }

        cxb_buf_add(out, run, s - run);
        run = s + 1;

        switch (c) {
        case '"':
            cxb_buf_add(out, "\\\"", 2);
            break;
        case '\\':
            cxb_buf_add(out, "\\\\", 2);
            break;
        case '\b':
            cxb_buf_add(out, "\\b", 2);
            break;
        case '\f':
            cxb_buf_add(out, "\\f", 2);
            break;
        case '\n':
            cxb_buf_add(out, "\\n", 2);
            break;
        case '\r':
            cxb_buf_add(out, "\\r", 2);
            break;
        case '\t':
            cxb_buf_add(out, "\\t", 2);
            break;
        default:
            esc[0] = '\\';
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = cxb_tpl_hex[c >> 4];
            esc[5] = cxb_tpl_hex[c & 0xf];
            cxb_buf_add(out, esc, 6);
            break;
        }
    }

    cxb_buf_add(out, run, s - run);
    cxb_buf_addc(out, '"');
}


/*
 * Compact JSON.  Recursive: context trees come from cJSON_Parse(), whose
 * nesting is capped at CJSON_NESTING_LIMIT.
 */

static void
cxb_tpl_json(cxb_buf_t *out, const cJSON *v)
{
    const cJSON  *c;

    switch (v->type & 0xff) {

    case cJSON_False:
        cxb_buf_add(out, "false", 5);
        break;

    case cJSON_True:
        cxb_buf_add(out, "true", 4);
        break;

    case cJSON_Number:
        cxb_tpl_number(out, v->valuedouble, 1);
        break;

    case cJSON_String:
        cxb_tpl_json_string(out, v->valuestring ? v->valuestring : "");
        break;

    case cJSON_Raw:
        cxb_buf_adds(out, v->valuestring ? v->valuestring : "null");
        break;

    case cJSON_Array:
        cxb_buf_addc(out, '[');

        for (c = v->child; c; c = c->next) {
            if (c != v->child) {
                cxb_buf_addc(out, ',');
            }
            cxb_tpl_json(out, c);
        }

        cxb_buf_addc(out, ']');
        break;

    case cJSON_Object:
        cxb_buf_addc(out, '{');

        for (c = v->child; c; c = c->next) {
            if (c != v->child) {
                cxb_buf_addc(out, ',');
            }
            cxb_tpl_json_string(out, c->string ? c->string : "");
            cxb_buf_addc(out, ':');
            cxb_tpl_json(out, c);
        }

        cxb_buf_addc(out, '}');
        break;

    default:    /* cJSON_NULL, cJSON_Invalid */
        cxb_buf_add(out, "null", 4);
        break;
    }
}


void
cxb_tpl_value_text(cxb_buf_t *out, const cJSON *v)
{
    if (v == NULL) {
        return;
    }

    switch (v->type & 0xff) {

    case cJSON_String:
    case cJSON_Raw:
        if (v->valuestring) {
            cxb_buf_adds(out, v->valuestring);
        }
        break;

    case cJSON_Number:
        cxb_tpl_number(out, v->valuedouble, 0);
        break;

    case cJSON_True:
        cxb_buf_add(out, "true", 4);
        break;

    case cJSON_False:
        cxb_buf_add(out, "false", 5);
        break;

    case cJSON_Array:
    case cJSON_Object:
        cxb_tpl_json(out, v);
        break;

    default:    /* cJSON_NULL, cJSON_Invalid */
        break;
    }
}


void
cxb_tpl_percent_encode(cxb_buf_t *out, const char *s, size_t len)
{
    char           *d;
    size_t          i, m;
    unsigned char   c;

    m = len;

    for (i = 0; i < len; i++) {
        if (!cxb_tpl_unreserved((unsigned char) s[i])) {
            m += 2;
        }
    }

    if (m == 0 || cxb_buf_reserve(out, m) != 0) {
        return;
    }

    d = out->data + out->len;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (cxb_tpl_unreserved(c)) {
            *d++ = (char) c;

        } else {
            *d++ = '%';
            *d++ = cxb_tpl_hex[c >> 4];
            *d++ = cxb_tpl_hex[c & 0xf];
        }
    }

    out->len += m;
}


/*
 * Appends the value's text percent-encoded: the text is written first and
 * then expanded in place from the end (the write position never falls
 * behind the read position), so no scratch buffer is needed.
 */

static void
cxb_tpl_add_encoded(cxb_buf_t *out, const cJSON *v)
{
    char           *d;
    size_t          pos, n, m, i, dst;
    unsigned char   c;

    pos = out->len;

    cxb_tpl_value_text(out, v);

    if (out->failed) {
        return;
    }

    n = out->len - pos;
    m = n;

    for (i = pos; i < pos + n; i++) {
        if (!cxb_tpl_unreserved((unsigned char) out->data[i])) {
            m += 2;
        }
    }

    if (m == n || cxb_buf_reserve(out, m - n) != 0) {
        return;
    }

    d = out->data;
    dst = pos + m;

    for (i = pos + n; i > pos; i--) {
        c = (unsigned char) d[i - 1];

        if (cxb_tpl_unreserved(c)) {
            d[--dst] = (char) c;

        } else {
            d[--dst] = cxb_tpl_hex[c & 0xf];
            d[--dst] = cxb_tpl_hex[c >> 4];
            d[--dst] = '%';
        }
    }

    out->len = pos + m;
}


static int
cxb_tpl_render(cxb_buf_t *out, const char *tpl, size_t len,
    const cxb_resolver_t *r, int mode, size_t limit)
{
    size_t        n, plen, start;
    const char   *p, *q, *end, *lit, *path;
    const cJSON  *v;

    start = out->len;

    if (tpl == NULL) {
        len = 0;
    }

    p = tpl;
    lit = tpl;
    end = tpl + len;

    while (p < end) {
        q = memchr(p, '{', end - p);
        if (q == NULL) {
            break;
        }

        n = cxb_tpl_parse_expr(q, end, &path, &plen);
        if (n == 0) {
            p = q + 1;
            continue;
        }

        cxb_buf_add(out, lit, q - lit);

        if (mode == CXB_TPL_URL) {
            v = cxb_tpl_resolve_url(r, path, plen);

        } else {
            v = cxb_tpl_resolve(r, path, plen);
        }

        if (v == NULL) {
            if (mode != CXB_TPL_DROP) {
                cxb_buf_add(out, q, n);
            }

        } else if (mode == CXB_TPL_URL) {
            cxb_tpl_add_encoded(out, v);

        } else {
            cxb_tpl_value_text(out, v);
        }

        p = q + n;
        lit = p;

        if (out->failed || out->len - start > limit) {
            goto failed;
        }
    }

    cxb_buf_add(out, lit, end - lit);

    if (out->failed || out->len - start > limit) {
        goto failed;
    }

    return 0;

failed:

    out->len = start;

    return -1;
}


int
cxb_tpl_render_text(cxb_buf_t *out, const char *tpl, size_t len,
    const cxb_resolver_t *r, int drop_unresolved)
{
    return cxb_tpl_render(out, tpl, len, r,
                          drop_unresolved ? CXB_TPL_DROP : CXB_TPL_KEEP,
                          CXB_TPL_MAX_OUTPUT);
}


int
cxb_tpl_render_url(cxb_buf_t *out, const char *url, size_t len,
    const cxb_resolver_t *r)
{
    return cxb_tpl_render(out, url, len, r, CXB_TPL_URL, CXB_TPL_MAX_OUTPUT);
}


int
cxb_tpl_has_expr(const char *s, size_t len)
{
    size_t       plen;
    const char  *p, *q, *end, *path;

    if (s == NULL) {
        return 0;
    }

    p = s;
    end = s + len;

    while (p < end) {
        q = memchr(p, '{', end - p);
        if (q == NULL) {
            return 0;
        }

        if (cxb_tpl_parse_expr(q, end, &path, &plen)) {
            return 1;
        }

        p = q + 1;
    }

    return 0;
}


/* a deep (or shallow) copy without the source's member name */

static cJSON *
cxb_tpl_dup(const cJSON *v, int recurse)
{
    cJSON  *c;

    c = cJSON_Duplicate(v, recurse);
    if (c == NULL) {
        return NULL;
    }

    if (c->string != NULL) {
        if (!(c->type & cJSON_StringIsConst)) {
            cJSON_free(c->string);
        }

        c->string = NULL;
        c->type &= ~cJSON_StringIsConst;
    }

    return c;
}


/*
 * key_mapper coercion of a rendered value: JSON-looking text that parses
 * completely becomes the object/array, anything else a string.
 */

static cJSON *
cxb_tpl_coerce(cxb_buf_t *b)
{
    cJSON       *v;
    const char  *s, *p, *end, *pe;

    s = cxb_buf_cstr(b);
    if (s == NULL) {
        return NULL;
    }

    end = s + b->len;

    for (p = s; p < end && cxb_tpl_json_space((unsigned char) *p); p++) {
        /* void */
    }

    if (p < end && (*p == '{' || *p == '[')) {
        pe = NULL;
        v = cJSON_ParseWithLengthOpts(p, end - p, &pe, 0);

        if (v != NULL) {
            while (pe < end && cxb_tpl_json_space((unsigned char) *pe)) {
                pe++;
            }

            if (pe == end) {
                return v;
            }

            cJSON_Delete(v);
        }
    }

    return cJSON_CreateString(s);
}


cJSON *
cxb_tpl_keymapper(const cJSON *map, const cxb_resolver_t *r)
{
    cJSON         *res, *item;
    size_t         budget;
    cxb_buf_t      buf;
    const char    *s;
    const cJSON   *c;

    if (map == NULL || !cJSON_IsObject(map)) {
        return NULL;
    }

    res = cJSON_CreateObject();
    if (res == NULL) {
        return NULL;
    }

    cxb_buf_init(&buf);
    budget = CXB_TPL_MAX_OUTPUT;

    for (c = map->child; c; c = c->next) {

        if (cJSON_IsString(c)) {
            s = c->valuestring ? c->valuestring : "";

            cxb_buf_reset(&buf);

            if (cxb_tpl_render(&buf, s, strlen(s), r, CXB_TPL_DROP, budget)
                != 0)
            {
                goto failed;
            }

            budget -= buf.len;
            item = cxb_tpl_coerce(&buf);

        } else {
            item = cxb_tpl_dup(c, 1);
        }

        if (item == NULL) {
            goto failed;
        }

        if (!cJSON_AddItemToObject(res, c->string ? c->string : "", item)) {
            cJSON_Delete(item);
            goto failed;
        }
    }

    cxb_buf_free(&buf);

    return res;

failed:

    cxb_buf_free(&buf);
    cJSON_Delete(res);

    return NULL;
}


/*
 * Approximate compact-JSON size of v; stops counting once it exceeds
 * limit.  Recursive like cxb_tpl_json().
 */

static size_t
cxb_tpl_cost(const cJSON *v, size_t limit)
{
    size_t        n;
    const cJSON  *c;

    n = 8;      /* punctuation, a number or a literal */

    if (v->valuestring != NULL) {
        n += strlen(v->valuestring);
    }

    for (c = v->child; c && n <= limit; c = c->next) {
        if (c->string != NULL) {
            n += strlen(c->string) + 3;
        }

        if (n <= limit) {
            n += cxb_tpl_cost(c, limit - n);
        }
    }

    return n;
}


static cJSON *
cxb_tpl_leaf(cxb_tpl_ctx_t *ctx, const char *s)
{
    size_t        len, n, plen, cost;
    const char   *path, *str;
    const cJSON  *v;

    len = strlen(s);
    n = cxb_tpl_parse_expr(s, s + len, &path, &plen);

    if (n != 0 && n == len) {
        v = cxb_tpl_resolve(ctx->r, path, plen);
        if (v == NULL) {
            return cJSON_CreateNull();
        }

        cost = cxb_tpl_cost(v, ctx->budget);
        if (cost > ctx->budget) {
            return NULL;
        }

        ctx->budget -= cost;

        return cxb_tpl_dup(v, 1);
    }

    cxb_buf_reset(&ctx->buf);

    if (cxb_tpl_render(&ctx->buf, s, len, ctx->r, CXB_TPL_DROP, ctx->budget)
        != 0)
    {
        return NULL;
    }

    ctx->budget -= ctx->buf.len;

    str = cxb_buf_cstr(&ctx->buf);
    if (str == NULL) {
        return NULL;
    }

    return cJSON_CreateString(str);
}


static cJSON *
cxb_tpl_node(cxb_tpl_ctx_t *ctx, const cJSON *v, unsigned depth)
{
    cJSON         *res, *item;
    const cJSON   *c;

    switch (v->type & 0xff) {

    case cJSON_String:
        return cxb_tpl_leaf(ctx, v->valuestring ? v->valuestring : "");

    case cJSON_Array:
    case cJSON_Object:
        break;

    default:
        return cxb_tpl_dup(v, 0);
    }

    if (depth > CXB_TPL_MAX_DEPTH) {
        return NULL;
    }

    res = cJSON_IsArray(v) ? cJSON_CreateArray() : cJSON_CreateObject();
    if (res == NULL) {
        return NULL;
    }

    for (c = v->child; c; c = c->next) {

        item = cxb_tpl_node(ctx, c, depth + 1);
        if (item == NULL) {
            goto failed;
        }

        if (cJSON_IsArray(v)) {
            if (!cJSON_AddItemToArray(res, item)) {
                cJSON_Delete(item);
                goto failed;
            }

        } else if (!cJSON_AddItemToObject(res, c->string ? c->string : "",
                                          item))
        {
            cJSON_Delete(item);
            goto failed;
        }
    }

    return res;

failed:

    cJSON_Delete(res);

    return NULL;
}


cJSON *
cxb_tpl_template(const cJSON *tpl, const cxb_resolver_t *r)
{
    cJSON          *res;
    cxb_tpl_ctx_t   ctx;

    if (tpl == NULL) {
        return NULL;
    }

    ctx.r = r;
    ctx.budget = CXB_TPL_MAX_OUTPUT;
    cxb_buf_init(&ctx.buf);

    res = cxb_tpl_node(&ctx, tpl, 1);

    cxb_buf_free(&ctx.buf);

    return res;
}
