/* net-sandbox.h — one sandbox's network: its network namespace with the
 * capture rules (netfilter.h), and the daemon's listeners inside it that
 * filter what the sandbox reaches: the DNS filter, the transparent TCP relay,
 * the HTTP and SOCKS5 proxies, and the reports of dropped packets.
 *
 * Created before the sandbox (whose init joins net_sandbox_netns_fd()
 * before doing anything else, so the rules are in force before the first
 * instruction of the command) and freed after it: freeing closes every
 * listener and relayed connection, which takes the namespace and its nft
 * table with it. Everything runs on the daemon's event loop; nothing is
 * shared between sandboxes (policy, DNS answers, listeners, connections).
 */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "events.h"

typedef struct NetSandbox NetSandbox;

/* A violation (or other network event) of the sandbox: source is "network"
 * or "dns"; pid is the host pid of the process concerned, 0 when unknown. */
typedef void (*net_event_t)(void *userdata, const char *source, const char *action, pid_t pid,
                            const EventField *fields, size_t n_fields);

typedef struct NetSandboxOptions {
        const FenceConfig *config;
        /* `fencectl run -p` values: "PORT" (the host's 127.0.0.1) or
         * "ADDR:PORT" ("[v6]:PORT"), ADDR a literal IP of the host. A
         * connection to it is forwarded to the sandbox's own 127.0.0.1:PORT
         * (else ::1). */
        char **expose;
        uid_t uid;              /* the caller: host ports below 1024 only for root, */
        gid_t gid;              /* and the owner of every socket opened for it (socket-as.h) */
} NetSandboxOptions;

/* Whether the sandbox needs a filtered network at all: a non-empty
 * network.allowedDomains, ports to expose, or host loopback ports to reach
 * (allowLocalOutbound with allowLocalOutboundPorts). Without one it keeps a
 * namespace with loopback only. */
bool net_sandbox_wanted(const NetSandboxOptions *o);

/* Builds the namespace, listeners and rules. On failure *ret_error (when
 * given) names the key, -p value or step at fault. */
/* A `-p` value: "PORT" (the host's 127.0.0.1), "V4:PORT" or "[V4-OR-V6]:PORT"
 * with literal IP addresses (an IPv6 one only in brackets). 0 or -EINVAL. */
int net_expose_parse(const char *spec, struct sockaddr_storage *ret);

int net_sandbox_new(sd_event *event, const NetSandboxOptions *o, net_event_t emit, void *userdata,
                    NetSandbox **ret, char **ret_error);
NetSandbox *net_sandbox_free(NetSandbox *ns);
DEFINE_TRIVIAL_CLEANUP_FUNC(NetSandbox *, net_sandbox_free);

/* The namespace for the sandbox to join (owned by ns). */
int net_sandbox_netns_fd(const NetSandbox *ns);

/* The sandbox's cgroup directory (host path), so that events can name the
 * process behind a connection. */
int net_sandbox_set_cgroup(NetSandbox *ns, const char *cgroup_path);

/* Adds fence's proxy variables (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY,
 * lower-case twins, GIT_SSH_COMMAND) to env, replacing the caller's. */
int net_sandbox_env(const NetSandbox *ns, char ***env);

/* The text of the sandbox's /etc/resolv.conf. */
const char *net_sandbox_resolv_conf(const NetSandbox *ns);
