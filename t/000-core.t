# Runs the core's C unit tests (t/unit/test_*.c, built by `make unit` under
# AddressSanitizer and UndefinedBehaviorSanitizer into $CXBPUSH_UNIT_DIR)
# and checks their TAP: every test ok, the plan complete, no sanitizer
# report, exit status 0.

use strict;
use warnings;

use Test::More;

my $dir = $ENV{CXBPUSH_UNIT_DIR} || 'build/unit';
my @src = sort glob('t/unit/test_*.c');

plan skip_all => "no unit tests under t/unit" unless @src;

for my $src (@src) {
    my ($name) = $src =~ m{t/unit/(test_\w+)\.c$};
    my $bin = "$dir/$name";

    ok(-x $bin, "$name is built") or next;

    my $out = `ASAN_OPTIONS=detect_leaks=1 $bin 2>&1`;
    my $status = $? >> 8;

    my @ok = $out =~ /^ok \d+/mg;
    my @not = $out =~ /^(not ok \d+.*)$/mg;
    my ($plan) = $out =~ /^1\.\.(\d+)$/m;

    is($status, 0, "$name exits 0");
    ok(defined $plan && $plan > 0 && $plan == @ok + @not,
       "$name ran its whole plan (" . ($plan // 'none') . ")");
    is(scalar @not, 0, "$name: no failed test") or diag(join "\n", @not);
    unlike($out, qr/ERROR: (Address|Leak)Sanitizer|runtime error:/,
           "$name: no sanitizer report") or diag($out);
}

done_testing();
