#include <fcntl.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "fs-template.h"
#include "log.h"

typedef struct Entry {
        char *key;
        size_t len;
        uid_t uid;
        int fd;
        uint64_t last_used;     /* CLOCK_MONOTONIC µs */
} Entry;

struct FsTemplates {
        sd_event *event;
        int mountinfo_fd;       /* polls POLLPRI when the host's mounts change */
        sd_event_source *mount_source;
        sd_event_source *timer;
        uint64_t generation;
        uint64_t idle_usec;
        Entry entries[FS_TEMPLATES_MAX];
        size_t n;
};

static void entry_drop(FsTemplates *t, size_t i) {
        free(t->entries[i].key);
        safe_close(t->entries[i].fd);
        t->entries[i] = t->entries[--t->n];
}

static void drop_all(FsTemplates *t) {
        while (t->n > 0)
                entry_drop(t, t->n - 1);
        t->generation++;
}

/* A mount change not dispatched yet counts as well. */
static void check_mounts(FsTemplates *t) {
        struct pollfd p = { .fd = t->mountinfo_fd, .events = POLLPRI };

        if (t->mountinfo_fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLPRI | POLLERR))) {
                if (t->n > 0)
                        log_debug("The host's mounts changed: dropping %zu filesystem template(s).", t->n);
                drop_all(t);
        }
}

static int on_mounts(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FsTemplates *t = userdata;

        if (t->n > 0)
                log_debug("The host's mounts changed: dropping %zu filesystem template(s).", t->n);
        drop_all(t);
        return 0;
}

static void arm_timer(FsTemplates *t);

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        FsTemplates *t = userdata;
        uint64_t now = now_usec();

        for (size_t i = t->n; i > 0; i--)
                if (now - t->entries[i - 1].last_used >= t->idle_usec)
                        entry_drop(t, i - 1);
        arm_timer(t);
        return 0;
}

/* At the oldest entry's expiry; off when there is none. */
static void arm_timer(FsTemplates *t) {
        uint64_t oldest = UINT64_MAX;

        for (size_t i = 0; i < t->n; i++)
                if (t->entries[i].last_used < oldest)
                        oldest = t->entries[i].last_used;
        if (oldest == UINT64_MAX) {
                if (t->timer)
                        (void) sd_event_source_set_enabled(t->timer, SD_EVENT_OFF);
                return;
        }
        if (!t->timer) {
                if (sd_event_add_time(t->event, &t->timer, CLOCK_MONOTONIC, oldest + t->idle_usec,
                                      t->idle_usec / 10, on_timer, t) < 0) {
                        drop_all(t);    /* no expiry, no cache */
                        return;
                }
        } else
                (void) sd_event_source_set_time(t->timer, oldest + t->idle_usec);
        (void) sd_event_source_set_enabled(t->timer, SD_EVENT_ONESHOT);
}

int fs_templates_new(sd_event *e, uint64_t idle_usec, FsTemplates **ret) {
        _cleanup_(fs_templates_freep) FsTemplates *t = calloc(1, sizeof *t);
        int r;

        if (!t)
                return -ENOMEM;
        t->event = sd_event_ref(e);
        t->idle_usec = idle_usec;
        t->mountinfo_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (t->mountinfo_fd < 0)
                return log_error_errno(errno, "Failed to open /proc/self/mountinfo: %m");
        r = sd_event_add_io(e, &t->mount_source, t->mountinfo_fd, EPOLLPRI, on_mounts, t);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the host's mounts: %m");
        *ret = TAKE_PTR(t);
        return 0;
}

FsTemplates *fs_templates_free(FsTemplates *t) {
        if (!t)
                return NULL;
        while (t->n > 0)
                entry_drop(t, t->n - 1);
        sd_event_source_disable_unref(t->mount_source);
        sd_event_source_disable_unref(t->timer);
        safe_close(t->mountinfo_fd);
        sd_event_unref(t->event);
        free(t);
        return NULL;
}

static void put_str(FILE *f, const char *s) {
        if (s)
                fprintf(f, "%zu:", strlen(s)), fwrite(s, 1, strlen(s), f);
        else
                fputs("-", f);
        fputc(';', f);
}

static void put_strv(FILE *f, char * const *l) {
        size_t n = 0;

        for (char * const *p = l; p && *p; p++)
                n++;
        fprintf(f, "[%zu:", n);
        for (char * const *p = l; p && *p; p++)
                put_str(f, *p);
        fputc(']', f);
}

int fs_template_key(const SandboxSpec *spec, char **ret, size_t *ret_len) {
        const FsPolicy *p = &spec->fs;
        char *buf = NULL;
        size_t len = 0;
        struct stat st;
        FILE *f;

        if (!p->allow_write || p->default_deny_read || spec->cwd_fd < 0 || !spec->cwd_path)
                return 0;
        if (fstat(spec->cwd_fd, &st) < 0)
                return negative_errno();
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "uid %u gid %u groups %zu:", (unsigned) spec->uid, (unsigned) spec->gid, spec->n_groups);
        for (size_t i = 0; i < spec->n_groups; i++)
                fprintf(f, "%u,", (unsigned) spec->groups[i]);
        fprintf(f, " cwd %llu:%llu ", (unsigned long long) st.st_dev, (unsigned long long) st.st_ino);
        put_str(f, spec->cwd_path);
        put_str(f, p->home);
        fprintf(f, "flags %d%d%d%d%d%d", p->default_deny_read, p->strict_deny_read, p->allow_git_config,
                p->landlock_required, p->devices_host, spec->hide_dir != NULL);
        put_str(f, spec->hide_dir);
        put_strv(f, p->allow_read);
        put_strv(f, p->allow_execute);
        put_strv(f, p->allow_write);
        put_strv(f, p->deny_read);
        put_strv(f, p->deny_write);
        put_strv(f, p->devices_allow);
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_len = len;
        return 1;
}

static ssize_t find(FsTemplates *t, const char *key, size_t len) {
        for (size_t i = 0; i < t->n; i++)
                if (t->entries[i].len == len && memcmp(t->entries[i].key, key, len) == 0)
                        return (ssize_t) i;
        return -1;
}

int fs_templates_get(FsTemplates *t, const char *key, size_t len, uint64_t *ret_generation) {
        ssize_t i;

        check_mounts(t);
        *ret_generation = t->generation;
        i = find(t, key, len);
        if (i < 0)
                return -1;
        t->entries[i].last_used = now_usec();
        arm_timer(t);
        return t->entries[i].fd;
}

/* The least recently used entry, among those of uid when by_uid. */
static ssize_t oldest(FsTemplates *t, bool by_uid, uid_t uid, size_t *count) {
        ssize_t best = -1;

        *count = 0;
        for (size_t i = 0; i < t->n; i++) {
                if (by_uid && t->entries[i].uid != uid)
                        continue;
                (*count)++;
                if (best < 0 || t->entries[i].last_used < t->entries[best].last_used)
                        best = (ssize_t) i;
        }
        return best;
}

void fs_templates_put(FsTemplates *t, const char *key, size_t len, uid_t uid, uint64_t generation, int ns_fd) {
        _cleanup_close_ int fd = ns_fd;
        size_t count;
        ssize_t i;
        char *copy;

        check_mounts(t);
        if (generation != t->generation) {
                log_debug("Dropped a filesystem template made before the host's mounts changed.");
                return;
        }
        if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNS)
                return;
        copy = malloc(len ? len : 1);
        if (!copy)
                return;
        memcpy(copy, key, len);

        i = find(t, key, len);
        if (i >= 0)
                entry_drop(t, (size_t) i);
        i = oldest(t, true, uid, &count);
        if (count >= FS_TEMPLATES_PER_USER)
                entry_drop(t, (size_t) i);
        if (t->n >= FS_TEMPLATES_MAX)
                entry_drop(t, (size_t) oldest(t, false, 0, &count));
        t->entries[t->n++] = (Entry) {
                .key = copy,
                .len = len,
                .uid = uid,
                .fd = TAKE_FD(fd),
                .last_used = now_usec(),
        };
        log_debug("Stored a filesystem template for uid %u (%zu held).", (unsigned) uid, t->n);
        arm_timer(t);
}

size_t fs_templates_count(const FsTemplates *t) {
        return t ? t->n : 0;
}
