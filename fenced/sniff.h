/* sniff.h — which host a client means, read from the first bytes of a
 * captured TCP stream: the server_name (SNI) of a TLS ClientHello
 * (RFC 8446 §4.1.2, RFC 6066 §3) or the Host of an HTTP/1.x request.
 *
 * Stateless: call it again with the whole prefix received so far (peek it
 * with MSG_PEEK or keep it for replay to the destination) until the answer is
 * not SNIFF_NEED_MORE. A ClientHello may be fragmented over several TLS
 * records; they are reassembled. Nothing is read past SNIFF_MAX_BYTES: a
 * longer hello, or header block, is treated as unrecognizable.
 *
 * Limits the relay must know: a client that waits for the server to speak
 * first (SSH, SMTP) sends nothing, so the relay needs a short timeout after
 * which it treats the stream as SNIFF_NOT_TLS_OR_HTTP; with Encrypted Client
 * Hello the SNI seen is the outer, public name; only the first HTTP request
 * of a connection is looked at.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SNIFF_MAX_BYTES (16 * 1024)
#define SNIFF_HOST_MAX 253

typedef enum SniffStatus {
        SNIFF_NEED_MORE,        /* a prefix of TLS or HTTP; read more */
        SNIFF_FOUND,            /* host (and proto, port) set */
        SNIFF_NOT_FOUND,        /* TLS without SNI, HTTP without Host */
        SNIFF_MALFORMED,        /* claims TLS or HTTP but breaks the grammar or the bound */
        SNIFF_NOT_TLS_OR_HTTP,  /* something else */
} SniffStatus;

typedef enum SniffProtocol {
        SNIFF_PROTO_UNKNOWN,
        SNIFF_PROTO_TLS,
        SNIFF_PROTO_HTTP,
} SniffProtocol;

typedef struct SniffResult {
        SniffProtocol proto;    /* set from SNIFF_NEED_MORE on, once recognizable */
        /* Lower-case, no trailing dot; IPv6 literals without brackets. */
        char host[SNIFF_HOST_MAX + 1];
        uint16_t port;          /* port given in Host / absolute URI, 0 if none */
} SniffResult;

SniffStatus sniff_stream(const void *buf, size_t len, SniffResult *ret);

const char *sniff_status_to_string(SniffStatus s);
