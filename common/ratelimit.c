/* ratelimit.c — see ratelimit.h. */

#include "ratelimit.h"

bool ratelimit_take(RateLimit *r, double rate, double burst, uint64_t now_usec) {
        if (r->refill_usec == 0)
                r->tokens = burst;
        else if (now_usec > r->refill_usec)
                r->tokens += (double) (now_usec - r->refill_usec) / 1e6 * rate;
        if (r->tokens > burst)
                r->tokens = burst;
        r->refill_usec = now_usec;
        if (r->tokens < 1.0)
                return false;
        r->tokens -= 1.0;
        return true;
}
