/* fenced's cache of filesystem policy templates (fs-template.h): keys, the
 * bounds, the idle expiry and the drop on a change of the host's mounts.
 * The templates stored here are nsfs fds of the test's own mount namespace
 * (what matters to the cache is that they are mount namespaces). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-template.h"
#include "strv.h"

static int mnt_ns(void) {
        int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);

        cr_assert_geq(fd, 0);
        return fd;
}

static SandboxSpec spec_for(uid_t uid, const char *deny) {
        SandboxSpec s = { .uid = uid, .gid = uid, .cwd_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC),
                          .protect_watch.fd = -1, .fs_template_ns = -1, .stdio_fds = { -1, -1, -1 } };

        s.cwd_path = strdup("/");
        cr_assert_eq(strv_extend(&s.fs.allow_write, "."), 0);
        if (deny)
                cr_assert_eq(strv_extend(&s.fs.deny_write, deny), 0);
        cr_assert(s.cwd_path && s.cwd_fd >= 0);
        return s;
}

static bool key_eq(const char *a, size_t al, const char *b, size_t bl) {
        return al == bl && memcmp(a, b, al) == 0;
}

Test(fs_template, key_names_caller_policy_and_cwd) {
        SandboxSpec a = spec_for(1000, "./x"), b = spec_for(1000, "./x"), c = spec_for(1001, "./x"),
                    d = spec_for(1000, "./y"), e = spec_for(1000, NULL);
        char *ka, *kb, *kc, *kd, *ke;
        size_t la, lb, lc, ld, le;

        cr_assert_eq(fs_template_key(&a, &ka, &la), 1);
        cr_assert_eq(fs_template_key(&b, &kb, &lb), 1);
        cr_assert_eq(fs_template_key(&c, &kc, &lc), 1);
        cr_assert_eq(fs_template_key(&d, &kd, &ld), 1);
        cr_assert_eq(fs_template_key(&e, &ke, &le), 1);
        cr_expect(key_eq(ka, la, kb, lb), "the same launch, the same key");
        cr_expect(!key_eq(ka, la, kc, lc), "another user, another key");
        cr_expect(!key_eq(ka, la, kd, ld), "another denyWrite path, another key");
        cr_expect(!key_eq(ka, la, ke, le), "no denyWrite path, another key");

        free(ka), free(ke);
        /* Nothing writable, or defaultDenyRead: no template. */
        strv_free(e.fs.allow_write);
        e.fs.allow_write = NULL;
        cr_expect_eq(fs_template_key(&e, &ke, &le), 0);
        a.fs.default_deny_read = true;
        cr_expect_eq(fs_template_key(&a, &ka, &la), 0);
        free(kb), free(kc), free(kd);
        sandbox_spec_done(&a), sandbox_spec_done(&b), sandbox_spec_done(&c), sandbox_spec_done(&d), sandbox_spec_done(&e);
}

Test(fs_template, get_put_and_bounds) {
        sd_event *e = NULL;
        FsTemplates *t = NULL;
        uint64_t gen;
        char key[32];
        int pipefd[2];

        cr_assert_geq(sd_event_new(&e), 0);
        cr_assert_geq(fs_templates_new(e, FS_TEMPLATE_IDLE_USEC, &t), 0);

        cr_expect_lt(fs_templates_get(t, "a", 1, &gen), 0, "nothing stored yet");
        fs_templates_put(t, "a", 1, 1000, gen, mnt_ns());
        cr_expect_geq(fs_templates_get(t, "a", 1, &gen), 0, "stored under its key");
        cr_expect_lt(fs_templates_get(t, "b", 1, &gen), 0, "not under another");

        /* Only mount namespaces are kept. */
        cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
        close(pipefd[1]);
        fs_templates_put(t, "p", 1, 1000, gen, pipefd[0]);
        cr_expect_lt(fs_templates_get(t, "p", 1, &gen), 0, "a pipe is no template");

        /* At most FS_TEMPLATES_PER_USER per user, the oldest dropped. */
        for (unsigned i = 0; i < FS_TEMPLATES_PER_USER + 2; i++) {
                snprintf(key, sizeof key, "u%u", i);
                fs_templates_put(t, key, strlen(key), 2000, gen, mnt_ns());
        }
        cr_expect_lt(fs_templates_get(t, "u0", 2, &gen), 0, "the user's oldest was dropped");
        snprintf(key, sizeof key, "u%u", FS_TEMPLATES_PER_USER + 1);
        cr_expect_geq(fs_templates_get(t, key, strlen(key), &gen), 0, "its newest is kept");
        cr_expect_geq(fs_templates_get(t, "a", 1, &gen), 0, "another user's is kept");

        /* At most FS_TEMPLATES_MAX in all. */
        for (unsigned i = 0; i < 2 * FS_TEMPLATES_MAX; i++) {
                snprintf(key, sizeof key, "k%u", i);
                fs_templates_put(t, key, strlen(key), 3000 + i, gen, mnt_ns());
        }
        cr_expect_eq(fs_templates_count(t), FS_TEMPLATES_MAX);

        fs_templates_free(t);
        sd_event_unref(e);
}

Test(fs_template, idle_expiry) {
        sd_event *e = NULL;
        FsTemplates *t = NULL;
        uint64_t gen;

        cr_assert_geq(sd_event_new(&e), 0);
        cr_assert_geq(fs_templates_new(e, 50 * 1000, &t), 0);
        (void) fs_templates_get(t, "a", 1, &gen);
        fs_templates_put(t, "a", 1, 1000, gen, mnt_ns());
        cr_assert_eq(fs_templates_count(t), 1);
        for (int i = 0; i < 100 && fs_templates_count(t) > 0; i++)
                cr_assert_geq(sd_event_run(e, 20 * 1000), 0);
        cr_expect_eq(fs_templates_count(t), 0, "an unused template is dropped by the timer");
        fs_templates_free(t);
        sd_event_unref(e);
}

Test(fs_template, host_mount_change_drops_all) {
        char dir[] = "/tmp/test-fs-template-XXXXXX";
        sd_event *e = NULL;
        FsTemplates *t = NULL;
        uint64_t gen, old_gen;

        if (geteuid() != 0)
                cr_skip_test("needs root for a mount namespace of its own");
        /* The test's own namespace plays the host's. */
        cr_assert_eq(unshare(CLONE_NEWNS), 0);
        cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
        cr_assert(mkdtemp(dir));

        cr_assert_geq(sd_event_new(&e), 0);
        cr_assert_geq(fs_templates_new(e, FS_TEMPLATE_IDLE_USEC, &t), 0);
        (void) fs_templates_get(t, "a", 1, &gen);
        fs_templates_put(t, "a", 1, 1000, gen, mnt_ns());
        old_gen = gen;
        (void) fs_templates_get(t, "b", 1, &gen);

        cr_assert_eq(mount("tmpfs", dir, "tmpfs", 0, "size=4k"), 0);
        cr_expect_lt(fs_templates_get(t, "a", 1, &gen), 0, "a mount change drops every template");
        fs_templates_put(t, "b", 1, 1000, old_gen, mnt_ns());
        cr_expect_lt(fs_templates_get(t, "b", 1, &gen), 0, "one made before the change is not stored");
        fs_templates_put(t, "c", 1, 1000, gen, mnt_ns());
        cr_expect_geq(fs_templates_get(t, "c", 1, &gen), 0, "one made after it is");

        (void) umount2(dir, MNT_DETACH);
        (void) rmdir(dir);
        fs_templates_free(t);
        sd_event_unref(e);
}
