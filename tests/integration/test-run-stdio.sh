#!/bin/bash
# The sandboxed command uses the client's own stdin, stdout and stderr.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fenced_start

# --- pipes ------------------------------------------------------------------
out=$(printf abc | fctl_user run cat | od -An -c | xargs)
is "$out" "a b c" "printf abc | fencectl run cat prints exactly abc"

out=$(printf 'one\ntwo\n' | fctl_user run -c 'read a; read b; echo "$b $a"')
is "$out" "two one" "stdin is read line by line through -c"

# --- files, stderr apart ----------------------------------------------------
fctl_user run -c 'echo to-stdout; echo to-stderr >&2; exit 4' </dev/null >"$T/o" 2>"$T/e"
is "$?" 4 "the exit code survives redirected stdio"
is "$(cat "$T/o")" "to-stdout" "stdout goes to the redirected file"
is "$(cat "$T/e")" "to-stderr" "stderr goes to its own file, apart from stdout"

echo first >"$T/append"
fctl_user run -c 'echo second' </dev/null >>"$T/append"
is "$(cat "$T/append")" $'first\nsecond' "an O_APPEND stdout is appended to"

# Files the user could not open itself still work: the client's fds are used
# as they are, the sandbox does not reopen paths.
echo root-only-input >"$T/root-only"
chmod 0600 "$T/root-only"
out=$(fctl_user run cat <"$T/root-only")
is "$out" "root-only-input" "a stdin the caller opened is used as is (not reopened)"

# --- a large stream ---------------------------------------------------------
head -c 10485760 /dev/urandom >"$T/big"
want=$(sha256sum <"$T/big")
fctl_user run cat <"$T/big" >"$T/big.out"
is "$?" 0 "10 MiB through cat (files) exits 0"
is "$(sha256sum <"$T/big.out")" "$want" "...and arrives intact (sha256)"
got=$(cat "$T/big" | fctl_user run cat | sha256sum)
is "$got" "$want" "10 MiB through cat (pipes) arrives intact (sha256)"
got=$(fctl_user run -c 'head -c 10485760 /dev/zero' | wc -c)
is "$got" 10485760 "10 MiB produced inside arrive in full"

# --- closed and odd stdio ---------------------------------------------------
out=$(fctl_user run -c 'cat; echo "rc=$?"' <&- 2>"$T/closed.err")
rc=$?
is "$rc" 0 "a closed stdin does not break run"
is "$out" "rc=0" "...and the command sees an empty stdin"
[ ! -s "$T/closed.err" ] || diag "stderr: $(cat "$T/closed.err")"

fctl_user run -c 'echo lost; echo "echo-rc=$?" >&2' </dev/null >&- 2>"$T/closed-out.err"
is "$?" 0 "a closed stdout does not break run"
is "$(cat "$T/closed-out.err")" "echo-rc=0" "...and the command writes to a /dev/null stdout"

out=$(fctl_user run -c 'echo to-stdout' </dev/null 2>&-)
is "$out" "to-stdout" "a closed stderr does not break run"

# The reader going away: the command gets EPIPE/SIGPIPE, run still ends.
fctl_user run -c 'yes' </dev/null | head -c 100000 >/dev/null
rc=${PIPESTATUS[0]}
cmp_num "$rc" -ne 125 "a command writing to a closed pipe ends (exit $rc, SIGPIPE or EPIPE)"

# --- a terminal -------------------------------------------------------------
if command -v script >/dev/null; then
        out=$(cd "$T/work" && script -qec \
                "setpriv --reuid=$TEST_USER --regid=$TEST_USER --init-groups -- env -i PATH=$USER_PATH $FENCECTL --socket $SOCK run -- sh -c 'test -t 0 && test -t 1 && echo is-a-tty'" \
                /dev/null </dev/null | tr -d '\r')
        like "$out" "is-a-tty" "a terminal on stdin/stdout is passed as a terminal"
else
        skip "no script(1)" "a terminal on stdin/stdout is passed as a terminal"
fi

finish
