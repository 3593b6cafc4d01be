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

typedef struct Direction {
        int from, to;
        int pipe[2];
        size_t in_pipe;
        bool eof;               /* read end saw FIN */
        bool shut;              /* FIN passed on */
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
                d->in_pipe += (size_t) n;
        }
        return 0;
}

static void finish(Relay *r, int error) {
        if (r->finished)
                return;
        r->finished = true;
        for (int i = 0; i < 2; i++)
                r->src[i] = sd_event_source_disable_unref(r->src[i]);
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
                if (in->in_pipe > 0)
                        ev |= EPOLLOUT;
                if (ev) {
                        (void) sd_event_source_set_io_events(r->src[i], ev);
                        (void) sd_event_source_set_enabled(r->src[i], SD_EVENT_ON);
                } else
                        (void) sd_event_source_set_enabled(r->src[i], SD_EVENT_OFF);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Relay *r = userdata;

        for (int i = 0; i < 2; i++) {
                int e = pump(&r->dir[i]);
                if (e < 0) {
                        finish(r, e);
                        return 0;
                }
        }
        if (r->dir[0].shut && r->dir[1].shut) {
                finish(r, 0);
                return 0;
        }
        update_events(r);
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
                        { .from = fd_a, .to = fd_b, .pipe = { -1, -1 } },
                        { .from = fd_b, .to = fd_a, .pipe = { -1, -1 } },
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
