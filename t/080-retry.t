# Retries (SPEC section 9, cxbpush_retry): failed, 429 and 5xx attempts are
# retried on the schedule from timers, with no client request alive, with
# the same webhook-id and a fresh signature each time; other 4xx are final;
# Retry-After is honoured up to the next step; every attempt has its record
# and the last one says "final": true.  A real nginx (master and worker)
# and a mock CRM on loopback (t/lib-delivery/Delivery.pm).

use strict;
use warnings;

use lib 't/lib-delivery';
use Delivery;

use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(decode_base64 encode_base64);
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

plan skip_all => 'set TEST_NGINX_LOAD_MODULES to the module'
    unless module_path();

my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
my $key = decode_base64(substr $secret, 6);

my $prefix = setup_prefix('retry');
my ($port, $crm_port, $down_port) = (free_port(), free_port(), free_port());
my $reqlog = "$prefix/logs/requests.jsonl";
my $log = "$prefix/logs/cxbpush.log";

my $crm = start_crm($crm_port, $reqlog);

END { stop_crm($crm) if $crm; stop_nginx($prefix) if $prefix; }

ok(start_nginx($prefix, <<"EOF"), 'nginx starts') or BAIL_OUT('no nginx');
    cxbpush_log logs/cxbpush.log;
    cxbpush_allow_addr 127.0.0.1/32;
    cxbpush_signing_secret $secret;
    cxbpush_zone cxbpush 64k;

    upstream crm.test { server 127.0.0.1:$crm_port; }
    upstream down.test { server 127.0.0.1:$down_port; }

    server {
        listen 127.0.0.1:$port;

        location = /ingest {
            cxbpush_ingest;
            cxbpush_pass /_send;
            cxbpush_retry schedule=1s,1s,2s jitter=0%;
        }

        location = /ingest-slow-schedule {
            cxbpush_ingest;
            cxbpush_pass /_send;
            cxbpush_retry schedule=30s,30s jitter=0%;
        }

        location = /ingest-once {
            cxbpush_ingest;
            cxbpush_pass /_send;
        }

        location = /status { cxbpush_status; }

        location = /_send {
            internal;
            proxy_pass \$cxbpush_url;
            proxy_connect_timeout 1s;
            proxy_read_timeout 3s;
        }
    }
EOF

sub doc {
    my ($call, $url) = @_;
    return qq({"call": {"call_id": "$call", "start_time": "2026-11-23T10:00:00Z"},)
         . qq( "bot": {"bot_id": "b-1", "post_call_push": {"url": "$url",)
         . qq( "key_mapper": {"call": "{{call_id}}"}}}});
}

sub recs_of {
    my ($call) = @_;
    return [ grep { $_->{call_id} eq $call } @{ records($log) } ];
}

sub reqs_of {
    my ($path) = @_;
    return [ grep { $_->{path} eq $path } @{ crm_requests($reqlog) } ];
}

sub sig_ok {
    my ($r) = @_;
    my $want = 'v1,' . encode_base64(hmac_sha256("$r->{id}.$r->{ts}.$r->{body}",
                                                 $key), '');
    return $r->{sig} eq $want;
}

# --- 500, 500, then 200 ---

{
    my ($code, $body) = ingest($port, '/ingest',
                               doc('c-flaky', 'http://crm.test/fail/2'));
    is($code, 202, '500 twice then 200: accepted');

    ok(wait_for(10, sub { @{ recs_of('c-flaky') } >= 3 }),
       '... three attempts recorded');
    my $recs = recs_of('c-flaky');
    is_deeply([ map { $_->{status} } @$recs ], [qw(rejected rejected ok)],
              '... rejected, rejected, ok');
    is_deeply([ map { $_->{attempt} } @$recs ], [1, 2, 3],
              '... attempts 1, 2, 3');
    is_deeply([ map { $_->{final} ? 1 : 0 } @$recs ], [0, 0, 1],
              '... only the last is final');
    is_deeply([ map { $_->{http_status} } @$recs ], [500, 500, 200],
              '... with the CRM\'s statuses');
    is(scalar(grep { $_->{id} eq $recs->[0]{id} } @$recs), 3,
       '... one push id in every record');

    my $reqs = reqs_of('/fail/2');
    is(scalar @$reqs, 3, '... the CRM got three requests');
    is(scalar(grep { $_->{id} eq $recs->[0]{id} } @$reqs), 3,
       '... all with the same webhook-id');
    is(scalar(grep { sig_ok($_) } @$reqs), 3,
       '... each with a valid signature of its own timestamp');
    is(scalar(grep { $_->{body} eq '{"call":"c-flaky"}' } @$reqs), 3,
       '... and the same body');
    my @gaps = map { $reqs->[$_]{t} - $reqs->[$_ - 1]{t} } 1 .. $#$reqs;
    ok(@gaps == 2 && $gaps[0] >= 0.9 && $gaps[0] < 2.5 * slow() && $gaps[1] >= 0.9
       && $gaps[1] < 2.5 * slow(),
       '... about 1s apart (' . join(', ', map { sprintf '%.2f', $_ } @gaps)
       . ')');
}

# --- 400 is final ---

{
    my ($code) = ingest($port, '/ingest', doc('c-bad', 'http://crm.test/bad'));
    is($code, 202, '400: accepted');
    ok(wait_for(5, sub { @{ recs_of('c-bad') } >= 1 }), '... recorded');
    sleep 1.5;
    my $recs = recs_of('c-bad');
    is(scalar @$recs, 1, '... one attempt only');
    is($recs->[0]{status}, 'rejected', '... rejected');
    ok($recs->[0]{final}, '... final');
    is(scalar @{ reqs_of('/bad') }, 1, '... the CRM got one request');
}

# --- 429 with Retry-After: honoured up to the next step ---

{
    my ($code) = ingest($port, '/ingest-slow-schedule',
                        doc('c-429', 'http://crm.test/limit/1'));
    is($code, 202, '429 with Retry-After: 1 on a 30s schedule: accepted');
    ok(wait_for(8, sub { @{ recs_of('c-429') } >= 2 }),
       '... retried after about a second, not 30');
    my $recs = recs_of('c-429');
    is_deeply([ map { $_->{http_status} } @$recs ], [429, 200],
              '... 429 then 200');
    my $reqs = reqs_of('/limit/1');
    my $gap = @$reqs == 2 ? $reqs->[1]{t} - $reqs->[0]{t} : -1;
    ok($gap >= 0.9 && $gap < 3 * slow(), sprintf('... %.2fs apart', $gap));
}

# --- CRM down, then up ---

{
    my ($code) = ingest($port, '/ingest', doc('c-down', 'http://down.test/ok'));
    is($code, 202, 'CRM down: accepted');
    ok(wait_for(5, sub { @{ recs_of('c-down') } >= 2 }),
       '... two failed attempts');
    my $up = start_crm($down_port, $reqlog);
    ok(wait_for(8, sub { grep { $_->{status} eq 'ok' } @{ recs_of('c-down') } }),
       '... delivered once the CRM is up');
    stop_crm($up);
    my $recs = recs_of('c-down');
    is($recs->[-1]{status}, 'ok', '... the last attempt ok');
    ok($recs->[-1]{final}, '... and final');
    is(scalar(grep { $_->{status} eq 'failed' && !$_->{final} } @$recs),
       @$recs - 1, '... after failed, non-final attempts');
    like($recs->[0]{error}, qr/could not connect/, '... that say why');
    like(slurp("$prefix/logs/error.log"),
         qr/\[warn\] \d+#\d+: \*\d+ cxbpush: push "post_call_push" of call "c-down" failed: could not connect to the CRM \(refused, unreachable or TLS failure\) \(attempt 2, will retry\) while [^,]+, server: , request: "attempt 2 of push $recs->[0]{id}", subrequest: "\/_send", upstream: "http:\/\/127\.0\.0\.1:\d+\/ok"/,
         '... and a retry\'s error-log line names the attempt, push and upstream');
}

# --- attempts run out ---

{
    my ($code) = ingest($port, '/ingest',
                        doc('c-dead', 'http://crm.test/always500'));
    is($code, 202, 'always 500: accepted');
    ok(wait_for(10, sub { @{ recs_of('c-dead') } >= 4 }),
       '... four attempts (schedule 1s,1s,2s)');
    sleep 1;
    my $recs = recs_of('c-dead');
    is(scalar @$recs, 4, '... and no fifth');
    is_deeply([ map { $_->{final} ? 1 : 0 } @$recs ], [0, 0, 0, 1],
              '... the fourth is final');
}

# --- without cxbpush_retry, one attempt ---

{
    my ($code) = ingest($port, '/ingest-once',
                        doc('c-once', 'http://crm.test/always500'));
    is($code, 202, 'no cxbpush_retry: accepted');
    ok(wait_for(5, sub { @{ recs_of('c-once') } >= 1 }), '... recorded');
    sleep 1.5;
    is(scalar @{ recs_of('c-once') }, 1, '... one attempt');
    ok(recs_of('c-once')->[0]{final}, '... final');
}

# --- the status zone agrees with the records ---

sub get {
    my ($path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 5) or return '';
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
    local $/;
    my $res = <$s> // '';
    return $res;
}

{
    sleep 1.2 * slow();    # the workers publish what they hold every second
    my $recs = records($log);
    my %n;
    $n{$_->{status}}++ for @$recs;
    my $res = get('/status');
    like($res, qr{^HTTP/1\.1 200 .*\r\nContent-Type: application/json\r\n}s,
         'cxbpush_status: 200, JSON');
    my ($body) = $res =~ /\r\n\r\n(.*)\z/s;
    my $st = eval { $json->decode($body) } || {};
    is($st->{scheduled}, 6, 'status: 6 pushes scheduled');
    is($st->{ok}, $n{ok}, "status: $n{ok} attempts ok, as recorded");
    is($st->{rejected}, $n{rejected},
       "status: $n{rejected} attempts rejected, as recorded");
    is($st->{failed}, $n{failed}, "status: $n{failed} attempts failed");
    is($st->{retried}, @$recs - 6, 'status: retried, every attempt after '
       . 'the first');
    is($st->{dead}, 3, 'status: 3 dead (400, attempts run out, no retry)');
    is($st->{in_flight}, 0, 'status: nothing in flight');
    is($st->{spool_depth}, 0, 'status: nothing pending');
    is($st->{oldest_pending_age_seconds}, 0, 'status: no pending age');

    $res = get('/status?format=prometheus');
    like($res, qr{\r\nContent-Type: text/plain; version=0\.0\.4}, 'prometheus: '
         . 'the text exposition format');
    like($res, qr{\n# TYPE cxbpush_pushes_scheduled_total counter\ncxbpush_pushes_scheduled_total 6\n},
         'prometheus: a counter with its TYPE');
    like($res, qr{\ncxbpush_pushes_dead_total 3\n}, 'prometheus: dead');
    like($res, qr{\n# TYPE cxbpush_spool_depth gauge\ncxbpush_spool_depth 0\n},
         'prometheus: a gauge');
}

# --- pending pushes show in the status ---

{
    ingest($port, '/ingest-slow-schedule', doc('c-pend', 'http://down.test/x'));
    ok(wait_for(5, sub { @{ recs_of('c-pend') } >= 1 }), 'a push waits 30s');
    sleep 2.2 * slow();
    my ($body) = get('/status') =~ /\r\n\r\n(.*)\z/s;
    my $st = eval { $json->decode($body) } || {};
    is($st->{spool_depth}, 1, 'status: one pending');
    ok($st->{oldest_pending_age_seconds} >= 1
       && $st->{oldest_pending_age_seconds} <= 5 * slow(),
       "status: its age ($st->{oldest_pending_age_seconds}s)");
}

my $errors = slurp("$prefix/logs/error.log");
unlike($errors, qr/\[(alert|crit|emerg)\]|signal \d+|core dumped/,
       'no alert, crash or core dump in the error log');

stop_nginx($prefix);    # memcheck writes its leak report at exit
is(join("\n", valgrind_errors($prefix)), '',
   'no memcheck error in the module (under TEST_NGINX_USE_VALGRIND=1)');

done_testing();
