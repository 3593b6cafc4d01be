/* Placeholder records: written as a sandbox child writes them, swept as
 * fenced sweeps them (the removal runs in a helper with the recorded
 * identity, here root's own). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "placeholder.h"

static char root[] = "/tmp/test-placeholder-XXXXXX";
static char state[256], proj[256], slice[256];

static void setup(void) {
        if (geteuid() != 0)
                cr_skip_test("needs root: the removal switches to the recorded identity");
        cr_assert_not_null(mkdtemp(root));
        snprintf(state, sizeof state, "%s/state", root);
        snprintf(proj, sizeof proj, "%s/proj", root);
        snprintf(slice, sizeof slice, "%s/slice", root);
        cr_assert_eq(mkdir(state, 0700), 0);
        cr_assert_eq(mkdir(proj, 0755), 0);
        cr_assert_eq(mkdir(slice, 0755), 0);
        cr_assert_eq(placeholder_dir_prepare(state), 0);
}

static int rm_entry(const char *p, const struct stat *st, int type, struct FTW *ftw) {
        return remove(p);
}

static void teardown(void) {
        (void) nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(placeholder, .init = setup, .fini = teardown);

/* Creates proj/<name> (a file or a directory) and records it in log. */
static void make(PlaceholderLog *log, const char *parent, const char *name, FsProtectKind kind) {
        char p[1024];
        struct stat pst, st;

        snprintf(p, sizeof p, "%s/%s", parent, name);
        if (kind == FS_PROTECT_DIR)
                cr_assert_eq(mkdir(p, 0755), 0);
        else
                cr_assert_eq(close(open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)), 0);
        cr_assert_eq(stat(parent, &pst), 0);
        cr_assert_eq(lstat(p, &st), 0);
        cr_assert_eq(placeholder_log_append(&(FsProtectCreated) {
                .parent = parent, .parent_dev = pst.st_dev, .parent_ino = pst.st_ino,
                .name = name, .kind = kind, .dev = st.st_dev, .ino = st.st_ino,
        }, log), 0);
}

static bool exists(const char *rel) {
        char p[1024];

        snprintf(p, sizeof p, "%s/%s", proj, rel);
        return access(p, F_OK) == 0;
}

static size_t records(void) {
        char p[1024];
        size_t n = 0;
        DIR *d;

        snprintf(p, sizeof p, "%s/" PLACEHOLDER_DIR, state);
        d = opendir(p);
        cr_assert_not_null(d);
        for (struct dirent *de; (de = readdir(d));)
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

Test(placeholder, removes_what_is_still_ours_and_empty) {
        _cleanup_(placeholder_log_freep) PlaceholderLog *log = NULL;
        char claude[512], p[512];
        gid_t groups[] = { 0 };
        int fd;

        cr_assert_eq(placeholder_log_open(state, "0123456789abcdef", 0, 0, groups, 1, &log), 0);
        make(log, proj, ".bashrc", FS_PROTECT_FILE);
        make(log, proj, ".gitmodules", FS_PROTECT_FILE);
        make(log, proj, ".mcp.json", FS_PROTECT_FILE);
        make(log, proj, ".claude", FS_PROTECT_DIR);
        snprintf(claude, sizeof claude, "%s/.claude", proj);
        make(log, claude, "commands", FS_PROTECT_DIR);
        make(log, proj, ".idea", FS_PROTECT_DIR);
        log = placeholder_log_free(log);
        cr_assert_eq(records(), 1);

        /* The user wrote to one, replaced another, filled a directory. */
        snprintf(p, sizeof p, "%s/.gitmodules", proj);
        fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
        cr_assert_eq(write(fd, "[x]\n", 4), 4);
        close(fd);
        snprintf(p, sizeof p, "%s/.mcp.json", proj);
        cr_assert_eq(unlink(p), 0);
        cr_assert_eq(close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)), 0);
        snprintf(p, sizeof p, "%s/.idea/workspace.xml", proj);
        cr_assert_eq(close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)), 0);

        /* While the sandbox's cgroup exists, nothing is touched. */
        snprintf(p, sizeof p, "%s/0123456789abcdef", slice);
        cr_assert_eq(mkdir(p, 0755), 0);
        cr_assert_eq(placeholder_sweep(state, slice), 0);
        cr_assert(exists(".bashrc"));
        cr_assert_eq(rmdir(p), 0);

        cr_assert_eq(placeholder_sweep(state, slice), 1);
        cr_assert_not(exists(".bashrc"), "an untouched placeholder is removed");
        cr_assert_not(exists(".claude"), "...a directory holding another one too, after it");
        cr_assert(exists(".gitmodules"), "a placeholder the user wrote to is kept");
        cr_assert(exists(".mcp.json"), "a replaced one is not ours any more");
        cr_assert(exists(".idea/workspace.xml"), "a filled directory is kept");
        cr_assert_eq(records(), 0, "the record is gone");
}

Test(placeholder, damaged_records) {
        _cleanup_(placeholder_log_freep) PlaceholderLog *log = NULL;
        char p[1024];
        int fd;

        /* Torn inside its header: nothing can have been made. */
        snprintf(p, sizeof p, "%s/" PLACEHOLDER_DIR "/00000000000000aa", state);
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        cr_assert_eq(write(fd, "PF", 2), 2);
        close(fd);
        /* Torn inside its last entry: the whole entries before it count. */
        cr_assert_eq(placeholder_log_open(state, "00000000000000bb", 0, 0, NULL, 0, &log), 0);
        make(log, proj, ".profile", FS_PROTECT_FILE);
        log = placeholder_log_free(log);
        snprintf(p, sizeof p, "%s/" PLACEHOLDER_DIR "/00000000000000bb", state);
        fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
        cr_assert_eq(write(fd, "PFHE\1\0\0", 7), 7);
        close(fd);
        /* Not a sandbox id: left alone. */
        snprintf(p, sizeof p, "%s/" PLACEHOLDER_DIR "/not-an-id", state);
        cr_assert_eq(close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)), 0);

        cr_assert_eq(placeholder_sweep(state, slice), 2);
        cr_assert_not(exists(".profile"));
        cr_assert_eq(records(), 1, "only the file that is not a record is left");
}

Test(placeholder, rejects_bad_arguments) {
        PlaceholderLog *log = NULL;

        cr_assert_eq(placeholder_log_open(state, "../etc", 0, 0, NULL, 0, &log), -EINVAL);
        cr_assert_eq(placeholder_log_open(state, "", 0, 0, NULL, 0, &log), -EINVAL);
        cr_assert_eq(placeholder_log_open(NULL, "00", 0, 0, NULL, 0, &log), -EINVAL);
        cr_assert_null(log);
}
