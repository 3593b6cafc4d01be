#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "exec-policy.h"
#include "exec-supervisor.h"
#include "fs-protect-cache.h"
#include "fs-protect-watch.h"
#include "fs-template.h"
#include "json.h"
#include "log.h"
#include "manager.h"
#include "net-sandbox.h"
#include "placeholder.h"
#include "run-exec.h"
#include "run-syscall.h"
#include "seccomp-audit.h"
#include "seccomp-deny.h"
#include "seccomp-util.h"

#define SHUTDOWN_TIMEOUT_USEC (10ULL * 1000000ULL)

int manager_new(Manager **ret, const ManagerOptions *options) {
        Manager *m;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->options = *options;
        m->cgroups.slice_fd = -1;

        r = sd_event_default(&m->event);
        if (r < 0) {
                free(m);
                return r;
        }
        *ret = m;
        return 0;
}

void sandbox_run_free(SandboxRun *run) {
        if (!run)
                return;
        run_exec_free(run->exec);
        sandbox_free(run->sandbox);
        net_sandbox_free(run->net);     /* after the sandbox: nothing uses its namespace now */
        varlink_call_unref(run->call);
        free(run->user);
        free(run->fs_template_key);
        free(run);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        /* Normally empty by now; on an error path, still leave nothing behind. */
        while (m->runs) {
                SandboxRun *run = m->runs;
                manager_remove_run(m, run);
                sandbox_run_free(run);
        }
        varlink_server_free(m->varlink);
        if (m->created_socket)
                (void) unlink(m->options.socket_path);
        sd_event_source_disable_unref(m->idle_timer);
        sd_event_source_disable_unref(m->shutdown_timer);
        cgroup_root_close(&m->cgroups);
        event_log_free(m->events);
        free(m->policy_floor);
        seccomp_prog_done(&m->seccomp_deny);
        seccomp_prog_done(&m->exec_notify);
        exec_mask_cache_free(m->exec_masks);
        fs_protect_watches_free(m->protect_watches);
        fs_templates_free(m->fs_templates);
        seccomp_audit_free(m->seccomp_audit);
        config_free(m->floor);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

static int on_idle_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        if (m->n_runs > 0)
                return 0;
        if (varlink_server_n_connections(m->varlink) > 0) {
                /* Idle but someone is connected: look again later. */
                (void) sd_event_source_set_time_relative(s, m->options.exit_idle_usec);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        log_info("Idle for %llus, exiting.", (unsigned long long) (m->options.exit_idle_usec / 1000000ULL));
        return sd_event_exit(m->event, 0);
}

static void manager_check_idle(Manager *m) {
        if (m->options.exit_idle_usec == 0 || m->n_runs > 0 || m->shutting_down)
                return;
        if (!m->idle_timer) {
                if (sd_event_add_time_relative(m->event, &m->idle_timer, CLOCK_MONOTONIC,
                                               m->options.exit_idle_usec, 0, on_idle_timer, m) < 0)
                        log_warning("Failed to arm the idle timer.");
                return;
        }
        (void) sd_event_source_set_time_relative(m->idle_timer, m->options.exit_idle_usec);
        (void) sd_event_source_set_enabled(m->idle_timer, SD_EVENT_ONESHOT);
}

void manager_add_run(Manager *m, SandboxRun *run) {
        run->manager = m;
        run->prev = NULL;
        run->next = m->runs;
        if (m->runs)
                m->runs->prev = run;
        m->runs = run;
        m->n_runs++;
        if (m->idle_timer)
                (void) sd_event_source_set_enabled(m->idle_timer, SD_EVENT_OFF);
}

void manager_remove_run(Manager *m, SandboxRun *run) {
        if (run->prev)
                run->prev->next = run->next;
        else
                m->runs = run->next;
        if (run->next)
                run->next->prev = run->prev;
        run->prev = run->next = NULL;
        m->n_runs--;

        if (m->shutting_down && m->n_runs == 0)
                (void) sd_event_exit(m->event, 0);
        manager_check_idle(m);
}

SandboxRun *manager_find_run(Manager *m, const char *id, uid_t owner) {
        for (SandboxRun *run = m->runs; run; run = run->next)
                if (streq(sandbox_id(run->sandbox), id) && (owner == 0 || run->uid == owner))
                        return run;
        return NULL;
}

void manager_emit(Manager *m, SandboxRun *run, const Event *e) {
        _cleanup_free_ char *json = NULL, *params = NULL;

        if (event_log_emit(m->events, e, &json) < 0)
                return;
        if (!run || !run->monitor || !run->call)
                return;
        if (asprintf(&params, "{\"state\":\"event\",\"event\":%s}", json) < 0)
                return;
        /* A client that does not keep up loses stream replies (never the
         * journal's or the log's copy); it is told how many at the end. */
        if (varlink_call_reply(run->call, params, true) == -ENOBUFS)
                run->events_dropped++;
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (m->shutting_down)
                return 0;
        m->shutting_down = true;
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Killing all sandboxes...");
        log_info("Received %s, killing %u sandbox(es) and exiting.", strsignal((int) si->ssi_signo), m->n_runs);

        if (m->n_runs == 0)
                return sd_event_exit(m->event, 0);
        for (SandboxRun *run = m->runs; run; run = run->next)
                (void) sandbox_terminate(run->sandbox);
        /* cgroup.kill is immediate; this only guards against a wedged kernel. */
        return sd_event_add_time_relative(m->event, &m->shutdown_timer, CLOCK_MONOTONIC,
                                          SHUTDOWN_TIMEOUT_USEC, 0, NULL, NULL);
}

static int load_policy_floor(Manager *m) {
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ char *err = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        struct stat st;
        size_t n = 0;
        int r;

        f = fopen(m->options.policy_path, "re");
        if (!f) {
                if (errno != ENOENT)
                        return log_error_errno(errno, "Failed to open the policy floor %s: %m", m->options.policy_path);
                m->policy_floor = strdup("{}");
                m->floor = config_new();
                return m->policy_floor && m->floor ? 0 : -ENOMEM;
        }
        /* The floor binds every user: only root may be able to change it. */
        if (fstat(fileno(f), &st) < 0)
                return negative_errno();
        if (st.st_uid != 0 || (st.st_mode & 022))
                return log_error_errno(EPERM, "The policy floor %s must be owned by root and not group/world-writable.",
                                       m->options.policy_path);
        if (getdelim(&text, &n, '\0', f) < 0)
                text = strdup("");
        if (!text)
                return -ENOMEM;
        r = config_parse(text, strlen(text), m->options.policy_path, 0, &m->floor, &err);
        if (r >= 0)
                r = config_validate_floor(m->floor, m->options.policy_path, &err);
        if (r < 0)
                return log_error_errno(r, "Refusing to start with an invalid policy floor: %s", err ?: strerror(-r));
        r = config_to_json(m->floor, 0, &m->policy_floor);
        if (r < 0)
                return r;
        log_info("Policy floor %s applies to every sandbox.", m->options.policy_path);
        return 0;
}

int manager_start(Manager *m) {
        sigset_t mask;
        int r, n;

        (void) signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return negative_errno();
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_terminate, m);
        if (r < 0)
                return r;
        r = sd_event_add_signal(m->event, NULL, SIGINT, on_terminate, m);
        if (r < 0)
                return r;

        if (mkdir(m->options.state_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create the state directory %s: %m", m->options.state_dir);

        r = load_policy_floor(m);
        if (r < 0)
                return r;

        /* Every sandbox gets it: no filter, no sandboxes (fail closed). */
        r = seccomp_deny_compile(&m->seccomp_deny);
        if (r < 0)
                return log_error_errno(r, "Failed to build the seccomp deny filter: %m");
        r = exec_supervisor_compile_filter(&m->exec_notify);
        if (r < 0)
                return log_error_errno(r, "Failed to build the exec policy's notify filter: %m");

        r = cgroup_root_open(&m->cgroups);
        if (r < 0)
                return r;
        r = cgroup_root_clean_stale(&m->cgroups);
        if (r < 0)
                log_warning_errno(r, "Failed to clean stale sandbox cgroups in %s: %m", m->cgroups.slice);
        /* After the stale sandboxes are gone: what they left in users' directories. */
        r = placeholder_dir_prepare(m->options.state_dir);
        if (r < 0)
                return r;
        r = fs_protect_cache_prepare(m->options.state_dir);
        if (r < 0)
                return r;
        r = fs_protect_watches_new(m->event, m->options.state_dir, &m->protect_watches);
        if (r < 0)
                return r;
        r = fs_templates_new(m->event, FS_TEMPLATE_IDLE_USEC, &m->fs_templates);
        if (r < 0)
                return r;
        r = placeholder_sweep(m->options.state_dir, m->cgroups.slice);
        if (r > 0)
                log_notice("Removed the placeholders left in users' directories by %d sandbox(es) of a previous fenced.", r);

        r = event_log_open(&m->events, m->options.log_dir);
        if (r < 0)
                return r;
        run_syscall_monitor_start(m);

        r = varlink_server_new(&m->varlink, m->event, "fence", "fenced", FENCE_VERSION,
                               "https://github.com/Use-Tusk/fence");
        if (r < 0)
                return log_error_errno(r, "Failed to create the varlink server: %m");
        r = manager_add_sandbox_interface(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register io.fence.Sandbox: %m");

        n = sd_listen_fds(true);
        if (n < 0)
                return log_error_errno(n, "Failed to read the socket-activation fds: %m");
        if (n > 1)
                return log_error_errno(EINVAL, "Got %d sockets from socket activation, expected one.", n);
        if (n == 1) {
                r = varlink_server_listen_fd(m->varlink, SD_LISTEN_FDS_START);
                if (r < 0)
                        return log_error_errno(r, "Failed to serve the activated socket: %m");
                log_debug("Serving the socket passed by socket activation.");
        } else {
                _cleanup_free_ char *dir = strdup(m->options.socket_path);
                char *slash = dir ? strrchr(dir, '/') : NULL;

                if (slash && slash != dir) {
                        *slash = 0;
                        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                                return log_error_errno(errno, "Failed to create %s: %m", dir);
                }
                r = varlink_server_listen_unix(m->varlink, m->options.socket_path, 0666);
                if (r < 0)
                        return log_error_errno(r, "Failed to listen on %s: %m", m->options.socket_path);
                m->created_socket = true;
        }

        manager_check_idle(m);
        return 0;
}

int manager_run(Manager *m) {
        int r;

        (void) sd_notifyf(false, "READY=1\nSTATUS=Serving %s", m->options.socket_path);
        log_info("fenced %s ready on %s.", FENCE_VERSION, m->options.socket_path);

        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1");
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}
