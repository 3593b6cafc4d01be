/* relay.c and the DNS pieces the network filter added (query building,
 * upstream forwarding with id rewriting and reply matching), on a real
 * sd-event loop with socketpairs and a loopback UDP "server". */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns-message.h"
#include "dns-upstream.h"
#include "relay.h"
#include "tcp-unpaced.h"

typedef struct Done {
        bool called;
        int error;
} Done;

static void on_done(Relay *r, int error, void *userdata) {
        Done *d = userdata;

        d->called = true;
        d->error = error;
}

static void run_until(sd_event *e, const bool *flag) {
        for (int i = 0; i < 1000 && !*flag; i++)
                cr_assert_geq(sd_event_run(e, 10 * 1000), 0);
}

static void tcp_pair(int *client, int *server) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof a;
        int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        cr_assert_geq(l, 0);
        cr_assert_eq(bind(l, (struct sockaddr *) &a, sizeof a), 0);
        cr_assert_eq(listen(l, 1), 0);
        cr_assert_eq(getsockname(l, (struct sockaddr *) &a, &len), 0);
        *client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_eq(connect(*client, (struct sockaddr *) &a, sizeof a), 0);
        *server = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        cr_assert_geq(*server, 0);
        close(l);
}

/* a ⇄ relay ⇄ b: data both ways, then half-close from a, b still talks. */
Test(relay, both_directions_and_half_close) {
        sd_event *e = NULL;
        int a_user, a_relay, b_user, b_relay;
        Relay *r = NULL;
        Done d = {};
        char buf[64];

        cr_assert_geq(sd_event_new(&e), 0);
        tcp_pair(&a_user, &a_relay);
        tcp_pair(&b_user, &b_relay);
        cr_assert_eq(relay_new(e, a_relay, b_relay, on_done, &d, &r), 0);

        cr_assert_eq(write(a_user, "ping", 4), 4);
        for (int i = 0; i < 20; i++)
                sd_event_run(e, 1000);
        cr_assert_eq(read(b_user, buf, sizeof buf), 4);
        cr_assert_eq(memcmp(buf, "ping", 4), 0);

        cr_assert_eq(shutdown(a_user, SHUT_WR), 0);
        for (int i = 0; i < 20; i++)
                sd_event_run(e, 1000);
        cr_assert_eq(read(b_user, buf, sizeof buf), 0, "the FIN is passed on");
        cr_assert_not(d.called, "one direction is still open");

        cr_assert_eq(write(b_user, "pong", 4), 4);
        cr_assert_eq(shutdown(b_user, SHUT_WR), 0);
        run_until(e, &d.called);
        cr_assert(d.called);
        cr_assert_eq(d.error, 0);
        cr_assert_eq(read(a_user, buf, sizeof buf), 4);
        cr_assert_eq(memcmp(buf, "pong", 4), 0);
        cr_assert_eq(relay_bytes(r, 0), 4);
        cr_assert_eq(relay_bytes(r, 1), 4);

        relay_free(r);
        close(a_user);
        close(b_user);
        sd_event_unref(e);
}

/* A megabyte one way: more than both pipes and socket buffers hold. */
Test(relay, bulk_data_with_backpressure) {
        sd_event *e = NULL;
        int a_user, a_relay, b_user, b_relay;
        Relay *r = NULL;
        Done d = {};
        static char chunk[65536];
        size_t sent = 0, got = 0, total = 1 << 20;

        cr_assert_geq(sd_event_new(&e), 0);
        tcp_pair(&a_user, &a_relay);
        tcp_pair(&b_user, &b_relay);
        fcntl(a_user, F_SETFL, O_NONBLOCK);
        fcntl(b_user, F_SETFL, O_NONBLOCK);
        cr_assert_eq(relay_new(e, a_relay, b_relay, on_done, &d, &r), 0);
        memset(chunk, 'x', sizeof chunk);

        for (int i = 0; i < 100000 && got < total; i++) {
                if (sent < total) {
                        ssize_t n = write(a_user, chunk, sizeof chunk < total - sent ? sizeof chunk : total - sent);
                        if (n > 0)
                                sent += (size_t) n;
                }
                sd_event_run(e, 0);
                ssize_t n = read(b_user, chunk, sizeof chunk);
                if (n > 0)
                        got += (size_t) n;
        }
        cr_assert_eq(got, total);
        relay_free(r);
        close(a_user);
        close(b_user);
        sd_event_unref(e);
}

static int lowat(int fd) {
        int v = 0;
        socklen_t len = sizeof v;

        cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, &len), 0);
        return v;
}

/* Bulk mode (relay.h): a stream gives the read side a low-water mark; a
 * small message after it, below the mark and with no FIN, still comes
 * through, and a wait that brings nothing ends bulk mode. */
Test(relay, bulk_mode_flushes_and_ends) {
        sd_event *e = NULL;
        int a_user, a_relay, b_user, b_relay;
        Relay *r = NULL;
        Done d = {};
        static char chunk[65536];
        size_t sent = 0, got = 0, total = 4 << 20;
        bool saw_bulk = false, tail = false;
        char buf[16];

        cr_assert_geq(sd_event_new(&e), 0);
        tcp_pair(&a_user, &a_relay);
        tcp_pair(&b_user, &b_relay);
        fcntl(a_user, F_SETFL, O_NONBLOCK);
        fcntl(b_user, F_SETFL, O_NONBLOCK);
        cr_assert_eq(relay_new(e, a_relay, b_relay, on_done, &d, &r), 0);
        memset(chunk, 'x', sizeof chunk);

        for (int i = 0; i < 100000 && got < total; i++) {
                if (sent < total) {
                        ssize_t n = write(a_user, chunk, sizeof chunk < total - sent ? sizeof chunk : total - sent);
                        if (n > 0)
                                sent += (size_t) n;
                }
                sd_event_run(e, 0);
                saw_bulk = saw_bulk || lowat(a_relay) > 1;
                ssize_t n = read(b_user, chunk, sizeof chunk);
                if (n > 0)
                        got += (size_t) n;
        }
        cr_assert_eq(got, total);
        cr_assert(saw_bulk, "a 4 MiB stream puts the read side into bulk mode");

        cr_assert_eq(write(a_user, "tail", 4), 4);
        for (int i = 0; i < 1000 && !tail; i++) {
                sd_event_run(e, 1000);
                ssize_t n = read(b_user, buf, sizeof buf);
                if (n > 0) {
                        cr_assert_eq(n, 4);
                        cr_assert_eq(memcmp(buf, "tail", 4), 0);
                        tail = true;
                }
        }
        cr_assert(tail, "4 bytes below the low-water mark, no FIN: passed on by the flush");

        for (int i = 0; i < 1000 && lowat(a_relay) > 1; i++)
                sd_event_run(e, 1000);
        cr_assert_eq(lowat(a_relay), 1, "a flush that found nothing ends bulk mode");
        cr_assert_not(d.called);

        relay_free(r);
        close(a_user);
        close(b_user);
        sd_event_unref(e);
}

/* A reset on one side resets the other. */
Test(relay, reset_is_passed_on) {
        sd_event *e = NULL;
        int a_user, a_relay, b_user, b_relay;
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        Relay *r = NULL;
        Done d = {};
        char buf[8];

        cr_assert_geq(sd_event_new(&e), 0);
        tcp_pair(&a_user, &a_relay);
        tcp_pair(&b_user, &b_relay);
        cr_assert_eq(relay_new(e, a_relay, b_relay, on_done, &d, &r), 0);
        setsockopt(a_user, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(a_user);
        run_until(e, &d.called);
        cr_assert(d.called);
        cr_assert_lt(d.error, 0);
        cr_assert_eq(read(b_user, buf, sizeof buf), -1);
        cr_assert_eq(errno, ECONNRESET);
        relay_free(r);
        close(b_user);
        sd_event_unref(e);
}

static void congestion(int fd, char *buf, size_t size) {
        socklen_t len = (socklen_t) size;

        memset(buf, 0, size);
        cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, buf, &len), 0);
}

/* A loopback leg that paces (bbr) is switched to cubic or reno; a socket
 * that is not TCP over loopback is left alone. */
Test(tcp_unpaced, loopback_leg_stops_pacing) {
        int a, b, u[2];
        char cc[32];

        tcp_pair(&a, &b);
        if (setsockopt(a, IPPROTO_TCP, TCP_CONGESTION, "bbr", 3) < 0)
                cr_skip_test("no bbr congestion control here (%s)", strerror(errno));
        congestion(a, cc, sizeof cc);
        cr_assert_str_eq(cc, "bbr");
        tcp_unpaced_if_loopback(a);
        congestion(a, cc, sizeof cc);
        cr_assert(strcmp(cc, "cubic") == 0 || strcmp(cc, "reno") == 0, "congestion control is %s", cc);

        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, u), 0);
        tcp_unpaced_if_loopback(u[0]);  /* no TCP, no peer address: nothing to do, no crash */
        close(u[0]);
        close(u[1]);
        close(a);
        close(b);
}

Test(dns_upstream, server_parse) {
        struct sockaddr_storage ss;

        cr_assert_eq(dns_server_parse("1.2.3.4", &ss), 0);
        cr_assert_eq(ntohs(((struct sockaddr_in *) &ss)->sin_port), 53);
        cr_assert_eq(dns_server_parse("1.2.3.4:5353", &ss), 0);
        cr_assert_eq(ntohs(((struct sockaddr_in *) &ss)->sin_port), 5353);
        cr_assert_eq(dns_server_parse("2001:db8::1", &ss), 0);
        cr_assert_eq(ss.ss_family, AF_INET6);
        cr_assert_eq(dns_server_parse("[::1]:54", &ss), 0);
        cr_assert_eq(ntohs(((struct sockaddr_in6 *) &ss)->sin6_port), 54);
        cr_assert_eq(dns_server_parse("dns.example", &ss), -EINVAL);
        cr_assert_eq(dns_server_parse("1.2.3.4:0", &ss), -EINVAL);
        cr_assert_eq(dns_server_parse("1.2.3.4:", &ss), -EINVAL);
        cr_assert_eq(dns_server_parse("[::1", &ss), -EINVAL);
}

Test(dns_upstream, query_build_round_trips) {
        uint8_t buf[512];
        DnsQuestion q;
        int n = dns_query_build(0x1234, "Example.COM", DNS_TYPE_AAAA, buf, sizeof buf);

        cr_assert_gt(n, 0);
        cr_assert_eq(dns_question_parse(buf, (size_t) n, &q), 0);
        cr_assert_eq(q.id, 0x1234);
        cr_assert_str_eq(q.name, "Example.COM");
        cr_assert_eq(q.type, DNS_TYPE_AAAA);
        cr_assert_eq(q.flags, DNS_FLAG_RD, "a recursive query, not a reply");
        cr_assert_eq(dns_query_build(1, "a..b", DNS_TYPE_A, buf, sizeof buf) < 0, true);
        cr_assert_eq(dns_query_build(1, "", DNS_TYPE_A, buf, sizeof buf), -EINVAL);
}

typedef struct Answer {
        bool called;
        int error;
        uint8_t msg[512];
        size_t len;
} Answer;

static void on_reply(const uint8_t *msg, size_t len, int error, void *userdata) {
        Answer *a = *(Answer **) userdata;

        a->called = true;
        a->error = error;
        if (msg) {
                memcpy(a->msg, msg, len);
                a->len = len;
        }
        free(userdata);
}

/* The forwarded query carries a fresh id; a reply with the wrong id, or
 * for another question, is ignored; the right one comes back with the
 * client's id. */
Test(dns_upstream, forward_rewrites_and_checks_ids) {
        struct sockaddr_in srv = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        struct sockaddr_storage from;
        socklen_t len = sizeof srv, flen = sizeof from;
        sd_event *e = NULL;
        DnsUpstream *u = NULL;
        char server[64], *err = NULL;
        uint8_t q[512], got[512], reply[512];
        Answer a = {};
        DnsQuestion dq;
        int s, n, k;

        s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        cr_assert_eq(bind(s, (struct sockaddr *) &srv, sizeof srv), 0);
        cr_assert_eq(getsockname(s, (struct sockaddr *) &srv, &len), 0);
        snprintf(server, sizeof server, "127.0.0.1:%u", ntohs(srv.sin_port));
        cr_assert_geq(sd_event_new(&e), 0);
        cr_assert_eq(dns_upstream_new(e, server, getuid(), getgid(), &u, &err), 0);

        n = dns_query_build(0xabcd, "allowed.test", DNS_TYPE_A, q, sizeof q);
        Answer **ud = malloc(sizeof *ud);
        *ud = &a;
        cr_assert_eq(dns_upstream_query(u, q, (size_t) n, false, on_reply, ud, NULL), 0);

        k = (int) recvfrom(s, got, sizeof got, 0, (struct sockaddr *) &from, &flen);
        cr_assert_eq(k, n);
        cr_assert_eq(dns_question_parse(got, (size_t) k, &dq), 0);
        cr_assert_neq(dq.id, 0xabcd, "the client's id is not sent upstream");

        /* Wrong id first, then another question with the right id. */
        DnsQuestion wrong = dq;
        wrong.id = (uint16_t) (dq.id + 1);
        int m = dns_reply_build(&wrong, DNS_RCODE_NOERROR, reply, sizeof reply);
        sendto(s, reply, (size_t) m, 0, (struct sockaddr *) &from, flen);
        DnsQuestion other = dq;
        strcpy(other.name, "evil.test");
        m = dns_reply_build(&other, DNS_RCODE_NOERROR, reply, sizeof reply);
        sendto(s, reply, (size_t) m, 0, (struct sockaddr *) &from, flen);
        for (int i = 0; i < 20; i++)
                sd_event_run(e, 1000);
        cr_assert_not(a.called, "forged replies are ignored");

        m = dns_reply_build(&dq, DNS_RCODE_NXDOMAIN, reply, sizeof reply);
        sendto(s, reply, (size_t) m, 0, (struct sockaddr *) &from, flen);
        run_until(e, &a.called);
        cr_assert(a.called);
        cr_assert_eq(a.error, 0);
        cr_assert_eq(dns_question_parse(a.msg, a.len, &dq), 0);
        cr_assert_eq(dq.id, 0xabcd, "the client's id is restored");
        cr_assert_eq(DNS_RCODE(dq.flags), DNS_RCODE_NXDOMAIN);

        /* A pending query freed with the upstream frees its userdata (ASan). */
        ud = malloc(sizeof *ud);
        *ud = &a;
        cr_assert_eq(dns_upstream_query(u, q, (size_t) n, false, on_reply, ud, NULL), 0);
        dns_upstream_free(u);
        sd_event_unref(e);
        close(s);
}
