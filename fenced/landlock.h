/* landlock.h — the sandbox's filesystem policy as a Landlock ruleset.
 *
 * Landlock is an allow-list: once a ruleset handles an access right, that
 * right is denied everywhere except beneath the paths a rule grants it to.
 * The ruleset mirrors the mount view so the policy also holds against mount
 * tricks. Tiers, from least to most:
 *
 *   SYSTEM   read, list, execute: the default read tier. With default read
 *            allowed, "/" gets it automatically at restrict time; with
 *            defaultDenyRead the caller adds the essential paths
 *            (landlock_essential_read_paths()) with it.
 *   EXECUTE  allowExecute: read and execute files, but no directory listing.
 *   READ     allowRead: read, list, execute.
 *   DEVICE   /dev: read and write device files, their ioctls, list. No
 *            creation or removal. Needed for /dev/null, /dev/tty, /dev/pts/N.
 *   WRITE    allowWrite, and the sandbox's private /tmp and /dev/shm:
 *            everything the ABI knows.
 *
 * Rights are unions along the hierarchy: a rule cannot take away what a rule
 * on an ancestor grants. Hence, with default read allowed, denyRead cannot be
 * expressed here ("/" grants read beneath it); it is enforced by the mount
 * view alone (masked paths). Likewise denyWrite inside an allowWrite tree is
 * enforced by the mount view's read-only re-binds, which Landlock cannot
 * loosen (a write needs both to agree).
 *
 * A rule on a non-directory may only carry rights that apply to files; the
 * builder reduces such rules to that subset. Network rights (ABI 4) are not
 * handled here: the sandbox's network namespace does that job. Scoping
 * (ABI 6: abstract Unix sockets and signals outside the sandbox) is opt-in
 * with landlock_ruleset_set_scoped(). With ABI >= 7 restrict_self() asks the
 * kernel to log denials after exec() too, so the audit subsystem reports the
 * sandboxed program's denials.
 *
 * Everything here resolves paths in the calling process, under its fsuid:
 * call it in the sandbox child after it took the caller's identity.
 */
#pragma once

#include <stdbool.h>

#include "macro.h"

/* The newest ABI this code knows; a newer kernel is used at this level. */
#define LANDLOCK_ABI_KNOWN 7

typedef enum LandlockTier {
        LANDLOCK_TIER_SYSTEM,
        LANDLOCK_TIER_EXECUTE,
        LANDLOCK_TIER_READ,
        LANDLOCK_TIER_DEVICE,
        LANDLOCK_TIER_WRITE,
        _LANDLOCK_TIER_MAX,
} LandlockTier;

typedef struct LandlockRuleset LandlockRuleset;

/* The kernel's Landlock ABI version: > 0, or -EOPNOTSUPP when Landlock is
 * not built in or disabled at boot. */
int landlock_abi(void);

/* abi: the level to build for (landlock_abi()), clamped to
 * LANDLOCK_ABI_KNOWN. -EOPNOTSUPP when abi < 1. */
int landlock_ruleset_new(LandlockRuleset **ret, int abi, bool default_deny_read);
LandlockRuleset *landlock_ruleset_free(LandlockRuleset *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(LandlockRuleset *, landlock_ruleset_free);

/* Forbid connecting to abstract Unix sockets and signalling processes
 * outside the sandbox's Landlock domain. Must be called before the first
 * rule is added (-EBUSY after); -EOPNOTSUPP when the ABI is below 6. */
int landlock_ruleset_set_scoped(LandlockRuleset *r, bool b);

/* path_fd: an O_PATH (or any) fd of the file or directory the rule covers;
 * not consumed. The rule applies to the inode, so open it following
 * symlinks. */
int landlock_ruleset_add_path(LandlockRuleset *r, int path_fd, LandlockTier tier);

/* Convenience: opens path (relative to dir_fd, following symlinks) with
 * O_PATH and adds it. -ENOENT when it does not exist; callers usually skip
 * those, as fence does. */
int landlock_ruleset_add_path_at(LandlockRuleset *r, int dir_fd, const char *path, LandlockTier tier);

/* Enforces the ruleset on the calling thread and its future children.
 * NO_NEW_PRIVS must already be set (-EPERM otherwise, unless the caller has
 * CAP_SYS_ADMIN: the sandbox always sets NO_NEW_PRIVS first anyway). With
 * default read allowed, adds the SYSTEM tier on "/" (the caller's root)
 * first. */
int landlock_ruleset_restrict_self(LandlockRuleset *r);

/* The paths a defaultDenyRead sandbox keeps readable so programs run at all
 * (fence's list for Linux: system binaries and libraries, /etc, /proc, /sys,
 * /dev, /run, /tmp, /opt, package-manager prefixes, and the version
 * managers and tool directories in the caller's home). home may be NULL.
 * Not checked for existence. */
int landlock_essential_read_paths(const char *home, char ***ret);
