# Standard Webhooks signatures (cxbpush_signing_secret), checked by an
# independent implementation (Digest::SHA, MIME::Base64).

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

# The CRM mocks listen on loopback, which the SSRF guard refuses by default:
# every block here allows 127.0.0.1 (t/070-ssrf.t tests the guard itself).
add_block_preprocessor(sub {
    my $block = shift;
    my $http = $block->http_config // '';
    $block->set_value('http_config',
                      "    cxbpush_allow_addr 127.0.0.1/32;\n$http");
});

use Digest::SHA qw(hmac_sha256);
use JSON::PP;
use MIME::Base64;

# Verifies the signature headers of the first record of the integration log
# with each secret; answers what it found.
our $Verify = sub {
    my ($log, @secrets) = @_;

    # the filter sees every answer of the block: only the log is checked
    return $log unless $log =~ /^\{"id":/;

    my ($line) = split /\n/, $log;
    my $rec = eval { JSON::PP->new->decode($line) } or return "no record\n";
    my $h = $rec->{request}{headers};
    my ($id, $ts, $sig) = @$h{qw(webhook-id webhook-timestamp webhook-signature)};

    return "missing headers\n" unless defined $id && defined $ts && defined $sig;
    return "id differs from the record's\n" unless $id eq $rec->{id};
    return "stale timestamp\n" unless abs($ts - time) < 60;

    my @want = map {
        (my $k = $_) =~ s/^whsec_//;
        'v1,' . encode_base64(hmac_sha256("$id.$ts." . ($rec->{request}{body} // ""),
                                          decode_base64($k)), '');
    } @secrets;

    return join(' ', @want) eq $sig ? "signatures ok\n" : "bad: $sig\n";
};

no_long_string();
run_tests();

__DATA__

=== TEST 1: every push is signed; the signature verifies
--- http_config
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200; }
    }
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_log logs/cxbpush.log;
        cxbpush_signing_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
    location = /_send { internal; proxy_pass $cxbpush_url; }
    location = /log { alias $TEST_NGINX_SERVER_ROOT/logs/cxbpush.log; }
--- request eval
["POST /ingest\n" . q({"call": {"call_id": "c-1", "crm_data": {"n": "Ash\u00e9"}}, "bot": {"post_call_push": {"url": "http://crm.test/crm", "key_mapper": {"name": "{{crm.n}}"}}}}),
 "GET /log"]
--- error_code eval
[202, 200]
--- response_body_filters eval
sub { $main::Verify->($_[0], 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw') }
--- response_body eval
['{"call_id":"c-1","pushes":[{"integration":"post_call_push","status":"scheduled","reason":null}]}' . "\n",
 "signatures ok\n"]
--- no_check_leak



=== TEST 2: two secrets during rotation, one from a file; GET pushes sign an empty body
--- user_files
>>> signing.secret
whsec_c2VjcmV0LXNlY29uZC1rZXktMzItYnl0ZXMtbG9uZyE=
--- http_config
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200; }
    }
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_log logs/cxbpush.log;
        cxbpush_signing_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        cxbpush_signing_secret file=$TEST_NGINX_SERVER_ROOT/html/signing.secret;
    }
    location = /_send { internal; proxy_pass $cxbpush_url; }
    location = /log { alias $TEST_NGINX_SERVER_ROOT/logs/cxbpush.log; }
--- request eval
["POST /ingest\n" . q({"call": {"call_id": "c-2"}, "bot": {"post_call_push": {"url": "http://crm.test/crm", "method": "GET", "key_mapper": {"a": "b"}}}}),
 "GET /log"]
--- error_code eval
[202, 200]
--- response_body_filters eval
sub { $main::Verify->($_[0], 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_c2VjcmV0LXNlY29uZC1rZXktMzItYnl0ZXMtbG9uZyE=') }
--- response_body eval
['{"call_id":"c-2","pushes":[{"integration":"post_call_push","status":"scheduled","reason":null}]}' . "\n",
 "signatures ok\n"]
--- no_check_leak



=== TEST 3: without cxbpush_signing_secret only webhook-id is sent, unsigned
--- http_config
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_RAND_PORT_1; }
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
    location = /_send { internal; proxy_pass $cxbpush_url; }
--- request
POST /ingest
{"call": {"call_id": "c-3"}, "bot": {"post_call_push": {"url": "http://crm.test/crm"}}}
--- error_code: 202
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_query eval
my $q = "POST /crm HTTP/1.0\r
Host: crm.test\r
Connection: close\r
Content-Length: 2\r
Content-Type: application/json\r
webhook-id: MSGID\r
User-Agent: cxbpush/1.0\r
\r
{}";
my $re = quotemeta $q;
$re =~ s/MSGID/msg_[0-9a-f]{20}/;
qr/\A$re\z/
--- tcp_query_len: 173
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
--- no_check_leak



=== TEST 4: a secret that is not whsec_ base64 of 16+ bytes is a configuration error
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_signing_secret whsec_c2hvcnQ=;
    }
--- request
GET /
--- must_die
--- error_log
"cxbpush_signing_secret" must be "whsec_" and the base64 of 16 to 64 bytes
