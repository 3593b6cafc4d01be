#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "macro.h"
#include "nflog.h"

/* Headers only: enough for IPv6 with a few extension headers plus ports. */
#define COPY_RANGE 128

#define MIN_SIZE(a, b) ((size_t) (a) < (size_t) (b) ? (size_t) (a) : (size_t) (b))

typedef struct ConfigRequest {
        struct nlmsghdr hdr;
        struct nfgenmsg gen;
        uint8_t attrs[64];
} ConfigRequest;

static void add_attr(ConfigRequest *req, uint16_t type, const void *data, size_t len) {
        struct nlattr *a = (struct nlattr *) ((uint8_t *) req + NLMSG_ALIGN(req->hdr.nlmsg_len));

        a->nla_type = type;
        a->nla_len = (uint16_t) (NLA_HDRLEN + len);
        memcpy((uint8_t *) a + NLA_HDRLEN, data, len);
        req->hdr.nlmsg_len = NLMSG_ALIGN(req->hdr.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static int wait_ack(int fd, uint32_t seq) {
        union {
                struct nlmsghdr hdr;
                uint8_t buf[4096];
        } answer;

        for (;;) {
                ssize_t n = recv(fd, &answer, sizeof answer, 0);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (struct nlmsghdr *h = &answer.hdr; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n))
                        if (h->nlmsg_seq == seq && h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = NLMSG_DATA(h);

                                if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e))
                                        return -EPROTO;
                                return e->error;
                        }
        }
}

int nflog_open(uint16_t group, int *ret_fd) {
        struct sockaddr_nl local = { .nl_family = AF_NETLINK };
        _cleanup_close_ int fd = -EBADF;
        ConfigRequest req = {
                .hdr.nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg)),
                .hdr.nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG,
                .hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
                .hdr.nlmsg_seq = 1,
                .gen.nfgen_family = AF_UNSPEC,
                .gen.version = NFNETLINK_V0,
                .gen.res_id = htons(group),
        };
        struct nfulnl_msg_config_cmd cmd = { .command = NFULNL_CFG_CMD_BIND };
        struct nfulnl_msg_config_mode mode = { .copy_range = htonl(COPY_RANGE), .copy_mode = NFULNL_COPY_PACKET };
        /* The default batches messages for up to a second; a report should
         * not wait for the next 99 dropped packets. */
        uint32_t qthresh = htonl(1);
        int r, flags;

        if (!ret_fd)
                return -EINVAL;

        /* Blocking until the ack is in; the event loop gets it non-blocking. */
        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &local, sizeof local) < 0)
                return -errno;

        add_attr(&req, NFULA_CFG_CMD, &cmd, sizeof cmd);
        add_attr(&req, NFULA_CFG_MODE, &mode, sizeof mode);
        add_attr(&req, NFULA_CFG_QTHRESH, &qthresh, sizeof qthresh);
        if (send(fd, &req, req.hdr.nlmsg_len, 0) < 0)
                return -errno;
        r = wait_ack(fd, req.hdr.nlmsg_seq);
        if (r < 0)
                return r;

        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;

        *ret_fd = TAKE_FD(fd);
        return 0;
}

static void parse_l4(NflogPacket *p, const uint8_t *l4, size_t n) {
        switch (p->protocol) {
        case IPPROTO_TCP:
        case IPPROTO_UDP:
        case IPPROTO_UDPLITE:
        case IPPROTO_SCTP:
        case IPPROTO_DCCP:
                if (n >= 4) {
                        p->sport = (uint16_t) (l4[0] << 8 | l4[1]);
                        p->dport = (uint16_t) (l4[2] << 8 | l4[3]);
                }
                break;
        case IPPROTO_ICMP:
        case IPPROTO_ICMPV6:
                if (n >= 2) {
                        p->icmp_type = l4[0];
                        p->icmp_code = l4[1];
                }
                break;
        }
}

static int parse_ipv4(NflogPacket *p, const uint8_t *ip, size_t n) {
        size_t ihl;

        if (n < 20)
                return -EBADMSG;
        ihl = (size_t) (ip[0] & 0xf) * 4;
        if (ihl < 20 || ihl > n)
                return -EBADMSG;
        p->family = AF_INET;
        p->protocol = ip[9];
        memcpy(p->src, ip + 12, 4);
        memcpy(p->dst, ip + 16, 4);
        /* Only the first fragment has the transport header. */
        if ((((ip[6] & 0x1f) << 8) | ip[7]) == 0)
                parse_l4(p, ip + ihl, n - ihl);
        return 0;
}

static int parse_ipv6(NflogPacket *p, const uint8_t *ip, size_t n) {
        size_t pos = 40;
        uint8_t next;

        if (n < 40)
                return -EBADMSG;
        p->family = AF_INET6;
        memcpy(p->src, ip + 8, 16);
        memcpy(p->dst, ip + 24, 16);
        next = ip[6];

        /* Walk extension headers (bounded) to the transport protocol. */
        for (unsigned i = 0; i < 8; i++) {
                size_t len;

                switch (next) {
                case IPPROTO_HOPOPTS:
                case IPPROTO_ROUTING:
                case IPPROTO_DSTOPTS:
                        if (pos + 2 > n)
                                goto truncated;
                        len = ((size_t) ip[pos + 1] + 1) * 8;
                        break;
                case IPPROTO_AH:
                        if (pos + 2 > n)
                                goto truncated;
                        len = ((size_t) ip[pos + 1] + 2) * 4;
                        break;
                case IPPROTO_FRAGMENT:
                        if (pos + 8 > n)
                                goto truncated;
                        if (((ip[pos + 2] << 8 | ip[pos + 3]) & 0xfff8) != 0) {
                                p->protocol = ip[pos];  /* a later fragment: no ports */
                                return 0;
                        }
                        len = 8;
                        break;
                default:
                        p->protocol = next;
                        parse_l4(p, ip + pos, n - pos);
                        return 0;
                }
                next = ip[pos];
                pos += len;
        }
truncated:
        p->protocol = next;
        return 0;
}

static int parse_packet(const struct nlmsghdr *h, NflogPacket *p) {
        const uint8_t *start = (const uint8_t *) NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
        const uint8_t *end = (const uint8_t *) h + h->nlmsg_len;
        const uint8_t *payload = NULL;
        size_t payload_len = 0;

        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nfgenmsg)))
                return -EBADMSG;
        *p = (NflogPacket) {};

        for (const uint8_t *a = start; a + NLA_HDRLEN <= end;) {
                const struct nlattr *attr = (const struct nlattr *) a;
                const uint8_t *data = a + NLA_HDRLEN;
                size_t len;

                if (attr->nla_len < NLA_HDRLEN || a + attr->nla_len > end)
                        return -EBADMSG;
                len = attr->nla_len - NLA_HDRLEN;

                switch (attr->nla_type & NLA_TYPE_MASK) {
                case NFULA_PAYLOAD:
                        payload = data;
                        payload_len = len;
                        break;
                case NFULA_PREFIX:
                        memcpy(p->prefix, data, MIN_SIZE(len, sizeof p->prefix - 1));
                        p->prefix[MIN_SIZE(len, sizeof p->prefix - 1)] = 0;
                        break;
                case NFULA_UID:
                        if (len == 4) {
                                memcpy(&p->uid, data, 4);
                                p->uid = ntohl(p->uid);
                                p->has_uid = true;
                        }
                        break;
                case NFULA_GID:
                        if (len == 4) {
                                memcpy(&p->gid, data, 4);
                                p->gid = ntohl(p->gid);
                        }
                        break;
                }
                a += NLA_ALIGN(attr->nla_len);
        }

        if (!payload || payload_len < 1)
                return -EBADMSG;
        switch (payload[0] >> 4) {
        case 4:
                return parse_ipv4(p, payload, payload_len);
        case 6:
                return parse_ipv6(p, payload, payload_len);
        default:
                return -EBADMSG;
        }
}

int nflog_parse(const void *buf, size_t len, nflog_handler_t handler, void *userdata) {
        int count = 0;

        if (!buf || !handler)
                return -EINVAL;

        for (const struct nlmsghdr *h = buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                NflogPacket p;
                int r;

                if (h->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET))
                        continue;
                r = parse_packet(h, &p);
                if (r < 0)
                        return r;
                r = handler(&p, userdata);
                if (r < 0)
                        return r;
                count++;
        }
        return count;
}

int nflog_receive(int fd, nflog_handler_t handler, void *userdata) {
        /* Aligned for struct nlmsghdr. */
        union {
                struct nlmsghdr hdr;
                uint8_t buf[65536];
        } msg;
        int total = 0;

        for (;;) {
                ssize_t n = recv(fd, &msg, sizeof msg, MSG_DONTWAIT);
                int r;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return total;
                        return -errno;
                }
                r = nflog_parse(&msg, (size_t) n, handler, userdata);
                if (r < 0)
                        return r;
                total += r;
        }
}
