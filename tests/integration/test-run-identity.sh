#!/bin/bash
# Who and where the sandboxed command is: identity, cwd, environment,
# privileges, namespaces, /dev and the private /tmp.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fenced_start

# --- identity ---------------------------------------------------------------
fctl_capture run -- sh -c 'id -u; id -g; id -G'
is "$RC" 0 "run id succeeds"
is "$(sed -n 1p <<<"$OUT")" "$(id -u "$TEST_USER")" "uid inside is the caller's"
is "$(sed -n 2p <<<"$OUT")" "$(id -g "$TEST_USER")" "gid inside is the caller's"
is "$(sed -n 3p <<<"$OUT" | tr ' ' '\n' | sort -n | xargs)" "$(id -G "$TEST_USER" | tr ' ' '\n' | sort -n | xargs)" \
        "supplementary groups inside are the caller's"
like " $(sed -n 3p <<<"$OUT") " " $(getent group "$TEST_GROUP" | cut -d: -f3) " \
        "the supplementary group $TEST_GROUP is among them"

fctl_capture run -- sh -c 'cat /proc/self/status'
is "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' <<<"$OUT")" "$(id -u "$TEST_USER") $(id -u "$TEST_USER") $(id -u "$TEST_USER") $(id -u "$TEST_USER")" \
        "real, effective, saved and fs uid are the caller's"

fctl_capture2() { capture fctl_user2 "$@"; }
fctl_capture2 run -- id -u
is "$OUT" "$(id -u "$TEST_USER2")" "a second user gets its own uid"

# --- cwd --------------------------------------------------------------------
fctl_capture run -- pwd
is "$OUT" "$T/work" "cwd inside is the caller's cwd"

home=$(getent passwd "$TEST_USER" | cut -d: -f6)
FCTL_CWD=$home fctl_capture run -- sh -c 'pwd; echo "$HOME"'
is "$OUT" "$home"$'\n'"$home" "cwd in the home directory is kept, HOME is passed"

# A cwd below the host's /tmp must survive the private /tmp (read-only).
hosttmp=$(mktemp -d /tmp/fence-itest-cwd.XXXXXX)
chown "$TEST_USER:$TEST_USER" "$hosttmp"
echo host-file >"$hosttmp/marker"
FCTL_CWD=$hosttmp fctl_capture run -- sh -c 'pwd; cat marker; touch new 2>&1; echo "rc=$?"'
is "$(sed -n 1,2p <<<"$OUT")" "$hosttmp"$'\n'"host-file" "a cwd below the host's /tmp stays reachable with its files"
like "$OUT" "Read-only file system" "...and it is read-only"
check "...and nothing was created in it" test ! -e "$hosttmp/new"
rm -rf "$hosttmp"

# A cwd the policy hides (defaultDenyRead without it in allowRead): exit 125,
# naming the directory and what to add, with the right reason.
mkdir -p "$T/work/hidden-cwd"
chown "$TEST_USER" "$T/work/hidden-cwd"
printf '{ "filesystem": { "defaultDenyRead": true } }\n' >"$T/work/hidden-cwd/fence.json"
FCTL_CWD=$T/work/hidden-cwd fctl_capture run -- true
is "$RC" 125 "a cwd hidden by defaultDenyRead: exit 125"
like "$ERR" "working directory $T/work/hidden-cwd is not visible in the sandbox .*add it or \".\" to filesystem.allowRead.*: No such file or directory" \
        "...naming the directory, the key to change and the reason"

# --- environment ------------------------------------------------------------
libc=$(ldd "$FENCECTL" | awk '$1 ~ /^libc\.so/ { print $3 }')
[ -e "$libc" ] || libc=
FCTL_ENV=(MY_TEST_VAR=hello FENCE_SANDBOX=0 LD_LIBRARY_PATH=/nonexistent LD_AUDIT= ${libc:+LD_PRELOAD=$libc})
fctl_capture run -- env
FCTL_ENV=()
is "$RC" 0 "run env succeeds"
like "$OUT" '^MY_TEST_VAR=hello$' "the caller's environment is passed on"
is "$(grep -c '^FENCE_SANDBOX=' <<<"$OUT")" 1 "FENCE_SANDBOX is set exactly once"
like "$OUT" '^FENCE_SANDBOX=1$' "FENCE_SANDBOX=1 (the caller's value is replaced)"
is "$(grep '^LD_' <<<"$OUT")" "" "LD_LIBRARY_PATH, LD_AUDIT${libc:+, LD_PRELOAD} are stripped"

# --- privileges -------------------------------------------------------------
fctl_capture run -- cat /proc/self/status
for f in CapInh CapPrm CapEff CapBnd CapAmb; do
        is "$(awk -v f="$f:" '$1 == f { print $2 }' <<<"$OUT")" 0000000000000000 "$f is empty"
done
is "$(awk '$1 == "NoNewPrivs:" { print $2 }' <<<"$OUT")" 1 "NoNewPrivs is set"

fctl_capture run -- sh -c 'cat /proc/1/status'
is "$(awk '$1 == "Name:" { print $2 }' <<<"$OUT")" fence-init "pid 1 is the sandbox's init"
is "$(awk '$1 == "Uid:" { print $2 }' <<<"$OUT")" "$(id -u "$TEST_USER")" "...running as the caller"
is "$(awk '$1 == "CapBnd:" { print $2 }' <<<"$OUT")" 0000000000000000 "...with an empty bounding set"

# The init is a copy of fenced that runs as the caller: it must hold nothing
# of the daemon (its log, the event log, the cgroup tree, the listening
# socket, other users' connections), and the caller must not reach into it.
fctl_bg "$TEST_USER" "$T/fd.out" run -- sleep 1000
if wait_until 10 eval '[ "$(cgroup_count_new)" = 1 ]' &&
   wait_until 10 eval '[ "$(wc -l <"$CG_SLICE/$(cgroup_new)/cgroup.procs")" = 2 ]'; then
        init=$(head -n 1 "$CG_SLICE/$(cgroup_new)/cgroup.procs")
        fds=$(find "/proc/$init/fd" -mindepth 1 -printf '%f -> %l\n' 2>/dev/null | sort -n)
        unlike "$fds" "events\.jsonl|fenced\.log|fence\.slice$|$(basename "$T")/sock" "the sandbox's init holds none of fenced's files"
        fctl_capture run -- sh -c 'ls /proc/1/fd'
        isnt "$RC" 0 "the caller cannot list the fds of its sandbox's init"
        like "$ERR" "Permission denied" "...(permission denied: init is not dumpable)"
else
        fail "the sandbox's init holds none of fenced's files" "the sandbox did not start"
fi
kill "$BG_PID" 2>/dev/null
wait "$BG_PID" 2>/dev/null

# --- network ----------------------------------------------------------------
fctl_capture run -- cat /proc/net/dev
is "$(awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' <<<"$OUT" | xargs)" lo "only lo in the network namespace"
if command -v ip >/dev/null; then
        fctl_capture run -- ip -o link show
        is "$(awk -F': ' '{ print $2 }' <<<"$OUT" | xargs)" lo "ip link shows only lo"
        like "$OUT" '<LOOPBACK,UP,LOWER_UP>' "lo is up"
else
        skip "no ip(8)" "ip link shows only lo"
fi
# Connection refused proves lo is up and routable; unreachable proves there is
# no route out. TEST-NET-1 never leaves the sandbox's own namespace.
fctl_capture run -- bash -c 'exec 3<>/dev/tcp/127.0.0.1/9; echo rc=$?'
like "$ERR" "Connection refused" "connecting to a closed port on 127.0.0.1 is refused (loopback works)"
fctl_capture run -- bash -c 'exec 3<>/dev/tcp/192.0.2.1/80; echo rc=$?'
like "$ERR" "Network is unreachable" "there is no route to any other address"

# --- pid namespace ----------------------------------------------------------
fctl_capture run -- sh -c 'echo $$; ls /proc | grep -E "^[0-9]+$" | xargs; for p in /proc/[0-9]*; do cat $p/comm; done 2>/dev/null | sort | xargs'
cmp_num "$(sed -n 1p <<<"$OUT")" -le 3 "the command sees itself as a low pid"
pids=$(sed -n 2p <<<"$OUT")
like "$pids" '^1 ' "pid 1 exists inside"
cmp_num "$(wc -w <<<"$pids")" -le 6 "only the sandbox's few processes are in /proc ($pids)"
unlike " $pids " " $FENCED_PID |  $$ " "fenced and the test script are not visible"
comms=$(sed -n 3p <<<"$OUT")
unlike "$comms" 'fenced|bash|setpriv' "no host process is visible ($comms)"

fctl_capture run -- ps -e -o pid=,comm=
if [ "$RC" = 0 ]; then
        is "$(awk '{ print $2 }' <<<"$OUT" | sort | xargs)" "fence-init ps" "ps -e shows only the sandbox's processes"
else
        skip "ps not usable here: $ERR" "ps -e shows only the sandbox's processes"
fi

# --- /dev -------------------------------------------------------------------
fctl_capture run -- ls -A /dev
is "$(xargs <<<"$OUT")" "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero" \
        "/dev has exactly the minimal set"
fctl_capture run -- sh -c 'test -e /dev/sda || test -e /dev/vda || test -e /dev/mem || test -e /dev/kmsg; echo $?'
is "$OUT" 1 "no disk, memory or kmsg device in /dev"
fctl_capture run -- sh -c 'echo x >/dev/null && head -c 4 /dev/zero | od -An -tx1 | xargs && head -c 16 /dev/urandom | wc -c && test -c /dev/null && echo ok'
is "$OUT" $'00 00 00 00\n16\nok' "/dev/null, /dev/zero and /dev/urandom work"
fctl_capture run -- sh -c 'stat -c %t:%T /dev/full; head -c 1 /dev/zero >/dev/full'
is "$OUT" "1:7" "/dev/full is the full device (1:7)"
like "$ERR" "No space left on device" "...and writing to it fails with ENOSPC"
fctl_capture run -- sh -c 'ls -A /dev/pts; echo data >/dev/shm/f && cat /dev/shm/f'
like "$OUT" "ptmx" "/dev/pts is a devpts with its own ptmx"
like "$OUT" "^data$" "/dev/shm is writable"

# --- private /tmp -----------------------------------------------------------
host_marker=$(mktemp /tmp/fence-itest-host.XXXXXX)
chmod 0644 "$host_marker"
inside=fence-itest-inside.$$.$RANDOM
fctl_capture run -- sh -c "ls -A /tmp | xargs; test -e '$host_marker'; echo visible=\$?; echo in >/tmp/$inside && cat /tmp/$inside"
is "$(sed -n 1p <<<"$OUT")" "" "/tmp inside starts empty"
is "$(sed -n 2p <<<"$OUT")" "visible=1" "a host /tmp file is not visible inside"
is "$(sed -n 3p <<<"$OUT")" "in" "/tmp is writable inside"
check "a file created in /tmp inside is not on the host's /tmp" test ! -e "/tmp/$inside"
rm -f "$host_marker"
fctl_capture run -- sh -c "test -e /tmp/$inside; echo \$?"
is "$OUT" 1 "each sandbox gets a fresh /tmp"

# --- the daemon's state is hidden, sandboxes cannot nest --------------------
mkdir -p "$T/state" && touch "$T/state/fence-itest-secret"
fctl_capture run -- ls -A "$T/state"
is "$OUT" "" "fenced's state directory is masked"
# (LeakSanitizer needs ptrace, which a sandbox may not use: off for the inner one.)
FCTL_ENV=(ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0)
# A copy: the checkout may lie below /tmp, which the sandbox replaces.
cp "$FENCECTL" "$T/fencectl.copy" && chmod 0755 "$T/fencectl.copy"
fctl_capture run -- "$T/fencectl.copy" --socket "$SOCK" run true
is "$RC" 125 "a sandbox cannot start another sandbox (exit 125)"
like "$ERR" "cannot reach fenced at $SOCK: Permission denied" "...it cannot even reach fenced's socket (masked: network.allowUnixSockets)"
# Allowed to reach it, fenced itself refuses.
printf '{"network":{"allowUnixSockets":["%s"]}}\n' "$SOCK" >"$T/work/reach-fenced.json"
chown "$TEST_USER" "$T/work/reach-fenced.json"
fctl_capture run -s reach-fenced.json -- "$T/fencectl.copy" --socket "$SOCK" run true
FCTL_ENV=()
is "$RC" 125 "a sandbox allowed to reach fenced's socket still cannot start another sandbox (exit 125)"
like "$ERR" "sandbox" "...with a message saying why"

finish
