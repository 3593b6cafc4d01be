/* test-util.h — scaffolding of the unit tests that work on a real temporary
 * tree and check confined code in forked children (fs-glob, fs-protect,
 * landlock). Header-only: each test is a program of its own.
 *
 * The tree: test_tree_new("NAME") makes /tmp/test-NAME-XXXXXX (call it from
 * the suite's .init), test_tree_remove() removes it (from .fini). P(rel)
 * names rel below it (an absolute path stays as it is; up to 8 results are
 * valid at once); mkdir_p() and put() fill it, asserting.
 *
 * The child: run_child(enter, fn) forks; the child runs enter() (0 or
 * -errno: e.g. a new mount namespace, or no_new_privs), then fn(), whose
 * checks (EXPECT, EXPECT_ONE_OF, fail()) report over a pipe instead of
 * aborting, so one run shows every failed check; the parent asserts that
 * none failed and that the child exited 0.
 */
#pragma once

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char test_root[64];        /* /tmp/test-NAME-XXXXXX */

static inline void test_tree_new(const char *name) {
        snprintf(test_root, sizeof test_root, "/tmp/test-%s-XXXXXX", name);
        cr_assert_not_null(mkdtemp(test_root), "mkdtemp %s: %m", test_root);
}

static inline int test_tree_rm_entry(const char *p, const struct stat *st, int type, struct FTW *ftw) {
        (void) st, (void) type, (void) ftw;
        return remove(p);
}

static inline void test_tree_remove(void) {
        if (test_root[0] && !strstr(test_root, "XXXXXX"))
                nftw(test_root, test_tree_rm_entry, 64, FTW_DEPTH | FTW_PHYS);
}

static inline const char *P(const char *rel) {
        static char bufs[8][PATH_MAX];
        static int i;
        char *b = bufs[i++ % 8];

        if (rel[0] == '/')
                snprintf(b, PATH_MAX, "%s", rel);
        else
                snprintf(b, PATH_MAX, "%s/%s", test_root, rel);
        return b;
}

/* mkdir -p below the tree; an existing directory is fine. */
static inline void mkdir_p(const char *rel) {
        char p[PATH_MAX];

        snprintf(p, sizeof p, "%s/%s", test_root, rel);
        for (char *s = p + strlen(test_root) + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        (void) mkdir(p, 0755);
                        *s = '/';
                }
        cr_assert(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %m", p);
}

/* Creates (or truncates) a file with this content and mode. */
static inline void put_mode(const char *rel, const char *content, mode_t mode) {
        int fd = open(P(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        cr_assert_geq(fd, 0, "create %s: %m", rel);
        cr_assert_eq(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        close(fd);
}

static inline void put(const char *rel, const char *content) {
        put_mode(rel, content, 0644);
}

/* ---- checks in a forked child ---- */

static int test_report_fd = -1;

__attribute__((format(printf, 2, 3)))
static inline void fail(int line, const char *fmt, ...) {
        char buf[512];
        va_list ap;
        size_t n;

        snprintf(buf, sizeof buf, "line %i: ", line);
        n = strlen(buf);
        va_start(ap, fmt);
        vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
        va_end(ap);
        n = strlen(buf);
        buf[n++] = '\n';
        (void) !write(test_report_fd, buf, n);
}

/* A probe returns 0 or -errno. */
#define EXPECT(probe, want)                                                     \
        do {                                                                    \
                int _got = (probe);                                             \
                if (_got != (want))                                             \
                        fail(__LINE__, "%s = %i (%s), want %i", #probe, _got,   \
                             _got < 0 ? strerror(-_got) : "ok", (want));        \
        } while (0)

#define EXPECT_ONE_OF(probe, a, b)                                              \
        do {                                                                    \
                int _got = (probe);                                             \
                if (_got != (a) && _got != (b))                                 \
                        fail(__LINE__, "%s = %i (%s), want %i or %i", #probe,   \
                             _got, _got < 0 ? strerror(-_got) : "ok", (a), (b)); \
        } while (0)

static inline void run_child(int (*enter)(void), void (*fn)(void)) {
        char buf[16384];
        size_t len = 0;
        int p[2], status, r;
        ssize_t n;
        pid_t pid;

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                close(p[0]);
                test_report_fd = p[1];
                r = enter ? enter() : 0;
                if (r < 0)
                        fail(__LINE__, "entering the child's confinement: %s", strerror(-r));
                else
                        fn();
                _exit(0);
        }
        close(p[1]);
        while ((n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
                len += (size_t) n;
        buf[len] = 0;
        close(p[0]);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child died: status %#x", status);
        cr_expect_eq(len, 0, "failed checks in the child:\n%s", buf);
}
