/* relay.h — moving the bytes of one relayed TCP connection in both
 * directions, on the daemon's event loop, with splice(2) through a pipe per
 * direction so nothing is copied through userspace.
 *
 * Half-close is passed on: when one side ends its stream (FIN), the other
 * side's socket is shut down for writing once everything read before the FIN
 * was delivered, and the opposite direction keeps flowing. A reset or error
 * on either side ends both (the other side gets a reset too). The relay
 * calls done() once both directions are over; the owner then frees it.
 *
 * Bulk mode, per direction: once a read finds 32 KiB or more waiting, the
 * read side gets a low-water mark (SO_RCVLOWAT, 512 KiB), so the kernel
 * acknowledges incoming segments at once instead of holding the ACKs until
 * the relay reads (which a sender's congestion control takes for a long
 * round trip), and wakes the relay less often. Bytes below the mark are
 * passed on at the latest 500 us after the relay began to wait for input;
 * a wait that brought nothing ends bulk mode. Small messages alone never
 * enter it; right after a bulk transfer they can wait up to those 500 us.
 *
 * Memory per relay is bounded by the two pipes (RELAY_PIPE_SIZE each) and
 * the sockets' buffers, which the kernel's autotuning bounds as for any
 * socket (the low-water mark makes a receive buffer at least about twice
 * its size).
 */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#define RELAY_PIPE_SIZE (1024 * 1024)

typedef struct Relay Relay;

/* error: 0 after a clean end of both directions, else a negative errno. */
typedef void (*relay_done_t)(Relay *r, int error, void *userdata);

/* Takes the two connected, non-blocking sockets (closed on failure too). */
int relay_new(sd_event *event, int fd_a, int fd_b, relay_done_t done, void *userdata, Relay **ret);
Relay *relay_free(Relay *r);

/* Bytes moved a→b and b→a so far. */
uint64_t relay_bytes(const Relay *r, int direction);
