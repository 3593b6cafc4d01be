/* socket-as.h — sockets that fenced opens on a sandbox's behalf, owned by
 * the sandbox's user.
 *
 * A socket's owner is fixed when it is created: its file credentials (what
 * nftables' `meta skuid`/`skgid` and iptables' `-m owner` match) and its
 * sk_uid (policy routing `ip rule uidrange`, /proc/net/tcp) come from the
 * creating thread's fsuid/fsgid. fenced relays a sandbox's allowed traffic
 * from the host's namespace; created as root, those connections would pass
 * host firewall rules written for root, so a user could reach through a
 * sandbox what the host denies that user outside it. socket_as() creates
 * the socket under the user's fsuid/fsgid (the calling thread's only, then
 * restored): the host's rules see the user.
 */
#pragma once

#include <sys/types.h>

/* socket(family, type, 0) owned by uid/gid; returns the fd or -errno. */
int socket_as(uid_t uid, gid_t gid, int family, int type);
