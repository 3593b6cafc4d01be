#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "mount-file.h"

int mount_file_create(const char *dir, const char *name, const char *text, int *ret_tree) {
        struct mount_attr ro = {
                .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
        };
        _cleanup_close_ int dfd = -1, fd = -1, tree = -1;
        size_t len = strlen(text);

        dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        if (write(fd, text, len) != (ssize_t) len)
                return errno ? -errno : -EIO;
        tree = open_tree(dfd, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0)
                return -errno;
        if (mount_setattr(tree, "", AT_EMPTY_PATH, &ro, sizeof ro) < 0)
                return -errno;
        *ret_tree = TAKE_FD(tree);
        return 0;
}

int mount_file_attach(int tree, const char *target) {
        struct stat st;

        if (stat(target, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISREG(st.st_mode))
                return -EISDIR;
        if (move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0)
                return -errno;
        return 0;
}
