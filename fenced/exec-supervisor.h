/* exec-supervisor.h — the runtime exec policy (command.runtimeExecPolicy):
 * every execve()/execveat() in a sandbox waits on a seccomp user
 * notification while fenced reads the path and argv from the process's
 * memory and judges them with the command policy (command-policy.h).
 * Allowed execs continue; denied ones fail with EACCES and are reported.
 *
 * Child side: the sandbox child loads the notify filter before exec'ing the
 * command and hands the listener fd to fenced. Daemon side:
 * exec_supervisor_attach() starts a small helper process (forked from
 * fenced) that owns the listener and answers the notifications; denials
 * come back to the event loop, where the callback runs. Reading another
 * process's memory or resolving a path may block (a page or a directory on
 * FUSE or NFS served by the user, a userfaultfd page); it blocks only that
 * sandbox's helper, never fenced's loop and so never other users'
 * sandboxes, and for EXEC_SUPERVISOR_JUDGE_TIMEOUT_S at most: then the
 * helper dies of SIGALRM (such waits yield to fatal signals only) and the
 * done callback gets -ETIMEDOUT.
 *
 * Fail closed: the kernel answers ENOSYS to every exec once the listener is
 * gone, so if the helper dies, is freed, or fenced exits (the helper has
 * PR_SET_PDEATHSIG), no exec in the sandbox succeeds any more. Bounded: an
 * argv longer than EXEC_SUPERVISOR_MAX_ARGS entries or
 * EXEC_SUPERVISOR_MAX_ARG_BYTES bytes is denied, not read further. The
 * check races with the process's own threads; see docs/security.md.
 */
#pragma once

#include <linux/filter.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "command-policy.h"

#define EXEC_SUPERVISOR_MAX_ARGS 16384
#define EXEC_SUPERVISOR_JUDGE_TIMEOUT_S 5U
#define EXEC_SUPERVISOR_MAX_ARG_BYTES (1024 * 1024)

typedef struct ExecSupervisor ExecSupervisor;

/* ---- Child side ---- */

/* The notify filter for execve and execveat (native ABI and i386; other
 * ABIs get ENOSYS). Build once in the daemon; free with seccomp_prog_done(). */
int exec_supervisor_compile_filter(struct sock_fprog *ret);
/* Loads it into the calling thread (after PR_SET_NO_NEW_PRIVS) and returns
 * the listener fd, or -errno (-EBUSY: an outer filter already has a
 * listener, e.g. fenced inside a fenced sandbox). Async-signal-safe. */
int exec_supervisor_load_filter(const struct sock_fprog *prog);
/* Both at once, for simple callers and tests. */
int exec_supervisor_install_filter(int *ret_listener);

/* ---- Daemon side ---- */

/* A denied exec: the pid (fenced's pid namespace), the path as passed to
 * execve(), its argv (possibly cut short for the report), and why. */
typedef void (*ExecDecisionFn)(ExecSupervisor *s, pid_t pid, const char *path, char * const *argv,
                               const CommandMatch *match, void *userdata);
/* The helper ended: error 0 when no process that could exec is left,
 * negative errno when it failed or was killed (the sandbox can no longer
 * exec: kill it). */
typedef void (*ExecSupervisorDoneFn)(ExecSupervisor *s, int error, void *userdata);

/* Takes ownership of listener_fd, also on failure (then the sandbox's execs
 * fail with ENOSYS). policy must stay valid while the supervisor exists
 * (the helper works on its copy-on-write image). */
int exec_supervisor_attach(sd_event *e, int listener_fd, const CommandPolicy *policy,
                           ExecDecisionFn cb, void *userdata, ExecSupervisor **ret);
/* The filesystem uid and gid of every process the filter covers, when they
 * and the processes' root directory cannot change (a sandbox: no
 * capabilities, no setuid, no chroot, no new mount namespace): the helper
 * takes them, and the root of the first process it hears from, once instead
 * of for each exec. */
typedef struct ExecSupervisorIds {
        uid_t uid;
        gid_t gid;
        /* The processes' supplementary groups, so that what the helper can
         * read (a script's first line) is what they can; must stay valid
         * until exec_supervisor_attach_with_ids() returns (the helper
         * works on its copy). */
        const gid_t *groups;
        size_t n_groups;
} ExecSupervisorIds;
int exec_supervisor_attach_with_ids(sd_event *e, int listener_fd, const CommandPolicy *policy,
                                    const ExecSupervisorIds *ids, ExecDecisionFn cb, void *userdata,
                                    ExecSupervisor **ret);
void exec_supervisor_set_done_callback(ExecSupervisor *s, ExecSupervisorDoneFn done);
/* The helper's pid (for logs). */
pid_t exec_supervisor_get_pid(const ExecSupervisor *s);
/* Kills the helper (so further execs fail with ENOSYS) and frees. Safe to
 * call from the callbacks. */
ExecSupervisor *exec_supervisor_free(ExecSupervisor *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ExecSupervisor *, exec_supervisor_free);
