# Fixture for t/001-runner.t: every expectation here is correct, so the
# whole file must pass.  Only stock nginx modules are used.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Socket;

plan skip_all => 'fixture of t/001-runner.t (set TEST_NGINX_RUNNER_FIXTURE=1)'
    unless $ENV{TEST_NGINX_RUNNER_FIXTURE};

repeat_each(2);

# counted the way the real Test::Nginx::Socket counts: per block and per
# repetition, 1 status + 1 per header line + 1 body + 1 per log pattern
plan tests => repeat_each() * (blocks() * 2 + 7);

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: return with a body, default status 200
--- config
    location = /hello {
        return 200 "hello\n";
    }
--- request
GET /hello
--- response_body
hello



=== TEST 2: error_code, response_headers (present and absent)
--- config
    location = /teapot {
        add_header X-Foo bar always;
        return 418 "short and stout";
    }
--- request
GET /teapot
--- error_code: 418
--- response_headers
X-Foo: bar
!X-Absent
--- response_body chomp
short and stout



=== TEST 3: response_body_like, headers_like and error_log
--- config
    location = /like {
        return 200 "the answer is 42\n";
    }
--- request
    # comments before the request line are skipped
    GET /like?a=1
--- response_body_like: answer is \d+
--- response_headers_like
Content-Type: text/pl.*
--- error_log
http request line: "GET /like?a=1 HTTP/1.1"
--- no_error_log
[error]



=== TEST 4: POST body with Content-Length and more_headers
--- config
    location = /echo {
        # proxy to ourselves so that the body gets read
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/sink;
    }
    location = /sink {
        return 200 "len=$content_length type=$http_content_type x=$http_x_test\n";
    }
--- more_headers
Content-Type: text/x-test
X-Test: yes
--- request
POST /echo
hello world
--- response_body
len=11 type=text/x-test x=yes



=== TEST 5: request eval and response_body eval
--- config
    location = /ev {
        return 200 "a\tb";
    }
--- request eval
"GET /ev"
--- response_body eval
"a\tb"



=== TEST 6: user_files under the html dir
--- user_files
>>> sub/file.txt
file content
--- config
    location /sub/ {
        root $TEST_NGINX_HTML_DIR;
    }
--- request
GET /sub/file.txt
--- response_body
file content



=== TEST 7: wait, qr// patterns in an eval'd error_log
--- config
    location = /w {
        return 204;
    }
--- request
GET /w
--- wait: 0.2
--- error_code: 204
--- response_body chomp
--- error_log eval
qr/http finalize request: \d+, "\/w\?"/



=== TEST 8: chunked response is de-chunked
--- config
    location = /chunk {
        # sub_filter drops Content-Length, so HTTP/1.1 gets chunked
        alias $TEST_NGINX_HTML_DIR/file.txt;
        sub_filter_types *;
        sub_filter 'two' 'TWO';
    }
--- user_files
>>> file.txt
line one
line two
--- request
GET /chunk
--- response_headers
Transfer-Encoding: chunked
--- response_body
line one
line TWO
