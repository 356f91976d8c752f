# OSVI webhook integrations and the Synthflow external webhook (SPEC 6.2,
# 6.3): rendering, URL encoding, template typing, independence, live sends.

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

=== TEST 1: every integration kind rendered by the dry run
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "status": "picked", "direction": "outbound", "phone_number": "+91", "agent_name": "a1",
  "transcript": [{"role": "bot", "text": "hi"}], "summary": "S", "data_capture": {"name": "Asha", "age": 31},
  "structured_output": {"intent": "cb", "appointment": {"date": "2026-11-24"}}, "trigger_data": {"crm_id": "lead 42/x", "meta": {"c": 7}},
  "analysis": {"persona": true, "persona_feedback": ""}, "end_call_reason": "agent_goodbye", "custom_end_call_reason": "",
  "collected_variables": {"email": {"value": "asha.x.in", "collected": true}, "zip": {"value": null, "collected": false}},
  "external_webhook_url": "http://hooks.test/synthflow", "recording_url": "https://cdn/x.wav",
  "start_time": "2026-11-23T10:00:00Z", "end_time": "2026-11-23T10:01:00Z"},
 "bot": {"integrations": [
   {"name": "auto-all", "url": "http://crm.test/leads/{{crm_id}}/calls?m={{meta.c}}&u={{nope}}"},
   {"name": "auto-some", "method": "put", "url": "http://crm.test/a", "body": {"mode": "auto", "sections": ["call_summary", "data_capture", "call_info"]}, "headers": {"X-Key": "k", "Content-Type": "text/plain"}},
   {"name": "tpl", "method": "PATCH", "url": "http://crm.test/t", "body": {"mode": "template", "template": {"name": "{{data_capture.name}}", "age": "{{data_capture.age}}", "all": "{{structured_output}}", "d": "on {{structured_output.appointment.date}}", "missing": "{{data_capture.nope}}", "emb": "x{{data_capture.nope}}y", "list": ["{{call_info.phone_number}}", 1]}}},
   {"name": "get", "method": "GET", "url": "http://crm.test/g"},
   {"name": "off", "active": false, "url": "http://crm.test/off"},
   {"name": "bad", "method": "TRACE", "url": "http://crm.test/b"},
   "junk"
 ]}}
--- error_code: 200
--- response_body_like eval
qr~\Q"pushes":[{"integration":"auto-all","status":"rendered","reason":null,"request":{"method":"POST","url":"http://crm.test/leads/lead%2042%2Fx/calls?m=7&u={{nope}}","headers":{"Content-Type":"application/json"\E,"webhook-id":"msg_[0-9a-f]{20}"\Q},"body":"{\"call_log_id\":\"c-1\",\"phone_number\":\"+91\",\"agent_name\":\"a1\",\"call_status\":\"picked\",\"call_type\":\"outbound\",\"call_summary\":\"S\",\"data_capture\":{\"name\":\"Asha\",\"age\":31},\"structured_output\":{\"intent\":\"cb\",\"appointment\":{\"date\":\"2026-11-24\"}},\"call_trigger_data\":{\"crm_id\":\"lead 42/x\",\"meta\":{\"c\":7}}}"}},{"integration":"auto-some","status":"rendered","reason":null,"request":{"method":"PUT","url":"http://crm.test/a","headers":{"X-Key":"k","Content-Type":"application/json"\E,"webhook-id":"msg_[0-9a-f]{20}"\Q},"body":"{\"call_log_id\":\"c-1\",\"phone_number\":\"+91\",\"agent_name\":\"a1\",\"call_status\":\"picked\",\"call_type\":\"outbound\",\"call_summary\":\"S\",\"data_capture\":{\"name\":\"Asha\",\"age\":31}}"}},{"integration":"tpl","status":"rendered","reason":null,"request":{"method":"PATCH","url":"http://crm.test/t","headers":{"Content-Type":"application/json"\E,"webhook-id":"msg_[0-9a-f]{20}"\Q},"body":"{\"name\":\"Asha\",\"age\":31,\"all\":{\"intent\":\"cb\",\"appointment\":{\"date\":\"2026-11-24\"}},\"d\":\"on 2026-11-24\",\"missing\":null,\"emb\":\"xy\",\"list\":[\"+91\",1]}"}},{"integration":"get","status":"rendered","reason":null,"request":{"method":"GET","url":"http://crm.test/g","headers":{"Content-Type":"application/json"\E,"webhook-id":"msg_[0-9a-f]{20}"\Q},"body":null}},{"integration":"off","status":"skipped","reason":"the integration is not active","request":null},{"integration":"bad","status":"skipped","reason":"unsupported method: use POST, PUT, PATCH, GET or DELETE","request":null},{"integration":"integration_7","status":"skipped","reason":"the integration is not an object","request":null},{"integration":"external_webhook","status":"rendered","reason":null,"request":{"method":"POST","url":"http://hooks.test/synthflow","headers":{"Content-Type":"application/json"\E,"webhook-id":"msg_[0-9a-f]{20}"\Q},"body":"{\"call\":{\"call_id\":\"c-1\",\"status\":\"picked\",\"end_call_reason\":\"agent_goodbye\",\"duration\":60,\"recording_url\":\"https://cdn/x.wav\",\"transcript\":[{\"role\":\"bot\",\"text\":\"hi\"}],\"direction\":\"outbound\",\"phone_number\":\"+91\",\"agent_name\":\"a1\",\"summary\":\"S\",\"data_capture\":{\"name\":\"Asha\",\"age\":31},\"structured_output\":{\"intent\":\"cb\",\"appointment\":{\"date\":\"2026-11-24\"}},\"trigger_data\":{\"crm_id\":\"lead 42/x\",\"meta\":{\"c\":7}},\"start_time\":\"2026-11-23T10:00:00Z\",\"end_time\":\"2026-11-23T10:01:00Z\"},\"analysis\":{\"persona\":true,\"persona_feedback\":\"\"},\"collected_variables\":{\"email\":{\"value\":\"asha.x.in\",\"collected\":true}}}"}}]}\E$~



=== TEST 2: integrations fire only for picked calls with a transcript
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
[map { "POST /ingest\n" . qq({"call": {"call_id": "c-1", $_}, "bot": {"integrations": [{"name": "crm", "url": "http://crm.test/"}]}}) }
  '"status": "busy", "transcript": [{"role": "bot", "text": "hi"}]',
  '"status": "picked", "transcript": []',
  '"status": "picked"']
--- error_code eval
[202, 202, 202]
--- response_body eval
['{"call_id":"c-1","pushes":[{"integration":"crm","status":"skipped","reason":"the call was not picked"}]}' . "\n",
 '{"call_id":"c-1","pushes":[{"integration":"crm","status":"skipped","reason":"the call has no transcript"}]}' . "\n",
 '{"call_id":"c-1","pushes":[{"integration":"crm","status":"skipped","reason":"the call has no transcript"}]}' . "\n"]



=== TEST 3: bad integration configurations are skipped one by one
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest
{"call": {"call_id": "c-1", "status": "picked", "transcript": [{"role": "bot", "text": "hi"}]},
 "bot": {"integrations": [
   {"name": "no-url"},
   {"name": "bad-headers", "url": "http://crm.test/", "headers": ["X: 1"]},
   {"name": "bad-body", "url": "http://crm.test/", "body": "auto"},
   {"name": "bad-mode", "url": "http://crm.test/", "body": {"mode": "xml"}},
   {"name": "bad-section", "url": "http://crm.test/", "body": {"mode": "auto", "sections": ["everything"]}},
   {"name": "no-template", "url": "http://crm.test/", "body": {"mode": "template"}},
   {"name": "bad-url", "url": "file:///etc/passwd"},
   {"name": "ok", "url": "http://crm.test/"}]}}
--- error_code: 202
--- response_body
{"call_id":"c-1","pushes":[{"integration":"no-url","status":"skipped","reason":"the integration has no url"},{"integration":"bad-headers","status":"skipped","reason":"the integration's headers are not an object"},{"integration":"bad-body","status":"skipped","reason":"the integration's body is not an object"},{"integration":"bad-mode","status":"skipped","reason":"unknown body mode: use auto or template"},{"integration":"bad-section","status":"skipped","reason":"body.sections: unknown section (use call_info, call_summary, data_capture, structured_output, call_trigger_data)"},{"integration":"no-template","status":"skipped","reason":"template mode without a template"},{"integration":"bad-url","status":"skipped","reason":"invalid url: only http and https URLs are pushed"},{"integration":"ok","status":"scheduled","reason":null}]}



=== TEST 4: each method reaches the CRM with its body (none for GET and DELETE)
--- http_config
    log_format crm escape=json '$request_method $request_uri $content_type $http_x_key [$request_body]';
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / {
            access_log logs/crm.log crm;
            rewrite ^ /_ok break;
            proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        }
        location = /_ok { access_log off; return 200; }
    }
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
    location = /_send { internal; proxy_pass $cxbpush_url; }
    location = /crm.log { alias $TEST_NGINX_SERVER_ROOT/logs/crm.log; }
--- request eval
["POST /ingest\n" . q({"call": {"call_id": "c-1", "status": "picked", "transcript": [{"role": "bot", "text": "hi"}], "summary": "S"},
 "bot": {"integrations": [
   {"name": "p", "method": "POST", "url": "http://crm.test/post", "headers": {"X-Key": "k1"}, "body": {"mode": "auto", "sections": ["call_summary"]}},
   {"name": "u", "method": "PUT", "url": "http://crm.test/put", "body": {"mode": "template", "template": {"s": "{{call_summary}}"}}},
   {"name": "a", "method": "PATCH", "url": "http://crm.test/patch", "body": {"mode": "template", "template": [1, "{{call_info.call_log_id}}"]}},
   {"name": "g", "method": "GET", "url": "http://crm.test/get?id={{crm_id}}", "body": {"mode": "template", "template": {"x": 1}}},
   {"name": "d", "method": "DELETE", "url": "http://crm.test/delete"}]}}),
 "GET /crm.log"]
--- error_code eval
[202, 200]
--- response_body_like eval
[qr/"status":"scheduled".*"status":"scheduled".*"status":"scheduled".*"status":"scheduled".*"status":"scheduled"/,
 qr{^(?=.*^POST /post application/json k1 \[\{\\"call_summary\\":\\"S\\"\}\]$)(?=.*^PUT /put application/json  \[\{\\"s\\":\\"S\\"\}\]$)(?=.*^PATCH /patch application/json  \[\[1,\\"c-1\\"\]\]$)(?=.*^GET /get\?id=\{\{crm_id\}\} application/json  \[\]$)(?=.*^DELETE /delete application/json  \[\]$)(?:[^\n]*\n){5}$}ms]



=== TEST 5: one failing integration never stops another; each has its own record
--- http_config
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    upstream down.test { server 127.0.0.1:1; }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location /ok { return 200 "fine"; }
        location /no { return 400 "nope"; }
    }
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_log logs/cxbpush.log;
    }
    location = /_send { internal; proxy_pass $cxbpush_url; }
    location = /log { alias $TEST_NGINX_SERVER_ROOT/logs/cxbpush.log; }
--- request eval
["POST /ingest\n" . q({"call": {"call_id": "c-1", "status": "picked", "transcript": [{"role": "bot", "text": "hi"}],
   "external_webhook_url": "http://crm.test/ok/hook"},
 "bot": {"integrations": [
   {"name": "down", "url": "http://down.test/x"},
   {"name": "rejecting", "url": "http://crm.test/no"},
   {"name": "broken", "url": "http://crm.test/x", "headers": {"X-Bad": "a\nb"}},
   {"name": "fine", "url": "http://crm.test/ok"}]}}),
 "GET /log"]
--- error_code eval
[202, 200]
--- response_body_like eval
[qr/^\Q{"call_id":"c-1","pushes":[{"integration":"down","status":"scheduled","reason":null},{"integration":"rejecting","status":"scheduled","reason":null},{"integration":"broken","status":"skipped","reason":"invalid header value of \"X-Bad\": contains CR, LF, NUL or another control character"},{"integration":"fine","status":"scheduled","reason":null},{"integration":"external_webhook","status":"scheduled","reason":null}]}\E$/,
 qr{^(?=.*^\{[^\n]*"integration":"down","status":"failed","http_status":null,[^\n]*"event":\{"type":"integration",)(?=.*^\{[^\n]*"integration":"rejecting","status":"rejected","http_status":400,"response_body":"nope")(?=.*^\{[^\n]*"integration":"broken","status":"failed","http_status":null)(?=.*^\{[^\n]*"integration":"fine","status":"ok","http_status":200,"response_body":"fine")(?=.*^\{[^\n]*"integration":"external_webhook","status":"ok","http_status":200,[^\n]*"event":\{"type":"external_webhook",)(?:[^\n]*\n){5}$}ms]
--- no_check_leak



=== TEST 6: a push too large to render fails alone; the call's other pushes go on
--- config
    location = /ingest {
        client_max_body_size 16m;
        cxbpush_ingest;
        cxbpush_pass /_send;
    }
--- request eval
my $big = 'x' x (3 * 1024 * 1024);
"POST /ingest?dry_run=1\n"
. qq({"call": {"call_id": "c-1", "status": "picked", "summary": "$big", "transcript": [{"role": "bot", "text": "hi"}]},)
. q( "bot": {"post_call_push": {"url": "http://crm.test/", "key_mapper": {"a": "{{call_summary}}{{call_summary}}{{call_summary}}{{call_summary}}{{call_summary}}{{call_summary}}"}},)
. q( "integrations": [{"name": "small", "url": "http://crm.test/i", "body": {"mode": "template", "template": {"id": "{{call_info.call_log_id}}"}}}]}})
--- error_code: 200
--- response_body_like eval
qr/"pushes":\[\{"integration":"post_call_push","status":"skipped","reason":"the push could not be rendered: larger than 16 MiB, or out of memory","request":null\},\{"integration":"small","status":"rendered","reason":null,"request":\{"method":"POST","url":"http:\/\/crm.test\/i","headers":\{"Content-Type":"application\/json","webhook-id":"msg_[0-9a-f]{20}"\},"body":"\{\\"id\\":\\"c-1\\"\}"\}\}\]\}$/
--- timeout: 20
