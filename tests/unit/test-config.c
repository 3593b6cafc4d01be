/* Tests of the fence.json model: JSONC, parsing and validation (with a corpus
 * of malformed files in config-corpus/), merging and removal entries, extends
 * chains, templates, the admin floor, canonical JSON and discovery. */

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command-policy.h"
#include "config-load.h"
#include "config-templates.h"
#include "config.h"
#include "jsonc.h"
#include "strv.h"

/* ---- helpers ------------------------------------------------------------ */

static FenceConfig *parse_ok(const char *text) {
        FenceConfig *c = NULL;
        char *err = NULL;
        int r = config_parse(text, strlen(text), "fence.json", 0, &c, &err);

        cr_assert_eq(r, 0, "parse failed (%d): %s\ninput: %s", r, err ?: "(no message)", text);
        cr_assert_null(err);
        cr_assert_not_null(c);
        return c;
}

/* Parses text expecting failure; returns the message. */
static char *parse_fail(const char *text) {
        FenceConfig *c = NULL;
        char *err = NULL;
        int r = config_parse(text, strlen(text), "fence.json", 0, &c, &err);

        cr_assert_lt(r, 0, "parse unexpectedly succeeded: %s", text);
        cr_assert_null(c);
        cr_assert_not_null(err, "no message for: %s", text);
        return err;
}

static void assert_parse_error(const char *text, const char *expected) {
        char *err = parse_fail(text);
        cr_assert(strstr(err, expected), "expected \"%s\" in \"%s\"", expected, err);
        free(err);
}

static void assert_strv(char **l, ...) {
        va_list ap;
        size_t i = 0;
        const char *s;

        va_start(ap, l);
        while ((s = va_arg(ap, const char *))) {
                cr_assert(l && l[i], "list too short: missing \"%s\" at %zu", s, i);
                cr_assert_str_eq(l[i], s, "entry %zu", i);
                i++;
        }
        va_end(ap);
        cr_assert(!l || !l[i], "list too long: unexpected \"%s\" at %zu", l[i], i);
}

static char tmpdir[PATH_MAX];

static void make_tmpdir(void) {
        strcpy(tmpdir, "/tmp/test-config-XXXXXX");
        cr_assert_not_null(mkdtemp(tmpdir));
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static void remove_tmpdir(void) {
        if (tmpdir[0])
                nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes tmpdir/rel (creating directories) and returns the full path. */
static char *write_file(const char *rel, const char *content) {
        char *path = NULL;
        FILE *f;

        cr_assert_geq(asprintf(&path, "%s/%s", tmpdir, rel), 0);
        for (char *p = path + strlen(tmpdir) + 1; (p = strchr(p, '/')); p++) {
                *p = 0;
                mkdir(path, 0755);
                *p = '/';
        }
        f = fopen(path, "w");
        cr_assert_not_null(f, "cannot write %s", path);
        fputs(content, f);
        fclose(f);
        return path;
}

static char *tmp_path(const char *rel) {
        char *p = NULL;
        cr_assert_geq(asprintf(&p, "%s/%s", tmpdir, rel), 0);
        return p;
}

static int resolve(const char *cwd, const char *file, const char *template, FenceConfig **ret,
                   char ***ret_chain, char **ret_error) {
        _cleanup_free_ char *home = tmp_path("home");
        _cleanup_free_ char *abs_cwd = cwd ? tmp_path(cwd) : NULL;
        ConfigResolveOptions o = {
                .template_name = template,
                .file = file,
                .cwd = abs_cwd ?: "/",
                .home = home,
                .xdg_config_home = "",
        };
        mkdir(home, 0755);
        if (abs_cwd)
                mkdir(abs_cwd, 0755);
        return config_resolve(&o, ret, ret_chain, ret_error);
}

static FenceConfig *resolve_ok(const char *cwd, const char *file, const char *template, char ***ret_chain) {
        FenceConfig *c = NULL;
        char *err = NULL;
        int r = resolve(cwd, file, template, &c, ret_chain, &err);

        cr_assert_eq(r, 0, "resolve failed (%d): %s", r, err ?: "(no message)");
        return c;
}

static char *resolve_fail(const char *cwd, const char *file, const char *template) {
        FenceConfig *c = NULL;
        char *err = NULL;
        int r = resolve(cwd, file, template, &c, NULL, &err);

        cr_assert_lt(r, 0, "resolve unexpectedly succeeded");
        cr_assert_null(c);
        cr_assert_not_null(err);
        return err;
}

static void assert_contains(const char *haystack, const char *needle) {
        cr_assert(strstr(haystack, needle), "expected \"%s\" in \"%s\"", needle, haystack);
}

static void assert_round_trip(const FenceConfig *c) {
        _cleanup_free_ char *json = NULL, *pretty = NULL, *again = NULL;
        _cleanup_config_ FenceConfig *back = NULL, *back_pretty = NULL;
        char *err = NULL;

        cr_assert_eq(config_to_json(c, 0, &json), 0);
        cr_assert_eq(config_parse(json, strlen(json), "wire", 0, &back, &err), 0, "%s\n%s", err ?: "", json);
        cr_assert(config_equal(c, back), "round trip changed the config:\n%s", json);
        cr_assert_eq(config_to_json(back, 0, &again), 0);
        cr_assert_str_eq(json, again, "canonical JSON is not stable");

        cr_assert_eq(config_to_json(c, CONFIG_JSON_PRETTY, &pretty), 0);
        cr_assert(strchr(pretty, '\n'));
        cr_assert_eq(config_parse(pretty, strlen(pretty), "wire", 0, &back_pretty, &err), 0, "%s", err ?: "");
        cr_assert(config_equal(c, back_pretty));
}

/* ---- JSONC -------------------------------------------------------------- */

Test(jsonc, comments_and_trailing_commas_become_spaces) {
        const char *in = "{ // c1\n \"a\": [1, 2, ], /* c2\n */ \"b\": {\"x\": 1,},\n}";
        _cleanup_free_ char *out = NULL;

        cr_assert_eq(jsonc_to_json(in, strlen(in), &out, NULL), 0);
        cr_assert_eq(strlen(out), strlen(in), "offsets must be preserved");
        cr_assert_str_eq(out, "{      \n \"a\": [1, 2  ],      \n    \"b\": {\"x\": 1 } \n}");
        /* Newlines survive, so line numbers do. */
        for (size_t i = 0; in[i]; i++)
                cr_assert_eq(in[i] == '\n', out[i] == '\n', "newline at %zu", i);
        cr_assert_null(strstr(out, "c1"));
        cr_assert_null(strstr(out, "c2"));
        cr_assert_null(strstr(out, ", ]"));
        cr_assert_null(strstr(out, ",}"));
}

Test(jsonc, strings_keep_comment_markers_and_commas) {
        const char *in = "{\"a\": \"x // y /* z */, ]\", \"b\": \"q\\\"//\",}";
        _cleanup_free_ char *out = NULL;

        cr_assert_eq(jsonc_to_json(in, strlen(in), &out, NULL), 0);
        cr_assert_str_eq(out, "{\"a\": \"x // y /* z */, ]\", \"b\": \"q\\\"//\" }");
}

Test(jsonc, comma_after_opening_bracket_is_not_trailing) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        cr_assert_eq(jsonc_to_json("[,]", 3, &a, NULL), 0);
        cr_assert_str_eq(a, "[,]");
        cr_assert_eq(jsonc_to_json("{\"a\":,}", 7, &b, NULL), 0);
        cr_assert_str_eq(b, "{\"a\":,}");
}

Test(jsonc, errors_have_positions) {
        JsoncError e = {};
        char *out = NULL;

        cr_assert_eq(jsonc_to_json("{\n  /* x", 8, &out, &e), -EBADMSG);
        cr_assert_null(out);
        cr_assert_eq(e.line, 2);
        cr_assert_eq(e.column, 3);
        cr_assert_str_eq(e.message, "unterminated comment");

        cr_assert_eq(jsonc_to_json("{\"a\":\"\\u0000\"}", 14, &out, &e), -EBADMSG);
        cr_assert_eq(e.column, 7);
}

Test(jsonc, blank) {
        cr_assert(jsonc_is_blank("", 0));
        cr_assert(jsonc_is_blank(" // x\n /* y */ \n", 16));
        cr_assert_not(jsonc_is_blank(" {} ", 4));
        cr_assert_not(jsonc_is_blank("/* open", 7));
}

Test(jsonc, position_counts_characters) {
        unsigned l, c;
        const char *s = "ab\n\xc3\xa9x";

        jsonc_position(s, strlen(s), 5, &l, &c);
        cr_assert_eq(l, 2);
        cr_assert_eq(c, 2, "a two-byte character is one column");
}

/* ---- parsing ------------------------------------------------------------ */

static const char full_config[] =
        "// every key fence.json knows, and fenced's additions\n"
        "{\n"
        "  \"$schema\": \"https://example.com/fence.schema.json\",\n"
        "  \"extends\": \"code\",\n"
        "  \"allowPty\": true,\n"
        "  \"forceNewSession\": false,\n"
        "  \"network\": {\n"
        "    \"allowedDomains\": [\"example.com\", \"*.example.org\", \"localhost\", \"*\", \"api.example.com:8443\",\n"
        "                       \"[2001:db8::1]:443\", \"!old.example.com\",],\n"
        "    \"deniedDomains\": [\"169.254.169.254\", \"metadata.google.internal\"],\n"
        "    \"allowUnixSockets\": [\"/var/run/docker.sock\"],\n"
        "    \"allowAllUnixSockets\": false,\n"
        "    \"allowLocalBinding\": true,\n"
        "    \"allowLocalOutbound\": false,\n"
        "    \"allowLocalOutboundPorts\": [5432, 6379],\n"
        "    \"httpProxyPort\": 3128,\n"
        "    \"socksProxyPort\": 1080,\n"
        "    \"upstreamProxy\": \"socks5://user:pw@127.0.0.1:9050\",\n"
        "    \"defaultAction\": \"proxy\",\n"
        "    \"dnsServer\": \"[2606:4700:4700::1111]:53\"\n"
        "  },\n"
        "  \"filesystem\": {\n"
        "    \"allowRead\": [\".\", \"~/.config\"],\n"
        "    \"allowExecute\": [\"/mnt/c/tool.exe\"],\n"
        "    \"denyRead\": [\"~/.ssh/id_*\"],\n"
        "    \"allowWrite\": [\".\", \"/tmp\"],\n"
        "    \"denyWrite\": [\"**/.env\"],\n"
        "    \"defaultDenyRead\": true,\n"
        "    \"strictDenyRead\": false,\n"
        "    \"allowGitConfig\": true,\n"
        "    \"wslInterop\": null,\n"
        "  },\n"
        "  \"devices\": { \"mode\": \"minimal\", \"allow\": [\"/dev/dri\", \"/dev/fuse\"] },\n"
        "  \"command\": {\n"
        "    \"deny\": [\"git push\", \"echo // not a comment\", \"a, b]\", \"/* kept */\"],\n"
        "    \"allow\": [\"git push origin docs\"],\n"
        "    \"useDefaults\": false,\n"
        "    \"acceptSharedBinaryCannotRuntimeDeny\": [\"dd\"],\n"
        "    \"runtimeExecPolicy\": \"argv\"\n"
        "  },\n"
        "  \"ssh\": {\n"
        "    \"allowedHosts\": [\"*.example.com\", \"prod-*\", \"fe80::1\"],\n"
        "    \"deniedHosts\": [\"prod-db*\"],\n"
        "    \"allowedCommands\": [\"ls\", \"cat\"],\n"
        "    \"deniedCommands\": [\"rm -rf\"],\n"
        "    \"allowAllCommands\": true,\n"
        "    \"inheritDeny\": true\n"
        "  },\n"
        "  \"macos\": { \"mach\": { \"lookup\": [\"org.chromium.*\", \"*\"], \"register\": [\"com.apple.x\"] } }\n"
        "}\n";

Test(parse, every_key) {
        _cleanup_config_ FenceConfig *c = parse_ok(full_config);

        cr_assert_str_eq(c->schema, "https://example.com/fence.schema.json");
        cr_assert_str_eq(c->extends, "code");
        cr_assert_eq(c->allow_pty, TRISTATE_TRUE);
        cr_assert_eq(c->force_new_session, TRISTATE_FALSE);

        assert_strv(c->network.allowed_domains, "example.com", "*.example.org", "localhost", "*",
                    "api.example.com:8443", "[2001:db8::1]:443", "!old.example.com", NULL);
        assert_strv(c->network.denied_domains, "169.254.169.254", "metadata.google.internal", NULL);
        assert_strv(c->network.allow_unix_sockets, "/var/run/docker.sock", NULL);
        cr_assert_eq(c->network.allow_all_unix_sockets, TRISTATE_FALSE);
        cr_assert_eq(c->network.allow_local_binding, TRISTATE_TRUE);
        cr_assert_eq(c->network.allow_local_outbound, TRISTATE_FALSE);
        cr_assert_eq(c->network.allow_local_outbound_ports.n, 2);
        cr_assert_eq(c->network.allow_local_outbound_ports.items[0], 5432);
        cr_assert_eq(c->network.allow_local_outbound_ports.items[1], 6379);
        cr_assert_eq(c->network.http_proxy_port, 3128);
        cr_assert_eq(c->network.socks_proxy_port, 1080);
        cr_assert_str_eq(c->network.upstream_proxy, "socks5://user:pw@127.0.0.1:9050");
        cr_assert_eq(c->network.default_action, NETWORK_DEFAULT_ACTION_PROXY);
        cr_assert_str_eq(c->network.dns_server, "[2606:4700:4700::1111]:53");

        assert_strv(c->filesystem.allow_read, ".", "~/.config", NULL);
        assert_strv(c->filesystem.allow_execute, "/mnt/c/tool.exe", NULL);
        assert_strv(c->filesystem.deny_read, "~/.ssh/id_*", NULL);
        assert_strv(c->filesystem.allow_write, ".", "/tmp", NULL);
        assert_strv(c->filesystem.deny_write, "**/.env", NULL);
        cr_assert_eq(c->filesystem.default_deny_read, TRISTATE_TRUE);
        cr_assert_eq(c->filesystem.strict_deny_read, TRISTATE_FALSE);
        cr_assert_eq(c->filesystem.allow_git_config, TRISTATE_TRUE);
        cr_assert_eq(c->filesystem.wsl_interop, TRISTATE_UNSET, "null is unset");

        cr_assert_eq(c->devices.mode, DEVICE_MODE_MINIMAL);
        assert_strv(c->devices.allow, "/dev/dri", "/dev/fuse", NULL);

        assert_strv(c->command.deny, "git push", "echo // not a comment", "a, b]", "/* kept */", NULL);
        assert_strv(c->command.allow, "git push origin docs", NULL);
        cr_assert_eq(c->command.use_defaults, TRISTATE_FALSE);
        assert_strv(c->command.accept_shared_binary_cannot_runtime_deny, "dd", NULL);
        cr_assert_eq(c->command.runtime_exec_policy, RUNTIME_EXEC_POLICY_ARGV);

        assert_strv(c->ssh.allowed_hosts, "*.example.com", "prod-*", "fe80::1", NULL);
        assert_strv(c->ssh.denied_hosts, "prod-db*", NULL);
        assert_strv(c->ssh.allowed_commands, "ls", "cat", NULL);
        assert_strv(c->ssh.denied_commands, "rm -rf", NULL);
        cr_assert_eq(c->ssh.allow_all_commands, TRISTATE_TRUE);
        cr_assert_eq(c->ssh.inherit_deny, TRISTATE_TRUE);

        assert_strv(c->macos.mach_lookup, "org.chromium.*", "*", NULL);
        assert_strv(c->macos.mach_register, "com.apple.x", NULL);
}

Test(parse, empty_and_comment_only_files_are_the_empty_config) {
        _cleanup_config_ FenceConfig *a = parse_ok("");
        _cleanup_config_ FenceConfig *b = parse_ok("  // nothing here\n/* at all */\n");
        _cleanup_config_ FenceConfig *c = parse_ok("{}");

        cr_assert(config_is_empty(a));
        cr_assert(config_is_empty(b));
        cr_assert(config_is_empty(c));
}

Test(parse, nulls_and_empty_strings_are_unset) {
        _cleanup_config_ FenceConfig *c = parse_ok(
                "{\"extends\": \"\", \"network\": null, \"filesystem\": {\"allowWrite\": null},"
                " \"allowPty\": null, \"command\": {\"runtimeExecPolicy\": null}}");

        cr_assert(config_is_empty(c));
}

Test(parse, effective_defaults) {
        _cleanup_config_ FenceConfig *e = parse_ok("{}");
        _cleanup_config_ FenceConfig *b = parse_ok("{\"network\": {\"allowLocalBinding\": true}}");
        _cleanup_config_ FenceConfig *o = parse_ok(
                "{\"network\": {\"allowLocalBinding\": true, \"allowLocalOutbound\": false}}");
        _cleanup_config_ FenceConfig *s = parse_ok("{\"filesystem\": {\"strictDenyRead\": true}}");

        cr_assert_not(config_allow_local_outbound(e));
        cr_assert(config_allow_local_outbound(b), "unset allowLocalOutbound follows allowLocalBinding");
        cr_assert_not(config_allow_local_outbound(o));
        cr_assert(config_use_default_denied_commands(e));
        cr_assert_eq(config_device_mode(e), DEVICE_MODE_AUTO);
        cr_assert_eq(config_runtime_exec_policy(e), RUNTIME_EXEC_POLICY_PATH);
        cr_assert_eq(config_network_default_action(e), NETWORK_DEFAULT_ACTION_DENY);
        cr_assert_not(config_default_deny_read(e));
        cr_assert(config_default_deny_read(s), "strictDenyRead implies defaultDenyRead");
        cr_assert(strv_contains((char **) command_policy_default_denied(), "nsenter"));
        cr_assert(strv_contains((char **) command_policy_default_denied(), "dd if="));
}

Test(parse, lenient_skips_unknown_keys_only) {
        const char *t = "{\"network\": {\"allowedDomains\": [\"example.com\"], \"futureKey\": 1}, \"hooks\": {}}";
        FenceConfig *c = NULL;
        char *err = NULL;

        cr_assert_lt(config_parse(t, strlen(t), "fence.json", 0, &c, &err), 0);
        cr_assert_str_eq(err, "fence.json: network.futureKey: unknown key (not part of the fence.json schema; "
                              "see docs/config.md)");
        free(err);
        err = NULL;

        cr_assert_eq(config_parse(t, strlen(t), "fence.json", CONFIG_PARSE_LENIENT, &c, &err), 0);
        assert_strv(c->network.allowed_domains, "example.com", NULL);
        config_free(c);
        c = NULL;

        /* Lenient is about unknown keys, not about wrong values. */
        t = "{\"bogus\": 1, \"allowPty\": \"yes\"}";
        cr_assert_lt(config_parse(t, strlen(t), "fence.json", CONFIG_PARSE_LENIENT, &c, &err), 0);
        cr_assert_str_eq(err, "fence.json: allowPty: expected boolean");
        free(err);
}

Test(parse, error_shapes_from_the_issue) {
        char *e;

        e = parse_fail("{\"filesystem\": {\"allowWrite\": [\".\", \"/tmp\", 3]}}");
        cr_assert_str_eq(e, "fence.json: filesystem.allowWrite[2]: expected string");
        free(e);

        e = parse_fail("{\n  \"network\": {\n    x\n  }\n}");
        cr_assert(strncmp(e, "fence.json:3:5: ", 16) == 0, "got: %s", e);
        assert_contains(e, "error");
        free(e);

        e = parse_fail("{\"network\": {\"allowedDomains\": [\"*.com\"]}}");
        cr_assert(strncmp(e, "fence.json: network.allowedDomains[0]: \"*.com\" is too broad", 59) == 0, "got: %s", e);
        free(e);
}

Test(parse, messages_quote_hostile_values_safely) {
        char *e = parse_fail("{\"network\": {\"allowedDomains\": [\"a\\u001b[31m.com/x\"]}}");

        cr_assert_null(strchr(e, '\x1b'), "escape character must not reach the terminal");
        assert_contains(e, "\\u001b");
        free(e);
}

Test(parse, too_large) {
        size_t n = CONFIG_TEXT_MAX + 1;
        char *big = malloc(n);
        FenceConfig *c = NULL;
        char *err = NULL;

        cr_assert_not_null(big);
        memset(big, ' ', n);
        cr_assert_eq(config_parse(big, n, "big.json", 0, &c, &err), -EFBIG);
        assert_contains(err, "big.json: too large");
        free(err);
        free(big);
}

/* Domain patterns: what fence accepts, plus ":port" and bracketed IPv6. */
Test(parse, domain_patterns) {
        static const char * const good[] = {
                "example.com", "*.example.com", "*", "localhost", "169.254.169.254", "a.b.c.example.co.uk",
                "example.com:443", "localhost:3000", "*.example.com:8443", "[::1]", "[2001:db8::1]:443",
                "EXAMPLE.COM", "xn--bcher-kva.example",
        };
        static const char * const bad[] = {
                "", "*.com", "*.", "*.*.example.com", "ex*ample.com", "com", "http://example.com", "example.com/",
                "example.com:", "example.com:0", "example.com:65536", "example.com:http", ":443", "[::1",
                "[not-ip]", "[::1]x", "::1", "user@example.com", "example..com", ".example.com", "example.com.",
                "exa mple.com",
        };
        char buf[256];

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                snprintf(buf, sizeof buf, "{\"network\": {\"allowedDomains\": [\"%s\"]}}", good[i]);
                FenceConfig *c = parse_ok(buf);
                config_free(c);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(buf, sizeof buf, "{\"network\": {\"deniedDomains\": [\"%s\"]}}", bad[i]);
                char *e = parse_fail(buf);
                assert_contains(e, "fence.json: network.deniedDomains[0]: ");
                free(e);
        }
}

Test(parse, upstream_proxy_and_dns_server) {
        static const char * const good_proxy[] = {
                "http://127.0.0.1:8080", "HTTP://proxy.example.com:3128/", "socks5://127.0.0.1:1080",
                "socks5h://user:secret@proxy:1080", "http://[::1]:8080", "http://proxy",
        };
        static const char * const good_dns[] = { "1.1.1.1", "1.1.1.1:5353", "2606:4700:4700::1111", "[::1]:53" };
        char buf[256];

        for (size_t i = 0; i < ELEMENTSOF(good_proxy); i++) {
                snprintf(buf, sizeof buf, "{\"network\": {\"upstreamProxy\": \"%s\"}}", good_proxy[i]);
                config_free(parse_ok(buf));
        }
        for (size_t i = 0; i < ELEMENTSOF(good_dns); i++) {
                snprintf(buf, sizeof buf, "{\"network\": {\"dnsServer\": \"%s\"}}", good_dns[i]);
                config_free(parse_ok(buf));
        }
        assert_parse_error("{\"network\": {\"upstreamProxy\": \"http://127.0.0.1:99999\"}}", "invalid port");
        assert_parse_error("{\"network\": {\"upstreamProxy\": \"ftp://x:1\"}}", "unsupported scheme");
        assert_parse_error("{\"network\": {\"dnsServer\": \"[::1]:\"}}", "invalid port");
}

/* Every file in config-corpus/ is malformed; its first line says
 * "// expect: TEXT", and the error must name the file and contain TEXT. */
static char *corpus_dir(void) {
        const char *env = getenv("FENCE_CONFIG_CORPUS");
        char *src, *dir, *p = NULL;

        if (env)
                return strdup(env);
        /* __FILE__ is relative to the build directory, where meson runs tests. */
        src = strdup(__FILE__);
        dir = dirname(src);
        cr_assert_geq(asprintf(&p, "%s/config-corpus", dir), 0);
        free(src);
        return p;
}

Test(corpus, every_malformed_file_fails_with_file_and_key) {
        _cleanup_free_ char *dir = corpus_dir();
        _cleanup_free_ char *report = strdup("");
        struct dirent **entries = NULL;
        int n = scandir(dir, &entries, NULL, alphasort);
        size_t checked = 0, failed = 0;

        cr_assert_gt(n, 0, "cannot list %s (set FENCE_CONFIG_CORPUS): %m", dir);

        for (int i = 0; i < n; i++) {
                const char *name = entries[i]->d_name;
                _cleanup_free_ char *path = NULL, *text = NULL, *err = NULL, *prefix = NULL, *want = NULL;
                const char *expect, *eol, *problem = NULL;
                FenceConfig *c = NULL;
                size_t size;
                int r;

                if (name[0] == '.')
                        goto next;
                cr_assert_geq(asprintf(&path, "%s/%s", dir, name), 0);
                cr_assert_eq(config_read_file(path, &text, &size), 0, "%s", path);

                expect = startswith(text, "// expect: ");
                cr_assert_not_null(expect, "%s: first line must be \"// expect: ...\"", name);
                eol = strchr(expect, '\n');
                cr_assert_not_null(eol);
                want = strndup(expect, (size_t) (eol - expect));
                cr_assert_geq(asprintf(&prefix, "%s:", name), 0);

                r = config_parse(text, size, name, 0, &c, &err);
                if (r >= 0) {
                        config_free(c);
                        problem = "parsed without error";
                } else if (c)
                        problem = "returned a config on failure";
                else if (!err)
                        problem = "no message";
                else if (r != -EINVAL && r != -EBADMSG)
                        problem = "unexpected error code";
                else if (strncmp(err, prefix, strlen(prefix)) != 0)
                        problem = "message does not start with the file name";
                else if (!strstr(err, want))
                        problem = "message lacks the expected text";
                else if (strchr(err, '\n'))
                        problem = "message spans lines";

                if (problem) {
                        char *m = NULL;
                        cr_assert_geq(asprintf(&m, "%s%s: %s\n  expected: %s\n  got:      %s\n", report, name,
                                               problem, want, err ?: "(none)"), 0);
                        free(report);
                        report = m;
                        failed++;
                }

                /* Lenient parsing must not crash on these either. */
                free(err);
                err = NULL;
                c = NULL;
                r = config_parse(text, size, name, CONFIG_PARSE_LENIENT, &c, &err);
                if (r >= 0)
                        config_free(c);

                checked++;
        next:
                free(entries[i]);
        }
        free(entries);
        cr_assert_eq(failed, 0, "%zu of %zu corpus files misbehave:\n%s", failed, checked, report);
        cr_assert_geq(checked, 60, "corpus too small: %zu", checked);
}

/* Damaged variants of a valid config (deterministic): never a crash, and a
 * failure always comes with a one-line message naming the file. */
Test(corpus, mutations_never_crash) {
        static const char junk[] = "{}[],:\"\\/*!\n\x01\xff" "0e-tfn";
        size_t len = strlen(full_config);
        char *buf = malloc(len + 64);
        unsigned seed = 12345;

        cr_assert_not_null(buf);

        for (unsigned iter = 0; iter < 3000; iter++) {
                size_t n = len;
                FenceConfig *c = NULL;
                char *err = NULL;
                int r;

                memcpy(buf, full_config, len);
                for (unsigned k = 0; k < 1 + iter % 4; k++) {
                        size_t pos = (size_t) rand_r(&seed) % n;
                        char ch = junk[(size_t) rand_r(&seed) % (sizeof junk - 1)];
                        switch (rand_r(&seed) % 3) {
                        case 0: /* replace */
                                buf[pos] = ch;
                                break;
                        case 1: /* delete */
                                memmove(buf + pos, buf + pos + 1, n - pos - 1);
                                n--;
                                break;
                        default: /* insert */
                                memmove(buf + pos + 1, buf + pos, n - pos);
                                buf[pos] = ch;
                                n++;
                        }
                }

                r = config_parse(buf, n, "m.json", iter % 2 ? CONFIG_PARSE_LENIENT : 0, &c, &err);
                if (r < 0) {
                        cr_assert_null(c);
                        cr_assert_not_null(err, "iteration %u: error %d without a message", iter, r);
                        cr_assert(startswith(err, "m.json"), "iteration %u: %s", iter, err);
                        cr_assert_null(strchr(err, '\n'), "iteration %u: %s", iter, err);
                } else {
                        _cleanup_free_ char *json = NULL;
                        cr_assert_eq(config_to_json(c, 0, &json), 0);
                }
                config_free(c);
                free(err);
        }
        free(buf);
}

/* ---- merging -------------------------------------------------------------- */

static FenceConfig *merged(const char *parent, const char *child) {
        FenceConfig *m = config_new();
        _cleanup_config_ FenceConfig *p = parse_ok(parent), *c = parse_ok(child);

        cr_assert_eq(config_merge(m, p), 0);
        cr_assert_eq(config_merge(m, c), 0);
        return m;
}

Test(merge, lists_append_without_duplicates) {
        _cleanup_config_ FenceConfig *m = merged(
                "{\"network\": {\"allowedDomains\": [\"a.example.com\", \"b.example.com\", \"a.example.com\"],"
                " \"allowLocalOutboundPorts\": [1, 2]}}",
                "{\"network\": {\"allowedDomains\": [\"c.example.com\", \"b.example.com\"],"
                " \"allowLocalOutboundPorts\": [2, 3]}}");

        assert_strv(m->network.allowed_domains, "a.example.com", "b.example.com", "c.example.com", NULL);
        cr_assert_eq(m->network.allow_local_outbound_ports.n, 3);
        cr_assert_eq(m->network.allow_local_outbound_ports.items[2], 3);
}

Test(merge, booleans_or) {
        _cleanup_config_ FenceConfig *m = merged(
                "{\"allowPty\": true, \"network\": {\"allowLocalBinding\": false},"
                " \"filesystem\": {\"allowGitConfig\": false}}",
                "{\"allowPty\": false, \"network\": {\"allowLocalBinding\": true}, \"ssh\": {\"inheritDeny\": false}}");

        cr_assert_eq(m->allow_pty, TRISTATE_TRUE, "a child cannot turn off a parent's true");
        cr_assert_eq(m->network.allow_local_binding, TRISTATE_TRUE);
        cr_assert_eq(m->filesystem.allow_git_config, TRISTATE_FALSE);
        cr_assert_eq(m->ssh.inherit_deny, TRISTATE_FALSE);
        cr_assert_eq(m->ssh.allow_all_commands, TRISTATE_UNSET);
}

Test(merge, optional_booleans_strings_enums_ports_child_wins_when_set) {
        _cleanup_config_ FenceConfig *m = merged(
                "{\"network\": {\"allowLocalOutbound\": true, \"httpProxyPort\": 3128, \"socksProxyPort\": 1080,"
                " \"upstreamProxy\": \"http://a:1\", \"defaultAction\": \"proxy\"},"
                " \"command\": {\"useDefaults\": false, \"runtimeExecPolicy\": \"argv\"},"
                " \"devices\": {\"mode\": \"host\"}, \"forceNewSession\": true}",
                "{\"network\": {\"allowLocalOutbound\": false, \"httpProxyPort\": 8080, \"socksProxyPort\": 0,"
                " \"upstreamProxy\": \"\"}, \"devices\": {\"mode\": \"minimal\"}}");

        cr_assert_eq(m->network.allow_local_outbound, TRISTATE_FALSE);
        cr_assert_eq(m->network.http_proxy_port, 8080);
        cr_assert_eq(m->network.socks_proxy_port, 1080, "0 keeps the parent's port");
        cr_assert_str_eq(m->network.upstream_proxy, "http://a:1", "empty string keeps the parent's");
        cr_assert_eq(m->network.default_action, NETWORK_DEFAULT_ACTION_PROXY);
        cr_assert_eq(m->command.use_defaults, TRISTATE_FALSE, "unset keeps the parent's optional bool");
        cr_assert_eq(m->command.runtime_exec_policy, RUNTIME_EXEC_POLICY_ARGV);
        cr_assert_eq(m->devices.mode, DEVICE_MODE_MINIMAL);
        cr_assert_eq(m->force_new_session, TRISTATE_TRUE);
}

Test(merge, extends_cleared_and_strict_implies_default) {
        _cleanup_config_ FenceConfig *m = merged("{\"extends\": \"code\"}",
                                                 "{\"extends\": \"./x.json\", \"filesystem\": {\"strictDenyRead\": true}}");

        cr_assert_null(m->extends);
        cr_assert_eq(m->filesystem.default_deny_read, TRISTATE_TRUE);
}

Test(merge, removal_entries) {
        _cleanup_config_ FenceConfig *m = merged(
                "{\"filesystem\": {\"denyRead\": [\"~/.ssh/**\", \"~/.docker/**\", \"~/.aws/**\"]},"
                " \"network\": {\"deniedDomains\": [\"*.sentry.io\", \"statsig.anthropic.com\"]},"
                " \"command\": {\"deny\": [\"git push\", \"sudo\"]}}",
                "{\"filesystem\": {\"denyRead\": [\"!~/.docker/**\", \"!~/never-there\", \"~/.kube/**\"]},"
                " \"network\": {\"deniedDomains\": [\"!*.sentry.io\"]},"
                " \"command\": {\"deny\": [\"!sudo\", \"sudo\", \"!git push\"]}}");

        assert_strv(m->filesystem.deny_read, "~/.ssh/**", "~/.aws/**", "~/.kube/**", NULL);
        assert_strv(m->network.denied_domains, "statsig.anthropic.com", NULL);
        /* "!sudo" then "sudo": removed from the parent, added back by the child. */
        assert_strv(m->command.deny, "sudo", NULL);
}

Test(merge, removal_entries_at_the_root_vanish) {
        FenceConfig *m = config_new();
        _cleanup_config_ FenceConfig *c = parse_ok("{\"filesystem\": {\"allowWrite\": [\"!/tmp\", \".\"]}}");

        cr_assert_eq(config_merge(m, c), 0);
        assert_strv(m->filesystem.allow_write, ".", NULL);
        config_free(m);
}

/* fenced parses client text: big lists must stay cheap, and bounded. */
static char *big_list(const char *key, size_t n, size_t distinct) {
        size_t cap = n * 24 + 64, len = 0;
        char *t = malloc(cap);

        cr_assert_not_null(t);
        len += (size_t) sprintf(t + len, "{\"command\": {\"%s\": [", key);
        for (size_t i = 0; i < n; i++)
                len += (size_t) sprintf(t + len, "%s\"c%zu\"", i ? "," : "", i % distinct);
        sprintf(t + len, "]}}");
        return t;
}

Test(merge, big_lists_are_linear_and_bounded) {
        _cleanup_free_ char *a = big_list("deny", CONFIG_LIST_MAX, CONFIG_LIST_MAX);
        _cleanup_free_ char *b = big_list("deny", CONFIG_LIST_MAX, 3);
        _cleanup_free_ char *too_many = big_list("allow", CONFIG_LIST_MAX + 1, 5);
        _cleanup_config_ FenceConfig *ca = parse_ok(a), *cb = parse_ok(b);
        FenceConfig *m = config_new();
        char *err = NULL;

        cr_assert_eq(config_merge(m, ca), 0);
        cr_assert_eq(config_merge(m, cb), 0);
        cr_assert_eq(strv_length(m->command.deny), CONFIG_LIST_MAX);
        cr_assert_eq(config_validate(m, "x", NULL), 0);
        config_free(m);

        err = parse_fail(too_many);
        cr_assert_str_eq(err, "fence.json: command.allow: too many entries (16385, at most 16384)");
        free(err);
}

/* ---- extends chains (files in a temp dir) ------------------------------ */

Test(extends, relative_path_chain_of_three, .init = make_tmpdir, .fini = remove_tmpdir) {
        char **chain = NULL;
        _cleanup_free_ char *p_child = write_file("proj/fence.json",
                "{\"extends\": \"./conf/middle.json\", \"network\": {\"allowedDomains\": [\"child.example.com\"]}}");
        _cleanup_free_ char *p_mid = write_file("proj/conf/middle.json",
                "{\"extends\": \"../../shared/base.jsonc\", \"network\": {\"allowedDomains\": [\"middle.example.com\"]},"
                " \"filesystem\": {\"denyRead\": [\"!~/.aws/**\"]}}");
        _cleanup_free_ char *p_base = write_file("shared/base.jsonc",
                "// base\n{\"allowPty\": true, \"network\": {\"allowedDomains\": [\"base.example.com\",],},"
                " \"filesystem\": {\"denyRead\": [\"~/.ssh/**\", \"~/.aws/**\"]}}");
        _cleanup_config_ FenceConfig *c = resolve_ok("proj", NULL, NULL, &chain);

        cr_assert_eq(c->allow_pty, TRISTATE_TRUE);
        assert_strv(c->network.allowed_domains, "base.example.com", "middle.example.com", "child.example.com", NULL);
        assert_strv(c->filesystem.deny_read, "~/.ssh/**", NULL);
        cr_assert_null(c->extends);

        cr_assert_eq(strv_length(chain), 3);
        assert_contains(chain[0], "shared/base.jsonc");
        assert_contains(chain[1], "conf/middle.json");
        assert_contains(chain[2], "proj/fence.json");
        strv_free(chain);
}

Test(extends, absolute_path_and_template, .init = make_tmpdir, .fini = remove_tmpdir) {
        char **chain = NULL;
        _cleanup_free_ char *base = write_file("lib/base.json",
                "{\"extends\": \"code\", \"network\": {\"allowedDomains\": [\"extra.example.com\"]}}");
        _cleanup_free_ char *text = NULL;
        cr_assert_geq(asprintf(&text, "{\"extends\": \"%s\", \"network\": {\"deniedDomains\": [\"!*.sentry.io\"]}}",
                               base), 0);
        _cleanup_free_ char *top = write_file("p/fence.json", text);
        _cleanup_config_ FenceConfig *c = resolve_ok("p", NULL, NULL, &chain);

        cr_assert(strv_contains(c->network.allowed_domains, "*.anthropic.com"));
        cr_assert(strv_contains(c->network.allowed_domains, "extra.example.com"));
        cr_assert_not(strv_contains(c->network.denied_domains, "*.sentry.io"), "removed by the child");
        cr_assert(strv_contains(c->network.denied_domains, "169.254.169.254"));
        cr_assert_eq(strv_length(chain), 3);
        cr_assert_str_eq(chain[0], "template code");
        strv_free(chain);
}

Test(extends, cycle_between_files, .init = make_tmpdir, .fini = remove_tmpdir) {
        free(write_file("a/fence.json", "{\"extends\": \"../b/b.json\"}"));
        free(write_file("b/b.json", "{\"extends\": \"../a/fence.json\"}"));
        _cleanup_free_ char *e = resolve_fail("a", NULL, NULL);

        assert_contains(e, "b/b.json: extends: \"../a/fence.json\" leads back into the chain");
        assert_contains(e, "→");
}

Test(extends, self_cycle_through_symlink, .init = make_tmpdir, .fini = remove_tmpdir) {
        _cleanup_free_ char *real = write_file("x/fence.json", "{\"extends\": \"./alias.json\"}");
        _cleanup_free_ char *alias = tmp_path("x/alias.json");
        cr_assert_eq(symlink(real, alias), 0);
        _cleanup_free_ char *e = resolve_fail("x", NULL, NULL);

        assert_contains(e, "leads back into the chain");
}

static void write_chain(size_t links) {
        for (size_t i = 0; i < links; i++) {
                char name[64], text[128];
                snprintf(name, sizeof name, "d/c%zu.json", i);
                if (i + 1 < links)
                        snprintf(text, sizeof text,
                                 "{\"extends\": \"./c%zu.json\", \"command\": {\"deny\": [\"cmd%zu\"]}}", i + 1, i);
                else
                        snprintf(text, sizeof text, "{\"command\": {\"deny\": [\"cmd%zu\"]}}", i);
                free(write_file(name, text));
        }
}

Test(extends, depth_ten_is_allowed, .init = make_tmpdir, .fini = remove_tmpdir) {
        write_chain(CONFIG_EXTENDS_DEPTH_MAX + 1);     /* 10 extends hops */
        _cleanup_config_ FenceConfig *c = resolve_ok("d", "c0.json", NULL, NULL);

        cr_assert_eq(strv_length(c->command.deny), CONFIG_EXTENDS_DEPTH_MAX + 1);
        cr_assert_str_eq(c->command.deny[0], "cmd10", "the deepest base comes first");
}

Test(extends, depth_eleven_is_an_error, .init = make_tmpdir, .fini = remove_tmpdir) {
        write_chain(CONFIG_EXTENDS_DEPTH_MAX + 2);
        _cleanup_free_ char *e = resolve_fail("d", "c0.json", NULL);

        assert_contains(e, "c10.json: extends: the chain is more than 10 levels deep");
}

Test(extends, missing_empty_invalid_and_unknown, .init = make_tmpdir, .fini = remove_tmpdir) {
        char *e;

        free(write_file("m/fence.json", "{\"extends\": \"./nope.json\"}"));
        e = resolve_fail("m", NULL, NULL);
        assert_contains(e, "m/fence.json: extends: cannot read ");
        assert_contains(e, "nope.json: No such file or directory");
        free(e);

        free(write_file("e/fence.json", "{\"extends\": \"./empty.json\"}"));
        free(write_file("e/empty.json", "  // only a comment\n"));
        e = resolve_fail("e", NULL, NULL);
        assert_contains(e, "empty.json: the file is empty");
        free(e);

        free(write_file("i/fence.json", "{\"extends\": \"./bad.json\"}"));
        free(write_file("i/bad.json", "{\"network\": {\"allowedDomains\": [\"*.com\"]}}"));
        e = resolve_fail("i", NULL, NULL);
        assert_contains(e, "i/bad.json: network.allowedDomains[0]: \"*.com\" is too broad");
        free(e);

        free(write_file("u/fence.json", "{\"extends\": \"no-such-template\"}"));
        e = resolve_fail("u", NULL, NULL);
        assert_contains(e, "u/fence.json: extends: unknown template \"no-such-template\"");
        free(e);
}

Test(extends, at_base, .init = make_tmpdir, .fini = remove_tmpdir) {
        char **chain = NULL;

        /* Without a user config, @base is the empty default. */
        free(write_file("p/fence.json", "{\"extends\": \"@base\", \"filesystem\": {\"allowWrite\": [\".\"]}}"));
        FenceConfig *c = resolve_ok("p", NULL, NULL, &chain);
        assert_strv(c->filesystem.allow_write, ".", NULL);
        cr_assert_eq(strv_length(chain), 2);
        assert_contains(chain[0], "@base");
        config_free(c);
        strv_free(chain);

        /* With one, it is merged underneath. */
        free(write_file("home/.config/fence/fence.json",
                        "{\"extends\": \"local-dev-server\", \"network\": {\"allowedDomains\": [\"user.example.com\"]}}"));
        c = resolve_ok("p", NULL, NULL, &chain);
        assert_strv(c->network.allowed_domains, "user.example.com", NULL);
        assert_strv(c->filesystem.allow_write, ".", "/tmp", NULL);
        cr_assert_eq(strv_length(chain), 3);
        cr_assert_str_eq(chain[0], "template local-dev-server");
        assert_contains(chain[1], "@base ");
        config_free(c);
        strv_free(chain);

        /* An empty user config counts as none, as in fence. */
        free(write_file("home/.config/fence/fence.json", "// nothing yet\n"));
        c = resolve_ok("p", NULL, NULL, NULL);
        assert_strv(c->filesystem.allow_write, ".", NULL);
        config_free(c);

        /* The user config extending @base is itself: a cycle. */
        free(write_file("home/.config/fence/fence.json", "{\"extends\": \"@base\"}"));
        _cleanup_free_ char *e = resolve_fail("elsewhere", NULL, NULL);
        assert_contains(e, "leads back into the chain");
}

Test(extends, validate_after_merge, .init = make_tmpdir, .fini = remove_tmpdir) {
        free(write_file("ok/base.json", "{\"network\": {\"upstreamProxy\": \"http://127.0.0.1:8080\"}}"));
        free(write_file("ok/fence.json", "{\"extends\": \"./base.json\", \"network\": {\"defaultAction\": \"proxy\"}}"));
        _cleanup_config_ FenceConfig *c = resolve_ok("ok", NULL, NULL, NULL);
        cr_assert_eq(c->network.default_action, NETWORK_DEFAULT_ACTION_PROXY);

        free(write_file("no/fence.json", "{\"network\": {\"defaultAction\": \"proxy\"}}"));
        _cleanup_free_ char *e = resolve_fail("no", NULL, NULL);
        assert_contains(e, "fence.json: network.defaultAction: \"proxy\" needs network.upstreamProxy");
}

Test(extends, lenient_applies_to_files, .init = make_tmpdir, .fini = remove_tmpdir) {
        _cleanup_free_ char *home = tmp_path("home"), *cwd = tmp_path("l");
        ConfigResolveOptions o = { .cwd = cwd, .home = home, .xdg_config_home = "", .lenient = true };
        FenceConfig *c = NULL;
        char *err = NULL;

        free(write_file("l/fence.json", "{\"extends\": \"./b.json\", \"newThing\": 1}"));
        free(write_file("l/b.json", "{\"other\": {}, \"allowPty\": true}"));
        cr_assert_eq(config_resolve(&o, &c, NULL, &err), 0, "%s", err ?: "");
        cr_assert_eq(c->allow_pty, TRISTATE_TRUE);
        config_free(c);
        c = NULL;

        o.lenient = false;
        cr_assert_lt(config_resolve(&o, &c, NULL, &err), 0);
        assert_contains(err, "fence.json: newThing: unknown key");
        free(err);
}

/* ---- discovery and precedence ------------------------------------------- */

Test(discover, order, .init = make_tmpdir, .fini = remove_tmpdir) {
        _cleanup_free_ char *home = tmp_path("home"), *xdg = tmp_path("xdg");
        _cleanup_free_ char *deep = tmp_path("w/a/b/c");
        char *p = NULL;

        mkdir(home, 0755);
        free(write_file("w/a/b/c/.keep", ""));

        /* Nothing anywhere. */
        cr_assert_eq(config_discover(deep, home, xdg, &p), -ENOENT);

        /* Legacy ~/.fence.json, then ~/.config/fence wins over it... */
        free(write_file("home/.fence.json", "{}"));
        cr_assert_eq(config_discover(deep, home, NULL, &p), 0);
        assert_contains(p, "home/.fence.json");
        free(p);
        free(write_file("home/.config/fence/fence.json", "{}"));
        cr_assert_eq(config_discover(deep, home, NULL, &p), 0);
        assert_contains(p, "home/.config/fence/fence.json");
        free(p);

        /* ...and $XDG_CONFIG_HOME replaces ~/.config. */
        free(write_file("xdg/fence/fence.json", "{}"));
        cr_assert_eq(config_discover(deep, home, xdg, &p), 0);
        assert_contains(p, "xdg/fence/fence.json");
        free(p);
        free(write_file("xdg/fence/fence.jsonc", "{}"));
        cr_assert_eq(config_discover(deep, home, xdg, &p), 0);
        assert_contains(p, "xdg/fence/fence.jsonc");
        free(p);

        /* A project config in a parent directory wins over the user's. */
        free(write_file("w/a/fence.json", "{}"));
        cr_assert_eq(config_discover(deep, home, xdg, &p), 0);
        assert_contains(p, "w/a/fence.json");
        free(p);

        /* The nearest directory wins, and in one directory .jsonc beats .json. */
        free(write_file("w/a/b/fence.json", "{}"));
        free(write_file("w/a/b/fence.jsonc", "{}"));
        cr_assert_eq(config_discover(deep, home, xdg, &p), 0);
        assert_contains(p, "w/a/b/fence.jsonc");
        free(p);

        /* A directory named fence.json is not a config. */
        _cleanup_free_ char *d = tmp_path("w/a/b/c/fence.json");
        cr_assert_eq(mkdir(d, 0755), 0);
        cr_assert_eq(config_discover(deep, home, xdg, &p), 0);
        assert_contains(p, "w/a/b/fence.jsonc");
        free(p);
}

Test(discover, precedence_template_then_file_then_discovery, .init = make_tmpdir, .fini = remove_tmpdir) {
        char **chain = NULL;
        FenceConfig *c;

        free(write_file("p/fence.json", "{\"command\": {\"deny\": [\"discovered\"]}}"));
        free(write_file("p/other.json", "{\"command\": {\"deny\": [\"given\"]}}"));

        c = resolve_ok("p", "other.json", "git-readonly", &chain);
        cr_assert(strv_contains(c->command.deny, "git push"));
        cr_assert_not(strv_contains(c->command.deny, "given"));
        cr_assert_not(strv_contains(c->command.deny, "discovered"));
        assert_strv(chain, "template git-readonly", NULL);
        config_free(c);
        strv_free(chain);

        c = resolve_ok("p", "other.json", NULL, NULL);
        assert_strv(c->command.deny, "given", NULL);
        config_free(c);

        c = resolve_ok("p", NULL, NULL, NULL);
        assert_strv(c->command.deny, "discovered", NULL);
        config_free(c);

        /* Nothing found: the empty default policy and an empty chain. */
        c = resolve_ok("q", NULL, NULL, &chain);
        cr_assert(config_is_empty(c));
        cr_assert_eq(strv_length(chain), 0);
        config_free(c);
        strv_free(chain);

        _cleanup_free_ char *e = resolve_fail("p", "missing.json", NULL);
        assert_contains(e, "missing.json: cannot read the file: No such file or directory");
}

/* ---- templates ------------------------------------------------------------ */

Test(templates, all_load_validate_and_describe_themselves) {
        size_t n;
        const ConfigTemplate *t = config_templates(&n);
        static const char * const expected[] = {
                "code", "code-relaxed", "code-strict", "disable-telemetry", "git-readonly", "local-dev-server",
        };

        cr_assert_eq(n, ELEMENTSOF(expected));
        for (size_t i = 0; i < n; i++) {
                _cleanup_config_ FenceConfig *c = NULL;
                char *err = NULL;
                char **chain = NULL;
                size_t dlen;
                const char *d = config_template_description(&t[i], &dlen);

                cr_assert_str_eq(t[i].name, expected[i], "sorted by name");
                cr_assert_gt(dlen, 10, "%s has no description", t[i].name);
                cr_assert_lt(dlen, 160, "%s: description is not one short line", t[i].name);
                cr_assert_null(memchr(d, '\n', dlen));

                ConfigResolveOptions o = { .template_name = t[i].name, .cwd = "/", .home = "", .xdg_config_home = "" };
                cr_assert_eq(config_resolve(&o, &c, &chain, &err), 0, "%s: %s", t[i].name, err ?: "");
                cr_assert_not(config_is_empty(c));
                cr_assert_eq(config_validate(c, t[i].name, &err), 0);
                assert_round_trip(c);
                strv_free(chain);
        }
}

Test(templates, lookup) {
        cr_assert_not_null(config_template_find("code"));
        cr_assert_str_eq(config_template_find("code.json")->name, "code");
        cr_assert_null(config_template_find("cod"));
        cr_assert_null(config_template_find("nonexistent"));
        cr_assert_null(config_template_find(""));
}

Test(templates, inheritance_as_fence) {
        _cleanup_config_ FenceConfig *strict = NULL, *relaxed = NULL;
        ConfigResolveOptions o = { .template_name = "code-strict", .cwd = "/", .home = "", .xdg_config_home = "" };

        cr_assert_eq(config_resolve(&o, &strict, NULL, NULL), 0);
        cr_assert_eq(strict->allow_pty, TRISTATE_TRUE);
        cr_assert_eq(strict->filesystem.default_deny_read, TRISTATE_TRUE);
        cr_assert(strv_contains(strict->filesystem.allow_read, "."));
        cr_assert(strv_contains(strict->filesystem.allow_write, "."));
        cr_assert(strv_contains(strict->filesystem.deny_write, "**/.env"));
        cr_assert(strv_contains(strict->command.deny, "git push"));
        cr_assert_eq(strict->command.use_defaults, TRISTATE_TRUE);

        o.template_name = "code-relaxed";
        cr_assert_eq(config_resolve(&o, &relaxed, NULL, NULL), 0);
        cr_assert(strv_contains(relaxed->network.allowed_domains, "*"));
        cr_assert(strv_contains(relaxed->network.denied_domains, "169.254.169.254"));
        cr_assert(strv_contains(relaxed->filesystem.deny_read, "~/.ssh/id_*"));
}

/* ---- admin floor ----------------------------------------------------------- */

static char *floor_error(const char *text) {
        _cleanup_config_ FenceConfig *f = parse_ok(text);
        char *err = NULL;

        cr_assert_lt(config_validate_floor(f, "/etc/fence/policy.json", &err), 0, "floor accepted: %s", text);
        cr_assert_not_null(err);
        _cleanup_config_ FenceConfig *c = config_new();
        cr_assert_eq(config_apply_floor(c, f), -EINVAL);
        return err;
}

Test(floor, rejects_anything_that_loosens) {
        static const struct {
                const char *text, *expected;
        } cases[] = {
                { "{\"network\": {\"allowedDomains\": [\"example.com\"]}}", "network.allowedDomains: not allowed" },
                { "{\"filesystem\": {\"allowWrite\": [\"/\"]}}", "filesystem.allowWrite: not allowed" },
                { "{\"filesystem\": {\"allowRead\": [\"/\"]}}", "filesystem.allowRead: not allowed" },
                { "{\"command\": {\"allow\": [\"sudo\"]}}", "command.allow: not allowed" },
                { "{\"ssh\": {\"allowedHosts\": [\"*\"]}}", "ssh.allowedHosts: not allowed" },
                { "{\"extends\": \"code\"}", "extends: not allowed" },
                { "{\"network\": {\"upstreamProxy\": \"http://a:1\"}}", "network.upstreamProxy: not allowed" },
                { "{\"network\": {\"httpProxyPort\": 3128}}", "network.httpProxyPort: not allowed" },
                { "{\"allowPty\": true}", "allowPty: only false" },
                { "{\"network\": {\"allowLocalBinding\": true}}", "network.allowLocalBinding: only false" },
                { "{\"ssh\": {\"allowAllCommands\": true}}", "ssh.allowAllCommands: only false" },
                { "{\"command\": {\"useDefaults\": false}}", "command.useDefaults: only true" },
                { "{\"filesystem\": {\"defaultDenyRead\": false}}", "filesystem.defaultDenyRead: only true" },
                { "{\"devices\": {\"mode\": \"host\"}}", "devices.mode: only \"minimal\"" },
                { "{\"command\": {\"runtimeExecPolicy\": \"path\"}}", "command.runtimeExecPolicy: only \"argv\"" },
                { "{\"network\": {\"defaultAction\": \"proxy\", \"upstreamProxy\": \"http://a:1\"}}",
                  "network.upstreamProxy: not allowed" },
                { "{\"filesystem\": {\"denyRead\": [\"/etc/shadow\", \"!~/.ssh\"]}}",
                  "filesystem.denyRead[1]: a floor cannot remove entries" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *e = floor_error(cases[i].text);
                cr_assert(strncmp(e, "/etc/fence/policy.json: ", 24) == 0, "%s", e);
                assert_contains(e, cases[i].expected);
                free(e);
        }
}

Test(floor, applies_and_only_tightens) {
        _cleanup_config_ FenceConfig *floor = parse_ok(
                "{\"$schema\": \"x\","
                " \"filesystem\": {\"denyRead\": [\"/etc/shadow\", \"~/.ssh\"], \"denyWrite\": [\"/etc\"],"
                "   \"strictDenyRead\": true, \"allowGitConfig\": false},"
                " \"network\": {\"deniedDomains\": [\"evil.example.com\"], \"allowLocalBinding\": false,"
                "   \"defaultAction\": \"deny\"},"
                " \"command\": {\"deny\": [\"curl\"], \"useDefaults\": true, \"runtimeExecPolicy\": \"argv\"},"
                " \"ssh\": {\"deniedHosts\": [\"prod-*\"], \"deniedCommands\": [\"rm\"], \"inheritDeny\": true},"
                " \"devices\": {\"mode\": \"minimal\"}, \"allowPty\": false, \"forceNewSession\": true}");
        _cleanup_config_ FenceConfig *c = parse_ok(
                "{\"filesystem\": {\"denyRead\": [\"~/.ssh\", \"!/etc/shadow\"], \"allowWrite\": [\".\"],"
                "   \"allowGitConfig\": true},"
                " \"network\": {\"allowedDomains\": [\"example.com\"], \"allowLocalBinding\": true,"
                "   \"defaultAction\": \"proxy\", \"upstreamProxy\": \"http://127.0.0.1:8080\"},"
                " \"command\": {\"useDefaults\": false, \"runtimeExecPolicy\": \"path\"},"
                " \"devices\": {\"mode\": \"host\"}, \"allowPty\": true, \"forceNewSession\": false}");
        char *err = NULL;

        cr_assert_eq(config_validate_floor(floor, "policy.json", &err), 0, "%s", err ?: "");
        cr_assert_eq(config_apply_floor(c, floor), 0);

        /* Deny lists appended (no duplicates); the client's removal entry is gone, not applied. */
        assert_strv(c->filesystem.deny_read, "~/.ssh", "/etc/shadow", NULL);
        assert_strv(c->filesystem.deny_write, "/etc", NULL);
        assert_strv(c->network.denied_domains, "evil.example.com", NULL);
        assert_strv(c->command.deny, "curl", NULL);
        assert_strv(c->ssh.denied_hosts, "prod-*", NULL);
        assert_strv(c->ssh.denied_commands, "rm", NULL);
        /* What the user allowed stays allowed unless the floor forbids it. */
        assert_strv(c->filesystem.allow_write, ".", NULL);
        assert_strv(c->network.allowed_domains, "example.com", NULL);
        /* Forced values. */
        cr_assert_eq(c->filesystem.strict_deny_read, TRISTATE_TRUE);
        cr_assert_eq(c->filesystem.default_deny_read, TRISTATE_TRUE);
        cr_assert_eq(c->filesystem.allow_git_config, TRISTATE_FALSE);
        cr_assert_eq(c->network.allow_local_binding, TRISTATE_FALSE);
        cr_assert_eq(c->network.default_action, NETWORK_DEFAULT_ACTION_DENY);
        cr_assert_eq(c->command.use_defaults, TRISTATE_TRUE);
        cr_assert_eq(c->command.runtime_exec_policy, RUNTIME_EXEC_POLICY_ARGV);
        cr_assert_eq(c->ssh.inherit_deny, TRISTATE_TRUE);
        cr_assert_eq(c->devices.mode, DEVICE_MODE_MINIMAL);
        cr_assert_eq(c->allow_pty, TRISTATE_FALSE);
        cr_assert_eq(c->force_new_session, TRISTATE_TRUE);
        cr_assert_null(c->schema, "the floor's $schema is not copied");
}

Test(floor, empty_floor_changes_nothing_but_removal_entries) {
        _cleanup_config_ FenceConfig *floor = parse_ok("{}");
        _cleanup_config_ FenceConfig *c = parse_ok(full_config);
        _cleanup_config_ FenceConfig *before = NULL;

        cr_assert_eq(config_copy(c, &before), 0);
        cr_assert_eq(config_apply_floor(c, floor), 0);
        cr_assert_null(c->extends, "fenced does not follow extends");
        cr_assert_not(strv_contains(c->network.allowed_domains, "!old.example.com"));
        cr_assert_eq(strv_length(c->network.allowed_domains), strv_length(before->network.allowed_domains) - 1);
        assert_strv(c->command.deny, "git push", "echo // not a comment", "a, b]", "/* kept */", NULL);
}

/* ---- canonical JSON ---------------------------------------------------- */

Test(json, round_trip_is_lossless) {
        _cleanup_config_ FenceConfig *c = parse_ok(full_config);
        _cleanup_config_ FenceConfig *e = parse_ok("{}");
        _cleanup_config_ FenceConfig *f = parse_ok(
                "{\"network\": {\"allowLocalOutbound\": false}, \"filesystem\": {\"wslInterop\": false},"
                " \"command\": {\"useDefaults\": false}}");

        assert_round_trip(c);
        assert_round_trip(e);
        assert_round_trip(f);   /* explicit false survives */
}

Test(json, canonical_form) {
        _cleanup_config_ FenceConfig *c = parse_ok(
                "{\"allowPty\": true, \"ssh\": {\"inheritDeny\": false}, \"network\": {\"allowedDomains\": [],"
                " \"httpProxyPort\": 3128}, \"macos\": {\"mach\": {\"lookup\": [\"a.b\"]}}, \"extends\": \"code\"}");
        _cleanup_config_ FenceConfig *e = parse_ok("{}");
        _cleanup_free_ char *j = NULL, *je = NULL;

        cr_assert_eq(config_to_json(c, 0, &j), 0);
        cr_assert_str_eq(j, "{\"extends\":\"code\",\"network\":{\"httpProxyPort\":3128},"
                            "\"ssh\":{\"inheritDeny\":false},\"macos\":{\"mach\":{\"lookup\":[\"a.b\"]}},"
                            "\"allowPty\":true}");
        cr_assert_eq(config_to_json(e, 0, &je), 0);
        cr_assert_str_eq(je, "{}");
}

Test(json, copy_and_equal) {
        _cleanup_config_ FenceConfig *c = parse_ok(full_config), *d = NULL;

        cr_assert_eq(config_copy(c, &d), 0);
        cr_assert(config_equal(c, d));
        d->network.http_proxy_port++;
        cr_assert_not(config_equal(c, d));
}

/* ---- paths ----------------------------------------------------------------- */

Test(paths, normalize_as_fence) {
        _cleanup_config_ FenceConfig *c = parse_ok(
                "{\"filesystem\": {"
                " \"allowWrite\": [\".\", \"./\", \"build/../out\", \"~\", \"~/.cache/**\", \"/tmp\", \"!/gone\"],"
                " \"denyWrite\": [\"**/.env\", \"./**/*.pem\", \"../sibling\", \"*.key\", \"/abs/./kept/\"],"
                " \"denyRead\": [\"~/.ssh/id_*\", \"secret[12].txt\"]},"
                " \"network\": {\"allowUnixSockets\": [\"run/x.sock\"]},"
                " \"command\": {\"deny\": [\"./not-a-path\"]}}");

        cr_assert_eq(config_normalize_paths(c, "/home/u", "/work/proj"), 0);
        assert_strv(c->filesystem.allow_write, "/work/proj", "/work/proj/out", "/home/u", "/home/u/.cache/**",
                    "/tmp", NULL);
        assert_strv(c->filesystem.deny_write, "**/.env", "/work/proj/**/*.pem", "/work/sibling", "*.key",
                    "/abs/./kept/", NULL);
        assert_strv(c->filesystem.deny_read, "/home/u/.ssh/id_*", "secret[12].txt", NULL);
        assert_strv(c->network.allow_unix_sockets, "/work/proj/run/x.sock", NULL);
        assert_strv(c->command.deny, "./not-a-path", NULL);
}

Test(paths, normalize_needs_absolute_dirs) {
        _cleanup_config_ FenceConfig *c = parse_ok("{\"filesystem\": {\"allowWrite\": [\"~/x\"]}}");
        _cleanup_config_ FenceConfig *d = parse_ok("{\"filesystem\": {\"allowWrite\": [\"..\"]}}");

        cr_assert_eq(config_normalize_paths(c, "relative", "/w"), -EINVAL);
        cr_assert_eq(config_normalize_paths(c, NULL, "/w"), -EINVAL);
        cr_assert_eq(config_normalize_paths(d, "/h", "w"), -EINVAL);
        cr_assert_eq(config_normalize_paths(d, "/h", "/"), 0);
        assert_strv(d->filesystem.allow_write, "/", NULL);
}

/* ---- config_error_field ----------------------------------------------------- */

static void expect_error_field(const char *text, const char *field, const char *rest) {
        _cleanup_config_ FenceConfig *c = NULL;
        _cleanup_free_ char *err = NULL, *got = NULL;
        const char *what;

        cr_assert_lt(config_parse(text, strlen(text), "config", 0, &c, &err), 0, "accepted: %s", text);
        what = config_error_field(err, "config", &got);
        if (!field) {
                cr_assert_null(what, "a field in %s", err);
                cr_assert_null(got);
                return;
        }
        cr_assert_str_eq(got, field, "error: %s", err);
        cr_assert_str_eq(what, rest, "error: %s", err);
}

Test(config, error_field_names_the_key) {
        expect_error_field("{\"filesystem\":{\"allowWrite\":5}}", "filesystem.allowWrite", "expected array of strings");
        expect_error_field("{\"network\":{\"allowedDomains\":[1]}}", "network.allowedDomains[0]", "expected string");
        expect_error_field("{\"nosuchkey\":1}", "nosuchkey",
                           "unknown key (not part of the fence.json schema; see docs/config.md)");
        /* No key to name: a syntax error, or not an object at all. */
        expect_error_field("{\"a\":", NULL, NULL);
        expect_error_field("[]", NULL, NULL);
}
