#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "sock-owner.h"

int sock_diag_open(int *ret_fd) {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

static bool addr_matches(const struct inet_diag_msg *m, const struct sockaddr_storage *local) {
        if (local->ss_family == AF_INET) {
                const struct sockaddr_in *in = (const void *) local;
                return m->id.idiag_sport == in->sin_port &&
                       (m->id.idiag_src[0] == in->sin_addr.s_addr || m->id.idiag_src[0] == 0);
        }
        const struct sockaddr_in6 *in6 = (const void *) local;
        static const uint32_t any[4];
        return m->id.idiag_sport == in6->sin6_port &&
               (memcmp(m->id.idiag_src, &in6->sin6_addr, 16) == 0 || memcmp(m->id.idiag_src, any, 16) == 0);
}

int sock_owner_lookup(int diag_fd, int protocol, const struct sockaddr_storage *local, uint64_t *ret_inode,
                      uint32_t *ret_uid) {
        struct {
                struct nlmsghdr nlh;
                struct inet_diag_req_v2 req;
        } msg = {
                .nlh = {
                        .nlmsg_len = sizeof msg,
                        .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                        .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
                        .nlmsg_seq = 1,
                },
                .req = {
                        .sdiag_family = (uint8_t) local->ss_family,
                        .sdiag_protocol = (uint8_t) protocol,
                        .idiag_states = ~0U,
                },
        };
        union {
                struct nlmsghdr h;
                uint8_t buf[16384];
        } answer;
        int found = -ENOENT;

        if (diag_fd < 0 || (local->ss_family != AF_INET && local->ss_family != AF_INET6))
                return -EINVAL;
        if (send(diag_fd, &msg, sizeof msg, 0) < 0)
                return -errno;
        for (;;) {
                ssize_t n = recv(diag_fd, &answer, sizeof answer, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (struct nlmsghdr *h = &answer.h; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
                                return found;
                        if (found == 0 || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
                                continue;
                        const struct inet_diag_msg *m = NLMSG_DATA(h);
                        if (m->idiag_inode != 0 && addr_matches(m, local)) {
                                *ret_inode = m->idiag_inode;
                                *ret_uid = m->idiag_uid;
                                found = 0;
                        }
                }
        }
}

static bool pid_has_inode(pid_t pid, const char *want) {
        char path[64];
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        snprintf(path, sizeof path, "/proc/%d/fd", (int) pid);
        d = opendir(path);
        if (!d)
                return false;
        while ((de = readdir(d))) {
                char target[64];
                ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1);
                if (n <= 0)
                        continue;
                target[n] = 0;
                if (streq(target, want))
                        return true;
        }
        return false;
}

int sock_owner_pid(const char *cgroup_path, uint64_t inode, pid_t *ret) {
        _cleanup_free_ char *procs = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char want[64];
        int pid;

        if (!cgroup_path)
                return -ENOENT;
        if (asprintf(&procs, "%s/cgroup.procs", cgroup_path) < 0)
                return -ENOMEM;
        f = fopen(procs, "re");
        if (!f)
                return -errno;
        snprintf(want, sizeof want, "socket:[%llu]", (unsigned long long) inode);
        while (fscanf(f, "%d", &pid) == 1)
                if (pid > 1 && pid_has_inode(pid, want)) {
                        *ret = pid;
                        return 0;
                }
        return -ENOENT;
}
