/* Landlock ruleset builder: every check is a real syscall made by a forked
 * child after it restricted itself. The child reports failed checks over a
 * pipe so the parent (unrestricted) can assert on them and clean up. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "landlock.h"
#include "strv.h"
#include "test-util.h"

static int abi;

static void copy_true(const char *rel) {
        char p[PATH_MAX], buf[65536];
        int in, out;
        ssize_t n;

        in = open("/usr/bin/true", O_RDONLY | O_CLOEXEC);
        cr_assert_geq(in, 0);
        snprintf(p, sizeof p, "%s/%s", test_root, rel);
        out = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        cr_assert_geq(out, 0);
        while ((n = read(in, buf, sizeof buf)) > 0)
                cr_assert_eq(write(out, buf, n), n);
        close(in);
        close(out);
}

static void setup(void) {
        abi = landlock_abi();
        if (abi < 0)
                return;
        test_tree_new("landlock");
        mkdir_p("rw");
        put_mode("rw/existing.txt", "old", 0644);
        mkdir_p("ro");
        put_mode("ro/file.txt", "ro-content", 0644);
        put_mode("ro/victim.txt", "keep me", 0644);
        mkdir_p("exec");
        put_mode("exec/file.txt", "exec-content", 0644);
        copy_true("exec/true");
        mkdir_p("read");
        put_mode("read/file.txt", "read-content", 0644);
        mkdir_p("hidden");
        put_mode("hidden/secret.txt", "secret", 0644);
        copy_true("hidden/true");
        put_mode("onefile.txt", "one", 0644);
}

static void teardown(void) {
        test_tree_remove();
}

/* ---- the child side: probes and their reporting ---- */

static int probe_open(const char *rel, int flags) {
        int fd = open(P(rel), flags | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        close(fd);
        return 0;
}

static int probe_create(const char *rel) {
        return probe_open(rel, O_WRONLY | O_CREAT | O_EXCL);
}

static int probe_write(const char *rel) {
        int fd = open(P(rel), O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, "x", 1) != 1) {
                int r = -errno;
                close(fd);
                return r;
        }
        close(fd);
        return 0;
}

/* Reads the file and compares its content. */
static int probe_read(const char *rel, const char *want) {
        char buf[256] = {};
        int fd = open(P(rel), O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n < 0)
                return -errno;
        return streq(buf, want) ? 0 : -EBADMSG;
}

/* Lists the directory; returns the number of entries or -errno. */
static int probe_list(const char *rel) {
        DIR *d = opendir(P(rel));
        int n = 0;

        if (!d)
                return -errno;
        while (readdir(d))
                n++;
        closedir(d);
        return n > 0 ? 0 : -ENODATA;
}

static int probe_syscall(int r) {
        return r < 0 ? -errno : 0;
}

/* fork + execve; 0 when the program ran and exited 0, else the execve errno. */
static int probe_exec(const char *rel) {
        int p[2], err = 0, status;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                char *argv[] = { (char *) P(rel), NULL };
                execve(argv[0], argv, (char *[]) { NULL });
                err = errno;
                (void) !write(p[1], &err, sizeof err);
                _exit(127);
        }
        close(p[1]);
        if (read(p[0], &err, sizeof err) != sizeof err)
                err = 0;
        close(p[0]);
        waitpid(pid, &status, 0);
        if (err)
                return -err;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

static int probe_connect_abstract(const char *name) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, r;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        strncpy(sa.sun_path + 1, name, sizeof sa.sun_path - 2);
        r = connect(fd, (struct sockaddr *) &sa, offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
        r = r < 0 ? -errno : 0;
        close(fd);
        return r;
}

/* Landlock needs no_new_privs (or CAP_SYS_ADMIN) to restrict a process. */
static int enter_no_new_privs(void) {
        return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

#define RESTRICT_OR_FAIL(r)                                                     \
        do {                                                                    \
                int _k = landlock_ruleset_restrict_self(r);                     \
                if (_k < 0) {                                                   \
                        fail(__LINE__, "restrict_self: %s", strerror(-_k));     \
                        return;                                                 \
                }                                                               \
        } while (0)

#define ADD_OR_FAIL(r, rel, tier)                                               \
        do {                                                                    \
                int _k = landlock_ruleset_add_path_at(r, AT_FDCWD, P(rel), tier); \
                if (_k < 0) {                                                   \
                        fail(__LINE__, "add %s: %s", rel, strerror(-_k));       \
                        return;                                                 \
                }                                                               \
        } while (0)

TestSuite(landlock, .init = setup, .fini = teardown);

/* ---- default read allowed: only allowWrite paths are writable ---- */

static void child_default_read(void) {
        _cleanup_(landlock_ruleset_freep) LandlockRuleset *r = NULL;

        if (landlock_ruleset_new(&r, abi, false) < 0)
                return fail(__LINE__, "ruleset_new");
        ADD_OR_FAIL(r, "rw", LANDLOCK_TIER_WRITE);
        /* A regular file gets the file subset of the WRITE tier, not EINVAL. */
        ADD_OR_FAIL(r, "onefile.txt", LANDLOCK_TIER_WRITE);
        RESTRICT_OR_FAIL(r);

        /* allowWrite tree: create, write, mkdir, rename across dirs, unlink. */
        EXPECT(probe_create("rw/new.txt"), 0);
        EXPECT(probe_write("rw/existing.txt"), 0);
        EXPECT(probe_syscall(mkdir(P("rw/sub"), 0755)), 0);
        EXPECT(probe_syscall(rename(P("rw/new.txt"), P("rw/sub/moved.txt"))), 0);
        EXPECT(probe_syscall(unlink(P("rw/existing.txt"))), 0);

        /* Everything else: readable, listable, not writable. */
        EXPECT(probe_read("ro/file.txt", "ro-content"), 0);
        EXPECT(probe_list("ro"), 0);
        EXPECT(probe_list("hidden"), 0);
        EXPECT(probe_create("ro/new.txt"), -EACCES);
        EXPECT(probe_create("new-at-top.txt"), -EACCES);
        EXPECT(probe_write("ro/file.txt"), -EACCES);
        EXPECT(probe_syscall(truncate(P("ro/victim.txt"), 0)), -EACCES);
        EXPECT(probe_syscall(unlink(P("ro/file.txt"))), -EACCES);
        EXPECT(probe_syscall(mkdir(P("ro/d"), 0755)), -EACCES);
        EXPECT(probe_syscall(symlink("x", P("ro/link"))), -EACCES);
        /* Moving a file out of the writable tree, or into a read-only one. */
        EXPECT_ONE_OF(probe_syscall(rename(P("rw/sub/moved.txt"), P("ro/moved.txt"))), -EACCES, -EXDEV);
        EXPECT_ONE_OF(probe_syscall(rename(P("ro/file.txt"), P("rw/stolen.txt"))), -EACCES, -EXDEV);
        EXPECT(probe_exec("exec/true"), 0);

        /* The single-file rule: the file is writable, its siblings are not. */
        EXPECT(probe_write("onefile.txt"), 0);
        EXPECT(probe_syscall(truncate(P("onefile.txt"), 0)), 0);
        EXPECT(probe_create("onefile-sibling.txt"), -EACCES);

        /* No DEVICE rule on /dev here: even /dev/null is read-only. */
        EXPECT(probe_open("/dev/null", O_RDONLY), 0);
        EXPECT(probe_open("/dev/null", O_WRONLY), -EACCES);
}

Test(landlock, default_read_allows_write_only_beneath_rules) {
        if (abi < 0)
                cr_skip_test("Landlock is not available on this kernel");
        run_child(enter_no_new_privs, child_default_read);

        /* What the child could not do left no trace. */
        cr_assert_eq(access(P("ro/new.txt"), F_OK), -1);
        cr_assert_eq(access(P("new-at-top.txt"), F_OK), -1);
        cr_assert_eq(access(P("ro/file.txt"), F_OK), 0);
        cr_assert_eq(access(P("rw/sub/moved.txt"), F_OK), 0);
        struct stat st;
        cr_assert_eq(stat(P("ro/victim.txt"), &st), 0);
        cr_assert_eq(st.st_size, (off_t) strlen("keep me"));
}

/* ---- defaultDenyRead: an empty view plus essential paths and allow tiers ---- */

static void child_default_deny_read(void) {
        _cleanup_(landlock_ruleset_freep) LandlockRuleset *r = NULL;
        _cleanup_strv_free_ char **essential = NULL;

        if (landlock_ruleset_new(&r, abi, true) < 0)
                return fail(__LINE__, "ruleset_new");
        if (landlock_essential_read_paths(NULL, &essential) < 0)
                return fail(__LINE__, "essential paths");
        for (char **p = essential; *p; p++) {
                int k;

                /* The test tree lives in the host's /tmp; in a sandbox /tmp
                 * is a private tmpfs. /dev gets the DEVICE tier below. */
                if (streq(*p, "/tmp") || streq(*p, "/dev"))
                        continue;
                k = landlock_ruleset_add_path_at(r, AT_FDCWD, *p, LANDLOCK_TIER_SYSTEM);
                if (k < 0 && k != -ENOENT)
                        return fail(__LINE__, "add %s: %s", *p, strerror(-k));
        }
        ADD_OR_FAIL(r, "/dev", LANDLOCK_TIER_DEVICE);
        ADD_OR_FAIL(r, "exec", LANDLOCK_TIER_EXECUTE);
        ADD_OR_FAIL(r, "read", LANDLOCK_TIER_READ);
        ADD_OR_FAIL(r, "rw", LANDLOCK_TIER_WRITE);
        RESTRICT_OR_FAIL(r);

        /* allowExecute: files by name, no listing. */
        EXPECT(probe_list("exec"), -EACCES);
        EXPECT(probe_read("exec/file.txt", "exec-content"), 0);
        EXPECT(probe_exec("exec/true"), 0);
        EXPECT(probe_create("exec/new.txt"), -EACCES);

        /* allowRead: list and read, no write. */
        EXPECT(probe_list("read"), 0);
        EXPECT(probe_read("read/file.txt", "read-content"), 0);
        EXPECT(probe_write("read/file.txt"), -EACCES);

        /* Not granted: neither read, listed nor executed. */
        EXPECT(probe_read("hidden/secret.txt", "secret"), -EACCES);
        EXPECT(probe_list("hidden"), -EACCES);
        EXPECT(probe_exec("hidden/true"), -EACCES);
        EXPECT(probe_list(""), -EACCES);

        /* allowWrite grants read too. */
        EXPECT(probe_create("rw/new.txt"), 0);
        EXPECT(probe_read("rw/existing.txt", "old"), 0);
        EXPECT(probe_list("rw"), 0);

        /* Essential system paths stay readable. */
        EXPECT(probe_open("/etc/passwd", O_RDONLY), 0);
        EXPECT(probe_list("/usr/bin"), 0);

        /* DEVICE: device nodes are writable (shell redirections open with
         * O_TRUNC), nothing can be created in /dev. */
        EXPECT(probe_open("/dev/null", O_WRONLY | O_TRUNC), 0);
        EXPECT(probe_open("/dev/zero", O_RDONLY), 0);
        EXPECT(probe_list("/dev"), 0);
        EXPECT(probe_create("/dev/fenced-test-should-not-exist"), -EACCES);
}

Test(landlock, default_deny_read_tiers) {
        if (abi < 0)
                cr_skip_test("Landlock is not available on this kernel");
        run_child(enter_no_new_privs, child_default_deny_read);
        cr_assert_eq(access(P("exec/new.txt"), F_OK), -1);
}

/* ---- per-ABI access mapping: an older ABI handles fewer rights ---- */

static void child_abi2(void) {
        _cleanup_(landlock_ruleset_freep) LandlockRuleset *r = NULL;

        if (landlock_ruleset_new(&r, 2, false) < 0)
                return fail(__LINE__, "ruleset_new");
        ADD_OR_FAIL(r, "rw", LANDLOCK_TIER_WRITE);
        RESTRICT_OR_FAIL(r);

        /* TRUNCATE is ABI 3: an ABI 2 ruleset cannot stop truncate(2). */
        EXPECT(probe_syscall(truncate(P("ro/victim.txt"), 0)), 0);
        EXPECT(probe_write("ro/victim.txt"), -EACCES);
        EXPECT(probe_syscall(rename(P("rw/existing.txt"), P("rw/moved.txt"))), 0);
}

static void child_abi1(void) {
        _cleanup_(landlock_ruleset_freep) LandlockRuleset *r = NULL;

        if (landlock_ruleset_new(&r, 1, false) < 0)
                return fail(__LINE__, "ruleset_new");
        ADD_OR_FAIL(r, "rw", LANDLOCK_TIER_WRITE);
        RESTRICT_OR_FAIL(r);

        EXPECT(probe_create("rw/abi1.txt"), 0);
        EXPECT(probe_syscall(mkdir(P("rw/sub"), 0755)), 0);
        /* Without REFER (ABI 2) every cross-directory rename is refused. */
        EXPECT(probe_syscall(rename(P("rw/abi1.txt"), P("rw/sub/abi1.txt"))), -EXDEV);
        EXPECT(probe_syscall(rename(P("rw/abi1.txt"), P("rw/same-dir.txt"))), 0);
}

Test(landlock, older_abi_levels) {
        if (abi < 3)
                cr_skip_test("needs Landlock ABI >= 3 to compare against (have %i)", abi);
        run_child(enter_no_new_privs, child_abi2);
        run_child(enter_no_new_privs, child_abi1);
        struct stat st;
        cr_assert_eq(stat(P("ro/victim.txt"), &st), 0);
        cr_assert_eq(st.st_size, 0, "ABI 2 ruleset could truncate: mapping is per ABI");
}

/* ---- scoping: no signals or abstract sockets beyond the sandbox ---- */

static char abstract_name[64];

static void child_scoped(void) {
        _cleanup_(landlock_ruleset_freep) LandlockRuleset *r = NULL;

        if (landlock_ruleset_new(&r, abi, false) < 0)
                return fail(__LINE__, "ruleset_new");
        EXPECT(landlock_ruleset_set_scoped(r, true), 0);
        RESTRICT_OR_FAIL(r);

        EXPECT(probe_connect_abstract(abstract_name), -EPERM);
        EXPECT(probe_syscall(kill(getppid(), 0)), -EPERM);
        /* Its own domain is fine. */
        EXPECT(probe_syscall(kill(getpid(), 0)), 0);
}

static void child_unscoped(void) {
        _cleanup_(landlock_ruleset_freep) LandlockRuleset *r = NULL;

        if (landlock_ruleset_new(&r, abi, false) < 0)
                return fail(__LINE__, "ruleset_new");
        RESTRICT_OR_FAIL(r);

        EXPECT(probe_connect_abstract(abstract_name), 0);
        EXPECT(probe_syscall(kill(getppid(), 0)), 0);
}

Test(landlock, scoping_blocks_signals_and_abstract_sockets) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (abi < 6)
                cr_skip_test("scoping needs Landlock ABI >= 6 (have %i)", abi);

        snprintf(abstract_name, sizeof abstract_name, "fenced-test-landlock-%i", getpid());
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_geq(fd, 0);
        memcpy(sa.sun_path + 1, abstract_name, strlen(abstract_name));
        cr_assert_eq(bind(fd, (struct sockaddr *) &sa,
                          offsetof(struct sockaddr_un, sun_path) + 1 + strlen(abstract_name)), 0, "bind: %m");
        cr_assert_eq(listen(fd, 8), 0);

        run_child(enter_no_new_privs, child_scoped);
        run_child(enter_no_new_privs, child_unscoped);
        close(fd);
}

/* ---- API contract ---- */

Test(landlock, api_contract) {
        _cleanup_(landlock_ruleset_freep) LandlockRuleset *r = NULL, *old = NULL;
        LandlockRuleset *none = NULL;

        if (abi < 0)
                cr_skip_test("Landlock is not available on this kernel");

        cr_assert_eq(landlock_ruleset_new(&none, 0, false), -EOPNOTSUPP);
        cr_assert_null(none);

        cr_assert_eq(landlock_ruleset_new(&old, 5, false), 0);
        cr_assert_eq(landlock_ruleset_set_scoped(old, true), -EOPNOTSUPP);

        cr_assert_eq(landlock_ruleset_new(&r, abi, false), 0);
        cr_assert_eq(landlock_ruleset_add_path_at(r, AT_FDCWD, P("no-such-path"), LANDLOCK_TIER_READ), -ENOENT);
        cr_assert_eq(landlock_ruleset_add_path_at(r, AT_FDCWD, P("ro"), LANDLOCK_TIER_READ), 0);
        if (abi >= 6)
                cr_assert_eq(landlock_ruleset_set_scoped(r, true), -EBUSY);
        cr_assert_eq(landlock_ruleset_add_path_at(r, AT_FDCWD, P("ro"), (LandlockTier) 99), -EINVAL);
}

Test(landlock, essential_paths_include_home_tooling) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert_eq(landlock_essential_read_paths("/home/u/", &l), 0);
        cr_assert(strv_contains(l, "/usr"));
        cr_assert(strv_contains(l, "/etc"));
        cr_assert(strv_contains(l, "/home/u/.cargo/bin"));
        cr_assert(strv_contains(l, "/home/u/.nvm"));
        for (char **p = l; *p; p++)
                cr_assert_eq((*p)[0], '/', "%s is not absolute", *p);
}
