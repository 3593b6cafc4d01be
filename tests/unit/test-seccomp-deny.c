/* Tests for fenced/seccomp-deny.c: the filter is loaded into the test process
 * (criterion runs each test in a process of its own) and system calls are
 * made directly. tests/try-syscall.c probes the same calls from inside a
 * sandbox. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "seccomp-deny.h"
#include "seccomp-util.h"

static void install(void) {
        cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        cr_assert_eq(seccomp_deny_install(), 0);
}

/* errno of a call, 0 on success. */
#define ERR(call) ((call) < 0 ? errno : 0)

static int child_errno(int (*fn)(void)) {
        int status;
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0)
                _exit(fn() < 0 ? errno : 0);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int unshare_user(void) {
        return unshare(CLONE_NEWUSER);
}

static int unshare_fs(void) {
        return unshare(CLONE_FS);
}

static int pty_ioctl(unsigned long cmd, void *arg) {
        int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), slave, r;

        if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
                return -2;
        slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return -2;
        r = ERR(syscall(SYS_ioctl, slave, cmd, arg));
        close(slave);
        close(master);
        return r;
}

static void *thread_main(void *arg) {
        return arg;
}

Test(seccomp_deny, compiles_once_for_many_loads) {
        struct sock_fprog prog = {};

        cr_assert_eq(seccomp_deny_compile(&prog), 0);
        cr_expect_gt(prog.len, 60);
        cr_expect_leq(prog.len, BPF_MAXINSNS);

        for (int i = 0; i < 2; i++) {
                int status;
                pid_t pid = fork();
                cr_assert_geq(pid, 0);
                if (pid == 0) {
                        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                            seccomp_load_prog(&prog, SECCOMP_DENY_LOAD_FLAGS) < 0)
                                _exit(100);
                        _exit(ptrace(PTRACE_PEEKDATA, getpid(), NULL, NULL) < 0 && errno == EPERM ? 0 : 101);
                }
                cr_assert_eq(waitpid(pid, &status, 0), pid);
                cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %d", i, status);
        }
        seccomp_prog_done(&prog);
}

Test(seccomp_deny, fence_list_is_denied_with_eperm) {
        install();

        cr_expect_eq(ERR(ptrace(PTRACE_PEEKDATA, getpid(), NULL, NULL)), EPERM);
        cr_expect_eq(ERR(syscall(SYS_keyctl, 0, 0, 0)), EPERM);
        cr_expect_eq(ERR(syscall(SYS_bpf, -1, NULL, 0)), EPERM);
        cr_expect_eq(ERR(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0)), EPERM);
        cr_expect_eq(ERR(syscall(SYS_userfaultfd, O_CLOEXEC)), EPERM);
        cr_expect_eq(ERR(mount("none", "/nonexistent", "tmpfs", 0, NULL)), EPERM);
        cr_expect_eq(ERR(umount2("/nonexistent", 0)), EPERM);
        cr_expect_eq(ERR(syscall(SYS_reboot, 0, 0, 0, NULL)), EPERM);
        cr_expect_eq(ERR(syscall(SYS_sethostname, "x", 1)), EPERM);
        cr_expect_eq(ERR(syscall(SYS_syslog, 10, NULL, 0)), EPERM);
        cr_expect_eq(ERR(syscall(SYS_iopl, 0)), EPERM);
}

Test(seccomp_deny, multi_user_extras) {
        unsigned char params[120] = {};
        char c = 'x';
        int n;

        install();
        cr_expect_eq(ERR(syscall(SYS_io_uring_setup, 1, params)), EPERM);
        cr_expect_eq(ERR(syscall(SYS_setns, -1, 0)), EPERM);
        cr_expect_eq(ERR(syscall(SYS_open_by_handle_at, -1, NULL, 0)), EPERM);
        cr_expect_eq(ERR(syscall(SYS_fsopen, "tmpfs", 0)), EPERM);
        cr_expect_eq(ERR(syscall(SYS_pidfd_getfd, -1, 0, 0)), EPERM);
        cr_expect_eq(ERR(syscall(SYS_fanotify_init, 0, O_RDONLY)), EPERM);
        cr_expect_eq(child_errno(unshare_user), EPERM);
        cr_expect_eq(child_errno(unshare_fs), 0);

        n = pty_ioctl(TIOCSTI, &c);
        if (n == -2)
                cr_log_warn("skipping TIOCSTI: no pseudo-terminal");
        else {
                cr_expect_eq(n, EPERM);
                /* Bits above 32 do not hide the command. */
                cr_expect_eq(pty_ioctl(TIOCSTI | (1UL << 32), &c), EPERM);
                cr_expect_eq(pty_ioctl(FIONREAD, &n), 0);
        }
}

Test(seccomp_deny, clone_paths) {
        struct clone_args args = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
        pthread_t t;
        void *ret;
        int status;
        pid_t pid;

        install();

        cr_expect_eq(ERR(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL)), EPERM);
        cr_expect_eq(ERR(syscall(SYS_clone3, &args, sizeof args)), ENOSYS);

        /* fork() and threads still work: glibc falls back from clone3. */
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0)
                _exit(7);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 7);
        cr_assert_eq(pthread_create(&t, NULL, thread_main, (void *) 0x1234), 0);
        cr_assert_eq(pthread_join(t, &ret), 0);
        cr_expect_eq(ret, (void *) 0x1234);
}

Test(seccomp_deny, personality_queries_pass_changes_do_not) {
        int old = personality(0xffffffff);

        install();
        cr_expect_eq(personality(0xffffffff), old);
        cr_expect_eq(ERR(personality(PER_LINUX)), 0);
        cr_expect_eq(ERR(personality(PER_LINUX32)), 0);
        cr_expect_eq(ERR(personality(PER_LINUX)), 0);
        cr_expect_eq(ERR(personality(PER_LINUX | ADDR_NO_RANDOMIZE)), EPERM);
        cr_expect_eq(ERR(personality(PER_LINUX | READ_IMPLIES_EXEC)), EPERM);
        /* Only the low 32 bits reach the kernel, and the filter. */
        cr_expect_eq(ERR(syscall(SYS_personality, (1UL << 32) | ADDR_NO_RANDOMIZE)), EPERM);
        cr_expect_eq(personality(0xffffffff), PER_LINUX);
}

Test(seccomp_deny, ordinary_calls_and_exec_still_work) {
        int status;
        pid_t pid;

        install();
        cr_expect_eq(syscall(SYS_getpid), getpid());
        cr_expect_eq(ERR(access("/", R_OK)), 0);

        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                execl("/bin/true", "true", (char *) NULL);
                _exit(127);
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

#if defined(__x86_64__)
static long int80(long nr, long a, long b) {
        long r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(0) : "memory", "r8", "r9", "r10", "r11");
        return r;
}

Test(seccomp_deny, foreign_abis) {
        bool ia32 = int80(20 /* getpid */, 0, 0) == getpid();

        install();
        /* x32: every call is refused as if the ABI did not exist. */
        cr_expect_eq(ERR(syscall(SYS_getpid | 0x40000000)), ENOSYS);

        if (!ia32) {
                cr_log_warn("skipping the i386 checks: int $0x80 is not available");
                return;
        }
        /* i386 gets the same rules. */
        cr_expect_eq(int80(20, 0, 0), getpid());
        cr_expect_eq(int80(26 /* ptrace */, PTRACE_PEEKDATA, getpid()), -EPERM);
        cr_expect_eq(int80(136 /* personality */, PER_LINUX | ADDR_NO_RANDOMIZE, 0), -EPERM);
        cr_expect_eq(int80(136, 0xffffffffL, 0), PER_LINUX);
        cr_expect_eq(int80(310 /* unshare */, CLONE_NEWUSER, 0), -EPERM);
}
#endif

Test(seccomp_deny, list_for_features) {
        const char * const *calls, * const *conditional;
        bool ptrace_seen = false, tiocsti_seen = false;
        size_t n = 0;

        seccomp_deny_lists(&calls, &conditional);
        for (const char * const *l = calls; *l; l++, n++)
                ptrace_seen = ptrace_seen || streq(*l, "ptrace");
        for (const char * const *l = conditional; *l; l++, n++)
                tiocsti_seen = tiocsti_seen || streq(*l, "ioctl(TIOCSTI)");
        cr_expect(ptrace_seen);
        cr_expect(tiocsti_seen);
        cr_expect_geq(n, 27 + 10);
}
