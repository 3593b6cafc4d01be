/* ratelimit.h — a token bucket: at most `rate` events per second after a
 * burst of `burst`, for reports a sandbox can cause as fast as it likes.
 * Zero-initialised it starts full. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct RateLimit {
        double tokens;
        uint64_t refill_usec;   /* CLOCK_MONOTONIC of the last take; 0: never */
} RateLimit;

/* Takes one token at now_usec; false (and nothing taken) when none is left. */
bool ratelimit_take(RateLimit *r, double rate, double burst, uint64_t now_usec);
