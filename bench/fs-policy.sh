#!/bin/bash
# bench/fs-policy.sh — what the filesystem policy adds to a launch.
#
#   bench/fs-policy.sh [-n RUNS] [-u USER] [--files N] [--fencectl PATH] [--socket PATH]
#
# Builds a project tree of N files (default 50,000: 500 directories of 100
# files, a git repository with hooks, and a few protected dotfiles spread
# over it) owned by USER, and a config with 50 paths: allowWrite "." and 24
# of the directories, denyWrite 25 files. Then times, from the project root,
#   fencectl run -s plain.json true     (an empty config: the plain launch)
#   fencectl run -s policy.json true    (the 50 paths, hence the protection
#                                        walk of the whole tree)
# RUNS times each (default 100, after 5 warm-up runs each), alternating, and
# prints median, p90 and min, and the ratio of the medians (the contract:
# at most 1.5). Needs a running fenced; as root, runs as USER (default
# fence-demo). The tree is created below /var/tmp (not /tmp: sandboxes have
# their own) and removed afterwards.

set -euo pipefail

runs=100
user=""
files=50000
fencectl=""
socket=""

usage() {
        sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
}

while [[ $# -gt 0 ]]; do
        case $1 in
        -n) runs=${2:?-n needs a number}; shift 2 ;;
        -u) user=${2:?-u needs a user name}; shift 2 ;;
        --files) files=${2:?--files needs a number}; shift 2 ;;
        --fencectl) fencectl=${2:?--fencectl needs a path}; shift 2 ;;
        --socket) socket=${2:?--socket needs a path}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
        esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "error: -n expects a positive number, got '$runs'" >&2; exit 2; }
[[ $files =~ ^[1-9][0-9]*$ ]] || { echo "error: --files expects a positive number, got '$files'" >&2; exit 2; }

if [[ -z $fencectl ]]; then
        fencectl=$(command -v fencectl || true)
        [[ -n $fencectl ]] || fencectl=/usr/local/bin/fencectl
fi
[[ -x $fencectl ]] || { echo "error: no fencectl at $fencectl; install it or pass --fencectl PATH" >&2; exit 1; }
sock_path=${socket:-${FENCE_SOCKET:-/run/fence/io.fence.sock}}

run_as=()
if [[ $(id -u) -eq 0 ]]; then
        user=${user:-fence-demo}
        uid=$(id -u "$user" 2>/dev/null) || { echo "error: no user $user; create one or pass -u USER" >&2; exit 1; }
        [[ $uid -ne 0 ]] || { echo "error: the benchmark must run as a non-root user" >&2; exit 1; }
        home=$(getent passwd "$user" | cut -d: -f6)
        run_as=(runuser -u "$user" -- env -i HOME="$home" USER="$user" LOGNAME="$user"
                PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8)
else
        user=$(id -un)
fi

work=$(mktemp -d /var/tmp/fence-bench-fs.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
chmod 0755 "$work"
[[ ${#run_as[@]} -eq 0 ]] || chown "$user" "$work"

"${run_as[@]}" python3 - "$runs" "$fencectl" "$sock_path" "$user" "$work" "$files" <<'EOF'
import math, os, platform, statistics, subprocess, sys, time

runs, fencectl, sock, user, work, nfiles = int(sys.argv[1]), *sys.argv[2:6], int(sys.argv[6])
WARMUP = 5
proj = os.path.join(work, "proj")
ndirs = max(1, nfiles // 100)

# The tree: ndirs directories of 100 files (two levels), a repository.
made = 0
for d in range(ndirs):
    sub = os.path.join(proj, f"d{d // 50:02d}", f"s{d % 50:02d}")
    os.makedirs(sub, exist_ok=True)
    for f in range(100):
        if made >= nfiles:
            break
        with open(os.path.join(sub, f"f{f:03d}.txt"), "w") as fh:
            fh.write("x\n")
        made += 1
os.makedirs(os.path.join(proj, ".git", "hooks"), exist_ok=True)
os.makedirs(os.path.join(proj, ".git", "objects"), exist_ok=True)
os.makedirs(os.path.join(proj, ".git", "refs", "heads"), exist_ok=True)
for name, content in ((".git/HEAD", "ref: refs/heads/main\n"), (".git/config", "[core]\n"),
                      (".git/hooks/pre-commit.sample", "#!/bin/sh\n"), (".bashrc", "# x\n"),
                      ("d03/s07/.mcp.json", "{}\n"), ("d05/s11/.gitmodules", "")):
    if not os.path.isdir(os.path.dirname(os.path.join(proj, name))):
        continue
    with open(os.path.join(proj, name), "w") as fh:
        fh.write(content)

# The tree was just written: flush it now, or its writeback (tens of MB of
# new inodes and directory blocks) competes with the timed launches for the
# filesystem's journal, which slows every file the policy launch creates
# (its placeholders) by a varying amount.
os.sync()

dirs = [f"d{d // 50:02d}/s{d % 50:02d}" for d in range(ndirs)]
allow = ["."] + ["./" + d for d in dirs[:24]]
deny = ["./" + d + "/f000.txt" for d in dirs[-25:]]
import json
with open(os.path.join(work, "policy.json"), "w") as fh:
    json.dump({"filesystem": {"allowWrite": allow, "denyWrite": deny}}, fh)
with open(os.path.join(work, "plain.json"), "w") as fh:
    fh.write("{}\n")
npaths = len(allow) + len(deny)

os.chdir(proj)
launchers = [
    ("plain: `fencectl run -s plain.json true` (empty config)",
     [fencectl, "--socket", sock, "run", "-s", os.path.join(work, "plain.json"), "true"]),
    (f"policy: `fencectl run -s policy.json true` ({npaths} allowWrite/denyWrite paths)",
     [fencectl, "--socket", sock, "run", "-s", os.path.join(work, "policy.json"), "true"]),
]
quiet = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
         (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
         (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0)]

def launch(argv, file_actions=quiet):
    t0 = time.perf_counter_ns()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=file_actions)
    _, status = os.waitpid(pid, 0)
    return time.perf_counter_ns() - t0, os.waitstatus_to_exitcode(status)

for name, argv in launchers:
    _, code = launch(argv, file_actions=[])
    if code != 0:
        sys.exit(f"error: {name} exits with {code}")

times = {name: [] for name, _ in launchers}
failures = {name: 0 for name, _ in launchers}
for _ in range(WARMUP):
    for _, argv in launchers:
        launch(argv)
for i in range(runs):
    order = launchers if i % 2 == 0 else launchers[::-1]
    for name, argv in order:
        ns, code = launch(argv)
        failures[name] += code != 0
        times[name].append(ns / 1e6)

def p90(xs):
    xs = sorted(xs)
    return xs[math.ceil(0.9 * len(xs)) - 1]

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"<!-- bench/fs-policy.sh, {time.strftime('%Y-%m-%d %H:%M %Z')}: Linux {platform.release()}, "
      f"{os.cpu_count()} CPUs ({cpu}), user {user}, {made} files, {runs} runs each after {WARMUP} warm-up runs -->")
print()
print(f"| Launch of `true` in a tree of {made} files ({runs} runs) | median | p90 | min | failed runs |")
print("|---|---:|---:|---:|---:|")
for name, _ in launchers:
    xs = times[name]
    print(f"| {name} | {statistics.median(xs):.2f} ms | {p90(xs):.2f} ms | {min(xs):.2f} ms | {failures[name]} |")
ratio = statistics.median(times[launchers[1][0]]) / statistics.median(times[launchers[0][0]])
print()
print(f"Ratio of the medians (policy / plain): **{ratio:.2f}** (contract: at most 1.5)")
if any(failures.values()):
    sys.exit(1)
EOF
