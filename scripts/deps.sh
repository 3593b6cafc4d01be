#!/bin/bash
# scripts/deps.sh — sourced by scripts/setup.sh and scripts/test.sh.
#
# The one list of Debian 12 packages the project needs to build, test, run
# and benchmark, and the helpers both scripts share. Add a package here, in
# the group it belongs to, and both scripts pick it up.
#
# Can also be run on its own (as root) to install just the packages:
#   scripts/deps.sh

FENCE_DEPS=(
        # build
        meson ninja-build pkg-config gcc libc6-dev linux-libc-dev python3
        # libraries (see DESIGN.md "Dependencies")
        libsystemd-dev libseccomp-dev libcap-dev libyajl-dev libnftables-dev
        # BPF CO-RE: vmlinux.h and skeletons (bpftool), BPF objects (clang, llvm)
        libbpf-dev bpftool clang llvm
        # tests: unit tests, varlink certification client
        libcriterion-dev varlink-go
        # runtime tools the tests and scripts call: ip, nft,
        # systemd-socket-activate, useradd, runuser/setpriv, pgrep/ps, fuser
        iproute2 nftables systemd passwd util-linux procps psmisc
        # the exec policy test runs git (git status allowed, git push denied)
        git
        # network tests: HTTP/SOCKS client, test certificate
        curl openssl iputils-ping
        # GIT_SSH_COMMAND in a sandbox with network rules runs nc -X 5 -x (its SOCKS client)
        netcat-openbsd
        # benchmark peer (bench/launch.sh)
        bubblewrap
)

# Options of build/, the same for setup.sh and test.sh so that neither makes
# the other rebuild. sysconfdir=/etc: fenced's policy floor is
# /etc/fence/policy.json even with the default /usr/local prefix.
# shellcheck disable=SC2034  # used by the scripts that source this file
FENCE_BUILD_OPTIONS=(--buildtype=debugoptimized --sysconfdir=/etc)

fence_log() {
        printf '==> %s\n' "$*" >&2
}

fence_die() {
        printf 'error: %s\n' "$*" >&2
        exit 1
}

fence_require_root() {
        [[ $(id -u) -eq 0 ]] ||
                fence_die "$1 must run as root (it installs packages and runs the privileged daemon); try: sudo $1"
}

# Prints the packages of FENCE_DEPS that are not installed.
fence_missing_deps() {
        local pkg status
        for pkg in "${FENCE_DEPS[@]}"; do
                status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
                [[ $status == ii* ]] || printf '%s\n' "$pkg"
        done
}

# Installs whatever is missing; does not touch apt when nothing is.
fence_install_deps() {
        local missing
        mapfile -t missing < <(fence_missing_deps)
        if [[ ${#missing[@]} -eq 0 ]]; then
                fence_log "all ${#FENCE_DEPS[@]} packages are installed"
                return 0
        fi
        fence_log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q -o Acquire::Retries=3 ||
                fence_die "apt-get update failed; check /etc/apt/sources.list and the network, then re-run"
        apt-get install -y -q --no-install-recommends -o Acquire::Retries=3 \
                -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
                "${missing[@]}" ||
                fence_die "apt-get install failed; see the messages above, then re-run"
}

# fence_configure_build DIR [MESON-OPTION...]
# Configures a build directory, reusing it when it already exists; a
# directory meson can no longer reconfigure (e.g. made by another meson
# version) is wiped and set up again.
fence_configure_build() {
        local dir=$1
        shift
        if [[ -f $dir/meson-private/coredata.dat ]]; then
                meson setup --reconfigure "$dir" "$@" ||
                        meson setup --wipe "$dir" "$@"
        else
                meson setup "$dir" "$@"
        fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
        set -euo pipefail
        fence_require_root "$0"
        fence_install_deps
fi
