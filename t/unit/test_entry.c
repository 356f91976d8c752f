/*
 * Spool entries (write, read back, re-sign) and the retry schedule.
 */

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "cxb_context.h"
#include "cxb_entry.h"


int
main(void)
{
    cxb_buf_t       b;
    cxb_call_t      c;
    cxb_push_t      p;
    cxb_entry_t     e;
    cxb_retry_t     rt;
    cxb_header_t    h[3];
    cxb_sign_key_t  k;
    const char     *err;
    char            text[512];

    memset(&c, 0, sizeof(c));
    memset(&p, 0, sizeof(p));

    c.call_id = (char *) "c-1";
    c.bot_id = (char *) "b-1";
    c.start_ms = 1763892000000LL;

    strcpy(p.id, "msg_0123456789abcdef0001");
    p.integration = (char *) "post_call_push";
    p.event_type = "post_call_push";
    p.method = "POST";
    p.url = (char *) "http://crm.example.com/calls";
    h[0].name = (char *) "Authorization";
    h[0].value = (char *) "Bearer s3cret";
    h[1].name = (char *) "webhook-timestamp";
    h[1].value = (char *) "1";
    h[2].name = (char *) "webhook-signature";
    h[2].value = (char *) "v1,old";
    p.headers = h;
    p.nheaders = 3;
    p.body = (char *) "{\"k\":\"v\\u00e9\"}";
    p.body_len = strlen(p.body);

    cxb_buf_init(&b);
    TAP_OK(cxb_entry_write(&b, &c, &p, 2, 1763892060000LL, 1763892001000LL, 3)
           == 0, "write an entry");
    TAP_OK(cxb_buf_cstr(&b) != NULL, "as text");

    TAP_OK(cxb_entry_read(&e, b.data, b.len, &err) == 0, "read it back");
    TAP_IS_STR(e.push.id, p.id, "id");
    TAP_IS_STR(e.call.call_id, "c-1", "call_id");
    TAP_IS_STR(e.call.bot_id, "b-1", "bot_id");
    TAP_OK(e.call.start_ms == c.start_ms, "start_ms");
    TAP_IS_STR(e.push.integration, "post_call_push", "integration");
    TAP_IS_STR(e.push.event_type, "post_call_push", "event_type");
    TAP_IS_STR(e.push.method, "POST", "method");
    TAP_IS_STR(e.push.url, p.url, "url");
    TAP_OK(e.push.nheaders == 3, "3 headers");
    TAP_IS_STR(e.push.headers[0].value, "Bearer s3cret",
               "secrets are kept (the spool is 0600)");
    TAP_IS_STR(e.push.body, p.body, "body, byte for byte");
    TAP_OK(e.push.body_len == p.body_len, "body length");
    TAP_OK(e.attempts == 2 && e.next_ms == 1763892060000LL
           && e.created_ms == 1763892001000LL && e.conf == 3,
           "attempts, next_ms, created_ms, conf");

    TAP_OK(cxb_sign_key_parse(&k, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                              38) == 0, "a signing key");
    TAP_OK(cxb_entry_resign(&e, &k, 1, 1614265330) == 0, "re-sign");
    TAP_IS_STR(e.push.headers[1].value, "1614265330", "a new timestamp");
    TAP_OK(strncmp(e.push.headers[2].value, "v1,", 3) == 0
           && strcmp(e.push.headers[2].value, "v1,old") != 0,
           "a new signature");
    TAP_OK(cxb_entry_resign(&e, &k, 1, 1614265331) == 0, "re-sign again");
    TAP_IS_STR(e.push.headers[1].value, "1614265331", "the newer timestamp");
    cxb_entry_free(&e);

    c.start_ms = CXB_TIME_NONE;
    p.body = NULL;
    p.body_len = 0;
    p.nheaders = 0;
    cxb_buf_reset(&b);
    TAP_OK(cxb_entry_write(&b, &c, &p, 1, 5, 4, 0) == 0
           && cxb_entry_read(&e, b.data, b.len, &err) == 0,
           "an entry without body, headers or start time");
    TAP_OK(e.push.body == NULL && e.push.nheaders == 0
           && e.call.start_ms == CXB_TIME_NONE, "... reads back so");
    cxb_entry_free(&e);
    cxb_buf_free(&b);

    {
        static const char  *bad[] = {
            "", "[]", "{}", "{\"v\":2}", "not json",
            "{\"v\":1,\"id\":\"x\"}",
        };
        size_t  i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            err = NULL;
            TAP_OK(cxb_entry_read(&e, bad[i], strlen(bad[i]), &err) == -1
                   && err != NULL, "bad entry %zu refused (%s)", i,
                   err ? err : "");
        }

        strcpy(text, "{\"v\":1,\"id\":\"i\",\"call_id\":\"c\",\"bot_id\":\"\","
               "\"integration\":\"x\",\"event_type\":\"x\",\"conf\":0,"
               "\"attempts\":1,\"next_ms\":1,\"created_ms\":1,"
               "\"method\":\"POST\",\"url\":\"http://a/\","
               "\"headers\":[[\"a\",1]],\"body\":null}");
        TAP_OK(cxb_entry_read(&e, text, strlen(text), &err) == -1,
               "a header value that is not a string is refused");
    }

    /* the schedule */

    memset(&rt, 0, sizeof(rt));
    TAP_OK(cxb_retry_parse_schedule(&rt, "5s,30s,2m,10m,1h,6h", 19) == 0
           && rt.nsteps == 6, "parse the default schedule");
    TAP_OK(rt.steps[0] == 5000 && rt.steps[2] == 120000
           && rt.steps[5] == 6 * 3600000LL, "5s, 2m, 6h");
    TAP_OK(cxb_retry_parse_schedule(&rt, "250ms,1s,1d", 11) == 0
           && rt.steps[0] == 250 && rt.steps[2] == 86400000LL,
           "ms and d units");
    TAP_OK(cxb_retry_parse_schedule(&rt, "2", 1) == 0 && rt.steps[0] == 2000,
           "seconds by default");
    TAP_OK(cxb_retry_parse_schedule(&rt, "", 0) == -1, "empty refused");
    TAP_OK(cxb_retry_parse_schedule(&rt, "5s,", 3) == -1, "trailing comma");
    TAP_OK(cxb_retry_parse_schedule(&rt, "5x", 2) == -1, "unknown unit");
    TAP_OK(cxb_retry_parse_schedule(&rt, "0s", 2) == -1, "zero refused");
    TAP_OK(cxb_retry_parse_schedule(&rt, "31d", 3) == -1, "over 30 days");
    TAP_OK(cxb_retry_parse_schedule(&rt,
               "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1", 33) == -1,
           "more than 16 steps");

    cxb_retry_parse_schedule(&rt, "5s,30s,2m", 9);
    rt.jitter = 0;
    TAP_OK(cxb_retry_delay(&rt, 1, -1, 0.5) == 5000, "after attempt 1: 5s");
    TAP_OK(cxb_retry_delay(&rt, 2, -1, 0.5) == 30000, "after attempt 2: 30s");
    TAP_OK(cxb_retry_delay(&rt, 5, -1, 0.5) == 120000,
           "the last step repeats");
    TAP_OK(cxb_retry_delay(&rt, 1, 1000, 0.5) == 1000,
           "Retry-After shorter than the step is honoured");
    TAP_OK(cxb_retry_delay(&rt, 1, 20000, 0.5) == 20000,
           "Retry-After up to the next step's delay");
    TAP_OK(cxb_retry_delay(&rt, 1, 3600000, 0.5) == 30000,
           "Retry-After capped at the next step's delay");
    rt.jitter = 10;
    TAP_OK(cxb_retry_delay(&rt, 1, -1, 0.5) == 5250, "jitter 10%% * 0.5");

    TAP_OK(cxb_retry_retryable(-1) && cxb_retry_retryable(429)
           && cxb_retry_retryable(500) && cxb_retry_retryable(503),
           "failed, 429, 5xx are retried");
    TAP_OK(!cxb_retry_retryable(200) && !cxb_retry_retryable(400)
           && !cxb_retry_retryable(404) && !cxb_retry_retryable(422),
           "2xx and other 4xx are final");

    TAP_OK(cxb_retry_after_ms("120", 3, 0) == 120000, "Retry-After: 120");
    TAP_OK(cxb_retry_after_ms(" 0 ", 3, 0) == 0, "Retry-After: 0");
    TAP_OK(cxb_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 29,
                              1445412470000LL) == 10000,
           "Retry-After as an HTTP date");
    TAP_OK(cxb_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 29,
                              1445412490000LL) == 0, "a date in the past: 0");
    TAP_OK(cxb_retry_after_ms("soon", 4, 0) == -1, "junk: none");
    TAP_OK(cxb_retry_after_ms("-5", 2, 0) == -1, "negative: none");
    TAP_OK(cxb_retry_after_ms("12a", 3, 0) == -1, "12a: none");

    return TAP_DONE();
}
