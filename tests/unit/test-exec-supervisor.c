/* Tests for fenced/exec-supervisor.c. A forked "sandbox" sets
 * PR_SET_NO_NEW_PRIVS, loads the notify filter, hands the listener to the
 * test over a socketpair (SCM_RIGHTS) and runs execs in children of its own,
 * writing "name:code" per exec to a pipe (code: exit status; 128+errno when
 * execve failed). The test process runs the supervisor on an sd-event loop.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>

#include "command-policy.h"
#include "exec-supervisor.h"
#include "seccomp-util.h"
#include "strv.h"

#define STRV(...) ((char *[]) { __VA_ARGS__, NULL })

static void skip_without_user_notif(void) {
        if (!seccomp_action_available("user_notif"))
                cr_skip_test("seccomp user notification is not available on this kernel");
}

/* ---- fd passing ---- */

static void send_fd(int sock, int fd) {
        char byte = 'L';
        struct iovec iov = { &byte, 1 };
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u = {};
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        if (sendmsg(sock, &mh, 0) != 1)
                _exit(90);
}

static int recv_fd(int sock) {
        char byte;
        struct iovec iov = { &byte, 1 };
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u = {};
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
        struct cmsghdr *c;
        int fd;

        cr_assert_eq(recvmsg(sock, &mh, MSG_CMSG_CLOEXEC), 1, "the sandbox did not send its listener");
        c = CMSG_FIRSTHDR(&mh);
        cr_assert_not_null(c);
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        return fd;
}

/* ---- the sandbox side ---- */

typedef struct Sandbox {
        pid_t pid;
        int sock;       /* our end: the listener arrives here, "go" bytes leave */
        int results;    /* read end of the results pipe */
        int listener;
} Sandbox;

typedef void (*ScenarioFn)(int results, int sock, const char *dir);

static void wait_go(int sock) {
        char c;
        if (read(sock, &c, 1) != 1)
                _exit(91);
}

static void go(const Sandbox *sb) {
        cr_assert_eq(write(sb->sock, "g", 1), 1);
}

static void sandbox_start(Sandbox *sb, ScenarioFn fn, const char *dir) {
        int sp[2], pp[2];

        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        cr_assert_eq(pipe2(pp, O_CLOEXEC), 0);

        sb->pid = fork();
        cr_assert_geq(sb->pid, 0);
        if (sb->pid == 0) {
                int listener;

                close(sp[0]);
                close(pp[0]);
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || exec_supervisor_install_filter(&listener) < 0)
                        _exit(92);
                send_fd(sp[1], listener);
                close(listener);
                fn(pp[1], sp[1], dir);
                _exit(0);
        }
        close(sp[1]);
        close(pp[1]);
        sb->sock = sp[0];
        sb->results = pp[0];
        sb->listener = recv_fd(sb->sock);
}

static void sandbox_finish(Sandbox *sb) {
        int status;

        close(sb->sock);
        close(sb->results);
        cr_expect_eq(waitpid(sb->pid, &status, 0), sb->pid);
}

/* One exec in a child of the sandbox; writes "name:code". */
typedef void (*ExecFn)(const char *dir, void *arg);

static void run_step(int results, const char *name, ExecFn fn, const char *dir, void *arg) {
        int status, code;
        pid_t pid = fork();

        if (pid < 0)
                _exit(93);
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                fn(dir, arg);
                _exit(errno > 0 && errno < 127 ? 128 + errno : 255);
        }
        if (waitpid(pid, &status, 0) != pid)
                _exit(94);
        code = WIFEXITED(status) ? WEXITSTATUS(status) : 300 + WTERMSIG(status);
        dprintf(results, "%s:%d\n", name, code);
}

static char **environment(const char *dir) {
        static char path[512];
        static char *env[] = { path, NULL };
        snprintf(path, sizeof path, "PATH=%s:/usr/bin:/bin", dir);
        return env;
}

typedef struct Exec {
        const char *path;       /* relative to dir unless absolute */
        char **argv;
} Exec;

static void do_exec(const char *dir, void *arg) {
        const Exec *x = arg;
        char path[512];

        if (x->path[0] == '/')
                snprintf(path, sizeof path, "%s", x->path);
        else
                snprintf(path, sizeof path, "%s/%s", dir, x->path);
        execve(path, x->argv, environment(dir));
}

static void do_exec_relative(const char *dir, void *arg) {
        if (chdir(dir) < 0)
                return;
        execve("./g", STRV("g", "push"), environment(dir));
}

static void do_execveat_fd(const char *dir, void *arg) {
        char path[512];
        int fd;

        snprintf(path, sizeof path, "%s/git", dir);
        fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return;
        syscall(SYS_execveat, fd, "", STRV("x", "push"), environment(dir), AT_EMPTY_PATH);
}

static void do_exec_many_args(const char *dir, void *arg) {
        size_t n = EXEC_SUPERVISOR_MAX_ARGS + 10;
        char **argv = calloc(n + 1, sizeof(char *));

        if (!argv)
                return;
        for (size_t i = 0; i < n; i++)
                argv[i] = (char *) "x";
        execve("/bin/true", argv, environment(dir));
}

static void do_exec_bad_pointer(const char *dir, void *arg) {
        syscall(SYS_execve, (const char *) 8, STRV("x"), environment(dir));
}

static void do_exec_empty_argv(const char *dir, void *arg) {
        char path[512];
        snprintf(path, sizeof path, "%s/git", dir);
        syscall(SYS_execve, path, NULL, environment(dir));
}

#if defined(__x86_64__)
static long int80(long nr, long a, long b, long c) {
        long r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory", "r8", "r9", "r10", "r11");
        return r;
}

/* execve through the i386 ABI: strings and argv below 4 GiB. */
static void do_exec_i386(const char *dir, void *arg) {
        char *mem, *path, *s_git, *s_push;
        uint32_t *argv;
        long r;

        if (int80(20 /* getpid */, 0, 0, 0) != getpid())
                _exit(250);     /* no i386 ABI */
        mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        if (mem == MAP_FAILED)
                _exit(251);
        path = mem;
        snprintf(path, 512, "%s/git", dir);
        s_git = mem + 512;
        strcpy(s_git, "git");
        s_push = mem + 600;
        strcpy(s_push, "push");
        argv = (uint32_t *) (mem + 1024);
        argv[0] = (uint32_t) (uintptr_t) s_git;
        argv[1] = (uint32_t) (uintptr_t) s_push;
        argv[2] = 0;
        r = int80(11 /* execve */, (long) (uintptr_t) path, (long) (uintptr_t) argv, 0);
        errno = (int) -r;
}
#endif

static void scenario_policy(int results, int sock, const char *dir) {
        wait_go(sock);
        run_step(results, "true", do_exec, dir, &(Exec) { "/bin/true", STRV("true") });
        run_step(results, "git-push", do_exec, dir, &(Exec) { "git", STRV("git", "push", "origin") });
        run_step(results, "git-pushx", do_exec, dir, &(Exec) { "git", STRV("git", "pushx") });
        run_step(results, "git-status", do_exec, dir, &(Exec) { "git", STRV("git", "status") });
        run_step(results, "sh-git-push", do_exec, dir, &(Exec) { "/bin/sh", STRV("sh", "-c", "git push") });
        run_step(results, "sh-git-status", do_exec, dir, &(Exec) { "/bin/sh", STRV("sh", "-c", "git status") });
        run_step(results, "argv0-spoof", do_exec, dir, &(Exec) { "git", STRV("ls", "push") });
        run_step(results, "symlink-alias", do_exec, dir, &(Exec) { "g", STRV("g", "push") });
        run_step(results, "relative", do_exec_relative, dir, NULL);
        run_step(results, "execveat-fd", do_execveat_fd, dir, NULL);
        run_step(results, "too-many-args", do_exec_many_args, dir, NULL);
        run_step(results, "bad-pointer", do_exec_bad_pointer, dir, NULL);
        run_step(results, "empty-argv", do_exec_empty_argv, dir, NULL);
        run_step(results, "dd-default", do_exec, dir, &(Exec) { "/bin/dd", STRV("dd", "if=/dev/zero", "count=0") });
        run_step(results, "dd-version", do_exec, dir, &(Exec) { "/bin/dd", STRV("dd", "--version") });
        run_step(results, "shebang", do_exec, dir, &(Exec) { "push-script", STRV("push-script") });
        run_step(results, "shebang-ok", do_exec, dir, &(Exec) { "status-script", STRV("status-script") });
        run_step(results, "shebang-nested", do_exec, dir, &(Exec) { "nested-script", STRV("nested-script", "x") });
#if defined(__x86_64__)
        run_step(results, "i386", do_exec_i386, dir, NULL);
#endif
}

/* ---- the daemon side ---- */

typedef struct Observed {
        char *denials;          /* "path|argv|rule|source|detail\n"... */
        unsigned n_denials;
        char results[8192];
        size_t n_results;
        bool eof, got_line;
        bool done;
        int done_error;
} Observed;

static void on_denied(ExecSupervisor *s, pid_t pid, const char *path, char * const *argv,
                      const CommandMatch *m, void *userdata) {
        Observed *o = userdata;
        _cleanup_free_ char *joined = strv_join(argv, " ");
        char *t = NULL;

        cr_assert_gt(pid, 0);
        cr_assert(asprintf(&t, "%s%s|%s|%s|%s|%s\n", o->denials ?: "", path, joined,
                           m->rule ?: "-", command_rule_source_to_string(m->source), m->detail ?: "-") > 0);
        free(o->denials);
        o->denials = t;
        o->n_denials++;
}

static void on_done(ExecSupervisor *s, int error, void *userdata) {
        Observed *o = userdata;
        o->done = true;
        o->done_error = error;
}

static int on_results(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Observed *o = userdata;
        ssize_t n = read(fd, o->results + o->n_results, sizeof o->results - 1 - o->n_results);

        if (n <= 0) {
                o->eof = true;
                return sd_event_source_set_enabled(src, SD_EVENT_OFF);
        }
        o->n_results += (size_t) n;
        o->results[o->n_results] = 0;
        o->got_line = true;
        return 0;
}

/* Runs the loop until *flag is set (30 s at most). */
static void pump(sd_event *e, const bool *flag) {
        struct timespec start, now;

        clock_gettime(CLOCK_MONOTONIC, &start);
        while (!*flag) {
                int r = sd_event_run(e, 100 * 1000ULL);
                cr_assert_geq(r, 0, "event loop: %s", strerror(-r));
                clock_gettime(CLOCK_MONOTONIC, &now);
                cr_assert_lt(now.tv_sec - start.tv_sec, 30, "timed out");
        }
}

/* Runs the loop until the sandbox closes its results pipe. */
static void run_loop(sd_event *e, Sandbox *sb, Observed *o) {
        sd_event_source *io = NULL;

        cr_assert_geq(sd_event_add_io(e, &io, sb->results, EPOLLIN, on_results, o), 0);
        pump(e, &o->eof);
        sd_event_source_disable_unref(io);
}

/* Runs the loop until the sandbox reports the next exec. */
static void run_until_line(sd_event *e, Sandbox *sb, Observed *o) {
        sd_event_source *io = NULL;

        o->got_line = false;
        cr_assert_geq(sd_event_add_io(e, &io, sb->results, EPOLLIN, on_results, o), 0);
        pump(e, &o->got_line);
        sd_event_source_disable_unref(io);
}

static int result_of(const Observed *o, const char *name) {
        char key[64];
        const char *p;

        snprintf(key, sizeof key, "%s:", name);
        for (p = o->results; (p = strstr(p, key)); p++)
                if (p == o->results || p[-1] == '\n')
                        return atoi(p + strlen(key));
        cr_assert_fail("no result for %s in:\n%s", name, o->results);
        return -1;
}

_printf_(3, 4) static void write_script(const char *dir, const char *name, const char *fmt, ...) {
        char path[512];
        va_list ap;
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        f = fopen(path, "we");
        cr_assert_not_null(f);
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        cr_assert_eq(fchmod(fileno(f), 0755), 0);
        cr_assert_eq(fclose(f), 0);
}

static char *make_fixture(void) {
        char tmpl[] = "/tmp/fenced-execsup-XXXXXX", path[512];
        char *dir = strdup(mkdtemp(tmpl));
        char buf[65536];
        int in, out;
        ssize_t n;

        cr_assert_not_null(dir);
        /* dir/git: a copy of true named git; dir/g: a symlink to it. */
        snprintf(path, sizeof path, "%s/git", dir);
        in = open("/bin/true", O_RDONLY | O_CLOEXEC);
        out = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
        cr_assert(in >= 0 && out >= 0);
        while ((n = read(in, buf, sizeof buf)) > 0)
                cr_assert_eq(write(out, buf, (size_t) n), n);
        close(in);
        close(out);
        snprintf(path, sizeof path, "%s/g", dir);
        cr_assert_eq(symlink("git", path), 0);
        /* Scripts: the kernel runs their interpreter without another execve(). */
        write_script(dir, "push-script", "#!%s/git  push  \n", dir);
        write_script(dir, "status-script", "#!%s/git status\n", dir);
        write_script(dir, "nested-script", "#!%s/push-script\n", dir);
        return dir;
}

static void remove_fixture(char *dir) {
        char path[512];

        static const char * const files[] = { "g", "git", "push-script", "status-script", "nested-script" };

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(path, sizeof path, "%s/%s", dir, files[i]);
                unlink(path);
        }
        rmdir(dir);
        free(dir);
}

static CommandPolicy *argv_policy(void) {
        CommandPolicy *p = NULL;
        cr_assert_eq(command_policy_new(&(CommandPolicySettings) {
                .deny = STRV("git push"),
                .use_defaults = true,
                .exec_mode = COMMAND_EXEC_ARGV,
        }, &p), 0);
        return p;
}

static void enforce_argv_policy(bool fixed_ids) {
        _cleanup_command_policy_ CommandPolicy *policy = NULL;
        _cleanup_free_ char *denials = NULL;
        ExecSupervisor *s = NULL;
        sd_event *e = NULL;
        Observed o = {};
        Sandbox sb;
        char *dir;

        skip_without_user_notif();
        dir = make_fixture();
        policy = argv_policy();
        cr_assert_geq(sd_event_new(&e), 0);

        sandbox_start(&sb, scenario_policy, dir);
        if (fixed_ids)
                /* as fenced attaches it to a sandbox: ids and root taken once */
                cr_assert_eq(exec_supervisor_attach_with_ids(e, sb.listener, policy,
                                                             &(ExecSupervisorIds) { .uid = getuid(), .gid = getgid() },
                                                             on_denied, &o, &s), 0);
        else
                cr_assert_eq(exec_supervisor_attach(e, sb.listener, policy, on_denied, &o, &s), 0);
        cr_expect_gt(exec_supervisor_get_pid(s), 0);
        go(&sb);
        run_loop(e, &sb, &o);
        sandbox_finish(&sb);
        denials = o.denials;

        cr_expect_eq(result_of(&o, "true"), 0);
        cr_expect_eq(result_of(&o, "git-push"), 128 + EACCES);
        cr_expect_eq(result_of(&o, "git-pushx"), 0);
        cr_expect_eq(result_of(&o, "git-status"), 0);
        cr_expect_eq(result_of(&o, "sh-git-push"), 126);        /* sh: Permission denied */
        cr_expect_eq(result_of(&o, "sh-git-status"), 0);
        cr_expect_eq(result_of(&o, "argv0-spoof"), 128 + EACCES);
        cr_expect_eq(result_of(&o, "symlink-alias"), 128 + EACCES);
        cr_expect_eq(result_of(&o, "relative"), 128 + EACCES);
        cr_expect_eq(result_of(&o, "execveat-fd"), 128 + EACCES);
        cr_expect_eq(result_of(&o, "too-many-args"), 128 + EACCES);
        cr_expect_eq(result_of(&o, "bad-pointer"), 128 + EFAULT);
        cr_expect_eq(result_of(&o, "empty-argv"), 0);
        cr_expect_eq(result_of(&o, "dd-default"), 128 + EACCES);
        cr_expect_eq(result_of(&o, "dd-version"), 0);
        cr_expect_eq(result_of(&o, "shebang"), 128 + EACCES);
        cr_expect_eq(result_of(&o, "shebang-ok"), 0);
        cr_expect_eq(result_of(&o, "shebang-nested"), 128 + EACCES);
#if defined(__x86_64__)
        if (result_of(&o, "i386") == 250)
                cr_log_warn("i386 exec not tested: int $0x80 is not available");
        else
                cr_expect_eq(result_of(&o, "i386"), 128 + EACCES);
#endif

        /* Every denial was reported once, with its argv and rule. */
        cr_assert_not_null(denials);
        cr_expect_not_null(strstr(denials, "/git|git push origin|git push|command.deny|-\n"), "%s", denials);
        cr_expect_not_null(strstr(denials, "/git|git push|git push|command.deny|-\n"), "%s", denials);
        cr_expect_not_null(strstr(denials, "/git|ls push|git push|command.deny|-\n"), "%s", denials);
        cr_expect_not_null(strstr(denials, "/g|g push|git push|command.deny|-\n"), "%s", denials);
        cr_expect_not_null(strstr(denials, "/git|x push|git push|command.deny|-\n"), "%s", denials);
        cr_expect_not_null(strstr(denials, "/bin/dd|dd if=/dev/zero count=0|dd if=|command.useDefaults|-\n"), "%s", denials);
        /* a script is denied for the command the kernel builds: its interpreter's */
        cr_expect_not_null(strstr(denials, "/push-script|push-script|git push|command.deny|-\n"), "%s", denials);
        cr_expect_not_null(strstr(denials, "/nested-script|nested-script x|git push|command.deny|-\n"), "%s", denials);
        cr_expect_not_null(strstr(denials, "|runtime exec check|argv has more than 16384 entries"), "%s", denials);
        /* git-push, argv0-spoof, symlink-alias, relative, execveat-fd,
         * too-many-args, dd-default, sh-git-push (sh tries git in each PATH
         * directory: at least once) */
        cr_expect_geq(o.n_denials, 8, "%s", denials);

        exec_supervisor_free(s);
        sd_event_unref(e);
        remove_fixture(dir);
}

Test(exec_supervisor, enforces_the_argv_policy) {
        enforce_argv_policy(false);
}

Test(exec_supervisor, enforces_the_argv_policy_with_fixed_ids) {
        enforce_argv_policy(true);
}

static void scenario_two_phases(int results, int sock, const char *dir) {
        wait_go(sock);
        run_step(results, "before", do_exec, dir, &(Exec) { "/bin/true", STRV("true") });
        wait_go(sock);
        run_step(results, "after", do_exec, dir, &(Exec) { "/bin/true", STRV("true") });
}

Test(exec_supervisor, freeing_the_supervisor_fails_execs_closed) {
        _cleanup_command_policy_ CommandPolicy *policy = argv_policy();
        ExecSupervisor *s = NULL;
        sd_event *e = NULL;
        Observed o = {};
        Sandbox sb;

        skip_without_user_notif();
        cr_assert_geq(sd_event_new(&e), 0);
        sandbox_start(&sb, scenario_two_phases, "/tmp");
        cr_assert_eq(exec_supervisor_attach(e, sb.listener, policy, on_denied, &o, &s), 0);

        go(&sb);
        run_until_line(e, &sb, &o);
        cr_expect_eq(result_of(&o, "before"), 0);

        exec_supervisor_free(s);
        go(&sb);
        run_loop(e, &sb, &o);
        cr_expect_eq(result_of(&o, "after"), 128 + ENOSYS);

        sandbox_finish(&sb);
        sd_event_unref(e);
        free(o.denials);
}

Test(exec_supervisor, a_dead_helper_fails_execs_closed) {
        _cleanup_command_policy_ CommandPolicy *policy = argv_policy();
        ExecSupervisor *s = NULL;
        sd_event *e = NULL;
        Observed o = {};
        Sandbox sb;

        skip_without_user_notif();
        cr_assert_geq(sd_event_new(&e), 0);
        sandbox_start(&sb, scenario_two_phases, "/tmp");
        cr_assert_eq(exec_supervisor_attach(e, sb.listener, policy, on_denied, &o, &s), 0);
        exec_supervisor_set_done_callback(s, on_done);

        go(&sb);
        run_until_line(e, &sb, &o);
        cr_expect_eq(result_of(&o, "before"), 0);

        cr_assert_eq(kill(exec_supervisor_get_pid(s), SIGKILL), 0);
        go(&sb);
        run_loop(e, &sb, &o);
        cr_expect_eq(result_of(&o, "after"), 128 + ENOSYS);
        cr_expect(o.done);
        cr_expect_lt(o.done_error, 0);

        sandbox_finish(&sb);
        exec_supervisor_free(s);
        sd_event_unref(e);
        free(o.denials);
}

static void scenario_block_in_exec(int results, int sock, const char *dir) {
        run_step(results, "pending", do_exec, dir, &(Exec) { "/bin/true", STRV("true") });
}

Test(exec_supervisor, kernel_answers_enosys_when_the_listener_goes_away) {
        struct pollfd p;
        Observed o = {};
        Sandbox sb;
        char *nl;

        skip_without_user_notif();
        /* Nobody receives: the exec waits on the notification... */
        sandbox_start(&sb, scenario_block_in_exec, "/tmp");
        p = (struct pollfd) { .fd = sb.listener, .events = POLLIN };
        cr_assert_eq(poll(&p, 1, 30000), 1, "no notification arrived");
        /* ...until the listener is closed: then it fails, closed. */
        close(sb.listener);
        o.n_results = (size_t) read(sb.results, o.results, sizeof o.results - 1);
        cr_assert_gt(o.n_results, 0);
        nl = strchr(o.results, '\n');
        cr_assert_not_null(nl);
        cr_expect_eq(result_of(&o, "pending"), 128 + ENOSYS);
        sandbox_finish(&sb);
}

static void scenario_quick_exit(int results, int sock, const char *dir) {
        wait_go(sock);
        run_step(results, "last", do_exec, dir, &(Exec) { "/bin/true", STRV("true") });
}

Test(exec_supervisor, done_when_no_process_is_left) {
        _cleanup_command_policy_ CommandPolicy *policy = argv_policy();
        ExecSupervisor *s = NULL;
        sd_event *e = NULL;
        Observed o = {};
        Sandbox sb;

        skip_without_user_notif();
        cr_assert_geq(sd_event_new(&e), 0);
        sandbox_start(&sb, scenario_quick_exit, "/tmp");
        cr_assert_eq(exec_supervisor_attach(e, sb.listener, policy, on_denied, &o, &s), 0);
        exec_supervisor_set_done_callback(s, on_done);
        go(&sb);
        run_loop(e, &sb, &o);
        cr_expect_eq(result_of(&o, "last"), 0);
        sandbox_finish(&sb);

        /* The sandbox and its children are gone: the helper sees POLLHUP. */
        pump(e, &o.done);
        cr_expect_eq(o.done_error, 0);

        exec_supervisor_free(s);
        sd_event_unref(e);
        free(o.denials);
}

static void on_denied_free(ExecSupervisor *s, pid_t pid, const char *path, char * const *argv,
                           const CommandMatch *m, void *userdata) {
        Observed *o = userdata;
        o->n_denials++;
        exec_supervisor_free(s);
}

static void scenario_denied_then_more(int results, int sock, const char *dir) {
        wait_go(sock);
        run_step(results, "denied", do_exec, dir, &(Exec) { "/sbin/reboot", STRV("reboot") });
        run_step(results, "next", do_exec, dir, &(Exec) { "/bin/true", STRV("true") });
}

Test(exec_supervisor, free_from_the_callback) {
        _cleanup_command_policy_ CommandPolicy *policy = argv_policy();
        ExecSupervisor *s = NULL;
        sd_event *e = NULL;
        Observed o = {};
        Sandbox sb;

        skip_without_user_notif();
        cr_assert_geq(sd_event_new(&e), 0);
        sandbox_start(&sb, scenario_denied_then_more, "/tmp");
        cr_assert_eq(exec_supervisor_attach(e, sb.listener, policy, on_denied_free, &o, &s), 0);
        go(&sb);
        run_loop(e, &sb, &o);
        cr_expect_eq(result_of(&o, "denied"), 128 + EACCES);
        /* The exec after the free can have raced the free either way, but
         * it never ran unchecked: it ran (checked) or failed with ENOSYS. */
        cr_expect(result_of(&o, "next") == 0 || result_of(&o, "next") == 128 + ENOSYS);
        cr_expect_eq(o.n_denials, 1);
        sandbox_finish(&sb);
        sd_event_unref(e);
}

/* As a sandbox's processes: not root (the helper remembers files only for
 * those, exec-file-cache.h). */
#define NOBODY 65534

static void become_nobody(void) {
        if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0)
                _exit(94);
}

static void scenario_file_changes(int results, int sock, const char *dir) {
        become_nobody();
        wait_go(sock);
        run_step(results, "tool-1", do_exec, dir, &(Exec) { "tool", STRV("tool") });
        run_step(results, "tool-2", do_exec, dir, &(Exec) { "tool", STRV("tool") });
        wait_go(sock);
        run_step(results, "tool-3", do_exec, dir, &(Exec) { "tool", STRV("tool") });
        run_step(results, "symlinked", do_exec, dir, &(Exec) { "g", STRV("g", "push") });
}

/* A root-owned file seen as no script is remembered; rewritten into a script
 * (by root, outside the sandbox), it is looked at again and judged by its
 * interpreter. The remembered name does not outlive a changed symlink. */
Test(exec_supervisor, a_remembered_file_is_looked_at_again_when_it_changes) {
        _cleanup_command_policy_ CommandPolicy *policy = argv_policy();
        char *dir, path[512], script[600], target[512];
        ExecSupervisor *s = NULL;
        sd_event *e = NULL;
        Observed o = {};
        Sandbox sb;
        int fd;

        skip_without_user_notif();
        if (geteuid() != 0)
                cr_skip_test("needs root (the sandbox runs as nobody, the files are root's)");
        dir = make_fixture();
        cr_assert_eq(chmod(dir, 0755), 0);
        snprintf(path, sizeof path, "%s/tool", dir);
        snprintf(target, sizeof target, "%s/git", dir);
        cr_assert_eq(link(target, path), 0);    /* tool: a second name of git (true) */
        cr_assert_eq(sd_event_new(&e), 0);

        sandbox_start(&sb, scenario_file_changes, dir);
        cr_assert_eq(exec_supervisor_attach_with_ids(e, sb.listener, policy,
                                                     &(ExecSupervisorIds) { .uid = NOBODY, .gid = NOBODY },
                                                     on_denied, &o, &s), 0);
        go(&sb);
        while (!strstr(o.results, "tool-2:"))
                run_until_line(e, &sb, &o);
        cr_expect_eq(result_of(&o, "tool-1"), 0);
        cr_expect_eq(result_of(&o, "tool-2"), 0);

        /* tool becomes its own file, a script running git push; g (which
         * named git) now points at tool. */
        cr_assert_eq(unlink(path), 0);
        snprintf(script, sizeof script, "#!%s/git push\n", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        cr_assert_geq(fd, 0);
        cr_assert_eq(write(fd, script, strlen(script)), (ssize_t) strlen(script));
        cr_assert_eq(close(fd), 0);
        snprintf(target, sizeof target, "%s/g", dir);
        cr_assert_eq(unlink(target), 0);
        cr_assert_eq(symlink("tool", target), 0);

        go(&sb);
        run_loop(e, &sb, &o);
        sandbox_finish(&sb);
        cr_expect_eq(result_of(&o, "tool-3"), 128 + EACCES);
        cr_expect_not_null(o.denials && strstr(o.denials, "/tool|tool|git push|command.deny|-\n"), "%s", o.denials);
        /* g push runs the script tool with push: git push push */
        cr_expect_eq(result_of(&o, "symlinked"), 128 + EACCES);

        exec_supervisor_free(s);
        sd_event_unref(e);
        unlink(path);
        remove_fixture(dir);
        free(o.denials);
}

/* An exec whose argv[1] lies on a userfaultfd page nobody serves: reading
 * it blocks (killably) for ever. */
static void do_exec_uffd_arg(const char *dir, void *arg) {
        struct uffdio_api api = { .api = UFFD_API };
        struct uffdio_register reg = {};
        long page = sysconf(_SC_PAGESIZE);
        char *mem;
        int uffd;

        uffd = (int) syscall(SYS_userfaultfd, O_CLOEXEC);
        if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) < 0)
                _exit(250);
        mem = mmap(NULL, (size_t) page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED)
                _exit(250);
        reg = (struct uffdio_register) { .range = { (uintptr_t) mem, (uint64_t) page },
                                         .mode = UFFDIO_REGISTER_MODE_MISSING };
        if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
                _exit(250);
        execve("/bin/true", STRV("true", mem), environment(dir));
}

static void scenario_uffd(int results, int sock, const char *dir) {
        wait_go(sock);
        run_step(results, "uffd", do_exec_uffd_arg, dir, NULL);
}

Test(exec_supervisor, an_exec_that_cannot_be_judged_in_time_kills_the_helper, .timeout = 60) {
        _cleanup_command_policy_ CommandPolicy *policy = argv_policy();
        struct timespec start, end;
        ExecSupervisor *s = NULL;
        sd_event *e = NULL;
        Observed o = {};
        Sandbox sb;

        skip_without_user_notif();
        cr_assert_geq(sd_event_new(&e), 0);
        sandbox_start(&sb, scenario_uffd, "/tmp");
        cr_assert_eq(exec_supervisor_attach(e, sb.listener, policy, on_denied, &o, &s), 0);
        exec_supervisor_set_done_callback(s, on_done);

        clock_gettime(CLOCK_MONOTONIC, &start);
        go(&sb);
        run_loop(e, &sb, &o);
        clock_gettime(CLOCK_MONOTONIC, &end);
        if (result_of(&o, "uffd") == 250) {
                cr_log_warn("userfaultfd is not available: the judging deadline is not tested");
        } else {
                /* The helper died of its alarm; the kernel then fails the exec. */
                cr_expect_eq(result_of(&o, "uffd"), 128 + ENOSYS);
                pump(e, &o.done);
                cr_expect_eq(o.done_error, -ETIMEDOUT, "done with %d", o.done_error);
                cr_expect_geq(end.tv_sec - start.tv_sec, (time_t) EXEC_SUPERVISOR_JUDGE_TIMEOUT_S - 1);
        }

        sandbox_finish(&sb);
        exec_supervisor_free(s);
        sd_event_unref(e);
        free(o.denials);
}
