/* try-syscall — makes system calls with harmless arguments and says how each
 * one ended, so tests can run it inside a sandbox and check the seccomp
 * filter:
 *
 *     try-syscall ptrace getpid ioctl-tiocsti
 *     ptrace: EPERM
 *     getpid: ok
 *     ioctl-tiocsti: ok
 *
 * "ok" means success; otherwise the errno name, or "skip (why)" when the
 * machine cannot make the call at all. Arguments are chosen so that the
 * unfiltered call either succeeds without changing anything or fails with
 * an errno other than the filter's (EINVAL, EBADF, ENOENT, ESRCH, ...).
 * Names ending in "32" use the i386 ABI through int $0x80. `try-syscall
 * list` prints the names. Exit status 0, or 2 for an unknown name.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define SKIP 1000       /* a result that is not an errno: print the skip reason */

typedef struct Result {
        int error;      /* 0: ok; errno; SKIP */
        const char *why;
} Result;

static Result from_ret(long r) {
        return (Result) { .error = r < 0 ? errno : 0 };
}

static Result skip(const char *why) {
        return (Result) { .error = SKIP, .why = why };
}

/* Runs fn in a child (for calls that change the process) and returns the
 * errno it exited with. */
static Result in_child(int (*fn)(void)) {
        int status;
        pid_t pid = fork();

        if (pid < 0)
                return from_ret(-1);
        if (pid == 0)
                _exit(fn() < 0 ? errno : 0);
        if (waitpid(pid, &status, 0) < 0)
                return from_ret(-1);
        return (Result) { .error = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR };
}

/* int $0x80 from 64-bit code: the i386 ABI. Only arguments that fit in 32
 * bits can be passed. */
static long int80(long nr, long a, long b, long c) {
#if defined(__x86_64__)
        long r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory", "r8", "r9", "r10", "r11");
        return r;
#else
        return -ENOSYS;
#endif
}

static Result from_int80(long r) {
        return (Result) { .error = r < 0 && r > -4096 ? (int) -r : 0 };
}

static int ia32_available(void) {
        /* getpid through int $0x80 is our pid when the i386 ABI exists. */
        return int80(20, 0, 0, 0) == getpid();
}

static Result try_getpid(void) {
        return from_ret(syscall(SYS_getpid));
}

static Result try_ptrace(void) {
        /* Peeking at ourselves while not traced: ESRCH. */
        return from_ret(ptrace(PTRACE_PEEKDATA, getpid(), NULL, NULL));
}

static Result try_process_vm_readv(void) {
        char src[8] = "abc", dst[8];
        struct iovec l = { dst, sizeof dst }, r = { src, sizeof src };
        return from_ret(process_vm_readv(getpid(), &l, 1, &r, 1, 0));
}

static Result try_process_vm_writev(void) {
        char src[8] = "abc", dst[8];
        struct iovec l = { src, sizeof src }, r = { dst, sizeof dst };
        return from_ret(process_vm_writev(getpid(), &l, 1, &r, 1, 0));
}

static Result try_keyctl(void) {
        return from_ret(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
}

static Result try_add_key(void) {
        /* Keyring 0 does not exist: EINVAL. */
        return from_ret(syscall(SYS_add_key, "user", "fence-probe", "x", (size_t) 1, 0));
}

static Result try_request_key(void) {
        return from_ret(syscall(SYS_request_key, "user", "fence-probe-absent", NULL, 0));
}

static Result try_personality_query(void) {
        return from_ret(personality(0xffffffff));
}

static Result try_personality_linux(void) {
        int old = personality(0xffffffff);
        Result res = from_ret(personality(PER_LINUX));
        if (old >= 0)
                (void) personality((unsigned long) old);
        return res;
}

static Result try_personality_change(void) {
        int old = personality(0xffffffff);
        Result res = from_ret(personality(PER_LINUX | ADDR_NO_RANDOMIZE));
        if (old >= 0)
                (void) personality((unsigned long) old);
        return res;
}

static Result try_userfaultfd(void) {
        long fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
        Result res = from_ret(fd);
        if (fd >= 0)
                close((int) fd);
        return res;
}

static Result try_perf_event_open(void) {
        /* No attribute structure: EFAULT. */
        return from_ret(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
}

static Result try_bpf(void) {
        /* An unknown command: EINVAL. */
        return from_ret(syscall(SYS_bpf, -1, NULL, 0));
}

static Result try_kexec_load(void) {
        /* Unknown flags: EINVAL (never 0 segments: that unloads). */
        return from_ret(syscall(SYS_kexec_load, 0, 0, NULL, ~0UL));
}

static Result try_kexec_file_load(void) {
        return from_ret(syscall(SYS_kexec_file_load, -1, -1, 0, NULL, ~0UL));
}

static Result try_reboot(void) {
        /* Wrong magic numbers: EINVAL. */
        return from_ret(syscall(SYS_reboot, 0, 0, 0, NULL));
}

static Result try_syslog(void) {
        return from_ret(syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0));
}

static Result try_acct(void) {
        return from_ret(syscall(SYS_acct, "/nonexistent-fence-probe/acct"));
}

static Result try_mount(void) {
        return from_ret(mount("none", "/nonexistent-fence-probe", "tmpfs", 0, NULL));
}

static Result try_umount2(void) {
        return from_ret(umount2("/nonexistent-fence-probe", 0));
}

static Result try_pivot_root(void) {
        return from_ret(syscall(SYS_pivot_root, "/nonexistent-fence-probe", "/nonexistent-fence-probe"));
}

static Result try_swapon(void) {
        return from_ret(syscall(SYS_swapon, "/nonexistent-fence-probe", 0));
}

static Result try_swapoff(void) {
        return from_ret(syscall(SYS_swapoff, "/nonexistent-fence-probe"));
}

static Result try_sethostname(void) {
        /* Longer than a hostname may be: EINVAL. */
        return from_ret(syscall(SYS_sethostname, "x", (size_t) 4096));
}

static Result try_setdomainname(void) {
        return from_ret(syscall(SYS_setdomainname, "x", (size_t) 4096));
}

static Result try_init_module(void) {
        return from_ret(syscall(SYS_init_module, NULL, 0, ""));
}

static Result try_finit_module(void) {
        return from_ret(syscall(SYS_finit_module, -1, "", 0));
}

static Result try_delete_module(void) {
        return from_ret(syscall(SYS_delete_module, "fence_probe_absent", O_NONBLOCK));
}

static Result try_ioperm(void) {
#ifdef SYS_ioperm
        /* Turning access off changes nothing. */
        return from_ret(syscall(SYS_ioperm, 0x80, 1, 0));
#else
        return skip("no ioperm on this architecture");
#endif
}

static Result try_iopl(void) {
#ifdef SYS_iopl
        return from_ret(syscall(SYS_iopl, 0));
#else
        return skip("no iopl on this architecture");
#endif
}

/* A pty pair is a terminal that is always there, unlike a controlling tty. */
static Result tty_ioctl(unsigned long cmd, void *arg) {
        int master, slave;
        Result res;

        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return skip("no pseudo-terminal");
        if (grantpt(master) < 0 || unlockpt(master) < 0) {
                close(master);
                return skip("cannot unlock a pseudo-terminal");
        }
        slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0) {
                close(master);
                return skip("cannot open a pseudo-terminal");
        }
        res = from_ret(syscall(SYS_ioctl, slave, cmd, arg));
        close(slave);
        close(master);
        return res;
}

static Result try_ioctl_tiocsti(void) {
        char c = '\n';
        return tty_ioctl(TIOCSTI, &c);
}

static Result try_ioctl_tiocsti_hibits(void) {
        /* The kernel truncates the command to 32 bits; so must the filter. */
        char c = '\n';
        return tty_ioctl(TIOCSTI | (1UL << 32), &c);
}

static Result try_ioctl_tioclinux(void) {
        char subcode = 11; /* TIOCL_GETKMSGREDIRECT: a VT-only query */
        return tty_ioctl(TIOCLINUX, &subcode);
}

static Result try_ioctl_fionread(void) {
        int n;
        return tty_ioctl(FIONREAD, &n);
}

static Result try_clone_newuser(void) {
        int status;
        long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);

        if (pid == 0)
                _exit(0);
        if (pid > 0)
                (void) waitpid((pid_t) pid, &status, 0);
        return from_ret(pid);
}

static Result try_clone_plain(void) {
        int status;
        long pid = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);

        if (pid == 0)
                _exit(0);
        if (pid > 0)
                (void) waitpid((pid_t) pid, &status, 0);
        return from_ret(pid);
}

static int unshare_newuser(void) {
        return unshare(CLONE_NEWUSER);
}

static Result try_unshare_newuser(void) {
        return in_child(unshare_newuser);
}

static int unshare_files(void) {
        return unshare(CLONE_FILES);
}

static Result try_unshare_files(void) {
        return in_child(unshare_files);
}

static Result try_clone3(void) {
        struct clone_args args = { .exit_signal = SIGCHLD };
        int status;
        long pid = syscall(SYS_clone3, &args, sizeof args);

        if (pid == 0)
                _exit(0);
        if (pid > 0)
                (void) waitpid((pid_t) pid, &status, 0);
        return from_ret(pid);
}

static Result try_fork(void) {
        /* glibc's fork() (clone), as programs make it. */
        int status;
        pid_t pid = fork();

        if (pid == 0)
                _exit(0);
        if (pid > 0)
                (void) waitpid(pid, &status, 0);
        return from_ret(pid);
}

static Result try_setns(void) {
        return from_ret(syscall(SYS_setns, -1, 0));
}

static Result try_open_by_handle_at(void) {
        return from_ret(syscall(SYS_open_by_handle_at, -1, NULL, 0));
}

static Result try_name_to_handle_at(void) {
        struct { unsigned bytes; int type; unsigned char h[128]; } handle = { .bytes = 128 };
        int mount_id;
        return from_ret(syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &handle, &mount_id, 0));
}

static Result try_io_uring_setup(void) {
        unsigned char params[120] = {};
        long fd = syscall(SYS_io_uring_setup, 1, params);
        Result res = from_ret(fd);
        if (fd >= 0)
                close((int) fd);
        return res;
}

static Result try_io_uring_enter(void) {
        return from_ret(syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0));
}

static Result try_io_uring_register(void) {
        return from_ret(syscall(SYS_io_uring_register, -1, 0, NULL, 0));
}

static Result try_fanotify_init(void) {
        long fd = syscall(SYS_fanotify_init, 0 /* FAN_CLASS_NOTIF */, O_RDONLY);
        Result res = from_ret(fd);
        if (fd >= 0)
                close((int) fd);
        return res;
}

static Result try_fsopen(void) {
        return from_ret(syscall(SYS_fsopen, "fence-probe-nofs", 0));
}

static Result try_open_tree(void) {
        return from_ret(syscall(SYS_open_tree, -1, "", 0));
}

static Result try_move_mount(void) {
        return from_ret(syscall(SYS_move_mount, -1, "", -1, "", 0));
}

static Result try_pidfd_getfd(void) {
        return from_ret(syscall(SYS_pidfd_getfd, -1, 0, 0));
}

static Result try_execve(void) {
        int status;
        pid_t pid = fork();

        if (pid < 0)
                return from_ret(-1);
        if (pid == 0) {
                char *argv[] = { (char *) "true", NULL };
                execve("/bin/true", argv, (char *[]) { NULL });
                _exit(errno);
        }
        if (waitpid(pid, &status, 0) < 0)
                return from_ret(-1);
        return (Result) { .error = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR };
}

static Result try_getpid32(void) {
        if (!ia32_available())
                return skip("no i386 ABI (int $0x80)");
        return from_int80(int80(20, 0, 0, 0));
}

static Result try_ptrace32(void) {
        if (!ia32_available())
                return skip("no i386 ABI (int $0x80)");
        /* ptrace(PTRACE_PEEKDATA, self): ESRCH unfiltered. */
        return from_int80(int80(26, PTRACE_PEEKDATA, getpid(), 0));
}

static Result try_personality32_change(void) {
        long old;
        Result res;

        if (!ia32_available())
                return skip("no i386 ABI (int $0x80)");
        old = int80(136, 0xffffffffL, 0, 0);
        res = from_int80(int80(136, PER_LINUX | ADDR_NO_RANDOMIZE, 0, 0));
        if (old >= 0)
                (void) int80(136, old, 0, 0);
        return res;
}

static Result try_getpid_x32(void) {
        /* x32 numbers carry bit 30 and otherwise match x86-64's. */
        return from_ret(syscall(SYS_getpid | 0x40000000));
}

static Result try_socket(int domain, int type, int protocol) {
        int fd = socket(domain, type, protocol);
        Result r = from_ret(fd);

        if (fd >= 0)
                close(fd);
        return r;
}

static Result try_socket_raw4(void) {
        return try_socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
}

static Result try_socket_raw6(void) {
        return try_socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
}

static Result try_socket_packet(void) {
        return try_socket(AF_PACKET, SOCK_DGRAM, 0);
}

static Result try_socket_udp(void) {
        return try_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
}

typedef struct Probe {
        const char *name;
        Result (*fn)(void);
} Probe;

static const Probe probes[] = {
        { "getpid", try_getpid },
        { "ptrace", try_ptrace },
        { "process_vm_readv", try_process_vm_readv },
        { "process_vm_writev", try_process_vm_writev },
        { "keyctl", try_keyctl },
        { "add_key", try_add_key },
        { "request_key", try_request_key },
        { "personality-query", try_personality_query },
        { "personality-linux", try_personality_linux },
        { "personality-change", try_personality_change },
        { "userfaultfd", try_userfaultfd },
        { "perf_event_open", try_perf_event_open },
        { "bpf", try_bpf },
        { "kexec_load", try_kexec_load },
        { "kexec_file_load", try_kexec_file_load },
        { "reboot", try_reboot },
        { "syslog", try_syslog },
        { "acct", try_acct },
        { "mount", try_mount },
        { "umount2", try_umount2 },
        { "pivot_root", try_pivot_root },
        { "swapon", try_swapon },
        { "swapoff", try_swapoff },
        { "sethostname", try_sethostname },
        { "setdomainname", try_setdomainname },
        { "init_module", try_init_module },
        { "finit_module", try_finit_module },
        { "delete_module", try_delete_module },
        { "ioperm", try_ioperm },
        { "iopl", try_iopl },
        { "ioctl-tiocsti", try_ioctl_tiocsti },
        { "ioctl-tiocsti-hibits", try_ioctl_tiocsti_hibits },
        { "ioctl-tioclinux", try_ioctl_tioclinux },
        { "ioctl-fionread", try_ioctl_fionread },
        { "clone", try_clone_plain },
        { "clone-newuser", try_clone_newuser },
        { "unshare-files", try_unshare_files },
        { "unshare-newuser", try_unshare_newuser },
        { "clone3", try_clone3 },
        { "fork", try_fork },
        { "setns", try_setns },
        { "open_by_handle_at", try_open_by_handle_at },
        { "name_to_handle_at", try_name_to_handle_at },
        { "io_uring_setup", try_io_uring_setup },
        { "io_uring_enter", try_io_uring_enter },
        { "io_uring_register", try_io_uring_register },
        { "fanotify_init", try_fanotify_init },
        { "fsopen", try_fsopen },
        { "open_tree", try_open_tree },
        { "move_mount", try_move_mount },
        { "pidfd_getfd", try_pidfd_getfd },
        { "execve", try_execve },
        { "getpid32", try_getpid32 },
        { "ptrace32", try_ptrace32 },
        { "personality32-change", try_personality32_change },
        { "getpid-x32", try_getpid_x32 },
        { "socket-raw4", try_socket_raw4 },
        { "socket-raw6", try_socket_raw6 },
        { "socket-packet", try_socket_packet },
        { "socket-udp", try_socket_udp },
};

int main(int argc, char *argv[]) {
        int ret = 0;

        setvbuf(stdout, NULL, _IOLBF, 0);
        for (int i = 1; i < argc; i++) {
                const Probe *p = NULL;
                Result res;

                if (strcmp(argv[i], "list") == 0) {
                        for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++)
                                printf("%s\n", probes[k].name);
                        continue;
                }
                for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++)
                        if (strcmp(argv[i], probes[k].name) == 0)
                                p = &probes[k];
                if (!p) {
                        printf("%s: unknown\n", argv[i]);
                        ret = 2;
                        continue;
                }

                errno = 0;
                res = p->fn();
                if (res.error == SKIP)
                        printf("%s: skip (%s)\n", p->name, res.why);
                else if (res.error == 0)
                        printf("%s: ok\n", p->name);
                else
                        printf("%s: %s\n", p->name, strerrorname_np(res.error) ?: "unknown-errno");
        }
        return ret;
}
