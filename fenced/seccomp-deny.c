#include <errno.h>
#include <sys/socket.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "log.h"
#include "seccomp-deny.h"
#include "seccomp-util.h"

/* Refused outright. The reasons are in docs/security.md. */
static const char * const denied_calls[] = {
        /* fence's list */
        "ptrace", "process_vm_readv", "process_vm_writev",
        "keyctl", "add_key", "request_key",
        "userfaultfd", "perf_event_open", "bpf",
        "kexec_load", "kexec_file_load", "reboot", "syslog", "acct",
        "mount", "umount2", "pivot_root", "swapon", "swapoff",
        "sethostname", "setdomainname",
        "init_module", "finit_module", "delete_module",
        "ioperm", "iopl",
        /* the rest of the ptrace family */
        "pidfd_getfd", "process_madvise",
        /* i386-only relatives of the above */
        "umount", "vm86", "vm86old",
        /* the new mount API */
        "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
        /* namespaces and file handles */
        "setns", "open_by_handle_at",
        /* io_uring executes operations the filter never sees */
        "io_uring_setup", "io_uring_enter", "io_uring_register",
        "fanotify_init",
        NULL,
};

/* Refused only with some arguments (the rules further down). */
static const char * const conditional_denials[] = {
        "personality(changes other than PER_LINUX, PER_LINUX32, UNAME26)",
        "ioctl(TIOCSTI)", "ioctl(TIOCLINUX)",
        "clone(CLONE_NEWUSER)", "unshare(CLONE_NEWUSER)",
        "clone3(ENOSYS)",
        "socket(AF_INET/AF_INET6, SOCK_RAW)", "socket(AF_PACKET)",
        NULL,
};

void seccomp_deny_lists(const char * const **ret_calls, const char * const **ret_conditional) {
        *ret_calls = denied_calls;
        *ret_conditional = conditional_denials;
}

/* personality() is allowed for what programs use: the query 0xffffffff,
 * PER_LINUX, PER_LINUX32 (linux32/setarch) and UNAME26, alone or combined
 * (docker's choice). Anything else, ADDR_NO_RANDOMIZE and READ_IMPLIES_EXEC
 * above all, weakens ASLR or W^X and is refused. libseccomp cannot say "none
 * of these values" for one argument, so this part is written in BPF and
 * runs before libseccomp's program, falling through into it. The kernel
 * reads the argument as unsigned int, so only its low 32 bits count. */
static const uint32_t personality_allowed[] = { 0xffffffffu, 0x0000, 0x0008, 0x20000, 0x20008 };

#define MAX_PRELUDE 32

static int personality_prelude(struct sock_filter *out, size_t *ret_n) {
        uint32_t arches[2] = { seccomp_arch_native() };
        int nrs[2];
        size_t n_arch = 1, n = 0, check, end;

        if (arches[0] == SCMP_ARCH_X86_64)
                arches[n_arch++] = SCMP_ARCH_X86;
        for (size_t a = 0; a < n_arch; a++) {
                nrs[a] = seccomp_syscall_resolve_name_arch(arches[a], "personality");
                if (nrs[a] == __NR_SCMP_ERROR || nrs[a] < 0)
                        return -EINVAL;
        }

        /* Layout: load arch; per arch: [arch?] [load nr] [nr?]; then the
         * argument check; the end is the first instruction after it. */
        check = 1 + 3 * n_arch;
        end = check + 1 + ELEMENTSOF(personality_allowed) + 1;
        if (end > MAX_PRELUDE)
                return -E2BIG;

#define JUMP_TO(target) ((uint8_t) ((target) - (n + 1)))
        out[n] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
        n++;
        for (size_t a = 0; a < n_arch; a++) {
                size_t next = a + 1 < n_arch ? n + 3 : end;

                out[n] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arches[a], 0, JUMP_TO(next));
                n++;
                out[n] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
                n++;
                out[n] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t) nrs[a],
                                                       JUMP_TO(check), JUMP_TO(end));
                n++;
        }
        out[n] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                               offsetof(struct seccomp_data, args[0]) +
                                               (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 0 : 4));
        n++;
        for (size_t k = 0; k < ELEMENTSOF(personality_allowed); k++) {
                out[n] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, personality_allowed[k],
                                                       JUMP_TO(end), 0);
                n++;
        }
        out[n] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
        n++;
#undef JUMP_TO

        *ret_n = n;
        return 0;
}

static int add_rules(scmp_filter_ctx ctx) {
        int r;

        for (const char * const *name = denied_calls; *name; name++) {
                int nr = seccomp_syscall_resolve_name(*name);

                /* A libseccomp too old to know a name cannot filter it. */
                if (nr == __NR_SCMP_ERROR) {
                        log_debug("seccomp: libseccomp does not know %s, not filtered.", *name);
                        continue;
                }
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
                if (r < 0)
                        return log_debug_errno(r, "seccomp: cannot deny %s: %m", *name);
        }

        /* TIOCSTI pushes input into a terminal: into the caller's shell when
         * stdin is their tty. TIOCLINUX can do the same on a virtual console.
         * The kernel compares the command as unsigned int, so do we. */
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                             SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
        if (r < 0)
                return r;
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                             SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
        if (r < 0)
                return r;

        /* A new user namespace hands out every capability inside it. On
         * x86 the flags are clone()'s first argument (not so on s390). */
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
        if (r < 0)
                return r;
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
        if (r < 0)
                return r;
        /* Raw and packet sockets: refused anyway without CAP_NET_RAW, but
         * here the refusal is the filter's and so logged like every denial
         * (the network filter's "every attempt is observable"). The type
         * carries SOCK_CLOEXEC/SOCK_NONBLOCK above its low bits. Ping
         * sockets (SOCK_DGRAM, IPPROTO_ICMP) are not raw. */
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 2,
                             SCMP_A0(SCMP_CMP_EQ, AF_INET), SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW));
        if (r < 0)
                return r;
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 2,
                             SCMP_A0(SCMP_CMP_EQ, AF_INET6), SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW));
        if (r < 0)
                return r;
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_PACKET));
        if (r < 0)
                return r;
        /* clone3() passes its flags in memory, out of the filter's sight.
         * ENOSYS makes glibc (2.34+) and others fall back to clone(). */
        return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
}

int seccomp_deny_compile(struct sock_fprog *ret) {
        _cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
        _cleanup_(seccomp_prog_done) struct sock_fprog body = {};
        struct sock_filter prelude[MAX_PRELUDE];
        size_t n_prelude;
        int r;

        r = seccomp_ctx_new(&ctx);
        if (r < 0)
                return r;
        r = add_rules(ctx);
        if (r < 0)
                return r;
        r = seccomp_prog_compile(ctx, &body);
        if (r < 0)
                return r;
        r = personality_prelude(prelude, &n_prelude);
        if (r < 0)
                return r;
        return seccomp_prog_concat(prelude, n_prelude, &body, ret);
}

int seccomp_deny_install(void) {
        _cleanup_(seccomp_prog_done) struct sock_fprog prog = {};
        int r;

        r = seccomp_deny_compile(&prog);
        if (r < 0)
                return r;
        r = seccomp_load_prog(&prog, SECCOMP_DENY_LOAD_FLAGS);
        if (r == -EINVAL) /* a kernel without SECCOMP_FILTER_FLAG_LOG (before 4.14) */
                r = seccomp_load_prog(&prog, 0);
        return r < 0 ? r : 0;
}
