#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "fs-template-ns.h"
#include "macro.h"

/* Where a template keeps its manifest: on a tmpfs of its own at /tmp, the
 * sandbox's /tmp being dropped from the copy. */
#define MANIFEST_DIR "/tmp"
#define MANIFEST MANIFEST_DIR "/fence-template"
#define MANIFEST_MAX (1024 * 1024)

#ifndef PIDFD_GET_MNT_NAMESPACE
#define PIDFD_GET_MNT_NAMESPACE _IO(0xFF, 3)    /* Linux 6.11, linux/pidfd.h */
#endif

/* An nsfs fd of this process's mount namespace: through a pidfd (no path
 * lookup in /proc, a third of the cost), else /proc/self/ns/mnt. */
static int open_self_ns(void) {
        _cleanup_close_ int pidfd = (int) syscall(SYS_pidfd_open, getpid(), 0);
        int fd = pidfd >= 0 ? ioctl(pidfd, PIDFD_GET_MNT_NAMESPACE, 0) : -1;

        if (fd >= 0)
                return fd;
        return RET_NERRNO(open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
}

/* Back into the namespace own; the root and cwd become its root. */
static int return_to(int own) {
        if (setns(own, CLONE_NEWNS) < 0 || chdir("/") < 0)
                return -ENOTRECOVERABLE;
        return 0;
}

static int check_and_clone(const char *path, const struct stat *want) {
        struct open_how how = {
                .flags = O_PATH | O_CLOEXEC,
                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        _cleanup_close_ int fd = -1;
        struct statx sx;
        struct statvfs vfs;

        fd = (int) syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
        if (fd < 0)
                return -ESTALE;
        if (statx(fd, "", AT_EMPTY_PATH, STATX_INO, &sx) < 0 || fstatvfs(fd, &vfs) < 0)
                return negative_errno();
        if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) || !(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ||
            (vfs.f_flag & ST_RDONLY) || sx.stx_ino != want->st_ino ||
            makedev(sx.stx_dev_major, sx.stx_dev_minor) != want->st_dev)
                return -ESTALE;
        return RET_NERRNO(open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE));
}

/* Whether the template's manifest is the same text. */
static int manifest_matches(const char *manifest) {
        _cleanup_close_ int fd = -1;
        size_t want = strlen(manifest);
        _cleanup_free_ char *buf = malloc(want + 1);
        ssize_t got;

        if (!buf)
                return -ENOMEM;
        fd = open(MANIFEST, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -ESTALE;
        /* One byte more than expected tells a longer file apart. */
        got = read(fd, buf, want + 1);
        if (got < 0)
                return negative_errno();
        return (size_t) got == want && memcmp(buf, manifest, want) == 0 ? 0 : -ESTALE;
}

int fs_template_ns_clone(int template_ns, const char *manifest, char * const *paths, const struct stat *want, size_t n,
                         int *trees) {
        _cleanup_close_ int own = -1;
        size_t i = 0;
        int r = 0, k;

        own = open_self_ns();
        if (own < 0)
                return own;
        if (setns(template_ns, CLONE_NEWNS) < 0)
                return negative_errno();
        r = manifest_matches(manifest);
        for (i = 0; r >= 0 && i < n; i++) {
                trees[i] = check_and_clone(paths[i], &want[i]);
                if (trees[i] < 0) {
                        r = trees[i];
                        break;
                }
        }
        k = return_to(own);
        if (r >= 0 && k < 0)
                r = k;
        if (r < 0) {
                for (size_t j = 0; j < i && j < n; j++)
                        trees[j] = safe_close(trees[j]);
                if (i < n)
                        trees[i] = -1;
                return r;
        }
        return 0;
}

static int write_manifest(const char *manifest) {
        _cleanup_close_ int fd = -1;

        if (strlen(manifest) > MANIFEST_MAX)
                return -E2BIG;
        if (mount("tmpfs", MANIFEST_DIR, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=1m") < 0)
                return negative_errno();
        fd = open(MANIFEST, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        for (size_t done = 0, len = strlen(manifest); done < len; ) {
                ssize_t n = write(fd, manifest + done, len - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? negative_errno() : -EIO;
                done += (size_t) n;
        }
        return 0;
}

int fs_template_ns_snapshot(const char *manifest, int *ret) {
        static const char * const drop[] = { "/proc", "/dev", "/tmp" };
        _cleanup_close_ int own = -1, copy = -1;
        int r = 0, k;

        own = open_self_ns();
        if (own < 0)
                return own;
        if (unshare(CLONE_NEWNS) < 0)
                return negative_errno();
        /* In the copy now: nothing of it propagates anywhere (the sandbox's
         * mounts are slaves or private). The sandbox's own filesystems are
         * not the template's to keep. */
        copy = open_self_ns();
        if (copy < 0)
                r = copy;
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(drop); i++)
                if (umount2(drop[i], MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                        r = negative_errno();
        if (r >= 0)
                r = write_manifest(manifest);
        k = return_to(own);
        if (k < 0)
                return k;       /* the caller cannot go on in the copy */
        if (r < 0)
                return r;
        *ret = TAKE_FD(copy);
        return 0;
}
