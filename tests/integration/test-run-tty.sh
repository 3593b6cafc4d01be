#!/bin/bash
# fencectl on a terminal: the command gets a pty of its own as controlling
# terminal, with a name, the outer window size, job control, and ^C.
# script(1) gives fencectl the terminal a user's shell would.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_program script stty python3
fenced_start

# tty_run SETUP FENCECTL-ARG...: `SETUP; fencectl ARG...` as the test user,
# in a shell on a new terminal; OUT (CRs removed), ERR, RC as capture sets.
# Standard input is a FIFO that this shell holds open for writing: script(1)
# turns EOF on its input into a byte typed on the terminal, which would end
# up in the command's output.
tty_run() {
        local setup=$1 cmd keys=${TTY_STDIN:-}
        shift
        if [ -z "$keys" ]; then
                keys=$T/tty-in
                rm -f "$keys"
                mkfifo "$keys"
                exec 8<>"$keys"
        fi
        printf -v cmd '%q ' "$FENCECTL" --socket "$SOCK" "$@"
        LAST_CMD="script: $setup; fencectl $*"
        (
                cd "$T/work" || exit 125
                exec setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
                        env -i HOME="$(getent passwd "$TEST_USER" | cut -d: -f6)" USER="$TEST_USER" \
                        PATH="$USER_PATH" LANG=C.UTF-8 SHELL=/bin/sh TERM=xterm \
                        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0:detect_leaks=0:log_path=stderr" \
                        ${UBSAN_OPTIONS:+UBSAN_OPTIONS="$UBSAN_OPTIONS"} \
                        script -qec "$setup; exec $cmd" /dev/null
        ) <"$keys" >"$T/capture.out" 2>"$T/capture.err"
        RC=$?
        [ -n "${TTY_STDIN:-}" ] || { exec 8>&-; rm -f "$keys"; }
        OUT=$(tr -d '\r' <"$T/capture.out")
        ERR=$(cat "$T/capture.err")
}

# --- a named controlling terminal ---------------------------------------------
tty_run : run -- sh -c 'tty; test -t 0 && test -t 1 && test -t 2 && echo all-tty'
is "$RC" 0 "a command on a terminal exits 0"
like "$OUT" "^/dev/console" "tty(1) names the command's terminal (/dev/console)"
like "$OUT" "all-tty" "stdin, stdout and stderr are all that terminal"

tty_run : run -- sh -c 'echo written >"$(tty)" && echo via-name'
like "$OUT" "written" "writing to the terminal by its name reaches the user"
like "$OUT" "via-name" "...and succeeds"

# The terminal the sandbox sees is not the user's: a host pty slave reached
# through /dev/console cannot be the real terminal.
tty_run : run -- python3 -c 'import os; print("fg" if os.tcgetpgrp(0) == os.getpgrp() else "bg", "leader" if os.getsid(0) == os.getpid() else "member")'
is "$OUT" "fg leader" "the command leads its own session and is the terminal's foreground group"

# --- window size ----------------------------------------------------------------
tty_run 'stty rows 33 cols 101' run -- stty size
is "$OUT" "33 101" "the command sees the outer terminal's window size"

# --- job control ----------------------------------------------------------------
# An interactive shell in the sandbox stops, resumes and ends a job.
require_program bash
tty_run : run -- bash --norc -ic 'sleep 30 & kill -STOP $!; sleep 0.2; jobs -l; kill -CONT $!; sleep 0.2; jobs -l; kill $!; wait $!; echo "job status $?"'
like "$OUT" "Stopped \\(signal\\) +sleep 30" "job control: a stopped job is reported as stopped"
like "$OUT" "Running +sleep 30" "...then as running after SIGCONT"
like "$OUT" "job status 143" "...and ends when killed"

# --- ^C on the terminal ----------------------------------------------------------
# The interrupt character typed on the user's terminal ends the command with
# SIGINT (not the client's SIGINT: the byte crosses fencectl's relay).
mkfifo "$T/keys"
(TTY_STDIN=$T/keys tty_run : run -- sleep 100; exit "$RC") 8>&- &
runner=$!
exec 7>"$T/keys"
# script(1) may hold back input that arrives while it sets up, so the key is
# typed again every 0.2 s until the command is gone (at most 10 s).
trap '' PIPE     # script may be gone between the check and the write
if wait_until 10 eval 'fctl_user ps 2>/dev/null | grep -q "sleep 100"'; then
        for ((i = 0; i < 50; i++)); do
                printf '\003' >&7 2>/dev/null || break
                ! kill -0 "$runner" 2>/dev/null && break
                sleep 0.2
        done
else
        diag "the sandbox did not show up in fencectl ps within 10 s"
fi
trap - PIPE
exec 7>&-
wait "$runner"
RC=$?
is "$RC" 130 "^C on the terminal ends the command with SIGINT (exit 130)"
rm -f "$T/keys"

# --- no terminal, no pty ----------------------------------------------------------
fctl_capture run -- sh -c 'tty; exit 0'
is "$OUT" "not a tty" "without a terminal the command gets none either"

finish
