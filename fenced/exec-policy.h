/* exec-policy.h — a sandbox's command.* and ssh.* settings put to work:
 * the command policy built from its config, the preflight of the command
 * before anything runs, the path-mode masks of denied executables, and the
 * hand-off of the argv-mode supervisor's listener from the sandbox to fenced.
 *
 * Modes (command.runtimeExecPolicy, fence's default "path"):
 *   - preflight, always: the argv of the Run (and the script of sh -c, which
 *     is how fencectl run -c STRING arrives) is checked against every rule;
 *     a denied command never starts.
 *   - "path": single-token deny rules (command.deny and the built-in list)
 *     are enforced at runtime by masking the executables of that name in the
 *     sandbox's mount view with an empty mode-0000 file, as fence masks them
 *     with /dev/null: in the system directories and in every absolute
 *     directory of the command's PATH, following symlinks to the real file.
 *     A name listed in acceptSharedBinaryCannotRuntimeDeny is not masked when
 *     its system binary is shared (a symlink to a file of another name, or a
 *     file with several hard links). No seccomp notify filter is installed.
 *   - "argv": every exec in the sandbox is judged by the exec supervisor
 *     (exec-supervisor.h) against every rule and the ssh rules; no masks.
 */
#pragma once

#include <linux/filter.h>

#include "command-policy.h"
#include "config.h"

/* The policy of a config (after the admin floor was merged in). */
int exec_policy_from_config(const FenceConfig *c, CommandPolicy **ret);

/* Returns 1 when argv is denied, with *ret_message (if non-NULL) set to a
 * one-line reason naming the setting and rule, e.g.
 * `command denied by command.deny "git push": git push origin main`;
 * 0 when allowed; -ENOMEM. A command that cannot be judged is denied. */
int exec_policy_preflight(const CommandPolicy *p, char * const *argv, char **ret_message);
/* The one-line reason of a denial (preflight or runtime). NULL on OOM. */
char *exec_policy_describe(const CommandMatch *m);

/* Remembers which files of a name the system directories hold (for a
 * minute: package installs change them), so that a Run does not scan them. */
typedef struct ExecMaskCache ExecMaskCache;
ExecMaskCache *exec_mask_cache_free(ExecMaskCache *c);

/* Path mode: appends to *deny_read the paths to mask (patterns as
 * filesystem.denyRead takes them, resolved later as the caller); env is
 * the command's environment (for PATH). Nothing in argv mode. *cache is
 * created on first use. */
int exec_policy_path_masks(const CommandPolicy *p, char * const *env, ExecMaskCache **cache, char ***deny_read);

/* Whether the argv-mode supervisor has anything to judge. */
bool exec_policy_needs_supervisor(const CommandPolicy *p);

/* Sandbox child, in the command's process right before execve(): loads the
 * notify filter and sends its listener over the setup socket (message
 * SETUP_MSG_EXEC_LISTENER, fd with SCM_RIGHTS), then closes it. The kernel
 * holds the fd in flight, so the first exec waits for fenced's answer even
 * if fenced has not read the message yet; if fenced drops it, every exec
 * fails with ENOSYS. Async-signal-safe. */
int exec_policy_handoff_listener(int setup_fd, const struct sock_fprog *prog);
