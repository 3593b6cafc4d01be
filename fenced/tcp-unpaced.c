#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "tcp-unpaced.h"

/* In order of preference; reno is always built in. */
static const char *const unpaced[] = { "cubic", "reno" };

int tcp_unpaced_netns_default(void) {
        _cleanup_close_ int fd = -EBADF;
        int r = -ENOENT;

        /* /proc/sys/net is the namespace of the thread that opens it. */
        fd = open("/proc/sys/net/ipv4/tcp_congestion_control", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(unpaced); i++) {
                if (write(fd, unpaced[i], strlen(unpaced[i])) >= 0)
                        return 0;
                r = -errno;
        }
        return r;
}

static bool peer_is_loopback(int fd) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;

        if (getpeername(fd, (struct sockaddr *) &ss, &len) < 0)
                return false;
        if (ss.ss_family == AF_INET)
                return ((const uint8_t *) &((const struct sockaddr_in *) &ss)->sin_addr)[0] == 127;
        if (ss.ss_family == AF_INET6) {
                const struct in6_addr *a = &((const struct sockaddr_in6 *) &ss)->sin6_addr;
                return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
        }
        return false;
}

void tcp_unpaced_if_loopback(int fd) {
        if (!peer_is_loopback(fd))
                return;
        for (size_t i = 0; i < ELEMENTSOF(unpaced); i++)
                if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, unpaced[i], strlen(unpaced[i])) >= 0)
                        return;
}
