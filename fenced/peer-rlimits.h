/* peer-rlimits.h — the resource limits of the process that asked for a
 * sandbox, carried over to the sandboxed command.
 *
 * The sandbox is a child of fenced, so without this it would run under
 * fenced's limits (root's, with the fd limit raised for relays), not its
 * caller's: a user held to 100 processes or 1 MiB files by pam_limits or
 * `ulimit -H` could get past both through a sandbox. The command gets, for
 * every limit, the caller's soft and hard values, never more than fenced's
 * own hard limit (the command is unprivileged when they are applied, so
 * they can only go down).
 */
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

typedef struct PeerRlimits {
        struct rlimit limit[RLIM_NLIMITS];
} PeerRlimits;

/* Reads every limit of pid. pidfd is that same process (SO_PEERPIDFD,
 * varlink_connection_peer_pidfd()) and proves that pid still named it once
 * all was read; -ENOPROTOOPT for a kernel without pidfds (pid only). -ESRCH
 * when the process is gone, other -errno as prlimit() says. */
int peer_rlimits_read(pid_t pid, int pidfd, PeerRlimits *ret);

/* The limits in the text of /proc/PID/limits; -EBADMSG when it is not. */
int peer_rlimits_parse(const char *text, PeerRlimits *ret);

/* In the command's process after it dropped its privileges, before execve().
 * Async-signal-safe. */
int peer_rlimits_apply(const PeerRlimits *l);
