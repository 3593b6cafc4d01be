#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "macro.h"
#include "net-internal.h"
#include "netfilter.h"
#include "sniff.h"
#include "tcp-capture.h"

static void on_connected(NetConn *c, int error) {
        if (error < 0) {
                log_debug_errno(error, "Relay to %s:%u failed: %m", c->target.host, c->target.port);
                net_conn_reset(c);
                return;
        }
        net_conn_relay(c);
}

static void deny(NetConn *c, const char *host, const NetVerdict *v, const char *why) {
        net_report_denied(c->ns, "network", "transparent", c, NULL, IPPROTO_TCP, host, c->target.port, v, why);
        net_conn_reset(c);
}

static void decide(NetConn *c, const SniffResult *sniffed) {
        NetSandbox *ns = c->ns;
        char name[NET_HOST_MAX + 1] = "";
        const char *dns_name;
        NetRoute route, r;
        NetVerdict v;
        char why[1024];

        c->timer = sd_event_source_disable_unref(c->timer);
        c->client_src = sd_event_source_disable_unref(c->client_src);

        /* Each name the connection has must pass; it goes through the
         * upstream proxy when any of them says so. */
        route = NET_ROUTE_DIRECT;
        if (sniffed) {
                r = net_route(ns, sniffed->host, c->target.port, &v);
                if (r == NET_ROUTE_DENY)
                        return deny(c, sniffed->host, &v, NULL);
                route = r;
                snprintf(name, sizeof name, "%s", sniffed->host);
        }
        dns_name = dns_cache_get(ns->cache, c->target.family, c->target.addr, now_usec());
        if (dns_name) {
                char dn[NET_HOST_MAX + 1];

                snprintf(dn, sizeof dn, "%s", dns_name);
                r = net_route(ns, dn, c->target.port, &v);
                if (r == NET_ROUTE_DENY)
                        return deny(c, dn, &v, NULL);
                if (r == NET_ROUTE_UPSTREAM)
                        route = r;
                if (!name[0])
                        snprintf(name, sizeof name, "%s", dn);
        } else {
                r = net_route(ns, c->target.host, c->target.port, &v);
                if (r == NET_ROUTE_DENY) {
                        if (!sniffed)
                                return deny(c, c->target.host, &v, NULL);
                        snprintf(why, sizeof why,
                                 "%s (for \"%s\") was not resolved through the sandbox's DNS, so it is not known "
                                 "to belong to \"%s\"; connect by name",
                                 c->target.host, sniffed->host, sniffed->host);
                        return deny(c, sniffed->host, &v, why);
                }
                if (r == NET_ROUTE_UPSTREAM)
                        route = r;
        }

        if (route == NET_ROUTE_UPSTREAM) {
                c->via_upstream = true;
                /* Name the destination to a proxy that resolves (socks5h,
                 * http); the address it was resolved to otherwise. */
                if (name[0] && ns->upstream.kind != NET_UPSTREAM_SOCKS5) {
                        snprintf(c->target.host, sizeof c->target.host, "%s", name);
                        c->target.family = AF_UNSPEC;
                }
        }
        net_conn_connect(c, on_connected);
}

static int on_sniff_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        decide(userdata, NULL);
        return 0;
}

static int on_client(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NetConn *c = userdata;
        uint8_t buf[SNIFF_MAX_BYTES];
        SniffResult res;
        ssize_t n;

        n = recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0) {
                if (errno == EAGAIN)
                        return 0;
                net_conn_free(c);
                return 0;
        }
        if (n == 0) {
                /* FIN before any byte: decide on the address alone (the
                 * client may just half-close). */
                decide(c, NULL);
                return 0;
        }
        switch (sniff_stream(buf, (size_t) n, &res)) {
        case SNIFF_NEED_MORE:
                if ((size_t) n < sizeof buf)
                        return 0;       /* edge-triggered: wait for more */
                decide(c, NULL);
                return 0;
        case SNIFF_FOUND:
                decide(c, &res);
                return 0;
        default:
                decide(c, NULL);
                return 0;
        }
}

int tcp_capture_on_accept(NetListener *l, int fd, const struct sockaddr_storage *peer) {
        struct sockaddr_storage dst;
        NetConn *c;
        int r;

        r = net_conn_new(l, NET_CONN_TRANSPARENT, fd, peer, &c);
        if (r < 0)
                return r;

        r = netfilter_original_dst(fd, &dst);
        if (r < 0) {
                net_conn_reset(c);
                return r;
        }
        c->target.family = dst.ss_family;
        if (dst.ss_family == AF_INET) {
                const struct sockaddr_in *in = (const void *) &dst;
                memcpy(c->target.addr, &in->sin_addr, 4);
                c->target.port = ntohs(in->sin_port);
        } else {
                const struct sockaddr_in6 *in6 = (const void *) &dst;
                memcpy(c->target.addr, &in6->sin6_addr, 16);
                c->target.port = ntohs(in6->sin6_port);
        }
        if (!inet_ntop(c->target.family, c->target.addr, c->target.host, sizeof c->target.host)) {
                net_conn_reset(c);
                return -EINVAL;
        }
        /* Loopback is never captured (the rules return it), so this is a
         * connection to the listener itself, or a trick to reach the host's
         * loopback: never relayed. */
        if (net_addr_is_local(c->target.family, c->target.addr)) {
                net_conn_reset(c);
                return 0;
        }

        r = sd_event_add_io(l->ns->event, &c->client_src, fd, EPOLLIN | EPOLLET, on_client, c);
        if (r >= 0)
                r = sd_event_add_time_relative(l->ns->event, &c->timer, CLOCK_MONOTONIC, NET_SNIFF_TIMEOUT_USEC, 0,
                                               on_sniff_timeout, c);
        if (r < 0)
                net_conn_reset(c);
        return r;
}
