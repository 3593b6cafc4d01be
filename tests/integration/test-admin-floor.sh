#!/bin/bash
# The administrator's policy floor (fenced --policy FILE) end to end: its
# denyRead hides a file in every sandbox, its command.deny refuses a command
# at the preflight, `fencectl config show` lists it, a user's "!entry" cannot
# remove it, and fenced refuses to start with a floor file that someone other
# than root could change.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$T/work
CASE=$W/floor
mkdir -p "$CASE"
printf 'top secret\n' >"$CASE/secret.txt"
printf 'visible\n' >"$CASE/visible.txt"
chown -R "$TEST_USER:$TEST_USER" "$CASE"
chmod 0644 "$CASE"/*.txt
# shellcheck disable=SC2034 # read by fctl_exec in lib.sh
FCTL_CWD=$CASE

POLICY=$T/policy.json
cat >"$POLICY" <<EOF
// The floor of this test: one hidden file, one denied command.
{
  "filesystem": { "denyRead": ["$CASE/secret.txt"] },
  "command": { "deny": ["git status"] },
}
EOF
chmod 0644 "$POLICY"

fenced_start --policy "$POLICY"

# --- denyRead ---------------------------------------------------------------
fctl_capture run -- cat secret.txt
isnt "$RC" 0 "floor denyRead: cat of the file fails in the sandbox"
like "$ERR" "secret\.txt: Permission denied" "...with EACCES (Permission denied)"
unlike "$OUT" "top secret" "...and nothing of it is printed"
fctl_capture run -- sh -c 'head -c 100 secret.txt >/dev/null 2>&1; echo "rc=$?"; test -r secret.txt && echo readable || echo unreadable'
like "$OUT" "unreadable" "...test -r says it is unreadable"
fctl_capture run -- cat visible.txt
is "$RC/$OUT" "0/visible" "a file next to it stays readable"

# A user config cannot take the entry back with "!".
printf '{ "filesystem": { "denyRead": ["!%s"] } }\n' "$CASE/secret.txt" >"$CASE/fence.json"
chown "$TEST_USER:$TEST_USER" "$CASE/fence.json"
fctl_capture run -- cat secret.txt
isnt "$RC" 0 "a user's \"!path\" in denyRead cannot remove the floor's entry"
unlike "$OUT" "top secret" "...and nothing of the file is printed"
fctl_capture run -s "$CASE/fence.json" -- cat secret.txt
isnt "$RC" 0 "...nor given with -s"
rm -f "$CASE/fence.json"
# Nor can a client that is not fencectl, sending the "!" entry to fenced raw.
RAW_RUN='import array, json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
cfg = {"filesystem": {"denyRead": ["!" + sys.argv[2]]}}
msg = {"method": "io.fence.Sandbox.Run", "more": True,
       "parameters": {"argv": ["cat", sys.argv[2]], "env": [], "config": cfg,
                      "cwdFd": 0, "stdinFd": 1, "stdoutFd": 2, "stderrFd": 3}}
fds = [os.open(".", os.O_RDONLY | os.O_DIRECTORY), 0, 1, 2]
s.sendmsg([json.dumps(msg).encode() + b"\0"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
buf = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        print("closed"); break
    buf += chunk
    while b"\0" in buf:
        m, buf = buf.split(b"\0", 1)
        r = json.loads(m)
        if r.get("error"):
            print("error", r["error"]); sys.exit(0)
        if r.get("parameters", {}).get("state") == "exited":
            print("exit", r["parameters"].get("exitCode")); sys.exit(0)'
raw_out=$(cd "$CASE" && setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
        env -i PATH="$USER_PATH" /usr/bin/python3 -c "$RAW_RUN" "$SOCK" "$CASE/secret.txt" 2>&1)
unlike "$raw_out" "top secret" "a raw varlink Run with \"!path\" in its config cannot remove the floor's entry either"
like "$raw_out" "exit 1" "...the sandbox's cat fails (exit 1)"

# --- command.deny -----------------------------------------------------------
fctl_capture run -- git status
is "$RC" 126 "floor command.deny \"git status\": fencectl run git status exits 126"
like "$ERR" 'command denied by command\.deny "git status"' "...naming the rule"
fctl_capture run -- git --version
is "$RC" 0 "another git command runs"

# --- config show --------------------------------------------------------------
fctl_capture config show
is "$RC" 0 "config show exits 0"
like "$ERR" "admin floor \(from fenced\)" "config show lists the admin floor in its chain"
like "$OUT" "\"$CASE/secret\.txt\"" "...and prints the floor's denyRead entry"
like "$OUT" '"git status"' "...and the floor's command.deny entry"

# --- a floor file others could change -----------------------------------------
fenced_stop
is "$FENCED_STATUS" 0 "fenced exits 0 on SIGTERM"

# bad_floor DESCRIPTION: fenced with $POLICY as it is now must refuse to start,
# with a message naming the file.
bad_floor() {
        local sock=$T/bad.sock log=$T/bad.log pid i
        rm -f "$sock" "$log"
        "${FENCED_LAUNCH[@]}" "$FENCED" --socket "$sock" --state-dir "$T/bad-state" --log-dir "$T/log" \
                --policy "$POLICY" >"$log" 2>&1 &
        pid=$!
        for ((i = 0; i < 500; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.02
        done
        if kill -0 "$pid" 2>/dev/null; then
                kill -TERM "$pid"
                wait "$pid"
                fail "$1: fenced refuses to start" "it was still running after 10 s"
                return
        fi
        wait "$pid"
        RC=$?
        isnt "$RC" 0 "$1: fenced refuses to start"
        like "$(cat "$log")" "$POLICY.*must be owned by root and not group/world-writable" "...with a message naming the file"
        check "...and serves no socket" test ! -S "$sock"
}

chown "$TEST_USER" "$POLICY"
bad_floor "floor owned by $TEST_USER"
chown root "$POLICY"
chmod 0664 "$POLICY"
bad_floor "floor group-writable"
chmod 0646 "$POLICY"
bad_floor "floor world-writable"
chmod 0644 "$POLICY"

# And a floor that tries to grant something is refused too.
printf '{ "filesystem": { "allowWrite": ["/"] } }\n' >"$POLICY"
"${FENCED_LAUNCH[@]}" "$FENCED" --socket "$T/bad.sock" --state-dir "$T/bad-state" --log-dir "$T/log" \
        --policy "$POLICY" >"$T/bad.log" 2>&1 &
pid=$!
if wait_until 10 eval "! kill -0 $pid 2>/dev/null"; then
        wait "$pid"
        isnt "$?" 0 "a floor with filesystem.allowWrite: fenced refuses to start"
        like "$(cat "$T/bad.log")" "filesystem\.allowWrite: not allowed in an admin floor" "...naming the key"
else
        kill -TERM "$pid"; wait "$pid"
        fail "a floor with filesystem.allowWrite: fenced refuses to start" "still running after 10 s"
fi

finish
