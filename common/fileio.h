/* fileio.h — small whole-file reads for fenced's own state files, and the
 * private directories that hold them.
 *
 * read_small_file_at() reads the regular file dir_fd/name (dir_fd may be
 * AT_FDCWD; a final symlink is refused) completely into a malloc'd buffer
 * with one spare byte, so callers may NUL-terminate it. The size bound is
 * checked before anything is read. Returns 0, -EBADMSG (not a regular file,
 * larger than max_size, or not owned by root when root_only) or -errno.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int read_small_file_at(int dir_fd, const char *name, size_t max_size, bool root_only,
                       uint8_t **ret, size_t *ret_size);

/* Creates the directory path with mode 0700 unless it exists, then checks
 * that it is a directory (not a symlink) owned by root that nobody else may
 * use; otherwise -EPERM, logged with the path. */
int private_dir_make(const char *path);
