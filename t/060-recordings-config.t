# Recordings: configuration of cxbpush_s3, cxbpush_token_secret and the
# recordings route.  Every bad configuration is refused at start-up with a
# message naming the culprit, and no secret ever reaches the error log.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a complete cxbpush_s3 is accepted; expires defaults to 7 days
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret;
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "recording_url": "s3://recordings/calls/c-1.wav"}}
--- response_body_like: "recording_url":"http://127\.0\.0\.1:9000/recordings/calls/c-1\.wav\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=minio%2F\d{8}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=\d{8}T\d{6}Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=[0-9a-f]{64}"
--- no_error_log
minio-secret



=== TEST 2: expires= takes nginx time units
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret
               expires=1h30m;
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "recording_url": "s3://recordings/calls/c-1.wav"}}
--- response_body_like: &X-Amz-Expires=5400&



=== TEST 3: expires=7d is the maximum and accepted
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret
               expires=7d;
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "recording_url": "s3://recordings/calls/c-1.wav"}}
--- response_body_like: &X-Amz-Expires=604800&



=== TEST 4: expires over 7 days is refused
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret
               expires=8d;
--- config
--- must_die
--- error_log
"cxbpush_s3" value "expires=8d" exceeds 7 days, the longest a presigned URL can be valid



=== TEST 5: expires=0 is refused
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret
               expires=0;
--- config
--- must_die
--- error_log
invalid "cxbpush_s3" value "expires=0"



=== TEST 6: expires that is not a time is refused
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret
               expires=soon;
--- config
--- must_die
--- error_log
invalid "cxbpush_s3" value "expires=soon"



=== TEST 7: a missing bucket is refused
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 region=us-east-1
               access_key=minio secret_key=minio-secret;
--- config
--- must_die
--- error_log
"cxbpush_s3" requires "endpoint=", "bucket=", "region=" and "access_key="



=== TEST 8: an unknown parameter is refused, by name
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bukket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret;
--- config
--- must_die
--- error_log
unknown "cxbpush_s3" parameter "bukket"



=== TEST 8b: a parameter without "name=" is refused without being printed
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio wJalrXUtnFEMIK7MDENG;
--- config
--- must_die
--- error_log
"cxbpush_s3" parameter 5 is not "name=value"
--- no_error_log
wJalrXUtnFEMIK7MDENG



=== TEST 9: a repeated parameter is refused
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=a bucket=b
               region=us-east-1 access_key=minio secret_key=minio-secret;
--- config
--- must_die
--- error_log
duplicate "cxbpush_s3" parameter "bucket"



=== TEST 10: secret_key= and secret_key_file= together are refused
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret
               secret_key_file=/dev/null;
--- config
--- must_die
--- error_log
"cxbpush_s3" requires exactly one of "secret_key=" and "secret_key_file="
--- no_error_log
minio-secret



=== TEST 11: no secret at all is refused
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio;
--- config
--- must_die
--- error_log
"cxbpush_s3" requires exactly one of "secret_key=" and "secret_key_file="



=== TEST 12: an endpoint that is not http(s) is refused
--- http_config
    cxbpush_s3 endpoint=ftp://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret;
--- config
--- must_die
--- error_log
invalid "cxbpush_s3" value "endpoint=ftp://127.0.0.1:9000", it must be "http://" or "https://", a host and an optional port, without a path



=== TEST 13: an endpoint with a path is refused
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000/minio bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret;
--- config
--- must_die
--- error_log
invalid "cxbpush_s3" value "endpoint=http://127.0.0.1:9000/minio"



=== TEST 14: a bucket name with a slash is refused
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=rec/ordings
               region=us-east-1 access_key=minio secret_key=minio-secret;
--- config
--- must_die
--- error_log
invalid "cxbpush_s3" value "bucket=rec/ordings"



=== TEST 15: an empty region is refused
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings region=
               access_key=minio secret_key=minio-secret;
--- config
--- must_die
--- error_log
invalid "cxbpush_s3" value "region="



=== TEST 16: an access key with a slash is refused without being printed
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=AKIA/SECRETISH secret_key=s;
--- config
--- must_die
--- error_log
invalid "cxbpush_s3" "access_key=": 1 to 128 visible characters other than "/"
--- no_error_log
AKIA/SECRETISH



=== TEST 17: an empty secret key is refused
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=;
--- config
--- must_die
--- error_log
invalid "cxbpush_s3" secret key: 1 to 256 bytes



=== TEST 18: style= other than path or virtual is refused
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret
               style=diagonal;
--- config
--- must_die
--- error_log
invalid "cxbpush_s3" value "style=diagonal", it must be "path" or "virtual"



=== TEST 19: style=virtual needs a host name
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret
               style=virtual;
--- config
--- must_die
--- error_log
"cxbpush_s3" "style=virtual" requires an endpoint with a host name, not "http://127.0.0.1:9000"



=== TEST 20: style=virtual puts the bucket into the host
--- http_config
    cxbpush_s3 endpoint=https://s3.eu-west-1.amazonaws.com bucket=recordings
               region=eu-west-1 access_key=AKIAEXAMPLE secret_key=secret
               style=virtual;
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "recording_url": "calls/c-1.wav"}}
--- response_body_like: "recording_url":"https://recordings\.s3\.eu-west-1\.amazonaws\.com/calls/c-1\.wav\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F\d{8}%2Feu-west-1%2Fs3%2Faws4_request&



=== TEST 21: cxbpush_s3 twice at one level is refused
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=a region=us-east-1
               access_key=minio secret_key=minio-secret;
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=b region=us-east-1
               access_key=minio secret_key=minio-secret;
--- config
--- must_die
--- error_log
"cxbpush_s3" directive is duplicate



=== TEST 22: a location's cxbpush_s3 overrides the server's
--- config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=outer region=us-east-1
               access_key=minio secret_key=minio-secret;

    location = /ingest {
        cxbpush_s3 endpoint=http://127.0.0.1:9001 bucket=inner
                   region=us-east-1 access_key=minio secret_key=minio-secret;
        cxbpush_ingest;
        cxbpush_pass /_send;
    }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "recording_url": "calls/c-1.wav"}}
--- response_body_like: "recording_url":"http://127\.0\.0\.1:9001/inner/calls/c-1\.wav\?



=== TEST 23: secret_key_file= reads the secret, trailing newline dropped
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio
               secret_key_file=$TEST_NGINX_HTML_DIR/s3.secret;
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- user_files
>>> s3.secret
file-secret-value
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "recording_url": "calls/c-1.wav"}}
--- response_body_like: "recording_url":"http://127\.0\.0\.1:9000/recordings/calls/c-1\.wav\?X-Amz-Algorithm
--- no_error_log
file-secret-value



=== TEST 24: a missing secret_key_file= is refused
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio
               secret_key_file=$TEST_NGINX_HTML_DIR/nonexistent.secret;
--- config
--- must_die
--- error_log eval
qr/"cxbpush_s3": open\(\) ".*nonexistent\.secret" failed \(2: No such file or directory\)/



=== TEST 25: an empty secret_key_file= is refused
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio
               secret_key_file=$TEST_NGINX_HTML_DIR/empty.secret;
--- config
--- user_files
>>> empty.secret

--- must_die
--- error_log eval
qr/"cxbpush_s3": the secret file ".*empty\.secret" is empty/



=== TEST 26: a secret_key_file= that is too large is refused, unprinted
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio
               secret_key_file=$TEST_NGINX_HTML_DIR/big.secret;
--- config
--- user_files eval
">>> big.secret\n" . ("LEAKED" x 1000) . "\n"
--- must_die
--- error_log eval
qr/"cxbpush_s3": the secret file ".*big\.secret" is larger than 4096 bytes/
--- no_error_log
LEAKED



=== TEST 27: a secret key over 256 bytes is refused, unprinted
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio
               secret_key_file=$TEST_NGINX_HTML_DIR/long.secret;
--- config
--- user_files eval
">>> long.secret\n" . ("LONGSECRET" x 30) . "\n"
--- must_die
--- error_log
invalid "cxbpush_s3" secret key: 1 to 256 bytes
--- no_error_log
LONGSECRET



=== TEST 28: a token secret shorter than 16 bytes is refused, unprinted
--- http_config
    cxbpush_token_secret tooshort-secret;
--- config
--- must_die
--- error_log
"cxbpush_token_secret" must be at least 16 bytes long
--- no_error_log
tooshort-secret



=== TEST 29: a short token secret in a file is refused too
--- http_config
    cxbpush_token_secret file=$TEST_NGINX_HTML_DIR/token.secret;
--- config
--- user_files
>>> token.secret
short-secret

--- must_die
--- error_log
"cxbpush_token_secret" must be at least 16 bytes long
--- no_error_log
short-secret



=== TEST 30: a missing token secret file is refused
--- http_config
    cxbpush_token_secret file=$TEST_NGINX_HTML_DIR/missing.secret;
--- config
--- must_die
--- error_log eval
qr/"cxbpush_token_secret": open\(\) ".*missing\.secret" failed/



=== TEST 31: file= and an inline secret with the same bytes mint the same token
--- config
    location = /inline {
        cxbpush_token_secret 0123456789abcdef-test-secret;
        cxbpush_public_base_url https://rec.example;
        cxbpush_ingest;
        cxbpush_pass /_send;
    }

    location = /file {
        cxbpush_token_secret file=$TEST_NGINX_HTML_DIR/token.secret;
        cxbpush_public_base_url https://rec.example;
        cxbpush_ingest;
        cxbpush_pass /_send;
    }
--- user_files
>>> token.secret
0123456789abcdef-test-secret
--- pipelined_requests eval
["POST /inline?dry_run=1
{\"call\": {\"call_id\": \"c-1\", \"recording_key\": \"calls/c-1.wav\"}}",
"POST /file?dry_run=1
{\"call\": {\"call_id\": \"c-1\", \"recording_key\": \"calls/c-1.wav\"}}"]
--- response_body_like eval
[qr{"recording_url":"https://rec\.example/api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez"},
qr{"recording_url":"https://rec\.example/api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez"}]
--- no_error_log
0123456789abcdef-test-secret



=== TEST 32: cxbpush_recordings needs a token secret or a lookup
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
    }
--- must_die
--- error_log
"cxbpush_recordings" requires "cxbpush_token_secret" or "cxbpush_recordings_lookup"



=== TEST 33: cxbpush_recordings needs a pass location or redirect mode
--- config
    location /api/v1/public/recordings/ {
        cxbpush_token_secret 0123456789abcdef-test-secret;
        cxbpush_recordings;
    }
--- must_die
--- error_log
"cxbpush_recordings" requires "cxbpush_recordings_pass" or "cxbpush_recordings_redirect on"



=== TEST 34: redirect mode needs cxbpush_s3
--- config
    location /api/v1/public/recordings/ {
        cxbpush_token_secret 0123456789abcdef-test-secret;
        cxbpush_recordings;
        cxbpush_recordings_redirect on;
    }
--- must_die
--- error_log
"cxbpush_recordings_redirect on" requires "cxbpush_s3"



=== TEST 35: cxbpush_recordings is a location directive
--- http_config
    cxbpush_recordings;
--- config
--- must_die
--- error_log
"cxbpush_recordings" directive is not allowed here



=== TEST 36: cxbpush_recordings and cxbpush_ingest cannot share a location
--- config
    location /x/ {
        cxbpush_token_secret 0123456789abcdef-test-secret;
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
        cxbpush_ingest;
        cxbpush_pass /_send;
    }
--- must_die
--- error_log
"cxbpush_recordings" and "cxbpush_ingest" cannot share a location



=== TEST 37: cxbpush_recordings_pass must be a location URI
--- config
    location /api/v1/public/recordings/ {
        cxbpush_token_secret 0123456789abcdef-test-secret;
        cxbpush_recordings;
        cxbpush_recordings_pass _recording/;
    }
--- must_die
--- error_log
"cxbpush_recordings_pass" must be a location URI starting with "/", not "_recording/"



=== TEST 38: cxbpush_recordings_lookup must be a location URI
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
        cxbpush_recordings_lookup http://lookup.example/;
    }
--- must_die
--- error_log
"cxbpush_recordings_lookup" must be a location URI starting with "/"



=== TEST 39: cxbpush_recordings_redirect takes on or off
--- config
    location /api/v1/public/recordings/ {
        cxbpush_token_secret 0123456789abcdef-test-secret;
        cxbpush_recordings;
        cxbpush_recordings_redirect maybe;
    }
--- must_die
--- error_log
invalid value "maybe" in "cxbpush_recordings_redirect" directive, it must be "on" or "off"



=== TEST 40: everything inherited from http level
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=minio secret_key=minio-secret;
    cxbpush_token_secret 0123456789abcdef-test-secret;
    cxbpush_recordings_redirect on;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
    }
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- error_code: 302
--- response_headers_like
Location: http://127\.0\.0\.1:9000/recordings/calls/c-1\.wav\?X-Amz-Algorithm=AWS4-HMAC-SHA256&.*&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=[0-9a-f]{64}
--- no_error_log
[error]
