#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "net-sandbox.h"

/* The address and port a -p value parses to, as "ADDR PORT". */
static const char *parsed(const char *spec) {
        static char out[INET6_ADDRSTRLEN + 8];
        struct sockaddr_storage ss;
        char addr[INET6_ADDRSTRLEN];

        cr_assert_eq(net_expose_parse(spec, &ss), 0, "%s", spec);
        if (ss.ss_family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *) &ss;
                inet_ntop(AF_INET, &in->sin_addr, addr, sizeof addr);
                snprintf(out, sizeof out, "%s %u", addr, ntohs(in->sin_port));
        } else {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) &ss;
                cr_assert_eq(ss.ss_family, AF_INET6, "%s", spec);
                inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof addr);
                snprintf(out, sizeof out, "%s %u", addr, ntohs(in6->sin6_port));
        }
        return out;
}

Test(net_expose, accepts) {
        cr_expect_str_eq(parsed("8080"), "127.0.0.1 8080");
        cr_expect_str_eq(parsed("127.0.0.1:30559"), "127.0.0.1 30559");
        cr_expect_str_eq(parsed("192.0.2.7:1"), "192.0.2.7 1");
        cr_expect_str_eq(parsed("[::1]:30559"), "::1 30559");
        cr_expect_str_eq(parsed("[2001:db8::7]:65535"), "2001:db8::7 65535");
        cr_expect_str_eq(parsed("[127.0.0.1]:80"), "127.0.0.1 80");
}

Test(net_expose, rejects) {
        const char *bad[] = {
                "", "abc", "0", "65536", "99999", "-1", "+80", "80x", " 80",
                "localhost:80", "example.com:80", ":80", "[]:80", "127.0.0.1:", "127.0.0.1:abc",
                "127.0.0.1:0", "127.0.0.1:65536", "999.0.0.1:80",
                /* IPv6 without brackets: ambiguous, always refused */
                "::1:30559", "2001:db8::7:80", "::ffff:127.0.0.1:80",
                "[::1]", "[::1:80", "::1]:80", "[not-v6]:80",
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                struct sockaddr_storage ss;
                cr_expect_eq(net_expose_parse(bad[i], &ss), -EINVAL, "'%s' was accepted", bad[i]);
        }
}
