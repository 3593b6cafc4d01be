/* Mandatory protection: collect on a real tree, apply in a forked child
 * inside its own mount namespace, and probe with real syscalls. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "fs-protect-cache.h"
#include "fs-protect.h"
#include "strv.h"
#include "test-util.h"

static void make_repo(const char *gitdir, bool hooks) {
        char rel[PATH_MAX];

        snprintf(rel, sizeof rel, "%s/objects", gitdir);
        mkdir_p(rel);
        snprintf(rel, sizeof rel, "%s/refs/heads", gitdir);
        mkdir_p(rel);
        snprintf(rel, sizeof rel, "%s/HEAD", gitdir);
        put(rel, "ref: refs/heads/main\n");
        snprintf(rel, sizeof rel, "%s/config", gitdir);
        put(rel, "[core]\n\tbare = false\n");
        if (hooks) {
                snprintf(rel, sizeof rel, "%s/hooks", gitdir);
                mkdir_p(rel);
                snprintf(rel, sizeof rel, "%s/hooks/pre-commit.sample", gitdir);
                put(rel, "#!/bin/sh\n");
        }
}

static void setup(void) {
        char gitlink[PATH_MAX + 16];

        test_tree_new("fs-protect");

        mkdir_p("cwd/src");
        put("cwd/src/main.c", "int main(void) { return 0; }\n");
        put("cwd/.bashrc", "original bashrc\n");
        put("cwd/real_zshrc", "zsh\n");
        cr_assert_eq(symlink("real_zshrc", P("cwd/.zshrc")), 0);

        make_repo("cwd/.git", true);
        mkdir_p("cwd/.git/objects/ab");
        put("cwd/.git/objects/ab/.bashrc", "in the object store\n");
        make_repo("cwd/.git/modules/sub", false);

        mkdir_p("cwd/.claude/commands");
        mkdir_p("cwd/vscode-real");
        put("cwd/vscode-real/settings.json", "{}\n");
        cr_assert_eq(symlink("vscode-real", P("cwd/.vscode")), 0);

        /* Deeper than fence's 3 levels. */
        make_repo("cwd/a/b/c/d/e/f/g/.git", false);
        make_repo("cwd/node_modules/pkg/.git", true);
        mkdir_p("cwd/deep1/deep2");
        put("cwd/deep1/deep2/.mcp.json", "{}\n");
        /* A second name of the same file: each name needs its own mount. */
        cr_assert_eq(link(P("cwd/.bashrc"), P("cwd/deep1/.bashrc")), 0);

        mkdir_p("cwd/sub");
        put("cwd/sub/.git", "gitdir: ../.git/modules/sub\n");

        /* A worktree of a repository outside the cwd. */
        make_repo("main/.git", true);
        mkdir_p("main/.git/worktrees/wt");
        put("main/.git/worktrees/wt/commondir", "../..\n");
        put("main/.git/worktrees/wt/config.worktree", "[core]\n");
        mkdir_p("cwd/wt");
        snprintf(gitlink, sizeof gitlink, "gitdir: %s\n", P("main/.git/worktrees/wt"));
        put("cwd/wt/.git", gitlink);

        mkdir_p("cwd/x");
        cr_assert_eq(symlink("..", P("cwd/x/loop")), 0);

        mkdir_p("home/.config/git");
        put("home/.profile", "profile\n");
        put("home/.config/git/config", "[user]\n");

        make_repo("outer/.git", true);
        mkdir_p("outer/inner/dir");
}

static void teardown(void) {
        test_tree_remove();
}

TestSuite(fs_protect, .init = setup, .fini = teardown);

static const FsProtectPath *find_existing(const FsProtectList *l, const char *rel) {
        for (size_t i = 0; i < l->n_existing; i++)
                if (streq(l->existing[i].path, P(rel)))
                        return &l->existing[i];
        return NULL;
}

static const FsProtectMissing *find_missing(const FsProtectList *l, const char *parent_rel, const char *name) {
        for (size_t i = 0; i < l->n_missing; i++)
                if (streq(l->missing[i].parent, P(parent_rel)) && streq(l->missing[i].name, name))
                        return &l->missing[i];
        return NULL;
}

static void dump(const FsProtectList *l) {
        for (size_t i = 0; i < l->n_existing; i++)
                cr_log_info("existing %s", l->existing[i].path);
        for (size_t i = 0; i < l->n_missing; i++)
                cr_log_info("missing  %s / %s", l->missing[i].parent, l->missing[i].name);
}

#define EXPECT_EXISTING(l, rel, k)                                                      \
        do {                                                                            \
                const FsProtectPath *_e = find_existing(l, rel);                        \
                cr_expect_not_null(_e, "not found: %s", rel);                           \
                if (_e)                                                                 \
                        cr_expect_eq(_e->kind, k, "%s: wrong kind", rel);               \
        } while (0)

#define EXPECT_MISSING(l, parent, name, k)                                              \
        do {                                                                            \
                const FsProtectMissing *_m = find_missing(l, parent, name);             \
                cr_expect_not_null(_m, "not reported missing: %s/%s", parent, name);    \
                if (_m)                                                                 \
                        cr_expect_eq(_m->kind, k, "%s/%s: wrong kind", parent, name);   \
        } while (0)

Test(fs_protect, collect_finds_everything_at_any_depth) {
        FsProtectList l = {};
        int r;

        r = fs_protect_collect(P("cwd"), P("home"), false, NULL, NULL, &l, NULL);
        cr_assert_eq(r, 0, "collect: %s", strerror(-r));
        dump(&l);

        EXPECT_EXISTING(&l, "cwd/.bashrc", FS_PROTECT_FILE);
        EXPECT_EXISTING(&l, "cwd/.zshrc", FS_PROTECT_FILE);
        EXPECT_EXISTING(&l, "cwd/.vscode", FS_PROTECT_DIR);
        EXPECT_EXISTING(&l, "cwd/.claude/commands", FS_PROTECT_DIR);
        EXPECT_EXISTING(&l, "cwd/.git/hooks", FS_PROTECT_DIR);
        EXPECT_EXISTING(&l, "cwd/.git/config", FS_PROTECT_FILE);
        EXPECT_EXISTING(&l, "cwd/.git/modules/sub/config", FS_PROTECT_FILE);
        EXPECT_EXISTING(&l, "cwd/a/b/c/d/e/f/g/.git/config", FS_PROTECT_FILE);
        EXPECT_EXISTING(&l, "cwd/node_modules/pkg/.git/hooks", FS_PROTECT_DIR);
        EXPECT_EXISTING(&l, "cwd/node_modules/pkg/.git/config", FS_PROTECT_FILE);
        EXPECT_EXISTING(&l, "cwd/deep1/deep2/.mcp.json", FS_PROTECT_FILE);
        EXPECT_EXISTING(&l, "cwd/deep1/.bashrc", FS_PROTECT_FILE);
        /* Through the worktree's gitlink and commondir, outside the cwd. */
        EXPECT_EXISTING(&l, "main/.git/hooks", FS_PROTECT_DIR);
        EXPECT_EXISTING(&l, "main/.git/config", FS_PROTECT_FILE);
        EXPECT_EXISTING(&l, "main/.git/worktrees/wt/config.worktree", FS_PROTECT_FILE);
        EXPECT_EXISTING(&l, "home/.profile", FS_PROTECT_FILE);
        EXPECT_EXISTING(&l, "home/.config/git/config", FS_PROTECT_FILE);

        /* The object store is not searched; symlinks are not walked. */
        cr_expect_null(find_existing(&l, "cwd/.git/objects/ab/.bashrc"));
        for (size_t i = 0; i < l.n_existing; i++)
                cr_expect_null(strstr(l.existing[i].path, "/loop/"), "walked a symlink: %s", l.existing[i].path);

        EXPECT_MISSING(&l, "cwd", ".gitmodules", FS_PROTECT_FILE);
        EXPECT_MISSING(&l, "cwd", ".mcp.json", FS_PROTECT_FILE);
        EXPECT_MISSING(&l, "cwd", ".idea", FS_PROTECT_DIR);
        EXPECT_MISSING(&l, "cwd/.claude", "agents", FS_PROTECT_DIR);
        EXPECT_MISSING(&l, "cwd/.git/modules/sub", "hooks", FS_PROTECT_DIR);
        EXPECT_MISSING(&l, "cwd/a/b/c/d/e/f/g/.git", "hooks", FS_PROTECT_DIR);
        EXPECT_MISSING(&l, "home", ".bashrc", FS_PROTECT_FILE);
        EXPECT_MISSING(&l, "home", ".gitconfig", FS_PROTECT_FILE);
        cr_expect_null(find_missing(&l, "cwd", ".bashrc"), "exists, not missing");
        cr_expect_null(find_missing(&l, "home", ".profile"), "exists, not missing");

        /* Exact totals: no duplicates (the submodule's git dir is reached both
         * by the walk and through sub/.git). */
        cr_expect_eq(l.n_existing, 17, "existing: %zu", l.n_existing);
        cr_expect_eq(l.n_missing, 7 + 1 + 1 + 2 + 8, "missing: %zu", l.n_missing);

        fs_protect_list_done(&l);
}

Test(fs_protect, allow_git_config_and_enclosing_repo) {
        FsProtectList l = {};

        cr_assert_eq(fs_protect_collect(P("cwd"), NULL, true, NULL, NULL, &l, NULL), 0);
        cr_expect_not_null(find_existing(&l, "cwd/.git/hooks"));
        cr_expect_null(find_existing(&l, "cwd/.git/config"));
        cr_expect_null(find_existing(&l, "main/.git/worktrees/wt/config.worktree"));
        cr_expect_null(find_missing(&l, "home", ".bashrc"), "no home given");
        fs_protect_list_done(&l);

        /* A subdirectory of a repository: git uses the repository above. */
        cr_assert_eq(fs_protect_collect(P("outer/inner/dir"), NULL, false, NULL, NULL, &l, NULL), 0);
        EXPECT_EXISTING(&l, "outer/.git/hooks", FS_PROTECT_DIR);
        EXPECT_EXISTING(&l, "outer/.git/config", FS_PROTECT_FILE);
        fs_protect_list_done(&l);
}

Test(fs_protect, bounds_fail_closed) {
        FsProtectList l = {};

        {
                _cleanup_free_ char *error = NULL;

                cr_assert_eq(fs_protect_collect(P("cwd"), NULL, false, &(FsGlobLimits) { .max_depth = 3 }, NULL, &l, &error),
                             -E2BIG);
                cr_assert_not_null(error);
                cr_assert(strstr(error, "deeper than 3 directories"), "%s", error);
                cr_assert(strstr(error, "smaller directory"), "what to do: %s", error);
        }
        cr_assert_eq(fs_protect_collect(P("cwd"), NULL, false, &(FsGlobLimits) { .max_visited = 10 }, NULL, &l, NULL), -E2BIG);
        cr_assert_eq(fs_protect_collect(P("cwd"), NULL, false, &(FsGlobLimits) { .max_matches = 3 }, NULL, &l, NULL), -E2BIG);
        cr_assert_eq(l.n_existing + l.n_missing, 0);
        cr_assert_eq(fs_protect_collect("relative", NULL, false, NULL, NULL, &l, NULL), -EINVAL);
}

/* ---- the walk cache ---- */

static bool same_list(const FsProtectList *a, const FsProtectList *b) {
        if (a->n_existing != b->n_existing || a->n_missing != b->n_missing)
                return false;
        for (size_t i = 0; i < a->n_existing; i++)
                if (!streq(a->existing[i].path, b->existing[i].path) || a->existing[i].kind != b->existing[i].kind)
                        return false;
        for (size_t i = 0; i < a->n_missing; i++)
                if (!streq(a->missing[i].parent, b->missing[i].parent) || !streq(a->missing[i].name, b->missing[i].name))
                        return false;
        return true;
}

static size_t cache_entries(const char *dir) {
        _cleanup_closedir_ DIR *d = opendir(dir);
        size_t n = 0;

        cr_assert_not_null(d);
        for (struct dirent *de; (de = readdir(d));)
                n += de->d_name[0] != '.';
        return n;
}

/* The inode of the only entry of dir: a rewrite (temporary file renamed
 * over it) changes it. */
static ino_t cache_entry_ino(const char *dir) {
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct stat st;

        cr_assert_not_null(d);
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                cr_assert_eq(fstatat(dirfd(d), de->d_name, &st, 0), 0);
                return st.st_ino;
        }
        cr_assert_fail("no cache entry in %s", dir);
        return 0;
}

Test(fs_protect, cache_reuses_unchanged_directories_and_sees_changes) {
        char cache[PATH_MAX];
        FsProtectList fresh = {}, cached = {}, again = {};
        int fd;

        snprintf(cache, sizeof cache, "%s/cache", test_root);
        cr_assert_eq(mkdir(cache, 0700), 0);
        /* Directories changed less than the racy margin ago are not kept. */
        nanosleep(&(struct timespec) { .tv_nsec = FS_PROTECT_CACHE_RACY_NSEC + 20 * 1000 * 1000 }, NULL);

        cr_assert_eq(fs_protect_collect(P("cwd"), P("home"), false, NULL, NULL, &fresh, NULL), 0);
        cr_assert_eq(fs_protect_collect(P("cwd"), P("home"), false, NULL, cache, &cached, NULL), 0);
        cr_assert_eq(cache_entries(cache), 1, "the walk was not stored");
        cr_assert(same_list(&fresh, &cached));
        fs_protect_list_done(&cached);
        /* From the cache now: the same result. */
        cr_assert_eq(fs_protect_collect(P("cwd"), P("home"), false, NULL, cache, &cached, NULL), 0);
        cr_assert(same_list(&fresh, &cached), "a walk from the cache differs from a fresh one");

        /* A change deep down is seen: its directory's stamp changed. */
        make_repo("cwd/a/b/c/d/e/f/g/new/.git", true);
        put("cwd/deep1/deep2/.profile", "x\n");
        cr_assert_eq(fs_protect_collect(P("cwd"), P("home"), false, NULL, cache, &again, NULL), 0);
        cr_assert_not_null(find_existing(&again, "cwd/a/b/c/d/e/f/g/new/.git/hooks"));
        cr_assert_not_null(find_existing(&again, "cwd/deep1/deep2/.profile"));
        cr_assert_not_null(find_existing(&again, "cwd/.bashrc"), "the unchanged rest is still there");
        fs_protect_list_done(&again);

        /* A removal too. */
        cr_assert_eq(unlink(P("cwd/deep1/deep2/.profile")), 0);
        cr_assert_eq(fs_protect_collect(P("cwd"), P("home"), false, NULL, cache, &again, NULL), 0);
        cr_assert_null(find_existing(&again, "cwd/deep1/deep2/.profile"));
        fs_protect_list_done(&again);

        /* A directory whose stamp moved but whose content did not (a chmod;
         * placeholders made and removed again in the cwd) is listed again
         * but does not make the cache rewritten; a real change still is. */
        nanosleep(&(struct timespec) { .tv_nsec = FS_PROTECT_CACHE_RACY_NSEC + 20 * 1000 * 1000 }, NULL);
        cr_assert_eq(fs_protect_collect(P("cwd"), P("home"), false, NULL, cache, &again, NULL), 0);
        fs_protect_list_done(&again);
        {
                ino_t before = cache_entry_ino(cache);

                cr_assert_eq(chmod(P("cwd/deep1"), 0750), 0);
                nanosleep(&(struct timespec) { .tv_nsec = FS_PROTECT_CACHE_RACY_NSEC + 20 * 1000 * 1000 }, NULL);
                cr_assert_eq(fs_protect_collect(P("cwd"), P("home"), false, NULL, cache, &again, NULL), 0);
                cr_assert_eq(cache_entry_ino(cache), before, "a stamp-only change rewrote the cache");
                cr_assert_not_null(find_existing(&again, "cwd/a/b/c/d/e/f/g/new/.git/hooks"));
                cr_assert_null(find_existing(&again, "cwd/deep1/deep2/.profile"));
                fs_protect_list_done(&again);

                put("cwd/deep1/.zshrc", "x\n");
                cr_assert_eq(fs_protect_collect(P("cwd"), P("home"), false, NULL, cache, &again, NULL), 0);
                cr_assert_not_null(find_existing(&again, "cwd/deep1/.zshrc"), "a change after a stamp-only one is seen");
                fs_protect_list_done(&again);
                cr_assert_eq(unlink(P("cwd/deep1/.zshrc")), 0);
        }

        /* Another option is another entry; a corrupt entry is a miss. */
        cr_assert_eq(fs_protect_collect(P("cwd"), P("home"), true, NULL, cache, &again, NULL), 0);
        fs_protect_list_done(&again);
        cr_assert_eq(cache_entries(cache), 2);
        {
                _cleanup_closedir_ DIR *d = opendir(cache);
                for (struct dirent *de; (de = readdir(d));) {
                        if (de->d_name[0] == '.')
                                continue;
                        fd = openat(dirfd(d), de->d_name, O_WRONLY | O_TRUNC | O_CLOEXEC);
                        cr_assert_geq(fd, 0);
                        cr_assert_eq(write(fd, "garbage", 7), 7);
                        close(fd);
                }
        }
        cr_assert_eq(fs_protect_collect(P("cwd"), P("home"), false, NULL, cache, &again, NULL), 0);
        cr_assert_not_null(find_existing(&again, "cwd/a/b/c/d/e/f/g/new/.git/hooks"));
        cr_assert_not_null(find_existing(&again, "cwd/.bashrc"));

        fs_protect_list_done(&again);
        fs_protect_list_done(&cached);
        fs_protect_list_done(&fresh);
}

/* ---- apply, in a child with its own mount namespace ---- */

#define SYS(expr) ((expr) < 0 ? -errno : 0)

static int probe_create(const char *rel) {
        int fd = open(P(rel), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        if (fd < 0)
                return -errno;
        close(fd);
        return 0;
}

static int probe_write(const char *rel) {
        int fd = open(P(rel), O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        close(fd);
        return 0;
}

/* The child's own mount namespace, where fs_protect_apply() mounts. */
static int enter_mount_namespace(void) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return -errno;
        return 0;
}

/* What fs_protect_apply() reported, to compare with the tree. */
typedef struct Made {
        char paths[64][PATH_MAX];
        FsProtectKind kinds[64];
        size_t n;
} Made;

static int record_created(const FsProtectCreated *c, void *userdata) {
        Made *m = userdata;
        struct stat st;

        if (m->n >= 64)
                return -E2BIG;
        snprintf(m->paths[m->n], PATH_MAX, "%s/%s", c->parent, c->name);
        m->kinds[m->n] = c->kind;
        /* Reported after it exists, and identified correctly. */
        if (lstat(m->paths[m->n], &st) < 0 || st.st_dev != c->dev || st.st_ino != c->ino)
                fail(__LINE__, "reported %s does not match the tree", m->paths[m->n]);
        if (c->kind == FS_PROTECT_FILE && (!S_ISREG(st.st_mode) || st.st_size != 0))
                fail(__LINE__, "file placeholder %s is not an empty file", m->paths[m->n]);
        m->n++;
        return 0;
}

static bool made_has(const Made *m, const char *rel, FsProtectKind kind) {
        for (size_t i = 0; i < m->n; i++)
                if (streq(m->paths[i], P(rel)))
                        return m->kinds[i] == kind;
        return false;
}

static void child_apply(void) {
        Made made = {};
        FsProtectList l = {};
        struct stat st;
        int r;

        r = fs_protect_collect(P("cwd"), P("home"), false, NULL, NULL, &l, NULL);
        if (r < 0)
                return fail(__LINE__, "collect: %s", strerror(-r));

        r = fs_protect_apply(&l, record_created, &made);
        /* Everything here is writable: every missing name got a placeholder
         * (.claude/x counts twice when .claude is missing). */
        EXPECT(r, (int) made.n);
        if (made.n < l.n_missing)
                fail(__LINE__, "%zu placeholders for %zu missing entries", made.n, l.n_missing);
        EXPECT(made_has(&made, "cwd/.gitmodules", FS_PROTECT_FILE), true);
        EXPECT(made_has(&made, "home/.bashrc", FS_PROTECT_FILE), true);
        EXPECT(made_has(&made, "cwd/.idea", FS_PROTECT_DIR), true);
        EXPECT(made_has(&made, "cwd/.bashrc", FS_PROTECT_FILE), false);

        /* Existing files and directories: read-only, and cannot be removed
         * or renamed away. */
        EXPECT(probe_write("cwd/.bashrc"), -EROFS);
        EXPECT(SYS(truncate(P("cwd/.bashrc"), 0)), -EROFS);
        EXPECT(SYS(unlink(P("cwd/.bashrc"))), -EBUSY);
        EXPECT(SYS(rename(P("cwd/.bashrc"), P("cwd/bashrc.old"))), -EBUSY);
        EXPECT(probe_create("cwd/.git/hooks/pre-commit"), -EROFS);
        EXPECT(SYS(rename(P("cwd/.git/hooks"), P("cwd/.git/hooks.old"))), -EBUSY);
        EXPECT(probe_write("cwd/.git/config"), -EROFS);
        EXPECT(probe_create("cwd/node_modules/pkg/.git/hooks/post-checkout"), -EROFS);
        EXPECT(probe_create("main/.git/hooks/pre-commit"), -EROFS);
        EXPECT(probe_write("main/.git/worktrees/wt/config.worktree"), -EROFS);
        EXPECT(probe_create("cwd/.claude/commands/evil.md"), -EROFS);
        EXPECT(probe_write("cwd/deep1/deep2/.mcp.json"), -EROFS);
        EXPECT(probe_write("cwd/deep1/.bashrc"), -EROFS);
        EXPECT(probe_write("home/.profile"), -EROFS);

        /* The escape a plain read-only bind allows: move the parent away and
         * rebuild it. Ancestors are pinned. */
        EXPECT(SYS(rename(P("cwd/.git"), P("cwd/.git-moved"))), -EBUSY);
        EXPECT(SYS(rename(P("cwd/.claude"), P("cwd/.claude-moved"))), -EBUSY);
        EXPECT(SYS(rename(P("cwd/deep1"), P("cwd/deep1-moved"))), -EBUSY);
        EXPECT(SYS(rename(P("cwd/a/b"), P("cwd/a/b-moved"))), -EBUSY);

        /* Symlinks: the link is pinned, its target read-only. */
        EXPECT(probe_write("cwd/.zshrc"), -EROFS);
        EXPECT(probe_write("cwd/real_zshrc"), -EROFS);
        EXPECT(SYS(unlink(P("cwd/.zshrc"))), -EBUSY);
        EXPECT(probe_create("cwd/.vscode/tasks.json"), -EROFS);
        EXPECT(SYS(unlink(P("cwd/.vscode"))), -EBUSY);

        /* Missing directories: placeholders, read-only. */
        EXPECT(SYS(stat(P("cwd/.claude/agents"), &st)), 0);
        EXPECT(probe_create("cwd/.claude/agents/evil.md"), -EROFS);
        EXPECT(probe_create("cwd/a/b/c/d/e/f/g/.git/hooks/pre-commit"), -EROFS);
        EXPECT(probe_create("cwd/.git/modules/sub/hooks/pre-commit"), -EROFS);
        EXPECT(probe_create("cwd/.idea/workspace.xml"), -EROFS);
        EXPECT(SYS(rmdir(P("cwd/.idea"))), -EBUSY);

        /* Missing files: empty placeholders, read-only, cannot be replaced. */
        EXPECT(probe_write("cwd/.gitmodules"), -EROFS);
        EXPECT(probe_create("cwd/.gitmodules"), -EEXIST);
        EXPECT(SYS(unlink(P("cwd/.gitmodules"))), -EBUSY);
        EXPECT(SYS(rename(P("cwd/src/main.c"), P("cwd/.mcp.json"))), -EBUSY);
        EXPECT(SYS(symlink("/etc/passwd", P("home/.bashrc"))), -EEXIST);
        EXPECT(probe_write("home/.bashrc"), -EROFS);
        EXPECT(SYS(link(P("cwd/src/main.c"), P("home/.zshrc"))), -EEXIST);

        /* Everything else keeps working, git included. */
        EXPECT(probe_create("cwd/src/new.c"), 0);
        EXPECT(SYS(mkdir(P("cwd/newdir"), 0755)), 0);
        EXPECT(SYS(rename(P("cwd/src"), P("cwd/src2"))), 0);
        EXPECT(probe_create("cwd/.git/index.lock"), 0);
        EXPECT(SYS(rename(P("cwd/.git/index.lock"), P("cwd/.git/index"))), 0);
        EXPECT(SYS(mkdir(P("cwd/.git/objects/cd"), 0755)), 0);
        EXPECT(probe_create("cwd/.git/refs/heads/feature"), 0);
        EXPECT(probe_create("main/.git/worktrees/wt/index"), 0);

        fs_protect_list_done(&l);
}

static bool mounted_below(const char *dir) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];

        cr_assert_not_null(f);
        while (fgets(line, sizeof line, f))
                if (strstr(line, dir))
                        return true;
        return false;
}

Test(fs_protect, apply_blocks_writes_renames_and_missing_dirs) {
        char buf[64] = {};
        int fd;

        if (geteuid() != 0)
                cr_skip_test("needs root for a private mount namespace");

        run_child(enter_mount_namespace, child_apply);

        /* Nothing leaked out of the child's namespace, nothing was changed. */
        cr_assert_not(mounted_below(test_root), "mounts propagated to the host namespace");
        fd = open(P("cwd/.bashrc"), O_RDONLY | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        cr_assert_gt(read(fd, buf, sizeof buf - 1), 0);
        close(fd);
        cr_assert_str_eq(buf, "original bashrc\n");
        cr_assert_eq(access(P("cwd/.git/hooks/pre-commit"), F_OK), -1);
        cr_assert_eq(access(P("main/.git/hooks/pre-commit"), F_OK), -1);
        cr_assert_eq(access(P("cwd/.git"), F_OK), 0);
        /* Placeholders stay on the host, empty, until fenced removes them
         * (placeholder.h). */
        cr_assert_eq(access(P("cwd/a/b/c/d/e/f/g/.git/hooks"), F_OK), 0);
        cr_assert_eq(access(P("cwd/a/b/c/d/e/f/g/.git/hooks/pre-commit"), F_OK), -1);
        /* The writes that were allowed did land. */
        cr_assert_eq(access(P("cwd/src2/new.c"), F_OK), 0);
}

static void child_readonly_home(void) {
        FsProtectList l = {};
        int fd, r;

        /* As in a sandbox: home lies in the read-only part of the view. */
        fd = open(P("home"), O_PATH | O_CLOEXEC);
        int tree = open_tree(fd, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
        if (tree < 0 || mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0 ||
            move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return fail(__LINE__, "read-only home: %m");

        r = fs_protect_collect(P("home"), P("home"), false, NULL, NULL, &l, NULL);
        if (r < 0)
                return fail(__LINE__, "collect: %s", strerror(-r));
        r = fs_protect_apply(&l, NULL, NULL);
        /* Nothing can be created in a read-only home: no placeholder. */
        EXPECT(r, 0);
        EXPECT(probe_create("home/.bashrc"), -EROFS);
        fs_protect_list_done(&l);
}

Test(fs_protect, apply_readonly_parent_needs_nothing) {
        if (geteuid() != 0)
                cr_skip_test("needs root for a private mount namespace");
        run_child(enter_mount_namespace, child_readonly_home);
        cr_assert_eq(access(P("home/.idea"), F_OK), -1, "placeholder created in a read-only tree");
        cr_assert_eq(access(P("home/.claude"), F_OK), -1, "placeholder created in a read-only tree");
}

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 50,000 files in 550 directories, and one repository 7 levels down. */
Test(fs_protect, fifty_thousand_files) {
        char rel[PATH_MAX];
        double best = 1e9;

        for (int i = 0; i < 50; i++)
                for (int j = 0; j < 10; j++) {
                        snprintf(rel, sizeof rel, "big/d%02i/s%i", i, j);
                        mkdir_p(rel);
                        for (int k = 0; k < 100; k++) {
                                snprintf(rel, sizeof rel, "big/d%02i/s%i/f%03i.txt", i, j, k);
                                put(rel, "");
                        }
                }
        make_repo("big/d42/s7/x/y/z/.git", true);

        for (int round = 0; round < 3; round++) {
                FsProtectList l = {};
                double t0 = now_ms();
                int r = fs_protect_collect(P("big"), NULL, false, NULL, NULL, &l, NULL);
                double dt = now_ms() - t0;

                if (dt < best)
                        best = dt;
                cr_assert_eq(r, 0);
                cr_assert_not_null(find_existing(&l, "big/d42/s7/x/y/z/.git/hooks"));
                fs_protect_list_done(&l);
        }
        fprintf(stderr, "fs_protect_collect on 50,000 files: %.1f ms\n", best);
        cr_expect_lt(best, 100.0, "walking 50,000 files took %.1f ms", best);
}
