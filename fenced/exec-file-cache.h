#pragma once
/* exec-file-cache — what the exec supervisor's helper learnt about an
 * executable file that does not depend on an exec's arguments: the name the
 * file resolves to and whether it is a plain executable (no "#!" line), so
 * that the next exec of the same, unchanged file skips the /proc readlink and
 * the look at its first line.
 *
 * Only files nobody but root can change are remembered: regular files owned
 * by root, without a write bit for group or others (so no ACL grants writing
 * either), looked at by a sandbox whose filesystem uid is not 0 (writes
 * through a shared mapping need not touch the mtime). An entry is found again
 * only by the same absolute path as written, on the same mount (unique mount
 * id), device, inode, size, mtime and ctime: a chmod, chown, write, rename,
 * link or unlink of the file changes its ctime.
 *
 * A file with several links (made by root: protected_hardlinks keeps users
 * from linking files they cannot write) may be reached under another of its
 * names than the one remembered, when a symlink on the path was changed. The
 * remembered name is then still one of the file's current names in the
 * sandbox, and the process could have got the very same answer by running a
 * symlink of the same name pointing there: nothing is allowed that was not
 * allowed already.
 *
 *   exec_file_key(fd, path, &key)    fills the key of the open (O_PATH) file
 *                                    reached by path; false when it is not
 *                                    one to remember (then no lookup)
 *   exec_file_cache_get(c, &key)     the entry, or NULL
 *   exec_file_cache_put(c, &key, resolved, plain)
 *                                    remembers (replacing the oldest entry
 *                                    when full); -ENOMEM
 *   exec_file_cache_done(c)          frees the entries
 *
 * A cache is one helper's, zero-initialised, used by one thread. */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define EXEC_FILE_CACHE_SIZE 64

typedef struct ExecFileKey {
        const char *path;       /* borrowed: the absolute path as opened */
        uint64_t mnt_id, ino, size;
        uint32_t dev_major, dev_minor;
        int64_t mtime_sec, ctime_sec;
        uint32_t mtime_nsec, ctime_nsec;
} ExecFileKey;

typedef struct ExecFileEntry {
        ExecFileKey key;        /* key.path owned */
        char *resolved;         /* the file's name as the kernel gives it */
        bool plain;             /* not a script (no "#!" line) */
} ExecFileEntry;

typedef struct ExecFileCache {
        ExecFileEntry entries[EXEC_FILE_CACHE_SIZE];
        unsigned n, next;
} ExecFileCache;

bool exec_file_key(int fd, const char *path, uid_t fsuid, ExecFileKey *ret);
const ExecFileEntry *exec_file_cache_get(const ExecFileCache *c, const ExecFileKey *key);
int exec_file_cache_put(ExecFileCache *c, const ExecFileKey *key, const char *resolved, bool plain);
void exec_file_cache_done(ExecFileCache *c);
