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
files=50000
bench_dir=$(cd "$(dirname "$0")" && pwd)
. "$bench_dir/common.sh"
bench_option() {
        case $1 in
        --files) files=$2 ;;
        *) return 1 ;;
        esac
}
bench_parse_args "$@"
[[ $files =~ ^[1-9][0-9]*$ ]] || { echo "error: --files expects a positive number, got '$files'" >&2; exit 2; }
bench_find_fencectl
bench_user

work=$(mktemp -d /var/tmp/fence-bench-fs.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
chmod 0755 "$work"
[[ ${#run_as[@]} -eq 0 ]] || chown "$user" "$work"

"${run_as[@]}" python3 - "$runs" "$fencectl" "$sock_path" "$user" "$work" "$files" "$bench_dir" <<'EOF'
import os, statistics, sys

runs, fencectl, sock, user, work, nfiles = int(sys.argv[1]), *sys.argv[2:6], int(sys.argv[6])
sys.path.insert(0, sys.argv[7])
from launchtime import check, time_launchers, print_table, machine_comment

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
if len(check(launchers)) != len(launchers):
    sys.exit("error: a launcher fails before timing (see above)")
times, failures = time_launchers(launchers, runs, WARMUP)

print(machine_comment("bench/fs-policy.sh", f"user {user}, {made} files, {runs} runs each after {WARMUP} warm-up runs"))
print()
print_table(f"Launch of `true` in a tree of {made} files ({runs} runs)", launchers, times, failures)
ratio = statistics.median(times[launchers[1][0]]) / statistics.median(times[launchers[0][0]])
print()
print(f"Ratio of the medians (policy / plain): **{ratio:.2f}** (contract: at most 1.5)")
if any(failures.values()):
    sys.exit(1)
EOF
