#!/bin/bash
# fencectl's configuration options and verbs: run --expose-host-path and
# --expose-host-path-rw (lift defaultDenyRead for one path, never more than
# the caller has, denyRead and denyWrite still win), and config init (where
# it writes, -t, -o, refusing to overwrite, --force, and that config check
# accepts what it wrote).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fenced_start
W=$T/work
HOME_DIR=$(getent passwd "$TEST_USER" | cut -d: -f6)

as_user() {
        setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
                env -i HOME="$HOME_DIR" PATH="$USER_PATH" "$@"
}

# newcase NAME: a fresh directory owned by the test user, the cwd of the
# following fctl_capture calls.
newcase() {
        CASE=$W/$1
        mkdir -p "$CASE"
        chown "$TEST_USER:$TEST_USER" "$CASE"
        # shellcheck disable=SC2034 # read by fctl_exec in lib.sh
        FCTL_CWD=$CASE
}

sum() {
        sha256sum <"$1" | cut -d' ' -f1
}

for f in "$HOME_DIR/.config/fence/fence.json" "$HOME_DIR/.config/fence/fence.jsonc" \
         "$HOME_DIR/.fence.json" "$HOME_DIR/.fence.jsonc"; do
        [ ! -e "$f" ] || bail_out "$f exists: the test user must have no user config"
done

# --- --expose-host-path ------------------------------------------------------
# Outside the cwd (rights add up along a hierarchy): a directory the policy
# hides, one to write, and a root-only file.
HID=$W/hidden RWD=$W/rw ROOTD=$W/rootonly
as_user sh -c 'mkdir -p "$1" "$2" && echo hidden-data >"$1/f.txt" && echo secret-data >"$1/secret.txt" && echo old >"$2/f.txt"' \
        sh "$HID" "$RWD"
mkdir -p "$ROOTD"
echo root-data >"$ROOTD/root.txt"
chmod 0600 "$ROOTD/root.txt"

newcase expose
as_user sh -c 'cat >"$1/fence.json"' sh "$CASE" <<'EOF'
{ "filesystem": { "defaultDenyRead": true, "allowRead": ["."] } }
EOF

fctl_capture run -- cat "$HID/f.txt"
isnt "$RC" 0 "defaultDenyRead: a path outside the allow lists is unreadable"
unlike "$OUT" "hidden-data" "...and nothing of it is printed"

fctl_capture run --expose-host-path "$HID" -- cat "$HID/f.txt"
is "$RC/$OUT" "0/hidden-data" "--expose-host-path DIR: a file in it becomes readable"
fctl_capture run --expose-host-path "$HID" -- ls "$HID"
is "$RC/$(tr '\n' ' ' <<<"$OUT")" "0/f.txt secret.txt " "...and the directory can be listed"
before=$(sum "$HID/f.txt")
fctl_capture run --expose-host-path "$HID" -- sh -c "echo evil >>$HID/f.txt"
isnt "$RC" 0 "...but not written"
is "$(sum "$HID/f.txt")" "$before" "...and the file is unchanged on the host"

fctl_capture run --expose-host-path ../hidden -- cat "$HID/f.txt"
is "$RC/$OUT" "0/hidden-data" "--expose-host-path with a relative path (../hidden) works"

fctl_capture run --expose-host-path "$HID/f.txt" -- cat "$HID/f.txt"
is "$RC/$OUT" "0/hidden-data" "--expose-host-path FILE: the file becomes readable"
fctl_capture run --expose-host-path "$HID/f.txt" -- cat "$HID/secret.txt"
isnt "$RC" 0 "...its sibling stays hidden"

fctl_capture run --expose-host-path "$ROOTD/root.txt" -- cat "$ROOTD/root.txt"
isnt "$RC" 0 "--expose-host-path of a root-only file: still unreadable"
unlike "$OUT" "root-data" "...and nothing of it is printed"

# denyRead still wins over it.
as_user sh -c 'cat >"$1/deny.json"' sh "$CASE" <<EOF
{ "filesystem": { "defaultDenyRead": true, "allowRead": ["."], "denyRead": ["$HID/secret.txt"] } }
EOF
fctl_capture run -s deny.json --expose-host-path "$HID" -- cat "$HID/secret.txt"
isnt "$RC" 0 "denyRead wins over --expose-host-path of its directory"
unlike "$OUT" "secret-data" "...and nothing of the file is printed"
fctl_capture run -s deny.json --expose-host-path "$HID/secret.txt" -- cat "$HID/secret.txt"
isnt "$RC" 0 "denyRead wins over --expose-host-path of the file itself"
fctl_capture run -s deny.json --expose-host-path "$HID" -- cat "$HID/f.txt"
is "$RC/$OUT" "0/hidden-data" "...while the rest of the directory is readable"

# --- --expose-host-path-rw -----------------------------------------------------
fctl_capture run -- sh -c "echo new >$RWD/f.txt"
isnt "$RC" 0 "without --expose-host-path-rw the directory is not writable"
is "$(cat "$RWD/f.txt")" "old" "...and the file is unchanged"
fctl_capture run --expose-host-path-rw "$RWD" -- sh -c "cat $RWD/f.txt && echo new >$RWD/f.txt && echo made >$RWD/g.txt"
is "$RC/$OUT" "0/old" "--expose-host-path-rw DIR: readable and writable"
is "$(cat "$RWD/f.txt" "$RWD/g.txt" 2>&1)" $'new\nmade' "...and the writes land on the host"
is "$(stat -c %U "$RWD/g.txt")" "$TEST_USER" "...as the user"

fctl_capture run --expose-host-path-rw ../rw -- sh -c "echo rel >$RWD/f.txt"
is "$RC/$(cat "$RWD/f.txt")" "0/rel" "--expose-host-path-rw with a relative path (../rw) works"

before=$(sum /etc/passwd)
fctl_capture run --expose-host-path-rw /etc/passwd -- sh -c 'echo "evil:x:0:0::/:/bin/sh" >>/etc/passwd'
isnt "$RC" 0 "--expose-host-path-rw /etc/passwd: the append fails"
is "$(sum /etc/passwd)" "$before" "...and /etc/passwd is unchanged"
fctl_capture run --expose-host-path-rw "$ROOTD" -- sh -c "cat $ROOTD/root.txt; echo x >$ROOTD/new.txt"
unlike "$OUT" "root-data" "--expose-host-path-rw of a root-owned dir: the root-only file stays unreadable"
check "...and nothing can be created in it" test ! -e "$ROOTD/new.txt"

as_user sh -c 'cat >"$1/denyw.json"' sh "$CASE" <<EOF
{ "filesystem": { "defaultDenyRead": true, "allowRead": ["."], "denyWrite": ["$RWD/f.txt"] } }
EOF
before=$(sum "$RWD/f.txt")
fctl_capture run -s denyw.json --expose-host-path-rw "$RWD" -- sh -c "echo evil >>$RWD/f.txt"
isnt "$RC" 0 "denyWrite wins over --expose-host-path-rw"
is "$(sum "$RWD/f.txt")" "$before" "...and the file is unchanged"

# --- config init -------------------------------------------------------------
newcase init
fctl_capture config init
is "$RC" 0 "config init exits 0"
check "...and writes ./fence.json" test -f "$CASE/fence.json"
is "$(stat -c %U "$CASE/fence.json" 2>/dev/null)" "$TEST_USER" "...owned by the user"
like "$(cat "$CASE/fence.json")" '"allowWrite": \["\."\]' "...allowing writes to the directory"
fctl_capture config check
is "$RC" 0 "config check passes on what config init wrote"
fctl_capture run -- sh -c 'echo w >w.txt'
is "$RC/$(cat "$CASE/w.txt" 2>&1)" "0/w" "...and run uses it: the directory is writable"

as_user sh -c 'echo "{ \"filesystem\": {} }" >"$1/fence.json"' sh "$CASE"
before=$(sum "$CASE/fence.json")
fctl_capture config init
is "$RC" 1 "config init over an existing fence.json exits 1"
is "$ERR" "fencectl: fence.json already exists; not overwriting it (pass --force to replace it)." \
        "...saying so and naming the file"
is "$(sum "$CASE/fence.json")" "$before" "...and the file is unchanged"
fctl_capture config init --force
is "$RC" 0 "config init --force overwrites it"
like "$(cat "$CASE/fence.json")" '"allowWrite"' "...with the starter config"

fctl_capture config init -t code -o code.json
is "$RC" 0 "config init -t code -o code.json exits 0"
like "$(cat "$CASE/code.json" 2>&1)" '"extends": "code"' "...and the file extends the template"
fctl_capture config check code.json
is "$RC" 0 "config check passes on it"
fctl_capture config show -s code.json
like "$ERR" "template code" "config show -s code.json merges the template"
fctl_capture config init -t code -o code.json
is "$RC" 1 "config init -o over an existing file exits 1"
like "$ERR" "code\.json already exists" "...naming the file"
fctl_capture config init -t no-such-template -o x.json
is "$RC" 2 "config init -t with an unknown template exits 2"
like "$ERR" "unknown template 'no-such-template'" "...naming it"
check "...and writes nothing" test ! -e "$CASE/x.json"
fctl_capture config init -o -
is "$RC" 0 "config init -o - exits 0"
like "$OUT" '"allowWrite"' "...and prints the starter config on stdout"

finish
