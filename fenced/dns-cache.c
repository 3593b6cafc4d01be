#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "dns-cache.h"

#define NIL UINT32_MAX
#define USEC_PER_SEC UINT64_C(1000000)

typedef struct Entry {
        uint8_t family;         /* 0: free slot */
        uint8_t addr[16];
        char *name;
        uint64_t expire_usec;
        uint32_t next;          /* next in bucket chain, or in the free list */
} Entry;

struct DnsCache {
        Entry *entries;
        size_t max, n_used;
        uint32_t *buckets;
        size_t n_buckets;       /* power of two */
        uint32_t free_head;
        uint64_t seed;          /* so a sandbox cannot aim addresses at one bucket */
};

static size_t addr_len(int family) {
        return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static size_t bucket_of(const DnsCache *c, int family, const uint8_t *addr) {
        /* FNV-1a, seeded. */
        uint64_t h = UINT64_C(0xcbf29ce484222325) ^ c->seed;

        h = (h ^ (uint8_t) family) * UINT64_C(0x100000001b3);
        for (size_t i = 0; i < addr_len(family); i++)
                h = (h ^ addr[i]) * UINT64_C(0x100000001b3);
        return (size_t) (h ^ (h >> 29)) & (c->n_buckets - 1);
}

int dns_cache_new(size_t max_entries, DnsCache **ret) {
        DnsCache *c;

        if (max_entries == 0 || max_entries >= NIL || !ret)
                return -EINVAL;

        c = calloc(1, sizeof(DnsCache));
        if (!c)
                return -ENOMEM;
        c->max = max_entries;
        for (c->n_buckets = 16; c->n_buckets < max_entries; c->n_buckets <<= 1)
                ;
        c->entries = calloc(max_entries, sizeof(Entry));
        c->buckets = malloc(c->n_buckets * sizeof(uint32_t));
        if (!c->entries || !c->buckets) {
                dns_cache_free(c);
                return -ENOMEM;
        }
        for (size_t i = 0; i < c->n_buckets; i++)
                c->buckets[i] = NIL;
        for (size_t i = 0; i < max_entries; i++)
                c->entries[i].next = i + 1 < max_entries ? (uint32_t) (i + 1) : NIL;
        c->free_head = 0;
        if (getrandom(&c->seed, sizeof c->seed, GRND_NONBLOCK) != sizeof c->seed)
                c->seed = (uint64_t) (uintptr_t) c;

        *ret = c;
        return 0;
}

DnsCache *dns_cache_free(DnsCache *c) {
        if (!c)
                return NULL;
        if (c->entries)
                for (size_t i = 0; i < c->max; i++)
                        free(c->entries[i].name);
        free(c->entries);
        free(c->buckets);
        free(c);
        return NULL;
}

size_t dns_cache_size(const DnsCache *c) {
        return c ? c->n_used : 0;
}

static uint32_t *find_link(DnsCache *c, int family, const uint8_t *addr) {
        uint32_t *link = &c->buckets[bucket_of(c, family, addr)];

        while (*link != NIL) {
                Entry *e = &c->entries[*link];

                if (e->family == family && memcmp(e->addr, addr, addr_len(family)) == 0)
                        return link;
                link = &e->next;
        }
        return NULL;
}

static void entry_remove(DnsCache *c, uint32_t idx) {
        Entry *e = &c->entries[idx];
        uint32_t *link = find_link(c, e->family, e->addr);

        if (link)
                *link = e->next;
        free(e->name);
        *e = (Entry) { .next = c->free_head };
        c->free_head = idx;
        c->n_used--;
}

/* Frees at least one slot: every expired entry, else the soonest to expire. */
static void make_room(DnsCache *c, uint64_t now_usec) {
        uint32_t victim = NIL;
        size_t freed = 0;

        for (uint32_t i = 0; i < c->max; i++) {
                Entry *e = &c->entries[i];

                if (e->family == 0)
                        continue;
                if (e->expire_usec <= now_usec) {
                        entry_remove(c, i);
                        freed++;
                } else if (victim == NIL || e->expire_usec < c->entries[victim].expire_usec)
                        victim = i;
        }
        if (freed == 0 && victim != NIL)
                entry_remove(c, victim);
}

int dns_cache_put(DnsCache *c, int family, const void *addr, const char *name, uint32_t ttl_sec,
                  uint64_t now_usec) {
        uint32_t *link, idx;
        char *copy;
        Entry *e;

        if (!c || !addr || !name || addr_len(family) == 0)
                return -EINVAL;

        copy = strdup(name);
        if (!copy)
                return -ENOMEM;

        if (ttl_sec < DNS_CACHE_TTL_MIN_SEC)
                ttl_sec = DNS_CACHE_TTL_MIN_SEC;
        if (ttl_sec > DNS_CACHE_TTL_MAX_SEC)
                ttl_sec = DNS_CACHE_TTL_MAX_SEC;

        link = find_link(c, family, addr);
        if (link) {
                e = &c->entries[*link];
                free(e->name);
        } else {
                if (c->free_head == NIL)
                        make_room(c, now_usec);
                idx = c->free_head;
                e = &c->entries[idx];
                c->free_head = e->next;
                c->n_used++;

                e->family = (uint8_t) family;
                memset(e->addr, 0, sizeof e->addr);
                memcpy(e->addr, addr, addr_len(family));
                link = &c->buckets[bucket_of(c, family, addr)];
                e->next = *link;
                *link = idx;
        }
        e->name = copy;
        e->expire_usec = now_usec + ttl_sec * USEC_PER_SEC;
        return 0;
}

const char *dns_cache_get(DnsCache *c, int family, const void *addr, uint64_t now_usec) {
        uint32_t *link;
        Entry *e;

        if (!c || !addr || addr_len(family) == 0)
                return NULL;
        link = find_link(c, family, addr);
        if (!link)
                return NULL;
        e = &c->entries[*link];
        return e->expire_usec > now_usec ? e->name : NULL;
}
