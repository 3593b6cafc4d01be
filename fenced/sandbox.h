/* sandbox.h — one sandbox as the daemon sees it: spawning it (clone3 into
 * fresh namespaces and its own cgroup), following its setup and exit over the
 * setup socket and its pidfd, signalling it, and removing every trace of it.
 *
 * The daemon must stay single-threaded: the clone3() child runs daemon code
 * (malloc included) before it executes the command.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "cgroup.h"
#include "sandbox-child.h"

typedef struct Sandbox Sandbox;

typedef struct SandboxExit {
        int exit_code;          /* valid when signal == 0 */
        int signal;             /* the command died of this signal */
        int exec_error;         /* errno of a failed execve(), else 0 */
        const char *exec_path;  /* the command that failed to execute */
        int setup_error;        /* errno of a failed setup, else 0 */
        const char *setup_what; /* the setup step that failed */
} SandboxExit;

typedef struct SandboxCallbacks {
        /* The command is being executed (its host pid is known). */
        void (*started)(Sandbox *s, void *userdata);
        /* The command's process sent the exec supervisor's seccomp listener
         * (before it started); the callee owns listener_fd. */
        void (*exec_listener)(Sandbox *s, int listener_fd, void *userdata);
        /* The sandbox's init sent a template of its filesystem policy's
         * mounts (fs-template.h), before the command started; the callee
         * owns ns_fd. */
        void (*fs_template)(Sandbox *s, int ns_fd, void *userdata);
        /* Everything is gone, the cgroup removed; s is still valid during
         * the call and must be freed by the owner afterwards. */
        void (*finished)(Sandbox *s, const SandboxExit *e, void *userdata);
} SandboxCallbacks;

/* Takes the spec's resources (fds, strings) on success and on failure. */
int sandbox_spawn(sd_event *event, CgroupRoot *cgroups, SandboxSpec *spec,
                  const SandboxCallbacks *cb, void *userdata, Sandbox **ret);
Sandbox *sandbox_free(Sandbox *s);

/* Sends sig to the command (through the sandbox's init). */
int sandbox_signal(Sandbox *s, int sig);
/* SIGKILLs every process of the sandbox at once (cgroup.kill). */
int sandbox_terminate(Sandbox *s);

const char *sandbox_id(Sandbox *s);
pid_t sandbox_pid(Sandbox *s);          /* the command's pid on the host, 0 before start */
pid_t sandbox_init_pid(Sandbox *s);
uid_t sandbox_uid(Sandbox *s);
uint64_t sandbox_started_usec(Sandbox *s);     /* CLOCK_REALTIME */
char * const *sandbox_argv(Sandbox *s);
uint64_t sandbox_cgroup_id(Sandbox *s);
bool sandbox_is_running(Sandbox *s);
