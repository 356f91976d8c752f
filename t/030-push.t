# Live pushes through nginx's proxy: what reaches the CRM, classification,
# the integration log, the result sink, secrets and bad headers.

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

=== TEST 1: the CRM receives the push's own method, headers and body, nothing of the ingestion request
--- http_config
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
    location = /_send { internal; proxy_pass $cxbpush_url; }
--- more_headers
Authorization: Basic aW50ZXJuYWw6c2VjcmV0
Cookie: session=platform-internal
X-Internal-Token: do-not-leak
--- request
POST /ingest
{"call": {"call_id": "c-1", "connected_event": {"CUSTOMERID": "C-1001"}},
 "bot": {"post_call_push": {"url": "http://crm.test/api/calls?src=cx",
   "token": "Bearer abc", "key_mapper": {"customer_id": "{{CUSTOMERID}}"}}}}
--- error_code: 202
--- response_body
{"call_id":"c-1","pushes":[{"integration":"post_call_push","status":"scheduled","reason":null}]}
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_query eval
my $q = "POST /api/calls?src=cx HTTP/1.0\r
Host: crm.test\r
Connection: close\r
Content-Length: 24\r
Authorization: Bearer abc\r
Content-Type: application/json\r
webhook-id: MSGID\r
User-Agent: cxbpush/1.0\r
\r
{\"customer_id\":\"C-1001\"}";
my $re = quotemeta $q;
$re =~ s/MSGID/msg_[0-9a-f]{20}/;
qr/\A$re\z/
--- tcp_query_len: 236
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
--- no_check_leak



=== TEST 2: GET sends the rendered key_mapper as query parameters; headers replace the token
--- http_config
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
    location = /_send { internal; proxy_pass $cxbpush_url; }
--- request
POST /ingest
{"call": {"call_id": "c 1", "crm_data": {"policy": {"id": "P-9"}}},
 "bot": {"post_call_push": {"url": "http://crm.test/leads?x=1#frag",
   "method": "get", "token": "Bearer unused", "headers": {"X-Tenant": "acme-{{system.call_id}}", "X-Num": 7},
   "key_mapper": {"id": "{{call_id}}", "policy": "{{crm.policy}}", "n": 5, "e": "{{nope}}"}}}}
--- error_code: 202
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_query eval
my $q = "GET /leads?x=1&id=c%201&policy=%7B%22id%22%3A%22P-9%22%7D&n=5&e= HTTP/1.0\r
Host: crm.test\r
Connection: close\r
X-Tenant: acme-c 1\r
X-Num: 7\r
webhook-id: MSGID\r
User-Agent: cxbpush/1.0\r
\r
";
my $re = quotemeta $q;
$re =~ s/MSGID/msg_[0-9a-f]{20}/;
qr/\A$re\z/
--- tcp_query_len: 205
--- tcp_reply eval
"HTTP/1.1 204 No Content\r\n\r\n"
--- no_check_leak



=== TEST 3: ok, rejected and failed, one line each in the integration log
--- http_config
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location = /ok { return 200 '{"id":1}'; }
        location = /created { return 201; }
        location = /unprocessable { return 422 "bad field"; }
        location = /bad-gateway { return 502 "crm down"; }
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
[(map { "POST /ingest\n"
        . qq({"call": {"call_id": "c-$_", "start_time": "2026-11-23T10:00:00Z"}, "bot": {"bot_id": "b-1",)
        . qq( "post_call_push": {"url": "http://crm.test/$_", "key_mapper": {"k": "v"}}}})
  } qw(ok created unprocessable bad-gateway)),
 "GET /log"]
--- error_code eval
[202, 202, 202, 202, 200]
--- response_body_like eval
[qr/scheduled/, qr/scheduled/, qr/scheduled/, qr/scheduled/,
 qr/^\{"id":"msg_[0-9a-f]{20}","call_id":"c-ok","bot_id":"b-1","integration":"post_call_push","status":"ok","http_status":200,"response_body":"\{\\"id\\":1\}","error":null,"attempt":1,"final":true,"at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","duration_ms":\d+,"request":\{"method":"POST","url":"http:\/\/crm\.test\/ok","headers":\{"Content-Type":"application\/json","webhook-id":"msg_[0-9a-f]{20}"\},"body":"\{\\"k\\":\\"v\\"\}"\},"event":\{"type":"post_call_push","t":[0-9.]+,"status":"ok"\}\}
\{"id":"msg_[0-9a-f]{20}","call_id":"c-created",[^\n]*"status":"ok","http_status":201,"response_body":"",[^\n]*
\{"id":"msg_[0-9a-f]{20}","call_id":"c-unprocessable",[^\n]*"status":"rejected","http_status":422,"response_body":"bad field","error":null,[^\n]*"event":\{"type":"post_call_push","t":[0-9.]+,"status":"rejected"\}\}
\{"id":"msg_[0-9a-f]{20}","call_id":"c-bad-gateway",[^\n]*"status":"rejected","http_status":502,"response_body":"crm down",[^\n]*
$/]
--- no_check_leak



=== TEST 4: a refused connection and a silent CRM are failed, with no HTTP status
--- http_config
    upstream refused.test { server 127.0.0.1:1; }
    upstream silent.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_log logs/cxbpush.log;
    }
    location = /_send {
        internal;
        proxy_pass $cxbpush_url;
        proxy_read_timeout 300ms;
    }
    location = /log { alias $TEST_NGINX_SERVER_ROOT/logs/cxbpush.log; }
--- request eval
["POST /ingest\n" . q({"call": {"call_id": "c-refused"}, "bot": {"post_call_push": {"url": "http://refused.test/crm"}}}),
 "POST /ingest\n" . q({"call": {"call_id": "c-silent"}, "bot": {"post_call_push": {"url": "http://silent.test/crm"}}}),
 "GET /log"]
--- error_code eval
[202, 202, 200]
--- response_body_like eval
[qr/scheduled/, qr/scheduled/,
 qr/^\{[^\n]*"call_id":"c-refused",[^\n]*"status":"failed","http_status":null,"response_body":null,"error":"could not connect to the CRM \(refused, unreachable or TLS failure\)",[^\n]*"event":\{"type":"post_call_push","t":null,"status":"failed"\}\}
\{[^\n]*"call_id":"c-silent",[^\n]*"status":"failed","http_status":null,"response_body":null,"error":"timed out waiting for the CRM",[^\n]*
$/]
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply_delay: 2s
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
--- no_check_leak
--- timeout: 10



=== TEST 5: only the first cxbpush_response_max bytes of a 100 KB answer are kept
--- user_files eval
">>> big.txt\n" . ('0123456789' x 10240)
--- http_config
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { root $TEST_NGINX_SERVER_ROOT/html; }
    }
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_log logs/cxbpush.log;
        cxbpush_response_max 16;
    }
    location = /_send { internal; proxy_pass $cxbpush_url; proxy_buffer_size 4k; proxy_buffers 4 4k; }
    location = /log { alias $TEST_NGINX_SERVER_ROOT/logs/cxbpush.log; }
--- request eval
["POST /ingest\n" . q({"call": {"call_id": "c-1"}, "bot": {"post_call_push": {"url": "http://crm.test/big.txt", "method": "GET"}}}),
 "GET /log"]
--- error_code eval
[202, 200]
--- response_body_like eval
[qr/scheduled/, qr/^\{[^\n]*"status":"ok","http_status":200,"response_body":"0123456789012345","error":null,[^\n]*\n$/]
--- no_check_leak



=== TEST 6: every record reaches cxbpush_result_pass, with the call and integration variables
--- http_config
    log_format records escape=json '$http_x_call $http_x_integration $content_type $request_body';
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200; }
        location = /records {
            access_log logs/records.log records;
            proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/;
        }
    }
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_result_pass /_result;
    }
    location = /_send { internal; proxy_pass $cxbpush_url; }
    location = /_result {
        internal;
        proxy_set_header X-Call $cxbpush_call_id;
        proxy_set_header X-Integration $cxbpush_integration;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/records;
    }
    location = /records.log { alias $TEST_NGINX_SERVER_ROOT/logs/records.log; }
--- request eval
["POST /ingest\n" . q({"call": {"call_id": "c-9", "skip_post_push": true}, "bot": {"post_call_push": {"url": "http://crm.test/"}}}),
 "POST /ingest\n" . q({"call": {"call_id": "c-10"}, "bot": {"post_call_push": {"url": "http://crm.test/crm"}}}),
 "GET /records.log"]
--- error_code eval
[202, 202, 200]
--- response_body_like eval
[qr/^\{"call_id":"c-9","pushes":\[\{"integration":"post_call_push","status":"skipped","reason":"call.skip_post_push is set"\}\]\}$/,
 qr/scheduled/,
 qr/^c-9 post_call_push application\/json \{\\"id\\":\\"msg_[0-9a-f]{20}\\",\\"call_id\\":\\"c-9\\",[^\n]*\\"status\\":\\"skipped\\",\\"http_status\\":null,\\"response_body\\":null,\\"error\\":\\"call.skip_post_push is set\\",[^\n]*
c-10 post_call_push application\/json \{[^\n]*\\"call_id\\":\\"c-10\\",[^\n]*\\"status\\":\\"ok\\",\\"http_status\\":200,[^\n]*
$/]
--- no_check_leak



=== TEST 7: secrets are redacted in the log and never reach the error log
--- http_config
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 401 "no"; }
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
["POST /ingest\n" . q({"call": {"call_id": "c-1"}, "bot": {"post_call_push": {"url": "http://crm.test/crm",
   "headers": {"authorization": "Bearer s3cr3t-token", "X-Api-Key": "k-123456", "Cookie": "sid=c00kie", "Proxy-Authorization": "Basic cHJveHk=", "X-Trace": "t-1"}}}}),
 "GET /log"]
--- error_code eval
[202, 200]
--- response_body_like eval
[qr/scheduled/,
 qr/^(?!.*s3cr3t)(?!.*k-123456)(?!.*c00kie)(?!.*cHJveHk)\{[^\n]*"status":"rejected","http_status":401,[^\n]*"headers":\{"authorization":"\[redacted\]","X-Api-Key":"\[redacted\]","Cookie":"\[redacted\]","Proxy-Authorization":"\[redacted\]","X-Trace":"t-1","Content-Type":"application\/json","webhook-id":"msg_[0-9a-f]{20}"\}/s]
--- no_error_log eval
[qr/\[(?:info|notice|warn|error|crit|alert|emerg)\].*(?:s3cr3t|k-123456|c00kie|cHJveHk)/]
--- no_check_leak



=== TEST 8: a header value with CR/LF fails the push; it is never sent
--- http_config
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200; }
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
["POST /ingest\n" . q({"call": {"call_id": "c-1", "crm_data": {"name": "Asha\r\nX-Injected: 1"}}, "bot": {"post_call_push": {"url": "http://crm.test/crm",
   "headers": {"X-Name": "{{crm.name}}"}}}}),
 "GET /log"]
--- error_code eval
[202, 200]
--- response_body_like eval
[qr/^\Q{"call_id":"c-1","pushes":[{"integration":"post_call_push","status":"skipped","reason":"invalid header value of \"X-Name\": contains CR, LF, NUL or another control character"}]}\E$/,
 qr/^\{[^\n]*"status":"failed","http_status":null,"response_body":null,"error":"invalid header value of \\"X-Name\\": contains CR, LF, NUL or another control character",[^\n]*\n$/]
--- no_error_log
X-Injected
--- no_check_leak



=== TEST 9: bad push configurations skip the push with a reason
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
[map { "POST /ingest\n" . qq({"call": {"call_id": "c-1"}, "bot": {"post_call_push": $_}}) }
  '"https://crm.test/"', '{"method": "POST"}', '{"url": "https://crm.test/", "method": "PATCH"}',
  '{"url": "https://crm.test/", "key_mapper": ["a"]}', '{"url": "https://crm.test/", "headers": "X: 1"}',
  '{"url": "ftp://crm.test/"}', '{"url": "http:///path"}', '{"url": "http://crm test/"}']
--- error_code eval
[202, 202, 202, 202, 202, 202, 202, 202]
--- response_body eval
[map { qq({"call_id":"c-1","pushes":[{"integration":"post_call_push","status":"skipped","reason":"$_"}]}\n) }
  'bot.post_call_push is not an object', 'post_call_push has no url',
  'post_call_push.method must be POST or GET', 'post_call_push.key_mapper is not an object',
  'post_call_push.headers is not an object', 'invalid url: only http and https URLs are pushed',
  'invalid url: no host', 'invalid url: contains a space or control character']



=== TEST 10: a rejected push is reported in the error log
--- http_config
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 502 "crm down"; }
    }
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
    location = /_send { internal; proxy_pass $cxbpush_url; }
--- request
POST /ingest
{"call": {"call_id": "c-502"}, "bot": {"post_call_push": {"url": "http://crm.test/crm"}}}
--- error_code: 202
--- error_log
cxbpush: push "post_call_push" of call "c-502" rejected
--- no_error_log
[error]
[alert]
--- wait: 0.2



=== TEST 11: a refused push is reported in the error log
--- http_config
    upstream refused.test { server 127.0.0.1:1; }
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
    location = /_send { internal; proxy_pass $cxbpush_url; }
--- request
POST /ingest
{"call": {"call_id": "c-refused"}, "bot": {"post_call_push": {"url": "http://refused.test/crm"}}}
--- error_code: 202
--- error_log
cxbpush: push "post_call_push" of call "c-refused" failed: could not connect to the CRM
--- wait: 0.2



=== TEST 12: a push that times out is reported in the error log
--- http_config
    upstream silent.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
    location = /_send { internal; proxy_pass $cxbpush_url; proxy_read_timeout 200ms; }
--- request
POST /ingest
{"call": {"call_id": "c-silent"}, "bot": {"post_call_push": {"url": "http://silent.test/crm"}}}
--- error_code: 202
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply_delay: 1s
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
--- error_log
cxbpush: push "post_call_push" of call "c-silent" failed: timed out waiting for the CRM
--- no_check_leak
--- wait: 0.3



=== TEST 13: $cxbpush_method and $cxbpush_url in the push location
--- http_config
    log_format seen '$http_x_method $http_x_url';
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { access_log logs/seen.log seen; return 200; }
    }
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
    location = /_send {
        internal;
        proxy_set_header X-Method $cxbpush_method;
        proxy_set_header X-Url $cxbpush_url;
        proxy_pass $cxbpush_url;
    }
    location = /seen.log { alias $TEST_NGINX_SERVER_ROOT/logs/seen.log; }
--- request eval
["POST /ingest\n" . q({"call": {"call_id": "c-1"}, "bot": {"post_call_push": {"url": "http://crm.test/a?b=1", "method": "GET", "key_mapper": {"k": "v w"}}}}),
 "GET /seen.log"]
--- error_code eval
[202, 200]
--- response_body eval
['{"call_id":"c-1","pushes":[{"integration":"post_call_push","status":"scheduled","reason":null}]}' . "\n",
 "GET http://crm.test/a?b=1&k=v%20w\n"]
--- no_check_leak



=== TEST 14: a rendered body over cxbpush_body_max fails that push, unsent
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_body_max 32;
    }
--- request eval
["POST /ingest\n" . q({"call": {"call_id": "c-1", "summary": "a summary that is long enough"}, "bot": {"post_call_push": {"url": "http://crm.test/", "key_mapper": {"s": "{{call_summary}}"}}}}),
 "POST /ingest\n" . q({"call": {"call_id": "c-2", "summary": "short"}, "bot": {"post_call_push": {"url": "http://crm.test/", "key_mapper": {"s": "{{call_summary}}"}}}})]
--- error_code eval
[202, 202]
--- response_body eval
['{"call_id":"c-1","pushes":[{"integration":"post_call_push","status":"skipped","reason":"the rendered body (37 bytes) is larger than cxbpush_body_max (32 bytes)"}]}' . "\n",
 '{"call_id":"c-2","pushes":[{"integration":"post_call_push","status":"scheduled","reason":null}]}' . "\n"]
--- no_check_leak
