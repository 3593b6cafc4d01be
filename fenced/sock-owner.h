/* sock-owner.h — which process of a sandbox owns the socket at the other
 * end of a connection the daemon accepted inside the sandbox's network
 * namespace, so that a violation can name the process.
 *
 * The socket is found with a sock_diag dump (a NETLINK_SOCK_DIAG socket
 * opened inside that namespace) by its local address and port, which is
 * the peer address the daemon's listener saw; its inode is then looked for
 * among the fds of the processes in the sandbox's cgroup. Both steps are
 * best effort: the process may have closed the socket or exited already.
 * Meant for violations only (it walks /proc/PID/fd).
 */
#pragma once

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Opens the diag socket in the calling thread's namespace. */
int sock_diag_open(int *ret_fd);

/* protocol: IPPROTO_TCP or IPPROTO_UDP. local: the client's own address.
 * Returns 0 with the inode and the socket's uid, -ENOENT if not found. */
int sock_owner_lookup(int diag_fd, int protocol, const struct sockaddr_storage *local, uint64_t *ret_inode,
                      uint32_t *ret_uid);

/* The first process in cgroup_path (a cgroup directory) holding socket
 * inode, -ENOENT if none. */
int sock_owner_pid(const char *cgroup_path, uint64_t inode, pid_t *ret);
