#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exec-policy.h"
#include "exec-supervisor.h"
#include "json.h"
#include "log.h"
#include "run-exec.h"
#include "strv.h"

#define ERROR_COMMAND_DENIED "io.fence.Sandbox.CommandDenied"

struct RunExec {
        CommandPolicy *policy;          /* the supervisor's helper works on a copy of it */
        ExecSupervisorIds ids;          /* the sandbox's fs ids: the caller's, fixed */
        gid_t *groups;                  /* ids.groups */
        char *failure;                  /* why the sandbox was killed */
        ExecSupervisor *supervisor;
        bool attached;
};

RunExec *run_exec_free(RunExec *e) {
        if (!e)
                return NULL;
        exec_supervisor_free(e->supervisor);
        command_policy_free(e->policy);
        free(e->groups);
        free(e->failure);
        free(e);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(RunExec *, run_exec_free);

int run_exec_prepare(Manager *m, VarlinkCall *call, const FenceConfig *c, SandboxSpec *spec, RunExec **ret) {
        _cleanup_(run_exec_freep) RunExec *e = NULL;
        _cleanup_free_ char *message = NULL;
        int r;

        e = calloc(1, sizeof(RunExec));
        if (!e)
                return -ENOMEM;
        /* The config was validated: only OOM can fail here. */
        if (spec->n_groups > 0) {
                e->groups = malloc(spec->n_groups * sizeof(gid_t));
                if (!e->groups)
                        return -ENOMEM;
                memcpy(e->groups, spec->groups, spec->n_groups * sizeof(gid_t));
        }
        e->ids = (ExecSupervisorIds) { .uid = spec->uid, .gid = spec->gid,
                                       .groups = e->groups, .n_groups = spec->n_groups };
        r = exec_policy_from_config(c, &e->policy);
        if (r < 0)
                return r;

        r = exec_policy_preflight(e->policy, spec->argv, &message);
        if (r < 0)
                return r;
        if (r > 0) {
                log_info("Refused a sandbox for uid %u: %s", (unsigned) spec->uid, message);
                r = varlink_call_error_strings(call, ERROR_COMMAND_DENIED, "message", message, NULL, NULL);
                return r < 0 ? r : 0;
        }

        if (exec_policy_needs_supervisor(e->policy))
                spec->exec_notify = &m->exec_notify;
        else {
                r = exec_policy_path_masks(e->policy, spec->env, &m->exec_masks, &spec->fs.deny_read);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(e);
        return 1;
}

static void emit(SandboxRun *run, pid_t pid, const char *comm, const char *action, int priority,
                 const EventField *f, size_t n) {
        Event e = {
                .sandbox = sandbox_id(run->sandbox),
                .uid = run->uid,
                .pid = pid,
                .comm = comm,
                .source = "exec",
                .action = action,
                .priority = priority,
                .fields = f,
                .n_fields = n,
        };
        manager_emit(run->manager, run, &e);
}

static void on_denied(ExecSupervisor *s, pid_t pid, const char *path, char * const *argv,
                      const CommandMatch *match, void *userdata) {
        SandboxRun *run = userdata;
        _cleanup_free_ char *cmdline = strv_join(argv, " "), *message = exec_policy_describe(match);

        EventField f[] = {
                EVENT_STR("path", path),
                EVENT_STR("commandLine", cmdline ?: ""),
                EVENT_STR("command", match->command ?: ""),
                EVENT_STR("setting", command_rule_source_to_string(match->source)),
                EVENT_STR("rule", match->rule ?: ""),
                EVENT_STR("detail", match->detail ?: ""),
                EVENT_STR("message", message ?: ""),
        };
        emit(run, pid, NULL, "denied", LOG_WARNING, f, ELEMENTSOF(f));
}

const char *run_exec_failure(const RunExec *e) {
        return e ? e->failure : NULL;
}

static void lost(SandboxRun *run, int error) {
        char msg[256];

        if (error == -ETIMEDOUT)
                snprintf(msg, sizeof msg, "the exec supervisor could not judge an exec within %u s (its memory "
                         "or file did not answer); the sandbox is killed", EXEC_SUPERVISOR_JUDGE_TIMEOUT_S);
        else
                snprintf(msg, sizeof msg, "the exec supervisor is gone (%s); the sandbox is killed", strerror(-error));
        if (run->exec && !run->exec->failure)
                run->exec->failure = strdup(msg);
        log_warning("Sandbox %s: %s.", sandbox_id(run->sandbox), msg);
        EventField f[] = { EVENT_STR("error", msg) };
        /* The pid is the helper's, already gone: name it rather than look it up. */
        emit(run, run->exec && run->exec->supervisor ? exec_supervisor_get_pid(run->exec->supervisor) : 0,
             "fenced-execsup", "supervisor-lost", LOG_ERR, f, ELEMENTSOF(f));
        (void) sandbox_terminate(run->sandbox);
}

static void on_done(ExecSupervisor *s, int error, void *userdata) {
        SandboxRun *run = userdata;

        /* 0: no process that could exec is left; the sandbox is ending. */
        if (error < 0)
                lost(run, error);
}

void run_exec_attach(SandboxRun *run, int listener_fd) {
        RunExec *e = run->exec;
        int r;

        if (!e || e->attached || !exec_policy_needs_supervisor(e->policy)) {
                /* Not asked for: the execs fail with ENOSYS, so end it. */
                safe_close(listener_fd);
                lost(run, -EBADMSG);
                return;
        }
        e->attached = true;
        r = exec_supervisor_attach_with_ids(run->manager->event, listener_fd, e->policy, &e->ids, on_denied, run,
                                            &e->supervisor);
        if (r < 0) {
                lost(run, r);
                return;
        }
        exec_supervisor_set_done_callback(e->supervisor, on_done);
        log_debug("Sandbox %s: exec supervisor %d attached.", sandbox_id(run->sandbox),
                  (int) exec_supervisor_get_pid(e->supervisor));
}
