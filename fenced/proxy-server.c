#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "macro.h"
#include "net-internal.h"
#include "proxy-server.h"

#define MIN_SZ(a, b) ((a) < (b) ? (a) : (b))

enum {
        SOCKS_GREETING,
        SOCKS_REQUEST,
        SOCKS_CONNECTING,
        HTTP_HEAD,
        HTTP_CONNECTING,
};

static int on_drain(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NetConn *c = userdata;
        char buf[4096];

        for (int i = 0; i < 16; i++) {
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n <= 0)
                        break;
        }
        net_conn_free(c);
        return 0;
}

/* Answers and closes. What the client still sends (a request body) is read
 * and dropped until it closes too, for a short while: closing a socket with
 * unread data would reset it, and the client might lose the answer. */
static void reply_and_close(NetConn *c, const void *data, size_t len) {
        (void) net_conn_reply(c, data, len);
        (void) shutdown(c->client_fd, SHUT_WR);
        c->client_src = sd_event_source_disable_unref(c->client_src);
        if (sd_event_add_io(c->ns->event, &c->client_src, c->client_fd, EPOLLIN, on_drain, c) < 0 ||
            net_conn_set_timeout(c, NET_DRAIN_TIMEOUT_USEC) < 0)
                net_conn_free(c);
}

static void http_status(NetConn *c, int status, const char *body) {
        _cleanup_free_ char *resp = NULL;
        size_t len;

        if (http_proxy_build_response(status, body, &resp, &len) < 0) {
                net_conn_free(c);
                return;
        }
        reply_and_close(c, resp, len);
}

static int consume(NetConn *c, size_t n) {
        uint8_t buf[1024];

        while (n > 0) {
                ssize_t k = recv(c->client_fd, buf, MIN_SZ(n, sizeof buf), MSG_DONTWAIT);
                if (k <= 0)
                        return k < 0 ? -errno : -ECONNRESET;
                n -= (size_t) k;
        }
        return 0;
}

/* --- HTTP --- */

static void on_http_connected(NetConn *c, int error) {
        if (error < 0) {
                char body[NET_HOST_MAX + 128];
                snprintf(body, sizeof body, "fenced: cannot reach %s:%u: %s", c->target.host, c->target.port,
                         error == -ENXIO ? "no such host" : strerror(-error));
                http_status(c, 502, body);
                return;
        }
        if (c->state == HTTP_CONNECTING && !c->to_server) {
                if (net_conn_reply(c, HTTP_PROXY_CONNECT_ESTABLISHED, strlen(HTTP_PROXY_CONNECT_ESTABLISHED)) < 0) {
                        net_conn_free(c);
                        return;
                }
        }
        net_conn_relay(c);
}

static int on_http_client(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NetConn *c = userdata;
        NetSandbox *ns = c->ns;
        _cleanup_free_ uint8_t *buf = malloc(HTTP_PROXY_HEAD_MAX + 1);
        HttpProxyRequest req;
        NetVerdict v;
        ssize_t n;
        int r;

        if (!buf) {
                net_conn_free(c);
                return 0;
        }
        n = recv(fd, buf, HTTP_PROXY_HEAD_MAX + 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN)
                return 0;
        if (n <= 0) {
                net_conn_free(c);
                return 0;
        }
        r = http_proxy_parse_request(buf, (size_t) n, &req);
        if (r == 0) {
                if ((size_t) n > HTTP_PROXY_HEAD_MAX)
                        http_status(c, 431, "fenced: request head too large");
                return 0;
        }
        if (r < 0) {
                if (r == -E2BIG)
                        http_status(c, 431, "fenced: request head too large");
                else if (r == -EPROTONOSUPPORT)
                        http_status(c, 501, "fenced: only http:// URLs and CONNECT are proxied");
                else
                        http_status(c, 400, "fenced: malformed proxy request");
                return 0;
        }

        c->client_src = sd_event_source_disable_unref(c->client_src);
        c->target = req.target;
        if (req.kind == HTTP_PROXY_FORWARD &&
            http_proxy_rewrite_head(buf, &req, &c->to_server, &c->to_server_len) < 0) {
                http_status(c, 400, "fenced: malformed proxy request");
                return 0;
        }
        if (consume(c, req.head_len) < 0) {
                net_conn_free(c);
                return 0;
        }
        NetRoute route = net_route(ns, c->target.host, c->target.port, &v);
        if (route == NET_ROUTE_DENY) {
                _cleanup_free_ char *why = net_verdict_explain(&v, c->target.host, c->target.port);
                _cleanup_free_ char *resp = NULL;
                size_t len;

                net_report_denied(ns, "network", "http-proxy", c, NULL, IPPROTO_TCP, c->target.host, c->target.port,
                                  &v, NULL);
                if (http_proxy_build_blocked(why ? why : "", &resp, &len) < 0) {
                        net_conn_free(c);
                        return 0;
                }
                reply_and_close(c, resp, len);
                return 0;
        }
        c->state = HTTP_CONNECTING;
        c->via_upstream = route == NET_ROUTE_UPSTREAM;
        net_conn_connect(c, on_http_connected);
        return 0;
}

int proxy_server_on_http(NetListener *l, int fd, const struct sockaddr_storage *peer) {
        NetConn *c;
        int r;

        r = net_conn_new(l, NET_CONN_HTTP, fd, peer, &c);
        if (r < 0)
                return r;
        c->state = HTTP_HEAD;
        return net_conn_start_handshake(c, EPOLLIN | EPOLLET, on_http_client);
}

/* --- SOCKS5 --- */

/* Returns false when c was freed. */
static bool socks_reply(NetConn *c, uint8_t rep, const struct sockaddr *bound, bool close_after) {
        uint8_t buf[32];
        int n = socks5_build_reply(rep, bound, buf, sizeof buf);

        if (n < 0 || net_conn_reply(c, buf, (size_t) n) < 0) {
                net_conn_free(c);
                return false;
        }
        if (close_after) {
                (void) shutdown(c->client_fd, SHUT_WR);
                net_conn_free(c);
                return false;
        }
        return true;
}

static void on_socks_connected(NetConn *c, int error) {
        if (error < 0) {
                socks_reply(c, error == -ENXIO ? SOCKS5_REP_HOST_UNREACHABLE : socks5_rep_from_errno(-error), NULL, true);
                return;
        }
        /* The sandbox need not learn the host's address: BND is 0.0.0.0:0. */
        if (socks_reply(c, SOCKS5_REP_SUCCEEDED, NULL, false))
                net_conn_relay(c);
}

static int on_socks_client(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NetConn *c = userdata;
        NetSandbox *ns = c->ns;
        uint8_t buf[600];
        NetVerdict v;

        for (;;) {
                ssize_t n = recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
                uint8_t method, cmd;
                int r;

                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n <= 0) {
                        net_conn_free(c);
                        return 0;
                }
                if (c->state == SOCKS_GREETING) {
                        uint8_t out[2];

                        r = socks5_parse_greeting(buf, (size_t) n, &method);
                        if (r == 0)
                                return 0;
                        if (r < 0 || consume(c, (size_t) r) < 0) {
                                net_conn_free(c);
                                return 0;
                        }
                        if (socks5_build_method_reply(method, out, sizeof out) < 0 ||
                            net_conn_reply(c, out, sizeof out) < 0 || method == SOCKS5_METHOD_NO_ACCEPTABLE) {
                                net_conn_free(c);
                                return 0;
                        }
                        c->state = SOCKS_REQUEST;
                        continue;
                }

                r = socks5_parse_request(buf, (size_t) n, &cmd, &c->target);
                if (r == 0)
                        return 0;
                if (r == -EAFNOSUPPORT) {
                        socks_reply(c, SOCKS5_REP_ADDRESS_NOT_SUPPORTED, NULL, true);
                        return 0;
                }
                if (r < 0 || consume(c, (size_t) r) < 0) {
                        net_conn_free(c);
                        return 0;
                }
                if (cmd != SOCKS5_CMD_CONNECT) {
                        socks_reply(c, SOCKS5_REP_COMMAND_NOT_SUPPORTED, NULL, true);
                        return 0;
                }
                c->client_src = sd_event_source_disable_unref(c->client_src);
                NetRoute route = net_route(ns, c->target.host, c->target.port, &v);
                if (route == NET_ROUTE_DENY) {
                        net_report_denied(ns, "network", "socks5", c, NULL, IPPROTO_TCP, c->target.host,
                                          c->target.port, &v, NULL);
                        socks_reply(c, SOCKS5_REP_NOT_ALLOWED, NULL, true);
                        return 0;
                }
                c->state = SOCKS_CONNECTING;
                c->via_upstream = route == NET_ROUTE_UPSTREAM;
                net_conn_connect(c, on_socks_connected);
                return 0;
        }
}

int proxy_server_on_socks(NetListener *l, int fd, const struct sockaddr_storage *peer) {
        NetConn *c;
        int r;

        r = net_conn_new(l, NET_CONN_SOCKS, fd, peer, &c);
        if (r < 0)
                return r;
        c->state = SOCKS_GREETING;
        return net_conn_start_handshake(c, EPOLLIN | EPOLLET, on_socks_client);
}
