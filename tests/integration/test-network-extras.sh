#!/bin/bash
# More of network.*: -p ADDR:PORT on IPv4 and IPv6 (and fence's errors for
# bad values), custom httpProxyPort/socksProxyPort behind the proxy variables,
# the 403 page's explanation, DNS sent to an address other than the sandbox's
# resolver (captured in the sandbox's own namespace: nothing leaves it),
# allowLocalOutboundPorts without allowLocalOutbound, and GIT_SSH_COMMAND
# through the SOCKS proxy. Everything runs on the host's loopback or inside
# the sandbox's network namespace.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_program curl
[ -x /usr/bin/python3 ] || skip_all "needs /usr/bin/python3 (test servers)"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

SUFFIX=$$
SERVER_PIDS=()
net_exit() {
        local rc=$? p
        for p in "${SERVER_PIDS[@]}"; do
                kill "$p" 2>/dev/null
        done
        (exit "$rc")
        lib_exit
}
trap net_exit EXIT

# Test names: answers that are only data (192.0.2.0/24, TEST-NET-1: nothing
# connects to them).
/usr/bin/python3 "$HERE/dns-test-server.py" "$T/dns.port" allowed.test=192.0.2.10 denied.test=192.0.2.11 \
        other.test=192.0.2.12 >/dev/null 2>"$T/dns.log" &
SERVER_PIDS+=($!)
wait_until 10 test -e "$T/dns.port" || bail_out "the test DNS server did not start: $(cat "$T/dns.log")"
DNS=127.0.0.1:$(cat "$T/dns.port")

fenced_start

newcase() {     # newcase NAME FENCE-JSON
        CASE=$T/work/$1
        mkdir -p "$CASE"
        printf '%s\n' "$2" >"$CASE/fence.json"
        chown -R "$TEST_USER:$TEST_USER" "$CASE"
        # shellcheck disable=SC2034 # read by fctl_exec in lib.sh
        FCTL_CWD=$CASE
}

has_event() {   # has_event SOURCE ACTION KEY JSON-VALUE-ERE: in $ERR (-m)
        grep -o 'fence: {.*}' <<<"$ERR" | grep "\"source\":\"$1\"" | grep "\"action\":\"$2\"" | grep -Eq "\"$3\":$4"
}
event_check() {   # event_check DESCRIPTION SOURCE ACTION KEY JSON-VALUE-ERE
        if has_event "$2" "$3" "$4" "$5"; then
                pass "$1"
        else
                fail "$1" "no $2/$3 event with \"$4\":$5 in the output"
        fi
}

NOPROXY_SH="curl -sS -m 5 --noproxy '*'"

# --- -p ADDR:PORT --------------------------------------------------------------
port_free() {
        ! ss -Htln "( sport = :$1 )" | grep -q .
}
P_EXP=$((30000 + SUFFIX % 20000))
while ! port_free "$P_EXP"; do P_EXP=$((P_EXP + 1)); done

# expose_check SPEC URL DESCRIPTION: a server in the sandbox on its
# 127.0.0.1:$P_EXP, exposed with -p SPEC, answers the host at URL.
expose_check() {
        local spec=$1 url=$2 desc=$3
        newcase "expose-$TAP_N" '{ "network": { "allowLocalBinding": true }, "filesystem": { "allowWrite": ["."] } }'
        fctl_bg "$TEST_USER" "$T/expose.out" run -p "$spec" -- sh -c \
                "mkdir /tmp/www && echo inside-$TAP_N >/tmp/www/index.html && cd /tmp/www &&
                 { /usr/bin/python3 -m http.server --bind 127.0.0.1 $P_EXP >/dev/null 2>&1 & } &&
                 for i in \$(seq 200); do $NOPROXY_SH -s http://127.0.0.1:$P_EXP/ >/dev/null && touch \"$CASE/ready\" && break; sleep 0.05; done;
                 for i in \$(seq 400); do [ ! -e \"$CASE/stop\" ] || break; sleep 0.05; done"
        local pid=$BG_PID
        if wait_until 15 test -e "$CASE/ready"; then
                is "$(curl -sS -m 5 --noproxy '*' "$url")" "inside-$TAP_N" "$desc"
        else
                fail "$desc" "the sandbox's server did not come up: $(cat "$T/expose.out" "$T/expose.out.err")"
        fi
        touch "$CASE/stop"
        wait "$pid"
        check "...and the host port is closed once the sandbox is gone" port_free "$P_EXP"
}
expose_check "127.0.0.1:$P_EXP" "http://127.0.0.1:$P_EXP/" "-p 127.0.0.1:PORT: the host's 127.0.0.1:PORT reaches the sandbox's server"
expose_check "[::1]:$P_EXP" "http://[::1]:$P_EXP/" "-p [::1]:PORT: the host's [::1]:PORT reaches the sandbox's server"

newcase expose-bad '{ "network": { "allowLocalBinding": true } }'
bad_port() {    # bad_port VALUE ERE
        rm -f "$CASE/ran"
        fctl_capture run -p "$1" -- touch "$CASE/ran"
        is "$RC" 2 "-p $1: exit 2 (usage)"
        like "$ERR" "$2" "...with an error naming the value"
        check "...and nothing ran" test ! -e "$CASE/ran"
}
bad_port "localhost:$P_EXP" "^fencectl: -p localhost:$P_EXP: 'localhost' is not a literal IP address"
bad_port abc "^fencectl: -p abc: invalid port"
bad_port 99999 "^fencectl: -p 99999: invalid port"
bad_port "127.0.0.1:0" "^fencectl: -p 127\.0\.0\.1:0: invalid port '0'"
bad_port "::1:$P_EXP" "^fencectl: -p ::1:$P_EXP: an IPv6 address needs brackets"

# --- custom proxy ports, the 403 explanation -----------------------------------
newcase ports "{ \"network\": { \"allowedDomains\": [\"allowed.test\"], \"deniedDomains\": [\"denied.test\"],
                 \"httpProxyPort\": 8888, \"socksProxyPort\": 9999, \"dnsServer\": \"$DNS\" } }"
fctl_capture run -- sh -c 'echo "$HTTP_PROXY $HTTPS_PROXY $http_proxy $ALL_PROXY $all_proxy"'
is "$OUT" "http://127.0.0.1:8888 http://127.0.0.1:8888 http://127.0.0.1:8888 socks5h://127.0.0.1:9999 socks5h://127.0.0.1:9999" \
        "httpProxyPort 8888, socksProxyPort 9999: the proxy variables name them"
fctl_capture run -m -- curl -sS -m 5 -w '\n%{http_code}' http://denied.test/
like "$OUT" '403$' "HTTP proxy on 8888: a denied name gets 403"
is "$(sed -n 1p <<<"$OUT")" "Connection blocked by network allowlist" "...with fence's first line"
is "$(sed -n 2p <<<"$OUT")" 'denied.test:80 is blocked by "denied.test" in network.deniedDomains, which wins over network.allowedDomains' \
        "...and a second line naming the domain and the denying key"
event_check "...and an event (via http-proxy)" network denied via '"http-proxy"'
fctl_capture run -m -- curl -sS -m 5 -w '\n%{http_code}' http://other.test:8080/
is "$(sed -n 2p <<<"$OUT")" 'other.test:8080 is not in network.allowedDomains; add "other.test" to network.allowedDomains to allow it' \
        "a name in no list: the second line names it and network.allowedDomains"
fctl_capture run -m -- sh -c 'curl -sS -m 5 --proxy "$ALL_PROXY" http://denied.test/'
is "$RC" 97 "SOCKS5 proxy on 9999: a denied name fails the handshake (curl 97)"
like "$ERR" '\(2\)' "...with reply 2 (not allowed by ruleset)"
event_check "...and an event (via socks5)" network denied via '"socks5"'
fctl_capture run -- curl -sS -m 5 --proxy http://127.0.0.1:3128 -w '%{http_code}' http://denied.test/
is "$RC" 7 "...and nothing listens on the default 3128 (curl 7: connection refused)"

# --- GIT_SSH_COMMAND -------------------------------------------------------------
fctl_capture run -- sh -c 'echo "$GIT_SSH_COMMAND"; command -v nc'
like "$(sed -n 1p <<<"$OUT")" "nc -X 5 -x 127\.0\.0\.1:9999 %h %p" "GIT_SSH_COMMAND goes through nc to the SOCKS port (9999)"
if command -v nc >/dev/null; then
        like "$(sed -n 2p <<<"$OUT")" '/nc$' "...and nc is there in the sandbox"
        # OpenBSD netcat: -X 5 -x is its SOCKS5 client; a denied host is refused.
        fctl_capture run -m -- sh -c 'nc -X 5 -x 127.0.0.1:9999 denied.test 22 </dev/null; echo "rc=$?"'
        like "$OUT" 'rc=[1-9]' "...and nc -X 5 -x through it to a denied host fails"
        event_check "...with an event (via socks5)" network denied domain '"denied.test"'
else
        skip "nc is not installed (netcat-openbsd, scripts/deps.sh)" "...and nc is there in the sandbox"
fi

# --- DNS to another address: captured in the sandbox's namespace -----------
# Queries to 192.0.2.77:53 over UDP and TCP: nothing routes there from the
# sandbox's namespace (only loopback), so an answer can only come from the
# capture.
QUERY='import socket,struct,sys
name, proto = sys.argv[1], sys.argv[2]
q=struct.pack("!HHHHHH",0x4242,0x0100,1,0,0,0)+b"".join(bytes([len(l)])+l.encode() for l in name.split("."))+b"\0"+struct.pack("!HH",1,1)
if proto == "udp":
    s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(10)
    s.sendto(q,("192.0.2.77",53)); r=s.recv(512)
else:
    s=socket.create_connection(("192.0.2.77",53),timeout=10)
    s.sendall(struct.pack("!H",len(q))+q); n=struct.unpack("!H",s.recv(2))[0]; r=b""
    while len(r) < n: r+=s.recv(n-len(r))
ans=struct.unpack("!H",r[6:8])[0]
print(struct.unpack("!H",r[:2])[0]==0x4242, r[3]&15, ans, socket.inet_ntoa(r[-4:]) if ans else "-")'
newcase dns-other "{ \"network\": { \"allowedDomains\": [\"allowed.test\"], \"dnsServer\": \"$DNS\" } }"
for proto in udp tcp; do
        fctl_capture run -m -- /usr/bin/python3 -c "$QUERY" denied.test $proto
        is "$OUT" "True 3 0 -" "DNS over $proto to 192.0.2.77:53: a denied name gets NXDOMAIN"
        event_check "...and a dns/denied event names it" dns denied domain '"denied.test"'
        fctl_capture run -m -- /usr/bin/python3 -c "$QUERY" allowed.test $proto
        is "$OUT" "True 0 1 192.0.2.10" "DNS over $proto to 192.0.2.77:53: an allowed name is answered (by the filter)"
done
unlike "$(cat "$T/dns.log")" 'denied\.test' "the denied name never reached the upstream server"

# --- allowLocalOutboundPorts alone --------------------------------------------------
P_HOST=$((P_EXP + 1))
while ! port_free "$P_HOST"; do P_HOST=$((P_HOST + 1)); done
mkdir -p "$T/host-www"
echo hello-host >"$T/host-www/index.html"
(cd "$T/host-www" && exec /usr/bin/python3 -m http.server --bind 127.0.0.1 "$P_HOST") >/dev/null 2>&1 &
SERVER_PIDS+=($!)
wait_until 10 eval "curl -s -m 1 http://127.0.0.1:$P_HOST/ >/dev/null" || bail_out "the host loopback test server did not start"
newcase local-ports-only "{ \"network\": { \"allowLocalOutboundPorts\": [$P_HOST] } }"
fctl_capture run -- sh -c "$NOPROXY_SH http://127.0.0.1:$P_HOST/"
isnt "$RC" 0 "allowLocalOutboundPorts without allowLocalOutbound/allowLocalBinding: the port is not reached"
unlike "$OUT" hello-host "...and nothing of the host's server came through"
newcase local-ports-on "{ \"network\": { \"allowLocalOutbound\": true, \"allowLocalOutboundPorts\": [$P_HOST] } }"
fctl_capture run -- sh -c "$NOPROXY_SH http://127.0.0.1:$P_HOST/"
is "$RC/$OUT" "0/hello-host" "(with allowLocalOutbound it is)"

# --- slow clients of the proxies (slowloris) ------------------------------------
# 200 connections to each proxy that send half a request and then nothing:
# a new client is answered at once meanwhile, and fenced closes the slow ones
# after its handshake timeout (10 s) instead of holding them for ever.
newcase slowloris "{ \"network\": { \"allowedDomains\": [\"allowed.test\"], \"deniedDomains\": [\"denied.test\"], \"dnsServer\": \"$DNS\" } }"
cat >"$CASE/slow.py" <<'PY'
import socket, subprocess, sys, time
held = []
for port, data in ((3128, b"GET http://denied.test/ HTTP/1.1\r\nHost: denied.te"), (1080, b"\x05")):
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(data)
        held.append(s)
t = time.monotonic()
out = subprocess.run(["curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "http://denied.test/"],
                     capture_output=True, text=True).stdout
print("meanwhile %s in %.1f s" % (out, time.monotonic() - t), flush=True)
deadline = time.monotonic() + 20
closed = 0
for s in held:
    s.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        while s.recv(4096):     # an error page may come first: read to the end
            pass
        closed += 1
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed += 1
print("closed %d of %d within %.0f s" % (closed, len(held), time.monotonic() - t), flush=True)
PY
chown "$TEST_USER" "$CASE/slow.py"
fctl_capture run -- /usr/bin/python3 slow.py
like "$(sed -n 1p <<<"$OUT")" '^meanwhile 403 in [0-2]\.' "400 stalled proxy handshakes: a new proxy client is answered at once (403 for a denied name)"
like "$(sed -n 2p <<<"$OUT")" '^closed 400 of 400 within ([0-9]|1[0-9]) s' "...and fenced closes every stalled one after its handshake timeout"

finish
