/* placeholder.h — the empty files and directories a sandbox creates in its
 * caller's directories (the mount points of the mandatory protection of
 * missing names, fs-protect.h), recorded so that none outlives the sandbox,
 * not even across a crash of fenced.
 *
 * Record: <state dir>/placeholders/<sandbox id>, root-only. The sandbox
 * child writes it (still privileged, before the command runs) right after
 * it made each placeholder: the caller's uid, gid and groups once, then per
 * placeholder its directory (path and dev/ino), its name, its kind and its
 * own dev/ino and birth time (where the filesystem has one: an inode number
 * can be reused by the next file). The file only exists once a placeholder was made.
 *
 * Removal (placeholder_sweep()): after each sandbox ended, and when fenced
 * starts (after a crash, records are left), every record whose sandbox is
 * gone (its cgroup no longer exists) is processed. An entry is removed only
 * if its directory is still the recorded one and it is still the recorded
 * inode (dev, ino, birth time) and empty (a file of size 0, an empty directory); anything the user
 * put there meanwhile is theirs and kept. Newest first, so a placeholder
 * directory holding another one (.claude/commands) goes after it.
 *
 * A placeholder may protect other sandboxes too: one started while it
 * existed found it as an existing protected name and mounted on it.
 * Unlinking a mount point in another mount namespace detaches those mounts
 * (the kernel allows it since 3.18), which would make the name creatable in
 * that sandbox. So an entry that is a mount point in a running sandbox (read
 * from /proc/<pid>/mountinfo of one process of each cgroup below the slice)
 * stays in the record until a later sweep. (fs_protect_apply() in turn
 * makes its own placeholder when a protected name vanished between collect
 * and apply.) Residual window: a sandbox that mounts on an entry between
 * that check and the unlink.
 *
 * Sweeps after a sandbox ended run in a child process of fenced
 * (placeholder_sweep_async(), or placeholder_sweep_prepare() forked ahead
 * while the sandbox runs), not in its event loop. The removal itself
 * runs in a short-lived process that takes the recorded
 * caller's identity first, so fenced never touches a user's directory with
 * root's rights; fenced waits for it at most PLACEHOLDER_REMOVE_TIMEOUT_MS
 * (a hung filesystem cannot stall it), then kills it and keeps the record
 * for the next sweep.
 *
 * Residual window: a placeholder made in the microseconds before its record
 * was written is not removed if the sandbox child is killed exactly then.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "fs-protect.h"
#include "macro.h"

#define PLACEHOLDER_DIR "placeholders"
#define PLACEHOLDER_REMOVE_TIMEOUT_MS 2000
#define PLACEHOLDER_RELEASE_TIMEOUT_MS 100

typedef struct PlaceholderLog PlaceholderLog;

/* In the sandbox child, while it still has root's file access (before it
 * switches its fsuid): opens <state_dir>/placeholders. The record file is
 * created on the first placeholder. */
int placeholder_log_open(const char *state_dir, const char *sandbox_id, uid_t uid, gid_t gid,
                         const gid_t *groups, size_t n_groups, PlaceholderLog **ret);
PlaceholderLog *placeholder_log_free(PlaceholderLog *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(PlaceholderLog *, placeholder_log_free);

/* An FsProtectCreatedFn; userdata is the PlaceholderLog. Works under any
 * fsuid (it switches to root's for the record and back). */
int placeholder_log_append(const FsProtectCreated *c, void *userdata);

/* In fenced: creates <state_dir>/placeholders (0700, root). */
int placeholder_dir_prepare(const char *state_dir);

/* Processes the records of every sandbox whose cgroup below cgroup_slice is
 * gone (see above). Returns the number of records finished (deleted), or
 * -errno. */
int placeholder_sweep(const char *state_dir, const char *cgroup_slice);

/* The same in a child process of fenced that the event loop reaps, so the
 * loop never waits for a sweep (a sweep waits for per-user helpers and
 * possibly for slow filesystems). Sweeps serialize on an flock of the
 * placeholders directory; one that fails leaves the records to the next.
 * Without any record (most sandboxes make no placeholder) nothing starts. */
int placeholder_sweep_async(sd_event *e, const char *state_dir, const char *cgroup_slice);

/* The same process forked ahead of time (while sandbox_id runs, when it
 * made placeholders), so that the end of the sandbox only has to release
 * it, before fenced replies: placeholder_sweep_prepare() forks it, waiting
 * and named
 * "fenced-sweepwait"; placeholder_sweep_release() lets it sweep and waits
 * (at most PLACEHOLDER_RELEASE_TIMEOUT_MS) until it answers that it named
 * itself "fenced-sweep" (a caller that sees no fenced-sweep any more after
 * fenced replied knows the sweep is over, as with placeholder_sweep_async()).
 * Closing *ret_fd without releasing lets it sweep too. Returns 1 with
 * *ret_fd (the go signal) and *ret_pidfd (owned by the caller), or 0 and -1
 * in *ret_fd when the sandbox has no record: nothing to prepare (its end
 * then calls placeholder_sweep_async(), which sweeps others' records). */
int placeholder_sweep_prepare(sd_event *e, const char *state_dir, const char *cgroup_slice, const char *sandbox_id,
                              int *ret_fd, int *ret_pidfd);
/* -ESRCH when it is gone already: sweep otherwise. */
int placeholder_sweep_release(int fd, int pidfd);
