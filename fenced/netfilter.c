#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <unistd.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "log.h"
#include "loopback-route.h"
#include "macro.h"
#include "netfilter.h"
#include "netns-exec.h"
#include "nflog.h"
#include "tcp-unpaced.h"

/* From <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>,
 * which do not mix with the libc network headers. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nft_ctx *, nft_ctx_free);

int netfilter_ruleset(const NetfilterPorts *ports, char **ret) {
        char log_rule[128] = "";
        char *text = NULL;

        if (!ports || !ret || ports->tcp == 0 || ports->dns == 0)
                return -EINVAL;

        /* Rate-limited so a flood of drops cannot flood the daemon; the
         * counter still sees every packet. */
        if (ports->log_group > 0)
                snprintf(log_rule, sizeof log_rule,
                         "\t\tlimit rate 50/second burst 100 packets log prefix \"fence-drop\" group %u\n",
                         ports->log_group);

        /* For a new namespace only: no "add table" + "flush table" first
         * (which would replace an earlier table), because a command that
         * refers to what exists makes libnftables fetch the kernel's ruleset
         * before the transaction, about a third of the install's time. */
        if (asprintf(&text,
                     "table inet fence {\n"
                     "\tchain capture {\n"
                     "\t\ttype nat hook output priority -100; policy accept;\n"
                     "\t\tmeta l4proto { tcp, udp } th dport 53 redirect to :%u\n"
                     "\t\tip daddr 127.0.0.0/8 return\n"
                     "\t\tip6 daddr ::1 return\n"
                     "\t\tmeta l4proto tcp redirect to :%u\n"
                     "\t}\n"
                     "\tchain guard {\n"
                     "\t\ttype filter hook output priority 0; policy accept;\n"
                     "\t\tip daddr 127.0.0.0/8 accept\n"
                     "\t\tip6 daddr ::1 accept\n"
                     "%s"
                     "\t\tcounter drop\n"
                     "\t}\n"
                     "}\n",
                     ports->dns, ports->tcp, log_rule) < 0)
                return -ENOMEM;
        *ret = text;
        return 0;
}

static int install_ruleset(const char *text) {
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;
        const char *err;

        ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return -ENOMEM;
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
                return -ENOMEM;

        if (nft_run_cmd_from_buffer(ctx, text) != 0) {
                err = nft_ctx_get_error_buffer(ctx);
                return log_error_errno(EIO, "Failed to install the sandbox's nftables rules (is nf_tables available?): %s",
                                       err && *err ? err : "unknown error");
        }
        return 0;
}

/* Unprivileged ICMP ("ping") sockets for every group, in this namespace
 * only. Off (the kernel's default), a ping fails at socket() and nothing
 * sees it; on, the echo request reaches the guard chain, which drops and
 * reports it like any other packet that is not for the sandbox's loopback. */
static int allow_ping_sockets(void) {
        _cleanup_close_ int fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
        static const char range[] = "0 2147483647\n";
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = write(fd, range, sizeof range - 1);
        if (n < 0)
                return -errno;
        return n == (ssize_t) (sizeof range - 1) ? 0 : -EIO;
}

int netfilter_setup(const NetfilterPorts *ports) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = netfilter_ruleset(ports, &text);
        if (r < 0)
                return r;

        r = loopback_route_setup();
        if (r < 0)
                return log_error_errno(r, "Failed to route the sandbox's network through its loopback: %m");

        r = allow_ping_sockets();
        if (r < 0)
                return log_error_errno(r, "Failed to allow ICMP datagram sockets in the sandbox's namespace: %m");

        /* Performance only: a namespace that keeps pacing still works. */
        r = tcp_unpaced_netns_default();
        if (r < 0)
                log_debug_errno(r, "Cannot set the sandbox's TCP congestion control, keeping the default: %m");

        return install_ruleset(text);
}

static int setup_cb(void *userdata) {
        /* libnftables waits for the kernel's answer with select(), which
         * cannot take an fd above FD_SETSIZE (1024) and aborts the process:
         * with many relayed connections the daemon has thousands of fds.
         * This thread gets a private fd table without them, so the nft
         * socket is a low fd. */
        if (unshare(CLONE_FILES) < 0)
                return -errno;
        if (close_range(3, ~0U, 0) < 0)
                return -errno;
        return netfilter_setup(userdata);
}

int netfilter_setup_netns(int netns_fd, const NetfilterPorts *ports) {
        if (!ports)
                return -EINVAL;
        /* netns_exec() takes a non-const pointer; setup_cb only reads it. */
        return netns_exec(netns_fd, setup_cb, (void *) ports);
}

typedef struct ListenerArgs {
        int type, family;
        uint16_t port;
        int fd;
} ListenerArgs;

static int listener_cb(void *userdata) {
        ListenerArgs *a = userdata;
        _cleanup_close_ int fd = -EBADF;
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } addr = {};
        socklen_t addr_len;

        fd = socket(a->family, a->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;

        if (a->family == AF_INET) {
                addr.in = (struct sockaddr_in) {
                        .sin_family = AF_INET,
                        .sin_port = htons(a->port),
                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                };
                addr_len = sizeof addr.in;
        } else {
                int one = 1;

                if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
                        return -errno;
                /* ::1 only exists once lo is up; free binding lets the
                 * listeners be opened before netfilter_setup() (to learn
                 * kernel-chosen ports for the rules). */
                if (setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one) < 0)
                        return -errno;
                addr.in6 = (struct sockaddr_in6) {
                        .sin6_family = AF_INET6,
                        .sin6_port = htons(a->port),
                        .sin6_addr = in6addr_loopback,
                };
                addr_len = sizeof addr.in6;
        }

        if (bind(fd, &addr.sa, addr_len) < 0)
                return -errno;
        if (a->type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0)
                return -errno;

        a->fd = TAKE_FD(fd);
        return 0;
}

int netns_open_listener(int netns_fd, int type, int family, uint16_t port, int *ret_fd) {
        ListenerArgs a = { .type = type, .family = family, .port = port, .fd = -EBADF };
        int r;

        if (!ret_fd || (type != SOCK_STREAM && type != SOCK_DGRAM) || (family != AF_INET && family != AF_INET6))
                return -EINVAL;

        r = netns_exec(netns_fd, listener_cb, &a);
        if (r < 0)
                return r;
        *ret_fd = a.fd;
        return 0;
}

typedef struct ListenersArgs {
        NetnsListenerSpec *specs;
        size_t n;
} ListenersArgs;

static int listeners_cb(void *userdata) {
        ListenersArgs *a = userdata;
        int r = 0;

        for (size_t i = 0; i < a->n; i++) {
                NetnsListenerSpec *sp = &a->specs[i];
                ListenerArgs la = { .type = sp->type, .family = sp->family, .port = sp->port, .fd = -EBADF };
                struct sockaddr_storage ss;
                socklen_t len = sizeof ss;

                if (la.port == 0 && sp->same_port_as >= 0 && (size_t) sp->same_port_as < i)
                        la.port = a->specs[sp->same_port_as].bound_port;
                r = listener_cb(&la);
                if (r < 0)
                        break;
                sp->fd = la.fd;
                if (getsockname(sp->fd, (struct sockaddr *) &ss, &len) < 0) {
                        r = -errno;
                        break;
                }
                sp->bound_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *) &ss)->sin_port :
                                                                 ((struct sockaddr_in6 *) &ss)->sin6_port);
        }
        if (r < 0)
                for (size_t i = 0; i < a->n; i++)
                        a->specs[i].fd = safe_close(a->specs[i].fd);
        return r;
}

int netns_open_listeners(int netns_fd, NetnsListenerSpec *specs, size_t n) {
        ListenersArgs a = { .specs = specs, .n = n };

        for (size_t i = 0; i < n; i++) {
                if ((specs[i].type != SOCK_STREAM && specs[i].type != SOCK_DGRAM) ||
                    (specs[i].family != AF_INET && specs[i].family != AF_INET6))
                        return -EINVAL;
                specs[i].fd = -EBADF;
        }
        return netns_exec(netns_fd, listeners_cb, &a);
}

typedef struct NflogArgs {
        uint16_t group;
        int fd;
} NflogArgs;

static int nflog_cb(void *userdata) {
        NflogArgs *a = userdata;
        return nflog_open(a->group, &a->fd);
}

int netns_open_nflog(int netns_fd, uint16_t group, int *ret_fd) {
        NflogArgs a = { .group = group, .fd = -EBADF };
        int r;

        if (!ret_fd)
                return -EINVAL;
        r = netns_exec(netns_fd, nflog_cb, &a);
        if (r < 0)
                return r;
        *ret_fd = a.fd;
        return 0;
}

int netfilter_original_dst(int fd, struct sockaddr_storage *ret) {
        struct sockaddr_storage ss = {};
        socklen_t len = sizeof ss;

        if (!ret)
                return -EINVAL;
        if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
                return -errno;

        len = sizeof ss;
        if (ss.ss_family == AF_INET) {
                if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &len) < 0)
                        return -errno;
        } else if (ss.ss_family == AF_INET6) {
                if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &len) < 0)
                        return -errno;
        } else
                return -EAFNOSUPPORT;

        *ret = ss;
        return 0;
}
