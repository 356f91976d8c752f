/*
 * libFuzzer target: the template engine (src/cxb_template.c).
 *
 * Input: when the first line parses as a JSON object it is the variable
 * context and the rest of the input is the template; otherwise the whole
 * input is the template, rendered against a fixed context (every JSON type,
 * non-finite numbers, escapes, UTF-8, nested arrays, a raw item).
 *
 * Runs text mode (both drop modes), url mode, key_mapper mode (when the
 * template parses as a JSON object) and template mode (when it parses as
 * JSON), and checks:
 *   - renders of inputs up to 4096 bytes never fail (the 16 MiB output cap
 *     cannot be reached from them);
 *   - a template without a valid expression renders as itself in all three
 *     text modes;
 *   - drop mode never renders longer than keep mode;
 *   - key_mapper keeps the map's keys, in order;
 *   - template mode fails exactly when a container is nested deeper than
 *     CXB_TPL_MAX_DEPTH, and keeps the root's type otherwise;
 *   - cxb_tpl_percent_encode() emits only unreserved bytes and upper-case
 *     %XX escapes, and decodes back to the input.
 */

#include <cjson/cJSON.h>

#include "cxb_buf.h"
#include "cxb_template.h"
#include "fuzz_common.h"


#define FUZZ_SMALL  4096


static const char  fixed_context[] =
    "{\"system\": {\"call_id\": \"c-7f3a\", \"bot_id\": \"b-12\","
    " \"timezone\": \"Asia/Kolkata\", \"now\": \"2026-11-23T15:30:00+05:30\","
    " \"public_base_url\": \"https://pub.example\"},"
    " \"crm\": {\"CUSTOMERNAME\": \"Asha Rao\", \"policy\": {\"id\": \"P-9\","
    " \"tags\": [\"a\", \"b\"]}, \"score\": 8.5, \"n\": 42, \"big\": 1e300,"
    " \"huge\": 1e999, \"tiny\": 5e-324, \"third\": 0.3333333333333333,"
    " \"neg0\": -0.0, \"i53\": 9007199254740993, \"ok\": true, \"no\": false,"
    " \"nil\": null, \"empty\": \"\", \"obj\": {}, \"arr\": []},"
    " \"call\": {\"CUSTOMERID\": \"C-1001\", \"X-Campaign\": \"renewals\","
    " \"ctl\": \"a\\u0001b\\\"c\\\\d\\ne\\tf\\u007f\", \"utf\": \"\\u00e9\\u2713"
    "\\ud83d\\ude00\", \"CUSTOMERNAME\": \"shadowed\"},"
    " \"result\": {\"call_duration_seconds\": 121, \"transcript\":"
    " \"[{\\\"role\\\":\\\"bot\\\",\\\"text\\\":\\\"Hello\\\"}]\","
    " \"recording_url\": \"https://pub.example/api/v1/public/recordings/t\"},"
    " \"analysis\": {\"DISPOSITION\": \"Interested\", \"SUB_DISPOSITION\": \"\"},"
    " \"call_trigger_data\": {\"crm_id\": \"lead 42/x?y=z&w\", \"n\": 7,"
    " \"person_name\": \"Asha Rao\", \"nested\": {\"a\": [1, 2]}},"
    " \"call_summary\": \"Customer asked for a callback.\","
    " \"matrix\": [[1, 2], [3, {\"k\": \"v\"}], \"x\"],"
    " \"0\": {\"1\": \"digits as keys\"}}";


static cJSON  *fixed;


static const cJSON *
lookup(void *data, const char *path, size_t len)
{
    return cxb_json_path((const cJSON *) data, path, len);
}


static int
unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
           || c == '~';
}


static int
upper_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}


static int
hexval(unsigned char c)
{
    return c <= '9' ? c - '0' : c - 'A' + 10;
}


/* deepest container level (root container = 1; scalars add nothing) */
static unsigned
container_depth(const cJSON *v)
{
    unsigned      d, m;
    const cJSON  *c;

    if (!cJSON_IsArray(v) && !cJSON_IsObject(v)) {
        return 0;
    }

    m = 0;

    for (c = v->child; c; c = c->next) {
        d = container_depth(c);
        if (d > m) {
            m = d;
        }
    }

    return m + 1;
}


static void
check_percent_encode(const char *s, size_t len)
{
    size_t     i, j, extra;
    cxb_buf_t  b;

    cxb_buf_init(&b);
    cxb_tpl_percent_encode(&b, s, len);
    FUZZ_CHECK(!b.failed, "percent_encode failed");

    extra = 0;
    for (i = 0; i < len; i++) {
        if (!unreserved((unsigned char) s[i])) {
            extra += 2;
        }
    }

    FUZZ_CHECK(b.len == len + extra, "percent_encode length %zu, want %zu",
               b.len, len + extra);

    for (i = 0, j = 0; i < b.len; j++) {
        unsigned char c = (unsigned char) b.data[i];

        if (c == '%') {
            FUZZ_CHECK(i + 2 < b.len && upper_hex(b.data[i + 1])
                       && upper_hex(b.data[i + 2]), "bad escape at %zu", i);
            c = (unsigned char) (hexval(b.data[i + 1]) << 4
                                 | hexval(b.data[i + 2]));
            FUZZ_CHECK(!unreserved(c), "unreserved byte 0x%02x escaped", c);
            i += 3;

        } else {
            FUZZ_CHECK(unreserved(c), "raw byte 0x%02x in the output", c);
            i++;
        }

        FUZZ_CHECK(j < len && (unsigned char) s[j] == c,
                   "percent_encode does not decode back at %zu", j);
    }

    FUZZ_CHECK(j == len, "percent_encode decodes to %zu bytes, not %zu",
               j, len);

    cxb_buf_free(&b);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int              rc_keep, rc_drop, rc_url, has;
    char            *out;
    cJSON           *ctx, *tjson, *km, *tm;
    size_t           len;
    cxb_buf_t        keep, drop, url;
    const char      *tpl, *nl, *pe;
    const cJSON     *a, *b;
    cxb_resolver_t   r;

    if (fixed == NULL) {
        fixed = cJSON_Parse(fixed_context);
        FUZZ_CHECK(fixed != NULL, "the fixed context does not parse");
        /* a raw item, as the variable context may hold */
        cJSON_AddRawToObject(fixed, "raw", "{\"raw\":[1,2]}");
    }

    tpl = (const char *) data;
    len = size;
    ctx = NULL;

    nl = memchr(tpl, '\n', len);

    if (nl != NULL) {
        ctx = cJSON_ParseWithLength(tpl, (size_t) (nl - tpl));

        if (cJSON_IsObject(ctx)) {
            len -= (size_t) (nl + 1 - tpl);
            tpl = nl + 1;

        } else {
            cJSON_Delete(ctx);
            ctx = NULL;
        }
    }

    r.lookup = lookup;
    r.data = ctx ? ctx : fixed;

    /* text and url modes */

    cxb_buf_init(&keep);
    cxb_buf_init(&drop);
    cxb_buf_init(&url);

    rc_keep = cxb_tpl_render_text(&keep, tpl, len, &r, 0);
    rc_drop = cxb_tpl_render_text(&drop, tpl, len, &r, 1);
    rc_url = cxb_tpl_render_url(&url, tpl, len, &r);
    has = cxb_tpl_has_expr(tpl, len);

    if (size <= FUZZ_SMALL) {
        FUZZ_CHECK(rc_keep == 0 && rc_drop == 0 && rc_url == 0,
                   "render failed: keep %d drop %d url %d",
                   rc_keep, rc_drop, rc_url);
    }

    if (rc_keep == 0 && rc_drop == 0) {
        FUZZ_CHECK(drop.len <= keep.len, "drop mode longer (%zu) than keep "
                   "mode (%zu)", drop.len, keep.len);
    }

    if (!has) {
        FUZZ_CHECK(rc_keep == 0 && keep.len == len
                   && (len == 0 || memcmp(keep.data, tpl, len) == 0),
                   "keep mode changed a template without expressions");
        FUZZ_CHECK(rc_drop == 0 && drop.len == len
                   && (len == 0 || memcmp(drop.data, tpl, len) == 0),
                   "drop mode changed a template without expressions");
        FUZZ_CHECK(rc_url == 0 && url.len == len
                   && (len == 0 || memcmp(url.data, tpl, len) == 0),
                   "url mode changed a template without expressions");
    }

    cxb_buf_free(&keep);
    cxb_buf_free(&drop);
    cxb_buf_free(&url);

    check_percent_encode(tpl, len);

    /* key_mapper and template modes */

    pe = NULL;
    tjson = cJSON_ParseWithLengthOpts(tpl, len, &pe, 0);

    if (tjson != NULL) {

        if (cJSON_IsObject(tjson)) {
            km = cxb_tpl_keymapper(tjson, &r);

            if (size <= FUZZ_SMALL) {
                FUZZ_CHECK(km != NULL, "key_mapper failed");
            }

            if (km != NULL) {
                FUZZ_CHECK(cJSON_IsObject(km), "key_mapper: not an object");

                for (a = tjson->child, b = km->child; a && b;
                     a = a->next, b = b->next)
                {
                    FUZZ_CHECK(a->string && b->string
                               && strcmp(a->string, b->string) == 0,
                               "key_mapper: key \"%s\" became \"%s\"",
                               a->string ? a->string : "(null)",
                               b->string ? b->string : "(null)");
                }

                FUZZ_CHECK(a == NULL && b == NULL,
                           "key_mapper: different number of keys");

                out = cJSON_PrintUnformatted(km);
                FUZZ_CHECK(out != NULL, "key_mapper result does not print");
                free(out);
                cJSON_Delete(km);
            }

        } else {
            FUZZ_CHECK(cxb_tpl_keymapper(tjson, &r) == NULL,
                       "key_mapper accepted a non-object");
        }

        tm = cxb_tpl_template(tjson, &r);

        if (size <= FUZZ_SMALL) {
            FUZZ_CHECK((tm == NULL)
                       == (container_depth(tjson) > CXB_TPL_MAX_DEPTH),
                       "template mode: result %s at container depth %u",
                       tm ? "non-NULL" : "NULL", container_depth(tjson));
        }

        if (tm != NULL) {
            if (!cJSON_IsString(tjson)) {
                FUZZ_CHECK((tm->type & 0xff) == (tjson->type & 0xff),
                           "template mode changed the root's type");
            }

            out = cJSON_PrintUnformatted(tm);
            FUZZ_CHECK(out != NULL, "template result does not print");
            free(out);
            cJSON_Delete(tm);
        }

        cJSON_Delete(tjson);
    }

    cJSON_Delete(ctx);

    return 0;
}
