# Self-test of our own Test::Nginx::Socket (t/lib): runs the fixture test
# files under t/runner/ as child processes against plain nginx and checks
# that correct expectations pass and each deliberately wrong one fails,
# so that the runner cannot silently pass everything.
#
#     prove -I t/lib t/001-runner.t
#
# The fixtures skip themselves unless TEST_NGINX_RUNNER_FIXTURE is set,
# so "prove -r t" does not run them directly.

use strict;
use warnings;

use Test::More;
use File::Path qw(remove_tree);
use IO::Socket::INET ();

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
if (system("$nginx -v >/dev/null 2>&1") != 0) {
    plan skip_all => "no nginx binary ($nginx)";
}

my $servroot = "t/servroot-runner.$$";
my $port = free_port();

sub free_port {
    my $sock = IO::Socket::INET->new(
        LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp',
        Listen => 1,
    ) or die "cannot find a free port: $!";
    my $p = $sock->sockport;
    close $sock;
    return $p;
}

# Run one fixture; returns { exit, out, plan, tests => [[ok, name], ...] }.
sub run_fixture {
    my ($file, %extra_env) = @_;

    local %ENV = %ENV;
    delete $ENV{$_} for grep { /^TEST_NGINX_/ } keys %ENV;
    $ENV{TEST_NGINX_BINARY} = $nginx;
    %ENV = (%ENV,
            TEST_NGINX_RUNNER_FIXTURE => 1,
            TEST_NGINX_SERVROOT       => $servroot,
            TEST_NGINX_PORT           => $port,
            %extra_env);

    my $out = `timeout 180 $^X -It/lib $file 2>&1`;
    my $exit = $? >> 8;

    my (@tests, $plan);
    for my $line (split /\n/, $out) {
        if ($line =~ /^(not )?ok \d+ - (.*)$/) {
            push @tests, [!$1, $2];
        } elsif ($line =~ /^1\.\.(\d+)/) {
            $plan = $1;
        }
    }
    return { exit => $exit, out => $out, plan => $plan, tests => \@tests };
}

sub failed_names { map { $_->[1] } grep { !$_->[0] } @{ $_[0]{tests} } }
sub passed_names { map { $_->[1] } grep { $_->[0] } @{ $_[0]{tests} } }

# No nginx, mock server or other child of the fixture may survive it.
sub nothing_left_behind {
    my ($what) = @_;

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
    ok(!$sock, "$what: nothing listens on port $port any more");
    close $sock if $sock;

    ok(!-e "$servroot/logs/nginx.pid", "$what: pid file removed");

    my @alive;
    for my $dir (glob '/proc/[0-9]*') {
        open my $in, '<', "$dir/cmdline" or next;
        my $cmd = do { local $/; <$in> } // '';
        close $in;
        next unless $cmd =~ /\Q$servroot\E|t\/runner\//;
        open my $st, '<', "$dir/stat" or next;
        my $stat = <$st> // '';
        close $st;
        next if $stat =~ /^\d+ \(.*\) [ZX]/s;    # exited, not yet reaped
        $cmd =~ s/\0/ /g;
        push @alive, "$dir: $cmd";
    }
    ok(!@alive, "$what: no process of the fixture left")
        or diag(join "\n", @alive);
}

sub check_names {
    my ($res, $label, $want_failed, $want_passed) = @_;
    my @failed = failed_names($res);
    my @passed = passed_names($res);
    for my $re (@$want_failed) {
        ok((grep { /$re/ } @failed), "$label: failure reported for /$re/")
            or diag($res->{out});
    }
    for my $re (@$want_passed) {
        ok((grep { /$re/ } @passed), "$label: pass reported for /$re/")
            or diag($res->{out});
    }
}

#------------------------------------------------------------------------

{
    # without the variable, a fixture only skips
    local $ENV{TEST_NGINX_RUNNER_FIXTURE};
    my $out = `$^X -It/lib t/runner/pass.t 2>&1`;
    like($out, qr/^1\.\.0 # SKIP/m, 'fixtures skip unless run from here');
}

{
    my $res = run_fixture('t/runner/pass.t');
    is($res->{exit}, 0, 'pass.t: exit status 0') or diag($res->{out});
    is(scalar failed_names($res), 0, 'pass.t: no failed test');
    # repeat_each(2) x (8 blocks x 2 + 7), counted as the real module does
    is($res->{plan}, 46, 'pass.t: plan computed from blocks()');
    is(scalar @{ $res->{tests} }, 46, 'pass.t: all planned tests ran');
    check_names($res, 'pass.t', [], [
        qr/TEST 1: .* - status code ok$/,
        qr/response_body - response is expected \(repeated req 1, req 0\)/,
        qr/TEST 2: .* - header X-Foo ok$/,
        qr/TEST 2: .* - header X-Absent not present in the raw headers$/,
        qr/TEST 3: .* - header Content-Type like ok$/,
        qr/TEST 3: .* - response_body_like - response is expected/,
        qr/TEST 3: .* - pattern "http request line: .*" matches a line in error\.log \(req 1\)$/,
        qr/TEST 3: .* - pattern "\[error\]" does not match a line in error\.log/,
        qr/TEST 4: POST body/,
        qr/TEST 6: user_files/,
        qr/TEST 7: .* matches a line in error\.log/,
        qr/TEST 8: .* - header Transfer-Encoding ok$/,
    ]);
    nothing_left_behind('pass.t');
}

{
    my $res = run_fixture('t/runner/tcp.t');
    is($res->{exit}, 0, 'tcp.t: exit status 0') or diag($res->{out});
    is(scalar failed_names($res), 0, 'tcp.t: no failed test');
    is(scalar @{ $res->{tests} }, 22, 'tcp.t: 22 tests (no_plan)');
    my @names = passed_names($res);
    is(scalar(grep { /TEST 1: .* - tcp_query ok$/ } @names), 2,
       'tcp.t: exact tcp_query checked in both repetitions');
    is(scalar(grep { /TEST 2: .* - tcp_query ok$/ } @names), 2,
       'tcp.t: regex tcp_query checked');
    is(scalar(grep { /TCP query length ok$/ } @names), 2,
       'tcp.t: tcp_query_len checked');
    check_names($res, 'tcp.t', [], [
        qr/TEST 2: .* - header X-Mock ok$/,
        qr/TEST 3: .* - response_body - response is expected/,
    ]);
    nothing_left_behind('tcp.t');
}

{
    my $res = run_fixture('t/runner/fail-body.t');
    isnt($res->{exit}, 0, 'fail-body.t: exit status not 0');
    is(scalar failed_names($res), 4, 'fail-body.t: exactly 4 failures')
        or diag($res->{out});
    check_names($res, 'fail-body.t', [
        qr/TEST 1: body differs - response_body - response is expected/,
        qr/TEST 2: .* - response_body - response is expected/,
        qr/TEST 3: .* - response_body_like - response is expected/,
        qr/TEST 4: .* - header X-Foo not present in the raw headers$/,
    ], [
        qr/TEST 1: .* - status code ok$/,
        qr/TEST 4: .* - response_body - response is expected/,
    ]);
    # "X-Foo: baz" collapses with "!X-Foo" (one entry per header name, as
    # in the real module), so only the "not present" check is made
    ok(!(grep { /header X-Foo ok/ } @{[ passed_names($res) ]}),
       'fail-body.t: one check per header name');
    nothing_left_behind('fail-body.t');
}

{
    my $res = run_fixture('t/runner/fail-code.t');
    isnt($res->{exit}, 0, 'fail-code.t: exit status not 0');
    is(scalar failed_names($res), 2, 'fail-code.t: exactly 2 failures')
        or diag($res->{out});
    check_names($res, 'fail-code.t', [
        qr/TEST 1: expects 404, gets 200 - status code ok$/,
        qr/TEST 2: no error_code means 200 is expected - status code ok$/,
    ], [
        qr/TEST 1: .* - response_body - response is expected/,
        qr/TEST 3: correct status .* - status code ok$/,
    ]);
    like($res->{out}, qr/got: '404'\n#\s+expected: '200'/,
         'fail-code.t: default expectation is 200');
    nothing_left_behind('fail-code.t');
}

{
    my $res = run_fixture('t/runner/fail-error-log.t');
    isnt($res->{exit}, 0, 'fail-error-log.t: exit status not 0');
    is(scalar failed_names($res), 4, 'fail-error-log.t: exactly 4 failures')
        or diag($res->{out});
    check_names($res, 'fail-error-log.t', [
        qr/TEST 1: .* - pattern "this text is never logged" should match a line in error\.log \(req 0\)$/,
        qr/TEST 1: .* should match a line in error\.log \(req 1\)$/,
        qr/TEST 2: .* - pattern "\[error\]" should not match any line in error\.log .*\(req 0\)$/,
        qr/TEST 2: .* should not match any line in error\.log .*\(req 1\)$/,
    ], [
        qr/TEST 3: .* - pattern "nonexistent-dir-for-runner-test" does not match a line in error\.log \(req 0\)$/,
        qr/TEST 3: .* - pattern "\[error\]" does not match a line in error\.log \(req 1\)$/,
    ]);
    nothing_left_behind('fail-error-log.t');
}

{
    my $res = run_fixture('t/runner/fail-tcp.t');
    isnt($res->{exit}, 0, 'fail-tcp.t: exit status not 0');
    check_names($res, 'fail-tcp.t', [
        qr/TEST 1: tcp_query differs - tcp_query ok$/,
        qr/TEST 2: .* - tcp_query ok$/,
        qr/TEST 2: .* - TCP query length ok$/,
    ], [
        qr/TEST 2: .* - status code ok$/,
        qr/TEST 2: .* - response_body - response is expected/,
    ]);
    like($res->{out}, qr{got: "GET /actual HTTP/1\.0\\r\\nHost: mock},
         'fail-tcp.t: the received query is shown');
    nothing_left_behind('fail-tcp.t');
}

{
    my $res = run_fixture('t/runner/fail-start.t');
    isnt($res->{exit}, 0, 'fail-start.t: exit status not 0');
    is(scalar failed_names($res), 1, 'fail-start.t: exactly 1 failure')
        or diag($res->{out});
    check_names($res, 'fail-start.t', [
        qr/TEST 1: unknown directive - nginx failed to start$/,
    ], [
        qr/TEST 2: .* - die as expected$/,
        qr/TEST 2: .* - pattern "invalid number of arguments in "return" directive" matches/,
        qr/TEST 3: the file goes on - status code ok$/,
        qr/TEST 3: the file goes on - response_body - response is expected/,
    ]);
    like($res->{out}, qr/unknown directive "no_such_directive_here"/,
         'fail-start.t: the error log is shown');
    nothing_left_behind('fail-start.t');
}

{
    my $res = run_fixture('t/runner/fail-timeout.t');
    isnt($res->{exit}, 0, 'fail-timeout.t: exit status not 0');
    check_names($res, 'fail-timeout.t', [
        qr/^ERROR: client socket timed out - .*TEST 1: slow upstream/,
        qr/TEST 3: .* - --- wait takes a plain number of seconds/,
    ], [
        qr/TEST 3: wait with a unit - response_body - response is expected/,
    ]);
    ok(!(grep { /TEST 2:/ } failed_names($res)),
       'fail-timeout.t: --- abort makes the timeout no failure');
    nothing_left_behind('fail-timeout.t');
}

{
    # the same fixture through prove, and with the master process on
    local %ENV = %ENV;
    delete $ENV{$_} for grep { /^TEST_NGINX_/ } keys %ENV;
    $ENV{TEST_NGINX_BINARY} = $nginx;
    $ENV{TEST_NGINX_RUNNER_FIXTURE} = 1;
    $ENV{TEST_NGINX_SERVROOT} = $servroot;
    $ENV{TEST_NGINX_PORT} = $port;
    $ENV{TEST_NGINX_MASTER_PROCESS} = 'on';
    my $out = `timeout 180 prove -I t/lib t/runner/tcp.t 2>&1`;
    is($? >> 8, 0, 'prove t/runner/tcp.t with master_process on passes')
        or diag($out);
    like($out, qr/Result: PASS/, 'prove reports PASS');
    nothing_left_behind('prove tcp.t');
}

remove_tree($servroot) if Test::More->builder->is_passing;

done_testing();
