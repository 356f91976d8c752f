# Configuration errors and requests of the delivery directives:
# cxbpush_retry, cxbpush_spool, cxbpush_zone, cxbpush_status.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

no_long_string();
run_tests();

__DATA__

=== TEST 1: cxbpush_retry with an unknown parameter
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; cxbpush_retry tries=3; }
--- request
GET /
--- must_die
--- error_log
invalid "cxbpush_retry" parameter "tries=3"



=== TEST 2: cxbpush_retry attempts out of range
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; cxbpush_retry attempts=0; }
--- request
GET /
--- must_die
--- error_log
invalid "cxbpush_retry" value "attempts=0": attempts must be 1 to 100



=== TEST 3: cxbpush_retry with a bad schedule
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; cxbpush_retry schedule=5s,,1m; }
--- request
GET /
--- must_die
--- error_log
invalid "cxbpush_retry" value "schedule=5s,,1m": a comma-separated list of 1 to 16 times (250ms, 5s, 2m, 1h, 1d), each at most 30d



=== TEST 4: cxbpush_retry with a bad jitter
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; cxbpush_retry jitter=150%; }
--- request
GET /
--- must_die
--- error_log
invalid "cxbpush_retry" value "jitter=150%": jitter must be 0% to 100%



=== TEST 5: cxbpush_status needs a cxbpush_zone
--- config
    location = /status { cxbpush_status; }
--- request
GET /
--- must_die
--- error_log
"cxbpush_status" directive requires "cxbpush_zone" at the http level, before it



=== TEST 6: a cxbpush_zone too small
--- http_config
    cxbpush_zone cxb 1k;
--- config
    location = /status { cxbpush_status; }
--- request
GET /
--- must_die
--- error_log eval
qr/invalid "cxbpush_zone" size "1k": at least \d+/



=== TEST 7: the status answers GET with fresh counters, and refuses other methods and formats
--- http_config
    cxbpush_zone cxb 64k;
--- config
    location = /status { cxbpush_status; }
--- request eval
["GET /status", "POST /status\nx", "GET /status?format=xml", "GET /status?format=json"]
--- error_code eval
[200, 405, 400, 200]
--- response_body_like eval
[qr/^\{"scheduled":0,"ok":0,"rejected":0,"failed":0,"retried":0,"dead":0,"in_flight":0,"spool_depth":0,"oldest_pending_age_seconds":0\}\n$/,
 qr/405 Not Allowed/, qr/400 Bad Request/, qr/^\{"scheduled":0,/]



=== TEST 8: cxbpush_spool twice
--- http_config
    cxbpush_spool spool-a;
    cxbpush_spool spool-b;
--- config
    location = /t { return 200; }
--- request
GET /t
--- must_die
--- error_log
"cxbpush_spool" directive is duplicate
