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
. "$(dirname "$0")/common.sh"
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
"${run_as[@]}" python3 - "$runs" "$fencectl" "$sock_path" "$fenced_pid" "$user" <<'EOF'
import math, os, platform, statistics, sys, time

runs, fencectl, sock, fenced_pid, user = int(sys.argv[1]), *sys.argv[2:]
WARMUP = 5
launchers = [
    ("`fencectl run true`", [fencectl, "--socket", sock, "run", "true"]),
    ("`bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc true`",
     ["bwrap", "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "true"]),
]
quiet = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
         (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
         (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0)]

def launch(argv, file_actions=quiet):
    t0 = time.perf_counter_ns()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=file_actions)
    _, status = os.waitpid(pid, 0)
    return time.perf_counter_ns() - t0, os.waitstatus_to_exitcode(status)

def vmrss_kib():
    try:
        with open(f"/proc/{fenced_pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None

# Each launcher must work before it is timed; show why when it does not.
usable = []
for name, argv in launchers:
    _, code = launch(argv, file_actions=[])
    if code != 0:
        print(f"warning: {name} exits with {code}; left out", file=sys.stderr)
    else:
        usable.append((name, argv))
if not usable:
    sys.exit("error: neither launcher works for user " + user)

rss_before = vmrss_kib()
times = {name: [] for name, _ in usable}
failures = {name: 0 for name, _ in usable}
for _ in range(WARMUP):
    for _, argv in usable:
        launch(argv)
for i in range(runs):
    order = usable if i % 2 == 0 else usable[::-1]
    for name, argv in order:
        ns, code = launch(argv)
        if code != 0:
            failures[name] += 1
        times[name].append(ns / 1e6)
rss_after = vmrss_kib()

def p90(xs):
    xs = sorted(xs)
    return xs[math.ceil(0.9 * len(xs)) - 1]

def mib(kib):
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"<!-- bench/launch.sh, {time.strftime('%Y-%m-%d %H:%M %Z')}: Linux {platform.release()}, "
      f"{os.cpu_count()} CPUs ({cpu}), user {user}, {runs} runs each after {WARMUP} warm-up runs -->")
print()
print(f"| Launch of `true` as an unprivileged user ({runs} runs) | median | p90 | min | failed runs |")
print("|---|---:|---:|---:|---:|")
for name, _ in usable:
    xs = times[name]
    print(f"| {name} | {statistics.median(xs):.2f} ms | {p90(xs):.2f} ms | {min(xs):.2f} ms | {failures[name]} |")
print()
print("| fenced resident memory (VmRSS) | |")
print("|---|---:|")
print(f"| idle, before the runs | {mib(rss_before)} |")
print(f"| idle, after the runs | {mib(rss_after)} |")
if any(failures.values()):
    sys.exit(1)
EOF
