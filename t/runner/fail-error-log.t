# Fixture for t/001-runner.t: error_log / no_error_log expectations that
# must fail, and a block checking only its own part of the log.
use strict;
use warnings;
use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

if (!$ENV{TEST_NGINX_RUNNER_FIXTURE}) {
    pass('fixture of t/001-runner.t (set TEST_NGINX_RUNNER_FIXTURE=1)');
    exit 0;
}

repeat_each(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a pattern that never appears
--- config
    location = /a {
        return 200 "a\n";
    }
--- request
GET /a
--- response_body
a
--- error_log
this text is never logged



=== TEST 2: [error] does appear
--- config
    location /missing/ {
        root /nonexistent-dir-for-runner-test;
    }
--- request
GET /missing/file
--- error_code: 404
--- no_error_log
[error]



=== TEST 3: the error of the previous block is not seen here
--- config
    location = /c {
        return 200 "c\n";
    }
--- request
GET /c
--- response_body
c
--- no_error_log
[error]
nonexistent-dir-for-runner-test
