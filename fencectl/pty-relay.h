/* pty-relay.h — running a sandboxed command on its own pseudo-terminal.
 *
 * When fencectl runs on a terminal, the command gets the slave side of a pty
 * that fencectl allocated (as the user) as its controlling terminal: job
 * control works inside, and TIOCSTI can only inject into that pty, never into
 * the user's real terminal. fencectl puts its terminal in raw mode and copies
 * bytes both ways; window size changes follow (SIGWINCH).
 */
#pragma once

#include <stdbool.h>
#include <termios.h>

typedef struct PtyRelay {
        int master;
        int slave;              /* sent to fenced, then closed here */
        bool raw;               /* our terminal is in raw mode */
        struct termios saved;   /* its settings before */
        bool stdin_eof;
} PtyRelay;

/* True when stdin and stdout are both terminals. */
bool pty_relay_wanted(void);
/* Opens the pty with the terminal's settings and size. */
int pty_relay_open(PtyRelay *p);
/* Raw mode on our terminal (after the request is sent). */
int pty_relay_start(PtyRelay *p);
/* Copies what is readable: fd 0 → master, master → fd 1. Returns -EIO when
 * the pty is closed on the sandbox side. */
int pty_relay_pump(PtyRelay *p, bool from_stdin, bool from_master);
/* Copies what is left on the master (until the sandbox side is closed). */
void pty_relay_drain(PtyRelay *p);
/* Propagates our terminal's window size to the pty. */
void pty_relay_resize(PtyRelay *p);
/* Restores the terminal, closes the pty. */
void pty_relay_done(PtyRelay *p);
