/* net-policy.h — a sandbox's domain rules (network.allowedDomains and
 * network.deniedDomains) and the check of one destination against them.
 *
 * Semantics follow fence: a denied entry beats an allowed one; "*" matches
 * every host; "*.example.com" matches the subdomains of example.com but not
 * example.com itself; matching ignores case and one trailing dot; a host that
 * matches nothing is denied. Extensions over fence: an entry may end in
 * ":PORT" and then matches only that port, and IPv6 literals are written in
 * brackets ("[2001:db8::1]:443").
 *
 * Internationalized names are only accepted in their ASCII form
 * ("xn--bcher-kva.example"): that is what DNS, SNI and Host carry, so a
 * Unicode entry could never match and is rejected instead of silently dead.
 *
 * A policy is immutable once built; checks may run concurrently.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* Longest host name in text form, without the trailing dot (RFC 1035). */
#define NET_HOST_MAX 253

typedef enum NetRuleList {
        NET_RULE_ALLOW,
        NET_RULE_DENY,
} NetRuleList;

typedef enum NetReason {
        NET_REASON_ALLOWED_BY_RULE,     /* matched an allowedDomains entry */
        NET_REASON_DENIED_BY_RULE,      /* matched a deniedDomains entry */
        NET_REASON_NO_RULE,             /* matched nothing: denied by default */
        NET_REASON_INVALID_HOST,        /* not a host name or IP literal at all */
} NetReason;

typedef struct NetVerdict {
        bool allowed;
        NetReason reason;
        /* The entry that decided, as written, and the config key it came
         * from (the origin given to net_policy_add()). Owned by the policy;
         * NULL when no rule decided. */
        const char *rule;
        const char *key;
} NetVerdict;

typedef struct NetPolicy NetPolicy;

int net_policy_new(NetPolicy **ret);
NetPolicy *net_policy_free(NetPolicy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(NetPolicy *, net_policy_free);
#define _cleanup_net_policy_ _cleanup_(net_policy_freep)

/* Checks that entry is a valid domain pattern. On -EINVAL, *ret_reason
 * (when given) is a static sentence saying what is wrong. */
int net_domain_pattern_validate(const char *entry, const char **ret_reason);

/* Validates and appends entry to a list. origin names where it came from, for
 * reports, e.g. "network.allowedDomains" or "/etc/fence/policy.json
 * network.deniedDomains". Returns 0, -EINVAL (with *ret_reason as above) or
 * -ENOMEM. */
int net_policy_add(NetPolicy *p, NetRuleList list, const char *entry, const char *origin,
                   const char **ret_reason);

/* Decides whether host:port may be reached. host is a DNS name or an IP
 * literal (IPv6 with or without brackets); port 0 means "unknown" and only
 * matches entries without a port. Fills *ret (when given) and returns 1 when
 * allowed, 0 when denied. */
int net_policy_check(const NetPolicy *p, const char *host, uint16_t port, NetVerdict *ret);

/* For DNS, where no port is known yet: whether some port of host may be
 * reached. Denied when a port-less deniedDomains entry matches; allowed when
 * any allowedDomains entry matches, whatever its port (the connection is
 * checked again with its port). Returns 1 or 0 and fills *ret like
 * net_policy_check(). */
int net_policy_check_name(const NetPolicy *p, const char *host, NetVerdict *ret);

/* Lower-cases host into buf and drops one trailing dot and IPv6 brackets.
 * Returns the length, or -EINVAL when host is not a plausible host name
 * (characters outside letters, digits, '-', '_', '.', empty labels) nor an
 * IP literal. */
int net_host_normalize(const char *host, char buf[static NET_HOST_MAX + 1]);

/* Splits an authority, "host", "host:port", "[v6]" or "[v6]:port" (n bytes
 * at s, not NUL-terminated), and normalizes the host into host. "host:"
 * gives port 0, as does no port. Userinfo ("user@") is not accepted here;
 * URI parsers drop it first. Returns 0 or -EINVAL. */
int net_authority_parse(const char *s, size_t n, char host[static NET_HOST_MAX + 1], uint16_t *ret_port);

/* One line for the user saying why host:port was blocked and what would
 * allow it, e.g. `"api.example.com" is not in network.allowedDomains; add
 * "api.example.com" to network.allowedDomains to allow it`. malloc'd; NULL
 * on OOM. */
char *net_verdict_explain(const NetVerdict *v, const char *host, uint16_t port);
