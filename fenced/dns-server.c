#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "dns-server.h"
#include "log.h"
#include "macro.h"
#include "net-internal.h"

#define DNS_UDP_MAX 4096
#define DNS_TCP_MAX 65535

/* One query being forwarded: where its answer goes. */
typedef struct Forward {
        NetSandbox *ns;
        NetConn *conn;          /* TCP: the connection; UDP: NULL */
        int fd;                 /* UDP: the listener to answer from */
        struct sockaddr_storage peer;
        DnsQuestion question;
        char name[DNS_NAME_MAX + 1];
} Forward;

static socklen_t sa_len(const struct sockaddr_storage *ss) {
        return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static void remember(NetSandbox *ns, const uint8_t *msg, size_t len) {
        DnsAddress addrs[16];
        DnsQuestion q;
        int n;

        n = dns_reply_addresses(msg, len, &q, addrs, ELEMENTSOF(addrs));
        for (int i = 0; i < n; i++)
                (void) dns_cache_put(ns->cache, addrs[i].family, addrs[i].addr, q.name, addrs[i].ttl, now_usec());
}

static void tcp_send(NetConn *c, const uint8_t *msg, size_t len);

static void send_answer(NetSandbox *ns, Forward *f, const uint8_t *msg, size_t len) {
        if (f->conn)
                tcp_send(f->conn, msg, len);
        else
                (void) sendto(f->fd, msg, len, MSG_DONTWAIT, (struct sockaddr *) &f->peer, sa_len(&f->peer));
}

static void on_upstream_reply(const uint8_t *msg, size_t len, int error, void *userdata) {
        Forward *f = userdata;

        if (f->conn)
                f->conn->lookup = NULL;
        if (error < 0 || !msg) {
                uint8_t reply[DNS_NAME_MAX + 64];
                int n;

                log_debug("DNS for %s failed upstream: %s", f->name, strerror(-error));
                /* SERVFAIL, so the client does not wait for its own timeout. */
                n = dns_reply_build(&f->question, DNS_RCODE_SERVFAIL, reply, sizeof reply);
                if (n > 0)
                        send_answer(f->ns, f, reply, (size_t) n);
                free(f);
                return;
        }
        remember(f->ns, msg, len);
        send_answer(f->ns, f, msg, len);
        free(f);
}

/* Answers or forwards one query. conn is the TCP connection, or NULL with
 * fd/peer for UDP. */
static void handle_query(NetSandbox *ns, NetConn *conn, int fd, const struct sockaddr_storage *peer,
                         const uint8_t *msg, size_t len) {
        uint8_t reply[DNS_NAME_MAX + 64];
        DnsQuestion q;
        NetVerdict v;
        uint8_t rcode = DNS_RCODE_NOERROR;
        Forward *f;
        int n, r;

        if (dns_question_parse(msg, len, &q) < 0) {
                if (len >= DNS_HEADER_SIZE) {
                        /* FORMERR with the header alone. */
                        memcpy(reply, msg, DNS_HEADER_SIZE);
                        reply[2] = (uint8_t) ((reply[2] | 0x80) & ~0x06);       /* QR, keep opcode/RD */
                        reply[3] = 0x80 | DNS_RCODE_FORMERR;
                        memset(reply + 4, 0, 8);
                        Forward tmp = { .ns = ns, .conn = conn, .fd = fd, .peer = peer ? *peer : (struct sockaddr_storage) {} };
                        send_answer(ns, &tmp, reply, DNS_HEADER_SIZE);
                }
                return;
        }
        if (q.flags & DNS_FLAG_QR)
                return;         /* a reply sent to us: ignore */
        if (DNS_OPCODE(q.flags) != 0)
                rcode = DNS_RCODE_NOTIMP;
        else if (net_route(ns, q.name, 0, &v) == NET_ROUTE_DENY) {
                rcode = DNS_RCODE_NXDOMAIN;
                net_report_denied(ns, "dns", "dns", conn, peer, conn ? IPPROTO_TCP : IPPROTO_UDP, q.name, 0, &v, NULL);
        }

        if (rcode == DNS_RCODE_NOERROR) {
                f = calloc(1, sizeof *f);
                if (!f)
                        rcode = DNS_RCODE_SERVFAIL;
                else {
                        *f = (Forward) { .ns = ns, .conn = conn, .fd = fd };
                        if (peer)
                                f->peer = *peer;
                        snprintf(f->name, sizeof f->name, "%s", q.name);
                        f->question = q;
                        r = dns_upstream_query(ns->dns, msg, len, conn != NULL, on_upstream_reply, f, conn ? &conn->lookup : NULL);
                        if (r >= 0)
                                return;
                        rcode = DNS_RCODE_SERVFAIL;
                }
        }

        n = dns_reply_build(&q, rcode, reply, sizeof reply);
        if (n > 0) {
                Forward tmp = { .ns = ns, .conn = conn, .fd = fd, .peer = peer ? *peer : (struct sockaddr_storage) {} };
                send_answer(ns, &tmp, reply, (size_t) n);
        }
}

int dns_server_on_udp(NetListener *l) {
        for (int i = 0; i < 64; i++) {
                uint8_t buf[DNS_UDP_MAX];
                struct sockaddr_storage peer = {};
                socklen_t plen = sizeof peer;
                ssize_t n;

                n = recvfrom(l->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *) &peer, &plen);
                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                handle_query(l->ns, NULL, l->fd, &peer, buf, (size_t) n);
        }
        return 0;
}

/* DNS over TCP: two-byte length, message; several queries may follow one
 * another. One is handled at a time. */
static void tcp_send(NetConn *c, const uint8_t *msg, size_t len) {
        uint8_t *out = malloc(len + 2);

        if (!out) {
                net_conn_free(c);
                return;
        }
        out[0] = (uint8_t) (len >> 8);
        out[1] = (uint8_t) len;
        memcpy(out + 2, msg, len);
        /* Small and the socket buffer is empty between queries. */
        if (net_conn_reply(c, out, len + 2) < 0) {
                free(out);
                net_conn_free(c);
                return;
        }
        free(out);
        (void) sd_event_source_set_enabled(c->client_src, SD_EVENT_ON);
}

static int on_tcp_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NetConn *c = userdata;
        ssize_t n;

        if (!c->buf && !(c->buf = malloc(DNS_TCP_MAX + 2))) {
                net_conn_free(c);
                return 0;
        }
        n = recv(fd, c->buf + c->len, DNS_TCP_MAX + 2 - c->len, MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN)
                return 0;
        if (n <= 0) {
                net_conn_free(c);
                return 0;
        }
        c->len += (size_t) n;
        (void) net_conn_set_timeout(c, NET_HANDSHAKE_TIMEOUT_USEC);
        if (c->len < 2)
                return 0;
        size_t want = (size_t) c->buf[0] << 8 | c->buf[1];
        if (c->len < want + 2)
                return 0;

        /* Wait with further input until this one is answered. */
        (void) sd_event_source_set_enabled(c->client_src, SD_EVENT_OFF);
        uint8_t *msg = malloc(want ? want : 1);
        if (!msg) {
                net_conn_free(c);
                return 0;
        }
        memcpy(msg, c->buf + 2, want);
        memmove(c->buf, c->buf + 2 + want, c->len - 2 - want);
        c->len -= 2 + want;
        handle_query(c->ns, c, -1, &c->peer, msg, want);
        free(msg);
        return 0;
}

int dns_server_on_tcp(NetListener *l, int fd, const struct sockaddr_storage *peer) {
        NetConn *c;
        int r;

        r = net_conn_new(l, NET_CONN_DNS_TCP, fd, peer, &c);
        if (r < 0)
                return r;
        return net_conn_start_handshake(c, EPOLLIN, on_tcp_io);
}
