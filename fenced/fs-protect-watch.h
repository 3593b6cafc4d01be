/* fs-protect-watch.h — detecting the creation of protected files that could
 * not be blocked by mounts (see fs-protect.h: a missing .gitmodules in a
 * writable cwd, a missing ~/.bashrc in a writable home).
 *
 * A fanotify group reporting directory entries (FAN_REPORT_DFID_NAME) with
 * one inode mark per parent directory, for FAN_CREATE | FAN_MOVED_TO (files,
 * directories, symlinks, hard links, renames into it, whatever syscall or
 * io_uring op made them). Inode marks need only read access to the
 * directory, so the watch is made under the caller's identity, e.g. by the
 * sandbox's pid 1, which outlives the command and can kill it. Events name
 * the parent by file handle; the watch remembers the handle of every parent
 * it marked and matches (handle, name) against the missing entries.
 *
 * This detects, it does not prevent: on a hit, kill the sandbox, report the
 * violation, and move the file aside before anything runs it. A lost event
 * (queue overflow) is reported as -ENOBUFS: treat it as a hit.
 */
#pragma once

#include "fs-protect.h"
#include "macro.h"

typedef struct FsProtectWatch FsProtectWatch;

/* Watches the parents of the entries of l marked creatable by
 * fs_protect_apply() (all missing entries when all is true). */
int fs_protect_watch_new(const FsProtectList *l, bool all, FsProtectWatch **ret);
FsProtectWatch *fs_protect_watch_free(FsProtectWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(FsProtectWatch *, fs_protect_watch_free);

/* The fanotify fd to poll for POLLIN; -1 when there is nothing to watch. */
int fs_protect_watch_fd(const FsProtectWatch *w);

/* Drains pending events without blocking. Appends "<parent>/<name>" to
 * *paths for each protected creation; returns how many, or -ENOBUFS when
 * the kernel dropped events, or another -errno. */
int fs_protect_watch_read(FsProtectWatch *w, char ***paths);
