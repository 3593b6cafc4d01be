#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sniff.h"

typedef struct Buf {
        uint8_t b[40000];
        size_t n;
} Buf;

static void put8(Buf *p, uint8_t v) {
        cr_assert_lt(p->n, sizeof p->b);
        p->b[p->n++] = v;
}

static void put16(Buf *p, size_t v) {
        put8(p, (uint8_t) (v >> 8));
        put8(p, (uint8_t) v);
}

static void put24(Buf *p, size_t v) {
        put8(p, (uint8_t) (v >> 16));
        put16(p, v & 0xffff);
}

static void put_bytes(Buf *p, const void *d, size_t n) {
        for (size_t i = 0; i < n; i++)
                put8(p, ((const uint8_t *) d)[i]);
}

static void put_sni_ext(Buf *p, const char *const *names, size_t n_names) {
        size_t list = 0;

        for (size_t i = 0; i < n_names; i++)
                list += 3 + strlen(names[i]);
        put16(p, 0);            /* server_name */
        put16(p, list + 2);
        put16(p, list);
        for (size_t i = 0; i < n_names; i++) {
                put8(p, 0);     /* host_name */
                put16(p, strlen(names[i]));
                put_bytes(p, names[i], strlen(names[i]));
        }
}

typedef struct HelloOpts {
        const char *const *sni;         /* NULL: no SNI */
        size_t n_sni;
        bool sni_twice;
        size_t padding;                 /* padding extension (21) before SNI */
        bool no_extensions;
} HelloOpts;

/* A ClientHello handshake message (no record layer). */
static void build_hello_body(Buf *hs, const HelloOpts *o) {
        Buf ext = {};
        Buf body = {};

        if (o->padding > 0) {
                put16(&ext, 21);
                put16(&ext, o->padding);
                for (size_t i = 0; i < o->padding; i++)
                        put8(&ext, 0);
        }
        /* supported_versions: TLS 1.3, TLS 1.2 */
        put16(&ext, 43);
        put16(&ext, 5);
        put8(&ext, 4);
        put16(&ext, 0x0304);
        put16(&ext, 0x0303);
        if (o->sni) {
                put_sni_ext(&ext, o->sni, o->n_sni);
                if (o->sni_twice)
                        put_sni_ext(&ext, o->sni, o->n_sni);
        }

        put16(&body, 0x0303);
        for (int i = 0; i < 32; i++)
                put8(&body, (uint8_t) i);
        put8(&body, 32);                /* session id */
        for (int i = 0; i < 32; i++)
                put8(&body, 0xaa);
        put16(&body, 4);                /* cipher suites */
        put16(&body, 0x1301);
        put16(&body, 0x1302);
        put8(&body, 1);                 /* compression: null */
        put8(&body, 0);
        if (!o->no_extensions) {
                put16(&body, ext.n);
                put_bytes(&body, ext.b, ext.n);
        }

        hs->n = 0;
        put8(hs, 1);                    /* client_hello */
        put24(hs, body.n);
        put_bytes(hs, body.b, body.n);
}

/* Wraps a handshake stream into records of at most frag bytes. */
static void build_records(Buf *out, const Buf *hs, size_t frag) {
        out->n = 0;
        for (size_t off = 0; off < hs->n; off += frag) {
                size_t n = hs->n - off < frag ? hs->n - off : frag;

                put8(out, 0x16);
                put8(out, 3);
                put8(out, 1);
                put16(out, n);
                put_bytes(out, hs->b + off, n);
        }
}

static void build_hello(Buf *out, const HelloOpts *o, size_t frag) {
        Buf hs;
        build_hello_body(&hs, o);
        build_records(out, &hs, frag);
}

static const char *const example[] = { "Example.COM" };

Test(sniff, tls_sni) {
        HelloOpts o = { .sni = example, .n_sni = 1 };
        SniffResult r;
        Buf b;

        build_hello(&b, &o, 16384);
        cr_assert_eq(sniff_stream(b.b, b.n, &r), SNIFF_FOUND);
        cr_expect_eq(r.proto, SNIFF_PROTO_TLS);
        cr_expect_str_eq(r.host, "example.com");
        cr_expect_eq(r.port, 0);
}

Test(sniff, tls_every_prefix_needs_more) {
        HelloOpts o = { .sni = example, .n_sni = 1 };
        SniffResult r;
        Buf b;

        build_hello(&b, &o, 16384);
        for (size_t n = 0; n < b.n; n++)
                cr_assert_eq(sniff_stream(b.b, n, &r), SNIFF_NEED_MORE, "prefix %zu: %s", n,
                             sniff_status_to_string(sniff_stream(b.b, n, &r)));
}

Test(sniff, tls_hello_fragmented_over_records) {
        HelloOpts o = { .sni = example, .n_sni = 1, .padding = 500 };
        SniffResult r;
        Buf b;

        for (size_t frag = 1; frag < 700; frag += 37) {
                build_hello(&b, &o, frag);
                cr_assert_eq(sniff_stream(b.b, b.n, &r), SNIFF_FOUND, "fragment size %zu", frag);
                cr_expect_str_eq(r.host, "example.com");
                cr_expect_eq(sniff_stream(b.b, b.n - 1, &r), SNIFF_NEED_MORE);
        }
}

Test(sniff, tls_large_hello_within_bound) {
        HelloOpts o = { .sni = example, .n_sni = 1, .padding = 12000 };
        SniffResult r;
        Buf b;

        build_hello(&b, &o, 16384);
        cr_assert_eq(sniff_stream(b.b, b.n, &r), SNIFF_FOUND);
        build_hello(&b, &o, 4000);
        cr_assert_eq(sniff_stream(b.b, b.n, &r), SNIFF_FOUND);
}

Test(sniff, tls_hello_over_bound_is_malformed) {
        HelloOpts o = { .sni = example, .n_sni = 1, .padding = 20000 };
        SniffResult r;
        Buf b;

        build_hello(&b, &o, 16384);
        cr_expect_eq(sniff_stream(b.b, b.n, &r), SNIFF_MALFORMED);
        /* Known as soon as the handshake length is visible. */
        cr_expect_eq(sniff_stream(b.b, 9, &r), SNIFF_MALFORMED);
}

Test(sniff, tls_without_sni) {
        HelloOpts o = {};
        HelloOpts none = { .no_extensions = true };
        SniffResult r;
        Buf b;

        build_hello(&b, &o, 16384);
        cr_expect_eq(sniff_stream(b.b, b.n, &r), SNIFF_NOT_FOUND);
        cr_expect_eq(r.proto, SNIFF_PROTO_TLS);
        build_hello(&b, &none, 16384);
        cr_expect_eq(sniff_stream(b.b, b.n, &r), SNIFF_NOT_FOUND);
}

Test(sniff, tls_ambiguous_sni_is_malformed) {
        const char *const two[] = { "a.example", "b.example" };
        const char *const bad[] = { "exa mple.com" };
        const char *const nul[] = { "a\x01.com" };
        HelloOpts twice = { .sni = example, .n_sni = 1, .sni_twice = true };
        HelloOpts two_names = { .sni = two, .n_sni = 2 };
        HelloOpts bad_name = { .sni = bad, .n_sni = 1 };
        HelloOpts ctl_name = { .sni = nul, .n_sni = 1 };
        SniffResult r;
        Buf b;

        build_hello(&b, &twice, 16384);
        cr_expect_eq(sniff_stream(b.b, b.n, &r), SNIFF_MALFORMED);
        build_hello(&b, &two_names, 16384);
        cr_expect_eq(sniff_stream(b.b, b.n, &r), SNIFF_MALFORMED);
        build_hello(&b, &bad_name, 16384);
        cr_expect_eq(sniff_stream(b.b, b.n, &r), SNIFF_MALFORMED);
        build_hello(&b, &ctl_name, 16384);
        cr_expect_eq(sniff_stream(b.b, b.n, &r), SNIFF_MALFORMED);
}

Test(sniff, tls_bad_framing) {
        HelloOpts o = { .sni = example, .n_sni = 1 };
        SniffResult r;
        Buf b;

        build_hello(&b, &o, 16384);
        b.b[2] = 5;                     /* record version 3.5 */
        cr_expect_eq(sniff_stream(b.b, b.n, &r), SNIFF_MALFORMED);
        cr_expect_eq(sniff_stream(b.b, 3, &r), SNIFF_MALFORMED, "seen in a partial header");

        build_hello(&b, &o, 16384);
        b.b[5] = 2;                     /* server_hello */
        cr_expect_eq(sniff_stream(b.b, b.n, &r), SNIFF_MALFORMED);

        build_hello(&b, &o, 16384);
        b.b[3] = 0;                     /* empty record */
        b.b[4] = 0;
        cr_expect_eq(sniff_stream(b.b, b.n, &r), SNIFF_MALFORMED);

        /* A second record of another content type while reassembling. */
        build_hello(&b, &o, 50);
        b.b[55] = 0x17;
        cr_expect_eq(sniff_stream(b.b, b.n, &r), SNIFF_MALFORMED);

        /* An application-data record first is not TLS we can read. */
        build_hello(&b, &o, 16384);
        b.b[0] = 0x17;
        cr_expect_eq(sniff_stream(b.b, b.n, &r), SNIFF_NOT_TLS_OR_HTTP);
}

Test(sniff, tls_inner_lengths_checked) {
        HelloOpts o = { .sni = example, .n_sni = 1 };
        SniffResult r;
        Buf hs, b;

        build_hello_body(&hs, &o);
        /* session id length 33 */
        hs.b[4 + 34] = 33;
        build_records(&b, &hs, 16384);
        cr_expect_eq(sniff_stream(b.b, b.n, &r), SNIFF_MALFORMED);

        build_hello_body(&hs, &o);
        /* extensions length one short of the real one */
        hs.b[4 + 2 + 32 + 1 + 32 + 2 + 4 + 2 + 1]--;
        build_records(&b, &hs, 16384);
        cr_expect_eq(sniff_stream(b.b, b.n, &r), SNIFF_MALFORMED);
}

static SniffStatus http(const char *s, SniffResult *r) {
        return sniff_stream(s, strlen(s), r);
}

Test(sniff, http_host) {
        const char *req = "GET /index.html HTTP/1.1\r\nUser-Agent: t\r\nhOsT:   Example.com:8080  \r\nAccept: */*\r\n\r\n";
        SniffResult r;

        cr_assert_eq(http(req, &r), SNIFF_FOUND);
        cr_expect_eq(r.proto, SNIFF_PROTO_HTTP);
        cr_expect_str_eq(r.host, "example.com");
        cr_expect_eq(r.port, 8080);

        for (size_t n = 0; n < strlen(req); n++)
                cr_assert_eq(sniff_stream(req, n, &r), SNIFF_NEED_MORE, "prefix %zu", n);

        cr_assert_eq(http("POST /x HTTP/1.0\nHost: [2001:DB8::1]:8443\n\nbody", &r), SNIFF_FOUND);
        cr_expect_str_eq(r.host, "2001:db8::1");
        cr_expect_eq(r.port, 8443);
}

Test(sniff, http_absolute_form_wins) {
        SniffResult r;

        cr_assert_eq(http("GET http://a.example:81/x HTTP/1.1\r\nHost: b.example\r\n\r\n", &r), SNIFF_FOUND);
        cr_expect_str_eq(r.host, "a.example");
        cr_expect_eq(r.port, 81);
        cr_assert_eq(http("GET http://user:pw@c.example HTTP/1.1\r\n\r\n", &r), SNIFF_FOUND);
        cr_expect_str_eq(r.host, "c.example");
}

Test(sniff, http_without_host) {
        SniffResult r;

        cr_expect_eq(http("GET / HTTP/1.0\r\n\r\n", &r), SNIFF_NOT_FOUND);
        cr_expect_eq(r.proto, SNIFF_PROTO_HTTP);
        cr_expect_eq(http("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &r), SNIFF_NOT_FOUND);
}

Test(sniff, http_ambiguous_is_malformed) {
        SniffResult r;

        cr_expect_eq(http("GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", &r), SNIFF_MALFORMED);
        cr_expect_eq(http("GET / HTTP/1.1\r\nHost : a.example\r\n\r\n", &r), SNIFF_MALFORMED);
        cr_expect_eq(http("GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\nHost: a.example\r\n\r\n", &r), SNIFF_MALFORMED);
        cr_expect_eq(http("GET / HTTP/1.1\r\nHost: a.example, b.example\r\n\r\n", &r), SNIFF_MALFORMED);
        cr_expect_eq(http("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", &r), SNIFF_MALFORMED);
        cr_expect_eq(http("GET / HTTP/1.1\r\nHost: a.example:99999\r\n\r\n", &r), SNIFF_MALFORMED);
        cr_expect_eq(http("GET /  HTTP/1.1\r\nHost: a.example\r\n\r\n", &r), SNIFF_MALFORMED);
        cr_expect_eq(http("GET / HTTP/3.0\r\nHost: a.example\r\n\r\n", &r), SNIFF_NOT_FOUND);
        cr_expect_eq(http("GET / FTP/1.0\r\n\r\n", &r), SNIFF_MALFORMED);
}

Test(sniff, http_header_bound) {
        static char big[SNIFF_MAX_BYTES + 100];
        SniffResult r;

        strcpy(big, "GET / HTTP/1.1\r\nX-Pad: ");
        memset(big + strlen(big), 'a', sizeof big - strlen(big) - 1);
        cr_expect_eq(sniff_stream(big, SNIFF_MAX_BYTES - 1, &r), SNIFF_NEED_MORE);
        cr_expect_eq(sniff_stream(big, SNIFF_MAX_BYTES, &r), SNIFF_MALFORMED);
        cr_expect_eq(sniff_stream(big, sizeof big - 1, &r), SNIFF_MALFORMED);
}

Test(sniff, other_protocols) {
        SniffResult r;

        cr_expect_eq(http("SSH-2.0-OpenSSH_9.2\r\n", &r), SNIFF_NOT_TLS_OR_HTTP);
        cr_expect_eq(sniff_stream("\x00\x01\x02", 3, &r), SNIFF_NOT_TLS_OR_HTTP);
        cr_expect_eq(http("get / HTTP/1.1\r\n\r\n", &r), SNIFF_NOT_TLS_OR_HTTP);
        cr_expect_eq(http(" GET", &r), SNIFF_NOT_TLS_OR_HTTP);
        cr_expect_eq(http("ABCDEFGHIJKLMNOPQRSTUVWXYZ", &r), SNIFF_NOT_TLS_OR_HTTP, "method too long");
        cr_expect_eq(http("GE", &r), SNIFF_NEED_MORE);
        cr_expect_eq(sniff_stream("", 0, &r), SNIFF_NEED_MORE);
}

Test(sniff, fuzz) {
        static uint8_t buf[SNIFF_MAX_BYTES + 16];
        HelloOpts o = { .sni = example, .n_sni = 1, .padding = 300 };
        unsigned seed = 4242;
        Buf valid;

        build_hello(&valid, &o, 200);
        for (int i = 0; i < 100000; i++) {
                SniffResult r;
                SniffStatus s;
                size_t n;

                switch (i % 3) {
                case 0:
                        n = (size_t) rand_r(&seed) % 600;
                        for (size_t j = 0; j < n; j++)
                                buf[j] = (uint8_t) rand_r(&seed);
                        buf[0] = (i & 4) ? 0x16 : 'G';
                        break;
                case 1:
                        memcpy(buf, valid.b, valid.n);
                        for (int k = rand_r(&seed) % 3; k >= 0; k--)
                                buf[(size_t) rand_r(&seed) % valid.n] = (uint8_t) rand_r(&seed);
                        n = (size_t) rand_r(&seed) % (valid.n + 1);
                        break;
                default: {
                        const char *req = "GET http://a.example/ HTTP/1.1\r\nHost: b.example:80\r\nX: y\r\n\r\n";
                        n = strlen(req);
                        memcpy(buf, req, n);
                        for (int k = rand_r(&seed) % 3; k >= 0; k--)
                                buf[(size_t) rand_r(&seed) % n] = (uint8_t) rand_r(&seed);
                        n = (size_t) rand_r(&seed) % (n + 1);
                }
                }

                s = sniff_stream(buf, n, &r);
                cr_assert_not_null(sniff_status_to_string(s));
                if (s == SNIFF_FOUND) {
                        cr_assert_gt(strlen(r.host), 0);
                        for (const char *c = r.host; *c; c++)
                                cr_assert(strchr("abcdefghijklmnopqrstuvwxyz0123456789-_.:", *c), "bad char in %s",
                                          r.host);
                }
        }
}
