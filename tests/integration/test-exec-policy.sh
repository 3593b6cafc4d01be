#!/bin/bash
# The exec policy (command.*, ssh.*): the preflight refuses a denied command
# before anything runs (exit 126, one line naming the rule); path mode masks
# denied executables; argv mode judges every exec in the sandbox through the
# seccomp user-notify supervisor, also behind sh -c, bash -c, env, xargs, a
# script and a shebang, reports each denial as an event, survives an exec
# storm, and takes the sandbox down when its supervisor dies.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_program git

fenced_start
W=$T/work
EVENTS=$T/log/events.jsonl
as_user() {
        (cd "$W" && setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
                env -i HOME="$W" PATH="$USER_PATH" LANG=C.UTF-8 "$@")
}

# A repository of the test user's, in the sandbox's working directory.
as_user git init -q "$W" && as_user git -c user.email=t@example.com -c user.name=t commit -q --allow-empty -m init ||
        bail_out "cannot create a git repository in $W"

cat >"$W/path.json" <<'EOF'
{ "command": { "deny": ["git push"] } }
EOF
cat >"$W/argv.json" <<'EOF'
{ "command": { "deny": ["git push"], "runtimeExecPolicy": "argv" } }
EOF
cat >"$W/ssh.json" <<'EOF'
{ "command": { "runtimeExecPolicy": "argv" },
  "ssh": { "allowedHosts": ["*.example.com"], "deniedHosts": ["db.example.com"],
           "allowedCommands": ["ls", "cat"] } }
EOF
chmod 0644 "$W"/*.json

# events_of ID: the sandbox's exec denials in the JSON-lines log.
denials_of() {
        grep -F "\"sandbox\":\"$1\"" "$EVENTS" 2>/dev/null | grep -F '"source":"exec","action":"denied"'
}
# The id of the sandbox that ran last (the "exited" event of the newest).
last_sandbox() {
        grep -F '"action":"exited"' "$EVENTS" | tail -n 1 | sed -n 's/.*"sandbox":"\([0-9a-f]*\)".*/\1/p'
}

# ------------------------------------------------------------ preflight ----

fctl_capture run -s path.json -- git push origin main
is "$RC" 126 "preflight: git push exits 126"
is "$ERR" 'fencectl: command denied by command.deny "git push": git push origin main' \
        "preflight: one line naming the setting, the rule and the command"

rm -f "$W/ran"
fctl_capture run -s path.json -c "touch $W/ran; true && git push"
is "$RC" 126 "preflight: git push inside -c STRING (after ; and &&) exits 126"
like "$ERR" 'command denied by command.deny "git push": git push$' "preflight: the -c message names the denied part"
check "preflight: nothing of the -c string ran (no marker file)" [ ! -e "$W/ran" ]

fctl_capture run -s path.json -- sh -c "(echo x | git push) || true"
is "$RC" 126 "preflight: git push in a subshell of a pipeline under sh -c exits 126"

fctl_capture run -- chroot / true
is "$RC" 126 "preflight: the default list applies without any config (chroot)"
like "$ERR" 'command\.useDefaults "chroot"' "preflight: the default list is named as command.useDefaults"

fctl_capture run -s path.json -- git status --short
is "$RC" 0 "git status runs under a git push deny rule"

fctl_capture run -s path.json -- git pushx
is "$RC" 1 "git pushx is not denied (a near miss): git itself answers, exit 1"
like "$ERR" "not a git command" "git pushx: the error is git's"
unlike "$ERR" "command denied" "git pushx: not the policy's"

fctl_capture run -s path.json -- git -C "$W" push
is "$RC" 126 "global flags before the subcommand are skipped: git -C DIR push is denied"

# ------------------------------------------------------------ path mode ----

fctl_capture run -s path.json -- sh -c 'c=chro; ${c}ot / true; echo "rc=$?"'
like "$OUT" "rc=12[67]" "path mode: a default-denied binary behind a variable cannot be executed"
like "$ERR" "chroot: Permission denied" "path mode: ... it fails with EACCES"
fctl_capture run -s path.json -- sh -c 'cp /usr/sbin/chroot /tmp/x 2>&1; echo "rc=$?"; ls -l /usr/sbin/chroot'
like "$OUT" "rc=1" "path mode: the masked binary cannot be copied under another name (it reads as nothing)"
like "$OUT" "^---------- " "path mode: the binary is masked by a mode-0000 file"
fctl_capture run -s path.json -- sh -c 'p=push; git $p origin 2>&1; echo "rc=$?"'
unlike "$OUT" "Permission denied" "path mode: multi-token rules are preflight-only (documented): git \$p is not judged at runtime"
like "$OUT" "rc=128" "path mode: ... git itself ran and answered"
fctl_capture run -s path.json -- sh -c 'grep Seccomp_filters /proc/self/status'
like "$OUT" "Seccomp_filters:[[:space:]]+1$" "path mode: only the deny-list filter, no notify filter"

# ------------------------------------------------------------ argv mode ----

runtime_denied() {      # runtime_denied DESCRIPTION SH-SCRIPT
        local desc=$1 script=$2 id
        fctl_capture run -s argv.json -- sh -c "$script; echo \"rc=\$?\""
        like "$OUT" "rc=(126|1)" "argv: $desc: the exec fails"
        like "$OUT$ERR" "Permission denied|cannot execute|Permission" "argv: $desc: with EACCES"
        id=$(last_sandbox)
        if wait_until 3 eval "denials_of '$id' | grep -qF '\"rule\":\"git push\"'"; then
                pass "argv: $desc: a denial event names the rule"
        else
                fail "argv: $desc: a denial event names the rule" "events: $(grep -F "$id" "$EVENTS" | tail -n 3)"
        fi
}

runtime_denied "git push behind a variable" 'p=push; git $p origin main 2>&1'
runtime_denied "bash -c" 'bash -c "p=push; git \$p origin" 2>&1'
runtime_denied "env" 'p=push; env git $p 2>&1'
runtime_denied "xargs" 'echo push | xargs git 2>&1'
printf '#!/bin/sh\np=push\nexec git $p origin\n' >"$W/push.sh"
printf '#!/usr/bin/git push\n' >"$W/shebang"
chmod 0755 "$W/push.sh" "$W/shebang"
runtime_denied "a script" './push.sh 2>&1'
runtime_denied "a script's shebang (#!/usr/bin/git push)" './shebang 2>&1'

# An execute-only script (mode 0111): the kernel runs its interpreter although
# the process cannot read it, so neither can the supervisor judge its #! line:
# refused as uncheckable, never taken for "no script".
printf '#!/usr/bin/git push\n' >"$W/xonly"
chown "$TEST_USER" "$W/xonly"
chmod 0111 "$W/xonly"
fctl_capture run -m -s argv.json -- sh -c './xonly 2>&1; echo "rc=$?"'
like "$OUT" "rc=126" "argv: an execute-only script (#!/usr/bin/git push, mode 0111) does not run"
like "$ERR" "execute-only" "...and the event says why it could not be checked"
# A script readable only through a supplementary group is judged (and runs):
# the supervisor reads as the process does, with its groups.
printf '#!/bin/sh\necho group-readable-ran\n' >"$W/grouponly"
chown "root:$TEST_GROUP" "$W/grouponly"
chmod 0750 "$W/grouponly"
fctl_capture run -s argv.json -- ./grouponly
is "$RC/$OUT" "0/group-readable-ran" "argv: a script readable only through a supplementary group runs"
rm -f "$W/xonly" "$W/grouponly"

id=
fctl_capture run -s argv.json -- sh -c 'p=push; git $p origin main 2>&1; echo "rc=$?"'
id=$(last_sandbox)
ev=$(denials_of "$id" | head -n 1)
like "$ev" '"commandLine":"git push origin main"' "argv: the event carries the command line"
like "$ev" '"setting":"command.deny"' "argv: the event names the setting"
like "$ev" '"pid":[1-9]' "argv: the event names the process"

fctl_capture run -m -s argv.json -- sh -c 'p=push; git $p origin main 2>/dev/null; true'
like "$ERR" '"source":"exec","action":"denied".*"rule":"git push"' "argv: with -m the client receives the denial event"

fctl_capture run -s argv.json -- sh -c 'git status --short >/dev/null && echo ok; git pushx 2>&1 | head -n 1'
like "$OUT" "^ok" "argv: git status runs"
like "$OUT" "not a git command" "argv: git pushx is not denied (near miss)"

fctl_capture run -s argv.json -- sh -c 'cp /usr/bin/git /tmp/tig && p=push && /tmp/tig $p origin 2>&1; echo "rc=$?"'
unlike "$OUT" "Permission denied" \
        "argv: as documented, a copy under another name is judged by its own name (tig push is not git push)"
like "$OUT" "rc=128" "argv: ... the copy ran and answered as git"

fctl_capture run -s argv.json -- sh -c 'grep Seccomp_filters /proc/self/status'
like "$OUT" "Seccomp_filters:[[:space:]]+2$" "argv: the deny-list filter and the notify filter"

# No rule that needs argv: no notify filter at all (zero overhead), the same
# filters as a sandbox without any exec policy.
fctl_capture run -- sh -c 'grep Seccomp_filters /proc/self/status'
plain_filters=$OUT
like "$plain_filters" "Seccomp_filters:[[:space:]]+[0-9]+$" "(a plain sandbox's Seccomp_filters)"
cat >"$W/argv-norules.json" <<'JSON'
{ "command": { "useDefaults": false, "runtimeExecPolicy": "argv" } }
JSON
cat >"$W/argv-allowonly.json" <<'JSON'
{ "command": { "useDefaults": false, "allow": ["git push origin docs"], "runtimeExecPolicy": "argv" } }
JSON
chmod 0644 "$W/argv-norules.json" "$W/argv-allowonly.json"
fctl_capture run -s argv-norules.json -- sh -c 'grep Seccomp_filters /proc/self/status'
is "$OUT" "$plain_filters" "argv mode, useDefaults false, no deny list: no notify filter (as a plain sandbox)"
fctl_capture run -s argv-allowonly.json -- sh -c 'grep Seccomp_filters /proc/self/status'
is "$OUT" "$plain_filters" "argv mode with only an allow list: no notify filter (as a plain sandbox)"

# command.allow beats command.deny (docs/config.md): at the preflight and at
# run time in argv mode.
cat >"$W/allow.json" <<'JSON'
{ "command": { "deny": ["git push"], "allow": ["git push origin docs", "chroot"], "runtimeExecPolicy": "argv" } }
JSON
chmod 0644 "$W/allow.json"
fctl_capture run -s allow.json -- git push origin docs
like "$RC/$ERR" "^1/error: src refspec docs does not match any" \
        "command.allow \"git push origin docs\" beats command.deny \"git push\": git itself runs and answers"
unlike "$ERR" "command denied" "...the preflight lets it through"
fctl_capture run -s allow.json -- git push origin main
is "$RC" 126 "...while git push origin main stays denied (126)"
fctl_capture run -s allow.json -- chroot / true
unlike "$ERR" "command denied" "command.allow \"chroot\" beats the default list (useDefaults)"
fctl_capture run -s allow.json -- sh -c 'p=push; git $p origin docs 2>&1; echo "rc=$?"; git $p origin main 2>&1; echo "rc=$?"'
like "$(tr '\n' ' ' <<<"$OUT")" "src refspec docs does not match any.* rc=1 .*git: Permission denied rc=126 $" \
        "argv mode at run time: the allowed push runs (git answers), the denied one fails with EACCES"

# Another thread could rewrite the arguments between the check and the exec:
# an exec from a multithreaded process is refused (as fence does).
if command -v python3 >/dev/null; then
        fctl_capture run -s argv.json -- python3 -c 'import os; os.execv("/bin/true", ["true"])'
        is "$RC" 0 "argv: a single-threaded process execs an allowed command"
        fctl_capture run -s argv.json -- python3 -c 'import threading, os, time
threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
os.execv("/bin/true", ["true"])'
        isnt "$RC" 0 "argv: an exec from a multithreaded process is refused"
        like "$ERR" "PermissionError" "argv: ... with EACCES"
        id=$(last_sandbox)
        like "$(denials_of "$id")" "multithreaded" "argv: ... and a denial event says why"
else
        skip "python3 is not installed" "argv: an exec from a multithreaded process is refused"
fi

# ssh rules, judged on every ssh exec (a stand-in ssh: only its argv matters).
mkdir -p "$W/bin" && printf '#!/bin/sh\necho "ssh ran: $*"\n' >"$W/bin/ssh" && chmod 0755 "$W/bin/ssh"
fctl_capture run -s ssh.json -- ./bin/ssh evil.org ls
is "$RC" 126 "ssh: preflight refuses a host outside ssh.allowedHosts"
like "$ERR" "ssh.allowedHosts" "ssh: the message names ssh.allowedHosts"
# Inside a script, out of the preflight's sight: only the supervisor judges these.
printf '#!/bin/sh\n./bin/ssh db.example.com ls 2>&1\n./bin/ssh a.example.com ls\n./bin/ssh a.example.com rm -rf x 2>&1\n' >"$W/ssh-try.sh"
chmod 0755 "$W/ssh-try.sh"
fctl_capture run -s ssh.json -- ./ssh-try.sh
unlike "$OUT" "ssh ran: db.example.com" "ssh: a denied host is refused at runtime"
is "$(grep -c 'bin/ssh: Permission denied' <<<"$OUT")" 2 "ssh: both refused ssh execs failed with EACCES"
like "$OUT" "ssh ran: a.example.com ls" "ssh: an allowed host with an allowed command runs"
unlike "$OUT" "ssh ran: a.example.com rm" "ssh: a command outside ssh.allowedCommands is refused at runtime"

# ------------------------------------------------------------ exec storm ----

# Four sandboxes exec /bin/true 500 times each at once; meanwhile another
# sandbox must still start and finish (fenced's loop is not wedged).
pids=()
for i in 1 2 3 4; do
        fctl_bg "$TEST_USER" "$T/storm$i" run -s argv.json -- sh -c 'i=0; while [ $i -lt 500 ]; do /bin/true; i=$((i+1)); done; echo done'
        pids+=("$BG_PID")
done
capture timeout 20 setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
        env -i PATH="$USER_PATH" HOME="$W" "$FENCECTL" --socket "$SOCK" run -s "$W/argv.json" -- echo alive
is "$OUT" "alive" "exec storm: another sandbox starts and finishes meanwhile"
storm_ok=0
for i in "${!pids[@]}"; do
        wait "${pids[$i]}" && grep -qx done "$T/storm$((i + 1))" && storm_ok=$((storm_ok + 1))
done
is "$storm_ok" 4 "exec storm: all 2000 execs in 4 sandboxes ran"

# ------------------------------------------------- supervisor death ----

fctl_bg "$TEST_USER" "$T/victim" run -s argv.json -- sh -c 'while :; do /bin/true; echo x > /tmp/beat; sleep 0.05; done'
victim=$BG_PID
helper=
wait_until 5 eval 'helper=$(for p in $(pgrep -x fenced-execsup); do grep -qF "$SOCK" /proc/$(ps -o ppid= -p $p | tr -d " ")/cmdline 2>/dev/null && echo $p; done | tail -n 1); [ -n "$helper" ]'
if [ -n "$helper" ]; then
        vid=$(sandbox_id_of "$TEST_USER" "while")
        kill -KILL "$helper"
        if wait_until 5 eval '! kill -0 $victim 2>/dev/null'; then
                pass "supervisor killed: the sandbox is killed"
        else
                fail "supervisor killed: the sandbox is killed" "fencectl $victim still runs"
                kill "$victim" 2>/dev/null
        fi
        wait "$victim"
        is "$?" 137 "supervisor killed: fencectl reports SIGKILL (137)"
        like "$(grep -F "\"sandbox\":\"$vid\"" "$EVENTS")" '"action":"supervisor-lost"' \
                "supervisor killed: a supervisor-lost event names the sandbox"
        like "$(cat "$T/victim.err")" "exec supervisor is gone" "supervisor killed: fencectl says why"
else
        fail "found the sandbox's exec supervisor helper" "$(ps -eo pid,ppid,comm | grep -i exec)"
        kill "$victim" 2>/dev/null
        wait "$victim"
fi

# --------------------------------------------------------- fenced killed ----

# SIGKILL of fenced itself while an argv-mode sandbox runs (this script's
# private fenced): the supervisor goes with it, the sandbox's next exec fails
# and the sandbox is gone; a new fenced starts cleanly afterwards.
cat >"$W/argv-rw.json" <<JSON
{ "command": { "deny": ["git push"], "runtimeExecPolicy": "argv" }, "filesystem": { "allowWrite": ["$W/beat"] } }
JSON
chmod 0644 "$W/argv-rw.json"
mkdir -p "$W/beat"
chown "$TEST_USER" "$W/beat"
fctl_bg "$TEST_USER" "$T/killed" run -s argv-rw.json -- sh -c \
        "while :; do if /bin/true; then echo ok >>$W/beat/log; else echo failed >>$W/beat/log; fi; sleep 0.05; done"
killed_client=$BG_PID
if wait_until 10 eval '[ "$(grep -c ok "$W/beat/log" 2>/dev/null)" -ge 3 ]'; then
        killed_cg=$(cgroup_new | head -n 1)
        kill -KILL "$FENCED_PID"
        wait "$FENCED_PID" 2>/dev/null
        FENCED_PID=
        n_ok=$(grep -c ok "$W/beat/log")
        sandbox_gone() {
                ! pgrep -u "$TEST_USER" -f 'echo ok >>' >/dev/null
        }
        if wait_until 10 sandbox_gone; then
                pass "fenced SIGKILLed: the argv-mode sandbox is gone"
        else
                fail "fenced SIGKILLed: the argv-mode sandbox is gone" \
                        "$(ps -o pid=,args= -u "$TEST_USER"; tail -n 3 "$W/beat/log")"
        fi
        sleep 0.3
        is "$(grep -c ok "$W/beat/log")" "$n_ok" "...no exec succeeded after the kill (no new 'ok' beat)"
        diag "beats after the kill: $(sed "1,${n_ok}d" "$W/beat/log" | sort | uniq -c | xargs)"
        if wait_until 10 eval '! kill -0 $killed_client 2>/dev/null'; then
                wait "$killed_client"
                isnt "$?" 0 "...and fencectl exits with a failure"
        else
                fail "...and fencectl exits" "fencectl $killed_client still runs"
                kill "$killed_client" 2>/dev/null
                wait "$killed_client"
        fi
        diag "fencectl said: $(cat "$T/killed.err")"
        [ -z "$killed_cg" ] || diag "sandbox cgroup $killed_cg: $(cat "$CG_SLICE/$killed_cg/cgroup.procs" 2>/dev/null | xargs)"
else
        fail "the argv-mode sandbox to kill fenced under ran" "$(cat "$T/killed.err")"
        kill "$killed_client" 2>/dev/null
        wait "$killed_client"
        kill -KILL "$FENCED_PID"
        wait "$FENCED_PID" 2>/dev/null
        FENCED_PID=
fi
# A new fenced removes what the killed one left (its cgroups) and serves.
fenced_start
fctl_capture run -s argv.json -- echo again
is "$RC/$OUT" "0/again" "a new fenced after the SIGKILL serves argv-mode sandboxes"

# ------------------------------------------------------------ templates ----

for t in code code-relaxed code-strict git-readonly; do
        fctl_capture run -t "$t" -- true
        is "$RC" 0 "template $t runs true"
done
fctl_capture run -t code -- git push
is "$RC" 126 "template code refuses git push"

finish
