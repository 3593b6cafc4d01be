/* netns-exec.h — run a function inside another network namespace without
 * moving the caller.
 *
 * The function runs on a short-lived thread that joined the namespace with
 * setns(CLONE_NEWNET); the network namespace is per thread, so the daemon's
 * main thread never leaves the host namespace, and no fork is needed (which
 * would be hazardous in a process with threads and an event loop). Sockets
 * created by the function belong to that namespace for their whole life and
 * can be used from any thread afterwards: that is how the daemon gets
 * listeners inside a sandbox.
 */
#pragma once

typedef int (*netns_func_t)(void *userdata);

/* Runs func(userdata) in the network namespace of netns_fd (an fd of
 * /proc/PID/ns/net or of a bind-mounted namespace) and waits for it.
 * Returns what func returned, or a negative errno if the thread could not be
 * started or could not join the namespace. */
int netns_exec(int netns_fd, netns_func_t func, void *userdata);

/* Creates a new network namespace (only `lo`, down) from a short-lived
 * thread and returns an fd of it (close-on-exec). The namespace lives as
 * long as that fd, a socket in it or a process in it does. */
int netns_new(int *ret_fd);
