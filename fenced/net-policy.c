#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net-policy.h"

typedef enum MatchKind {
        MATCH_ANY,              /* "*" */
        MATCH_EXACT,            /* "example.com", "192.0.2.1", "[2001:db8::1]" */
        MATCH_SUBDOMAINS,       /* "*.example.com" */
} MatchKind;

typedef struct NetRule {
        char *entry;            /* as written, for reports */
        char *origin;
        char *name;             /* normalized host, without "*." and port */
        size_t name_len;
        MatchKind match;
        uint16_t port;          /* 0: any port */
} NetRule;

struct NetPolicy {
        NetRule *rules[2];      /* indexed by NetRuleList */
        size_t n_rules[2];
};

int net_policy_new(NetPolicy **ret) {
        NetPolicy *p = calloc(1, sizeof(NetPolicy));
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

NetPolicy *net_policy_free(NetPolicy *p) {
        if (!p)
                return NULL;
        for (size_t l = 0; l < 2; l++) {
                for (size_t i = 0; i < p->n_rules[l]; i++) {
                        free(p->rules[l][i].entry);
                        free(p->rules[l][i].origin);
                        free(p->rules[l][i].name);
                }
                free(p->rules[l]);
        }
        free(p);
        return NULL;
}

static bool is_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Lower-cased, checked DNS name of n bytes at s (no trailing dot). */
static int name_normalize(const char *s, size_t n, char *buf) {
        size_t label = 0;

        if (n == 0 || n > NET_HOST_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (c >= 'A' && c <= 'Z')
                        c = (char) (c - 'A' + 'a');
                if (c == '.') {
                        if (label == 0)
                                return -EINVAL;
                        label = 0;
                } else if (is_name_char(c)) {
                        if (++label > 63)
                                return -EINVAL;
                } else
                        return -EINVAL;
                buf[i] = c;
        }
        if (label == 0)
                return -EINVAL;
        buf[n] = 0;
        return (int) n;
}

/* Canonical text of an IP literal of n bytes at s, or -EINVAL if it is none. */
static int ip_normalize(const char *s, size_t n, bool v6, char *buf) {
        char tmp[INET6_ADDRSTRLEN];
        unsigned char addr[16];

        if (n == 0 || n >= sizeof tmp)
                return -EINVAL;
        memcpy(tmp, s, n);
        tmp[n] = 0;
        if (inet_pton(v6 ? AF_INET6 : AF_INET, tmp, addr) != 1)
                return -EINVAL;
        if (!inet_ntop(v6 ? AF_INET6 : AF_INET, addr, buf, NET_HOST_MAX + 1))
                return -EINVAL;
        return (int) strlen(buf);
}

static bool looks_like_ipv4(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '.')
                        return false;
        return n > 0;
}

int net_host_normalize(const char *host, char buf[static NET_HOST_MAX + 1]) {
        size_t n;

        if (!host)
                return -EINVAL;
        n = strlen(host);

        if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
                return ip_normalize(host + 1, n - 2, true, buf);
        if (memchr(host, ':', n))
                return ip_normalize(host, n, true, buf);

        if (n > 0 && host[n - 1] == '.')
                n--;
        /* All-numeric names are IPv4 literals or nothing: treating "192.0.2.01"
         * as a name would let it dodge an entry for 192.0.2.1. */
        if (looks_like_ipv4(host, n))
                return ip_normalize(host, n, false, buf);
        return name_normalize(host, n, buf);
}

/* Decimal port of n bytes at s; 0 only for an empty string. */
static int parse_port_n(const char *s, size_t n, uint16_t *ret) {
        unsigned long v = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned long) (s[i] - '0');
                if (v > 65535)
                        return -EINVAL;
        }
        *ret = (uint16_t) v;
        return 0;
}

static int parse_port(const char *s, uint16_t *ret) {
        if (!*s || parse_port_n(s, strlen(s), ret) < 0 || *ret == 0)
                return -EINVAL;
        return 0;
}

int net_authority_parse(const char *s, size_t n, char host[static NET_HOST_MAX + 1], uint16_t *ret_port) {
        char tmp[NET_HOST_MAX + 3];
        const char *port = NULL;
        size_t host_len = n;
        uint16_t p = 0;

        if (!s || memchr(s, 0, n))
                return -EINVAL;
        if (n > 0 && s[0] == '[') {
                const char *close = memchr(s, ']', n);

                if (!close)
                        return -EINVAL;
                host_len = (size_t) (close - s) + 1;
                if (host_len < n) {
                        if (close[1] != ':')
                                return -EINVAL;
                        port = close + 2;
                }
        } else {
                const char *colon = memchr(s, ':', n);

                if (colon) {
                        host_len = (size_t) (colon - s);
                        port = colon + 1;
                }
        }
        if (port && parse_port_n(port, (size_t) (s + n - port), &p) < 0)
                return -EINVAL;
        if (host_len == 0 || host_len >= sizeof tmp)
                return -EINVAL;
        memcpy(tmp, s, host_len);
        tmp[host_len] = 0;
        if (net_host_normalize(tmp, host) < 0)
                return -EINVAL;
        if (ret_port)
                *ret_port = p;
        return 0;
}

#define REASON(r, text)                 \
        ({                              \
                if (r)                  \
                        *(r) = (text);  \
                -EINVAL;                \
        })

/* Parses entry into rule (without entry/origin). */
static int rule_parse(const char *entry, NetRule *rule, const char **ret_reason) {
        char host[NET_HOST_MAX + 2], norm[NET_HOST_MAX + 1];
        const char *port_text = NULL;
        uint16_t port = 0;
        size_t n, hn;
        int r;

        if (!entry || !*entry)
                return REASON(ret_reason, "the entry is empty");
        n = strlen(entry);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) entry[i] >= 0x80)
                        return REASON(ret_reason,
                                      "internationalized names must be written in their ASCII form (xn--...)");
        if (strstr(entry, "://") || strchr(entry, '/'))
                return REASON(ret_reason,
                              "an entry is a host name, optionally with :PORT; remove the scheme and path");

        if (entry[0] == '[') {
                const char *close = strchr(entry, ']');

                if (!close)
                        return REASON(ret_reason, "missing ']' after the IPv6 address");
                if (close[1] == ':')
                        port_text = close + 2;
                else if (close[1] != 0)
                        return REASON(ret_reason, "only :PORT may follow the IPv6 address in brackets");
                hn = (size_t) (close - entry) + 1;
        } else {
                const char *colon = strchr(entry, ':');

                if (colon && strchr(colon + 1, ':'))
                        return REASON(ret_reason, "write IPv6 addresses in brackets, e.g. [2001:db8::1]");
                if (colon)
                        port_text = colon + 1;
                hn = colon ? (size_t) (colon - entry) : n;
        }
        if (port_text && parse_port(port_text, &port) < 0)
                return REASON(ret_reason, "the port must be a number from 1 to 65535");
        if (hn == 0)
                return REASON(ret_reason, "the host part is empty");
        if (hn >= sizeof host)
                return REASON(ret_reason, "the host name is longer than 253 characters");
        memcpy(host, entry, hn);
        host[hn] = 0;

        *rule = (NetRule) { .port = port };

        if (streq(host, "*")) {
                rule->match = MATCH_ANY;
                rule->name = strdup("*");
                return rule->name ? 0 : -ENOMEM;
        }

        if (startswith(host, "*.")) {
                const char *base = host + 2;
                size_t bn = strlen(base);

                if (bn > 0 && base[bn - 1] == '.')
                        bn--;
                if (strchr(base, '*'))
                        return REASON(ret_reason, "only a single leading \"*.\" wildcard is allowed");
                if (!memchr(base, '.', bn))
                        return REASON(ret_reason, "wildcard too broad: \"*.\" must be followed by at least two labels (not \"*.com\")");
                if (looks_like_ipv4(base, bn))
                        return REASON(ret_reason, "wildcards apply to host names, not to IP addresses");
                r = name_normalize(base, bn, norm);
                if (r < 0)
                        return REASON(ret_reason, "invalid host name after \"*.\"");
                rule->match = MATCH_SUBDOMAINS;
        } else {
                if (strchr(host, '*'))
                        return REASON(ret_reason, "only \"*\" or a leading \"*.\" wildcard is allowed");
                r = net_host_normalize(host, norm);
                if (r < 0)
                        return REASON(ret_reason, "invalid host name or IP address");
                /* fence requires a dot so that a bare word like "com" is not
                 * mistaken for a harmless name; localhost is the one exception. */
                if (host[0] != '[' && !strchr(norm, '.') && !strchr(norm, ':') && !streq(norm, "localhost"))
                        return REASON(ret_reason, "a host name needs at least one dot (e.g. \"example.com\")");
                rule->match = MATCH_EXACT;
        }

        rule->name = strdup(norm);
        if (!rule->name)
                return -ENOMEM;
        rule->name_len = strlen(norm);
        return 0;
}

int net_domain_pattern_validate(const char *entry, const char **ret_reason) {
        NetRule rule;
        int r;

        r = rule_parse(entry, &rule, ret_reason);
        if (r < 0)
                return r;
        free(rule.name);
        return 0;
}

int net_policy_add(NetPolicy *p, NetRuleList list, const char *entry, const char *origin,
                   const char **ret_reason) {
        NetRule rule, *rules;
        int r;

        if (!p || (list != NET_RULE_ALLOW && list != NET_RULE_DENY))
                return -EINVAL;

        r = rule_parse(entry, &rule, ret_reason);
        if (r < 0)
                return r;

        rule.entry = strdup(entry);
        rule.origin = strdup(origin ?: (list == NET_RULE_ALLOW ? "network.allowedDomains"
                                                                : "network.deniedDomains"));
        rules = reallocarray(p->rules[list], p->n_rules[list] + 1, sizeof(NetRule));
        if (!rule.entry || !rule.origin || !rules) {
                free(rule.entry);
                free(rule.origin);
                free(rule.name);
                if (rules)
                        p->rules[list] = rules;
                return -ENOMEM;
        }
        p->rules[list] = rules;
        rules[p->n_rules[list]++] = rule;
        return 0;
}

/* Matches every port of a rule; for net_policy_check_name(). */
#define PORT_ANY (-1)

static bool rule_matches(const NetRule *rule, const char *host, size_t n, bool is_ip, int port) {
        if (rule->port != 0 && port != PORT_ANY && rule->port != port)
                return false;

        switch (rule->match) {
        case MATCH_ANY:
                return true;
        case MATCH_EXACT:
                return n == rule->name_len && memcmp(host, rule->name, n) == 0;
        case MATCH_SUBDOMAINS:
                /* Strictly below: "x.example.com" but never "example.com" nor
                 * "badexample.com". */
                return !is_ip && n > rule->name_len + 1 &&
                       host[n - rule->name_len - 1] == '.' &&
                       memcmp(host + n - rule->name_len, rule->name, rule->name_len) == 0;
        }
        return false;
}

static const NetRule *find_rule(const NetPolicy *p, NetRuleList list, const char *host, size_t n, bool is_ip,
                                int port) {
        for (size_t i = 0; i < p->n_rules[list]; i++) {
                const NetRule *rule = &p->rules[list][i];

                /* Asked for any port, a deny only counts if it covers all. */
                if (port == PORT_ANY && list == NET_RULE_DENY && rule->port != 0)
                        continue;
                if (rule_matches(rule, host, n, is_ip, port))
                        return rule;
        }
        return NULL;
}

static int check(const NetPolicy *p, const char *host, int port, NetVerdict *ret) {
        char norm[NET_HOST_MAX + 1];
        NetVerdict v = { .allowed = false, .reason = NET_REASON_INVALID_HOST };
        const NetRule *rule;
        bool is_ip;
        int n;

        n = p ? net_host_normalize(host, norm) : -EINVAL;
        if (n < 0)
                goto finish;
        is_ip = strchr(norm, ':') || looks_like_ipv4(norm, (size_t) n);

        rule = find_rule(p, NET_RULE_DENY, norm, (size_t) n, is_ip, port);
        if (rule) {
                v = (NetVerdict) { false, NET_REASON_DENIED_BY_RULE, rule->entry, rule->origin };
                goto finish;
        }
        rule = find_rule(p, NET_RULE_ALLOW, norm, (size_t) n, is_ip, port);
        if (rule)
                v = (NetVerdict) { true, NET_REASON_ALLOWED_BY_RULE, rule->entry, rule->origin };
        else
                v = (NetVerdict) { false, NET_REASON_NO_RULE, NULL, NULL };

finish:
        if (ret)
                *ret = v;
        return v.allowed;
}

int net_policy_check(const NetPolicy *p, const char *host, uint16_t port, NetVerdict *ret) {
        return check(p, host, port, ret);
}

int net_policy_check_name(const NetPolicy *p, const char *host, NetVerdict *ret) {
        return check(p, host, PORT_ANY, ret);
}

char *net_verdict_explain(const NetVerdict *v, const char *host, uint16_t port) {
        char norm[NET_HOST_MAX + 1], entry[NET_HOST_MAX + 3], dest[NET_HOST_MAX + 16];
        char *text = NULL;
        int r;

        /* host comes from the sandbox; print only what normalization accepted. */
        if (net_host_normalize(host, norm) < 0)
                snprintf(norm, sizeof norm, "(invalid host name)");
        /* IPv6 literals in brackets, as an entry has to write them. */
        snprintf(entry, sizeof entry, strchr(norm, ':') ? "[%s]" : "%s", norm);
        if (port > 0)
                snprintf(dest, sizeof dest, "%s:%u", entry, port);
        else
                snprintf(dest, sizeof dest, "%s", entry);

        switch (v->reason) {
        case NET_REASON_ALLOWED_BY_RULE:
                r = asprintf(&text, "%s is allowed by \"%s\" in %s", dest, v->rule, v->key);
                break;
        case NET_REASON_DENIED_BY_RULE:
                /* deniedDomains wins over allowedDomains, so adding an
                 * allowed entry would not help; say where the deny is. */
                r = asprintf(&text, "%s is blocked by \"%s\" in %s, which wins over network.allowedDomains",
                             dest, v->rule, v->key);
                break;
        case NET_REASON_NO_RULE:
                r = asprintf(&text,
                             "%s is not in network.allowedDomains; add \"%s\" to network.allowedDomains to allow it",
                             dest, entry);
                break;
        default:
                r = asprintf(&text, "%s is not a valid host name or IP address", dest);
        }
        return r < 0 ? NULL : text;
}
