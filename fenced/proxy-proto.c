#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "proxy-proto.h"

/* Fills target from host text (n bytes) and port. */
static int target_set(ProxyTarget *t, const char *host, size_t n, uint16_t port) {
        char tmp[NET_HOST_MAX + 3];

        if (n == 0 || n >= sizeof tmp || memchr(host, 0, n))
                return -EINVAL;
        memcpy(tmp, host, n);
        tmp[n] = 0;
        *t = (ProxyTarget) { .port = port, .family = AF_UNSPEC };
        if (net_host_normalize(tmp, t->host) < 0)
                return -EINVAL;
        if (inet_pton(AF_INET, t->host, t->addr) == 1)
                t->family = AF_INET;
        else if (inet_pton(AF_INET6, t->host, t->addr) == 1)
                t->family = AF_INET6;
        return 0;
}

/* --- SOCKS5 --- */

int socks5_parse_greeting(const void *buf_, size_t len, uint8_t *ret_method) {
        const uint8_t *buf = buf_;
        size_t n;

        if (len >= 1 && buf[0] != SOCKS5_VERSION)
                return -EBADMSG;
        if (len < 2)
                return 0;
        n = buf[1];
        if (n == 0)
                return -EBADMSG;
        if (len < 2 + n)
                return 0;

        *ret_method = memchr(buf + 2, SOCKS5_METHOD_NO_AUTH, n) ? SOCKS5_METHOD_NO_AUTH
                                                                : SOCKS5_METHOD_NO_ACCEPTABLE;
        return (int) (2 + n);
}

int socks5_build_method_reply(uint8_t method, void *buf, size_t size) {
        uint8_t *b = buf;

        if (size < 2)
                return -ENOBUFS;
        b[0] = SOCKS5_VERSION;
        b[1] = method;
        return 2;
}

int socks5_parse_request(const void *buf_, size_t len, uint8_t *ret_cmd, ProxyTarget *ret) {
        const uint8_t *buf = buf_;
        ProxyTarget t;
        size_t addr_len, need;
        uint16_t port;

        if ((len >= 1 && buf[0] != SOCKS5_VERSION) || (len >= 3 && buf[2] != 0))
                return -EBADMSG;
        if (len < 4)
                return 0;

        switch (buf[3]) {
        case SOCKS5_ATYP_IPV4:
                addr_len = 4;
                need = 4 + 4 + 2;
                break;
        case SOCKS5_ATYP_IPV6:
                addr_len = 16;
                need = 4 + 16 + 2;
                break;
        case SOCKS5_ATYP_DOMAIN:
                if (len < 5)
                        return 0;
                addr_len = buf[4];
                if (addr_len == 0)
                        return -EBADMSG;
                need = 5 + addr_len + 2;
                break;
        default:
                return -EAFNOSUPPORT;
        }
        if (len < need)
                return 0;

        port = (uint16_t) (buf[need - 2] << 8 | buf[need - 1]);
        if (port == 0)
                return -EBADMSG;

        if (buf[3] == SOCKS5_ATYP_DOMAIN) {
                if (target_set(&t, (const char *) buf + 5, addr_len, port) < 0)
                        return -EBADMSG;
        } else {
                t = (ProxyTarget) { .port = port, .family = addr_len == 4 ? AF_INET : AF_INET6 };
                memcpy(t.addr, buf + 4, addr_len);
                if (!inet_ntop(t.family, t.addr, t.host, sizeof t.host))
                        return -EBADMSG;
        }

        *ret_cmd = buf[1];
        *ret = t;
        return (int) need;
}

int socks5_build_reply(uint8_t rep, const struct sockaddr *bound, void *buf, size_t size) {
        uint8_t *b = buf;

        if (size < 10)
                return -ENOBUFS;
        b[0] = SOCKS5_VERSION;
        b[1] = rep;
        b[2] = 0;

        if (bound && bound->sa_family == AF_INET6) {
                const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) bound;

                if (size < 22)
                        return -ENOBUFS;
                b[3] = SOCKS5_ATYP_IPV6;
                memcpy(b + 4, &sin6->sin6_addr, 16);
                memcpy(b + 20, &sin6->sin6_port, 2);
                return 22;
        }

        b[3] = SOCKS5_ATYP_IPV4;
        if (bound && bound->sa_family == AF_INET) {
                const struct sockaddr_in *sin = (const struct sockaddr_in *) bound;

                memcpy(b + 4, &sin->sin_addr, 4);
                memcpy(b + 8, &sin->sin_port, 2);
        } else
                memset(b + 4, 0, 6);
        return 10;
}

uint8_t socks5_rep_from_errno(int error) {
        switch (error < 0 ? -error : error) {
        case 0:
                return SOCKS5_REP_SUCCEEDED;
        case EACCES:
        case EPERM:
                return SOCKS5_REP_NOT_ALLOWED;
        case ENETUNREACH:
        case ENETDOWN:
                return SOCKS5_REP_NETWORK_UNREACHABLE;
        case EHOSTUNREACH:
        case EHOSTDOWN:
        case ENOENT:            /* name did not resolve */
                return SOCKS5_REP_HOST_UNREACHABLE;
        case ECONNREFUSED:
                return SOCKS5_REP_CONNECTION_REFUSED;
        case ETIMEDOUT:
                return SOCKS5_REP_TTL_EXPIRED;
        case EAFNOSUPPORT:
                return SOCKS5_REP_ADDRESS_NOT_SUPPORTED;
        default:
                return SOCKS5_REP_GENERAL_FAILURE;
        }
}

/* --- HTTP proxy --- */

typedef struct Head {
        size_t len;                     /* through the empty line */
        size_t method_len;
        size_t target_off, target_len;
        size_t version_off;             /* "HTTP/1.x" */
        size_t headers_off;             /* first header line */
} Head;

static bool is_tchar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

static size_t line_content_len(const char *p, const char *lf) {
        return (size_t) (lf - p) - (lf > p && lf[-1] == '\r');
}

/* Finds the end of the head and checks its grammar. */
static int head_parse(const char *buf, size_t len, Head *h) {
        const char *end, *p, *lf, *sp1, *sp2;
        size_t line_len;

        *h = (Head) {};

        if (len >= 1 && !is_tchar(buf[0]))
                return -EBADMSG;
        for (p = buf;; p = lf + 1) {
                lf = memchr(p, '\n', (size_t) (buf + len - p));
                if (!lf)
                        return len > HTTP_PROXY_HEAD_MAX ? -E2BIG : 0;
                if ((size_t) (lf + 1 - buf) > HTTP_PROXY_HEAD_MAX)
                        return -E2BIG;
                if (p != buf && line_content_len(p, lf) == 0)
                        break;
        }
        end = lf + 1;
        h->len = (size_t) (end - buf);
        if (memchr(buf, 0, h->len))
                return -EBADMSG;

        /* METHOD SP request-target SP HTTP/1.x */
        lf = memchr(buf, '\n', h->len);
        line_len = line_content_len(buf, lf);
        sp1 = memchr(buf, ' ', line_len);
        if (!sp1 || sp1 == buf)
                return -EBADMSG;
        for (p = buf; p < sp1; p++)
                if (!is_tchar(*p))
                        return -EBADMSG;
        sp2 = memchr(sp1 + 1, ' ', (size_t) (buf + line_len - sp1 - 1));
        if (!sp2 || sp2 == sp1 + 1)
                return -EBADMSG;
        if (buf + line_len - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
            (sp2[8] != '0' && sp2[8] != '1'))
                return -EBADMSG;
        for (p = sp1 + 1; p < sp2; p++)
                if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f)
                        return -EBADMSG;
        h->method_len = (size_t) (sp1 - buf);
        h->target_off = (size_t) (sp1 + 1 - buf);
        h->target_len = (size_t) (sp2 - sp1 - 1);
        h->version_off = (size_t) (sp2 + 1 - buf);
        h->headers_off = (size_t) (lf + 1 - buf);

        for (p = lf + 1; p < end; p = lf + 1) {
                const char *colon;

                lf = memchr(p, '\n', (size_t) (end - p));
                line_len = line_content_len(p, lf);
                if (line_len == 0)
                        break;
                /* No obsolete folding, no "Name :" (RFC 9112 §5). */
                if (*p == ' ' || *p == '\t')
                        return -EBADMSG;
                colon = memchr(p, ':', line_len);
                if (!colon || colon == p)
                        return -EBADMSG;
                for (const char *c = p; c < colon; c++)
                        if (!is_tchar(*c))
                                return -EBADMSG;
                for (const char *c = colon + 1; c < p + line_len; c++)
                        if (*c == '\r')
                                return -EBADMSG;
        }
        return 1;
}

static bool method_is(const char *buf, const Head *h, const char *m) {
        return h->method_len == strlen(m) && memcmp(buf, m, h->method_len) == 0;
}

int http_proxy_parse_request(const void *buf_, size_t len, HttpProxyRequest *ret) {
        const char *buf = buf_, *target;
        HttpProxyRequest req = {};
        uint16_t port;
        Head h;
        int r;

        r = head_parse(buf, len, &h);
        if (r <= 0)
                return r;
        target = buf + h.target_off;

        if (method_is(buf, &h, "CONNECT")) {
                char host[NET_HOST_MAX + 1];

                if (net_authority_parse(target, h.target_len, host, &port) < 0)
                        return -EBADMSG;
                if (target_set(&req.target, host, strlen(host), port ?: 443) < 0)
                        return -EBADMSG;
                req.kind = HTTP_PROXY_CONNECT;
        } else {
                const char *sep = NULL, *a, *a_end, *t_end = target + h.target_len;
                char host[NET_HOST_MAX + 1];

                for (const char *c = target; c + 2 < t_end && *c != '/'; c++)
                        if (c[0] == ':' && c[1] == '/' && c[2] == '/') {
                                sep = c;
                                break;
                        }
                /* Origin-form ("GET / HTTP/1.1") is for servers, not proxies. */
                if (!sep)
                        return -EPROTONOSUPPORT;
                if (sep - target != 4 || strncasecmp(target, "http", 4) != 0)
                        return -EPROTONOSUPPORT;

                a = sep + 3;
                a_end = a;
                while (a_end < t_end && *a_end != '/' && *a_end != '?' && *a_end != '#')
                        a_end++;
                for (const char *c = a_end; c > a; c--)
                        if (c[-1] == '@') {
                                a = c;
                                break;
                        }
                if (net_authority_parse(a, (size_t) (a_end - a), host, &port) < 0)
                        return -EBADMSG;
                if (target_set(&req.target, host, strlen(host), port ?: 80) < 0)
                        return -EBADMSG;
                req.kind = HTTP_PROXY_FORWARD;
        }

        req.head_len = h.len;
        *ret = req;
        return (int) h.len;
}

static bool header_is(const char *line, size_t line_len, const char *name) {
        size_t n = strlen(name);
        return line_len > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

int http_proxy_rewrite_head(const void *buf_, const HttpProxyRequest *req, char **ret, size_t *ret_len) {
        static const char *const dropped[] = {
                "host", "connection", "keep-alive", "proxy-connection", "proxy-authorization",
        };
        const char *buf = buf_, *p, *lf, *path, *t_end;
        _cleanup_free_ char *out = NULL;
        char authority[NET_HOST_MAX + 16];
        size_t size = 0, path_len;
        FILE *f;
        Head h;
        int r;

        if (!req || req->kind != HTTP_PROXY_FORWARD)
                return -EINVAL;
        r = head_parse(buf, req->head_len, &h);
        if (r <= 0)
                return -EINVAL;

        /* Re-find the path after the authority (head_parse is grammar only). */
        t_end = buf + h.target_off + h.target_len;
        path = memmem(buf + h.target_off, h.target_len, "://", 3);
        if (!path)
                return -EINVAL;
        path += 3;
        while (path < t_end && *path != '/' && *path != '?' && *path != '#')
                path++;
        path_len = (size_t) (t_end - path);

        if (req->target.family == AF_INET6)
                snprintf(authority, sizeof authority, "[%s]", req->target.host);
        else
                snprintf(authority, sizeof authority, "%s", req->target.host);
        if (req->target.port != 80)
                snprintf(authority + strlen(authority), sizeof authority - strlen(authority), ":%u",
                         req->target.port);

        f = open_memstream(&out, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "%.*s %s%.*s HTTP/1.%c\r\nHost: %s\r\n", (int) h.method_len, buf,
                path_len == 0 || *path != '/' ? "/" : "", (int) path_len, path, buf[h.version_off + 7],
                authority);
        for (p = buf + h.headers_off; p < buf + h.len; p = lf + 1) {
                size_t line_len;
                bool drop = false;

                lf = memchr(p, '\n', (size_t) (buf + h.len - p));
                line_len = line_content_len(p, lf);
                if (line_len == 0)
                        break;
                for (size_t i = 0; i < ELEMENTSOF(dropped); i++)
                        drop = drop || header_is(p, line_len, dropped[i]);
                if (!drop)
                        fprintf(f, "%.*s\r\n", (int) line_len, p);
        }
        fputs("Connection: close\r\n\r\n", f);
        if (fclose(f) != 0 || !out)
                return -ENOMEM;

        *ret_len = size;
        *ret = TAKE_PTR(out);
        return 0;
}

static const char *status_text(int status) {
        switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 405: return "Method Not Allowed";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        default: return NULL;
        }
}

static int build_response(int status, const char *extra_headers, const char *body, char **ret, size_t *ret_len) {
        const char *text = status_text(status);
        char *out = NULL;
        int n;

        if (!text || !body || !ret || !ret_len)
                return -EINVAL;
        n = asprintf(&out,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "%s"
                     "Content-Length: %zu\r\n"
                     "Connection: close\r\n"
                     "\r\n"
                     "%s",
                     status, text, extra_headers, strlen(body), body);
        if (n < 0)
                return -ENOMEM;
        *ret = out;
        *ret_len = (size_t) n;
        return 0;
}

int http_proxy_build_response(int status, const char *body, char **ret, size_t *ret_len) {
        return build_response(status, "", body, ret, ret_len);
}

int http_proxy_build_blocked(const char *explanation, char **ret, size_t *ret_len) {
        _cleanup_free_ char *body = NULL;

        if (asprintf(&body, HTTP_PROXY_BLOCKED_TEXT "\n%s%s", explanation ?: "", explanation ? "\n" : "") < 0)
                return -ENOMEM;
        return build_response(403, "X-Proxy-Error: blocked-by-allowlist\r\n", body, ret, ret_len);
}
