/* dns-message.h — the few DNS wire-format operations the sandbox's DNS filter
 * needs (RFC 1035): read the question of a query, answer it with an error
 * code, and pick the addresses for the question's name out of an upstream
 * reply.
 *
 * All input is untrusted (queries come from the sandbox, replies from the
 * network): every read is bounds-checked, compression pointers must point
 * backwards and are followed a bounded number of times, names longer than
 * RFC 1035 allows are rejected. Messages are the bare DNS payload; the two
 * byte length prefix of DNS over TCP is the caller's business.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Longest name in text form, without the trailing dot. */
#define DNS_NAME_MAX 253

#define DNS_HEADER_SIZE 12

#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1

#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5

#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DNS_RCODE(flags) ((flags) & 0xf)

typedef struct DnsQuestion {
        uint16_t id;
        uint16_t flags;                 /* header flags as on the wire (host order) */
        /* The first question's name: labels joined by '.', no trailing dot,
         * "" for the root. Case as sent (DNS 0x20 clients check the echo);
         * compare case-insensitively. Labels containing '.' or bytes outside
         * printable ASCII are refused, so the text maps back to one wire
         * name. */
        char name[DNS_NAME_MAX + 1];
        uint16_t type;
        uint16_t class;
        size_t end;                     /* offset just after the question */
} DnsQuestion;

/* Parses the header and the (single) question of a query or reply. Returns 0
 * or -EBADMSG (truncated, QDCOUNT != 1, bad name). Whether it is a query
 * (QR clear) is left to the caller. */
int dns_question_parse(const void *msg, size_t len, DnsQuestion *ret);

/* Writes a reply to q with no records and the given rcode (NXDOMAIN for a
 * denied name, REFUSED/SERVFAIL/FORMERR otherwise): same id, opcode and RD,
 * QR and RA set, the question echoed. Returns its length or -ENOBUFS. */
int dns_reply_build(const DnsQuestion *q, uint8_t rcode, void *buf, size_t size);

/* Writes a recursive query (RD set) for name and type with the given id.
 * Returns its length, -EINVAL for a name that is not one, or -ENOBUFS. */
int dns_query_build(uint16_t id, const char *name, uint16_t type, void *buf, size_t size);

typedef struct DnsAddress {
        int family;                     /* AF_INET or AF_INET6 */
        uint8_t addr[16];               /* network byte order, 4 or 16 bytes used */
        uint32_t ttl;                   /* smallest TTL along the CNAME chain */
} DnsAddress;

/* Parses a reply and stores up to n_max addresses of A/AAAA answers whose
 * owner is the question's name or reached from it through CNAME records
 * (at most 16 hops; records for unrelated names are ignored, so a reply
 * cannot plant addresses for names nobody asked for). The question is
 * stored in *ret_question (when given) for the caller to match it against
 * the query it forwarded. Returns the number of addresses stored or
 * -EBADMSG. */
int dns_reply_addresses(const void *msg, size_t len, DnsQuestion *ret_question,
                        DnsAddress *ret_addrs, size_t n_max);
