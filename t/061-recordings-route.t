# The public recordings route without an object store: sealed tokens,
# lookup tokens, a local directory behind an alias location, traversal
# attempts, methods.  Tokens are literals minted once with the core
# (cxb_token_seal) under the secrets below: they must never change.
#
#   secret 0123456789abcdef-test-secret
#     calls/c-1.wav       Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
#     calls/2026/11/c-7f3a.wav
#         ARoTkMXpbX_a0Y1UqqhUbJqkdWP_7hUtSaUqEfEd0VTbNVHb3duckUjdZ5QmHAdCq5O5kbU
#     ../secret.txt       ATjSOWBMBnGrADkySpph_mEhsEms66fzYpHQOnF5ibMfjEivzq-Opq1Q
#     /etc/passwd         AU09XYNRT_1XNr2YwlZi98bGyzdAPhbswlvPqBlAVV22O8jJhP5zuw
#     calls/./c-1.wav     ATdtO6iVHmy37AM9Mu2a602Zv9USkBBFNjZRwmmru8DTkG8WiVxNFgReSjg
#     calls/x/../c-1.wav  AR4PlIh95UBiQyyTZOlCxtg3drJ5CmYRj9w-By1Rgxf3WKsv8zg42NE0hRQSCpw
#     calls/a\x01b.wav    AWEZ3VEvHqxmlJx1TboFZ6k11mkSJPg_0s-uuSp4sWsCd3GLKfYx2Rqt
#     .                   AT79RnkwGXv2_BSoU5CMMwfMMrqJOhYfNAd7wqrq
#   secret rotated-secret-0123456789
#     calls/c-1.wav       Abkbs3_-CKXHyRAtK70AySoL_E9YNQJc2abf5zSz_OwVw7tHd91XGFM5
#   secret another-unknown-secret-xyz (configured nowhere)
#     calls/c-1.wav       AXN4Kvi-7jw4FehkaSqPVzx7YGoh02SP_hgIKhpR7yaG8VUn5u6R9Qi8

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

use FindBin ();

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

# t/recordings/: the sample recording (also the demo's, conf/examples/)
$ENV{TEST_NGINX_RECORDINGS_DIR} ||= "$FindBin::Bin/recordings";

# nginx must survive every block without alerts
add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->no_error_log && !defined $block->must_die) {
        $block->set_value("no_error_log", "[alert]\n[crit]\n[emerg]");
    }
});

no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a sealed token serves the file from a local directory
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }
--- user_files
>>> recs/calls/c-1.wav
RIFF recording of call c-1
>>> secret.txt
TOP SECRET
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- error_code: 200
--- response_body
RIFF recording of call c-1



=== TEST 2: HEAD of a sealed token: headers only
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }
--- user_files
>>> recs/calls/c-1.wav
RIFF recording of call c-1
--- request
HEAD /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- error_code: 200
--- response_headers
Content-Length: 27
--- response_body



=== TEST 3: Range on a local recording
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }
--- user_files
>>> recs/calls/c-1.wav
RIFF recording of call c-1
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- more_headers
Range: bytes=5-13
--- error_code: 206
--- response_headers
Content-Range: bytes 5-13/27
--- response_body chomp
recording



=== TEST 4: the minted token is the one the route opens (same key, same token)
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    cxbpush_public_base_url http://rec.example;

    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }

    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }
--- user_files
>>> recs/calls/2026/11/c-7f3a.wav
c-7f3a audio
--- pipelined_requests eval
["POST /ingest?dry_run=1
{\"call\": {\"call_id\": \"c-7f3a\", \"recording_key\": \"calls/2026/11/c-7f3a.wav\"}}",
"POST /ingest?dry_run=1
{\"call\": {\"call_id\": \"other\", \"recording_key\": \"calls/2026/11/c-7f3a.wav\", \"recording_url\": \"s3://x/y\"}}",
"GET /api/v1/public/recordings/ARoTkMXpbX_a0Y1UqqhUbJqkdWP_7hUtSaUqEfEd0VTbNVHb3duckUjdZ5QmHAdCq5O5kbU"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr{"recording_url":"http://rec\.example/api/v1/public/recordings/ARoTkMXpbX_a0Y1UqqhUbJqkdWP_7hUtSaUqEfEd0VTbNVHb3duckUjdZ5QmHAdCq5O5kbU"},
qr{"recording_url":"http://rec\.example/api/v1/public/recordings/ARoTkMXpbX_a0Y1UqqhUbJqkdWP_7hUtSaUqEfEd0VTbNVHb3duckUjdZ5QmHAdCq5O5kbU"},
qr{^c-7f3a audio$}]



=== TEST 5: a token with percent-escaped characters and a query string
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }
--- user_files
>>> recs/calls/c-1.wav
RIFF recording of call c-1
--- request
GET /api/v1/public/recordings/%41b4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez?download=1
--- error_code: 200
--- response_body
RIFF recording of call c-1



=== TEST 6: rotation: the first secret mints, every secret opens
--- http_config
    cxbpush_token_secret rotated-secret-0123456789;
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    cxbpush_public_base_url http://rec.example;

    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }

    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }
--- user_files
>>> recs/calls/c-1.wav
RIFF recording of call c-1
--- pipelined_requests eval
["POST /ingest?dry_run=1
{\"call\": {\"call_id\": \"c-1\", \"recording_key\": \"calls/c-1.wav\"}}",
"GET /api/v1/public/recordings/Abkbs3_-CKXHyRAtK70AySoL_E9YNQJc2abf5zSz_OwVw7tHd91XGFM5",
"GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez",
"GET /api/v1/public/recordings/AXN4Kvi-7jw4FehkaSqPVzx7YGoh02SP_hgIKhpR7yaG8VUn5u6R9Qi8"]
--- error_code eval
[200, 200, 200, 404]
--- response_body_like eval
[qr{"recording_url":"http://rec\.example/api/v1/public/recordings/Abkbs3_-CKXHyRAtK70AySoL_E9YNQJc2abf5zSz_OwVw7tHd91XGFM5"},
qr{^RIFF recording of call c-1$},
qr{^RIFF recording of call c-1$},
qr{404 Not Found}]



=== TEST 7: after rotation, tokens of a removed secret no longer open
--- http_config
    cxbpush_token_secret rotated-secret-0123456789;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }
--- user_files
>>> recs/calls/c-1.wav
RIFF recording of call c-1
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- error_code: 404



=== TEST 8: forged, truncated, garbage, oversized and empty tokens: 404
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }

    location = /ok { return 200 "still alive\n"; }
--- user_files
>>> recs/calls/c-1.wav
RIFF recording of call c-1
--- pipelined_requests eval
[
# one character changed in the middle, in the tag, in the version byte
"GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_2GtDpEhze0jm3ol-S4E0M2RnTsziez",
"GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziea",
"GET /api/v1/public/recordings/Bb4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez",
# truncated by one and by four characters
"GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTszie",
"GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnT",
# one character too many, padding, standard base64 characters
"GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziezA",
"GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez%3D",
"GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy%2F1GtDpEhze0jm3ol%2BS4E0M2RnTsziez",
# garbage
"GET /api/v1/public/recordings/not-a-token",
"GET /api/v1/public/recordings/%01%02%ff",
"GET /api/v1/public/recordings/" . ("A" x 40),
# oversized: past the longest sealed token (1404 characters), and far past
"GET /api/v1/public/recordings/" . ("A" x 1405),
"GET /api/v1/public/recordings/" . ("Ab4qEjrXOI5a" x 500),
# empty
"GET /api/v1/public/recordings/",
"GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez/",
"GET /ok"]
--- error_code eval
[(404) x 15, 200]
--- response_body_like eval
[(qr/404 Not Found/) x 15, qr/^still alive$/]



=== TEST 9: valid sealed tokens of keys that could leave the directory: 404
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }
--- user_files
>>> recs/calls/c-1.wav
RIFF recording of call c-1
>>> secret.txt
TOP SECRET
--- pipelined_requests eval
["GET /api/v1/public/recordings/ATjSOWBMBnGrADkySpph_mEhsEms66fzYpHQOnF5ibMfjEivzq-Opq1Q",
"GET /api/v1/public/recordings/AU09XYNRT_1XNr2YwlZi98bGyzdAPhbswlvPqBlAVV22O8jJhP5zuw",
"GET /api/v1/public/recordings/ATdtO6iVHmy37AM9Mu2a602Zv9USkBBFNjZRwmmru8DTkG8WiVxNFgReSjg",
"GET /api/v1/public/recordings/AR4PlIh95UBiQyyTZOlCxtg3drJ5CmYRj9w-By1Rgxf3WKsv8zg42NE0hRQSCpw",
"GET /api/v1/public/recordings/AWEZ3VEvHqxmlJx1TboFZ6k11mkSJPg_0s-uuSp4sWsCd3GLKfYx2Rqt",
"GET /api/v1/public/recordings/AT79RnkwGXv2_BSoU5CMMwfMMrqJOhYfNAd7wqrq"]
--- error_code eval
[(404) x 6]
--- response_body_unlike eval
[(qr/TOP SECRET|RIFF/) x 6]
--- no_error_log
[alert]
[crit]
cxbpush recordings: pass to



=== TEST 9b: a refused key is logged (without the key)
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }
--- request
GET /api/v1/public/recordings/ATjSOWBMBnGrADkySpph_mEhsEms66fzYpHQOnF5ibMfjEivzq-Opq1Q
--- error_code: 404
--- error_log
cxbpush: refused a recording key with a "." or ".." segment, a leading "/", a control character or over 1024 bytes
--- no_error_log eval
[qr/\[warn\].*secret\.txt/, "[alert]"]



=== TEST 9c: a NUL in the URL is refused by nginx itself (400), nginx unharmed
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }
--- request
GET /api/v1/public/recordings/Ab4q%00EjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- error_code: 400



=== TEST 10: no token is minted for a key the route would refuse
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    cxbpush_public_base_url http://rec.example;

    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- pipelined_requests eval
["POST /ingest?dry_run=1
{\"call\": {\"call_id\": \"c-1\", \"recording_key\": \"../secret.txt\"}}",
"POST /ingest?dry_run=1
{\"call\": {\"call_id\": \"c-1\", \"recording_key\": \"/etc/passwd\", \"recording_url\": \"https://cdn.example/c-1.wav\"}}",
"POST /ingest?dry_run=1
{\"call\": {\"call_id\": \"c-1\", \"recording_key\": \"calls/\\u0001.wav\"}}"]
--- response_body_like eval
[qr{"result":\{"call_id":"c-1","recording_url":""},
qr{"result":\{"call_id":"c-1","recording_url":"https://cdn\.example/c-1\.wav"},
qr{"result":\{"call_id":"c-1","recording_url":""}]



=== TEST 11: POST, PUT, DELETE and OPTIONS: 405, body discarded, keepalive kept
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }
--- user_files
>>> recs/calls/c-1.wav
RIFF recording of call c-1
--- pipelined_requests eval
["POST /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
a body that must be discarded",
"PUT /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
another body",
"DELETE /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez",
"OPTIONS /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez",
"GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez"]
--- error_code eval
[405, 405, 405, 405, 200]
--- response_body_like eval
[qr/405 Not Allowed/, qr/405 Not Allowed/, qr/405 Not Allowed/,
 qr/405 Not Allowed/, qr/^RIFF recording of call c-1$/]



=== TEST 12: 405 answers name the allowed methods
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }
--- request
POST /api/v1/public/recordings/anything
{"a": 1}
--- error_code: 405
--- response_headers
Allow: GET, HEAD



=== TEST 13: a GET with a body still works (the body is discarded)
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }
--- user_files
>>> recs/calls/c-1.wav
RIFF recording of call c-1
--- pipelined_requests eval
["GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
ignored body",
"GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez"]
--- response_body_like eval
[qr/^RIFF recording of call c-1$/, qr/^RIFF recording of call c-1$/]



=== TEST 14: the recordings pass location is internal
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }
--- user_files
>>> recs/calls/c-1.wav
RIFF recording of call c-1
--- request
GET /_local/calls/c-1.wav
--- error_code: 404



=== TEST 15: lookup tokens: hit, miss, keys with spaces; sealed tokens still native
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;

    map $arg_token $rec_key {
        default     "";
        tok_hit     "calls/c-1.wav";
        tok_space   "calls/with space.wav";
    }
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
        cxbpush_recordings_lookup /_lookup;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/lookup-api;
    }

    location = /lookup-api {
        access_log off;
        if ($rec_key = "") { return 404; }
        add_header X-Recording-Key $rec_key;
        return 200;
    }
--- user_files eval
[["recs/calls/c-1.wav", "RIFF recording of call c-1\n"],
 ["recs/calls/with space.wav", "spaced out\n"]]
--- pipelined_requests eval
["GET /api/v1/public/recordings/tok_hit",
"GET /api/v1/public/recordings/tok_space",
"GET /api/v1/public/recordings/tok_miss",
"GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez"]
--- error_code eval
[200, 200, 404, 200]
--- response_body_like eval
[qr/^RIFF recording of call c-1$/, qr/^spaced out$/, qr/404 Not Found/,
 qr/^RIFF recording of call c-1$/]



=== TEST 15b: HEAD of a lookup token
--- http_config
    map $arg_token $rec_key {
        default     "";
        tok_hit     "calls/c-1.wav";
    }
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
        cxbpush_recordings_lookup /_lookup;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/lookup-api;
    }

    location = /lookup-api {
        if ($rec_key = "") { return 404; }
        add_header X-Recording-Key $rec_key;
        return 200;
    }
--- user_files
>>> recs/calls/c-1.wav
RIFF recording of call c-1
--- request
HEAD /api/v1/public/recordings/tok_hit
--- error_code: 200
--- response_headers
Content-Length: 27
--- response_body



=== TEST 16: the lookup gets the token escaped, the configured arguments, and nothing of the client
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_echo/;
        cxbpush_recordings_lookup /_lookup?tenant=acme;
    }

    location /_echo/ {
        internal;
        return 200 "key: $uri\n";
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/lookup-api;
    }

    location = /lookup-api {
        access_log off;
        add_header X-Recording-Key "m=$request_method args=$args auth=$http_authorization cookie=$http_cookie ct=$http_content_type cl=$http_content_length xf=$http_x_forwarded_for";
        return 200;
    }
--- request
GET /api/v1/public/recordings/a%20b%2Bc%26d%3De%2Ff%C3%A9?x=1
abc
--- more_headers
Authorization: Bearer client-credential
Cookie: session=client-cookie
Content-Type: text/plain
X-Forwarded-For: 10.9.8.7
--- error_code: 200
--- response_body
key: /_echo/m=GET args=tenant=acme&token=a%20b%2Bc%26d%3De%2Ff%C3%A9 auth= cookie= ct= cl= xf=



=== TEST 17: a lookup that answers 200 without X-Recording-Key: 502
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
        cxbpush_recordings_lookup /_lookup;
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/lookup-api;
    }

    location = /lookup-api {
        return 200 "found it, but no header\n";
    }
--- request
GET /api/v1/public/recordings/tok_123
--- error_code: 502
--- error_log
cxbpush: recording lookup "/_lookup" answered 200 without an "X-Recording-Key" header



=== TEST 18: a lookup that fails with 500: 502
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
        cxbpush_recordings_lookup /_lookup;
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/lookup-api;
    }

    location = /lookup-api {
        return 500;
    }
--- request
GET /api/v1/public/recordings/tok_123
--- error_code: 502
--- error_log
cxbpush: recording lookup "/_lookup" failed (status 500)



=== TEST 19: a lookup service that is down: 502, nothing leaks to the client
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
        cxbpush_recordings_lookup /_lookup;
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:1/lookup-api;
    }

    location = /ok { return 200 "still alive\n"; }
--- request
GET /api/v1/public/recordings/tok_123
--- error_code: 502
--- response_body_like: 502 Bad Gateway
--- error_log
connect() failed (111: Connection refused)
cxbpush: recording lookup "/_lookup" failed (status 502)



=== TEST 19b: the next request on the connection is fine
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
        cxbpush_recordings_lookup /_lookup;
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:1/lookup-api;
    }

    location = /ok { return 200 "still alive\n"; }
--- pipelined_requests eval
["GET /api/v1/public/recordings/tok_123", "GET /ok"]
--- error_code eval
[502, 200]
--- response_body_like eval
[qr/502 Bad Gateway/, qr/^still alive$/]



=== TEST 20: a lookup that times out: 502
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
        cxbpush_recordings_lookup /_lookup;
    }

    location = /_lookup {
        internal;
        proxy_read_timeout 200ms;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/lookup-api;
    }
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_no_close
--- tcp_reply_delay: 1s
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nX-Recording-Key: calls/c-1.wav\r\nContent-Length: 0\r\n\r\n"
--- request
GET /api/v1/public/recordings/tok_slow
--- error_code: 502
--- error_log
upstream timed out
cxbpush: recording lookup "/_lookup" failed (status 504)



=== TEST 21: lookup answers 404, 410 and 403 all mean no such token: 404
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
        cxbpush_recordings_lookup /_lookup;
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/lookup-api;
    }

    location = /lookup-api {
        if ($arg_token = gone) { return 410; }
        if ($arg_token = denied) { return 403; }
        return 404;
    }
--- pipelined_requests eval
["GET /api/v1/public/recordings/missing",
"GET /api/v1/public/recordings/gone",
"GET /api/v1/public/recordings/denied"]
--- error_code eval
[404, 404, 404]
--- no_error_log
[error]
[alert]



=== TEST 22: traversal keys named by the lookup are never redirected
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;

    map $arg_token $rec_key {
        default     "";
        t1          "../secret.txt";
        t2          "calls/../../secret.txt";
        t3          "..";
        t4          "calls/..";
        t5          "./secret.txt";
        t6          "calls/./c-1.wav";
        t7          "/etc/passwd";
        t8          "/secret.txt";
        t9          ".";
        t10         "calls/../c-1.wav";
    }
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
        cxbpush_recordings_lookup /_lookup;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/lookup-api;
    }

    location = /lookup-api {
        access_log off;
        add_header X-Recording-Key $rec_key;
        return 200;
    }
--- user_files
>>> recs/calls/c-1.wav
RIFF recording of call c-1
>>> secret.txt
TOP SECRET
--- pipelined_requests eval
[map { "GET /api/v1/public/recordings/t$_" } 1 .. 10]
--- error_code eval
[(404) x 10]
--- response_body_unlike eval
[(qr/TOP SECRET|RIFF/) x 10]
--- no_error_log
cxbpush recordings: pass to
[alert]



=== TEST 23: keys with escapes are taken literally, never decoded into a traversal
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;

    map $arg_token $rec_key {
        default     "";
        t1          "%2e%2e/secret.txt";
        t2          "calls%2f..%2f..%2fsecret.txt";
        t3          "..%2fsecret.txt";
    }
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
        cxbpush_recordings_lookup /_lookup;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/lookup-api;
    }

    location = /lookup-api {
        access_log off;
        add_header X-Recording-Key $rec_key;
        return 200;
    }
--- user_files
>>> recs/calls/c-1.wav
RIFF recording of call c-1
>>> secret.txt
TOP SECRET
--- pipelined_requests eval
[map { "GET /api/v1/public/recordings/t$_" } 1 .. 3]
--- error_code eval
[(404) x 3]
--- response_body_unlike eval
[(qr/TOP SECRET/) x 3]
--- no_error_log
[alert]
[crit]



=== TEST 24: a key with a control character from the lookup is refused
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
        cxbpush_recordings_lookup /_lookup;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/lookup-api;
    }
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nX-Recording-Key: calls/c-1.wav\x01\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
--- request
GET /api/v1/public/recordings/tok_ctrl
--- error_code: 404
--- error_log
cxbpush: refused a recording key



=== TEST 25: traversal in the public URL itself goes nowhere
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_local/;
    }

    location /_local/ {
        internal;
        alias $TEST_NGINX_HTML_DIR/recs/;
    }
--- user_files
>>> recs/calls/c-1.wav
RIFF recording of call c-1
>>> secret.txt
TOP SECRET
--- pipelined_requests eval
["GET /api/v1/public/recordings/..%2f..%2fsecret.txt",
"GET /api/v1/public/recordings/%2e%2e",
"GET /api/v1/public/recordings/calls%2fc-1.wav"]
--- error_code eval
[404, 404, 404]
--- response_body_unlike eval
[(qr/TOP SECRET|RIFF/) x 3]



=== TEST 26: redirect mode: 302 to a short-lived presigned URL, never cached
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_redirect on;
    }
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- error_code: 302
--- response_headers_like
Location: http://127\.0\.0\.1:9000/recordings/calls/c-1\.wav\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=minio%2F\d{8}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=\d{8}T\d{6}Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=[0-9a-f]{64}
Cache-Control: no-store
--- no_error_log
minio-secret
[alert]



=== TEST 27: redirect mode: expires= shorter than 5 minutes wins
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret
               expires=90s;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_redirect on;
    }
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- error_code: 302
--- response_headers_like
Location: .*&X-Amz-Expires=90&.*



=== TEST 28: redirect mode with a lookup token; unresolved tokens: 404, no Location
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_redirect on;
        cxbpush_recordings_lookup /_lookup;
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/lookup-api;
    }

    location = /lookup-api {
        if ($arg_token != tok_1) { return 404; }
        add_header X-Recording-Key "calls/with space+plus.wav";
        return 200;
    }
--- pipelined_requests eval
["GET /api/v1/public/recordings/tok_1",
"GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez"]
--- error_code eval
[302, 404]
--- raw_response_headers_like eval
[qr{\r\nLocation: http://127\.0\.0\.1:9000/recordings/calls/with%20space%2Bplus\.wav\?X-Amz-Algorithm=},
qr{^(?!.*\r\nLocation:)}s]



=== TEST 29: $cxbpush_recording_url is the presigned URL of the resolved key
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
    }

    location /_recording/ {
        internal;
        return 200 "$cxbpush_recording_url\n";
    }
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- error_code: 200
--- response_body_like: ^http://127\.0\.0\.1:9000/recordings/calls/c-1\.wav\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=minio%2F\d{8}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=\d{8}T\d{6}Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=[0-9a-f]{64}$



=== TEST 30: $cxbpush_recording_url of the pass location's own store
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
    }

    location /_recording/ {
        internal;
        cxbpush_s3 endpoint=https://store.example bucket=b region=r
                   access_key=k secret_key=s;
        return 200 "$cxbpush_recording_url\n";
    }
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- response_body_like: ^https://store\.example/b/calls/c-1\.wav\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=k%2F\d{8}%2Fr%2Fs3%2Faws4_request&



=== TEST 31: $cxbpush_recording_url without any cxbpush_s3: empty, logged
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
    }

    location /_recording/ {
        internal;
        return 200 "url=[$cxbpush_recording_url] uri=$uri\n";
    }
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- response_body
url=[] uri=/_recording/calls/c-1.wav
--- error_log
cxbpush: "$cxbpush_recording_url" requires "cxbpush_s3"



=== TEST 32: $cxbpush_recording_url outside the route is empty
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret;
--- config
    location = /t {
        return 200 "url=[$cxbpush_recording_url]\n";
    }
--- request
GET /t
--- response_body
url=[]
--- no_error_log
[error]
[alert]



=== TEST 33: a pass location that does not exist answers 404
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_nowhere/;
    }
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- error_code: 404



=== TEST 34: the sample WAV from a directory, by sealed token and by lookup token
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
        cxbpush_recordings_lookup /_lookup;
    }

    location /_recording/ {
        internal;
        alias $TEST_NGINX_RECORDINGS_DIR/;
        types { audio/wav wav; }
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/lookup-api;
    }

    location = /lookup-api {
        if ($arg_token != tok_c7f3a) { return 404; }
        add_header X-Recording-Key calls/2026/11/c-7f3a.wav;
        return 200;
    }
--- pipelined_requests eval
["GET /api/v1/public/recordings/ARoTkMXpbX_a0Y1UqqhUbJqkdWP_7hUtSaUqEfEd0VTbNVHb3duckUjdZ5QmHAdCq5O5kbU",
"GET /api/v1/public/recordings/tok_c7f3a"]
--- error_code eval
[200, 200]
--- response_headers eval
["Content-Type: audio/wav\nContent-Length: 8044",
 "Content-Type: audio/wav\nContent-Length: 8044"]
--- response_body_like eval
[qr/^RIFF.{4}WAVEfmt /s, qr/^RIFF.{4}WAVEfmt /s]



=== TEST 35: Range on the sample WAV: its header only
--- http_config
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
    }

    location /_recording/ {
        internal;
        alias $TEST_NGINX_RECORDINGS_DIR/;
    }
--- request
GET /api/v1/public/recordings/ARoTkMXpbX_a0Y1UqqhUbJqkdWP_7hUtSaUqEfEd0VTbNVHb3duckUjdZ5QmHAdCq5O5kbU
--- more_headers
Range: bytes=8-11
--- error_code: 206
--- response_headers
Content-Range: bytes 8-11/8044
--- response_body chomp
WAVE

