#!/bin/bash
# Runs one direction of the varlink certification:
#   certification.sh server|client|self SERVER CLIENT
#   server: our SERVER answers the client of varlink-go-certification
#   client: our CLIENT calls the server of varlink-go-certification
#   self:   our CLIENT calls our SERVER
# Exits 77 (skip) when varlink-go-certification is needed but missing.
set -u

mode=${1:?mode}
our_server=${2:?server}
our_client=${3:?client}
go=${VARLINK_GO_CERTIFICATION:-/usr/bin/varlink-go-certification}

if [[ $mode != self && ! -x $go ]]; then
        echo "SKIP: $go not found (Debian package varlink-go)."
        exit 77
fi

tmp=$(mktemp -d)
sock=$tmp/sock
bg=

cleanup() {
        if [[ -n $bg ]]; then
                kill "$bg" 2>/dev/null
                wait "$bg" 2>/dev/null
        fi
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
        echo "FAIL: $*"
        exit 1
}

# Waits (bounded) for the server's socket file to appear while it runs.
wait_socket() {
        for _ in $(seq 500); do
                [[ -S $sock ]] && return 0
                kill -0 "$bg" 2>/dev/null || fail "the server exited before listening"
                sleep 0.01
        done
        fail "the server did not create $sock within 5 s"
}

case $mode in
server)
        "$our_server" --exit-on-end "unix:$sock" &
        bg=$!
        wait_socket
        out=$(timeout 30 "$go" -client "-varlink=unix:$sock" 2>&1)
        rc=$?
        echo "$out"
        [[ $rc -eq 0 ]] || fail "varlink-go-certification -client exited with $rc"
        # The Go client prints "<Step>() failed" and stops at the first bad answer.
        grep -q 'failed' <<<"$out" && fail "the Go client reported a failure"
        grep -qx "Test10: '\[Reply number 1 Reply number 2 Reply number 3 Reply number 4 Reply number 5 Reply number 6 Reply number 7 Reply number 8 Reply number 9 Reply number 10\]'" <<<"$out" ||
                fail "the Go client did not receive the ten Test10 replies"
        grep -qx "End: 'true'" <<<"$out" || fail "the Go client did not get End: 'true'"
        # Our server checked every input of the Go client; it exits with 0
        # only if they all were right, in order.
        timeout 10 tail --pid="$bg" -f /dev/null
        wait "$bg"
        rc=$?
        bg=
        [[ $rc -eq 0 ]] || fail "our server saw wrong inputs (exit status $rc)"
        ;;
client)
        "$go" "-varlink=unix:$sock" &
        bg=$!
        wait_socket
        timeout 30 "$our_client" "unix:$sock" || fail "our client failed against varlink-go-certification"
        ;;
self)
        "$our_server" --exit-on-end "unix:$sock" &
        bg=$!
        wait_socket
        timeout 30 "$our_client" "unix:$sock" || fail "our client failed against our server"
        timeout 10 tail --pid="$bg" -f /dev/null
        wait "$bg"
        rc=$?
        bg=
        [[ $rc -eq 0 ]] || fail "our server saw wrong inputs (exit status $rc)"
        ;;
*)
        fail "unknown mode $mode"
        ;;
esac
echo "PASS: varlink certification ($mode)"
