# Fixture for t/001-runner.t: wrong response body expectations.  Only the
# response_body* tests may fail.
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

=== TEST 1: body differs
--- config
    location = /a {
        return 200 "hello\n";
    }
--- request
GET /a
--- response_body
goodbye



=== TEST 2: missing final newline is a difference
--- config
    location = /b {
        return 200 "hello";
    }
--- request
GET /b
--- response_body
hello



=== TEST 3: response_body_like does not match
--- config
    location = /c {
        return 200 "abc\n";
    }
--- request
GET /c
--- response_body_like: ^\d+$



=== TEST 4: response header values
--- config
    location = /d {
        add_header X-Foo bar;
        return 200 "d\n";
    }
--- request
GET /d
--- response_headers
X-Foo: baz
!X-Foo
--- response_body
d
