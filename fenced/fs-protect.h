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
 *     creation-permission event (a watch only sees the file after it was
 *     written), and seccomp user-notify cannot check a path race-free
 *     without performing the call itself (and misses io_uring). So where
 *     the parent is writable in the sandbox view, the missing name gets a
 *     placeholder, created as the caller: an empty directory (hooks,
 *     .vscode, .claude/commands, and .claude too when it is missing) or an
 *     empty regular file (.bashrc, .gitmodules, .git/config...), which is
 *     then bound read-only and pinned like an existing entry. Writing it
 *     fails with EROFS; removing, renaming or replacing it with EBUSY.
 *     Every placeholder is reported to the caller's `created` callback
 *     right after it was made (before anything can use it): fenced records
 *     it (placeholder.h) and removes it when the sandbox ends, if it is
 *     still the same, empty inode. Where the parent is not writable in the
 *     view, creating the name is already impossible and nothing is made.
 *     While a sandbox runs, the placeholders are visible on the host too
 *     (empty files and directories; see docs/security.md for what that
 *     means for a login shell's .bash_profile or `git status`).
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
} FsProtectMissing;

typedef struct FsProtectList {
        FsProtectPath *existing;
        size_t n_existing;
        FsProtectMissing *missing;
        size_t n_missing;
} FsProtectList;

void fs_protect_list_done(FsProtectList *l);

/* cwd: the directory whose tree is walked; home: may be NULL. Both absolute.
 * limits may be NULL or have 0 fields: FS_PROTECT_*_DEFAULT then.
 * cache_dir: where the walk of the tree is remembered between calls
 * (fs-protect-cache.h), or NULL. On success *ret holds entries sorted by
 * path, without duplicate paths. On -E2BIG, *ret_error (if not NULL) gets a
 * sentence naming the bound and what to do. */
int fs_protect_collect(
                const char *cwd,
                const char *home,
                bool allow_git_config,
                const FsGlobLimits *limits,
                const char *cache_dir,
                FsProtectList *ret,
                char **ret_error);

/* The same, with a fanotify watch on the tree's directories (fenced's, see
 * fs-protect-cache.h and fs-protect-watch.h; NULL: none): directories the
 * watch vouches for are taken from the cache without a stat, and every
 * directory read is marked first. */
struct FsProtectWatch;
int fs_protect_collect_watched(
                const char *cwd,
                const char *home,
                bool allow_git_config,
                const FsGlobLimits *limits,
                const char *cache_dir,
                const struct FsProtectWatch *watch,
                FsProtectList *ret,
                char **ret_error);

/* A placeholder fs_protect_apply() made: `name` (one component) in the
 * directory `parent` (canonical path, identified by parent_dev/ino). */
typedef struct FsProtectCreated {
        const char *parent;
        dev_t parent_dev;
        ino_t parent_ino;
        const char *name;
        FsProtectKind kind;
        dev_t dev;
        ino_t ino;
} FsProtectCreated;

/* Returns 0, or -errno to abort fs_protect_apply() (the placeholder is then
 * removed again). */
typedef int (*FsProtectCreatedFn)(const FsProtectCreated *c, void *userdata);

/* Makes the protections in the calling process's mount namespace, which
 * must not propagate to the host (the sandbox's is a slave or private copy).
 * Call after all writable binds, under the caller's fsuid/fsgid. created may
 * be NULL. Returns the number of placeholders made, or -errno (fail closed:
 * a missing name that could be neither blocked nor left uncreatable is an
 * error); a path that vanished since collect is skipped. */
int fs_protect_apply(FsProtectList *l, FsProtectCreatedFn created, void *userdata);

/* What the pinning of one view has checked so far. With full unset the walk
 * is the one of fs_protect_pin_ancestors() below (it stops at the first
 * mount point: right in a view this process built alone, in order). With
 * full set (the view started from a template, fs-template.h, whose mounts
 * this process did not make) every ancestor is checked, up to "/", and each
 * one checked is remembered in `checked` so that paths sharing it check it
 * once. `made` counts the mounts that made a difference: pins, and binds of
 * anything but a directory (directories are bound again every time). */
typedef struct FsPinMemo {
        bool full;
        char **checked;
        unsigned made;
} FsPinMemo;

void fs_pin_memo_done(FsPinMemo *memo);

/* fs_protect_apply() in its two halves, with a memo (may be NULL): the
 * existing paths, then the placeholders for the missing ones. Each returns
 * the number of placeholders it made (existing: for paths that vanished
 * since collect), or -errno. */
int fs_protect_apply_existing(FsProtectList *l, FsPinMemo *memo, FsProtectCreatedFn created, void *userdata);
int fs_protect_apply_missing(FsProtectList *l, FsPinMemo *memo, FsProtectCreatedFn created, void *userdata);

/* Self-binds every ancestor of path (absolute, canonical) below the nearest
 * mount point whose parent directory is writable for the fsuid in this view:
 * a mount point cannot be renamed or removed (EBUSY), so the path keeps its
 * place for this sandbox and the next one. Shallowest first. Returns how
 * many were pinned (an fd opened before below a pinned one now shows the
 * covered mount), or -errno. */
int fs_protect_pin_ancestors(const char *path);
/* The same with a memo (may be NULL). */
int fs_protect_pin_ancestors_memo(const char *path, FsPinMemo *memo);
