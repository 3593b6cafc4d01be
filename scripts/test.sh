#!/bin/bash
# scripts/test.sh — the whole test suite, as CI runs it (.ci/run). As root:
#
#   scripts/test.sh [MESON-TEST-ARGUMENT...]
#
# Installs the missing packages of scripts/deps.sh, builds the tree twice —
# build/ (debugoptimized) and build-asan/ (AddressSanitizer and
# UndefinedBehaviorSanitizer) — and runs `meson test` in both. Arguments are
# passed to both `meson test` runs (e.g. a test name or --suite unit).
#
# Its last line is always "N passed, N failed, N skipped" (totals of both
# builds; a build that fails to compile and every sanitizer report count as
# failures), and it exits non-zero when anything failed.
#
# The integration tests start fenced and create users and namespaces, which
# is why this must run as root.

set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."
# shellcheck source=scripts/deps.sh
. scripts/deps.sh

readonly BUILDS=(build build-asan)
extra_failures=0        # failures no testlog.json records
summary_printed=0
sanitizer_dir=""

# The summary line, from the testlog.json files of both builds.
print_summary() {
        local logs=() dir
        for dir in "${BUILDS[@]}"; do
                logs+=("$dir/meson-logs/testlog.json")
        done
        python3 - "$extra_failures" "${logs[@]}" <<'EOF'
import json, sys

passed, failed, skipped = 0, int(sys.argv[1]), 0
for path in sys.argv[2:]:
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        continue
    with f:
        for line in f:
            if not line.strip():
                continue
            result = json.loads(line).get("result")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:       # FAIL TIMEOUT ERROR UNEXPECTEDPASS INTERRUPT
                failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
EOF
}

# However the script ends, its last line is the summary.
on_exit() {
        local rc=$?
        [[ -n $sanitizer_dir ]] && rm -rf "$sanitizer_dir"
        if [[ $summary_printed -eq 0 ]]; then
                [[ $rc -ne 0 ]] && extra_failures=$((extra_failures + 1))
                print_summary || rc=1
        fi
        exit "$rc"
}
trap on_exit EXIT

# The failed tests' whole output (--print-errorlogs shows only its tail).
print_failed_logs() {
        python3 - "$1/meson-logs/testlog.json" <<'EOF'
import json, sys

try:
    lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
except FileNotFoundError:
    sys.exit(0)
for line in lines:
    if not line.strip():
        continue
    t = json.loads(line)
    if t.get("result") in ("OK", "EXPECTEDFAIL", "SKIP"):
        continue
    print(f"--- {t.get('name')}: {t.get('result')} (exit status {t.get('returncode')}, "
          f"{t.get('duration', 0):.1f} s)")
    print("command:", " ".join(t.get("command") or []))
    for stream in ("stdout", "stderr"):
        if t.get(stream):
            print(f"[{stream}]")
            print(t[stream].rstrip("\n"))
EOF
}

# Does LeakSanitizer work here? It needs ptrace on its own threads, which
# some containers forbid; then leak checking is switched off, with a note.
leak_checking_works() {
        local dir out rc=1
        dir=$(mktemp -d)
        printf '%s\n' '#include <stdlib.h>' \
                'void *volatile sink;' 'int main(void) { sink = malloc(64); sink = 0; return 0; }' >"$dir/leak.c"
        if cc -fsanitize=address -g "$dir/leak.c" -o "$dir/leak" 2>/dev/null; then
                # The leak makes it exit 1: what counts is what it printed.
                out=$(ASAN_OPTIONS=detect_leaks=1 "$dir/leak" 2>&1 || true)
                [[ $out == *"LeakSanitizer: detected memory leaks"* ]] && rc=0
        fi
        rm -rf "$dir"
        return "$rc"
}

# run_build DIR TIMEOUT-MULTIPLIER [MESON-OPTION...] -- [MESON-TEST-ARGUMENT...]
run_build() {
        local dir=$1 multiplier=$2 setup_args=() rc=0
        shift 2
        while [[ $# -gt 0 && $1 != -- ]]; do
                setup_args+=("$1")
                shift
        done
        shift

        fence_log "$dir: configuring"
        rm -f "$dir/meson-logs/testlog.json"
        if ! fence_configure_build "$dir" "${setup_args[@]}"; then
                fence_log "$dir: meson setup FAILED (log: $dir/meson-logs/meson-log.txt)"
                extra_failures=$((extra_failures + 1))
                return 0
        fi
        fence_log "$dir: building"
        if ! ninja -C "$dir"; then
                fence_log "$dir: build FAILED"
                extra_failures=$((extra_failures + 1))
                return 0
        fi

        fence_log "$dir: testing"
        meson test -C "$dir" --no-rebuild --print-errorlogs \
                --timeout-multiplier "$multiplier" "$@" || rc=$?
        if [[ $rc -ne 0 ]]; then
                fence_log "$dir: meson test exited with status $rc; full output of the failed tests:"
                print_failed_logs "$dir" || true
                fence_log "$dir: complete log: $dir/meson-logs/testlog.txt"
                if ! grep -q '"result"' "$dir/meson-logs/testlog.json" 2>/dev/null; then
                        extra_failures=$((extra_failures + 1))  # meson test itself failed
                fi
        fi
}

# collect_sanitizer_reports DIR: every report a sanitized process of build
# DIR wrote counts as a failure, also from processes whose exit status no
# test looks at (a daemon stopped at the end of a test, a child).
collect_sanitizer_reports() {
        local f n
        for f in "$sanitizer_dir"/*; do
                [[ -e $f ]] || continue
                # LeakSanitizer could not run at all (a test child whose
                # seccomp filter denies ptrace): no finding, only a note.
                if ! grep -v -e 'LeakSanitizer has encountered a fatal error' -e '==HINT:' "$f" | grep -q .; then
                        fence_log "note: LeakSanitizer could not run in ${f##*/} (ptrace denied in a sandboxed test child)"
                        continue
                fi
                fence_log "sanitizer report ${f##*/}:"
                cat "$f"
                extra_failures=$((extra_failures + 1))
        done
        # UBSan linked with ASan (gcc) ignores log_path and writes to
        # stderr: look for its reports in the output of tests that passed.
        n=$(python3 - "$1/meson-logs/testlog.json" <<'EOF'
import json, re, sys

report = re.compile(r"runtime error: |ERROR: (Address|Leak|UndefinedBehavior)Sanitizer")
found = 0
try:
    lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
except FileNotFoundError:
    lines = []
for line in lines:
    if not line.strip():
        continue
    t = json.loads(line)
    if t.get("result") not in ("OK", "EXPECTEDFAIL"):
        continue        # already counted as failed
    out = (t.get("stdout") or "") + (t.get("stderr") or "")
    hits = [l for l in out.splitlines() if report.search(l)]
    if hits:
        found += 1
        print(f"==> sanitizer report in the output of {t.get('name')}, which passed:", file=sys.stderr)
        print("\n".join(hits[:20]), file=sys.stderr)
print(found)
EOF
) || n=1
        extra_failures=$((extra_failures + n))
}

fence_require_root "$0"
# Results of an earlier run must not be counted if this one stops early.
for dir in "${BUILDS[@]}"; do
        rm -f "$dir/meson-logs/testlog.json"
done
fence_install_deps

# The integration tests run the freshly built fencectl as unprivileged test
# users; a checkout below /root (mode 0700) is out of their reach.
if ! setpriv --reuid=nobody --regid=nogroup --clear-groups test -r "$PWD/meson.build" 2>/dev/null; then
        fence_log "warning: unprivileged users cannot reach $PWD, so the integration tests" \
                "cannot run the built fencectl as their test users; move the checkout (e.g. to /srv)" \
                "or make its parent directories searchable (chmod o+x)"
fi

run_build build 1 "${FENCE_BUILD_OPTIONS[@]}" -- "$@"

# Reports go to files in a directory anyone can write to (sanitized programs
# also run as unprivileged users in the integration tests); each one counts
# as a failure even when the process that wrote it exited 0 or was killed.
sanitizer_dir=$(mktemp -d /tmp/fence-sanitizer.XXXXXX)
chmod 1777 "$sanitizer_dir"
if leak_checking_works; then
        leaks=1
else
        leaks=0
        fence_log "LeakSanitizer does not work in this environment (no ptrace?); leak checking is off"
fi
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=$leaks:log_path=$sanitizer_dir/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$sanitizer_dir/ubsan"
run_build build-asan 3 "${FENCE_BUILD_OPTIONS[@]}" -Db_sanitize=address,undefined -Db_lundef=false -- "$@"
collect_sanitizer_reports build-asan

summary_printed=1
print_summary
