#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

#include "fs-glob.h"
#include "fs-protect.h"
#include "fs-template-ns.h"
#include "fs-view.h"
#include "landlock.h"
#include "log.h"
#include "strv.h"

typedef enum FsMountKind {
        FS_MOUNT_RO,            /* essential paths, allowRead/allowExecute (defaultDenyRead) */
        FS_MOUNT_RW,            /* allowWrite */
} FsMountKind;

typedef struct FsMount {
        char *path;             /* real path, the same in the view */
        int tree;               /* detached clone of the caller's tree (an
                                 * O_PATH fd until clone_mounts()) */
        bool dir;
        FsMountKind kind;
        uint64_t mnt_id;        /* the caller's mount holding it */
        const char *key;        /* the config key that named it */
} FsMount;

typedef enum FsRebindKind {
        FS_REBIND_RO,           /* denyWrite */
        FS_REBIND_MASK,         /* denyRead */
} FsRebindKind;

typedef struct FsRebind {
        char *path;
        bool dir;
        FsRebindKind kind;
        dev_t dev;              /* what the path resolved to for the caller */
        ino_t ino;
} FsRebind;

typedef struct FsSymlink {
        char *path;
        char *target;
} FsSymlink;

typedef struct FsLandlockRule {
        char *path;
        LandlockTier tier;
} FsLandlockRule;

struct FsView {
        bool default_deny_read;
        bool landlock_required;
        FsMount *mounts;
        size_t n_mounts;
        FsRebind *rebinds;
        size_t n_rebinds;
        FsSymlink *symlinks;
        size_t n_symlinks;
        FsLandlockRule *rules;
        size_t n_rules;
        FsProtectList protect;
        bool have_protect;
        bool from_template;     /* the writable trees came from a template (fs-template-ns.h) */
        int template_out;       /* the template this launch made, or -1 */
};

void fs_policy_done(FsPolicy *p) {
        strv_free(p->allow_read);
        strv_free(p->allow_execute);
        strv_free(p->allow_write);
        strv_free(p->deny_read);
        strv_free(p->deny_write);
        strv_free(p->devices_allow);
        free(p->home);
        *p = (FsPolicy) {};
}

bool fs_policy_wsl_interop_detected(void) {
        return access("/proc/sys/fs/binfmt_misc/WSLInterop", F_OK) >= 0 ||
               access("/proc/sys/fs/binfmt_misc/WSLInterop-late", F_OK) >= 0;
}

int fs_policy_copy(FsPolicy *dst, const FsPolicy *src) {
        *dst = (FsPolicy) {
                .default_deny_read = src->default_deny_read,
                .strict_deny_read = src->strict_deny_read,
                .allow_git_config = src->allow_git_config,
                .landlock_required = src->landlock_required,
                .devices_host = src->devices_host,
        };
#define COPY(f) if (src->f && !(dst->f = strv_copy(src->f))) goto oom
        COPY(allow_read);
        COPY(allow_execute);
        COPY(allow_write);
        COPY(deny_read);
        COPY(deny_write);
        COPY(devices_allow);
#undef COPY
        if (src->home && !(dst->home = strdup(src->home)))
                goto oom;
        return 0;
oom:
        fs_policy_done(dst);
        return -ENOMEM;
}

_printf_(3, 4)
static int set_error(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;

        if (ret_error && !*ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r < 0 ? r : -r;
}

FsView *fs_view_free(FsView *v) {
        if (!v)
                return NULL;
        for (size_t i = 0; i < v->n_mounts; i++) {
                free(v->mounts[i].path);
                safe_close(v->mounts[i].tree);
        }
        for (size_t i = 0; i < v->n_rebinds; i++)
                free(v->rebinds[i].path);
        for (size_t i = 0; i < v->n_symlinks; i++) {
                free(v->symlinks[i].path);
                free(v->symlinks[i].target);
        }
        for (size_t i = 0; i < v->n_rules; i++)
                free(v->rules[i].path);
        free(v->mounts);
        free(v->rebinds);
        free(v->symlinks);
        free(v->rules);
        if (v->have_protect)
                fs_protect_list_done(&v->protect);
        safe_close(v->template_out);
        free(v);
        return NULL;
}

bool fs_view_default_deny_read(const FsView *v) {
        return v && v->default_deny_read;
}

#define GROW(array, n) \
        ({ typeof(array) _a_ = realloc((array), ((n) + 1) * sizeof(*(array))); if (_a_) (array) = _a_; _a_ != NULL; })

static int add_rule(FsView *v, const char *path, LandlockTier tier) {
        if (!GROW(v->rules, v->n_rules))
                return -ENOMEM;
        v->rules[v->n_rules] = (FsLandlockRule) { .path = strdup(path), .tier = tier };
        if (!v->rules[v->n_rules].path)
                return -ENOMEM;
        v->n_rules++;
        return 0;
}

/* The real path of what fd refers to (the view uses the same paths). */
static int fd_path(int fd, char **ret) {
        char proc[64], buf[PATH_MAX];
        ssize_t n;

        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        n = readlink(proc, buf, sizeof buf - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = 0;
        if (buf[0] != '/')
                return -EINVAL;         /* not a path on a filesystem */
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/* A copy of the host's mounts at fd, read-only all through or as the host
 * has them: a writable tree keeps the host's read-only mounts (its own top
 * included) read-only, since the caller cannot write there either. */
static int clone_tree(int fd, bool read_only) {
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (read_only ? MOUNT_ATTR_RDONLY : 0),
        };
        int tree;

        tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
        if (tree < 0)
                return negative_errno();
        if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
                int r = negative_errno();
                safe_close(tree);
                return r;
        }
        return tree;
}

/* Whether path is absolute with no empty, "." or ".." component and no
 * trailing slash: resolved without symlinks, it is its own real path. */
static bool path_is_canonical(const char *path) {
        if (path[0] != '/')
                return false;
        if (streq(path, "/"))
                return true;
        for (const char *c = path; *c == '/'; ) {
                size_t l = strcspn(c + 1, "/");

                if (l == 0 || (l == 1 && c[1] == '.') || (l == 2 && c[1] == '.' && c[2] == '.'))
                        return false;
                c += 1 + l;
        }
        return true;
}

/* Resolves one path as the caller (fsuid already switched). */
static int open_as_caller(const char *path, int *ret_fd, char **ret_real, struct stat *ret_st) {
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC,
                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        _cleanup_close_ int fd = -1;
        bool plain = false;
        struct stat st;
        int r;

        /* Most paths have no symlink: then the path is the real one, and
         * asking the kernel for it (readlink of /proc/self/fd) is spared. */
        if (path_is_canonical(path)) {
                fd = (int) syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
                if (fd < 0 && errno != ELOOP)
                        return negative_errno();
                plain = fd >= 0;
        }
        if (fd < 0)
                fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (plain)
                r = (*ret_real = strdup(path)) ? 0 : -ENOMEM;
        else
                r = fd_path(fd, ret_real);
        if (r < 0)
                return r;
        *ret_st = st;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Expands the pattern of config key `key`; relative patterns ("**" +
 * "/.env", as templates write them) match below the cwd. On failure
 * *ret_error names the key, the pattern and, when a bound was hit, which. */
/* Whether fs_glob() would have returned nothing for the plain path. */
static bool plain_unmatched(const char *path) {
        struct stat st;

        return lstat(path, &st) < 0 && (errno == ENOENT || errno == ENOTDIR || errno == EACCES || errno == ELOOP);
}

/* *ret_plain: the pattern was a plain path, returned without a check that it
 * exists (one path walk less): when the caller's open of it fails,
 * plain_unmatched() tells whether fs_glob() would have matched it. */
static int glob_pattern(const char *cwd, const char *pattern, const char *key, char ***ret, bool *ret_plain,
                        char **ret_error) {
        _cleanup_free_ char *abs = NULL, *bound = NULL;
        const char *full = pattern;
        int r;

        if (pattern[0] != '/') {
                const char *rel = pattern;

                /* "./src" is cwd/src: joined without the "./", the path
                 * stays canonical and resolves without a readlink()
                 * (open_as_caller()). */
                while (rel[0] == '.' && rel[1] == '/') {
                        rel += 2;
                        while (rel[0] == '/')
                                rel++;
                }
                if (streq(rel, "."))
                        rel = "";
                if (cwd && !rel[0])
                        abs = strdup(cwd);
                else if (cwd && asprintf(&abs, "%s/%s", streq(cwd, "/") ? "" : cwd, rel) < 0)
                        abs = NULL;
                if (!abs)
                        return set_error(ret_error, -ENOMEM, "%s: %s: %s", key, pattern, strerror(ENOMEM));
                full = abs;
        }
        *ret_plain = fs_glob_is_plain(full);
        if (*ret_plain) {
                char **l = calloc(2, sizeof *l);

                if (!l || !(l[0] = strdup(full))) {
                        free(l);
                        return set_error(ret_error, -ENOMEM, "%s: %s: %s", key, pattern, strerror(ENOMEM));
                }
                *ret = l;
                return 0;
        }
        r = fs_glob_full(full, NULL, ret, &bound);
        if (r == -E2BIG)
                return set_error(ret_error, r, "%s: %s: %s", key, pattern, bound ?: "the pattern matches too much; narrow it");
        if (r < 0)
                return set_error(ret_error, r, "%s: %s: %s", key, pattern, strerror(-r));
        return 0;
}

/* With defaultDenyRead the view starts empty: an allowed top-level
 * symlink (/bin -> usr/bin, /lib64 -> usr/lib64 on merged-/usr systems) is
 * recreated as a symlink next to the tree it leads to. */
static int add_top_symlink(FsView *v, const char *path) {
        char target[PATH_MAX];
        struct stat st;
        ssize_t n;

        if (path[0] != '/' || strchr(path + 1, '/') || lstat(path, &st) < 0 || !S_ISLNK(st.st_mode))
                return 0;
        for (size_t i = 0; i < v->n_symlinks; i++)
                if (streq(v->symlinks[i].path, path))
                        return 0;
        n = readlink(path, target, sizeof target - 1);
        if (n <= 0)
                return 0;
        target[n] = 0;
        if (!GROW(v->symlinks, v->n_symlinks))
                return -ENOMEM;
        v->symlinks[v->n_symlinks] = (FsSymlink) { .path = strdup(path), .target = strdup(target) };
        if (!v->symlinks[v->n_symlinks].path || !v->symlinks[v->n_symlinks].target)
                return -ENOMEM;
        v->n_symlinks++;
        return 0;
}

static int add_mounts(FsView *v, const char *cwd, char * const *patterns, const char *key, FsMountKind kind,
                      LandlockTier tier, char **ret_error) {
        for (char * const *p = patterns; p && *p; p++) {
                _cleanup_strv_free_ char **paths = NULL;
                bool plain;
                int r = glob_pattern(cwd, *p, key, &paths, &plain, ret_error);

                if (r < 0)
                        return r;

                for (char **path = paths; *path; path++) {
                        _cleanup_close_ int fd = -1;
                        _cleanup_free_ char *real = NULL;
                        struct statx sx;
                        struct stat st;
                        bool dir;

                        r = open_as_caller(*path, &fd, &real, &st);
                        dir = r >= 0 && S_ISDIR(st.st_mode);
                        if (r == -ENOENT || (r < 0 && plain && plain_unmatched(*path)))
                                continue;
                        if (r >= 0 && v->default_deny_read) {
                                r = add_top_symlink(v, *path);
                                if (r < 0)
                                        return r;
                        }
                        if (r < 0)
                                return set_error(ret_error, r, "%s: %s: %s", key, *path, strerror(-r));
                        r = add_rule(v, real, tier);
                        if (r < 0)
                                return r;
                        if (kind == FS_MOUNT_RO && !v->default_deny_read)
                                continue;       /* already visible, read-only */

                        if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0)
                                return set_error(ret_error, errno, "%s: %s: %s", key, real, strerror(errno));
                        if (!GROW(v->mounts, v->n_mounts))
                                return -ENOMEM;
                        /* Cloned in clone_mounts(), unless another mount makes it redundant. */
                        v->mounts[v->n_mounts++] = (FsMount) {
                                .path = TAKE_PTR(real),
                                .tree = TAKE_FD(fd),
                                .dir = dir,
                                .kind = kind,
                                .mnt_id = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0,
                                .key = key,
                        };
                }
        }
        return 0;
}

/* Whether the mount a (a directory) shows b's path (equal or below it). */
static bool mount_covers(const FsMount *a, const FsMount *b) {
        size_t l = strlen(a->path);

        return a->dir && strncmp(a->path, b->path, l) == 0 &&
               (b->path[l] == 0 || b->path[l] == '/' || (l == 1 && a->path[0] == '/'));
}

/* The mount that would show m's path in the view if m were not attached:
 * the deepest other one covering it, the writable one of two at the same
 * path (the order of fs_view_attach()), the earlier of two duplicates. */
static const FsMount *mount_below(const FsView *v, size_t i) {
        const FsMount *m = &v->mounts[i], *best = NULL;
        size_t best_len = 0;

        for (size_t j = 0; j < v->n_mounts; j++) {
                const FsMount *o = &v->mounts[j];
                size_t l = strlen(o->path);

                if (j == i || !mount_covers(o, m))
                        continue;
                if (l == strlen(m->path) && (o->kind > m->kind || (o->kind == m->kind && j > i)))
                        continue;       /* attached before m: m ends on top */
                if (!best || l > best_len || (l == best_len && o->kind > best->kind)) {
                        best = o;
                        best_len = l;
                }
        }
        return best;
}

/* Clones the tree of every mount, except those that would add nothing: a
 * path whose covering mount in the view is of the same kind and, in the
 * caller's view, the same mount (no mount boundary in between: the
 * covering clone holds the very same directory, with the same attributes).
 * allowWrite: [".", "./src"] then makes one bind, not two. Their Landlock
 * rules stay. Above MOUNTS_DEDUP_MAX paths the check is skipped (it is
 * quadratic). */
#define MOUNTS_DEDUP_MAX 1024U
static int clone_mounts(FsView *v, char **ret_error) {
        bool *drop = NULL;
        size_t n = 0;

        if (v->n_mounts <= MOUNTS_DEDUP_MAX) {
                drop = calloc(v->n_mounts + 1, sizeof *drop);
                if (!drop)
                        return -ENOMEM;
                for (size_t i = 0; i < v->n_mounts; i++) {
                        const FsMount *below = mount_below(v, i);

                        drop[i] = below && below->kind == v->mounts[i].kind && below->mnt_id != 0 &&
                                  below->mnt_id == v->mounts[i].mnt_id;
                }
        }
        for (size_t i = 0; i < v->n_mounts; i++) {
                FsMount *m = &v->mounts[i];
                int tree;

                if (drop && drop[i]) {
                        free(m->path);
                        safe_close(m->tree);
                        continue;
                }
                tree = clone_tree(m->tree, m->kind == FS_MOUNT_RO);
                if (tree < 0) {
                        int r = set_error(ret_error, tree, "%s: %s: cannot bind it: %s", m->key, m->path, strerror(-tree));

                        /* The rest, kept and not, is freed by fs_view_free(). */
                        for (size_t j = i; j < v->n_mounts; j++)
                                v->mounts[n++] = v->mounts[j];
                        v->n_mounts = n;
                        free(drop);
                        return r;
                }
                safe_close(m->tree);
                m->tree = tree;
                v->mounts[n++] = *m;
        }
        v->n_mounts = n;
        free(drop);
        return 0;
}

static int add_rebinds(FsView *v, const char *cwd, char * const *patterns, const char *key, FsRebindKind kind,
                       char **ret_error) {
        for (char * const *p = patterns; p && *p; p++) {
                _cleanup_strv_free_ char **paths = NULL;
                bool plain;
                int r = glob_pattern(cwd, *p, key, &paths, &plain, ret_error);

                if (r < 0)
                        return r;

                for (char **path = paths; *path; path++) {
                        _cleanup_close_ int fd = -1;
                        _cleanup_free_ char *real = NULL;
                        struct stat st;

                        r = open_as_caller(*path, &fd, &real, &st);
                        if (r == -ENOENT || (r < 0 && plain && plain_unmatched(*path)))
                                continue;
                        if (r == -EACCES)
                                continue;       /* the caller cannot reach it: nothing to hide or protect */
                        if (r < 0)
                                return set_error(ret_error, r, "%s: %s: %s", key, *path, strerror(-r));
                        if (!GROW(v->rebinds, v->n_rebinds))
                                return -ENOMEM;
                        v->rebinds[v->n_rebinds++] = (FsRebind) {
                                .path = TAKE_PTR(real),
                                .dir = S_ISDIR(st.st_mode),
                                .kind = kind,
                                .dev = st.st_dev,
                                .ino = st.st_ino,
                        };
                }
        }
        return 0;
}

/* Essential system paths for defaultDenyRead; symlinks among them (/bin ->
 * usr/bin on merged-/usr systems) are recreated as symlinks. */
static int add_essential(FsView *v, const char *home, char **ret_error) {
        _cleanup_strv_free_ char **paths = NULL;
        int r;

        r = landlock_essential_read_paths(home, &paths);
        if (r < 0)
                return set_error(ret_error, r, "listing the essential system paths: %s", strerror(-r));
        for (char **p = paths; *p; p++) {
                struct stat st;

                if (lstat(*p, &st) < 0)
                        continue;
                if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t n = readlink(*p, target, sizeof target - 1);

                        if (n <= 0)
                                continue;
                        target[n] = 0;
                        if (!GROW(v->symlinks, v->n_symlinks))
                                return -ENOMEM;
                        v->symlinks[v->n_symlinks] = (FsSymlink) { .path = strdup(*p), .target = strdup(target) };
                        if (!v->symlinks[v->n_symlinks].path || !v->symlinks[v->n_symlinks].target)
                                return -ENOMEM;
                        v->n_symlinks++;
                        continue;
                }
        }
        /* Directories and files: through the same path as allowRead. */
        return add_mounts(v, NULL, paths, "essential system paths", FS_MOUNT_RO, LANDLOCK_TIER_SYSTEM, ret_error);
}

int fs_view_prepare(const FsPolicy *p, const char *cwd, uid_t uid, gid_t gid, const char *cache_dir,
                    const struct FsProtectWatch *watch, FsView **ret, char **ret_error) {
        _cleanup_free_ char *bound = NULL;
        FsView *v;
        int r;

        v = calloc(1, sizeof *v);
        if (!v)
                return -ENOMEM;
        v->template_out = -1;
        v->default_deny_read = p->default_deny_read;
        v->landlock_required = p->landlock_required || (p->default_deny_read && p->allow_execute);

        /* Resolve as the caller: the kernel checks search and read
         * permissions with the fsuid, so nothing the caller could not reach
         * ends up in the view. Mount rights (CAP_SYS_ADMIN) are unaffected. */
        (void) setfsgid(gid);
        (void) setfsuid(uid);

        if (v->default_deny_read) {
                /* strictDenyRead: only what the allow lists name. */
                if (!p->strict_deny_read) {
                        r = add_essential(v, p->home, ret_error);
                        if (r < 0)
                                goto out;
                }
                r = add_mounts(v, cwd, p->allow_read, "filesystem.allowRead", FS_MOUNT_RO, LANDLOCK_TIER_READ, ret_error);
                if (r < 0)
                        goto out;
                r = add_mounts(v, cwd, p->allow_execute, "filesystem.allowExecute", FS_MOUNT_RO, LANDLOCK_TIER_EXECUTE, ret_error);
                if (r < 0)
                        goto out;
        }
        r = add_mounts(v, cwd, p->allow_write, "filesystem.allowWrite", FS_MOUNT_RW, LANDLOCK_TIER_WRITE, ret_error);
        if (r < 0)
                goto out;
        r = clone_mounts(v, ret_error);
        if (r < 0)
                goto out;
        r = add_rebinds(v, cwd, p->deny_write, "filesystem.denyWrite", FS_REBIND_RO, ret_error);
        if (r < 0)
                goto out;
        r = add_rebinds(v, cwd, p->deny_read, "filesystem.denyRead", FS_REBIND_MASK, ret_error);
        if (r < 0)
                goto out;

        /* Where nothing is writable the read-only view already protects
         * everything: spare the launch the walk of the cwd tree. */
        if (!v->n_mounts || !p->allow_write) {
                r = 0;
                goto out;
        }
        r = fs_protect_collect_watched(cwd, p->home, p->allow_git_config, NULL, cache_dir, watch, &v->protect, &bound);
        if (r < 0) {
                r = set_error(ret_error, r, "looking for the mandatory protected files below %s: %s", cwd,
                              bound ?: strerror(-r));
                goto out;
        }
        v->have_protect = true;
        r = 0;
out:
        (void) setfsuid(0);
        (void) setfsgid(0);
        if (r < 0) {
                fs_view_free(v);
                return r;
        }
        *ret = v;
        return 0;
}

static int open_target(const char *path) {
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC,
                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };

        return RET_NERRNO((int) syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how));
}

int fs_view_make_mountpoint(const char *path, bool dir) {
        _cleanup_free_ char *p = strdup(path);
        int fd;

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        if (dir)
                return mkdir(p, 0755) < 0 && errno != EEXIST ? negative_errno() : 0;
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        safe_close(fd);
        return 0;
}

static int attach_tree(int tree, const char *path, bool dir) {
        _cleanup_close_ int target = -1;
        int r;

        target = open_target(path);
        if (target == -ENOENT) {
                r = fs_view_make_mountpoint(path, dir);
                if (r < 0)
                        return r;
                target = open_target(path);
        }
        if (target < 0)
                return target;
        return RET_NERRNO(move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
}

static int make_masks(int *ret_dir_tree, int *ret_file_tree) {
        _cleanup_close_ int fs = -1, mnt = -1;
        int fd;

        fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0)
                return negative_errno();
        if (fsconfig(fs, FSCONFIG_SET_STRING, "size", "4k", 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return negative_errno();
        mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (mnt < 0)
                return negative_errno();
        if (mkdirat(mnt, "dir", 0) < 0)
                return negative_errno();
        fd = openat(mnt, "file", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        safe_close(fd);
        if (fchmodat(mnt, "dir", 0, 0) < 0 || fchmodat(mnt, "file", 0, 0) < 0)
                return negative_errno();

        *ret_dir_tree = open_tree(mnt, "dir", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        *ret_file_tree = open_tree(mnt, "file", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (*ret_dir_tree < 0 || *ret_file_tree < 0) {
                safe_close(*ret_dir_tree);
                safe_close(*ret_file_tree);
                return -EIO;
        }
        return 0;
}

/* Whether fd lies on a read-only mount of the view. Nothing made after the
 * denyWrite binds makes a mount writable again. A directory may hold
 * writable mounts below it, so only a file's answer means it is covered. */
static bool on_readonly_mount(int fd) {
        struct statfs sfs;

        return fstatfs(fd, &sfs) == 0 && (sfs.f_flags & ST_RDONLY);
}

static int cmp_mount(const void *a, const void *b) {
        const FsMount *x = a, *y = b;
        size_t lx = strlen(x->path), ly = strlen(y->path);

        /* Parents before children; then writable after read-only so a
         * writable path inside a read-only one ends up on top. */
        if (lx != ly)
                return lx < ly ? -1 : 1;
        if (x->kind != y->kind)
                return (int) x->kind - (int) y->kind;
        /* Siblings: any order works; a fixed one keeps the manifest of a
         * template (fs_view_use_template()) the same from launch to launch. */
        return strcmp(x->path, y->path);
}

/* Pins the ancestors of every denyWrite (or denyRead) path, as the caller
 * (only what the caller could rename needs it), under one change of fsuid. */
static int pin_rebinds(const FsView *v, FsRebindKind kind, FsPinMemo *memo, uid_t uid, gid_t gid, char **ret_error) {
        int r = 0;

        (void) setfsgid(gid);
        (void) setfsuid(uid);
        for (size_t i = 0; i < v->n_rebinds && r >= 0; i++) {
                const FsRebind *b = &v->rebinds[i];

                if (b->kind != kind)
                        continue;
                r = fs_protect_pin_ancestors_memo(b->path, memo);
                if (r < 0)
                        r = set_error(ret_error, r, "%s: %s: cannot pin its parent directories: %s",
                                      kind == FS_REBIND_RO ? "filesystem.denyWrite" : "filesystem.denyRead",
                                      b->path, strerror(-r));
        }
        (void) setfsuid(0);
        (void) setfsgid(0);
        return r < 0 ? r : 0;
}

/* Whether a template can stand for this view's writable trees: all of them
 * writable, none below another (a tree attached over the template's copy
 * would hide the mounts made on it) and none on the sandbox's own /tmp,
 * /dev or /proc, which a template does not keep. Sorts the mounts. */
static bool view_templatable(FsView *v) {
        static const char * const dropped[] = { "/tmp", "/dev", "/proc" };

        if (v->default_deny_read || v->n_mounts == 0)
                return false;
        qsort(v->mounts, v->n_mounts, sizeof *v->mounts, cmp_mount);
        for (size_t i = 0; i < v->n_mounts; i++) {
                if (v->mounts[i].kind != FS_MOUNT_RW)
                        return false;
                for (size_t k = 0; k < ELEMENTSOF(dropped); k++) {
                        const char *rest = startswith(v->mounts[i].path, dropped[k]);

                        if (rest && (*rest == 0 || *rest == '/'))
                                return false;
                }
                for (size_t j = 0; j < i; j++)
                        if (mount_covers(&v->mounts[j], &v->mounts[i]))
                                return false;
        }
        return true;
}

/* What a template of this view holds, as prepare resolved it: the
 * writable trees, the denyWrite and denyRead paths and the existing
 * protected paths, each with its inode. A template is used only by a
 * launch whose manifest is the same (fs-template-ns.h), so it holds no pin
 * or bind the fresh policy would not make. */
static char *view_manifest(const FsView *v) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        for (size_t i = 0; i < v->n_mounts; i++)
                fprintf(f, "W %s\n", v->mounts[i].path);
        for (size_t i = 0; i < v->n_rebinds; i++)
                fprintf(f, "%c %d %llu:%llu %s\n", v->rebinds[i].kind == FS_REBIND_RO ? 'R' : 'M', v->rebinds[i].dir,
                        (unsigned long long) v->rebinds[i].dev, (unsigned long long) v->rebinds[i].ino, v->rebinds[i].path);
        for (size_t i = 0; v->have_protect && i < v->protect.n_existing; i++)
                fprintf(f, "P %d %llu:%llu %s\n", v->protect.existing[i].kind,
                        (unsigned long long) v->protect.existing[i].dev, (unsigned long long) v->protect.existing[i].ino,
                        v->protect.existing[i].path);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

int fs_view_use_template(FsView *v, int template_ns) {
        _cleanup_free_ struct stat *want = NULL;
        _cleanup_free_ char **paths = NULL;
        _cleanup_free_ int *trees = NULL;
        _cleanup_free_ char *manifest = NULL;
        size_t n;
        int r;

        if (template_ns < 0 || !view_templatable(v))
                return 0;
        manifest = view_manifest(v);
        if (!manifest)
                return -ENOMEM;
        want = calloc(v->n_mounts, sizeof *want);
        paths = calloc(v->n_mounts + 1, sizeof *paths);
        trees = calloc(v->n_mounts, sizeof *trees);
        if (!want || !paths || !trees)
                return -ENOMEM;
        for (size_t i = 0; i < v->n_mounts; i++) {
                if (fstat(v->mounts[i].tree, &want[i]) < 0)
                        return negative_errno();
                paths[i] = v->mounts[i].path;
        }
        n = v->n_mounts;
        r = fs_template_ns_clone(template_ns, manifest, paths, want, n, trees);
        if (r < 0)
                return r;
        for (size_t k = 0; k < n; k++) {
                safe_close(v->mounts[k].tree);
                v->mounts[k].tree = trees[k];
        }
        v->from_template = true;
        return 1;
}

int fs_view_take_template(FsView *v) {
        return v ? TAKE_FD(v->template_out) : -1;
}

int fs_view_attach(FsView *v, uid_t uid, gid_t gid, bool make_template, FsProtectCreatedFn created, void *userdata,
                   char **ret_error) {
        struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
        _cleanup_(fs_pin_memo_done) FsPinMemo memo = { .full = v->from_template };
        int dir_mask = -1, file_mask = -1, r;

        for (size_t i = 0; i < v->n_symlinks; i++)
                if (symlink(v->symlinks[i].target, v->symlinks[i].path) < 0 && errno != EEXIST)
                        return set_error(ret_error, errno, "recreating the symlink %s: %s", v->symlinks[i].path, strerror(errno));

        if (v->n_mounts > 0)
                qsort(v->mounts, v->n_mounts, sizeof *v->mounts, cmp_mount);
        for (size_t i = 0; i < v->n_mounts; i++) {
                r = attach_tree(v->mounts[i].tree, v->mounts[i].path, v->mounts[i].dir);
                if (r < 0)
                        return set_error(ret_error, r, "binding %s into the sandbox: %s", v->mounts[i].path, strerror(-r));
                v->mounts[i].tree = safe_close(v->mounts[i].tree);
        }

        r = pin_rebinds(v, FS_REBIND_RO, &memo, uid, gid, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < v->n_rebinds; i++) {
                _cleanup_close_ int target = -1, tree = -1;
                FsRebind *b = &v->rebinds[i];

                if (b->kind != FS_REBIND_RO)
                        continue;
                target = open_target(b->path);
                if (target == -ENOENT)
                        continue;       /* not in the view (e.g. defaultDenyRead) */
                if (target < 0)
                        return set_error(ret_error, target, "filesystem.denyWrite: %s: %s", b->path, strerror(-target));
                if (!b->dir && on_readonly_mount(target))
                        continue;       /* read-only already: a bind would add nothing */
                tree = open_tree(target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
                if (tree < 0 || mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof ro) < 0 ||
                    move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        return set_error(ret_error, errno, "filesystem.denyWrite: %s: cannot make it read-only: %s",
                                         b->path, strerror(errno));
                if (!b->dir)
                        memo.made++;
        }

        if (v->have_protect) {
                int existing, missing;

                (void) setfsgid(gid);
                (void) setfsuid(uid);
                existing = fs_protect_apply_existing(&v->protect, &memo, created, userdata);
                (void) setfsuid(0);
                (void) setfsgid(0);
                if (existing < 0)
                        return set_error(ret_error, existing, "protecting the mandatory files: %s", strerror(-existing));
                /* The template: what this launch had to make, before any
                 * placeholder (they are removed after the sandbox) and
                 * before the denyRead masks. */
                if (make_template && existing == 0 && memo.made > 0 && view_templatable(v)) {
                        _cleanup_free_ char *manifest = view_manifest(v);

                        r = manifest ? fs_template_ns_snapshot(manifest, &v->template_out) : -ENOMEM;
                        if (r == -ENOTRECOVERABLE)
                                return set_error(ret_error, r, "returning from the template's mount namespace");
                        if (r < 0)
                                log_debug_errno(r, "No template of this view: %m");
                }
                (void) setfsgid(gid);
                (void) setfsuid(uid);
                missing = fs_protect_apply_missing(&v->protect, &memo, created, userdata);
                (void) setfsuid(0);
                (void) setfsgid(0);
                if (missing < 0)
                        return set_error(ret_error, missing, "protecting the mandatory files: %s", strerror(-missing));
                if (existing + missing > 0)
                        log_debug("%d placeholder(s) block the creation of protected names.", existing + missing);
        }

        r = pin_rebinds(v, FS_REBIND_MASK, &memo, uid, gid, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < v->n_rebinds; i++) {
                _cleanup_close_ int target = -1, tree = -1;
                FsRebind *b = &v->rebinds[i];

                if (b->kind != FS_REBIND_MASK)
                        continue;
                if (dir_mask < 0) {
                        r = make_masks(&dir_mask, &file_mask);
                        if (r < 0)
                                return set_error(ret_error, r, "creating the denyRead masks: %s", strerror(-r));
                }
                target = open_target(b->path);
                if (target == -ENOENT)
                        continue;
                if (target < 0) {
                        r = set_error(ret_error, target, "filesystem.denyRead: %s: %s", b->path, strerror(-target));
                        goto finish;
                }
                tree = open_tree(b->dir ? dir_mask : file_mask, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                if (tree < 0 || mount_setattr(tree, "", AT_EMPTY_PATH, &ro, sizeof ro) < 0 ||
                    move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
                        r = set_error(ret_error, errno, "filesystem.denyRead: %s: cannot hide it: %s", b->path, strerror(errno));
                        goto finish;
                }
        }

        if (v->default_deny_read &&
            mount_setattr(AT_FDCWD, "/", 0, &ro, sizeof ro) < 0) {
                r = set_error(ret_error, errno, "making the sandbox root read-only: %s", strerror(errno));
                goto finish;
        }
        r = 0;
finish:
        safe_close(dir_mask);
        safe_close(file_mask);
        return r;
}

/* Whether rule i adds nothing: a writable rule (every right the ABI knows)
 * on the same path or an ancestor grants it already, Landlock's rights
 * being unions along the hierarchy. allowWrite [".", "./src"] then costs
 * one rule, and every path lookup in the sandbox checks one rule fewer.
 * Above RULES_DEDUP_MAX rules the check is skipped (it is quadratic). */
#define RULES_DEDUP_MAX 1024U
static bool rule_redundant(const FsView *v, size_t i) {
        const char *p = v->rules[i].path;

        if (v->n_rules > RULES_DEDUP_MAX)
                return false;
        for (size_t j = 0; j < v->n_rules; j++) {
                const char *a = v->rules[j].path;
                size_t l = strlen(a);

                if (j == i || v->rules[j].tier != LANDLOCK_TIER_WRITE || strncmp(a, p, l) != 0)
                        continue;
                if (p[l] == 0 ? (v->rules[i].tier != LANDLOCK_TIER_WRITE || j < i) : (p[l] == '/' || streq(a, "/")))
                        return true;
        }
        return false;
}

int fs_view_landlock(const FsView *v, char **ret_error) {
        _cleanup_(landlock_ruleset_freep) LandlockRuleset *rs = NULL;
        int abi = landlock_abi(), r;

        if (abi <= 0) {
                if (v && v->landlock_required)
                        return set_error(ret_error, EOPNOTSUPP,
                                         "this kernel has no Landlock, which the policy needs (allowExecute with defaultDenyRead)");
                return 0;       /* the mount view alone enforces the policy */
        }

        r = landlock_ruleset_new(&rs, abi, fs_view_default_deny_read(v));
        if (r < 0)
                return set_error(ret_error, r, "creating the Landlock ruleset: %s", strerror(-r));
        /* No signals to, and no abstract sockets of, processes outside. */
        if (abi >= 6) {
                r = landlock_ruleset_set_scoped(rs, true);
                if (r < 0)
                        return set_error(ret_error, r, "scoping the Landlock ruleset: %s", strerror(-r));
        }

        /* Writable places every sandbox has, and the devices. */
        (void) landlock_ruleset_add_path_at(rs, AT_FDCWD, "/tmp", LANDLOCK_TIER_WRITE);
        (void) landlock_ruleset_add_path_at(rs, AT_FDCWD, "/dev/shm", LANDLOCK_TIER_WRITE);
        (void) landlock_ruleset_add_path_at(rs, AT_FDCWD, "/dev", LANDLOCK_TIER_DEVICE);
        if (fs_view_default_deny_read(v))
                (void) landlock_ruleset_add_path_at(rs, AT_FDCWD, "/proc", LANDLOCK_TIER_SYSTEM);

        for (size_t i = 0; v && i < v->n_rules; i++) {
                if (rule_redundant(v, i))
                        continue;
                r = landlock_ruleset_add_path_at(rs, AT_FDCWD, v->rules[i].path, v->rules[i].tier);
                if (r < 0 && r != -ENOENT && r != -EACCES)
                        return set_error(ret_error, r, "Landlock rule for %s: %s", v->rules[i].path, strerror(-r));
        }

        r = landlock_ruleset_restrict_self(rs);
        if (r < 0)
                return set_error(ret_error, r, "enforcing the Landlock ruleset: %s", strerror(-r));
        return 0;
}
