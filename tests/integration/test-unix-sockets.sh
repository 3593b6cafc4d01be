#!/bin/bash
# network.allowUnixSockets / allowAllUnixSockets: a host Unix socket the
# user could connect to is out of the sandbox's reach unless listed
# (subpaths count) or all are allowed; abstract sockets never are (the
# sandbox's network namespace has its own).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -x /usr/bin/python3 ] || skip_all "needs /usr/bin/python3 (the socket server and client)"
fenced_start

D=$T/work/sockets
mkdir -p "$D/sub"
chown -R "$TEST_USER:$TEST_USER" "$D"

cat >"$T/usock-server.py" <<'PY'
import os, socket, sys
kind, path = sys.argv[1], sys.argv[2]
if kind == "abstract":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind("\0" + path)
elif kind == "dgram":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
if kind != "dgram":
    s.listen(16)
print("ready", flush=True)
while True:
    if kind == "dgram":
        data = s.recv(100)
        with open(sys.argv[3], "ab") as f:
            f.write(data + b"\n")
    else:
        c, _ = s.accept()
        c.sendall(b"hello\n")
        c.close()
PY
cat >"$T/work/usock-client.py" <<'PY'
import socket, sys
kind, path = sys.argv[1], sys.argv[2]
try:
    if kind == "dgram":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.sendto(sys.argv[3].encode(), path)
        print("sent")
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(("\0" + path) if kind == "abstract" else path)
        print("connected " + s.recv(10).decode().strip())
except OSError as e:
    print("refused: " + e.strerror)
    sys.exit(1)
PY
chmod 0755 "$T/usock-server.py" "$T/work/usock-client.py"

SERVERS=()
# serve KIND PATH [LOG]: a server as the test user; waits until it listens.
serve() {
        local out=$T/serve.$#.$RANDOM
        setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
                /usr/bin/python3 "$T/usock-server.py" "$@" >"$out" 2>&1 &
        SERVERS+=($!)
        wait_until 10 grep -qx ready "$out" || diag "server $*: $(cat "$out")"
}
cleanup_servers() {
        [ ${#SERVERS[@]} -eq 0 ] || kill "${SERVERS[@]}" 2>/dev/null
        wait "${SERVERS[@]}" 2>/dev/null
        SERVERS=()
}

serve stream "$D/app.sock"
serve stream "$D/sub/db.sock"
serve abstract "fence-itest-abstract-$$"
touch "$T/dgram.log"
chown "$TEST_USER" "$T/dgram.log"
serve dgram "$D/log.sock" "$T/dgram.log"

# Outside a sandbox the user reaches them all: the refusals below are the sandbox's.
out=$(cd "$T/work" && setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
        /usr/bin/python3 ./usock-client.py stream "$D/app.sock")
is "$out" "connected hello" "outside a sandbox $TEST_USER connects to its socket"

write_config() {        # write_config NAME JSON
        printf '%s\n' "$2" >"$T/work/$1.json"
        chown "$TEST_USER" "$T/work/$1.json"
}
write_config none '{}'
write_config listed "{\"network\":{\"allowUnixSockets\":[\"$D/app.sock\"]}}"
write_config subdir "{\"network\":{\"allowUnixSockets\":[\"$D\"]}}"
write_config relative '{"network":{"allowUnixSockets":["sockets/sub"]}}'
write_config all '{"network":{"allowAllUnixSockets":true}}'
write_config near "{\"network\":{\"allowUnixSockets\":[\"$D/app\"]}}"

client() {      # client CONFIG KIND PATH [MESSAGE]
        local cfg=$1
        shift
        fctl_capture run -s "$cfg.json" -- python3 ./usock-client.py "$@"
}

# --- nothing listed ----------------------------------------------------------
client none stream "$D/app.sock"
isnt "$RC" 0 "with no allowUnixSockets, connecting to the user's own socket fails"
like "$OUT" "refused: Permission denied" "...with EACCES"
client none stream "$D/sub/db.sock"
isnt "$RC" 0 "...and to one in a subdirectory"
before=$(cat "$T/dgram.log")
client none dgram "$D/log.sock" from-none
isnt "$RC" 0 "sending a datagram to a bound datagram socket fails"
is "$(cat "$T/dgram.log")" "$before" "...and the server received nothing"
client none abstract "fence-itest-abstract-$$"
isnt "$RC" 0 "a host abstract socket is unreachable"
like "$OUT" "refused: Connection refused" "...it does not exist in the sandbox's network namespace"
fctl_capture run -s none.json -- ls -l "$D/app.sock"
is "$RC" 0 "the masked socket's name is still there (ls -l works)"

# --- listed ------------------------------------------------------------------
client listed stream "$D/app.sock"
is "$OUT" "connected hello" "allowUnixSockets: [path]: that socket connects"
client listed stream "$D/sub/db.sock"
isnt "$RC" 0 "...another one does not"
client subdir stream "$D/sub/db.sock"
is "$OUT" "connected hello" "allowUnixSockets: [dir]: a socket below it connects (subpath, as fence on macOS)"
client subdir dgram "$D/log.sock" from-subdir
is "$OUT" "sent" "...and a datagram socket below it gets the datagram"
wait_until 5 grep -qx from-subdir "$T/dgram.log"
check "...which the server received" grep -qx from-subdir "$T/dgram.log"
client relative stream "$D/sub/db.sock"
is "$OUT" "connected hello" "a relative entry resolves against the cwd"
client relative stream "$D/app.sock"
isnt "$RC" 0 "...and covers nothing outside it"
client near stream "$D/app.sock"
isnt "$RC" 0 "an entry that is a prefix of the name but not a parent directory (sockets/app) allows nothing"
client all stream "$D/sub/db.sock"
is "$OUT" "connected hello" "allowAllUnixSockets: every socket connects"
client all abstract "fence-itest-abstract-$$"
isnt "$RC" 0 "...but host abstract sockets stay out of reach"

# --- a name with glob characters is masked as itself -------------------------
serve stream "$D/we[ir]d*.sock"
serve stream "$D/wid.sock"
client none stream "$D/we[ir]d*.sock"
isnt "$RC" 0 "a socket named we[ir]d*.sock is masked"
write_config weird "{\"network\":{\"allowUnixSockets\":[\"$D/wid.sock\"]}}"
client weird stream "$D/wid.sock"
is "$OUT" "connected hello" "...and its mask does not catch wid.sock, which the name would match as a glob"

# --- a socket behind a symlink -----------------------------------------------
ln -s "$D/sub" "$T/work/link"
chown -h "$TEST_USER" "$T/work/link"
client none stream "$T/work/link/db.sock"
isnt "$RC" 0 "a socket reached through a symlinked directory is masked too"
write_config vialink "{\"network\":{\"allowUnixSockets\":[\"$T/work/link\"]}}"
client vialink stream "$T/work/link/db.sock"
is "$OUT" "connected hello" "an entry naming the symlink allows the socket behind it"

# --- sockets the user cannot write are left alone ----------------------------
# (its permissions refuse it anyway: no mask needed, none made)
serve stream "$D/private.sock"
chmod 0600 "$D/private.sock"
chown root "$D/private.sock"
client none stream "$D/private.sock"
isnt "$RC" 0 "a socket the user may not write stays refused"
like "$OUT" "Permission denied" "...by its permissions"

cleanup_servers
rm -rf "$D" "$T/work/link"
finish
