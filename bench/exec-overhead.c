/* exec-overhead — what the exec supervisor costs per exec.
 *
 *     exec-overhead [-n ROUNDS] [-l LOOP-RUNS] [-s SETUP]... [PROGRAM]
 *
 * Times fork + execve(PROGRAM, default /bin/true) + waitpid in a child, ROUNDS
 * times (default 2000) in each of three setups, and prints the median and
 * 90th percentile in microseconds, then the median time the exec supervisor
 * adds per exec (supervised minus deny: every sandbox has the deny filter;
 * and supervised minus plain), and CPU times per exec (less at the mercy of
 * other load than wall time): the exec'd process's whole life (wait4), the
 * forking process's, and the supervisor's helper's. Then a "build" of 1,000
 * tiny processes,
 * `sh -c 'while ...; do /bin/true; done'`, LOOP-RUNS times (default 7) in
 * each setup: median wall time and the supervised/deny ratio (-l 0: no loop).
 * -s runs only the setups named (for tracing one of them; no differences).
 *   plain       no filter
 *   deny        the seccomp deny filter (seccomp-deny.h)
 *   supervised  the deny filter and the exec supervisor in argv mode, with the
 *               default deny list and two rules, on an sd-event loop as in
 *               fenced
 *   bare        the deny filter and the same notify filter, answered by a
 *               listener that lets every exec continue without looking (poll,
 *               receive, send, synchronous wake-ups as the supervisor's): the
 *               floor of any user-notify supervisor
 * Needs root (or CAP_SYS_PTRACE) for the supervisor to read the child.
 * Run as root, the measured processes run as nobody (65534), as a sandbox's
 * run as their user: the supervisor remembers only files such a user cannot
 * change (exec-file-cache.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "command-policy.h"
#include "exec-supervisor.h"
#include "seccomp-deny.h"
#include "seccomp-util.h"

#define HAS(setups, m) (((setups) >> (m)) & 1u)

typedef enum Mode { MODE_PLAIN, MODE_DENY, MODE_SUPERVISED, MODE_BARE, _MODE_MAX } Mode;

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* What the measured child sends for each round. */
typedef struct Sample {
        uint64_t wall_ns;       /* fork + exec + wait */
        uint64_t child_ns;      /* the exec'd child's CPU time, all of its life */
        uint64_t self_ns;       /* the measuring process's own CPU time (fork, wait) */
} Sample;

static uint64_t tv_ns(const struct timeval *tv) {
        return (uint64_t) tv->tv_sec * 1000000000ULL + (uint64_t) tv->tv_usec * 1000ULL;
}

/* In the measured child: rounds of fork+exec+wait, a Sample each to out. */
_noreturn_ static void measure(int out, unsigned rounds, char * const *argv) {
        char *envp[] = { NULL };
        const char *program = argv[0];

        for (unsigned i = 0; i < rounds; i++) {
                struct timespec c0, c1;
                struct rusage ru;
                uint64_t t0 = now_ns();
                Sample sample;
                int status;
                pid_t pid;

                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
                pid = fork();
                if (pid < 0)
                        _exit(1);
                if (pid == 0) {
                        execve(program, argv, envp);
                        _exit(127);
                }
                if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        _exit(2);
                sample.wall_ns = now_ns() - t0;
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
                sample.self_ns = (uint64_t) (c1.tv_sec - c0.tv_sec) * 1000000000ULL + (uint64_t) c1.tv_nsec - (uint64_t) c0.tv_nsec;
                sample.child_ns = tv_ns(&ru.ru_utime) + tv_ns(&ru.ru_stime);
                if (write(out, &sample, sizeof sample) != sizeof sample)
                        _exit(3);
        }
        _exit(0);
}

static int send_fd(int sock, int fd) {
        char byte = 0;
        struct iovec iov = { &byte, 1 };
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u = {};
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        return sendmsg(sock, &mh, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock) {
        char byte;
        struct iovec iov = { &byte, 1 };
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u = {};
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
        int fd;

        if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1 || !CMSG_FIRSTHDR(&mh))
                return -EIO;
        memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
        return fd;
}

typedef struct Run {
        uint64_t *samples;              /* wall times */
        uint64_t child_ns, self_ns;     /* sums */
        Sample buf[64];
        size_t n, max;
        bool eof;
        pid_t helper;                   /* supervised: the helper, while it runs */
        uint64_t helper_start;          /* its CPU time when the first sample came */
        size_t helper_from;             /* samples up to then */
        uint64_t helper_ns;             /* its CPU time from then on, all blocks */
        size_t helper_execs;
} Run;

static uint64_t cpu_ns(pid_t pid) {
        struct timespec ts;
        clockid_t cid;

        if (clock_getcpuclockid(pid, &cid) != 0 || clock_gettime(cid, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int on_samples(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Run *run = userdata;
        size_t want = run->max - run->n < ELEMENTSOF(run->buf) ? run->max - run->n : ELEMENTSOF(run->buf);
        ssize_t k = want > 0 ? read(fd, run->buf, want * sizeof(Sample)) : 0;

        if (k <= 0) {
                run->eof = true;
                return sd_event_source_set_enabled(src, SD_EVENT_OFF);
        }
        /* Writes of a Sample are atomic (< PIPE_BUF): whole ones arrive. */
        for (size_t i = 0; i < (size_t) k / sizeof(Sample); i++) {
                run->samples[run->n++] = run->buf[i].wall_ns;
                run->child_ns += run->buf[i].child_ns;
                run->self_ns += run->buf[i].self_ns;
        }
        /* The helper's start-up is not per-exec cost: count from here. */
        if (run->helper > 0 && run->helper_start == 0) {
                run->helper_start = cpu_ns(run->helper);
                run->helper_from = run->n;
        }
        return 0;
}

/* The bare listener: every exec continues, nothing is read. */
static pid_t start_bare_listener(int listener) {
        pid_t pid = fork();

        if (pid != 0)
                return pid;
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        (void) ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
        for (;;) {
                struct seccomp_notif req = {};
                struct seccomp_notif_resp resp = {};
                struct pollfd p = { .fd = listener, .events = POLLIN };

                if (poll(&p, 1, -1) < 0)
                        _exit(errno == EINTR ? 0 : 1);
                if (!(p.revents & POLLIN))
                        _exit(0);
                if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
                        continue;
                resp.id = req.id;
                resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
                (void) ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
        }
}

static int run_mode(Mode mode, unsigned rounds, char * const *program, const CommandPolicy *policy, Run *run) {
        int pipefd[2], sp[2], listener = -1, r;
        ExecSupervisor *s = NULL;
        pid_t bare = 0;
        sd_event_source *io = NULL;
        sd_event *e = NULL;
        pid_t pid;
        uid_t uid = getuid() == 0 ? 65534 : getuid();
        gid_t gid = getuid() == 0 ? 65534 : getgid();

        if (pipe2(pipefd, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                return -errno;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                char go;

                close(pipefd[0]);
                close(sp[0]);
                if (getuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
                                      setresuid(uid, uid, uid) < 0))
                        _exit(9);
                if (mode != MODE_PLAIN) {
                        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_deny_install() < 0)
                                _exit(10);
                }
                if (mode == MODE_SUPERVISED || mode == MODE_BARE) {
                        if (exec_supervisor_install_filter(&listener) < 0 || send_fd(sp[1], listener) < 0)
                                _exit(11);
                        close(listener);
                }
                if (read(sp[1], &go, 1) != 1)
                        _exit(12);
                measure(pipefd[1], rounds, program);
        }
        close(pipefd[1]);
        close(sp[1]);

        r = sd_event_new(&e);
        if (r < 0)
                return r;
        if (mode == MODE_SUPERVISED) {
                listener = recv_fd(sp[0]);
                if (listener < 0)
                        return listener;
                /* As fenced attaches it: the fs ids of a sandbox are fixed. */
                r = exec_supervisor_attach_with_ids(e, listener, policy,
                                                    &(ExecSupervisorIds) { .uid = uid, .gid = gid },
                                                    NULL, NULL, &s);
                if (r < 0)
                        return r;
                run->helper = exec_supervisor_get_pid(s);
                run->helper_start = 0;
        } else if (mode == MODE_BARE) {
                listener = recv_fd(sp[0]);
                if (listener < 0)
                        return listener;
                bare = start_bare_listener(listener);
                close(listener);
                if (bare < 0)
                        return -errno;
                run->helper = bare;
                run->helper_start = 0;
        }
        r = sd_event_add_io(e, &io, pipefd[0], EPOLLIN, on_samples, run);
        if (r < 0)
                return r;
        if (write(sp[0], "g", 1) != 1)
                return -errno;
        while (!run->eof) {
                r = sd_event_run(e, UINT64_MAX);
                if (r < 0)
                        return r;
        }

        if (waitpid(pid, &r, 0) != pid || !WIFEXITED(r) || WEXITSTATUS(r) != 0) {
                fprintf(stderr, "measuring child failed (status %d)\n", r);
                return -EIO;
        }
        sd_event_source_disable_unref(io);
        if (run->helper > 0 && run->helper_start > 0) {
                uint64_t end = cpu_ns(run->helper);
                if (end > run->helper_start) {
                        run->helper_ns += end - run->helper_start;
                        run->helper_execs += run->n - run->helper_from;
                }
        }
        run->helper = 0;
        exec_supervisor_free(s);
        if (bare > 0) {
                (void) kill(bare, SIGKILL);
                (void) waitpid(bare, NULL, 0);
        }
        sd_event_unref(e);
        close(pipefd[0]);
        close(sp[0]);
        return 0;
}

static const char * const names[] = { "plain", "deny", "supervised", "bare" };

/* Medians (ns) of each setup; prints a row per setup (and the helper's CPU
 * time per exec when per_exec: each sample is one exec). The setups take
 * turns in up to 10 blocks, so background load hits all of them alike. */
static int measure_all(char * const *cmd, unsigned rounds, const CommandPolicy *policy, bool per_exec,
                       unsigned setups, uint64_t med[_MODE_MAX]) {
        unsigned blocks = rounds >= 10 ? 10 : rounds;
        Run runs[_MODE_MAX] = {};
        int r = 0;

        for (Mode m = MODE_PLAIN; m < _MODE_MAX; m++) {
                runs[m] = (Run) { .max = rounds, .samples = calloc(rounds, sizeof(uint64_t)) };
                if (!runs[m].samples)
                        r = -ENOMEM;
        }
        for (unsigned b = 0; b < blocks && r >= 0; b++) {
                unsigned n = rounds / blocks + (b < rounds % blocks);

                for (Mode m = MODE_PLAIN; m < _MODE_MAX && r >= 0; m++) {
                        if (!(setups & (1u << m)))
                                continue;
                        runs[m].eof = false;
                        r = run_mode(m, n, cmd, policy, &runs[m]);
                        if (r < 0)
                                fprintf(stderr, "%s: %s\n", names[m], strerror(-r));
                }
        }
        for (Mode m = MODE_PLAIN; m < _MODE_MAX; m++) {
                if (!(setups & (1u << m))) {
                        free(runs[m].samples);
                        continue;
                }
                if (r >= 0 && runs[m].n == 0)
                        r = -EIO;
                if (r >= 0) {
                        qsort(runs[m].samples, runs[m].n, sizeof(uint64_t), cmp_u64);
                        med[m] = runs[m].samples[runs[m].n / 2];
                        printf("%-12s %10.1f %10.1f\n", names[m], runs[m].samples[runs[m].n / 2] / 1000.0,
                               runs[m].samples[runs[m].n * 9 / 10] / 1000.0);
                        if (per_exec)
                                printf("%-12s %10.1f us CPU per exec'd process, %.1f us of the forking one (means)\n",
                                       "  cpu", runs[m].child_ns / 1000.0 / (double) runs[m].n,
                                       runs[m].self_ns / 1000.0 / (double) runs[m].n);
                        if (per_exec && runs[m].helper_execs > 0)
                                printf("%-12s %10.1f us CPU per exec (mean)\n", "  helper",
                                       runs[m].helper_ns / 1000.0 / (double) runs[m].helper_execs);
                }
                free(runs[m].samples);
        }
        return r;
}

int main(int argc, char *argv[]) {
        char *deny[] = { (char *) "git push", (char *) "npm publish", NULL };
        char *loop[] = { (char *) "/bin/sh", (char *) "-c",
                         (char *) "i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done", NULL };
        char *single[] = { (char *) "/bin/true", NULL };
        CommandPolicy *policy = NULL;
        unsigned rounds = 2000, loop_runs = 7, setups = 0;
        uint64_t med[_MODE_MAX], loop_med[_MODE_MAX];
        int opt, r;

        while ((opt = getopt(argc, argv, "n:l:s:")) >= 0) {
                Mode m;

                if (opt == 's') {
                        for (m = MODE_PLAIN; m < _MODE_MAX && !streq(optarg, names[m]); m++)
                                ;
                        if (m >= _MODE_MAX) {
                                fprintf(stderr, "unknown setup '%s' (plain, deny, supervised, bare)\n", optarg);
                                return 2;
                        }
                        setups |= 1u << m;
                } else if (opt == 'n')
                        rounds = (unsigned) strtoul(optarg, NULL, 10);
                else if (opt == 'l')
                        loop_runs = (unsigned) strtoul(optarg, NULL, 10);
                else {
                        fprintf(stderr, "usage: %s [-n ROUNDS] [-l LOOP-RUNS] [-s SETUP]... [PROGRAM]\n", argv[0]);
                        return 2;
                }
        }
        if (optind < argc)
                single[0] = argv[optind];
        if (rounds == 0)
                rounds = 1;
        if (setups == 0)
                setups = (1u << _MODE_MAX) - 1;

        r = command_policy_new(&(CommandPolicySettings) {
                .deny = deny, .use_defaults = true, .exec_mode = COMMAND_EXEC_ARGV,
        }, &policy);
        if (r < 0) {
                fprintf(stderr, "policy: %s\n", strerror(-r));
                return 1;
        }

        printf("fork+exec+wait of %s, %u rounds each\n", single[0], rounds);
        printf("%-12s %10s %10s\n", "setup", "median_us", "p90_us");
        r = measure_all(single, rounds, policy, true, setups, med);
        if (r < 0)
                return 1;
        if (HAS(setups, MODE_SUPERVISED) && HAS(setups, MODE_DENY))
                printf("added by the argv supervisor, median: %+.1f us vs deny filter only",
                       ((double) med[MODE_SUPERVISED] - (double) med[MODE_DENY]) / 1000.0);
        if (HAS(setups, MODE_SUPERVISED) && HAS(setups, MODE_DENY) && HAS(setups, MODE_PLAIN))
                printf(", %+.1f us vs no filter", ((double) med[MODE_SUPERVISED] - (double) med[MODE_PLAIN]) / 1000.0);
        if (HAS(setups, MODE_SUPERVISED) && HAS(setups, MODE_DENY))
                printf("\n");
        if (HAS(setups, MODE_BARE) && HAS(setups, MODE_DENY))
                printf("added by the bare listener, median: %+.1f us vs deny filter only\n",
                       ((double) med[MODE_BARE] - (double) med[MODE_DENY]) / 1000.0);

        if (loop_runs == 0) {
                command_policy_free(policy);
                return 0;
        }
        printf("\nshell loop of 1000 x /bin/true, %u runs each\n", loop_runs);
        printf("%-12s %10s %10s\n", "setup", "median_us", "p90_us");
        r = measure_all(loop, loop_runs, policy, false, setups, loop_med);
        if (r < 0)
                return 1;
        if (HAS(setups, MODE_SUPERVISED) && HAS(setups, MODE_DENY))
                printf("loop ratio, median: supervised/deny %.3f\n",
                       (double) loop_med[MODE_SUPERVISED] / (double) loop_med[MODE_DENY]);
        if (HAS(setups, MODE_SUPERVISED) && HAS(setups, MODE_PLAIN))
                printf("loop ratio, median: supervised/plain %.3f\n",
                       (double) loop_med[MODE_SUPERVISED] / (double) loop_med[MODE_PLAIN]);
        if (HAS(setups, MODE_BARE) && HAS(setups, MODE_DENY))
                printf("loop ratio, median: bare/deny %.3f\n",
                       (double) loop_med[MODE_BARE] / (double) loop_med[MODE_DENY]);
        command_policy_free(policy);
        return 0;
}
