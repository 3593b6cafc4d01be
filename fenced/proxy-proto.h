/* proxy-proto.h — the server side of the two proxy protocols a sandbox's
 * proxy-aware tools speak (HTTP_PROXY/HTTPS_PROXY/ALL_PROXY): SOCKS5
 * (RFC 1928, no authentication, CONNECT) and HTTP (CONNECT host:port and
 * absolute-URI requests like "GET http://host/path"), plus the replies.
 *
 * Parsers are incremental without keeping state: give them everything
 * received so far; they return the length of the complete message (> 0), 0
 * when more bytes are needed, or a negative errno for input to refuse. Input
 * is untrusted and never read out of bounds.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net-policy.h"

typedef struct ProxyTarget {
        /* Lower-cased host name or IP literal text (IPv6 without brackets). */
        char host[NET_HOST_MAX + 1];
        uint16_t port;
        /* AF_INET/AF_INET6 when host is an IP literal (addr then holds it,
         * network order), AF_UNSPEC for a name. */
        int family;
        uint8_t addr[16];
} ProxyTarget;

/* --- SOCKS5 --- */

#define SOCKS5_VERSION 5

#define SOCKS5_METHOD_NO_AUTH 0x00
#define SOCKS5_METHOD_USERPASS 0x02
#define SOCKS5_METHOD_NO_ACCEPTABLE 0xff

#define SOCKS5_CMD_CONNECT 1
#define SOCKS5_CMD_BIND 2
#define SOCKS5_CMD_UDP_ASSOCIATE 3

#define SOCKS5_ATYP_IPV4 1
#define SOCKS5_ATYP_DOMAIN 3
#define SOCKS5_ATYP_IPV6 4

#define SOCKS5_REP_SUCCEEDED 0x00
#define SOCKS5_REP_GENERAL_FAILURE 0x01
#define SOCKS5_REP_NOT_ALLOWED 0x02     /* "connection not allowed by ruleset" */
#define SOCKS5_REP_NETWORK_UNREACHABLE 0x03
#define SOCKS5_REP_HOST_UNREACHABLE 0x04
#define SOCKS5_REP_CONNECTION_REFUSED 0x05
#define SOCKS5_REP_TTL_EXPIRED 0x06
#define SOCKS5_REP_COMMAND_NOT_SUPPORTED 0x07
#define SOCKS5_REP_ADDRESS_NOT_SUPPORTED 0x08

/* Method negotiation: VER NMETHODS METHODS. *ret_method is the method to
 * answer: NO_AUTH when offered, else NO_ACCEPTABLE (then close after the
 * answer). Returns bytes consumed, 0 (need more) or -EBADMSG. */
int socks5_parse_greeting(const void *buf, size_t len, uint8_t *ret_method);

/* The two-byte answer to a greeting. Returns 2 or -ENOBUFS. */
int socks5_build_method_reply(uint8_t method, void *buf, size_t size);

/* Request: VER CMD RSV ATYP DST.ADDR DST.PORT. On success *ret_cmd is the
 * command (only CONNECT is served; answer others with
 * COMMAND_NOT_SUPPORTED) and *ret the destination. Returns bytes consumed,
 * 0 (need more), -EBADMSG (garbage: close), -EAFNOSUPPORT (unknown address
 * type: answer ADDRESS_NOT_SUPPORTED, then close). A domain that is not a
 * valid host name gives -EBADMSG. */
int socks5_parse_request(const void *buf, size_t len, uint8_t *ret_cmd, ProxyTarget *ret);

/* Reply: VER REP RSV ATYP BND.ADDR BND.PORT with bound (AF_INET or
 * AF_INET6), or 0.0.0.0:0 when bound is NULL. Returns the length (10 or 22)
 * or -ENOBUFS. */
int socks5_build_reply(uint8_t rep, const struct sockaddr *bound, void *buf, size_t size);

/* The reply code for a failed connect() to the destination. */
uint8_t socks5_rep_from_errno(int error);

/* --- HTTP proxy --- */

/* Request heads larger than this are refused (431). */
#define HTTP_PROXY_HEAD_MAX (16 * 1024)

#define HTTP_PROXY_CONNECT_ESTABLISHED "HTTP/1.1 200 Connection Established\r\n\r\n"

/* fence's 403 body, first line; tools and tests match on it. */
#define HTTP_PROXY_BLOCKED_TEXT "Connection blocked by network allowlist"

typedef enum HttpProxyKind {
        HTTP_PROXY_CONNECT,     /* tunnel: answer 200, then relay bytes */
        HTTP_PROXY_FORWARD,     /* "GET http://host/path": send a rewritten head */
} HttpProxyKind;

typedef struct HttpProxyRequest {
        HttpProxyKind kind;
        ProxyTarget target;     /* CONNECT without a port: 443; http:// without: 80 */
        size_t head_len;        /* request line + headers + empty line */
} HttpProxyRequest;

/* Parses a request head. Returns head_len, 0 (need more), -EBADMSG
 * (answer 400), -E2BIG (head over HTTP_PROXY_HEAD_MAX: 431), -EPROTONOSUPPORT
 * (absolute URI with a scheme other than http, or an origin-form request
 * that was meant for a server, not a proxy: 501 / 400). */
int http_proxy_parse_request(const void *buf, size_t len, HttpProxyRequest *ret);

/* For HTTP_PROXY_FORWARD: the head to send to the destination instead of
 * the client's: request line in origin form ("GET /path HTTP/1.1"), Host set
 * to the URI's authority (so the server and the policy see the same host),
 * the proxy hop's headers (Proxy-Connection, Proxy-Authorization,
 * Connection, Keep-Alive) dropped and "Connection: close" added, so that a
 * client cannot send a second request for another host over the same
 * tunnel. The body that follows the head is relayed unchanged. Returns 0 or
 * -ENOMEM/-EINVAL. */
int http_proxy_rewrite_head(const void *buf, const HttpProxyRequest *req, char **ret, size_t *ret_len);

/* A complete "Connection: close" response with a text/plain body.
 * Returns 0 or -ENOMEM/-EINVAL. */
int http_proxy_build_response(int status, const char *body, char **ret, size_t *ret_len);

/* The 403 for a denied destination: HTTP_PROXY_BLOCKED_TEXT, then the
 * explanation (see net_verdict_explain()) on its own line, and an
 * "X-Proxy-Error: blocked-by-allowlist" header. */
int http_proxy_build_blocked(const char *explanation, char **ret, size_t *ret_len);
