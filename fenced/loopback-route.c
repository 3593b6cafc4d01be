#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>

#include "loopback-route.h"
#include "macro.h"

typedef struct Request {
        struct nlmsghdr hdr;
        union {
                struct ifinfomsg ifi;
                struct rtmsg rt;
        };
        uint8_t attrs[64];
} Request;

static void add_attr(Request *req, unsigned short type, const void *data, size_t len) {
        struct rtattr *rta = (struct rtattr *) ((uint8_t *) req + NLMSG_ALIGN(req->hdr.nlmsg_len));

        rta->rta_type = type;
        rta->rta_len = (unsigned short) RTA_LENGTH(len);
        memcpy(RTA_DATA(rta), data, len);
        req->hdr.nlmsg_len = NLMSG_ALIGN(req->hdr.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* Sends one request and waits for its acknowledgement. */
static int rtnl_call(int fd, Request *req, uint32_t seq) {
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
        union {
                struct nlmsghdr hdr;
                uint8_t buf[4096];
        } answer;

        req->hdr.nlmsg_seq = seq;
        req->hdr.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        if (sendto(fd, req, req->hdr.nlmsg_len, 0, (struct sockaddr *) &kernel, sizeof kernel) < 0)
                return -errno;

        for (;;) {
                ssize_t n = recv(fd, &answer, sizeof answer, 0);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (struct nlmsghdr *h = &answer.hdr; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_seq != seq)
                                continue;
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = NLMSG_DATA(h);

                                if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e))
                                        return -EPROTO;
                                return e->error;        /* 0 is the ACK */
                        }
                }
        }
}

static int default_route(int fd, int family, int ifindex, uint32_t seq) {
        Request req = {
                .hdr.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
                .hdr.nlmsg_type = RTM_NEWROUTE,
                .hdr.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE,
                .rt.rtm_family = (unsigned char) family,
                .rt.rtm_table = RT_TABLE_MAIN,
                .rt.rtm_protocol = RTPROT_BOOT,
                /* A route without gateway is link scope, as ip(8) makes it;
                 * IPv6 has no route scopes. */
                .rt.rtm_scope = family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE,
                .rt.rtm_type = RTN_UNICAST,
        };
        uint32_t oif = (uint32_t) ifindex;

        add_attr(&req, RTA_OIF, &oif, sizeof oif);
        if (family == AF_INET) {
                struct in_addr src = { htonl(INADDR_LOOPBACK) };
                add_attr(&req, RTA_PREFSRC, &src, sizeof src);
        } else
                add_attr(&req, RTA_PREFSRC, &in6addr_loopback, sizeof in6addr_loopback);

        return rtnl_call(fd, &req, seq);
}

int loopback_route_setup(void) {
        struct sockaddr_nl local = { .nl_family = AF_NETLINK };
        _cleanup_close_ int fd = -EBADF;
        unsigned ifindex;
        int r;

        ifindex = if_nametoindex("lo");
        if (ifindex == 0)
                return negative_errno();

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &local, sizeof local) < 0)
                return -errno;

        Request up = {
                .hdr.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
                .hdr.nlmsg_type = RTM_NEWLINK,
                .ifi.ifi_family = AF_UNSPEC,
                .ifi.ifi_index = (int) ifindex,
                .ifi.ifi_flags = IFF_UP,
                .ifi.ifi_change = IFF_UP,
        };
        r = rtnl_call(fd, &up, 1);
        if (r < 0)
                return r;

        r = default_route(fd, AF_INET, (int) ifindex, 2);
        if (r < 0)
                return r;
        r = default_route(fd, AF_INET6, (int) ifindex, 3);
        if (r == -EAFNOSUPPORT)
                return 0;
        return r;
}
