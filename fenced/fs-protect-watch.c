#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>

#include "fs-protect-watch.h"
#include "log.h"

typedef struct Watch {
        FsProtectCacheKey key;
        FsProtectCache cache;   /* the stored walk, as last read */
        struct stat cache_st;   /* of its file then; st_ino 0: not read */
        int fd;
        uint64_t epoch;
        uint64_t last_used;
        sd_event_source *source;
        FsProtectWatches *owner;
} Watch;

struct FsProtectWatches {
        sd_event *event;
        char *cache_dir;
        Watch *watches[FS_PROTECT_CACHE_MAX];
        uint64_t next_epoch;    /* epochs handed out so far; 0 is "none" */
        uint64_t clock;         /* for least recently used */
};

static void watch_free(Watch *w) {
        if (!w)
                return;
        sd_event_source_disable_unref(w->source);
        safe_close(w->fd);
        fs_protect_cache_done(&w->cache);
        free(w);
}

int fs_protect_watches_new(sd_event *e, const char *state_dir, FsProtectWatches **ret) {
        FsProtectWatches *w = calloc(1, sizeof *w);

        if (!w)
                return -ENOMEM;
        if (asprintf(&w->cache_dir, "%s/" FS_PROTECT_CACHE_DIR, state_dir) < 0) {
                free(w);
                return -ENOMEM;
        }
        w->event = sd_event_ref(e);
        *ret = w;
        return 0;
}

FsProtectWatches *fs_protect_watches_free(FsProtectWatches *w) {
        if (!w)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(w->watches); i++)
                watch_free(w->watches[i]);
        sd_event_unref(w->event);
        free(w->cache_dir);
        free(w);
        return NULL;
}

/* Reads every queued event; any at all ends the epoch and its marks. */
static void watch_drain(Watch *w) {
        char buf[4096];
        bool any = false;

        for (;;) {
                ssize_t n = read(w->fd, buf, sizeof buf);

                if (n > 0) {
                        any = true;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                break;          /* EAGAIN: empty */
        }
        if (!any)
                return;
        w->epoch = ++w->owner->next_epoch;
        if (fanotify_mark(w->fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL) < 0)
                log_debug_errno(errno, "Cannot drop the marks of a protection watch: %m");
}

static int on_watch_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        watch_drain(userdata);
        return 0;
}

static Watch *watch_new(FsProtectWatches *owner, const FsProtectCacheKey *key) {
        Watch *w = calloc(1, sizeof *w);
        int r;

        if (!w)
                return NULL;
        *w = (Watch) { .key = *key, .owner = owner, .epoch = ++owner->next_epoch };
        w->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_FID, O_RDONLY | O_CLOEXEC);
        if (w->fd < 0) {
                log_debug_errno(errno, "Cannot create a fanotify group for the protection walk: %m");
                free(w);
                return NULL;
        }
        r = sd_event_add_io(owner->event, &w->source, w->fd, EPOLLIN, on_watch_event, w);
        if (r < 0) {
                log_debug_errno(r, "Cannot watch a fanotify group: %m");
                watch_free(w);
                return NULL;
        }
        return w;
}

/* Reads the stored walk of w again when its file changed (fenced's own
 * root-only file, written by sandbox children before their command ran);
 * a small one stays in memory for the next launches. Returns > 0 when
 * w->cache holds it. */
#define PRELOAD_MAX_SIZE (256 * 1024)
static int watch_preload(FsProtectWatches *ws, Watch *w) {
        _cleanup_free_ char *path = fs_protect_cache_entry_path(ws->cache_dir, &w->key);
        struct stat st;

        if (!path || stat(path, &st) < 0 || st.st_size > PRELOAD_MAX_SIZE) {
                fs_protect_cache_done(&w->cache);
                w->cache_st = (struct stat) {};
                return 0;
        }
        if (st.st_ino == w->cache_st.st_ino && st.st_size == w->cache_st.st_size &&
            st.st_mtim.tv_sec == w->cache_st.st_mtim.tv_sec && st.st_mtim.tv_nsec == w->cache_st.st_mtim.tv_nsec &&
            w->cache.n_dirs > 0)
                return 1;
        fs_protect_cache_done(&w->cache);
        w->cache_st = (struct stat) {};
        if (fs_protect_cache_load(ws->cache_dir, &w->key, &w->cache) < 0 || w->cache.n_dirs == 0)
                return 0;
        w->cache_st = st;
        return 1;
}

void fs_protect_watch_get(FsProtectWatches *ws, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
                          int cwd_fd, bool allow_git_config, FsProtectWatch *ret) {
        FsProtectCacheKey key;
        struct stat st;
        size_t slot = 0;
        Watch *w = NULL;

        *ret = (FsProtectWatch) { .fd = -1 };
        if (!ws || fstat(cwd_fd, &st) < 0)
                return;
        /* The limits fs_view_prepare() walks with: the defaults. */
        fs_protect_cache_key_for(&key, uid, gid, groups, n_groups, st.st_dev, st.st_ino, allow_git_config,
                                 (const uint64_t[3]) { FS_PROTECT_MAX_DEPTH_DEFAULT, FS_PROTECT_MAX_MATCHES_DEFAULT,
                                                       FS_PROTECT_MAX_VISITED_DEFAULT });

        for (size_t i = 0; i < ELEMENTSOF(ws->watches); i++) {
                Watch *o = ws->watches[i];

                if (o && memcmp(&o->key, &key, sizeof key) == 0) {
                        w = o;
                        break;
                }
                /* A free slot, else the least recently used one. */
                if (!o || (ws->watches[slot] && o->last_used < ws->watches[slot]->last_used))
                        slot = i;
        }
        if (!w) {
                w = watch_new(ws, &key);
                if (!w)
                        return;
                watch_free(ws->watches[slot]);
                ws->watches[slot] = w;
        }
        watch_drain(w);
        w->last_used = ++ws->clock;
        *ret = (FsProtectWatch) { .fd = w->fd, .epoch = w->epoch, .key = key };
        if (watch_preload(ws, w) > 0)
                ret->preloaded = &w->cache;
}
