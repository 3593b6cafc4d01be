#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "net-policy.h"
#include "sniff.h"

#define TLS_RECORD_HEADER 5
#define TLS_CONTENT_HANDSHAKE 0x16
#define TLS_HANDSHAKE_CLIENT_HELLO 1
#define TLS_EXT_SERVER_NAME 0
#define TLS_SNI_HOST_NAME 0
/* Plaintext records carry at most 2^14 bytes (RFC 8446 §5.1). */
#define TLS_RECORD_MAX (1 << 14)

#define HTTP_METHOD_MAX 20

#define MIN_SIZE(a, b) ((size_t) (a) < (size_t) (b) ? (size_t) (a) : (size_t) (b))

static uint16_t u16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}

/* Stores the normalized host into ret; SNIFF_FOUND, or SNIFF_MALFORMED if it
 * is not a host name or IP literal. */
static SniffStatus set_host(SniffResult *ret, const char *s, size_t n) {
        char tmp[SNIFF_HOST_MAX + 3], norm[NET_HOST_MAX + 1];

        if (n == 0 || n >= sizeof tmp)
                return SNIFF_MALFORMED;
        memcpy(tmp, s, n);
        tmp[n] = 0;
        if (memchr(tmp, 0, n) || net_host_normalize(tmp, norm) < 0)
                return SNIFF_MALFORMED;
        strcpy(ret->host, norm);
        return SNIFF_FOUND;
}

/* --- TLS --- */

static SniffStatus client_hello_parse(const uint8_t *p, size_t n, SniffResult *ret) {
        size_t pos = 34, ext_end;       /* legacy_version + random */
        bool seen_sni = false;

        if (pos + 1 > n)
                return SNIFF_MALFORMED;
        pos += 1 + (size_t) p[pos];     /* legacy_session_id, <= 32 */
        if (p[34] > 32 || pos + 2 > n)
                return SNIFF_MALFORMED;
        if (u16(p + pos) < 2 || u16(p + pos) % 2 != 0)
                return SNIFF_MALFORMED;
        pos += 2 + (size_t) u16(p + pos);       /* cipher_suites */
        if (pos + 1 > n || p[pos] == 0)
                return SNIFF_MALFORMED;
        pos += 1 + (size_t) p[pos];     /* legacy_compression_methods */
        if (pos > n)
                return SNIFF_MALFORMED;
        if (pos == n)                   /* no extensions at all (pre-TLS 1.2 style) */
                return SNIFF_NOT_FOUND;

        if (pos + 2 > n)
                return SNIFF_MALFORMED;
        ext_end = pos + 2 + (size_t) u16(p + pos);
        if (ext_end != n)
                return SNIFF_MALFORMED;
        pos += 2;

        while (pos < ext_end) {
                uint16_t type;
                size_t len, list_end, q;

                if (pos + 4 > ext_end)
                        return SNIFF_MALFORMED;
                type = u16(p + pos);
                len = u16(p + pos + 2);
                pos += 4;
                if (pos + len > ext_end)
                        return SNIFF_MALFORMED;

                if (type == TLS_EXT_SERVER_NAME) {
                        bool seen_host_name = false;

                        /* One extension of a type only (RFC 8446 §4.2): a
                         * second SNI could name another host than the one a
                         * server acts on. */
                        if (seen_sni || len < 2 || (size_t) u16(p + pos) + 2 != len)
                                return SNIFF_MALFORMED;
                        seen_sni = true;
                        list_end = pos + len;
                        for (q = pos + 2; q < list_end;) {
                                size_t name_len;
                                SniffStatus s;

                                if (q + 3 > list_end)
                                        return SNIFF_MALFORMED;
                                name_len = u16(p + q + 1);
                                if (q + 3 + name_len > list_end)
                                        return SNIFF_MALFORMED;
                                if (p[q] == TLS_SNI_HOST_NAME) {
                                        /* RFC 6066 §3: at most one name per type. */
                                        if (seen_host_name)
                                                return SNIFF_MALFORMED;
                                        seen_host_name = true;
                                        s = set_host(ret, (const char *) p + q + 3, name_len);
                                        if (s != SNIFF_FOUND)
                                                return s;
                                }
                                q += 3 + name_len;
                        }
                        if (!seen_host_name)
                                return SNIFF_MALFORMED;
                }
                pos += len;
        }

        return seen_sni ? SNIFF_FOUND : SNIFF_NOT_FOUND;
}

static SniffStatus sniff_tls(const uint8_t *buf, size_t len, SniffResult *ret) {
        uint8_t hs[SNIFF_MAX_BYTES];
        size_t hs_len = 0, pos = 0, need = 0;

        ret->proto = SNIFF_PROTO_TLS;

        /* Reassemble the handshake stream from as many records as needed. */
        while (pos < len) {
                size_t rec_len, avail;

                if (len - pos < TLS_RECORD_HEADER) {
                        /* Check what we can of a partial header. */
                        if (buf[pos] != TLS_CONTENT_HANDSHAKE || (len - pos > 1 && buf[pos + 1] != 3) ||
                            (len - pos > 2 && buf[pos + 2] > 4))
                                return SNIFF_MALFORMED;
                        break;
                }
                if (buf[pos] != TLS_CONTENT_HANDSHAKE || buf[pos + 1] != 3 || buf[pos + 2] > 4)
                        return SNIFF_MALFORMED;
                rec_len = u16(buf + pos + 3);
                /* Empty handshake fragments are forbidden (RFC 8446 §5.1). */
                if (rec_len == 0 || rec_len > TLS_RECORD_MAX)
                        return SNIFF_MALFORMED;
                pos += TLS_RECORD_HEADER;
                avail = MIN_SIZE(rec_len, len - pos);
                if (hs_len + avail > sizeof hs)
                        return SNIFF_MALFORMED;
                memcpy(hs + hs_len, buf + pos, avail);
                hs_len += avail;
                pos += avail;

                if (hs_len >= 4) {
                        if (hs[0] != TLS_HANDSHAKE_CLIENT_HELLO)
                                return SNIFF_MALFORMED;
                        need = 4 + ((size_t) hs[1] << 16 | (size_t) hs[2] << 8 | hs[3]);
                        if (need > sizeof hs)
                                return SNIFF_MALFORMED;
                        if (hs_len >= need)
                                break;
                }
        }

        if (hs_len >= 1 && hs[0] != TLS_HANDSHAKE_CLIENT_HELLO)
                return SNIFF_MALFORMED;
        if (need == 0 || hs_len < need)
                return len >= SNIFF_MAX_BYTES ? SNIFF_MALFORMED : SNIFF_NEED_MORE;

        /* Bytes of the hello's last record beyond the hello itself would be a
         * second handshake message, which a client never sends before the
         * server answers; only the hello is parsed. */
        return client_hello_parse(hs + 4, need - 4, ret);
}

/* --- HTTP/1.x --- */

/* The end of the line starting at p (pointing at its LF), or NULL. */
static const char *line_end(const char *p, const char *end) {
        return memchr(p, '\n', (size_t) (end - p));
}

static size_t trim_cr(const char *s, const char *lf) {
        return (size_t) (lf - s) - (lf > s && lf[-1] == '\r');
}

/* An authority from a Host header or a URI (userinfo, deprecated but
 * skipped by servers, dropped). */
static SniffStatus parse_authority(const char *s, size_t n, SniffResult *ret) {
        for (size_t i = n; i > 0; i--)
                if (s[i - 1] == '@') {
                        s += i;
                        n -= i;
                        break;
                }
        if (net_authority_parse(s, n, ret->host, &ret->port) < 0)
                return SNIFF_MALFORMED;
        return SNIFF_FOUND;
}

static bool is_tchar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

static SniffStatus sniff_http(const char *buf, size_t len, SniffResult *ret) {
        const char *end = buf + len, *p, *lf, *sp1, *sp2, *target, *host = NULL;
        size_t line_len, target_len, host_len = 0;
        bool absolute = false;
        SniffStatus s;

        /* Method: 1..20 upper-case letters, then a space. Anything else this
         * early is some other protocol. */
        for (size_t i = 0; i < len; i++) {
                if (buf[i] == ' ') {
                        if (i == 0)
                                return SNIFF_NOT_TLS_OR_HTTP;
                        break;
                }
                if (buf[i] < 'A' || buf[i] > 'Z' || i >= HTTP_METHOD_MAX)
                        return SNIFF_NOT_TLS_OR_HTTP;
                if (i + 1 == len)
                        return SNIFF_NEED_MORE;
        }
        ret->proto = SNIFF_PROTO_HTTP;

        /* Wait for the whole header block: a Host header may come late and
         * must not be given twice. */
        for (p = buf;; p = lf + 1) {
                lf = line_end(p, end);
                if (!lf)
                        return len >= SNIFF_MAX_BYTES ? SNIFF_MALFORMED : SNIFF_NEED_MORE;
                if (p != buf && trim_cr(p, lf) == 0)
                        break;
                if ((size_t) (lf - buf) >= SNIFF_MAX_BYTES)
                        return SNIFF_MALFORMED;
        }
        if ((size_t) (lf + 1 - buf) > SNIFF_MAX_BYTES)
                return SNIFF_MALFORMED;

        /* Request line: METHOD SP target SP HTTP/1.x */
        lf = line_end(buf, end);
        line_len = trim_cr(buf, lf);
        sp1 = memchr(buf, ' ', line_len);
        sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t) (buf + line_len - sp1 - 1)) : NULL;
        if (!sp1 || !sp2 || sp2 == sp1 + 1)
                return SNIFF_MALFORMED;
        if ((size_t) (buf + line_len - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
                /* HTTP/2 prior knowledge ("PRI * HTTP/2.0") carries the
                 * authority in HPACK, which is not read here. */
                return memcmp(sp2 + 1, "HTTP/", MIN_SIZE(5, (size_t) (buf + line_len - sp2 - 1))) == 0
                               ? SNIFF_NOT_FOUND
                               : SNIFF_MALFORMED;
        if (sp2[8] != '0' && sp2[8] != '1')
                return SNIFF_MALFORMED;

        target = sp1 + 1;
        target_len = (size_t) (sp2 - target);
        for (size_t i = 0; i + 2 < target_len && target[i] != '/'; i++)
                if (target[i] == ':' && target[i + 1] == '/' && target[i + 2] == '/') {
                        /* absolute-form: the server must use this authority
                         * and ignore Host (RFC 9112 §3.2.2). */
                        const char *a = target + i + 3, *a_end = a;

                        while (a_end < target + target_len && *a_end != '/' && *a_end != '?' && *a_end != '#')
                                a_end++;
                        s = parse_authority(a, (size_t) (a_end - a), ret);
                        if (s != SNIFF_FOUND)
                                return s;
                        absolute = true;
                        break;
                }

        for (p = lf + 1;; p = lf + 1) {
                const char *colon, *v, *v_end;

                lf = line_end(p, end);
                line_len = trim_cr(p, lf);
                if (line_len == 0)
                        break;
                /* Obsolete line folding and "Name :" are rejected by RFC 9112
                 * servers; accepting them here would let the two disagree. */
                if (*p == ' ' || *p == '\t')
                        return SNIFF_MALFORMED;
                colon = memchr(p, ':', line_len);
                if (!colon || colon == p)
                        return SNIFF_MALFORMED;
                for (const char *c = p; c < colon; c++)
                        if (!is_tchar(*c))
                                return SNIFF_MALFORMED;
                if (colon - p != 4 || strncasecmp(p, "host", 4) != 0)
                        continue;
                if (host)
                        return SNIFF_MALFORMED;
                v = colon + 1;
                v_end = p + line_len;
                while (v < v_end && (*v == ' ' || *v == '\t'))
                        v++;
                while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t'))
                        v_end--;
                host = v;
                host_len = (size_t) (v_end - v);
        }

        if (absolute)
                return SNIFF_FOUND;
        if (!host)
                return SNIFF_NOT_FOUND;
        return parse_authority(host, host_len, ret);
}

SniffStatus sniff_stream(const void *buf_, size_t len, SniffResult *ret) {
        const uint8_t *buf = buf_;

        *ret = (SniffResult) {};
        if (len == 0)
                return SNIFF_NEED_MORE;
        if (len > SNIFF_MAX_BYTES)
                len = SNIFF_MAX_BYTES;

        if (buf[0] == TLS_CONTENT_HANDSHAKE)
                return sniff_tls(buf, len, ret);
        if (buf[0] >= 'A' && buf[0] <= 'Z')
                return sniff_http((const char *) buf, len, ret);
        return SNIFF_NOT_TLS_OR_HTTP;
}

const char *sniff_status_to_string(SniffStatus s) {
        static const char *const table[] = {
                [SNIFF_NEED_MORE] = "need-more",
                [SNIFF_FOUND] = "found",
                [SNIFF_NOT_FOUND] = "not-found",
                [SNIFF_MALFORMED] = "malformed",
                [SNIFF_NOT_TLS_OR_HTTP] = "not-tls-or-http",
        };
        return (unsigned) s < ELEMENTSOF(table) ? table[s] : NULL;
}
