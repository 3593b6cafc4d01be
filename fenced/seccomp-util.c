#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp-util.h"

int seccomp_ctx_new(scmp_filter_ctx *ret) {
        _cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
        int r;

        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;

        /* A syscall of an ABI the filter does not know is refused as if the
         * ABI did not exist, never allowed and never fatal. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS));
        if (r < 0)
                return r;
        if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
                r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
                if (r < 0 && r != -EEXIST)
                        return r;
        }

        *ret = TAKE_PTR(ctx);
        return 0;
}

int seccomp_prog_compile(scmp_filter_ctx ctx, struct sock_fprog *ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ struct sock_filter *insns = NULL;
        off_t size;
        ssize_t n;
        int r;

        /* libseccomp 2.5 exports only to a file descriptor. */
        fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        size = lseek(fd, 0, SEEK_END);
        if (size < 0)
                return -errno;
        if (size == 0 || size % sizeof(struct sock_filter) != 0 ||
            size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return -E2BIG;

        insns = malloc((size_t) size);
        if (!insns)
                return -ENOMEM;
        n = pread(fd, insns, (size_t) size, 0);
        if (n < 0)
                return -errno;
        if (n != size)
                return -EIO;

        *ret = (struct sock_fprog) {
                .len = (unsigned short) (size / sizeof(struct sock_filter)),
                .filter = TAKE_PTR(insns),
        };
        return 0;
}

int seccomp_prog_concat(const struct sock_filter *a, size_t n_a, const struct sock_fprog *b,
                        struct sock_fprog *ret) {
        struct sock_filter *insns;
        size_t n = n_a + b->len;

        if (n > BPF_MAXINSNS)
                return -E2BIG;
        insns = malloc(n * sizeof(struct sock_filter));
        if (!insns)
                return -ENOMEM;
        memcpy(insns, a, n_a * sizeof(struct sock_filter));
        memcpy(insns + n_a, b->filter, b->len * sizeof(struct sock_filter));
        *ret = (struct sock_fprog) { .len = (unsigned short) n, .filter = insns };
        return 0;
}

void seccomp_prog_done(struct sock_fprog *p) {
        if (!p)
                return;
        free(p->filter);
        *p = (struct sock_fprog) {};
}

int seccomp_load_prog(const struct sock_fprog *p, unsigned flags) {
        long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, p);
        return r < 0 ? -errno : (int) r;
}

bool seccomp_action_available(const char *name) {
        _cleanup_fclose_ FILE *f = fopen("/proc/sys/kernel/seccomp/actions_avail", "re");
        char buf[256], *save = NULL;

        if (!f || !fgets(buf, sizeof buf, f))
                return false;
        for (char *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
                if (streq(t, name))
                        return true;
        return false;
}
