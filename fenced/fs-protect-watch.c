#include <fcntl.h>
#include <stddef.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "fs-protect-watch.h"
#include "log.h"
#include "strv.h"

/* One watched directory: its identity as fanotify reports it, and the
 * first components of the protected names missing in it. */
typedef struct WatchedDir {
        char *path;
        fsid_t fsid;
        struct file_handle *handle;
        char **names;
} WatchedDir;

struct FsProtectWatch {
        int fd;
        WatchedDir *dirs;
        size_t n_dirs;
};

#define HANDLE_MAX 128  /* MAX_HANDLE_SZ in the kernel */

FsProtectWatch *fs_protect_watch_free(FsProtectWatch *w) {
        if (!w)
                return NULL;
        safe_close(w->fd);
        for (size_t i = 0; i < w->n_dirs; i++) {
                free(w->dirs[i].path);
                free(w->dirs[i].handle);
                strv_free(w->dirs[i].names);
        }
        free(w->dirs);
        free(w);
        return NULL;
}

int fs_protect_watch_fd(const FsProtectWatch *w) {
        return w->fd;
}

static bool same_handle(const struct file_handle *a, const struct file_handle *b) {
        return a->handle_type == b->handle_type && a->handle_bytes == b->handle_bytes &&
               memcmp(a->f_handle, b->f_handle, a->handle_bytes) == 0;
}

static bool same_fsid(const fsid_t *a, const fsid_t *b) {
        return memcmp(a, b, sizeof *a) == 0;
}

static WatchedDir *find_dir(FsProtectWatch *w, const fsid_t *fsid, const struct file_handle *h) {
        for (size_t i = 0; i < w->n_dirs; i++)
                if (same_fsid(&w->dirs[i].fsid, fsid) && same_handle(w->dirs[i].handle, h))
                        return &w->dirs[i];
        return NULL;
}

/* Marks the parent of m and remembers the first component of its name. */
static int watch_missing(FsProtectWatch *w, const FsProtectMissing *m) {
        _cleanup_free_ struct file_handle *h = NULL;
        _cleanup_free_ char *first = NULL;
        _cleanup_close_ int fd = -1;
        WatchedDir *d;
        struct statfs sfs;
        struct stat st;
        int mount_id, k;

        first = strndup(m->name, strcspn(m->name, "/"));
        if (!first)
                return -ENOMEM;

        fd = open(m->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open %s to watch it: %m", m->parent);
        if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0)
                return -errno;
        if (st.st_dev != m->parent_dev || st.st_ino != m->parent_ino)
                return log_error_errno(ESTALE, "%s was replaced since it was inspected; try again.", m->parent);

        h = malloc(sizeof *h + HANDLE_MAX);
        if (!h)
                return -ENOMEM;
        h->handle_bytes = HANDLE_MAX;
        if (name_to_handle_at(fd, "", h, &mount_id, AT_EMPTY_PATH) < 0)
                return log_error_errno(errno, "Cannot identify %s for the watch: %m", m->parent);

        d = find_dir(w, &sfs.f_fsid, h);
        if (!d) {
                if (fanotify_mark(w->fd, FAN_MARK_ADD, FAN_CREATE | FAN_MOVED_TO | FAN_ONDIR, fd, NULL) < 0)
                        return log_error_errno(errno, "Failed to watch %s: %m", m->parent);

                d = realloc(w->dirs, (w->n_dirs + 1) * sizeof *d);
                if (!d)
                        return -ENOMEM;
                w->dirs = d;
                d = &w->dirs[w->n_dirs];
                *d = (WatchedDir) {
                        .path = strdup(m->parent),
                        .fsid = sfs.f_fsid,
                        .handle = TAKE_PTR(h),
                };
                w->n_dirs++;
                if (!d->path)
                        return -ENOMEM;
        }

        if (strv_contains(d->names, first))
                return 0;
        k = strv_consume(&d->names, TAKE_PTR(first));
        return k;
}

int fs_protect_watch_new(const FsProtectList *l, bool all, FsProtectWatch **ret) {
        _cleanup_(fs_protect_watch_freep) FsProtectWatch *w = NULL;
        int k;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->fd = -1;

        for (size_t i = 0; i < l->n_missing; i++) {
                if (!all && !l->missing[i].creatable)
                        continue;

                if (w->fd < 0) {
                        w->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME,
                                              O_RDONLY | O_CLOEXEC);
                        if (w->fd < 0)
                                return log_error_errno(errno, "Failed to create the protected-file watch: %m");
                }
                k = watch_missing(w, &l->missing[i]);
                if (k < 0)
                        return k;
        }

        *ret = TAKE_PTR(w);
        return 0;
}

/* Finds the DFID_NAME record of the event at ev (event_len bytes) and
 * copies out the directory's fsid, its handle and the entry name. Events
 * carrying a name are only 4-byte aligned, so nothing is accessed in place. */
static bool event_dfid_name(const char *ev, size_t event_len, size_t metadata_len,
                            fsid_t *ret_fsid, struct file_handle *ret_handle, const char **ret_name) {
        size_t off = metadata_len;

        while (off + sizeof(struct fanotify_event_info_header) <= event_len) {
                struct fanotify_event_info_header hdr;
                struct file_handle h;
                size_t fh_off = off + offsetof(struct fanotify_event_info_fid, handle);

                memcpy(&hdr, ev + off, sizeof hdr);
                if (hdr.len < sizeof hdr || off + hdr.len > event_len)
                        return false;
                if (hdr.info_type != FAN_EVENT_INFO_TYPE_DFID_NAME) {
                        off += hdr.len;
                        continue;
                }
                if (fh_off + sizeof h > off + hdr.len)
                        return false;
                memcpy(&h, ev + fh_off, sizeof h);
                if (h.handle_bytes > HANDLE_MAX || fh_off + sizeof h + h.handle_bytes >= off + hdr.len)
                        return false;

                memcpy(ret_fsid, ev + off + offsetof(struct fanotify_event_info_fid, fsid), sizeof *ret_fsid);
                *ret_handle = h;
                memcpy(ret_handle->f_handle, ev + fh_off + sizeof h, h.handle_bytes);
                *ret_name = ev + fh_off + sizeof h + h.handle_bytes;
                /* The name is NUL-terminated within the record. */
                return memchr(*ret_name, 0, off + hdr.len - (fh_off + sizeof h + h.handle_bytes)) != NULL;
        }
        return false;
}

int fs_protect_watch_read(FsProtectWatch *w, char ***paths) {
        _cleanup_free_ struct file_handle *h = NULL;
        char buf[16384];
        int found = 0, k;

        if (w->fd < 0)
                return 0;

        h = malloc(sizeof *h + HANDLE_MAX);
        if (!h)
                return -ENOMEM;

        for (;;) {
                ssize_t n = read(w->fd, buf, sizeof buf);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return found;
                        return -errno;
                }

                for (size_t off = 0; off + sizeof(struct fanotify_event_metadata) <= (size_t) n;) {
                        struct fanotify_event_metadata md;
                        const char *name;
                        WatchedDir *d;
                        fsid_t fsid;
                        char *p;

                        memcpy(&md, buf + off, sizeof md);
                        if (md.vers != FANOTIFY_METADATA_VERSION)
                                return -EPROTO;
                        if (md.event_len < sizeof md || off + md.event_len > (size_t) n)
                                return -EBADMSG;
                        if (md.mask & FAN_Q_OVERFLOW)
                                return log_error_errno(ENOBUFS,
                                                       "The protected-file watch lost events; assume a protected file was created.");

                        if (event_dfid_name(buf + off, md.event_len, md.metadata_len, &fsid, h, &name) &&
                            (d = find_dir(w, &fsid, h)) && strv_contains(d->names, name)) {
                                if (asprintf(&p, "%s/%s", d->path, name) < 0)
                                        return -ENOMEM;
                                k = strv_consume(paths, p);
                                if (k < 0)
                                        return k;
                                found++;
                        }
                        off += md.event_len;
                }
        }
}
