/* proxy-server.h — the HTTP proxy (httpProxyPort, default 3128) and SOCKS5
 * proxy (socksProxyPort, default 1080) that a sandbox's proxy-aware tools
 * reach through HTTP_PROXY/HTTPS_PROXY/ALL_PROXY (net_sandbox_env()), as in
 * fence. They listen on the sandbox's 127.0.0.1 and ::1.
 *
 * HTTP: CONNECT host:port (answered "200 Connection Established", then a
 * tunnel) and absolute-URI requests ("GET http://host/path", forwarded with
 * the head rewritten by http_proxy_rewrite_head()). SOCKS5: no
 * authentication, CONNECT only, names resolved by the daemon (socks5h).
 * The name the client gives is checked against the policy and resolved by
 * the daemon through the sandbox's upstream DNS; a refused destination gets
 * HTTP 403 with fence's body, or SOCKS5 reply 0x02, and an event; an
 * unreachable one 502, or the matching SOCKS5 reply. Request heads are
 * peeked (bounded by HTTP_PROXY_HEAD_MAX) and only the head is consumed.
 *
 * The entry points are proxy_server_on_http/_socks() in net-internal.h.
 */
#pragma once
