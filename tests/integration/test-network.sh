#!/bin/bash
# network.* of fence.json enforced: the DNS filter, the transparent TCP relay
# (by address after DNS, TLS SNI, HTTP Host, IPv6), the HTTP and SOCKS5
# proxies behind fence's variables, wildcards and deny-over-allow, raw IPs,
# UDP and ICMP, two sandboxes with different policies at once, and nothing
# left behind. No traffic leaves the machine: the servers run inside a
# network namespace this script creates (a veth pair from the host), and the
# test names are served by a DNS server on the host's loopback that the
# sandboxes reach through network.dnsServer.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_program ip curl openssl getent
[ -x /usr/bin/python3 ] || skip_all "needs /usr/bin/python3 (test servers)"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# --- the test network: a namespace with the servers, a veth to the host ---
SUFFIX=$$
SRV_NS=fence-itest-net-$SUFFIX
VETH_H=fnh$((SUFFIX % 100000))
VETH_S=fns$((SUFFIX % 100000))
NET=10.$((200 + SUFFIX % 50)).$((SUFFIX / 50 % 250))
SRV=$NET.2
SRV6=fd00:fe17:$((SUFFIX % 9999))::2
SERVER_PIDS=()

net_cleanup() {
        local p
        for p in "${SERVER_PIDS[@]}"; do
                kill "$p" 2>/dev/null
        done
        ip link del "$VETH_H" 2>/dev/null
        ip netns del "$SRV_NS" 2>/dev/null
}
net_exit() {
        local rc=$?
        net_cleanup
        (exit "$rc")
        lib_exit
}
trap net_exit EXIT

ip netns add "$SRV_NS" || skip_all "cannot create a network namespace for the test servers"
ip link add "$VETH_H" type veth peer name "$VETH_S" || skip_all "cannot create a veth pair"
ip link set "$VETH_S" netns "$SRV_NS"
ip addr add "$NET.1/24" dev "$VETH_H"
ip -6 addr add "${SRV6%::2}::1/64" dev "$VETH_H" nodad
ip link set "$VETH_H" up
ip -n "$SRV_NS" addr add "$SRV/24" dev "$VETH_S"
ip -n "$SRV_NS" -6 addr add "$SRV6/64" dev "$VETH_S" nodad
ip -n "$SRV_NS" link set "$VETH_S" up
ip -n "$SRV_NS" link set lo up

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=fence-test -days 1 \
        -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || bail_out "openssl could not make a test certificate"
ip netns exec "$SRV_NS" /usr/bin/python3 "$HERE/net-test-server.py" "$T/srv.ready" "$T/cert.pem" "$T/key.pem" \
        "$SRV" "$SRV6" >"$T/srv.log" 2>&1 &
SERVER_PIDS+=($!)
/usr/bin/python3 "$HERE/dns-test-server.py" "$T/dns.port" \
        allowed.test="$SRV" denied.test="$SRV" other.test="$SRV" wild.test="$SRV" "*.wild.test=$SRV" \
        v6.test="$SRV6" closed.test="$SRV" big.allowed.test="$SRV" >/dev/null 2>"$T/dns.log" &
SERVER_PIDS+=($!)
wait_until 10 test -e "$T/srv.ready" || bail_out "the test servers did not start: $(cat "$T/srv.log")"
wait_until 10 test -e "$T/dns.port" || bail_out "the test DNS server did not start: $(cat "$T/dns.log")"
DNS=127.0.0.1:$(cat "$T/dns.port")
# The host itself reaches the servers (sanity check of the set-up).
curl -sS -m 5 "http://$SRV/" | grep -q hello-http || bail_out "the test HTTP server is not reachable from the host"

fenced_start

newcase() {     # newcase NAME FENCE-JSON
        CASE=$T/work/$1
        mkdir -p "$CASE"
        printf '%s\n' "$2" >"$CASE/fence.json"
        chown -R "$TEST_USER:$TEST_USER" "$CASE"
        # shellcheck disable=SC2034 # read by fctl_exec in lib.sh
        FCTL_CWD=$CASE
}

# has_event SOURCE ACTION KEY VALUE: an event with these fields in $ERR (-m).
has_event() {
        # Not anchored: the command's own stderr may interleave on the line.
        grep -o 'fence: {.*}' <<<"$ERR" | grep "\"source\":\"$1\"" | grep "\"action\":\"$2\"" | grep -Eq "\"$3\":$4"
}
event_check() {   # event_check DESCRIPTION SOURCE ACTION KEY JSON-VALUE
        if has_event "$2" "$3" "$4" "$5"; then
                pass "$1"
        else
                fail "$1" "no $2/$3 event with \"$4\":$5 in the output"
        fi
}

NOPROXY=(curl -sS -m 5 --noproxy "*")
NOPROXY_SH="curl -sS -m 5 --noproxy '*'"
POLICY="{ \"network\": { \"allowedDomains\": [\"allowed.test\", \"big.allowed.test\", \"*.wild.test\", \"v6.test\", \"closed.test\"],
                         \"deniedDomains\": [\"bad.wild.test\"], \"dnsServer\": \"$DNS\" } }"

# fenced's fds once its one-time ones (event loop timer, libnftables) exist.
newcase warm-up "$POLICY"
fctl_capture run -- true
fenced_fds() {  # the sockets and namespaces fenced holds
        find "/proc/$FENCED_PID/fd" -mindepth 1 -printf '%l\n' | grep -E '^(socket|net):' | sort
}
FD_BASELINE=$(fenced_fds | wc -l)

# --- no network.allowedDomains: loopback only, no proxy variables ---------
newcase none '{}'
fctl_capture run -m -- sh -c "env | grep -ci _proxy; $NOPROXY_SH http://$SRV/"
isnt "$RC" 0 "no allowedDomains: a connection out fails"
like "$OUT" '^0$' "...and the sandbox has no proxy variables"

# Abstract Unix sockets belong to the network namespace: the host's are out
# of reach, with or without network rules.
ABS_NAME=fence-itest-abstract-$SUFFIX
/usr/bin/python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.bind("\0"+sys.argv[1]); s.listen(1); open(sys.argv[2],"w").close(); time.sleep(600)' \
        "$ABS_NAME" "$T/abs.ready" &
SERVER_PIDS+=($!)
wait_until 10 test -e "$T/abs.ready" || bail_out "the abstract socket server did not start"
ABS='import socket,sys
s=socket.socket(socket.AF_UNIX)
try: s.connect("\0"+sys.argv[1]); print("connected")
except OSError as e: print(e.errno)'
check "(the host itself reaches its abstract socket)" \
        sh -c "/usr/bin/python3 -c '$ABS' '$ABS_NAME' | grep -qx connected"
fctl_capture run -- /usr/bin/python3 -c "$ABS" "$ABS_NAME"
is "$OUT" 111 "no network rules: the host's abstract Unix sockets are out of reach (ECONNREFUSED)"
newcase abstract "$POLICY"
fctl_capture run -- /usr/bin/python3 -c "$ABS" "$ABS_NAME"
is "$OUT" 111 "with network rules: the same"

# --- allowed, through each path ------------------------------------------
newcase allowed "$POLICY"
fctl_capture run -m -- sh -c 'cat /etc/resolv.conf; echo "HTTP_PROXY=$HTTP_PROXY ALL_PROXY=$ALL_PROXY NO_PROXY=$NO_PROXY"'
like "$OUT" 'nameserver 127\.0\.0\.1' "the sandbox's resolv.conf names the loopback filter"
like "$OUT" 'HTTP_PROXY=http://127\.0\.0\.1:3128 ALL_PROXY=socks5h://127\.0\.0\.1:1080 NO_PROXY=localhost,127\.0\.0\.1,::1' \
        "...and fence's proxy variables are set"
check "...and the host's /etc/resolv.conf is unchanged" grep -vq 'fenced' /etc/resolv.conf

fctl_capture run -m -- getent hosts allowed.test
is "$RC/$(awk '{print $1}' <<<"$OUT")" "0/$SRV" "DNS: an allowed name resolves through network.dnsServer"

fctl_capture run -m -- getent hosts big.allowed.test
is "$RC/$(awk '{print $1}' <<<"$OUT")" "0/$SRV" "DNS: a truncated UDP answer, asked again over TCP, is answered over TCP upstream"

fctl_capture run -m -- "${NOPROXY[@]}" http://allowed.test/
is "$RC/$OUT" "0/hello-http allowed.test" "transparent: HTTP by name (Host) reaches the server"

fctl_capture run -m -- "${NOPROXY[@]}" -k https://allowed.test/
is "$RC/$OUT" "0/hello-tls allowed.test" "transparent: TLS by name (SNI) reaches the server"

# A client that sends nothing first (the server speaks): named by the
# sandbox's own DNS answer alone.
BANNER='import socket,sys
s=socket.create_connection((sys.argv[1],2222),timeout=5)
print(s.recv(100).decode().strip())'
fctl_capture run -m -- /usr/bin/python3 -c "$BANNER" allowed.test
is "$RC/$OUT" "0/banner-ok" "transparent: by address after DNS, no SNI/Host (server speaks first)"

# Bulk data both ways through the transparent relay, with a half-close in
# the middle: the client sends 8 MiB and shuts down its sending side; the
# server only answers after that FIN arrived, then sends 16 MiB and closes.
BULK='import hashlib,socket,sys
if len(sys.argv) > 2:   # through the HTTP proxy: CONNECT first
    s=socket.create_connection(("127.0.0.1",3128),timeout=10)
    s.sendall(b"CONNECT %s:2223 HTTP/1.1\r\nHost: %s:2223\r\n\r\n" % (sys.argv[1].encode(),sys.argv[1].encode()))
    h=b""
    while b"\r\n\r\n" not in h:
        k=s.recv(1)
        if not k: sys.exit("proxy closed: %r" % h)
        h+=k
    if b" 200 " not in h.split(b"\r\n")[0]: sys.exit("proxy said: %r" % h)
else:
    s=socket.create_connection((sys.argv[1],2223),timeout=10)
s.sendall(bytes(range(256))*32768); s.shutdown(socket.SHUT_WR)
d=bytearray()
while True:
    k=s.recv(1<<20)
    if not k: break
    d+=k
head,_,body=bytes(d).partition(b"\n")
print(head.decode(),len(body),hashlib.sha256(body).hexdigest())'
BULK_WANT=$(/usr/bin/python3 -c 'import hashlib
print(8388608,hashlib.sha256(bytes(range(256))*32768).hexdigest(),1<<24,
      hashlib.sha256(b"".join(hashlib.sha256(b"%d"%i).digest() for i in range(1<<19))).hexdigest())')
fctl_capture run -m -- /usr/bin/python3 -c "$BULK" allowed.test
is "$RC/$OUT" "0/$BULK_WANT" "transparent: 8 MiB up, half-close, 16 MiB down, all byte-identical"
fctl_capture run -m -- /usr/bin/python3 -c "$BULK" allowed.test connect
is "$RC/$OUT" "0/$BULK_WANT" "HTTP proxy (CONNECT): the same, byte-identical, half-close passed on"

# Bulk, then small messages on the same connection with nothing closed in
# between (relay.h, bulk mode): the upload's last bytes and every small
# message after the download must come through without a FIN to wake the
# relay. The slow variant reads the download in 64 KiB pieces with pauses
# and meanwhile makes another connection through the same relay, which must
# not wait for it.
TALK='import hashlib,socket,sys,time
host,pause=sys.argv[1],float(sys.argv[2])
n=(1<<23)+12345
up=(bytes(range(256))*(n//256+1))[:n]
want=b"".join(hashlib.sha256(b"%d"%i).digest() for i in range(1<<19))[:n]
s=socket.create_connection((host,2224),timeout=10)
s.sendall(b"%d\n"%n+up)
f=s.makefile("rb")
res=["up-ok" if f.readline().strip().decode()==hashlib.sha256(up).hexdigest() else "up-BAD"]
d=bytearray(); side="side-none"
while len(d)<n:
    k=f.read1(min(n-len(d),65536))
    if not k: break
    d+=k
    if pause:
        time.sleep(pause)
        if side=="side-none" and len(d)>=1<<20:
            c=socket.create_connection((host,80),timeout=5)
            c.sendall(b"GET / HTTP/1.0\r\nHost: %s\r\n\r\n"%host.encode())
            a=b""
            while True:
                k2=c.recv(4096)
                if not k2: break
                a+=k2
            side="side-ok" if a.endswith(b"hello-http "+host.encode()) else "side-BAD"
res.append("down-ok" if bytes(d)==want else "down-BAD(%d)"%len(d))
for i in range(3):
    s.sendall(b"ping %d\n"%i)
    if f.readline()!=b"pong ping %d\n"%i: res.append("pong-BAD"); break
else: res.append("pong-ok")
if pause: res.append(side)
print(" ".join(res))'
fctl_capture run -m -- /usr/bin/python3 -c "$TALK" allowed.test 0
is "$RC/$OUT" "0/up-ok down-ok pong-ok" "transparent: 8 MiB up, 8 MiB down, then small messages both ways on the same connection"
fctl_capture run -m -- /usr/bin/python3 -c "$TALK" allowed.test 0.004
is "$RC/$OUT" "0/up-ok down-ok pong-ok side-ok" \
        "transparent: the same with a slow reader, byte-identical, and another connection meanwhile goes through"

# All TCP in the sandbox's namespace is loopback (to the daemon's
# listeners): its default congestion control does not pace (tcp-unpaced.h).
fctl_capture run -- cat /proc/sys/net/ipv4/tcp_congestion_control
like "$RC/$OUT" '^0/(cubic|reno)$' "the sandbox's namespace uses an unpaced TCP congestion control (host: $(cat /proc/sys/net/ipv4/tcp_congestion_control))"

# The relay's connections out of the host belong to the user, not to root:
# the host's owner-based firewall rules (nft meta skuid, iptables -m owner)
# and uid routing rules treat them as the user's own. (An unfinished request
# keeps the connection open while ss looks at it.)
HOLD='import socket,sys,time
s=socket.create_connection((sys.argv[1],80),timeout=5)
s.sendall(b"GET / HTTP/1.1\r\nHost: " + sys.argv[1].encode() + b"\r\n")
print("connected", flush=True); time.sleep(float(sys.argv[2]))'
relay_conns() {
        ss -Htne state established "( dst $SRV and dport = :80 )"
}
fctl_bg "$TEST_USER" "$T/hold.out" run -- /usr/bin/python3 -c "$HOLD" allowed.test 10
if wait_until 10 grep -q connected "$T/hold.out" && wait_until 5 eval '[ -n "$(relay_conns)" ]'; then
        owners=$(relay_conns | grep -o 'uid:[0-9]*' | sort -u | xargs)
        is "$owners" "uid:$(id -u "$TEST_USER")" "the relay's outgoing connection is owned by the user (host firewall owner rules apply)"
else
        fail "a held connection through the relay" "$(cat "$T/hold.out" "$T/hold.out.err")"
fi
kill "$BG_PID" 2>/dev/null
wait "$BG_PID" 2>/dev/null

fctl_capture run -m -- "${NOPROXY[@]}" -6 http://v6.test/
is "$RC/$OUT" "0/hello-http v6.test" "transparent: IPv6 (AAAA, then TCP over IPv6)"

fctl_capture run -m -- curl -sS -m 5 http://allowed.test/
is "$RC/$OUT" "0/hello-http allowed.test" "HTTP proxy (HTTP_PROXY): absolute-URI request"
fctl_capture run -m -- curl -sS -m 5 -k https://allowed.test/
is "$RC/$OUT" "0/hello-tls allowed.test" "HTTP proxy (HTTPS_PROXY): CONNECT tunnel"
fctl_capture run -m -- sh -c 'curl -sS -m 5 --proxy "$ALL_PROXY" http://allowed.test/'
is "$RC/$OUT" "0/hello-http allowed.test" "SOCKS5 proxy (ALL_PROXY, socks5h)"

fctl_capture run -m -- "${NOPROXY[@]}" http://api.wild.test/
is "$RC/$OUT" "0/hello-http api.wild.test" "wildcard: *.wild.test allows api.wild.test"

# --- denied, through each path --------------------------------------------
newcase denied "$POLICY"
fctl_capture run -m -- getent hosts denied.test
is "$RC" 2 "DNS: a name not allowed gets NXDOMAIN"
event_check "...and a dns/denied event names it" dns denied domain '"denied.test"'
unlike "$(cat "$T/dns.log")" 'query denied\.test' "...and the query never reached the upstream server"

fctl_capture run -m -- "${NOPROXY[@]}" --resolve "denied.test:80:$SRV" http://denied.test/
is "$RC" 56 "transparent: HTTP with Host of a denied name is reset (curl 56)"
unlike "$OUT" hello "...and no answer came through"
event_check "...and a network/denied event names the domain" network denied domain '"denied.test"'
event_check "...the port" network denied port 80
event_check "...and the process" network denied comm '"curl"'

fctl_capture run -m -- "${NOPROXY[@]}" -k --resolve "denied.test:443:$SRV" https://denied.test/
isnt "$RC" 0 "transparent: TLS with the SNI of a denied name fails"
unlike "$OUT" hello "...and no answer came through"
event_check "...and an event names it (port 443)" network denied port 443

# A ClientHello split over segments sent 100 ms apart (TCP_NODELAY): the
# name is still the SNI's. The address is allowed.test's, resolved first in
# the same sandbox, so a missed SNI would fall back to that allowed name.
SPLIT_HELLO='import socket, ssl, subprocess, sys, time
name, addr = sys.argv[1], sys.argv[2]
subprocess.run(["getent", "hosts", "allowed.test"], stdout=subprocess.DEVNULL)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, out, server_hostname=name)
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = out.read()
s = socket.create_connection((addr, 443), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for k in range(0, len(hello), 40):
    s.sendall(hello[k:k + 40])
    time.sleep(0.1 if k == 0 else 0.01)
try:
    data = s.recv(5)
    print("answer" if data else "closed")
except (ConnectionResetError, socket.timeout) as e:
    print("closed")'
fctl_capture run -m -- /usr/bin/python3 -c "$SPLIT_HELLO" denied.test "$SRV"
is "$OUT" closed "transparent: a ClientHello split over delayed segments with the SNI of a denied name is refused"
event_check "...and the event names the SNI's domain, not the address's DNS name" network denied domain '"denied.test"'
fctl_capture run -m -- /usr/bin/python3 -c "$SPLIT_HELLO" allowed.test "$SRV"
is "$OUT" answer "...while the same split ClientHello for the allowed name gets the server's answer"

fctl_capture run -m -- curl -sS -m 5 -w '\n%{http_code}' http://denied.test/
like "$OUT" 'Connection blocked by network allowlist' "HTTP proxy: a denied name gets fence's 403 body"
like "$OUT" '403$' "...with status 403"
event_check "...and an event (via http-proxy)" network denied via '"http-proxy"'
head -c 300000 /dev/zero >"$CASE/body"
chmod 644 "$CASE/body"
fctl_capture run -m -- curl -sS -m 5 -H 'Expect:' --data-binary @body -w '\n%{http_code}' http://denied.test/
like "$OUT" '403$' "HTTP proxy: a denied POST with a body still gets its 403 (not a reset)"
fctl_capture run -m -- curl -sS -m 5 -k -w '%{http_connect}' https://denied.test/
like "$OUT" '403' "HTTP proxy: CONNECT to a denied name gets 403"
fctl_capture run -m -- sh -c 'curl -sS -m 5 --proxy "$ALL_PROXY" http://denied.test/'
is "$RC" 97 "SOCKS5: a denied name fails the SOCKS handshake (curl 97)"
like "$ERR" '\(2\)' "...with reply 0x02 (not allowed by ruleset)"
event_check "...and an event (via socks5)" network denied via '"socks5"'

GARBAGE='import socket
def talk(data):
    s = socket.create_connection(("127.0.0.1", 1080), timeout=5); s.sendall(data); out = b""
    try:
        while True:
            k = s.recv(100)
            if not k: break
            out += k
    except OSError as e: out += b"!" + str(e.errno).encode()
    return out.hex()
print(talk(b"GET / HTTP/1.1\r\n\r\n"), talk(b"\x05\x01\x00\x05\x01\x00\x09garbage"))'
fctl_capture run -m -- sh -c "/usr/bin/python3 -c '$GARBAGE' && curl -sS -m 5 --proxy \"\$ALL_PROXY\" http://allowed.test/"
# (the first: nothing, or "!104", a reset; the second: method 0, then reply 8)
like "$OUT" '^(|21313034) 05000508' "SOCKS5: garbage is closed at once; an unknown address type gets reply 8, then close"
like "$OUT" 'hello-http allowed.test$' "...and the proxy keeps working"

fctl_capture run -m -- curl -sS -m 5 -w '\n%{http_code}' http://closed.test:81/
like "$OUT" '502$' "HTTP proxy: an allowed name with nothing listening gets 502"

fctl_capture run -m -- getent hosts wild.test
is "$RC" 2 "wildcard: *.wild.test does not allow the apex wild.test"
fctl_capture run -m -- getent hosts bad.wild.test
is "$RC" 2 "deniedDomains beats allowedDomains (bad.wild.test)"
event_check "...and the event names the denying rule" dns denied rule '"bad.wild.test"'

# An allowed name whose upstream does not answer: SERVFAIL, not silence.
# (Port 9 of the host's loopback: nothing listens there in the tests.)
RCODE='import socket,struct,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(20)
q=struct.pack("!HHHHHH",0x4242,0x0100,1,0,0,0)+b"".join(bytes([len(l)])+l.encode() for l in sys.argv[1].split("."))+b"\0"+struct.pack("!HH",1,1)
s.sendto(q,("127.0.0.1",53)); r=s.recv(512); print(struct.unpack("!H",r[:2])[0]==0x4242, r[3]&15)'
newcase servfail "{ \"network\": { \"allowedDomains\": [\"allowed.test\"], \"dnsServer\": \"127.0.0.1:9\" } }"
fctl_capture run -- /usr/bin/python3 -c "$RCODE" allowed.test
is "$OUT" "True 2" "DNS: an allowed name whose upstream does not answer gets SERVFAIL (same id)"
fctl_capture run -- /usr/bin/python3 -c "$RCODE" denied.test
is "$OUT" "True 3" "...and a denied name NXDOMAIN, without asking upstream"

# A fresh sandbox: its DNS has handed out nothing yet.
fctl_capture run -m -- /usr/bin/python3 -c "$BANNER" "$SRV"
isnt "$RC" 0 "raw IP with no DNS history: the connection is refused"
unlike "$OUT" banner-ok "...and nothing of the server came through"
event_check "...and an event names the address" network denied domain "\"$SRV\""

UDP='import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
try:
    s.sendto(b"x",(sys.argv[1],9999)); print("sent")
except OSError as e: print(e.errno)'
fctl_capture run -m -- /usr/bin/python3 -c "$UDP" "$SRV"
is "$OUT" 1 "UDP to a non-DNS port fails with EPERM"
event_check "...and a network/dropped event reports it" network dropped protocol '"udp"'
# Best effort: the sender may be gone when the report is read; then the
# event names the sandbox's command (here the same program, by its path).
event_check "...naming the process" network dropped comm '"(/usr/bin/)?python3"'
ICMP='import socket,sys
for t in (socket.SOCK_DGRAM, socket.SOCK_RAW):
    try:
        s=socket.socket(socket.AF_INET,t,socket.IPPROTO_ICMP); s.sendto(b"\x08\0\0\0\0\0\0\0",(sys.argv[1],0)); print("sent")
    except OSError as e: print(e.errno)'
fctl_capture run -m -- /usr/bin/python3 -c "$ICMP" "$SRV"
is "$(echo $OUT)" "1 1" "ICMP: an echo request on a ping socket fails with EPERM; a raw socket cannot be had (EPERM)"
event_check "...and a network/dropped event reports the ping" network dropped protocol '"icmp"'
ICMP6='import socket,sys
s=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM,socket.IPPROTO_ICMPV6)
try:
    s.sendto(b"\x80\0\0\0\0\0\0\0",(sys.argv[1],0)); print("sent")
except OSError as e: print(e.errno)'
# The drop is the same, but an IPv6 ping socket's sendto() does not pass
# the netfilter verdict back: it returns as if sent.
fctl_capture run -m -- /usr/bin/python3 -c "$ICMP6" 2001:db8::9
like "$OUT" '^(1|sent)$' "ICMPv6: an echo request can be sent on a ping socket"
event_check "...but it is dropped and a network/dropped event reports it" network dropped protocol '"icmpv6"'
if command -v ping >/dev/null; then
        fctl_capture run -m -- ping -n -c 1 -W 1 "$SRV"
        isnt "$RC" 0 "ping(8) gets no answer"
        event_check "...and its echo request is reported" network dropped protocol '"icmp"'
else
        skip "ping(8) is not installed (iputils-ping)" "ping(8) is reported"
fi

# --- a sandbox hammering denied destinations: reports are rate-limited ---
newcase flood "$POLICY"
FLOOD='import socket
for port in range(10000, 10400):
    s = socket.socket(); s.settimeout(5)
    try: s.connect(("10.0.0.9", port)); s.sendall(b"x"); s.recv(1)
    except OSError: pass
    s.close()
import time; time.sleep(1.5)'
fctl_capture run -m -- /usr/bin/python3 -c "$FLOOD"
n=$(grep -o 'fence: {.*}' <<<"$ERR" | grep -c '"action":"denied"')
cmp_num "$n" -le 140 "400 denied connections in a burst give at most the burst of reports ($n)"
cmp_num "$n" -ge 20 "...but do give reports"
event_check "...and the rest is counted in a network/suppressed event" network suppressed reason '"more network'

# --- "*" with deniedDomains, and :port suffixes ----------------------------
newcase star "{ \"network\": { \"allowedDomains\": [\"*\"], \"deniedDomains\": [\"denied.test\"], \"dnsServer\": \"$DNS\" } }"
fctl_capture run -m -- /usr/bin/python3 -c "$BANNER" "$SRV"
is "$RC/$OUT" "0/banner-ok" "\"*\": a raw IP is reachable"
fctl_capture run -m -- "${NOPROXY[@]}" http://other.test/
is "$RC/$OUT" "0/hello-http other.test" "\"*\": any name is reachable"
fctl_capture run -m -- "${NOPROXY[@]}" --resolve "denied.test:80:$SRV" http://denied.test/
is "$RC" 56 "\"*\": deniedDomains still hold for a program that ignores the proxy variables"
event_check "...with an event" network denied domain '"denied.test"'

newcase port-rule "{ \"network\": { \"allowedDomains\": [\"allowed.test:443\"], \"dnsServer\": \"$DNS\" } }"
fctl_capture run -m -- "${NOPROXY[@]}" -k https://allowed.test/
is "$RC/$OUT" "0/hello-tls allowed.test" "allowed.test:443 allows port 443"
fctl_capture run -m -- "${NOPROXY[@]}" http://allowed.test/
is "$RC" 56 "...but not port 80"
event_check "...with an event naming port 80" network denied port 80

# --- the host's loopback: allowLocalOutbound(+Ports), -p, allowLocalBinding
P_OUT=$((20000 + SUFFIX % 20000))
P_OTHER=$((P_OUT + 1))
P_EXP=$((P_OUT + 2))
mkdir -p "$T/host-www"
echo hello-host >"$T/host-www/index.html"
for spec in "127.0.0.1 $P_OUT" "::1 $P_OUT" "127.0.0.1 $P_OTHER"; do
        set -- $spec
        (cd "$T/host-www" && exec /usr/bin/python3 -m http.server --bind "$1" "$2") >/dev/null 2>&1 &
        SERVER_PIDS+=($!)
done
wait_until 10 eval "curl -s -m 1 http://127.0.0.1:$P_OUT/ && curl -s -m 1 http://[::1]:$P_OUT/ && curl -s -m 1 http://127.0.0.1:$P_OTHER/" >/dev/null ||
        bail_out "the host loopback test servers did not start"

newcase local-out "{ \"network\": { \"allowLocalOutbound\": true, \"allowLocalOutboundPorts\": [$P_OUT] } }"
fctl_capture run -- "${NOPROXY[@]}" "http://127.0.0.1:$P_OUT/"
is "$RC/$OUT" "0/hello-host" "allowLocalOutboundPorts: the host's 127.0.0.1:PORT is reachable"
fctl_capture run -- "${NOPROXY[@]}" "http://[::1]:$P_OUT/"
is "$RC/$OUT" "0/hello-host" "...and the host's [::1]:PORT"
fctl_capture run -- "${NOPROXY[@]}" "http://127.0.0.1:$P_OTHER/"
isnt "$RC" 0 "...but not a host port that is not listed"
newcase local-out-noports '{ "network": { "allowLocalOutbound": true } }'
fctl_capture run -- "${NOPROXY[@]}" "http://127.0.0.1:$P_OUT/"
isnt "$RC" 0 "allowLocalOutbound without ports reaches no host port (as fence)"

# A server in the sandbox (allowLocalBinding) exposed with -p, in a sandbox
# that also reaches a host port: both at once.
newcase expose "{ \"network\": { \"allowLocalBinding\": true, \"allowLocalOutboundPorts\": [$P_OUT] },
                  \"filesystem\": { \"allowWrite\": [\".\"] } }"
fctl_bg "$TEST_USER" "$T/expose.out" run -p "$P_EXP" -- sh -c \
        "mkdir /tmp/www && echo inside >/tmp/www/index.html && cd /tmp/www &&
         { /usr/bin/python3 -m http.server --bind 127.0.0.1 $P_EXP >/dev/null 2>&1 & } &&
         until $NOPROXY_SH -s http://127.0.0.1:$P_EXP/ >/dev/null; do sleep 0.05; done &&
         $NOPROXY_SH http://127.0.0.1:$P_OUT/ >\"$CASE/out\"; touch \"$CASE/ready\";
         while [ ! -e \"$CASE/stop\" ]; do sleep 0.05; done"
EXP_PID=$BG_PID
if wait_until 15 test -e "$CASE/ready"; then
        is "$(curl -sS -m 5 "http://127.0.0.1:$P_EXP/")" inside "-p PORT: the host's 127.0.0.1:PORT reaches the sandbox's server"
        is "$(cat "$CASE/out")" hello-host "...while the same sandbox reaches a host port (binding and outbound at once)"
else
        fail "-p PORT: the sandbox's server came up" "$(cat "$T/expose.out" "$T/expose.out.err")"
fi
touch "$CASE/stop"
wait "$EXP_PID"
fctl_capture run -p 80 -- true
is "$RC" 125 "-p 80 as an unprivileged user is refused"
like "$ERR" 'ports below' "...saying why"
newcase expose-conflict "{ \"network\": { \"allowLocalOutboundPorts\": [$P_OUT], \"allowLocalOutbound\": true } }"
fctl_capture run -p "$P_OUT" -- true
is "$RC" 125 "-p of a port that is also in allowLocalOutboundPorts is refused"
like "$ERR" 'allowLocalOutboundPorts' "...naming the key"

# --- upstream proxies: SOCKS5 (greywall) with and without auth, HTTP (fence)
/usr/bin/python3 "$HERE/proxy-test-server.py" "$T/up.port" "" allowed.test="$SRV" other.test="$SRV" >/dev/null 2>"$T/up.log" &
SERVER_PIDS+=($!)
/usr/bin/python3 "$HERE/proxy-test-server.py" "$T/upauth.port" "fence:s3cret" allowed.test="$SRV" other.test="$SRV" >/dev/null 2>"$T/upauth.log" &
SERVER_PIDS+=($!)
wait_until 10 eval 'test -e "$T/up.port" && test -e "$T/upauth.port"' || bail_out "the test upstream proxies did not start"
UP=$(cat "$T/up.port")
UPAUTH=$(cat "$T/upauth.port")
up_policy() {   # up_policy URL [DEFAULT-ACTION]
        printf '{ "network": { "allowedDomains": ["allowed.test"], "deniedDomains": ["denied.test"], "dnsServer": "%s",
                 "upstreamProxy": "%s", "defaultAction": "%s" } }' "$DNS" "$1" "${2:-deny}"
}

newcase up-socks "$(up_policy "socks5h://127.0.0.1:$UP")"
fctl_capture run -m -- "${NOPROXY[@]}" http://allowed.test/
is "$RC/$OUT" "0/hello-http allowed.test" "upstream socks5h: an allowed connection works"
like "$(cat "$T/up.log")" '^socks allowed\.test 80$' "...and went through the proxy, by name"
fctl_capture run -m -- curl -sS -m 5 -w '\n%{http_code}' http://denied.test/
like "$OUT" '403$' "...a denied name is still refused before the proxy"
unlike "$(cat "$T/up.log")" 'denied' "...and never reaches it"

newcase up-socks-ip "$(up_policy "socks5://127.0.0.1:$UP")"
fctl_capture run -m -- sh -c 'curl -sS -m 5 --proxy "$ALL_PROXY" http://allowed.test/'
is "$RC/$OUT" "0/hello-http allowed.test" "upstream socks5 (local resolution): works"
like "$(cat "$T/up.log")" "^socks $SRV 80\$" "...and the proxy was given the address"

newcase up-auth "$(up_policy "socks5h://fence:s3cret@127.0.0.1:$UPAUTH")"
fctl_capture run -m -- curl -sS -m 5 -k https://allowed.test/
is "$RC/$OUT" "0/hello-tls allowed.test" "upstream socks5h with username/password: works"
like "$(cat "$T/upauth.log")" '^socks allowed\.test 443$' "...through the proxy"
newcase up-badauth "$(up_policy "socks5h://fence:wrong@127.0.0.1:$UPAUTH")"
fctl_capture run -m -- curl -sS -m 5 -w '\n%{http_code}' http://allowed.test/
like "$OUT" '502$' "upstream socks5h with a wrong password: the connection fails (502)"
like "$(cat "$T/upauth.log")" 'auth-failed' "...the proxy refused the credentials"

newcase up-http "$(up_policy "http://127.0.0.1:$UP" proxy)"
fctl_capture run -m -- "${NOPROXY[@]}" http://other.test/
is "$RC/$OUT" "0/hello-http other.test" "defaultAction proxy: a name matching no rule goes through the HTTP upstream"
like "$(cat "$T/up.log")" '^http other\.test 80$' "...as a CONNECT to it"
fctl_capture run -m -- "${NOPROXY[@]}" http://allowed.test/
is "$RC/$OUT" "0/hello-http allowed.test" "...an allowed name goes direct"
unlike "$(grep '^http' "$T/up.log")" 'allowed' "...not through the proxy"
fctl_capture run -m -- getent hosts denied.test
is "$RC" 2 "...and a denied name stays denied"
newcase up-http-auth "$(up_policy "http://fence:s3cret@127.0.0.1:$UPAUTH" proxy)"
fctl_capture run -m -- curl -sS -m 5 -k https://other.test/
is "$RC/$OUT" "0/hello-tls other.test" "HTTP upstream with username/password (Proxy-Authorization)"
like "$(cat "$T/upauth.log")" '^http other\.test 443$' "...through the proxy"

# --- two sandboxes with different policies at once ------------------------
newcase iso-a "{ \"network\": { \"allowedDomains\": [\"allowed.test\"], \"dnsServer\": \"$DNS\" } }"
touch "$CASE/go"; rm "$CASE/go"
fctl_bg "$TEST_USER" "$T/iso-a.out" run -m -- sh -c \
        "getent hosts allowed.test >/dev/null; while [ ! -e go ]; do sleep 0.05; done; $NOPROXY_SH http://allowed.test/; echo; $NOPROXY_SH --resolve other.test:80:$SRV http://other.test/; echo rc=\$?"
A_PID=$BG_PID
A_CASE=$CASE
newcase iso-b "{ \"network\": { \"allowedDomains\": [\"other.test\"], \"dnsServer\": \"$DNS\" } }"
fctl_capture run -m -- sh -c "$NOPROXY_SH http://other.test/; echo; $NOPROXY_SH --resolve allowed.test:80:$SRV http://allowed.test/; echo rc=\$?"
check "isolation: sandbox A was running while B ran" kill -0 "$A_PID"
like "$OUT" 'hello-http other.test' "isolation: B reaches its own allowed name"
like "$OUT" 'rc=56' "...but not A's"
touch "$A_CASE/go"
wait "$A_PID"
A_OUT=$(cat "$T/iso-a.out")
like "$A_OUT" 'hello-http allowed.test' "isolation: A reaches its own allowed name"
like "$A_OUT" 'rc=56' "...but not B's"

# --- a burst of connections costs bounded resources and blocks nobody -----
# 10,000 connections opened at once by one sandbox: over the per-sandbox limit
# (1024, the rest is refused) and over FD_SETSIZE in fenced, which once made
# libnftables abort the daemon when the next sandbox was created.
newcase burst "$POLICY"
cat >"$CASE/burst.py" <<'PY'
import socket, sys, time, resource
n = int(sys.argv[1])
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
if hard != resource.RLIM_INFINITY:
    n = min(n, hard - 64)       # an unprivileged process cannot raise it
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, hard))
addr = socket.getaddrinfo("allowed.test", 80, socket.AF_INET)[0][4]
held = []
for _ in range(n):
    s = socket.socket(); s.setblocking(False)
    try: s.connect(addr)
    except (BlockingIOError, OSError): pass
    held.append(s)
open("holding", "w").write(str(n))
while not __import__("os").path.exists("release"): time.sleep(0.05)
PY
chmod 644 "$CASE/burst.py"
printf '%s\n' "{ \"network\": { \"allowedDomains\": [\"allowed.test\"], \"dnsServer\": \"$DNS\" },
  \"filesystem\": { \"allowWrite\": [\".\"] } }" >"$CASE/fence.json"
fctl_bg "$TEST_USER" "$T/burst.out" run -- /usr/bin/python3 burst.py 10000
BURST_PID=$BG_PID
BURST_CASE=$CASE
if wait_until 30 test -e "$BURST_CASE/holding" &&
   wait_until 10 eval '[ "$(ls /proc/$FENCED_PID/fd | wc -l)" -gt 1100 ]'; then
        newcase after-burst "$POLICY"
        fctl_capture run -- "${NOPROXY[@]}" http://allowed.test/
        is "$RC/$OUT" "0/hello-http allowed.test" "during a burst of $(cat "$BURST_CASE/holding") connections (10,000 asked) of another sandbox, a new sandbox starts and connects"
        cmp_num "$(ls "/proc/$FENCED_PID/fd" | wc -l)" -lt 7000 "...and fenced's fds stay bounded (1024 connections per sandbox)"
else
        fail "the burst sandbox held its connections" "$(cat "$T/burst.out.err" 2>/dev/null)"
fi
touch "$BURST_CASE/release"
wait "$BURST_PID"
check "fenced survived the burst" fenced_alive

# --- nothing left behind --------------------------------------------------
newcase netns "$POLICY"
fctl_capture run -- readlink /proc/self/ns/net
NETNS=$OUT
like "$NETNS" '^net:\[' "the sandbox had its own network namespace"
left() {
        local f
        for f in /proc/[0-9]*/ns/net; do
                [ "$(readlink "$f" 2>/dev/null)" != "$NETNS" ] || return 0
        done
        return 1
}
check "...no process is left in it" eval '! left'
if wait_until 3 eval '[ "$(fenced_fds | wc -l)" -le "$FD_BASELINE" ]'; then
        pass "fenced holds no fd of any sandbox network any more (listeners, netns, relays)"
else
        fail "fenced holds no fd of any sandbox network any more (listeners, netns, relays)" \
                "baseline $FD_BASELINE sockets, now: $(fenced_fds)"
fi

finish
