# Caps on what a push's definition may hold, with clear reasons, and
# rendering cost that stays linear: a 1,000-field key_mapper over a 3 MB
# transcript renders well inside a second.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

no_long_string();
run_tests();

__DATA__

=== TEST 1: a 1,000-field key_mapper over a 3 MB transcript, well inside a second
--- config
    location = /ingest {
        client_max_body_size 16m;
        client_body_buffer_size 16m;
        cxbpush_ingest;
        cxbpush_pass /_send;
    }
    location = /_send { internal; return 204; }
--- request eval
my $turns = CORE::join ',', map { qq({"role":"customer","text":"turn $_ ) . ('y' x 80) . qq("}) } 1 .. 30000;
my $km = CORE::join ',', map { qq("f$_": "{{call_id}}-{{system.call_id}}-$_") } 1 .. 1000;
"POST /ingest?dry_run=1\n"
. qq({"call": {"call_id": "big", "status": "picked", "transcript": [$turns]},)
. qq( "bot": {"post_call_push": {"url": "http://crm.example/x", "key_mapper": {$km}}}})
--- error_code: 200
--- response_body_like eval
qr/"status":"rendered","reason":null,"request":\{"method":"POST","url":"http:\/\/crm\.example\/x","headers":\{"Content-Type":"application\/json","webhook-id":"msg_[0-9a-f]{20}"\},"body":"\{\\"f1\\":\\"big-big-1\\",.*\\"f1000\\":\\"big-big-1000\\"\}"\}/s
--- timeout: 1
--- skip_eval: 1: $ENV{TEST_NGINX_USE_VALGRIND}



=== TEST 2: a template longer than 64 KB skips its push, and only it
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
"POST /ingest?dry_run=1\n"
. qq({"call": {"call_id": "c-1", "status": "picked", "transcript": [{"role":"agent","text":"hi"}]},)
. qq( "bot": {"post_call_push": {"url": "http://crm.example/x", "key_mapper": {"k": ") . ('x' x 70000) . qq("}},)
. qq( "integrations": [{"name": "small", "url": "http://crm.example/s", "method": "POST"}]}})
--- error_code: 200
--- response_body_like eval
qr/"pushes":\[\{"integration":"post_call_push","status":"skipped","reason":"a template of the push is longer than 65536 bytes \(70000\)","request":null\},\{"integration":"small","status":"rendered",/



=== TEST 3: more than 10,000 expressions in one push skip it
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
"POST /ingest?dry_run=1\n"
. qq({"call": {"call_id": "c-1"}, "bot": {"post_call_push": {"url": "http://crm.example/x", "key_mapper": {)
. CORE::join(',', map { qq("k$_": "{{call_id}}{{call_id}}") } 1 .. 5001) . qq(}}}})
--- error_code: 200
--- response_body_like eval
qr/"pushes":\[\{"integration":"post_call_push","status":"skipped","reason":"the push has more than 10000 template expressions \(10002\)","request":null\}\]/



=== TEST 4: exactly 10,000 expressions are fine
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
"POST /ingest?dry_run=1\n"
. qq({"call": {"call_id": "c-1"}, "bot": {"post_call_push": {"url": "http://crm.example/x", "key_mapper": {)
. CORE::join(',', map { qq("k$_": "{{call_id}}{{call_id}}") } 1 .. 5000) . qq(}}}})
--- error_code: 200
--- response_body_like eval
qr/"pushes":\[\{"integration":"post_call_push","status":"rendered","reason":null,/



=== TEST 5: a header value over 8 KB after rendering fails its push
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
"POST /ingest?dry_run=1\n"
. qq({"call": {"call_id": "c-1", "crm_data": {"blob": ") . ('b' x 9000) . qq("}},)
. qq( "bot": {"post_call_push": {"url": "http://crm.example/x", "headers": {"X-Blob": "{{crm.blob}}"}}}})
--- error_code: 200
--- response_body_like eval
qr/"pushes":\[\{"integration":"post_call_push","status":"skipped","reason":"header \\"X-Blob\\" is too large \(names up to 256 bytes, values up to 8192\)","request":null\}\]/



=== TEST 6: a header name over 256 bytes fails its push
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
"POST /ingest?dry_run=1\n"
. qq({"call": {"call_id": "c-1"}, "bot": {"post_call_push": {"url": "http://crm.example/x", "headers": {") . ('H' x 300) . qq(": "v"}}}})
--- error_code: 200
--- response_body_like eval
qr/"pushes":\[\{"integration":"post_call_push","status":"skipped","reason":"header \\"H{64}\\" is too large \(names up to 256 bytes, values up to 8192\)","request":null\}\]/
