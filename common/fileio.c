#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"

int read_small_file_at(int dir_fd, const char *name, size_t max_size, bool root_only,
                       uint8_t **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        size_t off = 0;

        fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || (uint64_t) st.st_size > max_size || (root_only && st.st_uid != 0))
                return -EBADMSG;
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (off < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + off, (size_t) st.st_size - off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;          /* shrank meanwhile: what is there */
                off += (size_t) n;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = off;
        return 0;
}

int private_dir_make(const char *path) {
        struct stat st;

        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", path);
        if (lstat(path, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077))
                return log_error_errno(EPERM, "%s must be a directory owned by root with mode 0700.", path);
        return 0;
}
