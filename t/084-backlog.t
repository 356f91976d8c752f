# A backlog larger than a worker may hold open: each held push keeps its
# spool entry open (and locked), so a worker holds at most what its file
# descriptor limit allows; the rest wait on disk, unlocked, and are taken
# as room frees.  Here worker_rlimit_nofile 200 and 64 connections leave
# room for 72 held pushes; 150 calls arrive while the CRM is down.

use strict;
use warnings;

use lib 't/lib-delivery';
use Delivery;

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time sleep);

plan skip_all => 'set TEST_NGINX_LOAD_MODULES to the module'
    unless module_path();
plan skip_all => 'valgrind does not let nginx set worker_rlimit_nofile'
    if $ENV{TEST_NGINX_USE_VALGRIND};

my $calls = 150;
my $prefix = setup_prefix('backlog');
my ($port, $crm_port) = (free_port(), free_port());
my $reqlog = "$prefix/logs/requests.jsonl";
my $spool = "$prefix/spool";
my $crm;

END { stop_crm($crm) if $crm; stop_nginx($prefix) if $prefix; }

my $http = <<"EOF";
    cxbpush_allow_addr 127.0.0.1/32;
    cxbpush_spool spool;
    cxbpush_zone cxbpush 64k;

    upstream crm.test { server 127.0.0.1:$crm_port; }

    server {
        listen 127.0.0.1:$port;

        location = /ingest {
            cxbpush_ingest;
            cxbpush_pass /_send;
            cxbpush_retry schedule=1s jitter=0% attempts=100;
        }

        location = /status { cxbpush_status; }

        location = /_send {
            internal;
            proxy_pass \$cxbpush_url;
            proxy_connect_timeout 1s;
        }
    }
EOF

ok(start_nginx($prefix, $http, main => 'worker_rlimit_nofile 200;',
               connections => 64), 'nginx starts, 64 connections, 200 files')
    or BAIL_OUT('no nginx');

sub entries { my @e = glob "$spool/*.json"; @e }

sub status {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 5) or return {};
    print $s "GET /status HTTP/1.0\r\n\r\n";
    local $/;
    my ($body) = (<$s> // '') =~ /\r\n\r\n(.*)\z/s;
    return eval { $json->decode($body) } || {};
}

my $accepted = 0;

for my $i (1 .. $calls) {
    my ($code) = ingest($port, '/ingest',
        qq({"call": {"call_id": "b-$i"}, "bot": {"post_call_push": {"url": "http://crm.test/ok", "key_mapper": {"i": "$i"}}}}));
    $accepted++ if $code == 202;
}

is($accepted, $calls, "$calls calls accepted while the CRM is down");
is(scalar(entries()), $calls, '... every one of them in the spool');
sleep 3 * slow();

my $st = status();
ok($st->{spool_depth} && $st->{spool_depth} <= 72,
   "the worker holds at most 72 of them (holds $st->{spool_depth})");
unlike(slurp("$prefix/logs/error.log"), qr/Too many open files|are not enough/,
       '... and never runs out of file descriptors or connections');

$crm = start_crm($crm_port, $reqlog);

ok(wait_for(30, sub { !entries() }), 'the CRM is up: the backlog drains');
sleep 1;

my %n;
$n{$_->{id}}++ for grep { $_->{code} == 200 } @{ crm_requests($reqlog) };
is(scalar keys %n, $calls, "all $calls pushes delivered");
is(scalar(grep { $_ > 1 } values %n), 0, '... none twice');
unlike(slurp("$prefix/logs/error.log"), qr/\[(alert|crit|emerg)\]/,
       'no alert in the error log');

stop_nginx($prefix);    # memcheck writes its leak report at exit
is(join("\n", valgrind_errors($prefix)), '',
   'no memcheck error in the module (under TEST_NGINX_USE_VALGRIND=1)');

done_testing();
