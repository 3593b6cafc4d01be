/* seccomp-audit.h — the seccomp deny filter's denials, read back as events.
 *
 * The deny filter is loaded with SECCOMP_FILTER_FLAG_LOG, so the kernel
 * writes an audit record (AUDIT_SECCOMP, type 1326) for every call it
 * refuses. fenced reads those records from the audit netlink socket's
 * read-only multicast group (AUDIT_NLGRP_READLOG, needs CAP_AUDIT_READ),
 * which gets every record whether or not auditd runs, and without the rate
 * limit of the kernel log. A record names the process by pid (fenced's pid
 * namespace); seccomp_audit_sandbox_of() maps it to its sandbox through
 * /proc/PID/cgroup, and remembers the answer for a few seconds, since the
 * kernel hands records over asynchronously and the process may be gone by
 * then. Best effort: a process whose first record arrives after it exited
 * cannot be mapped, and a kernel whose audit backlog overflows drops
 * records.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct SeccompAuditRecord {
        pid_t pid;
        uint32_t arch;          /* AUDIT_ARCH_* */
        int syscall;
        uint32_t code;          /* the filter's action, SECCOMP_RET_* (data bits masked) */
        uint32_t session;       /* audit session ("ses"), UINT32_MAX when unset */
        char comm[64];
} SeccompAuditRecord;

/* Parses the text of one AUDIT_SECCOMP record ("audit(...): auid=... pid=...
 * comm="..." ... arch=c000003e syscall=101 ... code=0x50000"); comm may be
 * quoted or hex-encoded, as audit writes it. -EINVAL when a field is missing. */
int seccomp_audit_parse(const char *text, size_t len, SeccompAuditRecord *ret);

typedef struct SeccompAudit SeccompAudit;

/* The sandbox id of pid: the cgroup component right below ".../fence.slice/"
 * in /proc/PID/cgroup, in *ret (at most size bytes), or what a (a may be
 * NULL) found for that pid in the last SECCOMP_AUDIT_REMEMBER_USEC. -ENOENT
 * when pid is gone or not in a sandbox. */
#define SECCOMP_AUDIT_REMEMBER_USEC (5 * 1000 * 1000ULL)
int seccomp_audit_sandbox_of(SeccompAudit *a, pid_t pid, char *ret, size_t size);
typedef void (*SeccompAuditFn)(const SeccompAuditRecord *r, void *userdata);

/* Subscribes to the records; fn runs on e's loop for each AUDIT_SECCOMP one.
 * -EPERM without CAP_AUDIT_READ, -EPROTONOSUPPORT without audit. */
int seccomp_audit_open(sd_event *e, SeccompAuditFn fn, void *userdata, SeccompAudit **ret);
SeccompAudit *seccomp_audit_free(SeccompAudit *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(SeccompAudit *, seccomp_audit_free);
