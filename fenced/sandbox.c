#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/pidfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "log.h"
#include "placeholder.h"
#include "sandbox.h"
#include "setup-proto.h"
#include "strv.h"

struct Sandbox {
        sd_event *event;
        CgroupRoot *cgroups;
        char id[17];
        const char *state_dir;  /* where its placeholders are recorded; borrowed */

        uid_t uid;
        char **argv;
        uint64_t started_usec;

        int cgroup_fd;
        uint64_t cgroup_id;
        int cgroup_events_fd;
        int pidfd;
        pid_t init_pid;
        pid_t command_pid;
        int setup_fd;
        int sweep_fd;           /* releases the sweep process forked ahead (placeholder.h), or -1 */
        int sweep_pidfd;

        sd_event_source *pidfd_source;
        sd_event_source *setup_source;
        sd_event_source *cgroup_source;

        bool exited_msg;        /* got SETUP_MSG_EXITED */
        bool got_listener;      /* got SETUP_MSG_EXEC_LISTENER */
        bool got_fs_template;   /* got SETUP_MSG_FS_TEMPLATE */
        bool init_gone;
        bool finished;
        SandboxExit exit;
        char exec_path[sizeof ((SetupMsg *) NULL)->text];
        char setup_what[sizeof ((SetupMsg *) NULL)->text];

        SandboxCallbacks cb;
        void *userdata;
};

static uint64_t now_realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static int make_id(char id[static 17]) {
        uint8_t b[8];

        if (getrandom(b, sizeof b, 0) != sizeof b)
                return negative_errno();
        for (size_t i = 0; i < sizeof b; i++)
                snprintf(id + 2 * i, 3, "%02x", b[i]);
        return 0;
}

static void handle_msg(Sandbox *s, const SetupMsg *m, const struct ucred *cred, int *fd) {
        switch (m->type) {
        case SETUP_MSG_EXEC_LISTENER:
                /* Once, from the command's process before it starts. */
                if (*fd < 0 || s->command_pid != 0 || s->got_listener || !s->cb.exec_listener)
                        break;
                s->got_listener = true;
                s->cb.exec_listener(s, TAKE_FD(*fd), s->userdata);
                break;
        case SETUP_MSG_FS_TEMPLATE:
                /* Once, from pid 1 (fenced's code), before the command started. */
                if (*fd < 0 || s->command_pid != 0 || s->got_fs_template || !s->cb.fs_template || !cred ||
                    cred->pid != s->init_pid)
                        break;
                s->got_fs_template = true;
                s->cb.fs_template(s, TAKE_FD(*fd), s->userdata);
                break;
        case SETUP_MSG_FAILED:
                s->exit.setup_error = m->error ? m->error : EIO;
                snprintf(s->setup_what, sizeof s->setup_what, "%.*s", (int) sizeof m->text - 1, m->text);
                break;
        case SETUP_MSG_EXEC:
                if (s->command_pid != 0 || !cred)
                        break;
                s->command_pid = cred->pid;
                if (s->cb.started)
                        s->cb.started(s, s->userdata);
                /* While the command runs: its end then only releases the
                 * sweep of its placeholders, with no fork before the reply. */
                if (s->state_dir && s->sweep_fd < 0 &&
                    placeholder_sweep_prepare(s->event, s->state_dir, s->cgroups->slice, s->id, &s->sweep_fd,
                                              &s->sweep_pidfd) < 0)
                        s->sweep_fd = -1;
                break;
        case SETUP_MSG_EXEC_FAILED:
                s->exit.exec_error = m->error ? m->error : ENOENT;
                snprintf(s->exec_path, sizeof s->exec_path, "%.*s", (int) sizeof m->text - 1, m->text);
                break;
        case SETUP_MSG_EXITED:
                s->exited_msg = true;
                if (WIFSIGNALED(m->status)) {
                        s->exit.signal = WTERMSIG(m->status);
                        s->exit.exit_code = 128 + s->exit.signal;
                } else
                        s->exit.exit_code = WEXITSTATUS(m->status);
                break;
        default:
                log_debug("Sandbox %s: ignoring setup message of type %d.", s->id, m->type);
        }
}

/* Reads every queued setup message; returns -ECONNRESET at EOF. */
static int drain_setup(Sandbox *s) {
        for (;;) {
                SetupMsg m;
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
                } control;
                struct iovec iov = { .iov_base = &m, .iov_len = sizeof m };
                struct msghdr mh = {
                        .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = &control, .msg_controllen = sizeof control,
                };
                const struct ucred *cred = NULL;
                _cleanup_close_ int fd = -1;
                ssize_t n;

                if (s->setup_fd < 0)
                        return -ECONNRESET;
                n = recvmsg(s->setup_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n < 0)
                        return errno == EAGAIN ? 0 : negative_errno();
                if (n == 0)
                        return -ECONNRESET;

                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
                            c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
                                cred = (const struct ucred *) CMSG_DATA(c);
                        else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                                /* Keep the first, close any other. */
                                for (size_t k = 0; k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
                                        int f;
                                        memcpy(&f, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
                                        if (fd < 0)
                                                fd = f;
                                        else
                                                safe_close(f);
                                }
                if ((size_t) n != sizeof m || (mh.msg_flags & MSG_CTRUNC))
                        continue;       /* not from our child code: ignore */
                handle_msg(s, &m, cred, &fd);
        }
}

static void setup_closed(Sandbox *s) {
        s->setup_source = sd_event_source_disable_unref(s->setup_source);
        s->setup_fd = safe_close(s->setup_fd);
}

static int on_setup(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Sandbox *s = userdata;

        if (drain_setup(s) < 0)
                setup_closed(s);
        return 0;
}

static void finish(Sandbox *s) {
        int r;

        if (s->finished)
                return;
        r = cgroup_remove(s->cgroups, s->id);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Failed to remove the cgroup of sandbox %s: %m", s->id);
        if (s->sweep_fd >= 0)
                r = placeholder_sweep_release(s->sweep_fd, s->sweep_pidfd);
        else
                r = -ESRCH;
        s->sweep_fd = safe_close(s->sweep_fd);
        s->sweep_pidfd = safe_close(s->sweep_pidfd);
        if (r < 0 && s->state_dir) {
                r = placeholder_sweep_async(s->event, s->state_dir, s->cgroups->slice);
                if (r < 0)
                        log_warning_errno(r, "Failed to start the placeholder sweep for sandbox %s: %m", s->id);
        }
        s->cgroup_source = sd_event_source_disable_unref(s->cgroup_source);
        s->finished = true;
        if (s->exec_path[0])
                s->exit.exec_path = s->exec_path;
        if (s->setup_what[0])
                s->exit.setup_what = s->setup_what;
        if (s->cb.finished)
                s->cb.finished(s, &s->exit, s->userdata);
}

static int on_cgroup_event(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Sandbox *s = userdata;

        if (cgroup_populated(s->cgroup_fd) > 0)
                return 0;
        finish(s);
        return 0;
}

/* Pid 1 is gone: the kernel kills the rest of the pid namespace; wait until
 * the cgroup is empty, then remove it. */
static void init_gone(Sandbox *s, const siginfo_t *si) {
        int r;

        s->init_gone = true;
        s->pidfd_source = sd_event_source_disable_unref(s->pidfd_source);
        if (drain_setup(s) < 0)
                setup_closed(s);

        if (!s->exited_msg && !s->exit.setup_error && !s->exit.exec_error && s->command_pid == 0) {
                /* Init died before the command started and without saying
                 * why (a crash, a sanitizer abort, an outside SIGKILL):
                 * that is a failed setup, not the command's exit status. */
                s->exit.setup_error = EIO;
                if (si->si_code == CLD_EXITED)
                        snprintf(s->setup_what, sizeof s->setup_what,
                                 "the sandbox's init exited with status %d before starting the command",
                                 si->si_status);
                else
                        snprintf(s->setup_what, sizeof s->setup_what,
                                 "the sandbox's init was killed by signal %d before starting the command",
                                 si->si_status);
        } else if (!s->exited_msg && !s->exit.setup_error && !s->exit.exec_error) {
                if (si->si_code == CLD_EXITED)
                        s->exit.exit_code = si->si_status;
                else {
                        s->exit.signal = si->si_status;
                        s->exit.exit_code = 128 + si->si_status;
                }
        } else if (s->exit.exec_error)
                s->exit.exit_code = s->exit.exec_error == ENOENT ? 127 : 126;

        (void) cgroup_kill(s->cgroup_fd);
        if (cgroup_populated(s->cgroup_fd) <= 0) {
                finish(s);
                return;
        }
        s->cgroup_events_fd = cgroup_open_events(s->cgroup_fd);
        if (s->cgroup_events_fd >= 0)
                r = sd_event_add_io(s->event, &s->cgroup_source, s->cgroup_events_fd, EPOLLPRI,
                                    on_cgroup_event, s);
        else
                r = s->cgroup_events_fd;
        if (r < 0) {
                log_warning_errno(r, "Cannot watch the cgroup of sandbox %s, not waiting for it to empty: %m", s->id);
                finish(s);
                return;
        }
        /* It may have emptied between the check and the watch. */
        if (cgroup_populated(s->cgroup_fd) <= 0)
                finish(s);
}

static int on_pidfd(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Sandbox *s = userdata;
        siginfo_t si = {};

        if (waitid((idtype_t) P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG) < 0) {
                log_warning_errno(errno, "waitid() on sandbox %s failed: %m", s->id);
                si.si_code = CLD_KILLED;
                si.si_status = SIGKILL;
        } else if (si.si_pid == 0)
                return 0;       /* spurious */
        init_gone(s, &si);
        return 0;
}

static pid_t clone_sandbox(int cgroup_fd, bool join_netns, int *ret_pidfd) {
        struct clone_args args = {
                .flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | (join_netns ? 0 : CLONE_NEWNET) |
                         CLONE_NEWCGROUP | CLONE_PIDFD | CLONE_INTO_CGROUP,
                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                .exit_signal = SIGCHLD,
                .cgroup = (uint64_t) cgroup_fd,
        };

        return (pid_t) syscall(SYS_clone3, &args, sizeof args);
}

int sandbox_spawn(sd_event *event, CgroupRoot *cgroups, SandboxSpec *spec,
                  const SandboxCallbacks *cb, void *userdata, Sandbox **ret) {
        _cleanup_close_ int child_end = -1;
        Sandbox *s;
        int pair[2], one = 1, r;
        pid_t pid;

        s = calloc(1, sizeof *s);
        if (!s) {
                sandbox_spec_done(spec);
                return -ENOMEM;
        }
        *s = (Sandbox) {
                .event = sd_event_ref(event),
                .cgroups = cgroups,
                .uid = spec->uid,
                .cgroup_fd = -1,
                .cgroup_events_fd = -1,
                .pidfd = -1,
                .setup_fd = -1,
                .sweep_fd = -1,
                .sweep_pidfd = -1,
                .cb = *cb,
                .userdata = userdata,
                .started_usec = now_realtime_usec(),
                .state_dir = spec->hide_dir,
        };

        r = make_id(s->id);
        if (r < 0)
                goto fail;
        spec->sandbox_id = s->id;
        s->argv = strv_copy(spec->argv);
        if (!s->argv) {
                r = -ENOMEM;
                goto fail;
        }

        r = cgroup_create(cgroups, s->id);
        if (r < 0) {
                log_error_errno(r, "Failed to create cgroup %s/%s: %m", cgroups->slice, s->id);
                goto fail;
        }
        s->cgroup_fd = r;
        (void) cgroup_id(s->cgroup_fd, &s->cgroup_id);

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0) {
                r = negative_errno();
                goto fail;
        }
        s->setup_fd = pair[0];
        child_end = pair[1];
        if (setsockopt(s->setup_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0) {
                r = negative_errno();
                goto fail;
        }
        /* The child's end must block: its messages must never be lost. */
        if (fcntl(child_end, F_SETFL, 0) < 0) {
                r = negative_errno();
                goto fail;
        }

        pid = clone_sandbox(s->cgroup_fd, spec->join_netns, &s->pidfd);
        if (pid < 0) {
                r = log_error_errno(errno, "clone3() of sandbox %s failed: %m", s->id);
                goto fail;
        }
        if (pid == 0) {
                safe_close(s->setup_fd);
                sandbox_child_main(spec, child_end);
        }
        s->init_pid = pid;
        sandbox_spec_done(spec);

        r = sd_event_add_io(event, &s->setup_source, s->setup_fd, EPOLLIN, on_setup, s);
        if (r < 0)
                goto fail_kill;
        r = sd_event_add_io(event, &s->pidfd_source, s->pidfd, EPOLLIN, on_pidfd, s);
        if (r < 0)
                goto fail_kill;

        *ret = s;
        return 0;

fail_kill:
        (void) cgroup_kill(s->cgroup_fd);
        (void) waitid((idtype_t) P_PIDFD, (id_t) s->pidfd, &(siginfo_t) {}, WEXITED);
fail:
        sandbox_spec_done(spec);
        sandbox_free(s);
        return r;
}

Sandbox *sandbox_free(Sandbox *s) {
        if (!s)
                return NULL;

        if (s->init_pid > 0 && !s->init_gone) {
                /* Only on daemon shutdown or spawn failure: do not leave the
                 * sandbox running or a zombie behind. */
                (void) cgroup_kill(s->cgroup_fd);
                (void) waitid((idtype_t) P_PIDFD, (id_t) s->pidfd, &(siginfo_t) {}, WEXITED);
        }
        if (s->cgroup_fd >= 0 && !s->finished) {
                (void) cgroup_wait_empty(s->cgroup_fd, 1000);
                (void) cgroup_remove(s->cgroups, s->id);
                if (s->state_dir)
                        (void) placeholder_sweep(s->state_dir, s->cgroups->slice);
        }

        sd_event_source_disable_unref(s->pidfd_source);
        sd_event_source_disable_unref(s->setup_source);
        sd_event_source_disable_unref(s->cgroup_source);
        safe_close(s->pidfd);
        safe_close(s->setup_fd);
        safe_close(s->sweep_fd);        /* an unreleased sweep process sweeps at EOF */
        safe_close(s->sweep_pidfd);
        safe_close(s->cgroup_fd);
        safe_close(s->cgroup_events_fd);
        strv_free(s->argv);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

int sandbox_signal(Sandbox *s, int sig) {
        if (s->init_gone)
                return -ESRCH;
        if (sig == SIGKILL)
                return sandbox_terminate(s);
        return RET_NERRNO(pidfd_send_signal(s->pidfd, sig, NULL, 0));
}

int sandbox_terminate(Sandbox *s) {
        return cgroup_kill(s->cgroup_fd);
}

const char *sandbox_id(Sandbox *s) {
        return s->id;
}

pid_t sandbox_pid(Sandbox *s) {
        return s->command_pid;
}

pid_t sandbox_init_pid(Sandbox *s) {
        return s->init_pid;
}

uid_t sandbox_uid(Sandbox *s) {
        return s->uid;
}

uint64_t sandbox_started_usec(Sandbox *s) {
        return s->started_usec;
}

char * const *sandbox_argv(Sandbox *s) {
        return s->argv;
}

uint64_t sandbox_cgroup_id(Sandbox *s) {
        return s->cgroup_id;
}

bool sandbox_is_running(Sandbox *s) {
        return !s->init_gone;
}
