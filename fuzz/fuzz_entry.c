/*
 * libFuzzer target: spool entries and the retry schedule (src/cxb_entry.c).
 *
 * Input: the text of a spool entry (what a worker reads back from disk,
 * perhaps cut short or corrupted), and at the same time a schedule and a
 * Retry-After value.
 *
 * Checks:
 *   - cxb_entry_read() either fails with a message or gives an entry that
 *     cxb_entry_write() writes back to a text that reads again to the same
 *     id, call, push, headers, body and counters;
 *   - re-signing a read entry keeps every header count and name;
 *   - cxb_retry_parse_schedule() accepts only 1..16 steps of 1 ms..30 d, and
 *     cxb_retry_delay() stays within [0, last step * 2] for any attempt;
 *   - cxb_retry_after_ms() is -1 or non-negative.
 */

#include "cxb_entry.h"
#include "fuzz_common.h"


static int
same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             i;
    size_t          k;
    int64_t         d, ra;
    cxb_buf_t       out;
    cxb_entry_t     e, e2;
    cxb_retry_t     rt;
    const char     *err;
    cxb_sign_key_t  key;

    err = NULL;

    if (cxb_entry_read(&e, (const char *) data, size, &err) == 0) {
        cxb_buf_init(&out);

        FUZZ_CHECK(cxb_entry_write(&out, &e.call, &e.push, e.attempts,
                                   e.next_ms, e.created_ms, e.conf) == 0,
                   "a read entry does not write back");
        FUZZ_CHECK(cxb_entry_read(&e2, out.data, out.len, &err) == 0,
                   "a written entry does not read back: %s", err);

        FUZZ_CHECK(strcmp(e.push.id, e2.push.id) == 0
                   && same_str(e.call.call_id, e2.call.call_id)
                   && same_str(e.call.bot_id, e2.call.bot_id)
                   && e.call.start_ms == e2.call.start_ms
                   && same_str(e.push.integration, e2.push.integration)
                   && same_str(e.push.method, e2.push.method)
                   && same_str(e.push.url, e2.push.url)
                   && same_str(e.push.body, e2.push.body)
                   && e.push.body_len == e2.push.body_len
                   && e.push.nheaders == e2.push.nheaders
                   && e.attempts == e2.attempts && e.next_ms == e2.next_ms
                   && e.created_ms == e2.created_ms && e.conf == e2.conf,
                   "the round trip changed the entry");

        for (k = 0; k < e.push.nheaders; k++) {
            FUZZ_CHECK(same_str(e.push.headers[k].name,
                                e2.push.headers[k].name)
                       && same_str(e.push.headers[k].value,
                                   e2.push.headers[k].value),
                       "header %zu changed", k);
        }

        if (cxb_sign_key_parse(&key, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                               38) == 0)
        {
            k = e2.push.nheaders;
            FUZZ_CHECK(cxb_entry_resign(&e2, &key, 1, 1614265330) == 0,
                       "re-signing failed");
            FUZZ_CHECK(e2.push.nheaders == k, "re-signing changed headers");
        }

        cxb_entry_free(&e2);
        cxb_entry_free(&e);
        cxb_buf_free(&out);

    } else {
        FUZZ_CHECK(err != NULL && err[0] != '\0', "no error message");
    }

    memset(&rt, 0, sizeof(rt));

    if (cxb_retry_parse_schedule(&rt, (const char *) data, size) == 0) {
        FUZZ_CHECK(rt.nsteps >= 1 && rt.nsteps <= CXB_RETRY_STEPS_MAX,
                   "%d steps", rt.nsteps);

        for (i = 0; i < rt.nsteps; i++) {
            FUZZ_CHECK(rt.steps[i] >= 1
                       && rt.steps[i] <= (int64_t) 30 * 86400 * 1000,
                       "step %d: %lld", i, (long long) rt.steps[i]);
        }

        rt.jitter = 100;

        for (i = 0; i < 20; i++) {
            d = cxb_retry_delay(&rt, i, i % 3 ? -1 : (int64_t) i * 1000,
                                0.999);
            FUZZ_CHECK(d >= 0 && d <= (int64_t) 60 * 86400 * 1000,
                       "delay %lld", (long long) d);
        }
    }

    ra = cxb_retry_after_ms((const char *) data, size, 1614265330000LL);
    FUZZ_CHECK(ra >= -1, "Retry-After %lld", (long long) ra);

    return 0;
}
