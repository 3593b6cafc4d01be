#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>

#include "fs-protect-cache.h"
#include "log.h"
#include "macro.h"
#include "mount-file.h"
#include "mount-view.h"

/* Layout while building: a private tmpfs becomes the root, the host's root
 * moves to /oldroot, and the sandbox's root is assembled at /newroot. */
#define BASE "/tmp"

#define TRY(expr, what)                                                 \
        do {                                                            \
                if ((expr) < 0) {                                       \
                        int _e_ = errno;                                \
                        if (asprintf(ret_error, "%s: %s", (what), strerror(_e_)) < 0) \
                                *ret_error = NULL;                      \
                        return -_e_;                                    \
                }                                                       \
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

/* The sandbox has its own devpts instance, where the host's pty slave that
 * fencectl allocated does not exist, so ttyname() finds no name for the
 * command's terminal. Bind that node over /dev/console (as container
 * runtimes do): ttyname() falls back to scanning /dev and finds it there.
 * Only a slave of the host's own /dev/pts qualifies, checked by device
 * number and inode. */
static int bind_console(int tty_fd, char **ret_error) {
        char src[64];
        struct stat want, have;

        if (tty_fd < 0 || fstat(tty_fd, &want) < 0 || !S_ISCHR(want.st_mode))
                return 0;
        if (major(want.st_rdev) < 136 || major(want.st_rdev) > 143)    /* UNIX98_PTY_SLAVE_MAJOR.. */
                return 0;
        snprintf(src, sizeof src, "/oldroot/dev/pts/%u",
                 (major(want.st_rdev) - 136) * 256 + minor(want.st_rdev));
        if (lstat(src, &have) < 0 || have.st_rdev != want.st_rdev || have.st_ino != want.st_ino ||
            have.st_dev != want.st_dev)
                return 0;       /* another devpts instance: no name, as before */
        TRY(bind_file(src, "/newroot/dev/console"), "binding the terminal to /dev/console");
        return 0;
}

/* devices.allow: each existing host path under /dev, as the caller resolves
 * it (what the caller cannot reach is not passed through), bound at its
 * place in the minimal /dev. */
static int pass_devices(const MountViewSpec *spec, char **ret_error) {
        const FsPolicy *p = spec->policy;

        for (char **d = p ? p->devices_allow : NULL; d && *d; d++) {
                _cleanup_free_ char *src = NULL, *dst = NULL;
                _cleanup_close_ int fd = -1, tree = -1;
                struct stat st;
                int r;

                if (!startswith(*d, "/dev/") || strstr(*d, "/../") || endswith(*d, "/.."))
                        continue;       /* config_check_device_path() refused these already */
                if (asprintf(&src, "/oldroot%s", *d) < 0 || asprintf(&dst, "/newroot%s", *d) < 0)
                        return -ENOMEM;
                (void) setfsgid(spec->gid);
                (void) setfsuid(spec->uid);
                fd = open(src, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                (void) setfsuid(0);
                (void) setfsgid(0);
                if (fd < 0 || fstat(fd, &st) < 0)
                        continue;       /* missing or not the caller's to see, as fence skips it */
                tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
                if (tree < 0) {
                        if (asprintf(ret_error, "devices.allow: %s: %s", *d, strerror(errno)) < 0)
                                *ret_error = NULL;
                        return negative_errno();
                }
                r = fs_view_make_mountpoint(dst, S_ISDIR(st.st_mode));
                if (r < 0) {
                        if (asprintf(ret_error, "devices.allow: creating the mount point %s: %s", *d, strerror(-r)) < 0)
                                *ret_error = NULL;
                        return r;
                }
                if (move_mount(tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
                        if (asprintf(ret_error, "devices.allow: %s: %s", *d, strerror(errno)) < 0)
                                *ret_error = NULL;
                        return negative_errno();
                }
        }
        return 0;
}

/* devices.mode "host": the host's /dev with its device nodes usable (the
 * root bind is nodev). The kernel's permission checks as the caller still
 * decide which devices it can open. */
static int bind_host_dev(char **ret_error) {
        TRY(mount("/oldroot/dev", "/newroot/dev", NULL, MS_BIND | MS_REC, NULL), "binding the host's /dev");
        TRY(mount_setattr(AT_FDCWD, "/newroot/dev", AT_RECURSIVE,
                          &(struct mount_attr) { .attr_set = MOUNT_ATTR_NOSUID, .attr_clr = MOUNT_ATTR_NODEV },
                          sizeof(struct mount_attr)), "making the host's /dev usable");
        return 0;
}

static int make_dev(int tty_fd, char **ret_error) {
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
        return bind_console(tty_fd, ret_error);
}

static bool view_spec_devices_host(const MountViewSpec *spec) {
        return spec->policy && spec->policy->devices_host;
}

/* The view replaces /tmp and /dev/shm (and with defaultDenyRead most of the
 * tree), so the cwd may be missing from it: attach the caller's own
 * directory (cloned from the fd it sent) read-only at its path. */
static int keep_cwd_reachable(const MountViewSpec *spec, int cwd_tree, char **ret_error) {
        struct stat want, have;

        if (!spec->cwd_path || cwd_tree < 0)
                return 0;
        if (fstat(spec->cwd_fd, &want) < 0)
                return negative_errno();
        if (stat(spec->cwd_path, &have) == 0 && have.st_dev == want.st_dev && have.st_ino == want.st_ino)
                return 0;
        if (!startswith(spec->cwd_path, "/tmp/") && !startswith(spec->cwd_path, "/dev/shm/"))
                return 0;       /* not part of the view: the command start reports it */

        TRY(fs_view_make_mountpoint(spec->cwd_path, true), "recreating the cwd's path below /tmp");
        TRY(move_mount(cwd_tree, "", AT_FDCWD, spec->cwd_path, MOVE_MOUNT_F_EMPTY_PATH), "binding the cwd");
        return 0;
}

static int build_root(bool empty, char **ret_error) {
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        };

        if (empty) {
                /* defaultDenyRead: only what fs-view attaches later; made
                 * read-only once it is all there. */
                TRY(mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m"), "mounting the empty root");
                TRY(mkdir("/newroot/proc", 0555), "creating /proc");
                TRY(mkdir("/newroot/dev", 0755), "creating /dev");
                TRY(mkdir("/newroot/tmp", 01777), "creating /tmp");
                return 0;
        }
        TRY(mount("/oldroot", "/newroot", NULL, MS_BIND | MS_REC, NULL), "binding the host root");
        TRY(mount_setattr(AT_FDCWD, "/newroot", AT_RECURSIVE, &attr, sizeof attr),
            "making the root read-only, nosuid, nodev");
        return 0;
}

int mount_view_build(const MountViewSpec *spec, FsView **ret_view, char **ret_error) {
        _cleanup_close_ int cwd_tree = -1, resolv_tree = -1;
        FsView *view = NULL;
        struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
        int r;

        /* Nothing we mount may propagate back to the host. */
        TRY(mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL), "making / a slave mount");

        /* Everything user-named is resolved now, on the host's tree, as the caller. */
        if (spec->policy) {
                _cleanup_free_ char *cache_dir = NULL;

                if (spec->hide_dir && asprintf(&cache_dir, "%s/" FS_PROTECT_CACHE_DIR, spec->hide_dir) < 0)
                        return -ENOMEM;
                r = fs_view_prepare(spec->policy, spec->cwd_path, spec->uid, spec->gid, cache_dir, spec->protect_watch,
                                    &view, ret_error);
                if (r < 0)
                        return r;
                r = fs_view_use_template(view, spec->template_ns);
                if (r == -ENOTRECOVERABLE) {
                        fs_view_free(view);
                        *ret_error = strdup("returning from the template's mount namespace");
                        return r;
                }
                if (r < 0)
                        log_debug_errno(r, "The template of this policy was not used: %m");
        }
        if (spec->cwd_fd >= 0 && spec->cwd_path) {
                /* The fd's mount belongs to the daemon's namespace, which
                 * open_tree() refuses: open the path again here, as the
                 * caller, and use it only if it is the same directory. */
                _cleanup_close_ int fd = -1;
                struct stat a, b;

                (void) setfsgid(spec->gid);
                (void) setfsuid(spec->uid);
                fd = open(spec->cwd_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                (void) setfsuid(0);
                (void) setfsgid(0);
                if (fd >= 0 && fstat(fd, &a) == 0 && fstat(spec->cwd_fd, &b) == 0 &&
                    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
                        cwd_tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                        if (cwd_tree >= 0)
                                (void) mount_setattr(cwd_tree, "", AT_EMPTY_PATH, &ro, sizeof ro);
                }
        }

        TRY(mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k"), "mounting the base tmpfs");
        TRY(chdir(BASE), "entering the base tmpfs");
        TRY(mkdir("newroot", 0755), "creating newroot");
        TRY(mkdir("oldroot", 0755), "creating oldroot");
        TRY(pivot_root(".", "oldroot"), "pivot_root into the base tmpfs");
        TRY(chdir("/"), "chdir /");
        if (spec->resolv_conf)
                TRY(mount_file_create("/", "resolv.conf", spec->resolv_conf, &resolv_tree),
                    "writing the sandbox's resolv.conf");

        r = build_root(fs_view_default_deny_read(view), ret_error);
        if (r < 0)
                goto fail;

        TRY(mount("proc", "/newroot/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mounting /proc");
        if (view_spec_devices_host(spec))
                r = bind_host_dev(ret_error);
        else {
                r = make_dev(spec->tty_fd, ret_error);
                if (r >= 0)
                        r = pass_devices(spec, ret_error);
        }
        if (r < 0)
                goto fail;
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

        /* Swap in the new root and drop the host's with everything below it;
         * the trees cloned above stay attached to their fds. */
        TRY(chdir("/newroot"), "entering the new root");
        TRY(pivot_root(".", "."), "pivot_root into the new root");
        TRY(umount2(".", MNT_DETACH), "detaching the old root");
        TRY(chdir("/"), "chdir / in the new root");

        if (view) {
                r = fs_view_attach(view, spec->uid, spec->gid, spec->make_template, spec->placeholder_created,
                                   spec->placeholder_userdata, ret_error);
                if (r < 0)
                        goto fail;
        }
        r = keep_cwd_reachable(spec, cwd_tree, ret_error);
        if (r < 0)
                goto fail;
        if (resolv_tree >= 0)
                TRY(mount_file_attach(resolv_tree, "/etc/resolv.conf"), "binding the sandbox's /etc/resolv.conf");

        *ret_view = view;
        return 0;
fail:
        fs_view_free(view);
        return r;
}
