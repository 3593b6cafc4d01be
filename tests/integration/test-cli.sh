#!/bin/bash
# The command lines of fenced and fencectl: help, versions, features, and
# the usage errors (exit 2).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- fenced -----------------------------------------------------------------
capture "$FENCED" --help
is "$RC" 0 "fenced --help exits 0"
like "$OUT" "^Usage: fenced " "...and prints its usage"
like "$OUT" "--socket" "...listing --socket"
like "$OUT" "--exit-idle-time" "...and --exit-idle-time"
capture "$FENCED" -h
is "$RC $OUT" "0 $(capture "$FENCED" --help; echo "$OUT")" "fenced -h is --help"
capture "$FENCED" --version
is "$RC" 0 "fenced --version exits 0"
like "$OUT" '^fenced [0-9]+\.[0-9]+\.[0-9]+' "...and prints 'fenced VERSION'"
version=${OUT#fenced }
capture "$FENCED" --fence-itest-bogus
is "$RC" 2 "fenced with an unknown option exits 2"
like "$ERR" "fenced --help" "...and points at --help"
capture "$FENCED" extra-argument
is "$RC" 2 "fenced with an extra argument exits 2"
capture "$FENCED" --socket relative/sock
is "$RC" 2 "fenced --socket with a relative path exits 2"
capture "$FENCED" --exit-idle-time soon
is "$RC" 2 "fenced --exit-idle-time with a non-number exits 2"
capture setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- "$FENCED" --socket "$T/user-sock"
is "$RC" 1 "fenced as an unprivileged user exits 1"
like "$ERR" "must run as root" "...saying it must run as root"
check "...and creates no socket" test ! -e "$T/user-sock"

# --- fencectl without fenced ------------------------------------------------
capture "$FENCECTL" --help
is "$RC" 0 "fencectl --help exits 0"
like "$OUT" "^Usage: fencectl " "...and prints its usage"
help=$OUT
capture "$FENCECTL" -h
is "$OUT" "$help" "fencectl -h is --help"
capture "$FENCECTL" help
is "$RC $OUT" "0 $help" "fencectl help is --help"
capture "$FENCECTL" --version
is "$RC $OUT" "0 fencectl $version" "fencectl --version prints the same version as fenced"

verbs=$(awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' <<<"$help" | sort -u)
cmp_num "$(wc -w <<<"$verbs")" -ge 6 "fencectl --help lists its verbs ($(xargs <<<"$verbs"))"
for verb in $verbs; do
        capture "$FENCECTL" "$verb" --help
        if [ "$RC" = 2 ] && grep -q "unknown command '$verb'" <<<"$ERR"; then
                skip "'$verb' is listed but not built into this fencectl" "fencectl $verb --help"
                continue
        fi
        is "$RC" 0 "fencectl $verb --help exits 0"
        like "$OUT" "Usage: fencectl $verb|Usage: fencectl \[" "...and prints a usage"
done

capture "$FENCECTL" fence-itest-bogus-verb
is "$RC" 2 "an unknown verb exits 2"
like "$ERR" "unknown command 'fence-itest-bogus-verb'" "...and names it"
capture "$FENCECTL"
is "$RC" 2 "no verb exits 2"
like "$ERR" "missing command" "...and says a command is missing"
capture "$FENCECTL" ps extra-argument
is "$RC" 2 "ps with an argument exits 2"
capture "$FENCECTL" features --bogus
is "$RC" 2 "features with an unknown flag exits 2"

capture "$FENCECTL" --socket "$T/no-sock" version
is "$RC" 0 "fencectl version without fenced exits 0"
is "$OUT" "fencectl $version"$'\n'"fenced not reachable at $T/no-sock" "...and says fenced is not reachable"
capture "$FENCECTL" --socket "$T/no-sock" ps
is "$RC" 1 "fencectl ps without fenced exits 1"
like "$ERR" "cannot reach fenced" "...and says it cannot reach fenced"

# --- fencectl with fenced ---------------------------------------------------
fenced_start

capture fctl_user version
is "$RC" 0 "fencectl version exits 0"
is "$OUT" "fencectl $version"$'\n'"fenced $version" "...and shows both versions"

capture fctl_user features
is "$RC" 0 "fencectl features exits 0"
like "$OUT" "^version: $version$" "...shows fenced's version"
ns=$(sed -n 's/^namespaces: //p' <<<"$OUT")
for n in mnt pid net ipc uts cgroup; do
        like " $ns " " $n " "...lists the $n namespace"
done
like "$OUT" "^cgroup: $CG_MOUNT/fence.slice$" "...shows the cgroup slice"
# Landlock ABI 6 (signal and abstract socket scoping) came with Linux 6.12.
abi=$(sed -n 's/^landlockAbi: //p' <<<"$OUT")
IFS=. read -r kmaj kmin _ <<<"$(uname -r)"
if [ "$kmaj" -gt 6 ] || { [ "$kmaj" -eq 6 ] && [ "${kmin%%[!0-9]*}" -ge 12 ]; }; then
        cmp_num "$abi" -ge 6 "...reports Landlock ABI >= 6 on this kernel ($(uname -r))"
else
        skip "kernel $(uname -r) predates Landlock ABI 6 (Linux 6.12)" "...reports Landlock ABI >= 6"
fi

capture fctl_user ps
is "$RC" 0 "fencectl ps exits 0"
like "$OUT" "^ID +PID +USER +AGE +COMMAND$" "...and prints its header"
is "$(sed 1d <<<"$OUT")" "" "...and no sandbox"

finish
