# Fixture for t/001-runner.t: the mock server receives something else
# than expected.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

if (!$ENV{TEST_NGINX_RUNNER_FIXTURE}) {
    pass('fixture of t/001-runner.t (set TEST_NGINX_RUNNER_FIXTURE=1)');
    exit 0;
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: tcp_query differs
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/actual;
        proxy_set_header Host mock;
    }
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_query eval
"GET /expected HTTP/1.0\r\nHost: mock\r\nConnection: close\r\n\r\n"
--- tcp_reply eval
"HTTP/1.0 200 OK\r\n\r\nok\n"
--- request
GET /t
--- response_body
ok



=== TEST 2: regex tcp_query and tcp_query_len both wrong
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/actual;
        proxy_set_header Host mock;
    }
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_query eval
qr/^POST /
--- tcp_query_len: 5
--- tcp_reply eval
"HTTP/1.0 200 OK\r\n\r\nok\n"
--- request
GET /t
--- response_body
ok
