#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <sys/sysmacros.h>
#include <sys/fsuid.h>
#include <sys/stat.h>

#include "fileio.h"
#include "fs-protect-cache.h"
#include "log.h"
#include "strv.h"

#define CACHE_MAGIC UINT32_C(0x43504646)       /* "FFPC" */
#define CACHE_VERSION UINT32_C(2)

void fs_protect_stamp_from_stat(FsProtectStamp *s, const struct stat *st) {
        *s = (FsProtectStamp) {
                .dev = st->st_dev,
                .ino = st->st_ino,
                .mtime_sec = st->st_mtim.tv_sec,
                .mtime_nsec = (uint32_t) st->st_mtim.tv_nsec,
                .ctime_sec = st->st_ctim.tv_sec,
                .ctime_nsec = (uint32_t) st->st_ctim.tv_nsec,
        };
}

void fs_protect_dir_done(FsProtectDir *d) {
        free(d->path);
        for (size_t i = 0; i < d->n_existing; i++)
                free(d->existing[i].path);
        free(d->existing);
        for (size_t i = 0; i < d->n_missing; i++) {
                free(d->missing[i].parent);
                free(d->missing[i].name);
        }
        free(d->missing);
        strv_free(d->gitlinks);
        free(d->subdirs);
        *d = (FsProtectDir) {};
}

void fs_protect_cache_done(FsProtectCache *c) {
        for (size_t i = 0; i < c->n_dirs; i++)
                fs_protect_dir_done(&c->dirs[i]);
        free(c->dirs);
        *c = (FsProtectCache) {};
}

int fs_protect_cache_add(FsProtectCache *c, FsProtectDir *d) {
        if (c->n_dirs >= c->cap_dirs) {
                size_t cap = c->cap_dirs ? c->cap_dirs * 2 : 256;
                FsProtectDir *n = realloc(c->dirs, cap * sizeof *n);

                if (!n)
                        return -ENOMEM;
                c->dirs = n;
                c->cap_dirs = cap;
        }
        c->dirs[c->n_dirs++] = *d;
        *d = (FsProtectDir) {};
        return 0;
}

static int cmp_dir(const void *a, const void *b) {
        return strcmp(((const FsProtectDir *) a)->path, ((const FsProtectDir *) b)->path);
}

FsProtectDir *fs_protect_cache_find(FsProtectCache *c, const char *path) {
        FsProtectDir key = { .path = (char *) path };

        if (c->n_dirs == 0)
                return NULL;
        return bsearch(&key, c->dirs, c->n_dirs, sizeof *c->dirs, cmp_dir);
}

static int cmp_gid(const void *a, const void *b) {
        gid_t x = *(const gid_t *) a, y = *(const gid_t *) b;

        return x < y ? -1 : x > y;
}

void fs_protect_cache_key(FsProtectCacheKey *key, uint64_t cwd_dev, uint64_t cwd_ino, uint64_t flags,
                          const uint64_t limits[3]) {
        gid_t groups[256];
        int n = getgroups(ELEMENTSOF(groups), groups);

        /* setfsuid(-1) reads the current value without changing it. */
        fs_protect_cache_key_for(key, (uid_t) setfsuid((uid_t) -1), (gid_t) setfsgid((gid_t) -1), groups,
                                 n < 0 ? 0 : (size_t) n, cwd_dev, cwd_ino, flags, limits);
        if (n < 0)
                key->groups_hash = 0;
}

void fs_protect_cache_key_for(FsProtectCacheKey *key, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
                              uint64_t cwd_dev, uint64_t cwd_ino, uint64_t flags, const uint64_t limits[3]) {
        gid_t sorted[256];
        size_t n = n_groups < ELEMENTSOF(sorted) ? n_groups : ELEMENTSOF(sorted);
        uint64_t h = UINT64_C(1469598103934665603);

        /* Zeroed first: the key is compared byte for byte, padding included. */
        memset(key, 0, sizeof *key);
        key->uid = (uint32_t) uid;
        key->gid = (uint32_t) gid;
        /* The kernel keeps supplementary groups sorted (getgroups() order). */
        if (n > 0)
                memcpy(sorted, groups, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_gid);
        for (size_t i = 0; i < n; i++) {
                h ^= (uint64_t) sorted[i];
                h *= UINT64_C(1099511628211);
        }
        key->groups_hash = h ^ (uint64_t) n;
        key->cwd_dev = cwd_dev;
        key->cwd_ino = cwd_ino;
        key->flags = flags;
        memcpy(key->limits, limits, sizeof key->limits);
}

static char *entry_name(const FsProtectCacheKey *key) {
        char *s;

        if (asprintf(&s, "%" PRIu32 "-%" PRIu64 "-%" PRIu64 "-%" PRIu64, key->uid, key->cwd_dev, key->cwd_ino,
                     key->flags) < 0)
                return NULL;
        return s;
}

char *fs_protect_cache_entry_path(const char *dir, const FsProtectCacheKey *key) {
        _cleanup_free_ char *name = entry_name(key);
        char *p;

        if (!name || asprintf(&p, "%s/%s", dir, name) < 0)
                return NULL;
        return p;
}

/* ---- serialisation ---- */

typedef struct Buf {
        uint8_t *data;
        size_t len, cap;
        bool oom;
} Buf;

static void put(Buf *b, const void *p, size_t n) {
        if (b->oom)
                return;
        if (b->len + n > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 64 * 1024;
                uint8_t *d;

                while (cap < b->len + n)
                        cap *= 2;
                d = realloc(b->data, cap);
                if (!d) {
                        b->oom = true;
                        return;
                }
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
}

#define PUT(b, v) put((b), &(v), sizeof(v))

static void put_str(Buf *b, const char *s) {
        uint32_t l = (uint32_t) strlen(s);

        PUT(b, l);
        put(b, s, l);
}

typedef struct Reader {
        const uint8_t *p, *end;
        bool bad;
} Reader;

static void get(Reader *r, void *out, size_t n) {
        if (r->bad || (size_t) (r->end - r->p) < n) {
                r->bad = true;
                memset(out, 0, n);
                return;
        }
        memcpy(out, r->p, n);
        r->p += n;
}

#define GET(r, v) get((r), &(v), sizeof(v))

static char *get_str(Reader *r) {
        uint32_t l;
        char *s;

        GET(r, l);
        if (r->bad || l > PATH_MAX * 2 || (size_t) (r->end - r->p) < l) {
                r->bad = true;
                return NULL;
        }
        s = strndup((const char *) r->p, l);
        if (!s)
                r->bad = true;
        r->p += l;
        return s;
}

static void get_stamp(Reader *r, FsProtectStamp *s) {
        GET(r, s->dev);
        GET(r, s->ino);
        GET(r, s->mtime_sec);
        GET(r, s->ctime_sec);
        GET(r, s->mtime_nsec);
        GET(r, s->ctime_nsec);
}

static void put_stamp(Buf *b, const FsProtectStamp *s) {
        PUT(b, s->dev);
        PUT(b, s->ino);
        PUT(b, s->mtime_sec);
        PUT(b, s->ctime_sec);
        PUT(b, s->mtime_nsec);
        PUT(b, s->ctime_nsec);
}

/* Counts are bounded by what is left to read: each element takes at least
 * 4 bytes, so a bogus count cannot make a huge allocation. */
static bool count_ok(const Reader *r, uint64_t n) {
        return !r->bad && n <= (uint64_t) (r->end - r->p) / 4;
}

static int parse_dir(Reader *r, FsProtectDir *d) {
        uint64_t n_existing, n_missing, n_gitlinks, subdirs_len;

        d->path = get_str(r);
        get_stamp(r, &d->stamp);
        GET(r, d->n_entries);

        GET(r, n_existing);
        if (!count_ok(r, n_existing))
                return -EBADMSG;
        d->existing = calloc(n_existing + 1, sizeof *d->existing);
        if (!d->existing)
                return -ENOMEM;
        for (uint64_t i = 0; i < n_existing && !r->bad; i++) {
                FsProtectPath *e = &d->existing[d->n_existing++];
                uint32_t kind;
                uint64_t dev, ino;

                GET(r, kind);
                GET(r, dev);
                GET(r, ino);
                *e = (FsProtectPath) { .kind = kind, .dev = (dev_t) dev, .ino = (ino_t) ino, .path = get_str(r) };
        }

        GET(r, n_missing);
        if (!count_ok(r, n_missing))
                return -EBADMSG;
        d->missing = calloc(n_missing + 1, sizeof *d->missing);
        if (!d->missing)
                return -ENOMEM;
        for (uint64_t i = 0; i < n_missing && !r->bad; i++) {
                FsProtectMissing *m = &d->missing[d->n_missing++];
                uint32_t kind;
                uint64_t dev, ino;

                GET(r, kind);
                GET(r, dev);
                GET(r, ino);
                *m = (FsProtectMissing) { .kind = kind, .parent_dev = (dev_t) dev, .parent_ino = (ino_t) ino };
                m->parent = get_str(r);
                m->name = get_str(r);
        }

        GET(r, n_gitlinks);
        if (!count_ok(r, n_gitlinks))
                return -EBADMSG;
        for (uint64_t i = 0; i < n_gitlinks && !r->bad; i++) {
                char *g = get_str(r);
                if (!g || strv_consume(&d->gitlinks, g) < 0)
                        r->bad = true;
        }

        GET(r, subdirs_len);
        if (r->bad || subdirs_len > (uint64_t) (r->end - r->p))
                return -EBADMSG;
        if (subdirs_len > 0) {
                d->subdirs = malloc(subdirs_len);
                if (!d->subdirs)
                        return -ENOMEM;
                get(r, d->subdirs, subdirs_len);
                d->subdirs_len = subdirs_len;
                if (d->subdirs[subdirs_len - 1] != 0)
                        return -EBADMSG;
        }
        return r->bad || !d->path ? -EBADMSG : 0;
}

static int parse(const uint8_t *data, size_t size, const FsProtectCacheKey *key, FsProtectCache *ret) {
        Reader r = { .p = data, .end = data + size };
        FsProtectCache c = {};
        FsProtectCacheKey k;
        uint32_t magic, version;
        uint64_t n_dirs;
        int q;

        GET(&r, magic);
        GET(&r, version);
        GET(&r, k);
        GET(&r, c.epoch);
        GET(&r, n_dirs);
        if (r.bad || magic != CACHE_MAGIC || version != CACHE_VERSION || memcmp(&k, key, sizeof k) != 0 ||
            !count_ok(&r, n_dirs))
                return 0;
        c.key = *key;
        for (uint64_t i = 0; i < n_dirs; i++) {
                FsProtectDir d = {};

                q = parse_dir(&r, &d);
                if (q >= 0)
                        q = fs_protect_cache_add(&c, &d);
                if (q < 0) {
                        fs_protect_dir_done(&d);
                        fs_protect_cache_done(&c);
                        return q == -ENOMEM ? q : 0;
                }
        }
        if (r.p != r.end) {
                fs_protect_cache_done(&c);
                return 0;
        }
        if (c.n_dirs > 0)
                qsort(c.dirs, c.n_dirs, sizeof *c.dirs, cmp_dir);
        *ret = c;
        return 1;
}

bool fs_protect_stamp_racy(const FsProtectStamp *s, const struct timespec *started) {
        int64_t limit = (int64_t) started->tv_sec * 1000000000LL + started->tv_nsec - FS_PROTECT_CACHE_RACY_NSEC;

        return s->mtime_sec * 1000000000LL + s->mtime_nsec >= limit ||
               s->ctime_sec * 1000000000LL + s->ctime_nsec >= limit;
}

static int serialize(const FsProtectCache *c, const struct timespec *started, Buf *b) {
        uint32_t magic = CACHE_MAGIC, version = CACHE_VERSION;
        uint64_t n_dirs = 0;
        size_t n_at;

        PUT(b, magic);
        PUT(b, version);
        PUT(b, c->key);
        PUT(b, c->epoch);
        n_at = b->len;
        PUT(b, n_dirs);
        for (size_t i = 0; i < c->n_dirs; i++) {
                const FsProtectDir *d = &c->dirs[i];
                uint64_t n_existing = d->n_existing, n_missing = d->n_missing,
                         n_gitlinks = strv_length(d->gitlinks), subdirs_len = d->subdirs_len;

                if (fs_protect_stamp_racy(&d->stamp, started))
                        continue;       /* listed again next time */
                n_dirs++;
                put_str(b, d->path);
                put_stamp(b, &d->stamp);
                PUT(b, d->n_entries);
                PUT(b, n_existing);
                for (size_t j = 0; j < d->n_existing; j++) {
                        uint32_t kind = d->existing[j].kind;
                        uint64_t dev = d->existing[j].dev, ino = d->existing[j].ino;

                        PUT(b, kind);
                        PUT(b, dev);
                        PUT(b, ino);
                        put_str(b, d->existing[j].path);
                }
                PUT(b, n_missing);
                for (size_t j = 0; j < d->n_missing; j++) {
                        uint32_t kind = d->missing[j].kind;
                        uint64_t dev = d->missing[j].parent_dev, ino = d->missing[j].parent_ino;

                        PUT(b, kind);
                        PUT(b, dev);
                        PUT(b, ino);
                        put_str(b, d->missing[j].parent);
                        put_str(b, d->missing[j].name);
                }
                PUT(b, n_gitlinks);
                for (char **g = d->gitlinks; g && *g; g++)
                        put_str(b, *g);
                PUT(b, subdirs_len);
                if (subdirs_len)
                        put(b, d->subdirs, d->subdirs_len);
        }
        if (b->oom)
                return -ENOMEM;
        memcpy(b->data + n_at, &n_dirs, sizeof n_dirs);
        return n_dirs > 0;
}

/* ---- files, with root's file access ---- */

typedef struct FsIds {
        uid_t uid;
        gid_t gid;
} FsIds;

static FsIds become_root_fs(void) {
        FsIds old;

        old.uid = (uid_t) setfsuid(0);
        old.gid = (gid_t) setfsgid(0);
        return old;
}

static void restore_fs(FsIds old) {
        (void) setfsgid(old.gid);
        (void) setfsuid(old.uid);
}

static int read_entry(const char *dir, const char *name, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        return read_small_file_at(AT_FDCWD, path, FS_PROTECT_CACHE_MAX_SIZE, true, ret, ret_size);
}

int fs_protect_cache_load(const char *dir, const FsProtectCacheKey *key, FsProtectCache *ret) {
        _cleanup_free_ char *name = entry_name(key);
        _cleanup_free_ uint8_t *data = NULL;
        size_t size = 0;
        FsIds old;
        int r;

        *ret = (FsProtectCache) { .key = *key };
        if (!name)
                return -ENOMEM;
        old = become_root_fs();
        r = read_entry(dir, name, &data, &size);
        restore_fs(old);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        r = parse(data, size, key, ret);
        if (r == 0)
                *ret = (FsProtectCache) { .key = *key };
        return r < 0 ? r : 0;
}

static void evict_if_full(const char *dir) {
        _cleanup_closedir_ DIR *d = opendir(dir);
        size_t n = 0;

        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));)
                n += de->d_name[0] != '.';
        if (n < FS_PROTECT_CACHE_MAX)
                return;
        rewinddir(d);
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.')
                        (void) unlinkat(dirfd(d), de->d_name, 0);
}

int fs_protect_cache_save(const char *dir, const FsProtectCache *c, const struct timespec *started) {
        _cleanup_free_ char *name = entry_name(&c->key), *path = NULL, *tmp = NULL;
        Buf b = {};
        FsIds old;
        int fd, r;

        if (!name)
                return -ENOMEM;
        r = serialize(c, started, &b);
        if (r <= 0 || b.len > FS_PROTECT_CACHE_MAX_SIZE) {
                free(b.data);
                return r < 0 ? r : 0;
        }
        if (asprintf(&path, "%s/%s", dir, name) < 0 || asprintf(&tmp, "%s/.%s.%d", dir, name, (int) getpid()) < 0) {
                free(b.data);
                return -ENOMEM;
        }

        old = become_root_fs();
        evict_if_full(dir);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                r = -errno;
        else {
                ssize_t n = write(fd, b.data, b.len);
                r = n < 0 ? -errno : (size_t) n != b.len ? -EIO : 0;
                safe_close(fd);
                if (r >= 0 && rename(tmp, path) < 0)
                        r = -errno;
                if (r < 0)
                        (void) unlink(tmp);
        }
        restore_fs(old);
        free(b.data);
        return r < 0 ? r : 1;
}

int fs_protect_cache_prepare(const char *state_dir) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        int r;

        if (asprintf(&dir, "%s/" FS_PROTECT_CACHE_DIR, state_dir) < 0)
                return -ENOMEM;
        r = private_dir_make(dir);
        if (r < 0)
                return r;
        /* A cache from an older fenced may have another layout: start empty. */
        d = opendir(dir);
        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        return 0;
}
