/* sandbox-child.h — what runs inside a new sandbox, from the clone3() child
 * (pid 1 of the sandbox's pid namespace) to the execve() of the command.
 *
 * Pid 1 builds the mount view, brings up loopback, takes the caller's
 * identity, then stays as a tiny init: it forks the command, forwards the
 * signals fenced sends it to the command's process group, reaps orphans and
 * reports the command's wait status over the setup socket. When pid 1 exits
 * the kernel kills whatever is left in the pid namespace. If fenced goes
 * away (the setup socket hangs up), it kills the sandbox: no sandbox runs
 * without its supervisor.
 */
#pragma once

#include <stdbool.h>
#include <linux/filter.h>
#include <sys/types.h>

#include "fs-protect-cache.h"
#include "fs-view.h"
#include "macro.h"
#include "peer-rlimits.h"

typedef struct SandboxSpec {
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
        char **argv;
        char **env;             /* already filtered; FENCE_SANDBOX=1 added */
        int cwd_fd;             /* the caller's cwd, opened by the caller */
        char *cwd_path;         /* its path as the host sees it */
        int stdio_fds[3];
        const char *hide_dir;   /* fenced's state dir, masked in the view */
        const char *sandbox_id; /* names the placeholder record (placeholder.h) */
        bool tty;               /* make stdin the controlling terminal */
        FsPolicy fs;            /* the filesystem policy (mandatory protection even when empty) */
        const struct sock_fprog *seccomp_deny; /* compiled once by the daemon */
        const struct sock_fprog *exec_notify;  /* argv exec policy: its notify filter, else NULL */
        bool join_netns;        /* join netns_fd instead of a fresh, empty network namespace */
        int netns_fd;           /* the filtered namespace (net-sandbox.h), owned */
        char *resolv_conf;      /* its /etc/resolv.conf text, or NULL */
        PeerRlimits *rlimits;   /* the caller's resource limits for the command, or NULL */
        FsProtectWatch protect_watch;   /* fenced's watch of the cwd tree (fd borrowed; -1: none) */
        int fs_template_ns;     /* the template of this policy's mounts (fs-template.h; fd borrowed; -1: none) */
        bool fs_template_wanted;        /* send fenced a new template when this launch made one */
} SandboxSpec;

void sandbox_spec_done(SandboxSpec *s);

_noreturn_ void sandbox_child_main(const SandboxSpec *spec, int setup_fd);
