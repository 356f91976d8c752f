# The cxbpush command-line tool (SPEC section 10): render, send, retry.
#
# Runs the binary named by $CXBPUSH_CLI (make cli: build/cxbpush) against a
# tiny HTTP server of its own, forked on a random loopback port, that
# records every request it gets (method, path and query, headers, body) and
# answers by path:
#
#   /ok 200, /created 201 with a body, /reject 422 with a body, /fail500 500,
#   /big 200 with 5000 bytes, /slow sleeps 3 s (the tests use --timeout 1).
#
# Fixtures are in t/cli/; "@PORT@" in them is replaced by the server's port.

use strict;
use warnings;

use File::Temp qw(tempdir);
use IO::Socket::INET;
use Digest::SHA qw(hmac_sha256);
use JSON::PP;
use MIME::Base64 qw(decode_base64 encode_base64);
use POSIX ();
use Test::More;
use Time::HiRes qw(time);

my $cli = $ENV{CXBPUSH_CLI};

plan skip_all => 'set CXBPUSH_CLI to the cxbpush binary '
                 . '(make cli; CXBPUSH_CLI=$PWD/build/cxbpush)'
    unless defined $cli && length $cli;
plan skip_all => "CXBPUSH_CLI=$cli is not an executable file"
    unless -f $cli && -x $cli;

# requests go straight to 127.0.0.1, never through a proxy
delete @ENV{qw(http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy
               ALL_PROXY)};

my $json = JSON::PP->new->utf8->canonical;
my $dir = tempdir(CLEANUP => 1);
my $reqlog = "$dir/requests.jsonl";

my @record_keys = qw(id call_id bot_id integration status http_status
                     response_body error attempt final at duration_ms request
                     event);

# the server

my ($server, $port) = start_server();

END {
    if ($server) {
        kill 'TERM', -$server, $server;
        waitpid $server, 0;
    }
}

sub start_server {
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => 0, Proto => 'tcp',
                                       Listen => 32, ReuseAddr => 1)
        or die "cannot listen on 127.0.0.1: $!";
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        setpgrp(0, 0);
        $SIG{CHLD} = 'IGNORE';
        $SIG{TERM} = sub { POSIX::_exit(0) };

        while (1) {
            my $c = $listen->accept or next;
            my $k = fork;

            if (defined $k && $k == 0) {
                close $listen;
                alarm 20;
                eval { serve($c) };
                POSIX::_exit(0);
            }

            close $c;
        }
    }

    setpgrp($pid, $pid);
    my $p = $listen->sockport;
    close $listen;

    return ($pid, $p);
}

sub serve {
    my ($c) = @_;

    binmode $c;
    local $/ = "\r\n";

    my $line = <$c> // return;
    $line =~ s/\r\n\z//;
    my ($method, $target) = split / /, $line;
    my (@headers, $len, $chunked);

    while (defined(my $h = <$c>)) {
        $h =~ s/\r\n\z//;
        last if $h eq '';
        my ($n, $v) = $h =~ /^([^:]+):[ \t]*(.*)$/ or next;
        push @headers, [$n, $v];
        $len = $v if lc $n eq 'content-length';
        $chunked = 1 if lc $n eq 'transfer-encoding';
    }

    my $body = '';

    if ($len) {
        while (length $body < $len) {
            my $got = read $c, $body, $len - length $body, length $body;
            last unless $got;
        }
    }

    my $rec = $json->encode({ method => $method, target => $target,
                              headers => \@headers, body => $body,
                              chunked => $chunked ? 1 : 0 });

    open my $fh, '>>', $reqlog or die "$reqlog: $!";
    flock $fh, 2;
    syswrite $fh, "$rec\n";
    close $fh;

    my ($path) = $target =~ m{^([^?]*)};
    my ($code, $reason, $out) =
          $path eq '/ok'      ? (200, 'OK', '{"ok":true}')
        : $path eq '/created' ? (201, 'Created', '{"id":"crm-123"}')
        : $path eq '/reject'  ? (422, 'Unprocessable Entity',
                                 '{"error":"invalid lead"}')
        : $path eq '/fail500' ? (500, 'Internal Server Error', 'oops')
        : $path eq '/big'     ? (200, 'OK', 'x' x 5000)
        : $path eq '/slow'    ? do { sleep 3; (200, 'OK', 'late') }
        :                       (404, 'Not Found', 'no such path');

    print $c "HTTP/1.1 $code $reason\r\nContent-Type: application/json\r\n"
             . "Content-Length: " . length($out) . "\r\n"
             . "Connection: close\r\n\r\n$out";
    close $c;
}

# helpers

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

# a fixture with @PORT@ replaced, as a file in the temp dir
sub fixture {
    my ($name) = @_;
    (my $s = slurp("t/cli/$name")) =~ s{\@PORT\@}{$port}g;
    my $f = "$dir/$name";
    spew($f, $s);
    return $f;
}

sub requests {
    return [ map { $json->decode($_) } grep { length }
             split /\n/, slurp($reqlog) ];
}

sub clear_requests { spew($reqlog, '') }

# runs the CLI: { rc, out, err, lines (decoded stdout lines), secs }; send
# and retry get --allow-addr 127.0.0.1/32 (the mock CRM is on loopback, which
# the SSRF guard refuses) unless the first argument says { guard => 1 }
sub cli {
    my (@args) = @_;
    my $opts = ref $args[0] eq 'HASH' ? shift @args : {};
    my $stdin = $opts->{stdin};

    if (!$opts->{guard} && @args && $args[0] =~ /^(?:send|retry)$/) {
        splice @args, 1, 0, '--allow-addr', '127.0.0.1/32';
    }
    my ($out, $err, $in) = ("$dir/stdout", "$dir/stderr", "$dir/stdin");

    spew($in, $stdin // '');

    my $t0 = time;
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        open STDIN, '<', $in;
        open STDOUT, '>', $out;
        open STDERR, '>', $err;
        exec($cli, @args) or print STDERR "exec $cli: $!\n";
        POSIX::_exit(127);
    }

    waitpid $pid, 0;

    my %r = (rc => $? >> 8, out => slurp($out), err => slurp($err),
             secs => time - $t0);
    $r{lines} = [ map { my $l = $_; eval { $json->decode($l) } // $l }
                  grep { length } split /\n/, $r{out} ];

    return \%r;
}

# a request without its webhook-id (a new id each time a call is built)
sub no_id {
    my ($rq) = @_;
    my %h = %{ $rq->{headers} || {} };
    delete $h{'webhook-id'};
    return { %$rq, headers => \%h };
}

sub header_names {
    my ($req) = @_;
    return [ sort map { lc $_->[0] } @{ $req->{headers} } ];
}

sub header {
    my ($req, $name) = @_;
    my @v = map { $_->[1] } grep { lc $_->[0] eq lc $name }
            @{ $req->{headers} };
    return @v ? $v[0] : undef;
}

# the top-level keys of a record line appear in cxb_record's order
sub keys_in_order {
    my ($line, $what) = @_;
    my @pos = map { index $line, "\"$_\":" } @record_keys;
    my $ok = !grep({ $_ < 0 } @pos)
             && join(',', @pos) eq join(',', sort { $a <=> $b } @pos);
    ok($ok, "$what: record fields in cxb_record's order") or diag($line);
}

# a port nobody listens on
sub refused_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "$!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

my $doc = fixture('call.json');
my $base = "http://127.0.0.1:$port";

# --- usage, help, exit codes ---

{
    my $r = cli('--help');
    is($r->{rc}, 0, 'cxbpush --help exits 0');
    like($r->{out}, qr/render.*send.*retry/s, '--help lists the commands');
    like($r->{out}, qr/exit status:.*\b2\b.*usage.*\b3\b.*\b4\b/s,
         '--help documents the exit codes');

    for my $cmd (qw(render send retry)) {
        $r = cli($cmd, '--help');
        is($r->{rc}, 0, "$cmd --help exits 0");
        like($r->{out}, qr/^usage: cxbpush \Q$cmd\E/, "$cmd --help: usage");
        like($r->{out}, qr/exit status/, "$cmd --help: exit codes");
        $r = cli('help', $cmd);
        is($r->{rc}, 0, "help $cmd exits 0");
    }

    $r = cli('frobnicate');
    is($r->{rc}, 2, 'unknown command: exit 2');
    like($r->{err}, qr/unknown command "frobnicate"/, '... with a message');

    $r = cli();
    is($r->{rc}, 2, 'no command: exit 2');

    $r = cli('render', $doc, '--frob');
    is($r->{rc}, 2, 'unknown option: exit 2');
    like($r->{err}, qr/unknown option "--frob"/, '... with a message');

    $r = cli('send', $doc, '--timeout');
    is($r->{rc}, 2, 'missing option value: exit 2');

    $r = cli('send', $doc, '--timeout', 'soon');
    is($r->{rc}, 2, 'bad --timeout: exit 2');

    $r = cli('send', $doc, '--to', 'ftp://127.0.0.1/');
    is($r->{rc}, 2, '--to must be http(s): exit 2');

    $r = cli('send', '--sample', $doc);
    is($r->{rc}, 2, 'DOC and --sample: exit 2');

    $r = cli('render');
    is($r->{rc}, 2, 'render without a document: exit 2');

    $r = cli('retry', "$dir/x.log", '--status', 'failed,bogus');
    is($r->{rc}, 2, 'retry --status with an unknown status: exit 2');

    $r = cli('retry', "$dir/x.log", '--header', 'Authorization');
    is($r->{rc}, 2, "retry --header without ':': exit 2");
}

# --- bad input: exit 3 with the module's message ---

{
    my $r = cli('render', "$dir/does-not-exist.json");
    is($r->{rc}, 3, 'render of a missing file: exit 3');
    like($r->{err}, qr/does-not-exist\.json.*No such file/,
         '... names the file and the reason');

    $r = cli('render', 't/cli/not-json.json');
    is($r->{rc}, 3, 'render of bad JSON: exit 3');
    like($r->{err}, qr/not valid JSON/, '... says so');
    is($r->{out}, '', '... prints nothing on stdout');

    $r = cli('render', 't/cli/no-call.json');
    is($r->{rc}, 3, 'render of a document without call: exit 3');
    like($r->{err}, qr/the result document has no "call" object/,
         "... with cxb_call_build's message");

    $r = cli('send', 't/cli/no-call.json');
    is($r->{rc}, 3, 'send of a document without call: exit 3');
    like($r->{err}, qr/the result document has no "call" object/,
         "... with cxb_call_build's message");

    $r = cli('send', 't/cli/bad-type.json');
    is($r->{rc}, 3, 'send of a document with a mistyped field: exit 3');
    like($r->{err}, qr/"call\.transcript" must be an array/, '... says which');

    $r = cli({ stdin => '[1, 2]' }, 'render', '-');
    is($r->{rc}, 3, 'render - of a JSON array: exit 3');
    like($r->{err}, qr/must be a JSON object/, '... says so');

    $r = cli('retry', "$dir/no-such.log");
    is($r->{rc}, 3, 'retry of a missing log: exit 3');
}

# --- render ---

my %rendered;

{
    my $r = cli('render', $doc, '--public-base-url', 'https://calls.example');
    is($r->{rc}, 0, 'render exits 0');
    like($r->{out}, qr/\A\{.*\}\n\z/s, 'render prints one JSON line + LF');

    my $ans = $r->{lines}[0];
    is(ref $ans, 'HASH', 'the output is a JSON object') or diag($r->{out});
    is($ans->{call_id}, 'c-cli-1', 'call_id');

    my @p = @{ $ans->{pushes} || [] };
    is_deeply([ map { $_->{integration} } @p ],
              [qw(post_call_push crm_sync disabled_sync)], 'the pushes');
    is_deeply([ map { $_->{status} } @p ],
              [qw(rendered rendered skipped)], 'their statuses');
    is($p[2]{reason}, 'the integration is not active', 'the skip reason');
    is($p[2]{request}, undef, 'a skipped push has no request');

    my $pcp = $p[0]{request};
    is($pcp->{method}, 'POST', 'post_call_push: POST');
    is($pcp->{url}, "$base/ok", 'post_call_push: url');
    like($pcp->{headers}{'webhook-id'}, qr/^msg_[0-9a-f]{20}$/,
         'post_call_push: a webhook-id');
    is_deeply(no_id($pcp)->{headers},
              { Authorization => '[redacted]',
                'Content-Type' => 'application/json' },
              'post_call_push: token as Authorization, redacted');
    is_deeply($json->decode($pcp->{body}),
              { customer_id => 'C-1001', customer_name => 'Asha Rao',
                campaign => 'renewals', disposition => 'Interested',
                callback_time => '', duration => '121',
                started_at => '2026-11-23T15:30:00+05:30',
                recording_url => 'https://calls.example/api/v1/public/'
                                 . 'recordings/tok_cli1',
                policy => { id => 'P-9' } },
              'post_call_push: key_mapper body rendered');

    my $sync = $p[1]{request};
    is($sync->{method}, 'PUT', 'crm_sync: PUT');
    is($sync->{url}, "$base/created?lead=lead%2042%2Fx",
       'crm_sync: url placeholders percent-encoded');
    is_deeply(no_id($sync)->{headers},
              { 'X-Api-Key' => '[redacted]', 'X-Call' => 'c-cli-1',
                'Content-Type' => 'application/json' },
              'crm_sync: headers rendered, X-Api-Key redacted');
    is_deeply($json->decode($sync->{body}),
              { lead => 'lead 42/x', score => 8.5,
                note => 'call c-cli-1 by agent_1' },
              'crm_sync: template body, types kept');

    my $v = $ans->{variables};
    is($v->{result}{call_duration_seconds}, 121, 'variables: duration');
    is($v->{system}{public_base_url}, 'https://calls.example',
       'variables: system.public_base_url');
    is($v->{system}{timezone}, 'Asia/Kolkata', 'variables: timezone');
    is($v->{qc}{compliance_score}, '', 'variables: qc seeded');
    is($v->{call_info}{call_log_id}, 'c-cli-1', 'variables: call_info');
    unlike($r->{out}, qr/s3cret-token|k-456/, 'no secret in the output');

    %rendered = map { $_->{integration} => $_->{request} } @p;

    $r = cli({ stdin => slurp($doc) }, 'render', '-');
    is($r->{rc}, 0, 'render - reads stdin');
    is($r->{lines}[0]{call_id}, 'c-cli-1', '... the same document');
    is($r->{lines}[0]{variables}{result}{recording_url}, '',
       'without --public-base-url no recording URL from the token');
}

# --- send ---

{
    clear_requests();
    my $r = cli('send', $doc, '--timeout', 5,
                '--public-base-url', 'https://calls.example');
    is($r->{rc}, 0, 'send: exit 0 when every push is answered 2xx')
        or diag($r->{err});
    my @l = @{ $r->{lines} };
    is(scalar @l, 3, 'one record per push, skipped included');
    is_deeply([ map { $_->{integration} } @l ],
              [qw(post_call_push crm_sync disabled_sync)], 'in push order');
    is_deeply([ map { $_->{status} } @l ], [qw(ok ok skipped)],
              'statuses');
    is($l[0]{http_status}, 200, '/ok: http_status 200');
    is($l[0]{response_body}, '{"ok":true}', '/ok: response body');
    is($l[0]{error}, undef, '/ok: no error');
    is($l[1]{http_status}, 201, '/created: 201');
    is($l[1]{response_body}, '{"id":"crm-123"}', '/created: its body');
    is($l[2]{error}, 'the integration is not active',
       'skipped: the reason as error');
    is($l[2]{http_status}, undef, 'skipped: http_status null');
    like($l[0]{id}, qr/^msg_[0-9a-f]{20}$/, 'a push id');
    isnt($l[0]{id}, $l[1]{id}, 'ids differ per push');
    is($l[0]{attempt}, 1, 'attempt 1');
    is($l[0]{call_id}, 'c-cli-1', 'call_id');
    is($l[0]{bot_id}, 'b-cli', 'bot_id');
    like($l[0]{at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'at in UTC');
    is($l[0]{request}{headers}{'webhook-id'}, $l[0]{id},
       'the request carries the push id as webhook-id');
    is_deeply(no_id($l[0]{request}), no_id($rendered{post_call_push}),
              'the record holds the request, redacted, as render shows it '
              . '(but for the id render made up)');
    is($l[0]{event}{type}, 'post_call_push', 'event.type');
    is($l[1]{event}{type}, 'integration', 'event.type of an integration');
    is($l[0]{event}{status}, 'ok', 'event.status');
    ok($l[0]{event}{t} > 126, 'event.t: seconds since the call started');
    keys_in_order((split /\n/, $r->{out})[0], 'send');
    unlike($r->{out}, qr/s3cret-token|k-456/, 'no secret in the records');

    my $reqs = requests();
    is(scalar @$reqs, 2, 'the server got the two ready pushes');
    my ($pcp) = grep { $_->{target} eq '/ok' } @$reqs;
    my ($sync) = grep { $_->{target} =~ m{^/created} } @$reqs;

    # libcurl adds Host, User-Agent and Content-Length; its "Accept: */*"
    # and "Expect: 100-continue" are suppressed with empty headers, so the
    # CRM sees only the push's own headers besides those three.
    is($pcp->{method}, 'POST', 'post_call_push: method');
    is_deeply(header_names($pcp),
              [qw(authorization content-length content-type host
                  user-agent webhook-id)],
              "post_call_push: the push's headers + Host, User-Agent, "
              . 'Content-Length, nothing else');
    is(header($pcp, 'Authorization'), 'Bearer s3cret-token',
       'post_call_push: the real token is sent');
    is(header($pcp, 'User-Agent'), 'cxbpush/1.0', 'User-Agent: cxbpush/1.0');
    is(header($pcp, 'Content-Type'), 'application/json', 'Content-Type');
    is(header($pcp, 'Host'), "127.0.0.1:$port", 'Host');
    is($pcp->{body}, $rendered{post_call_push}{body},
       'post_call_push: exactly the rendered body');
    is(header($pcp, 'Content-Length'), length $pcp->{body}, 'Content-Length');

    is($sync->{method}, 'PUT', 'crm_sync: method PUT');
    is($sync->{target}, '/created?lead=lead%2042%2Fx', 'crm_sync: target');
    is_deeply(header_names($sync),
              [qw(content-length content-type host user-agent webhook-id
                  x-api-key x-call)],
              "crm_sync: the push's headers + Host, User-Agent, "
              . 'Content-Length');
    is(header($sync, 'X-Api-Key'), 'k-456', 'crm_sync: real X-Api-Key');
    is(header($sync, 'X-Call'), 'c-cli-1', 'crm_sync: rendered header');
    is($sync->{body}, $rendered{crm_sync}{body}, 'crm_sync: rendered body');
}

{
    clear_requests();
    my $r = cli('send', $doc, '--integration', 'crm_sync');
    is($r->{rc}, 0, '--integration: exit 0');
    is(scalar @{ $r->{lines} }, 1, '--integration: one record');
    is($r->{lines}[0]{integration}, 'crm_sync', '... of that integration');
    my $reqs = requests();
    is(scalar @$reqs, 1, '--integration: one request sent');
    is($reqs->[0]{method}, 'PUT', '... the PUT of crm_sync');

    $r = cli('send', $doc, '--integration', 'nope');
    is($r->{rc}, 4, '--integration with no such push: exit 4');
    like($r->{err}, qr/no push named "nope".*crm_sync/s,
         '... lists the pushes');

    $r = cli('send', $doc, '--integration', 'disabled_sync');
    is($r->{rc}, 4, 'only a skipped push: nothing sent, exit 4');
    is($r->{lines}[0]{status}, 'skipped', '... its record still printed');

    $r = cli('send', 't/cli/no-push.json');
    is($r->{rc}, 4, 'a document without pushes: exit 4');
}

{
    clear_requests();
    my $r = cli('send', $doc, '--to', "$base/ok?via=to");
    is($r->{rc}, 0, '--to: exit 0');
    my $reqs = requests();
    is(scalar @$reqs, 2, '--to: both ready pushes sent');
    is_deeply([ sort map { $_->{target} } @$reqs ],
              [ '/ok?via=to', '/ok?via=to' ], '... both to the --to URL');
    is_deeply([ sort map { $_->{method} } @$reqs ], [qw(POST PUT)],
              '... with their own methods');
    is($r->{lines}[1]{request}{url}, "$base/ok?via=to",
       '--to: the record shows the URL sent to');
    is($r->{lines}[2]{status}, 'skipped', '--to: skipped stays skipped');

    clear_requests();
    $r = cli('send', fixture('get.json'), '--to', "$base/ok");
    is($r->{rc}, 0, '--to with a GET push: exit 0');
    $reqs = requests();
    is($reqs->[0]{method}, 'GET', '... GET');
    is($reqs->[0]{target},
       '/ok?src=cx&customer_id=C-7&disposition=Callback',
       '... keeps its query string, the payload');
    is_deeply(header_names($reqs->[0]), [qw(host user-agent webhook-id)],
              '... and only Host, User-Agent and webhook-id');
}

{
    clear_requests();
    my $r = cli('send', '--sample', '--to', "$base/created");
    is($r->{rc}, 0, '--sample --to: exit 0') or diag($r->{err});
    is(scalar @{ $r->{lines} }, 1, '--sample: one push');
    is($r->{lines}[0]{status}, 'ok', '--sample: ok');
    is($r->{lines}[0]{http_status}, 201, '--sample: 201');
    my $reqs = requests();
    is(scalar @$reqs, 1, '--sample: one request');
    my $body = eval { $json->decode($reqs->[0]{body}) } || {};
    is($body->{customer_id}, 'C-1001', '--sample: a rendered key_mapper');
    is(header($reqs->[0], 'Authorization'), 'Bearer sample-token',
       '--sample: its token');

    $r = cli('send', '--sample', '--timeout', 2);
    is($r->{rc}, 4, '--sample without --to: 127.0.0.1:9 refuses, exit 4');
    is($r->{lines}[0]{status}, 'failed', '... failed');
}

{
    my $r = cli('send', $doc, '--integration', 'post_call_push',
                '--to', "$base/reject");
    is($r->{rc}, 4, '/reject: exit 4');
    my $l = $r->{lines}[0];
    is($l->{status}, 'rejected', '/reject: rejected');
    is($l->{http_status}, 422, '/reject: 422');
    is($l->{response_body}, '{"error":"invalid lead"}', '/reject: the body');
    is($l->{error}, undef, '/reject: no error');
    is($l->{event}{status}, 'rejected', '/reject: event.status');

    $r = cli('send', $doc, '--integration', 'post_call_push',
             '--to', "$base/fail500");
    is($r->{rc}, 4, '/fail500: exit 4');
    is($r->{lines}[0]{status}, 'rejected', '/fail500: rejected');
    is($r->{lines}[0]{http_status}, 500, '/fail500: 500');

    $r = cli('send', $doc, '--integration', 'post_call_push',
             '--to', "$base/big", '--response-max', 100);
    is($r->{rc}, 0, '/big: exit 0');
    is($r->{lines}[0]{response_body}, 'x' x 100,
       '--response-max keeps the first bytes');

    $r = cli('send', $doc, '--integration', 'post_call_push',
             '--to', "$base/big");
    is(length $r->{lines}[0]{response_body}, 1024,
       'response body kept: 1024 bytes by default');

    my $refused = refused_port();
    $r = cli('send', $doc, '--to', "http://127.0.0.1:$refused/ok");
    is($r->{rc}, 4, 'refused: exit 4');
    my @l = @{ $r->{lines} };
    is_deeply([ map { $_->{status} } @l ], [qw(failed failed skipped)],
              'refused: the pushes failed');
    is($l[0]{http_status}, undef, 'refused: http_status null');
    is($l[0]{response_body}, undef, 'refused: response_body null');
    like($l[0]{error}, qr/connect/i, 'refused: a short error text');
    unlike($l[0]{error}, qr/s3cret/, 'refused: no secret in the error');

    $r = cli('send', $doc, '--integration', 'post_call_push',
             '--to', "$base/slow", '--timeout', 1);
    is($r->{rc}, 4, '/slow --timeout 1: exit 4');
    is($r->{lines}[0]{status}, 'failed', '/slow: failed');
    is($r->{lines}[0]{http_status}, undef, '/slow: http_status null');
    like($r->{lines}[0]{error}, qr/time/i, '/slow: timed out');
    ok($r->{secs} < 2.5, sprintf('/slow: gave up quickly (%.1fs)',
                                 $r->{secs}));
    ok($r->{lines}[0]{duration_ms} >= 900, '/slow: duration_ms ~ 1000');
}

{
    my $log = "$dir/send.log";
    spew($log, "{\"earlier\":\"line\"}\n");

    my $r = cli('send', $doc, '--log', $log);
    is($r->{rc}, 0, '--log: exit 0');
    my @log = split /\n/, slurp($log);
    is(scalar @log, 4, '--log: the three records appended');
    is($log[0], '{"earlier":"line"}', '--log: earlier content kept');
    is_deeply([ @log[1 .. 3] ], [ split /\n/, $r->{out} ],
              '--log: the same lines as on stdout');

    $r = cli('send', $doc, '--log', $log, '--integration', 'crm_sync');
    @log = split /\n/, slurp($log);
    is(scalar @log, 5, '--log: a second run appends');

    $r = cli('send', $doc, '--log', "$dir/no/such/dir/x.log");
    is($r->{rc}, 1, '--log in a missing directory: exit 1');
}

# --- retry ---

sub retry_log {
    my $f = fixture('retry.log');
    return ($f, slurp($f));
}

{
    my ($log, $before) = retry_log();
    clear_requests();

    my $r = cli('retry', $log, '--dry-run');
    is($r->{rc}, 0, 'retry --dry-run: exit 0') or diag($r->{err});
    is(slurp($log), $before, '--dry-run writes nothing');
    is(scalar @{ requests() }, 0, '--dry-run sends nothing');
    is_deeply([ map { $_->{id} } @{ $r->{lines} } ],
              [qw(msg_00000000000000c20001 msg_00000000000000a10001)],
              '--dry-run: the latest failed/rejected attempts, log order');
    is_deeply([ map { $_->{attempt} } @{ $r->{lines} } ], [2, 3],
              '--dry-run: the attempt numbers they would get');
    like($r->{err}, qr/:3: .*skipped/, 'malformed line 3 reported');
    like($r->{err}, qr/:7: not a JSON object/, 'line 7 reported');
    like($r->{err}, qr/msg_00000000000000c20002.*never sent/,
         'a push that could not be built is not retried');
    like($r->{err}, qr/msg_00000000000000a10001.*Authorization.*redacted/,
         'a warning for the redacted Authorization');
}

{
    my ($log, $before) = retry_log();
    clear_requests();

    my $r = cli('retry', $log, '--timeout', 5);
    is($r->{rc}, 0, 'retry: exit 0 when the re-sent pushes succeed')
        or diag($r->{err});
    my @l = @{ $r->{lines} };
    is_deeply([ map { $_->{id} } @l ],
              [qw(msg_00000000000000c20001 msg_00000000000000a10001)],
              'retry: only the failed and rejected pushes, same ids');
    is_deeply([ map { $_->{attempt} } @l ], [2, 3], 'attempt incremented');
    is_deeply([ map { $_->{status} } @l ], [qw(ok ok)], 'now ok');
    is_deeply([ map { $_->{http_status} } @l ], [201, 200], 'http_status');
    is($l[1]{call_id}, 'c-1', 'call_id carried over');
    is($l[1]{bot_id}, 'b-1', 'bot_id carried over');
    is($l[1]{integration}, 'post_call_push', 'integration carried over');
    is($l[1]{event}{type}, 'post_call_push', 'event.type carried over');
    ok($l[1]{event}{t} > 600.5, 'event.t moves on from the previous one');
    is($l[1]{request}{headers}{Authorization}, '[redacted]',
       'the record keeps the header, redacted');
    keys_in_order((split /\n/, $r->{out})[1], 'retry');
    like($r->{err}, qr/Authorization.*redacted.*--header/,
         'the redacted header is reported');

    my $after = slurp($log);
    is(substr($after, 0, length $before), $before, 'the log is kept');
    is_deeply([ split /\n/, substr($after, length $before) ],
              [ split /\n/, $r->{out} ], 'the new records are appended');

    my $reqs = requests();
    is(scalar @$reqs, 2, 'two requests re-sent');
    my ($to_ok) = grep { $_->{target} eq '/ok' } @$reqs;
    my ($to_created) = grep { $_->{target} eq '/created' } @$reqs;
    is($to_ok->{body}, '{"customer_id":"C-1001","disposition":"Interested"}',
       'the logged body is re-sent');
    is(header($to_ok, 'Authorization'), undef,
       'a redacted Authorization is not sent');
    unlike(join(' ', map { $_->[1] } @{ $to_ok->{headers} }), qr/redacted/,
           '"[redacted]" is never sent');
    is(header($to_created, 'X-Trace'), 't-1', 'a plain header is re-sent');
    is_deeply(header_names($to_created),
              [qw(content-length content-type host user-agent x-trace)],
              'only the logged headers + Host, User-Agent, Content-Length');

    $r = cli('retry', $log);
    is($r->{rc}, 0, 'a second retry: nothing left, exit 0');
    is($r->{out}, '', '... prints no record');
    like($r->{err}, qr/nothing to retry/, '... says so');
}

{
    my ($log, $before) = retry_log();
    clear_requests();

    my $r = cli('retry', $log, '--id', 'msg_00000000000000a10001',
                '--header', 'Authorization: Bearer fresh');
    is($r->{rc}, 0, 'retry --id --header: exit 0') or diag($r->{err});
    is(scalar @{ $r->{lines} }, 1, '--id: one push');
    is($r->{lines}[0]{attempt}, 3, '--id: attempt 3');
    is($r->{lines}[0]{request}{headers}{Authorization}, '[redacted]',
       '--header value redacted in the record');
    unlike($r->{out} . slurp($log), qr/Bearer fresh/,
           'the supplied secret is in no record');
    unlike($r->{err}, qr/redacted in the log/, 'no warning then');
    my $reqs = requests();
    is(scalar @$reqs, 1, '--id: one request');
    is(header($reqs->[0], 'Authorization'), 'Bearer fresh',
       '--header supplies the redacted Authorization');
    is(scalar(split /\n/, slurp($log)), 10, '--id: one line appended');

    $r = cli('retry', $log, '--id', 'msg_00000000000000a10002');
    is($r->{rc}, 4, '--id of a push whose latest attempt is ok: exit 4');
    like($r->{err}, qr/latest attempt is ok/, '... says why');

    $r = cli('retry', $log, '--id', 'msg_nope');
    is($r->{rc}, 4, '--id not in the log: exit 4');
    like($r->{err}, qr/no push with id "msg_nope"/, '... says so');
}

{
    my ($log) = retry_log();
    clear_requests();

    my $r = cli('retry', $log, '--call', 'c-2',
                '--header', 'Authorization: Bearer for-c-1');
    is($r->{rc}, 0, '--call: exit 0');
    is_deeply([ map { $_->{id} } @{ $r->{lines} } ],
              ['msg_00000000000000c20001'], "--call: only that call's push");
    is(header(requests()->[0], 'Authorization'), undef,
       '--header is not added to a push that did not have the header');
    like($r->{err}, qr/--header "Authorization": no re-sent push/,
         '... and says so');
    is_deeply([ sort keys %{ $r->{lines}[0]{request}{headers} } ],
              [ 'Content-Type', 'X-Trace' ], '... nor to its record');

    ($log) = retry_log();
    $r = cli('retry', $log, '--since', '2026-11-23T10:05:00Z', '--dry-run');
    is_deeply([ map { $_->{id} } @{ $r->{lines} } ],
              ['msg_00000000000000a10001'],
              '--since: only attempts at or after TIME');

    $r = cli('retry', $log, '--since', '1h', '--dry-run');
    is($r->{rc}, 0, '--since 1h: exit 0') or diag($r->{err});

    clear_requests();
    $r = cli('retry', $log, '--status', 'ok', '--header', 'X-Api-Key: k-new');
    is($r->{rc}, 0, '--status ok: exit 0');
    is_deeply([ map { $_->{id} } @{ $r->{lines} } ],
              ['msg_00000000000000a10002'], '--status ok: the ok push');
    is($r->{lines}[0]{attempt}, 2, '--status ok: attempt 2');
    is($r->{lines}[0]{request}{headers}{'X-Api-Key'}, '[redacted]',
       'X-Api-Key redacted in the record');
    my $reqs = requests();
    is(header($reqs->[0], 'X-Api-Key'), 'k-new', '--header X-Api-Key sent');
    is($reqs->[0]{target}, '/created?lead=42', 'to the logged URL');
    is($reqs->[0]{method}, 'PUT', 'with the logged method');

    ($log) = retry_log();
    $r = cli('retry', $log, '--status', 'rejected', '--to', "$base/reject");
    is($r->{rc}, 4, 'a retry rejected again: exit 4');
    is_deeply([ map { $_->{status} } @{ $r->{lines} } ],
              [qw(rejected rejected)], '... both rejected');
    is($r->{lines}[0]{request}{url}, "$base/reject",
       '--to: the record shows the URL sent to');
}

# --- send, then retry: the whole loop ---

{
    my $log = "$dir/loop.log";
    my $refused = refused_port();

    my $r = cli('send', $doc, '--integration', 'post_call_push',
                '--to', "http://127.0.0.1:$refused/ok", '--log', $log);
    is($r->{rc}, 4, 'loop: send to a refused port fails');
    my $first = $r->{lines}[0];

    clear_requests();
    $r = cli('retry', $log, '--to', "$base/ok",
             '--header', 'Authorization: Bearer s3cret-token');
    is($r->{rc}, 0, 'loop: retry --to succeeds') or diag($r->{err});
    my $second = $r->{lines}[0];
    is($second->{id}, $first->{id}, 'loop: same push id');
    is($second->{attempt}, 2, 'loop: attempt 2');
    is($second->{status}, 'ok', 'loop: ok');
    is($second->{request}{body}, $first->{request}{body}, 'loop: same body');
    ok(abs($second->{event}{t} - $first->{event}{t}) < 60,
       'loop: event.t continues from the first attempt');
    my $reqs = requests();
    is($reqs->[0]{body}, $first->{request}{body},
       'loop: the CRM gets the original body');
    is(header($reqs->[0], 'Authorization'), 'Bearer s3cret-token',
       'loop: and the token given with --header');
    is(scalar(split /\n/, slurp($log)), 2, 'loop: two records in the log');
}

# --- the SSRF guard ---

{
    clear_requests();
    my $r = cli({ guard => 1 }, 'send', $doc, '--integration',
                'post_call_push', '--to', "$base/ok");
    is($r->{rc}, 4, 'guard: a push to loopback is refused, exit 4');
    is($r->{lines}[0]{status}, 'failed', 'guard: failed');
    is($r->{lines}[0]{error},
       'refused by the SSRF guard: 127.0.0.1 is a loopback address',
       'guard: with the reason');
    is($r->{lines}[0]{http_status}, undef, 'guard: no HTTP status');

    my @forms = (
        [ "2130706433:$port", '2130706433 is 127.0.0.1, a loopback address' ],
        [ "0x7f.1:$port", '0x7f.1 is 127.0.0.1, a loopback address' ],
        [ "0177.0.0.1:$port", '0177.0.0.1 is 127.0.0.1, a loopback address' ],
        [ "[::ffff:127.0.0.1]:$port",
          '::ffff:127.0.0.1 is a loopback address' ],
        [ '169.254.169.254', '169.254.169.254 is a link-local address' ],
        [ '[fd00::1]', 'fd00::1 is a private address (RFC 4193)' ],
    );

    for my $f (@forms) {
        $r = cli({ guard => 1 }, 'send', $doc, '--integration',
                 'post_call_push', '--to', "http://$f->[0]/ok");
        is($r->{lines}[0]{error}, "refused by the SSRF guard: $f->[1]",
           "guard: http://$f->[0]/ refused");
    }

    $r = cli({ guard => 1 }, 'send', $doc, '--integration',
             'post_call_push', '--to', "http://localhost:$port/ok");
    like($r->{lines}[0]{error},
         qr/^refused by the SSRF guard: "localhost" stands for (127\.0\.0\.1|::1), a loopback address$/,
         'guard: a name is resolved and its addresses checked');

    $r = cli({ guard => 1 }, 'send', $doc, '--integration',
             'post_call_push', '--allow-addr', '127.0.0.0/8', '--allow-addr',
             '::1', '--to', "http://localhost:$port/ok");
    is($r->{rc}, 0, 'guard: localhost allowed by --allow-addr')
        or diag($r->{err}, $r->{out});

    is(scalar @{ requests() }, 1,
       'guard: only the allowed push reached the CRM');

    clear_requests();
    $r = cli({ guard => 1 }, 'send', $doc, '--integration',
             'post_call_push', '--allow-private', '--to', "$base/ok");
    is($r->{rc}, 0, 'guard: --allow-private lets loopback through');
    is(scalar @{ requests() }, 1, 'guard: ... and the CRM got it');

    $r = cli({ guard => 1 }, 'send', $doc, '--allow-addr', '10.0.0.1/8');
    is($r->{rc}, 2, 'guard: a bad --allow-addr is a usage error');
    like($r->{err}, qr/--allow-addr "10\.0\.0\.1\/8": expected a CIDR/,
         'guard: ... that says so');
}

# --- retry re-signs signed pushes ---

{
    my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    my $key = decode_base64(substr $secret, 6);
    my $id = 'msg_00112233445566778899';
    my $log = "$dir/signed.log";
    my $rec = {
        id => $id, call_id => 'c-sig', bot_id => 'b', integration => 'post_call_push',
        status => 'failed', http_status => undef, response_body => undef,
        error => 'could not connect', attempt => 1, final => JSON::PP::true,
        at => '2026-11-23T10:00:00Z', duration_ms => 0,
        request => { method => 'POST', url => "$base/ok",
                     headers => { 'Content-Type' => 'application/json',
                                  'webhook-id' => $id,
                                  'webhook-timestamp' => '1614265330',
                                  'webhook-signature' => 'v1,stale' },
                     body => '{"k":"v"}' },
        event => { type => 'post_call_push', t => undef, status => 'failed' },
    };
    spew($log, $json->encode($rec) . "\n");
    spew("$dir/secret", "$secret\n");

    clear_requests();
    my $t0 = time;
    my $r = cli('retry', $log, '--signing-secret', "file=$dir/secret");
    is($r->{rc}, 0, 'retry --signing-secret: exit 0') or diag($r->{err});
    my $req = requests()->[0] || {};
    is(header($req, 'webhook-id'), $id, '... the same webhook-id');
    my $ts = header($req, 'webhook-timestamp') // 0;
    ok(abs($ts - $t0) < 5, "... a fresh webhook-timestamp ($ts)");
    is(header($req, 'webhook-signature'),
       'v1,' . encode_base64(hmac_sha256("$id.$ts." . '{"k":"v"}', $key), ''),
       '... and a valid signature of it (Digest::SHA)');
    is($r->{lines}[0]{request}{headers}{'webhook-timestamp'}, $ts,
       '... which the new record shows');

    $r = cli('retry', $log, '--signing-secret', 'whsec_c2hvcnQ=');
    is($r->{rc}, 2, 'a bad --signing-secret: usage error');
    like($r->{err}, qr/--signing-secret: expected "whsec_"/, '... that says so');
}

done_testing();
