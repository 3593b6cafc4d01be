/* Tests for fenced/exec-policy.c: the policy built from a config, the
 * preflight's one-line reasons, the path-mode masks. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec-policy.h"
#include "strv.h"

#define STRV(...) ((char *[]) { __VA_ARGS__, NULL })

static CommandPolicy *from_json(const char *json) {
        _cleanup_config_ FenceConfig *c = NULL;
        _cleanup_free_ char *err = NULL;
        CommandPolicy *p = NULL;

        cr_assert_geq(config_parse(json, strlen(json), "test", 0, &c, &err), 0, "%s", err ?: "");
        cr_assert_eq(exec_policy_from_config(c, &p), 0);
        return p;
}

static char *preflight(const CommandPolicy *p, char **argv) {
        char *msg = NULL;
        int r = exec_policy_preflight(p, argv, &msg);

        cr_assert_geq(r, 0);
        cr_assert_eq(r == 1, msg != NULL);
        return msg;
}

Test(exec_policy, preflight_messages_name_setting_and_rule) {
        _cleanup_command_policy_ CommandPolicy *p = from_json(
                "{\"command\":{\"deny\":[\"git push\"]},\"ssh\":{\"allowedHosts\":[\"*.example.com\"]}}");
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL;

        a = preflight(p, STRV("git", "push", "origin", "main"));
        cr_expect_str_eq(a, "command denied by command.deny \"git push\": git push origin main");
        b = preflight(p, STRV("/bin/sh", "-c", "ls && git push"));
        cr_expect_str_eq(b, "command denied by command.deny \"git push\": git push");
        /* useDefaults is on unless turned off */
        c = preflight(p, STRV("chroot", "/", "true"));
        cr_expect_str_eq(c, "command denied by command.useDefaults \"chroot\": chroot / true");
        d = preflight(p, STRV("ssh", "evil.org", "ls"));
        cr_assert_not_null(d);
        cr_expect(strstr(d, "ssh.allowedHosts") && strstr(d, "evil.org"), "%s", d);
        /* an unterminated quote cannot be judged: denied */
        e = preflight(p, STRV("sh", "-c", "echo 'oops"));
        cr_assert_not_null(e);
        cr_expect(strstr(e, "cannot be checked"), "%s", e);
        f = preflight(p, STRV("git", "pushx"));
        cr_expect_null(f);
        cr_expect_null(preflight(p, STRV("git", "status")));
}

Test(exec_policy, use_defaults_false_and_modes) {
        _cleanup_command_policy_ CommandPolicy *off = from_json("{\"command\":{\"useDefaults\":false}}");
        _cleanup_command_policy_ CommandPolicy *argv = from_json(
                "{\"command\":{\"deny\":[\"git push\"],\"runtimeExecPolicy\":\"argv\"}}");
        _cleanup_command_policy_ CommandPolicy *argv_empty = from_json(
                "{\"command\":{\"useDefaults\":false,\"runtimeExecPolicy\":\"argv\"}}");
        _cleanup_command_policy_ CommandPolicy *path = from_json("{}");

        cr_expect_null(preflight(off, STRV("chroot", "/")));
        cr_expect(exec_policy_needs_supervisor(argv));
        /* nothing to judge: no notify filter at all */
        cr_expect(!exec_policy_needs_supervisor(argv_empty));
        cr_expect(!exec_policy_needs_supervisor(path));
}

/* If NAME is installed in a system directory, its real file is masked. */
static void expect_real_masked(char **masks, const char *name) {
        static const char * const dirs[] = { "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin" };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                char path[256], real[PATH_MAX];

                snprintf(path, sizeof path, "%s/%s", dirs[i], name);
                if (realpath(path, real))
                        cr_expect(strv_contains(masks, real), "%s (%s) is not masked", path, real);
        }
}

Test(exec_policy, path_masks) {
        _cleanup_command_policy_ CommandPolicy *p = from_json("{\"command\":{\"deny\":[\"python3\"]}}");
        _cleanup_command_policy_ CommandPolicy *argv = from_json(
                "{\"command\":{\"deny\":[\"python3\"],\"runtimeExecPolicy\":\"argv\"}}");
        _cleanup_strv_free_ char **masks = calloc(1, sizeof(char *)), **none = calloc(1, sizeof(char *));
        _cleanup_strv_free_ char **again = calloc(1, sizeof(char *));
        ExecMaskCache *cache = NULL;

        cr_assert_not_null(masks);
        cr_assert_eq(exec_policy_path_masks(p, STRV("HOME=/x", "PATH=/opt/tools/:relative:/w*ld:/opt/tools:/usr/bin"),
                                            &cache, &masks), 0);
        cr_assert_not_null(cache);
        /* from the cache: the same */
        cr_assert_eq(exec_policy_path_masks(p, STRV("HOME=/x", "PATH=/opt/tools/:relative:/w*ld:/opt/tools:/usr/bin"),
                                            &cache, &again), 0);
        cr_expect_eq(strv_length(again), strv_length(masks));
        for (char **m = masks; *m; m++)
                cr_expect(strv_contains(again, *m), "%s", *m);
        /* system directories: the real files that exist, once each */
        expect_real_masked(masks, "python3");
        expect_real_masked(masks, "chroot");
        expect_real_masked(masks, "mkfs.ext4");
        cr_expect(!strv_contains(masks, "/usr/local/bin/python3") || access("/usr/local/bin/python3", F_OK) == 0);
        cr_expect(!strv_contains(masks, "/usr/sbin/mkfs.*"));
        /* the user's PATH directories: patterns, resolved as the user later */
        cr_expect(strv_contains(masks, "/opt/tools/python3"));
        cr_expect(!strv_contains(masks, "/opt/tools/mkfs.*"));       /* built-in names: system directories only */
        cr_expect(!strv_contains(masks, "/opt/tools/chroot"));
        cr_expect(!strv_contains(masks, "/usr/bin/git"));
        for (char **m = masks; *m; m++) {
                cr_expect(startswith(*m, "/"), "%s", *m);
                cr_expect(!strstr(*m, "w*ld"), "%s", *m);
                size_t n = 0;
                for (char **o = masks; *o; o++)
                        n += streq(*o, *m);
                cr_expect_eq(n, 1, "%s listed twice", *m);
        }

        cr_assert_eq(exec_policy_path_masks(argv, STRV("PATH=/usr/bin"), &cache, &none), 0);
        cr_expect_null(none[0]);
        exec_mask_cache_free(cache);
}
