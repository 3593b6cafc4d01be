/* unix-socket-masks.h — network.allowUnixSockets, enforced by the filesystem
 * view.
 *
 * A sandbox has a network namespace of its own, so the host's abstract Unix
 * sockets are out of its reach. Pathname sockets are files, but connect()
 * and sendto() need only write permission on the socket's inode, which a
 * read-only mount does not take away, and Landlock (ABI 7) has no access
 * right for them. So the sockets that listen in the host's network namespace
 * when the sandbox starts (the kernel's unix_diag as fenced sees it, else
 * /proc/net/unix: stream and seqpacket listeners, unconnected bound
 * datagram sockets) and that the caller could reach (search permission
 * above, write permission on the socket) are masked like denyRead files,
 * unless they are at or below an
 * allowUnixSockets entry (fence's subpath rule) or allowAllUnixSockets is
 * set. A socket bound after the sandbox started is not masked
 * (docs/security.md).
 */
#pragma once

#include <stdio.h>
#include <sys/types.h>

/* The paths of the connectable pathname sockets listed in f (the format of
 * /proc/net/unix), de-duplicated, in *ret (NULL-terminated, may be empty). */
int unix_sockets_parse(FILE *f, char ***ret);

/* The same, from the kernel's unix_diag (what unix_socket_masks() uses;
 * /proc/net/unix is the fallback). */
int unix_sockets_diag(char ***ret);

/* Whether path is at or below one of the absolute, normalised entries. */
int unix_socket_allowed(const char *path, char * const *allow);

/* Appends to *deny_read (as glob-escaped patterns) the real paths of the
 * host's listening sockets that the caller (uid, gid, groups) could connect
 * to (by the permission bits of the socket and the directories above it; a
 * file with an ACL counts as reachable) and allow does not cover. */
int unix_socket_masks(char * const *allow, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
                      char ***deny_read);
