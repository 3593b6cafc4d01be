/* manager.h — fenced's main context: the event loop, the varlink server, the
 * cgroup subtree, the event sinks and the running sandboxes. Everything that
 * is mutable in the daemon hangs off the one Manager.
 */
#pragma once

#include <stdbool.h>
#include <linux/filter.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "cgroup.h"
#include "config.h"
#include "events.h"
#include "ratelimit.h"
#include "sandbox.h"
#include "varlink.h"

typedef struct ManagerOptions {
        const char *socket_path;
        const char *state_dir;
        const char *log_dir;
        const char *policy_path;
        uint64_t exit_idle_usec;        /* 0: never exit when idle */
} ManagerOptions;

typedef struct Manager Manager;
typedef struct NetSandbox NetSandbox;

/* A running sandbox and the Run call that asked for it. */
typedef struct SandboxRun {
        Manager *manager;
        Sandbox *sandbox;
        VarlinkCall *call;      /* NULL once the client went away */
        uid_t uid;
        char *user;
        bool monitor;
        unsigned events_dropped;        /* monitor events the client did not read in time */
        struct RunExec *exec;   /* command policy (run-exec.h) */
        NetSandbox *net;        /* the filtered network, NULL without one */
        unsigned audit_session;         /* the kernel's audit session of its processes, 0: unknown */
        RateLimit syscall_events;       /* run-syscall.c: denials reported */
        unsigned syscall_suppressed;    /* denials over that limit, not reported yet */
        char *fs_template_key;  /* fs-template.h: where a template it sends goes, or NULL */
        size_t fs_template_key_len;
        uint64_t fs_template_generation;
        struct SandboxRun *prev, *next;
} SandboxRun;

struct Manager {
        sd_event *event;
        VarlinkServer *varlink;
        CgroupRoot cgroups;
        EventLog *events;
        ManagerOptions options;
        char *policy_floor;     /* JSON object text, "{}" when none */
        FenceConfig *floor;     /* parsed; empty when none */
        struct sock_fprog seccomp_deny; /* the syscall deny filter, compiled once */
        struct sock_fprog exec_notify;  /* the argv exec policy's notify filter, compiled once */
        struct ExecMaskCache *exec_masks; /* path-mode masks found in the system directories */
        struct FsProtectWatches *protect_watches; /* fanotify watches of the protection walks */
        struct FsTemplates *fs_templates; /* templates of the filesystem policies' mounts */
        struct SeccompAudit *seccomp_audit; /* the deny filter's denials (run-syscall.h) */

        SandboxRun *runs;
        unsigned n_runs;

        sd_event_source *idle_timer;
        sd_event_source *shutdown_timer;
        bool shutting_down;
        bool created_socket;    /* ours to unlink at exit (not socket-activated) */
};

int manager_new(Manager **ret, const ManagerOptions *options);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Opens the socket (or takes it from socket activation), prepares the cgroup
 * subtree (cleaning leftovers), the event log and the policy floor. */
int manager_start(Manager *m);
/* Runs until SIGTERM/SIGINT or idle exit; returns the exit status. */
int manager_run(Manager *m);

void manager_add_run(Manager *m, SandboxRun *run);
void manager_remove_run(Manager *m, SandboxRun *run);
/* The running sandbox with that id, of owner's (0: of anyone), or NULL. */
SandboxRun *manager_find_run(Manager *m, const char *id, uid_t owner);
/* Frees a run that is not (or no longer) in the manager's list, with
 * everything it owns: the sandbox (killed if it still runs), its exec
 * supervisor and network. */
void sandbox_run_free(SandboxRun *run);
/* Emits an event of a sandbox to the sinks and, if it asked, its client. */
void manager_emit(Manager *m, SandboxRun *run, const Event *e);

/* The io.fence.Sandbox interface (iface-sandbox.c). */
int manager_add_sandbox_interface(Manager *m);
