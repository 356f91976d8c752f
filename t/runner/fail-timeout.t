# Fixture for t/001-runner.t: client timeouts, --- abort, and a --- wait
# value with a unit (the real module would sleep 100 s for "100ms").
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

=== TEST 1: slow upstream, client times out
--- config
    location = /slow {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/;
    }
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply_delay: 2s
--- tcp_reply eval
"HTTP/1.0 200 OK\r\n\r\nlate\n"
--- request
GET /slow
--- timeout: 300ms
--- response_body
late



=== TEST 2: the same with --- abort and --- ignore_response passes
--- config
    location = /slow {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/;
    }
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply_delay: 2s
--- tcp_reply eval
"HTTP/1.0 200 OK\r\n\r\nlate\n"
--- request
GET /slow
--- timeout: 300ms
--- abort
--- ignore_response



=== TEST 3: wait with a unit
--- config
    location = /w {
        return 200 "w\n";
    }
--- request
GET /w
--- wait: 100ms
--- response_body
w
