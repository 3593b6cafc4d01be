#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "log.h"
#include "macro.h"
#include "mount-view.h"

/* Layout while building: a private tmpfs becomes the root, the host's root
 * moves to /oldroot, and the sandbox's root is assembled at /newroot. */
#define BASE "/tmp"

#define TRY(expr, what)                          \
        do {                                     \
                if ((expr) < 0) {                \
                        *ret_what = (what);      \
                        return negative_errno(); \
                }                                \
        } while (0)

static int pivot_root(const char *new_root, const char *put_old) {
        return (int) syscall(SYS_pivot_root, new_root, put_old);
}

static int bind_file(const char *src, const char *dst) {
        _cleanup_close_ int fd = -1;

        fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -1;
        return mount(src, dst, NULL, MS_BIND, NULL);
}

static int make_dev(const char **ret_what) {
        static const char * const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
        static const char * const links[][2] = {
                { "/proc/self/fd", "/newroot/dev/fd" },
                { "/proc/self/fd/0", "/newroot/dev/stdin" },
                { "/proc/self/fd/1", "/newroot/dev/stdout" },
                { "/proc/self/fd/2", "/newroot/dev/stderr" },
                { "pts/ptmx", "/newroot/dev/ptmx" },
        };

        TRY(mount("tmpfs", "/newroot/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k"), "mounting /dev");
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                char src[64], dst[64];

                snprintf(src, sizeof src, "/oldroot/dev/%s", nodes[i]);
                snprintf(dst, sizeof dst, "/newroot/dev/%s", nodes[i]);
                TRY(bind_file(src, dst), "binding a device node into /dev");
        }

        TRY(mkdir("/newroot/dev/pts", 0755), "creating /dev/pts");
        TRY(mount("devpts", "/newroot/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                  "newinstance,ptmxmode=0666,mode=0620"), "mounting /dev/pts");
        TRY(mkdir("/newroot/dev/shm", 01777), "creating /dev/shm");
        TRY(mount("tmpfs", "/newroot/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"), "mounting /dev/shm");
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                TRY(symlink(links[i][0], links[i][1]), "creating /dev symlinks");
        return 0;
}

/* mkdir -p below a tmpfs that only this sandbox sees. */
static int mkdir_parents_in_view(const char *path) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

/* The view replaces /tmp, /dev and /proc, so a cwd below them would vanish;
 * bind the caller's own directory (the fd it sent) back at its path. */
static int keep_cwd_reachable(const MountViewSpec *spec, const char **ret_what) {
        _cleanup_free_ char *target = NULL;
        char src[64];
        struct stat want, have;

        if (!spec->cwd_path || spec->cwd_fd < 0)
                return 0;
        if (fstat(spec->cwd_fd, &want) < 0)
                return negative_errno();
        if (asprintf(&target, "/newroot%s", spec->cwd_path) < 0)
                return -ENOMEM;
        if (stat(target, &have) == 0 && have.st_dev == want.st_dev && have.st_ino == want.st_ino)
                return 0;
        if (!startswith(spec->cwd_path, "/tmp/") && !startswith(spec->cwd_path, "/dev/shm/"))
                return 0;       /* the caller's cwd is simply not part of the view */

        TRY(mkdir_parents_in_view(target), "recreating the cwd's path below /tmp");
        snprintf(src, sizeof src, "/oldroot/proc/self/fd/%d", spec->cwd_fd);
        TRY(mount(src, target, NULL, MS_BIND | MS_REC, NULL), "binding the cwd");
        TRY(mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL),
            "making the cwd read-only");
        return 0;
}

int mount_view_build(const MountViewSpec *spec, const char **ret_what) {
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        };
        int r;

        /* Nothing we mount may propagate back to the host. */
        TRY(mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL), "making / a slave mount");

        TRY(mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k"), "mounting the base tmpfs");
        TRY(chdir(BASE), "entering the base tmpfs");
        TRY(mkdir("newroot", 0755), "creating newroot");
        TRY(mkdir("oldroot", 0755), "creating oldroot");
        TRY(pivot_root(".", "oldroot"), "pivot_root into the base tmpfs");
        TRY(chdir("/"), "chdir /");

        TRY(mount("/oldroot", "/newroot", NULL, MS_BIND | MS_REC, NULL), "binding the host root");
        TRY(mount_setattr(AT_FDCWD, "/newroot", AT_RECURSIVE, &attr, sizeof attr),
            "making the root read-only, nosuid, nodev");

        TRY(mount("proc", "/newroot/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mounting /proc");
        r = make_dev(ret_what);
        if (r < 0)
                return r;
        TRY(mount("tmpfs", "/newroot/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"), "mounting the private /tmp");

        if (spec->hide_dir) {
                _cleanup_free_ char *p = NULL;
                struct stat st;

                if (asprintf(&p, "/newroot%s", spec->hide_dir) < 0)
                        return -ENOMEM;
                if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
                        TRY(mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=4k"),
                            "hiding fenced's state directory");
        }

        r = keep_cwd_reachable(spec, ret_what);
        if (r < 0)
                return r;

        /* Swap in the new root and drop the old one with everything below it. */
        TRY(chdir("/newroot"), "entering the new root");
        TRY(pivot_root(".", "."), "pivot_root into the new root");
        TRY(umount2(".", MNT_DETACH), "detaching the old root");
        TRY(chdir("/"), "chdir / in the new root");
        return 0;
}
