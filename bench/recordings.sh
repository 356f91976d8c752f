#!/usr/bin/env bash
# Recordings route benchmark: cxbpush_recordings in redirect mode against
# nginx's own closest equivalent, secure_link + return 302.
#
#   bench/recordings.sh     (from anywhere; see bench/README.md)
#
# One nginx (prefix in a temp dir, worker_processes $WORKERS), both routes in
# the same server, alternated ROUNDS times in the same run:
#
#   module      GET /api/v1/public/recordings/TOKEN: cxbpush_recordings,
#               cxbpush_recordings_redirect on, a sealed token opened
#               natively (AES-256-GCM), a 302 to a SigV4-presigned URL
#   securelink  GET /sl/calls/...?md5=..&expires=..: secure_link (MD5) and
#               return 302 to a URL of the same length as the module's
#
# Each in two shapes: "hot", one URL over and over (the module answers from
# its per-worker memory of recent redirects: no cryptography at all), and
# "cold", $NTOKENS different URLs in turn (every module request opens its
# token and signs a new URL; secure_link does the same MD5 either way).
# The cold tokens are minted with the core (src/cxb_token.c) by a helper
# compiled here.  Before timing, each shape is checked once with curl
# (302, the expected Location); afterwards wrk must have seen only 302s, no
# socket errors, and the error log no alert.  The table goes to stdout and
# to $OUT (bench/recordings-results.txt).
#
# Environment (defaults): DURATION=8 (s per timed run), WARMUP=1 (s),
# THREADS=2, CONNS=32, ROUNDS=3, WORKERS=1, NTOKENS=10000, PORT=24190,
# NGINX=/usr/sbin/nginx, MODULE=build/ngx_http_cxbpush_module.so, CC=cc,
# OUT=bench/recordings-results.txt, KEEP=0 (1 keeps the temp dir),
# MAX_SECONDS (whole-run watchdog; default computed from the above).

set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")

NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${MODULE:-$ROOT/build/ngx_http_cxbpush_module.so}
CC=${CC:-cc}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-1}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-1}
NTOKENS=${NTOKENS:-10000}
PORT=${PORT:-24190}
OUT=${OUT:-$HERE/recordings-results.txt}
KEEP=${KEEP:-0}
VARIANTS="module-hot securelink-hot module-cold securelink-cold"
MAX_SECONDS=${MAX_SECONDS:-$(( ROUNDS * 4 * (DURATION + WARMUP + 10) + 120 ))}

# the token secret and the secure_link secret of this run (not secrets)
TOKEN_SECRET=bench-token-secret-0123456789
SL_SECRET=bench-secure-link-secret

. "$HERE/lib.sh"

# --- tools ------------------------------------------------------------------

command -v "$CC" >/dev/null || die "a C compiler ($CC) is required"
bench_tools

# --- state and cleanup ------------------------------------------------------

TMP=$(mktemp -d /tmp/cxbpush-bench-rec.XXXXXX)
PREFIX=$TMP/nginx
NGINX_UP=0

stop_nginx() {     # graceful, then forced, by pid only
    [ -f "$PREFIX/nginx.pid" ] || return 0
    stop_pid "$(cat "$PREFIX/nginx.pid" 2>/dev/null)"
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ "$NGINX_UP" = 1 ] && stop_nginx
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

start_watchdog

if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/"; then
    die "something already listens on 127.0.0.1:$PORT (set PORT)"
fi

mkdir -p "$PREFIX/tmp"
cp "$MODULE" "$TMP/module.so"      # a rebuild during the run changes nothing

# --- the cold tokens: minted with the core ----------------------------------

cat > "$TMP/mint.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxb_token.h"

/* mint SECRET N: the sealed tokens of calls/bench/NNNNNN.wav, one a line */

int
main(int argc, char **argv)
{
    int              i, n;
    char             key[64];
    cxb_buf_t        b;
    cxb_token_key_t  k;

    if (argc != 3 || cxb_token_key_derive(&k, (unsigned char *) argv[1],
                                          strlen(argv[1])) != 0)
    {
        return 2;
    }

    n = atoi(argv[2]);
    cxb_buf_init(&b);

    for (i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "calls/bench/%06d.wav", i);
        cxb_buf_reset(&b);

        if (cxb_token_seal(&b, &k, key, strlen(key)) != 0) {
            return 1;
        }

        printf("%.*s\n", (int) b.len, b.data);
    }

    cxb_buf_free(&b);

    return 0;
}
EOF

extra=""
[ -f "$ROOT/src/cxb_crypto.c" ] && extra="$ROOT/src/cxb_crypto.c"
"$CC" -std=c99 -D_DEFAULT_SOURCE -O2 -I"$ROOT/src" -o "$TMP/mint" "$TMP/mint.c" \
    "$ROOT/src/cxb_token.c" "$ROOT/src/cxb_buf.c" $extra -lcrypto \
    || die "cannot build the token minter"
"$TMP/mint" "$TOKEN_SECRET" "$NTOKENS" > "$TMP/tokens" || die "minting failed"
[ "$(wc -l < "$TMP/tokens")" = "$NTOKENS" ] || die "minted too few tokens"

# --- nginx ------------------------------------------------------------------

render_conf() {    # $1 = what secure_link's Location gets after the key
    cat > "$PREFIX/nginx.conf" <<EOF
load_module $TMP/module.so;
worker_processes $WORKERS;
error_log $PREFIX/error.log warn;
pid $PREFIX/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $PREFIX/tmp/body;
    proxy_temp_path $PREFIX/tmp/proxy;
    fastcgi_temp_path $PREFIX/tmp/fastcgi;
    uwsgi_temp_path $PREFIX/tmp/uwsgi;
    scgi_temp_path $PREFIX/tmp/scgi;

    # never contacted: the redirect route only signs
    cxbpush_s3 endpoint=http://127.0.0.1:9000 bucket=recordings
               region=us-east-1 access_key=bench-access-key
               secret_key=bench-secret-key;
    cxbpush_token_secret $TOKEN_SECRET;

    server {
        listen 127.0.0.1:$PORT backlog=4096;

        location /api/v1/public/recordings/ {
            cxbpush_recordings;
            cxbpush_recordings_redirect on;
        }

        location /sl/ {
            secure_link \$arg_md5,\$arg_expires;
            secure_link_md5 "\$secure_link_expires\$uri $SL_SECRET";
            if (\$secure_link = "") { return 403; }
            if (\$secure_link = "0") { return 410; }
            add_header Cache-Control no-store always;
            return 302 "http://127.0.0.1:9000/recordings\$uri$1";
        }

        location = /_ready { return 204; }
    }
}
EOF
    "$NGINX" -p "$PREFIX/" -c "$PREFIX/nginx.conf" -e "$PREFIX/error.log" -t -q \
        || die "nginx -t failed (see $PREFIX/error.log)"
}

render_conf ""
"$NGINX" -p "$PREFIX/" -c "$PREFIX/nginx.conf" -e "$PREFIX/error.log" \
    || die "nginx did not start"
NGINX_UP=1

for i in $(seq 1 50); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/_ready" && break
    [ "$i" = 50 ] && die "nginx does not answer"
    sleep 0.1
done

# the secure_link URLs: the same keys, a far expiry, MD5 per URL
python3 - "$NTOKENS" "$SL_SECRET" > "$TMP/sl-paths" <<'EOF'
import base64, hashlib, sys
n, secret = int(sys.argv[1]), sys.argv[2]
expires = 2147483647
for i in range(n):
    uri = "/sl/calls/bench/%06d.wav" % i
    md5 = hashlib.md5(("%d%s %s" % (expires, uri, secret)).encode()).digest()
    tok = base64.urlsafe_b64encode(md5).decode().rstrip("=")
    print("%s?md5=%s&expires=%d" % (uri, tok, expires))
EOF
sed 's|^|/api/v1/public/recordings/|' "$TMP/tokens" > "$TMP/module-paths"

# one checked request per shape: 302 to the expected place
check() {          # $1 = path, $2 = Location pattern (grep -E)
    local out code loc
    out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --max-time 5 \
          "http://127.0.0.1:$PORT$1") || die "curl $1 failed"
    code=${out%% *}
    loc=${out#* }
    [ "$code" = 302 ] || die "$1 answered $code"
    echo "$loc" | grep -Eq "$2" || die "$1: unexpected Location $loc"
    echo "$loc"
}

mod_loc=$(check "$(head -n1 "$TMP/module-paths")" \
    '^http://127\.0\.0\.1:9000/recordings/calls/bench/000000\.wav\?X-Amz-Algorithm=AWS4-HMAC-SHA256&.*&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=[0-9a-f]{64}$')
sl_loc=$(check "$(head -n1 "$TMP/sl-paths")" \
    '^http://127\.0\.0\.1:9000/recordings/sl/calls/bench/000000\.wav$')
check "$(tail -n1 "$TMP/module-paths")" '/calls/bench/[0-9]{6}\.wav\?' >/dev/null
check "$(tail -n1 "$TMP/sl-paths")" '/calls/bench/[0-9]{6}\.wav$' >/dev/null

# secure_link redirects to a URL padded to the module's length: the same
# bytes on the wire
pad=$(( ${#mod_loc} - ${#sl_loc} ))
if [ "$pad" -gt 1 ]; then
    render_conf "?$(printf '%*s' "$((pad - 1))" '' | tr ' ' x)"
    kill -HUP "$(cat "$PREFIX/nginx.pid")"
    sleep 1
    sl_loc=$(check "$(head -n1 "$TMP/sl-paths")" \
        '^http://127\.0\.0\.1:9000/recordings/sl/calls/bench/000000\.wav\?x+$')
fi
say "Location lengths: module ${#mod_loc}, secure_link ${#sl_loc}"

# wrk: a Lua script walks the paths of a file, each thread from its own offset
cat > "$TMP/paths.lua" <<'EOF'
local paths, n, i = {}, 0, 0
local counter = 0

function setup(thread)
    thread:set("offset", counter)
    counter = counter + 1
end

function init(args)
    for line in io.lines(os.getenv("CXB_PATHS")) do
        n = n + 1
        paths[n] = line
    end
    i = math.floor((offset or 0) * n / 8)
end

function request()
    i = i + 1
    if i > n then i = 1 end
    return wrk.format("GET", paths[i])
end
EOF

run_one() {        # $1 = variant, $2 = round
    local variant=$1 round=$2 url args wout rps reqs p50 p99 t0 t1 cpu
    args=()
    case $variant in
        module-hot)      url=$(head -n1 "$TMP/module-paths") ;;
        securelink-hot)  url=$(head -n1 "$TMP/sl-paths") ;;
        module-cold)     url=/; export CXB_PATHS=$TMP/module-paths
                         args=(-s "$TMP/paths.lua") ;;
        securelink-cold) url=/; export CXB_PATHS=$TMP/sl-paths
                         args=(-s "$TMP/paths.lua") ;;
    esac

    if [ "$WARMUP" -gt 0 ]; then
        timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" \
            "${args[@]}" "http://127.0.0.1:$PORT$url" > "$TMP/warmup.out" 2>&1 \
            || die "$variant: warm-up wrk failed: $(cat "$TMP/warmup.out")"
    fi

    wout=$TMP/$variant-$round.out
    t0=$(worker_ticks "$(cat "$PREFIX/nginx.pid")")
    timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
        --latency "${args[@]}" "http://127.0.0.1:$PORT$url" > "$wout" 2>&1 \
        || die "$variant: wrk failed: $(cat "$wout")"
    t1=$(worker_ticks "$(cat "$PREFIX/nginx.pid")")

    rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$wout")
    reqs=$(sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$wout")
    [ -n "$rps" ] && [ -n "$reqs" ] || die "$variant: cannot read wrk output: $(cat "$wout")"
    # a 302 is a 3xx for wrk: anything else (403, 404, 500) is reported
    if grep -q 'Non-2xx or 3xx' "$wout"; then
        die "$variant: answers other than 302: $(grep 'Non-2xx or 3xx' "$wout")"
    fi
    if grep -q 'Socket errors' "$wout"; then
        die "$variant: wrk reports socket errors: $(grep 'Socket errors' "$wout")"
    fi

    p50=$(sed -n 's/^ *50% *\([0-9.]*[a-z]*\).*/\1/p' "$wout")
    p99=$(sed -n 's/^ *99% *\([0-9.]*[a-z]*\).*/\1/p' "$wout")
    cpu=$(echo "$t0 $t1 $reqs $(getconf CLK_TCK)" | awk '{
        printf "%.1f", (($3 + $4) - ($1 + $2)) * 1e6 / $6 / $5 }')
    say "$variant round $round: $rps req/s, p50 $p50, p99 $p99, worker CPU $cpu us/req"
    echo "$variant $round $rps $p50 $p99 $cpu" >> "$TMP/runs"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
say "$ROUNDS round(s) of: $VARIANTS; $NTOKENS cold URLs; load average $LOAD0"
case $LOAD0 in
    0.[0-4]*) ;;
    *) say "warning: the machine is busy (load $LOAD0): figures will be noisy" ;;
esac

: > "$TMP/runs"
for round in $(seq 1 "$ROUNDS"); do
    for v in $VARIANTS; do
        run_one "$v" "$round"
    done
done

alerts=$(grep -cE '\[(alert|crit|emerg|error)\]' "$PREFIX/error.log" || true)
[ "$alerts" = 0 ] || die "$alerts error lines in $PREFIX/error.log: $(grep -E '\[(alert|crit|emerg|error)\]' "$PREFIX/error.log" | head -3)"

stop_nginx
NGINX_UP=0

# --- the table --------------------------------------------------------------

{
    echo "# recordings redirect route vs secure_link + return 302 ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
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
         "Location ${#mod_loc} bytes, $NTOKENS cold URLs"
    echo "# load average before $LOAD0, after $(cut -d' ' -f1-3 /proc/loadavg)"
    python3 - "$TMP/runs" <<'EOF'
import statistics, sys
runs, order = {}, []
for line in open(sys.argv[1]):
    v, rnd, rps, p50, p99, cpu = line.split()
    if v not in runs:
        runs[v] = []
        order.append(v)
    runs[v].append((float(rps), p50, p99, cpu))
med = {v: statistics.median(r[0] for r in runs[v]) for v in order}
print("%-16s %-24s %8s %8s %8s %10s" % ("variant", "req/s per round", "median",
      "p50", "p99", "cpu us/req"))
for v in order:
    per = " ".join("%.0f" % r[0] for r in runs[v])
    last = runs[v][-1]
    print("%-16s %-24s %8.0f %8s %8s %10s" % (v, per, med[v], last[1], last[2],
                                            last[3]))
print("(p50/p99 latency and nginx worker CPU per request of the last round)")
for shape in ("hot", "cold"):
    m, s = "module-" + shape, "securelink-" + shape
    if m in med and s in med:
        pairs = ["%.3f" % (a[0] / b[0]) for a, b in zip(runs[m], runs[s])]
        r = med[m] / med[s]
        print("ratio %s/%s = %.3f (median req/s; round by round: %s)%s"
              % (m, s, r, " ".join(pairs),
                 " target >= 0.8: " + ("met" if r >= 0.8 else "NOT met")
                 if shape == "hot" else ""))
EOF
} > "$TMP/table"

cat "$TMP/table"
cp "$TMP/table" "$OUT"
say "written to $OUT"
