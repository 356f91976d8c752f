#!/usr/bin/env perl
# Soak test of delivery guarantees (issue #5): pushes N calls (default
# 10,000) at a mock CRM that answers 500 to a third of the requests at
# random, with the spool and retries on, and reports by push id what was
# delivered, what ended dead, what was delivered twice and what was lost.
#
#   bench/soak.sh [CALLS] [CLIENTS]
#
# Expected: every accepted push delivered, none dead (30 attempts), none
# lost.  "twice" counts pushes the CRM answered 2xx more than once (an
# at-least-once system may, e.g. after a timeout; here it should be 0).

use strict;
use warnings;

use lib 't/lib-delivery';
use Delivery;

use POSIX ();
use Time::HiRes qw(time sleep);

my $calls = shift // 10000;
my $clients = shift // 8;

die "set TEST_NGINX_LOAD_MODULES to the module .so\n" unless module_path();

my $prefix = setup_prefix('soak');
my ($port, $crm_port) = (free_port(), free_port());
my $reqlog = "$prefix/logs/requests.jsonl";
my $spool = "$prefix/spool";

my $crm = start_crm($crm_port, $reqlog);

END { stop_crm($crm) if $crm; stop_nginx($prefix) if $prefix; }

start_nginx($prefix, <<"EOF", workers => 2) or die "nginx did not start\n";
    cxbpush_allow_addr 127.0.0.1/32;
    cxbpush_spool spool;
    cxbpush_zone cxbpush 64k;

    upstream crm.test { server 127.0.0.1:$crm_port; keepalive 16; }

    server {
        listen 127.0.0.1:$port backlog=4096;

        location = /ingest {
            cxbpush_ingest;
            cxbpush_pass /_send;
            cxbpush_retry schedule=200ms,500ms,1s,2s jitter=20% attempts=30;
        }

        location = /status { cxbpush_status; }

        location = /_send {
            internal;
            proxy_pass \$cxbpush_url;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_connect_timeout 2s;
            proxy_read_timeout 10s;
        }
    }
EOF

my $t0 = time;
my @kids;

for my $c (0 .. $clients - 1) {
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        my ($ok, $bad) = (0, 0);

        for (my $i = $c; $i < $calls; $i += $clients) {
            my $doc = qq({"call": {"call_id": "soak-$i"}, "bot": {"post_call_push":)
                    . qq( {"url": "http://crm.test/random/33", "key_mapper":)
                    . qq( {"call": "{{call_id}}"}}}});
            my ($code) = ingest($port, '/ingest', $doc);
            $code == 202 ? $ok++ : $bad++;
        }

        open my $fh, '>', "$prefix/logs/client-$c" or die;
        print $fh "$ok $bad\n";
        close $fh;
        POSIX::_exit(0);
    }

    push @kids, $pid;
}

waitpid $_, 0 for @kids;

my ($accepted, $refused) = (0, 0);

for my $c (0 .. $clients - 1) {
    my ($ok, $bad) = split ' ', slurp("$prefix/logs/client-$c");
    $accepted += $ok;
    $refused += $bad;
}

my $t_ingest = time - $t0;

# wait for the spool to drain
my $drained = wait_for(600, sub { my @e = glob "$spool/*.json"; !@e });
my $t_all = time - $t0;
sleep 1;

my (%ok, %attempts);

for my $r (@{ crm_requests($reqlog) }) {
    $attempts{$r->{id}}++;
    $ok{$r->{id}}++ if $r->{code} == 200;
}

my @dead = glob "$spool/dead/*.json";
my $delivered = keys %ok;
my $twice = grep { $_ > 1 } values %ok;
my $requests = 0;
$requests += $_ for values %attempts;

printf "calls sent:          %d (%d accepted with 202, %d refused)\n",
       $calls, $accepted, $refused;
printf "ingestion:           %.1f s (%.0f calls/s)\n", $t_ingest,
       $calls / $t_ingest;
printf "spool drained:       %s after %.1f s\n", $drained ? 'yes' : 'NO',
       $t_all;
printf "CRM requests:        %d (%.2f per push)\n", $requests,
       $requests / ($accepted || 1);
printf "delivered:           %d\n", $delivered;
printf "dead:                %d\n", scalar @dead;
printf "delivered twice:     %d\n", $twice;
printf "lost:                %d\n", $accepted - $delivered - @dead;

my $status = `curl -s http://127.0.0.1:$port/status 2>/dev/null` // '';
print "status:              $status" if $status;

exit(($accepted - $delivered - @dead) == 0 && $twice == 0 ? 0 : 1);
