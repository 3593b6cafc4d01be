/* mount-view.h — the filesystem a sandbox sees, built inside the sandbox's
 * fresh mount namespace (called in the clone3() child, still privileged).
 *
 * Base view: the host's / bound read-only, nosuid and nodev recursively (or,
 * with defaultDenyRead, an empty read-only root that only gets the essential
 * system paths and the allow lists), a fresh /proc for the sandbox's pid
 * namespace, a minimal /dev (null zero full random urandom tty, devpts with
 * its own ptmx, /dev/shm), a private /tmp, and fenced's own state directory
 * hidden. On top of it, the fence.json filesystem policy (fs-view.h). The
 * caller's cwd stays reachable even when it lies below a path the view
 * replaces (e.g. /tmp/project).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "fs-view.h"

typedef struct MountViewSpec {
        const char *cwd_path;   /* the caller's cwd as the host sees it */
        int cwd_fd;             /* an fd of that directory (the caller's own) */
        const char *hide_dir;   /* fenced's state directory, masked; may be NULL */
        uid_t uid;              /* the caller: user-named paths resolve as it */
        gid_t gid;
        const FsPolicy *policy;
        int tty_fd;             /* the command's terminal (a pty slave of the
                                 * host's devpts), shown as /dev/console; -1: none */
        const char *resolv_conf;        /* text bound over /etc/resolv.conf; NULL: the host's */
        FsProtectCreatedFn placeholder_created; /* records placeholders; may be NULL */
        void *placeholder_userdata;
        const struct FsProtectWatch *protect_watch;    /* fenced's watch of the cwd tree; may be NULL */
        int template_ns;        /* a template of this policy's mounts (fs-template-ns.h), or -1 */
        bool make_template;     /* keep one for the next launch (fs_view_take_template()) */
} MountViewSpec;

/* On failure *ret_error gets a message naming the step or the config key
 * that failed. *ret_view is what fs_view_landlock() needs later. */
int mount_view_build(const MountViewSpec *spec, FsView **ret_view, char **ret_error);
