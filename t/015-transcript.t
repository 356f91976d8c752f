# The transcript is kept as validated JSON text and parsed only when used:
# every way it is used, and every way it can be broken.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

no_long_string();
run_tests();

__DATA__

=== TEST 1: a transcript used by a template is compact JSON
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "transcript": [ {"role" : "bot", "text": "Hi \u00e9\ud83d\ude00", "t": 1.50},
   {"role": "customer", "text": "a\"b\\c\n", "ok": true, "x": null, "n": -2e3} ]},
 "bot": {"post_call_push": {"url": "http://crm.test/", "key_mapper": {"t": "{{result.transcript}}"}}}}
--- error_code: 200
--- response_body_like eval
qr/\Q"body":"{\"t\":[{\"role\":\"bot\",\"text\":\"Hi é😀\",\"t\":1.5},{\"role\":\"customer\",\"text\":\"a\\\"b\\\\c\\n\",\"ok\":true,\"x\":null,\"n\":-2000}]}"\E/



=== TEST 2: broken transcripts are 400, with the right byte offset
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
[map { "POST /ingest\n" . $_ }
 '{"call": {"call_id": "c-1", "transcript": [{"text": "bad \x escape"}]}}',
 '{"call": {"call_id": "c-1", "transcript": [{"text": "lone \udc00"}]}}',
 '{"call": {"call_id": "c-1", "transcript": [{"text": "ok"}], "x": tru}}',
 '{"call": {"call_id": "c-1", "transcript": [{"text": "ok"},]}}',
 '{"call": {"call_id": "c-1", "transcript": [{"text": "ok"}]}} x']
--- error_code eval
[400, 400, 400, 400, 400]
--- response_body eval
['{"error":"the body is not valid JSON (error near byte 57)"}' . "\n",
 '{"error":"the body is not valid JSON (error near byte 58)"}' . "\n",
 '{"error":"the body is not valid JSON (error near byte 65)"}' . "\n",
 '{"error":"the body is not valid JSON (error near byte 58)"}' . "\n",
 '{"error":"the body is not valid JSON (trailing data at byte 61)"}' . "\n"]



=== TEST 3: the first of duplicate keys counts, as everywhere else
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
[map { "POST /ingest?dry_run=1\n" . $_ }
 '{"call": {"call_id": "c-1", "transcript": [{"role": "user", "text": "first"}], "transcript": [{"role": "bot", "text": "second"}]}, "bot": {"post_call_push": {"url": "http://crm.test/", "key_mapper": {"t": "{{result.transcript}}"}}}}',
 '{"call": {"call_id": "c-1", "transcript": [{"role": "user", "text": "first"}]}, "call": {"call_id": "c-2", "transcript": [{"role": "bot", "text": "second"}]}, "bot": {"post_call_push": {"url": "http://crm.test/", "key_mapper": {"t": "{{result.transcript}}"}}}}',
 '{"bot": {"post_call_push": {"url": "http://crm.test/", "key_mapper": {"t": "{{result.transcript}}"}}, "call": {"transcript": [{"text": "not the call"}]}}, "call": {"call_id": "c-3", "transcript": [{"text": "the call"}]}}']
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/\Q"body":"{\"t\":[{\"role\":\"user\",\"text\":\"first\"}]}"\E/,
 qr/\Q"body":"{\"t\":[{\"role\":\"user\",\"text\":\"first\"}]}"\E/,
 qr/\Q"body":"{\"t\":[{\"text\":\"the call\"}]}"\E/]



=== TEST 4: an empty transcript, however written, stops integrations
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
[map { "POST /ingest\n" . qq({"call": {"call_id": "c-1", "status": "picked", "transcript": $_}, "bot": {"integrations": [{"name": "crm", "url": "http://crm.test/"}]}}) }
  "[ \n\t ]", "[]", "null", '[{"role": "bot", "text": "hi"}]']
--- error_code eval
[202, 202, 202, 202]
--- response_body eval
['{"call_id":"c-1","pushes":[{"integration":"crm","status":"skipped","reason":"the call has no transcript"}]}' . "\n",
 '{"call_id":"c-1","pushes":[{"integration":"crm","status":"skipped","reason":"the call has no transcript"}]}' . "\n",
 '{"call_id":"c-1","pushes":[{"integration":"crm","status":"skipped","reason":"the call has no transcript"}]}' . "\n",
 '{"call_id":"c-1","pushes":[{"integration":"crm","status":"scheduled","reason":null}]}' . "\n"]



=== TEST 5: a transcript that is not an array is a 400
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest
{"call": {"call_id": "c-1", "transcript": "hello"}}
--- error_code: 400
--- response_body
{"error":"\"call.transcript\" must be an array"}
