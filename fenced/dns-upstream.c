#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "dns-upstream.h"
#include "macro.h"
#include "socket-as.h"

#define DNS_MSG_MAX 4096
#define RESOLVE_MAX_ADDRS 8

struct DnsPending {
        DnsUpstream *upstream;
        DnsPending *prev, *next;
        uint16_t id, orig_id;
        uint8_t *msg;           /* the query as sent (with our id) */
        size_t len;
        char name[DNS_NAME_MAX + 1];
        uint16_t type;
        unsigned tries;
        unsigned server;
        sd_event_source *timer;
        /* Either a forwarded query or a resolution. */
        dns_reply_t reply_cb;
        dns_resolved_t resolved_cb;
        void *userdata;
        bool owns_userdata;
        /* Over TCP (for queries the sandbox sent over TCP: a UDP answer
         * could be truncated again). */
        bool tcp;
        int tcp_fd;
        sd_event_source *tcp_src;
        size_t tcp_sent;
        uint8_t *tcp_buf;       /* 2-byte length + answer */
        size_t tcp_len;
};

struct DnsUpstream {
        sd_event *event;
        struct sockaddr_storage servers[DNS_UPSTREAM_MAX_SERVERS];
        size_t n_servers;
        int fd[2];              /* AF_INET, AF_INET6 */
        uid_t uid;              /* owner of the sockets (socket-as.h) */
        gid_t gid;
        sd_event_source *src[2];
        DnsPending *pending;
        unsigned n_pending;
};

static socklen_t sa_len(const struct sockaddr_storage *ss) {
        return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static bool sa_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
        if (a->ss_family != b->ss_family)
                return false;
        if (a->ss_family == AF_INET) {
                const struct sockaddr_in *x = (const void *) a, *y = (const void *) b;
                return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
        }
        const struct sockaddr_in6 *x = (const void *) a, *y = (const void *) b;
        return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

int dns_server_parse(const char *s, struct sockaddr_storage *ret) {
        char host[INET6_ADDRSTRLEN + 1];
        const char *port = NULL;
        unsigned long p = 53;
        size_t n;

        if (!s || !ret)
                return -EINVAL;
        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close)
                        return -EINVAL;
                n = (size_t) (close - s - 1);
                if (n >= sizeof host)
                        return -EINVAL;
                memcpy(host, s + 1, n);
                host[n] = 0;
                if (close[1] == ':')
                        port = close + 2;
                else if (close[1])
                        return -EINVAL;
        } else {
                const char *colon = strchr(s, ':');
                if (colon && strchr(colon + 1, ':'))
                        colon = NULL;   /* a bare IPv6 address */
                n = colon ? (size_t) (colon - s) : strlen(s);
                if (n >= sizeof host)
                        return -EINVAL;
                memcpy(host, s, n);
                host[n] = 0;
                if (colon)
                        port = colon + 1;
        }
        if (port) {
                char *end;
                errno = 0;
                p = strtoul(port, &end, 10);
                if (errno || !port[0] || *end || p < 1 || p > 65535)
                        return -EINVAL;
        }

        *ret = (struct sockaddr_storage) {};
        struct sockaddr_in *in = (struct sockaddr_in *) ret;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ret;
        if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t) p);
                return 0;
        }
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) p);
                return 0;
        }
        return -EINVAL;
}

static int read_host_resolvers(DnsUpstream *u) {
        _cleanup_fclose_ FILE *f = fopen("/etc/resolv.conf", "re");
        char line[512];

        if (!f)
                return -errno;
        while (u->n_servers < DNS_UPSTREAM_MAX_SERVERS && fgets(line, sizeof line, f)) {
                char addr[128];

                if (sscanf(line, " nameserver %127s", addr) != 1)
                        continue;
                char *pct = strchr(addr, '%');  /* fe80::1%eth0: scope ids are not kept */
                if (pct)
                        *pct = 0;
                if (dns_server_parse(addr, &u->servers[u->n_servers]) == 0 && !strchr(addr, '['))
                        u->n_servers++;
        }
        return u->n_servers > 0 ? 0 : -ENOENT;
}

static void pending_free(DnsPending *p) {
        DnsUpstream *u = p->upstream;

        if (p->prev)
                p->prev->next = p->next;
        else
                u->pending = p->next;
        if (p->next)
                p->next->prev = p->prev;
        u->n_pending--;
        sd_event_source_disable_unref(p->tcp_src);
        safe_close(p->tcp_fd);
        free(p->tcp_buf);
        if (p->owns_userdata)
                free(p->userdata);
        sd_event_source_disable_unref(p->timer);
        free(p->msg);
        free(p);
}

void dns_pending_cancel(DnsPending *p) {
        if (p)
                pending_free(p);
}

static void complete(DnsPending *p, const uint8_t *msg, size_t len, int error);

static bool reply_matches(const DnsPending *p, const uint8_t *msg, size_t len) {
        DnsQuestion q;

        return dns_question_parse(msg, len, &q) >= 0 && (q.flags & DNS_FLAG_QR) && q.id == p->id &&
               q.type == p->type && strcasecmp(p->name, q.name) == 0;
}

static int on_tcp_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        DnsPending *p = userdata;
        ssize_t n;

        if (p->tcp_sent < p->len + 2) {
                uint8_t out[DNS_MSG_MAX + 2];

                out[0] = (uint8_t) (p->len >> 8);
                out[1] = (uint8_t) p->len;
                memcpy(out + 2, p->msg, p->len);
                n = send(fd, out + p->tcp_sent, p->len + 2 - p->tcp_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno != EAGAIN)
                                complete(p, NULL, 0, -errno);
                        return 0;
                }
                p->tcp_sent += (size_t) n;
                if (p->tcp_sent == p->len + 2)
                        (void) sd_event_source_set_io_events(s, EPOLLIN);
                return 0;
        }
        if (!p->tcp_buf && !(p->tcp_buf = malloc(65535 + 2))) {
                complete(p, NULL, 0, -ENOMEM);
                return 0;
        }
        n = recv(fd, p->tcp_buf + p->tcp_len, 65535 + 2 - p->tcp_len, MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN)
                return 0;
        if (n <= 0) {
                complete(p, NULL, 0, n < 0 ? -errno : -ECONNRESET);
                return 0;
        }
        p->tcp_len += (size_t) n;
        if (p->tcp_len < 2)
                return 0;
        size_t want = (size_t) p->tcp_buf[0] << 8 | p->tcp_buf[1];
        if (p->tcp_len < want + 2)
                return 0;
        if (!reply_matches(p, p->tcp_buf + 2, want)) {
                complete(p, NULL, 0, -EPROTO);
                return 0;
        }
        /* complete() frees the buffer with p: keep it. */
        uint8_t *buf = TAKE_PTR(p->tcp_buf);
        complete(p, buf + 2, want, 0);
        free(buf);
        return 0;
}

static int send_try_tcp(DnsPending *p, const struct sockaddr_storage *srv) {
        DnsUpstream *u = p->upstream;

        p->tcp_src = sd_event_source_disable_unref(p->tcp_src);
        p->tcp_fd = safe_close(p->tcp_fd);
        free(p->tcp_buf);
        p->tcp_buf = NULL;
        p->tcp_sent = p->tcp_len = 0;

        p->tcp_fd = socket_as(u->uid, u->gid, srv->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (p->tcp_fd < 0)
                return p->tcp_fd;
        if (connect(p->tcp_fd, (const struct sockaddr *) srv, sa_len(srv)) < 0 && errno != EINPROGRESS)
                return -errno;
        if (sd_event_add_io(u->event, &p->tcp_src, p->tcp_fd, EPOLLOUT, on_tcp_io, p) < 0)
                return -ENOMEM;
        return 0;
}

static int send_try(DnsPending *p) {
        DnsUpstream *u = p->upstream;
        const struct sockaddr_storage *srv = &u->servers[p->server % u->n_servers];
        int idx = srv->ss_family == AF_INET ? 0 : 1;

        p->tries++;
        if (p->tcp) {
                int r = send_try_tcp(p, srv);
                if (r < 0)
                        return r;
        } else if (sendto(u->fd[idx], p->msg, p->len, MSG_DONTWAIT, (const struct sockaddr *) srv, sa_len(srv)) < 0)
                return -errno;
        return sd_event_source_set_time_relative(p->timer, DNS_UPSTREAM_TIMEOUT_USEC) < 0 ? -EIO :
               sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
}

/* Completes p: calls back, then frees it. */
static void complete(DnsPending *p, const uint8_t *msg, size_t len, int error) {
        p->owns_userdata = false;       /* the callback gets it */
        if (p->reply_cb) {
                uint8_t *copy = NULL;

                if (msg && len >= 2 && (copy = malloc(len))) {
                        memcpy(copy, msg, len);
                        copy[0] = (uint8_t) (p->orig_id >> 8);
                        copy[1] = (uint8_t) p->orig_id;
                }
                dns_reply_t cb = p->reply_cb;
                void *ud = p->userdata;
                pending_free(p);
                cb(copy, copy ? len : 0, copy || error < 0 ? error : -ENOMEM, ud);
                free(copy);
                return;
        }

        DnsAddress addrs[RESOLVE_MAX_ADDRS];
        int n = 0;
        if (msg) {
                DnsQuestion q;
                n = dns_reply_addresses(msg, len, &q, addrs, ELEMENTSOF(addrs));
                if (n < 0)
                        error = -EIO;
                else if (n == 0) {
                        uint8_t rcode = len >= 4 ? (msg[3] & 0xf) : DNS_RCODE_SERVFAIL;
                        error = rcode == DNS_RCODE_NOERROR || rcode == DNS_RCODE_NXDOMAIN ? -ENXIO : -EIO;
                        /* No A record: ask for AAAA before giving up. */
                        if (p->type == DNS_TYPE_A && rcode == DNS_RCODE_NOERROR) {
                                uint16_t id;
                                int r;

                                (void) getrandom(&id, sizeof id, 0);
                                r = dns_query_build(id, p->name, DNS_TYPE_AAAA, p->msg, DNS_MSG_MAX);
                                if (r > 0) {
                                        p->id = id;
                                        p->len = (size_t) r;
                                        p->type = DNS_TYPE_AAAA;
                                        p->tries = 0;
                                        if (send_try(p) >= 0)
                                                return;
                                }
                        }
                }
        }
        dns_resolved_t cb = p->resolved_cb;
        void *ud = p->userdata;
        pending_free(p);
        cb(n > 0 ? addrs : NULL, n > 0 ? (size_t) n : 0, n > 0 ? 0 : (error < 0 ? error : -ENXIO), ud);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        DnsPending *p = userdata;

        if (p->tries < DNS_UPSTREAM_TRIES) {
                p->server++;
                if (send_try(p) >= 0)
                        return 0;
        }
        complete(p, NULL, 0, -ETIMEDOUT);
        return 0;
}

static int on_reply(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        DnsUpstream *u = userdata;

        for (int i = 0; i < 64; i++) {
                uint8_t buf[DNS_MSG_MAX];
                struct sockaddr_storage from = {};
                socklen_t from_len = sizeof from;
                DnsQuestion q;
                ssize_t n;

                n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *) &from, &from_len);
                if (n < 0)
                        break;
                if (dns_question_parse(buf, (size_t) n, &q) < 0 || !(q.flags & DNS_FLAG_QR))
                        continue;
                for (DnsPending *p = u->pending; p; p = p->next) {
                        if (p->tcp || p->id != q.id || p->type != q.type || strcasecmp(p->name, q.name) != 0 ||
                            !sa_equal(&from, &u->servers[p->server % u->n_servers]))
                                continue;
                        complete(p, buf, (size_t) n, 0);
                        break;
                }
        }
        return 0;
}

int dns_upstream_new(sd_event *event, const char *server, uid_t uid, gid_t gid, DnsUpstream **ret, char **ret_error) {
        DnsUpstream *u;
        int r;

        u = calloc(1, sizeof *u);
        if (!u)
                return -ENOMEM;
        u->fd[0] = u->fd[1] = -1;
        u->event = sd_event_ref(event);
        u->uid = uid;
        u->gid = gid;

        if (server) {
                r = dns_server_parse(server, &u->servers[0]);
                if (r < 0) {
                        if (ret_error && asprintf(ret_error, "network.dnsServer: \"%s\" is not IP[:PORT]", server) < 0)
                                *ret_error = NULL;
                        goto fail;
                }
                u->n_servers = 1;
        } else {
                r = read_host_resolvers(u);
                if (r < 0) {
                        if (ret_error && asprintf(ret_error, "no nameserver in /etc/resolv.conf; set network.dnsServer") < 0)
                                *ret_error = NULL;
                        goto fail;
                }
        }

        for (int i = 0; i < 2; i++) {
                bool needed = false;
                for (size_t k = 0; k < u->n_servers; k++)
                        needed |= u->servers[k].ss_family == (i ? AF_INET6 : AF_INET);
                if (!needed)
                        continue;
                u->fd[i] = socket_as(uid, gid, i ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (u->fd[i] < 0) {
                        r = u->fd[i];
                        goto fail;
                }
                r = sd_event_add_io(event, &u->src[i], u->fd[i], EPOLLIN, on_reply, u);
                if (r < 0)
                        goto fail;
        }
        *ret = u;
        return 0;
fail:
        dns_upstream_free(u);
        return r;
}

DnsUpstream *dns_upstream_free(DnsUpstream *u) {
        if (!u)
                return NULL;
        while (u->pending)
                pending_free(u->pending);
        for (int i = 0; i < 2; i++) {
                sd_event_source_disable_unref(u->src[i]);
                safe_close(u->fd[i]);
        }
        sd_event_unref(u->event);
        free(u);
        return NULL;
}

static int pending_new(DnsUpstream *u, DnsPending **ret) {
        DnsPending *p;
        int r;

        if (u->n_pending >= DNS_UPSTREAM_MAX_PENDING)
                return -EBUSY;
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->upstream = u;
        p->tcp_fd = -1;
        p->msg = malloc(DNS_MSG_MAX);
        if (!p->msg) {
                free(p);
                return -ENOMEM;
        }
        (void) getrandom(&p->id, sizeof p->id, 0);
        (void) getrandom(&p->server, sizeof p->server, 0);
        r = sd_event_add_time_relative(u->event, &p->timer, CLOCK_MONOTONIC, DNS_UPSTREAM_TIMEOUT_USEC, 0,
                                       on_timeout, p);
        if (r < 0) {
                free(p->msg);
                free(p);
                return r;
        }
        p->next = u->pending;
        if (u->pending)
                u->pending->prev = p;
        u->pending = p;
        u->n_pending++;
        *ret = p;
        return 0;
}

/* Names the query p carries and sends it; frees p when that fails. */
static int pending_send(DnsPending *p, const char *name, uint16_t type, DnsPending **ret) {
        int r;

        snprintf(p->name, sizeof p->name, "%s", name);
        p->type = type;
        r = send_try(p);
        if (r < 0) {
                pending_free(p);
                return r;
        }
        if (ret)
                *ret = p;
        return 0;
}

int dns_upstream_query(DnsUpstream *u, const void *query, size_t len, bool tcp, dns_reply_t cb, void *userdata,
                       DnsPending **ret) {
        DnsQuestion q;
        DnsPending *p;
        int r;

        if (len > DNS_MSG_MAX || dns_question_parse(query, len, &q) < 0) {
                free(userdata);
                return -EBADMSG;
        }
        r = pending_new(u, &p);
        if (r < 0) {
                free(userdata);
                return r;
        }
        memcpy(p->msg, query, len);
        p->len = len;
        p->orig_id = q.id;
        p->msg[0] = (uint8_t) (p->id >> 8);
        p->msg[1] = (uint8_t) p->id;
        p->reply_cb = cb;
        p->userdata = userdata;
        p->owns_userdata = true;
        p->tcp = tcp;
        return pending_send(p, q.name, q.type, ret);
}

int dns_upstream_resolve(DnsUpstream *u, const char *name, dns_resolved_t cb, void *userdata, DnsPending **ret) {
        DnsPending *p;
        int r;

        r = pending_new(u, &p);
        if (r < 0)
                return r;
        r = dns_query_build(p->id, name, DNS_TYPE_A, p->msg, DNS_MSG_MAX);
        if (r < 0) {
                pending_free(p);
                return r;
        }
        p->len = (size_t) r;
        p->resolved_cb = cb;
        p->userdata = userdata;
        return pending_send(p, name, DNS_TYPE_A, ret);
}
