/* dns-upstream.h — the daemon's side of DNS towards the real resolvers, on
 * the event loop: forwarding a sandbox's (allowed) query and handing back the
 * reply, and resolving a name to addresses for the proxies.
 *
 * Servers are network.dnsServer ("IP[:port]") when set, else the
 * nameservers of the host's /etc/resolv.conf. Queries go over UDP from the
 * host's network namespace with a fresh random id; a reply counts only if it
 * comes from the server asked, carries that id and echoes the question.
 * Each query is tried DNS_UPSTREAM_TRIES times (cycling through the
 * servers), DNS_UPSTREAM_TIMEOUT_USEC each. At most DNS_UPSTREAM_MAX_PENDING
 * queries are outstanding per DnsUpstream (one per sandbox), so a sandbox
 * flooding its resolver cannot exhaust the daemon.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "dns-message.h"

#define DNS_UPSTREAM_TIMEOUT_USEC (1500 * 1000)
#define DNS_UPSTREAM_TRIES 2
#define DNS_UPSTREAM_MAX_PENDING 256
#define DNS_UPSTREAM_MAX_SERVERS 3

typedef struct DnsUpstream DnsUpstream;
typedef struct DnsPending DnsPending;

/* The reply (with the caller's original id put back), or error < 0
 * (-ETIMEDOUT) and no message. */
typedef void (*dns_reply_t)(const uint8_t *msg, size_t len, int error, void *userdata);
/* The addresses of the name (A, else AAAA), or error < 0: -ENXIO for
 * NXDOMAIN or no address, -ETIMEDOUT, -EIO for a server failure. */
typedef void (*dns_resolved_t)(const DnsAddress *addrs, size_t n, int error, void *userdata);

/* server: "IP", "IP:PORT" or "[IPv6]:PORT"; NULL for the host's resolvers.
 * On -EINVAL/-ENOENT *ret_error says what is wrong. */
int dns_upstream_new(sd_event *event, const char *server, uid_t uid, gid_t gid, DnsUpstream **ret, char **ret_error);
/* Drops every pending query without calling back. */
DnsUpstream *dns_upstream_free(DnsUpstream *u);

/* Forwards query (a complete DNS message), over TCP when tcp is true (for
 * queries that came over TCP, typically after a truncated UDP answer). The callback runs once, from
 * the event loop, unless the query is cancelled first. userdata is owned
 * by the query (malloc'd): passed to the callback, which frees it, or
 * freed by a cancel, by dns_upstream_free() or when this call fails.
 * *ret (optional) is valid until the callback runs or dns_pending_cancel(). */
int dns_upstream_query(DnsUpstream *u, const void *query, size_t len, bool tcp, dns_reply_t cb, void *userdata,
                       DnsPending **ret);

int dns_upstream_resolve(DnsUpstream *u, const char *name, dns_resolved_t cb, void *userdata, DnsPending **ret);

void dns_pending_cancel(DnsPending *p);

/* Parses "IP", "IP:PORT", "[IPv6]" or "[IPv6]:PORT" (default port 53). */
int dns_server_parse(const char *s, struct sockaddr_storage *ret);
