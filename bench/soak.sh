#!/usr/bin/env bash
# Soak test of the delivery guarantees: bench/soak.pl (see there).
#   bench/soak.sh [CALLS] [CLIENTS]      (default 10000 calls, 8 clients)
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory module >/dev/null
export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
export TEST_NGINX_LOAD_MODULES=${TEST_NGINX_LOAD_MODULES:-$PWD/build/ngx_http_cxbpush_module.so}
exec perl bench/soak.pl "$@"
