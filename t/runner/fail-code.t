# Fixture for t/001-runner.t: wrong status expectations, including the
# implicit "200" when --- error_code is absent.
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

=== TEST 1: expects 404, gets 200
--- config
    location = /a {
        return 200 "a\n";
    }
--- request
GET /a
--- error_code: 404
--- response_body
a



=== TEST 2: no error_code means 200 is expected
--- config
    location = /b {
        return 404;
    }
--- request
GET /b



=== TEST 3: correct status (must pass)
--- config
    location = /c {
        return 302 /elsewhere;
    }
--- request
GET /c
--- error_code: 302
