#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

#include "fs-protect-cache.h"
#include "fs-protect.h"
#include "log.h"
#include "strv.h"

static const char * const dangerous_files[] = {
        ".gitconfig", ".gitmodules",
        ".bashrc", ".bash_profile", ".zshrc", ".zprofile", ".profile",
        ".ripgreprc", ".mcp.json",
};

static const char * const dangerous_dirs[] = {
        ".vscode", ".idea",
};

/* Below a .claude directory. */
static const char * const claude_dirs[] = {
        "commands", "agents",
};

#define DENTS_SIZE (64 * 1024)

static bool errno_is_skip(int e) {
        return e == ENOENT || e == ENOTDIR || e == ELOOP || e == EACCES || e == EPERM;
}

typedef struct Collector {
        FsProtectList *list;
        size_t cap_existing, cap_missing;
        bool allow_git_config;
        FsGlobLimits lim;
        const char *cwd;
        const char *home;       /* may be NULL */
        size_t visited;
        char *dents;            /* getdents64 buffer, shared by all levels */

        char *path;             /* the directory being walked */
        size_t path_len, path_cap;

        char **gitlinks;        /* `.git` entries that are files or symlinks */
        char *error;            /* which bound was hit, for the caller */
        FsProtectCache *cache_in;       /* what the last walk found, or NULL */
        FsProtectCache *cache_out;      /* what this walk finds, for the next one */
        struct timespec started;        /* when this walk began */
        size_t cache_hits;
        bool cache_changed;             /* cache_out differs from cache_in */
        int watch_fd;                   /* fanotify group marking the directories, or -1 */
        bool trusted;                   /* cache_in's marked directories are unchanged */
        bool watch_incomplete;          /* a directory kept in cache_out is not marked */
        size_t marks;                   /* marks this walk added */
} Collector;

/* Hitting a bound: logged, and kept for the caller's error message. */
_printf_(2, 3)
static int collect_bound(Collector *c, const char *fmt, ...) {
        va_list ap;

        if (!c->error) {
                va_start(ap, fmt);
                if (vasprintf(&c->error, fmt, ap) < 0)
                        c->error = NULL;
                va_end(ap);
        }
        log_error("%s", c->error ?: "a bound was hit while looking for protected files");
        return -E2BIG;
}

static bool in_list(const char * const *l, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

static bool is_dangerous_file(const char *name) {
        return in_list(dangerous_files, ELEMENTSOF(dangerous_files), name);
}

static bool is_dangerous_dir(const char *name) {
        return in_list(dangerous_dirs, ELEMENTSOF(dangerous_dirs), name);
}

static bool is_claude_dir(const char *name) {
        return in_list(claude_dirs, ELEMENTSOF(claude_dirs), name);
}

static char *path_join(const char *a, const char *b) {
        char *r;

        if (asprintf(&r, "%s%s%s", a, endswith(a, "/") ? "" : "/", b) < 0)
                return NULL;
        return r;
}

void fs_protect_list_done(FsProtectList *l) {
        for (size_t i = 0; i < l->n_existing; i++)
                free(l->existing[i].path);
        free(l->existing);
        for (size_t i = 0; i < l->n_missing; i++) {
                free(l->missing[i].parent);
                free(l->missing[i].name);
        }
        free(l->missing);
        *l = (FsProtectList) {};
}

static int check_list_bound(Collector *c) {
        if (c->list->n_existing + c->list->n_missing < c->lim.max_matches)
                return 0;
        return collect_bound(c,
                               "More than %zu protected paths below %s. "
                               "Run the sandbox from a smaller directory, or name the writable subdirectories in allowWrite instead of the whole tree.",
                               c->lim.max_matches, c->cwd);
}

/* Records an existing path. dir_fd/name are used to identify the inode
 * (without following a final symlink); path is its absolute spelling. */
static int add_existing(Collector *c, int dir_fd, const char *name, char *path, FsProtectKind kind) {
        _cleanup_free_ char *p = path;
        FsProtectList *l = c->list;
        struct stat st;
        int k;

        if (!p)
                return -ENOMEM;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                /* Raced away since it was listed: nothing to protect. */
                return errno == ENOENT ? 0 : -errno;

        k = check_list_bound(c);
        if (k < 0)
                return k;

        if (!GREEDY_REALLOC(l->existing, c->cap_existing, l->n_existing + 1))
                return -ENOMEM;
        l->existing[l->n_existing++] = (FsProtectPath) {
                .path = TAKE_PTR(p),
                .kind = kind,
                .dev = st.st_dev,
                .ino = st.st_ino,
        };
        return 0;
}

static int add_missing(Collector *c, int parent_fd, const char *parent, const char *name, FsProtectKind kind) {
        FsProtectList *l = c->list;
        struct stat st;
        char *p, *n;
        int k;

        if (fstat(parent_fd, &st) < 0)
                return -errno;

        k = check_list_bound(c);
        if (k < 0)
                return k;

        if (!GREEDY_REALLOC(l->missing, c->cap_missing, l->n_missing + 1))
                return -ENOMEM;

        p = strdup(parent);
        n = strdup(name);
        if (!p || !n) {
                free(p);
                free(n);
                return -ENOMEM;
        }
        l->missing[l->n_missing++] = (FsProtectMissing) {
                .parent = p,
                .name = n,
                .kind = kind,
                .parent_dev = st.st_dev,
                .parent_ino = st.st_ino,
        };
        return 0;
}

/* Adds `name` below the directory dir_fd (spelled dir) as existing when it
 * is there, as missing when it is not. */
static int add_existing_or_missing(Collector *c, int dir_fd, const char *dir, const char *name, FsProtectKind kind) {
        struct stat st;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0)
                return add_existing(c, dir_fd, name, path_join(dir, name), kind);
        if (errno != ENOENT)
                /* ENOTDIR, EACCES...: the caller cannot make it there either. */
                return 0;
        return add_missing(c, dir_fd, dir, name, kind);
}

/* The protected names of a git directory (also bare and module ones). */
static int add_gitdir(Collector *c, int dir_fd, const char *dir) {
        int k;

        k = add_existing_or_missing(c, dir_fd, dir, "hooks", FS_PROTECT_DIR);
        if (k < 0 || c->allow_git_config)
                return k;
        k = add_existing_or_missing(c, dir_fd, dir, "config", FS_PROTECT_FILE);
        if (k < 0)
                return k;
        /* Read when extensions.worktreeConfig is on; can set core.hooksPath. */
        if (faccessat(dir_fd, "config.worktree", F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                return add_existing(c, dir_fd, "config.worktree", path_join(dir, "config.worktree"), FS_PROTECT_FILE);
        return 0;
}

static int add_gitdir_path(Collector *c, const char *dir) {
        _cleanup_close_ int fd = -1;

        fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return 0;       /* a stale gitdir pointer: git cannot use it either */
        return add_gitdir(c, fd, dir);
}

/* Reads a small file of the form "<key>: <value>\n" or "<value>\n". */
static int read_pointer_file(const char *path, const char *key, char **ret) {
        _cleanup_close_ int fd = -1;
        char buf[PATH_MAX + 64];
        const char *v = buf;
        ssize_t n;
        size_t l;

        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        if (key) {
                v = startswith(buf, key);
                if (!v)
                        return -EBADMSG;
                v += strspn(v, " \t");
        }
        l = strcspn(v, "\r\n");
        if (l == 0)
                return -EBADMSG;
        *ret = strndup(v, l);
        return *ret ? 0 : -ENOMEM;
}

/* Resolves value relative to dir, canonicalised. */
static char *resolve_relative(const char *dir, const char *value) {
        _cleanup_free_ char *j = NULL;

        if (value[0] == '/')
                return realpath(value, NULL);
        j = path_join(dir, value);
        return j ? realpath(j, NULL) : NULL;
}

/* A `.git` that is not a directory: a symlink to a git dir, or a "gitdir:"
 * file (worktrees, submodules) whose git dir may have a commondir holding
 * the hooks and config shared by all worktrees. */
static int add_gitlink(Collector *c, const char *gitlink) {
        _cleanup_free_ char *dir = NULL, *value = NULL, *gitdir = NULL, *commondir_value = NULL,
                *commondir_file = NULL, *common = NULL, *wt = NULL;
        struct stat st;
        char *slash;
        int k;

        if (lstat(gitlink, &st) < 0)
                return 0;
        if (S_ISLNK(st.st_mode)) {
                _cleanup_free_ char *target = realpath(gitlink, NULL);
                return target ? add_gitdir_path(c, target) : 0;
        }
        if (!S_ISREG(st.st_mode))
                return 0;

        dir = strdup(gitlink);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash)
                *(slash == dir ? slash + 1 : slash) = 0;

        k = read_pointer_file(gitlink, "gitdir:", &value);
        if (k < 0)
                return k == -ENOMEM ? k : 0;    /* not a gitlink: git ignores it too */
        gitdir = resolve_relative(dir, value);
        if (!gitdir)
                return 0;

        commondir_file = path_join(gitdir, "commondir");
        if (!commondir_file)
                return -ENOMEM;
        k = read_pointer_file(commondir_file, NULL, &commondir_value);
        if (k == -ENOMEM)
                return k;
        common = k >= 0 ? resolve_relative(gitdir, commondir_value) : strdup(gitdir);
        if (!common)
                return k >= 0 ? 0 : -ENOMEM;

        k = add_gitdir_path(c, common);
        if (k < 0 || c->allow_git_config || streq(common, gitdir))
                return k;

        wt = path_join(gitdir, "config.worktree");
        if (!wt)
                return -ENOMEM;
        if (lstat(wt, &st) < 0)
                return 0;
        return add_existing(c, AT_FDCWD, wt, strdup(wt), FS_PROTECT_FILE);
}

static int path_push(Collector *c, const char *name, size_t *ret_old) {
        size_t l = strlen(name), need = c->path_len + 1 + l + 1;

        if (need > c->path_cap) {
                size_t cap = need > c->path_cap * 2 ? need : c->path_cap * 2;
                char *n = realloc(c->path, cap);
                if (!n)
                        return -ENOMEM;
                c->path = n;
                c->path_cap = cap;
        }
        *ret_old = c->path_len;
        if (c->path_len == 0 || c->path[c->path_len - 1] != '/')
                c->path[c->path_len++] = '/';
        memcpy(c->path + c->path_len, name, l + 1);
        c->path_len += l;
        return 0;
}

static void path_pop(Collector *c, size_t old) {
        c->path_len = old;
        c->path[old] = 0;
}

/* Markers that make a directory a git directory even when it is not named
 * .git: bare repositories and .git/modules/<name>. */
enum {
        GIT_HEAD = 1 << 0,
        GIT_OBJECTS = 1 << 1,
        GIT_REFS = 1 << 2,
};

static int count_visited(Collector *c, uint64_t n) {
        c->visited += n;
        if (c->visited <= c->lim.max_visited)
                return 0;
        return collect_bound(c,
                               "Looking for protected files below %s read more than %zu directory entries (at %s). "
                               "Run the sandbox from a smaller directory, or name the writable subdirectories in allowWrite instead of the whole tree.",
                               c->cwd, c->lim.max_visited, c->path);
}

/* Lists the directory dfd (c->path): records what matters in it, collects
 * the names of its subdirectories, tells whether it is a git directory. */
static int list_dir(Collector *c, int dfd, const char *base, char **subdirs, size_t *subdirs_len,
                    uint64_t *n_entries, bool *ret_gitdir) {
        size_t subdirs_cap_v = 0, *subdirs_cap = &subdirs_cap_v;
        unsigned git = 0;
        int k;

        for (;;) {
                ssize_t n = getdents64(dfd, c->dents, DENTS_SIZE);
                if (n < 0 && errno == ENOENT)
                        break;  /* removed while being read (another sandbox's
                                 * placeholder directory being swept): gone */
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;

                for (ssize_t off = 0; off < n;) {
                        struct dirent64 *de = (struct dirent64 *) (c->dents + off);
                        const char *name = de->d_name;
                        unsigned char type = de->d_type;

                        off += de->d_reclen;
                        if (streq(name, ".") || streq(name, ".."))
                                continue;

                        (*n_entries)++;
                        k = count_visited(c, 1);
                        if (k < 0)
                                return k;

                        if (type == DT_UNKNOWN) {
                                struct stat st;

                                if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                                        continue;
                                type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_REG;
                        }

                        /* Only names starting with a dot, or the few git
                         * markers, can matter: test the cheap thing first. */
                        if (name[0] == '.') {
                                if (type != DT_DIR && is_dangerous_file(name))
                                        k = add_existing(c, dfd, name, path_join(c->path, name), FS_PROTECT_FILE);
                                else if (type != DT_REG && is_dangerous_dir(name))
                                        k = add_existing(c, dfd, name, path_join(c->path, name), FS_PROTECT_DIR);
                                else if (type != DT_DIR && streq(name, ".git")) {
                                        char *p = path_join(c->path, name);
                                        k = p ? strv_consume(&c->gitlinks, p) : -ENOMEM;
                                } else
                                        k = 0;
                                if (k < 0)
                                        return k;
                        } else if (streq(base, ".claude") && type != DT_REG && is_claude_dir(name)) {
                                k = add_existing(c, dfd, name, path_join(c->path, name), FS_PROTECT_DIR);
                                if (k < 0)
                                        return k;
                        } else if (streq(name, "HEAD") && type != DT_DIR)
                                git |= GIT_HEAD;
                        else if (streq(name, "objects") && type == DT_DIR)
                                git |= GIT_OBJECTS;
                        else if (streq(name, "refs") && type == DT_DIR)
                                git |= GIT_REFS;

                        if (type == DT_DIR) {
                                size_t l = strlen(name) + 1;

                                if (*subdirs_len + l > *subdirs_cap) {
                                        size_t cap = *subdirs_cap * 2 > *subdirs_len + l ? *subdirs_cap * 2 : *subdirs_len + l + 256;
                                        char *m = realloc(*subdirs, cap);
                                        if (!m)
                                                return -ENOMEM;
                                        *subdirs = m;
                                        *subdirs_cap = cap;
                                }
                                memcpy(*subdirs + *subdirs_len, name, l);
                                *subdirs_len += l;
                        }
                }
        }

        *ret_gitdir = streq(base, ".git") || git == (GIT_HEAD | GIT_OBJECTS | GIT_REFS);
        if (*ret_gitdir) {
                k = add_gitdir(c, dfd, c->path);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* What a cached directory held, added to the list as if it had been read. */
static int replay_dir(Collector *c, const FsProtectDir *d) {
        FsProtectList *l = c->list;
        int k;

        k = count_visited(c, d->n_entries);
        if (k < 0)
                return k;
        for (size_t i = 0; i < d->n_existing; i++) {
                k = check_list_bound(c);
                if (k < 0)
                        return k;
                if (!GREEDY_REALLOC(l->existing, c->cap_existing, l->n_existing + 1))
                        return -ENOMEM;
                l->existing[l->n_existing] = d->existing[i];
                l->existing[l->n_existing].path = strdup(d->existing[i].path);
                if (!l->existing[l->n_existing].path)
                        return -ENOMEM;
                l->n_existing++;
        }
        for (size_t i = 0; i < d->n_missing; i++) {
                const FsProtectMissing *m = &d->missing[i];

                k = check_list_bound(c);
                if (k < 0)
                        return k;
                if (!GREEDY_REALLOC(l->missing, c->cap_missing, l->n_missing + 1))
                        return -ENOMEM;
                l->missing[l->n_missing] = *m;
                l->missing[l->n_missing].parent = strdup(m->parent);
                l->missing[l->n_missing].name = strdup(m->name);
                l->n_missing++;
                if (!l->missing[l->n_missing - 1].parent || !l->missing[l->n_missing - 1].name)
                        return -ENOMEM;
        }
        for (char **g = d->gitlinks; g && *g; g++) {
                k = strv_extend(&c->gitlinks, *g);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* The findings of the directory just listed (everything added since the
 * counts e0, m0, g0), for the cache. */
static int record_dir(Collector *c, FsProtectDir *rec, size_t e0, size_t m0, size_t g0) {
        const FsProtectList *l = c->list;

        rec->existing = calloc(l->n_existing - e0 + 1, sizeof *rec->existing);
        rec->missing = calloc(l->n_missing - m0 + 1, sizeof *rec->missing);
        if (!rec->existing || !rec->missing)
                return -ENOMEM;
        for (size_t i = e0; i < l->n_existing; i++) {
                rec->existing[rec->n_existing] = l->existing[i];
                rec->existing[rec->n_existing].path = strdup(l->existing[i].path);
                if (!rec->existing[rec->n_existing++].path)
                        return -ENOMEM;
        }
        for (size_t i = m0; i < l->n_missing; i++) {
                FsProtectMissing *m = &rec->missing[rec->n_missing++];

                *m = l->missing[i];
                m->parent = strdup(l->missing[i].parent);
                m->name = strdup(l->missing[i].name);
                if (!m->parent || !m->name)
                        return -ENOMEM;
        }
        for (size_t i = g0; c->gitlinks && c->gitlinks[i]; i++)
                if (strv_extend(&rec->gitlinks, c->gitlinks[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static bool stamp_equal(const FsProtectStamp *a, const FsProtectStamp *b) {
        return a->dev == b->dev && a->ino == b->ino && a->mtime_sec == b->mtime_sec &&
               a->mtime_nsec == b->mtime_nsec && a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec;
}

/* Directories up to this size whose stamp changed but whose findings did
 * not do not make the cache rewritten (see walk()). */
#define STAMP_ONLY_MAX_ENTRIES 256U

static bool same_findings(const FsProtectDir *a, const FsProtectDir *b) {
        if (a->n_entries != b->n_entries || a->n_existing != b->n_existing || a->n_missing != b->n_missing ||
            a->subdirs_len != b->subdirs_len || strv_length(a->gitlinks) != strv_length(b->gitlinks))
                return false;
        if (a->subdirs_len > 0 && memcmp(a->subdirs, b->subdirs, a->subdirs_len) != 0)
                return false;
        for (size_t i = 0; i < a->n_existing; i++) {
                const FsProtectPath *x = &a->existing[i], *y = &b->existing[i];

                if (!streq(x->path, y->path) || x->kind != y->kind || x->dev != y->dev || x->ino != y->ino)
                        return false;
        }
        for (size_t i = 0; i < a->n_missing; i++) {
                const FsProtectMissing *x = &a->missing[i], *y = &b->missing[i];

                if (!streq(x->parent, y->parent) || !streq(x->name, y->name) || x->kind != y->kind ||
                    x->parent_dev != y->parent_dev || x->parent_ino != y->parent_ino)
                        return false;
        }
        for (size_t i = 0; a->gitlinks && a->gitlinks[i]; i++)
                if (!streq(a->gitlinks[i], b->gitlinks[i]))
                        return false;
        return true;
}

static int walk_subdir(Collector *c, int dfd, const char *name, unsigned depth);

/* Directories where placeholders come and go at every launch, and the
 * placeholder directories themselves (fenced removes them after the
 * sandbox, possibly while the next walk lists them): the cwd, the home,
 * .claude, the protected directory names (.vscode, .idea, hooks, commands
 * and agents below .claude), and any directory missing a protected name (a
 * git directory without hooks). Never marked by the watch, whose events
 * would otherwise end its trust at every launch; their stamps are checked
 * instead, as without a watch. */
static bool parent_is_claude(const char *path) {
        const char *slash = strrchr(path, '/');

        return slash && slash - path >= 8 && strncmp(slash - 8, "/.claude", 8) == 0;
}

static bool dir_volatile(const Collector *c, const FsProtectDir *d, unsigned depth, const char *base) {
        return depth == 0 || streq(base, ".claude") || streq(base, "hooks") || is_dangerous_dir(base) ||
               (is_claude_dir(base) && parent_is_claude(c->path)) || (c->home && streq(c->path, c->home)) ||
               (d && d->n_missing > 0);
}

/* Marks the directory name of dfd in the watch, before it is stamped or
 * read: a change from then on is an event, one before shows in the stamp
 * or the listing. Returns whether it is marked. */
static bool watch_mark(Collector *c, int dfd, const char *name) {
        if (c->watch_fd < 0)
                return false;
        /* Each mark keeps its inode in memory: a huge tree is checked by
         * stamps instead. */
        if (c->marks >= FS_PROTECT_WATCH_MAX_MARKS)
                return false;
        if (fanotify_mark(c->watch_fd, FAN_MARK_ADD | FAN_MARK_DONT_FOLLOW | FAN_MARK_ONLYDIR,
                          FS_PROTECT_WATCH_MASK, dfd, name) >= 0) {
                c->marks++;
                return true;
        }
        if (!errno_is_skip(errno) && errno != ENOTDIR)
                log_debug_errno(errno, "Cannot watch %s, its walk is checked by stamps only: %m", c->path);
        return false;
}

static void watch_unmark(Collector *c, int dfd, const char *name) {
        (void) fanotify_mark(c->watch_fd, FAN_MARK_REMOVE | FAN_MARK_DONT_FOLLOW | FAN_MARK_ONLYDIR,
                             FS_PROTECT_WATCH_MASK, dfd, name);
}

/* dfd: the directory c->path, or -1 when the caller found it unchanged
 * already (known: its cached record, whose stamp matched, or which the
 * watch vouches for; then nothing in it needs an fd). marked: whether
 * the watch marked it before it was stamped or read; parent_fd/base name it
 * for unmarking. */
static int walk(Collector *c, int dfd, const char *base, unsigned depth, FsProtectDir *known,
                const FsProtectStamp *known_stamp, bool marked, int parent_fd) {
        _cleanup_(fs_protect_dir_done) FsProtectDir rec = {};
        _cleanup_free_ char *subdirs = NULL;
        size_t subdirs_len = 0, e0 = c->list->n_existing, m0 = c->list->n_missing, g0 = strv_length(c->gitlinks);
        FsProtectDir *hit = NULL, *stale = NULL;
        const char *iter;       /* the subdirectories' names */
        bool gitdir = false, changed = false;
        int k;

        if (known) {
                assert(dfd < 0);
                rec.stamp = *known_stamp;
                hit = known;
        } else if (c->cache_out) {
                struct stat st;

                /* Stamped before listing: a change while listing then
                 * shows as a mismatch next time. */
                if (fstat(dfd, &st) < 0)
                        return -errno;
                fs_protect_stamp_from_stat(&rec.stamp, &st);
                hit = c->cache_in ? fs_protect_cache_find(c->cache_in, c->path) : NULL;
                if (hit && !stamp_equal(&hit->stamp, &rec.stamp)) {
                        stale = hit;
                        hit = NULL;
                }
        }

        if (hit) {
                c->cache_hits++;
                k = replay_dir(c, hit);
                if (k < 0)
                        return k;
                /* Taken over by the new cache (the path stays: it is the
                 * search key of the old one). */
                rec.n_entries = hit->n_entries;
                rec.existing = TAKE_PTR(hit->existing);
                rec.n_existing = hit->n_existing;
                rec.missing = TAKE_PTR(hit->missing);
                rec.n_missing = hit->n_missing;
                rec.gitlinks = TAKE_PTR(hit->gitlinks);
                hit->n_existing = hit->n_missing = 0;
                subdirs = TAKE_PTR(hit->subdirs);
                subdirs_len = hit->subdirs_len;
                hit->subdirs_len = 0;
        } else {
                _cleanup_close_ int list_fd = -1;

                /* Opened with O_PATH while a cache hit was possible: open it
                 * for reading now. */
                if (c->cache_out) {
                        list_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (list_fd < 0)
                                return errno_is_skip(errno) ? 0 :
                                        log_error_errno(errno, "Failed to open %s: %m", c->path);
                        changed = !fs_protect_stamp_racy(&rec.stamp, &c->started);
                }
                k = list_dir(c, list_fd >= 0 ? list_fd : dfd, base, &subdirs, &subdirs_len, &rec.n_entries, &gitdir);
                if (k < 0)
                        return k;
                if (c->cache_out) {
                        k = record_dir(c, &rec, e0, m0, g0);
                        if (k < 0)
                                return k;
                }
        }

        iter = subdirs;
        if (c->watch_fd >= 0) {
                /* What the stored walk says of this directory is only
                 * vouched for if it was marked before it was read. */
                if (dir_volatile(c, &rec, depth, base)) {
                        if (marked)
                                watch_unmark(c, parent_fd, base);
                } else if (!marked)
                        c->watch_incomplete = true;
        }

        if (c->cache_out) {
                rec.path = strdup(c->path);
                if (!rec.path)
                        return -ENOMEM;
                /* The object store is never walked (below): not kept either.
                 * A record from the cache holds none already. */
                if (hit) {
                        /* Owned by the new cache, which outlives this walk. */
                        iter = rec.subdirs = TAKE_PTR(subdirs);
                        rec.subdirs_len = subdirs_len;
                }
                for (size_t off = 0; !hit && off < subdirs_len;) {
                        const char *name = subdirs + off;
                        size_t l = strlen(name) + 1;

                        off += l;
                        if (gitdir && streq(name, "objects"))
                                continue;
                        rec.subdirs = realloc(rec.subdirs, rec.subdirs_len + l);
                        if (!rec.subdirs)
                                return -ENOMEM;
                        memcpy(rec.subdirs + rec.subdirs_len, name, l);
                        rec.subdirs_len += l;
                }
                /* Listed again, and found as it was: only its stamp moved
                 * (the cwd, where placeholders come and go at every launch).
                 * Rewriting the whole cache for that costs more than listing
                 * a small directory again next time. */
                if (stale && rec.n_entries <= STAMP_ONLY_MAX_ENTRIES && same_findings(stale, &rec)) {
                        c->cache_hits++;
                        changed = false;
                }
                if (changed)
                        c->cache_changed = true;
                k = fs_protect_cache_add(c->cache_out, &rec);
                if (k < 0)
                        return k;
        }

        for (size_t off = 0; off < subdirs_len;) {
                const char *name = iter + off;
                size_t old;

                off += strlen(name) + 1;

                /* The object store holds only content-addressed data (often
                 * most of a repository's entries); git never reads hooks or
                 * config from it. */
                if (gitdir && streq(name, "objects"))
                        continue;

                if (depth + 1 > c->lim.max_depth)
                        return collect_bound(c,
                                               "The tree below %s is deeper than %u directories (at %s/%s). "
                                               "Run the sandbox from a smaller directory, or name the writable subdirectories in allowWrite instead of the whole tree.",
                                               c->cwd, c->lim.max_depth, c->path, name);

                k = path_push(c, name, &old);
                if (k < 0)
                        return k;
                k = walk_subdir(c, dfd, name, depth + 1);
                path_pop(c, old);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* The parent directory of c->path, opened without following symlinks: for a
 * directory whose parent was taken from the cache without an fd. */
static int open_parent(Collector *c) {
        struct open_how how = {
                .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        char *slash = strrchr(c->path, '/');
        int fd;

        if (!slash || slash == c->path)
                return -EINVAL;
        *slash = 0;
        fd = (int) syscall(SYS_openat2, AT_FDCWD, c->path, &how, sizeof how);
        *slash = '/';
        return fd < 0 ? -errno : fd;
}

/* The subdirectory name of dfd (c->path already names it); dfd is -1 when
 * the parent was taken from the cache without an fd. */
static int walk_subdir(Collector *c, int dfd, const char *name, unsigned depth) {
        _cleanup_close_ int fd = -1, parent_fd = -1;
        FsProtectDir *d = c->cache_in ? fs_protect_cache_find(c->cache_in, c->path) : NULL;
        bool marked = false;

        /* Marked before the stored walk read it, and no event since. */
        if (c->trusted && d && !dir_volatile(c, d, depth, name))
                return walk(c, -1, name, depth, d, &d->stamp, true, -1);

        if (dfd < 0) {
                parent_fd = open_parent(c);
                if (parent_fd < 0)
                        return errno_is_skip(-parent_fd) ? 0 :
                                log_error_errno(parent_fd, "Failed to open the parent of %s: %m", c->path);
                dfd = parent_fd;
        }
        if (!(d && dir_volatile(c, d, depth, name)))
                marked = watch_mark(c, dfd, name);

        /* A cached directory without subdirectories needs no fd at all
         * when its stamp still matches: one fstatat() instead of open,
         * fstat and close (most directories of a big tree are leaves). */
        if (d && d->subdirs_len == 0) {
                FsProtectStamp stamp;
                struct stat st;

                if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISDIR(st.st_mode)) {
                        fs_protect_stamp_from_stat(&stamp, &st);
                        if (stamp_equal(&d->stamp, &stamp))
                                return walk(c, -1, name, depth, d, &stamp, marked, dfd);
                }
        }

        /* With a cache, the other directories need no listing either: an
         * O_PATH fd for their stamp and their subdirectories suffices. */
        fd = openat(dfd, name, (c->cache_out ? O_PATH : O_RDONLY) | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                /* Gone, swapped for a symlink, or unreadable by the
                 * caller (then the sandbox cannot list it either). */
                if (errno_is_skip(errno))
                        return 0;
                return log_error_errno(errno, "Failed to open %s: %m", c->path);
        }
        return walk(c, fd, name, depth, NULL, NULL, marked, dfd);
}

/* The names whose absence at the top of the cwd matters: a tool looks there. */
static int add_cwd_missing(Collector *c, int cwd_fd) {
        struct stat st;
        int k, r;

        for (size_t i = 0; i < ELEMENTSOF(dangerous_files); i++)
                if (fstatat(cwd_fd, dangerous_files[i], &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
                        k = add_missing(c, cwd_fd, c->cwd, dangerous_files[i], FS_PROTECT_FILE);
                        if (k < 0)
                                return k;
                }

        for (size_t i = 0; i < ELEMENTSOF(dangerous_dirs); i++)
                if (fstatat(cwd_fd, dangerous_dirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
                        k = add_missing(c, cwd_fd, c->cwd, dangerous_dirs[i], FS_PROTECT_DIR);
                        if (k < 0)
                                return k;
                }

        r = fstatat(cwd_fd, ".claude", &st, 0);
        if (r >= 0 && S_ISDIR(st.st_mode)) {
                _cleanup_close_ int claude_fd = openat(cwd_fd, ".claude", O_PATH | O_DIRECTORY | O_CLOEXEC);
                _cleanup_free_ char *claude = path_join(c->cwd, ".claude");

                if (!claude)
                        return -ENOMEM;
                if (claude_fd < 0)
                        return 0;
                for (size_t i = 0; i < ELEMENTSOF(claude_dirs); i++)
                        if (fstatat(claude_fd, claude_dirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
                                k = add_missing(c, claude_fd, claude, claude_dirs[i], FS_PROTECT_DIR);
                                if (k < 0)
                                        return k;
                        }
        } else if (r < 0 && errno == ENOENT)
                for (size_t i = 0; i < ELEMENTSOF(claude_dirs); i++) {
                        _cleanup_free_ char *name = path_join(".claude", claude_dirs[i]);

                        if (!name)
                                return -ENOMEM;
                        k = add_missing(c, cwd_fd, c->cwd, name, FS_PROTECT_DIR);
                        if (k < 0)
                                return k;
                }
        return 0;
}

/* When the cwd has no .git of its own, git uses the nearest one above it on
 * the same filesystem, as git's own discovery does. */
static int add_enclosing_repo(Collector *c, int cwd_fd) {
        _cleanup_free_ char *p = NULL;
        struct stat cwd_st, st;

        if (fstatat(cwd_fd, ".git", &st, AT_SYMLINK_NOFOLLOW) >= 0 || errno != ENOENT)
                return 0;
        if (fstat(cwd_fd, &cwd_st) < 0)
                return -errno;

        p = strdup(c->cwd);
        if (!p)
                return -ENOMEM;

        for (;;) {
                _cleanup_free_ char *git = NULL;
                char *slash = strrchr(p, '/');

                if (!slash || slash == p)
                        return 0;       /* "/" itself was the cwd's parent: nothing found */
                *slash = 0;

                if (stat(p, &st) < 0 || st.st_dev != cwd_st.st_dev)
                        return 0;

                git = path_join(p, ".git");
                if (!git)
                        return -ENOMEM;
                if (lstat(git, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode))
                        return add_gitdir_path(c, git);
                return add_gitlink(c, git);
        }
}

static int add_home(Collector *c, const char *home) {
        _cleanup_close_ int home_fd = -1, git_fd = -1;
        _cleanup_free_ char *xdg_git = NULL;
        int k;

        home_fd = open(home, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (home_fd < 0)
                return 0;       /* no home: nothing of it to protect */

        for (size_t i = 0; i < ELEMENTSOF(dangerous_files); i++) {
                k = add_existing_or_missing(c, home_fd, home, dangerous_files[i], FS_PROTECT_FILE);
                if (k < 0)
                        return k;
        }

        /* Git's second global config file: as powerful as ~/.gitconfig. */
        xdg_git = path_join(home, ".config/git");
        if (!xdg_git)
                return -ENOMEM;
        git_fd = openat(home_fd, ".config/git", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (git_fd < 0)
                return 0;
        return add_existing_or_missing(c, git_fd, xdg_git, "config", FS_PROTECT_FILE);
}

static int cmp_existing_path(const void *a, const void *b) {
        return strcmp(((const FsProtectPath *) a)->path, ((const FsProtectPath *) b)->path);
}

static int cmp_missing(const void *a, const void *b) {
        const FsProtectMissing *x = a, *y = b;

        if (x->parent_dev != y->parent_dev)
                return x->parent_dev < y->parent_dev ? -1 : 1;
        if (x->parent_ino != y->parent_ino)
                return x->parent_ino < y->parent_ino ? -1 : 1;
        return strcmp(x->name, y->name);
}

static int cmp_missing_path(const void *a, const void *b) {
        const FsProtectMissing *x = a, *y = b;
        int r = strcmp(x->parent, y->parent);

        return r != 0 ? r : strcmp(x->name, y->name);
}

/* One entry per path, one per missing name. Existing entries are not
 * merged by inode: a mount covers one name, and each name of a hard-linked
 * file must be covered. Two spellings of one name only cost a second,
 * harmless, read-only mount. */
static void list_normalize(FsProtectList *l) {
        size_t n = 0;

        if (l->n_existing > 0) {
                qsort(l->existing, l->n_existing, sizeof *l->existing, cmp_existing_path);
                for (size_t i = 0; i < l->n_existing; i++) {
                        if (n > 0 && streq(l->existing[n - 1].path, l->existing[i].path)) {
                                free(l->existing[i].path);
                                continue;
                        }
                        l->existing[n++] = l->existing[i];
                }
                l->n_existing = n;
        }

        n = 0;
        if (l->n_missing > 0) {
                qsort(l->missing, l->n_missing, sizeof *l->missing, cmp_missing);
                for (size_t i = 0; i < l->n_missing; i++) {
                        if (n > 0 && cmp_missing(&l->missing[n - 1], &l->missing[i]) == 0) {
                                free(l->missing[i].parent);
                                free(l->missing[i].name);
                                continue;
                        }
                        l->missing[n++] = l->missing[i];
                }
                l->n_missing = n;
                qsort(l->missing, l->n_missing, sizeof *l->missing, cmp_missing_path);
        }
}

/* The walk of the cwd tree, with what the cache says of unchanged
 * directories, and what the watch says of the marked ones. */
static int walk_cached(Collector *c, int cwd_fd, const char *base, const char *cache_dir,
                       const FsProtectWatch *watch) {
        _cleanup_(fs_protect_cache_done) FsProtectCache in = {}, out = {};
        FsProtectCacheKey key;
        struct timespec started;
        struct stat st;
        int k;

        if (!cache_dir)
                return walk(c, cwd_fd, base, 0, NULL, NULL, false, -1);

        if (fstat(cwd_fd, &st) < 0)
                return -errno;
        fs_protect_cache_key(&key, st.st_dev, st.st_ino, c->allow_git_config,
                             (const uint64_t[3]) { c->lim.max_depth, c->lim.max_matches, c->lim.max_visited });
        (void) clock_gettime(CLOCK_REALTIME, &started);
        if (watch && watch->preloaded && memcmp(&watch->preloaded->key, &key, sizeof key) == 0) {
                /* This process is a copy of fenced: the copy is ours. */
                in = *watch->preloaded;
                *watch->preloaded = (FsProtectCache) {};
        } else {
                k = fs_protect_cache_load(cache_dir, &key, &in);
                if (k < 0)
                        return k;
        }
        out.key = key;
        /* A watch of another entry (the cwd moved since fenced looked) is
         * of no use here. */
        if (watch && watch->fd >= 0 && watch->epoch != 0 && memcmp(&watch->key, &key, sizeof key) == 0) {
                c->watch_fd = watch->fd;
                c->trusted = in.epoch == watch->epoch;
                out.epoch = watch->epoch;
        }
        c->cache_in = &in;
        c->cache_out = &out;
        c->started = started;
        k = walk(c, cwd_fd, base, 0, NULL, NULL, false, -1);
        c->cache_in = c->cache_out = NULL;
        if (k < 0)
                return k;
        if (c->watch_incomplete)
                out.epoch = 0;  /* stamps alone next time */

        /* Every stored directory was found unchanged, none is new: the
         * stored entry says it all already. */
        if (!c->cache_changed && c->cache_hits == in.n_dirs && out.epoch == in.epoch)
                return 0;
        k = fs_protect_cache_save(cache_dir, &out, &started);
        if (k < 0)
                log_debug_errno(k, "Cannot cache the protection walk of %s: %m", c->cwd);
        return 0;
}

int fs_protect_collect(
                const char *cwd,
                const char *home,
                bool allow_git_config,
                const FsGlobLimits *limits,
                const char *cache_dir,
                FsProtectList *ret,
                char **ret_error) {

        return fs_protect_collect_watched(cwd, home, allow_git_config, limits, cache_dir, NULL, ret, ret_error);
}

int fs_protect_collect_watched(
                const char *cwd,
                const char *home,
                bool allow_git_config,
                const FsGlobLimits *limits,
                const char *cache_dir,
                const FsProtectWatch *watch,
                FsProtectList *ret,
                char **ret_error) {

        _cleanup_close_ int cwd_fd = -1;
        FsProtectList list = {};
        Collector c = {
                .list = &list,
                .allow_git_config = allow_git_config,
                .cwd = cwd,
                .home = home,
                .watch_fd = -1,
                .lim = {
                        .max_depth = FS_PROTECT_MAX_DEPTH_DEFAULT,
                        .max_matches = FS_PROTECT_MAX_MATCHES_DEFAULT,
                        .max_visited = FS_PROTECT_MAX_VISITED_DEFAULT,
                },
        };
        const char *base;
        int k;

        if (!cwd || cwd[0] != '/' || (home && home[0] != '/'))
                return -EINVAL;

        if (limits) {
                if (limits->max_depth > 0)
                        c.lim.max_depth = limits->max_depth;
                if (limits->max_matches > 0)
                        c.lim.max_matches = limits->max_matches;
                if (limits->max_visited > 0)
                        c.lim.max_visited = limits->max_visited;
        }

        cwd_fd = open(cwd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cwd_fd < 0)
                return log_error_errno(errno, "Failed to open working directory %s: %m", cwd);

        c.dents = malloc(DENTS_SIZE);
        c.path = strdup(cwd);
        if (!c.dents || !c.path) {
                k = -ENOMEM;
                goto finish;
        }
        c.path_len = strlen(c.path);
        c.path_cap = c.path_len + 1;
        /* "/a/b/" and "/a/b" walk the same directory. */
        while (c.path_len > 1 && c.path[c.path_len - 1] == '/')
                c.path[--c.path_len] = 0;

        base = strrchr(c.path, '/');
        k = walk_cached(&c, cwd_fd, base ? base + 1 : c.path, cache_dir, watch);
        if (k < 0)
                goto finish;

        for (char **g = c.gitlinks; g && *g; g++) {
                k = add_gitlink(&c, *g);
                if (k < 0)
                        goto finish;
        }

        k = add_cwd_missing(&c, cwd_fd);
        if (k < 0)
                goto finish;
        k = add_enclosing_repo(&c, cwd_fd);
        if (k < 0)
                goto finish;
        if (home) {
                k = add_home(&c, home);
                if (k < 0)
                        goto finish;
        }

        list_normalize(&list);
        *ret = list;
        list = (FsProtectList) {};
        k = 0;

finish:
        if (k == -E2BIG && ret_error && c.error)
                *ret_error = TAKE_PTR(c.error);
        free(c.error);
        fs_protect_list_done(&list);
        strv_free(c.gitlinks);
        free(c.dents);
        free(c.path);
        return k;
}

/* ---- enforcement ---- */

/* Clones the mount tree at fd (with everything mounted below it) and mounts
 * the clone onto the same inode. Both ends use the one fd, so the target
 * cannot be swapped between the two steps. */
static int bind_self(int fd, bool read_only) {
        _cleanup_close_ int tree = -1;

        tree = open_tree(fd, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (tree < 0)
                return -errno;

        if (read_only) {
                struct mount_attr attr = {
                        .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                };

                if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
                        return -errno;
        }

        if (move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}

/* The path of an fd in this mount namespace (symlinks resolved). */
static char *fd_path(int fd) {
        char proc[64], buf[PATH_MAX];
        ssize_t n;

        snprintf(proc, sizeof proc, "/proc/self/fd/%i", fd);
        n = readlink(proc, buf, sizeof buf - 1);
        if (n <= 0 || buf[0] != '/')
                return NULL;
        buf[n] = 0;
        return strdup(buf);
}

static bool is_mount_root(const char *path) {
        struct statx sx;

        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0)
                return true;    /* cannot tell: do not pin what we cannot see */
        return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
               (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* Whether entries of dir can be created, removed or renamed in this view:
 * a read-write mount and write permission for the fsuid. */
static bool dir_is_writable(const char *dir) {
        return faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS) >= 0;
}

static bool memo_has(const FsPinMemo *memo, const char *path) {
        return memo && strv_contains(memo->checked, path);
}

/* The full walk: every ancestor of path whose parent directory is writable
 * must be a mount point, whoever made the mounts of this view. */
static int pin_all_ancestors(const char *path, FsPinMemo *memo) {
        _cleanup_free_ char *p = strdup(path);
        int k, pinned = 0;

        if (!p)
                return -ENOMEM;
        /* Shallowest first: "/a", "/a/b", ... up to path's parent. */
        for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
                _cleanup_free_ char *parent = NULL;
                _cleanup_close_ int fd = -1;
                bool writable;

                *s = 0;
                if (memo_has(memo, p)) {
                        *s = '/';
                        continue;
                }
                /* A mount point already (the template's pins): no need to
                 * ask whether its parent is writable. */
                if (is_mount_root(p))
                        writable = false;
                else {
                        parent = strndup(p, strrchr(p, '/') - p);
                        if (!parent)
                                return -ENOMEM;
                        writable = dir_is_writable(parent[0] ? parent : "/");
                }
                if (writable) {
                        fd = open(p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0)
                                return log_error_errno(errno, "Failed to open %s: %m", p);
                        k = bind_self(fd, false);
                        if (k < 0)
                                return log_error_errno(k, "Failed to pin %s: %m", p);
                        pinned++;
                        memo->made++;
                }
                k = strv_extend(&memo->checked, p);
                if (k < 0)
                        return k;
                *s = '/';
        }
        return pinned;
}

void fs_pin_memo_done(FsPinMemo *memo) {
        memo->checked = strv_free(memo->checked);
}

int fs_protect_pin_ancestors_memo(const char *path, FsPinMemo *memo) {
        _cleanup_strv_free_ char **ancestors = NULL;
        _cleanup_free_ char *p = NULL;
        int k, pinned = 0;

        if (memo && memo->full)
                return pin_all_ancestors(path, memo);

        p = strdup(path);
        if (!p)
                return -ENOMEM;

        for (;;) {
                char *slash = strrchr(p, '/');

                /* Stop below "/": it is always a mount point. */
                if (!slash || slash == p)
                        break;
                *slash = 0;
                if (is_mount_root(p))
                        break;
                k = strv_extend(&ancestors, p);
                if (k < 0)
                        return k;
        }

        for (size_t i = strv_length(ancestors); i > 0; i--) {
                const char *a = ancestors[i - 1];
                _cleanup_free_ char *parent = strndup(a, strrchr(a, '/') - a);
                _cleanup_close_ int fd = -1;

                if (!parent)
                        return -ENOMEM;
                if (!dir_is_writable(parent[0] ? parent : "/"))
                        continue;

                fd = open(a, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return log_error_errno(errno, "Failed to open %s: %m", a);
                k = bind_self(fd, false);
                if (k < 0)
                        return log_error_errno(k, "Failed to pin %s: %m", a);
                pinned++;
                if (memo)
                        memo->made++;
        }
        return pinned;
}

int fs_protect_pin_ancestors(const char *path) {
        return fs_protect_pin_ancestors_memo(path, NULL);
}

/* Opens path again, without following a final symlink, and checks it is
 * still the inode of st: after an ancestor was pinned, the old fd points
 * into the mount now covered by the pin, and a mount made on it would be
 * invisible. */
static int reopen_same(const char *path, const struct stat *st) {
        _cleanup_close_ int fd = -1;
        struct stat now;

        fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &now) < 0)
                return -errno;
        if (now.st_dev != st->st_dev || now.st_ino != st->st_ino)
                return log_error_errno(ESTALE, "%s was replaced while being protected; try again.", path);
        return TAKE_FD(fd);
}

/* Pins the ancestors of the inode fd refers to, then binds it read-only. */
static bool on_readonly_mount(int fd);

static int protect_fd(int fd, const char *spelled, FsPinMemo *memo) {
        _cleanup_free_ char *canonical = fd_path(fd);
        const char *path = canonical ?: spelled;
        _cleanup_close_ int again = -1;
        struct stat st;
        int k;

        if (fstat(fd, &st) < 0)
                return -errno;
        k = fs_protect_pin_ancestors_memo(path, memo);
        if (k < 0)
                return k;
        /* Nothing pinned above it: fd still shows the visible inode. */
        if (k > 0) {
                again = reopen_same(path, &st);
                if (again < 0)
                        return again;
        }
        /* In a view from a template: a file on a read-only mount is bound
         * already (or its directory is read-only too). */
        if (memo && memo->full && !S_ISDIR(st.st_mode) && on_readonly_mount(again >= 0 ? again : fd))
                return 0;
        k = bind_self(again >= 0 ? again : fd, true);
        if (k < 0)
                return log_error_errno(k, "Failed to make %s read-only: %m", path);
        /* A directory is bound again at every launch (what lies below it
         * is made read-only with it): only a file's bind counts as new. */
        if (memo && !S_ISDIR(st.st_mode))
                memo->made++;
        return 0;
}

static bool on_readonly_mount(int fd) {
        struct statfs sfs;

        return fstatfs(fd, &sfs) == 0 && (sfs.f_flags & ST_RDONLY);
}

static int protect_path(const char *path, FsPinMemo *memo) {
        _cleanup_close_ int fd = -1, link = -1, target = -1;
        _cleanup_free_ char *dir = NULL, *dir_canonical = NULL, *link_path = NULL;
        struct stat st;
        int k;

        fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ENOENT : log_error_errno(errno, "Failed to open %s: %m", path);
        if (fstat(fd, &st) < 0)
                return -errno;

        /* A file on a read-only mount of the view (outside every writable
         * path) can be neither written nor replaced: a bind adds nothing.
         * A directory may hold writable mounts below it: always bound. */
        if (!S_ISLNK(st.st_mode) && !S_ISDIR(st.st_mode) && on_readonly_mount(fd))
                return 0;
        if (!S_ISLNK(st.st_mode))
                return protect_fd(fd, path, memo);

        /* A symlink: pin the link itself (so it cannot be replaced), and make
         * what it points to read-only. Its canonical spelling is its
         * directory's plus its own name. */
        dir = strndup(path, strrchr(path, '/') - path);
        if (!dir)
                return -ENOMEM;
        dir_canonical = realpath(dir[0] ? dir : "/", NULL);
        link_path = path_join(dir_canonical ?: dir, strrchr(path, '/') + 1);
        if (!link_path)
                return -ENOMEM;

        k = fs_protect_pin_ancestors_memo(link_path, memo);
        if (k < 0)
                return k;
        link = reopen_same(link_path, &st);
        if (link < 0)
                return link;
        /* In a view from a template the symlink may be pinned already. */
        if (!memo || !memo->full || !is_mount_root(link_path)) {
                k = bind_self(link, false);
                if (k < 0)
                        return log_error_errno(k, "Failed to pin symlink %s: %m", path);
                if (memo)
                        memo->made++;
        }

        target = open(path, O_PATH | O_CLOEXEC);
        if (target < 0) {
                log_warning("%s is a dangling symlink: creating its target cannot be blocked.", path);
                return 0;
        }
        return protect_fd(target, path, memo);
}

/* Reports a new entry `name` of the directory dir_fd; removes it again when
 * the report fails, so nothing unrecorded is left behind. */
static int report_created(int dir_fd, const char *name, int fd, FsProtectKind kind,
                          FsProtectCreatedFn created, void *userdata) {
        _cleanup_free_ char *parent = NULL;
        struct stat dst, st;
        int k;

        if (!created)
                return 0;
        parent = fd_path(dir_fd);
        if (!parent)
                k = -ENOMEM;
        else if (fstat(dir_fd, &dst) < 0 || fstat(fd, &st) < 0)
                k = -errno;
        else
                k = created(&(FsProtectCreated) {
                                .parent = parent,
                                .parent_dev = dst.st_dev,
                                .parent_ino = dst.st_ino,
                                .name = name,
                                .kind = kind,
                                .dev = st.st_dev,
                                .ino = st.st_ino,
                        }, userdata);
        if (k < 0)
                (void) unlinkat(dir_fd, name, kind == FS_PROTECT_DIR ? AT_REMOVEDIR : 0);
        return k;
}

/* Creates the missing components of m as the caller: directories, and for a
 * file the empty file itself. Returns an O_PATH fd of the last component, or
 * -EEXIST when it appeared since collect (then it is an existing entry),
 * -EROFS/-EACCES/-EPERM when the parent is not writable in this view. */
static int make_placeholder(const FsProtectMissing *m, FsProtectCreatedFn created, void *userdata, int *n_made) {
        _cleanup_free_ char *name = strdup(m->name);
        _cleanup_close_ int fd = -1;
        struct stat st;
        char *comp, *next_comp, *save = NULL;
        int k;

        if (!name)
                return -ENOMEM;

        fd = open(m->parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_dev != m->parent_dev || st.st_ino != m->parent_ino)
                return log_error_errno(ESTALE, "%s was replaced while the sandbox was being set up; try again.",
                                       m->parent);

        for (comp = strtok_r(name, "/", &save); comp; comp = next_comp) {
                FsProtectKind kind;
                bool made = true;
                int next;

                next_comp = strtok_r(NULL, "/", &save);
                kind = next_comp ? FS_PROTECT_DIR : m->kind;

                if (kind == FS_PROTECT_DIR) {
                        if (mkdirat(fd, comp, 0755) < 0) {
                                if (errno != EEXIST)
                                        return -errno;
                                made = false;
                        }
                        next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (next < 0)
                                return -errno;
                } else {
                        next = openat(fd, comp, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
                        if (next < 0)
                                return -errno;
                }
                if (made) {
                        k = report_created(fd, comp, next, kind, created, userdata);
                        if (k < 0) {
                                safe_close(next);
                                return k;
                        }
                        (*n_made)++;
                } else if (!next_comp) {
                        safe_close(next);
                        return -EEXIST;
                }
                safe_close(fd);
                fd = next;
        }
        return TAKE_FD(fd);
}

static size_t path_depth(const char *p) {
        size_t n = 0;

        for (; *p; p++)
                n += *p == '/';
        return n;
}

static int cmp_depth(const void *a, const void *b) {
        size_t x = path_depth((*(FsProtectPath * const *) a)->path),
               y = path_depth((*(FsProtectPath * const *) b)->path);

        return x < y ? -1 : x > y;
}

/* Blocks the creation of a missing name: a placeholder where its parent is
 * writable in this view. */
#define PROTECT_MISSING_ATTEMPTS 3U
static int protect_missing(const FsProtectMissing *m, FsPinMemo *memo, FsProtectCreatedFn created, void *userdata,
                           int *made) {
        _cleanup_free_ char *placeholder = NULL;
        _cleanup_close_ int fd = -1;
        int k;

        if (!dir_is_writable(m->parent))
                return 0;       /* the view already forbids creating it */

        placeholder = path_join(m->parent, m->name);
        if (!placeholder)
                return -ENOMEM;
        /* Another sandbox's placeholder of the same name may be in the
         * middle of its removal (its sweep runs while the next sandbox in
         * the project is set up): there, then gone. A few rounds settle it. */
        for (unsigned attempt = 0;; attempt++) {
                fd = make_placeholder(m, created, userdata, made);
                if (fd != -EEXIST)
                        break;
                /* Made meanwhile (by the caller outside): protect it as it is. */
                k = protect_path(placeholder, memo);
                if (k != -ENOENT)
                        return k;
                if (attempt >= PROTECT_MISSING_ATTEMPTS)
                        return log_error_errno(ESTALE, "%s keeps appearing and vanishing; try again.", placeholder);
        }
        if (fd == -EROFS || fd == -EACCES || fd == -EPERM)
                return 0;       /* not writable after all: nothing can be created */
        if (fd < 0)
                return log_error_errno(fd, "Cannot block the creation of %s (placeholder: %m).", placeholder);
        return protect_fd(fd, placeholder, memo);
}

/* An existing entry vanished since collect (e.g. another sandbox's
 * placeholder was removed): it is a missing one now. */
static int protect_vanished(const FsProtectPath *p, FsPinMemo *memo, FsProtectCreatedFn created, void *userdata,
                            int *made) {
        _cleanup_free_ char *parent = strndup(p->path, strrchr(p->path, '/') - p->path);
        FsProtectMissing m = {
                .parent = parent,
                .name = strrchr(p->path, '/') + 1,
                .kind = p->kind,
        };
        struct stat st;

        if (!parent)
                return -ENOMEM;
        if (!parent[0] || stat(parent, &st) < 0)
                return 0;       /* its directory is gone too: nothing can be made there */
        m.parent_dev = st.st_dev;
        m.parent_ino = st.st_ino;
        return protect_missing(&m, memo, created, userdata, made);
}

int fs_protect_apply_existing(FsProtectList *l, FsPinMemo *memo, FsProtectCreatedFn created, void *userdata) {
        _cleanup_free_ FsProtectPath **order = NULL;
        int made = 0, k;

        /* Shallowest first: a protected directory becomes a mount point, and
         * pins of deeper entries stop there instead of repeating it. */
        if (l->n_existing > 0) {
                order = malloc(l->n_existing * sizeof *order);
                if (!order)
                        return -ENOMEM;
                for (size_t i = 0; i < l->n_existing; i++)
                        order[i] = &l->existing[i];
                qsort(order, l->n_existing, sizeof *order, cmp_depth);
        }
        for (size_t i = 0; i < l->n_existing; i++) {
                k = protect_path(order[i]->path, memo);
                if (k == -ENOENT)
                        k = protect_vanished(order[i], memo, created, userdata, &made);
                if (k < 0)
                        return k;
        }
        return made;
}

int fs_protect_apply_missing(FsProtectList *l, FsPinMemo *memo, FsProtectCreatedFn created, void *userdata) {
        int made = 0, k;

        for (size_t i = 0; i < l->n_missing; i++) {
                k = protect_missing(&l->missing[i], memo, created, userdata, &made);
                if (k < 0)
                        return k;
        }
        return made;
}

int fs_protect_apply(FsProtectList *l, FsProtectCreatedFn created, void *userdata) {
        int a, b;

        a = fs_protect_apply_existing(l, NULL, created, userdata);
        if (a < 0)
                return a;
        b = fs_protect_apply_missing(l, NULL, created, userdata);
        if (b < 0)
                return b;
        return a + b;
}
