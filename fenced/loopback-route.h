/* loopback-route.h — make a fresh network namespace send everything to its
 * own loopback, so that nftables can capture it.
 *
 * A new netns has only `lo`, down, and no routes: connect() to a remote
 * address fails with ENETUNREACH before netfilter ever sees a packet. With
 * lo up and a default route through it (IPv4 source 127.0.0.1, IPv6 ::1),
 * every packet for anywhere reaches the output hook, where the capture rules
 * redirect or drop it. Equivalent to
 *         ip link set lo up
 *         ip route add default dev lo src 127.0.0.1
 *         ip -6 route add default dev lo src ::1
 * done with hand-written rtnetlink messages.
 */
#pragma once

/* Works in the calling thread's network namespace (see netns-exec.h).
 * Idempotent: existing default routes are replaced. Returns 0 or a negative
 * errno (IPv6 being unavailable in the kernel is not an error: then no IPv6
 * packet can be sent either). */
int loopback_route_setup(void);
