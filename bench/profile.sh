#!/usr/bin/env bash
# Where the ingestion time goes: each setup of bench/run.sh runs as a single
# nginx process (master_process off) under valgrind's callgrind, takes
# REQUESTS POSTs of the benchmark document (one curl, one keep-alive
# connection), and the instructions of nginx's event loop (start-up and exit
# excluded; the few start-up probes are noise) are summarised per request.
#
#   bench/profile.sh                      module and plain, 200 requests each
#   VARIANTS=module REQUESTS=500 bench/profile.sh
#
# Prints, per setup, instructions per request and the top functions
# (inclusive and self); with KEEP=1 the temp dir with the raw callgrind
# files stays, for callgrind_annotate or kcachegrind.  Instruction counts are not time (cache misses and the kernel
# are not in them): bench/run.sh's "cpu us/req" column is the time side.
#
# Environment: REQUESTS=200, VARIANTS="module plain" (or module-log),
# PORT=24190, SINKPORT=24191, TURNS=200, NGINX, MODULE, TOP=25, KEEP=0.

set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")

NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${MODULE:-$ROOT/build/ngx_http_cxbpush_module.so}
REQUESTS=${REQUESTS:-200}
VARIANTS=${VARIANTS:-module plain}
PORT=${PORT:-24190}
SINKPORT=${SINKPORT:-24191}
TURNS=${TURNS:-200}
TOP=${TOP:-25}
KEEP=${KEEP:-0}

die() { echo "profile: FAIL: $*" >&2; exit 1; }
say() { echo "profile: $*" >&2; }

for t in valgrind callgrind_annotate curl python3; do
    command -v "$t" >/dev/null || die "$t is required (apt-get install valgrind curl)"
done
[ -f "$MODULE" ] || die "no $MODULE (make module)"

TMP=$(mktemp -d /tmp/cxbpush-profile.XXXXXX)
VGPID=""

cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    if [ -n "$VGPID" ] && kill -0 "$VGPID" 2>/dev/null; then
        kill -TERM "$VGPID" 2>/dev/null || true
        for i in $(seq 1 50); do kill -0 "$VGPID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$VGPID" 2>/dev/null || true
    fi
    if [ "$KEEP" = 1 ] || [ "$rc" != 0 ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cp "$MODULE" "$TMP/module.so"
python3 "$HERE/gen-doc.py" "$SINKPORT" "$TURNS" > "$TMP/doc.json"

# one curl, REQUESTS POSTs on one keep-alive connection
: > "$TMP/curl.cfg"
for i in $(seq 1 "$REQUESTS"); do
    printf 'url = "http://127.0.0.1:%s/ingest"\noutput = "/dev/null"\n' "$PORT" >> "$TMP/curl.cfg"
done

for variant in $VARIANTS; do
    prefix=$TMP/$variant
    mkdir -p "$prefix/tmp"
    log=off
    case $variant in
        module)     keep=M drop=P ;;
        module-log) keep=M drop=P log=$prefix/cxbpush.log ;;
        plain)      keep=P drop=M ;;
        *)          die "unknown variant $variant (module, module-log or plain)" ;;
    esac
    sed -e "s|^#$keep ||" -e "/^#$drop /d" -e "/^#$drop\$/d" \
        -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$PORT|g" \
        -e "s|@SINKPORT@|$SINKPORT|g" -e "s|@MODULE@|$TMP/module.so|g" \
        -e "s|@CXBLOG@|$log|g" -e "s|@WORKERS@|1|g" -e "s|@LOGLEVEL@|warn|g" \
        -e 's|^master_process .*|master_process off;|' \
        -e 's|^daemon .*|daemon off;|' \
        "$HERE/nginx.conf.in" > "$prefix/nginx.conf"

    valgrind --tool=callgrind --callgrind-out-file="$prefix/callgrind.out" \
        --toggle-collect=ngx_process_events_and_timers \
        "$NGINX" -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log" \
        > "$prefix/valgrind.log" 2>&1 &
    VGPID=$!

    for i in $(seq 1 150); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$SINKPORT/_ready" && break
        kill -0 "$VGPID" 2>/dev/null || die "$variant: nginx died: $(tail -5 "$prefix/valgrind.log")"
        [ "$i" = 150 ] && die "$variant: nginx under valgrind does not answer"
        sleep 0.2
    done

    codes=$(timeout 300 curl -s -w '%{http_code}\n' -K "$TMP/curl.cfg" \
            -H 'Content-Type: application/json' --data-binary "@$TMP/doc.json") \
        || die "$variant: curl failed"
    n202=$(echo "$codes" | grep -c '^202$' || true)
    [ "$n202" = "$REQUESTS" ] || die "$variant: $n202 of $REQUESTS answers were 202"

    # the last pushes reach the sink, then quit (callgrind writes its file)
    sleep 2
    kill -QUIT "$VGPID"
    for i in $(seq 1 200); do kill -0 "$VGPID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$VGPID" 2>/dev/null && die "$variant: nginx under valgrind did not quit"
    wait "$VGPID" 2>/dev/null || true
    VGPID=""

    sink=$(grep -c '^POST /crm 200 ' "$prefix/sink.log" || true)
    [ "$sink" -ge "$REQUESTS" ] || die "$variant: the sink got $sink pushes for $REQUESTS requests"

    dump=$prefix/callgrind.out
    [ -s "$dump" ] || die "$variant: no callgrind output"
    total=$(callgrind_annotate "$dump" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)

    echo "=== $variant: $REQUESTS requests, $((total / REQUESTS)) instructions per request (sink got $sink)"
    echo "--- inclusive, per request"
    callgrind_annotate --inclusive=yes "$dump" 2>/dev/null \
        | sed -n '/file:function/,$p' | sed 1,2d | grep -v '^ *$' \
        | grep -vE '\?\?\?:0x|below main|:main |libc_start|_start ' \
        | head -n "$TOP" \
        | awk -v n="$REQUESTS" '{ c = $1; gsub(",", "", c); $1 = ""; printf "%10d %s\n", c / n, $0 }'
    if [ "$variant" != plain ]; then
        echo "--- the module, cJSON and malloc, inclusive, per request"
        callgrind_annotate --inclusive=yes "$dump" 2>/dev/null \
            | sed -n '/file:function/,$p' | grep -E 'module\.so|libcjson|malloc\.c:(malloc|free) |strtod\.c' \
            | grep -v '???:0x' | head -n "$TOP" \
            | awk -v n="$REQUESTS" '{ c = $1; gsub(",", "", c); $1 = ""; printf "%10d %s\n", c / n, $0 }'
    fi
    echo "--- self, per request"
    callgrind_annotate "$dump" 2>/dev/null \
        | sed -n '/file:function/,$p' | sed 1,2d | grep -v '^ *$' \
        | head -n "$TOP" \
        | awk -v n="$REQUESTS" '{ c = $1; gsub(",", "", c); $1 = ""; printf "%10d %s\n", c / n, $0 }'
done
