/* command-policy.h — fence's command rules (command.deny/allow/useDefaults,
 * runtimeExecPolicy, acceptSharedBinaryCannotRuntimeDeny, ssh.*), as pure
 * logic: no I/O, usable by fencectl's preflight and by the daemon.
 *
 * A rule is a command prefix, tokenized like a shell word list ("git push",
 * "dd if=", "docker run --privileged"). Matching follows fence:
 *   - the first token is compared by basename (/usr/bin/git is git);
 *   - a rule token ending in '=' matches any later argument starting with it
 *     ("dd if=" matches "dd of=/x if=/dev/zero");
 *   - global flags before the first subcommand token are skipped, a flag
 *     possibly taking the next word as its value ("git -C dir push" and
 *     "docker --context prod run --privileged" match "git push" and
 *     "docker run --privileged"); other tokens are positional, so
 *     "git pushx" does not match "git push";
 *   - an allow rule that matches beats every deny rule (command.deny and the
 *     defaults).
 * Where a flag may or may not take a value, a deny rule matches if any
 * reading matches, an allow rule only if every reading does: an ambiguity
 * never loosens the policy.
 *
 * Beyond fence (only ever stricter), a command is also checked as what it
 * runs: wrappers are unwrapped (sudo, doas, env [-S], nice, nohup, timeout,
 * xargs, stdbuf, ionice, chrt, taskset, setsid, time, command, exec,
 * builtin, flock, watch, eval, find -exec, ld.so, valgrind, sshpass), multicall
 * binaries run their applet (busybox dd, toybox, or argv[0] naming the
 * applet), and `sh -c STRING` (bash, dash, zsh, ksh, fish, ...) has STRING
 * split into commands (see shell-split.h). Every reading is checked; any
 * denied reading denies the command. ssh rules apply to every ssh command,
 * also one an allow rule matches (fence skips them then), and in argv mode
 * also at runtime; where ssh really connects (-o HostName, -J, ProxyJump)
 * must pass the host rules too, and a ProxyCommand is refused.
 */
#pragma once

#include <stdbool.h>

#include "macro.h"

typedef struct CommandPolicy CommandPolicy;

/* command.runtimeExecPolicy: how execs inside the sandbox are judged. */
typedef enum CommandExecMode {
        COMMAND_EXEC_PATH,      /* fence's default: single-token rules, by executable name */
        COMMAND_EXEC_ARGV,      /* every rule, against the exec's real argv */
} CommandExecMode;

/* Plain values, as in fence.json; NULL lists are empty. */
typedef struct CommandPolicySettings {
        char * const *deny;                     /* command.deny */
        char * const *allow;                    /* command.allow */
        bool use_defaults;                      /* command.useDefaults (fence: true when unset) */
        CommandExecMode exec_mode;              /* command.runtimeExecPolicy */
        char * const *accept_shared_binary;     /* command.acceptSharedBinaryCannotRuntimeDeny */

        char * const *ssh_allowed_hosts;        /* ssh.allowedHosts */
        char * const *ssh_denied_hosts;         /* ssh.deniedHosts */
        char * const *ssh_allowed_commands;     /* ssh.allowedCommands */
        char * const *ssh_denied_commands;      /* ssh.deniedCommands */
        bool ssh_allow_all_commands;            /* ssh.allowAllCommands */
        bool ssh_inherit_deny;                  /* ssh.inheritDeny */
} CommandPolicySettings;

/* Which setting denied a command. */
typedef enum CommandRuleSource {
        COMMAND_RULE_DENY,                      /* command.deny */
        COMMAND_RULE_DEFAULT,                   /* the built-in list (command.useDefaults) */
        COMMAND_RULE_SSH_DENIED_HOST,           /* ssh.deniedHosts */
        COMMAND_RULE_SSH_HOST_NOT_ALLOWED,      /* not in ssh.allowedHosts */
        COMMAND_RULE_SSH_INHERITED_DENY,        /* command.deny via ssh.inheritDeny */
        COMMAND_RULE_SSH_INHERITED_DEFAULT,     /* the built-in list via ssh.inheritDeny */
        COMMAND_RULE_SSH_DENIED_COMMAND,        /* ssh.deniedCommands */
        COMMAND_RULE_SSH_COMMAND_NOT_ALLOWED,   /* not in ssh.allowedCommands */
        COMMAND_RULE_UNCHECKABLE,               /* could not be checked safely: fail closed */
        _COMMAND_RULE_SOURCE_MAX,
} CommandRuleSource;

/* The setting's name ("command.deny", "ssh.allowedHosts", ...). */
const char *command_rule_source_to_string(CommandRuleSource s);

/* Why a command was denied; filled only when a check returns 1. */
typedef struct CommandMatch {
        CommandRuleSource source;
        char *rule;             /* the rule or host pattern as configured; NULL when none matched */
        char *command;          /* the (sub)command that was judged, words joined by spaces */
        char *detail;           /* ssh: the host; UNCHECKABLE: why; else NULL */
} CommandMatch;

void command_match_done(CommandMatch *m);
/* "rule 'git push' (command.deny)", "host 'x' not in ssh.allowedHosts", ...
 * for "command denied by policy: %s". NULL on OOM. */
char *command_match_describe(const CommandMatch *m);

/* -EINVAL for an empty rule or host pattern or an unterminated quote in a
 * rule, -ENOMEM. */
int command_policy_new(const CommandPolicySettings *s, CommandPolicy **ret);
CommandPolicy *command_policy_free(CommandPolicy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(CommandPolicy *, command_policy_free);
#define _cleanup_command_policy_ _cleanup_(command_policy_freep)

CommandExecMode command_policy_exec_mode(const CommandPolicy *p);
/* Whether any rule applies to execs at runtime in the policy's mode (argv:
 * any deny or ssh rule; path: a single-token deny), i.e. whether the exec
 * supervisor has anything to do. */
bool command_policy_has_runtime_rules(const CommandPolicy *p);

/* The checks return 1 and fill *ret (if given) when denied, 0 when allowed,
 * negative errno when the command cannot be judged (-EINVAL: unterminated
 * quote or substitution, -ELOOP: nested too deep, -ENOMEM); callers treat
 * errors as denials. */

/* Preflight of an argv (fencectl run -- ARGV), with sh -c recursion. */
int command_policy_check_argv(const CommandPolicy *p, char * const *argv, CommandMatch *ret);
/* Preflight of a shell command string (fencectl run -c STRING). */
int command_policy_check_shell(const CommandPolicy *p, const char *script, CommandMatch *ret);
/* Runtime check of one exec: path as passed to execve(), resolved_path the
 * file it resolved to (NULL when unknown), argv as passed. Shell scripts are
 * not split here: the shell's own execs come back through this check.
 * argv mode: every rule against [basename(path), argv[1], ...], also under
 * the resolved name, and ssh rules. path mode: single-token rules against
 * the executable's names (the path's, the resolved file's, a multicall
 * binary's applet); a rule listed in acceptSharedBinaryCannotRuntimeDeny is
 * not enforced when the binary is shared, i.e. resolves to a file of
 * another name (fence then leaves it to the preflight). */
int command_policy_check_exec(const CommandPolicy *p, const char *path, const char *resolved_path,
                              char * const *argv, CommandMatch *ret);

/* Path mode (fence's runtime executable deny): the executable names whose
 * files are masked in a sandbox's mount view — the single-token rules of
 * command.deny and, with useDefaults, of the built-in list ("mkfs.*" stays a
 * glob; configured names with glob characters are left out), except names
 * a single-token allow rule allows. Empty in argv mode
 * (the supervisor judges every exec there). NULL-terminated, no duplicates.
 * with_defaults false: the command.deny names only. */
int command_policy_path_mode_names(const CommandPolicy *p, bool with_defaults, char ***ret);
/* Whether name is listed in acceptSharedBinaryCannotRuntimeDeny. */
bool command_policy_accepts_shared(const CommandPolicy *p, const char *name);

/* Whether one rule matches argv by itself (deny semantics); for tests and
 * diagnostics. */
bool command_rule_matches(const char *rule, char * const *argv);

/* fence's built-in deny list (command.useDefaults), NULL-terminated. */
const char * const *command_policy_default_denied(void);
