/*
 * The SSRF guard's rules: URL targets, every literal address form,
 * classification of each refused range, CIDR allow lists.
 */

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "cxb_addr.h"


static const char *
refused(const char *host, const cxb_cidr_t *allow, size_t nallow)
{
    cxb_ip_t  ip;

    if (cxb_ip_parse(host, strlen(host), &ip) != 0) {
        return "(not an address)";
    }

    return cxb_ip_refused(&ip, allow, nallow, 0);
}


static const char *
text(const char *host)
{
    static char  buf[64];
    cxb_ip_t     ip;

    if (cxb_ip_parse(host, strlen(host), &ip) != 0) {
        return "(not an address)";
    }

    return cxb_ip_text(&ip, buf, sizeof(buf));
}


int
main(void)
{
    size_t        i;
    cxb_ip_t      ip;
    cxb_cidr_t    allow[3];
    const char   *err;
    cxb_target_t  t;

    static const struct {
        const char  *in;
        const char  *out;
    } forms[] = {
        { "127.0.0.1", "127.0.0.1" },
        { "2130706433", "127.0.0.1" },
        { "0x7f000001", "127.0.0.1" },
        { "0X7F000001", "127.0.0.1" },
        { "017700000001", "127.0.0.1" },
        { "0177.0.0.1", "127.0.0.1" },
        { "0x7f.0.0.1", "127.0.0.1" },
        { "127.1", "127.0.0.1" },
        { "127.0.1", "127.0.0.1" },
        { "0x7f.1", "127.0.0.1" },
        { "0", "0.0.0.0" },
        { "00", "0.0.0.0" },
        { "0xa9fea9fe", "169.254.169.254" },
        { "2852039166", "169.254.169.254" },
        { "0251.0376.0251.0376", "169.254.169.254" },
        { "::1", "::1" },
        { "::ffff:127.0.0.1", "::ffff:127.0.0.1" },
        { "::ffff:7f00:1", "::ffff:127.0.0.1" },
        { "0:0:0:0:0:0:0:1", "::1" },
    };

    static const char  *not_addresses[] = {
        "localhost", "crm.example.com", "1.2.3.4.5", "256.1.1.1", "1.256.1.1",
        "08", "0x", "0xg", "4294967296", "1..2", "1.2.", ".1.2", "fe80::1%lo",
        ":::", "1.2.3.4a", "",
    };

    static const struct {
        const char  *host;
        const char  *why;
    } ranges[] = {
        { "127.0.0.1", "a loopback address" },
        { "127.255.255.254", "a loopback address" },
        { "2130706433", "a loopback address" },
        { "0x7f.1", "a loopback address" },
        { "0.0.0.0", "an unspecified address (0.0.0.0/8)" },
        { "10.1.2.3", "a private address (RFC 1918)" },
        { "172.16.0.1", "a private address (RFC 1918)" },
        { "172.31.255.255", "a private address (RFC 1918)" },
        { "192.168.1.1", "a private address (RFC 1918)" },
        { "100.64.0.1", "a shared address (RFC 6598)" },
        { "169.254.169.254", "a link-local address" },
        { "0xa9fea9fe", "a link-local address" },
        { "224.0.0.1", "a multicast address" },
        { "239.255.255.250", "a multicast address" },
        { "255.255.255.255", "a reserved or broadcast address" },
        { "240.0.0.1", "a reserved or broadcast address" },
        { "192.0.2.1", "a reserved address" },
        { "198.18.0.1", "a reserved address" },
        { "::1", "a loopback address" },
        { "::", "an unspecified address" },
        { "::ffff:127.0.0.1", "a loopback address" },
        { "::ffff:169.254.169.254", "a link-local address" },
        { "::ffff:10.0.0.1", "a private address (RFC 1918)" },
        { "64:ff9b::10.0.0.1", "a private address (RFC 1918)" },
        { "2002:7f00:1::1", "a loopback address" },
        { "::127.0.0.1", "a deprecated IPv4-compatible address" },
        { "fc00::1", "a private address (RFC 4193)" },
        { "fd12:3456::1", "a private address (RFC 4193)" },
        { "fe80::1", "a link-local address" },
        { "febf::1", "a link-local address" },
        { "fec0::1", "a site-local address" },
        { "ff02::1", "a multicast address" },
        { "2001:db8::1", "a reserved address" },
    };

    static const char  *public_addrs[] = {
        "93.184.216.34", "8.8.8.8", "172.15.255.255", "172.32.0.0",
        "100.63.255.255", "100.128.0.0", "169.253.255.255", "1.0.0.1",
        "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1",
        "223.255.255.255",
    };

    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        TAP_IS_STR(text(forms[i].in), forms[i].out, "\"%s\" is %s",
                   forms[i].in, forms[i].out);
    }

    for (i = 0; i < sizeof(not_addresses) / sizeof(not_addresses[0]); i++) {
        TAP_OK(cxb_ip_parse(not_addresses[i], strlen(not_addresses[i]), &ip)
               != 0, "\"%s\" is not a literal address", not_addresses[i]);
    }

    for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        TAP_IS_STR(refused(ranges[i].host, NULL, 0), ranges[i].why,
                   "%s is refused: %s", ranges[i].host, ranges[i].why);
    }

    for (i = 0; i < sizeof(public_addrs) / sizeof(public_addrs[0]); i++) {
        TAP_OK(refused(public_addrs[i], NULL, 0) == NULL, "%s is public",
               public_addrs[i]);
    }

    /* allow lists */

    TAP_OK(cxb_cidr_parse("127.0.0.1/32", 12, &allow[0]) == 0,
           "parse 127.0.0.1/32");
    TAP_OK(cxb_cidr_parse("10.0.0.0/8", 10, &allow[1]) == 0,
           "parse 10.0.0.0/8");
    TAP_OK(cxb_cidr_parse("fd00::/8", 8, &allow[2]) == 0, "parse fd00::/8");

    TAP_OK(refused("127.0.0.1", allow, 3) == NULL, "127.0.0.1 allowed");
    TAP_OK(refused("2130706433", allow, 3) == NULL,
           "2130706433 allowed (the same address)");
    TAP_OK(refused("::ffff:127.0.0.1", allow, 3) == NULL,
           "::ffff:127.0.0.1 allowed through its IPv4 address");
    TAP_IS_STR(refused("127.0.0.2", allow, 3), "a loopback address",
               "127.0.0.2 still refused");
    TAP_OK(refused("10.200.1.1", allow, 3) == NULL, "10.200.1.1 allowed");
    TAP_IS_STR(refused("11.0.0.1", allow, 3) == NULL ? "public" : "refused",
               "public", "11.0.0.1 is public anyway");
    TAP_OK(refused("fd00::5", allow, 3) == NULL, "fd00::5 allowed");
    TAP_IS_STR(refused("fe80::1", allow, 3), "a link-local address",
               "fe80::1 still refused");
    TAP_IS_STR(refused("::1", allow, 3), "a loopback address",
               "::1 not covered by an IPv4 CIDR");

    ip.family = 4;
    memset(ip.a, 0, sizeof(ip.a));
    ip.a[0] = 127;
    ip.a[3] = 1;
    TAP_OK(cxb_ip_refused(&ip, NULL, 0, 1) == NULL,
           "allow_private lets everything through");

    TAP_OK(cxb_cidr_parse("127.0.0.1", 9, &allow[0]) == 0
           && allow[0].bits == 32, "a bare address is a /32");
    TAP_OK(cxb_cidr_parse("::1", 3, &allow[0]) == 0 && allow[0].bits == 128,
           "a bare IPv6 address is a /128");
    TAP_OK(cxb_cidr_parse("0.0.0.0/0", 9, &allow[0]) == 0
           && allow[0].bits == 0, "0.0.0.0/0");
    TAP_OK(refused("10.9.9.9", allow, 1) == NULL, "0.0.0.0/0 allows all v4");

    {
        static const char  *bad[] = {
            "127.0.0.1/33", "127.0.0.1/8", "10.0.0/8", "10.0.0.0.0/8",
            "1.2.3.256/32", "0x7f.0.0.1/32", "127.1/32", "::1/129", "fe80::1/8",
            "10.0.0.0/", "/8", "10.0.0.0/a", "", "1.2.3.4/0032",
        };

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            TAP_OK(cxb_cidr_parse(bad[i], strlen(bad[i]), &allow[0]) != 0,
                   "CIDR \"%s\" is invalid", bad[i]);
        }
    }

    /* URL targets */

#define TARGET(u)  cxb_target_parse(u, strlen(u), &t, &err)

    TAP_OK(TARGET("http://crm.example.com/x") == 0 && !t.literal
           && t.host_len == 15 && memcmp(t.host, "crm.example.com", 15) == 0
           && t.port == 80 && !t.explicit_port && !t.https,
           "http://crm.example.com/x");
    TAP_OK(TARGET("HTTPS://crm.example.com:8443?a=b") == 0 && t.https
           && t.port == 8443 && t.explicit_port && t.host_len == 15,
           "HTTPS://crm.example.com:8443?a=b");
    TAP_OK(TARGET("http://2130706433:8080/") == 0 && t.literal
           && t.ip.family == 4 && t.ip.a[0] == 127 && t.port == 8080,
           "http://2130706433:8080/ is a literal 127.0.0.1");
    TAP_OK(TARGET("http://[::ffff:127.0.0.1]:81/p") == 0 && t.literal
           && t.ip.family == 6 && t.port == 81, "http://[::ffff:127.0.0.1]:81");
    TAP_OK(TARGET("http://[::1]") == 0 && t.literal && t.port == 80,
           "http://[::1]");

    {
        static const struct {
            const char  *url;
            const char  *err;
        } bad[] = {
            { "ftp://crm.example.com/", "only http and https URLs are pushed" },
            { "file:///etc/passwd", "only http and https URLs are pushed" },
            { "gopher://127.0.0.1:25/", "only http and https URLs are pushed" },
            { "//crm.example.com/", "only http and https URLs are pushed" },
            { "http://", "only http and https URLs are pushed" },
            { "http:///x", "the URL has no host" },
            { "http://:80/x", "the URL has no host" },
            { "http://user:pw@127.0.0.1/", "user info in URLs is not supported" },
            { "http://crm.example.com@127.0.0.1/",
              "user info in URLs is not supported" },
            { "http://127.0.0.1#@crm.example.com/",
              "user info in URLs is not supported" },
            { "http://127.0.0.1#x/",
              "the URL's host has characters a host name cannot have" },
            { "http://crm example/",
              "the URL's host has characters a host name cannot have" },
            { "http://crm.example.com:0/", "the URL's port is invalid" },
            { "http://crm.example.com:65536/", "the URL's port is invalid" },
            { "http://crm.example.com:8x/", "the URL's port is invalid" },
            { "http://crm.example.com:/", "the URL's port is invalid" },
            { "http://[::1/", "the URL's IPv6 host is malformed" },
            { "http://[]/", "the URL's IPv6 host is malformed" },
            { "http://[crm]/", "the URL's IPv6 host is malformed" },
            { "http://[::1]x/", "the URL's IPv6 host is malformed" },
            { "http://[fe80::1%25lo]/", "the URL's IPv6 host is malformed" },
        };

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            err = NULL;
            TAP_OK(TARGET(bad[i].url) == -1, "%s is refused", bad[i].url);
            TAP_IS_STR(err, bad[i].err, "  because: %s", bad[i].err);
        }
    }

    return TAP_DONE();
}
