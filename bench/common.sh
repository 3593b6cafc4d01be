# shellcheck shell=bash
# bench/common.sh — what bench/launch.sh and bench/fs-policy.sh share: their
# common options, finding fencectl and the socket, and running the timed
# launchers as an unprivileged user. Sourced, not run. (The timing itself is
# bench/launchtime.py.)
#
#   bench_parse_args "$@"   -n RUNS, -u USER, --fencectl PATH, --socket PATH,
#                           -h; any other option goes to the script's own
#                           bench_option NAME VALUE (returns 0 when it took
#                           the value, 1 when it does not know NAME)
#   bench_find_fencectl     sets fencectl (default: on PATH, else
#                           /usr/local/bin/fencectl) and sock_path
#   bench_user              sets user, home and run_as (the command prefix
#                           that runs as USER: runuser with a clean login
#                           environment) when root, else the caller
#
# The script sets runs (its default RUN count) before bench_parse_args.

user=""
fencectl=""
socket=""

bench_usage() {
        sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
}

bench_parse_args() {
        while [[ $# -gt 0 ]]; do
                case $1 in
                -n) runs=${2:?-n needs a number}; shift 2 ;;
                -u) user=${2:?-u needs a user name}; shift 2 ;;
                --fencectl) fencectl=${2:?--fencectl needs a path}; shift 2 ;;
                --socket) socket=${2:?--socket needs a path}; shift 2 ;;
                -h | --help) bench_usage; exit 0 ;;
                *)
                        if [[ $# -ge 2 ]] && declare -F bench_option >/dev/null && bench_option "$1" "$2"; then
                                shift 2
                        else
                                echo "error: unknown option '$1'" >&2
                                bench_usage >&2
                                exit 2
                        fi
                        ;;
                esac
        done
        [[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "error: -n expects a positive number, got '$runs'" >&2; exit 2; }
}

bench_find_fencectl() {
        if [[ -z $fencectl ]]; then
                fencectl=$(command -v fencectl || true)
                [[ -n $fencectl ]] || fencectl=/usr/local/bin/fencectl
        fi
        [[ -x $fencectl ]] || { echo "error: no fencectl at $fencectl; install it (scripts/setup.sh) or pass --fencectl PATH" >&2; exit 1; }
        sock_path=${socket:-${FENCE_SOCKET:-/run/fence/io.fence.sock}}
}

bench_user() {
        local uid
        run_as=()
        home=$HOME
        if [[ $(id -u) -eq 0 ]]; then
                user=${user:-fence-demo}
                uid=$(id -u "$user" 2>/dev/null) || { echo "error: no user $user; create one or pass -u USER" >&2; exit 1; }
                [[ $uid -ne 0 ]] || { echo "error: the benchmark must run as a non-root user" >&2; exit 1; }
                home=$(getent passwd "$user" | cut -d: -f6)
                [[ -d $home ]] || home=/
                run_as=(runuser -u "$user" -- env -i HOME="$home" USER="$user" LOGNAME="$user"
                        PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8)
        else
                user=$(id -un)
        fi
}
