#!/bin/bash
# bench/net-relay.sh — what the network filter costs: throughput of a large
# download through the transparent relay and through the HTTP proxy, the
# added latency per connection, and the launch time of a sandbox with
# network rules, each against the same thing without a sandbox (or without
# rules).
#
#   bench/net-relay.sh [-s SIZE-MIB] [-r RUNS] [-n CONNECTS] [-l LAUNCHES] [--build DIR]
#
# Run as root. Starts its own fenced (from DIR, default build/) on a private
# socket, a server in a network namespace it creates behind a veth pair (no
# traffic leaves the machine) and a DNS server on the host's loopback, and
# removes all of it at the end. The client is curl/python3 as the user
# fence-test (created by the integration tests or scripts/setup.sh).
# Prints a Markdown table for docs/performance.md.
set -euo pipefail

size_mib=1024
connects=300
launches=50
runs=5
build=build
while [[ $# -gt 0 ]]; do
        case $1 in
        -s) size_mib=$2; shift 2 ;;
        -n) connects=$2; shift 2 ;;
        -l) launches=$2; shift 2 ;;
        -r) runs=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        *) sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
        esac
done
[[ $(id -u) -eq 0 ]] || { echo "error: run as root (it creates a network namespace and runs fenced)" >&2; exit 1; }
here=$(cd "$(dirname "$0")/.." && pwd)
fenced=$here/$build/fenced/fenced
fencectl=$here/$build/fencectl/fencectl
user=fence-test
id -u "$user" >/dev/null 2>&1 || { echo "error: no user $user (run the integration tests or scripts/setup.sh)" >&2; exit 1; }

T=$(mktemp -d /var/tmp/fence-bench-net.XXXXXX)
chmod 755 "$T"
ns=fence-bench-net-$$
vh=fbh$(( $$ % 100000 )); vs=fbs$(( $$ % 100000 ))
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        ip link del "$vh" 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
        rm -rf "$T"
}
trap cleanup EXIT
# A signal ends the script through exit, so the EXIT trap still removes everything.
trap "exit 130" INT
trap "exit 143" TERM
trap "exit 129" HUP
trap "exit 141" PIPE

ip netns add "$ns"
ip link add "$vh" type veth peer name "$vs"
ip link set "$vs" netns "$ns"
ip addr add 10.254.77.1/24 dev "$vh"; ip link set "$vh" up
ip -n "$ns" addr add 10.254.77.2/24 dev "$vs"; ip -n "$ns" link set "$vs" up; ip -n "$ns" link set lo up
truncate -s "${size_mib}M" "$T/blob"

# The server: HTTP/1.0, the whole blob with sendfile for /blob, a tiny body otherwise.
cat >"$T/srv.py" <<'PY'
import os, socket, sys, threading
blob = sys.argv[1]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.254.77.2", 80)); s.listen(512)
def serve(c):
    try:
        d = b""
        while b"\r\n\r\n" not in d:
            k = c.recv(4096)
            if not k: return
            d += k
        if d.startswith(b"GET /blob"):
            n = os.path.getsize(blob)
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
            with open(blob, "rb") as f: c.sendfile(f)
        else:
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
    finally:
        c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
ip netns exec "$ns" /usr/bin/python3 "$T/srv.py" "$T/blob" & pids+=($!)
/usr/bin/python3 "$here/tests/integration/dns-test-server.py" "$T/dns.port" bench.test=10.254.77.2 2>/dev/null & pids+=($!)
for _ in $(seq 100); do [[ -e $T/dns.port ]] && curl -s -m1 http://10.254.77.2/ >/dev/null && break; sleep 0.05; done
mkdir -p "$T/work"; chown "$user" "$T/work"
printf '{ "network": { "allowedDomains": ["bench.test"], "dnsServer": "127.0.0.1:%s" } }\n' "$(cat "$T/dns.port")" >"$T/work/fence.json"
"$fenced" --socket "$T/sock" --state-dir "$T/state" --log-dir "$T/log" >"$T/fenced.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do [[ -S $T/sock ]] && break; sleep 0.05; done


as_user() { (cd "$T/work" && runuser -u "$user" -- "$@"); }
fctl() { as_user "$fencectl" --socket "$T/sock" "$@"; }

# Throughput (MB/s): RUNS downloads each, alternating; the best of each (the
# machine's other load only ever slows a run down) and the median. The
# client is the same user's curl in all three. Around each download, the CPU
# time all CPUs spent (from /proc/stat: user, system, irq and softirq time of
# everything, so other load on the machine counts too) and fenced's own
# (its utime + stime): where the relay's cost goes.
curl_get='curl -s -o /dev/null -w %{speed_download} --noproxy * http://bench.test/blob'
fenced_pid=${pids[2]}
cpu_now() {     # busy jiffies of all CPUs, fenced's jiffies, uptime in jiffies
        awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
        awk '{ print $14 + $15 }' "/proc/$fenced_pid/stat"
        awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f\n", $1 * hz }' /proc/uptime
}
download() {    # download KIND COMMAND...: appends "MB/s cpu-jiffies fenced-jiffies elapsed-jiffies" to $T/dl.KIND
        local kind=$1 a b speed
        shift
        a=($(cpu_now))
        speed=$("$@")
        b=($(cpu_now))
        echo "$speed $(( b[0] - a[0] )) $(( b[1] - a[1] )) $(( b[2] - a[2] ))" >>"$T/dl.$kind"
}
# The first read of the (sparse) blob fills the page cache: not timed.
as_user curl -s -o /dev/null --resolve bench.test:80:10.254.77.2 http://bench.test/blob
for _ in $(seq "$runs"); do
        download direct as_user curl -s -o /dev/null -w '%{speed_download}' --resolve bench.test:80:10.254.77.2 http://bench.test/blob
        download relay fctl run -- sh -c "$curl_get"
        download proxy fctl run -- sh -c 'curl -s -o /dev/null -w %{speed_download} http://bench.test/blob'
done
best() { sort -n "$T/dl.$1" | awk 'END { print $1 }'; }
median() { sort -n "$T/dl.$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# CPU seconds per GiB downloaded (all CPUs, then fenced's alone) and the
# average number of CPUs busy during the downloads.
cpu_per_gib() { awk -v hz="$(getconf CLK_TCK)" -v gib="$size_mib" '{ c += $2; f += $3; e += $4 }
        END { printf "%.2f %.2f %.2f\n", c / hz / (NR * gib / 1024), f / hz / (NR * gib / 1024), c / e }' "$T/dl.$1"; }
# Each round's relayed (proxied) download against the direct one just before
# it, under the same momentary load: the median of those ratios.
pair_ratio() { paste -d' ' "$T/dl.direct" "$T/dl.$1" | awk '{ print 100 * $5 / $1 }' | sort -n |
        awk '{ v[NR] = $1 } END { printf "%.0f%%", v[int((NR + 1) / 2)] }'; }
direct=$(best direct) relay=$(best relay) proxy=$(best proxy)
direct_med=$(median direct) relay_med=$(median relay) proxy_med=$(median proxy)
read -r cpu_d _ busy_d <<<"$(cpu_per_gib direct)"
read -r cpu_r fen_r busy_r <<<"$(cpu_per_gib relay)"
read -r cpu_p fen_p busy_p <<<"$(cpu_per_gib proxy)"

# Latency: connect, send a request, read the answer; median and p90 in ms.
cat >"$T/work/lat.py" <<'PY'
import socket, sys, time
host, n = sys.argv[1], int(sys.argv[2])
addr = socket.getaddrinfo(host, 80, socket.AF_INET, socket.SOCK_STREAM)[0][4]
req = b"GET / HTTP/1.0\r\nHost: bench.test\r\n\r\n"
t = []
for _ in range(n):
    a = time.perf_counter()
    c = socket.create_connection(addr); c.sendall(req)
    while c.recv(4096): pass
    c.close()
    t.append((time.perf_counter() - a) * 1000)
t.sort()
print("%.3f %.3f" % (t[len(t) // 2], t[len(t) * 9 // 10]))
PY
chmod 644 "$T/work/lat.py"
lat_direct=$(as_user /usr/bin/python3 "$T/work/lat.py" 10.254.77.2 "$connects")
lat_relay=$(fctl run -- /usr/bin/python3 lat.py bench.test "$connects")

# Launch time: fencectl run true with and without network rules, alternating
# (bench/launchtime.py), so that both see the same load.
echo '{}' >"$T/work/none.json"
read -r lp_med lp_p90 ln_med ln_p90 < <(as_user /usr/bin/python3 - "$launches" "$here/bench" "$fencectl" "$T/sock" <<'PY'
import statistics, sys
n, bench_dir, fencectl, sock = int(sys.argv[1]), *sys.argv[2:]
sys.path.insert(0, bench_dir)
from launchtime import time_launchers, p90
launchers = [("plain", [fencectl, "--socket", sock, "run", "-s", "none.json", "true"]),
             ("net", [fencectl, "--socket", sock, "run", "true"])]
times, failures = time_launchers(launchers, n, 3)
if any(failures.values()):
    sys.exit("error: a launch failed")
print(" ".join("%.1f %.1f" % (statistics.median(times[k]), p90(times[k])) for k in ("plain", "net")))
PY
)

mb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1e6 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
read -r ld_med ld_p90 <<<"$lat_direct"
read -r lr_med lr_p90 <<<"$lat_relay"
echo "| Measurement | Without the filter | Through fenced | Ratio / added |"
echo "|---|---|---|---|"
echo "| ${size_mib} MiB download, transparent relay, MB/s, best of $runs | $(mb "$direct") | $(mb "$relay") | $(pct "$relay" "$direct") |"
echo "| same, median | $(mb "$direct_med") | $(mb "$relay_med") | $(pct "$relay_med" "$direct_med") |"
echo "| same, median of the $runs per-round ratios (relay / direct just before) | | | $(pair_ratio relay) |"
echo "| ${size_mib} MiB download, HTTP proxy, MB/s, best of $runs | $(mb "$direct") | $(mb "$proxy") | $(pct "$proxy" "$direct") |"
echo "| same, median | $(mb "$direct_med") | $(mb "$proxy_med") | $(pct "$proxy_med" "$direct_med") |"
echo "| same, median of the $runs per-round ratios | | | $(pair_ratio proxy) |"
echo "| CPU time per GiB, all CPUs, s (relay / proxy) | $cpu_d | $cpu_r / $cpu_p | $(awk -v a="$cpu_r" -v b="$cpu_d" 'BEGIN { printf "%.2fx", a / b }') |"
echo "| of which fenced's own thread, s per GiB | | $fen_r / $fen_p | |"
echo "| CPUs busy during the downloads, of $(nproc) | $busy_d | $busy_r / $busy_p | |"
echo "| connect + request + answer, median ms ($connects runs) | $ld_med | $lr_med | +$(awk -v a="$lr_med" -v b="$ld_med" 'BEGIN { printf "%.3f", a - b }') ms |"
echo "| same, 90th percentile ms | $ld_p90 | $lr_p90 | +$(awk -v a="$lr_p90" -v b="$ld_p90" 'BEGIN { printf "%.3f", a - b }') ms |"
echo "| launch \`fencectl run true\`, median ms ($launches runs) | $lp_med (no network rules) | $ln_med (allowedDomains) | $(awk -v a="$ln_med" -v b="$lp_med" 'BEGIN { printf "%.2fx", a / b }') |"
echo "| same, 90th percentile ms | $lp_p90 | $ln_p90 | |"
