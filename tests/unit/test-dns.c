#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns-cache.h"
#include "dns-message.h"

/* --- a tiny packet builder for hand-made messages --- */

typedef struct Pkt {
        uint8_t b[4096];
        size_t n;
} Pkt;

static void put8(Pkt *p, uint8_t v) {
        cr_assert_lt(p->n, sizeof p->b);
        p->b[p->n++] = v;
}

static void put16(Pkt *p, uint16_t v) {
        put8(p, (uint8_t) (v >> 8));
        put8(p, (uint8_t) v);
}

static void put32(Pkt *p, uint32_t v) {
        put16(p, (uint16_t) (v >> 16));
        put16(p, (uint16_t) v);
}

static void put_bytes(Pkt *p, const void *d, size_t n) {
        for (size_t i = 0; i < n; i++)
                put8(p, ((const uint8_t *) d)[i]);
}

/* Uncompressed name; returns its offset. */
static size_t put_name(Pkt *p, const char *name) {
        size_t at = p->n;
        const char *s = name;

        while (*s) {
                const char *dot = strchr(s, '.');
                size_t l = dot ? (size_t) (dot - s) : strlen(s);

                put8(p, (uint8_t) l);
                put_bytes(p, s, l);
                s += l + (dot ? 1 : 0);
        }
        put8(p, 0);
        return at;
}

static void put_ptr(Pkt *p, size_t offset) {
        put16(p, (uint16_t) (0xc000 | offset));
}

static void put_header(Pkt *p, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar) {
        p->n = 0;
        put16(p, id);
        put16(p, flags);
        put16(p, qd);
        put16(p, an);
        put16(p, ns);
        put16(p, ar);
}

static void build_query(Pkt *p, uint16_t id, const char *name, uint16_t type) {
        put_header(p, id, DNS_FLAG_RD, 1, 0, 0, 0);
        put_name(p, name);
        put16(p, type);
        put16(p, DNS_CLASS_IN);
}

/* Record header after the owner name. */
static void put_rr(Pkt *p, uint16_t type, uint32_t ttl, uint16_t rdlength) {
        put16(p, type);
        put16(p, DNS_CLASS_IN);
        put32(p, ttl);
        put16(p, rdlength);
}

/* --- questions --- */

Test(dns, parse_query) {
        Pkt p;
        DnsQuestion q;

        build_query(&p, 0xbeef, "www.ExAmple.com", DNS_TYPE_AAAA);
        cr_assert_eq(dns_question_parse(p.b, p.n, &q), 0);
        cr_expect_eq(q.id, 0xbeef);
        cr_expect_eq(q.flags, DNS_FLAG_RD);
        cr_expect_str_eq(q.name, "www.ExAmple.com", "case is kept for the echo");
        cr_expect_eq(q.type, DNS_TYPE_AAAA);
        cr_expect_eq(q.class, DNS_CLASS_IN);
        cr_expect_eq(q.end, p.n);
}

Test(dns, parse_root_query) {
        Pkt p;
        DnsQuestion q;

        build_query(&p, 1, "", 2 /* NS */);
        cr_assert_eq(dns_question_parse(p.b, p.n, &q), 0);
        cr_expect_str_eq(q.name, "");
}

Test(dns, every_truncation_is_refused) {
        Pkt p;
        DnsQuestion q;

        build_query(&p, 7, "a.example.com", DNS_TYPE_A);
        for (size_t n = 0; n < p.n; n++)
                cr_expect_eq(dns_question_parse(p.b, n, &q), -EBADMSG, "length %zu", n);
}

Test(dns, question_count_must_be_one) {
        Pkt p;
        DnsQuestion q;

        build_query(&p, 7, "a.example.com", DNS_TYPE_A);
        p.b[5] = 0;
        cr_expect_eq(dns_question_parse(p.b, p.n, &q), -EBADMSG);
        p.b[5] = 2;
        cr_expect_eq(dns_question_parse(p.b, p.n, &q), -EBADMSG);
}

Test(dns, pointer_loops_and_forward_pointers) {
        Pkt p;
        DnsQuestion q;

        /* Points at itself. */
        put_header(&p, 1, 0, 1, 0, 0, 0);
        put_ptr(&p, 12);
        put16(&p, 1);
        put16(&p, 1);
        cr_expect_eq(dns_question_parse(p.b, p.n, &q), -EBADMSG);

        /* Points forward. */
        put_header(&p, 1, 0, 1, 0, 0, 0);
        put_ptr(&p, 20);
        put16(&p, 1);
        put16(&p, 1);
        put_name(&p, "x.com");
        cr_expect_eq(dns_question_parse(p.b, p.n, &q), -EBADMSG);

        /* A label, then a pointer back to the label: a loop through a
         * backwards pointer, stopped by the name length and hop limits. */
        put_header(&p, 1, 0, 1, 0, 0, 0);
        put8(&p, 1);
        put8(&p, 'a');
        put_ptr(&p, 12);
        put16(&p, 1);
        put16(&p, 1);
        cr_expect_eq(dns_question_parse(p.b, p.n, &q), -EBADMSG);

        /* Extended label types are refused. */
        put_header(&p, 1, 0, 1, 0, 0, 0);
        put8(&p, 0x41);
        put8(&p, 0);
        put16(&p, 1);
        put16(&p, 1);
        cr_expect_eq(dns_question_parse(p.b, p.n, &q), -EBADMSG);
}

Test(dns, compressed_question_is_followed) {
        Pkt p;
        DnsQuestion q;

        /* Header bytes reused as a name is odd but legal: make the name live
         * in a reply's question via a pointer to an earlier copy. Here the
         * "earlier copy" is planted in the header's ARCOUNT/NSCOUNT bytes:
         * NSCOUNT=0x0178 ('x' label of length 1), ARCOUNT=0x0000. */
        put_header(&p, 1, 0, 1, 0, 0x0178, 0x0000);
        put_ptr(&p, 8);
        put16(&p, 1);
        put16(&p, 1);
        cr_assert_eq(dns_question_parse(p.b, p.n, &q), 0);
        cr_expect_str_eq(q.name, "x");
}

Test(dns, unrepresentable_labels_are_refused) {
        Pkt p;
        DnsQuestion q;

        build_query(&p, 1, "a.b", DNS_TYPE_A);
        p.b[13] = '.';                  /* label "." inside a label */
        cr_expect_eq(dns_question_parse(p.b, p.n, &q), -EBADMSG);
        p.b[13] = 0x01;
        cr_expect_eq(dns_question_parse(p.b, p.n, &q), -EBADMSG);
        p.b[13] = ' ';
        cr_expect_eq(dns_question_parse(p.b, p.n, &q), -EBADMSG);
}

Test(dns, overlong_names_are_refused) {
        Pkt p;
        DnsQuestion q;
        char name[400] = "";

        /* 5 labels of 63 = 320 bytes on the wire > 255 */
        for (int i = 0; i < 5; i++) {
                if (i)
                        strcat(name, ".");
                for (int j = 0; j < 63; j++)
                        strcat(name, "a");
        }
        build_query(&p, 1, name, DNS_TYPE_A);
        cr_expect_eq(dns_question_parse(p.b, p.n, &q), -EBADMSG);

        /* exactly 255 on the wire: 3*64 + 62 + 1 = 255 is fine */
        strcpy(name, "");
        for (int i = 0; i < 4; i++) {
                if (i)
                        strcat(name, ".");
                for (int j = 0; j < (i < 3 ? 63 : 61); j++)
                        strcat(name, "b");
        }
        build_query(&p, 1, name, DNS_TYPE_A);
        cr_assert_eq(dns_question_parse(p.b, p.n, &q), 0);
        cr_expect_eq(strlen(q.name), 253);
}

/* --- error replies --- */

Test(dns, nxdomain_reply) {
        Pkt p;
        DnsQuestion q, r;
        uint8_t buf[512];
        int n;

        build_query(&p, 0x1234, "Denied.Example.com", DNS_TYPE_A);
        cr_assert_eq(dns_question_parse(p.b, p.n, &q), 0);
        n = dns_reply_build(&q, DNS_RCODE_NXDOMAIN, buf, sizeof buf);
        cr_assert_eq(n, (int) p.n, "reply is header + the same question");

        cr_assert_eq(dns_question_parse(buf, (size_t) n, &r), 0);
        cr_expect_eq(r.id, 0x1234);
        cr_expect(r.flags & DNS_FLAG_QR);
        cr_expect(r.flags & DNS_FLAG_RD, "RD echoed");
        cr_expect(r.flags & DNS_FLAG_RA);
        cr_expect_eq(DNS_OPCODE(r.flags), 0);
        cr_expect_eq(DNS_RCODE(r.flags), DNS_RCODE_NXDOMAIN);
        cr_expect_eq(buf[7], 0, "no answers");
        cr_expect_eq(buf[9], 0);
        cr_expect_eq(buf[11], 0);
        cr_expect_eq(memcmp(buf + 12, p.b + 12, p.n - 12), 0, "question echoed byte for byte, case kept");

        n = dns_reply_build(&q, DNS_RCODE_REFUSED, buf, sizeof buf);
        cr_assert_gt(n, 0);
        cr_expect_eq(DNS_RCODE(buf[3]), DNS_RCODE_REFUSED);
        n = dns_reply_build(&q, DNS_RCODE_SERVFAIL, buf, sizeof buf);
        cr_assert_gt(n, 0);
        cr_expect_eq(DNS_RCODE(buf[3]), DNS_RCODE_SERVFAIL);

        cr_expect_eq(dns_reply_build(&q, DNS_RCODE_NXDOMAIN, buf, p.n - 1), -ENOBUFS);
        cr_expect_eq(dns_reply_build(&q, DNS_RCODE_NXDOMAIN, buf, 3), -ENOBUFS);
}

/* --- answers --- */

static void build_cdn_reply(Pkt *p) {
        struct in_addr a1, a2, unrelated;
        struct in6_addr a6;
        size_t qname, cdn;

        inet_pton(AF_INET, "192.0.2.10", &a1);
        inet_pton(AF_INET, "192.0.2.11", &a2);
        inet_pton(AF_INET, "192.0.2.99", &unrelated);
        inet_pton(AF_INET6, "2001:db8::10", &a6);

        put_header(p, 0x4242, DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA, 1, 5, 1, 1);
        qname = put_name(p, "www.example.com");
        put16(p, DNS_TYPE_A);
        put16(p, DNS_CLASS_IN);

        /* www.example.com CNAME cdn.example.net (ttl 120) */
        put_ptr(p, qname);
        put_rr(p, DNS_TYPE_CNAME, 120, 17);
        cdn = p->n;
        put_name(p, "cdn.example.net");
        /* cdn.example.net A 192.0.2.10 (ttl 600) */
        put_ptr(p, cdn);
        put_rr(p, DNS_TYPE_A, 600, 4);
        put_bytes(p, &a1, 4);
        /* CDN.example.NET A 192.0.2.11 (ttl 30), owner in another case */
        put_name(p, "CDN.example.NET");
        put_rr(p, DNS_TYPE_A, 30, 4);
        put_bytes(p, &a2, 4);
        /* unrelated.example A 192.0.2.99: must be ignored */
        put_name(p, "unrelated.example");
        put_rr(p, DNS_TYPE_A, 600, 4);
        put_bytes(p, &unrelated, 4);
        /* cdn.example.net AAAA 2001:db8::10 */
        put_ptr(p, cdn);
        put_rr(p, DNS_TYPE_AAAA, 600, 16);
        put_bytes(p, &a6, 16);
        /* authority: example.net NS ns.example.net */
        put_ptr(p, cdn + 4);
        put_rr(p, 2, 600, 5);
        put8(p, 2);
        put8(p, 'n');
        put8(p, 's');
        put_ptr(p, cdn + 4);
        /* additional: glue for ns.example.net, must be ignored */
        put_name(p, "ns.example.net");
        put_rr(p, DNS_TYPE_A, 600, 4);
        put_bytes(p, &unrelated, 4);
}

Test(dns, reply_addresses_follow_cname) {
        Pkt p;
        DnsQuestion q;
        DnsAddress a[8];
        char text[INET6_ADDRSTRLEN];
        int n;

        build_cdn_reply(&p);
        n = dns_reply_addresses(p.b, p.n, &q, a, 8);
        cr_assert_eq(n, 3);
        cr_expect_str_eq(q.name, "www.example.com");
        cr_expect_eq(q.id, 0x4242);

        cr_expect_eq(a[0].family, AF_INET);
        inet_ntop(AF_INET, a[0].addr, text, sizeof text);
        cr_expect_str_eq(text, "192.0.2.10");
        cr_expect_eq(a[0].ttl, 120, "capped by the CNAME's TTL");
        inet_ntop(AF_INET, a[1].addr, text, sizeof text);
        cr_expect_str_eq(text, "192.0.2.11");
        cr_expect_eq(a[1].ttl, 30);
        cr_expect_eq(a[2].family, AF_INET6);
        inet_ntop(AF_INET6, a[2].addr, text, sizeof text);
        cr_expect_str_eq(text, "2001:db8::10");

        /* Fewer slots than addresses. */
        cr_expect_eq(dns_reply_addresses(p.b, p.n, NULL, a, 1), 1);
        cr_expect_eq(dns_reply_addresses(p.b, p.n, NULL, NULL, 0), 0);
}

Test(dns, reply_truncations_never_crash) {
        Pkt p;
        DnsAddress a[8];

        build_cdn_reply(&p);
        for (size_t n = 0; n < p.n; n++)
                cr_expect_eq(dns_reply_addresses(p.b, n, NULL, a, 8), -EBADMSG, "length %zu", n);
}

Test(dns, cname_loop_terminates) {
        Pkt p;
        DnsAddress a[4];
        size_t qname, b;

        put_header(&p, 1, DNS_FLAG_QR, 1, 2, 0, 0);
        qname = put_name(&p, "a.test");
        put16(&p, DNS_TYPE_A);
        put16(&p, DNS_CLASS_IN);
        put_ptr(&p, qname);
        put_rr(&p, DNS_TYPE_CNAME, 60, 8);
        b = put_name(&p, "b.test");
        put_ptr(&p, b);
        put_rr(&p, DNS_TYPE_CNAME, 60, 2);
        put_ptr(&p, qname);
        cr_expect_eq(dns_reply_addresses(p.b, p.n, NULL, a, 4), 0);
}

Test(dns, long_cname_chain_is_cut) {
        Pkt p;
        DnsAddress a[4];
        char owner[32], target[32];

        /* q0 -> q1 -> ... -> q20, A on q20: beyond the 16 hops followed. */
        put_header(&p, 1, DNS_FLAG_QR, 1, 21, 0, 0);
        put_name(&p, "q0.test");
        put16(&p, DNS_TYPE_A);
        put16(&p, DNS_CLASS_IN);
        for (int i = 0; i < 20; i++) {
                snprintf(owner, sizeof owner, "q%d.test", i);
                snprintf(target, sizeof target, "q%d.test", i + 1);
                put_name(&p, owner);
                put_rr(&p, DNS_TYPE_CNAME, 60, (uint16_t) (strlen(target) + 2));
                put_name(&p, target);
        }
        put_name(&p, "q20.test");
        put_rr(&p, DNS_TYPE_A, 60, 4);
        put32(&p, 0xc0000201);
        cr_expect_eq(dns_reply_addresses(p.b, p.n, NULL, a, 4), 0);
}

Test(dns, wrong_rdlength_is_skipped_or_refused) {
        Pkt p;
        DnsAddress a[4];

        put_header(&p, 1, DNS_FLAG_QR, 1, 1, 0, 0);
        put_name(&p, "a.test");
        put16(&p, DNS_TYPE_A);
        put16(&p, DNS_CLASS_IN);
        put_ptr(&p, 12);
        put_rr(&p, DNS_TYPE_A, 60, 3);  /* A with 3 bytes: not an address */
        put8(&p, 1);
        put8(&p, 2);
        put8(&p, 3);
        cr_expect_eq(dns_reply_addresses(p.b, p.n, NULL, a, 4), 0);

        p.b[p.n - 4] = 9;               /* rdlength beyond the message */
        cr_expect_eq(dns_reply_addresses(p.b, p.n, NULL, a, 4), -EBADMSG);
}

/* Random and mutated input: must never crash (run under ASan), and whatever
 * parses must survive a reply round trip. */
Test(dns, fuzz) {
        uint8_t buf[600], out[600];
        DnsAddress a[16];
        Pkt valid;
        unsigned seed = 12345;

        build_cdn_reply(&valid);
        for (int i = 0; i < 200000; i++) {
                size_t n;
                DnsQuestion q, r;

                if (i % 2 == 0) {
                        n = (size_t) rand_r(&seed) % sizeof buf;
                        for (size_t j = 0; j < n; j++)
                                buf[j] = (uint8_t) rand_r(&seed);
                        /* Keep QDCOUNT plausible half the time so parsing goes deeper. */
                        if (n > 6 && (i & 2)) {
                                buf[4] = 0;
                                buf[5] = 1;
                        }
                } else {
                        n = valid.n < sizeof buf ? valid.n : sizeof buf;
                        memcpy(buf, valid.b, n);
                        for (int k = rand_r(&seed) % 4; k >= 0; k--)
                                buf[(size_t) rand_r(&seed) % n] = (uint8_t) rand_r(&seed);
                        n = (size_t) rand_r(&seed) % (n + 1);
                }

                if (dns_question_parse(buf, n, &q) == 0) {
                        int m = dns_reply_build(&q, DNS_RCODE_NXDOMAIN, out, sizeof out);

                        cr_assert_gt(m, 0);
                        cr_assert_eq(dns_question_parse(out, (size_t) m, &r), 0);
                        cr_assert_str_eq(r.name, q.name);
                        cr_assert_eq(r.type, q.type);
                }
                (void) dns_reply_addresses(buf, n, NULL, a, 16);
        }
}

/* --- cache --- */

#define SEC UINT64_C(1000000)

static const uint8_t *v4(const char *s) {
        static uint8_t b[4];
        cr_assert_eq(inet_pton(AF_INET, s, b), 1);
        return b;
}

Test(dns_cache, put_get_families) {
        _cleanup_dns_cache_ DnsCache *c = NULL;
        struct in6_addr six;

        cr_assert_eq(dns_cache_new(16, &c), 0);
        cr_assert_eq(dns_cache_put(c, AF_INET, v4("192.0.2.1"), "a.example.com", 60, 0), 0);
        inet_pton(AF_INET6, "2001:db8::1", &six);
        cr_assert_eq(dns_cache_put(c, AF_INET6, &six, "b.example.com", 60, 0), 0);

        cr_expect_str_eq(dns_cache_get(c, AF_INET, v4("192.0.2.1"), 1), "a.example.com");
        cr_expect_str_eq(dns_cache_get(c, AF_INET6, &six, 1), "b.example.com");
        cr_expect_null(dns_cache_get(c, AF_INET, v4("192.0.2.2"), 1));
        /* Same leading bytes, other family. */
        uint8_t padded[16] = {};
        memcpy(padded, v4("192.0.2.1"), 4);
        cr_expect_null(dns_cache_get(c, AF_INET6, padded, 1));
        cr_expect_eq(dns_cache_put(c, AF_UNIX, &six, "x", 60, 0), -EINVAL);
        cr_expect_eq(dns_cache_size(c), 2);
}

Test(dns_cache, ttl_is_clamped_and_expires) {
        _cleanup_dns_cache_ DnsCache *c = NULL;
        uint64_t t0 = 1000 * SEC;

        cr_assert_eq(dns_cache_new(16, &c), 0);
        cr_assert_eq(dns_cache_put(c, AF_INET, v4("192.0.2.1"), "short.example", 5, t0), 0);
        cr_expect_not_null(dns_cache_get(c, AF_INET, v4("192.0.2.1"), t0 + (DNS_CACHE_TTL_MIN_SEC - 1) * SEC),
                           "kept for the floor TTL");
        cr_expect_null(dns_cache_get(c, AF_INET, v4("192.0.2.1"), t0 + (DNS_CACHE_TTL_MIN_SEC + 1) * SEC));

        cr_assert_eq(dns_cache_put(c, AF_INET, v4("192.0.2.2"), "long.example", UINT32_MAX, t0), 0);
        cr_expect_null(dns_cache_get(c, AF_INET, v4("192.0.2.2"), t0 + (DNS_CACHE_TTL_MAX_SEC + 1) * SEC),
                       "capped at the maximum TTL");
}

Test(dns_cache, replace_updates_name_and_expiry) {
        _cleanup_dns_cache_ DnsCache *c = NULL;

        cr_assert_eq(dns_cache_new(4, &c), 0);
        cr_assert_eq(dns_cache_put(c, AF_INET, v4("192.0.2.1"), "old.example", 300, 0), 0);
        cr_assert_eq(dns_cache_put(c, AF_INET, v4("192.0.2.1"), "new.example", 1000, 100 * SEC), 0);
        cr_expect_eq(dns_cache_size(c), 1);
        cr_expect_str_eq(dns_cache_get(c, AF_INET, v4("192.0.2.1"), 900 * SEC), "new.example");
}

Test(dns_cache, bounded_evicts_expired_then_soonest) {
        _cleanup_dns_cache_ DnsCache *c = NULL;

        cr_assert_eq(dns_cache_new(3, &c), 0);
        cr_assert_eq(dns_cache_put(c, AF_INET, v4("192.0.2.1"), "one", 1000, 0), 0);
        cr_assert_eq(dns_cache_put(c, AF_INET, v4("192.0.2.2"), "two", 400, 0), 0);
        cr_assert_eq(dns_cache_put(c, AF_INET, v4("192.0.2.3"), "three", 2000, 0), 0);
        cr_assert_eq(dns_cache_size(c), 3);

        /* Full, nothing expired: "two" expires first and goes. */
        cr_assert_eq(dns_cache_put(c, AF_INET, v4("192.0.2.4"), "four", 3000, 0), 0);
        cr_expect_eq(dns_cache_size(c), 3);
        cr_expect_null(dns_cache_get(c, AF_INET, v4("192.0.2.2"), 0));
        cr_expect_str_eq(dns_cache_get(c, AF_INET, v4("192.0.2.1"), 0), "one");
        cr_expect_str_eq(dns_cache_get(c, AF_INET, v4("192.0.2.4"), 0), "four");

        /* At t=1500 s "one" has expired: it is reclaimed, the others stay. */
        cr_assert_eq(dns_cache_put(c, AF_INET, v4("192.0.2.5"), "five", 3000, 1500 * SEC), 0);
        cr_expect_null(dns_cache_get(c, AF_INET, v4("192.0.2.1"), 1500 * SEC));
        cr_expect_str_eq(dns_cache_get(c, AF_INET, v4("192.0.2.3"), 1500 * SEC), "three");
        cr_expect_str_eq(dns_cache_get(c, AF_INET, v4("192.0.2.5"), 1500 * SEC), "five");
}

Test(dns_cache, many_entries_stay_bounded) {
        _cleanup_dns_cache_ DnsCache *c = NULL;
        char name[32];

        cr_assert_eq(dns_cache_new(1000, &c), 0);
        for (uint32_t i = 0; i < 20000; i++) {
                uint32_t addr = htonl(0xc6120000 + i);  /* 198.18.0.0/15 */

                snprintf(name, sizeof name, "h%u.example", i);
                cr_assert_eq(dns_cache_put(c, AF_INET, &addr, name, 300 + i, 0), 0);
                cr_assert_leq(dns_cache_size(c), 1000);
                cr_assert_str_eq(dns_cache_get(c, AF_INET, &addr, 0), name);
        }
        cr_expect_eq(dns_cache_size(c), 1000);
}
