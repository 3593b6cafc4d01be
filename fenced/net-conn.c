/* Connections a sandbox makes through the daemon: their life, the outbound
 * connect from the host namespace, and the hand-over to the relay. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "net-internal.h"
#include "netns-exec.h"
#include "socket-as.h"
#include "tcp-unpaced.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

bool net_addr_is_local(int family, const uint8_t *a) {
        static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        static const uint8_t zero[16];

        if (family == AF_INET)
                return a[0] == 127 || a[0] == 0;
        if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1))
                return true;
        return memcmp(a, mapped, 12) == 0 && (a[12] == 127 || a[12] == 0);
}

int net_conn_new(NetListener *l, NetConnKind kind, int client_fd, const struct sockaddr_storage *peer, NetConn **ret) {
        NetSandbox *ns = l->ns;
        NetConn *c;

        if (ns->n_conns >= NET_MAX_CONNS) {
                safe_close(client_fd);
                return -EMFILE;
        }
        c = calloc(1, sizeof *c);
        if (!c) {
                safe_close(client_fd);
                return -ENOMEM;
        }
        *c = (NetConn) {
                .ns = ns,
                .kind = kind,
                .family = l->family,
                .peer = *peer,
                .client_fd = client_fd,
                .server_fd = -1,
                .connect_netns = -1,
        };
        c->next = ns->conns;
        if (ns->conns)
                ns->conns->prev = c;
        ns->conns = c;
        ns->n_conns++;
        *ret = c;
        return 0;
}

void net_conn_free(NetConn *c) {
        NetSandbox *ns;

        if (!c)
                return;
        ns = c->ns;
        if (c->prev)
                c->prev->next = c->next;
        else
                ns->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        ns->n_conns--;

        dns_pending_cancel(c->lookup);
        relay_free(c->relay);
        socks5_client_free(c->socks);
        if (c->up_head)
                explicit_bzero(c->up_head, c->up_head_len);     /* may carry credentials */
        free(c->up_head);
        sd_event_source_disable_unref(c->client_src);
        sd_event_source_disable_unref(c->server_src);
        sd_event_source_disable_unref(c->timer);
        safe_close(c->client_fd);
        safe_close(c->server_fd);
        free(c->buf);
        free(c->to_server);
        free(c);
}

void net_conn_reset(NetConn *c) {
        struct linger l = { .l_onoff = 1, .l_linger = 0 };

        c->client_src = sd_event_source_disable_unref(c->client_src);
        if (c->client_fd >= 0)
                (void) setsockopt(c->client_fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        net_conn_free(c);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        NetConn *c = userdata;

        if (c->connected && !c->relay) {
                /* Still resolving or connecting out: the front end answers
                 * (502, SOCKS reply) or resets. */
                net_connected_t cb = c->connected;
                c->connected = NULL;
                dns_pending_cancel(c->lookup);
                c->lookup = NULL;
                c->server_src = sd_event_source_disable_unref(c->server_src);
                c->server_fd = safe_close(c->server_fd);
                cb(c, -ETIMEDOUT);
                return 0;
        }
        net_conn_reset(c);
        return 0;
}

int net_conn_start_handshake(NetConn *c, uint32_t events, sd_event_io_handler_t handler) {
        int r;

        r = sd_event_add_io(c->ns->event, &c->client_src, c->client_fd, events, handler, c);
        if (r >= 0)
                r = net_conn_set_timeout(c, NET_HANDSHAKE_TIMEOUT_USEC);
        if (r < 0)
                net_conn_free(c);
        return r;
}

int net_conn_set_timeout(NetConn *c, uint64_t usec) {
        if (!c->timer)
                return sd_event_add_time_relative(c->ns->event, &c->timer, CLOCK_MONOTONIC, usec, 0, on_timeout, c);
        if (sd_event_source_set_time_relative(c->timer, usec) < 0)
                return -EIO;
        return sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

int net_conn_reply(NetConn *c, const void *data, size_t len) {
        ssize_t n = send(c->client_fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EAGAIN;
}

static void connected_done(NetConn *c, int error) {
        net_connected_t cb = c->connected;

        c->connected = NULL;
        c->server_src = sd_event_source_disable_unref(c->server_src);
        if (error < 0)
                c->server_fd = safe_close(c->server_fd);
        if (cb)
                cb(c, error);
}

static void try_next(NetConn *c, int last_error);

/* The CONNECT exchange with an HTTP upstream proxy: 1 when the tunnel is
 * up, 0 to wait, or a negative errno. The answer's head is consumed
 * exactly, so no byte of the tunnel is lost. */
static int http_upstream_step(NetConn *c, int fd) {
        char buf[4096];
        ssize_t n;

        while (c->up_head_off < c->up_head_len) {
                n = send(fd, c->up_head + c->up_head_off, c->up_head_len - c->up_head_off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                c->up_head_off += (size_t) n;
        }
        if (!c->up_wait_answer) {
                c->up_wait_answer = true;
                /* Edge-triggered: the answer is peeked until complete. */
                (void) sd_event_source_set_io_events(c->server_src, EPOLLIN | EPOLLET);
        }
        n = recv(fd, buf, sizeof buf - 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0)
                return errno == EAGAIN ? 0 : -errno;
        if (n == 0)
                return -ECONNRESET;
        buf[n] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
                return (size_t) n < sizeof buf - 1 ? 0 : -EPROTO;
        if (strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 8, " 200", 4) != 0)
                return strncmp(buf + 8, " 403", 4) == 0 ? -EACCES : -ECONNREFUSED;
        size_t head = (size_t) (end + 4 - buf);
        if (recv(fd, buf, head, MSG_DONTWAIT) != (ssize_t) head)
                return -EIO;
        return 1;
}

static int on_server_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NetConn *c = userdata;
        int err = 0, r;
        socklen_t len = sizeof err;

        if (c->connecting) {
                c->connecting = false;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                        err = errno;
                if (err != 0) {
                        c->server_src = sd_event_source_disable_unref(c->server_src);
                        c->server_fd = safe_close(c->server_fd);
                        try_next(c, -err);
                        return 0;
                }
        }
        if (c->socks) {
                r = socks5_client_step(c->socks, fd);
                if (r < 0) {
                        connected_done(c, r);
                        return 0;
                }
                if (r == 0) {
                        (void) sd_event_source_set_io_events(c->server_src, socks5_client_events(c->socks));
                        return 0;
                }
                c->socks = socks5_client_free(c->socks);
                (void) sd_event_source_set_io_events(c->server_src, EPOLLOUT);
        }
        if (c->up_head) {
                r = http_upstream_step(c, fd);
                if (r < 0) {
                        connected_done(c, r);
                        return 0;
                }
                if (r == 0)
                        return 0;
                explicit_bzero(c->up_head, c->up_head_len);
                free(c->up_head);
                c->up_head = NULL;
                (void) sd_event_source_set_io_events(c->server_src, EPOLLOUT);
        }
        while (c->to_server_off < c->to_server_len) {
                ssize_t n = send(fd, c->to_server + c->to_server_off, c->to_server_len - c->to_server_off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN)
                                return 0;
                        connected_done(c, -errno);
                        return 0;
                }
                c->to_server_off += (size_t) n;
        }
        connected_done(c, 0);
        return 0;
}

typedef struct SocketArgs {
        int family, fd;
} SocketArgs;

static int socket_cb(void *userdata) {
        SocketArgs *a = userdata;

        a->fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        return a->fd < 0 ? -errno : 0;
}

static void try_next(NetConn *c, int last_error) {
        while (c->next_addr < c->n_addrs) {
                const DnsAddress *a = &c->addrs[c->next_addr++];
                struct sockaddr_storage ss = {};
                socklen_t sl;
                int fd, r;

                /* The host's loopback is reachable only through
                 * allowLocalOutbound, never because a name resolved to it. */
                if (net_addr_is_local(a->family, a->addr) && !c->to_loopback) {
                        last_error = -EACCES;
                        continue;
                }

                if (a->family == AF_INET) {
                        struct sockaddr_in *in = (struct sockaddr_in *) &ss;
                        in->sin_family = AF_INET;
                        in->sin_port = htons(c->connect_port);
                        memcpy(&in->sin_addr, a->addr, 4);
                        sl = sizeof *in;
                } else {
                        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
                        in6->sin6_family = AF_INET6;
                        in6->sin6_port = htons(c->connect_port);
                        memcpy(&in6->sin6_addr, a->addr, 16);
                        sl = sizeof *in6;
                }
                /* Created here, on the main thread: in the host's namespace
                 * (or, for -p, in the sandbox's). */
                if (c->connect_netns >= 0) {
                        SocketArgs sa = { .family = a->family, .fd = -1 };
                        r = netns_exec(c->connect_netns, socket_cb, &sa);
                        fd = sa.fd;
                } else {
                        /* Owned by the caller: the host's firewall sees the user. */
                        fd = socket_as(c->ns->uid, c->ns->gid, a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
                        r = fd < 0 ? fd : 0;
                }
                if (r < 0) {
                        last_error = r;
                        continue;
                }
                if (connect(fd, (struct sockaddr *) &ss, sl) < 0 && errno != EINPROGRESS) {
                        last_error = -errno;
                        close(fd);
                        continue;
                }
                c->server_fd = fd;
                c->connecting = true;
                r = sd_event_add_io(c->ns->event, &c->server_src, fd, EPOLLOUT, on_server_io, c);
                if (r < 0) {
                        connected_done(c, r);
                        return;
                }
                return;
        }
        connected_done(c, last_error < 0 ? last_error : -EHOSTUNREACH);
}

static int upstream_prepare(NetConn *c);

static void on_resolved(const DnsAddress *addrs, size_t n, int error, void *userdata) {
        NetConn *c = userdata;

        c->lookup = NULL;
        if (error < 0) {
                connected_done(c, error);
                return;
        }
        c->n_addrs = MIN(n, ELEMENTSOF(c->addrs));
        memcpy(c->addrs, addrs, c->n_addrs * sizeof *addrs);
        c->next_addr = 0;
        if (c->via_upstream) {
                int r = upstream_prepare(c);
                if (r < 0) {
                        connected_done(c, r);
                        return;
                }
        }
        try_next(c, -EHOSTUNREACH);
}

/* "user:password" in base64 (RFC 7617). */
static int basic_auth(const char *user, const char *password, char **ret) {
        static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        _cleanup_free_ char *plain = NULL;
        size_t n, o = 0;
        char *out;

        if (asprintf(&plain, "%s:%s", user, password) < 0)
                return -ENOMEM;
        n = strlen(plain);
        out = malloc((n + 2) / 3 * 4 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t) (uint8_t) plain[i] << 16;
                if (i + 1 < n)
                        v |= (uint32_t) (uint8_t) plain[i + 1] << 8;
                if (i + 2 < n)
                        v |= (uint8_t) plain[i + 2];
                out[o++] = tbl[v >> 18 & 63];
                out[o++] = tbl[v >> 12 & 63];
                out[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
                out[o++] = i + 2 < n ? tbl[v & 63] : '=';
        }
        out[o] = 0;
        explicit_bzero(plain, n);
        *ret = out;
        return 0;
}

/* Points c at the upstream proxy, with the handshake for its target. */
static int upstream_prepare(NetConn *c) {
        const NetUpstream *up = &c->ns->upstream;
        ProxyTarget t = c->target;
        int r;

        if (up->kind == NET_UPSTREAM_HTTP) {
                bool v6 = strchr(t.host, ':');
                _cleanup_free_ char *auth = NULL;

                if (up->username) {
                        r = basic_auth(up->username, up->password, &auth);
                        if (r < 0)
                                return r;
                }
                if (asprintf(&c->up_head, "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n%s%s%s\r\n",
                             v6 ? "[" : "", t.host, v6 ? "]" : "", t.port, v6 ? "[" : "", t.host, v6 ? "]" : "",
                             t.port, auth ? "Proxy-Authorization: Basic " : "", auth ?: "", auth ? "\r\n" : "") < 0)
                        return -ENOMEM;
                c->up_head_len = strlen(c->up_head);
        } else {
                if (up->kind == NET_UPSTREAM_SOCKS5 && t.family == AF_UNSPEC) {
                        /* socks5:// sends addresses: the one resolved here. */
                        if (c->n_addrs == 0)
                                return -EINVAL;
                        t.family = c->addrs[0].family;
                        memcpy(t.addr, c->addrs[0].addr, 16);
                }
                r = socks5_client_new(&t, up->username, up->password, &c->socks);
                if (r < 0)
                        return r;
        }
        c->addrs[0] = up->addr;
        c->n_addrs = 1;
        c->next_addr = 0;
        c->connect_port = up->port;
        /* The proxy is the user's own choice and may well be on loopback. */
        c->to_loopback = true;
        return 0;
}

void net_conn_connect(NetConn *c, net_connected_t connected) {
        int r;

        c->connected = connected;
        if (c->connect_port == 0)
                c->connect_port = c->target.port;
        (void) net_conn_set_timeout(c, NET_HANDSHAKE_TIMEOUT_USEC);
        if (c->via_upstream && !(c->ns->upstream.kind == NET_UPSTREAM_SOCKS5 && c->target.family == AF_UNSPEC &&
                                 c->n_addrs == 0)) {
                r = upstream_prepare(c);
                if (r < 0) {
                        connected_done(c, r);
                        return;
                }
                try_next(c, -EHOSTUNREACH);
                return;
        }
        if (c->n_addrs > 0) {
                try_next(c, -EHOSTUNREACH);
                return;
        }
        if (c->target.family == AF_INET || c->target.family == AF_INET6) {
                c->addrs[0] = (DnsAddress) { .family = c->target.family };
                memcpy(c->addrs[0].addr, c->target.addr, 16);
                c->n_addrs = 1;
                try_next(c, -EHOSTUNREACH);
                return;
        }
        r = dns_upstream_resolve(c->ns->dns, c->target.host, on_resolved, c, &c->lookup);
        if (r < 0)
                connected_done(c, r);
}

static void on_relay_done(Relay *r, int error, void *userdata) {
        NetConn *c = userdata;

        net_conn_free(c);
}

void net_conn_relay(NetConn *c) {
        int a = c->client_fd, b = c->server_fd, r;

        c->client_src = sd_event_source_disable_unref(c->client_src);
        c->server_src = sd_event_source_disable_unref(c->server_src);
        c->timer = sd_event_source_disable_unref(c->timer);
        c->client_fd = c->server_fd = -1;
        tcp_unpaced_if_loopback(a);
        tcp_unpaced_if_loopback(b);
        r = relay_new(c->ns->event, a, b, on_relay_done, c, &c->relay);
        if (r < 0) {
                log_debug_errno(r, "Cannot relay a connection: %m");
                net_conn_free(c);
        }
}

/* allowLocalOutboundPorts and -p: a plain TCP forward between the sandbox's
 * loopback and the host's, same family, same port. */
static void on_local_connected(NetConn *c, int error) {
        if (error < 0) {
                net_conn_reset(c);
                return;
        }
        net_conn_relay(c);
}

int net_local_on_accept(NetListener *l, int fd, const struct sockaddr_storage *peer) {
        NetConn *c;
        int r;

        r = net_conn_new(l, NET_CONN_TRANSPARENT, fd, peer, &c);
        if (r < 0)
                return r;
        c->to_loopback = true;
        if (l->kind == NET_LISTEN_EXPOSE)
                c->connect_netns = l->ns->netns_fd;
        c->target.port = l->port;
        c->addrs[0] = (DnsAddress) { .family = l->family };
        if (l->family == AF_INET) {
                c->addrs[0].addr[0] = 127;
                c->addrs[0].addr[3] = 1;
        } else
                c->addrs[0].addr[15] = 1;
        c->n_addrs = 1;
        if (l->kind == NET_LISTEN_EXPOSE) {
                /* A server in the sandbox may listen on either loopback. */
                c->addrs[1] = (DnsAddress) { .family = AF_INET6 };
                c->addrs[1].addr[15] = 1;
                c->n_addrs = 2;
        }
        snprintf(c->target.host, sizeof c->target.host, "%s", l->family == AF_INET ? "127.0.0.1" : "::1");
        net_conn_connect(c, on_local_connected);
        return 0;
}
