#!/bin/bash
# Many sandboxes at once, from two users: each gets its own identity and exit
# code, and one that fails to start does not disturb the others.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fenced_start

# All ten wait for $T/go (the host's /var/tmp is visible read-only inside), so
# they provably run at the same time; the wait is bounded in case of trouble.
go=$T/go
script='i=0; while [ ! -e "$1" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done; echo "$(id -u) $2 $(pwd) $$"; echo "err-$2" >&2; exit "$2"'
declare -A bg_pid bg_user
for n in 0 1 2 3 4 5 6 7 8 9; do
        if [ $((n % 2)) = 0 ]; then user=$TEST_USER; else user=$TEST_USER2; fi
        fctl_bg "$user" "$T/many.$n" run -- sh -c "$script" sh "$go" $((n * 11))
        bg_pid[$n]=$BG_PID
        bg_user[$n]=$user
done

# Meanwhile: sandboxes that cannot start.
fctl_capture run -- fence-itest-no-such-command
is "$RC" 127 "a missing command exits 127 while others run"

mkdir "$T/work/gone"
chown "$TEST_USER:$TEST_USER" "$T/work/gone"
capture setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
        env -i PATH="$USER_PATH" sh -c 'cd "$1" && rmdir "$1" && exec "$2" --socket "$3" run -- true' sh "$T/work/gone" "$FENCECTL" "$SOCK"
is "$RC" 125 "a deleted cwd: the sandbox is refused (exit 125)"
like "$ERR" "deleted|working directory" "...saying the working directory is gone"

if wait_until 20 eval '[ "$(cgroup_count_new)" -ge 10 ]'; then
        pass "10 sandboxes of two users run at the same time"
else
        fail "10 sandboxes of two users run at the same time" "only $(cgroup_count_new) cgroups"
fi
capture fctl_user ps
is "$(sed 1d <<<"$OUT" | wc -l)" 5 "$TEST_USER's fencectl ps lists its 5 sandboxes"
unlike "$(sed 1d <<<"$OUT" | awk '{ print $3 }' | sort -u)" "$TEST_USER2" "...and none of $TEST_USER2's"
capture "$FENCECTL" --socket "$SOCK" ps
is "$(sed 1d <<<"$OUT" | wc -l)" 10 "root's fencectl ps lists all 10"

touch "$go"
all_ok=1
for n in 0 1 2 3 4 5 6 7 8 9; do
        if ! wait_until 20 eval "! kill -0 ${bg_pid[$n]} 2>/dev/null"; then
                fail "sandbox $n completes" "still running"
                kill -KILL "${bg_pid[$n]}"
                all_ok=0
                continue
        fi
        wait "${bg_pid[$n]}"
        rc=$?
        read -r uid code cwd pid <"$T/many.$n"
        if [ "$rc" = $((n * 11)) ] && [ "$code" = $((n * 11)) ] && [ "$uid" = "$(id -u "${bg_user[$n]}")" ] &&
           [ "$cwd" = "$T/work" ] && [ "$pid" -le 3 ] && [ "$(cat "$T/many.$n.err")" = "err-$((n * 11))" ]; then
                :
        else
                fail "sandbox $n of ${bg_user[$n]} exits $((n * 11)) with its own output" \
                        "exit $rc, stdout '$(cat "$T/many.$n")', stderr '$(cat "$T/many.$n.err")'"
                all_ok=0
        fi
done
[ "$all_ok" = 0 ] || pass "all 10 exit with their own codes (0, 11, ... 99), uids, cwds, pids and stderr"
check "...and all their cgroups are removed" wait_until 3 eval '[ "$(cgroup_count_new)" = 0 ]'

# A burst: 30 short sandboxes back to back, then one more works.
fails=0 why=
for n in $(seq 30); do
        fctl_bg "$TEST_USER" "$T/burst.$n" run -c "exit $((n % 7))"
        bg_pid[$n]=$BG_PID
done
for n in $(seq 30); do
        wait "${bg_pid[$n]}"
        rc=$?
        if [ "$rc" != $((n % 7)) ]; then
                fails=$((fails + 1))
                why+="#$n: exit $rc, expected $((n % 7)): $(cat "$T/burst.$n.err")"$'\n'
        fi
done
is "$fails" 0 "30 sandboxes started at once all exit with their own codes"
[ -z "$why" ] || diag "$why"
fctl_capture run -c 'echo still-fine'
is "$OUT" still-fine "fenced still serves afterwards"
check "fenced is still running" fenced_alive

finish
