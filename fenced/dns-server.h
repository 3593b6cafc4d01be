/* dns-server.h — the DNS filter of a sandbox (see net-sandbox.h): every DNS
 * message the sandbox sends, over UDP or TCP to any address, arrives here
 * (redirected by the capture rules). Names the policy does not allow are
 * answered NXDOMAIN at once and reported (source "dns"); queries for allowed
 * names are forwarded upstream (dns-upstream.h) and the A/AAAA answers are
 * remembered in the sandbox's DNS cache, which names the addresses for the
 * transparent TCP relay. Only standard queries (opcode 0) with one
 * question are served; anything else gets NOTIMP or FORMERR.
 *
 * The entry points are in net-internal.h (dns_server_on_udp/_tcp).
 */
#pragma once
