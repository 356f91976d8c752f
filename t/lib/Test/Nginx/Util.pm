package Test::Nginx::Util;

# Minimal re-implementation of the parts of CPAN's Test::Nginx::Util that
# this project's test-suite relies on: global settings, nginx.conf
# generation, starting/stopping nginx, the embedded TCP mock server and
# error-log access.  Test-block logic lives in Test::Nginx::Socket.
#
# Written from the documented behaviour of Test::Nginx (0.30+); the test
# files must keep running unchanged under the real module.

use strict;
use warnings;

use Exporter 'import';
use File::Spec ();
use File::Path qw(make_path remove_tree);
use File::Temp ();
use IO::Select ();
use IO::Socket::INET ();
use IO::Socket::UNIX ();
use POSIX qw(WNOHANG);
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(sleep time);
use Test::More ();

our $VERSION = '0.01';

# Functions a test file may call (re-exported by Test::Nginx::Socket).
our @EXPORT = qw(
    repeat_each no_shuffle log_level master_on master_off
    master_process_enabled workers worker_connections no_long_string
    no_root_location add_block_preprocessor add_cleanup_handler
    server_root html_dir server_port server_port_for_client server_addr
    server_name env_to_nginx check_accum_error_log timeout config_preamble
    bail_out is_str
);

# Internals used by Test::Nginx::Socket.
our @EXPORT_OK = qw(
    parse_time trim fmt_str expand_env_in_text setup_server_root
    write_user_files write_config_file start_nginx stop_nginx
    nginx_is_running run_nginx_once error_log_data access_log_data
    reset_error_log_pos start_tcp_server stop_tcp_server cleanup
    nginx_version ensure_nginx_binary
);

#------------------------------------------------------------------------
# Settings
#------------------------------------------------------------------------

our $Verbose             = $ENV{TEST_NGINX_VERBOSE};
our $NginxBinary         = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $Randomize           = $ENV{TEST_NGINX_RANDOMIZE};
our $ServerAddr          = '127.0.0.1';
our $ServerName          = 'localhost';
our $ServerPort          = $ENV{TEST_NGINX_SERVER_PORT}
                           || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $Timeout             = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $TestNginxSleep      = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $LogLevel            = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled       = 'on';
our $Workers             = 1;
our $WorkerConnections   = 64;
our $WorkerUser          = $ENV{TEST_NGINX_WORKER_USER};
our $RepeatEach          = 1;
our $NoShuffle           = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoRootLocation      = 0;
our $NoLongString        = 0;
our $CheckAccumErrLog    = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $UseValgrind         = $ENV{TEST_NGINX_USE_VALGRIND};
our $LoadModules         = $ENV{TEST_NGINX_LOAD_MODULES};
our $EventType           = $ENV{TEST_NGINX_EVENT_TYPE};
our $PostponeOutput      = $ENV{TEST_NGINX_POSTPONE_OUTPUT};
our $ReusePort           = $ENV{TEST_NGINX_REUSE_PORT};
our $ConfigPreamble      = '';
our @EnvToNginx;
our @BlockPreprocessors;
our @CleanupHandlers;

if (defined $WorkerUser && $WorkerUser !~ /^[-\w]+(?:\s+[-\w]+)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

if ($UseValgrind) {
    # valgrind needs nginx in the foreground, as our own child process
    $DaemonEnabled = 'off';
}

for my $var (qw(TEST_NGINX_CHECK_LEAK TEST_NGINX_BENCHMARK TEST_NGINX_USE_HUP
                TEST_NGINX_USE_HTTP2 TEST_NGINX_USE_HTTP3 TEST_NGINX_USE_STAP
                TEST_NGINX_USE_RR TEST_NGINX_NO_NGINX_MANAGER))
{
    warn "WARNING: $var is not supported by this Test::Nginx "
         . "implementation (t/lib); ignored\n" if $ENV{$var};
}

our $MainPid = $$;          # END/cleanup only act in the test process
our $InSubprocess = 0;

our $ServRoot;
if ($Randomize) {
    $ServerPort = gen_rand_port(1000, {})
        or die "Cannot find an available listening port number\n";
    $ServerPortForClient = $ServerPort;
    $ServRoot = File::Spec->rel2abs("t/servroot_$ServerPort");
} else {
    $ServRoot = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT} || 't/servroot');
}
$ServRoot =~ s{/+$}{};
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $PidFile    = "$LogDir/nginx.pid";

our $ErrLogFilePos = 0;
our $ChildPid;              # nginx run in the foreground (valgrind mode)
our %TcpServerPids;         # mock TCP servers still alive
our $NginxVersion;          # e.g. "1.022001"
our $NginxRawVersion;       # e.g. "1.22.1"

#------------------------------------------------------------------------
# Functions exported to test files
#------------------------------------------------------------------------

sub repeat_each (@) {
    $RepeatEach = shift if @_;
    return $RepeatEach;
}

sub no_shuffle ()          { $NoShuffle = 1 }
sub no_long_string ()      { $NoLongString = 1 }
sub no_root_location ()    { $NoRootLocation = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub master_on ()           { $MasterProcessEnabled = 'on' }
sub master_off ()          { $MasterProcessEnabled = 'off' }
sub config_preamble ($)    { $ConfigPreamble = shift }
sub html_dir ()            { $HtmlDir }
sub server_root ()         { $ServRoot }

sub master_process_enabled (@) {
    return $MasterProcessEnabled unless @_;
    $MasterProcessEnabled = shift() ? 'on' : 'off';
}

sub log_level (@) {
    $LogLevel = shift if @_;
    return $LogLevel;
}

sub workers (@) {
    $Workers = shift if @_;
    return $Workers;
}

sub worker_connections (@) {
    $WorkerConnections = shift if @_;
    return $WorkerConnections;
}

sub timeout (@) {
    $Timeout = shift if @_;
    return $Timeout;
}

sub server_port (@) {
    $ServerPort = shift if @_;
    return $ServerPort;
}

sub server_port_for_client (@) {
    $ServerPortForClient = shift if @_;
    return $ServerPortForClient;
}

sub server_addr (@) {
    $ServerAddr = shift if @_;
    return $ServerAddr;
}

sub server_name (@) {
    $ServerName = shift if @_;
    return $ServerName;
}

sub add_block_preprocessor (&) {
    unshift @BlockPreprocessors, shift;
}

sub add_cleanup_handler ($) {
    unshift @CleanupHandlers, shift;
}

sub env_to_nginx (@) {
    die "env_to_nginx: no arguments specified\n" unless @_;
    for my $v (@_) {
        if ($v !~ /^[A-Za-z_]/ || $v =~ /\n/) {
            die "env_to_nginx: bad argument value: $v\n";
        }
        push @EnvToNginx, $v;
    }
}

sub bail_out (@) {
    cleanup();
    stop_nginx('bail_out');
    Test::More::BAIL_OUT(join '', @_);
}

# String comparison honouring no_long_string() and Regexp expectations.
sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }

    if ($NoLongString) {
        # Test::Base's is() prints a diff for multi-line strings
        # (unless no_diff() was called).
        return Test::Base::is($got, $expected, $desc);
    }

    return is_long_string($got, $expected, $desc);
}

# Our stand-in for Test::LongString::is_string (not installed here): on
# failure, report where the strings start to differ instead of dumping
# both in full.
sub is_long_string {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    if (!defined $got || !defined $expected) {
        return Test::More::is($got, $expected, $desc);
    }

    my $ok = Test::More::ok($got eq $expected, $desc);
    return $ok if $ok;

    my $pos = 0;
    my $max = length($got) < length($expected) ? length $got : length $expected;
    $pos++ while $pos < $max
                 && substr($got, $pos, 1) eq substr($expected, $pos, 1);

    my $from = $pos > 20 ? $pos - 20 : 0;
    my $excerpt = sub {
        my $s = substr($_[0], $from, 70);
        $s = fmt_esc($s);
        return ($from ? '...' : '') . "\"$s\""
               . (length($_[0]) > $from + 70 ? '...' : '');
    };

    my ($line) = (substr($expected, 0, $pos) =~ tr/\n//) + 1;
    Test::More::diag(
        "         got: " . $excerpt->($got) . "\n"
        . "      length: " . length($got) . "\n"
        . "    expected: " . $excerpt->($expected) . "\n"
        . "      length: " . length($expected) . "\n"
        . "    strings begin to differ at char " . ($pos + 1)
        . " (line $line)");
    return $ok;
}

sub fmt_esc {
    my $s = shift;
    $s =~ s/\\/\\\\/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    $s =~ s/\t/\\t/g;
    $s =~ s/([\x00-\x1f\x7f-\xff])/sprintf('\\x{%02x}', ord $1)/ge;
    return $s;
}

#------------------------------------------------------------------------
# Small helpers
#------------------------------------------------------------------------

# "500ms" -> 0.5, "2s" -> 2, "1.5" -> 1.5
sub parse_time ($) {
    my $tm = shift;
    return undef unless defined $tm;
    $tm =~ s/^\s+|\s+$//g;
    if ($tm =~ /^(\d+(?:\.\d*)?|\.\d+)ms$/) {
        return $1 / 1000;
    }
    if ($tm =~ /^(\d+(?:\.\d*)?|\.\d+)s$/) {
        return $1;
    }
    return $tm;
}

sub trim ($) {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /g;
    $s =~ s/\s{2,}/ /g;
    return $s;
}

sub fmt_str ($) {
    my $str = shift;
    chomp $str;
    $str =~ s/"/\\"/g;
    $str =~ s/\r/\\r/g;
    $str =~ s/\n/\\n/g;
    return $str;
}

sub verbose { warn @_ if $Verbose }

# Is $pid alive (and not a zombie waiting to be reaped by someone else)?
sub is_running ($) {
    my $pid = shift;
    return 0 unless $pid && $pid =~ /^\d+$/ && kill(0, $pid);
    if (open my $in, '<', "/proc/$pid/stat") {
        my $stat = <$in>;
        close $in;
        return 0 if defined $stat && $stat =~ /^\d+ \(.*\) [ZX]/s;
    }
    return 1;
}

sub gen_rand_port {
    my ($tries, $used) = @_;
    for (1 .. $tries) {
        my $port = int(rand 63550) + 1985;
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(
            LocalAddr => '127.0.0.1',
            LocalPort => $port,
            Proto     => 'tcp',
            ReuseAddr => 1,
        );
        if ($sock) {
            close $sock;
            return $port;
        }
    }
    return undef;
}

# Replace $TEST_NGINX_FOO by $ENV{TEST_NGINX_FOO}; $TEST_NGINX_RAND_PORT_N
# by a free random port, the same one for the whole block ($rand_ports).
sub expand_env_in_text ($$) {
    my ($text, $rand_ports) = @_;
    return undef unless defined $text;

    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;
        if ($var =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
            if (!defined $rand_ports->{$var}) {
                my %used = ($ServerPort => 1, map { $_ => 1 } values %$rand_ports);
                my $port = gen_rand_port(1000, \%used)
                    or die "Cannot find an available listening port number for $var\n";
                $rand_ports->{$var} = $port;
            }
            $val = $rand_ports->{$var};
        } else {
            die "No environment $var defined (the real Test::Nginx "
                . "bails out here too)\n" unless defined $ENV{$var};
            $val = $ENV{$var};
        }
        $val;
    }ge;

    return $text;
}

sub nginx_version () {
    return $NginxVersion if defined $NginxVersion;
    my $out = `$NginxBinary -V 2>&1`;
    if (defined $out && $out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s) {
        $NginxRawVersion = "$1.$2.$3";
        $NginxVersion = sprintf "%d.%03d%03d", $1, $2, $3;
    }
    return $NginxVersion;
}

sub ensure_nginx_binary () {
    my $found;
    if ($NginxBinary =~ m{/}) {
        $found = -f $NginxBinary && -x _;
    } else {
        for my $dir (split /:/, $ENV{PATH} || '') {
            next if $dir eq '';
            if (-f "$dir/$NginxBinary" && -x _) {
                $found = 1;
                last;
            }
        }
    }
    bail_out("Cannot find the nginx executable \"$NginxBinary\" "
             . "(set TEST_NGINX_BINARY or PATH)") unless $found;
    nginx_version();
}

#------------------------------------------------------------------------
# Server root and nginx.conf
#------------------------------------------------------------------------

sub setup_server_root () {
    # Only remove what we create ourselves, so that a mis-set
    # TEST_NGINX_SERVROOT cannot wipe unrelated data.
    if (-d $ServRoot) {
        remove_tree($ConfDir, $HtmlDir, $LogDir,
                    glob("$ServRoot/*_temp"), glob("$ServRoot/*_cache"));
    }
    make_path($ServRoot, $LogDir, $HtmlDir, $ConfDir);
    die "Cannot create $ServRoot\n" unless -d $ConfDir;

    open my $out, '>', "$HtmlDir/index.html"
        or die "Cannot write $HtmlDir/index.html: $!\n";
    print $out '<html><head><title>It works!</title></head>'
               . '<body>It works!</body></html>';
    close $out;
}

sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;

    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        my @list;
        my ($fname, $body, $date);
        for my $line (split /^/, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$fname, $body, $date] if defined $fname;
                ($fname, $date, $body) = ($1, $2, undef);
            } else {
                $body .= $line;
            }
        }
        push @list, [$fname, $body, $date] if defined $fname;
        $files = \@list;

    } elsif (ref $files ne 'ARRAY') {
        die "--- user_files: only a string or an ARRAY are accepted\n";
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        $body = '' unless defined $body;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{^(.*)/[^/]+$} && !-d $1) {
            make_path($1);
        }
        $body = expand_env_in_text($body, $rand_ports);
        open my $out, '>', $path or die "Cannot open $path for writing: $!\n";
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            local $ENV{TZ} = 'GMT';
            system('touch', '-t', $date, $path) == 0
                or die "Failed to set the time of $path to $date\n";
        }
    }
}

sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;

    my $http_config      = expand_env_in_text($block->http_config, $rand_ports);
    my $post_main_config = expand_env_in_text($block->post_main_config, $rand_ports);
    my $main_config      = '';

    # dynamic modules first, so that main_config may use their directives
    if ($LoadModules) {
        $main_config .= "load_module $_;\n"
            for grep { length } split /\s+/, $LoadModules;
    }
    $main_config .= $block->main_config if defined $block->main_config;
    $main_config = expand_env_in_text($main_config, $rand_ports);

    $config           = '' unless defined $config;
    $http_config      = '' unless defined $http_config;
    $post_main_config = '' unless defined $post_main_config;

    my $log_level   = $block->log_level || $LogLevel;
    my $err_log     = expand_env_in_text($block->error_log_file, $rand_ports)
                      || $ErrLogFile;
    my $server_name = defined $block->server_name ? $block->server_name
                                                  : $ServerName;
    $server_name =~ s/\\/\\\\/g;
    $server_name =~ s/'/\\'/g;

    my $extra_http = '';
    if (defined $PostponeOutput && $http_config !~ /\bpostpone_output\b/) {
        die "Bad TEST_NGINX_POSTPONE_OUTPUT value: $PostponeOutput\n"
            unless $PostponeOutput =~ /^\d+$/;
        $extra_http .= "    postpone_output $PostponeOutput;\n";
    }

    my $listen_opts = $ReusePort ? ' reuseport' : '';

    my $env_lines = join '', map {
        my $v = $_;
        $v = "'$v'" if $v =~ /\s/;
        "env $v;\n";
    } @EnvToNginx;

    my $root_location = $NoRootLocation ? '' : <<_EOC_;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_

    my $events_use = $EventType ? "    use $EventType;\n" : '';

    my $user = '';
    if (defined $WorkerUser) {
        $user = "user $WorkerUser;\n";
    } elsif ($> == 0) {
        $user = "user root;\n";
    }

    open my $out, '>', $ConfFile or die "Cannot write $ConfFile: $!\n";
    print $out <<_EOC_;
worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $MasterProcessEnabled;
error_log $err_log $log_level;
pid       $PidFile;
env MOCKEAGAIN_VERBOSE;
env MOCKEAGAIN;
env MOCKEAGAIN_WRITE_TIMEOUT_PATTERN;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
env DYLD_INSERT_LIBRARIES;
env DYLD_FORCE_FLAT_NAMESPACE;
$env_lines
$main_config

http {
    access_log $AccLogFile;

    default_type text/plain;
    keepalive_timeout  68;

    client_body_temp_path $ServRoot/client_body_temp;
    proxy_temp_path       $ServRoot/proxy_temp;
    fastcgi_temp_path     $ServRoot/fastcgi_temp;
    uwsgi_temp_path       $ServRoot/uwsgi_temp;
    scgi_temp_path        $ServRoot/scgi_temp;
$extra_http
$http_config

    server {
        listen          $ServerPort$listen_opts;
        server_name     '$server_name';

        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

$root_location    }
}

$post_main_config

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
$events_use}
env ASAN_OPTIONS;
env MOCKNOEAGAIN_VERBOSE;
env MOCKNOEAGAIN;
$user
_EOC_
    close $out or die "Cannot write $ConfFile: $!\n";
}

#------------------------------------------------------------------------
# Starting and stopping nginx
#------------------------------------------------------------------------

sub nginx_cmd () {
    my @cmd = ($NginxBinary, '-p', "$ServRoot/", '-c', $ConfFile);
    # Debian's binary has its error log compiled in as stderr; -e (nginx
    # >= 1.19.5) sends start-up messages to our log file instead.
    push @cmd, '-e', $ErrLogFile
        if !defined nginx_version() || nginx_version() >= 1.019005;
    return @cmd;
}

sub valgrind_cmd () {
    my @opts;
    if ($UseValgrind =~ /^\d+$/) {
        @opts = ('--num-callers=100', '-q', '--tool=memcheck',
                 '--leak-check=full', '--show-possibly-lost=no',
                 '--gen-suppressions=all');
        push @opts, '--suppressions=valgrind.suppress'
            if -f 'valgrind.suppress';
    } else {
        @opts = ('-q', split ' ', $UseValgrind);
    }
    return ('valgrind', @opts, nginx_cmd());
}

sub slurp_tail ($;$) {
    my ($file, $max) = @_;
    $max ||= 4000;
    open my $in, '<', $file or return '';
    local $/;
    my $data = <$in>;
    close $in;
    $data = '' unless defined $data;
    $data = '...' . substr($data, -$max) if length $data > $max;
    return $data;
}

sub read_pid_file () {
    open my $in, '<', $PidFile or return undef;
    my $pid = <$in>;
    close $in;
    return undef unless defined $pid;
    $pid =~ s/\s+//g;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

# Is $pid (read from our pid file) an nginx?  Guards against signalling
# an unrelated process that reused the pid of a long-gone nginx.
sub is_nginx_pid ($) {
    my $pid = shift;
    open my $in, '<', "/proc/$pid/cmdline" or return 1;   # no procfs
    my $cmd = do { local $/; <$in> };
    close $in;
    return defined $cmd && $cmd =~ /nginx/;
}

sub nginx_is_running () {
    if (defined $ChildPid) {
        return waitpid($ChildPid, WNOHANG) == 0;
    }
    my $pid = read_pid_file();
    return $pid && is_running($pid) && is_nginx_pid($pid);
}

sub port_accepts ($$) {
    my ($addr, $port) = @_;
    my $sock = IO::Socket::INET->new(
        PeerAddr => $addr,
        PeerPort => $port,
        Proto    => 'tcp',
        Timeout  => 0.5,
    );
    return 0 unless $sock;
    close $sock;
    return 1;
}

# Run the nginx command line once in the foreground; in daemon mode the
# command returns as soon as nginx has parsed its config and bound its
# sockets.  Returns (exit status as in $?, stderr text).
sub run_nginx_once () {
    my @cmd = nginx_cmd();
    my $errfile = "$LogDir/nginx-startup.stderr";
    verbose("starting: @cmd\n");

    my $pid = fork;
    die "fork() failed: $!\n" unless defined $pid;
    if ($pid == 0) {
        $InSubprocess = 1;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', $errfile;
        { no warnings 'exec'; exec { $cmd[0] } @cmd; }
        POSIX::_exit(127);
    }

    my $deadline = time + 30;
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        last if $r == $pid || $r == -1;
        if (time > $deadline) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            return (-1, "nginx did not return within 30 s (daemon off?)\n");
        }
        sleep 0.01;
    }
    my $status = $?;
    my $stderr = slurp_tail($errfile);
    unlink $errfile;
    return ($status, $stderr);
}

# Start nginx for a block.  Returns undef on success, else a diagnostic.
sub start_nginx ($) {
    my ($name) = @_;

    if ($UseValgrind) {
        return start_nginx_valgrind($name);
    }

    my $tries = 0;
    while (1) {
        my ($status, $stderr) = run_nginx_once();
        if ($status != 0) {
            my $log = slurp_tail($ErrLogFile);
            # a port still held by a process on its way out: retry a bit
            if ($tries++ < 20 && "$stderr$log" =~ /Address already in use/) {
                sleep 0.25;
                next;
            }
            my $how = $status == -1 ? 'could not be run'
                    : $status & 127 ? 'killed by signal ' . ($status & 127)
                    : 'exit code ' . ($status >> 8);
            return "nginx failed to start ($how): @{[ nginx_cmd() ]}\n"
                   . ($stderr ne '' ? "--- stderr:\n$stderr" : '')
                   . "--- $ErrLogFile:\n$log";
        }
        print STDERR $stderr if $stderr ne '';
        last;
    }

    # the daemon writes its pid file after forking: wait for it, then for
    # the listening socket (bound before daemonizing) to accept.
    my $deadline = time + 10;
    my $pid;
    until ($pid = read_pid_file()) {
        if (time > $deadline) {
            return "nginx started but wrote no pid file $PidFile\n"
                   . "--- $ErrLogFile:\n" . slurp_tail($ErrLogFile);
        }
        sleep 0.01;
    }
    until (port_accepts($ServerAddr, $ServerPort)) {
        if (!is_running($pid) || time > $deadline) {
            return "nginx (pid $pid) is not accepting connections on "
                   . "$ServerAddr:$ServerPort\n--- $ErrLogFile:\n"
                   . slurp_tail($ErrLogFile);
        }
        sleep 0.02;
    }
    sleep $TestNginxSleep;
    return undef;
}

sub start_nginx_valgrind ($) {
    my ($name) = @_;
    my @cmd = valgrind_cmd();
    warn "$name\n";     # so that valgrind reports can be told apart
    verbose("starting: @cmd\n");

    my $pid = fork;
    die "fork() failed: $!\n" unless defined $pid;
    if ($pid == 0) {
        $InSubprocess = 1;
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        { no warnings 'exec'; exec { $cmd[0] } @cmd; }
        POSIX::_exit(127);
    }
    $ChildPid = $pid;

    my $deadline = time + 60;
    until (port_accepts($ServerAddr, $ServerPort)) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid || $r == -1) {
            my $status = $?;
            undef $ChildPid;
            return "nginx under valgrind exited early (status $status): "
                   . "@cmd\n--- $ErrLogFile:\n" . slurp_tail($ErrLogFile);
        }
        if (time > $deadline) {
            stop_nginx($name);
            return "nginx under valgrind is not accepting connections on "
                   . "$ServerAddr:$ServerPort after 60 s\n";
        }
        sleep 0.05;
    }
    return undef;
}

# Wait until $pid is gone; $is_child: reap it with waitpid.
sub wait_gone ($$$) {
    my ($pid, $is_child, $secs) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        if ($is_child) {
            my $r = waitpid($pid, WNOHANG);
            return 1 if $r == $pid || $r == -1;
        } else {
            return 1 unless is_running($pid);
        }
        sleep 0.02;
    }
    return 0;
}

# Stop the nginx started by us (graceful QUIT, then TERM, then KILL).
sub stop_nginx ($) {
    my ($name) = @_;
    return if $$ != $MainPid;

    my $is_child = defined $ChildPid;
    my $pid = $is_child ? $ChildPid : read_pid_file();

    my $alive = !$pid ? 0
              : $is_child ? waitpid($pid, WNOHANG) == 0
              : is_running($pid) && is_nginx_pid($pid);
    if ($alive) {
        verbose("stopping nginx $pid\n");
        kill 'QUIT', $pid;
        # valgrind's leak check at exit takes a while
        my $grace = $is_child ? ($Timeout > 30 ? $Timeout : 30) : $Timeout;
        if (!wait_gone($pid, $is_child, $grace)) {
            warn "$name - nginx $pid did not quit in time; terminating it\n";
            kill 'TERM', $pid;
            if (!wait_gone($pid, $is_child, 2)) {
                warn "$name - killing nginx $pid with force\n";
                kill 'KILL', ($is_child ? -$pid : $pid);
                kill 'KILL', $pid;
                wait_gone($pid, $is_child, 2);
            }
        }
    }

    undef $ChildPid;
    unlink $PidFile if -f $PidFile;
}

#------------------------------------------------------------------------
# Logs
#------------------------------------------------------------------------

sub reset_error_log_pos () { $ErrLogFilePos = 0 }

# Lines written to error.log since the previous call (or the whole file
# with check_accum_error_log).
sub error_log_data () {
    # let nginx finish logging, e.g. the log phase after the response
    sleep $TestNginxSleep * 3;

    open my $in, '<', $ErrLogFile or return [];
    if (!$CheckAccumErrLog && $ErrLogFilePos > 0) {
        seek $in, $ErrLogFilePos, 0;
    }
    my @lines = <$in>;
    $ErrLogFilePos = tell($in) unless $CheckAccumErrLog;
    close $in;
    return \@lines;
}

sub access_log_data () {
    sleep $TestNginxSleep * 3;
    open my $in, '<', $AccLogFile or return [];
    my @lines = <$in>;
    close $in;
    return \@lines;
}

#------------------------------------------------------------------------
# Embedded TCP mock server (--- tcp_listen)
#------------------------------------------------------------------------

# Listens on $target (a port, or a path ending in .sock), then forks a
# child that accepts ONE connection, reads the query, optionally waits,
# sends --- tcp_reply and closes (unless --- tcp_no_close).  What it reads
# is written to a file that the parent checks after the request.
sub start_tcp_server ($$$) {
    my ($block, $target, $name) = @_;

    my $reply = $block->tcp_reply;
    if (!defined $reply && !defined $block->tcp_shutdown) {
        die "no --- tcp_reply specified but --- tcp_listen is specified\n";
    }

    my $req_len = $block->tcp_query_len;
    my $query_file;
    if (defined $block->tcp_query || defined $req_len) {
        # like the real one: a regex tcp_query without tcp_query_len
        # reads as many bytes as the stringified regex is long
        $req_len = length('' . $block->tcp_query) unless defined $req_len;
        my $tmp = File::Temp->new(TEMPLATE => 'tcp-query-XXXXXX',
                                  TMPDIR => 1, UNLINK => 0);
        $query_file = $tmp->filename;
        close $tmp;
    }

    my ($listen, $err);
    for my $try (1 .. 50) {
        if ($target =~ /^\d+$/) {
            $listen = IO::Socket::INET->new(
                LocalAddr => '127.0.0.1',
                LocalPort => $target,
                Proto     => 'tcp',
                ReuseAddr => 1,
                Listen    => 5,
            );
        } elsif ($target =~ /\S+\.sock$/) {
            unlink $target if -e $target;
            $listen = IO::Socket::UNIX->new(
                Local  => $target,
                Type   => SOCK_STREAM,
                Listen => 5,
            );
        } else {
            die "bad --- tcp_listen target: $target\n";
        }
        last if $listen;
        $err = $!;
        last unless $err =~ /in use/i;
        sleep 0.1;
    }
    die "failed to create the TCP listening socket on $target: $err\n"
        unless $listen;

    my $pid = fork;
    die "fork() failed: $!\n" unless defined $pid;

    if ($pid == 0) {
        $InSubprocess = 1;
        my $rc = eval {
            run_tcp_server_child($block, $listen, $reply, $req_len,
                                 $query_file, $name);
            1;
        };
        warn "$name - TCP mock server: $@" unless $rc;
        POSIX::_exit($rc ? 0 : 1);
    }

    close $listen;      # the child owns it now
    $TcpServerPids{$pid} = 1;
    verbose("TCP mock server $pid listening on $target\n");
    return { pid => $pid, query_file => $query_file,
             unix_path => ($target =~ /^\d+$/ ? undef : $target) };
}

sub run_tcp_server_child {
    my ($block, $listen, $reply, $req_len, $query_file, $name) = @_;

    $SIG{PIPE} = 'IGNORE';
    $SIG{TERM} = sub { POSIX::_exit(0) };

    my $client;
    until ($client = $listen->accept) {
        warn "$name - TCP mock server: failed to accept: $!\n";
        sleep $TestNginxSleep;
    }

    my ($no_read, $no_write);
    if (defined $block->tcp_shutdown) {
        my $how = $block->tcp_shutdown;
        my $delay = parse_time($block->tcp_shutdown_delay);
        sleep $delay if $delay;
        shutdown $client, $how;
        if ($how == 0 || $how == 2) {
            $no_read = 1;
        } else {
            $no_write = 1;
        }
    }

    my $buf = '';
    unless ($no_read) {
        my $idle = parse_time($block->tcp_query_auto_timeout);
        my $sel = IO::Select->new($client);
        while (1) {
            last if $idle && !$sel->can_read($idle);
            my $n = sysread $client, my $chunk, 4096;
            last unless $n;          # EOF or error
            $buf .= $chunk;

            if ($query_file) {
                # flushed at once: the parent may look before we finish
                open my $out, '>', $query_file
                    or die "cannot write $query_file: $!\n";
                binmode $out;
                print $out $buf;
                close $out;
            }

            if ($idle) {
                last if $req_len && length($buf) >= $req_len;
            } else {
                last if !$req_len || length($buf) >= $req_len;
            }
        }
    }

    my $delay = parse_time($block->tcp_reply_delay);
    sleep $delay if $delay;

    if (!$no_write && defined $reply) {
        if (ref $reply eq 'CODE') {
            $reply = $reply->($buf);
        }
        my @parts = ref $reply eq 'ARRAY' ? @$reply : ($reply);
        die "bad --- tcp_reply value\n" if grep { ref } @parts;
        for my $part (@parts) {
            my $off = 0;
            while ($off < length $part) {
                my $n = syswrite $client, $part, length($part) - $off, $off;
                if (!defined $n) {
                    warn "$name - TCP mock server failed to send reply: $!\n";
                    last;
                }
                $off += $n;
            }
        }
    }

    if (defined $block->tcp_no_close) {
        sleep 1 while 1;    # until the parent kills us
    }

    close $client;
    close $listen;
}

# Kill (if still running) and reap a mock server; returns what it read.
sub stop_tcp_server ($) {
    my ($srv) = @_;
    return '' unless $srv;

    my $pid = $srv->{pid};
    if (delete $TcpServerPids{$pid}) {
        if (!wait_gone($pid, 1, 0.05)) {
            kill 'TERM', $pid;
            if (!wait_gone($pid, 1, 2)) {
                kill 'KILL', $pid;
                waitpid($pid, 0);
            }
        }
    }

    my $buf = '';
    if (my $file = $srv->{query_file}) {
        if (open my $in, '<', $file) {
            binmode $in;
            local $/;
            $buf = <$in>;
            $buf = '' unless defined $buf;
            close $in;
        }
        unlink $file;
    }
    unlink $srv->{unix_path} if $srv->{unix_path} && -S $srv->{unix_path};
    return $buf;
}

#------------------------------------------------------------------------
# Cleanup
#------------------------------------------------------------------------

sub cleanup () {
    return if $$ != $MainPid;
    for my $hdl (@CleanupHandlers) {
        eval { $hdl->(); 1 } or warn "cleanup handler failed: $@";
    }
    for my $pid (keys %TcpServerPids) {
        stop_tcp_server({ pid => $pid });
    }
}

1;
