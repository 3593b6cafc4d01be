#!/bin/bash
# fenced started by socket activation (LISTEN_FDS), and --exit-idle-time.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

proc_comm() {
        cat "/proc/$1/comm" 2>/dev/null
}

exec_activator() {      # exec_activator SOCKET CMD...: runs in a background subshell
        local sock=$1
        shift
        exec systemd-socket-activate -l "$sock" "$@"
}

# The activator creates its socket 0644; fenced.socket has SocketMode=0666,
# so make it connectable for the test users, as systemd would.
wait_socket() {
        wait_until 10 test -S "$1" && chmod 0666 "$1"
}

# --- socket activation ------------------------------------------------------
if command -v systemd-socket-activate >/dev/null; then
        SOCK=$T/sock.act
        exec_activator "$SOCK" \
                "${FENCED_LAUNCH[@]}" "$FENCED" --state-dir "$T/state" --log-dir "$T/log" >>"$T/fenced.log" 2>&1 &
        FENCED_PID=$!
        if wait_socket "$SOCK"; then
                pass "systemd-socket-activate listens on $SOCK"
                is "$(proc_comm "$FENCED_PID")" systemd-socket- "fenced is not started before the first connection"
                check "...and no fence.slice cgroup was touched yet" eval '[ -z "$(cgroup_new)" ]'

                fctl_capture run -- sh -c 'id -u; pwd; exit 6'
                is "$RC" 6 "a sandbox runs through the activated fenced (exit code)"
                is "$OUT" "$(id -u "$TEST_USER")"$'\n'"$T/work" "...as the user, in its cwd"
                is "$(proc_comm "$FENCED_PID")" fenced "the activator exec'ed fenced in place"
                unlike "$(cat "$T/fenced.log")" "Failed" "...which logs no failure"
                fctl_capture ps
                is "$RC" 0 "the activated fenced serves further connections"
                check "...from the same process" fenced_alive
                fctl_capture2() { capture fctl_user2 "$@"; }
                fctl_capture2 run -- id -u
                is "$OUT" "$(id -u "$TEST_USER2")" "...and other users"

                fenced_stop
                is "$FENCED_STATUS" 0 "the activated fenced exits 0 on SIGTERM"
        else
                fail "systemd-socket-activate listens on $SOCK" "$(cat "$T/fenced.log")"
                kill "$FENCED_PID" 2>/dev/null
                wait "$FENCED_PID" 2>/dev/null
                FENCED_PID=
        fi
else
        skip "systemd-socket-activate is not installed" "a sandbox runs through a socket-activated fenced"
fi

# --- --exit-idle-time -------------------------------------------------------
SOCK=$T/sock
fenced_start --exit-idle-time 1
start=$(now_ms)
if fenced_wait 10; then
        pass "an idle fenced with --exit-idle-time 1 exits by itself ($(($(now_ms) - start)) ms after it answered)"
        is "$FENCED_STATUS" 0 "...with status 0"
        like "$(cat "$T/fenced.log")" "Idle for 1s, exiting" "...and says why"
else
        fail "an idle fenced with --exit-idle-time 1 exits by itself within 10 s"
        fenced_stop
fi

# A running sandbox is not idleness; its end starts the clock again.
: >"$T/fenced.log"
fenced_start --exit-idle-time 1
fctl_bg "$TEST_USER" "$T/idle.out" run -c 'sleep 2.5; exit 3'
sleep 2
check "fenced with a running sandbox does not exit when idle time passes" fenced_alive
if wait_until 10 eval "! kill -0 $BG_PID 2>/dev/null"; then
        wait "$BG_PID"
        is "$?" 3 "...and the sandbox completes (exit 3)"
        if fenced_wait 10; then
                pass "...then fenced exits by itself once idle"
                is "$FENCED_STATUS" 0 "...with status 0"
        else
                fail "...then fenced exits by itself once idle (within 10 s)"
        fi
else
        fail "...and the sandbox completes" "$(cat "$T/idle.out.err")"
fi
fenced_stop

# Socket activation and idle exit together: the systemd way.
if command -v systemd-socket-activate >/dev/null; then
        SOCK=$T/sock.act2
        : >"$T/fenced.log"
        exec_activator "$SOCK" \
                "${FENCED_LAUNCH[@]}" "$FENCED" --state-dir "$T/state" --log-dir "$T/log" --exit-idle-time 1 >>"$T/fenced.log" 2>&1 &
        FENCED_PID=$!
        wait_socket "$SOCK"
        fctl_capture run -- true
        is "$RC" 0 "an activated fenced with --exit-idle-time runs a sandbox"
        if fenced_wait 10; then
                pass "...and exits by itself once idle"
                is "$FENCED_STATUS" 0 "...with status 0"
        else
                fail "...and exits by itself once idle (within 10 s)"
        fi
else
        skip "systemd-socket-activate is not installed" "an activated fenced exits once idle"
fi

finish
