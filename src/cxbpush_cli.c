/*
 * cxbpush: the command-line tool (SPEC section 10).
 *
 *   cxbpush render DOC     what the module's ?dry_run=1 answers for DOC
 *   cxbpush send DOC       send DOC's pushes now, with libcurl (Test button)
 *   cxbpush retry LOG      re-send failed attempts from an integration log
 *
 * The same core as the module builds the pushes (cxb_call_build), the dry
 * run answer (cxb_call_answer) and the result records (cxb_record); only
 * the transport differs: one libcurl handle instead of subrequests.  Retry
 * works from the log alone: its records are built here, in the shape of
 * cxb_record's, from the logged request.
 */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "cxb_addr.h"
#include "cxb_buf.h"
#include "cxb_context.h"
#include "cxb_push.h"
#include "cxb_sign.h"
#include "cxb_template.h"
#include "cxb_time.h"


#define CXB_CLI_VERSION       "1.0"
#define CXB_CLI_USER_AGENT    "cxbpush/" CXB_CLI_VERSION

#define CXB_EXIT_OK           0
#define CXB_EXIT_ERROR        1     /* internal: memory, libcurl, log I/O */
#define CXB_EXIT_USAGE        2
#define CXB_EXIT_INPUT        3     /* bad file, bad JSON, bad document */
#define CXB_EXIT_SEND         4     /* nothing sent, or failed/rejected */

#define CXB_CLI_TIMEOUT       15.0
#define CXB_CLI_RESPONSE_MAX  1024
#define CXB_CLI_MAX_EXTRA     64    /* --header options */

#define CXB_REDACTED          "[redacted]"


typedef struct {
    const char         *name;
    const char         *value;
    int                 send;       /* 0: redacted in the log, not given */
} cxb_cli_header_t;


typedef struct {
    const char         *method;
    const char         *url;
    cxb_cli_header_t   *headers;
    size_t              nheaders;
    const char         *body;       /* NULL: none */
    size_t              body_len;
} cxb_cli_request_t;


/* options shared by send and retry */

#define CXB_CLI_ALLOW_MAX     32


typedef struct {
    const char         *to;
    double              timeout;
    size_t              response_max;
    int                 allow_private;
    cxb_cidr_t          allow[CXB_CLI_ALLOW_MAX];
    size_t              nallow;
} cxb_cli_net_t;


/* one libcurl handle for every push of a run, the outputs and a tally */

typedef struct {
    CURL               *curl;
    long                timeout_ms;
    size_t              response_max;
    const cxb_cli_net_t *net;       /* the SSRF guard's settings */
    cxb_buf_t           response;
    char                error[CURL_ERROR_SIZE];
    char                refused[512];

    const char         *log_path;
    int                 log_fd;     /* -1: none */
    int                 log_failed;

    unsigned            n_ok;
    unsigned            n_rejected;
    unsigned            n_failed;
    unsigned            n_skipped;
} cxb_cli_sender_t;


/* retry: the latest record of each push id in the log */

typedef struct {
    const char         *id;         /* in rec */
    cJSON              *rec;
    size_t              line;
} cxb_cli_entry_t;


typedef struct {
    cxb_cli_entry_t    *entries;
    size_t              n;
    size_t              nalloc;
    size_t             *slots;      /* entry index + 1; 0: free */
    size_t              nslots;
} cxb_cli_index_t;


/* retry: --header 'Name: value' */

typedef struct {
    char               *name;
    const char         *value;
    int                 used;       /* matched a logged header */
} cxb_cli_extra_t;


static int cxb_cli_render(int argc, char **argv);
static int cxb_cli_send(int argc, char **argv);
static int cxb_cli_retry(int argc, char **argv);

static int cxb_cli_is(const char *arg, const char *name);
static int cxb_cli_guard(cxb_cli_sender_t *s, const char *url,
    struct curl_slist **pin);
static int cxb_cli_signing_secret(const char *v, cxb_sign_key_t *key);
static int cxb_cli_resign(cxb_cli_request_t *rq, const char *id,
    const cxb_sign_key_t *keys, size_t nkeys, char *ts, size_t tslen,
    cxb_buf_t *sig);
static int cxb_cli_value(const char *cmd, int argc, char **argv, int *i,
    const char **val);
static int cxb_cli_flag(const char *cmd, const char *arg, const char *name);
static int cxb_cli_net_option(const char *cmd, int argc, char **argv, int *i,
    cxb_cli_net_t *net, int *rc);
static int cxb_cli_parse_timeout(const char *s, double *t);
static int cxb_cli_parse_size(const char *s, size_t *n);
static int cxb_cli_parse_since(const char *s, int64_t now_ms, int64_t *ms);
static void cxb_cli_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int cxb_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int cxb_cli_read_file(const char *path, cxb_buf_t *out);
static int cxb_cli_load(cxb_call_t *call, cJSON **doc, const char *name,
    const char *text, size_t len, const char *base);
static uint64_t cxb_cli_nonce(void);
static int64_t cxb_cli_now_ms(void);
static int64_t cxb_cli_mono_ms(void);

static int cxb_cli_url_ok(const char *url);
static int cxb_cli_header_ok(const char *name, const char *value,
    const char **why);
static int cxb_cli_is_managed(const char *name);
static char *cxb_cli_retarget(const char *to, const char *url,
    int keep_query);

static int cxb_cli_sender_init(cxb_cli_sender_t *s, const cxb_cli_net_t *net,
    const char *log_path);
static void cxb_cli_sender_free(cxb_cli_sender_t *s);
static int cxb_cli_perform(cxb_cli_sender_t *s, const cxb_cli_request_t *rq,
    cxb_result_t *res);
static size_t cxb_cli_write(char *data, size_t size, size_t n, void *ud);
static int cxb_cli_emit(cxb_cli_sender_t *s, cxb_buf_t *line,
    const char *status);
static void cxb_cli_summary(const cxb_cli_sender_t *s, const char *verb);

static int cxb_cli_read_log(const char *path, cxb_cli_index_t *ix,
    size_t *nbad);
static int cxb_cli_index_add(cxb_cli_index_t *ix, cJSON *rec, size_t line);
static void cxb_cli_index_free(cxb_cli_index_t *ix);
static const char *cxb_cli_check_record(const cJSON *rec);
static int cxb_cli_never_sent(const cJSON *rec);
static int cxb_cli_retry_request(cxb_cli_request_t *rq, const cJSON *rec,
    cxb_cli_extra_t *extra, size_t nextra, cxb_buf_t *missing);
static cJSON *cxb_cli_request_json(const cxb_cli_request_t *rq);
static int cxb_cli_retry_record(cxb_buf_t *out, const cJSON *prev,
    const cxb_cli_request_t *rq, const cxb_result_t *res);
static int cxb_cli_dry_record(cxb_buf_t *out, const cJSON *prev,
    const cxb_cli_request_t *rq, int attempt);
static int cxb_cli_add_str(cJSON *o, const char *name, const cJSON *from);


static const char  cxb_cli_usage[] =
    "usage: cxbpush COMMAND [OPTIONS]\n"
    "\n"
    "Render, send and retry the CRM pushes of voice-AI call results, with\n"
    "the same core as ngx_http_cxbpush_module.\n"
    "\n"
    "commands:\n"
    "  render DOC.json    print the pushes DOC yields, exactly as the\n"
    "                     module's ?dry_run=1 answers (no network)\n"
    "  send DOC.json      send DOC's pushes now (or --sample's), print one\n"
    "                     result record per push (the Test button)\n"
    "  retry LOG          re-send the failed and rejected attempts of an\n"
    "                     integration log, appending their new records\n"
    "  help [COMMAND]     this help, or a command's\n"
    "\n"
    "Run \"cxbpush COMMAND --help\" for a command's options.\n"
    "\n"
    "exit status:\n"
    "  0  success\n"
    "  1  internal error: out of memory, libcurl, cannot write the log\n"
    "  2  usage error: unknown command or option, bad option value\n"
    "  3  bad input: unreadable file, invalid JSON, or a document the\n"
    "     module would answer 400 to (the same message)\n"
    "  4  send/retry: nothing could be sent, or a push failed or was\n"
    "     rejected\n";


static const char  cxb_cli_render_usage[] =
    "usage: cxbpush render DOC.json [--public-base-url URL]\n"
    "\n"
    "Prints what the module's ?dry_run=1 answers for the result document\n"
    "DOC.json (\"-\": standard input): the call id, the whole variable\n"
    "context and every push rendered (method, url, headers with secrets\n"
    "redacted, body) or skipped with its reason.  Nothing is sent.\n"
    "\n"
    "options:\n"
    "  --public-base-url URL  base of the stable recording URL\n"
    "                         (cxbpush_public_base_url; default: none)\n"
    "  -h, --help             this help\n"
    "\n"
    "exit status: 0 rendered, 1 internal error, 2 usage error, 3 bad file,\n"
    "bad JSON or bad document.\n";


static const char  cxb_cli_send_usage[] =
    "usage: cxbpush send DOC.json [OPTIONS]\n"
    "       cxbpush send --sample [OPTIONS]\n"
    "\n"
    "Builds the pushes of the result document DOC.json (\"-\": standard\n"
    "input) as the module does and sends the ready ones now, each with its\n"
    "own method, URL, headers and body plus \"User-Agent: " CXB_CLI_USER_AGENT
    "\".\n"
    "Prints one result record per push on standard output, one JSON line\n"
    "each, in the module's log format; skipped and unbuildable pushes get\n"
    "their record too.  --sample sends a built-in sample call whose only\n"
    "push goes to http://127.0.0.1:9/crm: use it with --to.\n"
    "\n"
    "options:\n"
    "  --integration NAME     only the push(es) of that integration\n"
    "                         (post_call_push, external_webhook or an\n"
    "                         integration's name)\n"
    "  --to URL               send every push to URL instead (the Test\n"
    "                         button); a push without a body (GET, DELETE)\n"
    "                         keeps its query string, its payload\n"
    "  --timeout SECONDS      per push, connection included (default 15)\n"
    "  --response-max BYTES   response body kept per record (default 1024;\n"
    "                         k and m suffixes)\n"
    "  --allow-addr CIDR      let pushes reach this non-public range\n"
    "                         (repeatable; see the SSRF guard)\n"
    "  --allow-private        let pushes reach any address\n"
    "  --log FILE             also append the records to FILE\n"
    "  --public-base-url URL  base of the stable recording URL\n"
    "  --sample               the built-in sample call instead of DOC.json\n"
    "  -h, --help             this help\n"
    "\n"
    "exit status: 0 every push sent was answered 2xx, 1 internal error or\n"
    "the log could not be written, 2 usage error, 3 bad file, bad JSON or\n"
    "bad document, 4 nothing was sent (no push, all skipped, no such\n"
    "integration) or a push failed or was rejected.\n";


static const char  cxb_cli_retry_usage[] =
    "usage: cxbpush retry LOG [OPTIONS]\n"
    "\n"
    "Reads the integration log LOG (one JSON record per line), takes the\n"
    "latest record of each push id, keeps those whose status is failed or\n"
    "rejected and that match the filters, re-sends each from its logged\n"
    "request and appends the new record to LOG (same id, attempt + 1); the\n"
    "records are also printed on standard output.  Malformed lines are\n"
    "reported and skipped.  Secret headers (Authorization,\n"
    "Proxy-Authorization, Cookie, X-Api-Key) are redacted in the log: they\n"
    "are sent only when --header gives them.\n"
    "\n"
    "options:\n"
    "  --id ID                only this push id (repeatable)\n"
    "  --call CALL_ID         only the pushes of this call (repeatable)\n"
    "  --status LIST          statuses to retry, comma-separated, among\n"
    "                         failed, rejected, ok, skipped (default\n"
    "                         failed,rejected)\n"
    "  --since TIME           only attempts at or after TIME: ISO 8601\n"
    "                         (2026-11-23T10:00:00Z, 2026-11-23), epoch\n"
    "                         seconds, or an age: 90s, 30m, 2h, 7d\n"
    "  --header 'Name: value' the value of a logged header, e.g. of a\n"
    "                         redacted Authorization (repeatable); it is\n"
    "                         sent only to the pushes that have the header\n"
    "  --signing-secret whsec_...|file=PATH\n"
    "                         re-sign pushes that were signed (new\n"
    "                         webhook-timestamp and webhook-signature,\n"
    "                         same webhook-id); twice to rotate\n"
    "  --to URL               send to URL instead of the logged URL\n"
    "  --timeout SECONDS      per push, connection included (default 15)\n"
    "  --response-max BYTES   response body kept per record (default 1024)\n"
    "  --allow-addr CIDR      let pushes reach this non-public range\n"
    "                         (repeatable; see the SSRF guard)\n"
    "  --allow-private        let pushes reach any address\n"
    "  --dry-run              print what would be re-sent (one JSON line\n"
    "                         per push); send nothing, write nothing\n"
    "  -h, --help             this help\n"
    "\n"
    "exit status: 0 every re-sent push was answered 2xx (or nothing needed\n"
    "a retry), 1 internal error or LOG could not be appended to, 2 usage\n"
    "error, 3 LOG unreadable, 4 a re-sent push failed or was rejected, or\n"
    "an --id could not be retried.\n";


/* A realistic result document (SPEC section 3) for "send --sample". */

static const char  cxb_cli_sample[] =
    "{\n"
    "  \"call\": {\n"
    "    \"call_id\": \"sample-7f3a\", \"status\": \"picked\",\n"
    "    \"direction\": \"outbound\", \"transport\": \"sip\",\n"
    "    \"phone_number\": \"+919876543210\", \"agent_name\": \"agent_1\",\n"
    "    \"start_time\": \"2026-11-23T10:00:00Z\",\n"
    "    \"answer_time\": \"2026-11-23T10:00:04Z\",\n"
    "    \"end_time\": \"2026-11-23T10:02:05Z\",\n"
    "    \"disconnected_by\": \"customer\",\n"
    "    \"connected_event\": {\"CUSTOMERID\": \"C-1001\","
    " \"campaign\": \"renewals\"},\n"
    "    \"sip_headers\": {\"X-Customer-Id\": \"C-1001\","
    " \"X-Campaign\": \"renewals\", \"Via\": \"SIP/2.0/UDP 10.0.0.1\"},\n"
    "    \"crm_data\": {\"CUSTOMERNAME\": \"Asha Rao\","
    " \"policy\": {\"id\": \"P-9\"}},\n"
    "    \"analysis\": {\"DISPOSITION\": \"Interested\","
    " \"SUB_DISPOSITION\": \"Callback\","
    " \"CALLBACK_TIME\": \"2026-11-24T11:00:00+05:30\"},\n"
    "    \"qc\": {\"empathy_score\": 8, \"compliance_score\": 9,"
    " \"overall_score\": 8.5, \"remarks\": \"good\"},\n"
    "    \"transcript\": [\n"
    "      {\"role\": \"bot\", \"text\": \"Hello, this is Maya from Acme"
    " Insurance. Am I speaking with Asha?\", \"t\": 0.4},\n"
    "      {\"role\": \"customer\", \"text\": \"Yes. Can you call me back"
    " tomorrow morning?\", \"t\": 4.9},\n"
    "      {\"role\": \"bot\", \"text\": \"Of course, tomorrow at 11."
    " Thank you!\", \"t\": 8.2}\n"
    "    ],\n"
    "    \"summary\": \"Customer asked for a callback tomorrow at 11.\",\n"
    "    \"data_capture\": {\"customer_name\": \"Asha Rao\"},\n"
    "    \"structured_output\": {\"intent\": \"callback\","
    " \"appointment\": {\"date\": \"2026-11-24\"}},\n"
    "    \"trigger_data\": {\"crm_id\": \"lead_42\","
    " \"person_name\": \"Asha Rao\"},\n"
    "    \"recording_key\": \"calls/2026/11/sample-7f3a.wav\",\n"
    "    \"recording_access_token\": \"tok_sample7f3a\",\n"
    "    \"transfer\": null,\n"
    "    \"end_call_reason\": \"customer_hangup\","
    " \"custom_end_call_reason\": null,\n"
    "    \"collected_variables\": {\"email\": {\"value\": \"a@x.in\","
    " \"collected\": true}},\n"
    "    \"external_webhook_url\": null,\n"
    "    \"skip_post_push\": false\n"
    "  },\n"
    "  \"bot\": {\n"
    "    \"bot_id\": \"b-sample\", \"timezone\": \"Asia/Kolkata\",\n"
    "    \"analysis_keys\": [\"DISPOSITION\", \"SUB_DISPOSITION\","
    " \"CALLBACK_TIME\"],\n"
    "    \"sip_header_variables\": [\"X-Customer-Id\", \"X-Campaign\"],\n"
    "    \"auto_disposition\": {\"RNR\": {\"DISPOSITION\": \"RNR\","
    " \"SUB_DISPOSITION\": \"Ring no response\"}},\n"
    "    \"post_call_push\": {\n"
    "      \"url\": \"http://127.0.0.1:9/crm\", \"method\": \"POST\",\n"
    "      \"token\": \"Bearer sample-token\", \"headers\": null,\n"
    "      \"key_mapper\": {\n"
    "        \"customer_id\": \"{{CUSTOMERID}}\",\n"
    "        \"customer_name\": \"{{CUSTOMERNAME}}\",\n"
    "        \"campaign\": \"{{call.X-Campaign}}\",\n"
    "        \"disposition\": \"{{analysis.DISPOSITION}}\",\n"
    "        \"sub_disposition\": \"{{analysis.SUB_DISPOSITION}}\",\n"
    "        \"callback_time\": \"{{analysis.CALLBACK_TIME}}\",\n"
    "        \"duration\": \"{{result.call_duration_seconds}}\",\n"
    "        \"started_at\": \"{{result.call_start_time}}\",\n"
    "        \"recording_url\": \"{{result.recording_url}}\",\n"
    "        \"summary\": \"{{call_summary}}\",\n"
    "        \"qc_score\": \"{{qc.overall_score}}\",\n"
    "        \"policy\": \"{{crm.policy}}\"\n"
    "      }\n"
    "    },\n"
    "    \"integrations\": []\n"
    "  }\n"
    "}\n";


/* headers the core never puts in a push: libcurl manages them */

static const char  *cxb_cli_managed[] = {
    "Host", "Content-Length", "Transfer-Encoding", "Connection",
    "Keep-Alive", "TE", "Upgrade", "Expect", "Proxy-Connection", NULL
};


/*
 * Reasons with which the core fails a push it could not build
 * (cxb_push_url, cxb_push_header): such a push was never sent and its
 * logged request may be incomplete, so retry does not re-send it.
 */

static const char  *cxb_cli_unbuildable[] = {
    "invalid url", "invalid header", "too many headers", NULL
};


int
main(int argc, char **argv)
{
    int          rc;
    const char  *cmd;

    if (argc < 2) {
        fputs(cxb_cli_usage, stderr);
        return CXB_EXIT_USAGE;
    }

    cmd = argv[1];

    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0
        || strcmp(cmd, "help") == 0)
    {
        if (argc > 2 && strcmp(cmd, "help") == 0) {
            if (strcmp(argv[2], "render") == 0) {
                fputs(cxb_cli_render_usage, stdout);

            } else if (strcmp(argv[2], "send") == 0) {
                fputs(cxb_cli_send_usage, stdout);

            } else if (strcmp(argv[2], "retry") == 0) {
                fputs(cxb_cli_retry_usage, stdout);

            } else {
                cxb_cli_error("unknown command \"%s\" (render, send, retry)",
                              argv[2]);
                return CXB_EXIT_USAGE;
            }

            return CXB_EXIT_OK;
        }

        fputs(cxb_cli_usage, stdout);
        return CXB_EXIT_OK;
    }

    if (strcmp(cmd, "--version") == 0) {
        printf("cxbpush %s (%s)\n", CXB_CLI_VERSION, curl_version());
        return CXB_EXIT_OK;
    }

    if (strcmp(cmd, "render") == 0) {
        rc = cxb_cli_render(argc - 2, argv + 2);

    } else if (strcmp(cmd, "send") == 0 || strcmp(cmd, "retry") == 0) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            cxb_cli_error("libcurl could not be initialized");
            return CXB_EXIT_ERROR;
        }

        rc = cmd[0] == 's' ? cxb_cli_send(argc - 2, argv + 2)
                           : cxb_cli_retry(argc - 2, argv + 2);

        curl_global_cleanup();

    } else {
        cxb_cli_error("unknown command \"%s\"", cmd);
        fputs("Commands: render, send, retry.  Try \"cxbpush --help\".\n",
              stderr);
        return CXB_EXIT_USAGE;
    }

    cxb_tz_cleanup();

    if (fflush(stdout) != 0 || ferror(stdout)) {
        cxb_cli_error("cannot write to standard output: %s",
                      strerror(errno));
        return CXB_EXIT_ERROR;
    }

    return rc;
}


/* cxbpush render */

static int
cxb_cli_render(int argc, char **argv)
{
    int          i, rc, dashdash;
    cJSON       *doc;
    cxb_buf_t    in, out;
    cxb_call_t   call;
    const char  *a, *path, *base;

    path = NULL;
    base = NULL;
    dashdash = 0;

    for (i = 0; i < argc; i++) {
        a = argv[i];

        if (dashdash || a[0] != '-' || a[1] == '\0') {
            if (path != NULL) {
                return cxb_cli_usage_error("render", "unexpected argument "
                                           "\"%s\": one document only", a);
            }

            path = a;
            continue;
        }

        if (strcmp(a, "--") == 0) {
            dashdash = 1;

        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(cxb_cli_render_usage, stdout);
            return CXB_EXIT_OK;

        } else if (cxb_cli_is(a, "--public-base-url")) {
            if (cxb_cli_value("render", argc, argv, &i, &base) != 0) {
                return CXB_EXIT_USAGE;
            }

        } else {
            return cxb_cli_usage_error("render", "unknown option \"%s\"", a);
        }
    }

    if (path == NULL) {
        return cxb_cli_usage_error("render", "no document: give a result "
                                   "document file, or \"-\" for stdin");
    }

    cxb_buf_init(&in);

    if (cxb_cli_read_file(path, &in) != 0) {
        cxb_buf_free(&in);
        return CXB_EXIT_INPUT;
    }

    rc = cxb_cli_load(&call, &doc, path, in.data, in.len, base);
    cxb_buf_free(&in);

    if (rc != CXB_EXIT_OK) {
        return rc;
    }

    cxb_buf_init(&out);

    if (cxb_call_answer(&out, &call, 1) != 0) {
        cxb_cli_error("out of memory");
        rc = CXB_EXIT_ERROR;

    } else {
        cxb_buf_addc(&out, '\n');

        if (out.failed) {
            cxb_cli_error("out of memory");
            rc = CXB_EXIT_ERROR;

        } else {
            fwrite(out.data, 1, out.len, stdout);
        }
    }

    cxb_buf_free(&out);
    cxb_call_free(&call);
    cJSON_Delete(doc);

    return rc;
}


/* cxbpush send */

static int
cxb_cli_send(int argc, char **argv)
{
    int                 i, rc, dashdash, sample, keep;
    char               *url;
    size_t              k, matched, sent;
    cJSON              *doc;
    cxb_buf_t           in, line;
    cxb_call_t          call;
    cxb_push_t         *p;
    cxb_result_t        res;
    const char         *a, *path, *base, *name, *log;
    cxb_cli_net_t       net;
    cxb_cli_header_t    hdrs[CXB_MAX_HEADERS];
    cxb_cli_sender_t    s;
    cxb_cli_request_t   rq;

    path = NULL;
    base = NULL;
    name = NULL;
    log = NULL;
    sample = 0;
    dashdash = 0;

    memset(&net, 0, sizeof(cxb_cli_net_t));
    net.timeout = CXB_CLI_TIMEOUT;
    net.response_max = CXB_CLI_RESPONSE_MAX;

    for (i = 0; i < argc; i++) {
        a = argv[i];

        if (dashdash || a[0] != '-' || a[1] == '\0') {
            if (path != NULL) {
                return cxb_cli_usage_error("send", "unexpected argument "
                                           "\"%s\": one document only", a);
            }

            path = a;
            continue;
        }

        if (cxb_cli_net_option("send", argc, argv, &i, &net, &rc)) {
            if (rc != 0) {
                return CXB_EXIT_USAGE;
            }

        } else if (strcmp(a, "--") == 0) {
            dashdash = 1;

        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(cxb_cli_send_usage, stdout);
            return CXB_EXIT_OK;

        } else if (cxb_cli_is(a, "--sample")) {
            if (cxb_cli_flag("send", a, "--sample") != 0) {
                return CXB_EXIT_USAGE;
            }

            sample = 1;

        } else if (cxb_cli_is(a, "--integration")) {
            if (cxb_cli_value("send", argc, argv, &i, &name) != 0) {
                return CXB_EXIT_USAGE;
            }

        } else if (cxb_cli_is(a, "--log")) {
            if (cxb_cli_value("send", argc, argv, &i, &log) != 0) {
                return CXB_EXIT_USAGE;
            }

            if (log[0] == '\0') {
                return cxb_cli_usage_error("send", "--log needs a file");
            }

        } else if (cxb_cli_is(a, "--public-base-url")) {
            if (cxb_cli_value("send", argc, argv, &i, &base) != 0) {
                return CXB_EXIT_USAGE;
            }

        } else {
            return cxb_cli_usage_error("send", "unknown option \"%s\"", a);
        }
    }

    if (sample && path != NULL) {
        return cxb_cli_usage_error("send", "give either a document or "
                                   "--sample, not both");
    }

    if (!sample && path == NULL) {
        return cxb_cli_usage_error("send", "no document: give a result "
                                   "document file, \"-\" for stdin, or "
                                   "--sample");
    }

    /* the document */

    cxb_buf_init(&in);

    if (sample) {
        rc = cxb_cli_load(&call, &doc, "sample", cxb_cli_sample,
                          sizeof(cxb_cli_sample) - 1, base);

    } else if (cxb_cli_read_file(path, &in) != 0) {
        rc = CXB_EXIT_INPUT;

    } else {
        rc = cxb_cli_load(&call, &doc, path, in.data, in.len, base);
    }

    cxb_buf_free(&in);

    if (rc != CXB_EXIT_OK) {
        return rc;
    }

    matched = 0;

    for (k = 0; k < call.npushes; k++) {
        if (name == NULL || strcmp(call.pushes[k].integration, name) == 0) {
            matched++;
        }
    }

    if (matched == 0) {
        if (name == NULL) {
            cxb_cli_error("nothing to send: the document yields no push");

        } else {
            cxb_cli_error("nothing to send: the document has no push named "
                          "\"%s\"", name);

            for (k = 0; k < call.npushes; k++) {
                fprintf(stderr, "%s\"%s\"", k ? ", " : "  its pushes: ",
                        call.pushes[k].integration);
            }

            if (call.npushes) {
                fputc('\n', stderr);
            }
        }

        cxb_call_free(&call);
        cJSON_Delete(doc);
        return CXB_EXIT_SEND;
    }

    if (cxb_cli_sender_init(&s, &net, log) != 0) {
        cxb_call_free(&call);
        cJSON_Delete(doc);
        return CXB_EXIT_ERROR;
    }

    cxb_buf_init(&line);
    rc = CXB_EXIT_OK;
    sent = 0;

    for (k = 0; k < call.npushes; k++) {
        p = &call.pushes[k];

        if (name != NULL && strcmp(p->integration, name) != 0) {
            continue;
        }

        memset(&res, 0, sizeof(cxb_result_t));

        if (p->state != CXB_PUSH_READY) {
            res.status = p->state == CXB_PUSH_SKIPPED ? "skipped" : "failed";
            res.http_status = -1;
            res.error = p->reason;
            res.at_ms = cxb_cli_now_ms();

        } else {
            if (net.to != NULL) {
                keep = (p->body == NULL);
                url = cxb_cli_retarget(net.to, p->url, keep);

                if (url == NULL) {
                    cxb_cli_error("out of memory");
                    rc = CXB_EXIT_ERROR;
                    break;
                }

                free(p->url);
                p->url = url;
            }

            rq.method = p->method;
            rq.url = p->url;
            rq.headers = hdrs;
            rq.nheaders = p->nheaders;
            rq.body = p->body;
            rq.body_len = p->body_len;

            for (i = 0; (size_t) i < p->nheaders; i++) {
                hdrs[i].name = p->headers[i].name;
                hdrs[i].value = p->headers[i].value;
                hdrs[i].send = 1;
            }

            if (cxb_cli_perform(&s, &rq, &res) != 0) {
                rc = CXB_EXIT_ERROR;
                break;
            }

            sent++;
        }

        res.attempt = 1;
        cxb_buf_reset(&line);

        if (cxb_record(&line, &call, p, &res) != 0) {
            cxb_cli_error("out of memory");
            rc = CXB_EXIT_ERROR;
            break;
        }

        if (cxb_cli_emit(&s, &line, res.status) != 0) {
            rc = CXB_EXIT_ERROR;
            break;
        }
    }

    cxb_buf_free(&line);

    if (rc == CXB_EXIT_OK) {
        cxb_cli_summary(&s, "pushes");

        if (sent == 0) {
            cxb_cli_error("nothing was sent: no push was ready");
            rc = CXB_EXIT_SEND;

        } else if (s.n_failed || s.n_rejected) {
            rc = CXB_EXIT_SEND;
        }

        if (s.log_failed) {
            rc = CXB_EXIT_ERROR;
        }
    }

    cxb_cli_sender_free(&s);
    cxb_call_free(&call);
    cJSON_Delete(doc);

    return rc;
}


/* cxbpush retry */

static int
cxb_cli_retry(int argc, char **argv)
{
    int                 i, rc, dashdash, dry_run, attempt;
    int                 want[4];
    char               *colon, *to_url;
    size_t              k, j, len, nids, ncalls, nextra, nsel, nbad;
    int64_t             since, at;
    cxb_buf_t           line, missing;
    const char         *a, *path, *statuses, *since_arg, *why, *st, *v;
    const char         *ids[64], *calls[64];
    const cJSON        *item;
    cxb_result_t        res;
    cxb_cli_net_t       net;
    cxb_cli_entry_t   **sel, *e;
    cxb_cli_extra_t     extra[CXB_CLI_MAX_EXTRA];
    cxb_cli_index_t     ix;
    cxb_sign_key_t      keys[2];
    size_t              nkeys;
    cxb_buf_t           sig;
    char                ts[24];
    cxb_cli_sender_t    s;
    cxb_cli_request_t   rq;

    static const char  *names[] = { "failed", "rejected", "ok", "skipped",
                                    NULL };

    path = NULL;
    statuses = "failed,rejected";
    since_arg = NULL;
    dry_run = 0;
    dashdash = 0;
    nids = 0;
    ncalls = 0;
    nextra = 0;
    nkeys = 0;

    memset(&net, 0, sizeof(cxb_cli_net_t));
    net.timeout = CXB_CLI_TIMEOUT;
    net.response_max = CXB_CLI_RESPONSE_MAX;

    rc = CXB_EXIT_OK;

    for (i = 0; i < argc && rc == CXB_EXIT_OK; i++) {
        a = argv[i];

        if (dashdash || a[0] != '-' || a[1] == '\0') {
            if (path != NULL) {
                rc = cxb_cli_usage_error("retry", "unexpected argument "
                                         "\"%s\": one log only", a);
                break;
            }

            path = a;
            continue;
        }

        if (cxb_cli_net_option("retry", argc, argv, &i, &net, &rc)) {
            rc = rc ? CXB_EXIT_USAGE : CXB_EXIT_OK;

        } else if (strcmp(a, "--") == 0) {
            dashdash = 1;

        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(cxb_cli_retry_usage, stdout);
            rc = -1;

        } else if (cxb_cli_is(a, "--dry-run")) {
            if (cxb_cli_flag("retry", a, "--dry-run") != 0) {
                rc = CXB_EXIT_USAGE;
            }

            dry_run = 1;

        } else if (cxb_cli_is(a, "--id") || cxb_cli_is(a, "--call")) {
            if (cxb_cli_value("retry", argc, argv, &i, &v) != 0) {
                rc = CXB_EXIT_USAGE;

            } else if ((a[2] == 'i' ? nids : ncalls) == 64) {
                rc = cxb_cli_usage_error("retry", "too many %.6s options "
                                         "(at most 64)", a);

            } else if (a[2] == 'i') {
                ids[nids++] = v;

            } else {
                calls[ncalls++] = v;
            }

        } else if (cxb_cli_is(a, "--status")) {
            if (cxb_cli_value("retry", argc, argv, &i, &statuses) != 0) {
                rc = CXB_EXIT_USAGE;
            }

        } else if (cxb_cli_is(a, "--since")) {
            if (cxb_cli_value("retry", argc, argv, &i, &since_arg) != 0) {
                rc = CXB_EXIT_USAGE;
            }

        } else if (cxb_cli_is(a, "--signing-secret")) {
            if (cxb_cli_value("retry", argc, argv, &i, &v) != 0) {
                rc = CXB_EXIT_USAGE;
                break;
            }

            if (nkeys == 2) {
                rc = cxb_cli_usage_error("retry", "--signing-secret: at most "
                                         "two (rotation)");
                break;
            }

            if (cxb_cli_signing_secret(v, &keys[nkeys]) != 0) {
                rc = CXB_EXIT_USAGE;
                break;
            }

            nkeys++;

        } else if (cxb_cli_is(a, "--header")) {
            if (cxb_cli_value("retry", argc, argv, &i, &v) != 0) {
                rc = CXB_EXIT_USAGE;
                break;
            }

            colon = strchr(v, ':');

            if (colon == NULL || colon == v) {
                rc = cxb_cli_usage_error("retry", "--header \"%s\": "
                                         "expected 'Name: value'", v);
                break;
            }

            if (nextra == CXB_CLI_MAX_EXTRA) {
                rc = cxb_cli_usage_error("retry", "too many --header "
                                         "options (at most %d)",
                                         CXB_CLI_MAX_EXTRA);
                break;
            }

            extra[nextra].name = strndup(v, colon - v);

            if (extra[nextra].name == NULL) {
                cxb_cli_error("out of memory");
                rc = CXB_EXIT_ERROR;
                break;
            }

            for (colon++; *colon == ' ' || *colon == '\t'; colon++) {
                /* void */
            }

            extra[nextra].value = colon;
            extra[nextra].used = 0;
            nextra++;

            if (!cxb_cli_header_ok(extra[nextra - 1].name, colon, &why)) {
                rc = cxb_cli_usage_error("retry", "--header \"%s\": %s",
                                         v, why);
            }

        } else {
            rc = cxb_cli_usage_error("retry", "unknown option \"%s\"", a);
        }
    }

    if (rc == CXB_EXIT_OK && path == NULL) {
        rc = cxb_cli_usage_error("retry", "no log: give the integration "
                                 "log file");
    }

    /* --status */

    for (k = 0; k < 4; k++) {
        want[k] = 0;
    }

    for (v = statuses; rc == CXB_EXIT_OK && *v; v += len + (v[len] == ',')) {
        len = strcspn(v, ",");

        for (k = 0; names[k]; k++) {
            if (strlen(names[k]) == len && strncmp(v, names[k], len) == 0) {
                want[k] = 1;
                break;
            }
        }

        if (names[k] == NULL) {
            rc = cxb_cli_usage_error("retry", "--status: unknown status "
                                     "\"%.*s\" (failed, rejected, ok, "
                                     "skipped)", (int) len, v);
        }
    }

    if (rc == CXB_EXIT_OK && !(want[0] || want[1] || want[2] || want[3])) {
        rc = cxb_cli_usage_error("retry", "--status: no status given");
    }

    since = CXB_TIME_NONE;

    if (rc == CXB_EXIT_OK && since_arg != NULL
        && cxb_cli_parse_since(since_arg, cxb_cli_now_ms(), &since) != 0)
    {
        rc = cxb_cli_usage_error("retry", "--since \"%s\": expected ISO 8601 "
                                 "(2026-11-23T10:00:00Z), epoch seconds or "
                                 "an age (30m, 2h, 7d)", since_arg);
    }

    if (rc != CXB_EXIT_OK) {
        for (k = 0; k < nextra; k++) {
            free(extra[k].name);
        }

        return rc < 0 ? CXB_EXIT_OK : rc;
    }

    /* the log: the latest valid record of each push id */

    memset(&ix, 0, sizeof(cxb_cli_index_t));
    nbad = 0;

    rc = cxb_cli_read_log(path, &ix, &nbad);

    if (rc != CXB_EXIT_OK) {
        goto done_index;
    }

    /* the selection, in log order of the latest records */

    sel = ix.n ? malloc(ix.n * sizeof(cxb_cli_entry_t *)) : NULL;

    if (ix.n && sel == NULL) {
        cxb_cli_error("out of memory");
        rc = CXB_EXIT_ERROR;
        goto done_index;
    }

    nsel = 0;

    for (k = 0; k < ix.n; k++) {
        e = &ix.entries[k];
        st = cJSON_GetObjectItemCaseSensitive(e->rec, "status")->valuestring;

        if (nids) {
            for (j = 0; j < nids && strcmp(ids[j], e->id) != 0; j++) {
                /* void */
            }

            if (j == nids) {
                continue;
            }
        }

        if (ncalls) {
            v = cxb_json_str(e->rec, "call_id");

            for (j = 0; j < ncalls && (v == NULL || strcmp(calls[j], v) != 0);
                 j++)
            {
                /* void */
            }

            if (j == ncalls) {
                continue;
            }
        }

        if (since != CXB_TIME_NONE) {
            v = cxb_json_str(e->rec, "at");

            if (v == NULL || cxb_time_parse_iso(v, strlen(v), &at) != 0
                || at < since)
            {
                continue;
            }
        }

        for (j = 0; names[j] && strcmp(names[j], st) != 0; j++) {
            /* void */
        }

        if (names[j] == NULL || !want[j]) {
            if (nids) {
                cxb_cli_error("push \"%s\": its latest attempt is %s, not "
                              "retried (--status %s to retry it anyway)",
                              e->id, st, st);
                rc = CXB_EXIT_SEND;
            }

            continue;
        }

        if (cxb_cli_never_sent(e->rec)) {
            cxb_cli_error("push \"%s\" could not be built (%s): it was never "
                          "sent, and retrying cannot fix it", e->id,
                          cxb_json_str(e->rec, "error"));

            if (nids) {
                rc = CXB_EXIT_SEND;
            }

            continue;
        }

        sel[nsel++] = e;
    }

    for (j = 0; j < nids; j++) {
        for (k = 0; k < ix.n && strcmp(ids[j], ix.entries[k].id) != 0; k++) {
            /* void */
        }

        if (k == ix.n) {
            cxb_cli_error("no push with id \"%s\" in \"%s\"", ids[j], path);
            rc = CXB_EXIT_SEND;
        }
    }

    /* insertion sort by line: the selection is already nearly sorted */

    for (k = 1; k < nsel; k++) {
        e = sel[k];

        for (j = k; j > 0 && sel[j - 1]->line > e->line; j--) {
            sel[j] = sel[j - 1];
        }

        sel[j] = e;
    }

    if (nsel == 0) {
        cxb_cli_error("nothing to retry in \"%s\" (%zu push%s, %zu malformed "
                      "line%s)", path, ix.n, ix.n == 1 ? "" : "es", nbad,
                      nbad == 1 ? "" : "s");
        free(sel);
        goto done_index;
    }

    memset(&s, 0, sizeof(cxb_cli_sender_t));
    s.log_fd = -1;

    if (!dry_run && cxb_cli_sender_init(&s, &net, path) != 0) {
        free(sel);
        rc = CXB_EXIT_ERROR;
        goto done_index;
    }

    cxb_buf_init(&line);
    cxb_buf_init(&missing);
    cxb_buf_init(&sig);

    for (k = 0; k < nsel; k++) {
        e = sel[k];

        cxb_buf_reset(&missing);

        if (cxb_cli_retry_request(&rq, e->rec, extra, nextra, &missing)
            != 0)
        {
            cxb_cli_error("out of memory");
            rc = CXB_EXIT_ERROR;
            break;
        }

        if (nkeys
            && cxb_cli_resign(&rq, e->id, keys, nkeys, ts, sizeof(ts), &sig)
               != 0)
        {
            free(rq.headers);
            cxb_cli_error("out of memory");
            rc = CXB_EXIT_ERROR;
            break;
        }

        if (missing.len) {
            cxb_cli_error("push \"%s\": %.*s redacted in the log, not sent "
                          "(give it with --header 'Name: value')", e->id,
                          (int) missing.len, missing.data);
        }

        /* a record without an attempt number was at least attempt 1 */

        item = cJSON_GetObjectItemCaseSensitive(e->rec, "attempt");
        attempt = cJSON_IsNumber(item) && item->valuedouble >= 1
                  && item->valuedouble < 1e9
                  ? (int) item->valuedouble + 1 : 2;

        /* --to; a push without a body keeps its query, its payload */

        to_url = NULL;

        if (net.to != NULL) {
            to_url = cxb_cli_retarget(net.to, rq.url, rq.body == NULL);

            if (to_url == NULL) {
                free(rq.headers);
                cxb_cli_error("out of memory");
                rc = CXB_EXIT_ERROR;
                break;
            }

            rq.url = to_url;
        }

        cxb_buf_reset(&line);

        if (dry_run) {
            if (cxb_cli_dry_record(&line, e->rec, &rq, attempt) != 0) {
                cxb_cli_error("out of memory");
                rc = CXB_EXIT_ERROR;

            } else {
                cxb_buf_addc(&line, '\n');
                fwrite(line.data, 1, line.len, stdout);
            }

            free(to_url);
            free(rq.headers);

            if (rc != CXB_EXIT_OK && rc != CXB_EXIT_SEND) {
                break;
            }

            continue;
        }

        memset(&res, 0, sizeof(cxb_result_t));

        if (!cxb_cli_url_ok(rq.url)) {
            res.status = "failed";
            res.http_status = -1;
            res.error = "invalid url: only http and https URLs are pushed";
            res.at_ms = cxb_cli_now_ms();

        } else {
            why = NULL;

            for (j = 0; j < rq.nheaders; j++) {
                if (rq.headers[j].send
                    && !cxb_cli_header_ok(rq.headers[j].name,
                                          rq.headers[j].value, &why))
                {
                    break;
                }
            }

            if (why != NULL) {
                res.status = "failed";
                res.http_status = -1;
                res.error = why;
                res.at_ms = cxb_cli_now_ms();

            } else if (cxb_cli_perform(&s, &rq, &res) != 0) {
                free(to_url);
                free(rq.headers);
                rc = CXB_EXIT_ERROR;
                break;
            }
        }

        res.attempt = attempt;

        if (cxb_cli_retry_record(&line, e->rec, &rq, &res) != 0) {
            cxb_cli_error("out of memory");
            rc = CXB_EXIT_ERROR;

        } else if (cxb_cli_emit(&s, &line, res.status) != 0) {
            rc = CXB_EXIT_ERROR;
        }

        free(to_url);
        free(rq.headers);

        if (rc == CXB_EXIT_ERROR) {
            break;
        }
    }

    cxb_buf_free(&line);
    cxb_buf_free(&missing);
    cxb_buf_free(&sig);
    free(sel);

    for (j = 0; rc != CXB_EXIT_ERROR && j < nextra; j++) {
        if (!extra[j].used) {
            cxb_cli_error("--header \"%s\": no re-sent push has that header "
                          "in the log: not sent", extra[j].name);
        }
    }

    if (rc != CXB_EXIT_ERROR) {
        if (dry_run) {
            cxb_cli_error("dry run: %zu push%s would be re-sent", nsel,
                          nsel == 1 ? "" : "es");

        } else {
            cxb_cli_summary(&s, "retried");

            if (s.n_failed || s.n_rejected) {
                rc = CXB_EXIT_SEND;
            }

            if (s.log_failed) {
                rc = CXB_EXIT_ERROR;
            }
        }
    }

    if (!dry_run) {
        cxb_cli_sender_free(&s);
    }

done_index:

    cxb_cli_index_free(&ix);

    for (k = 0; k < nextra; k++) {
        free(extra[k].name);
    }

    return rc;
}


/* options */

/* Whether arg is the option name, as "--name" or "--name=VALUE". */

static int
cxb_cli_is(const char *arg, const char *name)
{
    size_t  n;

    n = strlen(name);

    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}


/* The value of the option in argv[*i]: after '=', or the next argument. */

static int
cxb_cli_value(const char *cmd, int argc, char **argv, int *i,
    const char **val)
{
    const char  *eq;

    eq = strchr(argv[*i], '=');

    if (eq != NULL) {
        *val = eq + 1;
        return 0;
    }

    if (*i + 1 >= argc) {
        cxb_cli_usage_error(cmd, "option %s needs a value", argv[*i]);
        return -1;
    }

    *val = argv[++*i];

    return 0;
}


static int
cxb_cli_flag(const char *cmd, const char *arg, const char *name)
{
    if (strcmp(arg, name) != 0) {
        cxb_cli_usage_error(cmd, "option %s takes no value", name);
        return -1;
    }

    return 0;
}


/*
 * --to, --timeout, --response-max, --allow-addr, --allow-private: 1 when
 * argv[*i] is one of them (*rc: 0, or -1 reported), 0 otherwise.
 */

static int
cxb_cli_net_option(const char *cmd, int argc, char **argv, int *i,
    cxb_cli_net_t *net, int *rc)
{
    const char  *a, *v;

    a = argv[*i];
    *rc = 0;

    if (cxb_cli_is(a, "--to")) {
        if (cxb_cli_value(cmd, argc, argv, i, &v) != 0) {
            *rc = -1;

        } else if (!cxb_cli_url_ok(v)) {
            cxb_cli_usage_error(cmd, "--to \"%s\": expected an http:// or "
                                "https:// URL", v);
            *rc = -1;

        } else {
            net->to = v;
        }

        return 1;
    }

    if (cxb_cli_is(a, "--timeout")) {
        if (cxb_cli_value(cmd, argc, argv, i, &v) != 0) {
            *rc = -1;

        } else if (cxb_cli_parse_timeout(v, &net->timeout) != 0) {
            cxb_cli_usage_error(cmd, "--timeout \"%s\": expected seconds, "
                                "more than 0 and at most 86400", v);
            *rc = -1;
        }

        return 1;
    }

    if (cxb_cli_is(a, "--allow-addr")) {
        if (cxb_cli_value(cmd, argc, argv, i, &v) != 0) {
            *rc = -1;

        } else if (net->nallow == CXB_CLI_ALLOW_MAX) {
            cxb_cli_usage_error(cmd, "--allow-addr: at most %d ranges",
                                CXB_CLI_ALLOW_MAX);
            *rc = -1;

        } else if (cxb_cidr_parse(v, strlen(v), &net->allow[net->nallow])
                   != 0)
        {
            cxb_cli_usage_error(cmd, "--allow-addr \"%s\": expected a CIDR "
                                "(an IPv4 dotted quad or an IPv6 address, an "
                                "optional /bits, no bits set past the "
                                "prefix)", v);
            *rc = -1;

        } else {
            net->nallow++;
        }

        return 1;
    }

    if (cxb_cli_is(a, "--allow-private")) {
        *rc = cxb_cli_flag(cmd, a, "--allow-private");
        net->allow_private = 1;
        return 1;
    }

    if (cxb_cli_is(a, "--response-max")) {
        if (cxb_cli_value(cmd, argc, argv, i, &v) != 0) {
            *rc = -1;

        } else if (cxb_cli_parse_size(v, &net->response_max) != 0) {
            cxb_cli_usage_error(cmd, "--response-max \"%s\": expected bytes, "
                                "optionally with a k or m suffix, at most "
                                "64m", v);
            *rc = -1;
        }

        return 1;
    }

    return 0;
}


static int
cxb_cli_parse_timeout(const char *s, double *t)
{
    char    *end;
    double   v;

    errno = 0;
    v = strtod(s, &end);

    if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v <= 0
        || v > 86400)
    {
        return -1;
    }

    *t = v;

    return 0;
}


static int
cxb_cli_parse_size(const char *s, size_t *n)
{
    char                *end;
    unsigned long long   v;

    if (*s < '0' || *s > '9') {
        return -1;
    }

    errno = 0;
    v = strtoull(s, &end, 10);

    if (errno != 0) {
        return -1;
    }

    if (*end == 'k' || *end == 'K') {
        v = v > (1ULL << 40) ? (1ULL << 40) : v * 1024;
        end++;

    } else if (*end == 'm' || *end == 'M') {
        v = v > (1ULL << 40) ? (1ULL << 40) : v * 1024 * 1024;
        end++;
    }

    if (*end != '\0' || v > 64 * 1024 * 1024) {
        return -1;
    }

    *n = (size_t) v;

    return 0;
}


/* ISO 8601 date-time or date, epoch seconds, or an age ("30m"). */

static int
cxb_cli_parse_since(const char *s, int64_t now_ms, int64_t *ms)
{
    char       *end, buf[32];
    size_t      len;
    long long   v;

    len = strlen(s);

    if (cxb_time_parse_iso(s, len, ms) == 0) {
        return 0;
    }

    if (len == 10 && s[4] == '-' && s[7] == '-') {
        snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);

        return cxb_time_parse_iso(buf, strlen(buf), ms);
    }

    if (*s < '0' || *s > '9') {
        return -1;
    }

    errno = 0;
    v = strtoll(s, &end, 10);

    if (errno != 0) {
        return -1;
    }

    if (*end == '\0') {
        if (v > CXB_TIME_LIMIT / 1000) {
            return -1;
        }

        *ms = (int64_t) v * 1000;
        return 0;
    }

    if (end[1] != '\0' || v > 100000 * 365LL) {
        return -1;
    }

    switch (*end) {

    case 's':
        break;

    case 'm':
        v *= 60;
        break;

    case 'h':
        v *= 3600;
        break;

    case 'd':
        v *= 86400;
        break;

    default:
        return -1;
    }

    *ms = now_ms - (int64_t) v * 1000;

    return 0;
}


static void
cxb_cli_error(const char *fmt, ...)
{
    va_list  ap;

    fputs("cxbpush: ", stderr);

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);

    fputc('\n', stderr);
}


static int
cxb_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list  ap;

    fprintf(stderr, "cxbpush %s: ", cmd);

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);

    fprintf(stderr, "\nTry \"cxbpush %s --help\".\n", cmd);

    return CXB_EXIT_USAGE;
}


/* documents */

static int
cxb_cli_read_file(const char *path, cxb_buf_t *out)
{
    int      is_stdin;
    FILE    *f;
    size_t   n;

    is_stdin = (strcmp(path, "-") == 0);
    f = is_stdin ? stdin : fopen(path, "rb");

    if (f == NULL) {
        cxb_cli_error("cannot read \"%s\": %s", path, strerror(errno));
        return -1;
    }

    for ( ;; ) {
        if (cxb_buf_reserve(out, 65536) != 0) {
            cxb_cli_error("\"%s\": out of memory", path);
            break;
        }

        n = fread(out->data + out->len, 1, 65536, f);
        out->len += n;

        if (n < 65536) {
            break;
        }
    }

    if (!out->failed && ferror(f)) {
        cxb_cli_error("cannot read \"%s\": %s", is_stdin ? "stdin" : path,
                      strerror(errno));
        out->failed = 1;
    }

    if (!is_stdin) {
        fclose(f);
    }

    return out->failed ? -1 : 0;
}


/*
 * Parses and builds a call as the ingestion handler does; a bad document
 * is reported with the message the module answers 400 with.
 */

static int
cxb_cli_load(cxb_call_t *call, cJSON **doc, const char *name,
    const char *text, size_t len, const char *base)
{
    int              rc;
    cxb_buf_t        err;
    cxb_ctx_opts_t   opts;

    cxb_buf_init(&err);

    *doc = cxb_doc_parse(text ? text : "", len, &err);

    if (*doc == NULL) {
        if (err.failed) {
            cxb_cli_error("out of memory");
            cxb_buf_free(&err);
            return CXB_EXIT_ERROR;
        }

        cxb_cli_error("%s: %.*s", strcmp(name, "-") ? name : "stdin",
                      (int) err.len, err.data);
        cxb_buf_free(&err);
        return CXB_EXIT_INPUT;
    }

    /* the document refers to text, which the caller frees: parse it all */
    (void) cxb_doc_transcript(cJSON_GetObjectItemCaseSensitive(*doc, "call"));

    memset(&opts, 0, sizeof(cxb_ctx_opts_t));

    if (base != NULL) {
        opts.public_base_url = base;
        opts.public_base_url_len = strlen(base);
    }

    opts.now_ms = cxb_cli_now_ms();
    opts.nonce = cxb_cli_nonce();

    rc = cxb_call_build(call, *doc, &opts, &err);

    if (rc != 0) {
        if (rc == -1 && !err.failed) {
            cxb_cli_error("%s: %.*s", strcmp(name, "-") ? name : "stdin",
                          (int) err.len, err.data);
            rc = CXB_EXIT_INPUT;

        } else {
            cxb_cli_error("out of memory");
            rc = CXB_EXIT_ERROR;
        }

        cxb_buf_free(&err);
        cJSON_Delete(*doc);
        *doc = NULL;

        return rc;
    }

    cxb_buf_free(&err);

    return CXB_EXIT_OK;
}


static uint64_t
cxb_cli_nonce(void)
{
    int        fd;
    uint64_t   v;

    v = 0;
    fd = open("/dev/urandom", O_RDONLY);

    if (fd != -1) {
        if (read(fd, &v, sizeof(v)) != (ssize_t) sizeof(v)) {
            v = 0;
        }

        close(fd);
    }

    return v ^ (uint64_t) cxb_cli_now_ms() ^ ((uint64_t) getpid() << 48);
}


static int64_t
cxb_cli_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static int64_t
cxb_cli_mono_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* requests */

/* An http(s) URL with a host and no space or control character. */

static int
cxb_cli_url_ok(const char *url)
{
    size_t                hs;
    const unsigned char  *p;

    if (strncasecmp(url, "http://", 7) == 0) {
        hs = 7;

    } else if (strncasecmp(url, "https://", 8) == 0) {
        hs = 8;

    } else {
        return 0;
    }

    if (url[hs] == '\0' || url[hs] == '/' || url[hs] == '?'
        || url[hs] == '#' || url[hs] == '@' || url[hs] == ':')
    {
        return 0;
    }

    for (p = (const unsigned char *) url; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f) {
            return 0;
        }
    }

    return 1;
}


/* The rules of the core's cxb_push_header(): a token name, no CTL. */

static int
cxb_cli_header_ok(const char *name, const char *value, const char **why)
{
    const unsigned char  *p;

    if (name[0] == '\0') {
        *why = "invalid header: empty name";
        return 0;
    }

    for (p = (const unsigned char *) name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9')
              || strchr("!#$%&'*+-.^_`|~", *p) != NULL))
        {
            *why = "invalid header name";
            return 0;
        }
    }

    for (p = (const unsigned char *) value; *p; p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
            *why = "invalid header value: contains CR, LF or another "
                   "control character";
            return 0;
        }
    }

    return 1;
}


static int
cxb_cli_is_managed(const char *name)
{
    const char  **m;

    for (m = cxb_cli_managed; *m; m++) {
        if (strcasecmp(name, *m) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * --to: the URL replaced by "to" (its fragment dropped); with keep_query,
 * the push's query string (a GET push's payload) is appended to it.
 */

static char *
cxb_cli_retarget(const char *to, const char *url, int keep_query)
{
    size_t       n;
    cxb_buf_t    b;
    const char  *q;

    n = strcspn(to, "#");
    q = (keep_query && url != NULL) ? strchr(url, '?') : NULL;

    cxb_buf_init(&b);
    cxb_buf_add(&b, to, n);

    if (q != NULL && q[1] != '\0') {
        cxb_buf_addc(&b, memchr(to, '?', n) ? '&' : '?');
        cxb_buf_add(&b, q + 1, strcspn(q + 1, "#"));
    }

    return cxb_buf_detach(&b, NULL);
}


/* the sender */

static int
cxb_cli_sender_init(cxb_cli_sender_t *s, const cxb_cli_net_t *net,
    const char *log_path)
{
    memset(s, 0, sizeof(cxb_cli_sender_t));

    s->log_fd = -1;
    s->log_path = log_path;
    s->timeout_ms = (long) ceil(net->timeout * 1000);
    s->response_max = net->response_max;
    s->net = net;
    cxb_buf_init(&s->response);

    if (log_path != NULL) {
        s->log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT, 0644);

        if (s->log_fd == -1) {
            cxb_cli_error("cannot open \"%s\" to append to it: %s", log_path,
                          strerror(errno));
            return -1;
        }
    }

    s->curl = curl_easy_init();

    if (s->curl == NULL) {
        cxb_cli_error("libcurl: cannot create a handle");

        if (s->log_fd != -1) {
            close(s->log_fd);
        }

        return -1;
    }

    return 0;
}


static void
cxb_cli_sender_free(cxb_cli_sender_t *s)
{
    if (s->curl != NULL) {
        curl_easy_cleanup(s->curl);
    }

    if (s->log_fd != -1 && close(s->log_fd) != 0) {
        cxb_cli_error("cannot write to \"%s\": %s", s->log_path,
                      strerror(errno));
    }

    cxb_buf_free(&s->response);
}


/*
 * Sends one request and fills res as the module does: an answer is
 * classified by its status (cxb_classify) with the first response_max
 * bytes of its body; no answer (refused, timed out, DNS, TLS) is "failed"
 * with http_status -1 and libcurl's error text.  A transfer cut short after
 * the status line still counts as an answer, with the error text set.
 * Returns -1 on internal errors only (reported).
 */

static int
cxb_cli_perform(cxb_cli_sender_t *s, const cxb_cli_request_t *rq,
    cxb_result_t *res)
{
    int                  bad, has_accept, has_type;
    long                 status;
    size_t               i, n;
    int64_t              t0;
    CURL                *h;
    CURLcode             code;
    cxb_buf_t            line;
    const char          *body;
    struct curl_slist   *list, *l, *pin;

    h = s->curl;

    curl_easy_reset(h);
    cxb_buf_reset(&s->response);
    s->error[0] = '\0';

    pin = NULL;

    switch (cxb_cli_guard(s, rq->url, &pin)) {

    case 0:
        break;

    case 1:
        memset(res, 0, sizeof(cxb_result_t));
        res->at_ms = cxb_cli_now_ms();
        res->http_status = -1;
        res->status = "failed";
        res->error = s->refused;
        return 0;

    default:
        return -1;
    }

    /*
     * The request carries only the push's headers.  libcurl adds Host,
     * User-Agent (ours), Content-Length (with a body) and, unless told
     * otherwise, an Accept header for any type, "Expect: 100-continue"
     * (bodies over 1 MB) and "Content-Type:
     * application/x-www-form-urlencoded" (a body without a Content-Type):
     * an empty "Name:" suppresses each of those.
     */

    list = NULL;
    has_accept = 0;
    has_type = 0;
    bad = 0;
    cxb_buf_init(&line);

    for (i = 0; i < rq->nheaders && !bad; i++) {
        if (!rq->headers[i].send || cxb_cli_is_managed(rq->headers[i].name)) {
            continue;
        }

        if (strcasecmp(rq->headers[i].name, "Accept") == 0) {
            has_accept = 1;

        } else if (strcasecmp(rq->headers[i].name, "Content-Type") == 0) {
            has_type = 1;
        }

        cxb_buf_reset(&line);

        if (rq->headers[i].value[0] == '\0') {
            /* "Name:" would remove the header: "Name;" sends it empty */
            cxb_buf_printf(&line, "%s;", rq->headers[i].name);

        } else {
            cxb_buf_printf(&line, "%s: %s", rq->headers[i].name,
                           rq->headers[i].value);
        }

        l = cxb_buf_cstr(&line) ? curl_slist_append(list, line.data) : NULL;

        if (l == NULL) {
            bad = 1;

        } else {
            list = l;
        }
    }

    cxb_buf_free(&line);

    body = rq->body;
    n = rq->body_len;

    if (body == NULL && strcmp(rq->method, "POST") == 0) {
        body = "";
        n = 0;
    }

    if (!bad && !has_accept) {
        l = curl_slist_append(list, "Accept:");
        bad = (l == NULL);
        list = l ? l : list;
    }

    if (!bad) {
        l = curl_slist_append(list, "Expect:");
        bad = (l == NULL);
        list = l ? l : list;
    }

    if (!bad && body != NULL && !has_type) {
        l = curl_slist_append(list, "Content-Type:");
        bad = (l == NULL);
        list = l ? l : list;
    }

    bad = bad
        || curl_easy_setopt(h, CURLOPT_URL, rq->url) != CURLE_OK
#if LIBCURL_VERSION_NUM >= 0x075500
        || curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https")
           != CURLE_OK
#endif
        || curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK
        || curl_easy_setopt(h, CURLOPT_USERAGENT, CXB_CLI_USER_AGENT)
           != CURLE_OK
        || curl_easy_setopt(h, CURLOPT_HTTPHEADER, list) != CURLE_OK
        || curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s->timeout_ms) != CURLE_OK
        || curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s->timeout_ms)
           != CURLE_OK
        || curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->error) != CURLE_OK
        || curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cxb_cli_write)
           != CURLE_OK
        || curl_easy_setopt(h, CURLOPT_WRITEDATA, s) != CURLE_OK
        || (pin && curl_easy_setopt(h, CURLOPT_RESOLVE, pin) != CURLE_OK);

    if (!bad && body != NULL) {
        bad = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                               (curl_off_t) n) != CURLE_OK
              || curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK
              || (strcmp(rq->method, "POST") != 0
                  && curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method)
                     != CURLE_OK);

    } else if (!bad && strcmp(rq->method, "GET") == 0) {
        bad = curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK;

    } else if (!bad && strcmp(rq->method, "HEAD") == 0) {
        bad = curl_easy_setopt(h, CURLOPT_NOBODY, 1L) != CURLE_OK;

    } else if (!bad) {
        bad = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method)
              != CURLE_OK;
    }

    if (bad) {
        curl_slist_free_all(list);
        curl_slist_free_all(pin);
        cxb_cli_error("libcurl: cannot set up the request (out of memory?)");
        return -1;
    }

    t0 = cxb_cli_mono_ms();
    code = curl_easy_perform(h);

    memset(res, 0, sizeof(cxb_result_t));
    res->duration_ms = cxb_cli_mono_ms() - t0;
    res->at_ms = cxb_cli_now_ms();

    /* the list must outlive the transfer; the handle is reset before reuse */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_RESOLVE, NULL);
    curl_slist_free_all(list);
    curl_slist_free_all(pin);

    if (s->response.failed) {
        cxb_cli_error("out of memory");
        return -1;
    }

    status = 0;

    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
        status = 0;
    }

    if (code != CURLE_OK) {
        n = strlen(s->error);

        while (n && (s->error[n - 1] == '\n' || s->error[n - 1] == '\r')) {
            s->error[--n] = '\0';
        }

        res->error = n ? s->error : curl_easy_strerror(code);
    }

    if (status > 0) {
        res->http_status = (int) status;
        res->status = cxb_classify((int) status);
        res->response = s->response.data ? s->response.data : "";
        res->response_len = s->response.len;

    } else {
        res->http_status = -1;
        res->status = "failed";

        if (res->error == NULL) {
            res->error = "no answer from the CRM";
        }
    }

    return 0;
}


/*
 * The SSRF guard, as in the module: the URL must be http(s), and every
 * address of its host public or allowed.  A name is resolved here and the
 * checked addresses are pinned (CURLOPT_RESOLVE), so libcurl connects to
 * what was checked.  0: send; 1: refused, s->refused says why; -1: error.
 */

static int
cxb_cli_guard(cxb_cli_sender_t *s, const char *url, struct curl_slist **pin)
{
    int               rc;
    char              host[256], port[8], text[384];
    cxb_ip_t          ip;
    cxb_buf_t         entry;
    const char       *err, *why;
    cxb_target_t      t;
    struct addrinfo   hints, *ai, *res;

    const cxb_cli_net_t  *net = s->net;

    if (cxb_target_parse(url, strlen(url), &t, &err) != 0) {
        snprintf(s->refused, sizeof(s->refused),
                 "refused by the SSRF guard: %s", err);
        return 1;
    }

    if (net->allow_private) {
        return 0;
    }

    if (t.literal) {
        why = cxb_ip_refused(&t.ip, net->allow, net->nallow, 0);

        if (why == NULL) {
            return 0;
        }

        cxb_addr_refusal(text, sizeof(text), t.host, t.host_len, 1, &t.ip,
                         why);
        snprintf(s->refused, sizeof(s->refused),
                 "refused by the SSRF guard: %s", text);

        return 1;
    }

    if (t.host_len >= sizeof(host)) {
        snprintf(s->refused, sizeof(s->refused),
                 "refused by the SSRF guard: the host name is too long");
        return 1;
    }

    memcpy(host, t.host, t.host_len);
    host[t.host_len] = '\0';
    snprintf(port, sizeof(port), "%d", t.port);

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;

    rc = getaddrinfo(host, port, &hints, &res);

    if (rc != 0) {
        snprintf(s->refused, sizeof(s->refused),
                 "refused by the SSRF guard: could not resolve \"%s\": %s",
                 host, gai_strerror(rc));
        return 1;
    }

    cxb_buf_init(&entry);
    cxb_buf_printf(&entry, "%s:%d:", host, t.port);

    rc = 0;

    for (ai = res; ai != NULL; ai = ai->ai_next) {
        if (cxb_ip_from_sockaddr(ai->ai_addr, &ip) != 0) {
            continue;
        }

        why = cxb_ip_refused(&ip, net->allow, net->nallow, 0);

        if (why != NULL) {
            cxb_addr_refusal(text, sizeof(text), host, strlen(host), 0, &ip,
                             why);
            snprintf(s->refused, sizeof(s->refused),
                     "refused by the SSRF guard: %s", text);
            rc = 1;
            break;
        }

        cxb_ip_text(&ip, text, sizeof(text));
        cxb_buf_printf(&entry, ip.family == 6 ? "%s[%s]" : "%s%s",
                       ai == res ? "" : ",", text);
    }

    freeaddrinfo(res);

    if (rc == 0) {
        *pin = cxb_buf_cstr(&entry) ? curl_slist_append(NULL, entry.data)
                                    : NULL;

        if (*pin == NULL) {
            cxb_cli_error("out of memory");
            rc = -1;
        }
    }

    cxb_buf_free(&entry);

    return rc;
}


/* --signing-secret whsec_... | file=PATH (the file's first line) */

static int
cxb_cli_signing_secret(const char *v, cxb_sign_key_t *key)
{
    int      ok;
    char     buf[256];
    size_t   n;
    FILE    *f;

    if (strncmp(v, "file=", 5) == 0) {
        f = fopen(v + 5, "r");

        if (f == NULL) {
            cxb_cli_usage_error("retry", "--signing-secret: cannot read "
                                "\"%s\": %s", v + 5, strerror(errno));
            return -1;
        }

        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);

        while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'
                     || buf[n - 1] == ' '))
        {
            n--;
        }

        ok = cxb_sign_key_parse(key, buf, n) == 0;
        memset(buf, 0, sizeof(buf));

    } else {
        ok = cxb_sign_key_parse(key, v, strlen(v)) == 0;
    }

    if (!ok) {
        cxb_cli_usage_error("retry", "--signing-secret: expected \"whsec_\" "
                            "and the base64 of 16 to 64 bytes, or file=PATH");
        return -1;
    }

    return 0;
}


/*
 * A re-sent request that was signed gets a new webhook-timestamp and
 * webhook-signature (same id, same body), as the module signs each
 * attempt; ts and sig hold the new values until the next request.
 */

static int
cxb_cli_resign(cxb_cli_request_t *rq, const char *id,
    const cxb_sign_key_t *keys, size_t nkeys, char *ts, size_t tslen,
    cxb_buf_t *sig)
{
    size_t   i;
    int64_t  now;

    for (i = 0; i < rq->nheaders; i++) {
        if (strcasecmp(rq->headers[i].name, "webhook-signature") == 0) {
            break;
        }
    }

    if (i == rq->nheaders) {
        return 0;
    }

    now = cxb_cli_now_ms() / 1000;
    snprintf(ts, tslen, "%lld", (long long) now);

    cxb_buf_reset(sig);

    if (cxb_sign(sig, keys, nkeys, id, now, rq->body ? rq->body : "",
                 rq->body_len)
        != 0
        || cxb_buf_cstr(sig) == NULL)
    {
        return -1;
    }

    for (i = 0; i < rq->nheaders; i++) {
        if (strcasecmp(rq->headers[i].name, "webhook-timestamp") == 0) {
            rq->headers[i].value = ts;

        } else if (strcasecmp(rq->headers[i].name, "webhook-signature") == 0) {
            rq->headers[i].value = sig->data;
        }
    }

    return 0;
}


static size_t
cxb_cli_write(char *data, size_t size, size_t n, void *ud)
{
    cxb_cli_sender_t *s = ud;

    size_t  len, room;

    len = size * n;

    if (s->response.len < s->response_max) {
        room = s->response_max - s->response.len;
        cxb_buf_add(&s->response, data, len < room ? len : room);
    }

    return len;
}


/* Prints a record line, appends it to the log, counts its status. */

static int
cxb_cli_emit(cxb_cli_sender_t *s, cxb_buf_t *line, const char *status)
{
    size_t    off;
    ssize_t   n;

    cxb_buf_addc(line, '\n');

    if (line->failed) {
        cxb_cli_error("out of memory");
        return -1;
    }

    fwrite(line->data, 1, line->len, stdout);
    fflush(stdout);

    if (s->log_fd != -1 && !s->log_failed) {
        for (off = 0; off < line->len; off += (size_t) n) {
            n = write(s->log_fd, line->data + off, line->len - off);

            if (n == -1 && errno == EINTR) {
                n = 0;
                continue;
            }

            if (n <= 0) {
                cxb_cli_error("cannot write to \"%s\": %s", s->log_path,
                              n == 0 ? "no space written"
                                     : strerror(errno));
                s->log_failed = 1;
                break;
            }
        }
    }

    switch (status[0]) {

    case 'o':
        s->n_ok++;
        break;

    case 'r':
        s->n_rejected++;
        break;

    case 's':
        s->n_skipped++;
        break;

    default:
        s->n_failed++;
    }

    return 0;
}


static void
cxb_cli_summary(const cxb_cli_sender_t *s, const char *verb)
{
    fprintf(stderr, "cxbpush: %s: %u ok, %u rejected, %u failed, "
            "%u skipped\n", verb, s->n_ok, s->n_rejected, s->n_failed,
            s->n_skipped);
}


/* retry: the log */

static uint64_t
cxb_cli_hash(const char *s)
{
    uint64_t  h;

    for (h = 14695981039346656037ULL; *s; s++) {
        h = (h ^ (unsigned char) *s) * 1099511628211ULL;
    }

    return h;
}


/* Adds rec (taken) as the latest record of its id. */

static int
cxb_cli_index_add(cxb_cli_index_t *ix, cJSON *rec, size_t line)
{
    size_t            i, k, n, *slots;
    const char       *id;
    cxb_cli_entry_t  *e;

    id = cJSON_GetObjectItemCaseSensitive(rec, "id")->valuestring;

    if (ix->nslots) {
        for (k = cxb_cli_hash(id) & (ix->nslots - 1); ix->slots[k];
             k = (k + 1) & (ix->nslots - 1))
        {
            e = &ix->entries[ix->slots[k] - 1];

            if (strcmp(e->id, id) == 0) {
                cJSON_Delete(e->rec);
                e->rec = rec;
                e->id = id;
                e->line = line;
                return 0;
            }
        }
    }

    if (ix->n == ix->nalloc) {
        n = ix->nalloc ? ix->nalloc * 2 : 64;

        e = realloc(ix->entries, n * sizeof(cxb_cli_entry_t));
        if (e == NULL) {
            return -1;
        }

        ix->entries = e;
        ix->nalloc = n;
    }

    if (2 * (ix->n + 1) > ix->nslots) {
        n = ix->nslots ? ix->nslots * 2 : 128;

        slots = calloc(n, sizeof(size_t));
        if (slots == NULL) {
            return -1;
        }

        for (i = 0; i < ix->n; i++) {
            for (k = cxb_cli_hash(ix->entries[i].id) & (n - 1); slots[k];
                 k = (k + 1) & (n - 1))
            {
                /* void */
            }

            slots[k] = i + 1;
        }

        free(ix->slots);
        ix->slots = slots;
        ix->nslots = n;
    }

    for (k = cxb_cli_hash(id) & (ix->nslots - 1); ix->slots[k];
         k = (k + 1) & (ix->nslots - 1))
    {
        /* void */
    }

    e = &ix->entries[ix->n];
    e->id = id;
    e->rec = rec;
    e->line = line;

    ix->slots[k] = ++ix->n;

    return 0;
}


static void
cxb_cli_index_free(cxb_cli_index_t *ix)
{
    size_t  i;

    for (i = 0; i < ix->n; i++) {
        cJSON_Delete(ix->entries[i].rec);
    }

    free(ix->entries);
    free(ix->slots);
}


/*
 * Reads the log into ix, the latest valid record of each push id; invalid
 * lines are reported with their number and skipped (counted in nbad).
 */

static int
cxb_cli_read_log(const char *path, cxb_cli_index_t *ix, size_t *nbad)
{
    int           rc;
    char         *ln;
    FILE         *f;
    cJSON        *rec;
    size_t        k, n, len, lineno;
    ssize_t       got;
    const char   *why;

    f = fopen(path, "r");

    if (f == NULL) {
        cxb_cli_error("cannot read \"%s\": %s", path, strerror(errno));
        return CXB_EXIT_INPUT;
    }

    rc = CXB_EXIT_OK;
    ln = NULL;
    n = 0;
    lineno = 0;

    while ((got = getline(&ln, &n, f)) != -1) {
        lineno++;
        len = (size_t) got;

        while (len && (ln[len - 1] == '\n' || ln[len - 1] == '\r'
                       || ln[len - 1] == ' ' || ln[len - 1] == '\t'))
        {
            len--;
        }

        for (k = 0; k < len && (ln[k] == ' ' || ln[k] == '\t'); k++) {
            /* void */
        }

        if (k == len) {
            continue;
        }

        rec = cJSON_ParseWithLength(ln, len);
        why = rec ? cxb_cli_check_record(rec) : "not valid JSON";

        if (why != NULL) {
            cxb_cli_error("%s:%zu: %s: line skipped", path, lineno, why);
            cJSON_Delete(rec);
            (*nbad)++;
            continue;
        }

        if (cxb_cli_index_add(ix, rec, lineno) != 0) {
            cJSON_Delete(rec);
            cxb_cli_error("out of memory");
            rc = CXB_EXIT_ERROR;
            break;
        }
    }

    if (rc == CXB_EXIT_OK && ferror(f)) {
        cxb_cli_error("cannot read \"%s\": %s", path, strerror(errno));
        rc = CXB_EXIT_INPUT;
    }

    free(ln);
    fclose(f);

    return rc;
}


/* NULL when rec can be retried from, else what is wrong with it. */

static const char *
cxb_cli_check_record(const cJSON *rec)
{
    const cJSON  *v, *req, *h;

    if (!cJSON_IsObject(rec)) {
        return "not a JSON object";
    }

    v = cJSON_GetObjectItemCaseSensitive(rec, "id");

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        return "no \"id\"";
    }

    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(rec, "status"))) {
        return "no \"status\"";
    }

    v = cJSON_GetObjectItemCaseSensitive(rec, "attempt");

    if (v != NULL && !cJSON_IsNumber(v) && !cJSON_IsNull(v)) {
        return "\"attempt\" is not a number";
    }

    req = cJSON_GetObjectItemCaseSensitive(rec, "request");

    if (!cJSON_IsObject(req)) {
        return "no \"request\" object";
    }

    v = cJSON_GetObjectItemCaseSensitive(req, "method");

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        return "no \"request.method\"";
    }

    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(req, "url"))) {
        return "no \"request.url\"";
    }

    v = cJSON_GetObjectItemCaseSensitive(req, "headers");

    if (v != NULL && !cJSON_IsNull(v)) {
        if (!cJSON_IsObject(v)) {
            return "\"request.headers\" is not an object";
        }

        cJSON_ArrayForEach(h, v) {
            if (!cJSON_IsString(h)) {
                return "a value of \"request.headers\" is not a string";
            }
        }
    }

    v = cJSON_GetObjectItemCaseSensitive(req, "body");

    if (v != NULL && !cJSON_IsNull(v) && !cJSON_IsString(v)) {
        return "\"request.body\" is not a string";
    }

    return NULL;
}


/* Whether rec is a push the core could not build: it was never sent. */

static int
cxb_cli_never_sent(const cJSON *rec)
{
    size_t        n;
    const char   *err, **u;
    const cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(rec, "http_status");
    err = cxb_json_str(rec, "error");

    if (err == NULL || (v != NULL && !cJSON_IsNull(v))) {
        return 0;
    }

    for (u = cxb_cli_unbuildable; *u; u++) {
        n = strlen(*u);

        if (strncmp(err, *u, n) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * The request to re-send, from the logged one: --header values replace
 * same-named logged headers, and are never added to a push that did not
 * have the header (a token for one CRM must not go to another); a header
 * logged as "[redacted]" and not given is kept in the record but not sent,
 * and its name is appended to missing.  rq points into rec; free
 * rq->headers.
 */

static int
cxb_cli_retry_request(cxb_cli_request_t *rq, const cJSON *rec,
    cxb_cli_extra_t *extra, size_t nextra, cxb_buf_t *missing)
{
    size_t             j, n;
    const cJSON       *req, *hdrs, *h, *body;
    cxb_cli_header_t  *ch;

    req = cJSON_GetObjectItemCaseSensitive(rec, "request");
    hdrs = cJSON_GetObjectItemCaseSensitive(req, "headers");
    hdrs = cJSON_IsObject(hdrs) ? hdrs : NULL;
    body = cJSON_GetObjectItemCaseSensitive(req, "body");

    rq->method = cJSON_GetObjectItemCaseSensitive(req, "method")->valuestring;
    rq->url = cJSON_GetObjectItemCaseSensitive(req, "url")->valuestring;
    rq->body = cJSON_IsString(body) ? body->valuestring : NULL;
    rq->body_len = rq->body ? strlen(rq->body) : 0;
    rq->nheaders = 0;

    n = (size_t) cJSON_GetArraySize(hdrs);

    rq->headers = malloc((n ? n : 1) * sizeof(cxb_cli_header_t));
    if (rq->headers == NULL) {
        return -1;
    }

    cJSON_ArrayForEach(h, hdrs) {
        if (cxb_cli_is_managed(h->string)) {
            continue;
        }

        ch = &rq->headers[rq->nheaders++];
        ch->name = h->string;
        ch->value = h->valuestring;
        ch->send = 1;

        for (j = 0; j < nextra; j++) {
            if (strcasecmp(extra[j].name, h->string) == 0) {
                break;
            }
        }

        if (j < nextra) {
            ch->value = extra[j].value;
            extra[j].used = 1;

        } else if (strcmp(h->valuestring, CXB_REDACTED) == 0) {
            ch->send = 0;

            if (missing->len) {
                cxb_buf_adds(missing, ", ");
            }

            cxb_buf_adds(missing, h->string);
        }
    }

    if (missing->failed) {
        free(rq->headers);
        return -1;
    }

    return 0;
}


/* The logged request shape: secrets, and headers not sent, redacted. */

static cJSON *
cxb_cli_request_json(const cxb_cli_request_t *rq)
{
    size_t   i;
    cJSON   *req, *hdrs, *v;

    req = cJSON_CreateObject();
    if (req == NULL) {
        return NULL;
    }

    hdrs = NULL;

    if (cJSON_AddStringToObject(req, "method", rq->method) == NULL
        || cJSON_AddStringToObject(req, "url", rq->url) == NULL
        || (hdrs = cJSON_AddObjectToObject(req, "headers")) == NULL)
    {
        goto failed;
    }

    for (i = 0; i < rq->nheaders; i++) {
        v = (!rq->headers[i].send
             || cxb_header_is_secret(rq->headers[i].name,
                                     strlen(rq->headers[i].name)))
            ? cJSON_CreateString(CXB_REDACTED)
            : cxb_json_string_utf8(rq->headers[i].value,
                                   strlen(rq->headers[i].value));

        if (v == NULL || !cJSON_AddItemToObject(hdrs, rq->headers[i].name, v))
        {
            cJSON_Delete(v);
            goto failed;
        }
    }

    v = rq->body ? cxb_json_string_utf8(rq->body, rq->body_len)
                 : cJSON_CreateNull();

    if (v == NULL || !cJSON_AddItemToObject(req, "body", v)) {
        cJSON_Delete(v);
        goto failed;
    }

    return req;

failed:

    cJSON_Delete(req);
    return NULL;
}


/*
 * A retry's record, in cxb_record()'s shape and order: id, call_id, bot_id,
 * integration, status, http_status, response_body, error, attempt, at,
 * duration_ms, request, event.  Without the document, event.t (seconds
 * since the call's start) is carried on from the previous record: its "at"
 * has whole seconds, the milliseconds are taken from its t (exact when the
 * call's start_time has whole seconds, as usual).
 */

static int
cxb_cli_retry_record(cxb_buf_t *out, const cJSON *prev,
    const cxb_cli_request_t *rq, const cxb_result_t *res)
{
    int64_t             prev_at, frac;
    const char         *type, *integration, *pat;
    const cJSON        *pev, *pt;
    cxb_record_head_t   h;

    integration = cxb_json_str(prev, "integration");

    /* event: the previous type, t carried on */

    pev = cJSON_GetObjectItemCaseSensitive(prev, "event");
    type = cxb_json_str(pev, "type");

    if (type == NULL) {
        type = integration == NULL ? "integration"
               : strcmp(integration, "post_call_push") == 0
                 ? "post_call_push"
               : strcmp(integration, "external_webhook") == 0
                 ? "external_webhook" : "integration";
    }

    h.id = cxb_json_str(prev, "id");
    h.call_id = cxb_json_str(prev, "call_id");
    h.bot_id = cxb_json_str(prev, "bot_id");
    h.integration = integration;
    h.event_type = type;
    h.has_t = 0;
    h.t_ms = 0;

    h.id = h.id ? h.id : "";
    h.call_id = h.call_id ? h.call_id : "";
    h.bot_id = h.bot_id ? h.bot_id : "";
    h.integration = h.integration ? h.integration : "";

    pt = cJSON_GetObjectItemCaseSensitive(pev, "t");
    pat = cxb_json_str(prev, "at");

    if (cJSON_IsNumber(pt) && fabs(pt->valuedouble) < 1e12 && pat != NULL
        && cxb_time_parse_iso(pat, strlen(pat), &prev_at) == 0)
    {
        h.t_ms = (int64_t) llround(pt->valuedouble * 1000);
        frac = ((h.t_ms % 1000) + 1000) % 1000;
        h.t_ms += res->at_ms - (prev_at + frac);
        h.has_t = 1;
    }

    h.request = cxb_cli_request_json(rq);
    if (h.request == NULL) {
        return -1;
    }

    return cxb_record_write(out, &h, res);
}


/* --dry-run: what would be re-sent, as one JSON line. */

static int
cxb_cli_dry_record(cxb_buf_t *out, const cJSON *prev,
    const cxb_cli_request_t *rq, int attempt)
{
    int     ok;
    cJSON  *rec, *v;

    rec = cJSON_CreateObject();
    if (rec == NULL) {
        return -1;
    }

    ok = cxb_cli_add_str(rec, "id", prev)
         && cxb_cli_add_str(rec, "call_id", prev)
         && cxb_cli_add_str(rec, "bot_id", prev)
         && cxb_cli_add_str(rec, "integration", prev)
         && cxb_cli_add_str(rec, "status", prev)
         && cxb_cli_add_str(rec, "at", prev)
         && cJSON_AddNumberToObject(rec, "attempt", attempt) != NULL;

    if (ok) {
        v = cxb_cli_request_json(rq);
        ok = v != NULL && cJSON_AddItemToObject(rec, "request", v);
        if (!ok) {
            cJSON_Delete(v);
        }
    }

    return cxb_json_emit(out, rec, ok);
}


/* Copies the string member name of from to o ("" when absent). */

static int
cxb_cli_add_str(cJSON *o, const char *name, const cJSON *from)
{
    const char  *s;

    s = cxb_json_str(from, name);

    return cJSON_AddStringToObject(o, name, s ? s : "") != NULL;
}
