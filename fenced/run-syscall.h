/* run-syscall.h — the seccomp deny filter's denials as events of the
 * sandboxes that made them (source "syscall", action "denied"): the glue
 * between the audit records (seccomp-audit.h) and the running sandboxes. */
#pragma once

#include "manager.h"

/* Subscribes m to the kernel's seccomp audit records. Without audit or
 * CAP_AUDIT_READ the denials stay in the kernel log only: logged once, not
 * an error. */
void run_syscall_monitor_start(Manager *m);

/* After the command started: remembers the sandbox's audit session, so
 * that its denials are attributed even when the process is gone. */
void run_syscall_started(SandboxRun *run);
