#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/epoll.h>
#include <sys/fsuid.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fileio.h"
#include "log.h"
#include "placeholder.h"
#include "strv.h"

#define MAGIC_OWNER UINT32_C(0x4f484650)       /* "PFHO" */
#define MAGIC_ENTRY UINT32_C(0x45484650)       /* "PFHE" */
#define MAX_GROUPS 65536U
#define MAX_RECORD_SIZE (4U * 1024U * 1024U)

typedef struct RecordOwner {
        uint32_t magic;
        uint32_t uid, gid;
        uint32_t n_groups;      /* followed by n_groups uint32_t */
} RecordOwner;

typedef struct RecordEntry {
        uint32_t magic;
        uint32_t kind;          /* FsProtectKind */
        uint64_t parent_dev, parent_ino;
        uint64_t dev, ino;
        int64_t btime_sec;      /* birth time, 0 when the filesystem has none: */
        uint32_t btime_nsec;    /* tells a new file from one that reuses the inode number */
        uint32_t parent_len;    /* followed by the parent path, then the name, */
        uint32_t name_len;      /* neither NUL-terminated */
} RecordEntry;

struct PlaceholderLog {
        int dir_fd;
        int fd;                 /* the record, once opened */
        char *id;
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
};

static bool valid_id(const char *id) {
        return id && id[0] && strlen(id) <= 64 && strspn(id, "0123456789abcdef") == strlen(id);
}

int placeholder_log_open(const char *state_dir, const char *sandbox_id, uid_t uid, gid_t gid,
                         const gid_t *groups, size_t n_groups, PlaceholderLog **ret) {
        _cleanup_free_ char *dir = NULL;
        PlaceholderLog *l;

        if (!state_dir || !valid_id(sandbox_id) || n_groups > MAX_GROUPS)
                return -EINVAL;
        if (asprintf(&dir, "%s/" PLACEHOLDER_DIR, state_dir) < 0)
                return -ENOMEM;

        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        *l = (PlaceholderLog) { .dir_fd = -1, .fd = -1, .uid = uid, .gid = gid, .n_groups = n_groups };
        l->id = strdup(sandbox_id);
        l->groups = n_groups ? malloc(n_groups * sizeof *groups) : NULL;
        if (!l->id || (n_groups && !l->groups)) {
                placeholder_log_free(l);
                return -ENOMEM;
        }
        if (n_groups)
                memcpy(l->groups, groups, n_groups * sizeof *groups);
        l->dir_fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (l->dir_fd < 0) {
                int r = -errno;
                placeholder_log_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

PlaceholderLog *placeholder_log_free(PlaceholderLog *l) {
        if (!l)
                return NULL;
        safe_close(l->dir_fd);
        safe_close(l->fd);
        free(l->id);
        free(l->groups);
        free(l);
        return NULL;
}

static int write_all(int fd, const void *buf, size_t n) {
        ssize_t k = write(fd, buf, n);

        if (k < 0)
                return -errno;
        return (size_t) k == n ? 0 : -EIO;
}

/* Creates the record with its owner header, with root's file access. */
static int log_create(PlaceholderLog *l) {
        _cleanup_free_ uint8_t *buf = NULL;
        RecordOwner o = {
                .magic = MAGIC_OWNER,
                .uid = (uint32_t) l->uid,
                .gid = (uint32_t) l->gid,
                .n_groups = (uint32_t) l->n_groups,
        };
        size_t size = sizeof o + l->n_groups * sizeof(uint32_t);
        uid_t old_uid;
        gid_t old_gid;
        int fd, r;

        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, &o, sizeof o);
        for (size_t i = 0; i < l->n_groups; i++) {
                uint32_t g = (uint32_t) l->groups[i];
                memcpy(buf + sizeof o + i * sizeof g, &g, sizeof g);
        }

        /* setfsuid() returns the previous value; going back to 0 restores
         * the file capabilities it dropped. */
        old_uid = (uid_t) setfsuid(0);
        old_gid = (gid_t) setfsgid(0);
        fd = openat(l->dir_fd, l->id, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
        r = fd < 0 ? -errno : 0;
        (void) setfsgid(old_gid);
        (void) setfsuid(old_uid);
        if (r < 0)
                return r;

        r = write_all(fd, buf, size);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        l->fd = fd;
        return 0;
}

int placeholder_log_append(const FsProtectCreated *c, void *userdata) {
        PlaceholderLog *l = userdata;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t pl = strlen(c->parent), nl = strlen(c->name), size;
        RecordEntry e = {
                .magic = MAGIC_ENTRY,
                .kind = (uint32_t) c->kind,
                .parent_dev = (uint64_t) c->parent_dev,
                .parent_ino = (uint64_t) c->parent_ino,
                .dev = (uint64_t) c->dev,
                .ino = (uint64_t) c->ino,
                .parent_len = (uint32_t) pl,
                .name_len = (uint32_t) nl,
        };
        int r;

        if (pl == 0 || nl == 0 || pl > PATH_MAX || nl > NAME_MAX || strchr(c->name, '/'))
                return -EINVAL;
        {
                _cleanup_free_ char *path = NULL;
                struct statx sx;

                if (asprintf(&path, "%s/%s", c->parent, c->name) < 0)
                        return -ENOMEM;
                if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_BTIME, &sx) >= 0 &&
                    (sx.stx_mask & STATX_BTIME) && sx.stx_ino == (uint64_t) c->ino) {
                        e.btime_sec = sx.stx_btime.tv_sec;
                        e.btime_nsec = sx.stx_btime.tv_nsec;
                }
        }
        if (l->fd < 0) {
                r = log_create(l);
                if (r < 0)
                        return log_error_errno(r, "Failed to record placeholders in " PLACEHOLDER_DIR "/%s: %m", l->id);
        }

        size = sizeof e + pl + nl;
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, &e, sizeof e);
        memcpy(buf + sizeof e, c->parent, pl);
        memcpy(buf + sizeof e + pl, c->name, nl);
        /* One write() per entry with O_APPEND: a crash leaves whole entries. */
        r = write_all(l->fd, buf, size);
        if (r < 0)
                return log_error_errno(r, "Failed to record the placeholder %s/%s: %m", c->parent, c->name);
        return 0;
}

int placeholder_dir_prepare(const char *state_dir) {
        _cleanup_free_ char *dir = NULL;

        if (asprintf(&dir, "%s/" PLACEHOLDER_DIR, state_dir) < 0)
                return -ENOMEM;
        return private_dir_make(dir);
}

/* ---- removal ---- */

typedef struct Record {
        RecordOwner owner;
        gid_t *groups;
        struct Entry {
                RecordEntry e;
                char *parent;
                char *name;
        } *entries;
        size_t n_entries;
} Record;

static void record_done(Record *r) {
        for (size_t i = 0; i < r->n_entries; i++) {
                free(r->entries[i].parent);
                free(r->entries[i].name);
        }
        free(r->entries);
        free(r->groups);
        *r = (Record) {};
}

/* Parses what was written; a torn last entry (crash mid-write) is ignored. */
static int record_parse(const uint8_t *buf, size_t size, Record *ret) {
        Record r = {};
        size_t off = sizeof r.owner;

        if (size < sizeof r.owner)
                return -EBADMSG;
        memcpy(&r.owner, buf, sizeof r.owner);
        if (r.owner.magic != MAGIC_OWNER || r.owner.n_groups > MAX_GROUPS ||
            size - off < (size_t) r.owner.n_groups * sizeof(uint32_t))
                return -EBADMSG;
        if (r.owner.n_groups) {
                r.groups = calloc(r.owner.n_groups, sizeof *r.groups);
                if (!r.groups)
                        return -ENOMEM;
                for (size_t i = 0; i < r.owner.n_groups; i++, off += sizeof(uint32_t)) {
                        uint32_t g;
                        memcpy(&g, buf + off, sizeof g);
                        r.groups[i] = (gid_t) g;
                }
        }

        while (size - off >= sizeof(RecordEntry)) {
                struct Entry en = {};
                struct Entry *n;

                memcpy(&en.e, buf + off, sizeof en.e);
                if (en.e.magic != MAGIC_ENTRY || en.e.parent_len == 0 || en.e.parent_len > PATH_MAX ||
                    en.e.name_len == 0 || en.e.name_len > NAME_MAX ||
                    size - off - sizeof en.e < (size_t) en.e.parent_len + en.e.name_len)
                        break;
                off += sizeof en.e;
                en.parent = strndup((const char *) buf + off, en.e.parent_len);
                en.name = strndup((const char *) buf + off + en.e.parent_len, en.e.name_len);
                off += en.e.parent_len + en.e.name_len;
                n = realloc(r.entries, (r.n_entries + 1) * sizeof *n);
                if (!en.parent || !en.name || !n) {
                        free(en.parent);
                        free(en.name);
                        if (n)
                                r.entries = n;
                        record_done(&r);
                        return -ENOMEM;
                }
                r.entries = n;
                r.entries[r.n_entries++] = en;
        }
        *ret = r;
        return 0;
}


/* Removes one entry if it is still ours and empty; as the caller. */
static bool remove_entry(const struct Entry *en) {
        _cleanup_close_ int parent = -1;
        struct stat st;

        parent = open(en->parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (parent < 0 || fstat(parent, &st) < 0)
                return false;
        if ((uint64_t) st.st_dev != en->e.parent_dev || (uint64_t) st.st_ino != en->e.parent_ino)
                return false;   /* not the directory it was made in */
        if (fstatat(parent, en->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return false;
        if ((uint64_t) st.st_dev != en->e.dev || (uint64_t) st.st_ino != en->e.ino)
                return false;   /* replaced: no longer ours */
        if (en->e.btime_sec != 0 || en->e.btime_nsec != 0) {
                struct statx sx;

                if (statx(parent, en->name, AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) < 0 ||
                    !(sx.stx_mask & STATX_BTIME) || sx.stx_btime.tv_sec != en->e.btime_sec ||
                    sx.stx_btime.tv_nsec != en->e.btime_nsec)
                        return false;   /* replaced by a file that reuses the inode number */
        }
        if (en->e.kind == FS_PROTECT_DIR) {
                if (!S_ISDIR(st.st_mode))
                        return false;
                /* Fails with ENOTEMPTY when the user put something there. */
                return unlinkat(parent, en->name, AT_REMOVEDIR) >= 0;
        }
        if (!S_ISREG(st.st_mode) || st.st_size != 0)
                return false;   /* the user wrote to it: theirs now */
        return unlinkat(parent, en->name, 0) >= 0;
}

/* In the forked helper: never returns. */
_noreturn_ static void remove_as_owner(const Record *r) {
        unsigned removed = 0;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        (void) close_range(3, ~0U, 0);
        if (setgroups(r->owner.n_groups, r->groups) < 0 ||
            setresgid((gid_t) r->owner.gid, (gid_t) r->owner.gid, (gid_t) r->owner.gid) < 0 ||
            setresuid((uid_t) r->owner.uid, (uid_t) r->owner.uid, (uid_t) r->owner.uid) < 0)
                _exit(255);
        if (r->owner.uid != 0 && (setuid(0) == 0 || geteuid() == 0))
                _exit(255);     /* the switch must be irreversible */

        for (size_t i = r->n_entries; i > 0; i--)
                removed += remove_entry(&r->entries[i - 1]);
        _exit(removed > 200 ? 200 : (int) removed);
}

static int wait_helper(pid_t pid) {
        _cleanup_close_ int pidfd = -1;
        int status, r;

        pidfd = (int) pidfd_open(pid, 0);
        if (pidfd >= 0) {
                struct pollfd p = { .fd = pidfd, .events = POLLIN };

                do
                        r = poll(&p, 1, PLACEHOLDER_REMOVE_TIMEOUT_MS);
                while (r < 0 && errno == EINTR);
                if (r == 0) {
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, &status, 0);
                        return -ETIMEDOUT;
                }
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) == 255)
                return -EPERM;
        return WEXITSTATUS(status);
}

/* Undoes the octal escapes of /proc/<pid>/mountinfo (space, tab, newline,
 * backslash). */
static void unescape_mountinfo(char *s) {
        char *w = s;

        for (const char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char) ((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = 0;
}

static int add_mount_points(pid_t pid, char ***points) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        char path[64];
        size_t n = 0;

        snprintf(path, sizeof path, "/proc/%d/mountinfo", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT || errno == ESRCH ? 0 : -errno;
        while (getline(&line, &n, f) > 0) {
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... */
                char *p = line;
                size_t len;
                int k;

                for (int field = 0; field < 4 && p; field++) {
                        p = strchr(p, ' ');
                        if (p)
                                p++;
                }
                if (!p)
                        continue;
                len = strcspn(p, " \n");
                p[len] = 0;
                unescape_mountinfo(p);
                k = strv_extend(points, p);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* Mount points of every running sandbox: one process per cgroup suffices,
 * a sandbox's processes cannot make mount namespaces of their own. */
static int live_mount_points(const char *slice, char ***ret) {
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_strv_free_ char **points = NULL;
        int k;

        d = slice ? opendir(slice) : NULL;
        if (!d) {
                *ret = NULL;
                return slice && errno != ENOENT ? -errno : 0;
        }
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_fclose_ FILE *f = NULL;
                char procs[NAME_MAX + 32];
                int fd, pid;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                snprintf(procs, sizeof procs, "%s/cgroup.procs", de->d_name);
                fd = openat(dirfd(d), procs, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                f = fdopen(fd, "re");
                if (!f) {
                        safe_close(fd);
                        return -ENOMEM;
                }
                if (fscanf(f, "%d", &pid) != 1 || pid <= 0)
                        continue;
                k = add_mount_points(pid, &points);
                if (k < 0)
                        return k;
        }
        *ret = TAKE_PTR(points);
        return 0;
}

static bool entry_busy(const struct Entry *en, char * const *points) {
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "%s%s%s", en->parent, endswith(en->parent, "/") ? "" : "/", en->name) < 0)
                return true;    /* cannot tell: keep it */
        return strv_contains(points, p);
}

static int write_record(int dir_fd, const char *id, const Record *rec, const bool *keep) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r = 0;

        if (asprintf(&tmp, "%s.new", id) < 0)
                return -ENOMEM;
        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        r = write_all(fd, &rec->owner, sizeof rec->owner);
        for (size_t i = 0; r >= 0 && i < rec->owner.n_groups; i++) {
                uint32_t g = (uint32_t) rec->groups[i];
                r = write_all(fd, &g, sizeof g);
        }
        for (size_t i = 0; r >= 0 && i < rec->n_entries; i++) {
                if (!keep[i])
                        continue;
                r = write_all(fd, &rec->entries[i].e, sizeof rec->entries[i].e);
                if (r >= 0)
                        r = write_all(fd, rec->entries[i].parent, rec->entries[i].e.parent_len);
                if (r >= 0)
                        r = write_all(fd, rec->entries[i].name, rec->entries[i].e.name_len);
        }
        if (r >= 0 && renameat(dir_fd, tmp, dir_fd, id) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(dir_fd, tmp, 0);
        return r;
}

/* Returns 1 when the record is finished (deleted), 0 when entries remain. */
static int sweep_record(int dir_fd, const char *dir, const char *id, char * const *busy_points) {
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ bool *keep = NULL;
        Record rec = {}, todo;
        size_t size = 0, n_keep = 0;
        pid_t pid;
        int r;

        r = read_small_file_at(dir_fd, id, MAX_RECORD_SIZE, true, &buf, &size);
        if (r == -ENOENT)
                return 1;
        if (r < 0)
                return log_warning_errno(r, "Cannot read the placeholder record %s/%s: %m", dir, id);
        r = record_parse(buf, size, &rec);
        if (r == -EBADMSG) {
                /* Torn before its header was complete: nothing was made. */
                log_warning("Removing the unreadable placeholder record %s/%s.", dir, id);
                (void) unlinkat(dir_fd, id, 0);
                return 1;
        }
        if (r < 0)
                return r;

        keep = calloc(rec.n_entries + 1, sizeof *keep);
        if (!keep) {
                r = -ENOMEM;
                goto finish;
        }
        /* The helper gets the entries no running sandbox relies on. */
        todo = rec;
        todo.entries = calloc(rec.n_entries + 1, sizeof *todo.entries);
        if (!todo.entries) {
                r = -ENOMEM;
                goto finish;
        }
        todo.n_entries = 0;
        for (size_t i = 0; i < rec.n_entries; i++) {
                keep[i] = entry_busy(&rec.entries[i], busy_points);
                if (keep[i])
                        n_keep++;
                else
                        todo.entries[todo.n_entries++] = rec.entries[i];
        }

        if (todo.n_entries > 0) {
                pid = fork();
                if (pid < 0)
                        r = log_warning_errno(errno, "Cannot fork to remove the placeholders of %s: %m", id);
                else if (pid == 0)
                        remove_as_owner(&todo);
                else
                        r = wait_helper(pid);
        }
        free(todo.entries);
        if (r < 0) {
                log_warning_errno(r, "Removing the placeholders of sandbox %s failed (%m); "
                                  "%s/%s is kept for the next attempt.", id, dir, id);
                goto finish;
        }

        if (n_keep > 0) {
                log_debug("Sandbox %s: %zu placeholder(s) protect a running sandbox too; removing them later.",
                          id, n_keep);
                r = write_record(dir_fd, id, &rec, keep);
                if (r < 0)
                        log_warning_errno(r, "Cannot rewrite the placeholder record %s/%s: %m", dir, id);
                r = 0;
                goto finish;
        }
        if (unlinkat(dir_fd, id, 0) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Cannot remove the placeholder record %s/%s: %m", dir, id);
        r = 1;
finish:
        record_done(&rec);
        return r;
}

int placeholder_sweep(const char *state_dir, const char *cgroup_slice) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_strv_free_ char **busy = NULL;
        _cleanup_close_ int slice_fd = -1;
        bool have_busy = false;
        int n = 0, r;

        if (asprintf(&dir, "%s/" PLACEHOLDER_DIR, state_dir) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        /* One sweep at a time (fenced's own at start-up and shutdown, and
         * the children of placeholder_sweep_async()). */
        while (flock(dirfd(d), LOCK_EX) < 0)
                if (errno != EINTR)
                        return -errno;
        if (cgroup_slice)
                slice_fd = open(cgroup_slice, O_PATH | O_DIRECTORY | O_CLOEXEC);

        for (struct dirent *de; (de = readdir(d));) {
                if (!valid_id(de->d_name))
                        continue;
                /* Still running (or its cgroup not yet removed): later. */
                if (slice_fd >= 0 && faccessat(slice_fd, de->d_name, F_OK, 0) >= 0)
                        continue;
                if (!have_busy) {
                        r = live_mount_points(cgroup_slice, &busy);
                        if (r < 0)
                                return log_warning_errno(r, "Cannot list the mounts of running sandboxes, "
                                                         "keeping placeholders for later: %m");
                        have_busy = true;
                }
                r = sweep_record(dirfd(d), dir, de->d_name, busy);
                if (r > 0)
                        n++;
        }
        return n;
}

static int reap_sweeper(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        siginfo_t si = {};

        (void) waitid(P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG);
        if (si.si_pid == 0)
                return 0;       /* spurious wake-up */
        if (si.si_code != CLD_EXITED || si.si_status != 0)
                log_warning("The placeholder sweep (pid %d) failed; its records stay for the next sweep.",
                            (int) si.si_pid);
        /* Floating source that owns the pidfd: unreferencing it frees both. */
        sd_event_source_disable_unref(src);
        return 0;
}

/* Whether <state_dir>/placeholders holds any record (a cheap look at a
 * small root-only directory, fine on the loop). */
static bool have_records(const char *state_dir) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;

        if (asprintf(&dir, "%s/" PLACEHOLDER_DIR, state_dir) < 0)
                return true;    /* cannot tell: sweep */
        d = opendir(dir);
        if (!d)
                return errno != ENOENT;
        for (struct dirent *de; (de = readdir(d));)
                if (valid_id(de->d_name))
                        return true;
        return false;
}

/* Forks the sweep process; with go_fd >= 0 it first waits until that fd
 * can be read (a byte or EOF). */
static int fork_sweep(sd_event *e, const char *state_dir, const char *cgroup_slice, int go_fd, pid_t *ret_pid,
                      int *ret_pidfd) {
        sd_event_source *src = NULL;
        pid_t parent = getpid(), pid;
        int pidfd, r;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* The next start of fenced sweeps what this one could not. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(EXIT_FAILURE);
                if (go_fd >= 0) {
                        char c;

                        (void) prctl(PR_SET_NAME, "fenced-sweepwait");
                        /* Nothing of fenced's but the go signal. */
                        if (dup2(go_fd, 3) < 0 || close_range(4, ~0U, 0) < 0)
                                _exit(EXIT_FAILURE);
                        while (read(3, &c, 1) < 0 && errno == EINTR)
                                ;
                        /* Named before fenced goes on (it waits for the
                         * answer): whoever waits for no fenced-sweep to be
                         * left after fenced replied cannot miss this one. */
                        (void) prctl(PR_SET_NAME, "fenced-sweep");
                        (void) !write(3, "", 1);
                        (void) close(3);
                } else
                        (void) prctl(PR_SET_NAME, "fenced-sweep");
                _exit(placeholder_sweep(state_dir, cgroup_slice) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
        }
        pidfd = (int) pidfd_open(pid, 0);
        if (pidfd < 0) {
                r = -errno;
                if (go_fd >= 0)
                        (void) kill(pid, SIGKILL);      /* it would wait for its go forever */
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        if (ret_pidfd) {
                *ret_pidfd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
                if (*ret_pidfd < 0) {
                        r = -errno;
                        (void) kill(pid, SIGKILL);
                        (void) waitid(P_PIDFD, (id_t) pidfd, &(siginfo_t) {}, WEXITED);
                        safe_close(pidfd);
                        return r;
                }
        }
        r = sd_event_add_io(e, &src, pidfd, EPOLLIN, reap_sweeper, NULL);
        if (r < 0) {
                if (go_fd >= 0)
                        (void) kill(pid, SIGKILL);
                (void) waitid(P_PIDFD, (id_t) pidfd, &(siginfo_t) {}, WEXITED);
                safe_close(pidfd);
                if (ret_pidfd)
                        *ret_pidfd = safe_close(*ret_pidfd);
                return r;
        }
        if (ret_pid)
                *ret_pid = pid;
        (void) sd_event_source_set_io_fd_own(src, true);
        (void) sd_event_source_set_floating(src, true);
        sd_event_source_unref(src);
        return 0;
}

int placeholder_sweep_async(sd_event *e, const char *state_dir, const char *cgroup_slice) {
        /* Most sandboxes make no placeholder: no process for them. */
        if (!have_records(state_dir))
                return 0;
        return fork_sweep(e, state_dir, cgroup_slice, -1, NULL, NULL);
}

int placeholder_sweep_prepare(sd_event *e, const char *state_dir, const char *cgroup_slice, const char *sandbox_id,
                              int *ret_fd, int *ret_pidfd) {
        _cleanup_free_ char *record = NULL;
        int pipefd[2], r;

        *ret_fd = *ret_pidfd = -1;
        /* Only for a sandbox that made placeholders (its record exists). */
        if (!valid_id(sandbox_id) || asprintf(&record, "%s/" PLACEHOLDER_DIR "/%s", state_dir, sandbox_id) < 0)
                return -EINVAL;
        if (access(record, F_OK) < 0)
                return 0;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pipefd) < 0)
                return -errno;
        r = fork_sweep(e, state_dir, cgroup_slice, pipefd[0], NULL, ret_pidfd);
        safe_close(pipefd[0]);
        if (r < 0) {
                safe_close(pipefd[1]);
                return r;
        }
        *ret_fd = pipefd[1];
        return 1;
}

int placeholder_sweep_release(int fd, int pidfd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char c;
        int r;

        if (pidfd_send_signal(pidfd, 0, NULL, 0) < 0)
                return -ESRCH;
        if (send(fd, "", 1, MSG_NOSIGNAL) < 0)
                return -errno;
        /* Its answer says it is named fenced-sweep now; it is waiting on
         * the other CPU, so this takes a wake-up, not a fork. Bounded: a
         * stopped process cannot stall fenced. */
        do
                r = poll(&p, 1, PLACEHOLDER_RELEASE_TIMEOUT_MS);
        while (r < 0 && errno == EINTR);
        if (r <= 0 || recv(fd, &c, 1, MSG_DONTWAIT) != 1)
                log_debug("The sweep process did not confirm its start; it sweeps all the same.");
        return 0;
}
