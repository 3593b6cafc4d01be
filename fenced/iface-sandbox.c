/* The io.fence.Sandbox varlink interface: method table and handlers. */
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>

#include "config.h"
#include "json.h"
#include "landlock.h"
#include "seccomp-deny.h"
#include "fs-protect-watch.h"
#include "fs-template.h"
#include "log.h"
#include "manager.h"
#include "run-exec.h"
#include "net-sandbox.h"
#include "peer-rlimits.h"
#include "run-network.h"
#include "run-syscall.h"
#include "strv.h"
#include "unix-socket-masks.h"

extern const char io_fence_sandbox_varlink[];

#define ERROR_INVALID_CONFIG "io.fence.Sandbox.InvalidConfig"
#define ERROR_INVALID_ARGUMENT "io.fence.Sandbox.InvalidArgument"
#define ERROR_SETUP_FAILED "io.fence.Sandbox.SandboxSetupFailed"
#define ERROR_NO_SUCH_SANDBOX "io.fence.Sandbox.NoSuchSandbox"
#define ERROR_PERMISSION_DENIED "io.fence.Sandbox.PermissionDenied"

static int invalid_argument(VarlinkCall *call, const char *parameter, const char *message) {
        return varlink_call_error_strings(call, ERROR_INVALID_ARGUMENT, "parameter", parameter, "message", message);
}

/* The caller's name and home from the user database (not from its
 * environment); a uid without an entry is named by its number, homed at /. */
static int lookup_user(uid_t uid, char **ret_name, char **ret_home) {
        struct passwd pw, *result = NULL;
        char buf[4096];
        _cleanup_free_ char *name = NULL, *home = NULL;

        if (getpwuid_r(uid, &pw, buf, sizeof buf, &result) == 0 && result) {
                name = strdup(result->pw_name);
                home = strdup(result->pw_dir[0] == '/' ? result->pw_dir : "/");
        } else {
                if (asprintf(&name, "%u", (unsigned) uid) < 0)
                        name = NULL;
                home = strdup("/");
        }
        if (!name || !home)
                return -ENOMEM;
        *ret_name = TAKE_PTR(name);
        *ret_home = TAKE_PTR(home);
        return 0;
}

static bool env_allowed(const char *entry) {
        /* The dynamic linker honours these even without a setuid bit; fence
         * strips them so a sandbox cannot be handed a preloaded library. */
        if (!strchr(entry, '=') || entry[0] == '=')
                return false;
        if (startswith(entry, "LD_") || startswith(entry, "DYLD_"))
                return false;
        if (startswith(entry, "FENCE_SANDBOX="))
                return false;
        return true;
}

static int build_env(char * const *in, char ***ret) {
        _cleanup_strv_free_ char **env = calloc(1, sizeof(char *));

        if (!env)
                return -ENOMEM;
        for (char * const *e = in; e && *e; e++)
                if (env_allowed(*e) && strv_extend(&env, *e) < 0)
                        return -ENOMEM;
        if (strv_extend(&env, "FENCE_SANDBOX=1") < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(env);
        return 0;
}

static void emit_lifecycle(SandboxRun *run, const char *action, const EventField *fields, size_t n) {
        Event e = {
                .sandbox = sandbox_id(run->sandbox),
                .uid = run->uid,
                .pid = sandbox_pid(run->sandbox),
                .comm = sandbox_argv(run->sandbox)[0],
                .source = "lifecycle",
                .action = action,
                .priority = LOG_INFO,
                .fields = fields,
                .n_fields = n,
        };
        manager_emit(run->manager, run, &e);
}

static void on_started(Sandbox *s, void *userdata) {
        SandboxRun *run = userdata;
        _cleanup_free_ char *params = NULL;

        run_syscall_started(run);
        if (run->call &&
            asprintf(&params, "{\"state\":\"started\",\"id\":\"%s\",\"pid\":%d}", sandbox_id(s), (int) sandbox_pid(s)) >= 0)
                (void) varlink_call_reply(run->call, params, true);
        emit_lifecycle(run, "started", NULL, 0);
}

static void on_finished(Sandbox *s, const SandboxExit *e, void *userdata) {
        SandboxRun *run = userdata;
        Manager *m = run->manager;

        if (e->setup_error) {
                _cleanup_free_ char *msg = NULL;

                if (asprintf(&msg, "%s: %s", e->setup_what ? e->setup_what : "setting up the sandbox",
                             strerror(e->setup_error)) < 0)
                        msg = NULL;
                log_warning("Sandbox %s of uid %u failed: %s", sandbox_id(s), (unsigned) run->uid, msg ? msg : "?");
                if (run->call)
                        (void) varlink_call_error_strings(run->call, ERROR_SETUP_FAILED, "message", msg ? msg : "setup failed",
                                                   NULL, NULL);
                EventField f[] = { EVENT_STR("error", msg) };
                emit_lifecycle(run, "failed", f, ELEMENTSOF(f));
        } else {
                _cleanup_json_gen_ yajl_gen g = json_gen_new();
                _cleanup_free_ char *params = NULL, *exec_error = NULL;

                if (e->exec_error &&
                    asprintf(&exec_error, "%s: %s", e->exec_path ? e->exec_path : "?",
                             e->exec_error == ENOENT ? "command not found" : strerror(e->exec_error)) < 0)
                        exec_error = NULL;
                if (!exec_error && run_exec_failure(run->exec))
                        exec_error = strdup(run_exec_failure(run->exec));

                if (g && run->call) {
                        json_gen_open(g);
                        json_gen_kv_string(g, "state", "exited");
                        json_gen_kv_string(g, "id", sandbox_id(s));
                        json_gen_kv_int(g, "exitCode", e->exit_code);
                        if (e->signal)
                                json_gen_kv_int(g, "signal", e->signal);
                        if (exec_error)
                                json_gen_kv_string(g, "execError", exec_error);
                        if (run->events_dropped > 0)
                                json_gen_kv_int(g, "eventsDropped", run->events_dropped);
                        json_gen_close(g);
                        if (json_gen_take(g, &params) >= 0)
                                (void) varlink_call_reply(run->call, params, false);
                }
                EventField f[] = { EVENT_INT("exitCode", e->exit_code), EVENT_INT("signal", e->signal) };
                emit_lifecycle(run, "exited", f, ELEMENTSOF(f));
        }

        manager_remove_run(m, run);
        sandbox_run_free(run);
}

static void on_exec_listener(Sandbox *s, int listener_fd, void *userdata) {
        run_exec_attach(userdata, listener_fd);
}

/* The template of the policy's mounts (fs-template.h) for this launch, and
 * where the one the sandbox may send goes. Without one the launch builds
 * everything, as always. */
static void run_fs_template(SandboxRun *run, SandboxSpec *spec) {
        Manager *m = run->manager;

        if (!m->fs_templates || fs_template_key(spec, &run->fs_template_key, &run->fs_template_key_len) <= 0)
                return;
        spec->fs_template_ns = fs_templates_get(m->fs_templates, run->fs_template_key, run->fs_template_key_len,
                                                &run->fs_template_generation);
        spec->fs_template_wanted = true;
        log_debug("Filesystem template for uid %u: %s.", (unsigned) run->uid,
                  spec->fs_template_ns >= 0 ? "offered" : "none yet");
}

static void on_fs_template(Sandbox *s, int ns_fd, void *userdata) {
        SandboxRun *run = userdata;

        if (!run->fs_template_key) {
                safe_close(ns_fd);
                return;
        }
        fs_templates_put(run->manager->fs_templates, run->fs_template_key, run->fs_template_key_len, run->uid,
                         run->fs_template_generation, ns_fd);
}

/* The client went away: the sandbox goes with it. */
static void on_call_cancelled(VarlinkCall *call, void *userdata) {
        SandboxRun *run = userdata;

        log_debug("Client of sandbox %s disconnected, killing it.", sandbox_id(run->sandbox));
        run->call = varlink_call_unref(run->call);
        (void) sandbox_terminate(run->sandbox);
}

/* The client's merged config, checked again here: the daemon trusts nothing
 * it receives. Then the admin floor, then the caller's home and cwd. */
static int config_for_run(Manager *m, VarlinkCall *call, yajl_val v, const char *home, const char *cwd,
                          FenceConfig **ret) {
        _cleanup_config_ FenceConfig *c = NULL;
        _cleanup_json_gen_ yajl_gen g = NULL;
        _cleanup_free_ char *text = NULL, *err = NULL;
        int r;

        if (v && !YAJL_IS_NULL(v)) {
                g = json_gen_new();
                if (!g)
                        return -ENOMEM;
                json_gen_value(g, v);
                r = json_gen_take(g, &text);
                if (r < 0)
                        return r;
                r = config_parse(text, strlen(text), "config", 0, &c, &err);
                if (r >= 0)
                        r = config_validate(c, "config", &err);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        _cleanup_free_ char *field = NULL;
                        const char *what = config_error_field(err, "config", &field);

                        return varlink_call_error_strings(call, ERROR_INVALID_CONFIG, "field", field ?: "config",
                                                          "message", what ?: err ?: "invalid configuration"), 0;
                }
        } else {
                c = config_new();
                if (!c)
                        return -ENOMEM;
        }

        r = config_apply_floor(c, m->floor);
        if (r >= 0)
                r = config_normalize_paths(c, home, cwd);
        if (r < 0)
                return r;

        /* command.* and ssh.* are enforced by run-exec.c. Fail closed:
         * what this fenced cannot enforce yet must not be silently ignored. */
        const char *net_field, *net_message;
        if ((net_field = run_network_unsupported(c, &net_message)))
                return varlink_call_error_strings(call, ERROR_INVALID_CONFIG, "field", net_field, "message", net_message), 0;
        /* allowLocalBinding needs nothing: servers bind the sandbox's own
         * loopback, which only -p exposes. allowLocalOutbound(+Ports):
         * run-network.c. */

        *ret = TAKE_PTR(c);
        return 1;
}

static int fs_policy_from_config(const FenceConfig *c, FsPolicy *p) {
        char **lists[] = { c->filesystem.allow_read, c->filesystem.allow_execute, c->filesystem.allow_write,
                           c->filesystem.deny_read, c->filesystem.deny_write };
        char ***dst[] = { &p->allow_read, &p->allow_execute, &p->allow_write, &p->deny_read, &p->deny_write };

        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                if (strv_length(lists[i]) && !(*dst[i] = strv_copy(lists[i])))
                        return -ENOMEM;
        p->default_deny_read = config_default_deny_read(c);
        p->strict_deny_read = c->filesystem.strict_deny_read == TRISTATE_TRUE;
        /* "auto" is the minimal /dev: it works everywhere fenced runs. */
        p->devices_host = config_device_mode(c) == DEVICE_MODE_HOST;
        if (!p->devices_host && strv_length(c->devices.allow) && !(p->devices_allow = strv_copy(c->devices.allow)))
                return -ENOMEM;
        p->allow_git_config = tristate_to_bool(c->filesystem.allow_git_config, false);
        /* Listing without reading needs Landlock; the mount view has no such tier. */
        p->landlock_required = p->default_deny_read && strv_length(c->filesystem.allow_execute);
        /* WSL interop runs Windows programs through /init (binfmt_misc):
         * executable even with defaultDenyRead, as fence does. */
        if (tristate_to_bool(c->filesystem.wsl_interop, fs_policy_wsl_interop_detected()) &&
            strv_extend(&p->allow_execute, "/init") < 0)
                return -ENOMEM;
        return 0;
}

static int take_fd_param(VarlinkCall *call, yajl_val p, const char *name, int *ret) {
        int64_t idx;
        int fd;

        if (json_get_int(p, name, &idx) < 0 || idx < 0 || (uint64_t) idx >= varlink_call_n_fds(call))
                return invalid_argument(call, name, "must be the index of a file descriptor passed with the call");
        fd = varlink_call_take_fd(call, (size_t) idx);
        if (fd < 0)
                return invalid_argument(call, name, "file descriptor index used twice");
        *ret = fd;
        return 1;
}

static int method_run(VarlinkCall *call, yajl_val p, void *userdata) {
        Manager *m = userdata;
        const struct ucred *peer = varlink_connection_peer(varlink_call_connection(call));
        const gid_t *groups;
        size_t n_groups;
        _cleanup_strv_free_ char **argv = NULL, **env_in = NULL, **ports = NULL;
        _cleanup_free_ char *user = NULL, *net_error = NULL;
        SandboxSpec spec = { .cwd_fd = -1, .stdio_fds = { -1, -1, -1 }, .hide_dir = m->options.state_dir,
                             .protect_watch.fd = -1, .fs_template_ns = -1 };
        SandboxRun *run = NULL;
        _cleanup_config_ FenceConfig *cfg = NULL;
        char fdpath[64], target[4096];
        struct stat st;
        yajl_val config;
        bool monitor = false;
        ssize_t n;
        int r;

        if (m->shutting_down)
                return varlink_call_error_strings(call, ERROR_SETUP_FAILED, "message", "fenced is shutting down", NULL, NULL);
        _cleanup_close_ int peer_pidfd = varlink_connection_peer_pidfd(varlink_call_connection(call));
        if (cgroup_peer_is_sandboxed(&m->cgroups, peer->pid, peer_pidfd))
                return varlink_call_error_strings(call, ERROR_PERMISSION_DENIED, "message",
                                           "sandboxes cannot start other sandboxes", NULL, NULL);
        if (!varlink_call_more(call))
                return invalid_argument(call, "more", "Run must be called with \"more\": true");

        r = json_get_strv(p, "argv", &argv);
        if (r < 0 || strv_length(argv) == 0 || argv[0][0] == 0)
                return invalid_argument(call, "argv", "expected a non-empty array of strings");
        r = json_get_strv(p, "env", &env_in);
        if (r == -EINVAL)
                return invalid_argument(call, "env", "expected an array of \"NAME=value\" strings");
        r = json_get_strv(p, "ports", &ports);
        if (r == -EINVAL)
                return invalid_argument(call, "ports", "expected an array of \"[ADDR:]PORT\" strings");
        for (size_t i = 0; ports && ports[i]; i++) {
                struct sockaddr_storage ss;
                _cleanup_free_ char *msg = NULL;

                if (net_expose_parse(ports[i], &ss) >= 0)
                        continue;
                if (asprintf(&msg, "%s: expected PORT or ADDR:PORT with a literal IP address", ports[i]) < 0)
                        return -ENOMEM;
                return invalid_argument(call, "ports", msg);
        }
        r = json_get_bool(p, "monitor", &monitor);
        if (r == -EINVAL)
                return invalid_argument(call, "monitor", "expected a boolean");
        r = json_get_bool(p, "tty", &spec.tty);
        if (r == -EINVAL)
                return invalid_argument(call, "tty", "expected a boolean");
        config = json_get(p, "config");
        if (config && !YAJL_IS_NULL(config) && !YAJL_IS_OBJECT(config))
                return varlink_call_error_strings(call, ERROR_INVALID_CONFIG, "field", "config", "message", "expected a JSON object");

        r = take_fd_param(call, p, "cwdFd", &spec.cwd_fd);
        if (r <= 0)
                goto out;
        r = take_fd_param(call, p, "stdinFd", &spec.stdio_fds[0]);
        if (r <= 0)
                goto out;
        r = take_fd_param(call, p, "stdoutFd", &spec.stdio_fds[1]);
        if (r <= 0)
                goto out;
        r = take_fd_param(call, p, "stderrFd", &spec.stdio_fds[2]);
        if (r <= 0)
                goto out;

        if (fstat(spec.cwd_fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
                r = invalid_argument(call, "cwdFd", "not a directory");
                goto out;
        }
        /* Only the path string is taken from here; nothing is opened by it. */
        snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", spec.cwd_fd);
        n = readlink(fdpath, target, sizeof target - 1);
        if (n <= 0 || target[0] != '/') {
                r = invalid_argument(call, "cwdFd", "the working directory has no path (deleted?)");
                goto out;
        }
        target[n] = 0;
        if (endswith(target, " (deleted)")) {
                r = invalid_argument(call, "cwdFd", "the working directory was deleted");
                goto out;
        }
        spec.cwd_path = strdup(target);

        n_groups = varlink_connection_peer_groups(varlink_call_connection(call), &groups);
        spec.groups = n_groups ? malloc(n_groups * sizeof(gid_t)) : NULL;
        if (!spec.cwd_path || (n_groups && !spec.groups)) {
                r = -ENOMEM;
                goto out;
        }
        if (n_groups)
                memcpy(spec.groups, groups, n_groups * sizeof(gid_t));
        spec.n_groups = n_groups;
        spec.rlimits = malloc(sizeof *spec.rlimits);
        if (!spec.rlimits) {
                r = -ENOMEM;
                goto out;
        }
        r = peer_rlimits_read(peer->pid, peer_pidfd, spec.rlimits);
        if (r < 0) {
                log_debug_errno(r, "Cannot read the resource limits of pid %d: %m", (int) peer->pid);
                r = varlink_call_error_strings(call, ERROR_PERMISSION_DENIED, "message",
                                               "cannot read the resource limits of the calling process "
                                               "(did it exit?)", NULL, NULL);
                goto out;
        }
        spec.uid = peer->uid;
        spec.gid = peer->gid;
        spec.seccomp_deny = &m->seccomp_deny;
        r = lookup_user(peer->uid, &user, &spec.fs.home);
        if (r < 0)
                goto out;
        r = config_for_run(m, call, config, spec.fs.home, spec.cwd_path, &cfg);
        if (r <= 0)
                goto out;
        r = fs_policy_from_config(cfg, &spec.fs);
        if (r < 0)
                goto out;
        if (cfg->network.allow_all_unix_sockets != TRISTATE_TRUE) {
                r = unix_socket_masks(cfg->network.allow_unix_sockets, spec.uid, spec.gid, spec.groups, spec.n_groups,
                                      &spec.fs.deny_read);
                if (r < 0) {
                        log_warning_errno(r, "Cannot list the host's Unix sockets: %m");
                        goto out;
                }
        }
        /* The protection walk of the cwd tree happens where something is writable. */
        if (spec.fs.allow_write)
                fs_protect_watch_get(m->protect_watches, spec.uid, spec.gid, spec.groups, spec.n_groups, spec.cwd_fd,
                                     spec.fs.allow_git_config, &spec.protect_watch);
        spec.argv = TAKE_PTR(argv);
        r = build_env(env_in, &spec.env);
        if (r < 0)
                goto out;

        run = calloc(1, sizeof *run);
        if (!run) {
                r = -ENOMEM;
                goto out;
        }
        r = run_exec_prepare(m, call, cfg, &spec, &run->exec);
        if (r <= 0)
                goto out;
        run->uid = peer->uid;
        run->user = TAKE_PTR(user);
        run->monitor = monitor;
        run->manager = m;

        run_fs_template(run, &spec);

        r = run_network_setup(run, cfg, ports, &spec, &net_error);
        if (r < 0) {
                r = varlink_call_error_strings(call, ERROR_SETUP_FAILED, "message",
                                        net_error ?: "could not set up the sandbox's network", NULL, NULL);
                goto out;
        }

        r = sandbox_spawn(m->event, &m->cgroups, &spec,
                          &(SandboxCallbacks) { .started = on_started, .finished = on_finished,
                                                .exec_listener = on_exec_listener, .fs_template = on_fs_template },
                          run, &run->sandbox);
        if (r < 0) {
                _cleanup_free_ char *msg = NULL;
                if (asprintf(&msg, "could not create the sandbox: %s", strerror(-r)) < 0)
                        msg = NULL;
                r = varlink_call_error_strings(call, ERROR_SETUP_FAILED, "message", msg ? msg : "could not create the sandbox",
                                        NULL, NULL);
                goto out;
        }

        run_network_started(run);
        run->call = varlink_call_ref(call);
        varlink_call_set_cancel_handler(call, on_call_cancelled, run);
        manager_add_run(m, run);
        log_debug("Sandbox %s created for uid %u.", sandbox_id(run->sandbox), (unsigned) run->uid);
        return 0;

out:
        sandbox_spec_done(&spec);
        sandbox_run_free(run);
        return r < 0 ? r : 0;
}

/* A sandbox's pid namespace hides every other process from it: fenced must
 * not hand out its siblings' pids and command lines, nor signal them, to it. */
static bool caller_is_sandboxed(Manager *m, VarlinkCall *call) {
        VarlinkConnection *c = varlink_call_connection(call);
        _cleanup_close_ int pidfd = varlink_connection_peer_pidfd(c);

        return cgroup_peer_is_sandboxed(&m->cgroups, varlink_connection_peer(c)->pid, pidfd);
}

static int method_list(VarlinkCall *call, yajl_val p, void *userdata) {
        Manager *m = userdata;
        const struct ucred *peer = varlink_connection_peer(varlink_call_connection(call));
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *params = NULL;
        int r;

        if (!g)
                return -ENOMEM;
        if (caller_is_sandboxed(m, call))
                return varlink_call_error_strings(call, ERROR_PERMISSION_DENIED, "message",
                                                  "sandboxes cannot list sandboxes", NULL, NULL);
        json_gen_open(g);
        json_gen_key(g, "sandboxes");
        json_gen_array_open(g);
        for (SandboxRun *run = m->runs; run; run = run->next) {
                char cgroup[256];

                if (peer->uid != 0 && run->uid != peer->uid)
                        continue;
                snprintf(cgroup, sizeof cgroup, "%s/%s", m->cgroups.slice, sandbox_id(run->sandbox));
                json_gen_open(g);
                json_gen_kv_string(g, "id", sandbox_id(run->sandbox));
                json_gen_kv_int(g, "pid", sandbox_pid(run->sandbox));
                json_gen_kv_int(g, "uid", run->uid);
                json_gen_kv_string(g, "user", run->user ? run->user : "");
                json_gen_kv_int(g, "startedUsec", (int64_t) sandbox_started_usec(run->sandbox));
                json_gen_key(g, "argv");
                json_gen_strv(g, sandbox_argv(run->sandbox));
                json_gen_kv_string(g, "cgroup", cgroup);
                json_gen_close(g);
        }
        json_gen_array_close(g);
        json_gen_close(g);
        r = json_gen_take(g, &params);
        if (r < 0)
                return r;
        return varlink_call_reply(call, params, false);
}

static int method_kill(VarlinkCall *call, yajl_val p, void *userdata) {
        Manager *m = userdata;
        const struct ucred *peer = varlink_connection_peer(varlink_call_connection(call));
        const char *id = json_get_string(p, "id");
        int64_t sig = SIGTERM;
        SandboxRun *run;
        int r;

        if (caller_is_sandboxed(m, call))
                return varlink_call_error_strings(call, ERROR_PERMISSION_DENIED, "message",
                                                  "sandboxes cannot signal sandboxes", NULL, NULL);
        if (!id)
                return invalid_argument(call, "id", "expected a sandbox id (see fencectl ps)");
        r = json_get_int(p, "signal", &sig);
        if (r == -EINVAL || sig <= 0 || sig >= _NSIG)
                return invalid_argument(call, "signal", "expected a signal number between 1 and 64");

        run = manager_find_run(m, id, peer->uid);
        if (!run)
                return varlink_call_error_strings(call, ERROR_NO_SUCH_SANDBOX, "id", id, NULL, NULL);
        r = sandbox_signal(run->sandbox, (int) sig);
        if (r == -ESRCH)
                return varlink_call_error_strings(call, ERROR_NO_SUCH_SANDBOX, "id", id, NULL, NULL);
        if (r < 0)
                return r;
        return varlink_call_reply(call, NULL, false);
}

static int method_get_features(VarlinkCall *call, yajl_val p, void *userdata) {
        Manager *m = userdata;
        static const char * const namespaces[] = { "mnt", "pid", "net", "ipc", "uts", "cgroup", NULL };
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *params = NULL;
        const char * const *calls, * const *conditional;
        int r;

        if (!g)
                return -ENOMEM;
        json_gen_open(g);
        json_gen_kv_string(g, "version", FENCE_VERSION);
        json_gen_key(g, "namespaces");
        json_gen_strv(g, (char * const *) namespaces);
        json_gen_kv_string(g, "cgroup", m->cgroups.slice);
        json_gen_kv_int(g, "landlockAbi", landlock_abi() > 0 ? landlock_abi() : 0);
        json_gen_kv_bool(g, "seccomp", true);
        json_gen_key(g, "seccompDenyList");
        seccomp_deny_lists(&calls, &conditional);
        json_gen_array_open(g);
        for (const char * const *c = calls; *c; c++)
                json_gen_string(g, *c);
        for (const char * const *c = conditional; *c; c++)
                json_gen_string(g, *c);
        json_gen_array_close(g);
        json_gen_kv_bool(g, "execSupervisor", true);
        json_gen_kv_bool(g, "networkFilter", true);
        json_gen_close(g);
        r = json_gen_take(g, &params);
        if (r < 0)
                return r;
        return varlink_call_reply(call, params, false);
}

static int method_get_policy_floor(VarlinkCall *call, yajl_val p, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *params = NULL;

        if (asprintf(&params, "{\"policy\":%s}", m->policy_floor) < 0)
                return -ENOMEM;
        return varlink_call_reply(call, params, false);
}

int manager_add_sandbox_interface(Manager *m) {
        static const VarlinkMethod methods[] = {
                { "Run", method_run },
                { "List", method_list },
                { "Kill", method_kill },
                { "GetFeatures", method_get_features },
                { "GetPolicyFloor", method_get_policy_floor },
                { NULL, NULL },
        };

        return varlink_server_add_interface(m->varlink, io_fence_sandbox_varlink, methods, m);
}
