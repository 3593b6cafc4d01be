/* socks5-client.h — the CONNECT handshake with an upstream SOCKS5 proxy
 * (RFC 1928), with username/password authentication (RFC 1929) when
 * credentials are given, as a non-blocking state machine for the event loop.
 *
 * Usage: connect a non-blocking stream socket to the proxy, create the
 * client, then call socks5_client_step() whenever the socket is ready for
 * socks5_client_events(). It returns 1 once the proxy reports success; the
 * socket then carries the target's stream. Reads are sized exactly, so no
 * byte of that stream is ever consumed by the handshake (a server that
 * speaks first, like SSH, is not cut short).
 */
#pragma once

#include <stdint.h>

#include "macro.h"
#include "proxy-proto.h"

typedef struct Socks5Client Socks5Client;

/* The target is sent as a domain name when it is one, so the proxy resolves
 * the very name the policy checked. username and password may both be NULL
 * (no authentication offered); otherwise each must be 1..255 bytes.
 * Returns 0, -EINVAL or -ENOMEM. */
int socks5_client_new(const ProxyTarget *target, const char *username, const char *password,
                      Socks5Client **ret);
Socks5Client *socks5_client_free(Socks5Client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Socks5Client *, socks5_client_free);
#define _cleanup_socks5_client_ _cleanup_(socks5_client_freep)

/* Advances on fd. Returns 1 when the tunnel is up, 0 to wait for
 * socks5_client_events(), or a negative errno: -EPERM (the proxy wants
 * authentication we do not have, or rejected ours), the errno for the
 * proxy's reply code (-EACCES for "not allowed by ruleset", -ECONNREFUSED,
 * -ENETUNREACH, -EHOSTUNREACH, -ETIMEDOUT, ...; see
 * socks5_client_reply_code()), -EPROTO for a garbled answer, -ECONNRESET
 * when the proxy closed, or the errno of a failed read/write. */
int socks5_client_step(Socks5Client *c, int fd);

/* EPOLLIN or EPOLLOUT: what the next step waits for (0 when finished). */
uint32_t socks5_client_events(const Socks5Client *c);

/* REP of the proxy's reply, or -1 before one arrived. */
int socks5_client_reply_code(const Socks5Client *c);
