#pragma once
/* exec-file-cache — what the exec supervisor's helper learnt about an
 * executable file that does not depend on an exec's arguments: the name the
 * file resolves to and whether it is a plain executable (no "#!" line), so
 * that the next exec of the same, unchanged file skips the /proc readlink and
 * the look at its first line.
 *
 * Only files nobody but root can change or rename are remembered: regular
 * files owned by root, without a write bit for group or others (so no ACL
 * grants writing either), with one link (one name per mount), looked at by a
 * sandbox whose filesystem uid is not 0. An entry is found again only by the
 * same absolute path as written, the same mount (unique mount id), device,
 * inode, size, mtime and ctime: a chmod, chown, rename or write changes the
 * ctime.
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
