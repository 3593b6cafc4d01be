/* cgroup.h — the cgroup2 subtree that holds one cgroup per sandbox.
 *
 * Sandboxes live in <base>/fence.slice/<id>. <base> is the cgroup2 mount,
 * or, when systemd delegated fenced's own cgroup to it (Delegate=yes, seen
 * as the xattr trusted.delegate=1), that cgroup: fenced then moves itself
 * into <base>/daemon. fenced holds an exclusive flock on fence.slice for
 * its lifetime, so a second instance on the same slice refuses to start
 * instead of killing the first one's sandboxes as stale. The cgroup is what
 * identifies a sandbox to the kernel (cgroup.kill, eBPF attribution by
 * cgroup id, accounting), so every process of a sandbox is created inside it
 * (CLONE_INTO_CGROUP) and cannot leave it: the fence.slice directories are
 * root-owned.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct CgroupRoot {
        char *mount;            /* where cgroup2 is mounted, e.g. /sys/fs/cgroup/unified */
        char *slice;            /* <base>/fence.slice */
        int slice_fd;           /* O_DIRECTORY fd of slice */
} CgroupRoot;

/* Finds the cgroup2 mount (from /proc/self/mountinfo), picks <base>,
 * creates and locks fence.slice. -EBUSY: another fenced holds it. */
int cgroup_root_open(CgroupRoot *ret);
void cgroup_root_close(CgroupRoot *r);

/* Kills and removes every leftover sandbox cgroup (after a crash). Returns
 * the number removed. */
int cgroup_root_clean_stale(CgroupRoot *r);

/* Creates <slice>/<name>; returns an O_DIRECTORY fd of it. */
int cgroup_create(CgroupRoot *r, const char *name);
/* SIGKILLs every process in the cgroup (cgroup.kill; falls back to
 * walking cgroup.procs on kernels without it). */
int cgroup_kill(int cgroup_fd);
/* 1 if the cgroup still has processes, 0 if empty. */
int cgroup_populated(int cgroup_fd);
/* Blocks (polling every millisecond) until the cgroup is empty: 0, or
 * -ETIMEDOUT after timeout_ms. Killed processes leave a cgroup
 * asynchronously; only for start-up and shutdown paths, never the loop. */
int cgroup_wait_empty(int cgroup_fd, unsigned timeout_ms);
/* fd to poll (EPOLLPRI) for changes of "populated". */
int cgroup_open_events(int cgroup_fd);
/* rmdir <slice>/<name>; -EBUSY while populated. */
int cgroup_remove(CgroupRoot *r, const char *name);
/* The cgroup id (inode number of the directory), as eBPF sees it. */
int cgroup_id(int cgroup_fd, uint64_t *ret);

/* True when pid lives in a cgroup below fence.slice, i.e. is sandboxed. */
bool cgroup_pid_is_sandboxed(CgroupRoot *r, pid_t pid);
/* The same for the peer of a connection: pid as SO_PEERCRED reported it at
 * connect(), pidfd that very process (varlink_connection_peer_pidfd()).
 * A pid number may belong to anyone once its process is gone, so a peer
 * that has exited counts as sandboxed (fail closed), as does any pidfd
 * error but -ENOPROTOOPT (a kernel without SO_PEERPIDFD: pid only). */
bool cgroup_peer_is_sandboxed(CgroupRoot *r, pid_t pid, int pidfd);
