package Test::Nginx::Socket;

# A small, self-contained implementation of the subset of CPAN's
# Test::Nginx::Socket used by this project (CPAN is unreachable here).
# It is a Test::Base subclass, like the real one, so test files written
# for it run unchanged under the real Test::Nginx::Socket:
#
#     use lib 't/lib';
#     use Test::Nginx::Socket 'no_plan';
#     run_tests();
#     __DATA__
#     === TEST 1: ...
#
# Sections, environment variables and test names follow the real
# module's documentation; see t/001-runner.t for a self-test.

use strict;
use warnings;

use Test::Base -base;

use Digest::MD5 ();
use File::Path ();
use Digest::SHA ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(shuffle);
use POSIX qw(WNOHANG);
use Scalar::Util qw(looks_like_number);
use Time::HiRes qw(sleep time);

use Test::Nginx::Util;
use Test::Nginx::Util qw(
    parse_time trim fmt_str expand_env_in_text setup_server_root
    write_user_files write_config_file start_nginx stop_nginx
    nginx_is_running run_nginx_once error_log_data access_log_data
    reset_error_log_pos start_tcp_server stop_tcp_server cleanup
    nginx_version ensure_nginx_binary
);

our $VERSION = '0.01';

# Test::Base's exports (plan, blocks, is, like, ok, no_diff, ...) are
# re-exported automatically by Spiffy; these are ours.
our @EXPORT = qw(
    run_tests run_test repeat_each no_shuffle log_level master_on
    master_off master_process_enabled workers worker_connections
    no_long_string no_root_location add_block_preprocessor
    add_cleanup_handler add_response_body_check server_root html_dir
    server_port server_port_for_client server_addr server_name
    env_to_nginx check_accum_error_log timeout config_preamble bail_out
    is_str
);

our @ResponseBodyChecks;
our $PrevConfig;            # config of the nginx currently running
our $PrevBlock;             # for --- shutdown_error_log
our $PrevBlockShutdownChecked = 1;
our $RunTestsCalled;

sub add_response_body_check ($) {
    push @ResponseBodyChecks, shift;
}

#------------------------------------------------------------------------
# Main loop
#------------------------------------------------------------------------

sub run_tests () {
    $RunTestsCalled = 1;
    ensure_nginx_binary();

    $ENV{TEST_NGINX_SERVER_PORT} = server_port()
        unless defined $ENV{TEST_NGINX_SERVER_PORT};

    # make sure END { } cleans up when interrupted
    local $SIG{INT}  = $SIG{INT}  || sub { exit 130 };
    local $SIG{TERM} = $SIG{TERM} || sub { exit 143 };

    my @blocks = blocks();
    # the real module shuffles unless no_shuffle()/TEST_NGINX_NO_SHUFFLE
    @blocks = shuffle @blocks unless $Test::Nginx::Util::NoShuffle;

    for my $block (@blocks) {
        my $ok = eval {
            $_->($block) for @Test::Nginx::Util::BlockPreprocessors;
            $block->set_value(name => "$0 " . $block->name);
            run_test($block);
            1;
        };
        if (!$ok) {
            my $err = $@;
            $err =~ s/\s+\z//;
            fail($block->name . " - $err");
            cleanup();      # reaps mock servers left by the failed block
        }
        $PrevBlock = $block;
        $PrevBlockShutdownChecked = 0;
    }

    cleanup();
}

sub run_test ($) {
    my $block = shift;
    return if defined $block->SKIP;

    my $name = $block->name;
    my $rand_ports = {};
    my $config = expand_env_in_text($block->config, $rand_ports);

    # like Test::Nginx 0.30+: the request sections see the same
    # $TEST_NGINX_* values (and random ports) as the config
    for my $section (qw(request pipelined_requests)) {
        my $val = $block->$section;
        next unless defined $val;
        $block->set_value($section, expand_env_deep($val, $rand_ports));
    }

    my ($should_skip, $tests_to_skip, $skip_reason) = get_skip_spec($block);
    my ($should_todo, $todo_count, $todo_reason) = get_todo_spec($block);

    if (defined $block->must_die) {
        return run_must_die_test($block, $config, $rand_ports);
    }

    if (!$should_skip) {
        if (!defined $config) {
            # like the real one: reuse the nginx of the previous block
            die "No '--- config' section specified and could not get "
                . "previous one\n" unless defined $PrevConfig;
            $config = $PrevConfig unless nginx_is_running();
        }
        if (defined $config) {
            return unless restart_nginx($block, $config, $rand_ports);
        }
    }

    if (defined $block->init) {
        eval $block->init;
        die "init failed: $@" if $@;
    }

    reset_error_log_pos();

    for my $i (1 .. repeat_each()) {
        if ($should_skip && defined $tests_to_skip) {
            SKIP: {
                skip("$name - $skip_reason", $tests_to_skip);
            }
            next;
        }
        if ($should_todo) {
            TODO: {
                todo_skip("$name - $todo_reason", $todo_count);
            }
            next;
        }

        my $tcp_server;
        if (defined $block->tcp_listen) {
            my $target = expand_env_in_text($block->tcp_listen, $rand_ports);
            $target =~ s/^\s+|\s+$//g;
            $tcp_server = start_tcp_server($block, $target, $name);
        }

        write_user_files($block, $rand_ports) if $i > 1;

        my $ok = eval { run_test_helper($block, $i - 1); 1 };
        my $err = $@;

        if ($tcp_server) {
            my $query = stop_tcp_server($tcp_server);
            run_tcp_server_tests($block, $query) if $ok;
        }
        die $err unless $ok;
    }

    if ($Test::Nginx::Util::UseValgrind) {
        # one nginx per block, so that valgrind reports are per block
        stop_nginx($name);
    }

    if (my $all = $ENV{TEST_NGINX_ERROR_LOG}) {
        if (-s $Test::Nginx::Util::ErrLogFile
            && open my $out, '>>', $all)
        {
            print $out "\n=== $name\n";
            if (open my $in, '<', $Test::Nginx::Util::ErrLogFile) {
                print $out $_ while <$in>;
                close $in;
            }
            close $out;
        }
    }
}

# expand_env_in_text() on a string, or on the strings of a (nested)
# request array: [ "GET /a", [ "POST /b\nx", { value => "y" } ] ]
sub expand_env_deep ($$);
sub expand_env_deep ($$) {
    my ($val, $rand_ports) = @_;
    return expand_env_in_text($val, $rand_ports) unless ref $val;
    if (ref $val eq 'ARRAY') {
        return [ map { expand_env_deep($_, $rand_ports) } @$val ];
    }
    if (ref $val eq 'HASH' && defined $val->{value}) {
        return { %$val, value => expand_env_in_text($val->{value},
                                                     $rand_ports) };
    }
    return $val;
}

# Stop the previous nginx and start a fresh one with this block's config.
sub restart_nginx ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;

    stop_nginx($name);
    check_prev_block_shutdown_error_log(0);

    setup_server_root();
    write_user_files($block, $rand_ports);
    write_config_file($block, $config, $rand_ports);
    $PrevConfig = $config;

    my $err = start_nginx($name);
    if (defined $err) {
        undef $PrevConfig;
        fail("$name - nginx failed to start");
        diag($err);
        stop_nginx($name);
        return 0;
    }
    return 1;
}

# --- must_die: nginx has to refuse to start with this config.
sub run_must_die_test ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;
    my $must_die = $block->must_die;

    stop_nginx($name);
    check_prev_block_shutdown_error_log(0);
    undef $PrevConfig;

    setup_server_root();
    write_user_files($block, $rand_ports);
    {
        # valgrind is ignored for must_die blocks, as in the real one
        local $Test::Nginx::Util::DaemonEnabled = 'on';
        write_config_file($block, defined $config ? $config : '',
                          $rand_ports);
    }

    reset_error_log_pos();
    for my $i (0 .. repeat_each() - 1) {
        my ($status, $stderr) = run_nginx_once();
        print STDERR $stderr if $stderr ne '';

        if ($status == -1) {
            fail("$name - failed to execute the nginx command line");
        } elsif ($status & 128) {
            fail("$name - nginx core dumped");
        } elsif (looks_like_number($must_die)) {
            is($status >> 8, $must_die,
               "$name - die with the expected exit code");
        } else {
            isnt($status, 0, "$name - die as expected");
        }

        check_error_log($block, undef, $i, 0);

        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; "
                 . "killing it (req $i)\n";
            my $deadline = time + 3;
            sleep 0.02 until -f $Test::Nginx::Util::PidFile
                             || time > $deadline;
            stop_nginx($name);
        }
    }
}

#------------------------------------------------------------------------
# skip_eval / skip_nginx / skip_nginx2 / skip_openssl / todo
#------------------------------------------------------------------------

my $OpenSSLVersion;

sub canon_version {
    my ($maj, $min, $patch, $letter) = @_;
    my $v = sprintf "%d.%03d%03d", $maj, $min, $patch;
    $v .= sprintf "%03d", ord($letter) - ord('a') if defined $letter;
    return $v;
}

sub version_matches {
    my ($have, $op, $want) = @_;
    return 0 unless defined $have;
    return $op eq '<'  ? $have <  $want
         : $op eq '<=' ? $have <= $want
         : $op eq '>'  ? $have >  $want
         :               $have >= $want;
}

sub get_skip_spec ($) {
    my $block = shift;
    my ($skip, $count, $reason);

    if (defined(my $spec = $block->skip_eval)) {
        $spec =~ /^\s*(\d+)\s*:\s*(.*)/s
            or die "Invalid --- skip_eval spec: $spec\n";
        ($count, my $code) = ($1, $2);
        $reason = 'skip_eval';
        $skip = eval $code;
        die "skip_eval - failed to eval the Perl code \"$code\": $@" if $@;
    }

    my $ngx = nginx_version();
    if (defined(my $spec = $block->skip_nginx)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$/
            or die "Invalid --- skip_nginx spec: $spec\n";
        $count = $1;
        $reason = $6 || "nginx version $2 $3.$4.$5";
        $skip = 1 if version_matches($ngx, $2, canon_version($3, $4, $5));

    } elsif (defined($spec = $block->skip_nginx2)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)\s*(or|and)\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$/
            or die "Invalid --- skip_nginx2 spec: $spec\n";
        $count = $1;
        $reason = $11;
        my $first = version_matches($ngx, $2, canon_version($3, $4, $5));
        my $second = version_matches($ngx, $7, canon_version($8, $9, $10));
        $skip = 1 if $6 eq 'or' ? ($first || $second)
                                : ($first && $second);
    }

    if (defined(my $spec = $block->skip_openssl)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)([a-z])?(?:\s*:\s*(.*))?\s*$/
            or die "Invalid --- skip_openssl spec: $spec\n";
        if (!defined $OpenSSLVersion) {
            my $out = `$Test::Nginx::Util::NginxBinary -V 2>&1`;
            $OpenSSLVersion = $out =~ /built with OpenSSL (\d+)\.(\d+)\.(\d+)([a-z])?/
                ? canon_version($1, $2, $3, $4) : '';
        }
        $count = $1;
        $reason = $7 || "OpenSSL version $2 $3.$4.$5" . ($6 // '');
        my $want = canon_version($3, $4, $5, $6);
        $skip = 1 if $OpenSSLVersion eq ''
                     || version_matches($OpenSSLVersion, $2, $want);
    }

    return ($skip, $count, $reason || 'various reasons');
}

sub get_todo_spec ($) {
    my $block = shift;
    my $spec = $block->todo;
    return () unless defined $spec;
    $spec =~ /^\s*(\d+)\s*:\s*(.*)/s or die "Invalid --- todo spec: $spec\n";
    return (1, $1, $2 || 'various reasons');
}

#------------------------------------------------------------------------
# Building requests
#------------------------------------------------------------------------

# --- more_headers: "Name: value" lines -> CRLF-terminated header block
sub parse_more_headers ($) {
    my ($in) = @_;
    my ($out, $is_chunked) = ('', 0);
    for my $line (split /\n+/, $in) {
        next if $line =~ /^\s*#/;
        my ($key, $val) = split /:\s*/, $line, 2;
        $val = '' unless defined $val;
        $is_chunked = 1
            if lc($key) eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $is_chunked);
}

sub more_headers_for ($$) {
    my ($more_headers, $idx) = @_;
    return $more_headers unless ref $more_headers eq 'ARRAY';
    my $hdr = $more_headers->[$idx];
    die "--- more_headers lacks data for the request #$idx\n"
        unless defined $hdr;
    return $hdr;
}

# Turn "METHOD [URI [HTTP/x.y]]\n[body]" (possibly split into packets)
# into a full HTTP request; returns the packets of the result.
sub build_request ($$$$$) {
    my ($name, $more_headers, $is_chunked, $conn, $packets) = @_;

    my $whole = join '', @$packets;
    my ($first, $content) = $whole =~ /\A([^\n]*\n?)(.*)\z/s;
    die "Request line should be non-empty\n" if $first eq '';

    $first =~ /^(\s*)(\S+)( *)((\S+)( *))?((\S+)( *))?(\s*)$/
        or die "Request line is not valid. Should be 'meth [url "
               . "[version]]' but got \"$first\".\n";
    my $meth = $2;
    my $url  = defined $5 ? $5 : '/';
    my $ver  = defined $8 ? $8 : 'HTTP/1.1';

    my ($len_header, $lead_trimmed) = ('', 0);
    if (!$is_chunked && $content ne ''
        && $more_headers !~ /(?:^|\n)Content-Length:/)
    {
        # the body is trimmed, then its length sent (real behaviour)
        $lead_trimmed = length(($content =~ /^(\s*)/)[0]);
        $content =~ s/^\s+|\s+$//gs;
        $len_header = "Content-Length: " . length($content) . "\r\n";
    }

    $more_headers =~ s/(?<!\r)\n/\r\n/g;

    my $headers = '';
    $headers .= "Host: " . server_name() . "\r\n"
        if $more_headers !~ /(?:^|\n)Host:/mi;
    $headers .= "Connection: $conn\r\n"
        if $more_headers !~ /(?:^|\n)Connection/mi;
    $headers .= "$more_headers$len_header\r\n";

    my $req_line = "$meth $url $ver";
    my $head = "$req_line\r\n$headers";
    my $req = $head . $content;

    return [$req] if @$packets <= 1;

    # keep the caller's packet boundaries at the matching places
    my (@out, $orig_off, $prev);
    ($orig_off, $prev) = (0, 0);
    for my $i (0 .. $#$packets - 1) {
        $orig_off += length $packets->[$i];
        my $new;
        if ($orig_off < length $first) {
            $new = $orig_off < length $req_line ? $orig_off
                                                : length $req_line;
        } else {
            my $body_off = $orig_off - length($first) - $lead_trimmed;
            $body_off = 0 if $body_off < 0;
            $body_off = length $content if $body_off > length $content;
            $new = length($head) + $body_off;
        }
        $new = $prev if $new < $prev;
        push @out, substr($req, $prev, $new - $prev);
        $prev = $new;
    }
    push @out, substr($req, $prev);
    return \@out;
}

# Returns [ request, ... ], each request being [ {value, delay_before}, ...]
# (the packets sent with one syswrite each).
sub get_req_from_block ($) {
    my ($block) = @_;
    my $name = $block->name;

    if (defined(my $raw = $block->raw_request)) {
        return [[ map { { value => $_ } } @$raw ]] if ref $raw eq 'ARRAY';
        return [[ { value => $raw } ]];
    }

    my $request;
    if (defined $block->request_eval) {
        diag("$name - request_eval DEPRECATED. Use request eval instead.");
        $request = eval $block->request_eval;
        warn $@ if $@;
    } else {
        $request = $block->request;
        if (defined $request && !ref $request) {
            # leading blank lines and "# comment" lines are ignored
            1 while $request =~ s/^\s*#[^\n]+\s+|^\s+//s;
        }
    }

    my $more_headers = $block->more_headers || '';

    if (my $reqs = $block->pipelined_requests) {
        die "invalid entries in --- pipelined_requests\n"
            unless ref $reqs eq 'ARRAY';
        my $all = '';
        for my $i (0 .. $#$reqs) {
            my $conn = $i == $#$reqs ? 'close' : 'keep-alive';
            my ($hdr, $chunked) =
                parse_more_headers(more_headers_for($more_headers, $i));
            $all .= build_request($name, $hdr, $chunked, $conn,
                                  [$reqs->[$i]])->[0];
        }
        return [[ { value => $all } ]];
    }

    die "Request line should be non-empty (no --- request)\n"
        unless defined $request;

    if (!ref $request) {
        my ($hdr, $chunked) =
            parse_more_headers(more_headers_for($more_headers, 0));
        return [[ { value => build_request($name, $hdr, $chunked, 'close',
                                           [$request])->[0] } ]];
    }

    die "invalid --- request: MUST be string or array of requests\n"
        unless ref $request eq 'ARRAY';

    my @list;
    for my $i (0 .. $#$request) {
        my $one = $request->[$i];
        my ($hdr, $chunked) =
            parse_more_headers(more_headers_for($more_headers, $i));

        if (!ref $one) {
            push @list, [ { value => build_request($name, $hdr, $chunked,
                                                   'close', [$one])->[0] } ];
            next;
        }

        die "$one should be a string or an array of packets\n"
            unless ref $one eq 'ARRAY';

        my @values = map {
            !ref $_                ? $_
            : ref $_ eq 'HASH'     ? $_->{value}
            : die "$_ should be a string or a hash with a value\n"
        } @$one;
        my $built = build_request($name, $hdr, $chunked, 'close', \@values);
        my @packets;
        for my $j (0 .. $#$built) {
            my %pkt = ref $one->[$j] ? %{ $one->[$j] } : ();
            $pkt{value} = $built->[$j];
            push @packets, \%pkt;
        }
        push @list, \@packets;
    }
    return \@list;
}

#------------------------------------------------------------------------
# Sending requests and parsing responses
#------------------------------------------------------------------------

# Sends the packets on a fresh connection and reads until the server
# closes it.  --- timeout is the longest wait between two I/O events.
sub send_request ($$$$) {
    my ($packets, $middle_delay, $timeout, $block) = @_;
    my $name = $block->name;

    my @bits = @$packets;
    my $head_req = (join '', map { $_->{value} } @bits) =~ /^\s*HEAD\s+/
                   ? 1 : 0;

    my $addr = $block->server_addr_for_client;
    $addr = server_addr() unless defined $addr;
    my $port = server_port_for_client();

    my $sock;
    for my $try (1 .. 30) {
        $sock = IO::Socket::INET->new(
            PeerAddr => $addr,
            PeerPort => $port,
            Proto    => 'tcp',
            Timeout  => $timeout,
        );
        last if $sock;
        my $child = $Test::Nginx::Util::ChildPid;
        last if defined $child && waitpid($child, WNOHANG) != 0;
        sleep 0.1;
    }
    if (!$sock) {
        fail("$name - Can't connect to $addr:$port: $! (aborted)");
        return (undef, $head_req);
    }

    $sock->blocking(0);
    local $SIG{PIPE} = 'IGNORE';

    my $resp = '';
    my $cur = shift @bits;
    my $off = 0;
    my $writing = 1;
    my $sel = IO::Select->new($sock);

    while (1) {
        my @ready = IO::Select->select($sel, $writing ? $sel : undef,
                                       undef, $timeout);
        if (!@ready) {
            next if $!{EINTR};
            if (!defined $block->abort) {
                fail("ERROR: client socket timed out - $name");
            }
            last;
        }
        my ($readable, $writable) = @ready;

        if ($writing && $writable && @$writable) {
            my $rest = length($cur->{value}) - $off;
            if ($rest > 0) {
                my $n = syswrite $sock, $cur->{value}, $rest, $off;
                if (defined $n) {
                    $off += $n;
                } elsif (!$!{EAGAIN} && !$!{EWOULDBLOCK}) {
                    warn "WARNING: $name - write failed: $!\n";
                    $writing = 0;
                }
            }
            if ($writing && $off >= length $cur->{value}) {
                $cur = shift @bits;
                $off = 0;
                if (!$cur) {
                    $writing = 0;
                    if (defined(my $how = $block->shutdown)) {
                        $how = 1 if $how =~ /^\s*$/;
                        shutdown $sock, $how;
                    }
                } else {
                    my $delay = defined $cur->{delay_before}
                                ? $cur->{delay_before} : $middle_delay;
                    sleep $delay if $delay;
                }
            }
        }

        if ($readable && @$readable) {
            my $eof;
            while (1) {
                my $n = sysread $sock, my $buf, 4096;
                if (!defined $n) {
                    last if $!{EAGAIN} || $!{EWOULDBLOCK};
                    warn "WARNING: $name - HTTP response read failure: $!\n";
                    $eof = 1;
                    last;
                }
                if ($n == 0) {
                    $eof = 1;
                    last;
                }
                $resp .= $buf;
            }
            last if $eof;
        }
    }

    close $sock;
    return ($resp, $head_req);
}

sub res_header ($$) {
    my ($res, $key) = @_;
    return undef unless $res;
    my @vals = map { $_->[1] } grep { lc $_->[0] eq lc $key }
               @{ $res->{headers} };
    return @vals ? join(', ', @vals) : undef;
}

# Returns ($res, $raw_headers, $left): $res = {code, message, headers,
# content}, chunked bodies decoded; $left = bytes after this response.
sub parse_response ($$$) {
    my ($name, $raw, $head_req) = @_;

    my $raw_headers = $raw =~ /(.*?\r\n)\r\n/s ? $1 : '';

    my $str = $raw;
    my $status_line = $str =~ s/^(.*)\n// ? $1 : do { my $s = $str; $str = ''; $s };
    $status_line =~ s/\r\z//;

    my ($code, $message);
    if ($status_line =~ /^\d{3} /) {
        ($code, $message) = split ' ', $status_line, 2;
    } else {
        (undef, $code, $message) = split ' ', $status_line, 3;
    }
    undef $code if defined $code && $code !~ /^\d+$/;

    my @headers;
    while (1) {
        if ($str =~ s/^([^\s:]+)[ \t]*: ?(.*)\n?//) {
            my ($k, $v) = ($1, $2);
            $v =~ s/\r\z//;
            push @headers, [$k, $v];
        } elsif (@headers && $str =~ s/^([ \t].*)\n?//) {
            (my $cont = $1) =~ s/\r\z//;
            $headers[-1][1] .= "\n$cont";
        } else {
            last;
        }
    }
    $str =~ s/^\r?\n//;

    my $res = { code => $code, message => $message,
                headers => \@headers, content => $str };
    my $left;

    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $enc = res_header($res, 'Transfer-Encoding');
    my $len = res_header($res, 'Content-Length');

    if (defined $enc && $enc eq 'chunked') {
        my $body = $res->{content};
        my $decoded = '';
        pos($body) = 0;
        while (1) {
            if ($body =~ /\G0[ \t]*\r\n((?:[^\r\n]+\r\n)*)\r\n/gc) {
                $left = substr $body, pos $body;
                undef $left if $left eq '';
                last;
            }
            if ($body =~ /\G[ \t]*([A-Fa-f0-9]+)[ \t]*(?:;[^\r\n]*)?\r\n/gc) {
                my $size = hex $1;
                if (length($body) - pos($body) < $size) {
                    fail("$name - invalid chunked data received "
                         . "(not enough octets for the data section)");
                    return (undef, $raw_headers);
                }
                $decoded .= substr $body, pos($body), $size;
                pos($body) += $size;
                if ($body !~ /\G\r\n/gc) {
                    fail("$name - invalid chunked data received "
                         . "(expected CRLF).");
                    return (undef, $raw_headers);
                }
            } elsif ($body =~ /\G(.+)/gcs) {
                fail("$name - invalid chunked body received: "
                     . fmt_str(substr $1, 0, 80));
                return (undef, $raw_headers);
            } else {
                fail("$name - no last chunk found - "
                     . fmt_str(substr $decoded, -80));
                return (undef, $raw_headers);
            }
        }
        $res->{content} = $decoded;

    } elsif (defined $len && $len =~ /^\d+$/) {
        my $got = length $res->{content};
        if ($got < $len) {
            warn "WARNING: $name - response body truncated: $len expected, "
                 . "but got $got\n" unless $head_req;
        } elsif ($got > $len) {
            $left = substr $res->{content}, $len;
            $res->{content} = substr $res->{content}, 0, $len;
        }
    }

    return ($res, $raw_headers, $left);
}

#------------------------------------------------------------------------
# Running one block once (one "repeat_each" iteration)
#------------------------------------------------------------------------

sub get_indexed_value ($$$$) {
    my ($name, $value, $req_idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$req_idx] if ref $value eq 'ARRAY';
        die "You asked for many requests, the expected results should "
            . "be arrays as well.\n";
    }
    return $value->[0] if ref $value eq 'ARRAY';
    return $value;
}

sub block_wait ($) {
    my $block = shift;
    my $wait = $block->wait;
    return 0 unless defined $wait;
    $wait =~ s/^\s+|\s+$//g;
    return 0 if $wait eq '';
    if (!looks_like_number($wait)) {
        # the real module sleep()s the raw value ("100ms" = 100 s!)
        fail($block->name . " - --- wait takes a plain number of seconds, "
             . "got \"$wait\"");
        $wait = parse_time($wait);
        return looks_like_number($wait) ? $wait : 0;
    }
    return $wait;
}

sub run_test_helper ($$) {
    my ($block, $repeated_req_idx) = @_;
    my $name = $block->name;

    my $reqs = get_req_from_block($block);
    die "request empty\n" unless @$reqs;

    my $timeout = parse_time($block->timeout);
    $timeout = timeout() unless defined $timeout;
    my $wait = block_wait($block);

    my ($res, $n, $need_array);
    my $req_idx = 0;

    for my $one_req (@$reqs) {
        my ($raw_resp, $head_req) = send_request(
            $one_req, $block->raw_request_middle_delay, $timeout, $block);

        if ($block->pipelined_requests) {
            $n = @{ $block->pipelined_requests };
            $need_array = 1;
        } else {
            $need_array = @$reqs > 1;
        }

        while (1) {
            $raw_resp = '' unless defined $raw_resp;

            my ($raw_headers, $left);
            if (!defined $block->ignore_response) {
                if (defined $block->http09) {
                    $res = { code => 200, message => 'OK', headers => [],
                             content => $raw_resp };
                    $raw_headers = '';
                } else {
                    ($res, $raw_headers, $left) =
                        parse_response($name, $raw_resp, $head_req);
                }
            }

            if (!$n) {
                if (defined $left && $left ne '') {
                    warn "WARNING: $name - unexpected extra bytes after last "
                         . "chunk in response: \"" . fmt_str($left) . "\"\n";
                }
            } else {
                $raw_resp = $left;
                $n--;
            }

            if (!defined $block->ignore_response) {
                check_error_code($block, $res, $req_idx, $need_array);
                check_raw_response_headers($block, $raw_headers, $req_idx,
                                           $need_array);
                check_response_headers($block, $res, $raw_headers, $req_idx,
                                       $need_array);
                transform_response_body($block, $res, $req_idx);
                check_response_body($block, $res, $req_idx,
                                    $repeated_req_idx, $need_array);
            }

            if ($n || $req_idx < @$reqs - 1) {
                sleep $wait if $wait;
                check_error_log($block, $res, $repeated_req_idx, $need_array);
                check_access_log($block, $repeated_req_idx)
                    unless defined $block->ignore_response;
            }

            $req_idx++;
            last unless $n;
        }
    }

    # e.g. background work nginx does after answering the client
    sleep $wait if $wait;

    check_error_log($block, $res, $repeated_req_idx, $need_array);
    check_access_log($block, $repeated_req_idx)
        unless defined $block->ignore_response;
}

#------------------------------------------------------------------------
# Checks
#------------------------------------------------------------------------

sub check_error_code ($$$$) {
    my ($block, $res, $req_idx, $need_array) = @_;
    my $name = $block->name;
    my $code = ($res && $res->{code}) || '';

    if (defined $block->error_code_like) {
        my $pat = get_indexed_value($name, $block->error_code_like,
                                    $req_idx, $need_array);
        like($code, qr/$pat/sm, "$name - status code ok");

    } elsif (defined $block->error_code) {
        is($code, get_indexed_value($name, $block->error_code, $req_idx,
                                    $need_array),
           "$name - status code ok");

    } else {
        # no --- error_code means 200 is expected
        is($code, 200, "$name - status code ok");
    }
}

sub check_raw_response_headers ($$$$) {
    my ($block, $raw_headers, $req_idx, $need_array) = @_;
    my $name = $block->name;
    $raw_headers = '' unless defined $raw_headers;

    if (defined $block->raw_response_headers_like) {
        my $pat = get_indexed_value($name, $block->raw_response_headers_like,
                                    $req_idx, $need_array);
        like($raw_headers, qr/$pat/s, "$name - raw resp headers like");
    }
    if (defined $block->raw_response_headers_unlike) {
        my $pat = get_indexed_value($name,
                                    $block->raw_response_headers_unlike,
                                    $req_idx, $need_array);
        unlike($raw_headers, qr/$pat/s, "$name - raw resp headers unlike");
    }
}

# "Name: value" per line; "!Name" means the header must be absent.
sub parse_expected_headers ($) {
    my $s = shift;
    my %headers;
    for my $line (split /\n/, $s) {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';
        if ($line =~ s/^!\s*//) {
            $headers{$line} = undef;
        } else {
            my ($key, $val) = split /\s*:\s*/, $line, 2;
            $headers{$key} = $val;
        }
    }
    return \%headers;
}

sub check_response_headers ($$$$$) {
    my ($block, $res, $raw_headers, $req_idx, $need_array) = @_;
    my $name = $block->name;
    $raw_headers = '' unless defined $raw_headers;
    my $port = server_port();
    my $client_port = server_port_for_client();

    if (defined $block->response_headers) {
        my $headers = parse_expected_headers(get_indexed_value(
            $name, $block->response_headers, $req_idx, $need_array));
        for my $key (sort keys %$headers) {
            my $val = $headers->{$key};
            if (!defined $val) {
                unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                       "$name - header $key not present in the raw headers");
                next;
            }
            $val =~ s/\$ServerPort\b/$port/g;
            $val =~ s/\$ServerPortForClient\b/$client_port/g;
            my $actual = res_header($res, $key);
            $actual = '' unless defined $actual;
            is($actual, $val, "$name - header $key ok");
        }

    } elsif (defined $block->response_headers_like) {
        my $headers = parse_expected_headers(get_indexed_value(
            $name, $block->response_headers_like, $req_idx, $need_array));
        for my $key (sort keys %$headers) {
            my $val = $headers->{$key};
            $val = '' unless defined $val;
            my $actual = res_header($res, $key);
            $actual = '' unless defined $actual;
            # the whole value must match
            like($actual, qr/^$val$/, "$name - header $key like ok");
        }
    }
}

sub run_body_filter ($$$) {
    my ($block, $filter, $content) = @_;
    return $filter->($content) if ref $filter eq 'CODE';
    die "--- response_body_filters only supports subroutine references "
        . "and names\n" if ref $filter;

    my %builtin = (
        md5_hex  => \&Digest::MD5::md5_hex,
        sha1_hex => \&Digest::SHA::sha1_hex,
        length   => sub { length $_[0] },
        uc       => sub { uc $_[0] },
        lc       => sub { lc $_[0] },
        ucfirst  => sub { ucfirst $_[0] },
        lcfirst  => sub { lcfirst $_[0] },
    );
    my $f = $builtin{$filter}
        or die "unknown filter, \"$filter\", specified in the "
               . "--- response_body_filters section\n";
    return $f->($content);
}

sub transform_response_body ($$$) {
    my ($block, $res, $req_idx) = @_;
    my $filters = $block->response_body_filters;
    return unless defined $filters && $res && defined $res->{content};

    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//g;
        $filters = [split /\s+/, $filters];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }
    if (ref $filters->[0] eq 'ARRAY') {
        # two-dimensional: one filter list per request
        $filters = $filters->[$req_idx];
        die "the --- response_body_filters two-dimensional array does not "
            . "match request $req_idx\n" unless defined $filters;
    }

    my $content = $res->{content};
    for my $f (ref $filters eq 'ARRAY' ? @$filters : ($filters)) {
        $content = run_body_filter($block, $f, $content);
    }
    $res->{content} = $content;
}

sub check_response_body ($$$$$) {
    my ($block, $res, $req_idx, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $port = server_port();
    my $client_port = server_port_for_client();

    my $content = $res ? $res->{content} : undef;
    if (defined $content) {
        $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gm;
        $content =~ s/^Connection: TE, close\r\n//gm;
    }

    if (defined $block->response_body || defined $block->response_body_eval) {
        my $expected;
        if (defined $block->response_body_eval) {
            diag("$name - response_body_eval is DEPRECATED. Use "
                 . "response_body eval instead.");
            $expected = eval get_indexed_value($name,
                $block->response_body_eval, $req_idx, $need_array);
            warn $@ if $@;
        } else {
            $expected = get_indexed_value($name, $block->response_body,
                                          $req_idx, $need_array);
        }

        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$port/g;
            $expected =~ s/\$ServerPortForClient\b/$client_port/g;
        }

        if (ref $expected) {
            like($content, $expected,
                 "$name - response_body - like (repeated req "
                 . "$repeated_req_idx, req $req_idx)");
        } else {
            is_str($content, $expected,
                   "$name - response_body - response is expected (repeated "
                   . "req $repeated_req_idx, req $req_idx)");
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my ($type, $patterns) = defined $block->response_body_like
            ? ('like', $block->response_body_like)
            : ('unlike', $block->response_body_unlike);

        my $pat = get_indexed_value($name, $patterns, $req_idx, $need_array);
        if (!ref $pat) {
            $pat =~ s/\$ServerPort\b/$port/g;
            $pat =~ s/\$ServerPortForClient\b/$client_port/g;
        }

        my $summary = trim($content);
        $summary = '' unless defined $summary;
        $summary = substr($summary, 0, 100) . '...' if length $summary > 100;

        # not anchored; /s lets "." match newlines
        my $desc = "$name - response_body_$type - response is expected "
                   . "($summary)";
        if ($type eq 'like') {
            like($content, qr/$pat/s, $desc);
        } else {
            unlike($content, qr/$pat/s, $desc);
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $content, $req_idx, $repeated_req_idx, undef);
    }
}

# Section value -> list of patterns (strings are substrings, qr// regexes).
sub patterns_of ($) {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [ split /\n+/, $pats ];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub line_matches ($$) {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}

sub value_contains ($$);
sub value_contains ($$) {
    my ($val, $str) = @_;
    return 0 unless defined $val;
    return index("$val", $str) >= 0 unless ref $val eq 'ARRAY';
    return scalar grep { value_contains($_, $str) } @$val;
}

# Each pattern must match some line (one test per pattern).
sub check_log_has ($$$$) {
    my ($name, $pats, $lines, $what) = @_;
    my ($file, $suffix) = @$what;
    for my $pat (@{ patterns_of($pats) }) {
        next unless defined $pat;
        if (grep { line_matches($_, $pat) } @$lines) {
            pass("$name - pattern \"$pat\" matches a line in $file$suffix");
        } else {
            fail("$name - pattern \"$pat\" should match a line in "
                 . "$file$suffix");
        }
    }
}

# No pattern may match any line (one test per pattern).
sub check_log_lacks ($$$$) {
    my ($name, $pats, $lines, $what) = @_;
    my ($file, $suffix) = @$what;
    for my $pat (@{ patterns_of($pats) }) {
        next unless defined $pat;
        my $p = fmt_str("$pat");
        my @hits = grep { line_matches($lines->[$_], $pat) } 0 .. $#$lines;
        if (!@hits) {
            pass("$name - pattern \"$p\" does not match a line in "
                 . "$file$suffix");
            next;
        }
        my $first = $hits[0];
        my $last = $first + 10 < $#$lines ? $first + 10 : $#$lines;
        fail("$name - pattern \"$p\" should not match any line in $file "
             . "but matches line \"" . fmt_str($lines->[$first])
             . "\"$suffix");
        diag(join '', @{$lines}[$first .. $last]);
    }
}

sub check_error_log ($$$$) {
    my ($block, $res, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $suffix = " (req $repeated_req_idx)";
    my $lines;

    my ($warn_alert, $warn_crit, $warn_emerg) = (1, 1, 1);
    for my $pats ($block->error_log, $block->no_error_log) {
        next unless defined $pats;
        $warn_alert = 0 if value_contains($pats, '[alert');
        $warn_crit  = 0 if value_contains($pats, '[crit');
        $warn_emerg = 0 if value_contains($pats, '[emerg');
    }

    if (defined(my $grep_pats = $block->grep_error_log)) {
        my $grep_pat = ref $grep_pats eq 'ARRAY'
                       ? $grep_pats->[$repeated_req_idx] : $grep_pats;
        my $expected = $block->grep_error_log_out;
        die "No --- grep_error_log_out defined but --- grep_error_log is "
            . "defined\n" unless defined $expected;
        $expected = $expected->[$repeated_req_idx]
            if ref $expected eq 'ARRAY';

        $lines ||= error_log_data();
        my $matched = '';
        for my $line (@$lines) {
            my $m;
            if (ref $grep_pat) {
                $m = $& if $line =~ $grep_pat;
            } elsif ((my $at = index $line, $grep_pat) >= 0) {
                $m = substr $line, $at, length $grep_pat;
            }
            $matched .= "$m\n" if defined $m && $m !~ /\n/;
        }
        is_str($matched, $expected,
               "$name - grep_error_log_out (req $repeated_req_idx)");

    } elsif (defined $block->grep_error_log_out) {
        die "No --- grep_error_log defined but --- grep_error_log_out is "
            . "defined\n";
    }

    if (defined $block->error_log) {
        $lines ||= error_log_data();
        check_log_has($name, $block->error_log, $lines,
                      ['error.log', $suffix]);
    }

    if (defined $block->no_error_log) {
        $lines ||= error_log_data();
        check_log_lacks($name, $block->no_error_log, $lines,
                        ['error.log', $suffix]);
    }

    $lines ||= error_log_data();
    for my $line (@$lines) {
        if (($warn_alert && $line =~ /\[alert\]/)
            || ($warn_crit && $line =~ /\[crit\]/)
            || ($warn_emerg && $line =~ /\[emerg\]/))
        {
            warn "WARNING: $name - " . fmt_str($line) . "\n";
        }
        if ($line =~ /\bAssertion .*?failed\b/) {
            (my $l = $line) =~ s/\s+\z//;
            fail("$name - $l");
        }
    }
}

sub check_access_log ($$) {
    my ($block, $repeated_req_idx) = @_;
    my $name = $block->name;
    my $suffix = " (req $repeated_req_idx)";
    my $lines;

    if (defined $block->access_log) {
        $lines ||= access_log_data();
        check_log_has($name, $block->access_log, $lines,
                      ['access.log', $suffix]);
    }
    if (defined $block->no_access_log) {
        $lines ||= access_log_data();
        check_log_lacks($name, $block->no_access_log, $lines,
                        ['access.log', $suffix]);
    }
}

# --- shutdown_error_log / --- no_shutdown_error_log of the previous
# block, checked once its nginx has been stopped.
sub check_prev_block_shutdown_error_log ($) {
    my ($dry_run) = @_;
    my $block = $PrevBlock;
    return if $PrevBlockShutdownChecked || !defined $block;
    $PrevBlockShutdownChecked = 1;
    return unless defined $block->shutdown_error_log;

    my $name = $block->name;
    my @pats = grep { defined } @{ patterns_of($block->shutdown_error_log) };
    my @no_pats = defined $block->no_shutdown_error_log
        ? grep { defined } @{ patterns_of($block->no_shutdown_error_log) }
        : ();

    if ($dry_run) {
        SKIP: {
            skip("$name - shutdown_error_log - tests skipped due to "
                 . "TEST_NGINX_NO_CLEAN", @pats + @no_pats);
        }
        return;
    }

    my $lines = error_log_data();
    check_log_lacks($name, \@no_pats, $lines, ['error.log', ''])
        if @no_pats;
    check_log_has($name, \@pats, $lines, ['error.log', '']);
}

sub run_tcp_server_tests ($$) {
    my ($block, $query) = @_;
    my $name = $block->name;
    if (defined $block->tcp_query) {
        is_str($query, $block->tcp_query, "$name - tcp_query ok");
    }
    if (defined $block->tcp_query_len) {
        is(length($query), $block->tcp_query_len,
           "$name - TCP query length ok");
    }
}

#------------------------------------------------------------------------

END {
    my $exit = $?;
    if ($RunTestsCalled && $$ == $Test::Nginx::Util::MainPid
        && !$Test::Nginx::Util::InSubprocess)
    {
        cleanup();
        my $no_clean = $ENV{TEST_NGINX_NO_CLEAN}
                       && !$Test::Nginx::Util::UseValgrind;
        stop_nginx('END') unless $no_clean;
        eval { check_prev_block_shutdown_error_log($no_clean); 1 }
            or warn $@;

        my $root = $Test::Nginx::Util::ServRoot;
        if ($Test::Nginx::Util::Randomize && $root =~ m{/t/servroot_\d+$}) {
            File::Path::remove_tree($root);
        }
    }
    $? = $exit;
}

1;
