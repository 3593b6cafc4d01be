#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "log.h"
#include "macro.h"
#include "pty-relay.h"

bool pty_relay_wanted(void) {
        return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
}

int pty_relay_open(PtyRelay *p) {
        struct termios t;
        struct winsize ws;
        const char *name;

        *p = (PtyRelay) { .master = -1, .slave = -1 };
        p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (p->master < 0)
                return negative_errno();
        if (grantpt(p->master) < 0 || unlockpt(p->master) < 0 || !(name = ptsname(p->master)))
                goto fail;
        p->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (p->slave < 0)
                goto fail;
        if (tcgetattr(STDIN_FILENO, &t) == 0)
                (void) tcsetattr(p->slave, TCSANOW, &t);
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                (void) ioctl(p->master, TIOCSWINSZ, &ws);
        return 0;
fail:;
        int r = negative_errno();
        pty_relay_done(p);
        return r;
}

int pty_relay_start(PtyRelay *p) {
        struct termios raw;

        p->slave = safe_close(p->slave);
        if (tcgetattr(STDIN_FILENO, &p->saved) < 0)
                return negative_errno();
        raw = p->saved;
        cfmakeraw(&raw);
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
                return negative_errno();
        p->raw = true;
        return 0;
}

static int copy_some(int from, int to) {
        char buf[16384];
        ssize_t n = read(from, buf, sizeof buf);

        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : negative_errno();
        if (n == 0)
                return -EPIPE;
        for (ssize_t off = 0; off < n;) {
                ssize_t w = write(to, buf + off, (size_t) (n - off));
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                (void) poll(&(struct pollfd) { .fd = to, .events = POLLOUT }, 1, -1);
                                continue;
                        }
                        return negative_errno();
                }
                off += w;
        }
        return 1;
}

int pty_relay_pump(PtyRelay *p, bool from_stdin, bool from_master) {
        int r;

        if (from_stdin && !p->stdin_eof) {
                r = copy_some(STDIN_FILENO, p->master);
                if (r == -EPIPE)
                        p->stdin_eof = true;
        }
        if (from_master) {
                r = copy_some(p->master, STDOUT_FILENO);
                /* Linux reports a pty whose slave side is all closed as EIO. */
                if (r == -EIO || r == -EPIPE)
                        return -EIO;
        }
        return 0;
}

void pty_relay_drain(PtyRelay *p) {
        if (p->master < 0)
                return;
        /* Everything in the sandbox is gone by now, so this ends with EIO. */
        while (copy_some(p->master, STDOUT_FILENO) > 0)
                ;
}

void pty_relay_resize(PtyRelay *p) {
        struct winsize ws;

        if (p->master >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                (void) ioctl(p->master, TIOCSWINSZ, &ws);
}

void pty_relay_done(PtyRelay *p) {
        if (p->raw)
                (void) tcsetattr(STDIN_FILENO, TCSADRAIN, &p->saved);
        p->raw = false;
        p->master = safe_close(p->master);
        p->slave = safe_close(p->slave);
}
