#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "macro.h"
#include "net-internal.h"
#include "netfilter.h"
#include "netns-exec.h"
#include "nflog.h"
#include "sock-owner.h"
#include "strv.h"

/* The NFLOG group of the guard chain; groups are per network namespace. */
#define NET_LOG_GROUP 1
#define DEFAULT_HTTP_PORT 3128
#define DEFAULT_SOCKS_PORT 1080
#define REPORT_REPEAT_USEC (1000 * 1000ULL)
/* Reports per second and burst, per sandbox: a sandbox hammering denied
 * destinations must not flood the logs (nor make fenced walk /proc for
 * each). What is over the limit is counted and summed up later. */
#define REPORT_RATE 20.0
#define REPORT_BURST 100.0

static int on_listener(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static size_t local_out_ports(const FenceConfig *c) {
        return config_allow_local_outbound(c) ? c->network.allow_local_outbound_ports.n : 0;
}

bool net_sandbox_wanted(const NetSandboxOptions *o) {
        return strv_length(o->config->network.allowed_domains) > 0 || strv_length(o->expose) > 0 ||
               local_out_ports(o->config) > 0;
}

int net_expose_parse(const char *s, struct sockaddr_storage *ret) {
        const char *colon = strrchr(s, ':');
        char host[INET6_ADDRSTRLEN + 2];
        char *end;
        unsigned long port;
        size_t n;

        errno = 0;
        port = strtoul(colon ? colon + 1 : s, &end, 10);
        if (errno || *end || port < 1 || port > 65535 || !isdigit((unsigned char) (colon ? colon[1] : s[0])))
                return -EINVAL;
        *ret = (struct sockaddr_storage) {};
        struct sockaddr_in *in = (struct sockaddr_in *) ret;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ret;
        if (!colon) {
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t) port);
                in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                return 0;
        }
        n = (size_t) (colon - s);
        if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
                s++;
                n -= 2;
        } else if (memchr(s, ':', n))
                return -EINVAL;         /* IPv6 needs brackets: "::1:80" is ambiguous */
        if (n >= sizeof host)
                return -EINVAL;
        memcpy(host, s, n);
        host[n] = 0;
        if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t) port);
                return 0;
        }
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) port);
                return 0;
        }
        return -EINVAL;
}

static unsigned unprivileged_port_start(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
        unsigned v = 1024;

        if (f && fscanf(f, "%u", &v) != 1)
                v = 1024;
        return v;
}

static int open_expose(NetSandbox *ns, NetListener *l, const char *spec, uid_t uid, char **ret_error) {
        struct sockaddr_storage ss;
        int one = 1, r;

        if (net_expose_parse(spec, &ss) < 0) {
                if (ret_error && asprintf(ret_error, "-p %s: expected PORT or ADDR:PORT with a literal IP address", spec) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        l->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *) &ss)->sin_port :
                                                  ((struct sockaddr_in6 *) &ss)->sin6_port);
        if (uid != 0 && l->port < unprivileged_port_start()) {
                if (ret_error && asprintf(ret_error, "-p %s: host ports below %u need root; pick a higher port",
                                          spec, unprivileged_port_start()) < 0)
                        *ret_error = NULL;
                return -EACCES;
        }
        for (size_t i = 0; i < local_out_ports(ns->config); i++)
                if (ns->config->network.allow_local_outbound_ports.items[i] == l->port) {
                        if (ret_error && asprintf(ret_error, "-p %s: port %u is also in network.allowLocalOutboundPorts; "
                                                  "a port can be exposed or reached on the host, not both", spec, l->port) < 0)
                                *ret_error = NULL;
                        return -EINVAL;
                }
        /* Created on the main thread: a socket of the host's namespace. */
        l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (l->fd < 0)
                return -errno;
        if (ss.ss_family == AF_INET6)
                (void) setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        (void) setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(l->fd, (struct sockaddr *) &ss, ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
                                                                            sizeof(struct sockaddr_in6)) < 0 ||
            listen(l->fd, SOMAXCONN) < 0) {
                r = -errno;
                if (ret_error && asprintf(ret_error, "-p %s: cannot listen on the host: %s", spec, strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        return sd_event_add_io(ns->event, &l->src, l->fd, EPOLLIN, on_listener, l);
}

static int open_local(NetSandbox *ns, const NetSandboxOptions *o, char **ret_error) {
        size_t n_out = local_out_ports(o->config), n_exp = strv_length(o->expose), k = 0;
        int r;

        ns->local = calloc(2 * n_out + n_exp + 1, sizeof *ns->local);
        if (!ns->local)
                return -ENOMEM;
        for (size_t i = 0; i < 2 * n_out + n_exp; i++)
                ns->local[i] = (NetListener) { .ns = ns, .fd = -1 };

        for (size_t i = 0; i < n_out; i++)
                for (int fam = 0; fam < 2; fam++) {
                        NetListener *l = &ns->local[k++];
                        ns->n_local = k;
                        l->kind = NET_LISTEN_LOCAL_OUT;
                        l->family = fam ? AF_INET6 : AF_INET;
                        l->port = o->config->network.allow_local_outbound_ports.items[i];
                        r = netns_open_listener(ns->netns_fd, SOCK_STREAM, l->family, l->port, &l->fd);
                        if (r >= 0)
                                r = sd_event_add_io(ns->event, &l->src, l->fd, EPOLLIN, on_listener, l);
                        if (r < 0) {
                                if (ret_error && asprintf(ret_error, "network.allowLocalOutboundPorts: port %u: %s",
                                                          l->port, strerror(-r)) < 0)
                                        *ret_error = NULL;
                                return r;
                        }
                }
        for (size_t i = 0; i < n_exp; i++) {
                NetListener *l = &ns->local[k++];
                ns->n_local = k;
                l->kind = NET_LISTEN_EXPOSE;
                r = open_expose(ns, l, o->expose[i], o->uid, ret_error);
                if (r < 0)
                        return r;
                l->family = AF_INET;    /* the sandbox side: 127.0.0.1, then ::1 */
        }
        return 0;
}

bool net_check(NetSandbox *ns, const char *host, uint16_t port, NetVerdict *v) {
        return net_route(ns, host, port, v) != NET_ROUTE_DENY;
}

NetRoute net_route(NetSandbox *ns, const char *host, uint16_t port, NetVerdict *v) {
        bool socks = ns->upstream.kind == NET_UPSTREAM_SOCKS5 || ns->upstream.kind == NET_UPSTREAM_SOCKS5H;
        int r = port ? net_policy_check(ns->policy, host, port, v) : net_policy_check_name(ns->policy, host, v);

        if (r > 0)
                return socks ? NET_ROUTE_UPSTREAM : NET_ROUTE_DIRECT;
        if (v->reason == NET_REASON_NO_RULE && ns->upstream.default_proxy && ns->upstream.kind != NET_UPSTREAM_NONE)
                return NET_ROUTE_UPSTREAM;
        return NET_ROUTE_DENY;
}

/* upstreamProxy: scheme://[user:password@]IP[:port]. The host must be an IP
 * address (or localhost): resolving it would block the daemon's loop. */
static int upstream_parse(const char *url, NetUpstream *up, char **ret_error) {
        const char *sep = strstr(url, "://"), *auth, *at, *hp;
        char host[INET6_ADDRSTRLEN + 3] = "", *port = NULL;
        size_t n;

        if (!sep)
                goto invalid;
        if (strncasecmp(url, "socks5h://", 10) == 0)
                up->kind = NET_UPSTREAM_SOCKS5H;
        else if (strncasecmp(url, "socks5://", 9) == 0)
                up->kind = NET_UPSTREAM_SOCKS5;
        else if (strncasecmp(url, "http://", 7) == 0)
                up->kind = NET_UPSTREAM_HTTP;
        else
                goto invalid;
        up->port = up->kind == NET_UPSTREAM_HTTP ? 80 : 1080;
        auth = sep + 3;
        n = strcspn(auth, "/");
        at = memrchr(auth, '@', n);
        if (at) {
                const char *colon = memchr(auth, ':', (size_t) (at - auth));
                if (!colon)
                        goto invalid;
                up->username = strndup(auth, (size_t) (colon - auth));
                up->password = strndup(colon + 1, (size_t) (at - colon - 1));
                if (!up->username || !up->password)
                        return -ENOMEM;
        }
        hp = at ? at + 1 : auth;
        n -= (size_t) (hp - auth);
        if (n >= sizeof host)
                goto invalid;
        memcpy(host, hp, n);
        host[n] = 0;
        if (host[0] == '[') {
                char *close = strchr(host, ']');
                if (!close)
                        goto invalid;
                *close = 0;
                if (close[1] == ':')
                        port = close + 2;
                memmove(host, host + 1, strlen(host + 1) + 1);
        } else if ((port = strchr(host, ':')))
                *port++ = 0;
        if (port)
                up->port = (uint16_t) strtoul(port, NULL, 10);
        if (streq(host, "localhost"))
                strcpy(host, "127.0.0.1");
        if (inet_pton(AF_INET, host, up->addr.addr) == 1)
                up->addr.family = AF_INET;
        else if (inet_pton(AF_INET6, host, up->addr.addr) == 1)
                up->addr.family = AF_INET6;
        else {
                if (ret_error && asprintf(ret_error, "network.upstreamProxy: \"%s\" must be given as an IP address "
                                          "(fenced does not resolve the proxy's name)", host) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        if (up->port == 0)
                goto invalid;
        return 0;
invalid:
        if (ret_error && asprintf(ret_error, "network.upstreamProxy: expected socks5://[USER:PASSWORD@]IP[:PORT], "
                                  "socks5h://... or http://[USER:PASSWORD@]IP[:PORT]") < 0)
                *ret_error = NULL;
        return -EINVAL;
}

static pid_t find_pid(NetSandbox *ns, int protocol, const struct sockaddr_storage *peer) {
        uint64_t inode;
        uint32_t uid;
        pid_t pid;

        if (!peer || sock_owner_lookup(ns->diag_fd, protocol, peer, &inode, &uid) < 0)
                return 0;
        if (sock_owner_pid(ns->cgroup_path, inode, &pid) < 0)
                return 0;
        return pid;
}

/* A retry loop must not flood the logs: the same report again within a
 * second is dropped. */
static int on_summary(sd_event_source *s, uint64_t usec, void *userdata) {
        NetSandbox *ns = userdata;
        EventField f[] = {
                EVENT_INT("suppressed", (int64_t) ns->reports_suppressed),
                EVENT_STR("reason", "more network violations than reported (rate limit)"),
        };

        ns->summary_timer = sd_event_source_disable_unref(ns->summary_timer);
        if (ns->reports_suppressed == 0)
                return 0;
        ns->reports_suppressed = 0;
        ns->emit(ns->userdata, "network", "suppressed", 0, f, ELEMENTSOF(f));
        return 0;
}

static bool report_is_repeat(NetSandbox *ns, const char *source, const char *host, uint16_t port) {
        char key[sizeof ns->last_report];
        uint64_t now = now_usec();

        snprintf(key, sizeof key, "%s %s %u", source, host, port);
        if (streq(key, ns->last_report) && now - ns->last_report_usec < REPORT_REPEAT_USEC)
                return true;
        snprintf(ns->last_report, sizeof ns->last_report, "%s", key);
        ns->last_report_usec = now;

        if (!ratelimit_take(&ns->report_limit, REPORT_RATE, REPORT_BURST, now)) {
                if (ns->reports_suppressed++ == 0 && !ns->summary_timer)
                        (void) sd_event_add_time_relative(ns->event, &ns->summary_timer, CLOCK_MONOTONIC,
                                                          REPORT_REPEAT_USEC, 0, on_summary, ns);
                return true;
        }
        return false;
}

void net_report_denied(NetSandbox *ns, const char *source, const char *via, const NetConn *c,
                       const struct sockaddr_storage *peer, int protocol, const char *host, uint16_t port,
                       const NetVerdict *v, const char *why_override) {
        _cleanup_free_ char *why = NULL;
        pid_t pid;

        if (report_is_repeat(ns, source, host, port))
                return;
        why = why_override ? strdup(why_override) : net_verdict_explain(v, host, port);
        pid = find_pid(ns, protocol, c ? &c->peer : peer);

        EventField f[] = {
                EVENT_STR("domain", host),
                EVENT_INT("port", port),
                EVENT_STR("via", via),
                EVENT_STR("reason", why ? why : "blocked"),
                EVENT_STR("rule", v && v->rule ? v->rule : ""),
        };
        log_debug("Sandbox network: %s %s:%u denied (%s)", via, host, port, why ? why : "");
        ns->emit(ns->userdata, source, "denied", pid, f, ELEMENTSOF(f));
}

static int on_nflog_packet(const NflogPacket *p, void *userdata) {
        NetSandbox *ns = userdata;
        char dst[INET6_ADDRSTRLEN] = "?";
        const char *proto;
        char proto_buf[16];

        (void) inet_ntop(p->family, p->dst, dst, sizeof dst);
        switch (p->protocol) {
        case IPPROTO_UDP: proto = "udp"; break;
        case IPPROTO_TCP: proto = "tcp"; break;
        case IPPROTO_ICMP: proto = "icmp"; break;
        case IPPROTO_ICMPV6: proto = "icmpv6"; break;
        default:
                snprintf(proto_buf, sizeof proto_buf, "ip-proto-%u", p->protocol);
                proto = proto_buf;
        }
        if (report_is_repeat(ns, proto, dst, p->dport))
                return 0;

        /* The sending socket, by its source address and port. */
        pid_t pid = 0;
        if (p->protocol == IPPROTO_UDP || p->protocol == IPPROTO_TCP) {
                struct sockaddr_storage src = { .ss_family = (sa_family_t) p->family };
                if (p->family == AF_INET) {
                        struct sockaddr_in *in = (struct sockaddr_in *) &src;
                        memcpy(&in->sin_addr, p->src, 4);
                        in->sin_port = htons(p->sport);
                } else {
                        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &src;
                        memcpy(&in6->sin6_addr, p->src, 16);
                        in6->sin6_port = htons(p->sport);
                }
                pid = find_pid(ns, p->protocol, &src);
        }

        EventField f[] = {
                EVENT_STR("protocol", proto),
                EVENT_STR("address", dst),
                EVENT_INT("port", p->dport),
                EVENT_INT("socketUid", p->has_uid ? (int64_t) p->uid : -1),
                EVENT_STR("reason", "only TCP to allowed domains and DNS leave the sandbox; this packet was dropped"),
        };
        ns->emit(ns->userdata, "network", "dropped", pid, f, ELEMENTSOF(f));
        return 0;
}

static int on_nflog(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        int r = nflog_receive(fd, on_nflog_packet, userdata);

        if (r == -ENOBUFS)
                log_debug("Sandbox network: some dropped packets were not logged (NFLOG overrun).");
        return 0;
}

static int on_listener(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NetListener *l = userdata;

        if (l->kind == NET_LISTEN_DNS_UDP)
                return dns_server_on_udp(l), 0;

        for (int i = 0; i < 64; i++) {
                struct sockaddr_storage peer = {};
                socklen_t len = sizeof peer;
                int cfd, r;

                cfd = accept4(fd, (struct sockaddr *) &peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno != EAGAIN && errno != ECONNABORTED)
                                log_debug_errno(errno, "accept() on a sandbox listener failed: %m");
                        break;
                }
                switch (l->kind) {
                case NET_LISTEN_TCP:
                        r = tcp_capture_on_accept(l, cfd, &peer);
                        break;
                case NET_LISTEN_DNS_TCP:
                        r = dns_server_on_tcp(l, cfd, &peer);
                        break;
                case NET_LISTEN_HTTP:
                        r = proxy_server_on_http(l, cfd, &peer);
                        break;
                case NET_LISTEN_SOCKS:
                        r = proxy_server_on_socks(l, cfd, &peer);
                        break;
                case NET_LISTEN_LOCAL_OUT:
                case NET_LISTEN_EXPOSE:
                        r = net_local_on_accept(l, cfd, &peer);
                        break;
                default:
                        safe_close(cfd);
                        r = -EINVAL;
                }
                if (r < 0)
                        log_debug_errno(r, "Sandbox connection dropped: %m");
        }
        return 0;
}

/* The fixed listeners, in one trip into the namespace. Kernel-chosen ports
 * for the capture listeners (IPv6 takes the same one: the nft redirect names
 * a port, not a family; DNS over TCP the one of DNS over UDP). */
static int open_listeners(NetSandbox *ns, NetfilterPorts *ports) {
        NetnsListenerSpec sp[NET_N_LISTENERS] = {
                { SOCK_STREAM, AF_INET, 0, -1, -1, 0 },
                { SOCK_STREAM, AF_INET6, 0, 0, -1, 0 },
                { SOCK_DGRAM, AF_INET, 0, -1, -1, 0 },
                { SOCK_DGRAM, AF_INET6, 0, 2, -1, 0 },
                { SOCK_STREAM, AF_INET, 0, 2, -1, 0 },
                { SOCK_STREAM, AF_INET6, 0, 2, -1, 0 },
                { SOCK_STREAM, AF_INET, ns->http_port, -1, -1, 0 },
                { SOCK_STREAM, AF_INET6, ns->http_port, -1, -1, 0 },
                { SOCK_STREAM, AF_INET, ns->socks_port, -1, -1, 0 },
                { SOCK_STREAM, AF_INET6, ns->socks_port, -1, -1, 0 },
        };
        static const NetListenerKind kinds[NET_N_LISTENERS] = {
                NET_LISTEN_TCP, NET_LISTEN_TCP, NET_LISTEN_DNS_UDP, NET_LISTEN_DNS_UDP, NET_LISTEN_DNS_TCP,
                NET_LISTEN_DNS_TCP, NET_LISTEN_HTTP, NET_LISTEN_HTTP, NET_LISTEN_SOCKS, NET_LISTEN_SOCKS,
        };
        int r;

        r = netns_open_listeners(ns->netns_fd, sp, NET_N_LISTENERS);
        if (r < 0)
                return r;
        for (size_t i = 0; i < NET_N_LISTENERS; i++)
                ns->listeners[i] = (NetListener) { .ns = ns, .kind = kinds[i], .family = sp[i].family, .fd = sp[i].fd };
        for (size_t i = 0; i < NET_N_LISTENERS; i++) {
                r = sd_event_add_io(ns->event, &ns->listeners[i].src, ns->listeners[i].fd, EPOLLIN, on_listener,
                                    &ns->listeners[i]);
                if (r < 0)
                        return r;
        }
        ports->tcp = sp[0].bound_port;
        ports->dns = sp[2].bound_port;
        return 0;
}

static int diag_cb(void *userdata) {
        return sock_diag_open(userdata);
}

static int set_error(char **ret_error, int r, const char *what) {
        if (ret_error && asprintf(ret_error, "%s: %s", what, strerror(r < 0 ? -r : r)) < 0)
                *ret_error = NULL;
        return r;
}

static int add_rules(NetPolicy *p, char **list, NetRuleList which, const char *key, char **ret_error) {
        for (char **e = list; e && *e; e++) {
                const char *reason = NULL;
                int r = net_policy_add(p, which, *e, key, &reason);
                if (r < 0) {
                        if (ret_error && asprintf(ret_error, "%s: \"%s\" %s", key, *e, reason ? reason : "is invalid") < 0)
                                *ret_error = NULL;
                        return r;
                }
        }
        return 0;
}

int net_sandbox_new(sd_event *event, const NetSandboxOptions *o, net_event_t emit, void *userdata,
                    NetSandbox **ret, char **ret_error) {
        _cleanup_(net_sandbox_freep) NetSandbox *ns = NULL;
        const FenceConfig *c = o->config;
        NetfilterPorts ports = { .log_group = NET_LOG_GROUP };
        int r;

        ns = calloc(1, sizeof *ns);
        if (!ns)
                return -ENOMEM;
        ns->event = sd_event_ref(event);
        ns->netns_fd = ns->diag_fd = ns->nflog_fd = -1;
        ns->uid = o->uid;
        ns->gid = o->gid;
        for (size_t i = 0; i < NET_N_LISTENERS; i++)
                ns->listeners[i].fd = -1;
        ns->emit = emit;
        ns->userdata = userdata;
        ns->config = c;
        ns->http_port = c->network.http_proxy_port ? c->network.http_proxy_port : DEFAULT_HTTP_PORT;
        ns->socks_port = c->network.socks_proxy_port ? c->network.socks_proxy_port : DEFAULT_SOCKS_PORT;
        if (ns->http_port == ns->socks_port || ns->http_port == 53 || ns->socks_port == 53)
                return set_error(ret_error, -EINVAL, "network.httpProxyPort/socksProxyPort must differ from each other and from 53");

        if (c->network.upstream_proxy) {
                r = upstream_parse(c->network.upstream_proxy, &ns->upstream, ret_error);
                if (r < 0)
                        return r;
        }
        ns->upstream.default_proxy = config_network_default_action(c) == NETWORK_DEFAULT_ACTION_PROXY;

        r = net_policy_new(&ns->policy);
        if (r < 0)
                return r;
        r = add_rules(ns->policy, c->network.allowed_domains, NET_RULE_ALLOW, "network.allowedDomains", ret_error);
        if (r < 0)
                return r;
        r = add_rules(ns->policy, c->network.denied_domains, NET_RULE_DENY, "network.deniedDomains", ret_error);
        if (r < 0)
                return r;
        r = dns_cache_new(NET_DNS_CACHE_SIZE, &ns->cache);
        if (r < 0)
                return r;
        r = dns_upstream_new(event, c->network.dns_server, o->uid, o->gid, &ns->dns, ret_error);
        if (r < 0)
                return r;

        r = netns_new(&ns->netns_fd);
        if (r < 0)
                return set_error(ret_error, r, "creating the sandbox's network namespace");

        r = open_listeners(ns, &ports);
        if (r < 0)
                return set_error(ret_error, r, "opening the daemon's listeners in the sandbox's network namespace");

        r = open_local(ns, o, ret_error);
        if (r < 0)
                return r;
        ns->config = NULL;      /* not kept: the caller owns it */

        r = netfilter_setup_netns(ns->netns_fd, &ports);
        if (r < 0)
                return set_error(ret_error, r, "installing the sandbox's nftables rules");

        r = netns_open_nflog(ns->netns_fd, NET_LOG_GROUP, &ns->nflog_fd);
        if (r >= 0)
                r = sd_event_add_io(event, &ns->nflog_src, ns->nflog_fd, EPOLLIN, on_nflog, ns);
        if (r < 0)
                return set_error(ret_error, r, "reading the sandbox's dropped packets (NFLOG)");

        r = netns_exec(ns->netns_fd, diag_cb, &ns->diag_fd);
        if (r < 0)
                log_debug_errno(r, "No sock_diag in the sandbox's namespace, events will not name processes: %m");

        *ret = TAKE_PTR(ns);
        return 0;
}

NetSandbox *net_sandbox_free(NetSandbox *ns) {
        if (!ns)
                return NULL;
        while (ns->conns)
                net_conn_free(ns->conns);
        for (size_t i = 0; i < NET_N_LISTENERS; i++) {
                sd_event_source_disable_unref(ns->listeners[i].src);
                safe_close(ns->listeners[i].fd);
        }
        for (size_t i = 0; i < ns->n_local; i++) {
                sd_event_source_disable_unref(ns->local[i].src);
                safe_close(ns->local[i].fd);
        }
        free(ns->local);
        sd_event_source_disable_unref(ns->nflog_src);
        sd_event_source_disable_unref(ns->summary_timer);
        safe_close(ns->nflog_fd);
        safe_close(ns->diag_fd);
        safe_close(ns->netns_fd);
        dns_upstream_free(ns->dns);
        dns_cache_free(ns->cache);
        net_policy_free(ns->policy);
        free(ns->cgroup_path);
        if (ns->upstream.password)
                explicit_bzero(ns->upstream.password, strlen(ns->upstream.password));
        free(ns->upstream.username);
        free(ns->upstream.password);
        sd_event_unref(ns->event);
        free(ns);
        return NULL;
}

int net_sandbox_netns_fd(const NetSandbox *ns) {
        return ns->netns_fd;
}

int net_sandbox_set_cgroup(NetSandbox *ns, const char *cgroup_path) {
        char *p = strdup(cgroup_path);

        if (!p)
                return -ENOMEM;
        free(ns->cgroup_path);
        ns->cgroup_path = p;
        return 0;
}

static int env_set(char ***env, const char *name, const char *value) {
        size_t n = strlen(name);
        char *entry;

        for (char **e = *env; e && *e; e++)
                if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
                        if (asprintf(&entry, "%s=%s", name, value) < 0)
                                return -ENOMEM;
                        free(*e);
                        *e = entry;
                        return 0;
                }
        if (asprintf(&entry, "%s=%s", name, value) < 0)
                return -ENOMEM;
        return strv_consume(env, entry);
}

int net_sandbox_env(const NetSandbox *ns, char ***env) {
        char http[64], socks[64], ssh[128];
        const struct { const char *name, *value; } vars[] = {
                { "HTTP_PROXY", http }, { "http_proxy", http },
                { "HTTPS_PROXY", http }, { "https_proxy", http },
                { "ALL_PROXY", socks }, { "all_proxy", socks },
                { "NO_PROXY", "localhost,127.0.0.1,::1" }, { "no_proxy", "localhost,127.0.0.1,::1" },
                { "GIT_SSH_COMMAND", ssh },
        };
        int r;

        snprintf(http, sizeof http, "http://127.0.0.1:%u", ns->http_port);
        snprintf(socks, sizeof socks, "socks5h://127.0.0.1:%u", ns->socks_port);
        snprintf(ssh, sizeof ssh, "ssh -o ProxyCommand='nc -X 5 -x 127.0.0.1:%u %%h %%p'", ns->socks_port);
        for (size_t i = 0; i < ELEMENTSOF(vars); i++) {
                r = env_set(env, vars[i].name, vars[i].value);
                if (r < 0)
                        return r;
        }
        return 0;
}

const char *net_sandbox_resolv_conf(const NetSandbox *ns) {
        /* Any address would do (all port-53 traffic is captured); loopback
         * keeps it working for programs that special-case it. */
        return "# fenced: DNS of this sandbox goes through fenced's filter\n"
               "nameserver 127.0.0.1\n";
}
