/* fs-protect-cache.h — the walk of a cwd tree for the mandatory protection
 * (fs-protect.h), remembered per directory between launches so that a big
 * project is not read again for every sandbox.
 *
 * Per directory listed: its stamp (dev, ino, mtime, ctime), how many
 * entries it had, what the walk found in it (protected entries, missing
 * names of a git directory, `.git` files) and the names of its
 * subdirectories. Creating, removing or renaming an entry changes the
 * directory's mtime and ctime; a chmod changes its ctime. So when a
 * directory's stamp (taken with fstat() on the fd the walk opened anyway)
 * still matches, listing it again would find the same names: its cached
 * findings are used and the walk goes on into its cached subdirectories,
 * each checked the same way. A directory that changed is listed again;
 * the rest of the tree stays cached. Files' contents are not covered and
 * need not be: `.git` files are read again on every launch.
 *
 * Timestamps come from a coarse clock: a change in the same tick as the
 * stamp would not show. A directory whose stamp is younger than
 * FS_PROTECT_CACHE_RACY_NSEC before the walk started is therefore not
 * stored (git's "racy" rule) and is listed again next time; that includes
 * the cwd itself when placeholders were made there just before.
 *
 * With fenced's fanotify watch of the tree (fs-protect-watch.h), an entry
 * also records the watch's epoch when its walk began: directories that
 * walk marked before reading them are then used without a stat, as long as
 * the watch is still at that epoch (no event since).
 *
 * Entries: <dir>/<uid>-<dev>-<ino>-<flags>, keyed by the caller's identity
 * (uid, gid, groups), the cwd and the options, root-only (the sandbox child
 * switches to root's file access for the file and back). A cache is only an
 * optimisation: any error reading it is a miss. fenced empties the
 * directory when it starts, and whenever it holds FS_PROTECT_CACHE_MAX
 * entries; an entry bigger than FS_PROTECT_CACHE_MAX_SIZE is not stored.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/fanotify.h>
#include <time.h>

#include "fs-protect.h"

#define FS_PROTECT_CACHE_DIR "protect-cache"
/* Bounds on what users can make fenced store: entries, and the size of one
 * (about 40,000 directories; a bigger tree is walked at every launch). */
#define FS_PROTECT_CACHE_MAX 64
#define FS_PROTECT_CACHE_MAX_SIZE (4U * 1024U * 1024U)
#define FS_PROTECT_CACHE_RACY_NSEC (100LL * 1000 * 1000)

typedef struct FsProtectStamp {
        uint64_t dev, ino;
        int64_t mtime_sec, ctime_sec;
        uint32_t mtime_nsec, ctime_nsec;
} FsProtectStamp;

typedef struct FsProtectDir {
        char *path;
        FsProtectStamp stamp;
        uint64_t n_entries;     /* directory entries read (the walk's bound) */
        FsProtectPath *existing;
        size_t n_existing;
        FsProtectMissing *missing;
        size_t n_missing;
        char **gitlinks;
        char *subdirs;          /* NUL-separated names, subdirs_len bytes */
        size_t subdirs_len;
} FsProtectDir;

typedef struct FsProtectCacheKey {
        uint32_t uid, gid;      /* the caller (fsuid/fsgid) */
        uint64_t groups_hash;
        uint64_t cwd_dev, cwd_ino;
        uint64_t flags;         /* allowGitConfig */
        uint64_t limits[3];
} FsProtectCacheKey;

typedef struct FsProtectCache {
        FsProtectCacheKey key;
        uint64_t epoch;         /* of the watch when the walk that wrote it began; 0: none */
        FsProtectDir *dirs;     /* sorted by path after load */
        size_t n_dirs, cap_dirs;
} FsProtectCache;

void fs_protect_stamp_from_stat(FsProtectStamp *s, const struct stat *st);
/* Whether s is too young to be trusted (see above) for a walk that began
 * at started (CLOCK_REALTIME). */
bool fs_protect_stamp_racy(const FsProtectStamp *s, const struct timespec *started);
void fs_protect_dir_done(FsProtectDir *d);
void fs_protect_cache_done(FsProtectCache *c);

/* Fills key from the calling process (fsuid, fsgid, groups). */
void fs_protect_cache_key(FsProtectCacheKey *key, uint64_t cwd_dev, uint64_t cwd_ino, uint64_t flags,
                          const uint64_t limits[3]);
/* The same from explicit credentials (groups in any order), as fenced
 * computes it for a launch before the sandbox child exists. */
void fs_protect_cache_key_for(FsProtectCacheKey *key, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
                              uint64_t cwd_dev, uint64_t cwd_ino, uint64_t flags, const uint64_t limits[3]);

/* A fanotify watch on the directories of one cache entry (fs-protect-watch.h),
 * handed to the walk: fd, the group (or -1); epoch, its value when the
 * sandbox was forked (never 0, never reused by one fenced); key, the entry
 * it watches. A stored walk whose epoch equals the watch's found every
 * directory it did not list again marked before it was read, and no event
 * arrived since: those directories are used without a stat. */
typedef struct FsProtectWatch {
        int fd;
        uint64_t epoch;
        FsProtectCacheKey key;
        /* The stored walk as fenced last read it (NULL: none): the child, a
         * copy of fenced, takes it over instead of reading the file again.
         * An older copy than the file is harmless: trusted only at its own
         * epoch, like the file. */
        FsProtectCache *preloaded;
} FsProtectWatch;

/* Marks one walk adds at most (each keeps its directory's inode in memory);
 * beyond, the walk is checked by stamps, as without a watch. */
#define FS_PROTECT_WATCH_MAX_MARKS 20000U

/* What a watch reports: entries created, removed or renamed in a marked
 * directory (subdirectories included), its own attributes, its own removal
 * or rename. */
#define FS_PROTECT_WATCH_MASK \
        (FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_ATTRIB | FAN_DELETE_SELF | \
         FAN_MOVE_SELF | FAN_ONDIR)

/* The file of key's entry below dir. */
char *fs_protect_cache_entry_path(const char *dir, const FsProtectCacheKey *key);
/* *ret gets the entry for key: empty on a miss. -ENOMEM only. */
int fs_protect_cache_load(const char *dir, const FsProtectCacheKey *key, FsProtectCache *ret);
/* The loaded record of path, or NULL. */
FsProtectDir *fs_protect_cache_find(FsProtectCache *c, const char *path);
/* Appends d (moved: *d is zeroed). */
int fs_protect_cache_add(FsProtectCache *c, FsProtectDir *d);
/* Stores c without its racy directories (started: when the walk began,
 * CLOCK_REALTIME). Callers skip it when nothing changed. */
int fs_protect_cache_save(const char *dir, const FsProtectCache *c, const struct timespec *started);

/* In fenced at start: creates or empties <state_dir>/protect-cache. */
int fs_protect_cache_prepare(const char *state_dir);
