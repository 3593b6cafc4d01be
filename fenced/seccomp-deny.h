/* seccomp-deny.h — the system calls a sandbox may not make.
 *
 * Loaded in the command's process right before execve(), after
 * PR_SET_NO_NEW_PRIVS. A denied call fails with EPERM and the process goes
 * on; nothing is ever killed. Exceptions: clone3() fails with ENOSYS, so libc
 * falls back to clone(), whose flags the filter can see; a foreign ABI (x32)
 * gets ENOSYS for everything (see seccomp-util.h).
 *
 * The list is fence's 27 calls plus what a multi-user daemon must also close;
 * docs/security.md gives the reason for each.
 *
 * Observability: loaded with SECCOMP_DENY_LOAD_FLAGS (SECCOMP_FILTER_FLAG_LOG)
 * every denial becomes a kernel audit record, type=1326 (SECCOMP), with pid,
 * comm, exe, arch, syscall and code=0x50000 (SECCOMP_RET_ERRNO; the errno
 * is not recorded). Without auditd the kernel prints these records to the
 * kernel log (/dev/kmsg), rate-limited: a flood of denials loses records.
 */
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>

#include "macro.h"

#define SECCOMP_DENY_LOAD_FLAGS SECCOMP_FILTER_FLAG_LOG

/* Builds the filter (once, in the daemon); free with seccomp_prog_done(). */
int seccomp_deny_compile(struct sock_fprog *ret);

/* Builds and loads it into the calling thread (tests, simple callers).
 * Needs PR_SET_NO_NEW_PRIVS. */
int seccomp_deny_install(void);

/* What is denied, one entry per rule, for `fencectl features`: the system
 * calls refused outright, and those refused with some arguments (named with
 * them in parentheses, "ioctl(TIOCSTI)"). Both NULL-terminated. */
void seccomp_deny_lists(const char * const **ret_calls, const char * const **ret_conditional);
