#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy-proto.h"
#include "socks5-client.h"

/* --- SOCKS5 server side --- */

Test(socks5, greeting) {
        const uint8_t noauth[] = { 5, 2, 2, 0 };
        const uint8_t only_userpass[] = { 5, 1, 2 };
        uint8_t m = 0x55, out[2];

        for (size_t n = 0; n < sizeof noauth; n++)
                cr_expect_eq(socks5_parse_greeting(noauth, n, &m), 0, "prefix %zu", n);
        cr_assert_eq(socks5_parse_greeting(noauth, sizeof noauth, &m), 4);
        cr_expect_eq(m, SOCKS5_METHOD_NO_AUTH);
        cr_assert_eq(socks5_parse_greeting(only_userpass, sizeof only_userpass, &m), 3);
        cr_expect_eq(m, SOCKS5_METHOD_NO_ACCEPTABLE);

        cr_expect_eq(socks5_parse_greeting("\x04\x01\x00", 3, &m), -EBADMSG, "SOCKS4");
        cr_expect_eq(socks5_parse_greeting("\x05\x00", 2, &m), -EBADMSG, "no methods");
        cr_expect_eq(socks5_parse_greeting("G", 1, &m), -EBADMSG, "HTTP sent to the SOCKS port");

        cr_assert_eq(socks5_build_method_reply(SOCKS5_METHOD_NO_AUTH, out, sizeof out), 2);
        cr_expect_eq(out[0], 5);
        cr_expect_eq(out[1], 0);
        cr_expect_eq(socks5_build_method_reply(0, out, 1), -ENOBUFS);
}

Test(socks5, request_ipv4_ipv6_domain) {
        const uint8_t v4[] = { 5, 1, 0, 1, 192, 0, 2, 1, 0x01, 0xbb };
        uint8_t v6[22] = { 5, 1, 0, 4 };
        const uint8_t dom[] = { 5, 1, 0, 3, 11, 'E', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'C', 'O', 'M', 0, 80 };
        const uint8_t ipdom[] = { 5, 1, 0, 3, 9, '1', '9', '2', '.', '0', '.', '2', '.', '7', 0, 22 };
        ProxyTarget t;
        uint8_t cmd;

        for (size_t n = 0; n < sizeof v4; n++)
                cr_expect_eq(socks5_parse_request(v4, n, &cmd, &t), 0, "prefix %zu", n);
        cr_assert_eq(socks5_parse_request(v4, sizeof v4, &cmd, &t), 10);
        cr_expect_eq(cmd, SOCKS5_CMD_CONNECT);
        cr_expect_str_eq(t.host, "192.0.2.1");
        cr_expect_eq(t.port, 443);
        cr_expect_eq(t.family, AF_INET);

        inet_pton(AF_INET6, "2001:db8::1", v6 + 4);
        v6[20] = 0x20;
        v6[21] = 0xfb;
        cr_assert_eq(socks5_parse_request(v6, sizeof v6, &cmd, &t), 22);
        cr_expect_str_eq(t.host, "2001:db8::1");
        cr_expect_eq(t.port, 8443);
        cr_expect_eq(t.family, AF_INET6);

        for (size_t n = 0; n < sizeof dom; n++)
                cr_expect_eq(socks5_parse_request(dom, n, &cmd, &t), 0, "prefix %zu", n);
        cr_assert_eq(socks5_parse_request(dom, sizeof dom, &cmd, &t), (int) sizeof dom);
        cr_expect_str_eq(t.host, "example.com");
        cr_expect_eq(t.port, 80);
        cr_expect_eq(t.family, AF_UNSPEC);

        cr_assert_eq(socks5_parse_request(ipdom, sizeof ipdom, &cmd, &t), (int) sizeof ipdom);
        cr_expect_eq(t.family, AF_INET, "an address sent as a domain is still an address");
        cr_expect_str_eq(t.host, "192.0.2.7");
}

Test(socks5, request_refusals) {
        const uint8_t rsv[] = { 5, 1, 1, 1, 192, 0, 2, 1, 0, 80 };
        const uint8_t atyp[] = { 5, 1, 0, 5, 1, 2, 3, 4, 0, 80 };
        const uint8_t empty[] = { 5, 1, 0, 3, 0, 0, 80 };
        const uint8_t space[] = { 5, 1, 0, 3, 3, 'a', ' ', 'b', 0, 80 };
        const uint8_t nul[] = { 5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80 };
        const uint8_t port0[] = { 5, 1, 0, 1, 192, 0, 2, 1, 0, 0 };
        const uint8_t bind[] = { 5, 2, 0, 1, 192, 0, 2, 1, 0, 80 };
        const uint8_t udp[] = { 5, 3, 0, 1, 0, 0, 0, 0, 0, 80 };
        ProxyTarget t;
        uint8_t cmd;

        cr_expect_eq(socks5_parse_request(rsv, sizeof rsv, &cmd, &t), -EBADMSG);
        cr_expect_eq(socks5_parse_request(atyp, sizeof atyp, &cmd, &t), -EAFNOSUPPORT);
        cr_expect_eq(socks5_parse_request(empty, sizeof empty, &cmd, &t), -EBADMSG);
        cr_expect_eq(socks5_parse_request(space, sizeof space, &cmd, &t), -EBADMSG);
        cr_expect_eq(socks5_parse_request(nul, sizeof nul, &cmd, &t), -EBADMSG);
        cr_expect_eq(socks5_parse_request(port0, sizeof port0, &cmd, &t), -EBADMSG);
        cr_expect_eq(socks5_parse_request("\x04", 1, &cmd, &t), -EBADMSG);

        cr_assert_eq(socks5_parse_request(bind, sizeof bind, &cmd, &t), 10);
        cr_expect_eq(cmd, SOCKS5_CMD_BIND, "parsed, for the caller to answer 0x07");
        cr_assert_eq(socks5_parse_request(udp, sizeof udp, &cmd, &t), 10);
        cr_expect_eq(cmd, SOCKS5_CMD_UDP_ASSOCIATE);
}

Test(socks5, replies) {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(1080) };
        struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
        const uint8_t denied[] = { 5, 2, 0, 1, 0, 0, 0, 0, 0, 0 };
        uint8_t b[32];

        cr_assert_eq(socks5_build_reply(SOCKS5_REP_NOT_ALLOWED, NULL, b, sizeof b), 10);
        cr_expect_eq(memcmp(b, denied, 10), 0);

        inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
        cr_assert_eq(socks5_build_reply(0, (struct sockaddr *) &sin, b, sizeof b), 10);
        cr_expect_eq(b[3], SOCKS5_ATYP_IPV4);
        cr_expect_eq(b[4], 127);
        cr_expect_eq(b[8] << 8 | b[9], 1080);

        inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
        cr_assert_eq(socks5_build_reply(0, (struct sockaddr *) &sin6, b, sizeof b), 22);
        cr_expect_eq(b[3], SOCKS5_ATYP_IPV6);
        cr_expect_eq(b[19], 1);
        cr_expect_eq(b[20] << 8 | b[21], 443);
        cr_expect_eq(socks5_build_reply(0, (struct sockaddr *) &sin6, b, 21), -ENOBUFS);
        cr_expect_eq(socks5_build_reply(0, NULL, b, 9), -ENOBUFS);

        cr_expect_eq(socks5_rep_from_errno(-ECONNREFUSED), SOCKS5_REP_CONNECTION_REFUSED);
        cr_expect_eq(socks5_rep_from_errno(ENETUNREACH), SOCKS5_REP_NETWORK_UNREACHABLE);
        cr_expect_eq(socks5_rep_from_errno(-EHOSTUNREACH), SOCKS5_REP_HOST_UNREACHABLE);
        cr_expect_eq(socks5_rep_from_errno(-ETIMEDOUT), SOCKS5_REP_TTL_EXPIRED);
        cr_expect_eq(socks5_rep_from_errno(-EACCES), SOCKS5_REP_NOT_ALLOWED);
        cr_expect_eq(socks5_rep_from_errno(-EIO), SOCKS5_REP_GENERAL_FAILURE);
}

/* --- HTTP proxy --- */

static int parse(const char *s, HttpProxyRequest *r) {
        return http_proxy_parse_request(s, strlen(s), r);
}

Test(http_proxy, connect) {
        const char *req = "CONNECT Example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nUser-Agent: curl\r\n\r\n";
        char with_data[256];
        HttpProxyRequest r;

        for (size_t n = 0; n < strlen(req); n++)
                cr_assert_eq(http_proxy_parse_request(req, n, &r), 0, "prefix %zu", n);
        cr_assert_eq(parse(req, &r), (int) strlen(req));
        cr_expect_eq(r.kind, HTTP_PROXY_CONNECT);
        cr_expect_str_eq(r.target.host, "example.com");
        cr_expect_eq(r.target.port, 443);
        cr_expect_eq(r.head_len, strlen(req));

        /* The client may pipeline its TLS hello after the head. */
        snprintf(with_data, sizeof with_data, "%s\x16\x03\x01", req);
        cr_assert_eq(parse(with_data, &r), (int) strlen(req));

        cr_assert_gt(parse("CONNECT example.com HTTP/1.1\r\n\r\n", &r), 0);
        cr_expect_eq(r.target.port, 443, "fence's default");
        cr_assert_gt(parse("CONNECT [2001:db8::1]:8443 HTTP/1.1\n\n", &r), 0);
        cr_expect_str_eq(r.target.host, "2001:db8::1");
        cr_expect_eq(r.target.family, AF_INET6);
        cr_expect_eq(r.target.port, 8443);
}

Test(http_proxy, forward_and_rewrite) {
        const char *req = "GET http://Example.com/path?q=1 HTTP/1.1\r\n"
                          "Host: evil.example\r\n"
                          "User-Agent: t\r\n"
                          "Proxy-Connection: keep-alive\r\n"
                          "Proxy-Authorization: Basic eDp5\r\n"
                          "Connection: keep-alive\r\n"
                          "Keep-Alive: timeout=5\r\n"
                          "Accept: */*\r\n"
                          "\r\n";
        _cleanup_free_ char *out = NULL;
        HttpProxyRequest r;
        size_t n;

        cr_assert_eq(parse(req, &r), (int) strlen(req));
        cr_expect_eq(r.kind, HTTP_PROXY_FORWARD);
        cr_expect_str_eq(r.target.host, "example.com");
        cr_expect_eq(r.target.port, 80);

        cr_assert_eq(http_proxy_rewrite_head(req, &r, &out, &n), 0);
        cr_expect_str_eq(out, "GET /path?q=1 HTTP/1.1\r\n"
                              "Host: example.com\r\n"
                              "User-Agent: t\r\n"
                              "Accept: */*\r\n"
                              "Connection: close\r\n"
                              "\r\n");
        cr_expect_eq(n, strlen(out));
}

Test(http_proxy, forward_variants) {
        const char *a = "POST http://example.com:8080 HTTP/1.0\nContent-Length: 0\n\n";
        const char *b = "GET http://[2001:db8::1]/x HTTP/1.1\r\n\r\n";
        const char *c = "GET http://user:pw@example.com?x HTTP/1.1\r\n\r\n";
        _cleanup_free_ char *oa = NULL, *ob = NULL, *oc = NULL;
        HttpProxyRequest r;
        size_t n;

        cr_assert_gt(parse(a, &r), 0);
        cr_expect_eq(r.target.port, 8080);
        cr_assert_eq(http_proxy_rewrite_head(a, &r, &oa, &n), 0);
        cr_expect_str_eq(oa, "POST / HTTP/1.0\r\nHost: example.com:8080\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

        cr_assert_gt(parse(b, &r), 0);
        cr_assert_eq(http_proxy_rewrite_head(b, &r, &ob, &n), 0);
        cr_expect_str_eq(ob, "GET /x HTTP/1.1\r\nHost: [2001:db8::1]\r\nConnection: close\r\n\r\n");

        cr_assert_gt(parse(c, &r), 0);
        cr_expect_str_eq(r.target.host, "example.com");
        cr_assert_eq(http_proxy_rewrite_head(c, &r, &oc, &n), 0);
        cr_expect_str_eq(oc, "GET /?x HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
}

Test(http_proxy, refusals) {
        static char big[HTTP_PROXY_HEAD_MAX + 64];
        HttpProxyRequest r;

        cr_expect_eq(parse("GET https://example.com/ HTTP/1.1\r\n\r\n", &r), -EPROTONOSUPPORT);
        cr_expect_eq(parse("GET ftp://example.com/ HTTP/1.1\r\n\r\n", &r), -EPROTONOSUPPORT);
        cr_expect_eq(parse("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", &r), -EPROTONOSUPPORT);
        cr_expect_eq(parse("GET  http://a.example/ HTTP/1.1\r\n\r\n", &r), -EBADMSG);
        cr_expect_eq(parse("GET http://a.example/ HTTP/2\r\n\r\n", &r), -EBADMSG);
        cr_expect_eq(parse("GET http://a b/ HTTP/1.1\r\n\r\n", &r), -EBADMSG);
        cr_expect_eq(parse("GET http:/// HTTP/1.1\r\n\r\n", &r), -EBADMSG);
        cr_expect_eq(parse("CONNECT a.example:99999 HTTP/1.1\r\n\r\n", &r), -EBADMSG);
        cr_expect_eq(parse("CONNECT user@a.example:443 HTTP/1.1\r\n\r\n", &r), -EBADMSG);
        cr_expect_eq(parse("CONNECT a.example:443 HTTP/1.1\r\n folded\r\n\r\n", &r), -EBADMSG);
        cr_expect_eq(parse("CONNECT a.example:443 HTTP/1.1\r\nBad Name: x\r\n\r\n", &r), -EBADMSG);
        cr_expect_eq(parse("CONNECT a.example:443 HTTP/1.1\r\nX: a\rb\r\n\r\n", &r), -EBADMSG);
        cr_expect_eq(http_proxy_parse_request("\x05\x01\x00", 3, &r), -EBADMSG, "SOCKS sent to the HTTP port");
        cr_expect_eq(http_proxy_parse_request("CONNECT a\0b:1 HTTP/1.1\r\n\r\n", 26, &r), -EBADMSG);

        strcpy(big, "CONNECT a.example:443 HTTP/1.1\r\nX: ");
        memset(big + strlen(big), 'a', sizeof big - strlen(big) - 1);
        cr_expect_eq(http_proxy_parse_request(big, HTTP_PROXY_HEAD_MAX, &r), 0);
        cr_expect_eq(http_proxy_parse_request(big, sizeof big - 1, &r), -E2BIG);
}

Test(http_proxy, responses) {
        _cleanup_free_ char *blocked = NULL, *bad = NULL;
        const char *body;
        size_t n;

        cr_assert_eq(http_proxy_build_blocked("\"x.test\" is not in network.allowedDomains", &blocked, &n), 0);
        cr_expect_eq(n, strlen(blocked));
        cr_expect(strncmp(blocked, "HTTP/1.1 403 Forbidden\r\n", 24) == 0, "%s", blocked);
        cr_expect(strstr(blocked, "\r\nX-Proxy-Error: blocked-by-allowlist\r\n"));
        cr_expect(strstr(blocked, "\r\nConnection: close\r\n"));
        body = strstr(blocked, "\r\n\r\n");
        cr_assert_not_null(body);
        body += 4;
        cr_expect_str_eq(body, "Connection blocked by network allowlist\n\"x.test\" is not in network.allowedDomains\n");
        {
                char cl[64];
                snprintf(cl, sizeof cl, "\r\nContent-Length: %zu\r\n", strlen(body));
                cr_expect(strstr(blocked, cl), "%s", blocked);
        }

        cr_assert_eq(http_proxy_build_response(502, "Bad Gateway\n", &bad, &n), 0);
        cr_expect(strncmp(bad, "HTTP/1.1 502 Bad Gateway\r\n", 26) == 0);
        cr_expect(strstr(bad, "\r\nContent-Length: 12\r\n"));

        cr_expect_eq(http_proxy_build_response(999, "x", &bad, &n), -EINVAL);
}

/* Garbage through both server parsers: never a crash, never a target that
 * is not a clean host. */
Test(proxy_proto, fuzz) {
        static uint8_t buf[2048];
        const char *seeds[] = {
                "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example\r\n\r\n",
                "GET http://a.example:8080/x?y HTTP/1.1\r\nProxy-Connection: x\r\n\r\n",
                "\x05\x01\x00\x03\x09" "a.example" "\x01\xbb",
                "\x05\x02\x00\x01",
        };
        unsigned seed = 99;

        for (int i = 0; i < 100000; i++) {
                HttpProxyRequest hr;
                ProxyTarget t;
                uint8_t cmd, m;
                size_t n;
                int r;

                if (i % 2) {
                        const char *s = seeds[(size_t) rand_r(&seed) % 4];
                        n = strlen(s);
                        memcpy(buf, s, n);
                        for (int k = rand_r(&seed) % 3; k >= 0; k--)
                                buf[(size_t) rand_r(&seed) % n] = (uint8_t) rand_r(&seed);
                        n = (size_t) rand_r(&seed) % (n + 1);
                } else {
                        n = (size_t) rand_r(&seed) % 300;
                        for (size_t j = 0; j < n; j++)
                                buf[j] = (uint8_t) rand_r(&seed);
                }

                r = http_proxy_parse_request(buf, n, &hr);
                if (r > 0) {
                        _cleanup_free_ char *out = NULL;
                        size_t out_len;

                        cr_assert_leq((size_t) r, n);
                        cr_assert_gt(strlen(hr.target.host), 0);
                        if (hr.kind == HTTP_PROXY_FORWARD) {
                                cr_assert_eq(http_proxy_rewrite_head(buf, &hr, &out, &out_len), 0);
                                cr_assert_not_null(strstr(out, "\r\nConnection: close\r\n\r\n"));
                        }
                }
                r = socks5_parse_request(buf, n, &cmd, &t);
                if (r > 0)
                        cr_assert_gt(strlen(t.host), 0);
                r = socks5_parse_greeting(buf, n, &m);
                if (r > 0)
                        cr_assert_leq((size_t) r, n);
        }
}

/* --- SOCKS5 client against a scripted server on a socketpair --- */

typedef struct Pair {
        int client, server;
} Pair;

static Pair pair_new(void) {
        int fds[2];

        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        return (Pair) { fds[0], fds[1] };
}

static void pair_close(Pair *p) {
        close(p->client);
        if (p->server >= 0)
                close(p->server);
}

/* Reads exactly what the client has sent so far and compares it. */
static void expect_sent(Pair *p, const void *want, size_t n) {
        uint8_t got[600];
        ssize_t k = recv(p->server, got, sizeof got, 0);

        cr_assert_eq(k, (ssize_t) n, "client sent %zd bytes, expected %zu", k, n);
        cr_assert_eq(memcmp(got, want, n), 0);
}

static void answer(Pair *p, const void *d, size_t n) {
        cr_assert_eq(send(p->server, d, n, 0), (ssize_t) n);
}

static ProxyTarget domain_target(const char *host, uint16_t port) {
        ProxyTarget t = { .port = port, .family = AF_UNSPEC };
        strcpy(t.host, host);
        return t;
}

Test(socks5_client, no_auth_domain_and_no_overread) {
        ProxyTarget t = domain_target("example.com", 443);
        const uint8_t greet[] = { 5, 1, 0 };
        const uint8_t req[] = { 5, 1, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 1, 0xbb };
        const uint8_t ok[] = { 5, 0, 0, 1, 127, 0, 0, 1, 0x04, 0x38, 'S', 'S', 'H', '-' };
        _cleanup_socks5_client_ Socks5Client *c = NULL;
        Pair p = pair_new();
        char rest[8];

        cr_assert_eq(socks5_client_new(&t, NULL, NULL, &c), 0);
        cr_expect_eq(socks5_client_events(c), EPOLLOUT);
        cr_assert_eq(socks5_client_step(c, p.client), 0);
        cr_expect_eq(socks5_client_events(c), EPOLLIN);
        expect_sent(&p, greet, sizeof greet);

        cr_assert_eq(socks5_client_step(c, p.client), 0, "nothing to read yet");
        answer(&p, "\x05\x00", 2);
        cr_assert_eq(socks5_client_step(c, p.client), 0);
        expect_sent(&p, req, sizeof req);

        /* The reply and the first bytes of the tunnelled stream in one go. */
        answer(&p, ok, sizeof ok);
        cr_assert_eq(socks5_client_step(c, p.client), 1);
        cr_expect_eq(socks5_client_events(c), 0);
        cr_expect_eq(socks5_client_reply_code(c), 0);
        cr_assert_eq(recv(p.client, rest, sizeof rest, 0), 4, "stream bytes left on the socket");
        cr_expect_eq(memcmp(rest, "SSH-", 4), 0);
        pair_close(&p);
}

Test(socks5_client, userpass_ipv6_reply_byte_by_byte) {
        ProxyTarget t = { .port = 8443, .family = AF_INET6 };
        const uint8_t greet[] = { 5, 1, 2 };
        const uint8_t auth[] = { 1, 4, 'u', 's', 'e', 'r', 6, 's', 'e', 'c', 'r', 'e', 't' };
        uint8_t req[22] = { 5, 1, 0, 4 };
        /* BND as a domain: exercises the variable-length reply. */
        const uint8_t ok[] = { 5, 0, 0, 3, 5, 'p', 'r', 'o', 'x', 'y', 0x04, 0x38 };
        _cleanup_socks5_client_ Socks5Client *c = NULL;
        Pair p = pair_new();

        inet_pton(AF_INET6, "2001:db8::1", t.addr);
        strcpy(t.host, "2001:db8::1");
        memcpy(req + 4, t.addr, 16);
        req[20] = 0x20;
        req[21] = 0xfb;

        cr_assert_eq(socks5_client_new(&t, "user", "secret", &c), 0);
        cr_assert_eq(socks5_client_step(c, p.client), 0);
        expect_sent(&p, greet, sizeof greet);
        answer(&p, "\x05\x02", 2);
        cr_assert_eq(socks5_client_step(c, p.client), 0);
        expect_sent(&p, auth, sizeof auth);
        answer(&p, "\x01\x00", 2);
        cr_assert_eq(socks5_client_step(c, p.client), 0);
        expect_sent(&p, req, sizeof req);

        for (size_t i = 0; i < sizeof ok - 1; i++) {
                answer(&p, ok + i, 1);
                cr_assert_eq(socks5_client_step(c, p.client), 0, "byte %zu", i);
        }
        answer(&p, ok + sizeof ok - 1, 1);
        cr_assert_eq(socks5_client_step(c, p.client), 1);
        pair_close(&p);
}

static int run_until_error(const char *const *answers, size_t n_answers, bool with_auth, bool close_after) {
        ProxyTarget t = domain_target("example.com", 443);
        _cleanup_socks5_client_ Socks5Client *c = NULL;
        Pair p = pair_new();
        uint8_t sink[600];
        int r = 0;

        cr_assert_eq(socks5_client_new(&t, with_auth ? "u" : NULL, with_auth ? "p" : NULL, &c), 0);
        cr_assert_eq(socks5_client_step(c, p.client), 0);
        for (size_t i = 0; i < n_answers; i++) {
                (void) recv(p.server, sink, sizeof sink, 0);
                answer(&p, answers[i] + 1, (size_t) answers[i][0]);
                r = socks5_client_step(c, p.client);
                if (r != 0)
                        break;
        }
        if (r == 0 && close_after) {
                close(p.server);
                p.server = -1;
                r = socks5_client_step(c, p.client);
        }
        pair_close(&p);
        return r;
}

Test(socks5_client, failures) {
        const char *no_method[] = { "\x02\x05\xff" };
        const char *auth_fail[] = { "\x02\x05\x02", "\x02\x01\x01" };
        const char *wrong_method[] = { "\x02\x05\x02" };
        const char *denied[] = { "\x02\x05\x00", "\x0a\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00" };
        const char *refused[] = { "\x02\x05\x00", "\x0a\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00" };
        const char *garbage[] = { "\x02HT" };
        const char *bad_atyp[] = { "\x02\x05\x00", "\x05\x05\x00\x00\x09\x00" };
        const char *half[] = { "\x02\x05\x00", "\x03\x05\x00\x00" };

        cr_expect_eq(run_until_error(no_method, 1, false, false), -EPERM);
        cr_expect_eq(run_until_error(auth_fail, 2, true, false), -EPERM);
        cr_expect_eq(run_until_error(wrong_method, 1, false, false), -EPROTO, "method we did not offer");
        cr_expect_eq(run_until_error(denied, 2, false, false), -EACCES);
        cr_expect_eq(run_until_error(refused, 2, false, false), -ECONNREFUSED);
        cr_expect_eq(run_until_error(garbage, 1, false, false), -EPROTO);
        cr_expect_eq(run_until_error(bad_atyp, 2, false, false), -EPROTO);
        cr_expect_eq(run_until_error(half, 2, false, true), -ECONNRESET);
        cr_expect_eq(run_until_error(NULL, 0, false, true), -ECONNRESET);
}

Test(socks5_client, reply_code_reported) {
        ProxyTarget t = domain_target("example.com", 443);
        _cleanup_socks5_client_ Socks5Client *c = NULL;
        Pair p = pair_new();
        uint8_t sink[600];

        cr_assert_eq(socks5_client_new(&t, NULL, NULL, &c), 0);
        cr_expect_eq(socks5_client_reply_code(c), -1);
        cr_assert_eq(socks5_client_step(c, p.client), 0);
        (void) recv(p.server, sink, sizeof sink, 0);
        answer(&p, "\x05\x00", 2);
        cr_assert_eq(socks5_client_step(c, p.client), 0);
        answer(&p, "\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00", 10);
        cr_assert_eq(socks5_client_step(c, p.client), -EACCES);
        cr_expect_eq(socks5_client_reply_code(c), SOCKS5_REP_NOT_ALLOWED);
        cr_expect_eq(socks5_client_step(c, p.client), -EINVAL, "a failed client stays failed");
        pair_close(&p);
}

Test(socks5_client, invalid_arguments) {
        ProxyTarget t = domain_target("example.com", 443);
        ProxyTarget noport = domain_target("example.com", 0);
        Socks5Client *c = NULL;
        char longname[300];

        memset(longname, 'a', sizeof longname - 1);
        longname[sizeof longname - 1] = 0;
        cr_expect_eq(socks5_client_new(&t, "u", NULL, &c), -EINVAL);
        cr_expect_eq(socks5_client_new(&t, "", "p", &c), -EINVAL);
        cr_expect_eq(socks5_client_new(&t, longname, "p", &c), -EINVAL);
        cr_expect_eq(socks5_client_new(&noport, NULL, NULL, &c), -EINVAL);
        cr_expect_null(c);
}
