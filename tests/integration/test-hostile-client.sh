#!/bin/bash
# fenced takes requests from every local user: whatever a client sends is
# hostile. Raw varlink as the test user (hostile-client.py): fenced answers
# or drops that connection, stays up, serves the next client, keeps no fd.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -x /usr/bin/python3 ] || skip_all "needs /usr/bin/python3 (the raw varlink client)"
HOSTILE=$T/hostile-client.py
install -m 0755 "$(dirname "${BASH_SOURCE[0]}")/hostile-client.py" "$HOSTILE"

# meson sets MALLOC_PERTURB_: glibc then fills every freed chunk, and the
# big messages below (yajl grows arrays an element at a time) take minutes
# instead of a fraction of a second. The memory measurement needs the plain
# allocator anyway.
unset MALLOC_PERTURB_
fenced_start
# Sandboxes below reach fenced's socket to show that fenced refuses them
# itself: by default it is masked in their view (network.allowUnixSockets,
# test-unix-sockets.sh). Found by config discovery from $T/work.
printf '{"network":{"allowUnixSockets":["%s"]}}\n' "$SOCK" >"$T/work/fence.json"
chown "$TEST_USER" "$T/work/fence.json"

# hostile SCENARIO [ARG...]: the raw client as the test user; sets OUT/ERR/RC.
hostile() {
        LAST_CMD="hostile-client.py $*"
        (cd "$T/work" && setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
                env -i PATH="$USER_PATH" /usr/bin/python3 "$HOSTILE" "$SOCK" "$@") \
                </dev/null >"$T/capture.out" 2>"$T/capture.err"
        RC=$?
        OUT=$(cat "$T/capture.out")
        ERR=$(cat "$T/capture.err")
}

# fenced's fds, but for its fanotify watches of protected trees: a bounded
# cache (docs/security.md), one per user and project a sandbox ran in.
fenced_fds() {
        find "/proc/$FENCED_PID/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null |
                grep -vc '^anon_inode:\[fanotify\]$'
}

# fenced still runs and serves a well-behaved client.
still_serving() {       # still_serving WHAT
        if fenced_alive && fctl_user version 2>/dev/null | grep -q '^fenced [0-9]'; then
                pass "fenced still serves the next client after $1"
        else
                fail "fenced still serves the next client after $1"
                fenced_alive || bail_out "fenced died after $1"
        fi
}

# One sandbox first: fenced opens some sockets (the journal's) on first use.
fctl_user run true
FDS0=$(fenced_fds)

# --- a config nested deeper than yajl's generator can go ----------------------
# fenced re-serializes the client's config to parse it again; yajl_gen writes
# past its state array beyond 128 levels. Deep messages are dropped instead.
hostile deep-config 40
like "$OUT" '"io.fence.Sandbox.InvalidConfig"' "a config nested 40 deep is refused with InvalidConfig"
for depth in 100 200 250; do
        hostile deep-config "$depth"
        is "$OUT" closed "a call with a config nested $depth deep closes that connection"
        still_serving "a config nested $depth deep"
done

# --- wrong parameters: the error names the parameter or the config key -------
R=io.fence.Sandbox.Run
FDS='"cwdFd":0,"stdinFd":1,"stdoutFd":2,"stderrFd":3'
hostile call $R '{"argv":"true",'"$FDS"'}'
like "$OUT" '"io.fence.Sandbox.InvalidArgument".*"parameter": "argv"' "argv of the wrong type: InvalidArgument naming argv"
hostile call $R '{"argv":["true"],"cwdFd":7,"stdinFd":1,"stdoutFd":2,"stderrFd":3}'
like "$OUT" '"parameter": "cwdFd"' "an fd index beyond the fds sent: InvalidArgument naming cwdFd"
hostile call $R '{"argv":["true"],"cwdFd":0,"stdinFd":0,"stdoutFd":2,"stderrFd":3}'
like "$OUT" '"parameter": "stdinFd"' "one fd index used twice: InvalidArgument naming the second use"
hostile call $R '{"argv":["true"],"ports":["8080","host.test:80"],'"$FDS"'}'
like "$OUT" '"io.fence.Sandbox.InvalidArgument".*host.test:80.*literal IP.*"parameter": "ports"' \
        "a -p value that is no [ADDR:]PORT: InvalidArgument naming ports and the value"
hostile call $R '{"argv":["true"],"tty":"yes",'"$FDS"'}'
like "$OUT" '"parameter": "tty"' "tty of the wrong type: InvalidArgument naming tty"
hostile call $R '{"argv":["pwd"],'"$FDS"'}' more /etc/passwd file
like "$OUT" '"parameter": "cwdFd".*not a directory|not a directory.*"parameter": "cwdFd"' \
        "a cwd fd that is no directory: InvalidArgument naming cwdFd"
hostile call $R '{"argv":["true"],"config":{"filesystem":{"allowWrite":5}},'"$FDS"'}'
like "$OUT" '"field": "filesystem.allowWrite"' "a config value of the wrong type: InvalidConfig names the key"
hostile call $R '{"argv":["true"],'"$FDS"'}' oneway
is "$OUT" "no reply" "a oneway Run gets no reply"
# Another user's directory, opened O_PATH (needs no permission on it): the
# sandbox is refused as the caller cannot enter it, nothing runs there.
hostile call $R '{"argv":["pwd"],'"$FDS"'}' more /root path
like "$OUT" '"io.fence.Sandbox.SandboxSetupFailed".*/root|/root.*"io.fence.Sandbox.SandboxSetupFailed"' \
        "an O_PATH cwd the caller cannot enter (/root) is refused, naming it"
still_serving "wrong parameters"

# --- fds without end ------------------------------------------------------------
# Every fd of an unfinished message used to be kept until its NUL arrived:
# one client could fill fenced's fd table, 16 fds per byte.
hostile fd-flood 200
is "$OUT" closed "a message that brings fds a byte at a time and never ends is dropped"
still_serving "a client flooding fds"

# --- a sandbox borrowing a dead process's identity -----------------------------
# "Sandboxes cannot start other sandboxes" is decided by the cgroup of the
# pid SO_PEERCRED reported at connect(). A sandboxed process can connect
# from a child that then dies: once another, unsandboxed process has that
# pid, a Run on the connection would escape every rule of the sandbox.
fctl_capture run -- "$FENCECTL" --socket "$SOCK" run -- true
isnt "$RC" 0 "fencectl run inside a sandbox is refused"
like "$ERR" "sandboxes cannot start other sandboxes" "...saying that sandboxes cannot start sandboxes"

# The sandbox's pid namespace hides the user's other processes from it: the
# daemon must not show it their sandboxes (pids, command lines) or signal them.
fctl_bg "$TEST_USER" "$T/victim.out" run -- sh -c 'sleep 60' victim-secret-token
victim=$BG_PID
wait_until 10 eval '[ -n "$(sandbox_id_of "$TEST_USER" victim-secret-token)" ]'
victim_id=$(sandbox_id_of "$TEST_USER" victim-secret-token)
fctl_capture run -- "$FENCECTL" --socket "$SOCK" ps
unlike "$OUT" "victim-secret-token" "fencectl ps inside a sandbox does not see the user's other sandboxes"
like "$ERR" "PermissionDenied" "...it is refused"
fctl_capture run -- "$FENCECTL" --socket "$SOCK" kill -s KILL "$victim_id"
isnt "$RC" 0 "fencectl kill inside a sandbox is refused"
sleep 0.2
if kill -0 "$victim" 2>/dev/null && [ -n "$(sandbox_id_of "$TEST_USER" victim-secret-token)" ]; then
        pass "...and the other sandbox still runs"
else
        fail "...and the other sandbox still runs"
fi
kill "$victim" 2>/dev/null
wait "$victim" 2>/dev/null

# land_pid PID: starts a host process (sleep) with exactly that pid through
# ns_last_pid; sets LANDED. Other processes on the host may get there first.
land_pid() {
        local i
        LANDED=
        for ((i = 0; i < 200; i++)); do
                echo $(($1 - 1)) >/proc/sys/kernel/ns_last_pid 2>/dev/null || return 1
                sleep 60 &
                if [ "$!" = "$1" ]; then
                        LANDED=$!
                        return 0
                fi
                kill "$!" 2>/dev/null
                wait "$!" 2>/dev/null
        done
        return 1
}

mkfifo "$T/orphan.in"
exec 7<>"$T/orphan.in"
fctl_exec "$TEST_USER" run -- /usr/bin/python3 "$HOSTILE" "$SOCK" orphan-connection \
        <"$T/orphan.in" >"$T/orphan.out" 2>"$T/orphan.err" &
orphan_client=$!
orphan_pid=
if wait_until 20 grep -qx ready "$T/orphan.out"; then
        orphan_pid=$(pgrep -u "$TEST_USER" -xf 'sleep 4242')
fi
if [ -n "$orphan_pid" ] && kill -KILL "$orphan_pid" && wait_until 10 grep -qx reaped "$T/orphan.out" &&
        land_pid "$orphan_pid"; then
        echo go >&7
        wait "$orphan_client"
        out=$(sed -n 3p "$T/orphan.out")
        like "$out" '"io.fence.Sandbox.PermissionDenied"' \
                "a Run on a connection whose sandboxed creator died is refused, even with its pid reused outside"
        unlike "$out" '"started"' "...and no sandbox was started from inside the sandbox"
        kill "$LANDED" 2>/dev/null
        wait "$LANDED" 2>/dev/null
else
        skip "could not give a host process the dead connector's pid ${orphan_pid:-?} ($(head -c 300 "$T/orphan.err"))" \
                "a Run on a connection whose sandboxed creator died is refused"
        kill "$orphan_client" 2>/dev/null
        wait "$orphan_client" 2>/dev/null
fi
exec 7>&-

# --- many idle connections ----------------------------------------------------
# Each costs fenced an fd: one user must not be able to take them all (and
# with them every other user's access, and the fds relays need).
mkfifo "$T/hold.in"
exec 8<>"$T/hold.in"
(cd "$T/work" && exec setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
        env -i PATH="$USER_PATH" /usr/bin/python3 "$HOSTILE" "$SOCK" hold-connections 400) \
        <"$T/hold.in" >"$T/hold.out" 2>"$T/hold.err" &
hold_pid=$!
if wait_until 30 grep -qx holding "$T/hold.out"; then
        sleep 0.5       # let fenced accept (and refuse) them all
        held_fds=$(fenced_fds)
        cmp_num "$held_fds" -le $((FDS0 + 256 + 8)) \
                "400 idle connections of one user cost fenced at most 256 fds ($held_fds open, $FDS0 before)"
        capture fctl_user2 version
        like "$OUT" '^fenced [0-9]' "...and another user is still served meanwhile"
        echo release >&8
        wait "$hold_pid"
        like "$(cat "$T/hold.out")" "closed 144$" "...the connections over the limit were closed by fenced"
else
        fail "the client holding 400 connections got going" "$(cat "$T/hold.err")"
        kill "$hold_pid" 2>/dev/null
        wait "$hold_pid" 2>/dev/null
fi
exec 8>&-
still_serving "a user holding 400 connections"

# --- a kept call keeps nothing of its message ---------------------------------
# A Run is kept for the sandbox's whole life. It used to keep its parsed
# message too: 240,000 numbers are ~19 MiB of yajl tree, so a user could
# pin gigabytes of root's memory with a few sleeping sandboxes.
fenced_rss_kb() {
        awk '$1 == "VmRSS:" { print $2 }' "/proc/$FENCED_PID/status"
}
rss0=$(fenced_rss_kb)
fat_pids=()
for i in 1 2 3; do
        rm -f "$T/fat$i.in"
        mkfifo "$T/fat$i.in"
        eval "exec $((20 + i))<>\"\$T/fat$i.in\""
        (cd "$T/work" && exec setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
                env -i PATH="$USER_PATH" /usr/bin/python3 "$HOSTILE" "$SOCK" fat-run 4) \
                <"$T/fat$i.in" >"$T/fat$i.out" 2>"$T/fat$i.err" &
        fat_pids+=($!)
        wait_until 60 grep -q '"started"' "$T/fat$i.out" || diag "fat run $i: $(cat "$T/fat$i.out" "$T/fat$i.err")"
        [ "$i" != 1 ] || rss1=$(fenced_rss_kb)
done
rss3=$(fenced_rss_kb)
diag "fenced VmRSS: ${rss0} kB before, ${rss1} kB with one fat Run kept, ${rss3} kB with three"
cmp_num $((rss3 - rss0)) -lt $((2 * (rss1 - rss0) + 16384)) \
        "three kept Runs with 4 MiB and 240,000 values of junk each cost fenced no more memory than one"
for i in 1 2 3; do
        echo done >&$((20 + i))
        eval "exec $((20 + i))>&-"
done
wait "${fat_pids[@]}"

# --- what parsing one message may cost ----------------------------------------
# A tree costs ~80 bytes per value: 16 MiB of "1," would be 600 MiB of root's
# memory and a second of its event loop. Values are counted before parsing.
hostile many-values 200000
like "$OUT" '"error"' "a call with 200,000 values is parsed and answered"
hostile many-values 300000
is "$OUT" closed "a call with 300,000 values (over VARLINK_VALUES_MAX) closes that connection unparsed"
still_serving "a call with 300,000 values"
# fencectl knows the limit: an exec with 300,000 arguments (possible with a
# bigger stack limit) is refused with a message, not a dropped connection.
big_stack_run() {
        ulimit -s 32768 || return 99
        LAST_CMD="fencectl run -- sh -c 'echo \$#' a a a ... (300,000 arguments)"
        fctl_user run -- sh -c 'echo $#' $(yes a | head -n 300000)
}
capture big_stack_run
if [ "$RC" = 99 ]; then
        skip "cannot raise the stack limit to 32 MiB" "fencectl refuses a request over VARLINK_VALUES_MAX"
else
        is "$RC" 125 "fencectl run with 300,000 arguments exits 125"
        like "$ERR" "request is too large for fenced .*262144 values" "...saying the request is too large and what the limit is"
fi

# --- unfinished messages: a budget per uid ------------------------------------
# Each connection may hold a 16 MiB message in the making; 256 connections
# of one user would be 4 GiB of root's memory. Past 64 MiB per uid the
# connection that reads more is closed.
rm -f "$T/flood.in"
mkfifo "$T/flood.in"
exec 8<>"$T/flood.in"
rss0=$(fenced_rss_kb)
(cd "$T/work" && exec setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
        env -i PATH="$USER_PATH" /usr/bin/python3 "$HOSTILE" "$SOCK" partial-flood 10 12) \
        <"$T/flood.in" >"$T/flood.out" 2>"$T/flood.err" &
flood_pid=$!
if wait_until 120 grep -q '^closed' "$T/flood.out"; then
        rss=$(fenced_rss_kb)
        diag "fenced VmRSS: ${rss0} kB before, ${rss} kB with 10 unfinished 12 MiB messages sent; $(cat "$T/flood.out")"
        closed=$(sed -n 's/^closed //p' "$T/flood.out")
        cmp_num "$closed" -ge 4 "10 unfinished messages of 12 MiB (120 MiB) from one user: fenced closed at least 4 connections"
        if grep -q libasan "/proc/$FENCED_PID/maps"; then
                skip "ASan's quarantine keeps freed memory resident" "...and holds less than 80 MiB more for them"
        else
                cmp_num $((rss - rss0)) -lt $((80 * 1024)) "...and holds less than 80 MiB more for them"
        fi
        capture fctl_user2 version
        like "$OUT" '^fenced [0-9]' "...and another user is still served meanwhile"
else
        fail "the client sending unfinished messages got going" "$(cat "$T/flood.out" "$T/flood.err")"
fi
echo release >&8
wait "$flood_pid"
exec 8>&-
still_serving "a user's 120 MiB of unfinished messages"

# --- a monitoring client that does not read -----------------------------------
# Its stream is dropped above a backlog instead of queued without bound; the
# final reply says how many events it lost, and nothing else is lost.
mkdir -p "$T/work/slow"
cat >"$T/work/slow/deny-loop.sh" <<'SH'
i=0
while [ $i -lt 5000 ]; do git push 2>/dev/null; i=$((i + 1)); done
: >"$(dirname "$0")/done"
SH
chown -R "$TEST_USER" "$T/work/slow"
hostile slow-monitor slow/deny-loop.sh slow/done
if [[ $OUT =~ ^received\ ([0-9]+)\ dropped\ ([0-9]+)\ exit\ ([0-9]+)$ ]]; then
        received=${BASH_REMATCH[1]} dropped=${BASH_REMATCH[2]}
        is "${BASH_REMATCH[3]}" 0 "a monitored sandbox whose client does not read runs to its end"
        cmp_num "$dropped" -gt 0 "...its client is told how many events it lost ($dropped)"
        cmp_num "$((received + dropped))" -ge 5000 "...and the events it got plus those lost cover every denied exec, at least 5000 ($received + $dropped)"
        cmp_num "$received" -gt 0 "...of which the ones queued before the backlog filled did arrive ($received)"
else
        fail "a monitored sandbox whose client does not read runs to its end" "got: $OUT"
fi
still_serving "a client that does not read its events"

# --- the caller's resource limits --------------------------------------------
# The sandbox is fenced's child: it used to run under fenced's (root's)
# limits, so a user held to small hard limits got past them through it.
capture sh -c 'cd "$1" && exec prlimit --fsize=4096:4096 --nproc=77:77 --core=0:0 -- \
        setpriv --reuid="$2" --regid="$2" --init-groups -- env -i PATH="$3" "$4" --socket "$5" run -- \
        sh -c "grep -E \"^Max (file size|processes|core)\" /proc/self/limits; head -c 10000 /dev/zero >/tmp/big; wc -c </tmp/big"' \
        sh "$T/work" "$TEST_USER" "$USER_PATH" "$FENCECTL" "$SOCK"
like "$OUT" "Max file size +4096 +4096 " "the caller's hard file size limit holds in its sandbox"
like "$OUT" "Max processes +77 +77 " "...and its process limit"
like "$OUT" "Max core file size +0 +0 " "...and its core size limit"
is "$(tail -n 1 <<<"$OUT")" 4096 "a write past the caller's file size limit stops at it"

wait_until 3 eval '[ "$(fenced_fds)" -le "$FDS0" ]'
cmp_num "$(fenced_fds)" -le "$FDS0" "fenced holds no more fds than before the hostile clients ($FDS0)"

finish
