# The SSRF guard: pushes to loopback, private, link-local, unspecified and
# multicast addresses are refused before any connection, whether the URL
# names the address literally (every inet_aton form, IPv6, IPv4-mapped),
# through an upstream{} block or through DNS (a mock DNS server on
# loopback answers nginx's resolver); cxbpush_allow_addr and
# cxbpush_allow_private let chosen ranges through.  The loopback CRM logs
# every request it gets, so each refusal also proves nothing was sent.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

use IO::Socket::INET;
use Socket qw(AF_INET6 inet_pton inet_aton);

my $parent = $$;
my $dns_pid;

sub free_tcp_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# A DNS server for a few names, on loopback; no answer at all for slow.test.

my %A = (
    'loop.test'    => ['127.0.0.1'],
    'private.test' => ['10.0.0.5'],
    'meta.test'    => ['169.254.169.254'],
    'mixed.test'   => ['127.0.0.1', '10.1.1.1'],
);

my %AAAA = (
    'loop6.test'   => ['::1'],
    'mapped.test'  => ['::ffff:127.0.0.1'],
);

sub dns_reply {
    my ($q) = @_;

    return undef if length $q < 17;

    my ($id) = unpack 'n', $q;
    my $off = 12;
    my @labels;

    while (1) {
        my $len = ord substr($q, $off++, 1);
        last if $len == 0;
        push @labels, substr($q, $off, $len);
        $off += $len;
        return undef if $off >= length $q;
    }

    my ($type) = unpack 'n', substr($q, $off, 2);
    my $question = substr($q, 12, $off + 4 - 12);
    my $name = lc CORE::join '.', @labels;

    return undef if $name eq 'slow.test';

    my @an;

    if ($type == 1) {
        @an = map { pack('n n n N n', 0xc00c, 1, 1, 30, 4) . inet_aton($_) }
              @{ $A{$name} || [] };

    } elsif ($type == 28) {
        @an = map { pack('n n n N n', 0xc00c, 28, 1, 30, 16)
                    . inet_pton(AF_INET6, $_) }
              @{ $AAAA{$name} || [] };
    }

    my $rcode = ($A{$name} || $AAAA{$name}) ? 0 : 3;

    return pack('n n n n n n', $id, 0x8180 | $rcode, 1, scalar @an, 0, 0)
           . $question . CORE::join('', @an);
}

my $dns = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                Proto => 'udp')
    or die "cannot bind the mock DNS server: $!";

$ENV{TEST_NGINX_DNS_PORT} = $dns->sockport;
$ENV{TEST_NGINX_CRM_PORT} = free_tcp_port();

$dns_pid = fork();
die "fork: $!" unless defined $dns_pid;

if ($dns_pid == 0) {
    $SIG{TERM} = sub { POSIX::_exit(0) };
    while (1) {
        my $peer = $dns->recv(my $q, 512) or next;
        my $r = dns_reply($q);
        $dns->send($r, 0, $peer) if defined $r;
    }
}

close $dns;

END {
    if ($dns_pid && $$ == $parent) {
        kill 'TERM', $dns_pid;
        waitpid $dns_pid, 0;
    }
}

no_long_string();
run_tests();

__DATA__

=== TEST 1: an upstream{} name that stands for loopback is refused, and the CRM gets nothing
--- http_config
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_CRM_PORT; }
    server {
        listen 127.0.0.1:$TEST_NGINX_CRM_PORT;
        access_log logs/crm.log;
        location / { return 200 ok; }
    }
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_log logs/cxbpush.log;
    }
    location = /_send { internal; proxy_pass $cxbpush_url; }
    location = /log { alias $TEST_NGINX_SERVER_ROOT/logs/cxbpush.log; }
    location = /crm-log { alias $TEST_NGINX_SERVER_ROOT/logs/crm.log; }
--- request eval
["POST /ingest\n" . q({"call": {"call_id": "c-1"}, "bot": {"post_call_push": {"url": "http://crm.test/calls"}}}),
 "GET /log", "GET /crm-log"]
--- error_code eval
[202, 200, 200]
--- response_body_like eval
[qr/"status":"scheduled"/,
 qr/^\{[^\n]*"call_id":"c-1",[^\n]*"status":"failed","http_status":null,"response_body":null,"error":"refused by the SSRF guard: \\"crm.test\\" stands for 127.0.0.1, a loopback address",[^\n]*\}\n$/,
 qr/^$/]
--- no_check_leak



=== TEST 2: the same push with cxbpush_allow_addr 127.0.0.1/32 is delivered
--- http_config
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_CRM_PORT; }
    server {
        listen 127.0.0.1:$TEST_NGINX_CRM_PORT;
        access_log logs/crm.log;
        location / { return 200 ok; }
    }
    cxbpush_allow_addr 127.0.0.1/32;
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_log logs/cxbpush.log;
    }
    location = /_send { internal; proxy_pass $cxbpush_url; }
    location = /log { alias $TEST_NGINX_SERVER_ROOT/logs/cxbpush.log; }
    location = /crm-log { alias $TEST_NGINX_SERVER_ROOT/logs/crm.log; }
--- request eval
["POST /ingest\n" . q({"call": {"call_id": "c-2"}, "bot": {"post_call_push": {"url": "http://crm.test/calls"}}}),
 "GET /log", "GET /crm-log"]
--- error_code eval
[202, 200, 200]
--- response_body_like eval
[qr/"status":"scheduled"/,
 qr/^\{[^\n]*"call_id":"c-2",[^\n]*"status":"ok","http_status":200,"response_body":"ok","error":null,[^\n]*\}\n$/,
 qr{^127\.0\.0\.1 - - \[[^\]]+\] "POST /calls HTTP/1\.0" 200 2 "-" "cxbpush/1\.0"\n$}]
--- no_check_leak



=== TEST 3: cxbpush_allow_private on lets loopback through
--- http_config
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_CRM_PORT; }
    server {
        listen 127.0.0.1:$TEST_NGINX_CRM_PORT;
        location / { return 200 ok; }
    }
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_log logs/cxbpush.log;
        cxbpush_allow_private on;
    }
    location = /_send { internal; proxy_pass $cxbpush_url; }
    location = /log { alias $TEST_NGINX_SERVER_ROOT/logs/cxbpush.log; }
--- request eval
["POST /ingest\n" . q({"call": {"call_id": "c-3"}, "bot": {"post_call_push": {"url": "http://crm.test/calls"}}}),
 "GET /log"]
--- error_code eval
[202, 200]
--- response_body_like eval
[qr/"status":"scheduled"/,
 qr/^\{[^\n]*"call_id":"c-3",[^\n]*"status":"ok","http_status":200,[^\n]*\}\n$/]
--- no_check_leak



=== TEST 4: a location's own allow list replaces the inherited one
--- http_config
    upstream crm.test { server 127.0.0.1:$TEST_NGINX_CRM_PORT; }
    server {
        listen 127.0.0.1:$TEST_NGINX_CRM_PORT;
        location / { return 200 ok; }
    }
    cxbpush_allow_addr 127.0.0.1/32;
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_log logs/cxbpush.log;
        cxbpush_allow_addr 10.0.0.0/8;
        cxbpush_allow_addr fd00::/8;
    }
    location = /_send { internal; proxy_pass $cxbpush_url; }
    location = /log { alias $TEST_NGINX_SERVER_ROOT/logs/cxbpush.log; }
--- request eval
["POST /ingest\n" . q({"call": {"call_id": "c-4"}, "bot": {"post_call_push": {"url": "http://crm.test/calls"}}}),
 "GET /log"]
--- error_code eval
[202, 200]
--- response_body_like eval
[qr/"status":"scheduled"/,
 qr/^\{[^\n]*"call_id":"c-4",[^\n]*"status":"failed",[^\n]*"error":"refused by the SSRF guard: \\"crm.test\\" stands for 127.0.0.1, a loopback address",[^\n]*\}\n$/]
--- no_check_leak



=== TEST 5: every literal form of a refused address, none of them sent
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_CRM_PORT;
        access_log logs/crm.log;
        location / { return 200 ok; }
    }
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_log logs/cxbpush.log;
    }
    location = /_send {
        internal;
        proxy_pass $cxbpush_url;
        proxy_connect_timeout 1s;
    }
    location = /log { alias $TEST_NGINX_SERVER_ROOT/logs/cxbpush.log; }
    location = /crm-log { alias $TEST_NGINX_SERVER_ROOT/logs/crm.log; }
--- request eval
my $p = $ENV{TEST_NGINX_CRM_PORT};
my @hosts = ("127.0.0.1:$p", "2130706433:$p", "0x7f000001:$p",
             "017700000001:$p", "0177.0.0.1:$p", "127.1:$p", "0x7f.1:$p",
             "[::1]:$p", "[::ffff:127.0.0.1]:$p", "[::ffff:7f00:1]:$p",
             "0.0.0.0:$p", "0:$p", "169.254.169.254", "0xa9fea9fe",
             "10.0.0.1", "172.16.0.1", "192.168.0.1", "100.64.0.1",
             "[fd00::1]", "[fe80::1]", "224.0.0.1", "[ff02::1]", "[::]:$p",
             "255.255.255.255");
[(map { "POST /ingest\n"
        . qq({"call": {"call_id": "h$_"}, "bot": {"post_call_push": {"url": "http://$hosts[$_]/x"}}})
  } 0 .. $#hosts),
 "GET /log", "GET /crm-log"]
--- error_code eval
[(202) x 24, 200, 200]
--- response_body_like eval
my @why = (
  '127.0.0.1 is a loopback address',
  '2130706433 is 127.0.0.1, a loopback address',
  '0x7f000001 is 127.0.0.1, a loopback address',
  '017700000001 is 127.0.0.1, a loopback address',
  '0177.0.0.1 is 127.0.0.1, a loopback address',
  '127.1 is 127.0.0.1, a loopback address',
  '0x7f.1 is 127.0.0.1, a loopback address',
  '::1 is a loopback address',
  '::ffff:127.0.0.1 is a loopback address',
  '::ffff:7f00:1 is ::ffff:127.0.0.1, a loopback address',
  '0.0.0.0 is an unspecified address (0.0.0.0/8)',
  '0 is 0.0.0.0, an unspecified address (0.0.0.0/8)',
  '169.254.169.254 is a link-local address',
  '0xa9fea9fe is 169.254.169.254, a link-local address',
  '10.0.0.1 is a private address (RFC 1918)',
  '172.16.0.1 is a private address (RFC 1918)',
  '192.168.0.1 is a private address (RFC 1918)',
  '100.64.0.1 is a shared address (RFC 6598)',
  'fd00::1 is a private address (RFC 4193)',
  'fe80::1 is a link-local address',
  '224.0.0.1 is a multicast address',
  'ff02::1 is a multicast address',
  ':: is an unspecified address',
  '255.255.255.255 is a reserved or broadcast address',
);
my $log = CORE::join '', map {
    qq(\\{[^\\n]*"call_id":"h$_",[^\\n]*"status":"failed",[^\\n]*"error":")
    . quotemeta("refused by the SSRF guard: $why[$_]") . qq(",[^\\n]*\\}\\n)
} 0 .. $#why;
[(qr/"status":"scheduled"/) x 24, qr/^$log$/, qr/^$/]
--- no_check_leak
--- timeout: 20



=== TEST 6: names resolved through nginx's resolver: each address is checked
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT;
    resolver_timeout 1s;
    server {
        listen 127.0.0.1:$TEST_NGINX_CRM_PORT;
        access_log logs/crm.log;
        location / { return 200 ok; }
    }
    cxbpush_allow_addr 127.0.0.1/32;
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_log logs/cxbpush.log;
    }
    location = /_send {
        internal;
        proxy_pass $cxbpush_url;
        proxy_connect_timeout 1s;
    }
    location = /log { alias $TEST_NGINX_SERVER_ROOT/logs/cxbpush.log; }
    location = /crm-log { alias $TEST_NGINX_SERVER_ROOT/logs/crm.log; }
--- request eval
my $p = $ENV{TEST_NGINX_CRM_PORT};
my @hosts = ("private.test", "meta.test", "mixed.test", "loop6.test",
             "mapped.test", "nx.test", "slow.test", "loop.test");
[(map { "POST /ingest\n"
        . qq({"call": {"call_id": "$hosts[$_]"}, "bot": {"post_call_push": {"url": "http://$hosts[$_]:$p/calls"}}})
  } 0 .. $#hosts),
 "GET /log", "GET /crm-log"]
--- error_code eval
[(202) x 8, 200, 200]
--- response_body_like eval
my @why = (
  'refused by the SSRF guard: \"private.test\" stands for 10.0.0.5, a private address (RFC 1918)',
  'refused by the SSRF guard: \"meta.test\" stands for 169.254.169.254, a link-local address',
  'refused by the SSRF guard: \"mixed.test\" stands for 10.1.1.1, a private address (RFC 1918)',
  'refused by the SSRF guard: \"loop6.test\" stands for ::1, a loopback address',
  undef,
  'refused by the SSRF guard: could not resolve \"nx.test\": Host not found',
  'refused by the SSRF guard: could not resolve \"slow.test\": Operation timed out',
  undef,
);
my @status = ('failed') x 8;
$status[4] = $status[7] = 'ok';
my $log = CORE::join '', map {
    qq(\\{[^\\n]*"call_id":") . quotemeta((qw(private.test meta.test mixed.test loop6.test mapped.test nx.test slow.test loop.test))[$_])
    . qq(",[^\\n]*"status":"$status[$_]",[^\\n]*"error":)
    . (defined $why[$_] ? '"' . quotemeta($why[$_]) . '"' : 'null')
    . qq(,[^\\n]*\\}\\n)
} 0 .. 7;
[(qr/"status":"scheduled"/) x 8, qr/^$log$/,
 qr{^127\.0\.0\.1 - - [^\n]*"POST /calls HTTP/1\.0" 200 2 [^\n]*\n127\.0\.0\.1 - - [^\n]*"POST /calls HTTP/1\.0" 200 2 [^\n]*\n$}]
--- no_check_leak
--- timeout: 30



=== TEST 7: without a resolver, a name cannot be checked and is refused
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_log logs/cxbpush.log;
    }
    location = /_send { internal; proxy_pass $cxbpush_url; }
    location = /log { alias $TEST_NGINX_SERVER_ROOT/logs/cxbpush.log; }
--- request eval
["POST /ingest\n" . q({"call": {"call_id": "c-7"}, "bot": {"post_call_push": {"url": "http://crm.example.com/calls"}}}),
 "GET /log"]
--- error_code eval
[202, 200]
--- response_body_like eval
[qr/"status":"scheduled"/,
 qr/^\{[^\n]*"call_id":"c-7",[^\n]*"status":"failed",[^\n]*"error":"refused by the SSRF guard: no resolver defined to check the addresses of \\"crm.example.com\\"",[^\n]*\}\n$/]
--- no_check_leak



=== TEST 8: the refusal is logged at warn level with the reason
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
    }
    location = /_send { internal; proxy_pass $cxbpush_url; }
--- request
POST /ingest
{"call": {"call_id": "c-8"}, "bot": {"post_call_push": {"url": "http://169.254.169.254/latest/meta-data/"}}}
--- error_code: 202
--- error_log
push "post_call_push" of call "c-8" failed: refused by the SSRF guard: 169.254.169.254 is a link-local address
--- no_error_log
[error]
[crit]
--- no_check_leak



=== TEST 9: an invalid CIDR is a configuration error
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_allow_addr 10.0.0.1/8;
    }
--- must_die
--- error_log
invalid CIDR "10.0.0.1/8" in "cxbpush_allow_addr"



=== TEST 10: an allow list entry that is not an address is a configuration error
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_allow_addr localhost;
    }
--- must_die
--- error_log
invalid CIDR "localhost" in "cxbpush_allow_addr"



=== TEST 11: a refusal is final, but a name that did not resolve is retried
--- http_config
    resolver 127.0.0.1:$TEST_NGINX_DNS_PORT;
    resolver_timeout 1s;
--- config
    location = /ingest {
        cxbpush_ingest;
        cxbpush_pass /_send;
        cxbpush_log logs/cxbpush.log;
        cxbpush_retry schedule=30s;
    }
    location = /_send { internal; proxy_pass $cxbpush_url; }
    location = /log { alias $TEST_NGINX_SERVER_ROOT/logs/cxbpush.log; }
--- request eval
["POST /ingest\n" . q({"call": {"call_id": "c-private"}, "bot": {"post_call_push": {"url": "http://private.test/x"}}}),
 "POST /ingest\n" . q({"call": {"call_id": "c-nx"}, "bot": {"post_call_push": {"url": "http://nx.test/x"}}}),
 "GET /log"]
--- error_code eval
[202, 202, 200]
--- response_body_like eval
[qr/scheduled/, qr/scheduled/,
 qr/^\{[^\n]*"call_id":"c-private",[^\n]*"error":"refused by the SSRF guard: \\"private.test\\" stands for 10.0.0.5, a private address \(RFC 1918\)","attempt":1,"final":true,[^\n]*\}
\{[^\n]*"call_id":"c-nx",[^\n]*"error":"refused by the SSRF guard: could not resolve \\"nx.test\\": Host not found","attempt":1,"final":false,[^\n]*\}
$/]
--- no_check_leak
