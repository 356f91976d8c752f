# Fixture for t/001-runner.t: the embedded TCP mock server (tcp_listen)
# receiving a proxy_pass request on a random port, and replying.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

if (!$ENV{TEST_NGINX_RUNNER_FIXTURE}) {
    pass('fixture of t/001-runner.t (set TEST_NGINX_RUNNER_FIXTURE=1)');
    exit 0;
}

repeat_each(2);

run_tests();

__DATA__

=== TEST 1: exact tcp_query, reply relayed to the client
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/up;
        proxy_set_header Host mock;
    }
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_query eval
"GET /up HTTP/1.0\r\nHost: mock\r\nConnection: close\r\n\r\n"
--- tcp_reply eval
"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nmock\n"
--- request
GET /t
--- response_body
mock
--- no_error_log
[error]



=== TEST 2: regex tcp_query with tcp_query_len, delayed reply, wait
--- config
    location = /t2 {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/up2?x=1;
        proxy_set_header Host mock;
        proxy_set_header X-Extra yes;
    }
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_query eval
qr{\AGET /up2\?x=1 HTTP/1\.0\r\n.*X-Extra: yes\r\n.*\r\n\r\n\z}s
--- tcp_query_len eval
length "GET /up2?x=1 HTTP/1.0\r\nHost: mock\r\nX-Extra: yes\r\nConnection: close\r\n\r\n"
--- tcp_reply_delay: 100ms
--- tcp_reply eval
"HTTP/1.0 201 Created\r\nX-Mock: 1\r\n\r\ncreated"
--- request
GET /t2
--- wait: 0.1
--- error_code: 201
--- response_headers
X-Mock: 1
--- response_body chomp
created



=== TEST 3: tcp_reply as a Perl sub; RAND_PORT in the request, too
--- config
    location = /t3 {
        proxy_pass http://127.0.0.1:$arg_port/three;
    }
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply eval
sub {
    my $q = shift;
    my ($uri) = $q =~ m{^GET (\S+)};
    return ["HTTP/1.0 200 OK\r\n\r\n", "uri=$uri\n"];
}
--- request
GET /t3?port=$TEST_NGINX_RAND_PORT_2
--- response_body
uri=/three
