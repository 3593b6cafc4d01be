/* tcp-unpaced.h — TCP over loopback without pacing.
 *
 * A host whose default congestion control paces its sending (BBR: every
 * socket sends on an hrtimer at its estimated bandwidth) paces loopback
 * connections too, where there is no bottleneck to estimate: the relay's leg
 * between the daemon and the sandbox then costs timer wake-ups and caps the
 * throughput (measured: a relayed 1 GiB download at 1.3-2.0 GB/s paced,
 * 2.6-2.8 GB/s unpaced; docs/performance.md "Network"). These helpers give
 * loopback TCP a congestion control without pacing ("cubic", or "reno",
 * which every kernel has). Connections to the outside world keep the host's
 * choice.
 */
#pragma once

/* In the calling thread's network namespace (see netns-exec.h), which must
 * carry only loopback TCP (a sandbox's namespace: everything else is
 * redirected to the daemon's listeners there): makes the unpaced congestion
 * control the namespace's default, for the sandbox's own sockets and the
 * daemon's accepted ones alike. 0 or a negative errno. */
int tcp_unpaced_netns_default(void);

/* For one connected TCP socket: when its peer is a loopback address, switch
 * it to the unpaced congestion control. Best effort, returns nothing: a
 * socket that keeps pacing still works. */
void tcp_unpaced_if_loopback(int fd);
