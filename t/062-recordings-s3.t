# Recordings against a real S3 implementation that verifies signatures:
# @20minutes/s3rver 4.0.4 (t/s3/s3rver.js), started here on a free loopback
# port with a random secret (with "/" and "+" in it, like AWS's) that only
# this file and the nginx under test know.
#
# s3rver also answers unsigned GETs (anonymous access, like a public
# bucket), so a 200 alone proves nothing: every block that shows signing
# also shows that the same URL with one signature character changed, or
# signed with another secret, gets 403.
#
# The URLs the module produces are fetched from the response body checks
# below (blocks named "(fetch: OBJECT)" take variables.result.recording_url
# of their dry run; blocks named "(follow: OBJECT)" request their own URL
# again and follow the 302), while the block's nginx is still running.
#
# Objects are uploaded with presigned PUTs made by t/s3/presign (built here
# from the core's own cxb_sigv4.c).  Needs node, the s3rver package
# (make s3rver, or npm install --prefix .deps/s3rver @20minutes/s3rver@4.0.4)
# and a C compiler; without them the file is skipped, or fails when
# CXB_S3_REQUIRE is set (make test sets it).

use strict;
use warnings;

our (%Objects, $S3Pid, $S3Owner, $S3Tmp);

BEGIN {
    use File::Temp ();
    use FindBin ();
    use HTTP::Tiny ();
    use IO::Handle ();
    use POSIX ();

    my $root = "$FindBin::Bin/..";
    my $pkg = $ENV{CXB_S3RVER_DIR}
              || "$root/.deps/s3rver/node_modules/\@20minutes/s3rver";
    my $cc = $ENV{CC} || 'cc';

    # CXB_S3_REQUIRE (set by make test): a missing dependency fails
    my $skip = sub {
        if ($ENV{CXB_S3_REQUIRE}) {
            print "1..1\nnot ok 1 - $_[0]\n";
            exit 1;
        }

        print "1..0 # SKIP $_[0]\n";
        exit 0;
    };

    for my $tool ('node', $cc) {
        $skip->("$tool not found")
            unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
    }

    $skip->("s3rver is not installed (make s3rver, or npm install --prefix "
            . ".deps/s3rver \@20minutes/s3rver\@4.0.4)")
        unless -f "$pkg/lib/s3rver.js";

    $S3Tmp = File::Temp::tempdir('cxb-s3-XXXXXX', TMPDIR => 1, CLEANUP => 1);

    # the upload helper, from the core's own signing code

    my @src = ("$root/t/s3/presign.c", "$root/src/cxb_sigv4.c",
               "$root/src/cxb_buf.c");
    push @src, "$root/src/cxb_crypto.c" if -f "$root/src/cxb_crypto.c";

    system($cc, '-std=c99', '-D_DEFAULT_SOURCE', '-O1', "-I$root/src",
           '-o', "$S3Tmp/presign", @src, '-lcrypto') == 0
        or die "cannot build t/s3/presign.c\n";

    # a fresh secret with "/" and "+" in it, never printed; the error logs
    # are searched for its fixed middle part "NotInAnyLog"

    my @chars = ('A' .. 'Z', 'a' .. 'z', '0' .. '9', '/', '+');
    my $secret = join '', '/+', (map { $chars[int rand @chars] } 1 .. 16),
                 'NotInAnyLog', map { $chars[int rand @chars] } 1 .. 16;

    $ENV{CXB_S3_ACCESS_KEY} = 'cxbpush-test';
    $ENV{CXB_S3_SECRET_KEY} = $secret;
    $ENV{CXB_S3RVER_DIR} = $pkg;

    open my $fh, '>', "$S3Tmp/s3.secret" or die "$S3Tmp/s3.secret: $!\n";
    print $fh "$secret\n";
    close $fh;

    $ENV{TEST_NGINX_S3_SECRET_FILE} = "$S3Tmp/s3.secret";
    $ENV{TEST_NGINX_S3_SECRET} = $secret;

    # s3rver on any free port: it prints "ready PORT"

    pipe(my $rd, my $wr) or die "pipe: $!\n";

    $S3Owner = $$;
    $S3Pid = fork;
    die "fork: $!\n" unless defined $S3Pid;

    if ($S3Pid == 0) {
        close $rd;
        open STDOUT, '>&', $wr or POSIX::_exit(1);
        open STDERR, '>', "$S3Tmp/s3rver.err" or POSIX::_exit(1);
        exec('node', "$root/t/s3/s3rver.js", "$S3Tmp/data", 'recordings')
            or POSIX::_exit(1);
    }

    close $wr;

    my $port;
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 20;
        while (my $line = <$rd>) {
            if ($line =~ /^ready (\d+)$/) {
                $port = $1;
                last;
            }
        }
        alarm 0;
    };

    die "s3rver did not start: "
        . (`cat $S3Tmp/s3rver.err` || $@ || 'no output') . "\n"
        unless $port;

    $ENV{TEST_NGINX_S3_PORT} = $port;

    # the objects: name => [key, contents]

    %Objects = (
        c1      => ['calls/c-1.wav',
                    "RIFF c-1 recording 0123456789abcdefghijklmnopqrstuv\n"],
        space   => ['calls/with space.wav', "spaced-out recording\n"],
        plus    => ['calls/a+b.wav', "plus-sign recording\n"],
        unicode => ["calls/\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.wav",
                    "unicode recording\n"],
        deep    => ['calls/2026/11/c-7f3a.wav', "c-7f3a recording\n"],
    );

    my $http = HTTP::Tiny->new(timeout => 10);

    for my $name (sort keys %Objects) {
        my ($key, $body) = @{ $Objects{$name} };

        open my $p, '-|', "$S3Tmp/presign", '-m', 'PUT',
             "http://127.0.0.1:$port", 'recordings', 'us-east-1',
             'cxbpush-test', $key
            or die "presign: $!\n";
        my $url = <$p>;
        close $p;
        chomp $url if defined $url;
        die "presign failed for '$key'\n" unless $url;

        my $res = $http->request('PUT', $url, { content => $body });
        die "PUT '$key': $res->{status} $res->{content}\n"
            unless $res->{status} == 200;
    }
}

END {
    if ($S3Pid && defined $S3Owner && $$ == $S3Owner) {
        kill 'TERM', $S3Pid;
        waitpid $S3Pid, 0;
    }
}

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

use Digest::MD5 ();
use HTTP::Tiny;
use JSON::PP;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

my $Http = HTTP::Tiny->new(max_redirect => 0, timeout => 10);


sub fetch {
    my ($method, $url, %headers) = @_;

    return $Http->request($method, $url, { headers => \%headers });
}


# one signature digit changed

sub tamper {
    my $url = shift;

    $url =~ s/(X-Amz-Signature=[0-9a-f]{20})([0-9a-f])/
              $1 . ($2 eq '0' ? '1' : '0')/e
        or die "no signature in $url\n";

    return $url;
}


sub check_url {
    my ($name, $url, $obj) = @_;
    my ($key, $body) = @{ $Objects{$obj} };

    my $r = fetch(GET => $url);
    is($r->{status}, 200, "$name - GET the URL: 200");
    is($r->{content}, $body, "$name - GET the URL: the object's bytes");

    $r = fetch(GET => $url, Range => 'bytes=0-4');
    is($r->{status}, 206, "$name - Range GET: 206");
    is($r->{content}, substr($body, 0, 5), "$name - Range GET: 5 bytes");

    if ($url =~ /X-Amz-Signature=/) {
        is(fetch(GET => tamper($url))->{status}, 403,
           "$name - one signature digit changed: 403");
        is(fetch(HEAD => $url)->{status}, 403,
           "$name - the GET signature used for HEAD: 403");

    } else {
        $r = fetch(HEAD => $url);
        is($r->{status}, 200, "$name - HEAD: 200");
        is($r->{headers}{'content-length'}, length $body,
           "$name - HEAD: Content-Length");
    }
}


add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;
    my $name = $block->name;

    return if $dry_run;

    if ($name =~ /\(fetch: (\w+)\)/) {
        my $obj = $1;
        my $doc = eval { decode_json($body) };
        my $url = $doc && $doc->{variables}{result}{recording_url};

        ok($url, "$name - a recording_url to fetch") or return;
        check_url($name, $url, $obj);

    } elsif ($name =~ /\(follow: (\w+)\)/) {
        my $obj = $1;
        my ($uri) = $block->request =~ m{^\w+\s+(\S+)};
        my $route = "http://127.0.0.1:" . server_port_for_client() . $uri;
        my ($key, $content) = @{ $Objects{$obj} };

        my $r = fetch(GET => $route);
        is($r->{status}, 302, "$name - the route answers 302");
        my $url = $r->{headers}{location};
        like($url, qr/&X-Amz-Expires=300&/, "$name - lives 5 minutes");
        check_url($name, $url, $obj);

        $r = fetch(HEAD => $route);
        is($r->{status}, 302, "$name - HEAD: 302 too");
        my $head = $r->{headers}{location};
        $r = fetch(HEAD => $head);
        is($r->{status}, 200, "$name - HEAD: its Location signed for HEAD");
        is($r->{headers}{'content-length'}, length $content,
           "$name - HEAD: Content-Length");
        is(fetch(GET => $head)->{status}, 403,
           "$name - HEAD's Location used for GET: 403");
    }
});

no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: rule 1: recording_key and recording_access_token, served via the lookup (fetch: c1)
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;
--- config
    cxbpush_public_base_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT;

    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }

    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
        cxbpush_recordings_lookup /_lookup;
    }

    location /_recording/ {
        internal;
        proxy_set_header Authorization "";
        proxy_pass $cxbpush_recording_url;
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/lookup-api;
    }

    location = /lookup-api {
        if ($arg_token != "tok%2Fc%201") { return 404; }
        add_header X-Recording-Key calls/c-1.wav;
        return 200;
    }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "recording_key": "calls/c-1.wav",
          "recording_access_token": "tok/c 1",
          "recording_url": "s3://recordings/calls/c-1.wav"}}
--- error_code: 200
--- response_body_like: "result":\{"call_id":"c-1","recording_url":"http://127\.0\.0\.1:\d+/api/v1/public/recordings/tok%2Fc%201"



=== TEST 2: rule 2: a recording_key and a token secret: a sealed token URL (fetch: deep)
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    cxbpush_public_base_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;

    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }

    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
    }

    location /_recording/ {
        internal;
        proxy_set_header Authorization "";
        proxy_pass $cxbpush_recording_url;
    }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-7f3a", "recording_key": "calls/2026/11/c-7f3a.wav",
          "recording_url": "s3://recordings/calls/2026/11/c-7f3a.wav"}}
--- error_code: 200
--- response_body_like: "result":\{"call_id":"c-7f3a","recording_url":"http://127\.0\.0\.1:\d+/api/v1/public/recordings/ARoTkMXpbX_a0Y1UqqhUbJqkdWP_7hUtSaUqEfEd0VTbNVHb3duckUjdZ5QmHAdCq5O5kbU"



=== TEST 3: rule 3: an s3:// reference with an escaped "+" (fetch: plus)
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "recording_url": "s3://recordings/calls/a%2Bb.wav"}}
--- error_code: 200
--- response_body_like: "recording_url":"http://127\.0\.0\.1:\d+/recordings/calls/a%2Bb\.wav\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=cxbpush-test%2F\d{8}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=\d{8}T\d{6}Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=[0-9a-f]{64}"
--- no_error_log
NotInAnyLog
[alert]



=== TEST 4: rule 3: a path-style http:// reference with a space (fetch: space)
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE expires=1h;
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "recording_url": "http://127.0.0.1:$TEST_NGINX_S3_PORT/recordings/calls/with%20space.wav"}}
--- error_code: 200
--- response_body_like: "recording_url":"http://127\.0\.0\.1:\d+/recordings/calls/with%20space\.wav\?X-Amz-Algorithm=.*&X-Amz-Expires=3600&



=== TEST 5: rule 3: a bare key with unicode, inline secret_key= (fetch: unicode)
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key=$TEST_NGINX_S3_SECRET;
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "recording_url": "calls/é 日本.wav"}}
--- error_code: 200
--- response_body_like: "recording_url":"http://127\.0\.0\.1:\d+/recordings/calls/%C3%A9%20%E6%97%A5%E6%9C%AC\.wav\?X-Amz-Algorithm=



=== TEST 6: rule 3 when rule 2 is not available: a key but no token secret (fetch: c1)
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request
POST /ingest?dry_run=1
{"call": {"call_id": "c-1", "recording_key": "calls/c-1.wav",
          "recording_url": "s3://recordings/calls/c-1.wav"}}
--- error_code: 200
--- response_body_like: "recording_url":"http://127\.0\.0\.1:\d+/recordings/calls/c-1\.wav\?X-Amz-Algorithm=



=== TEST 7: rule 4: a reference to another bucket or host is given as is
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- pipelined_requests eval
["POST /ingest?dry_run=1
{\"call\": {\"call_id\": \"c-1\", \"recording_url\": \"s3://other-bucket/calls/c-1.wav\"}}",
"POST /ingest?dry_run=1
{\"call\": {\"call_id\": \"c-1\", \"recording_url\": \"https://cdn.example/calls/c-1.wav?sig=1\"}}",
"POST /ingest?dry_run=1
{\"call\": {\"call_id\": \"c-1\", \"recording_url\": \"ftp://files.example/c-1.wav\"}}"]
--- response_body_like eval
[qr{"result":\{"call_id":"c-1","recording_url":"s3://other-bucket/calls/c-1\.wav"},
qr{"result":\{"call_id":"c-1","recording_url":"https://cdn\.example/calls/c-1\.wav\?sig=1"},
qr{"result":\{"call_id":"c-1","recording_url":"ftp://files\.example/c-1\.wav"}]



=== TEST 8: rule 4: no store, no secret: recording_url as given, else ""
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- pipelined_requests eval
["POST /ingest?dry_run=1
{\"call\": {\"call_id\": \"c-1\", \"recording_key\": \"calls/c-1.wav\", \"recording_url\": \"s3://recordings/calls/c-1.wav\"}}",
"POST /ingest?dry_run=1
{\"call\": {\"call_id\": \"c-1\", \"recording_key\": \"calls/c-1.wav\"}}",
"POST /ingest?dry_run=1
{\"call\": {\"call_id\": \"c-1\"}}"]
--- response_body_like eval
[qr{"result":\{"call_id":"c-1","recording_url":"s3://recordings/calls/c-1\.wav"},
qr{"result":\{"call_id":"c-1","recording_url":""},
qr{"result":\{"call_id":"c-1","recording_url":""}]



=== TEST 9: proxy mode: a sealed token serves the object from S3
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
    }

    location /_recording/ {
        internal;
        proxy_set_header Authorization "";
        proxy_pass $cxbpush_recording_url;
    }
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- error_code: 200
--- response_headers
Content-Length: 52
Accept-Ranges: bytes
--- response_body
RIFF c-1 recording 0123456789abcdefghijklmnopqrstuv
--- no_error_log
NotInAnyLog
[error]
[alert]



=== TEST 10: proxy mode: Range is passed through (206)
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
    }

    location /_recording/ {
        internal;
        proxy_set_header Authorization "";
        proxy_pass $cxbpush_recording_url;
    }
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- more_headers
Range: bytes=19-28
--- error_code: 206
--- response_headers
Content-Range: bytes 19-28/52
--- response_body chomp
0123456789



=== TEST 11: proxy mode: HEAD is signed as HEAD
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
    }

    location /_recording/ {
        internal;
        proxy_set_header Authorization "";
        proxy_pass $cxbpush_recording_url;
    }
--- request
HEAD /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- error_code: 200
--- response_headers
Content-Length: 52
--- response_body



=== TEST 12: proxy mode: If-None-Match is passed through (304)
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
    }

    location /_recording/ {
        internal;
        proxy_set_header Authorization "";
        proxy_pass $cxbpush_recording_url;
    }
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- more_headers eval
'If-None-Match: "' . Digest::MD5::md5_hex("RIFF c-1 recording 0123456789abcdefghijklmnopqrstuv\n") . '"'
--- error_code: 304
--- response_body



=== TEST 13: proxy mode: keys with a space, a "+" and unicode (sealed tokens)
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
    }

    location /_recording/ {
        internal;
        proxy_set_header Authorization "";
        proxy_pass $cxbpush_recording_url;
    }
--- pipelined_requests eval
["GET /api/v1/public/recordings/Aa74mB-fHIcNWl7d-745_HmQ45jHkkKes3fHhA3BuemhKcBCvmwBCc_AcxfPRPavyA",
"GET /api/v1/public/recordings/Ad1HsUw99T7fvAW_WOgNVNPP7x2JMccinBV6grbjpeaZnx9FzZbpQKnt",
"GET /api/v1/public/recordings/AaWjm64H0IyV2TeORto6k1J9O94Hyg3aZUe5OTY4suh-mocOV7xqhNiIT177hFLl"]
--- error_code eval
[200, 200, 200]
--- response_body eval
["spaced-out recording\n", "plus-sign recording\n", "unicode recording\n"]



=== TEST 14: proxy mode: lookup tokens
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;

    map $arg_token $rec_key {
        default     "";
        tok_plus    "calls/a+b.wav";
        tok_gone    "calls/no-such-object.wav";
    }
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
        cxbpush_recordings_lookup /_lookup;
    }

    location /_recording/ {
        internal;
        proxy_set_header Authorization "";
        proxy_pass $cxbpush_recording_url;
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/lookup-api;
    }

    location = /lookup-api {
        if ($rec_key = "") { return 404; }
        add_header X-Recording-Key $rec_key;
        return 200;
    }
--- pipelined_requests eval
["GET /api/v1/public/recordings/tok_plus",
"GET /api/v1/public/recordings/tok_nothing",
"GET /api/v1/public/recordings/tok_gone"]
--- error_code eval
[200, 404, 404]
--- response_body_like eval
[qr/^plus-sign recording$/, qr/404 Not Found/, qr/NoSuchKey/]



=== TEST 15: proxy mode: one signature character changed: S3 answers 403
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;
    cxbpush_token_secret 0123456789abcdef-test-secret;

    map $cxbpush_recording_url $tampered {
        "~^(?<head>.*&X-Amz-Signature=.{20}).(?<tail>.*)$"  "${head}x${tail}";
    }
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
    }

    location /_recording/ {
        internal;
        proxy_set_header Authorization "";
        proxy_pass $tampered;
    }
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- error_code: 403
--- response_body_like: SignatureDoesNotMatch



=== TEST 16: proxy mode: nginx configured with another secret: S3 answers 403
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key=not-the-secret-s3rver-knows;
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
    }

    location /_recording/ {
        internal;
        proxy_set_header Authorization "";
        proxy_pass $cxbpush_recording_url;
    }
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- error_code: 403
--- response_body_like: SignatureDoesNotMatch



=== TEST 17: proxy mode: a client Authorization header must not reach S3
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_recording/;
    }

    location /api/v1/unsafe/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_pass /_unsafe/;
    }

    location /_recording/ {
        internal;
        proxy_set_header Authorization "";
        proxy_pass $cxbpush_recording_url;
    }

    # without proxy_set_header Authorization "": S3 sees two auth schemes
    location /_unsafe/ {
        internal;
        proxy_pass $cxbpush_recording_url;
    }
--- pipelined_requests eval
["GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez",
"GET /api/v1/unsafe/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez"]
--- more_headers
Authorization: Bearer platform-user-token
--- error_code eval
[200, 400]
--- response_body_like eval
[qr/^RIFF c-1 recording/, qr/Only one auth mechanism allowed/]



=== TEST 18: redirect mode: 302 to a presigned URL that S3 honours (follow: c1)
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_redirect on;
    }
--- request
GET /api/v1/public/recordings/Ab4qEjrXOI5apOp3fzkGTihvy_1GtDpEhze0jm3ol-S4E0M2RnTsziez
--- error_code: 302
--- response_headers
Cache-Control: no-store



=== TEST 19: redirect mode with a unicode key (follow: unicode)
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;
    cxbpush_token_secret 0123456789abcdef-test-secret;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_redirect on;
    }
--- request
GET /api/v1/public/recordings/AaWjm64H0IyV2TeORto6k1J9O94Hyg3aZUe5OTY4suh-mocOV7xqhNiIT177hFLl
--- error_code: 302



=== TEST 20: redirect mode with a lookup token (follow: space)
--- http_config
    cxbpush_s3 endpoint=http://127.0.0.1:$TEST_NGINX_S3_PORT bucket=recordings
               region=us-east-1 access_key=cxbpush-test
               secret_key_file=$TEST_NGINX_S3_SECRET_FILE;
--- config
    location /api/v1/public/recordings/ {
        cxbpush_recordings;
        cxbpush_recordings_redirect on;
        cxbpush_recordings_lookup /_lookup;
    }

    location = /_lookup {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/lookup-api;
    }

    location = /lookup-api {
        if ($arg_token != tok_space) { return 404; }
        add_header X-Recording-Key "calls/with space.wav";
        return 200;
    }
--- request
GET /api/v1/public/recordings/tok_space
--- error_code: 302



=== TEST 21: s3rver itself is unharmed and still answering
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_S3_PORT/recordings/calls/c-1.wav;
    }
--- request
GET /t
--- error_code: 200
--- response_body
RIFF c-1 recording 0123456789abcdefghijklmnopqrstuv
