# shellcheck shell=bash
# Shared setup of the integration suite: TAP output, the test users, a private
# fenced per script, and the check that nothing is left behind.
#
# A test script does:
#         . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#         fenced_start
#         ...assertions...
#         finish
#
# Environment: FENCED and FENCECTL (set by meson) name the binaries under test.
# FENCE_ITEST_KEEP=1 keeps the temporary directory for a post-mortem.
# FENCE_ITEST_CGROUP=host runs fenced against the host's own
# <cgroup2>/fence.slice instead of a private subtree (see fenced_launcher).

set -u
set -o pipefail

TEST_USER=${FENCE_TEST_USER:-fence-test}
TEST_USER2=${FENCE_TEST_USER2:-fence-test2}
TEST_GROUP=${FENCE_TEST_GROUP:-fence-test-grp}
# What a login shell of the test user would have; the test runner's own
# environment (root's PATH, HOME) must not leak into the sandboxes under test.
USER_PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin

TAP_N=0
TAP_FAILED=0
TAP_FINISHED=0
FENCED_PID=
FENCED_STATUS=
T=
SOCK=
CG_MOUNT=
CG_TEST=
CG_SLICE=
# Prefix of every fenced command line (the cgroup isolation wrapper).
FENCED_LAUNCH=()
CG_BASELINE=
PROC_BASELINE=
# Extra arguments for env(1) in fctl_user, e.g. FCTL_ENV=(FOO=bar).
FCTL_ENV=()
# Set by fctl_capture / capture.
OUT='' ERR='' RC=''

# ---------------------------------------------------------------- TAP ----

diag() {         # diag LINE...: each argument on its own line(s)
        local arg line
        for arg in "$@"; do
                while IFS= read -r line; do
                        printf '# %s\n' "$line"
                done <<<"$arg"
        done
}

# Diagnostics of the last captured command, printed under a failed assertion.
diag_last() {
        [ -n "${LAST_CMD:-}" ] || return 0
        diag "last command: $LAST_CMD"
        diag "  exit status: $RC"
        [ -z "$OUT" ] || diag "  stdout: $(head -c 2000 <<<"$OUT")"
        [ -z "$ERR" ] || diag "  stderr: $(head -c 2000 <<<"$ERR")"
}

# todo REASON: the next assertion checks a known, reported bug; TAP reports a
# failure as expected ("# TODO") and a pass as unexpected, so the marker gets
# removed once the bug is fixed.
todo() {
        TAP_TODO=$1
}
TAP_TODO=

pass() {
        TAP_N=$((TAP_N + 1))
        printf 'ok %d - %s%s\n' "$TAP_N" "$1" "${TAP_TODO:+ # TODO $TAP_TODO}"
        TAP_TODO=
}

fail() {
        TAP_N=$((TAP_N + 1))
        if [ -n "$TAP_TODO" ]; then
                printf 'not ok %d - %s # TODO %s\n' "$TAP_N" "$1" "$TAP_TODO"
                TAP_TODO=
        else
                TAP_FAILED=$((TAP_FAILED + 1))
                printf 'not ok %d - %s\n' "$TAP_N" "$1"
        fi
        shift
        [ $# -eq 0 ] || diag "$@"
        diag_last
}

skip() {        # skip REASON DESCRIPTION
        TAP_N=$((TAP_N + 1))
        printf 'ok %d - %s # SKIP %s\n' "$TAP_N" "$2" "$1"
}

# The whole script cannot run here: an empty plan with a reason. (meson's TAP
# parser reports that as SKIP; exit code 77 would be an ERROR under TAP.)
skip_all() {
        printf '1..0 # SKIP %s\n' "$1"
        TAP_FINISHED=1
        exit 0
}

bail_out() {
        printf 'Bail out! %s\n' "$1"
        [ -z "$T" ] || [ ! -s "$T/fenced.log" ] || { diag "fenced log:"; diag "$(tail -n 50 "$T/fenced.log")"; }
        exit 1
}

# check DESCRIPTION CMD [ARG...]: passes when CMD succeeds.
check() {
        local desc=$1
        shift
        if "$@"; then
                pass "$desc"
        else
                LAST_CMD='' fail "$desc" "command failed: $*"
        fi
}

is() {          # is ACTUAL EXPECTED DESCRIPTION
        if [ "$1" == "$2" ]; then
                pass "$3"
        else
                fail "$3" "expected: '$2'" "  actual: '$1'"
        fi
}

isnt() {        # isnt ACTUAL UNEXPECTED DESCRIPTION
        if [ "$1" != "$2" ]; then
                pass "$3"
        else
                fail "$3" "expected anything but: '$2'"
        fi
}

like() {        # like ACTUAL EXTENDED-REGEX DESCRIPTION
        if grep -Eq -- "$2" <<<"$1"; then
                pass "$3"
        else
                fail "$3" "expected to match: /$2/" "  actual: '$1'"
        fi
}

unlike() {      # unlike ACTUAL EXTENDED-REGEX DESCRIPTION
        if ! grep -Eq -- "$2" <<<"$1"; then
                pass "$3"
        else
                fail "$3" "expected not to match: /$2/" "  actual: '$1'"
        fi
}

cmp_num() {     # cmp_num ACTUAL OP EXPECTED DESCRIPTION (OP: -eq -lt -le -gt -ge -ne)
        if [[ "$1" =~ ^-?[0-9]+$ ]] && test "$1" "$2" "$3"; then
                pass "$4"
        else
                fail "$4" "expected: $2 $3" "  actual: '$1'"
        fi
}

now_ms() {
        local t=${EPOCHREALTIME/[.,]/}
        echo $((t / 1000))
}

# Polls CMD every 20 ms for at most SECONDS (may be fractional); fails on timeout.
wait_until() {  # wait_until SECONDS CMD [ARG...]
        local deadline
        deadline=$(($(now_ms) + $(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')))
        shift
        while ! "$@"; do
                [ "$(now_ms)" -lt "$deadline" ] || return 1
                sleep 0.02
        done
}

# ------------------------------------------------------- environment ----

require_root() {
        [ "$(id -u)" = 0 ] || skip_all "needs root: fenced creates namespaces and cgroups (run the suite as root)"
}

require_program() {
        local p
        for p in "$@"; do
                command -v "$p" >/dev/null 2>&1 || skip_all "needs $p"
        done
}

find_cgroup2_mount() {
        # mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPER
        awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' \
                /proc/self/mountinfo
}

# Idempotent, and serialized with other scripts (and other copies of the
# suite) creating the same users.
ensure_users() {
        (
                flock -w 30 9 || exit 1
                local u
                for u in "$TEST_USER" "$TEST_USER2"; do
                        id -u "$u" >/dev/null 2>&1 || useradd -m -s /bin/sh "$u" >/dev/null || exit 1
                done
                getent group "$TEST_GROUP" >/dev/null || groupadd "$TEST_GROUP" || exit 1
                id -nG "$TEST_USER" | tr ' ' '\n' | grep -qx "$TEST_GROUP" ||
                        usermod -aG "$TEST_GROUP" "$TEST_USER" || exit 1
        ) 9>/var/tmp/fence-itest-users.lock || bail_out "cannot create the test users $TEST_USER, $TEST_USER2"
}

cgroup_list() {
        [ -d "$CG_SLICE" ] || return 0
        find "$CG_SLICE" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort
}

# Sandbox cgroups that appeared since the script started.
cgroup_new() {
        comm -13 <(printf '%s\n' "$CG_BASELINE" | sed '/^$/d') <(cgroup_list)
}

cgroup_count_new() {
        cgroup_new | sed '/^$/d' | wc -l
}

user_pids() {
        local u pids=
        for u in "$TEST_USER" "$TEST_USER2"; do
                pids+=$(pgrep -u "$u" 2>/dev/null)$'\n'
        done
        printf '%s' "$pids" | sed '/^$/d' | sort -n
}

# Started by this script: a descendant of it, or (with a private cgroup
# subtree) anything in that subtree. Other runs on the host are not ours.
pid_is_ours() {
        local p=$1 i
        if [ -n "$CG_TEST" ] && grep -q "^0::/${CG_TEST#"$CG_MOUNT"/}\(/\|$\)" "/proc/$p/cgroup" 2>/dev/null; then
                return 0
        fi
        for ((i = 0; i < 64 && p > 1; i++)); do
                [ "$p" != "$$" ] || return 0
                p=$(awk '$1 == "PPid:" { print $2 }' "/proc/$p/status" 2>/dev/null)
                [ -n "$p" ] || return 1
        done
        return 1
}

# Processes of the test users that were not there when the script started
# and that this script is responsible for.
user_pids_new() {
        local p
        for p in $(comm -13 <(printf '%s\n' "$PROC_BASELINE" | sed '/^$/d' | sort) <(user_pids | sort)); do
                if [ -z "$CG_TEST" ]; then
                        echo "$p"       # no way to tell: every new one counts
                elif pid_is_ours "$p"; then
                        echo "$p"
                fi
        done
}

no_new_user_pids() {
        [ -z "$(user_pids_new)" ]
}

no_new_cgroups() {
        [ -z "$(cgroup_new)" ]
}

describe_pids() {
        local p
        for p in "$@"; do
                ps -o pid=,user=,stat=,args= -p "$p" 2>/dev/null
        done
}

# ----------------------------------------------------------- fenced ----

# fenced_start [EXTRA-ARGS...]: a private fenced on $SOCK; waits until it answers.
fenced_start() {
        "${FENCED_LAUNCH[@]}" "$FENCED" --socket "$SOCK" --state-dir "$T/state" --log-dir "$T/log" "$@" \
                >>"$T/fenced.log" 2>&1 &
        FENCED_PID=$!
        FENCED_STATUS=
        wait_fenced_ready "$SOCK" || bail_out "fenced did not start within 10 s"
}

fenced_alive() {
        [ -n "$FENCED_PID" ] && kill -0 "$FENCED_PID" 2>/dev/null
}

wait_fenced_ready() {   # wait_fenced_ready SOCKET
        local sock=$1 i
        for ((i = 0; i < 500; i++)); do
                if [ -S "$sock" ] && "$FENCECTL" --socket "$sock" version 2>/dev/null | grep -q '^fenced [0-9]'; then
                        return 0
                fi
                [ -z "$FENCED_PID" ] || fenced_alive || return 1
                sleep 0.02
        done
        return 1
}

# Waits at most SECONDS for fenced to exit; sets FENCED_STATUS.
fenced_wait() {         # fenced_wait SECONDS
        [ -n "$FENCED_PID" ] || return 0
        if ! wait_until "$1" eval '! fenced_alive'; then
                return 1
        fi
        wait "$FENCED_PID"
        FENCED_STATUS=$?
        FENCED_PID=
        return 0
}

# SIGTERM, and wait for it to exit (its status in FENCED_STATUS).
fenced_stop() {
        [ -n "$FENCED_PID" ] || return 0
        kill -TERM "$FENCED_PID" 2>/dev/null
        if ! fenced_wait 15; then
                diag "fenced did not exit within 15 s of SIGTERM; killing it"
                kill -KILL "$FENCED_PID" 2>/dev/null
                wait "$FENCED_PID"
                FENCED_STATUS=timeout
                FENCED_PID=
                return 1
        fi
}

# ---------------------------------------------------------- fencectl ----

# fctl_as USER ARGS...: fencectl as USER (identity, supplementary groups and a
# login-like environment of that user), from $T/work, talking to $SOCK.
# Signal dispositions are reset as a login shell has them: bash starts
# background jobs of a script with SIGINT and SIGQUIT ignored.
fctl_exec() {
        local user=$1
        shift
        cd "${FCTL_CWD:-$T/work}" || exit 125
        exec setpriv --reuid="$user" --regid="$user" --init-groups -- \
                env -i --default-signal HOME="$(getent passwd "$user" | cut -d: -f6)" USER="$user" LOGNAME="$user" \
                PATH="$USER_PATH" LANG=C.UTF-8 SHELL=/bin/sh \
                ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0:detect_leaks=0:log_path=stderr" \
                ${UBSAN_OPTIONS:+UBSAN_OPTIONS="$UBSAN_OPTIONS"} \
                "${FCTL_ENV[@]}" \
                "$FENCECTL" --socket "$SOCK" "$@"
}

fctl_as() {
        (fctl_exec "$@")
}

fctl_user() {
        fctl_as "$TEST_USER" "$@"
}

fctl_user2() {
        fctl_as "$TEST_USER2" "$@"
}

# capture CMD [ARG...]: runs CMD with stdin from /dev/null; sets OUT, ERR, RC.
capture() {
        LAST_CMD="$*"
        "$@" </dev/null >"$T/capture.out" 2>"$T/capture.err"
        RC=$?
        OUT=$(cat "$T/capture.out")
        ERR=$(cat "$T/capture.err")
}

fctl_capture() {
        capture fctl_user "$@"
}

# Runs fencectl in the background as USER; sets BG_PID.
fctl_bg() {             # fctl_bg USER OUTFILE ARGS...
        local user=$1 out=$2
        shift 2
        LAST_CMD=
        # The background subshell execs fencectl: $! is fencectl itself.
        fctl_exec "$user" "$@" </dev/null >"$out" 2>"$out.err" &
        BG_PID=$!
}

# ID of the user's sandbox whose command line matches ERE (from fencectl ps).
sandbox_id_of() {       # sandbox_id_of USER ERE
        fctl_as "$1" ps 2>/dev/null | awk -v re="$2" 'NR > 1 { id = $1; $1 = $2 = $3 = $4 = ""; if ($0 ~ re) { print id; exit } }'
}

# ------------------------------------------------------------ set-up ----

# fenced takes <cgroup2 mount>/fence.slice for itself and, when it starts,
# kills and removes every cgroup it finds there as stale: two fenced on one
# host (a test's and the system's, or two test runs) destroy each other's
# sandboxes. So each script gets a private cgroup subtree: fenced runs in it,
# in its own cgroup and mount namespaces, where that subtree is bound over the
# cgroup2 mount point. Everything else about fenced
# is unchanged; it sees "<cgroup2 mount>/fence.slice" as always.
fenced_launcher() {
        local mnt=$1
        [ "${FENCE_ITEST_CGROUP:-private}" != host ] || return 1
        command -v unshare >/dev/null || return 1
        CG_TEST=$mnt/fence-itest.${T##*.}
        mkdir "$CG_TEST" || { CG_TEST=; return 1; }
        cat >"$T/in-cgroup" <<'SH'
#!/bin/bash
# in-cgroup CGROUP-DIR CGROUP2-MOUNTPOINT CMD...: CMD in CGROUP-DIR, as the root
# of its own cgroup namespace, with that directory bound over the cgroup2
# mount point (mounting cgroup2 again on the same place fails with EBUSY).
if [ "$1" = --inner ]; then
        mount --bind "$2" "$3" || exit 125
        shift 3
        exec "$@"
fi
echo $$ >"$1/cgroup.procs" || exit 125
exec unshare --cgroup --mount --propagation slave -- "$0" --inner "$@"
SH
        chmod 0755 "$T/in-cgroup"
        # Does it work here? (It needs cgroup namespaces and CAP_SYS_ADMIN.)
        if ! "$T/in-cgroup" "$CG_TEST" "$mnt" sh -c 'grep -q "^0::/$" /proc/self/cgroup' 2>/dev/null; then
                rmdir "$CG_TEST"
                CG_TEST=
                return 1
        fi
        FENCED_LAUNCH=("$T/in-cgroup" "$CG_TEST" "$mnt")
        CG_SLICE=$CG_TEST/fence.slice
}

lib_init() {
        require_root
        require_program setpriv useradd groupadd usermod flock pgrep
        [ -n "${FENCED:-}" ] && [ -x "$FENCED" ] || bail_out "FENCED is not set to the fenced binary (run through meson test)"
        [ -n "${FENCECTL:-}" ] && [ -x "$FENCECTL" ] || bail_out "FENCECTL is not set to the fencectl binary (run through meson test)"

        CG_MOUNT=$(find_cgroup2_mount)
        [ -n "$CG_MOUNT" ] || skip_all "no cgroup2 hierarchy is mounted"

        ensure_users
        PROC_BASELINE=$(user_pids)
        # Not /tmp: that is private inside sandboxes, and the sandboxes must
        # see the work directory and the socket.
        T=$(mktemp -d /var/tmp/fence-itest.XXXXXX) || bail_out "mktemp failed"
        chmod 0755 "$T"
        mkdir -p "$T/work" "$T/log"
        chown "$TEST_USER:$TEST_USER" "$T/work"
        SOCK=$T/sock
        trap lib_exit EXIT

        CG_SLICE=$CG_MOUNT/fence.slice
        fenced_launcher "$CG_MOUNT" || diag "fenced runs in the host's $CG_SLICE (no private cgroup subtree)"
        CG_BASELINE=$(cgroup_list)
        diag "temporary directory $T, cgroups in $CG_SLICE"
}

# The checks that close every script: fenced stops cleanly and nothing of the
# test is left: no cgroups, no processes of the test users, no mounts.
finish() {
        local left
        if [ -n "$FENCED_PID" ]; then
                fenced_stop
                is "$FENCED_STATUS" 0 "fenced exits 0 on SIGTERM"
        fi
        if wait_until 3 no_new_cgroups; then
                pass "no sandbox cgroup is left in $CG_SLICE"
        else
                fail "no sandbox cgroup is left in $CG_SLICE" "left: $(cgroup_new | tr '\n' ' ')"
        fi
        if wait_until 3 no_new_user_pids; then
                pass "no process of $TEST_USER/$TEST_USER2 is left"
        else
                left=$(user_pids_new)
                # shellcheck disable=SC2086
                fail "no process of $TEST_USER/$TEST_USER2 is left" "$(describe_pids $left)"
        fi
        left=$(grep -F " $T" /proc/self/mountinfo)
        is "$left" "" "no mount is left below $T"
        if [ -s "$T/fenced.log" ]; then
                left=$(grep -E 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|SUMMARY: ' "$T/fenced.log")
                is "$left" "" "fenced's log has no sanitizer report"
        fi
        if [ "$TAP_FAILED" -gt 0 ] && [ -s "$T/fenced.log" ]; then
                diag "fenced log (last 40 lines):"
                diag "$(tail -n 40 "$T/fenced.log")"
        fi
        printf '1..%d\n' "$TAP_N"
        TAP_FINISHED=1
        exit 0
}

lib_exit() {
        local rc=$? left
        if [ -n "$FENCED_PID" ]; then
                kill -TERM "$FENCED_PID" 2>/dev/null
                fenced_wait 10 || { kill -KILL "$FENCED_PID" 2>/dev/null; wait "$FENCED_PID" 2>/dev/null; }
        fi
        if [ "$TAP_FINISHED" != 1 ]; then
                # Aborted: say what is left, and clean it up for the next script.
                left=$(cgroup_new)
                [ -z "$left" ] || diag "left-over cgroups: $left"
                left=$(user_pids_new)
                # shellcheck disable=SC2086
                [ -z "$left" ] || diag "left-over processes: $(describe_pids $left)"
                # Only what this script started: its own jobs, and its
                # private cgroup subtree (fenced is gone: what is left there
                # are orphans of its sandboxes).
                left=$(jobs -p)
                # shellcheck disable=SC2086
                [ -z "$left" ] || kill -KILL $left 2>/dev/null
                [ -z "$CG_TEST" ] || [ ! -e "$CG_TEST/cgroup.kill" ] || echo 1 >"$CG_TEST/cgroup.kill" 2>/dev/null
                [ ! -s "$T/fenced.log" ] || { diag "fenced log:"; diag "$(tail -n 40 "$T/fenced.log")"; }
        fi
        if [ -n "$CG_TEST" ] && [ -d "$CG_TEST" ]; then
                # Empty by now unless something leaked (reported above).
                wait_until 3 eval '[ -z "$(find "$CG_TEST" -name cgroup.procs -exec cat {} + 2>/dev/null)" ]'
                [ ! -d "$CG_SLICE" ] || find "$CG_SLICE" -mindepth 1 -maxdepth 1 -type d -exec rmdir {} + 2>/dev/null
                [ ! -d "$CG_SLICE" ] || rmdir "$CG_SLICE"
                rmdir "$CG_TEST" 2>/dev/null ||
                        diag "cannot remove the test's cgroup subtree $CG_TEST: $(find "$CG_TEST" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs)"
        fi
        if [ -n "$T" ] && [ -d "$T" ]; then
                if [ "${FENCE_ITEST_KEEP:-0}" = 1 ]; then
                        diag "kept $T"
                else
                        rm -rf --one-file-system "$T"
                fi
        fi
        exit "$rc"
}

lib_init
