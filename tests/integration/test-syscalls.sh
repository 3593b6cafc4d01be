#!/bin/bash
# The seccomp deny list, seen from inside a sandbox as an unprivileged user:
# every listed call fails with EPERM (clone3 with ENOSYS), through the i386
# ABI (int $0x80) too, while ordinary calls work. tests/try-syscall.c makes
# the calls; each is also made outside the sandbox as the same user, so that
# a result different from EPERM there shows the EPERM inside is the filter's.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TRY=${FENCE_TRY_SYSCALL:-}
[ -n "$TRY" ] && [ -x "$TRY" ] || bail_out "FENCE_TRY_SYSCALL is not set to the try-syscall binary (run through meson test)"
setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- test -x "$TRY" ||
        skip_all "$TRY is not executable by $TEST_USER"

fenced_start
# The checkout may lie below /tmp, which every sandbox replaces with its own.
cp "$TRY" "$T/try-syscall" && chmod 0755 "$T/try-syscall" && TRY=$T/try-syscall

HOME_DIR=$(getent passwd "$TEST_USER" | cut -d: -f6)
UID_T=$(id -u "$TEST_USER")

as_user() {
        (cd "$T/work" && setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
                env -i HOME="$HOME_DIR" PATH="$USER_PATH" LANG=C.UTF-8 "$@")
}

# result_of NAME OUTPUT: the result try-syscall printed for NAME.
result_of() {
        sed -n "s/^$1: //p" <<<"$2" | head -n 1
}

denied=(ptrace process_vm_readv process_vm_writev keyctl add_key request_key
        userfaultfd perf_event_open bpf kexec_load kexec_file_load reboot syslog acct
        mount umount2 pivot_root swapon swapoff sethostname setdomainname
        init_module finit_module delete_module ioperm iopl
        unshare-newuser clone-newuser setns open_by_handle_at
        io_uring_setup io_uring_enter io_uring_register fanotify_init
        personality-change pidfd_getfd fsopen open_tree move_mount
        ioctl-tiocsti ioctl-tiocsti-hibits ioctl-tioclinux ptrace32 personality32-change
        socket-raw4 socket-raw6 socket-packet)
allowed=(getpid personality-query personality-linux clone fork unshare-files
         execve name_to_handle_at ioctl-fionread getpid32 socket-udp)

# First, one denial alone: the kernel's audit printk is rate-limited (a burst
# of ten), and the record of this one is looked for below.
fctl_capture run -- "$TRY" socket-raw4

probes=("${denied[@]}" "${allowed[@]}" clone3 getpid-x32)
outside=$(as_user "$TRY" "${probes[@]}" 2>&1)
fctl_capture run -- "$TRY" "${probes[@]}"
inside=$OUT
is "$RC" 0 "try-syscall runs in the sandbox and exits 0"
diag "outside: $(tr '\n' ' ' <<<"$outside")"

proven=0
for name in "${denied[@]}"; do
        r=$(result_of "$name" "$inside")
        o=$(result_of "$name" "$outside")
        case $r in
        skip*) skip "${r#skip }" "$name is denied"; continue ;;
        esac
        is "$r" EPERM "$name fails with EPERM (outside the sandbox: $o)"
        [ "$r" != EPERM ] || [ "$o" = EPERM ] || proven=$((proven + 1))
done
cmp_num "$proven" -ge 20 "for most denied calls, the same call outside gives another result (the EPERM is the filter's)"

for name in "${allowed[@]}"; do
        r=$(result_of "$name" "$inside")
        case $r in
        skip*) skip "${r#skip }" "$name works"; continue ;;
        esac
        is "$r" ok "$name works"
done
is "$(result_of clone3 "$inside")" ENOSYS "clone3 fails with ENOSYS (libc falls back to clone)"
is "$(result_of getpid-x32 "$inside")" ENOSYS "the x32 ABI gets ENOSYS"
r=$(result_of ptrace32 "$inside")
case $r in
skip*) skip "${r#skip }" "ptrace through int \$0x80 is filtered" ;;
*) is "$r" EPERM "ptrace through int \$0x80 (i386 ABI) fails with EPERM, as on x86-64" ;;
esac

fctl_capture run -- sh -c 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status | tr -s "\t " " "'
like "$OUT" "Seccomp: 2" "the sandbox's process runs under a seccomp filter"
like "$OUT" "NoNewPrivs: 1" "...with no_new_privs"

# The kernel logs each denial (SECCOMP_FILTER_FLAG_LOG) as an audit record,
# rate-limited: a missing record is not a failure.
if dmesg >/dev/null 2>&1; then
        recs=$(dmesg | grep -F "type=1326" | grep -F "uid=$UID_T " | grep -F "exe=\"$TRY\"" | grep -c "code=0x50000")
        if [ "$recs" -gt 0 ]; then
                pass "the kernel log has seccomp records (code=0x50000, ERRNO) for try-syscall as $TEST_USER"
        else
                skip "no record in the kernel log (rate-limited?)" "the kernel log has seccomp records for try-syscall"
        fi
else
        skip "dmesg is not readable" "the kernel log has seccomp records for try-syscall"
fi
# Raw sockets fail without CAP_NET_RAW anyway; the filter's refusal is what
# leaves a record (syscall 41, socket, on x86-64).
if [ "$(uname -m)" = x86_64 ] && dmesg >/dev/null 2>&1; then
        recs=$(dmesg | grep -F "type=1326" | grep -F "uid=$UID_T " | grep -F "exe=\"$TRY\"" | grep -F " syscall=41 " | grep -c "code=0x50000")
        if [ "$recs" -gt 0 ]; then
                pass "a raw socket attempt leaves a seccomp record (syscall=41)"
        else
                skip "no record in the kernel log (rate-limited?)" "a raw socket attempt leaves a seccomp record"
        fi
fi

# --- each denial is an event of its sandbox --------------------------------
# fenced reads the kernel's seccomp audit records (netlink, CAP_AUDIT_READ)
# and reports each denial as source "syscall" in the sandbox's events; the
# clone3() ENOSYS that steers runtimes to clone() is not one.
fctl_capture run -m -- sh -c "'$TRY' ptrace keyctl getpid socket-raw4; sleep 0.5"
events=$(grep -o 'fence: {.*}' <<<"$ERR" | grep '"source":"syscall"')
if [ -z "$events" ] && ! grep -q '^CapEff:.*[1-9a-f]' "/proc/$FENCED_PID/status"; then
        skip "fenced has no capabilities here" "a denied ptrace is a syscall/denied event"
elif [ -z "$events" ] && grep -q "Cannot read the kernel's seccomp audit records" "$T/fenced.log"; then
        skip "no kernel audit: $(grep -o "records ([^)]*)" "$T/fenced.log" | head -1)" "a denied ptrace is a syscall/denied event"
else
        like "$events" '"action":"denied".*"syscall":"ptrace"' "a denied ptrace is a syscall/denied event of the sandbox"
        like "$events" '"syscall":"keyctl"' "...and so is keyctl"
        like "$events" '"syscall":"socket"' "...and a raw socket attempt (the network filter's \"each attempt is seen\")"
        like "$(grep '"syscall":"ptrace"' <<<"$events")" '"comm":"try-syscall"' "...naming the process"
        unlike "$events" '"syscall":"getpid"' "...and an allowed call is not"
        unlike "$events" '"syscall":"clone3"' "...nor clone3's ENOSYS"
fi
# A loop of denials is reported up to a burst, then summed up.
if [ -n "$events" ]; then
        many=$(printf 'ptrace %.0s' $(seq 1000))
        fctl_capture run -m -- sh -c "'$TRY' $many >/dev/null; sleep 0.3; '$TRY' keyctl >/dev/null; sleep 0.5"
        n=$(grep -o 'fence: {.*}' <<<"$ERR" | grep -c '"source":"syscall","action":"denied"')
        cmp_num "$n" -le 150 "1,000 denied calls in a loop give at most the burst of events ($n)"
        like "$ERR" '"action":"suppressed","count":[0-9]+' "...and a later event says how many were left out"
fi
# Another user's sandbox gets none of them.
fctl_bg "$TEST_USER2" "$T/other.out" run -m -- sleep 2
other=$BG_PID
fctl_capture run -- "$TRY" ptrace
wait "$other"
unlike "$(cat "$T/other.out.err" 2>/dev/null)" '"source":"syscall"' "a sandbox running meanwhile gets no event of another's denials"

# --- ordinary file operations ---------------------------------------------
fctl_capture run -- sh -c 'cd /tmp && echo data >f && ln -s f l && mkdir d && mv f d/g && cat d/g l 2>/dev/null; stat -c %s d/g && chmod 600 d/g && rm -r d l && ls -A /tmp | wc -l'
is "$RC" 0 "ordinary file operations (create, symlink, mkdir, rename, stat, chmod, remove) work"
is "$OUT" $'data\n5\n0' "...with the expected results"

# --- TIOCSTI on a controlling terminal ------------------------------------
# A new session whose controlling terminal is a fresh pty: the kernel's own
# check (the terminal must be the caller's controlling one) passes, so the
# result is the filter's alone.
sti_pl_ctty='
use POSIX;
my $pid = fork; if ($pid) { waitpid($pid, 0); exit 0 }
POSIX::setsid();
open(M, "+<", "/dev/ptmx") or die "ptmx: $!";
my $z = pack("i", 0); ioctl(M, 0x40045431, $z) or die "TIOCSPTLCK: $!";
my $n = pack("i", 0); ioctl(M, 0x80045430, $n) or die "TIOCGPTN: $!";
# Opened without O_NOCTTY by a session leader: the controlling terminal.
open(S, "+<", "/dev/pts/" . unpack("i", $n)) or die "pts: $!";
print "CTTY: ", (-t S && open(T, "<", "/dev/tty") ? "ok" : "none"), "\n";
for my $cmd (0x5412, 0x5412 | (1 << 32)) {
    my $c = "x";
    printf "%#x: %s\n", $cmd, ioctl(S, $cmd, $c) ? "ok" : ($! + 0 == 1 ? "EPERM" : "$!");
}
'
if command -v perl >/dev/null; then
        o=$(as_user perl -e "$sti_pl_ctty" 2>&1)
        fctl_capture run -- perl -e "$sti_pl_ctty"
        if [ "$(result_of 0x5412 "$o")" = ok ]; then
                is "$(result_of CTTY "$OUT")" ok "a pty becomes the controlling terminal in the sandbox"
                is "$(result_of 0x5412 "$OUT")" EPERM "TIOCSTI on the controlling terminal fails with EPERM (works outside)"
                is "$(result_of 0x100005412 "$o")/$(result_of 0x100005412 "$OUT")" ok/EPERM \
                        "TIOCSTI with bit 32 set (the kernel truncates the command) works outside, fails with EPERM inside"
        else
                skip "TIOCSTI fails outside the sandbox too ($o)" "TIOCSTI on the controlling terminal fails with EPERM"
        fi
else
        skip "no perl" "TIOCSTI on the controlling terminal fails with EPERM"
fi

# The client's own terminal: fencectl under script(1), the command pushes a
# character into its stdin, which is that terminal.
sti_pl='my $c = "x"; if (ioctl(STDIN, 0x5412, $c)) { print "STI: ok\n" } else { printf "STI: %s\n", ($! + 0 == 1 ? "EPERM" : "$!") }'
if command -v script >/dev/null && command -v perl >/dev/null; then
        o=$(as_user script -qec "perl -e '$sti_pl'" /dev/null </dev/null 2>&1 | tr -d '\r')
        if [ "$(grep -o 'STI: .*' <<<"$o")" = "STI: ok" ]; then
                capture as_user script -qec "$FENCECTL --socket $SOCK run -- perl -e '$sti_pl'" /dev/null
                OUT=$(tr -d '\r' <<<"$OUT")
                is "$(grep -o 'STI: .*' <<<"$OUT")" "STI: EPERM" "TIOCSTI into the client's terminal (script -qc) fails with EPERM (works outside)"
        else
                skip "TIOCSTI on script's terminal fails outside too ($o)" "TIOCSTI into the client's terminal fails"
        fi
else
        skip "needs script and perl" "TIOCSTI into the client's terminal fails"
fi

# --- fencectl features ------------------------------------------------------
fctl_capture features
is "$RC" 0 "fencectl features exits 0"
like "$OUT" "^seccomp: yes" "...says seccomp is enforced"
list=$(sed -n 's/^seccompDenyList: //p' <<<"$OUT")
missing=
for name in ptrace process_vm_readv process_vm_writev keyctl add_key request_key userfaultfd \
            perf_event_open bpf kexec_load kexec_file_load reboot syslog acct mount umount2 \
            pivot_root swapon swapoff sethostname setdomainname init_module finit_module \
            delete_module ioperm iopl setns open_by_handle_at io_uring_setup fanotify_init \
            'personality(' 'ioctl(TIOCSTI)' 'clone(CLONE_NEWUSER)' 'unshare(CLONE_NEWUSER)' 'clone3('; do
        grep -qF -- " $name" <<<" $list" || missing+=" $name"
done
is "$missing" "" "...and its seccompDenyList names every denied call"

finish
