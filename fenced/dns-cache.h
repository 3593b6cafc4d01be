/* dns-cache.h — per-sandbox memory of which name an address was resolved
 * from, so the TCP relay can name a destination that shows neither SNI nor
 * Host (and report it).
 *
 * Only names the policy allowed are ever resolved for a sandbox, so an entry
 * means "this address was handed out as <name>". Bounded: when full, expired
 * entries go first, then the one closest to expiry. Time is passed in (the
 * event loop's CLOCK_MONOTONIC in µs), which keeps the cache deterministic
 * to test.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* TTLs are clamped into this range. The floor exists because programs keep
 * using an address well past its TTL (connection pools, runtimes with their
 * own DNS caches); forgetting it earlier would turn a working connection
 * into an unnamed, denied one. */
#define DNS_CACHE_TTL_MIN_SEC 300u
#define DNS_CACHE_TTL_MAX_SEC 86400u

typedef struct DnsCache DnsCache;

/* max_entries > 0. */
int dns_cache_new(size_t max_entries, DnsCache **ret);
DnsCache *dns_cache_free(DnsCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(DnsCache *, dns_cache_free);
#define _cleanup_dns_cache_ _cleanup_(dns_cache_freep)

/* Remembers addr (4 bytes for AF_INET, 16 for AF_INET6, network order) as
 * name until now + ttl (clamped). Replaces an existing entry for addr.
 * Returns 0, -EINVAL or -ENOMEM. */
int dns_cache_put(DnsCache *c, int family, const void *addr, const char *name, uint32_t ttl_sec,
                  uint64_t now_usec);

/* The name addr was last resolved from, or NULL if unknown or expired. The
 * string stays valid until the next dns_cache_put() or dns_cache_free(). */
const char *dns_cache_get(DnsCache *c, int family, const void *addr, uint64_t now_usec);

/* Number of entries held (expired ones included until they are reused). */
size_t dns_cache_size(const DnsCache *c);
