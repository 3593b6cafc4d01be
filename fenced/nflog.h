/* nflog.h — reading the packets the sandbox's netfilter rules drop, so each
 * one can be reported as a violation.
 *
 * The guard chain (see netfilter.h) logs what it drops with `log group N`,
 * which sends a copy of the packet's headers over nfnetlink_log (NFLOG) to
 * whoever bound group N in that network namespace. This module binds the
 * group and decodes those messages: protocol, addresses, ports or ICMP
 * type, and the uid/gid of the socket that sent it. Nothing here blocks;
 * the fd goes into the event loop.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct NflogPacket {
        int family;             /* AF_INET or AF_INET6 */
        uint8_t protocol;       /* IPPROTO_UDP, IPPROTO_ICMP, ... */
        uint8_t src[16], dst[16];       /* network order; 4 bytes used for AF_INET */
        uint16_t sport, dport;  /* host order; 0 when the protocol has no ports (or a non-first fragment) */
        uint8_t icmp_type, icmp_code;   /* ICMP and ICMPv6 only */
        bool has_uid;           /* false when no socket was attached */
        uint32_t uid, gid;      /* fsuid/fsgid of the sending socket's opener */
        char prefix[64];        /* the rule's log prefix */
} NflogPacket;

/* Returns 0 to go on, or a negative errno to stop. */
typedef int (*nflog_handler_t)(const NflogPacket *p, void *userdata);

/* Opens a NETLINK_NETFILTER socket in the calling thread's network namespace
 * and binds log group `group` with packet headers copied (the first 128
 * bytes) and no batching delay. Returns 0 with *ret_fd (non-blocking,
 * close-on-exec) or a negative errno (-EBUSY: someone else bound it). */
int nflog_open(uint16_t group, int *ret_fd);

/* Parses one datagram read from such a socket; calls handler for each
 * logged packet. Returns the number of packets, -EBADMSG, or the handler's
 * negative return. */
int nflog_parse(const void *buf, size_t len, nflog_handler_t handler, void *userdata);

/* Reads every datagram queued on fd and parses it. Returns the number of
 * packets handled (0 when nothing was queued) or a negative errno (the
 * handler's included). -ENOBUFS means the kernel dropped log messages
 * because we fell behind: report "some dropped packets were not logged",
 * and keep reading. */
int nflog_receive(int fd, nflog_handler_t handler, void *userdata);
