/*
 * Unit tests for the template engine (src/cxb_template.c).
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cxb_buf.h"
#include "cxb_template.h"
#include "tap.h"


static const char  *ctx_json =
    "{"
    "\"call\": {\"X\": \"call-x\", \"shared\": \"call-shared\","
    "          \"cc\": \"call-cc\", \"status\": \"picked\"},"
    "\"crm\": {\"CUSTOMERNAME\": \"Alice\", \"shared\": \"crm-shared\","
    "         \"cc\": \"crm-cc\", \"onlycrm\": \"crm-only\","
    "         \"dup\": \"crm-dup\","
    "         \"policy\": {\"id\": 7, \"tags\": [\"a\", \"b\"]}},"
    "\"system\": {\"shared\": \"sys-shared\", \"dup\": \"sys-dup\","
    "            \"dup2\": \"sys-dup2\", \"call_id\": \"c-1\"},"
    "\"dup\": \"top-dup\","
    "\"transcript\": [{\"role\": \"bot\", \"text\": \"hi\"},"
    "                 {\"role\": \"customer\", \"text\": \"hello\"}],"
    "\"call_trigger_data\": {\"crm_id\": \"a b/c\", \"dup\": \"trig-dup\","
    "                        \"meta\": {\"campaign_id\": 42},"
    "                        \"safe\": \"a-b.c_d~e\","
    "                        \"utf\": \"\xc3\xa9\", \"nul\": null},"
    "\"result\": {\"call_duration_seconds\": 65,"
    "            \"recording_url\": \"https://x/y\"},"
    "\"structured_output\": {\"intent\": \"buy\","
    "                        \"appointment\": {\"date\": \"2024-05-01\"}},"
    "\"num\": {\"int\": 42, \"neg\": -7, \"big\": 1e21, \"frac\": 0.1,"
    "         \"negz\": -0, \"half\": 1.5, \"t\": true, \"f\": false,"
    "         \"n\": null, \"obj\": {\"a\": 1, \"b\": [1, 2, \"x\\\"y\"]},"
    "         \"arr\": [1, \"two\", null, true]},"
    "\"obj0\": {\"0\": \"zero\", \"ab\": \"AB\"}"
    "}";

static cJSON           *ctx;
static cxb_resolver_t   res;
static unsigned         lookups;


static const cJSON *
test_lookup(void *data, const char *path, size_t len)
{
    lookups++;
    return cxb_json_path(data, path, len);
}


static cJSON *
parse(const char *s)
{
    cJSON  *v;

    v = cJSON_Parse(s);
    if (v == NULL) {
        printf("Bail out! cannot parse test JSON: %s\n", s);
        exit(255);
    }

    return v;
}


/* text mode into a fresh buffer; compares the result */

static void
is_text(const char *tpl, int drop, const char *expected, const char *name)
{
    int         rc;
    cxb_buf_t   b;

    cxb_buf_init(&b);
    rc = cxb_tpl_render_text(&b, tpl, strlen(tpl), &res, drop);
    TAP_OK(rc == 0, "%s: rc 0", name);
    TAP_IS_STR(cxb_buf_cstr(&b), expected, "%s", name);
    cxb_buf_free(&b);
}


static void
is_url(const char *url, const char *expected, const char *name)
{
    int         rc;
    cxb_buf_t   b;

    cxb_buf_init(&b);
    rc = cxb_tpl_render_url(&b, url, strlen(url), &res);
    TAP_OK(rc == 0, "%s: rc 0", name);
    TAP_IS_STR(cxb_buf_cstr(&b), expected, "%s", name);
    cxb_buf_free(&b);
}


static void
is_value(const cJSON *v, const char *expected, const char *name)
{
    cxb_buf_t  b;

    cxb_buf_init(&b);
    cxb_tpl_value_text(&b, v);
    TAP_IS_STR(cxb_buf_cstr(&b), expected, "value text: %s", name);
    cxb_buf_free(&b);
}


static void
is_path_value(const char *path, const char *expected)
{
    is_value(cxb_json_path(ctx, path, strlen(path)), expected, path);
}


/* compares got's compact cJSON print with expected, then frees got */

static void
is_json(cJSON *got, const char *expected, const char *name)
{
    char  *s;

    s = got ? cJSON_PrintUnformatted(got) : NULL;
    TAP_IS_STR(s, expected, "%s", name);
    free(s);
    cJSON_Delete(got);
}


static const char *
resolved_str(const char *path)
{
    const cJSON  *v;

    v = cxb_tpl_resolve(&res, path, strlen(path));

    return cJSON_IsString(v) ? v->valuestring : NULL;
}


static double
elapsed(clock_t start)
{
    return (double) (clock() - start) / CLOCKS_PER_SEC;
}


static void
test_json_path(void)
{
    const cJSON  *v;

    v = cxb_json_path(ctx, "crm.policy.tags.1", 17);
    TAP_IS_STR(cJSON_IsString(v) ? v->valuestring : NULL, "b",
               "json_path: object then array");

    v = cxb_json_path(ctx, "transcript.1.text", 17);
    TAP_IS_STR(cJSON_IsString(v) ? v->valuestring : NULL, "hello",
               "json_path: array index into object");

    /* the path is not NUL-terminated: only len bytes count */
    v = cxb_json_path(ctx, "crm.CUSTOMERNAMEjunk", 16);
    TAP_IS_STR(cJSON_IsString(v) ? v->valuestring : NULL, "Alice",
               "json_path: compared by length");

    TAP_OK(cxb_json_path(ctx, "crm.CUSTOMER", 12) == NULL,
           "json_path: key prefix does not match");
    TAP_OK(cxb_json_path(ctx, "obj0.a", 6) == NULL,
           "json_path: shorter path than key does not match");
    TAP_OK(cxb_json_path(ctx, "crm.customername", 16) == NULL,
           "json_path: case-sensitive");
    TAP_OK(cxb_json_path(ctx, "", 0) == NULL, "json_path: empty path");
    TAP_OK(cxb_json_path(NULL, "a", 1) == NULL, "json_path: NULL root");
    TAP_OK(cxb_json_path(ctx, "crm..policy", 11) == NULL,
           "json_path: empty segment");
    TAP_OK(cxb_json_path(ctx, "crm.", 4) == NULL,
           "json_path: trailing dot");
    TAP_OK(cxb_json_path(ctx, ".crm", 4) == NULL,
           "json_path: leading dot");
    TAP_OK(cxb_json_path(ctx, "transcript.2", 12) == NULL,
           "json_path: index out of range");
    TAP_OK(cxb_json_path(ctx, "transcript.x", 12) == NULL,
           "json_path: non-digit segment on an array");
    TAP_OK(cxb_json_path(ctx, "transcript.99999999999999999999", 31) == NULL,
           "json_path: huge index");
    TAP_OK(cxb_json_path(ctx, "dup.x", 5) == NULL,
           "json_path: walking into a string");

    v = cxb_json_path(ctx, "transcript.01.role", 18);
    TAP_IS_STR(cJSON_IsString(v) ? v->valuestring : NULL, "customer",
               "json_path: leading zero index");

    v = cxb_json_path(ctx, "obj0.0", 6);
    TAP_IS_STR(cJSON_IsString(v) ? v->valuestring : NULL, "zero",
               "json_path: digit segment on an object is a key");
}


static void
test_resolve(void)
{
    cxb_resolver_t  none;

    TAP_IS_STR(resolved_str("crm.CUSTOMERNAME"), "Alice", "resolve: exact");
    TAP_IS_STR(resolved_str("CUSTOMERNAME"), "Alice",
               "resolve: bare name falls back to crm.");
    TAP_IS_STR(resolved_str("crm.X"), "call-x",
               "resolve: crm.X falls back to call.X");
    TAP_IS_STR(resolved_str("shared"), "sys-shared",
               "resolve: system beats crm and call");
    TAP_IS_STR(resolved_str("foo.shared"), "sys-shared",
               "resolve: suffix after the first dot");
    TAP_IS_STR(resolved_str("foo.cc"), "crm-cc", "resolve: crm beats call");
    TAP_IS_STR(resolved_str("call.onlycrm"), "crm-only",
               "resolve: call.X falls back to crm.X");
    TAP_IS_STR(resolved_str("dup"), "top-dup",
               "resolve: exact beats fallback");
    TAP_IS_STR(resolved_str("crm.dup"), "crm-dup",
               "resolve: exact crm.dup beats system.dup");
    TAP_IS_STR(resolved_str("dup2"), "sys-dup2", "resolve: system.dup2");

    TAP_OK(cJSON_IsNumber(cxb_tpl_resolve(&res, "x.policy.id", 11)),
           "resolve: multi-segment suffix (crm.policy.id)");
    TAP_OK(cxb_tpl_resolve(&res, "nope", 4) == NULL, "resolve: unresolved");

    lookups = 0;
    (void) cxb_tpl_resolve(&res, "nope", 4);
    TAP_OK(lookups == 4, "resolve: 4 lookups for a bare name (%u)", lookups);

    lookups = 0;
    (void) cxb_tpl_resolve(&res, "crm.nope", 8);
    TAP_OK(lookups == 3, "resolve: crm.nope is not looked up twice (%u)",
           lookups);

    TAP_OK(cxb_tpl_resolve(NULL, "dup", 3) == NULL, "resolve: NULL resolver");

    none.lookup = NULL;
    none.data = NULL;
    TAP_OK(cxb_tpl_resolve(&none, "dup", 3) == NULL, "resolve: NULL lookup");
}


static void
test_value_text(void)
{
    cJSON  *v;

    is_path_value("dup", "top-dup");
    is_path_value("num.int", "42");
    is_path_value("num.neg", "-7");
    is_path_value("num.big", "1e+21");
    is_path_value("num.frac", "0.1");
    is_path_value("num.negz", "0");
    is_path_value("num.half", "1.5");
    is_path_value("num.t", "true");
    is_path_value("num.f", "false");
    is_path_value("num.n", "");
    is_path_value("num.obj", "{\"a\":1,\"b\":[1,2,\"x\\\"y\"]}");
    is_path_value("num.arr", "[1,\"two\",null,true]");
    is_value(NULL, "", "NULL");

    v = cJSON_CreateNumber(-0.0);
    is_value(v, "0", "-0.0 created");
    cJSON_Delete(v);

    v = cJSON_CreateNumber(9007199254740992.0);
    is_value(v, "9007199254740992", "2^53");
    cJSON_Delete(v);

    v = cJSON_CreateNumber(9007199254740991.0);
    is_value(v, "9007199254740991", "2^53 - 1");
    cJSON_Delete(v);

    v = cJSON_CreateNumber(-123456789012.0);
    is_value(v, "-123456789012", "large negative integer");
    cJSON_Delete(v);

    v = cJSON_CreateNumber(1.0 / 3.0);
    is_value(v, "0.3333333333333333", "1/3 shortest round trip");
    cJSON_Delete(v);

    v = cJSON_CreateNumber(0.1 + 0.2);
    is_value(v, "0.30000000000000004", "0.1 + 0.2");
    cJSON_Delete(v);

    v = cJSON_CreateNumber(1e-7);
    is_value(v, "1e-07", "1e-7");
    cJSON_Delete(v);

    v = cJSON_CreateNumber(NAN);
    is_value(v, "", "NaN as empty");
    cJSON_Delete(v);

    v = parse("[1.5, -0, 1e21, \"a\\n\\u0001\\\\\", {}, [], {\"\": null}]");
    is_value(v, "[1.5,0,1e+21,\"a\\n\\u0001\\\\\",{},[],{\"\":null}]",
             "compact JSON escapes and numbers");
    cJSON_Delete(v);

    v = cJSON_CreateArray();
    cJSON_AddItemToArray(v, cJSON_CreateNumber(INFINITY));
    is_value(v, "[null]", "Inf inside JSON as null");
    cJSON_Delete(v);

    v = cJSON_CreateString("caf\xc3\xa9 \"q\"");
    is_value(v, "caf\xc3\xa9 \"q\"", "string as it is");
    cJSON_Delete(v);
}


static void
test_text(void)
{
    int         rc;
    char        lng[CXB_TPL_MAX_PATH + 16];
    cxb_buf_t   b;

    is_text("Hello {{crm.CUSTOMERNAME}}!", 0, "Hello Alice!", "exact path");
    is_text("{{structured_output.appointment.date}}", 0, "2024-05-01",
            "nested path");
    is_text("{{transcript.1.text}}", 0, "hello", "array index");
    is_text("{{CUSTOMERNAME}}", 1, "Alice", "fallback to crm.");
    is_text("{{crm.X}}", 1, "call-x", "fallback crm. to call.");
    is_text("{{shared}}/{{foo.cc}}", 1, "sys-shared/crm-cc",
            "fallback priority");
    is_text("{{dup}}", 1, "top-dup", "exact beats fallback");
    is_text("{{  crm.CUSTOMERNAME \t}}", 0, "Alice", "spaces inside braces");
    is_text("{{CUSTOMERNAME}}{{CUSTOMERNAME}}", 0, "AliceAlice",
            "adjacent expressions");
    is_text("{{{CUSTOMERNAME}}}", 0, "{Alice}", "extra braces around");
    is_text("{{{{CUSTOMERNAME}}", 1, "{{Alice", "extra opening braces");
    is_text("{{ {{CUSTOMERNAME}} }}", 1, "{{ Alice }}",
            "expression inside literal braces");
    is_text("{{result.call_duration_seconds}}s", 0, "65s", "integer");
    is_text("{{transcript}}", 0,
            "[{\"role\":\"bot\",\"text\":\"hi\"},"
            "{\"role\":\"customer\",\"text\":\"hello\"}]",
            "array as compact JSON");
    is_text("[{{num.n}}]", 0, "[]", "resolved null is empty");
    is_text("", 0, "", "empty template");
    is_text("no expressions { } }} here", 0, "no expressions { } }} here",
            "constant text");

    is_text("Hello {{CUSTOMERNAME", 1, "Hello {{CUSTOMERNAME",
            "unterminated");
    is_text("Hello {{CUSTOMERNAME}", 1, "Hello {{CUSTOMERNAME}",
            "half-terminated");
    is_text("{{", 1, "{{", "lone opening");
    is_text("x{", 1, "x{", "single brace at end");
    is_text("{{a b}}", 1, "{{a b}}", "space inside path is literal");
    is_text("{{}}", 1, "{{}}", "empty expression is literal");
    is_text("{{ }}", 1, "{{ }}", "blank expression is literal");
    is_text("{{a..b}}", 1, "{{a..b}}", "empty segment is literal");
    is_text("{{.a}}", 1, "{{.a}}", "leading dot is literal");
    is_text("{{a.}}", 1, "{{a.}}", "trailing dot is literal");
    is_text("{{a/b}}", 1, "{{a/b}}", "bad character is literal");
    is_text("{{a\nb}}", 1, "{{a\nb}}", "newline is literal");
    is_text("{{crm-x_Y.9}}", 1, "", "all path characters valid");

    is_text("x{{nope}}y", 0, "x{{nope}}y", "unresolved kept");
    is_text("x{{ nope  }}y", 0, "x{{ nope  }}y",
            "unresolved kept exactly as written");
    is_text("x{{nope}}y", 1, "xy", "unresolved dropped");
    is_text("{{nope}}{{CUSTOMERNAME}}{{nope.x}}", 1, "Alice",
            "dropped around a resolved one");

    memcpy(lng, "{{", 2);
    memset(lng + 2, 'a', CXB_TPL_MAX_PATH);
    memcpy(lng + 2 + CXB_TPL_MAX_PATH, "}}", 3);
    is_text(lng, 1, "", "path of CXB_TPL_MAX_PATH bytes is valid");

    memset(lng + 2, 'a', CXB_TPL_MAX_PATH + 1);
    memcpy(lng + 2 + CXB_TPL_MAX_PATH + 1, "}}", 3);
    is_text(lng, 1, lng, "longer path is literal");

    cxb_buf_init(&b);
    cxb_buf_adds(&b, "pre:");
    rc = cxb_tpl_render_text(&b, "{{CUSTOMERNAME}}", 16, &res, 0);
    TAP_OK(rc == 0, "render appends: rc");
    TAP_IS_STR(cxb_buf_cstr(&b), "pre:Alice", "render appends to out");

    /* not NUL-terminated: only len bytes */
    cxb_buf_reset(&b);
    rc = cxb_tpl_render_text(&b, "{{dup}}{{CUSTOMERNAME}}", 7, &res, 0);
    TAP_IS_STR(cxb_buf_cstr(&b), "top-dup", "render honours len");

    cxb_buf_reset(&b);
    rc = cxb_tpl_render_text(&b, "{{CUSTOMERNAME}}", 16, NULL, 0);
    TAP_IS_STR(cxb_buf_cstr(&b), "{{CUSTOMERNAME}}",
               "NULL resolver: everything unresolved");

    cxb_buf_reset(&b);
    b.failed = 1;
    rc = cxb_tpl_render_text(&b, "x", 1, &res, 0);
    TAP_OK(rc == -1, "failed buffer: -1");
    cxb_buf_free(&b);
}


static void
test_has_expr(void)
{
    TAP_OK(!cxb_tpl_has_expr("", 0), "has_expr: empty");
    TAP_OK(!cxb_tpl_has_expr(NULL, 0), "has_expr: NULL");
    TAP_OK(!cxb_tpl_has_expr("plain { text }", 14), "has_expr: none");
    TAP_OK(cxb_tpl_has_expr("{{a}}", 5), "has_expr: bare");
    TAP_OK(cxb_tpl_has_expr("x {{ a.b }} y", 13), "has_expr: embedded");
    TAP_OK(cxb_tpl_has_expr("{{{a}}}", 7), "has_expr: extra braces");
    TAP_OK(!cxb_tpl_has_expr("{{a b}} {{}} {{a", 16),
           "has_expr: only invalid ones");
    TAP_OK(!cxb_tpl_has_expr("{{a}}", 4), "has_expr: honours len");
}


static void
test_keymapper(void)
{
    cJSON  *map, *out;

    map = parse("{"
        "\"name\": \"{{CUSTOMERNAME}}\","
        "\"obj\": \" {\\\"a\\\":1} \","
        "\"arr\": \"[1,2]\","
        "\"ws\": \"\\n[ ]\\t\","
        "\"bad\": \"{not json\","
        "\"trail\": \"{}x\","
        "\"two\": \"{} {}\","
        "\"scalar\": \"123\","
        "\"policy\": \"{{crm.policy}}\","
        "\"tr\": \"{{transcript}}\","
        "\"dur\": \"{{result.call_duration_seconds}}\","
        "\"missing\": \"x{{nope}}y\","
        "\"lit\": \"{{a b}}\","
        "\"n\": 5,"
        "\"b\": true,"
        "\"nul\": null,"
        "\"o\": {\"k\": \"{{CUSTOMERNAME}}\"},"
        "\"{{CUSTOMERNAME}}\": \"key\""
        "}");

    out = cxb_tpl_keymapper(map, &res);
    TAP_OK(out != NULL, "key_mapper: result");
    is_json(out,
            "{\"name\":\"Alice\","
            "\"obj\":{\"a\":1},"
            "\"arr\":[1,2],"
            "\"ws\":[],"
            "\"bad\":\"{not json\","
            "\"trail\":\"{}x\","
            "\"two\":\"{} {}\","
            "\"scalar\":\"123\","
            "\"policy\":{\"id\":7,\"tags\":[\"a\",\"b\"]},"
            "\"tr\":[{\"role\":\"bot\",\"text\":\"hi\"},"
            "{\"role\":\"customer\",\"text\":\"hello\"}],"
            "\"dur\":\"65\","
            "\"missing\":\"xy\","
            "\"lit\":\"{{a b}}\","
            "\"n\":5,"
            "\"b\":true,"
            "\"nul\":null,"
            "\"o\":{\"k\":\"{{CUSTOMERNAME}}\"},"
            "\"{{CUSTOMERNAME}}\":\"key\"}",
            "key_mapper: rendering, coercion and passthrough");

    cJSON_Delete(map);

    map = parse("[\"{{CUSTOMERNAME}}\"]");
    TAP_OK(cxb_tpl_keymapper(map, &res) == NULL,
           "key_mapper: an array map is refused");
    cJSON_Delete(map);

    TAP_OK(cxb_tpl_keymapper(NULL, &res) == NULL, "key_mapper: NULL map");

    map = parse("{}");
    is_json(cxb_tpl_keymapper(map, &res), "{}", "key_mapper: empty map");
    cJSON_Delete(map);
}


static void
test_template(void)
{
    int     i;
    char   *s;
    cJSON  *tpl, *out, *c;

    tpl = parse("{"
        "\"{{CUSTOMERNAME}}\": \"{{CUSTOMERNAME}}\","
        "\"dur\": \"{{result.call_duration_seconds}}\","
        "\"pol\": \"{{ crm.policy }}\","
        "\"missing\": \"{{nope}}\","
        "\"emb\": \"Hi {{CUSTOMERNAME}}{{nope}}!\","
        "\"nested\": {\"list\": [\"{{num.half}}\", \"{{num.t}}\","
        "             \"x{{num.int}}\", 3, [\"{{num.n}}\"], {}]},"
        "\"plain\": \"no expr\","
        "\"nul\": null,"
        "\"num\": 12.5,"
        "\"f\": false,"
        "\"padded\": \" {{num.int}}\","
        "\"arr2\": \"{{num.arr}}\","
        "\"lit\": \"{{a b}}\","
        "\"json_text\": \"[1,2]\""
        "}");

    out = cxb_tpl_template(tpl, &res);
    TAP_OK(out != NULL, "template: result");
    TAP_OK(out != NULL && cJSON_GetObjectItem(out, "pol")->string != NULL
           && strcmp(cJSON_GetObjectItem(out, "pol")->string, "pol") == 0,
           "template: copied value takes the template's key");
    is_json(out,
            "{\"{{CUSTOMERNAME}}\":\"Alice\","
            "\"dur\":65,"
            "\"pol\":{\"id\":7,\"tags\":[\"a\",\"b\"]},"
            "\"missing\":null,"
            "\"emb\":\"Hi Alice!\","
            "\"nested\":{\"list\":[1.5,true,\"x42\",3,[null],{}]},"
            "\"plain\":\"no expr\","
            "\"nul\":null,"
            "\"num\":12.5,"
            "\"f\":false,"
            "\"padded\":\" 42\","
            "\"arr2\":[1,\"two\",null,true],"
            "\"lit\":\"{{a b}}\","
            "\"json_text\":\"[1,2]\"}",
            "template: typing, nesting, keys not rendered");
    cJSON_Delete(tpl);

    tpl = parse("[\"{{crm.policy}}\", \"{{CUSTOMERNAME}}\"]");
    out = cxb_tpl_template(tpl, &res);
    TAP_OK(out != NULL && out->child != NULL && out->child->string == NULL
           && out->child->next->string == NULL,
           "template: array elements carry no member name");
    is_json(out, "[{\"id\":7,\"tags\":[\"a\",\"b\"]},\"Alice\"]",
            "template: top-level array");
    cJSON_Delete(tpl);

    tpl = parse("\"{{structured_output}}\"");
    is_json(cxb_tpl_template(tpl, &res),
            "{\"intent\":\"buy\",\"appointment\":{\"date\":\"2024-05-01\"}}",
            "template: top-level whole expression");
    cJSON_Delete(tpl);

    tpl = parse("7");
    is_json(cxb_tpl_template(tpl, &res), "7", "template: top-level number");
    cJSON_Delete(tpl);

    tpl = parse("\"{{nope}}\"");
    is_json(cxb_tpl_template(tpl, &res), "null",
            "template: top-level unresolved");
    cJSON_Delete(tpl);

    tpl = parse("\"\"");
    is_json(cxb_tpl_template(tpl, &res), "\"\"", "template: empty string");
    cJSON_Delete(tpl);

    TAP_OK(cxb_tpl_template(NULL, &res) == NULL, "template: NULL");

    /* depth limit */

    s = malloc(2 * (CXB_TPL_MAX_DEPTH + 1) + 32);
    if (s == NULL) {
        printf("Bail out! no memory\n");
        exit(255);
    }

    for (i = 0; i < CXB_TPL_MAX_DEPTH; i++) {
        s[i] = '[';
    }
    strcpy(s + i, "\"{{num.int}}\"");
    for (i = 0; i < CXB_TPL_MAX_DEPTH; i++) {
        strcat(s, "]");
    }

    tpl = parse(s);
    out = cxb_tpl_template(tpl, &res);
    TAP_OK(out != NULL, "template: %d levels of nesting are fine",
           CXB_TPL_MAX_DEPTH);
    for (i = 0, c = out; c && i < CXB_TPL_MAX_DEPTH; i++) {
        c = c->child;
    }
    TAP_OK(cJSON_IsNumber(c) && c->valueint == 42,
           "template: the innermost leaf is rendered");
    cJSON_Delete(out);
    cJSON_Delete(tpl);

    for (i = 0; i <= CXB_TPL_MAX_DEPTH; i++) {
        s[i] = '[';
    }
    s[i] = '\0';
    for (i = 0; i <= CXB_TPL_MAX_DEPTH; i++) {
        strcat(s, "]");
    }

    tpl = parse(s);
    TAP_OK(cxb_tpl_template(tpl, &res) == NULL,
           "template: %d levels of nesting are refused",
           CXB_TPL_MAX_DEPTH + 1);
    cJSON_Delete(tpl);

    free(s);
}


static void
test_url(void)
{
    cxb_buf_t  b;

    is_url("https://api.example.com/leads/{{crm_id}}/calls",
           "https://api.example.com/leads/a%20b%2Fc/calls",
           "url: call_trigger_data, percent-encoded");
    is_url("https://x/{{ nope }}/y?a={{nope.b}}",
           "https://x/{{ nope }}/y?a={{nope.b}}", "url: unresolved kept");
    is_url("https://x/{{CUSTOMERNAME}}/{{result.call_duration_seconds}}",
           "https://x/Alice/65", "url: falls back to the whole context");
    is_url("/{{meta.campaign_id}}", "/42", "url: nested trigger path");
    is_url("/{{call_trigger_data.meta.campaign_id}}", "/42",
           "url: full path in the whole context");
    is_url("/{{dup}}", "/trig-dup", "url: trigger data first");
    is_url("/{{safe}}/{{utf}}", "/a-b.c_d~e/%C3%A9",
           "url: unreserved kept, UTF-8 bytes encoded");
    is_url("/{{crm.policy}}",
           "/%7B%22id%22%3A7%2C%22tags%22%3A%5B%22a%22%2C%22b%22%5D%7D",
           "url: object as encoded compact JSON");
    is_url("/{{nul}}/", "//", "url: null is empty");
    is_url("/a b/{{a b}}", "/a b/{{a b}}", "url: literal text untouched");

    cxb_buf_init(&b);
    cxb_buf_adds(&b, "q=");
    cxb_tpl_percent_encode(&b, "a b/c~\xc3\xa9&=%+\n", 13);
    cxb_tpl_percent_encode(&b, "", 0);
    TAP_IS_STR(cxb_buf_cstr(&b), "q=a%20b%2Fc~%C3%A9%26%3D%25%2B%0A",
               "percent_encode");

    cxb_buf_reset(&b);
    cxb_tpl_percent_encode(&b, "a\0b", 3);
    TAP_OK(b.len == 5 && memcmp(b.data, "a%00b", 5) == 0,
           "percent_encode: NUL byte");
    cxb_buf_free(&b);
}


static void
test_limits(void)
{
    int              i, rc;
    char            *big, *tpl;
    cJSON           *c, *t, *out;
    size_t           n;
    cxb_buf_t        b;
    cxb_resolver_t   r;

    /* a 1 MiB string in the context; 17 copies exceed 16 MiB */

    n = 1024 * 1024;
    big = malloc(n + 1);
    tpl = malloc(17 * 8 + 1);
    if (big == NULL || tpl == NULL) {
        printf("Bail out! no memory\n");
        exit(255);
    }

    memset(big, 'x', n);
    big[n] = '\0';

    c = cJSON_CreateObject();
    if (c == NULL || cJSON_AddStringToObject(c, "big", big) == NULL) {
        printf("Bail out! no memory\n");
        exit(255);
    }

    r.lookup = test_lookup;
    r.data = c;

    tpl[0] = '\0';
    for (i = 0; i < 17; i++) {
        strcat(tpl, "{{big}} ");
    }

    cxb_buf_init(&b);
    cxb_buf_adds(&b, "keep");
    rc = cxb_tpl_render_text(&b, tpl, 8 * 15, &r, 0);
    TAP_OK(rc == 0 && b.len == 4 + 15 * (n + 1),
           "limit: 15 MiB of output is fine");

    cxb_buf_reset(&b);
    cxb_buf_adds(&b, "keep");
    rc = cxb_tpl_render_text(&b, tpl, strlen(tpl), &r, 0);
    TAP_OK(rc == -1, "limit: 17 MiB of output fails");
    TAP_OK(b.len == 4 && !b.failed, "limit: out->len restored");

    cxb_buf_reset(&b);
    rc = cxb_tpl_render_url(&b, tpl, strlen(tpl), &r);
    TAP_OK(rc == -1, "limit: url mode too");
    cxb_buf_free(&b);

    t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "k", tpl);
    TAP_OK(cxb_tpl_keymapper(t, &r) == NULL, "limit: key_mapper fails");
    TAP_OK(cxb_tpl_template(t, &r) == NULL, "limit: template text leaf");
    cJSON_Delete(t);

    t = cJSON_CreateArray();
    for (i = 0; i < 17; i++) {
        cJSON_AddItemToArray(t, cJSON_CreateString("{{big}}"));
    }
    TAP_OK(cxb_tpl_template(t, &r) == NULL,
           "limit: template whole-value copies count");

    cJSON_DeleteItemFromArray(t, 0);
    cJSON_DeleteItemFromArray(t, 0);
    out = cxb_tpl_template(t, &r);
    TAP_OK(cJSON_GetArraySize(out) == 15, "limit: 15 copies are fine");
    cJSON_Delete(out);
    cJSON_Delete(t);

    cJSON_Delete(c);
    free(tpl);
    free(big);
}


static void
test_linear(void)
{
    int         rc, ok;
    char       *tpl;
    size_t      i, n, unit;
    double      t;
    clock_t     start;
    cxb_buf_t   b;

    unit = sizeof("{{CUSTOMERNAME}} ") - 1;
    n = 200000;
    tpl = malloc(n * unit + 1);
    if (tpl == NULL) {
        printf("Bail out! no memory\n");
        exit(255);
    }

    for (i = 0; i < n; i++) {
        memcpy(tpl + i * unit, "{{CUSTOMERNAME}} ", unit);
    }
    tpl[n * unit] = '\0';

    cxb_buf_init(&b);
    start = clock();
    rc = cxb_tpl_render_text(&b, tpl, n * unit, &res, 1);
    t = elapsed(start);

    ok = rc == 0 && b.len == n * 6;
    for (i = 0; ok && i < n; i++) {
        ok = memcmp(b.data + i * 6, "Alice ", 6) == 0;
    }
    TAP_OK(ok, "linear: 200000 expressions rendered");
    TAP_OK(t < 1.0, "linear: 200000 expressions in %.3fs", t);

    /* pathological inputs: all braces, unterminated and invalid ones */

    memset(tpl, '{', n * unit);
    cxb_buf_reset(&b);
    start = clock();
    rc = cxb_tpl_render_text(&b, tpl, n * unit, &res, 1);
    t = elapsed(start);
    TAP_OK(rc == 0 && b.len == n * unit && t < 1.0,
           "linear: %zu opening braces in %.3fs", n * unit, t);

    for (i = 0; i < n; i++) {
        memcpy(tpl + i * unit, "{{ CUSTOMER.NAME ", unit);
    }
    cxb_buf_reset(&b);
    start = clock();
    rc = cxb_tpl_render_text(&b, tpl, n * unit, &res, 1);
    t = elapsed(start);
    TAP_OK(rc == 0 && b.len == n * unit && t < 1.0,
           "linear: 200000 unterminated expressions in %.3fs", t);

    memcpy(tpl, "{{", 2);
    memset(tpl + 2, ' ', n * unit - 2);
    cxb_buf_reset(&b);
    start = clock();
    rc = cxb_tpl_render_text(&b, tpl, n * unit, &res, 1);
    TAP_OK(rc == 0 && b.len == n * unit && !cxb_tpl_has_expr(tpl, n * unit)
           && elapsed(start) < 1.0, "linear: long blank expression");

    cxb_buf_free(&b);
    free(tpl);
}


static void
test_linear_template(void)
{
    int       ok;
    char      key[32];
    cJSON    *t, *out, *c;
    size_t    i, n;
    double    sec;
    clock_t   start;

    n = 100000;
    t = cJSON_CreateArray();
    for (i = 0; t && i < n; i++) {
        if (!cJSON_AddItemToArray(t, cJSON_CreateString(i % 2
                                  ? "{{result.call_duration_seconds}}"
                                  : "n={{CUSTOMERNAME}}")))
        {
            printf("Bail out! no memory\n");
            exit(255);
        }
    }

    start = clock();
    out = cxb_tpl_template(t, &res);
    sec = elapsed(start);

    ok = out != NULL;
    for (i = 0, c = out ? out->child : NULL; ok && c; c = c->next, i++) {
        ok = i % 2 ? cJSON_IsNumber(c) && c->valueint == 65
                   : cJSON_IsString(c) && strcmp(c->valuestring, "n=Alice")
                                          == 0;
    }
    TAP_OK(ok && i == n, "linear: template with %zu leaves", n);
    TAP_OK(sec < 1.0, "linear: template with %zu leaves in %.3fs", n, sec);
    cJSON_Delete(out);

    cJSON_Delete(t);

    t = cJSON_CreateObject();
    for (i = 0; t && i < n; i++) {
        snprintf(key, sizeof(key), "k%zu", i);
        if (cJSON_AddStringToObject(t, key, i % 2
                                    ? "{{result.call_duration_seconds}}"
                                    : "[{{CUSTOMERNAME}}]") == NULL)
        {
            printf("Bail out! no memory\n");
            exit(255);
        }
    }

    start = clock();
    out = cxb_tpl_keymapper(t, &res);
    sec = elapsed(start);
    TAP_OK(out != NULL && cJSON_GetArraySize(out) == (int) n && sec < 1.0,
           "linear: key_mapper with %zu keys in %.3fs", n, sec);
    cJSON_Delete(out);
    cJSON_Delete(t);
}


/* cJSON allocation failures at every point: NULL or a correct result */

static long  fail_after = -1;


static void *
failing_malloc(size_t n)
{
    if (fail_after == 0) {
        return NULL;
    }

    if (fail_after > 0) {
        fail_after--;
    }

    return malloc(n);
}


static void
test_alloc_failures(void)
{
    int           bad, success, nulls;
    long          k;
    char         *s, *expected_t, *expected_k;
    cJSON        *tpl, *map, *out;
    cJSON_Hooks   hooks;

    tpl = parse("{\"a\": \"{{crm.policy}}\", \"b\": [\"x{{CUSTOMERNAME}}\","
                " 1, {\"c\": \"{{nope}}\"}], \"d\": \"{{transcript}}\"}");
    map = parse("{\"a\": \"{{crm.policy}}\", \"b\": \"[1,{\\\"x\\\":2}]\","
                " \"c\": {\"d\": [1]}, \"e\": \"{{CUSTOMERNAME}}\"}");

    out = cxb_tpl_template(tpl, &res);
    expected_t = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);

    out = cxb_tpl_keymapper(map, &res);
    expected_k = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);

    hooks.malloc_fn = failing_malloc;
    hooks.free_fn = free;

    bad = 0;
    success = 0;
    nulls = 0;

    for (k = 0; k < 200 && success < 3; k++) {
        cJSON_InitHooks(&hooks);
        fail_after = k;
        out = cxb_tpl_template(tpl, &res);
        fail_after = -1;
        cJSON_InitHooks(NULL);

        if (out == NULL) {
            nulls++;
            continue;
        }

        success++;
        s = cJSON_PrintUnformatted(out);
        if (s == NULL || expected_t == NULL || strcmp(s, expected_t) != 0) {
            bad++;
        }
        free(s);
        cJSON_Delete(out);
    }

    TAP_OK(bad == 0 && nulls > 5 && success > 0,
           "template: allocation failures give NULL or the full result"
           " (%d NULL)", nulls);

    bad = 0;
    success = 0;
    nulls = 0;

    for (k = 0; k < 200 && success < 3; k++) {
        cJSON_InitHooks(&hooks);
        fail_after = k;
        out = cxb_tpl_keymapper(map, &res);
        fail_after = -1;
        cJSON_InitHooks(NULL);

        if (out == NULL) {
            nulls++;
            continue;
        }

        s = cJSON_PrintUnformatted(out);
        if (s != NULL && expected_k != NULL && strcmp(s, expected_k) == 0) {
            success++;
        }
        free(s);
        cJSON_Delete(out);
    }

    TAP_OK(nulls > 5 && success > 0,
           "key_mapper: allocation failures give NULL without leaks"
           " (%d NULL)", nulls);

    free(expected_t);
    free(expected_k);
    cJSON_Delete(tpl);
    cJSON_Delete(map);
}


int
main(void)
{
    ctx = parse(ctx_json);
    res.lookup = test_lookup;
    res.data = ctx;

    test_json_path();
    test_resolve();
    test_value_text();
    test_text();
    test_has_expr();
    test_keymapper();
    test_template();
    test_url();
    test_limits();
    test_linear();
    test_linear_template();
    test_alloc_failures();

    cJSON_Delete(ctx);

    return TAP_DONE();
}
