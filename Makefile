# ngx_http_cxbpush_module — build, run and test on Debian.
#
#   make run    install what is missing, build, start nginx on conf/ (foreground)
#   make test   install what is missing, build, run the whole test suite
#
# The module is built out of tree against Debian's nginx (nginx-dev): nginx's
# configure runs in /usr/share/nginx/src with Debian's own flags, all output
# goes to ./build.

NGX_SRC      ?= /usr/share/nginx/src
NGINX        ?= /usr/sbin/nginx
BUILD        := $(CURDIR)/build
MODULE       := $(BUILD)/ngx_http_cxbpush_module.so
RUN_PREFIX   := $(CURDIR)/run
PORT         ?= 8080
CRM_PORT     ?= 8081

DEB_PACKAGES := nginx nginx-dev libcjson-dev libcurl4-openssl-dev libssl-dev \
                tzdata libtest-base-perl curl gcc make nodejs

CORE_SRCS    := src/cxb_buf.c src/cxb_time.c src/cxb_template.c \
                src/cxb_context.c src/cxb_push.c src/cxb_crypto.c \
                src/cxb_sign.c src/cxb_sigv4.c src/cxb_token.c \
                src/cxb_addr.c src/cxb_entry.c
CORE_HDRS    := $(wildcard src/cxb_*.h)
NGX_SRCS     := ngx_http_cxbpush_module.c $(wildcard src/ngx_http_cxbpush_*.c) \
                $(wildcard src/ngx_http_cxbpush_*.h) config

UNIT_CFLAGS  := -std=c99 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -O1 -g \
                -fsanitize=address,undefined -fno-omit-frame-pointer -Isrc
UNIT_TESTS   := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(wildcard t/unit/test_*.c))

CLI          := $(BUILD)/cxbpush
CLI_CFLAGS   := -std=c99 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -O2 -g -Isrc
CLI_SRCS     := src/cxbpush_cli.c $(CORE_SRCS)

S3RVER_DIR   := $(CURDIR)/.deps/s3rver
S3RVER_PKG   := $(S3RVER_DIR)/node_modules/@20minutes/s3rver

PROVE_ENV    := TEST_NGINX_BINARY=$(NGINX) \
                TEST_NGINX_LOAD_MODULES=$(MODULE) \
                CXBPUSH_UNIT_DIR=$(BUILD)/unit \
                CXBPUSH_CLI=$(CLI) \
                CXB_S3RVER_DIR=$(S3RVER_PKG) \
                CXB_S3_REQUIRE=1

.PHONY: all deps module unit cli test test-valgrind run clean

all: module cli

# Install only what is missing, from Debian's packages.
deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" \
	        || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

module: deps $(MODULE)

$(BUILD)/Makefile: config
	@mkdir -p $(BUILD)
	cd $(NGX_SRC) && bash -c '. ./conf_flags && ./configure \
	    "$${NGX_CONF_FLAGS[@]}" --with-compat \
	    --add-dynamic-module=$(CURDIR) --builddir=$(BUILD)' > $(BUILD)/configure.log

$(MODULE): $(BUILD)/Makefile $(CORE_SRCS) $(CORE_HDRS) $(NGX_SRCS)
	$(MAKE) -f $(BUILD)/Makefile -C $(NGX_SRC) modules

$(BUILD)/unit/test_%: t/unit/test_%.c t/unit/tap.h $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(CORE_SRCS) -lcjson -lcrypto -lm

unit: deps $(UNIT_TESTS)

cli: deps $(CLI)

$(CLI): $(CLI_SRCS) $(CORE_HDRS)
	@mkdir -p $(BUILD)
	$(CC) $(CLI_CFLAGS) -o $@ $(CLI_SRCS) -lcurl -lcjson -lcrypto -lm

# @20minutes/s3rver, an S3 implementation that checks SigV4 signatures, for
# the recordings tests (t/062-recordings-s3.t, t/s3/presign-check.sh).  npm
# comes with some nodejs builds (NodeSource's): its own Debian package is
# installed only when the command is missing.
s3rver: deps
	@command -v npm >/dev/null || { apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	@[ -d $(S3RVER_PKG) ] || npm install --prefix $(S3RVER_DIR) \
	    --no-audit --no-fund @20minutes/s3rver@4.0.4

.PHONY: s3rver

test: module unit $(if $(wildcard src/cxbpush_cli.c),cli) s3rver
	$(PROVE_ENV) prove -I t/lib t/

# The nginx suite under valgrind memcheck; fails on any invalid access,
# uninitialised value or definite leak not suppressed in valgrind.suppress.
test-valgrind: module
	@apt_missing=""; command -v valgrind >/dev/null || apt_missing=valgrind; \
	if [ -n "$$apt_missing" ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind; fi
	$(PROVE_ENV) TEST_NGINX_USE_VALGRIND=1 TEST_NGINX_SERVROOT=$(CURDIR)/t/servroot-valgrind \
	    prove -I t/lib t/0[1-9]*.t 2>&1 | tee $(BUILD)/valgrind.log
	@if grep -E "Invalid (read|write|free)|uninitialised|definitely lost" \
	    $(BUILD)/valgrind.log; then echo "valgrind: errors found"; exit 1; fi
	@echo "valgrind: no invalid access, no definite leak"

# libFuzzer targets (fuzz/, see fuzz/README.md) under ASan and UBSan: the
# regressions in fuzz/regressions/ first, then each target for FUZZ_SECONDS
# on a scratch copy of its seed corpus (build/fuzz/corpus/); fails on any
# crash, leak or timeout.  make fuzz-short: 10 s each (.ci/run).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := template document token sigv4 time addr entry
FUZZ_CC      := clang
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Isrc \
                -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined
FUZZ_SRCS    := $(wildcard src/cxb_*.c)
FUZZ_BINS    := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_PACKAGES := clang libclang-rt-14-dev libcjson-dev libssl-dev tzdata

.PHONY: fuzz fuzz-short fuzz-deps

# only what the fuzzers need, from Debian's packages
fuzz-deps:
	@missing=""; \
	for p in $(FUZZ_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" \
	        || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(FUZZ_SRCS) \
                      $(CORE_HDRS) | fuzz-deps
	@mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRCS) -lcjson -lcrypto -lm

fuzz: $(FUZZ_BINS)
	fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

run: module
	@mkdir -p $(RUN_PREFIX)/logs $(RUN_PREFIX)/conf $(RUN_PREFIX)/tmp
	@resolver=$$(awk '/^nameserver/ { print $$2; exit }' /etc/resolv.conf 2>/dev/null); \
	case "$$resolver" in *:*) resolver="[$$resolver]";; esac; \
	sed -e 's|@MODULE@|$(MODULE)|g' -e 's|@PORT@|$(PORT)|g' \
	    -e 's|@CONF@|$(CURDIR)/conf|g' \
	    -e 's|@CRM_PORT@|$(CRM_PORT)|g' -e "s|@RESOLVER@|$${resolver:-127.0.0.1}|g" \
	    conf/nginx.conf > $(RUN_PREFIX)/conf/nginx.conf
	$(NGINX) -p $(RUN_PREFIX)/ -c conf/nginx.conf -e logs/error.log -t
	@echo
	@echo "nginx with ngx_http_cxbpush_module: http://127.0.0.1:$(PORT)/ (demo CRM on $(CRM_PORT))"
	@echo "push the sample call:  curl -i --data-binary @conf/examples/call.json http://127.0.0.1:$(PORT)/internal/calls/results"
	@echo "then look at:          run/logs/crm.log  run/logs/cxbpush.log  run/spool/"
	@echo "delivery counters:     curl http://127.0.0.1:$(PORT)/internal/cxbpush/status"
	@echo "the call's recording:  curl -o c-7f3a.wav http://127.0.0.1:$(PORT)/api/v1/public/recordings/tok_c7f3a"
	@echo
	exec $(NGINX) -p $(RUN_PREFIX)/ -c conf/nginx.conf -e logs/error.log \
	    -g 'daemon off;'

clean:
	rm -rf $(BUILD) $(RUN_PREFIX) t/servroot*
