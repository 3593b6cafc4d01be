/* Fail closed without Landlock: in a forked child where a seccomp filter
 * makes landlock_create_ruleset(2) fail with ENOSYS (a kernel built without
 * Landlock), the Landlock step of the filesystem view refuses a policy only
 * Landlock can enforce (allowExecute with defaultDenyRead: files readable,
 * directories not listable) and lets the mount view alone enforce the rest. */
#include <criterion/criterion.h>
#include <seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>

#include "fs-view.h"
#include "landlock.h"
#include "test-util.h"

static void setup(void) {
        test_tree_new("landlock-failclosed");
        mkdir_p("exec");
        put("exec/file.txt", "x");
        mkdir_p("read");
}

static void teardown(void) {
        test_tree_remove();
}

/* A private mount namespace (fs_view_prepare clones trees), and a kernel
 * without Landlock as far as this process can tell. */
static int enter_no_landlock(void) {
        scmp_filter_ctx ctx;
        int r;

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(landlock_create_ruleset), 0);
        if (r >= 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}

/* fs_view_landlock() of a view of the policy: 0 or -errno. */
static int landlock_step(bool default_deny_read, const char *allow_execute, const char *allow_read, char **ret_error) {
        char *exec_list[] = { (char *) allow_execute, NULL };
        char *read_list[] = { (char *) allow_read, NULL };
        FsPolicy p = {
                .default_deny_read = default_deny_read,
                .allow_execute = allow_execute ? exec_list : NULL,
                .allow_read = allow_read ? read_list : NULL,
                .home = (char *) "/root",
        };
        FsView *v = NULL;
        char *err = NULL;
        int r;

        r = fs_view_prepare(&p, test_root, 0, 0, NULL, NULL, &v, &err);
        if (r < 0) {
                fail(__LINE__, "fs_view_prepare: %s", err ?: strerror(-r));
                free(err);
                return r;
        }
        r = fs_view_landlock(v, ret_error);
        fs_view_free(v);
        return r;
}

static void no_landlock(void) {
        char *err = NULL;
        int r;

        EXPECT(landlock_abi(), -EOPNOTSUPP);

        /* allowExecute + defaultDenyRead: only Landlock can enforce it. */
        r = landlock_step(true, P("exec"), NULL, &err);
        EXPECT(r, -EOPNOTSUPP);
        if (!err || !strstr(err, "Landlock"))
                fail(__LINE__, "the error does not name Landlock: %s", err ?: "(none)");
        free(err);
        err = NULL;

        /* The mount view alone is enough for these. */
        EXPECT(landlock_step(true, NULL, P("read"), &err), 0);
        EXPECT(landlock_step(false, P("exec"), NULL, &err), 0);
        EXPECT(landlock_step(false, NULL, NULL, &err), 0);
        free(err);
}

Test(landlock_failclosed, refuses_what_only_landlock_enforces, .init = setup, .fini = teardown) {
        if (geteuid() != 0)
                cr_skip_test("needs root (a mount namespace and open_tree)");
        run_child(enter_no_landlock, no_landlock);
}

/* The same policy with the kernel's Landlock: accepted (and enforced). */
static void with_landlock(void) {
        char *err = NULL;

        EXPECT(landlock_step(true, P("exec"), NULL, &err), 0);
        if (err)
                fail(__LINE__, "unexpected error: %s", err);
        free(err);
}

static int enter_ns(void) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

Test(landlock_failclosed, accepts_it_with_landlock, .init = setup, .fini = teardown) {
        if (geteuid() != 0)
                cr_skip_test("needs root (a mount namespace and open_tree)");
        if (landlock_abi() < 1)
                cr_skip_test("this kernel has no Landlock");
        run_child(enter_ns, with_landlock);
}
