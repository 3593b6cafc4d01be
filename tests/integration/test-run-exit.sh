#!/bin/bash
# fencectl run exits with the command's status: its own code, 126/127 when it
# cannot be executed, 128+N for signal N, 2 for usage errors, 125 when there
# is no sandbox.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fenced_start

fctl_capture run -- true
is "$RC" 0 "true exits 0"
fctl_capture run -- false
is "$RC" 1 "false exits 1"
fctl_capture run -c 'exit 42'
is "$RC" 42 "-c 'exit 42' exits 42"
fctl_capture run -- sh -c 'exit 255'
is "$RC" 255 "exit 255 exits 255"
fctl_capture run -- sh -c 'exit 125'
is "$RC" 125 "a command's own 125 comes through"

# --- cannot execute ---------------------------------------------------------
printf '#!/bin/sh\necho should-not-run\n' >"$T/work/noexec"
chmod 0644 "$T/work/noexec"
fctl_capture run -- ./noexec
is "$RC" 126 "a non-executable file exits 126"
like "$ERR" "noexec" "...and the message names it"
like "$ERR" "Permission denied" "...and says why"
is "$OUT" "" "...and nothing ran"
fctl_capture run -- /
is "$RC" 126 "a directory as the command exits 126"

fctl_capture run -- fence-itest-no-such-command
is "$RC" 127 "a missing command exits 127"
like "$ERR" "fence-itest-no-such-command.*not found" "...and the message says 'not found'"
fctl_capture run -- /nonexistent/bin/cmd
is "$RC" 127 "a missing absolute path exits 127"
fctl_capture run -c 'fence-itest-no-such-command'
is "$RC" 127 "a missing command under -c exits 127 (the shell's own)"

# --- signals ----------------------------------------------------------------
fctl_capture run -c 'kill -9 $$'
is "$RC" 137 "a command killed by SIGKILL exits 128+9"
fctl_capture run -c 'kill -15 $$'
is "$RC" 143 "a command killed by SIGTERM exits 128+15"
fctl_capture run -- sh -c 'kill -SEGV $$'
is "$RC" 139 "a command killed by SIGSEGV exits 128+11"
fctl_capture run -- sh -c 'kill -USR1 $$'
is "$RC" 138 "a command killed by SIGUSR1 exits 128+10"

# --- usage errors -----------------------------------------------------------
fctl_capture run --fence-itest-bogus true
is "$RC" 2 "run with an unknown flag exits 2"
like "$ERR" "fencectl run --help" "...and points at run --help"
fctl_capture run
is "$RC" 2 "run without a command exits 2"
like "$ERR" "no command" "...and says a command is missing"
fctl_capture run -c 'true' extra-arg
is "$RC" 2 "run with -c and a command exits 2"
like "$ERR" "cannot be given together" "...and says why"
fctl_capture run -c
is "$RC" 2 "run -c without its argument exits 2"
fctl_capture --fence-itest-bogus ps
is "$RC" 2 "an unknown global option exits 2"
fctl_capture kill
is "$RC" 2 "kill without an ID exits 2"
fctl_capture kill -s NOSUCHSIG 0123456789abcdef
is "$RC" 2 "kill with an unknown signal exits 2"

# --- no fenced --------------------------------------------------------------
capture fctl_as "$TEST_USER" --socket "$T/no-such-socket" run -- true
is "$RC" 125 "an unreachable socket exits 125"
like "$ERR" "cannot reach fenced at $T/no-such-socket" "...naming the socket"
like "$ERR" "Is fenced running\?" "...and saying what to check"
FCTL_ENV=(FENCE_SOCKET="$T/other-socket")
capture fctl_as "$TEST_USER" run -- true
is "$RC" 0 "--socket wins over \$FENCE_SOCKET"
FCTL_ENV=()
# $FENCE_SOCKET on its own: bypass fctl_as, which always passes --socket.
capture setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
        env -i PATH="$USER_PATH" FENCE_SOCKET="$T/other-socket" "$FENCECTL" run -- true
is "$RC" 125 "\$FENCE_SOCKET is used without --socket"
like "$ERR" "$T/other-socket" "...and named in the message"
echo "not a socket" >"$T/plain-file"
capture fctl_as "$TEST_USER" --socket "$T/plain-file" run -- true
is "$RC" 125 "a socket path that is a plain file exits 125"

# The same binary still works afterwards: nothing was left half-open.
fctl_capture run -c 'exit 3'
is "$RC" 3 "fenced still serves after all that"

finish
