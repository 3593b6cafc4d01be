/* tcp-capture.h — the transparent TCP relay of a sandbox (see
 * net-sandbox.h): every TCP connection the sandbox opens to anything but its
 * own loopback arrives here, redirected by the capture rules, with its
 * original destination in conntrack.
 *
 * The decision: the name comes from the TLS ClientHello's SNI or the HTTP
 * Host header (peeked, never consumed, at most SNIFF_MAX_BYTES, waiting at
 * most NET_SNIFF_TIMEOUT_USEC for a client that does not speak first) and
 * from the sandbox's DNS answers for the destination address. The
 * connection is allowed only when
 *   - the sniffed name, if any, is allowed for the port, and
 *   - the address was handed out by the sandbox's DNS filter for a name that
 *     is allowed for the port, or the address itself is allowed (an IP
 *     literal in network.allowedDomains, or "*").
 * So a raw IP the sandbox never resolved is refused, and a forged SNI cannot
 * reach an address outside the allowed names. Allowed connections are made
 * from the host's namespace to the original address and relayed
 * (relay.h); refused ones are reset and reported (source "network").
 *
 * The entry point is tcp_capture_on_accept() in net-internal.h.
 */
#pragma once
