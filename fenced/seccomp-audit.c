/* seccomp-audit.c — see seccomp-audit.h. */

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "seccomp-audit.h"

#ifndef AUDIT_NLGRP_READLOG
#define AUDIT_NLGRP_READLOG 1
#endif

/* Recently mapped pids, oldest overwritten first. */
#define REMEMBERED 64

typedef struct Remembered {
        pid_t pid;
        uint64_t usec;
        char id[64];
} Remembered;

struct SeccompAudit {
        Remembered remembered[REMEMBERED];
        unsigned next;
        int fd;
        sd_event_source *io;
        SeccompAuditFn fn;
        void *userdata;
};

/* The value of " key=" in text (len bytes), its length in *ret_len. */
static const char *field(const char *text, size_t len, const char *key, size_t *ret_len) {
        size_t kl = strlen(key);

        for (size_t i = 0; i + kl + 1 < len; i++) {
                const char *v;
                size_t n;

                if ((i > 0 && text[i - 1] != ' ') || memcmp(text + i, key, kl) != 0 || text[i + kl] != '=')
                        continue;
                v = text + i + kl + 1;
                n = 0;
                if (*v == '"') {
                        while (v + 1 + n < text + len && v[1 + n] != '"')
                                n++;
                        *ret_len = n + 2;       /* with the quotes */
                        return v;
                }
                while (v + n < text + len && v[n] != ' ' && v[n] != '\n' && v[n] != '\0')
                        n++;
                *ret_len = n;
                return v;
        }
        return NULL;
}

static int field_ulong(const char *text, size_t len, const char *key, int base, unsigned long *ret) {
        char buf[32], *end;
        size_t n;
        const char *v = field(text, len, key, &n);

        if (!v || n == 0 || n >= sizeof buf)
                return -EINVAL;
        memcpy(buf, v, n);
        buf[n] = 0;
        errno = 0;
        *ret = strtoul(buf, &end, base);
        return errno || *end ? -EINVAL : 0;
}

static int unhex(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 :
               c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int seccomp_audit_parse(const char *text, size_t len, SeccompAuditRecord *ret) {
        SeccompAuditRecord r = {};
        unsigned long pid, arch, nr, code, ses;
        const char *comm;
        size_t n;

        if (field_ulong(text, len, "pid", 10, &pid) < 0 || field_ulong(text, len, "arch", 16, &arch) < 0 ||
            field_ulong(text, len, "syscall", 10, &nr) < 0 || field_ulong(text, len, "code", 16, &code) < 0)
                return -EINVAL;
        r.pid = (pid_t) pid;
        r.arch = (uint32_t) arch;
        r.syscall = (int) nr;
        r.code = (uint32_t) code;
        r.session = field_ulong(text, len, "ses", 10, &ses) == 0 ? (uint32_t) ses : UINT32_MAX;

        comm = field(text, len, "comm", &n);
        if (comm && n >= 2 && comm[0] == '"') {
                n = n - 2 < sizeof r.comm - 1 ? n - 2 : sizeof r.comm - 1;
                memcpy(r.comm, comm + 1, n);
        } else if (comm) {
                /* Hex when the name has characters audit does not print raw. */
                size_t k = 0;

                for (size_t i = 0; i + 1 < n && k < sizeof r.comm - 1; i += 2) {
                        int hi = unhex(comm[i]), lo = unhex(comm[i + 1]);

                        if (hi < 0 || lo < 0)
                                break;
                        r.comm[k++] = (char) (hi << 4 | lo);
                }
        }
        *ret = r;
        return 0;
}

static int sandbox_from_proc(pid_t pid, char *ret, size_t size) {
        _cleanup_close_ int fd = -1;
        char path[64], text[4096];
        const char *p, *end;
        ssize_t n;

        snprintf(path, sizeof path, "/proc/%d/cgroup", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -ENOENT;
        n = read(fd, text, sizeof text - 1);
        if (n <= 0)
                return -ENOENT;
        text[n] = 0;
        /* cgroup v2: "0::/...". A hybrid host lists v1 controllers first. */
        p = strstr(text, "0::");
        if (!p)
                return -ENOENT;
        p = strstr(p, "/fence.slice/");
        if (!p)
                return -ENOENT;
        p += strlen("/fence.slice/");
        end = p + strcspn(p, "/\n");
        if (end == p || (size_t) (end - p) >= size)
                return -ENOENT;
        memcpy(ret, p, (size_t) (end - p));
        ret[end - p] = 0;
        return 0;
}

int seccomp_audit_sandbox_of(SeccompAudit *a, pid_t pid, char *ret, size_t size) {
        uint64_t now = now_usec();

        if (sandbox_from_proc(pid, ret, size) == 0) {
                if (a && strlen(ret) < sizeof a->remembered[0].id) {
                        Remembered *e = NULL;

                        for (unsigned i = 0; i < REMEMBERED && !e; i++)
                                if (a->remembered[i].pid == pid)
                                        e = &a->remembered[i];
                        if (!e)
                                e = &a->remembered[a->next++ % REMEMBERED];
                        e->pid = pid;
                        e->usec = now;
                        strcpy(e->id, ret);
                }
                return 0;
        }
        for (unsigned i = 0; a && i < REMEMBERED; i++) {
                const Remembered *e = &a->remembered[i];

                if (e->pid == pid && e->pid != 0 && now - e->usec < SECCOMP_AUDIT_REMEMBER_USEC &&
                    strlen(e->id) < size) {
                        strcpy(ret, e->id);
                        return 0;
                }
        }
        return -ENOENT;
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        SeccompAudit *a = userdata;
        char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));

        for (;;) {
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);

                if (n < 0) {
                        if (errno == ENOBUFS) {
                                log_debug("audit: records were lost (receive buffer full)");
                                continue;
                        }
                        return 0;       /* EAGAIN, or nothing more to do */
                }
                if (n == 0)
                        return 0;
                /* len signed: NLMSG_NEXT() takes it below zero past the end. */
                int len = (int) n;
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                        SeccompAuditRecord r;

                        if (h->nlmsg_type != AUDIT_SECCOMP)
                                continue;
                        if (seccomp_audit_parse(NLMSG_DATA(h), h->nlmsg_len - NLMSG_HDRLEN, &r) == 0)
                                a->fn(&r, a->userdata);
                }
        }
}

int seccomp_audit_open(sd_event *e, SeccompAuditFn fn, void *userdata, SeccompAudit **ret) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1U << (AUDIT_NLGRP_READLOG - 1) };
        _cleanup_(seccomp_audit_freep) SeccompAudit *a = NULL;
        int size = 1 << 20, r;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->fn = fn;
        a->userdata = userdata;
        a->fd = -1;
        a->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_AUDIT);
        if (a->fd < 0)
                return -errno;
        (void) setsockopt(a->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        if (bind(a->fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        r = sd_event_add_io(e, &a->io, a->fd, EPOLLIN, on_io, a);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        return 0;
}

SeccompAudit *seccomp_audit_free(SeccompAudit *a) {
        if (!a)
                return NULL;
        sd_event_source_disable_unref(a->io);
        if (a->fd >= 0)
                close(a->fd);
        free(a);
        return NULL;
}
