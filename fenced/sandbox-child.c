#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <grp.h>

#include "exec-policy.h"
#include "identity.h"
#include "mount-view.h"
#include "placeholder.h"
#include "sandbox-child.h"
#include "seccomp-deny.h"
#include "seccomp-util.h"
#include "setup-proto.h"
#include "strv.h"

/* Signals pid 1 passes on to the command. */
static const int forwarded_signals[] = {
        SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGTSTP, SIGALRM,
};

void sandbox_spec_done(SandboxSpec *s) {
        free(s->groups);
        strv_free(s->argv);
        strv_free(s->env);
        safe_close(s->cwd_fd);
        free(s->cwd_path);
        for (size_t i = 0; i < 3; i++)
                safe_close(s->stdio_fds[i]);
        fs_policy_done(&s->fs);
        if (s->join_netns)
                safe_close(s->netns_fd);
        free(s->resolv_conf);
        free(s->rlimits);
        *s = (SandboxSpec) { .cwd_fd = -1, .stdio_fds = { -1, -1, -1 }, .protect_watch.fd = -1, .fs_template_ns = -1 };
}

static void send_msg(int fd, SetupMsgType type, int error, int status, const char *text) {
        SetupMsg m = { .type = type, .error = error, .status = status };

        if (text)
                snprintf(m.text, sizeof m.text, "%s", text);
        (void) send(fd, &m, sizeof m, MSG_NOSIGNAL);
}

_noreturn_ static void fail(int setup_fd, int error, const char *what) {
        send_msg(setup_fd, SETUP_MSG_FAILED, error < 0 ? -error : error, 0, what);
        _exit(125);
}

/* A template of this launch's mounts for the next one (fs-template.h),
 * handed to fenced and closed here: the sandbox keeps nothing of it. */
static void send_template(int setup_fd, int ns) {
        if (ns < 0)
                return;
        (void) setup_msg_send_fd(setup_fd, SETUP_MSG_FS_TEMPLATE, ns);
        safe_close(ns);
}

static int write_loginuid(uid_t uid) {
        _cleanup_close_ int fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);
        char buf[16];
        int n;

        if (fd < 0)
                return -errno;
        n = snprintf(buf, sizeof buf, "%u", (unsigned) uid);
        return write(fd, buf, (size_t) n) == n ? 0 : -errno;
}

static int loopback_up(void) {
        struct ifreq ifr = { .ifr_name = "lo" };
        _cleanup_close_ int fd = -1;

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return negative_errno();
        ifr.ifr_flags |= IFF_UP;
        return RET_NERRNO(ioctl(fd, SIOCSIFFLAGS, &ifr));
}

static int cmp_int(const void *a, const void *b) {
        return *(const int *) a - *(const int *) b;
}

/* The child is a copy of the daemon: drop every fd it inherited (the
 * listening socket, the event log, other sandboxes' sockets and pidfds)
 * except the ones this sandbox needs. */
static int close_inherited_fds(const SandboxSpec *spec, int setup_fd) {
        int keep[] = { setup_fd, spec->cwd_fd, spec->stdio_fds[0], spec->stdio_fds[1], spec->stdio_fds[2],
                       spec->protect_watch.fd, spec->fs_template_ns };
        unsigned from = 3;

        qsort(keep, ELEMENTSOF(keep), sizeof keep[0], cmp_int);
        for (size_t i = 0; i < ELEMENTSOF(keep); i++) {
                if (keep[i] < (int) from)
                        continue;
                if ((unsigned) keep[i] > from && close_range(from, (unsigned) keep[i] - 1, 0) < 0)
                        return negative_errno();
                from = (unsigned) keep[i] + 1;
        }
        return RET_NERRNO(close_range(from, ~0U, 0));
}

static void noop_handler(int sig) {
        (void) sig;
}

/* In the command's process, between fork() and execve(). */
_noreturn_ static void exec_command(const SandboxSpec *spec, const FsView *view, int setup_fd) {
        _cleanup_free_ char *error = NULL;
        sigset_t all;
        struct stat want, have;
        int r;

        sigemptyset(&all);
        for (int sig = 1; sig < _NSIG; sig++)
                (void) signal(sig, SIG_DFL);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);

        if (setsid() < 0)
                fail(setup_fd, errno, "starting a new session");

        for (int i = 0; i < 3; i++)
                if (dup2(spec->stdio_fds[i], i) < 0)
                        fail(setup_fd, errno, "installing stdin/stdout/stderr");

        /* A terminal the client allocated for this command alone. */
        if (spec->tty && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0)
                fail(setup_fd, errno, "making stdin the controlling terminal");

        /* The cwd path is resolved as the caller and must be the very
         * directory the caller sent: otherwise the view moved it. */
        if (fstat(spec->cwd_fd, &want) < 0)
                fail(setup_fd, errno, "checking the working directory");
        if (chdir(spec->cwd_path) < 0 || stat(".", &have) < 0)
                r = -errno;
        else if (have.st_dev != want.st_dev || have.st_ino != want.st_ino)
                r = -ENOENT;    /* another directory at that path: not the caller's */
        else
                r = 0;
        if (r < 0) {
                char msg[sizeof ((SetupMsg *) NULL)->text];
                snprintf(msg, sizeof msg, "the working directory %s is not visible in the sandbox "
                         "(with defaultDenyRead, add it or \".\" to filesystem.allowRead)", spec->cwd_path);
                fail(setup_fd, r, msg);
        }

        /* Only 0, 1, 2 survive the exec; the setup socket is already O_CLOEXEC. */
        if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                fail(setup_fd, errno, "closing inherited file descriptors");

        /* Last, so nothing above runs confined: the same rules as the mount view. */
        r = fs_view_landlock(view, &error);
        if (r < 0)
                fail(setup_fd, r, error ?: "applying Landlock");

        /* The syscall deny list, built once in the daemon; EPERM, never a kill. */
        if (spec->seccomp_deny) {
                r = seccomp_load_prog(spec->seccomp_deny, SECCOMP_DENY_LOAD_FLAGS);
                if (r < 0)
                        fail(setup_fd, r, "loading the seccomp filter");
        }
        /* Last: from here on every exec waits for fenced's verdict. */
        if (spec->exec_notify) {
                r = exec_policy_handoff_listener(setup_fd, spec->exec_notify);
                if (r < 0)
                        fail(setup_fd, r, "handing the exec policy's seccomp listener to fenced");
        }

        /* Unprivileged now, so the caller's limits can only lower fenced's. */
        if (spec->rlimits) {
                r = peer_rlimits_apply(spec->rlimits);
                if (r < 0)
                        fail(setup_fd, r, "applying the caller's resource limits");
        }

        send_msg(setup_fd, SETUP_MSG_EXEC, 0, 0, NULL);

        environ = spec->env;
        execvp(spec->argv[0], spec->argv);

        send_msg(setup_fd, SETUP_MSG_EXEC_FAILED, errno, 0, spec->argv[0]);
        _exit(errno == ENOENT ? 127 : 126);
}

/* Pid 1 after the command started: forward signals, reap, report. */
_noreturn_ static void run_init(pid_t command, int sigfd, int setup_fd) {
        for (;;) {
                struct pollfd p[2] = {
                        { .fd = sigfd, .events = POLLIN },
                        { .fd = setup_fd, .events = 0 },
                };
                struct signalfd_siginfo si;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(125);
                }
                if (p[1].revents & (POLLHUP | POLLERR)) {
                        /* fenced is gone: nobody supervises us any more. */
                        (void) kill(-1, SIGKILL);
                        _exit(125);
                }
                if (!(p[0].revents & POLLIN))
                        continue;
                if (read(sigfd, &si, sizeof si) != sizeof si)
                        continue;

                if (si.ssi_signo != SIGCHLD) {
                        /* To the command's process group (a pipeline under
                         * sh -c), falling back to the command alone. */
                        if (kill(-command, (int) si.ssi_signo) < 0)
                                (void) kill(command, (int) si.ssi_signo);
                        continue;
                }

                for (;;) {
                        int status;
                        pid_t p_ = waitpid(-1, &status, WNOHANG);

                        if (p_ <= 0)
                                break;
                        if (p_ != command)
                                continue;
                        send_msg(setup_fd, SETUP_MSG_EXITED, 0, status, NULL);
                        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
                }
        }
}

void sandbox_child_main(const SandboxSpec *spec, int setup_fd) {
        MountViewSpec view_spec = {
                .cwd_path = spec->cwd_path,
                .cwd_fd = spec->cwd_fd,
                .hide_dir = spec->hide_dir,
                .uid = spec->uid,
                .gid = spec->gid,
                .policy = &spec->fs,
                .tty_fd = spec->tty ? spec->stdio_fds[0] : -1,
                .resolv_conf = spec->resolv_conf,
                .protect_watch = spec->protect_watch.fd >= 0 ? &spec->protect_watch : NULL,
                .template_ns = spec->fs_template_ns,
                .make_template = spec->fs_template_wanted,
        };
        FsView *view = NULL;
        PlaceholderLog *placeholders = NULL;
        char *error = NULL;
        sigset_t mask;
        pid_t command;
        int r, sigfd;

        (void) prctl(PR_SET_NAME, "fence-init", 0, 0, 0);
        /* Before anything else: the capture rules are already in there. */
        if (spec->join_netns && setns(spec->netns_fd, CLONE_NEWNET) < 0)
                fail(setup_fd, errno, "joining the sandbox's network namespace");
        /* fenced raised its own fd limit (for relays); as systemd does for
         * the children of daemons, give the sandbox select()'s 1024 back. */
        struct rlimit nofile;
        if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur > FD_SETSIZE) {
                nofile.rlim_cur = FD_SETSIZE;
                (void) setrlimit(RLIMIT_NOFILE, &nofile);
        }
        r = close_inherited_fds(spec, setup_fd);
        if (r < 0)
                fail(setup_fd, r, "closing the daemon's file descriptors");
        /* 0-2 are still the daemon's stdio (its log): not for the sandbox. */
        int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0)
                fail(setup_fd, errno, "opening /dev/null");
        for (int fd = 0; fd < 3; fd++)
                if (dup2(null_fd, fd) < 0)
                        fail(setup_fd, errno, "replacing the daemon's stdio");
        if (null_fd > 2)
                safe_close(null_fd);
        /* This process is a copy of the daemon: keep its memory unreadable. */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

        /* Resolving paths as the caller below needs its supplementary groups. */
        if (setgroups(spec->n_groups, spec->groups) < 0)
                fail(setup_fd, errno, "setting the caller's groups");

        /* Every placeholder made in the caller's directories is recorded
         * before anything can use it, so fenced removes it afterwards. */
        if (spec->hide_dir && spec->sandbox_id) {
                r = placeholder_log_open(spec->hide_dir, spec->sandbox_id, spec->uid, spec->gid,
                                         spec->groups, spec->n_groups, &placeholders);
                if (r < 0)
                        fail(setup_fd, r, "opening fenced's placeholder records");
                view_spec.placeholder_created = placeholder_log_append;
                view_spec.placeholder_userdata = placeholders;
        }
        r = mount_view_build(&view_spec, &view, &error);
        if (r < 0)
                fail(setup_fd, r, error ?: "building the filesystem view");
        placeholders = placeholder_log_free(placeholders);
        /* fenced's, not for the sandbox's init to keep. */
        if (spec->protect_watch.fd >= 0)
                (void) close(spec->protect_watch.fd);
        if (spec->fs_template_ns >= 0)
                (void) close(spec->fs_template_ns);
        send_template(setup_fd, fs_view_take_template(view));

        r = loopback_up();
        if (r < 0)
                fail(setup_fd, r, "bringing up the loopback interface");

        /* A login uid of the caller starts a new audit session: the kernel's
         * records of this sandbox's processes (seccomp denials among them)
         * carry its id, which fenced reads from /proc/PID/sessionid once the
         * command started and matches them by, even after the process is
         * gone (run-syscall.c). Without audit it is not there: no matter. */
        (void) write_loginuid(spec->uid);

        r = identity_become(spec->uid, spec->gid, spec->groups, spec->n_groups);
        if (r < 0)
                fail(setup_fd, r, "switching to the caller's identity");

        /* Cleared by the credential change above, so set it only now. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

        /* Pid 1 only receives signals it has a handler for: install no-op
         * handlers, keep them blocked, and read them from a signalfd. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++) {
                sigaddset(&mask, forwarded_signals[i]);
                (void) signal(forwarded_signals[i], noop_handler);
        }
        (void) signal(SIGCHLD, noop_handler);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                fail(setup_fd, errno, "blocking signals");
        sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (sigfd < 0)
                fail(setup_fd, errno, "creating a signalfd");

        command = fork();
        if (command < 0)
                fail(setup_fd, errno, "forking the command");
        if (command == 0)
                exec_command(spec, view, setup_fd);

        run_init(command, sigfd, setup_fd);
}
