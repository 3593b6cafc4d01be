/* netfilter.h — the capture inside a sandbox's network namespace: everything
 * the sandbox sends that is not for its own loopback ends up at a listener
 * of the daemon, or is dropped and reported.
 *
 * Layout (one `inet` table "fence", installed in one netlink transaction):
 *
 *   chain capture   nat, hook output, priority -100 (before filtering)
 *     UDP and TCP to port 53, any address (loopback included, so resolvers
 *     configured as 127.0.0.53 or 127.0.0.1 still reach the filter)
 *                                  → redirect to :dns
 *     destination 127.0.0.0/8 or ::1 → return (the sandbox's own loopback)
 *     any other TCP                  → redirect to :tcp
 *
 *   chain guard     filter, hook output, priority 0
 *     destination 127.0.0.0/8 or ::1 → accept (includes everything the
 *     capture chain redirected: redirect rewrites the destination first)
 *     everything else (other UDP, ICMP, SCTP, ...) → log to NFLOG group
 *     `log_group` (rate-limited), count, drop
 *
 * ICMP datagram ("ping") sockets are allowed for every group in the
 * namespace (net.ipv4.ping_group_range), so that a ping reaches the guard
 * chain and is reported instead of failing unseen at socket().
 *
 * A drop in the output hook fails the sender's sendmsg() with EPERM at once,
 * so programs fail fast instead of waiting for timeouts. Reporting: the
 * daemon reads the NFLOG group (netns_open_nflog(), nflog.h), which gives
 * protocol, addresses, ports and the sending socket's uid for each drop.
 * Neither nft's plain `log` (kernel log, not per sandbox, nobody reads it)
 * nor `queue` (not built into this kernel: CONFIG_NFT_QUEUE unset) would do.
 *
 * Redirected connections keep their original destination in conntrack:
 * the listener reads it with getsockopt(SOL_IP, SO_ORIGINAL_DST) or
 * (SOL_IPV6, IP6T_SO_ORIGINAL_DST). Replies to redirected UDP go out
 * through the same conntrack entry, so the DNS listener's sendto() back to
 * the client is seen by the client as coming from the address it queried.
 */
#pragma once

#include <stdint.h>
#include <sys/socket.h>

typedef struct NetfilterPorts {
        uint16_t tcp;           /* transparent TCP listener, on 127.0.0.1 and ::1 */
        uint16_t dns;           /* DNS filter, UDP and TCP, on 127.0.0.1 and ::1 */
        uint16_t log_group;     /* NFLOG group for drops; 0: count only */
} NetfilterPorts;

/* The nft script for ports (for tests and `fencectl` debugging output).
 * Returns 0 with a malloc'd string, -EINVAL or -ENOMEM. */
int netfilter_ruleset(const NetfilterPorts *ports, char **ret);

/* Brings up lo with default routes through it (loopback-route.h) and
 * installs the ruleset, both in the calling thread's network namespace,
 * which must be new (a sandbox's): a second call in the same namespace
 * would add the rules again. Returns 0 or a negative errno; the nft error
 * message is logged. */
int netfilter_setup(const NetfilterPorts *ports);

/* netfilter_setup() inside the network namespace of netns_fd, from a
 * short-lived thread (see netns-exec.h). */
int netfilter_setup_netns(int netns_fd, const NetfilterPorts *ports);

/* Creates a socket inside the namespace of netns_fd, bound to the loopback
 * address of family (127.0.0.1 or ::1, IPv6-only) and port (0: the kernel
 * picks one; read it with getsockname()), listening when type is
 * SOCK_STREAM. The socket is non-blocking and close-on-exec; it stays in
 * that namespace while the caller uses it from the host namespace. May be
 * called before netfilter_setup_netns(), so that ports picked by the kernel
 * can go into the rules. */
int netns_open_listener(int netns_fd, int type, int family, uint16_t port, int *ret_fd);

/* Several netns_open_listener() at once, from one thread (each thread
 * costs tens of microseconds, and a sandbox needs ten listeners). A spec
 * whose port is 0 and same_port_as >= 0 takes the port the kernel gave the
 * listener at that (earlier) index. On failure every fd opened is closed. */
typedef struct NetnsListenerSpec {
        int type, family;
        uint16_t port;
        int same_port_as;       /* index, or -1 */
        int fd;                 /* out */
        uint16_t bound_port;    /* out */
} NetnsListenerSpec;

int netns_open_listeners(int netns_fd, NetnsListenerSpec *specs, size_t n);

/* The destination a redirected connection was sent to, from conntrack
 * (SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST, by the socket's family). For a
 * connection that was not redirected it is the socket's own address.
 * Returns 0 or a negative errno (-ENOENT: no conntrack entry). */
int netfilter_original_dst(int fd, struct sockaddr_storage *ret);

/* nflog_open() inside the namespace of netns_fd. */
int netns_open_nflog(int netns_fd, uint16_t group, int *ret_fd);
