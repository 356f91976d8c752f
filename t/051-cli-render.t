# `cxbpush render` prints what the module's dry run answers for the same
# document, byte for byte (push time aside).

use lib 't/lib';
use Test::Nginx::Socket;

my $cli = $ENV{CXBPUSH_CLI};

if (!$cli || !-x $cli) {
    plan skip_all => 'CXBPUSH_CLI is not set to the built cxbpush';

} else {
    plan tests => repeat_each() * 2 * blocks();
}

our $Now = sub {
    my $s = shift;
    $s =~ s/"now":"[^"]*"/"now":"NOW"/g;
    $s =~ s/"webhook-id":"msg_[0-9a-f]{20}"/"webhook-id":"ID"/g;
    $s
};

sub render {
    my ($file) = @_;
    my $out = `$cli render $file --public-base-url http://localhost`;
    die "cxbpush render $file failed: $?" if $?;
    return $Now->($out);
}

sub post {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    local $/;
    return "POST /ingest?dry_run=1\n" . <$fh>;
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the sample call of conf/examples
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
main::post('conf/examples/call.json')
--- response_body_filters eval
$main::Now
--- response_body eval
main::render('conf/examples/call.json')



=== TEST 2: a call with integrations and an external webhook
--- config
    location = /ingest { cxbpush_ingest; cxbpush_pass /_send; }
--- request eval
main::post('t/cli/call.json')
--- response_body_filters eval
$main::Now
--- response_body eval
main::render('t/cli/call.json')
