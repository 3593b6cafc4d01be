/* mount-view.h — the filesystem a sandbox sees, built inside the sandbox's
 * fresh mount namespace (called in the clone3() child, still privileged).
 *
 * Base view: the host's / bound read-only and nosuid recursively, a fresh
 * /proc for the sandbox's pid namespace, a minimal /dev (null zero full
 * random urandom tty, devpts with its own ptmx, /dev/shm), a private /tmp,
 * and fenced's own state directory hidden. The caller's cwd stays reachable
 * even when it lies below a path the view replaces (e.g. /tmp/project).
 */
#pragma once

#include <stdbool.h>

typedef struct MountViewSpec {
        const char *cwd_path;   /* the caller's cwd as the host sees it */
        int cwd_fd;             /* an fd of that directory (the caller's own) */
        const char *hide_dir;   /* fenced's state directory, masked; may be NULL */
} MountViewSpec;

/* On failure *ret_what names the step that failed (static string). */
int mount_view_build(const MountViewSpec *spec, const char **ret_what);
