# Shared by bench/run.sh and bench/recordings.sh (sourced after they set
# NGINX, MODULE, ROOT and MAX_SECONDS): messages, the tools they need,
# stopping an nginx by pid, the whole-run watchdog, worker CPU time.

die() { echo "bench: FAIL: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

bench_tools() {    # wrk (from Debian when missing), curl, python3, nginx, the .so
    if ! command -v wrk >/dev/null 2>&1; then
        say "installing wrk (Debian package)"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq wrk; } >/dev/null || die "could not install wrk"
    fi
    command -v curl >/dev/null || die "curl is required"
    command -v python3 >/dev/null || die "python3 is required"
    [ -x "$NGINX" ] || die "no nginx binary at $NGINX"

    if [ ! -f "$MODULE" ]; then
        say "no $MODULE: running make module"
        make -C "$ROOT" module >/dev/null || die "make module failed"
    fi
}

stop_pid() {       # $1 = an nginx master's pid: graceful, then forced
    local pid=$1 i kids
    [ -n "$pid" ] || return 0
    kill -QUIT "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kids=$(pgrep -P "$pid" 2>/dev/null || true)
    kill -KILL "$pid" $kids 2>/dev/null || true
    say "nginx $pid did not quit in 10 s: killed"
}

WATCHDOG=""

start_watchdog() { # TERMs this shell after MAX_SECONDS; its trap cleans up
    ( sleep "$MAX_SECONDS"; echo "bench: FAIL: timed out after $MAX_SECONDS s" >&2;
      kill -TERM $$ 2>/dev/null ) &
    WATCHDOG=$!
}

stop_watchdog() {  # the watchdog subshell, then its sleep
    local sleeper
    [ -n "$WATCHDOG" ] || return 0
    sleeper=$(pgrep -P "$WATCHDOG" 2>/dev/null || true)
    kill "$WATCHDOG" 2>/dev/null || true
    [ -n "$sleeper" ] && kill $sleeper 2>/dev/null || true
    wait "$WATCHDOG" 2>/dev/null || true
    WATCHDOG=""
}

worker_ticks() {   # $1 = master pid; "utime stime" of its workers, in ticks
    local kids k u=0 st=0 f
    kids=$(pgrep -P "$1" || true)
    for k in $kids; do
        f=$(sed 's/.*) //' "/proc/$k/stat" 2>/dev/null) || continue
        set -- $f
        u=$((u + ${12})); st=$((st + ${13}))
    done
    echo "$u $st"
}
