#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "relay.h"

/* Per event, at most this many splice rounds per direction: one busy
 * connection must not starve the others on the loop. */
#define ROUNDS_PER_EVENT 8

/* Bulk mode (relay.h): a read that finds BULK_ENTER bytes waiting (half of
 * what one 64 KiB GSO packet carries) means the peer streams. The read side
 * then has SO_RCVLOWAT BULK_LOWAT: the kernel acknowledges every other
 * segment at once while fewer bytes than that wait unread (without it, it
 * holds the ACKs back until the relay reads, and the sender's congestion
 * control sees a long round trip and a low delivery rate), and wakes the
 * relay once that much waits, or the FIN came. The relay takes what is
 * there at the latest BULK_FLUSH_USEC after it began to wait, and leaves
 * bulk mode when that found nothing. */
#define BULK_ENTER (32 * 1024)
#define BULK_LOWAT (512 * 1024)
#define BULK_FLUSH_USEC 500

typedef struct Direction {
        Relay *relay;
        int from, to;
        int pipe[2];
        size_t in_pipe;
        bool eof;               /* read end saw FIN */
        bool shut;              /* FIN passed on */
        bool bulk;              /* from's SO_RCVLOWAT is BULK_LOWAT */
        sd_event_source *flush; /* armed while bulk and waiting for input */
        uint64_t bytes_in;
        uint64_t bytes;
} Direction;

struct Relay {
        sd_event *event;
        int fd[2];
        sd_event_source *src[2];
        Direction dir[2];       /* 0: a→b, 1: b→a */
        bool finished;
        relay_done_t done;
        void *userdata;
};

static void reset_close(int fd) {
        struct linger l = { .l_onoff = 1, .l_linger = 0 };

        if (fd < 0)
                return;
        (void) setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close(fd);
}

static int set_lowat(int fd, int bytes) {
        return setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes) < 0 ? -errno : 0;
}

static void bulk_end(Direction *d) {
        if (!d->bulk)
                return;
        /* Back to a wake-up for every byte; if bytes wait already, the
         * socket turns readable right away. */
        (void) set_lowat(d->from, 1);
        d->bulk = false;
}

/* Moves what it can; returns 0 or a negative errno (the connection is over). */
static int pump(Direction *d) {
        for (int i = 0; i < ROUNDS_PER_EVENT; i++) {
                ssize_t n;

                if (d->in_pipe > 0) {
                        n = splice(d->pipe[0], NULL, d->to, NULL, d->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                        if (n < 0)
                                return errno == EAGAIN ? 0 : -errno;
                        d->in_pipe -= (size_t) n;
                        d->bytes += (uint64_t) n;
                        if (d->in_pipe > 0)
                                continue;
                }
                if (d->eof) {
                        if (!d->shut) {
                                (void) shutdown(d->to, SHUT_WR);
                                d->shut = true;
                        }
                        return 0;
                }
                n = splice(d->from, NULL, d->pipe[1], NULL, RELAY_PIPE_SIZE, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                if (n == 0)
                        d->eof = true;
                else {
                        /* Input arrived: the flush deadline starts again at the next wait. */
                        if (d->flush)
                                (void) sd_event_source_set_enabled(d->flush, SD_EVENT_OFF);
                        if (n >= BULK_ENTER && !d->bulk && set_lowat(d->from, BULK_LOWAT) >= 0)
                                d->bulk = true;
                        d->bytes_in += (uint64_t) n;
                }
                d->in_pipe += (size_t) n;
        }
        return 0;
}

static int on_flush(sd_event_source *s, uint64_t usec, void *userdata);

/* While in bulk mode and waiting for input, the flush timer runs; it is
 * never armed again while it runs, so traffic the other way cannot put
 * the deadline off. Without a timer there is no bulk mode. */
static void update_flush(Relay *r, Direction *d, bool wants_input) {
        int enabled = 0;

        if (!d->bulk || !wants_input) {
                if (d->flush)
                        (void) sd_event_source_set_enabled(d->flush, SD_EVENT_OFF);
                return;
        }
        if (!d->flush) {
                if (sd_event_add_time_relative(r->event, &d->flush, CLOCK_MONOTONIC, BULK_FLUSH_USEC, 1,
                                               on_flush, d) < 0)
                        bulk_end(d);
                return;
        }
        if (sd_event_source_get_enabled(d->flush, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                return;
        if (sd_event_source_set_time_relative(d->flush, BULK_FLUSH_USEC) < 0 ||
            sd_event_source_set_enabled(d->flush, SD_EVENT_ONESHOT) < 0)
                bulk_end(d);
}

static void finish(Relay *r, int error) {
        if (r->finished)
                return;
        r->finished = true;
        for (int i = 0; i < 2; i++) {
                r->src[i] = sd_event_source_disable_unref(r->src[i]);
                r->dir[i].flush = sd_event_source_disable_unref(r->dir[i].flush);
        }
        if (error < 0)
                for (int i = 0; i < 2; i++) {
                        reset_close(r->fd[i]);
                        r->fd[i] = -1;
                }
        r->done(r, error, r->userdata);
}

static void update_events(Relay *r) {
        for (int i = 0; i < 2; i++) {
                const Direction *out = &r->dir[i], *in = &r->dir[1 - i];  /* fd[i] reads for dir[i], writes for dir[1-i] */
                uint32_t ev = 0;

                if (!out->eof && out->in_pipe == 0)
                        ev |= EPOLLIN;
                update_flush(r, &r->dir[i], ev & EPOLLIN);
                if (in->in_pipe > 0)
                        ev |= EPOLLOUT;
                if (ev) {
                        (void) sd_event_source_set_io_events(r->src[i], ev);
                        (void) sd_event_source_set_enabled(r->src[i], SD_EVENT_ON);
                } else
                        (void) sd_event_source_set_enabled(r->src[i], SD_EVENT_OFF);
        }
}

/* Moves what it can both ways. After a flush of "flushed", bulk mode ends
 * if nothing had come. */
static void run(Relay *r, Direction *flushed) {
        uint64_t before = flushed ? flushed->bytes_in : 0;

        for (int i = 0; i < 2; i++) {
                int e = pump(&r->dir[i]);
                if (e < 0) {
                        finish(r, e);
                        return;
                }
        }
        if (r->dir[0].shut && r->dir[1].shut) {
                finish(r, 0);
                return;
        }
        if (flushed && flushed->bytes_in == before)
                bulk_end(flushed);
        update_events(r);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        run(userdata, NULL);
        return 0;
}

static int on_flush(sd_event_source *s, uint64_t usec, void *userdata) {
        Direction *d = userdata;

        run(d->relay, d);
        return 0;
}

int relay_new(sd_event *event, int fd_a, int fd_b, relay_done_t done, void *userdata, Relay **ret) {
        Relay *r;
        int e;

        r = calloc(1, sizeof *r);
        if (!r) {
                reset_close(fd_a);
                reset_close(fd_b);
                return -ENOMEM;
        }
        *r = (Relay) {
                .event = sd_event_ref(event),
                .fd = { fd_a, fd_b },
                .dir = {
                        { .relay = r, .from = fd_a, .to = fd_b, .pipe = { -1, -1 } },
                        { .relay = r, .from = fd_b, .to = fd_a, .pipe = { -1, -1 } },
                },
                .done = done,
                .userdata = userdata,
        };
        for (int i = 0; i < 2; i++) {
                if (pipe2(r->dir[i].pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
                        e = -errno;
                        goto fail;
                }
                (void) fcntl(r->dir[i].pipe[1], F_SETPIPE_SZ, RELAY_PIPE_SIZE);
        }
        for (int i = 0; i < 2; i++) {
                e = sd_event_add_io(event, &r->src[i], r->fd[i], EPOLLIN, on_io, r);
                if (e < 0)
                        goto fail;
        }
        *ret = r;
        return 0;
fail:
        for (int i = 0; i < 2; i++) {
                reset_close(r->fd[i]);
                r->fd[i] = -1;
        }
        relay_free(r);
        return e;
}

Relay *relay_free(Relay *r) {
        if (!r)
                return NULL;
        for (int i = 0; i < 2; i++) {
                sd_event_source_disable_unref(r->src[i]);
                sd_event_source_disable_unref(r->dir[i].flush);
                safe_close(r->fd[i]);
                safe_close(r->dir[i].pipe[0]);
                safe_close(r->dir[i].pipe[1]);
        }
        sd_event_unref(r->event);
        free(r);
        return NULL;
}

uint64_t relay_bytes(const Relay *r, int direction) {
        return r->dir[direction ? 1 : 0].bytes;
}
