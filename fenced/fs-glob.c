#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "fs-glob.h"
#include "log.h"
#include "strv.h"

typedef struct Component {
        char *text;             /* unescaped when literal */
        bool magic;
        bool globstar;
} Component;

/* Entries kept from one directory scan, acted on once the directory has
 * been read completely, so the getdents buffer is free for the recursion.
 * Records: flags byte, d_type byte, name, NUL. */
enum {
        KEEP_MATCH = 1 << 0,    /* matched the component being scanned for */
        KEEP_DESCEND = 1 << 1,  /* a real directory a `**` walks into */
};

typedef struct Kept {
        char *buf;
        size_t len, cap;
} Kept;

typedef struct Glob {
        const char *pattern;
        Component *comps;
        size_t n_comps;
        FsGlobLimits lim;

        char *path;             /* the directory being walked; "" is "/" */
        size_t path_len, path_cap;

        char **matches;
        size_t n_matches, cap_matches;
        size_t visited;

        char *dents;            /* getdents64 buffer, shared by all levels */
        char *error;            /* which bound was hit, for the caller */
} Glob;

/* Hitting a bound: logged, and kept for the caller's error message. */
_printf_(2, 3)
static int glob_bound(Glob *g, const char *fmt, ...) {
        va_list ap;

        if (!g->error) {
                va_start(ap, fmt);
                if (vasprintf(&g->error, fmt, ap) < 0)
                        g->error = NULL;
                va_end(ap);
        }
        log_error("%s", g->error ?: "a bound was hit while expanding a pattern");
        return -E2BIG;
}

#define DENTS_SIZE (64 * 1024)

static size_t max_size(size_t a, size_t b) {
        return a > b ? a : b;
}

/* Errors that mean "nothing to walk here": raced away, replaced by a
 * non-directory or a symlink, or not readable under the caller's identity. */
static bool errno_is_skip(int e) {
        return e == ENOENT || e == ENOTDIR || e == ELOOP || e == EACCES || e == EPERM;
}

static bool is_magic_char(char c) {
        return c == '*' || c == '?' || c == '[';
}

bool fs_glob_has_magic(const char *p) {
        for (; *p; p++) {
                if (*p == '\\') {
                        if (!p[1])
                                break;
                        p++;
                } else if (is_magic_char(*p))
                        return true;
        }
        return false;
}

/* p points just after '['. Returns 1/0 for match/no match and stores the
 * position after ']' in *end, or -1 when the class is not closed (then '['
 * is an ordinary character, as in fnmatch). */
static int class_match(const char *p, unsigned char c, const char **end) {
        bool negate = false, matched = false, first = true;

        if (*p == '!' || *p == '^') {
                negate = true;
                p++;
        }

        /* A ']' right after '[' or '[!' is a member, not the end. */
        while (*p && (first || *p != ']')) {
                unsigned char lo, hi;

                first = false;
                if (*p == '\\' && p[1])
                        p++;
                lo = hi = (unsigned char) *p++;
                if (p[0] == '-' && p[1] && p[1] != ']') {
                        p++;
                        if (*p == '\\' && p[1])
                                p++;
                        hi = (unsigned char) *p++;
                }
                if (lo <= c && c <= hi)
                        matched = true;
        }
        if (*p != ']')
                return -1;
        *end = p + 1;
        return matched != negate;
}

bool fs_glob_match_name(const char *p, const char *s) {
        const char *star_p = NULL, *star_s = NULL;

        /* Greedy with one backtrack point: on a mismatch, let the last '*'
         * swallow one more character. Linear for the patterns people write,
         * never exponential. */
        for (;;) {
                const char *next = NULL;
                bool ok;

                if (*p == '*') {
                        while (*p == '*')
                                p++;
                        if (!*p)
                                return true;
                        star_p = p;
                        star_s = s;
                        continue;
                }
                if (!*s)
                        return !*p;

                if (!*p)
                        ok = false;
                else if (*p == '?') {
                        ok = true;
                        next = p + 1;
                } else if (*p == '[') {
                        int k = class_match(p + 1, (unsigned char) *s, &next);
                        if (k < 0) {
                                ok = *s == '[';
                                next = p + 1;
                        } else
                                ok = k;
                } else if (*p == '\\' && p[1]) {
                        ok = p[1] == *s;
                        next = p + 2;
                } else {
                        ok = *p == *s;
                        next = p + 1;
                }

                if (ok) {
                        p = next;
                        s++;
                        continue;
                }
                if (!star_p || !*star_s)
                        return false;
                p = star_p;
                s = ++star_s;
        }
}

static char *unescape(const char *s) {
        char *r = malloc(strlen(s) + 1), *t = r;

        if (!r)
                return NULL;
        for (; *s; s++) {
                if (*s == '\\' && s[1])
                        s++;
                *t++ = *s;
        }
        *t = 0;
        return r;
}

static void glob_done(Glob *g) {
        for (size_t i = 0; i < g->n_comps; i++)
                free(g->comps[i].text);
        free(g->comps);
        free(g->path);
        for (size_t i = 0; i < g->n_matches; i++)
                free(g->matches[i]);
        free(g->matches);
        free(g->dents);
        free(g->error);
}

static int glob_parse(Glob *g, const char *pattern) {
        const char *p = pattern;

        while (*p) {
                Component *c;
                size_t n;
                char *text;

                while (*p == '/')
                        p++;
                n = strcspn(p, "/");
                if (n == 0)
                        break;

                text = strndup(p, n);
                p += n;
                if (!text)
                        return -ENOMEM;
                if (streq(text, ".")) {
                        free(text);
                        continue;
                }
                /* `**` twice in a row means the same as once. */
                if (streq(text, "**") && g->n_comps > 0 && g->comps[g->n_comps - 1].globstar) {
                        free(text);
                        continue;
                }

                c = realloc(g->comps, (g->n_comps + 1) * sizeof *c);
                if (!c) {
                        free(text);
                        return -ENOMEM;
                }
                g->comps = c;
                c = &g->comps[g->n_comps++];
                *c = (Component) {
                        .text = text,
                        .globstar = streq(text, "**"),
                };
                c->magic = !c->globstar && fs_glob_has_magic(text);
                if (!c->magic && !c->globstar) {
                        c->text = unescape(text);
                        free(text);
                        if (!c->text)
                                return -ENOMEM;
                }
        }
        return 0;
}

/* Appends "/name" to the walk path; returns the old length for path_pop(). */
static int path_push(Glob *g, const char *name, size_t *ret_old) {
        size_t l = strlen(name), need = g->path_len + 1 + l + 1;

        if (need > g->path_cap) {
                size_t cap = max_size(need, g->path_cap * 2);
                char *n = realloc(g->path, cap);
                if (!n)
                        return -ENOMEM;
                g->path = n;
                g->path_cap = cap;
        }
        *ret_old = g->path_len;
        g->path[g->path_len++] = '/';
        memcpy(g->path + g->path_len, name, l + 1);
        g->path_len += l;
        return 0;
}

static void path_pop(Glob *g, size_t old) {
        g->path_len = old;
        g->path[old] = 0;
}

static int add_match(Glob *g, const char *name) {
        char *m;

        if (g->n_matches >= g->lim.max_matches)
                return glob_bound(g,
                                       "Pattern '%s' matches more than %zu paths. "
                                       "Use a narrower pattern (e.g. name the directory instead of its contents).",
                                       g->pattern, g->lim.max_matches);

        if (g->n_matches + 1 >= g->cap_matches) {
                size_t cap = max_size(16, g->cap_matches * 2);
                char **n = realloc(g->matches, cap * sizeof(char *));
                if (!n)
                        return -ENOMEM;
                g->matches = n;
                g->cap_matches = cap;
        }

        if (name) {
                if (asprintf(&m, "%s/%s", g->path, name) < 0)
                        return -ENOMEM;
        } else
                m = strdup(g->path_len > 0 ? g->path : "/");
        if (!m)
                return -ENOMEM;
        g->matches[g->n_matches++] = m;
        return 0;
}

static int kept_add(Kept *k, unsigned flags, unsigned char type, const char *name) {
        size_t l = strlen(name), need = k->len + 2 + l + 1;

        if (need > k->cap) {
                size_t cap = max_size(need, max_size(k->cap * 2, 256));
                char *n = realloc(k->buf, cap);
                if (!n)
                        return -ENOMEM;
                k->buf = n;
                k->cap = cap;
        }
        k->buf[k->len++] = (char) flags;
        k->buf[k->len++] = (char) type;
        memcpy(k->buf + k->len, name, l + 1);
        k->len += l + 1;
        return 0;
}

/* d_type, or lstat's answer when the filesystem does not report types. */
static unsigned char entry_type(int dfd, const char *name, unsigned char type) {
        struct stat st;

        if (type != DT_UNKNOWN)
                return type;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return DT_UNKNOWN;
        return S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_REG;
}

/* Reads the whole directory, keeping entries that match `scan` (KEEP_MATCH)
 * and, when `descend` is set, real subdirectories (KEEP_DESCEND). */
static int scan_dir(Glob *g, int dfd, const Component *scan, bool descend, Kept *ret) {
        for (;;) {
                ssize_t n = getdents64(dfd, g->dents, DENTS_SIZE);
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;

                for (ssize_t off = 0; off < n;) {
                        struct dirent64 *de = (struct dirent64 *) (g->dents + off);
                        unsigned flags = 0;
                        unsigned char type;
                        int k;

                        off += de->d_reclen;
                        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;

                        if (++g->visited > g->lim.max_visited)
                                return glob_bound(g,
                                                       "Expanding '%s' read more than %zu directory entries (at %s). "
                                                       "Use a narrower pattern (avoid a leading '**' over big trees).",
                                                       g->pattern, g->lim.max_visited, g->path_len > 0 ? g->path : "/");

                        if (scan && (scan->magic ? fs_glob_match_name(scan->text, de->d_name)
                                                 : streq(scan->text, de->d_name)))
                                flags |= KEEP_MATCH;

                        type = de->d_type;
                        if (descend) {
                                type = entry_type(dfd, de->d_name, type);
                                if (type == DT_DIR)
                                        flags |= KEEP_DESCEND;
                        }
                        if (flags == 0)
                                continue;

                        k = kept_add(ret, flags, type, de->d_name);
                        if (k < 0)
                                return k;
                }
        }
}

static int walk(Glob *g, int dfd, size_t ci, unsigned star_depth);

/* Opens a directory found by scanning, never through a symlink. Returns
 * -ENOENT for anything to skip silently: raced away, replaced by a
 * non-directory, or not readable by the caller. */
static int open_subdir(int dfd, const char *name, bool follow) {
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
        if (fd >= 0)
                return fd;
        if (errno_is_skip(errno))
                return -ENOENT;
        return -errno;
}

/* Continues the walk with entry `name` of dfd as the match of comps[nci-1]. */
static int step(Glob *g, int dfd, const char *name, unsigned char type, size_t nci, unsigned star_depth) {
        _cleanup_close_ int fd = -1;
        size_t old;
        int k;

        if (nci == g->n_comps)
                return add_match(g, name);

        type = entry_type(dfd, name, type);
        if (type != DT_DIR)
                return 0;

        fd = open_subdir(dfd, name, false);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;

        k = path_push(g, name, &old);
        if (k < 0)
                return k;
        k = walk(g, fd, nci, star_depth);
        path_pop(g, old);
        return k;
}

static int walk_literal(Glob *g, int dfd, size_t ci, unsigned star_depth) {
        const Component *c = &g->comps[ci];
        _cleanup_close_ int fd = -1;
        struct stat st;
        size_t old;
        int k;

        if (ci + 1 == g->n_comps) {
                if (fstatat(dfd, c->text, &st, 0) < 0)
                        return 0;
                return add_match(g, c->text);
        }

        fd = open_subdir(dfd, c->text, true);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;

        k = path_push(g, c->text, &old);
        if (k < 0)
                return k;
        k = walk(g, fd, ci + 1, star_depth);
        path_pop(g, old);
        return k;
}

static int walk(Glob *g, int dfd, size_t ci, unsigned star_depth) {
        _cleanup_free_ char *buf = NULL;
        const Component *c, *scan;
        Kept kept = {};
        size_t next;
        int k;

        if (ci == g->n_comps)
                return add_match(g, NULL);

        c = &g->comps[ci];
        if (!c->magic && !c->globstar)
                return walk_literal(g, dfd, ci, star_depth);

        if (c->globstar && ci + 1 == g->n_comps)
                /* Trailing `**`: the whole directory, as one path. */
                return add_match(g, NULL);

        if (c->globstar) {
                scan = &g->comps[ci + 1];
                next = ci + 2;
        } else {
                scan = c;
                next = ci + 1;
        }

        k = scan_dir(g, dfd, scan, c->globstar, &kept);
        buf = kept.buf;
        if (k < 0)
                return k;

        for (size_t off = 0; off < kept.len;) {
                unsigned flags = (unsigned char) buf[off];
                unsigned char type = (unsigned char) buf[off + 1];
                const char *name = buf + off + 2;

                off += 2 + strlen(name) + 1;

                if (flags & KEEP_MATCH) {
                        k = step(g, dfd, name, type, next, star_depth);
                        if (k < 0)
                                return k;
                }

                if (flags & KEEP_DESCEND) {
                        _cleanup_close_ int fd = -1;
                        size_t old;

                        if (star_depth + 1 > g->lim.max_depth)
                                return glob_bound(g,
                                                       "Pattern '%s': '**' would descend more than %u directories (at %s/%s). "
                                                       "Use a narrower pattern.",
                                                       g->pattern, g->lim.max_depth, g->path, name);

                        fd = open_subdir(dfd, name, false);
                        if (fd == -ENOENT)
                                continue;
                        if (fd < 0)
                                return fd;

                        k = path_push(g, name, &old);
                        if (k < 0)
                                return k;
                        k = walk(g, fd, ci, star_depth + 1);
                        path_pop(g, old);
                        if (k < 0)
                                return k;
                }
        }
        return 0;
}

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* No wildcard, escape, empty, "." or ".." component, nor trailing slash:
 * the spelling the walk would return. */
bool fs_glob_is_plain(const char *p) {
        if (fs_glob_has_magic(p) || strchr(p, '\\') || strstr(p, "//") || (p[1] && endswith(p, "/")))
                return false;
        for (const char *c = p; (c = strchr(c, '/')); c++)
                if ((c[1] == '.' && (c[2] == '/' || c[2] == 0)) ||
                    (c[1] == '.' && c[2] == '.' && (c[3] == '/' || c[3] == 0)))
                        return false;
        return true;
}

int fs_glob(const char *pattern, const FsGlobLimits *limits, char ***ret_paths) {
        return fs_glob_full(pattern, limits, ret_paths, NULL);
}

int fs_glob_full(const char *pattern, const FsGlobLimits *limits, char ***ret_paths, char **ret_error) {
        _cleanup_close_ int root = -1;
        Glob g = {
                .pattern = pattern,
                .lim = {
                        .max_depth = FS_GLOB_MAX_DEPTH_DEFAULT,
                        .max_matches = FS_GLOB_MAX_MATCHES_DEFAULT,
                        .max_visited = FS_GLOB_MAX_VISITED_DEFAULT,
                },
        };
        char **result;
        size_t n = 0;
        int k;

        if (!pattern || pattern[0] != '/')
                return -EINVAL;

        if (limits) {
                if (limits->max_depth > 0)
                        g.lim.max_depth = limits->max_depth;
                if (limits->max_matches > 0)
                        g.lim.max_matches = limits->max_matches;
                if (limits->max_visited > 0)
                        g.lim.max_visited = limits->max_visited;
        }

        /* A plain path (the common case): the kernel resolves it, as the
         * walk below would. */
        if (fs_glob_is_plain(pattern)) {
                struct stat st;

                if (lstat(pattern, &st) < 0)
                        k = errno == ENOENT || errno == ENOTDIR || errno == EACCES || errno == ELOOP ? 0 : -errno;
                else
                        k = strv_extend(&g.matches, pattern);
                if (k < 0)
                        goto finish;
                g.n_matches = strv_length(g.matches);
                result = g.matches ? TAKE_PTR(g.matches) : calloc(1, sizeof(char *));
                if (!result) {
                        k = -ENOMEM;
                        goto finish;
                }
                *ret_paths = result;
                k = (int) g.n_matches;
                g.n_matches = 0;
                goto finish;
        }

        k = glob_parse(&g, pattern);
        if (k < 0)
                goto finish;

        g.path = calloc(1, 1);
        g.dents = malloc(DENTS_SIZE);
        if (!g.path || !g.dents) {
                k = -ENOMEM;
                goto finish;
        }
        g.path_cap = 1;

        root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0) {
                k = -errno;
                goto finish;
        }

        k = walk(&g, root, 0, 0);
        if (k < 0)
                goto finish;

        if (g.n_matches > 0) {
                /* Several `**` can reach one path by different routes. */
                qsort(g.matches, g.n_matches, sizeof(char *), strcmp_ptr);
                for (size_t i = 0; i < g.n_matches; i++) {
                        if (n > 0 && streq(g.matches[n - 1], g.matches[i])) {
                                free(g.matches[i]);
                                continue;
                        }
                        g.matches[n++] = g.matches[i];
                }
                g.n_matches = n;
                result = TAKE_PTR(g.matches);
                result[n] = NULL;
        } else {
                result = calloc(1, sizeof(char *));
                if (!result) {
                        k = -ENOMEM;
                        goto finish;
                }
        }
        g.n_matches = 0;
        *ret_paths = result;
        k = n > INT_MAX ? INT_MAX : (int) n;

finish:
        if (k == -E2BIG && ret_error && g.error)
                *ret_error = TAKE_PTR(g.error);
        glob_done(&g);
        return k;
}
