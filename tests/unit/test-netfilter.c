/* The capture in a real network namespace: each test makes its own netns
 * (unshare in a forked holder process), installs the rules, opens the
 * daemon-side listeners inside it, and drives traffic from processes that
 * joined it. "Remote" addresses are TEST-NET ones; nothing ever leaves the
 * namespace (it has no interface but lo). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netfilter.h"
#include "netns-exec.h"
#include "nflog.h"

#define LOG_GROUP 7

typedef struct Fixture {
        pid_t holder;
        int hold_fd;            /* holder exits when this closes */
        int netns_fd;
        NetfilterPorts ports;
        int tcp4, tcp6, dns_udp4, dns_udp6, dns_tcp4, dns_tcp6, nflog;
} Fixture;

static Fixture fx = { .holder = -1, .hold_fd = -1, .netns_fd = -1 };

static void close_if(int *fd) {
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

static void fixture_teardown(void) {
        int *fds[] = { &fx.tcp4, &fx.tcp6, &fx.dns_udp4, &fx.dns_udp6, &fx.dns_tcp4, &fx.dns_tcp6, &fx.nflog,
                       &fx.netns_fd, &fx.hold_fd };

        for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
                close_if(fds[i]);
        if (fx.holder > 0) {
                kill(fx.holder, SIGKILL);
                (void) waitpid(fx.holder, NULL, 0);
                fx.holder = -1;
        }
}

/* A process that sits in a fresh netns until we let go of it. */
static void netns_create(void) {
        int ready[2], hold[2];
        char status = 0, path[64];

        fx = (Fixture) { .holder = -1, .hold_fd = -1, .netns_fd = -1, .tcp4 = -1, .tcp6 = -1, .dns_udp4 = -1,
                         .dns_udp6 = -1, .dns_tcp4 = -1, .dns_tcp6 = -1, .nflog = -1 };

        if (geteuid() != 0) {
                fprintf(stderr, "netfilter tests skipped: they need root (CAP_SYS_ADMIN, CAP_NET_ADMIN)\n");
                cr_skip_test("needs root");
        }

        cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(hold, O_CLOEXEC), 0);
        fx.holder = fork();
        cr_assert_geq(fx.holder, 0);
        if (fx.holder == 0) {
                char c;

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(ready[0]);
                close(hold[1]);
                c = unshare(CLONE_NEWNET) == 0 ? 1 : 2;
                (void) !write(ready[1], &c, 1);
                (void) !read(hold[0], &c, 1);
                _exit(0);
        }
        close(ready[1]);
        close(hold[0]);
        fx.hold_fd = hold[1];
        cr_assert_eq(read(ready[0], &status, 1), 1);
        close(ready[0]);
        if (status != 1) {
                fprintf(stderr, "netfilter tests skipped: unshare(CLONE_NEWNET) is not permitted here\n");
                fixture_teardown();
                cr_skip_test("no network namespaces");
        }

        snprintf(path, sizeof path, "/proc/%d/ns/net", (int) fx.holder);
        fx.netns_fd = open(path, O_RDONLY | O_CLOEXEC);
        cr_assert_geq(fx.netns_fd, 0);
}

static uint16_t local_port(int fd) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;

        cr_assert_eq(getsockname(fd, (struct sockaddr *) &ss, &len), 0);
        return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *) &ss)->sin_port
                                             : ((struct sockaddr_in6 *) &ss)->sin6_port);
}

/* Listeners as the daemon would open them: kernel-chosen ports, then the
 * same port for the other family. */
static void fixture_setup(void) {
        int r;

        netns_create();

        cr_assert_eq(netns_open_listener(fx.netns_fd, SOCK_STREAM, AF_INET, 0, &fx.tcp4), 0);
        fx.ports.tcp = local_port(fx.tcp4);
        cr_assert_eq(netns_open_listener(fx.netns_fd, SOCK_STREAM, AF_INET6, fx.ports.tcp, &fx.tcp6), 0);
        cr_assert_eq(netns_open_listener(fx.netns_fd, SOCK_DGRAM, AF_INET, 0, &fx.dns_udp4), 0);
        fx.ports.dns = local_port(fx.dns_udp4);
        cr_assert_eq(netns_open_listener(fx.netns_fd, SOCK_DGRAM, AF_INET6, fx.ports.dns, &fx.dns_udp6), 0);
        cr_assert_eq(netns_open_listener(fx.netns_fd, SOCK_STREAM, AF_INET, fx.ports.dns, &fx.dns_tcp4), 0);
        cr_assert_eq(netns_open_listener(fx.netns_fd, SOCK_STREAM, AF_INET6, fx.ports.dns, &fx.dns_tcp6), 0);
        fx.ports.log_group = LOG_GROUP;
        cr_assert_eq(netns_open_nflog(fx.netns_fd, LOG_GROUP, &fx.nflog), 0);

        r = netfilter_setup_netns(fx.netns_fd, &fx.ports);
        cr_assert_eq(r, 0, "netfilter_setup_netns: %s", strerror(-r));
}

TestSuite(netfilter, .init = fixture_setup, .fini = fixture_teardown, .timeout = 60);

/* Runs fn in a child that joined the sandbox's netns; returns its exit code
 * (0 = the child's checks passed). */
static int run_in_netns(int (*fn)(const void *), const void *arg) {
        pid_t pid = fork();
        int status;

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (setns(fx.netns_fd, CLONE_NEWNET) < 0)
                        _exit(100);
                _exit(fn(arg));
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status), "child died of signal %d", WTERMSIG(status));
        return WEXITSTATUS(status);
}

static pid_t start_in_netns(int (*fn)(const void *), const void *arg) {
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (setns(fx.netns_fd, CLONE_NEWNET) < 0)
                        _exit(100);
                _exit(fn(arg));
        }
        return pid;
}

static int wait_child(pid_t pid) {
        int status;

        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status), "child died of signal %d", WTERMSIG(status));
        return WEXITSTATUS(status);
}

typedef struct Dest {
        int family, type;
        const char *addr;
        uint16_t port;
        const char *payload;
} Dest;

static socklen_t make_addr(const Dest *d, struct sockaddr_storage *ss) {
        memset(ss, 0, sizeof *ss);
        if (d->family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *) ss;

                sin->sin_family = AF_INET;
                sin->sin_port = htons(d->port);
                inet_pton(AF_INET, d->addr, &sin->sin_addr);
                return sizeof *sin;
        }
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(d->port);
        inet_pton(AF_INET6, d->addr, &sin6->sin6_addr);
        return sizeof *sin6;
}

/* Child: connect (TCP) and send the payload. Exit code: 0 or errno. */
static int child_connect_send(const void *arg) {
        const Dest *d = arg;
        struct sockaddr_storage ss;
        socklen_t len = make_addr(d, &ss);
        int fd = socket(d->family, SOCK_STREAM, 0);

        if (fd < 0)
                return errno;
        if (connect(fd, (struct sockaddr *) &ss, len) < 0)
                return errno;
        if (d->payload && send(fd, d->payload, strlen(d->payload), 0) < 0)
                return errno;
        close(fd);
        return 0;
}

/* Child: send one datagram. Exit code: 0 or errno. */
static int child_sendto(const void *arg) {
        const Dest *d = arg;
        struct sockaddr_storage ss;
        socklen_t len = make_addr(d, &ss);
        int fd = socket(d->family, SOCK_DGRAM, 0);

        if (fd < 0)
                return errno;
        if (sendto(fd, d->payload, strlen(d->payload), 0, (struct sockaddr *) &ss, len) < 0)
                return errno;
        return 0;
}

/* Child: DNS-like exchange over UDP; checks the answer comes back from the
 * address it asked. Exit code: 0, errno, or 200+ for a wrong answer. */
static int child_udp_exchange(const void *arg) {
        const Dest *d = arg;
        struct sockaddr_storage ss, from;
        socklen_t len = make_addr(d, &ss), from_len = sizeof from;
        struct timeval tv = { .tv_sec = 10 };
        char buf[64];
        ssize_t n;
        int fd = socket(d->family, SOCK_DGRAM, 0);

        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
                return errno;
        if (sendto(fd, d->payload, strlen(d->payload), 0, (struct sockaddr *) &ss, len) < 0)
                return errno;
        n = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *) &from, &from_len);
        if (n < 0)
                return errno;
        buf[n] = 0;
        if (strcmp(buf, "answer") != 0)
                return 201;
        if (from_len != len || memcmp(&from, &ss, len) != 0)
                return 202;     /* the reply must look like it came from d */
        return 0;
}

static bool wait_readable(int fd, int ms) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        return poll(&p, 1, ms) == 1;
}

static void expect_nothing_pending(int fd, const char *what) {
        cr_expect(!wait_readable(fd, 0), "%s got something", what);
}

static void expect_original_dst(int conn, const char *addr, uint16_t port) {
        struct sockaddr_storage ss;
        char text[INET6_ADDRSTRLEN];
        int r;

        r = netfilter_original_dst(conn, &ss);
        cr_assert_eq(r, 0, "original dst: %s", strerror(-r));
        if (ss.ss_family == AF_INET) {
                inet_ntop(AF_INET, &((struct sockaddr_in *) &ss)->sin_addr, text, sizeof text);
                cr_expect_eq(ntohs(((struct sockaddr_in *) &ss)->sin_port), port);
        } else {
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, text, sizeof text);
                cr_expect_eq(ntohs(((struct sockaddr_in6 *) &ss)->sin6_port), port);
        }
        cr_expect_str_eq(text, addr);
}

static void expect_accepted(int listener, const char *addr, uint16_t port, const char *payload) {
        char buf[64] = "";
        int conn;

        cr_assert(wait_readable(listener, 5000), "no connection arrived");
        conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        cr_assert_geq(conn, 0);
        expect_original_dst(conn, addr, port);
        if (payload) {
                cr_assert_eq(recv(conn, buf, sizeof buf - 1, MSG_WAITALL), (ssize_t) strlen(payload));
                cr_expect_str_eq(buf, payload);
        }
        close(conn);
}

Test(netfilter, tcp_ipv4_is_captured) {
        Dest d = { AF_INET, SOCK_STREAM, "192.0.2.1", 443, "hello" };

        cr_assert_eq(run_in_netns(child_connect_send, &d), 0);
        expect_accepted(fx.tcp4, "192.0.2.1", 443, "hello");
        expect_nothing_pending(fx.tcp6, "IPv6 listener");
}

Test(netfilter, tcp_ipv6_is_captured) {
        Dest d = { AF_INET6, SOCK_STREAM, "2001:db8::1", 443, "hello6" };

        cr_assert_eq(run_in_netns(child_connect_send, &d), 0);
        expect_accepted(fx.tcp6, "2001:db8::1", 443, "hello6");
        expect_nothing_pending(fx.tcp4, "IPv4 listener");
}

static void serve_one_dns_datagram(int listener) {
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        char buf[64];
        ssize_t n;

        cr_assert(wait_readable(listener, 5000), "no DNS datagram arrived");
        n = recvfrom(listener, buf, sizeof buf - 1, 0, (struct sockaddr *) &from, &from_len);
        cr_assert_gt(n, 0);
        buf[n] = 0;
        cr_expect_str_eq(buf, "query");
        cr_assert_eq(sendto(listener, "answer", 6, 0, (struct sockaddr *) &from, from_len), 6);
}

Test(netfilter, dns_udp_is_captured_both_families) {
        Dest d4 = { AF_INET, SOCK_DGRAM, "192.0.2.53", 53, "query" };
        Dest d6 = { AF_INET6, SOCK_DGRAM, "2001:db8::53", 53, "query" };
        Dest lo = { AF_INET, SOCK_DGRAM, "127.0.0.53", 53, "query" };
        pid_t pid;

        pid = start_in_netns(child_udp_exchange, &d4);
        serve_one_dns_datagram(fx.dns_udp4);
        cr_expect_eq(wait_child(pid), 0);

        pid = start_in_netns(child_udp_exchange, &d6);
        serve_one_dns_datagram(fx.dns_udp6);
        cr_expect_eq(wait_child(pid), 0);

        /* A resolver configured on loopback (systemd-resolved's 127.0.0.53). */
        pid = start_in_netns(child_udp_exchange, &lo);
        serve_one_dns_datagram(fx.dns_udp4);
        cr_expect_eq(wait_child(pid), 0);

        expect_nothing_pending(fx.tcp4, "TCP listener");
}

Test(netfilter, dns_tcp_is_captured) {
        Dest d = { AF_INET, SOCK_STREAM, "192.0.2.53", 53, "q" };

        cr_assert_eq(run_in_netns(child_connect_send, &d), 0);
        expect_accepted(fx.dns_tcp4, "192.0.2.53", 53, "q");
        expect_nothing_pending(fx.tcp4, "transparent TCP listener");
}

typedef struct Seen {
        NflogPacket p[8];
        int n;
} Seen;

static int collect(const NflogPacket *p, void *userdata) {
        Seen *s = userdata;

        if (s->n < 8)
                s->p[s->n++] = *p;
        return 0;
}

static void read_log(Seen *s) {
        int r;

        cr_assert(wait_readable(fx.nflog, 5000), "nothing was logged");
        r = nflog_receive(fx.nflog, collect, s);
        cr_assert_gt(r, 0, "nflog_receive: %d", r);
}

Test(netfilter, other_udp_is_dropped_and_reported) {
        Dest d4 = { AF_INET, SOCK_DGRAM, "192.0.2.9", 9999, "leak" };
        Dest d6 = { AF_INET6, SOCK_DGRAM, "2001:db8::9", 123, "leak" };
        char text[INET6_ADDRSTRLEN];
        Seen s = {};

        cr_expect_eq(run_in_netns(child_sendto, &d4), EPERM, "the sender is told at once");
        read_log(&s);
        cr_assert_eq(s.n, 1);
        cr_expect_eq(s.p[0].family, AF_INET);
        cr_expect_eq(s.p[0].protocol, IPPROTO_UDP);
        inet_ntop(AF_INET, s.p[0].dst, text, sizeof text);
        cr_expect_str_eq(text, "192.0.2.9");
        inet_ntop(AF_INET, s.p[0].src, text, sizeof text);
        cr_expect_str_eq(text, "127.0.0.1", "source from the default route");
        cr_expect_eq(s.p[0].dport, 9999);
        cr_expect(s.p[0].has_uid);
        cr_expect_eq(s.p[0].uid, geteuid());
        cr_expect_str_eq(s.p[0].prefix, "fence-drop");

        s = (Seen) {};
        cr_expect_eq(run_in_netns(child_sendto, &d6), EPERM);
        read_log(&s);
        cr_assert_eq(s.n, 1);
        cr_expect_eq(s.p[0].family, AF_INET6);
        cr_expect_eq(s.p[0].protocol, IPPROTO_UDP);
        inet_ntop(AF_INET6, s.p[0].dst, text, sizeof text);
        cr_expect_str_eq(text, "2001:db8::9");
        cr_expect_eq(s.p[0].dport, 123);

        expect_nothing_pending(fx.dns_udp4, "DNS listener");
        expect_nothing_pending(fx.dns_udp6, "DNS listener (IPv6)");
        expect_nothing_pending(fx.tcp4, "TCP listener");
}

static int child_ping(const void *arg) {
        struct sockaddr_in sin = { .sin_family = AF_INET };
        struct icmphdr echo = { .type = ICMP_ECHO };
        int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);

        (void) arg;
        if (fd < 0)
                return errno;
        inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
        if (sendto(fd, &echo, sizeof echo, 0, (struct sockaddr *) &sin, sizeof sin) < 0)
                return errno;
        return 0;
}

Test(netfilter, icmp_is_dropped_and_reported) {
        Seen s = {};

        cr_expect_eq(run_in_netns(child_ping, NULL), EPERM);
        read_log(&s);
        cr_assert_eq(s.n, 1);
        cr_expect_eq(s.p[0].protocol, IPPROTO_ICMP);
        cr_expect_eq(s.p[0].icmp_type, ICMP_ECHO);
}

static int child_loopback(const void *arg) {
        const uint16_t *port = arg;
        Dest own = { AF_INET, SOCK_STREAM, "127.0.0.1", *port, "local" };
        Dest closed = { AF_INET, SOCK_STREAM, "127.0.0.1", 1, NULL };
        Dest closed6 = { AF_INET6, SOCK_STREAM, "::1", 1, NULL };
        int r;

        r = child_connect_send(&own);
        if (r != 0)
                return r;
        /* Nothing listens on port 1: refused, not captured. */
        if (child_connect_send(&closed) != ECONNREFUSED)
                return 201;
        if (child_connect_send(&closed6) != ECONNREFUSED)
                return 202;
        return 0;
}

Test(netfilter, loopback_is_not_redirected) {
        int local = -1;
        uint16_t port;

        cr_assert_eq(netns_open_listener(fx.netns_fd, SOCK_STREAM, AF_INET, 0, &local), 0);
        port = local_port(local);

        cr_assert_eq(run_in_netns(child_loopback, &port), 0);
        expect_accepted(local, "127.0.0.1", port, "local");
        expect_nothing_pending(fx.tcp4, "transparent TCP listener");
        expect_nothing_pending(fx.tcp6, "transparent TCP listener (IPv6)");
        expect_nothing_pending(fx.nflog, "drop log");
        close(local);
}

static int count_redirects(void *userdata) {
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        int *count = userdata;
        const char *out;

        if (!ctx || nft_ctx_buffer_output(ctx) < 0 || nft_run_cmd_from_buffer(ctx, "list table inet fence") != 0)
                return -EIO;
        out = nft_ctx_get_output_buffer(ctx);
        for (const char *p = out; (p = strstr(p, "redirect to")); p++)
                (*count)++;
        nft_ctx_free(ctx);
        return 0;
}

Test(netfilter, one_install_one_ruleset) {
        int redirects = 0;

        /* The fixture installed the rules once into its new namespace. */
        cr_assert_eq(netns_exec(fx.netns_fd, count_redirects, &redirects), 0);
        cr_expect_eq(redirects, 2, "the DNS and the TCP redirect, once each");
}

/* --- without a namespace --- */

Test(netfilter_text, ruleset) {
        NetfilterPorts p = { .tcp = 4242, .dns = 5353, .log_group = 3 };
        char *text = NULL;

        cr_assert_eq(netfilter_ruleset(&p, &text), 0);
        cr_expect(strstr(text, "th dport 53 redirect to :5353"), "%s", text);
        cr_expect(strstr(text, "meta l4proto tcp redirect to :4242"), "%s", text);
        cr_expect(strstr(text, "log prefix \"fence-drop\" group 3"), "%s", text);
        cr_expect(strstr(text, "counter drop"), "%s", text);
        /* DNS capture comes before the loopback exemption. */
        cr_expect_lt(strstr(text, "dport 53"), strstr(text, "127.0.0.0/8 return"));
        free(text);

        p.log_group = 0;
        cr_assert_eq(netfilter_ruleset(&p, &text), 0);
        cr_expect_null(strstr(text, " log "), "%s", text);
        free(text);

        p.tcp = 0;
        cr_expect_eq(netfilter_ruleset(&p, &text), -EINVAL);
}

static int return_seven(void *userdata) {
        (void) userdata;
        return 7;
}

Test(netfilter_text, netns_exec_errors) {
        cr_expect_eq(netns_exec(-1, return_seven, NULL), -EINVAL);
        /* Not a namespace fd: setns fails, the function never runs. */
        cr_expect_eq(netns_exec(STDIN_FILENO, return_seven, NULL), -EINVAL);
}

static int count_packets(const NflogPacket *p, void *userdata) {
        (*(int *) userdata)++;
        return 0;
}

/* A hand-made NFLOG message: IPv6 UDP behind a hop-by-hop header. */
Test(netfilter_text, nflog_parse_ipv6_extension_headers) {
        union {
                struct nlmsghdr h;
                uint8_t b[256];
        } m = {};
        uint8_t *ip;
        struct nlattr *a;
        Seen s = {};

        m.h.nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
        m.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
        a = (struct nlattr *) (m.b + m.h.nlmsg_len);
        a->nla_type = NFULA_PAYLOAD;
        a->nla_len = NLA_HDRLEN + 40 + 8 + 8;
        ip = (uint8_t *) a + NLA_HDRLEN;
        ip[0] = 0x60;
        ip[6] = IPPROTO_HOPOPTS;
        inet_pton(AF_INET6, "2001:db8::7", ip + 24);
        ip[40] = IPPROTO_UDP;           /* hop-by-hop: next header, length 0 (8 bytes) */
        ip[48 + 2] = 0x1f;              /* UDP dport 8080 */
        ip[48 + 3] = 0x90;
        m.h.nlmsg_len += NLA_ALIGN(a->nla_len);

        cr_assert_eq(nflog_parse(&m, m.h.nlmsg_len, collect, &s), 1);
        cr_expect_eq(s.p[0].family, AF_INET6);
        cr_expect_eq(s.p[0].protocol, IPPROTO_UDP);
        cr_expect_eq(s.p[0].dport, 8080);
        cr_expect(!s.p[0].has_uid);

        /* Every truncation: an error or fewer fields, never a crash. */
        for (uint32_t n = 0; n < m.h.nlmsg_len; n++) {
                int count = 0;
                (void) nflog_parse(&m, n, count_packets, &count);
        }
}

Test(netfilter_text, nflog_parse_garbage) {
        static union {
                struct nlmsghdr h;
                uint8_t b[512];
        } m;
        unsigned seed = 7;

        for (int i = 0; i < 100000; i++) {
                size_t n = (size_t) rand_r(&seed) % sizeof m.b;
                int count = 0;

                for (size_t j = 0; j < n; j++)
                        m.b[j] = (uint8_t) rand_r(&seed);
                if (n >= sizeof m.h && (i & 1)) {
                        m.h.nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
                        m.h.nlmsg_len = (uint32_t) n;
                }
                (void) nflog_parse(&m, n, count_packets, &count);
        }
}
