/*
 * cxb_addr: the SSRF guard's rules, shared by the module and the CLI.
 *
 * A push URL is parsed the way nginx's proxy_pass parses it (the host ends
 * at ':', '/' or '?'), its host read as a literal address in every form
 * inet_aton() and inet_pton() accept (decimal, octal, hex, shortened IPv4,
 * IPv6 with embedded IPv4), and every address is classified: loopback,
 * private, link-local, unspecified, multicast and other non-public ranges
 * are refused unless an allow-list CIDR covers them.  No nginx headers, no
 * resolving here: the callers resolve names their own way.
 */

#ifndef CXB_ADDR_H
#define CXB_ADDR_H


#include <stddef.h>
#include <stdint.h>


typedef struct {
    int          family;          /* 4 or 6 */
    uint8_t      a[16];           /* network order; IPv4 in a[0..3] */
} cxb_ip_t;


typedef struct {
    cxb_ip_t     ip;
    unsigned     bits;
} cxb_cidr_t;


typedef struct {
    int          https;
    const char  *host;            /* not NUL-terminated, brackets removed */
    size_t       host_len;
    int          port;            /* explicit port, or the scheme's */
    int          explicit_port;
    int          literal;         /* the host is an address: ip is set */
    cxb_ip_t     ip;
} cxb_target_t;


/*
 * Parses the scheme and host of a push URL.  0, or -1 with *err set to a
 * static message: not http(s), user info, empty or invalid host, bad port.
 */
int cxb_target_parse(const char *url, size_t len, cxb_target_t *t,
    const char **err);

/* a literal address in any inet_aton()/inet_pton() form: 0, or -1 */
int cxb_ip_parse(const char *s, size_t len, cxb_ip_t *ip);

/* "A.B.C.D/N", "X::Y/N" or a bare address (a host route): 0, or -1 */
int cxb_cidr_parse(const char *s, size_t len, cxb_cidr_t *c);

/*
 * NULL when the address may be pushed to, else why not ("loopback",
 * "private", ...).  An address inside one of the allow CIDRs is always
 * allowed; allow_private lets every non-public range through.
 */
const char *cxb_ip_refused(const cxb_ip_t *ip, const cxb_cidr_t *allow,
    size_t nallow, int allow_private);

/*
 * Why a host is refused, as the module and the CLI say it: a literal
 * ("127.0.0.1 is a loopback address", "2130706433 is 127.0.0.1, a loopback
 * address" when written another way) or a name ("\"crm.test\" stands for
 * 10.0.0.5, a private address (RFC 1918)").  NUL-terminated, truncated.
 */
void cxb_addr_refusal(char *buf, size_t size, const char *host, size_t len,
    int literal, const cxb_ip_t *ip, const char *why);

/* the address as text, in buf of at least 48 bytes */
const char *cxb_ip_text(const cxb_ip_t *ip, char *buf, size_t size);

/* from a struct sockaddr (AF_INET or AF_INET6): 0, or -1 */
int cxb_ip_from_sockaddr(const void *sa, cxb_ip_t *ip);


#endif /* CXB_ADDR_H */
