# The durable spool (cxbpush_spool): pushes are on disk before the 202;
# an unwritable spool answers 503 and accepts nothing; entries go when a
# push ends ok, to dead/ when it ends otherwise; and pending pushes survive
# a restart, a reload and a killed worker.  A real nginx (master and
# worker) and a mock CRM on loopback (t/lib-delivery/Delivery.pm).

use strict;
use warnings;

use lib 't/lib-delivery';
use Delivery;

use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time sleep);

plan skip_all => 'set TEST_NGINX_LOAD_MODULES to the module'
    unless module_path();

my $prefix = setup_prefix('spool');
my ($port, $crm_port, $down_port) = (free_port(), free_port(), free_port());
my $reqlog = "$prefix/logs/requests.jsonl";
my $log = "$prefix/logs/cxbpush.log";
my $spool = "$prefix/spool";

my $crm = start_crm($crm_port, $reqlog);
my $down;

END {
    stop_crm($crm) if $crm;
    stop_crm($down) if $down;
    stop_nginx($prefix) if $prefix;
}

my $http = <<"EOF";
    cxbpush_log logs/cxbpush.log;
    cxbpush_allow_addr 127.0.0.1/32;
    cxbpush_spool spool;

    upstream crm.test { server 127.0.0.1:$crm_port; }
    upstream down.test { server 127.0.0.1:$down_port; }

    server {
        listen 127.0.0.1:$port;

        location = /ingest {
            cxbpush_ingest;
            cxbpush_pass /_send;
            cxbpush_retry schedule=1s jitter=0% attempts=30;
        }

        location = /_send {
            internal;
            proxy_pass \$cxbpush_url;
            proxy_connect_timeout 1s;
            proxy_read_timeout 10s;
        }
    }
EOF

ok(start_nginx($prefix, $http), 'nginx starts with a spool')
    or BAIL_OUT('no nginx');
ok(-d $spool && -d "$spool/dead", '... which nginx created, with dead/');

sub doc {
    my ($call, @urls) = @_;
    my $pcp = shift @urls;
    my $ints = join ',', map { qq({"name": "i$_", "url": "$urls[$_]", "method": "POST"}) }
                         0 .. $#urls;
    return qq({"call": {"call_id": "$call", "status": "picked"},)
         . qq( "bot": {"bot_id": "b-1", "post_call_push": {"url": "$pcp",)
         . qq( "key_mapper": {"call": "{{call_id}}"}}, "integrations": [$ints]}});
}

sub recs_of {
    my ($call) = @_;
    return [ grep { $_->{call_id} eq $call } @{ records($log) } ];
}

# lists of push ids (their count in scalar context)
sub entries { my @e = sort map { m{([^/]+)\.json$} } glob "$spool/*.json"; @e }
sub dead { my @e = sort map { m{([^/]+)\.json$} } glob "$spool/dead/*.json"; @e }

# --- on disk before the 202, gone after ok ---

{
    my ($code, $body) = ingest($port, '/ingest',
                               doc('c-slow', 'http://crm.test/slow/2'));
    is($code, 202, 'a slow CRM: accepted');
    my ($id) = $body =~ /"call_id":"c-slow"/ ? entries() : ();
    ok(defined $id && $id =~ /^msg_/, 'the entry is in the spool right after '
       . 'the 202 (' . ($id // 'none') . ')');
    my $mode = defined $id ? (stat "$spool/$id.json")[2] & 07777 : 0;
    is(sprintf('%o', $mode), '600', '... readable by nginx\'s user only');
    my $entry = defined $id ? $json->decode(slurp("$spool/$id.json")) : {};
    is($entry->{url}, 'http://crm.test/slow/2', '... with the push\'s URL');
    is($entry->{attempts}, 0, '... no attempt made yet');
    ok(wait_for(8, sub { @{ recs_of('c-slow') } >= 1 }), 'the push ends');
    is(recs_of('c-slow')->[0]{status}, 'ok', '... ok');
    ok(wait_for(3, sub { !entries() }), '... and its entry is removed');
}

# --- spooled pushes do not hold the platform's connection ---

{
    my $doc = doc('c-free', 'http://crm.test/slow/3');
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 10);
    my $t0 = time;
    print $s "POST /ingest HTTP/1.0\r\nHost: localhost\r\nContent-Length: "
             . length($doc) . "\r\n\r\n$doc";
    local $/;
    my $res = <$s> // '';
    my $secs = time - $t0;
    like($res, qr{^HTTP/1\.1 202}, 'a push to a CRM that answers in 3s: 202');
    ok($secs < 1.5 * slow(), sprintf('... and the connection is closed at once '
       . '(%.2fs), not when the push ends', $secs));
    ok(wait_for(8, sub { @{ recs_of('c-free') } >= 1 }), '... the push ends');
    is(recs_of('c-free')->[0]{status}, 'ok', '... ok');
}

# --- 400: dead/ ---

{
    my ($code) = ingest($port, '/ingest', doc('c-bad', 'http://crm.test/bad'));
    is($code, 202, 'a 400: accepted');
    ok(wait_for(5, sub { dead() == 1 }), '... its entry moves to dead/');
    my ($id) = dead();
    is($id, recs_of('c-bad')->[0]{id}, '... under its push id');
    ok(!entries(), '... and leaves the spool');
}

# --- an unwritable spool: 503, nothing accepted, nothing sent ---

{
    remove_tree($spool);
    spew($spool, "not a directory\n");
    my $before = @{ crm_requests($reqlog) };
    my ($code, $body) = ingest($port, '/ingest',
                               doc('c-nospool', 'http://crm.test/ok'));
    is($code, 503, 'the spool cannot be written: 503');
    like($body, qr/^\{"error":"the pushes could not be stored durably \(open\(\) failed: Not a directory\); nothing was accepted, retry later"\}\n?$/,
         '... with a JSON error that says why');
    sleep 0.5;
    is(scalar @{ crm_requests($reqlog) }, $before, '... nothing was sent');
    is(scalar @{ recs_of('c-nospool') }, 0, '... nothing was recorded');
    like(slurp("$prefix/logs/error.log"),
         qr/\[error\].*cxbpush: open\(\) failed in the spool "[^"]+": call "c-nospool" refused with 503 \(20: Not a directory\)/,
         '... and the error log says so');

    unlink $spool;
    make_path("$spool/dead");
    ($code) = ingest($port, '/ingest', doc('c-spool-back', 'http://crm.test/ok'));
    is($code, 202, 'the spool is back: 202');
    ok(wait_for(5, sub { @{ recs_of('c-spool-back') } }), '... and delivered');
}

# --- an entry that cannot be read goes to dead/ ---

{
    spew("$spool/msg_corrupt00000000000001.json", "{\"v\":1,\"id\":");
    ok(wait_for(6, sub { grep { $_ eq 'msg_corrupt00000000000001' } dead() }),
       'a corrupt spool entry is moved to dead/ by the next scan');
    like(slurp("$prefix/logs/error.log"),
         qr/\[error\].*the spool entry "msg_corrupt00000000000001\.json" is unreadable \(not a JSON object\): moved to dead\//,
         '... with an error line that says why');
    ok(!grep({ $_ eq 'msg_corrupt00000000000001' } entries()),
       '... and is gone from the spool');
}

# --- a call with several pushes is accepted whole ---

{
    my ($code, $body) = ingest($port, '/ingest',
        doc('c-three', 'http://crm.test/ok', 'http://crm.test/ok',
            'http://crm.test/ok'));
    is($code, 202, 'three pushes: accepted');
    ok(wait_for(5, sub { @{ recs_of('c-three') } == 3 }), '... all delivered');
    ok(wait_for(3, sub { !entries() }), '... the spool is empty again');
}

# --- restart with a push pending ---

{
    my ($code) = ingest($port, '/ingest', doc('c-restart', 'http://down.test/ok'));
    is($code, 202, 'CRM down: accepted');
    ok(wait_for(5, sub { @{ recs_of('c-restart') } >= 1 }), '... failed once');
    ok(stop_nginx($prefix), 'nginx stops (QUIT) with the push pending');
    my @e = entries();
    is(scalar @e, 1, '... its entry stays in the spool');
    my $entry = $json->decode(slurp("$spool/$e[0].json"));
    ok($entry->{attempts} >= 1, "... with its attempts ($entry->{attempts})");

    $down = start_crm($down_port, $reqlog);
    ok(start_nginx($prefix, $http, keep_conf => 1), 'nginx starts again');
    ok(wait_for(8, sub { grep { $_->{status} eq 'ok' } @{ recs_of('c-restart') } }),
       '... and delivers the pending push');
    my $recs = recs_of('c-restart');
    is(scalar(grep { $_->{id} eq $e[0] } @$recs), scalar @$recs,
       '... under the same push id');
    is($recs->[-1]{attempt}, $entry->{attempts} + 1,
       '... as the next attempt');
    ok(wait_for(3, sub { !entries() }), '... and clears the spool');
    stop_crm($down);
    $down = undef;
}

# --- reload with a push pending ---

{
    my ($code) = ingest($port, '/ingest', doc('c-reload', 'http://down.test/ok'));
    is($code, 202, 'CRM down again: accepted');
    ok(wait_for(5, sub { @{ recs_of('c-reload') } >= 1 }), '... failed once');
    my @old = worker_pids($prefix);
    signal_nginx($prefix, 'HUP');
    ok(wait_for(10, sub { my @w = worker_pids($prefix);
                          @w && !grep { my $o = $_; grep { $_ == $o } @w } @old }),
       'reload (HUP): new workers');
    ok(wait_for(10, sub { !grep { kill 0, $_ } @old }),
       '... the old worker exits without waiting for the retry');
    $down = start_crm($down_port, $reqlog);
    ok(wait_for(8, sub { grep { $_->{status} eq 'ok' } @{ recs_of('c-reload') } }),
       '... and a new worker delivers the pending push');
    ok(wait_for(3, sub { !entries() }), '... the spool is empty');
    stop_crm($down);
    $down = undef;
}

# --- a worker killed in the middle of a push ---

{
    my ($code) = ingest($port, '/ingest', doc('c-kill', 'http://crm.test/slow/2'));
    is($code, 202, 'a slow push: accepted');
    sleep 0.5;
    my @w = worker_pids($prefix);
    is(scalar @w, 1, 'one worker');
    kill 'KILL', @w;
    ok(wait_for(10, sub { my @n = worker_pids($prefix);
                          @n && $n[0] != $w[0] }),
       'the worker is killed (SIGKILL) and the master starts another');
    ok(wait_for(10, sub { grep { $_->{status} eq 'ok' } @{ recs_of('c-kill') } }),
       '... which takes the push over from the spool and delivers it');
    my @reqs = grep { $_->{path} eq '/slow/2' && $_->{body} =~ /c-kill/ }
               @{ crm_requests($reqlog) };
    ok(@reqs >= 1, 'the CRM got it (' . scalar(@reqs) . ' request(s), '
       . 'the killed attempt included)');
    my %ids = map { $_->{id} => 1 } @reqs;
    is(scalar keys %ids, 1, '... always with the same webhook-id');
    ok(wait_for(3, sub { !entries() }), '... and the spool is empty');
}

my $errors = slurp("$prefix/logs/error.log");
unlike($errors, qr/\[(alert|crit|emerg)\](?!.*worker process \d+ exited on signal 9)/,
       'no alert or crash in the error log, but for the killed worker');

stop_nginx($prefix);    # memcheck writes its leak report at exit
is(join("\n", valgrind_errors($prefix)), '',
   'no memcheck error in the module (under TEST_NGINX_USE_VALGRIND=1)');

done_testing();
