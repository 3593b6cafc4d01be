/* run-exec.h — the exec policy of one Run request (exec-policy.h) tied to
 * the daemon: the preflight answers the call with
 * io.fence.Sandbox.CommandDenied, the spec gets the path-mode masks or the
 * argv-mode notify filter, and once the sandbox hands over its listener the
 * exec supervisor is attached. Denied execs become "exec"/"denied" events of
 * the sandbox; a supervisor that dies takes the sandbox with it
 * ("exec"/"supervisor-lost" event, then cgroup.kill): fail closed.
 */
#pragma once

#include "config.h"
#include "manager.h"
#include "sandbox-child.h"

typedef struct RunExec RunExec;

/* 1: go on (*ret set, spec updated: spec->argv and spec->env must be set);
 * 0: the command is denied and the call was answered; negative errno. */
int run_exec_prepare(Manager *m, VarlinkCall *call, const FenceConfig *c, SandboxSpec *spec, RunExec **ret);
/* The sandbox sent its listener: takes listener_fd, attaches the
 * supervisor; on failure kills the sandbox with an event. */
void run_exec_attach(SandboxRun *run, int listener_fd);
/* Why the supervisor took the sandbox down, NULL if it did not. */
const char *run_exec_failure(const RunExec *e);
RunExec *run_exec_free(RunExec *e);
