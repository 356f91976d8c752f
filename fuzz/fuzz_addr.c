/*
 * libFuzzer target: the SSRF guard's parsers (src/cxb_addr.c).
 *
 * Input: a push URL, and at the same time a host and a CIDR.
 *
 * Checks:
 *   - cxb_target_parse() never reads outside the URL; when it accepts, the
 *     host lies inside the URL, is not empty, the port is 1..65535, and a
 *     literal host has an address;
 *   - cxb_ip_parse() agrees with glibc's inet_aton() on every input made
 *     only of the characters an IPv4 literal can have (same acceptance,
 *     same address), and with inet_pton(AF_INET6) on inputs with ':';
 *   - an accepted address is allowed by a host route to itself, and
 *     cxb_ip_refused() gives the same answer twice;
 *   - an accepted CIDR has a prefix no longer than its family's and
 *     matches its own address.
 */

#include <arpa/inet.h>

#include "cxb_addr.h"
#include "fuzz_common.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             v4chars, ok, ok_ref;
    char           *s;
    size_t          i;
    cxb_ip_t        ip;
    cxb_cidr_t      c, self;
    const char     *err, *why;
    cxb_target_t    t;
    struct in_addr  ref;
    unsigned char   ref6[16];

    s = fuzz_strndup(data, size);

    if (cxb_target_parse(s, size, &t, &err) == 0) {
        FUZZ_CHECK(t.host >= s && t.host + t.host_len <= s + size
                   && t.host_len > 0, "host outside the URL");
        FUZZ_CHECK(t.port >= 1 && t.port <= 65535, "port %d", t.port);
        FUZZ_CHECK(!t.literal || t.ip.family == 4 || t.ip.family == 6,
                   "literal without an address");

    } else {
        FUZZ_CHECK(err != NULL && err[0] != '\0', "no error message");
    }

    ok = cxb_ip_parse(s, size, &ip) == 0;

    v4chars = size > 0 && strlen(s) == size;

    for (i = 0; i < size && v4chars; i++) {
        v4chars = (s[i] >= '0' && s[i] <= '9') || s[i] == '.'
                  || s[i] == 'x' || s[i] == 'X'
                  || (s[i] >= 'a' && s[i] <= 'f')
                  || (s[i] >= 'A' && s[i] <= 'F');
    }

    if (v4chars) {
        ok_ref = inet_aton(s, &ref) != 0;

        FUZZ_CHECK(ok == ok_ref, "\"%s\": cxb_ip_parse %d, inet_aton %d", s,
                   ok, ok_ref);
        FUZZ_CHECK(!ok || (ip.family == 4 && memcmp(ip.a, &ref, 4) == 0),
                   "\"%s\": a different address than inet_aton's", s);
    }

    if (size < 64 && strlen(s) == size && memchr(s, ':', size)) {
        ok_ref = inet_pton(AF_INET6, s, ref6) == 1;

        FUZZ_CHECK(ok == ok_ref, "\"%s\": cxb_ip_parse %d, inet_pton %d", s,
                   ok, ok_ref);
        FUZZ_CHECK(!ok || (ip.family == 6 && memcmp(ip.a, ref6, 16) == 0),
                   "\"%s\": a different address than inet_pton's", s);
    }

    if (ok) {
        memset(&self, 0, sizeof(self));
        self.ip = ip;
        self.bits = ip.family == 4 ? 32 : 128;

        why = cxb_ip_refused(&ip, NULL, 0, 0);
        FUZZ_CHECK(why == cxb_ip_refused(&ip, NULL, 0, 0), "not stable");
        FUZZ_CHECK(cxb_ip_refused(&ip, &self, 1, 0) == NULL,
                   "\"%s\": a host route to itself does not allow it", s);
        FUZZ_CHECK(cxb_ip_refused(&ip, NULL, 0, 1) == NULL,
                   "allow_private does not allow");
    }

    if (cxb_cidr_parse(s, size, &c) == 0) {
        FUZZ_CHECK(c.bits <= (c.ip.family == 4 ? 32u : 128u), "bits %u",
                   c.bits);
        FUZZ_CHECK(cxb_ip_refused(&c.ip, &c, 1, 0) == NULL,
                   "\"%s\": a CIDR does not match its own address", s);
    }

    free(s);

    return 0;
}
