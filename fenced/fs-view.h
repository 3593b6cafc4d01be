/* fs-view.h — the filesystem policy of fence.json applied to a sandbox's
 * mount view, and mirrored in Landlock.
 *
 * Three steps, all in the sandbox child:
 *   1. fs_view_prepare(), before the mount namespace is changed and under
 *      the caller's fsuid/fsgid: every user-named pattern is expanded
 *      (bounded globbing) and resolved as the caller would resolve it; the
 *      trees to bind are cloned then (open_tree(OPEN_TREE_CLONE)), so what
 *      gets mounted is exactly what the caller could reach, whatever
 *      symlinks or renames happen later. The mandatory protection list is
 *      collected here too.
 *   2. fs_view_attach(), after the base view became the root: writable
 *      trees attached onto their own real paths (targets opened with
 *      RESOLVE_NO_SYMLINKS), then denyWrite and the mandatory paths re-bound
 *      read-only, then denyRead masked (an empty 0000 file or directory).
 *      The ancestors of every denyWrite/denyRead path that the sandbox could
 *      rename (its parent is writable in the view) are pinned
 *      (fs_protect_pin_ancestors()): otherwise `mv sub sub2` would move the
 *      denied path out of the next sandbox's rules.
 *   3. fs_view_landlock(), in the command's process right before execve():
 *      the same tiers as a Landlock ruleset.
 *
 * Never more than the caller has: binds keep the files' owners and modes,
 * so the kernel's permission checks as the caller still apply inside
 * (allowWrite: ["/etc"] does not make /etc/passwd writable for a user).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "fs-protect.h"

typedef struct FsPolicy {
        char **allow_read;      /* absolute patterns (~ and relative paths expanded) */
        char **allow_execute;
        char **allow_write;
        char **deny_read;
        char **deny_write;
        bool default_deny_read;
        bool strict_deny_read;  /* defaultDenyRead without the essential system paths */
        bool allow_git_config;
        bool landlock_required; /* something only Landlock can enforce was asked for */
        bool devices_host;      /* devices.mode "host": the host's /dev instead of a minimal one */
        char **devices_allow;   /* devices.allow: host /dev/... paths added to the minimal /dev */
        char *home;             /* the caller's home */
} FsPolicy;

void fs_policy_done(FsPolicy *p);
/* Whether this host is WSL with Windows interop (filesystem.wslInterop's
 * auto-detection). */
bool fs_policy_wsl_interop_detected(void);
/* Deep copy into *dst (zeroed first). */
int fs_policy_copy(FsPolicy *dst, const FsPolicy *src);

typedef struct FsView FsView;

/* Step 1. cwd: the caller's cwd (host path). cache_dir (may be NULL): where
 * the protection walk of the cwd tree is remembered (fs-protect-cache.h);
 * watch (may be NULL): fenced's fanotify watch of that tree
 * (fs-protect-watch.h). On failure *ret_error gets a
 * message naming the key and path (e.g. "filesystem.allowWrite: /src/...: too
 * many matches ..."). */
struct FsProtectWatch;
int fs_view_prepare(const FsPolicy *p, const char *cwd, uid_t uid, gid_t gid, const char *cache_dir,
                    const struct FsProtectWatch *watch, FsView **ret, char **ret_error);
/* Whether the view starts empty (defaultDenyRead). */
bool fs_view_default_deny_read(const FsView *v);
/* Between steps 1 and 2, before the root changes: the writable trees taken
 * from the template namespace template_ns (fs-template-ns.h) with the
 * mounts the same policy made on them before, when it still matches.
 * Returns 1 when used, 0 when this view cannot use one (defaultDenyRead,
 * nested writable trees), -ESTALE or -errno when it was not used (build as
 * without), -ENOTRECOVERABLE when the process is stranded (give up). */
int fs_view_use_template(FsView *v, int template_ns);
/* Step 2 (root is the view now; uid/gid for fsuid-bound work). created (may
 * be NULL) is told about every placeholder made in the caller's directories
 * (fs-protect.h), before anything can use it. make_template: when this
 * launch made mounts a template would have spared it, keep a copy of the
 * namespace for the next (fs_view_take_template()). Everything a template
 * should have held is checked and made again where it is missing. */
int fs_view_attach(FsView *v, uid_t uid, gid_t gid, bool make_template, FsProtectCreatedFn created,
                   void *userdata, char **ret_error);
/* The template namespace fs_view_attach() made (an nsfs fd, the caller's),
 * or -1. */
int fs_view_take_template(FsView *v);
/* Step 3: -EOPNOTSUPP when Landlock is missing and the policy needs it. */
int fs_view_landlock(const FsView *v, char **ret_error);
FsView *fs_view_free(FsView *v);

/* mkdir -p of path's parents, then path itself as a directory (dir) or an
 * empty file: a missing mount point. Only possible on the view's own tmpfs
 * mounts (/tmp, /dev/shm, the empty root of defaultDenyRead). */
int fs_view_make_mountpoint(const char *path, bool dir);
