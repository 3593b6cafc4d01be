/* seccomp-util.h — seccomp programs built once, loaded many times.
 *
 * The daemon builds a filter with libseccomp once (at start-up or per
 * policy) and keeps the BPF; a sandbox child only loads it with
 * seccomp_load_prog(): one system call, no allocation, safe between
 * clone() and execve() of a multi-threaded parent.
 *
 * Architectures: the native ABI plus, on x86-64, i386 (int $0x80 and
 * 32-bit programs) with the same rules. Every other ABI — x32 on x86-64 —
 * gets ENOSYS for every system call, so a foreign ABI can never be a way
 * around the rules.
 */
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include "macro.h"

/* The listener's flags ioctl: Linux 6.6, not in Debian 12's headers. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/* A context that allows by default, with the architectures above. */
int seccomp_ctx_new(scmp_filter_ctx *ret);
DEFINE_TRIVIAL_CLEANUP_FUNC(scmp_filter_ctx, seccomp_release);
#define _cleanup_seccomp_ _cleanup_(seccomp_releasep)

/* The context's BPF program; free it with seccomp_prog_done(). */
int seccomp_prog_compile(scmp_filter_ctx ctx, struct sock_fprog *ret);
/* a then b, as one program (b's jumps are relative, so they stay valid).
 * a must end by falling through to b (no instruction jumps past its end). */
int seccomp_prog_concat(const struct sock_filter *a, size_t n_a, const struct sock_fprog *b,
                        struct sock_fprog *ret);
void seccomp_prog_done(struct sock_fprog *p);

/* seccomp(SECCOMP_SET_MODE_FILTER, flags, p) on the calling thread. The
 * caller must have set PR_SET_NO_NEW_PRIVS (or hold CAP_SYS_ADMIN).
 * Returns the listener fd with SECCOMP_FILTER_FLAG_NEW_LISTENER, else 0;
 * -errno on failure. Async-signal-safe. */
int seccomp_load_prog(const struct sock_fprog *p, unsigned flags);

/* Whether the kernel offers a seccomp return action ("user_notif", "log"). */
bool seccomp_action_available(const char *name);
