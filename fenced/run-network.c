#include <errno.h>
#include <fcntl.h>
#include <syslog.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "net-sandbox.h"
#include "run-network.h"
#include "strv.h"

static void on_net_event(void *userdata, const char *source, const char *action, pid_t pid,
                         const EventField *fields, size_t n_fields) {
        SandboxRun *run = userdata;
        Event e = {
                .uid = run->uid,
                .pid = pid,
                .source = source,
                .action = action,
                .priority = LOG_WARNING,
                .fields = fields,
                .n_fields = n_fields,
        };

        if (!run->sandbox)
                return;
        e.sandbox = sandbox_id(run->sandbox);
        if (pid == 0) {
                /* Unknown process: name the sandbox's command. */
                e.pid = sandbox_pid(run->sandbox);
                e.comm = sandbox_argv(run->sandbox)[0];
        }
        manager_emit(run->manager, run, &e);
}

int run_network_setup(SandboxRun *run, const FenceConfig *c, char **expose, SandboxSpec *spec, char **ret_error) {
        NetSandboxOptions o = { .config = c, .expose = expose, .uid = run->uid, .gid = spec->gid };
        NetSandbox *ns = NULL;
        int fd, r;

        if (!net_sandbox_wanted(&o))
                return 0;
        r = net_sandbox_new(run->manager->event, &o, on_net_event, run, &ns, ret_error);
        if (r < 0)
                return r;
        run->net = ns;

        fd = fcntl(net_sandbox_netns_fd(ns), F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        spec->netns_fd = fd;
        spec->join_netns = true;
        spec->resolv_conf = strdup(net_sandbox_resolv_conf(ns));
        if (!spec->resolv_conf)
                return -ENOMEM;
        return net_sandbox_env(ns, &spec->env);
}

void run_network_started(SandboxRun *run) {
        char *path = NULL;

        if (!run->net)
                return;
        if (asprintf(&path, "%s/%s", run->manager->cgroups.slice, sandbox_id(run->sandbox)) < 0)
                return;
        (void) net_sandbox_set_cgroup(run->net, path);
        free(path);
}

const char *run_network_unsupported(const FenceConfig *c, const char **ret_message) {
        /* Everything of network.* is enforced (allowUnixSockets: by masks
         * in the filesystem view, unix-socket-masks.h). */
        (void) c;
        (void) ret_message;
        return NULL;
}
