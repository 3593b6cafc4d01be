#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "dns-message.h"
#include "macro.h"

/* A name may be spread over this many compression jumps. Real messages need
 * one or two; the limit only stops crafted chains. */
#define MAX_POINTER_HOPS 16
/* Answers looked at in a reply; more than this is not a real resolver reply. */
#define MAX_ANSWERS 256
#define MAX_CNAME_HOPS 16

#define MIN(a, b) ((a) < (b) ? (a) : (b))

static uint16_t read_u16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}

static uint32_t read_u32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void write_u16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}

/* Reads the name at *pos into buf (text form, see DnsQuestion.name) and
 * moves *pos past it. Structural errors give -EBADMSG. Labels that cannot be
 * represented as text give -EILSEQ, with *pos still advanced, so a caller
 * may skip such a record. */
static int name_read(const uint8_t *msg, size_t len, size_t *pos, char buf[static DNS_NAME_MAX + 1]) {
        size_t p = *pos, out = 0, wire = 1;
        unsigned hops = 0;
        bool jumped = false, printable = true;

        for (;;) {
                uint8_t c;

                if (p >= len)
                        return -EBADMSG;
                c = msg[p];

                if (c == 0) {
                        if (!jumped)
                                *pos = p + 1;
                        break;
                }

                if ((c & 0xc0) == 0xc0) {
                        size_t target;

                        if (p + 1 >= len)
                                return -EBADMSG;
                        target = (size_t) (c & 0x3f) << 8 | msg[p + 1];
                        /* Only backwards, and only so often: no loops. */
                        if (target >= p || ++hops > MAX_POINTER_HOPS)
                                return -EBADMSG;
                        if (!jumped)
                                *pos = p + 2;
                        jumped = true;
                        p = target;
                        continue;
                }
                if (c & 0xc0)   /* 0x40/0x80: extended label types, obsolete */
                        return -EBADMSG;

                wire += 1 + (size_t) c;
                if (wire > 255 || p + 1 + c > len)
                        return -EBADMSG;
                if (out > 0)
                        buf[out++] = '.';
                for (size_t i = 0; i < c; i++) {
                        uint8_t ch = msg[p + 1 + i];

                        if (ch <= 0x20 || ch >= 0x7f || ch == '.')
                                printable = false;
                        buf[out++] = (char) ch;
                }
                p += 1 + (size_t) c;
        }

        buf[out] = 0;
        return printable ? 0 : -EILSEQ;
}

static int name_skip(const uint8_t *msg, size_t len, size_t *pos) {
        char scratch[DNS_NAME_MAX + 1];
        int r = name_read(msg, len, pos, scratch);
        return r == -EILSEQ ? 0 : r;
}

static int name_write(const char *name, uint8_t *buf, size_t size) {
        size_t out = 0;
        const char *p = name;

        while (*p) {
                const char *dot = strchr(p, '.');
                size_t n = dot ? (size_t) (dot - p) : strlen(p);

                if (n == 0 || n > 63 || out + 1 + n >= size)
                        return -ENOBUFS;
                buf[out++] = (uint8_t) n;
                memcpy(buf + out, p, n);
                out += n;
                p += n;
                if (*p == '.')
                        p++;
        }
        if (out >= size)
                return -ENOBUFS;
        buf[out++] = 0;
        return (int) out;
}

static int question_parse(const uint8_t *msg, size_t len, DnsQuestion *q) {
        size_t pos = DNS_HEADER_SIZE;
        int r;

        if (len < DNS_HEADER_SIZE)
                return -EBADMSG;
        q->id = read_u16(msg);
        q->flags = read_u16(msg + 2);
        if (read_u16(msg + 4) != 1)
                return -EBADMSG;

        r = name_read(msg, len, &pos, q->name);
        if (r < 0)
                return -EBADMSG;
        if (pos + 4 > len)
                return -EBADMSG;
        q->type = read_u16(msg + pos);
        q->class = read_u16(msg + pos + 2);
        q->end = pos + 4;
        return 0;
}

int dns_question_parse(const void *msg, size_t len, DnsQuestion *ret) {
        DnsQuestion q;
        int r;

        if (!msg || !ret)
                return -EINVAL;
        r = question_parse(msg, len, &q);
        if (r < 0)
                return r;
        *ret = q;
        return 0;
}

int dns_reply_build(const DnsQuestion *q, uint8_t rcode, void *buf, size_t size) {
        uint8_t *b = buf;
        uint16_t flags;
        int n;

        if (size < DNS_HEADER_SIZE + 5)
                return -ENOBUFS;

        flags = DNS_FLAG_QR | (q->flags & (0xf << 11)) | (q->flags & DNS_FLAG_RD) | DNS_FLAG_RA | (rcode & 0xf);
        memset(b, 0, DNS_HEADER_SIZE);
        write_u16(b, q->id);
        write_u16(b + 2, flags);
        write_u16(b + 4, 1);

        n = name_write(q->name, b + DNS_HEADER_SIZE, size - DNS_HEADER_SIZE - 4);
        if (n < 0)
                return n;
        write_u16(b + DNS_HEADER_SIZE + n, q->type);
        write_u16(b + DNS_HEADER_SIZE + n + 2, q->class);
        return DNS_HEADER_SIZE + n + 4;
}

int dns_query_build(uint16_t id, const char *name, uint16_t type, void *buf, size_t size) {
        DnsQuestion q = { .id = id, .flags = DNS_FLAG_RD, .type = type, .class = DNS_CLASS_IN };
        uint8_t *b = buf;
        int n;

        if (!name || !name[0] || strlen(name) > DNS_NAME_MAX)
                return -EINVAL;
        strcpy(q.name, name);
        n = dns_reply_build(&q, 0, buf, size);
        if (n < 0)
                return n;
        write_u16(b + 2, DNS_FLAG_RD);  /* a query: no QR, no RA */
        return n;
}

typedef struct Answer {
        char owner[DNS_NAME_MAX + 1];
        bool owner_ok;          /* representable as text; others never match */
        uint16_t type;
        uint32_t ttl;
        size_t rdata, rdlength;
        char target[DNS_NAME_MAX + 1];  /* CNAME only */
        bool target_ok;
} Answer;

static bool in_chain(char chain[][DNS_NAME_MAX + 1], size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcasecmp(chain[i], name) == 0)
                        return true;
        return false;
}

int dns_reply_addresses(const void *msg_, size_t len, DnsQuestion *ret_question,
                        DnsAddress *ret_addrs, size_t n_max) {
        const uint8_t *msg = msg_;
        _cleanup_free_ Answer *answers = NULL;
        char chain[MAX_CNAME_HOPS + 1][DNS_NAME_MAX + 1];
        size_t n_answers, n_chain = 1, n_out = 0, pos;
        uint32_t chain_ttl = UINT32_MAX;
        DnsQuestion q;
        int r;

        if (!msg || (!ret_addrs && n_max > 0))
                return -EINVAL;

        r = question_parse(msg, len, &q);
        if (r < 0)
                return r;

        n_answers = read_u16(msg + 6);
        if (n_answers > MAX_ANSWERS)
                return -EBADMSG;
        answers = calloc(n_answers ?: 1, sizeof(Answer));
        if (!answers)
                return -ENOMEM;

        pos = q.end;
        for (size_t i = 0; i < n_answers; i++) {
                Answer *a = &answers[i];

                r = name_read(msg, len, &pos, a->owner);
                if (r == -EBADMSG)
                        return r;
                a->owner_ok = r == 0;
                if (pos + 10 > len)
                        return -EBADMSG;
                a->type = read_u16(msg + pos);
                a->ttl = read_u32(msg + pos + 4);
                /* RFC 2181 §8: a TTL with the top bit set counts as 0. */
                if (a->ttl > INT32_MAX)
                        a->ttl = 0;
                a->rdlength = read_u16(msg + pos + 8);
                a->rdata = pos + 10;
                if (a->rdata + a->rdlength > len)
                        return -EBADMSG;
                if (read_u16(msg + pos + 2) != DNS_CLASS_IN)
                        a->owner_ok = false;

                if (a->type == DNS_TYPE_CNAME) {
                        size_t tpos = a->rdata;

                        r = name_read(msg, a->rdata + a->rdlength, &tpos, a->target);
                        if (r == -EBADMSG)
                                return r;
                        a->target_ok = r == 0 && tpos == a->rdata + a->rdlength;
                }
                pos = a->rdata + a->rdlength;
        }
        /* Authority and additional sections are not needed: addresses
         * outside the answer section are glue and hints, not answers. But the
         * names there must still be well-formed for the message to be. */
        for (size_t s = 0, n = (size_t) read_u16(msg + 8) + read_u16(msg + 10); s < n; s++) {
                if (s >= 2 * MAX_ANSWERS)
                        return -EBADMSG;
                r = name_skip(msg, len, &pos);
                if (r < 0)
                        return r;
                if (pos + 10 > len || pos + 10 + read_u16(msg + pos + 8) > len)
                        return -EBADMSG;
                pos += 10 + read_u16(msg + pos + 8);
        }

        /* Follow the CNAME chain from the question's name. */
        strcpy(chain[0], q.name);
        for (size_t hop = 0; hop < MAX_CNAME_HOPS; hop++) {
                const Answer *next = NULL;

                for (size_t i = 0; i < n_answers; i++)
                        if (answers[i].type == DNS_TYPE_CNAME && answers[i].owner_ok && answers[i].target_ok &&
                            strcasecmp(answers[i].owner, chain[n_chain - 1]) == 0) {
                                next = &answers[i];
                                break;
                        }
                if (!next || in_chain(chain, n_chain, next->target))
                        break;
                chain_ttl = MIN(chain_ttl, next->ttl);
                strcpy(chain[n_chain++], next->target);
        }

        for (size_t i = 0; i < n_answers && n_out < n_max; i++) {
                const Answer *a = &answers[i];
                DnsAddress *d = &ret_addrs[n_out];

                if (!a->owner_ok || !in_chain(chain, n_chain, a->owner))
                        continue;
                if (a->type == DNS_TYPE_A && a->rdlength == 4)
                        d->family = AF_INET;
                else if (a->type == DNS_TYPE_AAAA && a->rdlength == 16)
                        d->family = AF_INET6;
                else
                        continue;
                memset(d->addr, 0, sizeof d->addr);
                memcpy(d->addr, msg + a->rdata, a->rdlength);
                d->ttl = MIN(chain_ttl, a->ttl);
                n_out++;
        }

        if (ret_question)
                *ret_question = q;
        return (int) n_out;
}
