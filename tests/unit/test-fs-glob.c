/* fs_glob(): patterns expanded against a real temporary tree. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>

#include "fs-glob.h"
#include "strv.h"
#include "test-util.h"

static void touch(const char *rel) {
        put(rel, "");
}

static void setup(void) {
        test_tree_new("fs-glob");
        mkdir_p("a/b/deep/deeper");
        touch("a/b/c.txt");
        touch("a/b/d.log");
        touch("a/.hidden.key");
        touch("a/x.key");
        touch("a/b/deep/e.key");
        touch("a/b/deep/deeper/f.key");
        /* A loop and a shortcut: `**` and wildcards must not go through them. */
        cr_assert_eq(symlink("..", P("a/loop")), 0);
        cr_assert_eq(symlink("b", P("a/link_to_b")), 0);
        mkdir_p("cls");
        touch("cls/file1");
        touch("cls/file2");
        touch("cls/fileA");
        mkdir_p("esc");
        touch("esc/br[ack]et");
        touch("esc/brket");
}

static void teardown(void) {
        test_tree_remove();
}

TestSuite(fs_glob, .init = setup, .fini = teardown);

/* Expands and compares with the expected relative paths (sorted, NULL-ended). */
static void expect_glob(const char *rel_pattern, const char * const *want) {
        _cleanup_strv_free_ char **got = NULL;
        size_t n_want = 0;
        int r;

        while (want[n_want])
                n_want++;

        r = fs_glob(P(rel_pattern), NULL, &got);
        cr_assert_geq(r, 0, "fs_glob(%s) = %s", rel_pattern, strerror(-r));
        cr_assert_not_null(got);
        cr_assert_eq((size_t) r, strv_length(got));

        _cleanup_free_ char *joined = strv_join(got, "\n");
        cr_assert_eq((size_t) r, n_want, "%s: got %i paths:\n%s", rel_pattern, r, joined);
        for (size_t i = 0; i < n_want; i++)
                cr_assert_str_eq(got[i], P(want[i]), "%s: path %zu", rel_pattern, i);
}

#define NONE ((const char * const[]) { NULL })
#define PATHS(...) ((const char * const[]) { __VA_ARGS__, NULL })

Test(fs_glob, match_name) {
        cr_assert(fs_glob_match_name("*", "anything"));
        cr_assert(fs_glob_match_name("*", ".dotfile"));
        cr_assert(fs_glob_match_name("*.key", ".secret.key"));
        cr_assert_not(fs_glob_match_name("*.key", "key"));
        cr_assert(fs_glob_match_name("a?c", "abc"));
        cr_assert_not(fs_glob_match_name("a?c", "ac"));
        cr_assert(fs_glob_match_name("[abc]x", "bx"));
        cr_assert_not(fs_glob_match_name("[abc]x", "dx"));
        cr_assert(fs_glob_match_name("[!a]x", "bx"));
        cr_assert_not(fs_glob_match_name("[^a]x", "ax"));
        cr_assert(fs_glob_match_name("file[0-9]", "file7"));
        cr_assert_not(fs_glob_match_name("file[0-9]", "fileA"));
        cr_assert(fs_glob_match_name("[]]", "]"));
        cr_assert(fs_glob_match_name("\\*", "*"));
        cr_assert_not(fs_glob_match_name("\\*", "a"));
        cr_assert(fs_glob_match_name("[", "["));         /* unclosed class: literal */
        cr_assert(fs_glob_match_name("a[b", "a[b"));
        cr_assert(fs_glob_match_name("*a*b*c", "xxaxxbxxbxxc"));
        cr_assert_not(fs_glob_match_name("*a*b*c", "xxaxxbxxbxx"));
        cr_assert(fs_glob_match_name("", ""));
        cr_assert_not(fs_glob_match_name("", "a"));
        cr_assert(fs_glob_match_name(".env*", ".env.local"));

        cr_assert(fs_glob_has_magic("/a/*"));
        cr_assert(fs_glob_has_magic("/a/[x]"));
        cr_assert_not(fs_glob_has_magic("/a/\\*"));
        cr_assert_not(fs_glob_has_magic("/a/b"));
}

Test(fs_glob, literal_paths_exist_or_not) {
        expect_glob("a/b/c.txt", PATHS("a/b/c.txt"));
        expect_glob("a/b", PATHS("a/b"));
        expect_glob("a/missing.txt", NONE);
        expect_glob("nowhere/at/all", NONE);
        /* Literal components go through symlinks, as the user wrote them. */
        expect_glob("a/link_to_b/c.txt", PATHS("a/link_to_b/c.txt"));
        expect_glob("esc/br\\[ack\\]et", PATHS("esc/br[ack]et"));
        /* Redundant slashes and "." are normalised away. */
        expect_glob("a//./b/c.txt", PATHS("a/b/c.txt"));
}

Test(fs_glob, single_component_wildcards) {
        expect_glob("a/*.key", PATHS("a/.hidden.key", "a/x.key"));
        expect_glob("cls/file[0-9]", PATHS("cls/file1", "cls/file2"));
        expect_glob("cls/file?", PATHS("cls/file1", "cls/file2", "cls/fileA"));
        expect_glob("esc/br[[]ack]et", PATHS("esc/br[ack]et"));
        expect_glob("a/b/*.none", NONE);
        /* A symlink matched by a wildcard is returned as itself... */
        expect_glob("a/link*", PATHS("a/link_to_b"));
        /* ...but never walked through. */
        expect_glob("a/*/c.txt", PATHS("a/b/c.txt"));
}

Test(fs_glob, globstar) {
        expect_glob("**/*.key", PATHS("a/.hidden.key", "a/b/deep/deeper/f.key", "a/b/deep/e.key", "a/x.key"));
        /* `**` matches zero directories too. */
        expect_glob("a/**/x.key", PATHS("a/x.key"));
        expect_glob("a/b/**/f.key", PATHS("a/b/deep/deeper/f.key"));
        expect_glob("**/deep", PATHS("a/b/deep"));
        expect_glob("**/b/c.txt", PATHS("a/b/c.txt"));
        expect_glob("**/deep/**/*.key", PATHS("a/b/deep/deeper/f.key", "a/b/deep/e.key"));
        /* Trailing `**`: the directory itself stands for everything below. */
        expect_glob("a/**", PATHS("a"));
        expect_glob("**/deep/**", PATHS("a/b/deep"));
        expect_glob("a/**/**/x.key", PATHS("a/x.key"));
}

Test(fs_glob, globstar_never_follows_symlinks) {
        _cleanup_strv_free_ char **got = NULL;
        int r;

        /* a/loop -> .. would make this infinite if followed. */
        r = fs_glob(P("**/*"), NULL, &got);
        cr_assert_gt(r, 0);
        for (char **p = got; *p; p++) {
                cr_assert_null(strstr(*p, "/loop/"), "walked through a symlink: %s", *p);
                cr_assert_null(strstr(*p, "/link_to_b/"), "walked through a symlink: %s", *p);
        }
        cr_assert(strv_contains(got, P("a/loop")));
        cr_assert(strv_contains(got, P("a/b/deep/deeper/f.key")));
}

Test(fs_glob, invalid_patterns) {
        char **got = NULL;

        cr_assert_eq(fs_glob("relative/*", NULL, &got), -EINVAL);
        cr_assert_eq(fs_glob("", NULL, &got), -EINVAL);
        cr_assert_null(got);
}

Test(fs_glob, bounds_fail_closed) {
        char **got = NULL;

        cr_assert_eq(fs_glob(P("**/*.key"), &(FsGlobLimits) { .max_matches = 2 }, &got), -E2BIG);
        cr_assert_eq(fs_glob(P("**/*.key"), &(FsGlobLimits) { .max_visited = 5 }, &got), -E2BIG);
        cr_assert_eq(fs_glob(P("**/f.key"), &(FsGlobLimits) { .max_depth = 2 }, &got), -E2BIG);
        cr_assert_null(got);

        /* Exactly at the bound is fine. */
        cr_assert_eq(fs_glob(P("**/*.key"), &(FsGlobLimits) { .max_matches = 4 }, &got), 4);
        strv_free(got);
        cr_assert_eq(fs_glob(P("**/f.key"), &(FsGlobLimits) { .max_depth = 4 }, &got), 1);
        strv_free(got);
}

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 50 top directories x 10 subdirectories x 100 files = 50,000 files. */
Test(fs_glob, fifty_thousand_files) {
        char rel[PATH_MAX];
        double t0, dt, best_key = 1e9, best_dir = 1e9;
        int r;

        for (int i = 0; i < 50; i++)
                for (int j = 0; j < 10; j++) {
                        snprintf(rel, sizeof rel, "big/d%02i/s%i", i, j);
                        mkdir_p(rel);
                        for (int k = 0; k < 100; k++) {
                                snprintf(rel, sizeof rel, "big/d%02i/s%i/f%03i%s", i, j, k,
                                         k == 0 && j == 0 ? ".key" : ".txt");
                                touch(rel);
                        }
                }

        for (int round = 0; round < 3; round++) {
                _cleanup_strv_free_ char **keys = NULL, **dirs = NULL;

                t0 = now_ms();
                r = fs_glob(P("big/**/*.key"), NULL, &keys);
                dt = now_ms() - t0;
                if (dt < best_key)
                        best_key = dt;
                cr_assert_eq(r, 50, "got %i: %s", r, r < 0 ? strerror(-r) : "");

                t0 = now_ms();
                r = fs_glob(P("big/d*/s[0-4]/f00?.txt"), NULL, &dirs);
                dt = now_ms() - t0;
                if (dt < best_dir)
                        best_dir = dt;
                cr_assert_eq(r, 50 * 5 * 10 - 50 * 1, "got %i", r);
        }

        /* Both ran with the default bounds: a tree this size must fit them. */
        cr_log_info("fs_glob on 50,000 files: '**/*.key' %.1f ms, 'd*/s[0-4]/f00?.txt' %.1f ms",
                    best_key, best_dir);
        fprintf(stderr, "fs_glob on 50,000 files: '**/*.key' %.1f ms, 'd*/s[0-4]/f00?.txt' %.1f ms\n",
                best_key, best_dir);
        cr_expect_lt(best_key, 100.0, "'**' over 50,000 files took %.1f ms", best_key);
}
