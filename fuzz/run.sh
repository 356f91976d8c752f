#!/usr/bin/env bash
# Runs the libFuzzer targets: make fuzz / make fuzz-short (see README.md).
#
#   fuzz/run.sh BINDIR SECONDS TARGET...
#
# For each target: the saved reproducers in fuzz/regressions/TARGET/ first,
# as plain inputs; then SECONDS of fuzzing on BINDIR/corpus/TARGET, a
# scratch corpus seeded from fuzz/corpus/TARGET (new inputs never go into
# the repository).  Crashes, leaks, timeouts and out-of-memory inputs are
# saved in BINDIR/artifacts/TARGET/; full logs in BINDIR/logs/.  Exits 1
# when any regression or fuzzing run failed.  Extra libFuzzer flags can be
# given in FUZZ_FLAGS.

set -uo pipefail

bindir=$1 seconds=$2
shift 2

cd "$(dirname "$0")/.."

case "$seconds" in
    ''|*[!0-9]*|0) echo "fuzz: FUZZ_SECONDS must be a positive integer" >&2
                   exit 2 ;;
esac

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

common=(-timeout=5 -rss_limit_mb=2048)
failed=()
summary=()

mkdir -p "$bindir/logs"

for t in "$@"; do
    bin=$bindir/fuzz_$t
    log=$bindir/logs/$t.log
    art=$bindir/artifacts/$t
    corpus=$bindir/corpus/$t
    status=ok

    mkdir -p "$art" "$corpus"

    # 1. the regressions, as plain inputs

    regs=()
    if [ -d "fuzz/regressions/$t" ]; then
        while IFS= read -r -d '' f; do
            regs+=("$f")
        done < <(find "fuzz/regressions/$t" -type f ! -name 'README*' \
                      ! -name '.*' -print0 | sort -z)
    fi

    if [ ${#regs[@]} -gt 0 ]; then
        if ! "$bin" "${common[@]}" -artifact_prefix="$art/" "${regs[@]}" \
                > "$bindir/logs/$t.regressions.log" 2>&1
        then
            status="REGRESSION FAILED"
            echo "fuzz: $t: a regression input fails" \
                 "(log: $bindir/logs/$t.regressions.log):"
            grep -E "^Running: |ERROR: |SUMMARY: |property violated|^  [^ ]" \
                "$bindir/logs/$t.regressions.log" | head -20
        fi
    fi

    # 2. fuzzing, on a scratch copy of the seeds

    cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true

    dict=()
    [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")

    echo "fuzz: $t: ${#regs[@]} regression input(s), then ${seconds}s of fuzzing"

    # shellcheck disable=SC2086
    "$bin" "${common[@]}" -max_total_time="$seconds" -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" \
        ${FUZZ_FLAGS:-} "$corpus" > "$log" 2>&1
    rc=$?

    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
    [ -n "$done_line" ] \
        || done_line=$(grep -E '^#[0-9]+[[:space:]]+(pulse|NEW|REDUCE|INITED)' \
                       "$log" | tail -1)
    cov=$(sed -nE 's/.* cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/cov \1, ft \2, corpus \3/p' \
          <<< "$done_line")
    execs=$(sed -nE 's/^stat::average_exec_per_sec:[[:space:]]+([0-9]+).*/\1/p' "$log")
    runs=$(sed -nE 's/^stat::number_of_executed_units:[[:space:]]+([0-9]+).*/\1/p' "$log")

    if [ $rc -ne 0 ]; then
        status="FAILED (libFuzzer exit $rc)"
        echo "fuzz: $t: failed (log: $log); reproducer(s) in $art/:"
        grep -E "ERROR: |SUMMARY: |property violated|^  [^ ]|Test unit written" \
            "$log" | head -20 | grep . || tail -5 "$log"
    fi

    [ "$status" = ok ] || failed+=("$t")
    summary+=("$(printf '%-9s %-28s %9s runs %7s exec/s  %s' "$t" "$status" \
                "${runs:-?}" "${execs:-?}" "${cov:-cov ?}")")
done

echo
echo "fuzz: ${seconds}s per target"
printf '  %s\n' "${summary[@]}"

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}"
    exit 1
fi

echo "fuzz: no crash, leak or timeout"
