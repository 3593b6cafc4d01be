#!/bin/bash
# The default policy: the host is read-only (even the caller's own files),
# /tmp is writable, and setuid/setgid binaries confer nothing.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fenced_start

# --- writes outside /tmp fail -----------------------------------------------
name=fence-itest-$$-$RANDOM
fctl_capture run -- touch "/etc/$name"
isnt "$RC" 0 "touch /etc/x fails"
like "$ERR" "Read-only file system" "...with 'Read-only file system'"
check "...and /etc/x does not exist on the host" test ! -e "/etc/$name"

home=$(getent passwd "$TEST_USER" | cut -d: -f6)
file=$home/$name
printf 'precious %s\n' "$RANDOM" >"$file"
chown "$TEST_USER:$TEST_USER" "$file"
chmod 0644 "$file"
before=$(sha256sum <"$file")
stat_before=$(stat -c '%U %G %a %s %Y' "$file")

# Outside the sandbox the user can write it: the denial below is the sandbox's.
check "outside the sandbox, $TEST_USER can write its own file" \
        setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- test -w "$file"

fctl_capture run -- sh -c "echo evil >>'$file'"
isnt "$RC" 0 "appending to a file the user owns in its home fails"
like "$ERR" "Read-only file system" "...with 'Read-only file system'"
fctl_capture run -- sh -c "echo evil >'$file'"
isnt "$RC" 0 "truncating it fails"
fctl_capture run -- rm -f "$file"
isnt "$RC" 0 "removing it fails"
fctl_capture run -- chmod 0777 "$file"
isnt "$RC" 0 "chmod of it fails"
fctl_capture run -- touch -d '2001-01-01' "$file"
isnt "$RC" 0 "changing its times fails"
fctl_capture run -- mv "$file" "$file.moved"
isnt "$RC" 0 "renaming it fails"
is "$(sha256sum <"$file")" "$before" "the file is byte-for-byte unchanged (sha256)"
is "$(stat -c '%U %G %a %s %Y' "$file")" "$stat_before" "its owner, mode, size and mtime are unchanged"
check "no renamed copy appeared" test ! -e "$file.moved"

fctl_capture run -- sh -c "touch '$home/$name.new'"
isnt "$RC" 0 "creating a file in the user's home fails"
check "...and nothing was created" test ! -e "$home/$name.new"
fctl_capture run -- touch "$T/work/$name"
isnt "$RC" 0 "creating a file in the cwd (owned by the user) fails"
check "...and nothing was created" test ! -e "$T/work/$name"
fctl_capture run -- mkdir "$home/$name.d"
isnt "$RC" 0 "mkdir in the home fails"
rm -f "$file"

# --- /tmp and /dev/shm are writable -----------------------------------------
fctl_capture run -- sh -c 'echo hello >/tmp/f && mkdir /tmp/d && mv /tmp/f /tmp/d/g && cat /tmp/d/g && rm -r /tmp/d && echo done'
is "$OUT" $'hello\ndone' "/tmp is writable: create, rename, read, remove"
fctl_capture run -- sh -c 'head -c 1048576 /dev/zero >/tmp/big && wc -c </tmp/big'
is "$OUT" 1048576 "a 1 MiB file fits in /tmp"

# --- no privilege from setuid/setgid binaries -------------------------------
# passwd -S (setuid root) and chage -l (setgid shadow) read /etc/shadow: they
# work for the user outside, so a failure inside is the sandbox's doing.
as_user_outside() {
        (cd "$T/work" && setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- "$@") </dev/null >/dev/null 2>&1
}
# passwd -S falls back to /etc/passwd without /etc/shadow: it then prints only
# the name and a status, instead of the shadow fields (dates, ages).
outside=$(cd "$T/work" && setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- passwd -S "$TEST_USER" 2>/dev/null </dev/null)
if [ -u /usr/bin/passwd ] && [ "$(wc -w <<<"$outside")" -gt 2 ]; then
        fctl_capture run -- passwd -S "$TEST_USER"
        cmp_num "$(wc -w <<<"$OUT")" -le 2 "setuid passwd -S reads /etc/shadow outside but not inside (no setuid)"
else
        skip "passwd is not setuid root or passwd -S fails outside" "setuid passwd -S fails inside"
fi
if [ -g /usr/bin/chage ] && as_user_outside chage -l "$TEST_USER"; then
        fctl_capture run -- chage -l "$TEST_USER"
        isnt "$RC" 0 "setgid chage -l works outside but fails inside (no setgid)"
else
        skip "chage is not setgid or chage -l fails outside" "setgid chage -l fails inside"
fi
fctl_capture run -- cat /etc/shadow
isnt "$RC" 0 "/etc/shadow is unreadable"
fctl_capture run -- mount -t tmpfs none /tmp
isnt "$RC" 0 "mount (setuid root) cannot mount"
fctl_capture run -- su -c true root
isnt "$RC" 0 "su (setuid root) cannot switch to root"
# The mounts carry nosuid: the bit is still set but ignored.
fctl_capture run -- sh -c 'grep -E " / " /proc/self/mountinfo | head -1'
like "$OUT" '[ ,]nosuid([ ,]|$)' "/ is mounted nosuid"
like "$OUT" '[ ,]ro([ ,]|$)' "/ is mounted read-only"

# --- the README demo --------------------------------------------------------
fctl_capture run -- sh -c 'id; pwd; touch /etc/x; echo $?'
is "$RC" 0 "the demo command succeeds"
like "$(sed -n 1p <<<"$OUT")" "^uid=$(id -u "$TEST_USER")\($TEST_USER\) gid=$(id -g "$TEST_USER")\($TEST_USER\)" "...and prints the user's uid and gid"
is "$(sed -n 2p <<<"$OUT")" "$T/work" "...and its cwd"
is "$(sed -n 3p <<<"$OUT")" 1 "...and touch /etc/x fails"
like "$ERR" "touch: cannot touch '/etc/x': Read-only file system" "...saying 'Read-only file system'"

finish
