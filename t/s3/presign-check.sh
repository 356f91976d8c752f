#!/usr/bin/env bash
#
# Live check of cxb_s3_presign() against a store that verifies SigV4:
# @20minutes/s3rver 4.0.4 (npm), started by t/s3/s3rver.js on a loopback
# port with a random secret.  Prints TAP.
#
#   npm install --prefix .deps/s3rver @20minutes/s3rver@4.0.4   # once
#   t/s3/presign-check.sh
#
# s3rver answers unsigned GETs with 200 (anonymous access), so a 200 alone
# proves nothing: every object is also fetched with one signature digit
# changed, with the GET signature used for HEAD, after expiry, under another
# secret and as another key's URL, all expecting 403.
#
# Environment:
#   CC               compiler for t/s3/presign.c (default cc)
#   CXB_SIGV4_C      sigv4 source to build it from (default src/cxb_sigv4.c);
#                    point it at a deliberately broken copy to see this fail
#   CXB_S3RVER_DIR   the s3rver package (default .deps/s3rver/...)
#   CXB_S3_REQUIRE   if set, a missing dependency fails instead of skipping
#
# Objects are fetched with curl --path-as-is: without it curl removes "./"
# and "../" segments itself and the request no longer matches the signed
# path (403).  Virtual-host style is not checked live: s3rver 4.0.4 puts the
# bucket into the canonical URI of virtual-host V4 requests (a SigV2 habit),
# so every correct signature fails there; the unit tests check it against
# AWS's published example instead.

set -u

cd "$(dirname "$0")/../.." || exit 1

s3rver_dir=${CXB_S3RVER_DIR:-$PWD/.deps/s3rver/node_modules/@20minutes/s3rver}
sigv4_c=${CXB_SIGV4_C:-src/cxb_sigv4.c}
bucket=recordings
region=us-east-1


skip() {
    echo "1..0 # SKIP $*"

    if [ -n "${CXB_S3_REQUIRE:-}" ]; then
        exit 1
    fi

    exit 0
}


for tool in node curl openssl "${CC:-cc}"; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not found"
done

[ -f "$s3rver_dir/lib/s3rver.js" ] \
    || skip "s3rver not installed (npm install --prefix .deps/s3rver" \
            "@20minutes/s3rver@4.0.4)"


tmp=$(mktemp -d "${TMPDIR:-/tmp}/cxb-s3.XXXXXX") || exit 1
pid=


cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi

    rm -rf "$tmp"
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP


"${CC:-cc}" -std=c99 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -O1 -g -Isrc \
    -o "$tmp/presign" t/s3/presign.c "$sigv4_c" src/cxb_crypto.c src/cxb_buf.c -lcrypto \
    || { echo "Bail out! cannot build t/s3/presign.c"; exit 1; }


# a fresh secret with '/' and '+' in it, like AWS's; never printed

export CXB_S3_ACCESS_KEY=cxbpush-test
CXB_S3_SECRET_KEY=$(openssl rand -base64 30) || exit 1
export CXB_S3_SECRET_KEY
export CXB_S3RVER_DIR=$s3rver_dir

node t/s3/s3rver.js "$tmp/data" "$bucket" >"$tmp/s3rver.out" \
    2>"$tmp/s3rver.err" &
pid=$!

port=
for _ in $(seq 1 100); do
    port=$(sed -n 's/^ready \([0-9][0-9]*\)$/\1/p' "$tmp/s3rver.out")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done

if [ -z "$port" ]; then
    echo "Bail out! s3rver did not start"
    sed 's/^/# /' "$tmp/s3rver.err"
    exit 1
fi

endpoint=http://127.0.0.1:$port


n=0
failed=0


ok() {
    n=$((n + 1))

    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failed=$((failed + 1))
    fi
}


# is GOT EXPECTED NAME [URL]

is() {
    if [ "$1" = "$2" ]; then
        ok 0 "$3"
        return
    fi

    ok 1 "$3"
    echo "#   got '$1', expected '$2'"

    if [ -n "${4:-}" ]; then
        echo "#   url: $4"
    fi

    if [ -s "$tmp/body" ]; then
        head -c 600 "$tmp/body" | sed 's/^/#   /'
        echo
    fi
}


# sign [presign options] KEY

sign() {
    local key=${*: -1}

    "$tmp/presign" "${@:1:$#-1}" "$endpoint" "$bucket" "$region" \
        "$CXB_S3_ACCESS_KEY" "$key"
}


# fetch [curl options] URL: prints the status, body in $tmp/body

fetch() {
    : >"$tmp/body"
    curl -sS -g --path-as-is --max-time 10 -o "$tmp/body" -w '%{http_code}' \
        "$@" 2>>"$tmp/curl.err"
}


# the key as S3 encodes it, by node's encodeURIComponent: a second opinion

encode() {
    node -e '
        const k = process.argv[1];
        process.stdout.write(encodeURIComponent(k)
            .replace(/[!\x27()*]/g,
                     (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())
            .replace(/%2F/g, "/"));' "$1"
}


# change one hex digit of the signature, at position $2 (0..63)

tamper() {
    local url=$1 pos=$2 head digit

    head=${url%X-Amz-Signature=*}X-Amz-Signature=
    digit=${url:${#head}+pos:1}

    if [ "$digit" = 0 ]; then digit=1; else digit=0; fi

    echo "${url:0:${#head}+pos}$digit${url:${#head}+pos+1}"
}


keys=(
    "calls/with space.wav"
    "calls/a+b.wav"
    "calls/$(printf '\303\251') $(printf '\346\227\245\346\234\254').wav"
    "calls/~()!*'.wav"
    "a//b"
    "./x"
    "calls/sub/../dots.wav"
    "calls/:,;=@\$&[]{}%41.wav"
)

i=0

for key in "${keys[@]}"; do
    i=$((i + 1))
    obj=$tmp/obj$i
    printf 'cxbpush object %d: %s\n' "$i" "$key" >"$obj"
    size=$(wc -c <"$obj")

    url=$(sign -m PUT "$key")
    is "$(fetch -T "$obj" "$url")" 200 "PUT (presigned) '$key'" "$url"

    url=$(sign "$key")
    path=${url#"$endpoint"}
    is "${path%%\?*}" "/$bucket/$(encode "$key")" \
       "URL path of '$key' is the key encoded once, nothing normalised"

    is "$(fetch "$url")" 200 "GET '$key'" "$url"
    cmp -s "$obj" "$tmp/body"
    ok $? "GET '$key': the object's bytes"

    is "$(fetch -H 'Range: bytes=0-3' "$url")" 206 "Range GET '$key'" "$url"
    is "$(cat "$tmp/body")" "cxbp" "Range GET '$key': bytes 0-3"

    is "$(fetch -I "$(sign -m HEAD "$key")")" 200 "HEAD (presigned) '$key'"
    grep -qi "^content-length: $size"$'\r'"\?$" "$tmp/body"
    ok $? "HEAD '$key': Content-Length $size"

    bad=$(tamper "$url" $(( (i * 7) % 64 )))
    is "$(fetch "$bad")" 403 "GET '$key' with one signature digit changed" \
        "$bad"

    is "$(fetch -I "$url")" 403 "HEAD '$key' with the GET signature"

    resolved=$(sign -R "$url")
    is "$(fetch "$resolved")" 200 "GET '$key' re-signed from its own URL" \
        "$resolved"
    cmp -s "$obj" "$tmp/body"
    ok $? "re-signed from its own URL: the object's bytes"
done


# signatures that must not verify

key=calls/a+b.wav

url=$(CXB_S3_SECRET_KEY="$CXB_S3_SECRET_KEY"x sign "$key")
is "$(fetch "$url")" 403 "signed with another secret"

url=$("$tmp/presign" "$endpoint" "$bucket" "$region" other-key "$key")
is "$(fetch "$url")" 403 "signed with an unknown access key"

url=$(sign "calls/with space.wav")
is "$(fetch "${url/with%20space/a%2Bb}")" 403 "another key's signature"

url=$(sign "$key")
is "$(fetch "${url/a%2Bb/a+b}")" 403 "'+' sent raw where %2B was signed"

url=$(sign "a//b")
is "$(fetch "${url/a\/\/b/a\/b}")" 403 "a//b signature on a/b"

url=$(sign -x 5 "$key")
is "$(fetch "$url")" 200 "expires=5: valid at once" "$url"

url=$(sign -x 1 "$key")
sleep 2
is "$(fetch "$url")" 403 "expires=1, 2 s later: expired"

url=$(sign -R "s3://$bucket/calls/a%2Bb.wav")
is "$(fetch "$url")" 200 "s3:// reference resolved and signed" "$url"

url=$(sign -R "$endpoint/$bucket/calls/a+b.wav")
is "$(fetch "$url")" 200 "http reference with a raw '+'" "$url"

is "$(fetch "$endpoint/$bucket/calls/a%2Bb.wav")" 200 \
   "(s3rver serves unsigned GETs: why the 403 checks matter)"

kill -0 "$pid" 2>/dev/null
ok $? "s3rver still running"

echo "1..$n"

[ "$failed" -eq 0 ]
