/* run-syscall.c — see run-syscall.h. */

#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <syslog.h>

#include "clock.h"
#include "log.h"
#include "run-syscall.h"
#include "seccomp-audit.h"

/* Denials reported per second and burst, per sandbox: a loop of denied
 * calls must not flood the journal and events.jsonl. */
#define SYSCALL_EVENT_RATE 20.0
#define SYSCALL_EVENT_BURST 100.0

/* Its audit session: set by the sandbox's init (sandbox-child.c), unique to
 * the sandbox, and in the record even when the process is gone. */
static SandboxRun *run_by_session(Manager *m, uint32_t session) {
        if (session == 0 || session == UINT32_MAX)
                return NULL;
        for (SandboxRun *run = m->runs; run; run = run->next)
                if (run->audit_session == session)
                        return run;
        return NULL;
}

/* The audit session of /proc/<pid>/sessionid ("self" too), 0 when unset. */
static unsigned read_session(const char *pid) {
        char path[64], buf[16] = {};
        _cleanup_close_ int fd = -1;
        unsigned long v;
        char *end;

        snprintf(path, sizeof path, "/proc/%s/sessionid", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, buf, sizeof buf - 1) <= 0)
                return 0;
        v = strtoul(buf, &end, 10);
        return v > 0 && v < UINT32_MAX && (*end == 0 || *end == '\n') ? (unsigned) v : 0;
}

void run_syscall_started(SandboxRun *run) {
        char pid[16];
        unsigned session;

        snprintf(pid, sizeof pid, "%d", (int) sandbox_pid(run->sandbox));
        session = read_session(pid);
        /* fenced's own session: the sandbox could not start one (its login
         * uid was set and may not change), and shares it with every other
         * such sandbox: attributing by it would mix them up. */
        if (session != read_session("self"))
                run->audit_session = session;
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
        run = run_by_session(m, r->session);
        if (run)
                snprintf(id, sizeof id, "%s", sandbox_id(run->sandbox));
        else {
                if (seccomp_audit_sandbox_of(m->seccomp_audit, r->pid, id, sizeof id) < 0)
                        return;
                run = manager_find_run(m, id, 0);
                if (!run)
                        return;         /* another fenced's sandbox, or one that ended */
        }

        name = seccomp_syscall_resolve_num_arch(r->arch, r->syscall);
        if (name && strcmp(name, "clone3") == 0)
                return;
        if (!ratelimit_take(&run->syscall_events, SYSCALL_EVENT_RATE, SYSCALL_EVENT_BURST, now_usec())) {
                run->syscall_suppressed++;
                return;
        }
        if (run->syscall_suppressed > 0) {
                EventField sf[] = { EVENT_INT("count", run->syscall_suppressed) };
                Event se = {
                        .sandbox = id, .uid = run->uid, .source = "syscall", .action = "suppressed",
                        .priority = LOG_WARNING, .fields = sf, .n_fields = ELEMENTSOF(sf),
                };
                manager_emit(m, run, &se);
                run->syscall_suppressed = 0;
        }
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
