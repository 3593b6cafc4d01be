#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "fs-template-ns.h"
#include "macro.h"

static int open_self_ns(void) {
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

int fs_template_ns_clone(int template_ns, char * const *paths, const struct stat *want, size_t n, int *trees) {
        _cleanup_close_ int own = -1;
        size_t i;
        int r = 0, k;

        own = open_self_ns();
        if (own < 0)
                return own;
        if (setns(template_ns, CLONE_NEWNS) < 0)
                return negative_errno();
        for (i = 0; i < n; i++) {
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

int fs_template_ns_snapshot(int *ret) {
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
        k = return_to(own);
        if (k < 0)
                return k;       /* the caller cannot go on in the copy */
        if (r < 0)
                return r;
        *ret = TAKE_FD(copy);
        return 0;
}
