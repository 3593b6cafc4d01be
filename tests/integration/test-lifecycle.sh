#!/bin/bash
# A sandbox lives as long as its client and its daemon: what happens when
# either is killed, signals through fencectl, ps/kill and their ownership,
# daemon shutdown and restart after a crash.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fenced_start

# Processes of a sandbox cgroup (host pids).
cgroup_procs() {        # cgroup_procs NAME
        cat "$CG_SLICE/$1/cgroup.procs" 2>/dev/null | xargs
}

# Dead: no such pid, or a zombie. (A sandbox's init whose fenced died is
# reparented to the host's pid 1, which may take a while to reap it.)
pids_gone() {
        local p state
        for p in "$@"; do
                state=$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)
                [ -z "$state" ] || [ "$state" = Z ] || return 1
        done
        return 0
}

cgroup_gone() {
        [ ! -d "$CG_SLICE/$1" ]
}

# Waits until the user's sandbox running ERE is listed with a command pid;
# sets SB_ID and SB_PID.
wait_sandbox() {        # wait_sandbox USER ERE
        local line i
        SB_ID='' SB_PID='' SB_LINE=''
        for ((i = 0; i < 250; i++)); do
                line=$(fctl_as "$1" ps 2>/dev/null | awk -v re="$2" 'NR > 1 { l = $0; $1 = $2 = $3 = $4 = ""; if ($0 ~ re) { print l; exit } }')
                if [ -n "$line" ] && [ "$(awk '{ print $2 }' <<<"$line")" != 0 ]; then
                        SB_ID=$(awk '{ print $1 }' <<<"$line")
                        SB_PID=$(awk '{ print $2 }' <<<"$line")
                        SB_LINE=$line
                        return 0
                fi
                sleep 0.02
        done
        return 1
}

# wait_bg PID SECONDS: waits for a background fencectl; sets BG_RC
# ("timeout" if it did not end in time, after killing it).
wait_bg() {
        if wait_until "$2" eval "! kill -0 $1 2>/dev/null"; then
                wait "$1"
                BG_RC=$?
        else
                kill -KILL "$1" 2>/dev/null
                wait "$1" 2>/dev/null
                BG_RC=timeout
        fi
}

# --- a killed fencectl takes its sandbox along ------------------------------
fctl_bg "$TEST_USER" "$T/k.out" run -- sleep 1000
check "a sandbox runs sleep 1000" wait_sandbox "$TEST_USER" 'sleep 1000'
cg=$SB_ID
procs=$(cgroup_procs "$cg")
cmp_num "$(wc -w <<<"$procs")" -eq 2 "its cgroup $cg holds init and the command ($procs)"
kill -KILL "$BG_PID"
wait "$BG_PID" 2>/dev/null
start=$(now_ms)
# shellcheck disable=SC2086
if wait_until 1 pids_gone $procs; then
        pass "SIGKILL of fencectl: the sandbox's processes are gone within 1 s ($(($(now_ms) - start)) ms)"
else
        # shellcheck disable=SC2086
        fail "SIGKILL of fencectl: the sandbox's processes are gone within 1 s" "$(describe_pids $procs)"
fi
check "...and its cgroup is removed within 1 s" wait_until 1 cgroup_gone "$cg"
capture fctl_user ps
is "$RC $(sed 1d <<<"$OUT")" "0 " "...and fencectl ps lists nothing"

# --- signals to fencectl reach the command ----------------------------------
for sig_code in INT:7 TERM:9 HUP:11 QUIT:13; do
        sig=${sig_code%:*} code=${sig_code#*:}
        fctl_bg "$TEST_USER" "$T/sig.out" run -c "trap 'echo got-$sig; exit $code' $sig; echo ready; while :; do sleep 0.05; done"
        if wait_until 10 grep -q ready "$T/sig.out"; then
                kill "-$sig" "$BG_PID"
                wait_bg "$BG_PID" 10
                is "$BG_RC" "$code" "SIG$sig to fencectl reaches the command's trap; fencectl exits with its code $code"
                like "$(cat "$T/sig.out")" "got-$sig" "...and the trap ran"
        else
                kill -KILL "$BG_PID"
                wait "$BG_PID" 2>/dev/null
                fail "SIG$sig to fencectl reaches the command's trap" "the command never printed 'ready': $(cat "$T/sig.out.err")"
        fi
done

fctl_bg "$TEST_USER" "$T/sig.out" run -- sleep 1000
if wait_sandbox "$TEST_USER" 'sleep 1000'; then
        kill -TERM "$BG_PID"
        wait_bg "$BG_PID" 10
        is "$BG_RC" 143 "SIGTERM to fencectl kills an untrapping command: exit 128+15"
else
        fail "SIGTERM to fencectl kills an untrapping command" "the sandbox did not start"
fi

# Signals go to the command's process group: a pipeline ends as a whole.
fctl_bg "$TEST_USER" "$T/pg.out" run -c 'sleep 1000 | sleep 1001; echo after'
if wait_sandbox "$TEST_USER" 'sleep 1000'; then
        cg=$SB_ID
        wait_until 5 eval '[ "$(cgroup_procs "$cg" | wc -w)" -ge 4 ]'
        kill -INT "$BG_PID"
        wait_bg "$BG_PID" 10
        is "$BG_RC" 130 "SIGINT to fencectl ends a pipeline under sh -c (exit 128+2)"
        check "...and its cgroup is removed" wait_until 2 cgroup_gone "$cg"
else
        fail "SIGINT to fencectl ends a pipeline under sh -c" "the sandbox did not start"
fi

# --- ps and kill, and who may use them --------------------------------------
fctl_bg "$TEST_USER" "$T/ps.out" run -- sleep 1000
if wait_sandbox "$TEST_USER" 'sleep 1000'; then
        pass "fencectl ps lists the running sandbox"
        id=$SB_ID
        like "$id" '^[0-9a-f]{16}$' "...with a 16-hex-digit id ($id)"
        is "$(awk '{ print $3 }' <<<"$SB_LINE")" "$TEST_USER" "...the owner's name"
        like "$SB_LINE" ' sleep 1000$' "...and the command line"
        is "$(cat "/proc/$SB_PID/comm" 2>/dev/null) $(stat -c %U "/proc/$SB_PID" 2>/dev/null)" "sleep $TEST_USER" \
                "...and the command's host pid ($SB_PID), a sleep of $TEST_USER"
        like "$(cat "/proc/$SB_PID/cgroup" 2>/dev/null)" "fence.slice/$id" "...which is in the sandbox's cgroup"

        capture fctl_user2 ps
        is "$RC" 0 "another user's fencectl ps succeeds"
        unlike "$OUT" "$id" "...and does not show the sandbox"
        capture fctl_user2 kill "$id"
        is "$RC" 1 "another user cannot kill it (exit 1)"
        like "$ERR" "no sandbox '$id' of yours" "...and is told there is no such sandbox (NoSuchSandbox)"
        capture fctl_user2 kill -s KILL "$id"
        is "$RC" 1 "...not even with SIGKILL"
        check "...and the sandbox still runs" kill -0 "$SB_PID"
        check "...and still belongs to $TEST_USER's fencectl" kill -0 "$BG_PID"

        capture "$FENCECTL" --socket "$SOCK" ps
        like "$OUT" "^$id .* $TEST_USER .* sleep 1000$" "root sees every sandbox in ps"

        capture fctl_user kill "$id"
        is "$RC" 0 "the owner's fencectl kill ID succeeds"
        wait_bg "$BG_PID" 10
        is "$BG_RC" 143 "...and the sandbox's fencectl exits 128+SIGTERM"
        check "...and the cgroup is removed" wait_until 2 cgroup_gone "$id"
        capture fctl_user kill "$id"
        is "$RC" 1 "killing it again: no such sandbox (exit 1)"
else
        fail "fencectl ps lists the running sandbox" "$(cat "$T/ps.out.err")"
fi

# kill -s KILL ends every process of the sandbox, not only the command.
fctl_bg "$TEST_USER" "$T/kk.out" run -c 'sleep 1000 & sleep 1001 & wait'
if wait_sandbox "$TEST_USER" 'sleep 1000'; then
        id=$SB_ID
        wait_until 5 eval '[ "$(cgroup_procs "$id" | wc -w)" -ge 4 ]'
        procs=$(cgroup_procs "$id")
        capture fctl_user kill -s KILL "$id"
        is "$RC" 0 "fencectl kill -s KILL ID succeeds"
        wait_bg "$BG_PID" 10
        is "$BG_RC" 137 "...and the sandbox's fencectl exits 128+SIGKILL"
        # shellcheck disable=SC2086
        check "...and all its processes (background ones too) are gone" wait_until 2 pids_gone $procs
        check "...and its cgroup is removed" wait_until 2 cgroup_gone "$id"
else
        fail "fencectl kill -s KILL ID" "the sandbox did not start"
fi

capture fctl_user kill 0123456789abcdef
is "$RC" 1 "killing an unknown id exits 1"

# --- SIGTERM to fenced ends every sandbox -----------------------------------
fctl_bg "$TEST_USER" "$T/t1.out" run -- sleep 1000
bg1=$BG_PID
fctl_bg "$TEST_USER2" "$T/t2.out" run -- sleep 1001
bg2=$BG_PID
if wait_sandbox "$TEST_USER" 'sleep 1000' && id1=$SB_ID && wait_sandbox "$TEST_USER2" 'sleep 1001'; then
        id2=$SB_ID
        procs="$(cgroup_procs "$id1") $(cgroup_procs "$id2")"
        pass "two sandboxes of two users run"
        kill -TERM "$FENCED_PID"
        fenced_wait 15
        is "$FENCED_STATUS" 0 "SIGTERM to fenced with two sandboxes: fenced exits 0"
        like "$(cat "$T/fenced.log")" "killing 2 sandbox" "...after saying it kills 2 sandboxes"
        # shellcheck disable=SC2086
        check "...and their processes are gone" wait_until 2 pids_gone $procs
        check "...and their cgroups are removed" eval "cgroup_gone $id1 && cgroup_gone $id2"
        wait_bg "$bg1" 5
        isnt "$BG_RC" 0 "...and the first fencectl ends with a failure ($BG_RC)"
        isnt "$BG_RC" timeout "...in time"
        wait_bg "$bg2" 5
        isnt "$BG_RC" 0 "...and the second fencectl too ($BG_RC)"
        isnt "$BG_RC" timeout "...in time"
else
        fail "two sandboxes of two users run" "$(cat "$T/t1.out.err" "$T/t2.out.err")"
        kill -KILL "$bg1" "$bg2" 2>/dev/null
        fenced_stop
fi
check "the socket is not left behind" test ! -e "$SOCK"

# --- fenced crashes: the sandbox dies, the next fenced cleans up ------------
fenced_start
fctl_bg "$TEST_USER" "$T/c.out" run -- sleep 1000
if wait_sandbox "$TEST_USER" 'sleep 1000'; then
        id=$SB_ID
        procs=$(cgroup_procs "$id")
        kill -KILL "$FENCED_PID"
        wait "$FENCED_PID" 2>/dev/null
        FENCED_PID=
        start=$(now_ms)
        # shellcheck disable=SC2086
        if wait_until 2 pids_gone $procs; then
                pass "kill -9 of fenced: the sandbox kills itself ($(($(now_ms) - start)) ms)"
        else
                # shellcheck disable=SC2086
                fail "kill -9 of fenced: the sandbox kills itself" "$(describe_pids $procs)"
        fi
        wait_bg "$BG_PID" 5
        is "$BG_RC" 125 "...and fencectl exits 125"
        like "$(cat "$T/c.out.err")" "lost the connection to fenced" "...saying it lost fenced"
        is "$(cat "$CG_SLICE/$id/cgroup.procs" 2>/dev/null)" "" "...and its cgroup is empty"
        stale=0
        [ ! -d "$CG_SLICE/$id" ] || stale=1

        fenced_start
        check "a new fenced starts on the same socket" fenced_alive
        if [ "$stale" = 1 ]; then
                check "...and removes the stale cgroup" cgroup_gone "$id"
                like "$(cat "$T/fenced.log")" "Removed stale sandbox cgroup .*$id" "...and logs it"
        else
                # Another fenced on this host got to it first (see the report).
                skip "the stale cgroup was already removed by someone else" "...and removes the stale cgroup"
                skip "the stale cgroup was already removed by someone else" "...and logs it"
        fi
        fctl_capture run -c 'exit 5'
        is "$RC" 5 "...and runs sandboxes"
else
        fail "a sandbox runs before fenced is killed" "$(cat "$T/c.out.err")"
fi

# --- one slice, one daemon ----------------------------------------------------
# A starting fenced kills what it finds in its slice as stale: a second
# instance on the same slice must refuse instead of killing live sandboxes.
fctl_bg "$TEST_USER" "$T/d.out" run -- sleep 1000
if wait_sandbox "$TEST_USER" 'sleep 1000'; then
        id=$SB_ID
        capture timeout 10 "${FENCED_LAUNCH[@]}" "$FENCED" --socket "$T/sock2" --state-dir "$T/state2" --log-dir "$T/log2"
        is "$RC" 1 "a second fenced on the same cgroup slice refuses to start"
        like "$ERR" "Another fenced already runs the sandboxes in .*fence\.slice" "...and says why, naming the slice"
        check "...and the first one's sandbox still runs" test -n "$(cgroup_procs "$id")"
        check "...and it leaves no socket behind" test ! -e "$T/sock2"
        fctl_user kill "$id" >/dev/null 2>&1
        wait_bg "$BG_PID" 5
        is "$BG_RC" 143 "...and the first one still serves (kill: SIGTERM)"
else
        fail "a sandbox runs before a second fenced starts" "$(cat "$T/d.out.err")"
fi

# --- under systemd with Delegate=yes ------------------------------------------
# systemd marks a delegated cgroup with trusted.delegate=1: fenced then keeps
# its sandboxes below its own cgroup and moves itself into <cgroup>/daemon.
delegate() {            # delegate set|remove
        python3 -c 'import os, sys
if sys.argv[1] == "set":
    os.setxattr(sys.argv[2], "trusted.delegate", b"1")
else:
    os.removexattr(sys.argv[2], "trusted.delegate")' "$1" "$CG_TEST" 2>/dev/null
}
if [ -z "$CG_TEST" ]; then
        skip "fenced runs in the host's cgroup tree (no private subtree to mark as delegated)" "fenced uses a delegated cgroup"
elif ! delegate set; then
        skip "cannot set the xattr trusted.delegate on $CG_TEST" "fenced uses a delegated cgroup"
else
        fenced_stop
        fenced_start
        check "in a delegated cgroup fenced moves itself into <cgroup>/daemon" \
                grep -qx "$FENCED_PID" "$CG_TEST/daemon/cgroup.procs"
        fctl_bg "$TEST_USER" "$T/e.out" run -- sleep 1000
        if wait_sandbox "$TEST_USER" 'sleep 1000'; then
                check "...and its sandboxes live in <cgroup>/fence.slice" grep -qx "$SB_PID" "$CG_SLICE/$SB_ID/cgroup.procs"
                fctl_user kill "$SB_ID" >/dev/null 2>&1
                wait_bg "$BG_PID" 5
        else
                fail "...and its sandboxes live in <cgroup>/fence.slice" "$(cat "$T/e.out.err")"
        fi
        fenced_stop
        is "$FENCED_STATUS" 0 "...and it exits 0 on SIGTERM"
        delegate remove
        rmdir "$CG_TEST/daemon"
fi

finish
