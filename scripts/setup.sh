#!/bin/bash
# scripts/setup.sh — from a fresh Debian 12 machine to a running fenced and a
# sandboxed demo. Run as root:
#
#   scripts/setup.sh [USER]
#
# 1. installs the missing packages of scripts/deps.sh (apt only when needed);
# 2. builds build/ (debugoptimized) and installs it (meson install);
# 3. starts fenced: with systemd as PID 1 through fenced.socket, otherwise
#    as a background process logging to /var/log/fence/fenced.log — unless
#    it is already running (a daemon whose binary was just replaced is
#    restarted);
# 4. runs `fencectl run` as USER (default: the system user fence-demo,
#    created if needed) from USER's home and shows what that user sees.
#
# Safe to run again: every step reuses what is already there.

set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."
# shellcheck source=scripts/deps.sh
. scripts/deps.sh

readonly BUILD_DIR=build
readonly LOG_DIR=/var/log/fence
readonly DEMO_USER=fence-demo
readonly START_TIMEOUT_TENTHS=100       # wait at most 10 s for the socket

usage() {
        cat <<EOF
usage: $0 [USER]

Installs dependencies, builds and installs fenced and fencectl, starts
fenced, and runs a sandboxed demo as USER (a non-root user; default: the
system user $DEMO_USER, created when missing). Must run as root.
EOF
}

demo_user=""
case $# in
0) ;;
1)
        case $1 in
        -h | --help) usage; exit 0 ;;
        -*) usage >&2; exit 2 ;;
        *) demo_user=$1 ;;
        esac
        ;;
*) usage >&2; exit 2 ;;
esac

fence_require_root "$0"
if [[ -n $demo_user ]]; then
        uid=$(id -u "$demo_user" 2>/dev/null) || fence_die "no user named $demo_user; pass an existing user or none"
        [[ $uid -ne 0 ]] || fence_die "the demo must run as a non-root user; pass one or none (then $DEMO_USER is used)"
fi

# --- 1. packages -------------------------------------------------------------
fence_install_deps

# --- 2. build and install ----------------------------------------------------
fence_log "building $BUILD_DIR/"
fence_configure_build "$BUILD_DIR" "${FENCE_BUILD_OPTIONS[@]}"
ninja -C "$BUILD_DIR"
fence_log "installing"
meson install -C "$BUILD_DIR"
ldconfig

# Where meson put the two programs (fenced: sbindir, fencectl: bindir).
installed_path() {
        meson introspect --installed "$BUILD_DIR" | python3 -c '
import json, os, sys
name = sys.argv[1]
paths = [p for p in json.load(sys.stdin).values() if os.path.basename(p) == name]
if not paths:
    sys.exit("%s is not among the installed files" % name)
print(paths[0])' "$1"
}

build_option() {
        meson introspect --buildoptions "$BUILD_DIR" | python3 -c '
import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1"
}

fenced=$(installed_path fenced)
fencectl=$(installed_path fencectl)
socket=$(build_option socket-path)
[[ -x $fenced && -x $fencectl ]] || fence_die "meson install did not produce $fenced and $fencectl"

# --- 3. start fenced ---------------------------------------------------------
socket_accepts() {
        python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(1)
s.connect(sys.argv[1])' "$socket" 2>/dev/null
}

# The pid of the process listening on $socket, if any.
listener_pid() {
        { ss -Hxlp src "$socket" 2>/dev/null || true; } | { grep -o 'pid=[0-9]*' || true; } |
                head -n 1 | cut -d= -f2
}

# wait_for_socket PID: PID is the daemon we started, or empty under systemd.
wait_for_socket() {
        local pid=$1 i
        for ((i = 0; i < START_TIMEOUT_TENTHS; i++)); do
                socket_accepts && return 0
                if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
                        tail -n 30 "$LOG_DIR/fenced.log" >&2 || true
                        fence_die "fenced exited during start-up; its log is $LOG_DIR/fenced.log"
                fi
                sleep 0.1
        done
        [[ -n $pid ]] && { tail -n 30 "$LOG_DIR/fenced.log" >&2 || true; }
        fence_die "fenced does not accept connections on $socket after $((START_TIMEOUT_TENTHS / 10)) s; see ${pid:+$LOG_DIR/fenced.log}${pid:-journalctl -u fenced.service}"
}

start_with_systemd() {
        fence_log "starting fenced.socket (systemd)"
        systemctl daemon-reload
        systemctl enable --now fenced.socket
        # A daemon that is already running still executes the old binary.
        systemctl try-restart fenced.service
        wait_for_socket ""
}

start_in_background() {
        local pid i
        pid=$(listener_pid)
        if [[ -n $pid ]] && socket_accepts; then
                # meson install replaces the file even when it is unchanged;
                # restart only when the daemon runs different code.
                if cmp -s "/proc/$pid/exe" "$fenced"; then
                        fence_log "fenced is already running (pid $pid)"
                        return 0
                fi
                fence_log "restarting fenced (pid $pid runs an older binary)"
                kill -TERM "$pid"
                for ((i = 0; i < START_TIMEOUT_TENTHS; i++)); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.1
                done
                kill -0 "$pid" 2>/dev/null &&
                        fence_die "fenced (pid $pid) did not exit after SIGTERM; stop it, then re-run"
        fi

        fence_log "starting $fenced (log: $LOG_DIR/fenced.log)"
        mkdir -p "$LOG_DIR"
        # setsid: no controlling terminal, so closing this shell leaves it
        # running. It execs fenced directly, so $! is the daemon's pid.
        setsid "$fenced" </dev/null >>"$LOG_DIR/fenced.log" 2>&1 &
        pid=$!
        wait_for_socket "$pid"
        fence_log "fenced is running (pid $pid)"
}

if [[ -d /run/systemd/system ]]; then
        start_with_systemd
else
        start_in_background
fi

# --- 4. demo -----------------------------------------------------------------
if [[ -z $demo_user ]]; then
        demo_user=$DEMO_USER
        if ! id -u "$demo_user" >/dev/null 2>&1; then
                fence_log "creating the system user $demo_user"
                useradd --system --user-group --create-home --home-dir "/home/$demo_user" \
                        --shell /usr/sbin/nologin --comment "fenced demo" "$demo_user"
        fi
fi
uid=$(id -u "$demo_user" 2>/dev/null) || fence_die "no user named $demo_user; pass an existing user or none"
[[ $uid -ne 0 ]] || fence_die "the demo must run as a non-root user; pass one or none (then $DEMO_USER is used)"
home=$(getent passwd "$demo_user" | cut -d: -f6)
[[ -d $home ]] || home=/

demo_cmd='id; pwd; touch /etc/x; echo $?'
fence_log "demo: user $demo_user (uid $uid) in $home runs"
printf "    \$ fencectl run -- sh -c '%s'\n" "$demo_cmd" >&2
status=0
# A clean environment: what the user's own login would have, not root's.
(cd "$home" && runuser -u "$demo_user" -- env -i \
        HOME="$home" USER="$demo_user" LOGNAME="$demo_user" \
        PATH=/usr/local/bin:/usr/bin:/bin LANG="${LANG:-C.UTF-8}" \
        "$fencectl" run -- sh -c "$demo_cmd") || status=$?
if [[ $status -ne 0 ]]; then
        fence_die "the demo failed with status $status; see the daemon's log (${LOG_DIR}/fenced.log or journalctl -u fenced.service)"
fi
fence_log "done: fenced is running; try it as any user: fencectl run -- sh"
