package Delivery;

# Helpers of the delivery fault tests (t/08*.t): a real nginx with its own
# master process (so that reloads, restarts and killed workers can be
# tested), started on a generated configuration in a scratch prefix, and
# a mock CRM on loopback whose answers follow its paths:
#
#   /ok                     200
#   /fail/N                 500 to the first N requests of each webhook-id,
#                           then 200
#   /limit/N                429 with "Retry-After: N" to the first request
#                           of each webhook-id, then 200
#   /bad                    400, always
#   /always500              500, always
#   /random/P               500 with probability P percent, else 200
#   /slow/S                 answers 200 after S seconds
#
# Every request is appended to requests.jsonl as one JSON line: time, path,
# webhook-id, webhook-timestamp, webhook-signature, body.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);

use Exporter 'import';
our @EXPORT = qw(nginx_binary module_path setup_prefix start_nginx
                 stop_nginx signal_nginx nginx_pids worker_pids
                 start_crm stop_crm crm_requests ingest slurp spew
                 records wait_for free_port slow valgrind_errors $json);

# TEST_NGINX_USE_VALGRIND=1: nginx (master and workers) runs under
# memcheck, each process logging to logs/valgrind.PID.log; everything
# takes longer, so waits are stretched by slow().
our $Valgrind = $ENV{TEST_NGINX_USE_VALGRIND};

sub slow { $Valgrind ? 8 : 1 }

our $json = JSON::PP->new->utf8->canonical;

sub nginx_binary { $ENV{TEST_NGINX_BINARY} || 'nginx' }

sub module_path {
    my ($m) = grep { /cxbpush/ } split ' ', ($ENV{TEST_NGINX_LOAD_MODULES}
                                            // '');
    return $m;
}

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    my $s = <$fh>;
    return $s;
}

sub spew {
    my ($f, $s) = @_;
    open my $fh, '>', $f or die "$f: $!";
    print $fh $s;
    close $fh;
}

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1,
                                  ReuseAddr => 1) or die "$!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# a fresh prefix: conf/, logs/, tmp/
sub setup_prefix {
    my ($name) = @_;
    my $prefix = abs_path('t') . "/servroot-$name" . ($Valgrind ? '-vg' : '');
    remove_tree($prefix);
    make_path("$prefix/conf", "$prefix/logs", "$prefix/tmp");
    return $prefix;
}

# writes conf/nginx.conf (the http{} body given) and starts nginx
sub start_nginx {
    my ($prefix, $http, %o) = @_;
    my $module = module_path();
    my $workers = $o{workers} || 1;
    my $user = $> == 0 ? "user root;\n" : '';

    spew("$prefix/conf/nginx.conf", <<"EOF") unless $o{keep_conf};
load_module $module;
$user
worker_processes $workers;
@{[ $o{main} // '' ]}
error_log logs/error.log info;
pid logs/nginx.pid;
worker_shutdown_timeout 10s;

events { worker_connections @{[ $o{connections} || 1024 ]}; }

http {
    access_log off;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;

$http
}
EOF

    my @cmd = (nginx_binary(), '-p', "$prefix/", '-c',
               "$prefix/conf/nginx.conf");

    if ($Valgrind) {
        unshift @cmd, 'valgrind', '--tool=memcheck', '--leak-check=full',
                      '--show-leak-kinds=definite', '--num-callers=30',
                      "--log-file=$prefix/logs/valgrind.%p.log",
                      (-f 'valgrind.suppress'
                       ? ('--suppressions=' . abs_path('valgrind.suppress'))
                       : ());
    }

    my $rc = system(@cmd);
    return 0 if $rc != 0;

    # wait for the workers
    for (1 .. 100 * slow()) {
        return 1 if worker_pids($prefix) >= $workers;
        sleep 0.05;
    }

    return 0;
}

sub nginx_pids {
    my ($prefix) = @_;
    my $pid = slurp("$prefix/logs/nginx.pid");
    chomp $pid;
    return $pid;
}

sub worker_pids {
    my ($prefix) = @_;
    my $master = nginx_pids($prefix) or return ();
    my @w;

    for my $stat (glob '/proc/[0-9]*/stat') {
        my $s = slurp($stat) or next;
        my ($pid, $ppid) = $s =~ /^(\d+) \(.*?\) \S+ (\d+)/ or next;
        my $cmd = slurp("/proc/$pid/cmdline");
        # (under valgrind the process titles are not visible)
        push @w, $pid if $ppid == $master
                         && ($Valgrind || ($cmd =~ /worker process/
                                           && $cmd !~ /shutting down/));
    }

    return @w;
}

sub signal_nginx {
    my ($prefix, $sig) = @_;
    my $pid = nginx_pids($prefix) or return;
    kill $sig, $pid;
}

# QUIT and wait for the master to go
sub stop_nginx {
    my ($prefix, $sig) = @_;
    my $pid = nginx_pids($prefix) or return;
    kill $sig || 'QUIT', $pid;

    for (1 .. 300 * slow()) {
        return 1 unless kill 0, $pid;
        sleep 0.05;
    }

    kill 'KILL', $pid;
    return 0;
}

# the mock CRM: returns its pid
sub start_crm {
    my ($port, $log) = @_;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => $port, Proto => 'tcp',
                                       Listen => 128, ReuseAddr => 1)
        or die "the mock CRM cannot listen on $port: $!";

    my $pid = fork // die "fork: $!";

    if ($pid) {
        close $listen;
        return $pid;
    }

    $SIG{TERM} = sub { POSIX::_exit(0) };
    my %seen;
    srand($$);

    while (my $c = $listen->accept) {
        my $line = <$c>;
        next unless defined $line;
        my ($method, $target) = $line =~ /^(\S+) (\S+)/;
        my (%h, $len);

        while (my $hl = <$c>) {
            $hl =~ s/\r?\n\z//;
            last if $hl eq '';
            my ($n, $v) = $hl =~ /^([^:]+):\s*(.*)$/ or next;
            $h{lc $n} = $v;
        }

        my $body = '';
        $len = $h{'content-length'} // 0;

        while (length $body < $len) {
            my $got = read $c, $body, $len - length $body, length $body;
            last unless $got;
        }

        my $id = $h{'webhook-id'} // '';
        my $n = ++$seen{"$target $id"};
        my ($code, $extra, $out) = (200, '', 'ok');

        if ($target =~ m{^/fail/(\d+)} && $n <= $1) {
            ($code, $out) = (500, 'down');

        } elsif ($target =~ m{^/limit/(\d+)} && $n == 1) {
            ($code, $extra, $out) = (429, "Retry-After: $1\r\n", 'slow down');

        } elsif ($target =~ m{^/bad}) {
            ($code, $out) = (400, 'bad');

        } elsif ($target =~ m{^/always500}) {
            ($code, $out) = (500, 'down');

        } elsif ($target =~ m{^/random/(\d+)} && rand(100) < $1) {
            ($code, $out) = (500, 'unlucky');

        } elsif ($target =~ m{^/slow/(\d+)}) {
            sleep $1;
        }

        open my $fh, '>>', $log or die "$log: $!";
        syswrite $fh, $json->encode({
            t => time, method => $method, path => $target, id => $id,
            ts => $h{'webhook-timestamp'} // '',
            sig => $h{'webhook-signature'} // '', body => $body,
            code => $code }) . "\n";
        close $fh;

        print $c "HTTP/1.1 $code X\r\n${extra}Content-Length: "
                 . length($out) . "\r\nConnection: close\r\n\r\n$out";
        close $c;
    }

    POSIX::_exit(0);
}

sub stop_crm {
    my ($pid) = @_;
    return unless $pid;
    kill 'TERM', $pid;
    waitpid $pid, 0;
}

sub crm_requests {
    my ($log) = @_;
    return [ map { $json->decode($_) } grep { length }
             split /\n/, slurp($log) ];
}

sub records {
    my ($file) = @_;
    return [ map { $json->decode($_) } grep { length }
             split /\n/, slurp($file) ];
}

# POSTs a document to 127.0.0.1:port/path; returns (status, body)
sub ingest {
    my ($port, $path, $doc) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 5)
        or return (0, "connect: $!");
    print $s "POST $path HTTP/1.0\r\nHost: localhost\r\n"
             . "Content-Type: application/json\r\nContent-Length: "
             . length($doc) . "\r\n\r\n$doc";

    # the answer only: nginx keeps the connection while the pushes run
    my ($head, $len, $body) = ('', 0, '');

    while (my $l = <$s>) {
        $head .= $l;
        $len = $1 if $l =~ /^Content-Length:\s*(\d+)/i;
        last if $l eq "\r\n";
    }

    read $s, $body, $len if $len;
    close $s;
    my ($code) = $head =~ m{^HTTP/1\.\d (\d+)};
    return ($code // 0, $body);
}

# polls $cond every 50 ms until it is true or $secs have passed
sub wait_for {
    my ($secs, $cond) = @_;
    my $end = time + $secs * slow();

    while (time < $end) {
        return 1 if $cond->();
        sleep 0.05;
    }

    return $cond->();
}

# the memcheck reports of the module's code: invalid accesses, use of
# uninitialised values, definite leaks (none when not under valgrind)
sub valgrind_errors {
    my ($prefix) = @_;
    my @bad;

    for my $f (glob "$prefix/logs/valgrind.*.log") {
        my $log = slurp($f);
        push @bad, "$f:\n$log"
            if $log =~ /Invalid (read|write|free)|uninitialised|definitely lost: [1-9]/;
    }

    return @bad;
}

1;
