# The ingestion location: answers, methods, bad documents, body sizes.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

# The CRM mocks listen on loopback, which the SSRF guard refuses by default:
# every block here allows 127.0.0.1 (t/070-ssrf.t tests the guard itself).
add_block_preprocessor(sub {
    my $block = shift;
    my $http = $block->http_config // '';
    $block->set_value('http_config',
                      "    cxbpush_allow_addr 127.0.0.1/32;\n$http");
});

no_long_string();
run_tests();

__DATA__

=== TEST 1: a call without pushes is accepted
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
    location = /_send { internal; proxy_pass $cxbpush_url; }
--- request
POST /ingest
{"call": {"call_id": "c-1", "status": "picked"}}
--- error_code: 202
--- response_headers
Content-Type: application/json
--- response_body
{"call_id":"c-1","pushes":[]}



=== TEST 2: GET is not allowed
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
GET /ingest
--- error_code: 405
--- response_headers
Allow: POST
--- response_body
{"error":"only POST is allowed"}



=== TEST 3: PUT with a body is not allowed either
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
PUT /ingest
{"call": {"call_id": "c-1"}}
--- error_code: 405
--- response_body
{"error":"only POST is allowed"}



=== TEST 4: a body that is not JSON
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest
{"call": {"call_id": "c-1",}}
--- error_code: 400
--- response_body
{"error":"the body is not valid JSON (error near byte 28)"}
--- error_log
cxbpush: rejected a result document



=== TEST 5: a JSON array is not a result document
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest
[{"call": {}}]
--- error_code: 400
--- response_body
{"error":"the result document must be a JSON object"}



=== TEST 6: no call object
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest
{"bot": {"bot_id": "b-1"}}
--- error_code: 400
--- response_body
{"error":"the result document has no \"call\" object"}



=== TEST 7: call is not an object
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest
{"call": "c-1"}
--- error_code: 400
--- response_body
{"error":"\"call\" must be an object"}



=== TEST 8: call_id of the wrong type
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest
{"call": {"call_id": 17}}
--- error_code: 400
--- response_body
{"error":"\"call.call_id\" must be a string"}



=== TEST 9: transcript of the wrong type
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest
{"call": {"call_id": "c-1", "transcript": {"role": "bot"}}}
--- error_code: 400
--- response_body
{"error":"\"call.transcript\" must be an array"}



=== TEST 10: analysis of the wrong type
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest
{"call": {"call_id": "c-1", "analysis": "Interested"}}
--- error_code: 400
--- response_body
{"error":"\"call.analysis\" must be an object"}



=== TEST 11: a time that is not ISO 8601
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest
{"call": {"call_id": "c-1", "start_time": "yesterday at noon"}}
--- error_code: 400
--- response_body
{"error":"\"call.start_time\" must be an ISO 8601 time string or epoch seconds"}



=== TEST 12: an impossible date
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest
{"call": {"call_id": "c-1", "end_time": "2026-02-30T10:00:00Z"}}
--- error_code: 400
--- response_body
{"error":"\"call.end_time\" must be an ISO 8601 time string or epoch seconds"}



=== TEST 13: skip_post_push of the wrong type
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest
{"call": {"call_id": "c-1", "skip_post_push": "yes"}}
--- error_code: 400
--- response_body
{"error":"\"call.skip_post_push\" must be a boolean"}



=== TEST 14: bot of the wrong type
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest
{"call": {"call_id": "c-1"}, "bot": ["b-1"]}
--- error_code: 400
--- response_body
{"error":"\"bot\" must be an object"}



=== TEST 15: analysis_keys must hold strings
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest
{"call": {"call_id": "c-1"}, "bot": {"analysis_keys": ["A", 2]}}
--- error_code: 400
--- response_body
{"error":"\"bot.analysis_keys\" must be an array of strings"}



=== TEST 16: an empty body
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
"POST /ingest\n"
--- error_code: 400
--- response_body
{"error":"empty body: a JSON result document is expected"}



=== TEST 17: trailing data after the document
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest
{"call": {"call_id": "c-1"}} {"call": {}}
--- error_code: 400
--- response_body
{"error":"the body is not valid JSON (trailing data at byte 29)"}



=== TEST 18: 5,000-deep nesting is refused, nginx unharmed
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
"POST /ingest\n" . '{"call": {"call_id": "c-1", "crm_data": ' . ('[' x 5000) . (']' x 5000) . '}}'
--- error_code: 400
--- response_body
{"error":"the JSON document is nested deeper than 64 levels"}
--- no_error_log
[alert]
[crit]



=== TEST 19: a body over client_max_body_size
--- config
    location = /ingest {
        client_max_body_size 1k;
        cxbpush_ingest;
        cxbpush_pass /_send;
    }
--- request eval
"POST /ingest\n" . '{"call": {"call_id": "c-1", "summary": "' . ('x' x 4096) . '"}}'
--- error_code: 413
--- error_log
client intended to send too large body



=== TEST 20: a 3 MB transcript arrives through a temp file and is pushed
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        client_max_body_size 16m;
        location / { return 200 "ok"; }
    }
--- config
    location = /ingest {
        client_body_buffer_size 8k;
        client_body_in_file_only clean;
        client_max_body_size 16m;
        cxbpush_body_max 16m;
        cxbpush_ingest;
        cxbpush_pass /_send;
        # the pass location ignores the push URL: nothing for the guard to check
        cxbpush_allow_private on;
        cxbpush_log $TEST_NGINX_SERVER_ROOT/logs/cxbpush.log;
    }
    location = /_send {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/crm;
    }
    location = /log { alias $TEST_NGINX_SERVER_ROOT/logs/cxbpush.log; }
--- request eval
my $turns = CORE::join ',', map { qq({"role":"customer","text":"turn $_ ) . ('y' x 80) . qq("}) } 1 .. 30000;
["POST /ingest\n" . qq({"call": {"call_id": "big", "status": "picked", "transcript": [$turns]},)
 . qq( "bot": {"post_call_push": {"url": "http://crm.test/crm",)
 . qq( "key_mapper": {"last": "{{result.transcript}}"}}}}),
 "GET /log"]
--- error_code eval
[202, 200]
--- response_body_like eval
[qr/^\{"call_id":"big","pushes":\[\{"integration":"post_call_push","status":"scheduled","reason":null\}\]\}$/,
 qr/"status":"ok","http_status":200,.*turn 30000 y+/]
--- timeout: 20



=== TEST 21: the dry run renders without sending
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
    location = /_send { internal; return 500; }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1"}, "bot": {"post_call_push": {"url": "http://crm.example/api", "key_mapper": {"id": "{{system.call_id}}"}}}}
--- error_code: 200
--- response_body_like
^\{"call_id":"c-1","variables":\{.*\},"pushes":\[\{"integration":"post_call_push","status":"rendered","reason":null,"request":\{"method":"POST","url":"http://crm.example/api","headers":\{"Content-Type":"application/json","webhook-id":"msg_[0-9a-f]{20}"\},"body":"\{\\"id\\":\\"c-1\\"\}"\}\}\]\}$
--- no_error_log
cxbpush: push



=== TEST 22: cxbpush_ingest without cxbpush_pass is a configuration error
--- config
    location = /ingest { cxbpush_ingest; }
--- request
GET /
--- must_die
--- error_log
"cxbpush_ingest" requires "cxbpush_pass"
