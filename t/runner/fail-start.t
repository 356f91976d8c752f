# Fixture for t/001-runner.t: nginx refuses the first block's config;
# that must be one failure, and the next block must still run and pass.
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

=== TEST 1: unknown directive
--- config
    location = /a {
        no_such_directive_here on;
    }
--- request
GET /a
--- response_body
never



=== TEST 2: must_die passes when nginx refuses the config
--- config
    location = /b {
        return 200 a b c;
    }
--- must_die
--- error_log
invalid number of arguments in "return" directive



=== TEST 3: the file goes on
--- config
    location = /c {
        return 200 "c\n";
    }
--- request
GET /c
--- response_body
c
