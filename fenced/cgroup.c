#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>

#include "cgroup.h"
#include "log.h"
#include "macro.h"

#define SLICE_NAME "fence.slice"

static int find_cgroup2_mount(char **ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t n = 0;

        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return negative_errno();

        /* mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER */
        while (getline(&line, &n, f) > 0) {
                char mnt[4096];
                const char *sep = strstr(line, " - ");

                if (!sep || !startswith(sep, " - cgroup2 "))
                        continue;
                if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
                        continue;
                *ret = strdup(mnt);
                return *ret ? 0 : -ENOMEM;
        }
        return -ENOENT;
}

static int write_string_at(int dirfd, const char *file, const char *s) {
        _cleanup_close_ int fd = -1;
        size_t l = strlen(s);

        fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (write(fd, s, l) != (ssize_t) l)
                return negative_errno();
        return 0;
}

/* Our own cgroup2 path, from the "0::" line of /proc/self/cgroup. */
static int own_cgroup(char **ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t n = 0;

        f = fopen("/proc/self/cgroup", "re");
        if (!f)
                return negative_errno();
        while (getline(&line, &n, f) > 0) {
                const char *p = startswith(line, "0::");
                if (!p)
                        continue;
                *ret = strndup(p, strcspn(p, "\n"));
                return *ret ? 0 : -ENOMEM;
        }
        return -ENOENT;
}

/* systemd marks the cgroup of a unit with Delegate=yes with the xattr
 * trusted.delegate=1 (user.delegate for user managers). */
static bool cgroup_is_delegated(const char *path) {
        static const char *const names[] = { "trusted.delegate", "user.delegate" };
        char v[2];

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (getxattr(path, names[i], v, sizeof v) == 1 && v[0] == '1')
                        return true;
        return false;
}

/* Delegated: fenced moves itself into <base>/daemon, so that <base> holds
 * only cgroups (the no-internal-processes rule of cgroup2 with controllers
 * enabled) and fence.slice becomes its sibling. */
static int move_self_into(const char *base) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -1;

        if (asprintf(&dir, "%s/daemon", base) < 0)
                return log_oom();
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", dir);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", dir);
        if (write_string_at(fd, "cgroup.procs", "0") < 0)
                return log_error_errno(errno, "Failed to move fenced into %s: %m", dir);
        return 0;
}

int cgroup_root_open(CgroupRoot *ret) {
        _cleanup_free_ char *mount = NULL, *own = NULL, *base = NULL, *slice = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        r = find_cgroup2_mount(&mount);
        if (r < 0)
                return log_error_errno(r, "No cgroup2 hierarchy is mounted (mount -t cgroup2 none /sys/fs/cgroup/unified): %m");

        r = own_cgroup(&own);
        if (r < 0)
                return log_error_errno(r, "Failed to read fenced's own cgroup from /proc/self/cgroup: %m");
        /* Our cgroup as a directory; "/" is the mount itself. */
        if (asprintf(&base, "%s%s", mount, streq(own, "/") ? "" : own) < 0)
                return log_oom();
        if (cgroup_is_delegated(base)) {
                r = move_self_into(base);
                if (r < 0)
                        return r;
                log_debug("Using the delegated cgroup %s.", base);
        } else {
                free(base);
                base = strdup(mount);
                if (!base)
                        return log_oom();
        }

        if (asprintf(&slice, "%s/" SLICE_NAME, base) < 0)
                return log_oom();
        if (mkdir(slice, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", slice);
        fd = open(slice, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", slice);
        /* A starting fenced kills whatever it finds in its slice (stale
         * sandboxes of a crashed instance): never a live instance's. */
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK) {
                        log_error("Another fenced already runs the sandboxes in %s; stop it first "
                                  "(two daemons on one slice would kill each other's sandboxes).", slice);
                        return -EBUSY;
                }
                return log_error_errno(errno, "Failed to lock %s: %m", slice);
        }

        ret->mount = TAKE_PTR(mount);
        ret->slice = TAKE_PTR(slice);
        ret->slice_fd = TAKE_FD(fd);
        return 0;
}

void cgroup_root_close(CgroupRoot *r) {
        free(r->mount);
        free(r->slice);
        safe_close(r->slice_fd);
        *r = (CgroupRoot) { .slice_fd = -1 };
}

int cgroup_kill(int cgroup_fd) {
        _cleanup_fclose_ FILE *f = NULL;
        int r, fd;
        long pid;

        r = write_string_at(cgroup_fd, "cgroup.kill", "1");
        if (r != -ENOENT)
                return r;

        /* Pre-5.14 kernels: kill what is listed (a fork racing with this is
         * caught by the caller's populated watch, which calls again). */
        fd = openat(cgroup_fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        f = fdopen(fd, "re");
        if (!f) {
                safe_close(fd);
                return negative_errno();
        }
        while (fscanf(f, "%ld", &pid) == 1)
                (void) kill((pid_t) pid, SIGKILL);
        return 0;
}

int cgroup_populated(int cgroup_fd) {
        char buf[256];
        _cleanup_close_ int fd = -1;
        ssize_t n;
        const char *p;

        fd = openat(cgroup_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = 0;
        p = strstr(buf, "populated ");
        if (!p)
                return -EBADMSG;
        return p[strlen("populated ")] == '1';
}

int cgroup_wait_empty(int cgroup_fd, unsigned timeout_ms) {
        int r;

        for (unsigned i = 0;; i++) {
                r = cgroup_populated(cgroup_fd);
                if (r <= 0)
                        return r;
                if (i >= timeout_ms)
                        return -ETIMEDOUT;
                nanosleep(&(struct timespec) { .tv_nsec = 1000 * 1000 }, NULL);
        }
}

int cgroup_open_events(int cgroup_fd) {
        return RET_NERRNO(openat(cgroup_fd, "cgroup.events", O_RDONLY | O_CLOEXEC | O_NONBLOCK));
}

int cgroup_create(CgroupRoot *r, const char *name) {
        int fd;

        if (mkdirat(r->slice_fd, name, 0755) < 0)
                return negative_errno();
        fd = openat(r->slice_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                int e = negative_errno();
                (void) unlinkat(r->slice_fd, name, AT_REMOVEDIR);
                return e;
        }
        return fd;
}

int cgroup_remove(CgroupRoot *r, const char *name) {
        return RET_NERRNO(unlinkat(r->slice_fd, name, AT_REMOVEDIR));
}

int cgroup_id(int cgroup_fd, uint64_t *ret) {
        struct stat st;

        if (fstat(cgroup_fd, &st) < 0)
                return negative_errno();
        *ret = (uint64_t) st.st_ino;
        return 0;
}

int cgroup_root_clean_stale(CgroupRoot *r) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd, n = 0;

        fd = dup(r->slice_fd);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return negative_errno();
        }

        while ((de = readdir(d))) {
                _cleanup_close_ int cfd = -1;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                cfd = openat(r->slice_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (cfd < 0)
                        continue;
                (void) cgroup_kill(cfd);
                /* This runs once at start-up, so a blocking wait is fine. */
                (void) cgroup_wait_empty(cfd, 1000);
                if (cgroup_remove(r, de->d_name) < 0)
                        log_warning_errno(errno, "Failed to remove stale cgroup %s/%s: %m", r->slice, de->d_name);
                else {
                        log_notice("Removed stale sandbox cgroup %s/%s.", r->slice, de->d_name);
                        n++;
                }
        }
        return n;
}

bool cgroup_pid_is_sandboxed(CgroupRoot *r, pid_t pid) {
        char path[64], *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t n = 0;
        bool found = false;
        const char *rel = r->slice + strlen(r->mount);   /* "/fence.slice" */

        snprintf(path, sizeof path, "/proc/%d/cgroup", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return true;    /* cannot tell: treat as sandboxed (fail closed) */
        while (getline(&line, &n, f) > 0) {
                const char *p = startswith(line, "0::");
                if (p && startswith(p, rel) && (p[strlen(rel)] == '/' || p[strlen(rel)] == '\n')) {
                        found = true;
                        break;
                }
        }
        free(line);
        return found;
}

bool cgroup_peer_is_sandboxed(CgroupRoot *r, pid_t pid, int pidfd) {
        if (pidfd < 0 && pidfd != -ENOPROTOOPT)
                return true;
        if (cgroup_pid_is_sandboxed(r, pid))
                return true;
        /* /proc/<pid> was read above: it was the peer's only if the peer
         * still lives now (a zombie still holds its pid). */
        return pidfd >= 0 && pidfd_send_signal(pidfd, 0, NULL, 0) < 0;
}
