/* fs-protect-watch.h — fenced's fanotify watches on the project trees that
 * the mandatory protection walks (fs-protect.h), so that a launch in an
 * unchanged tree does not stat every directory again.
 *
 * One fanotify group per walk cache entry (fs-protect-cache.h: the caller's
 * identity, the cwd, the options), at most FS_PROTECT_CACHE_MAX of them,
 * the least recently used dropped first. The sandbox child marks each
 * directory it reads (before reading it, under the caller's fsuid, so only
 * what the caller can read is marked) with FS_PROTECT_WATCH_MASK; fenced
 * reads the events. Any event, or a queue overflow, moves the watch to a
 * new epoch and removes all its marks (no event storm from a busy tree):
 * the next walk checks every directory by its stamp and marks it again.
 * Epochs come from one counter per fenced, so a stored walk is trusted only
 * by the watch that was running, unchanged, since that walk began.
 *
 * fs_protect_watch_get() reads whatever events are queued before it answers,
 * so a change made before a launch asked for its sandbox is never missed,
 * even when the event loop has not dispatched the watch yet.
 *
 * Not covered (as without a watch, the stamps of the directories where
 * placeholders come and go are checked at every launch, see fs-protect.c):
 * a filesystem unmounted and mounted again with the same device number
 * while fenced runs, its tree changed in between: the marks went with the
 * old mount and no event says so.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "fs-protect-cache.h"
#include "macro.h"

typedef struct FsProtectWatches FsProtectWatches;

/* state_dir: fenced's, holding the walk cache (fs-protect-cache.h). */
int fs_protect_watches_new(sd_event *e, const char *state_dir, FsProtectWatches **ret);
FsProtectWatches *fs_protect_watches_free(FsProtectWatches *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(FsProtectWatches *, fs_protect_watches_free);

/* The watch for a launch by uid/gid/groups in the directory cwd_fd with the
 * walk options of fs_view_prepare() (default limits; allow_git_config):
 * *ret gets its fd (owned by w; the sandbox child inherits it), its current
 * epoch, its key, and the stored walk as fenced read it (up to 256 KiB; read
 * again only when its file changed), which the child, a copy of fenced,
 * takes over instead of reading the file. Created when missing. Any failure
 * leaves *ret without a watch (fd -1): the walk then works as before, by
 * stamps. */
void fs_protect_watch_get(FsProtectWatches *w, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
                          int cwd_fd, bool allow_git_config, FsProtectWatch *ret);
