/* run-network.h — the network part of a Run request: the glue between the
 * varlink Run handler (iface-sandbox.c) and the sandbox's filtered network
 * (net-sandbox.h). */
#pragma once

#include "config.h"
#include "manager.h"
#include "sandbox-child.h"

/* When c (or expose, the -p values) asks for network access, builds
 * run->net and points spec at it (namespace to join, resolv.conf, proxy
 * variables in spec->env). Returns 0 (nothing to do or done) or a negative
 * errno with *ret_error naming the key or step at fault. */
int run_network_setup(SandboxRun *run, const FenceConfig *c, char **expose, SandboxSpec *spec, char **ret_error);

/* After the spawn: lets the network events name the sandbox's processes. */
void run_network_started(SandboxRun *run);

/* What this fenced refuses in network.* (not enforced yet): returns the
 * field at fault with a message, or NULL. */
const char *run_network_unsupported(const FenceConfig *c, const char **ret_message);
