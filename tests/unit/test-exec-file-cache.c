#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec-file-cache.h"
#include "macro.h"

static int open_path(const char *p) {
        int fd = open(p, O_PATH | O_CLOEXEC);
        cr_assert_geq(fd, 0, "%s: %m", p);
        return fd;
}

/* Only files no sandbox user can change are remembered. */
Test(exec_file_cache, keys_only_files_only_root_can_change) {
        char dir[] = "/tmp/fenced-efc-XXXXXX", path[256];
        ExecFileKey k;
        int fd, f;

        if (geteuid() != 0)
                cr_skip_test("needs root (root-owned files)");
        cr_assert_not_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/tool", dir);
        f = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        cr_assert_geq(f, 0);
        close(f);

        fd = open_path(path);
        cr_expect(exec_file_key(fd, path, 1000, &k));
        cr_expect_not(exec_file_key(fd, path, 0, &k), "a root sandbox could change it");
        cr_expect_not(exec_file_key(fd, "tool", 1000, &k), "not an absolute path");
        cr_assert_eq(chmod(path, 0775), 0);
        cr_expect_not(exec_file_key(fd, path, 1000, &k), "group-writable");
        cr_assert_eq(chmod(path, 0757), 0);
        cr_expect_not(exec_file_key(fd, path, 1000, &k), "writable by others");
        cr_assert_eq(chmod(path, 0755), 0);
        cr_assert_eq(chown(path, 1000, 0), 0);
        cr_expect_not(exec_file_key(fd, path, 1000, &k), "not root's");
        close(fd);
        fd = open_path(dir);
        cr_expect_not(exec_file_key(fd, dir, 1000, &k), "a directory");
        close(fd);
        unlink(path);
        rmdir(dir);
}

Test(exec_file_cache, finds_the_same_unchanged_file_only) {
        char dir[] = "/tmp/fenced-efc-XXXXXX", path[256], other[256];
        ExecFileCache c = {};
        ExecFileKey k, k2;
        const ExecFileEntry *e;
        int fd, f;

        if (geteuid() != 0)
                cr_skip_test("needs root (root-owned files)");
        cr_assert_not_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/tool", dir);
        snprintf(other, sizeof other, "%s/other", dir);
        f = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        cr_assert_geq(f, 0);
        fd = open_path(path);
        cr_assert(exec_file_key(fd, path, 1000, &k));
        cr_expect_null(exec_file_cache_get(&c, &k));
        cr_assert_eq(exec_file_cache_put(&c, &k, "/usr/bin/tool", true), 0);
        e = exec_file_cache_get(&c, &k);
        cr_assert_not_null(e);
        cr_expect_str_eq(e->resolved, "/usr/bin/tool");
        cr_expect(e->plain);

        /* another path to the same file is another entry */
        cr_assert(exec_file_key(fd, other, 1000, &k2));
        cr_expect_null(exec_file_cache_get(&c, &k2));
        /* a write changes mtime and ctime (and size) */
        cr_assert_eq(write(f, "#!/bin/sh\n", 10), 10);
        cr_assert(exec_file_key(fd, path, 1000, &k2));
        cr_expect_null(exec_file_cache_get(&c, &k2));
        /* the same path again replaces the dead entry */
        cr_assert_eq(exec_file_cache_put(&c, &k2, "/usr/bin/tool", false), 0);
        cr_expect_eq(c.n, 1u);
        cr_expect_null(exec_file_cache_get(&c, &k));
        e = exec_file_cache_get(&c, &k2);
        cr_assert_not_null(e);
        cr_expect_not(e->plain);

        exec_file_cache_done(&c);
        close(f);
        close(fd);
        unlink(path);
        rmdir(dir);
}

Test(exec_file_cache, full_cache_replaces_the_oldest) {
        char dir[] = "/tmp/fenced-efc-XXXXXX", path[256], name[300];
        ExecFileCache c = {};
        ExecFileKey k;
        int fd;

        if (geteuid() != 0)
                cr_skip_test("needs root (root-owned files)");
        cr_assert_not_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/tool", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        cr_assert_geq(fd, 0);
        close(fd);
        fd = open_path(path);
        for (unsigned i = 0; i <= EXEC_FILE_CACHE_SIZE; i++) {
                snprintf(name, sizeof name, "%s/name%u", dir, i);
                cr_assert(exec_file_key(fd, name, 1000, &k));
                cr_assert_eq(exec_file_cache_put(&c, &k, name, true), 0);
        }
        cr_expect_eq(c.n, (unsigned) EXEC_FILE_CACHE_SIZE);
        snprintf(name, sizeof name, "%s/name0", dir);
        cr_assert(exec_file_key(fd, name, 1000, &k));
        cr_expect_null(exec_file_cache_get(&c, &k));
        snprintf(name, sizeof name, "%s/name%u", dir, EXEC_FILE_CACHE_SIZE);
        cr_assert(exec_file_key(fd, name, 1000, &k));
        cr_expect_not_null(exec_file_cache_get(&c, &k));
        exec_file_cache_done(&c);
        close(fd);
        unlink(path);
        rmdir(dir);
}
