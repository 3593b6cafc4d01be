/* run-syscall.c — see run-syscall.h. */

#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "run-syscall.h"
#include "seccomp-audit.h"

static SandboxRun *run_by_id(Manager *m, const char *id) {
        for (SandboxRun *run = m->runs; run; run = run->next)
                if (run->sandbox && strcmp(sandbox_id(run->sandbox), id) == 0)
                        return run;
        return NULL;
}

static void on_record(const SeccompAuditRecord *r, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *name = NULL;
        char id[128], number[32];
        const char *arch;
        SandboxRun *run;

        /* The deny filter answers with errors only; and clone3()'s ENOSYS
         * is how runtimes are steered to clone(), not a violation. */
        if ((r->code & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ERRNO)
                return;
        if (seccomp_audit_sandbox_of(r->pid, id, sizeof id) < 0)
                return;
        run = run_by_id(m, id);
        if (!run)
                return;         /* another fenced's sandbox, or one that ended */

        name = seccomp_syscall_resolve_num_arch(r->arch, r->syscall);
        if (name && strcmp(name, "clone3") == 0)
                return;
        arch = r->arch == SCMP_ARCH_X86_64 ? "x86_64" : r->arch == SCMP_ARCH_X86 ? "x86" :
               r->arch == SCMP_ARCH_AARCH64 ? "aarch64" : "other";
        snprintf(number, sizeof number, "%d", r->syscall);

        EventField f[] = {
                EVENT_STR("syscall", name ?: number),
                EVENT_INT("number", r->syscall),
                EVENT_STR("arch", arch),
        };
        Event e = {
                .sandbox = id,
                .uid = run->uid,
                .pid = r->pid,
                .comm = r->comm[0] ? r->comm : NULL,
                .source = "syscall",
                .action = "denied",
                .priority = LOG_WARNING,
                .fields = f,
                .n_fields = ELEMENTSOF(f),
        };
        manager_emit(m, run, &e);
}

void run_syscall_monitor_start(Manager *m) {
        int r = seccomp_audit_open(m->event, on_record, m, &m->seccomp_audit);

        if (r < 0)
                log_info_errno(r, "Cannot read the kernel's seccomp audit records (%m): "
                                 "denied system calls are in the kernel log only, not in the events.");
}
