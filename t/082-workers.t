# Several workers sharing one spool: each pending push is taken and sent by
# exactly one worker at a time, so none reaches the CRM twice.  A real
# nginx with four workers and a mock CRM on loopback
# (t/lib-delivery/Delivery.pm).

use strict;
use warnings;

use lib 't/lib-delivery';
use Delivery;

use Test::More;
use Time::HiRes qw(time sleep);

plan skip_all => 'set TEST_NGINX_LOAD_MODULES to the module'
    unless module_path();

my $calls = 60;
my $prefix = setup_prefix('workers');
my ($port, $crm_port) = (free_port(), free_port());
my $reqlog = "$prefix/logs/requests.jsonl";
my $log = "$prefix/logs/cxbpush.log";
my $spool = "$prefix/spool";
my $crm;

END { stop_crm($crm) if $crm; stop_nginx($prefix) if $prefix; }

my $http = <<"EOF";
    cxbpush_log logs/cxbpush.log;
    cxbpush_allow_addr 127.0.0.1/32;
    cxbpush_spool spool;

    upstream crm.test { server 127.0.0.1:$crm_port; }

    server {
        listen 127.0.0.1:$port;

        location = /ingest {
            cxbpush_ingest;
            cxbpush_pass /_send;
            cxbpush_retry schedule=1s jitter=0% attempts=50;
        }

        location = /_send {
            internal;
            proxy_pass \$cxbpush_url;
            proxy_connect_timeout 1s;
            proxy_read_timeout 5s;
        }
    }
EOF

ok(start_nginx($prefix, $http, workers => 4), 'nginx starts, four workers')
    or BAIL_OUT('no nginx');

sub doc {
    my ($call, $url) = @_;
    return qq({"call": {"call_id": "$call"}, "bot": {"post_call_push":)
         . qq( {"url": "$url", "key_mapper": {"call": "{{call_id}}"}}}});
}

sub entries { my @e = glob "$spool/*.json"; @e }

# --- pushes pending while the CRM is down, then a restart ---

my $accepted = 0;

for my $i (1 .. $calls) {
    my ($code) = ingest($port, '/ingest', doc("c-$i", 'http://crm.test/ok'));
    $accepted++ if $code == 202;
}

is($accepted, $calls, "$calls calls accepted while the CRM is down");
ok(wait_for(10, sub { entries() == $calls }), '... all of them spooled');
ok(stop_nginx($prefix), 'nginx stops with them pending');
is(scalar(entries()), $calls, '... every entry still in the spool');

$crm = start_crm($crm_port, $reqlog);
ok(start_nginx($prefix, $http, workers => 4, keep_conf => 1),
   'nginx starts again: four workers scan the same spool at once');

ok(wait_for(20, sub { !entries() }), '... and the spool empties');
sleep 1;

my $reqs = crm_requests($reqlog);
my %n;
$n{$_->{id}}++ for @$reqs;

is(scalar keys %n, $calls, "the CRM got all $calls pushes");
is(scalar(grep { $_ > 1 } values %n), 0,
   '... none of them twice (' . scalar(@$reqs) . ' requests in all)');

my %by_worker;
for my $line (split /\n/, slurp("$prefix/logs/error.log")) {
    $by_worker{$1}++ if $line =~ /(\d+)#\d+: cxbpush: took over push/;
}
ok(keys %by_worker >= 1, 'taken over by ' . scalar(keys %by_worker)
   . ' worker(s): ' . join(', ', map { "$_ took $by_worker{$_}" }
                                sort keys %by_worker));

# --- retries under load: each push is retried by one worker only ---

my $t0 = time;
$accepted = 0;

for my $i (1 .. $calls) {
    my ($code) = ingest($port, '/ingest', doc("r-$i", 'http://crm.test/fail/1'));
    $accepted++ if $code == 202;
}

is($accepted, $calls, "$calls calls that fail once: accepted");
ok(wait_for(20, sub {
       my $ok = grep { $_->{status} eq 'ok' && $_->{call_id} =~ /^r-/ }
                @{ records($log) };
       $ok == $calls }), '... all delivered on their second attempt');
sleep 1.5;

my %per;
push @{ $per{$_->{id}} }, $_ for grep { $_->{path} eq '/fail/1' }
                                   @{ crm_requests($reqlog) };
is(scalar keys %per, $calls, "the CRM saw $calls push ids");
is(scalar(grep { @$_ != 2 } values %per), 0,
   '... each exactly twice: the failure and the retry');
is(scalar(grep { $_->[1]{t} - $_->[0]{t} < 0.8 } values %per), 0,
   '... never at the same time (one second apart)');

my $errors = slurp("$prefix/logs/error.log");
unlike($errors, qr/\[(alert|crit|emerg)\]/, 'no alert in the error log');

stop_nginx($prefix);    # memcheck writes its leak report at exit
is(join("\n", valgrind_errors($prefix)), '',
   'no memcheck error in the module (under TEST_NGINX_USE_VALGRIND=1)');

done_testing();
