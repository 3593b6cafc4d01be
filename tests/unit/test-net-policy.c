#include <criterion/criterion.h>
#include <string.h>

#include "net-policy.h"

static NetPolicy *policy_of(const char *const *allow, const char *const *deny) {
        NetPolicy *p = NULL;

        cr_assert_eq(net_policy_new(&p), 0);
        for (; allow && *allow; allow++)
                cr_assert_eq(net_policy_add(p, NET_RULE_ALLOW, *allow, NULL, NULL), 0, "allow %s", *allow);
        for (; deny && *deny; deny++)
                cr_assert_eq(net_policy_add(p, NET_RULE_DENY, *deny, NULL, NULL), 0, "deny %s", *deny);
        return p;
}

static bool allowed(const NetPolicy *p, const char *host, uint16_t port) {
        return net_policy_check(p, host, port, NULL) == 1;
}

Test(net_policy, validation_accepts) {
        const char *good[] = {
                "example.com", "api.example.com", "*.example.com", "*", "localhost", "Example.COM",
                "example.com.", "example.com:443", "*.example.com:8443", "*:443", "192.0.2.1",
                "192.0.2.1:22", "[2001:db8::1]", "[2001:db8::1]:443", "xn--bcher-kva.example", "_dmarc.example.com",
                "*.co.uk",
        };
        for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
                const char *reason = NULL;
                cr_expect_eq(net_domain_pattern_validate(good[i], &reason), 0, "%s: %s", good[i], reason);
        }
}

Test(net_policy, validation_rejects) {
        const char *bad[] = {
                "", "*.com", "*.", "com", "http://example.com", "example.com/path", "example.com:0",
                "example.com:65536", "example.com:x", "example.com:", "*example.com", "ex*ample.com",
                "*.*.example.com", "a..b.com", ".example.com", "2001:db8::1", "[2001:db8::1", "[2001:db8::1]x",
                "bücher.example", "exa mple.com", "*.192.0.2", "999.0.2.1", "[not-v6]",
                "a.b.com:443:1",
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                const char *reason = NULL;

                cr_expect_eq(net_domain_pattern_validate(bad[i], &reason), -EINVAL, "%s accepted", bad[i]);
                cr_expect_not_null(reason, "%s has no reason", bad[i]);
        }
}

Test(net_policy, validation_reasons_say_what_is_wrong) {
        const char *reason = NULL;

        cr_assert_eq(net_domain_pattern_validate("*.com", &reason), -EINVAL);
        cr_expect(strstr(reason, "too broad"), "%s", reason);
        cr_assert_eq(net_domain_pattern_validate("https://example.com", &reason), -EINVAL);
        cr_expect(strstr(reason, "scheme"), "%s", reason);
        cr_assert_eq(net_domain_pattern_validate("bücher.de", &reason), -EINVAL);
        cr_expect(strstr(reason, "xn--"), "%s", reason);
}

Test(net_policy, empty_policy_denies_everything) {
        _cleanup_net_policy_ NetPolicy *p = policy_of(NULL, NULL);
        NetVerdict v;

        cr_expect_eq(net_policy_check(p, "example.com", 443, &v), 0);
        cr_expect_eq(v.reason, NET_REASON_NO_RULE);
        cr_expect_null(v.rule);
        cr_expect_null(v.key);
}

Test(net_policy, exact_and_wildcard) {
        const char *allow[] = { "example.com", "*.github.com", NULL };
        _cleanup_net_policy_ NetPolicy *p = policy_of(allow, NULL);
        NetVerdict v;

        cr_expect(allowed(p, "example.com", 443));
        cr_expect(allowed(p, "EXAMPLE.com", 80));
        cr_expect(allowed(p, "example.com.", 80), "trailing dot");
        cr_expect(!allowed(p, "www.example.com", 443), "exact entry does not cover subdomains");
        cr_expect(!allowed(p, "badexample.com", 443));
        cr_expect(!allowed(p, "example.com.evil.net", 443));

        cr_expect(allowed(p, "api.github.com", 443));
        cr_expect(allowed(p, "a.b.github.com", 443));
        cr_expect(!allowed(p, "github.com", 443), "wildcard excludes the apex");
        cr_expect(!allowed(p, "evilgithub.com", 443));

        cr_assert_eq(net_policy_check(p, "API.GitHub.com.", 443, &v), 1);
        cr_expect_eq(v.reason, NET_REASON_ALLOWED_BY_RULE);
        cr_expect_str_eq(v.rule, "*.github.com");
        cr_expect_str_eq(v.key, "network.allowedDomains");
}

Test(net_policy, deny_beats_allow) {
        const char *allow[] = { "*.example.com", "*", NULL };
        const char *deny[] = { "secret.example.com", NULL };
        _cleanup_net_policy_ NetPolicy *p = policy_of(allow, deny);
        NetVerdict v;

        cr_expect(allowed(p, "www.example.com", 443));
        cr_expect(allowed(p, "anything.test", 443), "\"*\" allows everything");
        cr_assert_eq(net_policy_check(p, "Secret.Example.com", 443, &v), 0);
        cr_expect_eq(v.reason, NET_REASON_DENIED_BY_RULE);
        cr_expect_str_eq(v.rule, "secret.example.com");
        cr_expect_str_eq(v.key, "network.deniedDomains");
}

Test(net_policy, ports) {
        const char *allow[] = { "example.com:443", "*.example.org:8443", "*:22", NULL };
        const char *deny[] = { "bad.example.org:8443", NULL };
        _cleanup_net_policy_ NetPolicy *p = policy_of(allow, deny);

        cr_expect(allowed(p, "example.com", 443));
        cr_expect(!allowed(p, "example.com", 80));
        cr_expect(!allowed(p, "example.com", 0), "unknown port only matches port-less entries");
        cr_expect(allowed(p, "a.example.org", 8443));
        cr_expect(!allowed(p, "a.example.org", 443));
        cr_expect(!allowed(p, "bad.example.org", 8443));
        cr_expect(allowed(p, "anything.test", 22));
        cr_expect(!allowed(p, "anything.test", 23));
}

Test(net_policy, name_check_for_dns) {
        const char *allow[] = { "example.com:443", "*.example.org", NULL };
        const char *deny[] = { "bad.example.org", "ssh.example.com:22", NULL };
        _cleanup_net_policy_ NetPolicy *p = policy_of(allow, deny);
        NetVerdict v;

        cr_expect_eq(net_policy_check_name(p, "example.com", &v), 1, "some port of it is allowed");
        cr_expect_str_eq(v.rule, "example.com:443");
        cr_expect_eq(net_policy_check_name(p, "a.example.org", NULL), 1);
        cr_expect_eq(net_policy_check_name(p, "bad.example.org", &v), 0);
        cr_expect_eq(v.reason, NET_REASON_DENIED_BY_RULE);
        cr_expect_eq(net_policy_check_name(p, "ssh.example.com", &v), 0);
        cr_expect_eq(v.reason, NET_REASON_NO_RULE, "a port-specific deny does not deny the name");
        cr_expect_eq(net_policy_check_name(p, "other.test", &v), 0);
        cr_expect_eq(v.reason, NET_REASON_NO_RULE);
}

Test(net_policy, ip_literals) {
        const char *allow[] = { "192.0.2.1", "[2001:db8::1]:443", NULL };
        _cleanup_net_policy_ NetPolicy *p = policy_of(allow, NULL);

        cr_expect(allowed(p, "192.0.2.1", 80));
        cr_expect(!allowed(p, "192.0.2.2", 80));
        cr_expect(!allowed(p, "192.0.2.01", 80), "not a canonical address, not a name either");
        cr_expect(allowed(p, "2001:db8::1", 443));
        cr_expect(allowed(p, "[2001:DB8:0::1]", 443), "IPv6 compared canonically");
        cr_expect(!allowed(p, "2001:db8::1", 80));
}

Test(net_policy, wildcard_never_matches_addresses) {
        const char *allow[] = { "*.example.com", NULL };
        _cleanup_net_policy_ NetPolicy *p = policy_of(allow, NULL);

        cr_expect(!allowed(p, "1.2.3.4", 443));
}

Test(net_policy, invalid_hosts_are_denied_even_with_star) {
        const char *allow[] = { "*", NULL };
        _cleanup_net_policy_ NetPolicy *p = policy_of(allow, NULL);
        const char *bad[] = { "", "a..b", "exa mple.com", "evil.com\r\nX: y", "ä.com", "[::1", "1.2.3", NULL };
        NetVerdict v;

        for (const char **h = bad; *h; h++) {
                cr_expect_eq(net_policy_check(p, *h, 443, &v), 0, "%s", *h);
                cr_expect_eq(v.reason, NET_REASON_INVALID_HOST, "%s", *h);
        }
        cr_expect_eq(net_policy_check(p, NULL, 443, &v), 0);
}

Test(net_policy, origin_is_reported) {
        _cleanup_net_policy_ NetPolicy *p = NULL;
        NetVerdict v;

        cr_assert_eq(net_policy_new(&p), 0);
        cr_assert_eq(net_policy_add(p, NET_RULE_ALLOW, "*", NULL, NULL), 0);
        cr_assert_eq(net_policy_add(p, NET_RULE_DENY, "*.evil.example", "/etc/fence/policy.json network.deniedDomains",
                                    NULL),
                     0);
        cr_assert_eq(net_policy_check(p, "x.evil.example", 443, &v), 0);
        cr_expect_str_eq(v.key, "/etc/fence/policy.json network.deniedDomains");
}

Test(net_policy, add_rejects_and_keeps_policy) {
        _cleanup_net_policy_ NetPolicy *p = policy_of(NULL, NULL);
        const char *reason = NULL;

        cr_expect_eq(net_policy_add(p, NET_RULE_ALLOW, "*.com", NULL, &reason), -EINVAL);
        cr_expect_not_null(reason);
        cr_expect(!allowed(p, "example.com", 443));
}

Test(net_policy, explain) {
        const char *allow[] = { "*.example.com", NULL };
        const char *deny[] = { "bad.example.com", NULL };
        _cleanup_net_policy_ NetPolicy *p = policy_of(allow, deny);
        NetVerdict v;
        char *text;

        net_policy_check(p, "API.other.test", 443, &v);
        text = net_verdict_explain(&v, "API.other.test", 443);
        cr_assert_not_null(text);
        cr_expect_str_eq(text, "api.other.test:443 is not in network.allowedDomains; add \"api.other.test\" to "
                               "network.allowedDomains to allow it");
        free(text);

        net_policy_check(p, "bad.example.com", 443, &v);
        text = net_verdict_explain(&v, "bad.example.com", 443);
        cr_expect(strstr(text, "\"bad.example.com\" in network.deniedDomains"), "%s", text);
        free(text);

        net_policy_check(p, "2001:db8::1", 443, &v);
        text = net_verdict_explain(&v, "2001:db8::1", 443);
        cr_expect(strstr(text, "add \"[2001:db8::1]\""), "%s", text);
        free(text);
}

Test(net_policy, authority_parse) {
        char host[NET_HOST_MAX + 1];
        uint16_t port = 1;

        cr_assert_eq(net_authority_parse("Example.com:8080", 16, host, &port), 0);
        cr_expect_str_eq(host, "example.com");
        cr_expect_eq(port, 8080);
        cr_assert_eq(net_authority_parse("example.com", 11, host, &port), 0);
        cr_expect_eq(port, 0);
        cr_assert_eq(net_authority_parse("[2001:db8::1]:443", 17, host, &port), 0);
        cr_expect_str_eq(host, "2001:db8::1");
        cr_expect_eq(port, 443);
        cr_assert_eq(net_authority_parse("example.com:", 12, host, &port), 0);
        cr_expect_eq(port, 0);
        cr_expect_eq(net_authority_parse("example.com:99999", 17, host, &port), -EINVAL);
        cr_expect_eq(net_authority_parse("user@example.com", 16, host, &port), -EINVAL);
        cr_expect_eq(net_authority_parse("2001:db8::1", 11, host, &port), -EINVAL);
        cr_expect_eq(net_authority_parse("", 0, host, &port), -EINVAL);
        cr_expect_eq(net_authority_parse("a\0b.com", 7, host, &port), -EINVAL);
}
