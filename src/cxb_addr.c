/*
 * cxb_addr: the SSRF guard's rules (see cxb_addr.h).
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "cxb_addr.h"


static int cxb_ip4_parse(const char *s, size_t len, uint8_t out[4]);
static const char *cxb_ip4_refused(const uint8_t a[4]);
static const char *cxb_ip6_refused(const uint8_t a[16], uint8_t v4[4],
    int *embedded);
static int cxb_cidr_match(const cxb_cidr_t *c, const cxb_ip_t *ip);
static int cxb_host_char(unsigned char ch);


int
cxb_target_parse(const char *url, size_t len, cxb_target_t *t,
    const char **err)
{
    size_t       n, i;
    const char  *p, *end, *host, *hend, *port;

    memset(t, 0, sizeof(cxb_target_t));

    end = url + len;

    if (len > 7 && strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;
        t->port = 80;

    } else if (len > 8 && strncasecmp(url, "https://", 8) == 0) {
        p = url + 8;
        t->https = 1;
        t->port = 443;

    } else {
        *err = "only http and https URLs are pushed";
        return -1;
    }

    /* the authority ends where nginx's URL parser ends it: '/' or '?' */

    for (hend = p; hend < end && *hend != '/' && *hend != '?'; hend++) {
        /* void */
    }

    if (hend == p) {
        *err = "the URL has no host";
        return -1;
    }

    if (memchr(p, '@', hend - p)) {
        *err = "user info in URLs is not supported";
        return -1;
    }

    port = NULL;

    if (*p == '[') {
        host = p + 1;

        for (p = host; p < hend && *p != ']'; p++) {
            /* void */
        }

        if (p == hend || p == host) {
            *err = "the URL's IPv6 host is malformed";
            return -1;
        }

        t->host = host;
        t->host_len = p - host;

        if (cxb_ip_parse(host, t->host_len, &t->ip) != 0
            || t->ip.family != 6)
        {
            *err = "the URL's IPv6 host is malformed";
            return -1;
        }

        t->literal = 1;
        p++;

        if (p < hend) {
            if (*p != ':') {
                *err = "the URL's IPv6 host is malformed";
                return -1;
            }

            port = p + 1;
        }

    } else {
        host = p;

        for ( /* void */ ; p < hend && *p != ':'; p++) {
            if (!cxb_host_char((unsigned char) *p)) {
                *err = "the URL's host has characters a host name cannot "
                       "have";
                return -1;
            }
        }

        t->host = host;
        t->host_len = p - host;

        if (t->host_len == 0) {
            *err = "the URL has no host";
            return -1;
        }

        if (p < hend) {
            port = p + 1;
        }

        if (cxb_ip_parse(host, t->host_len, &t->ip) == 0) {
            t->literal = 1;
        }
    }

    if (port) {
        n = hend - port;

        if (n == 0 || n > 5) {
            *err = "the URL's port is invalid";
            return -1;
        }

        t->port = 0;

        for (i = 0; i < n; i++) {
            if (port[i] < '0' || port[i] > '9') {
                *err = "the URL's port is invalid";
                return -1;
            }

            t->port = t->port * 10 + (port[i] - '0');
        }

        if (t->port < 1 || t->port > 65535) {
            *err = "the URL's port is invalid";
            return -1;
        }

        t->explicit_port = 1;
    }

    return 0;
}


static int
cxb_host_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
           || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_';
}


int
cxb_ip_parse(const char *s, size_t len, cxb_ip_t *ip)
{
    char  buf[64];

    memset(ip, 0, sizeof(cxb_ip_t));

    if (len == 0) {
        return -1;
    }

    if (memchr(s, ':', len)) {
        if (len >= sizeof(buf)) {
            return -1;
        }

        memcpy(buf, s, len);
        buf[len] = '\0';

        /* a zone ("fe80::1%eth0") is refused: inet_pton() does not take it */

        if (inet_pton(AF_INET6, buf, ip->a) != 1) {
            return -1;
        }

        ip->family = 6;
        return 0;
    }

    if (cxb_ip4_parse(s, len, ip->a) != 0) {
        return -1;
    }

    ip->family = 4;

    return 0;
}


/*
 * IPv4 the way inet_aton() reads it: one to four parts, each decimal,
 * octal (leading 0) or hex (0x); the last part fills the remaining bytes.
 * "127.1", "0x7f.1", "017700000001" and "2130706433" are all 127.0.0.1.
 */

static int
cxb_ip4_parse(const char *s, size_t len, uint8_t out[4])
{
    int          base, nparts, digits;
    uint64_t     v, parts[4];
    unsigned     d;
    const char  *p, *end;

    p = s;
    end = s + len;
    nparts = 0;

    for ( ;; ) {
        if (nparts == 4 || p == end) {
            return -1;
        }

        base = 10;

        if (*p == '0') {
            base = 8;
            p++;

            if (p < end && (*p == 'x' || *p == 'X')) {
                base = 16;
                p++;
            }
        }

        v = 0;
        digits = (base == 8);        /* the leading 0 is a digit */

        while (p < end && *p != '.') {
            if (*p >= '0' && *p <= '9') {
                d = *p - '0';

            } else if (base == 16 && *p >= 'a' && *p <= 'f') {
                d = *p - 'a' + 10;

            } else if (base == 16 && *p >= 'A' && *p <= 'F') {
                d = *p - 'A' + 10;

            } else {
                return -1;
            }

            if (d >= (unsigned) base) {
                return -1;
            }

            v = v * base + d;

            if (v > 0xffffffff) {
                return -1;
            }

            digits++;
            p++;
        }

        if (digits == 0) {
            return -1;
        }

        parts[nparts++] = v;

        if (p == end) {
            break;
        }

        p++;                         /* '.' */
    }

    switch (nparts) {

    case 1:
        v = parts[0];
        break;

    case 2:
        if (parts[0] > 0xff || parts[1] > 0xffffff) {
            return -1;
        }

        v = parts[0] << 24 | parts[1];
        break;

    case 3:
        if (parts[0] > 0xff || parts[1] > 0xff || parts[2] > 0xffff) {
            return -1;
        }

        v = parts[0] << 24 | parts[1] << 16 | parts[2];
        break;

    default:
        if (parts[0] > 0xff || parts[1] > 0xff || parts[2] > 0xff
            || parts[3] > 0xff)
        {
            return -1;
        }

        v = parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3];
        break;
    }

    out[0] = (uint8_t) (v >> 24);
    out[1] = (uint8_t) (v >> 16);
    out[2] = (uint8_t) (v >> 8);
    out[3] = (uint8_t) v;

    return 0;
}


int
cxb_cidr_parse(const char *s, size_t len, cxb_cidr_t *c)
{
    size_t       i, alen;
    unsigned     bits, max;
    const char  *slash;

    memset(c, 0, sizeof(cxb_cidr_t));

    slash = memchr(s, '/', len);
    alen = slash ? (size_t) (slash - s) : len;

    if (memchr(s, ':', alen)) {
        char     buf[64];

        if (alen == 0 || alen >= sizeof(buf)) {
            return -1;
        }

        memcpy(buf, s, alen);
        buf[alen] = '\0';

        if (inet_pton(AF_INET6, buf, c->ip.a) != 1) {
            return -1;
        }

        c->ip.family = 6;
        max = 128;

    } else {
        /* only the dotted quad here: a CIDR is written by the operator */

        unsigned  n, dots, v;

        n = 0;
        dots = 0;
        v = 0;

        for (i = 0; i <= alen; i++) {
            if (i == alen || s[i] == '.') {
                if (n == 0 || v > 255 || dots > 3) {
                    return -1;
                }

                c->ip.a[dots++] = (uint8_t) v;
                n = 0;
                v = 0;
                continue;
            }

            if (s[i] < '0' || s[i] > '9' || n == 3) {
                return -1;
            }

            v = v * 10 + (s[i] - '0');
            n++;
        }

        if (dots != 4) {
            return -1;
        }

        c->ip.family = 4;
        max = 32;
    }

    bits = max;

    if (slash) {
        const char  *p = slash + 1, *end = s + len;

        if (p == end || end - p > 3) {
            return -1;
        }

        bits = 0;

        for ( /* void */ ; p < end; p++) {
            if (*p < '0' || *p > '9') {
                return -1;
            }

            bits = bits * 10 + (*p - '0');
        }

        if (bits > max) {
            return -1;
        }
    }

    c->bits = bits;

    /* the host bits must be zero, as nginx's own CIDR parser wants */

    for (i = 0; i < max / 8; i++) {
        unsigned  keep = bits >= (i + 1) * 8 ? 8
                         : bits > i * 8 ? bits - i * 8 : 0;
        uint8_t   mask = keep ? (uint8_t) (0xff << (8 - keep)) : 0;

        if (c->ip.a[i] & (uint8_t) ~mask) {
            return -1;
        }
    }

    return 0;
}


static int
cxb_cidr_match(const cxb_cidr_t *c, const cxb_ip_t *ip)
{
    unsigned  bytes, rest;

    if (c->ip.family != ip->family) {
        return 0;
    }

    bytes = c->bits / 8;
    rest = c->bits % 8;

    if (memcmp(c->ip.a, ip->a, bytes) != 0) {
        return 0;
    }

    if (rest) {
        uint8_t  mask = (uint8_t) (0xff << (8 - rest));

        if ((c->ip.a[bytes] & mask) != (ip->a[bytes] & mask)) {
            return 0;
        }
    }

    return 1;
}


const char *
cxb_ip_refused(const cxb_ip_t *ip, const cxb_cidr_t *allow, size_t nallow,
    int allow_private)
{
    int          embedded;
    size_t       i;
    cxb_ip_t     v4;
    const char  *why;

    if (allow_private) {
        return NULL;
    }

    embedded = 0;
    memset(&v4, 0, sizeof(cxb_ip_t));

    if (ip->family == 4) {
        why = cxb_ip4_refused(ip->a);

    } else {
        why = cxb_ip6_refused(ip->a, v4.a, &embedded);
        v4.family = 4;
    }

    if (why == NULL) {
        return NULL;
    }

    for (i = 0; i < nallow; i++) {
        if (cxb_cidr_match(&allow[i], ip)
            || (embedded && cxb_cidr_match(&allow[i], &v4)))
        {
            return NULL;
        }
    }

    return why;
}


#define cxb_in4(a, b0, b1, nbits)                                            \
    (((((uint32_t) (a)[0] << 24) | ((uint32_t) (a)[1] << 16))                \
      >> (32 - (nbits)))                                                     \
     == ((((uint32_t) (b0) << 24) | ((uint32_t) (b1) << 16)) >> (32 - (nbits))))


static const char *
cxb_ip4_refused(const uint8_t a[4])
{
    if (a[0] == 0) {
        return "an unspecified address (0.0.0.0/8)";
    }

    if (a[0] == 127) {
        return "a loopback address";
    }

    if (a[0] == 10 || cxb_in4(a, 172, 16, 12) || cxb_in4(a, 192, 168, 16)) {
        return "a private address (RFC 1918)";
    }

    if (cxb_in4(a, 100, 64, 10)) {
        return "a shared address (RFC 6598)";
    }

    if (cxb_in4(a, 169, 254, 16)) {
        return "a link-local address";
    }

    if (a[0] >= 224 && a[0] < 240) {
        return "a multicast address";
    }

    if (a[0] >= 240) {
        return "a reserved or broadcast address";
    }

    if ((a[0] == 192 && a[1] == 0 && (a[2] == 0 || a[2] == 2))
        || (a[0] == 198 && a[1] == 51 && a[2] == 100)
        || (a[0] == 203 && a[1] == 0 && a[2] == 113)
        || cxb_in4(a, 198, 18, 15))
    {
        return "a reserved address";
    }

    return NULL;
}


static const char *
cxb_ip6_refused(const uint8_t a[16], uint8_t v4[4], int *embedded)
{
    static const uint8_t  zero[16];
    static const uint8_t  mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                         0xff, 0xff };
    static const uint8_t  nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0,
                                        0, 0, 0, 0 };

    if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1)) {
        return a[15] ? "a loopback address" : "an unspecified address";
    }

    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0) {
        memcpy(v4, a + 12, 4);
        *embedded = 1;
        return cxb_ip4_refused(v4);
    }

    if (a[0] == 0x20 && a[1] == 0x02) {
        /* 6to4: the IPv4 address follows the prefix */
        memcpy(v4, a + 2, 4);
        *embedded = 1;
        return cxb_ip4_refused(v4);
    }

    if (memcmp(a, zero, 12) == 0) {
        return "a deprecated IPv4-compatible address";
    }

    if ((a[0] & 0xfe) == 0xfc) {
        return "a private address (RFC 4193)";
    }

    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
        return "a link-local address";
    }

    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) {
        return "a site-local address";
    }

    if (a[0] == 0xff) {
        return "a multicast address";
    }

    if ((a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
        || (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0)
        || (a[0] == 0x01 && a[1] == 0 && memcmp(a + 2, zero, 6) == 0)
        || (a[0] == 0 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b))
    {
        /* documentation, Teredo, discard-only, local-use NAT64 */
        return "a reserved address";
    }

    return NULL;
}


void
cxb_addr_refusal(char *buf, size_t size, const char *host, size_t len,
    int literal, const cxb_ip_t *ip, const char *why)
{
    char  text[64];

    cxb_ip_text(ip, text, sizeof(text));

    if (!literal) {
        snprintf(buf, size, "\"%.*s\" stands for %s, %s", (int) len, host,
                 text, why);

    } else if (strlen(text) == len && strncasecmp(text, host, len) == 0) {
        snprintf(buf, size, "%s is %s", text, why);

    } else {
        snprintf(buf, size, "%.*s is %s, %s", (int) len, host, text, why);
    }
}


const char *
cxb_ip_text(const cxb_ip_t *ip, char *buf, size_t size)
{
    if (inet_ntop(ip->family == 4 ? AF_INET : AF_INET6, ip->a, buf,
                  (socklen_t) size)
        == NULL)
    {
        snprintf(buf, size, "?");
    }

    return buf;
}


int
cxb_ip_from_sockaddr(const void *sa, cxb_ip_t *ip)
{
    const struct sockaddr      *s = sa;
    const struct sockaddr_in   *s4;
    const struct sockaddr_in6  *s6;

    memset(ip, 0, sizeof(cxb_ip_t));

    if (s->sa_family == AF_INET) {
        s4 = sa;
        memcpy(ip->a, &s4->sin_addr, 4);
        ip->family = 4;
        return 0;
    }

    if (s->sa_family == AF_INET6) {
        s6 = sa;
        memcpy(ip->a, &s6->sin6_addr, 16);
        ip->family = 6;
        return 0;
    }

    return -1;
}
