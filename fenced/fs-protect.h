/* fs-protect.h — the mandatory protection of files that execute code or
 * redirect tools, applied whatever the config says (fence's "dangerous
 * files"):
 *
 *   files        .gitconfig .gitmodules .bashrc .bash_profile .zshrc
 *                .zprofile .profile .ripgreprc .mcp.json
 *   directories  .vscode .idea .claude/commands .claude/agents
 *   git          <gitdir>/hooks, and <gitdir>/config (+ config.worktree)
 *                unless allowGitConfig
 *
 * Where: in the cwd and in the home directory (files only there, as fence),
 * and at any depth of the cwd tree. fence stops at 3 levels because its walk
 * hung on big trees; here the whole tree is walked once with getdents64 and
 * d_type (no stat per entry), symlinks are never followed, and only a git
 * object store is pruned (content-addressed blobs, often most of the entries,
 * and never a place git looks for hooks). Bounded by FsGlobLimits: entries
 * read (max_visited), directory depth (max_depth), list size (max_matches);
 * hitting a bound is an error (-E2BIG, logged with what to do), never a
 * silently partial list. Beyond fence, git directories are found wherever
 * git would use them: `.git` directories, bare/module git dirs (HEAD +
 * objects/ + refs/, e.g. .git/modules/<sub>), `.git` files of worktrees and
 * submodules (their gitdir and commondir, which may lie outside the cwd),
 * and the repository enclosing the cwd when the cwd is a subdirectory of it.
 * ~/.config/git/config is protected like ~/.gitconfig.
 *
 * Enforcement (fs_protect_apply(), inside the sandbox's mount namespace,
 * after the writable binds):
 *   - existing paths get a recursive read-only, nosuid, nodev bind onto
 *     themselves, made with open_tree()/move_mount() on one O_PATH fd so a
 *     concurrent symlink swap cannot redirect it. A symlink is pinned itself
 *     and its target bound read-only.
 *   - every ancestor directory up to the nearest mount point whose parent is
 *     writable gets a plain self-bind ("pin"): a mount point cannot be
 *     renamed or removed (EBUSY). Without it `mv .git .g; mkdir -p
 *     .git/hooks` escapes a read-only bind of .git/hooks (verified). Cost:
 *     those directories cannot be removed or renamed inside the sandbox.
 *   - a missing protected name cannot be covered by a mount: there is
 *     nothing to mount on, overlayfs would divert every other write into a
 *     throw-away layer, Landlock only grants rights per hierarchy (no
 *     per-name deny), a read-only parent would forbid all new files in it,
 *     BPF LSM is refused on this machine kind, fanotify has no
 *     creation-permission event, and seccomp user-notify cannot check a path
 *     race-free without performing the call itself (and misses io_uring).
 *     So, per kind:
 *       * directories (FS_PROTECT_PLACEHOLDER_DIRS): create the missing
 *         directory, empty, as the caller, then bind it read-only like an
 *         existing one. An empty hooks/.vscode/.claude/commands directory
 *         changes nothing for git or the editors (git init creates hooks/
 *         itself); the cost is an empty directory left in the tree. Done
 *         only where the parent is writable in the sandbox view (elsewhere
 *         creation is already impossible, and nothing is left behind).
 *       * files: a placeholder would change behaviour (an empty
 *         .bash_profile hides .profile; an empty .gitmodules or .mcp.json
 *         shows up in the project), so creation is detected instead: the
 *         entries apply() leaves unblocked (creatable == true) are what a
 *         fanotify watch of their parent directories (FAN_CREATE |
 *         FAN_MOVED_TO with FAN_REPORT_DFID_NAME, an inode mark per parent,
 *         usable unprivileged) must turn into a violation: kill the
 *         sandbox and move the file aside. fs_protect_match_creation()
 *         decides what such an event means. This is detection, not
 *         prevention: the file exists for the time between its creation
 *         and the reaction.
 *
 * Residual risk, shared with fence: a sandbox that can write a directory can
 * `git init` a new repository there (hooks, core.fsmonitor in its config)
 * and wait for the user to run git in it.
 *
 * All path work uses calls that honour the fsuid: run collect and apply in
 * the sandbox child after it took the caller's fsuid/fsgid (apply also needs
 * CAP_SYS_ADMIN in the mount namespace for the mounts).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "fs-glob.h"

/* The walk of a whole project tree needs far more room than a glob. */
#define FS_PROTECT_MAX_DEPTH_DEFAULT 64U
#define FS_PROTECT_MAX_MATCHES_DEFAULT 10000U
#define FS_PROTECT_MAX_VISITED_DEFAULT 2000000U

typedef enum FsProtectKind {
        FS_PROTECT_FILE,
        FS_PROTECT_DIR,
} FsProtectKind;

typedef struct FsProtectPath {
        char *path;             /* absolute */
        FsProtectKind kind;     /* what the name stands for; may be a symlink */
        dev_t dev;
        ino_t ino;
} FsProtectPath;

typedef struct FsProtectMissing {
        char *parent;           /* an existing directory, absolute */
        char *name;             /* what is missing below it: "hooks", ".bashrc",
                                 * or ".claude/commands" when .claude is missing too */
        FsProtectKind kind;
        dev_t parent_dev;
        ino_t parent_ino;
        bool creatable;         /* set by fs_protect_apply(): still creatable
                                 * in the sandbox view, needs the watch */
} FsProtectMissing;

typedef struct FsProtectList {
        FsProtectPath *existing;
        size_t n_existing;
        FsProtectMissing *missing;
        size_t n_missing;
} FsProtectList;

void fs_protect_list_done(FsProtectList *l);

/* cwd: the directory whose tree is walked; home: may be NULL. Both absolute.
 * limits may be NULL or have 0 fields: FS_PROTECT_*_DEFAULT then. On success
 * *ret holds entries sorted by path, without duplicate paths. */
int fs_protect_collect(
                const char *cwd,
                const char *home,
                bool allow_git_config,
                const FsGlobLimits *limits,
                FsProtectList *ret);

typedef enum FsProtectApplyFlags {
        FS_PROTECT_PLACEHOLDER_DIRS = 1 << 0,
} FsProtectApplyFlags;

/* Makes the protections in the calling process's mount namespace, which
 * must not propagate to the host (the sandbox's is a slave or private copy).
 * Call after all writable binds. Marks l->missing[].creatable. Returns the
 * number of missing entries still creatable (0: everything is blocked by
 * mounts), or -errno; a path that vanished since collect is skipped. */
int fs_protect_apply(FsProtectList *l, FsProtectApplyFlags flags);

/* For a creation event (new entry `name` in the directory with dev/ino):
 * whether it creates a missing protected path, directly or by making the
 * first missing component of one. */
bool fs_protect_match_creation(const FsProtectList *l, dev_t dir_dev, ino_t dir_ino, const char *name);
