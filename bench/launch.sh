#!/bin/bash
# bench/launch.sh — how long a sandbox takes to launch, against bubblewrap.
#
#   bench/launch.sh [-n RUNS] [-u USER] [--fencectl PATH] [--socket PATH]
#
# Times `fencectl run true` against a running fenced and
#   bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc true
# RUNS times each (default 200, after 5 warm-up runs each), alternating
# between the two so that both see the same machine state, and reports the
# median and 90th percentile wall time, plus fenced's resident memory (VmRSS)
# while idle, before and after the runs. Prints a Markdown table for
# docs/performance.md.
#
# Both launchers run as an unprivileged user, as real users would: as root
# the script switches to USER (default fence-demo, which scripts/setup.sh
# creates); otherwise it runs as the calling user. Needs python3 for the
# timing (posix_spawn and a monotonic clock: no shell start-up in the
# measurement).

set -euo pipefail

runs=200
bench_dir=$(cd "$(dirname "$0")" && pwd)
. "$bench_dir/common.sh"
bench_parse_args "$@"
bench_find_fencectl
command -v bwrap >/dev/null || { echo "error: bwrap is missing; install bubblewrap (scripts/deps.sh)" >&2; exit 1; }

# The daemon serving the socket (as root, the listener itself; otherwise
# the oldest process named fenced).
fenced_pid=""
if [[ $(id -u) -eq 0 ]]; then
        fenced_pid=$(ss -Hxlp src "$sock_path" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2 || true)
fi
[[ -n $fenced_pid ]] || fenced_pid=$(pgrep -o -x fenced || true)
[[ -n $fenced_pid ]] || { echo "error: fenced is not running; start it (scripts/setup.sh)" >&2; exit 1; }

bench_user

cd "$home"
"${run_as[@]}" python3 - "$runs" "$fencectl" "$sock_path" "$fenced_pid" "$user" "$bench_dir" <<'EOF'
import sys

runs, fencectl, sock, fenced_pid, user, bench_dir = int(sys.argv[1]), *sys.argv[2:]
sys.path.insert(0, bench_dir)
from launchtime import check, time_launchers, print_table, machine_comment

WARMUP = 5
launchers = [
    ("`fencectl run true`", [fencectl, "--socket", sock, "run", "true"]),
    ("`bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc true`",
     ["bwrap", "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "true"]),
]

def vmrss_kib():
    try:
        with open(f"/proc/{fenced_pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None

def mib(kib):
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"

# Each launcher must work before it is timed; one that does not is left out.
usable = check(launchers)
if not usable:
    sys.exit("error: neither launcher works for user " + user)

rss_before = vmrss_kib()
times, failures = time_launchers(usable, runs, WARMUP)
rss_after = vmrss_kib()

print(machine_comment("bench/launch.sh", f"user {user}, {runs} runs each after {WARMUP} warm-up runs"))
print()
print_table(f"Launch of `true` as an unprivileged user ({runs} runs)", usable, times, failures)
print()
print("| fenced resident memory (VmRSS) | |")
print("|---|---:|")
print(f"| idle, before the runs | {mib(rss_before)} |")
print(f"| idle, after the runs | {mib(rss_after)} |")
if any(failures.values()):
    sys.exit(1)
EOF
