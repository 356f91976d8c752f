#!/usr/bin/env bash
# Ingestion benchmark of ngx_http_cxbpush_module against plain nginx.
#
#   bench/run.sh            (from anywhere; see bench/README.md)
#
# Same nginx binary, same machine, same configuration except the ingestion
# location (bench/nginx.conf.in).  Three setups, alternated ROUNDS times:
#
#   module      cxbpush_ingest + cxbpush_pass, cxbpush_log off
#   plain       no module: mirror + mirror_request_body to the same sink
#   module-log  as module, with cxbpush_log on (one JSON line per push)
#   module-spool as module, with cxbpush_spool (each push written durably
#               before the 202 and removed after it; not run by default)
#
# Each run gets a fresh nginx (prefix in a temp dir), one checked request,
# a warm-up and a timed wrk run of the ~27 KB result document
# (bench/gen-doc.py, POSTed by bench/post.lua).  Afterwards the sink's access
# log must hold one POST /crm per accepted request, the module-log run's
# cxbpush log one "ok" record per request, wrk must have seen nothing but
# 202s, and the error log no alert.  The table goes to stdout and to
# $OUT (bench/results.txt).
#
# Environment (defaults): DURATION=8 (s per timed run), WARMUP=1 (s),
# THREADS=2, CONNS=32, ROUNDS=3, WORKERS=1, PORT=24180, SINKPORT=24181,
# NGINX=/usr/sbin/nginx, MODULE=build/ngx_http_cxbpush_module.so,
# VARIANTS="module plain module-log", TURNS=200, OUT=bench/results.txt,
# KEEP=0 (1 keeps the temp dir), MAX_SECONDS (whole-run watchdog; default
# computed from the above).

set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")

NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${MODULE:-$ROOT/build/ngx_http_cxbpush_module.so}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-1}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-1}
PORT=${PORT:-24180}
SINKPORT=${SINKPORT:-24181}
VARIANTS=${VARIANTS:-module plain module-log}
TURNS=${TURNS:-200}
OUT=${OUT:-$HERE/results.txt}
KEEP=${KEEP:-0}
LOGLEVEL=${LOGLEVEL:-warn}

nvariants=$(echo "$VARIANTS" | wc -w)
MAX_SECONDS=${MAX_SECONDS:-$(( ROUNDS * nvariants * (DURATION + WARMUP + 25) + 60 ))}

. "$HERE/lib.sh"

# --- tools ------------------------------------------------------------------

bench_tools

for src in "$ROOT"/ngx_http_cxbpush_module.c "$ROOT"/src/*.c "$ROOT"/src/*.h; do
    if [ "$MODULE" = "$ROOT/build/ngx_http_cxbpush_module.so" ] && [ "$src" -nt "$MODULE" ]; then
        say "warning: $src is newer than $MODULE (run make module for current figures)"
        break
    fi
done

# --- state and cleanup ------------------------------------------------------

TMP=$(mktemp -d /tmp/cxbpush-bench.XXXXXX)
chmod 711 "$TMP"    # the workers (user nobody) reach the spool of module-spool
NGINX_PID=""       # master of the running setup (remembered: no pid file needed)
WRK_PID=""

stop_nginx() {     # the running setup's nginx: graceful, then forced, by pid
    local pid=$NGINX_PID
    NGINX_PID=""
    stop_pid "$pid"
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$WRK_PID" ]; then      # timeout(1) passes the TERM on to wrk
        kill -TERM "$WRK_PID" 2>/dev/null || true
        wait "$WRK_PID" 2>/dev/null || true
    fi
    stop_nginx
    stop_watchdog
    if [ "$KEEP" = 1 ] || [ "$rc" != 0 ]; then
        say "kept $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# whole-run watchdog: TERM this shell, whose trap stops nginx
start_watchdog

# --- inputs -----------------------------------------------------------------

for p in "$PORT" "$SINKPORT"; do
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/"; then
        die "something already listens on 127.0.0.1:$p (set PORT/SINKPORT)"
    fi
done

cp "$MODULE" "$TMP/module.so"      # a rebuild during the run changes nothing
DOC=$TMP/doc.json
python3 "$HERE/gen-doc.py" "$SINKPORT" "$TURNS" > "$DOC"
DOC_BYTES=$(wc -c < "$DOC")
export CXB_DOC=$DOC

# --- one run ----------------------------------------------------------------

render_conf() {    # $1 = variant, $2 = prefix
    local variant=$1 prefix=$2 keep drop log=off spool=d
    case $variant in
        module)     keep=M drop=P ;;
        module-log) keep=M drop=P log=$prefix/cxbpush.log ;;
        module-spool) keep=M drop=P spool=k ;;
        plain)      keep=P drop=M ;;
        *)          die "unknown variant $variant" ;;
    esac
    if [ "$spool" = k ]; then spool='s|^#S ||'; else spool='/^#S /d'; fi
    sed -e "s|^#$keep ||" -e "/^#$drop /d" -e "/^#$drop\$/d" -e "$spool" \
        -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$PORT|g" \
        -e "s|@SINKPORT@|$SINKPORT|g" -e "s|@MODULE@|$TMP/module.so|g" \
        -e "s|@CXBLOG@|$log|g" -e "s|@WORKERS@|$WORKERS|g" -e "s|@LOGLEVEL@|$LOGLEVEL|g" \
        "$HERE/nginx.conf.in" > "$prefix/nginx.conf"
}

run_wrk() {        # $1 = seconds, $2 = output file, rest = wrk options;
                   # in the background, so that a signal is handled at once
    local secs=$1 out=$2 rc=0
    shift 2
    timeout $((secs + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" "$@" \
        -s "$HERE/post.lua" "http://127.0.0.1:$PORT/ingest" > "$out" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || rc=$?
    WRK_PID=""
    return "$rc"
}

wrk_field() {      # $1 = wrk output file, $2 = regexp; prints the number
    sed -n "s/^ *$2 *\([0-9][0-9.]*\).*/\1/p" "$1" | head -n1
}

# runs one setup; appends "variant round rps p50 p99 requests sinkhits cpu" to
# $TMP/runs
run_one() {
    local variant=$1 round=$2 prefix code body wout wres rps reqs warm
    local bad nok sink expect slack p50 p99 alerts t0 t1 cpu

    prefix=$TMP/$variant-$round
    mkdir -p "$prefix/tmp"
    render_conf "$variant" "$prefix"

    "$NGINX" -p "$prefix/" -c "$prefix/nginx.conf" -t -q -e "$prefix/error.log" \
        || die "$variant: nginx -t failed (see $prefix/error.log)"
    "$NGINX" -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log" \
        || die "$variant: nginx did not start"

    # the daemonized master writes its pid file a moment after we return
    for i in $(seq 1 50); do
        if [ -z "$NGINX_PID" ] && [ -s "$prefix/nginx.pid" ]; then
            NGINX_PID=$(cat "$prefix/nginx.pid")
        fi
        if [ -n "$NGINX_PID" ] && curl -s -o /dev/null --max-time 1 \
               "http://127.0.0.1:$SINKPORT/_ready"; then
            break
        fi
        [ "$i" = 50 ] && die "$variant: nginx does not answer"
        sleep 0.1
    done

    # one checked request
    code=$(curl -s -o "$prefix/first.out" -w '%{http_code}' --max-time 10 \
           -H 'Content-Type: application/json' --data-binary "@$DOC" \
           "http://127.0.0.1:$PORT/ingest") || die "$variant: curl failed"
    [ "$code" = 202 ] || die "$variant: first request answered $code: $(cat "$prefix/first.out")"
    case $variant in
        module*) grep -q '"status":"scheduled"' "$prefix/first.out" \
                     || die "$variant: push not scheduled: $(cat "$prefix/first.out")" ;;
    esac

    # warm-up (counted for the sink check, not timed)
    warm=0
    if [ "$WARMUP" -gt 0 ]; then
        run_wrk "$WARMUP" "$prefix/warmup.out" \
            || die "$variant: warm-up wrk failed: $(cat "$prefix/warmup.out")"
        warm=$(sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$prefix/warmup.out")
        grep -q 'CXB_STATUS ok=[0-9]* bad=0 ' "$prefix/warmup.out" \
            || die "$variant: non-202 answers in warm-up: $(grep CXB_STATUS "$prefix/warmup.out")"
    fi

    say "$variant round $round: wrk -t$THREADS -c$CONNS -d${DURATION}s"
    wout=$prefix/wrk.out
    t0=$(worker_ticks "$(cat "$prefix/nginx.pid")")
    run_wrk "$DURATION" "$wout" --latency || die "$variant: wrk failed: $(cat "$wout")"
    t1=$(worker_ticks "$(cat "$prefix/nginx.pid")")

    # let the pushes of the last requests reach the sink (it lives in the
    # same nginx: a graceful quit closes its listener at once), then quit,
    # which flushes the sink's buffered access log.  With the spool, pushes
    # are detached from the requests and may lag behind: wait until the
    # spool is empty (bounded), so that none is cut by the quit.
    sleep 1
    if [ -d "$prefix/spool" ]; then
        for i in $(seq 1 300); do
            ls "$prefix/spool" | grep -q '\.json$' || break
            sleep 0.1
        done
    fi
    stop_nginx

    # --- checks ---
    rps=$(wrk_field "$wout" 'Requests\/sec:')
    reqs=$(sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$wout")
    [ -n "$rps" ] && [ -n "$reqs" ] || die "$variant: cannot read wrk output: $(cat "$wout")"
    wres=$(grep '^CXB_STATUS' "$wout") || die "$variant: no CXB_STATUS line from post.lua"
    bad=$(echo "$wres" | sed 's/.* bad=\([0-9]*\).*/\1/')
    nok=$(echo "$wres" | sed 's/.* ok=\([0-9]*\).*/\1/')
    [ "$bad" = 0 ] || die "$variant: $bad non-202 answers ($wres)"
    if grep -q 'Non-2xx' "$wout"; then
        die "$variant: wrk reports non-2xx answers: $(grep Non-2xx "$wout")"
    fi
    if grep -q 'Socket errors' "$wout"; then
        die "$variant: wrk reports socket errors: $(grep 'Socket errors' "$wout")"
    fi
    [ "$nok" -gt 0 ] || die "$variant: no 202 at all"

    alerts=$(grep -cE '\[(alert|crit|emerg|error)\]' "$prefix/error.log" || true)
    [ "$alerts" = 0 ] || die "$variant: $alerts error lines in $prefix/error.log: $(grep -E '\[(alert|crit|emerg|error)\]' "$prefix/error.log" | head -3)"

    # every accepted request reached the sink: 1 checked + warm-up + timed,
    # give or take what was in flight when wrk stopped
    expect=$((1 + warm + reqs))
    slack=$((2 * CONNS + 2))
    sink=$(grep -c '^POST /crm 200 ' "$prefix/sink.log" || true)
    if [ "$sink" -lt $((expect - slack)) ] || [ "$sink" -gt $((expect + slack)) ]; then
        die "$variant: sink got $sink pushes for ~$expect accepted requests"
    fi
    if grep -qv '^POST /crm 200 ' "$prefix/sink.log"; then
        die "$variant: unexpected sink requests: $(grep -v '^POST /crm 200 ' "$prefix/sink.log" | head -3)"
    fi

    if [ "$variant" = module-log ]; then
        python3 - "$prefix/cxbpush.log" "$sink" <<'EOF' || die "$variant: cxbpush log check failed"
import json, sys
n = okn = 0
for line in open(sys.argv[1]):
    rec = json.loads(line)
    n += 1
    if rec.get("status") == "ok" and rec.get("http_status") == 200:
        okn += 1
    elif n - okn <= 3:
        print("not ok:", line[:300], file=sys.stderr)
sink = int(sys.argv[2])
print("bench: cxbpush log: %d records, %d ok (sink: %d)" % (n, okn, sink),
      file=sys.stderr)
sys.exit(0 if n == okn == sink else 1)
EOF
    fi

    p50=$(sed -n 's/^ *50% *\([0-9.]*[a-z]*\).*/\1/p' "$wout")
    p99=$(sed -n 's/^ *99% *\([0-9.]*[a-z]*\).*/\1/p' "$wout")
    # nginx worker CPU per timed request, user/system, in microseconds
    cpu=$(echo "$t0 $t1 $reqs $(getconf CLK_TCK)" | awk '{
        printf "%.0f/%.0f", ($3 - $1) * 1e6 / $6 / $5, ($4 - $2) * 1e6 / $6 / $5 }')
    say "$variant round $round: $rps req/s, p50 $p50, p99 $p99, worker CPU us/req (user/sys) $cpu, $reqs requests, sink $sink/$expect"
    echo "$variant $round $rps $p50 $p99 $reqs $sink $cpu" >> "$TMP/runs"
}

# --- the runs ---------------------------------------------------------------

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
say "document $DOC_BYTES bytes ($TURNS turns), $ROUNDS round(s) of: $VARIANTS; load average $LOAD0"
case $LOAD0 in
    0.[0-4]*) ;;
    *) say "warning: the machine is busy (load $LOAD0): other processes share the cores, figures will be noisy" ;;
esac
: > "$TMP/runs"
for round in $(seq 1 "$ROUNDS"); do
    for v in $VARIANTS; do
        run_one "$v" "$round"
    done
done

# --- the table --------------------------------------------------------------

{
    echo "# ngx_http_cxbpush_module ingestion benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
    if [ "$MODULE" = "$ROOT/build/ngx_http_cxbpush_module.so" ]; then
        origin="build/ of git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
        git -C "$ROOT" diff --quiet HEAD -- src ngx_http_cxbpush_module.c config 2>/dev/null \
            || origin="$origin with uncommitted changes"
    else
        origin=$MODULE
    fi
    echo "# $("$NGINX" -v 2>&1 | sed 's/.*: //'), $(nproc) cores;" \
         "module sha256 $(sha256sum "$TMP/module.so" | cut -c1-12) ($origin)"
    echo "# wrk -t$THREADS -c$CONNS -d${DURATION}s (warm-up ${WARMUP}s), worker_processes $WORKERS," \
         "document $DOC_BYTES bytes, $TURNS transcript turns, 30-field key_mapper"
    echo "# load average before $LOAD0, after $(cut -d' ' -f1-3 /proc/loadavg)"
    python3 - "$TMP/runs" <<'EOF'
import statistics, sys
runs, order = {}, []
for line in open(sys.argv[1]):
    v, rnd, rps, p50, p99, reqs, sink, cpu = line.split()
    if v not in runs:
        runs[v] = []
        order.append(v)
    runs[v].append((float(rps), p50, p99, cpu))
med = {v: statistics.median(r[0] for r in runs[v]) for v in order}
base = med.get("plain")
print("%-11s %-22s %8s %8s %8s %8s %12s" % ("variant", "req/s per round", "median",
      "vs plain", "p50", "p99", "cpu us/req"))
for v in order:
    per = " ".join("%.0f" % r[0] for r in runs[v])
    ratio = "%.3f" % (med[v] / base) if base else "-"
    last = runs[v][-1]
    print("%-11s %-22s %8.0f %8s %8s %8s %12s" % (v, per, med[v], ratio,
                                                 last[1], last[2], last[3]))
print("(p50/p99 latency and nginx worker CPU per request, user/sys, of the last round)")
for v in ("module", "module-log"):
    if base and v in med:
        pairs = ["%.3f" % (a[0] / b[0]) for a, b in zip(runs[v], runs["plain"])]
        print("ratio %s/plain = %.3f (median req/s; round by round: %s)%s"
              % (v, med[v] / base, " ".join(pairs),
                 (" target >= 0.5: " + ("met" if med[v] / base >= 0.5 else "NOT met"))
                 if v == "module" else ""))
EOF
} > "$TMP/table"

cat "$TMP/table"
cp "$TMP/table" "$OUT"
say "written to $OUT"
