#!/bin/bash
# filesystem.* of fence.json enforced for an unprivileged user: allowWrite,
# denyWrite, denyRead, globs, the mandatory protection of dangerous files,
# extends (merging, cycles, "!entry"), defaultDenyRead, escalation attempts
# that must gain nothing, and the errors of malformed files. Every denial is
# checked on the host too: the file is byte-for-byte unchanged, or was not
# created.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fenced_start

# Placeholders are removed by a child of fenced ("fenced-sweep") that it
# starts when a sandbox ends, before the client hears of the end: once no
# sweep runs, the removal is over.
sweeps_done() {
        wait_until 5 eval '! pgrep -x fenced-sweep >/dev/null'
}


HOME_DIR=$(getent passwd "$TEST_USER" | cut -d: -f6)

# as_user CMD...: runs CMD as the test user outside any sandbox (set-up).
as_user() {
        setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
                env -i HOME="$HOME_DIR" PATH="$USER_PATH" "$@"
}

# newcase NAME: a fresh directory owned by the test user, the cwd of the
# following fctl_capture calls.
newcase() {
        CASE=$T/work/$1
        mkdir -p "$CASE"
        chown "$TEST_USER:$TEST_USER" "$CASE"
        # shellcheck disable=SC2034 # read by fctl_exec in lib.sh
        FCTL_CWD=$CASE
}

# put FILE CONTENT: writes FILE (relative to $CASE) as the test user.
put() {
        as_user sh -c 'mkdir -p "$(dirname "$1")" && printf "%s\n" "$2" >"$1"' sh "$CASE/$1" "$2"
}

sum() {
        sha256sum <"$1" | cut -d' ' -f1
}

# The user config (step 4 of the discovery) would change every case below.
for f in "$HOME_DIR/.config/fence/fence.json" "$HOME_DIR/.config/fence/fence.jsonc" \
         "$HOME_DIR/.fence.json" "$HOME_DIR/.fence.jsonc"; do
        [ ! -e "$f" ] || bail_out "$f exists: the test user must have no user config"
done

# --- default: cwd read-only, /tmp writable ---------------------------------
newcase default
put keep.txt "keep me"
before=$(sum "$CASE/keep.txt")
fctl_capture run -- sh -c 'echo evil >keep.txt'
isnt "$RC" 0 "default policy: overwriting a file in the cwd fails"
like "$ERR" "Read-only file system" "...with 'Read-only file system'"
is "$(sum "$CASE/keep.txt")" "$before" "...and the file is unchanged"
fctl_capture run -- touch new.txt
isnt "$RC" 0 "default policy: creating a file in the cwd fails"
check "...and it was not created" test ! -e "$CASE/new.txt"
fctl_capture run -- sh -c 'echo hi >/tmp/t && cat /tmp/t'
is "$RC/$OUT" "0/hi" "default policy: /tmp is writable"

# --- allowWrite ["."] with denyWrite --------------------------------------
newcase allow-write
put fence.json '{ "filesystem": { "allowWrite": ["."], "denyWrite": ["./ro.txt"] } }'
put ro.txt "read only"
put rw.txt "old"
before=$(sum "$CASE/ro.txt")
fctl_capture run -- sh -c 'echo new >rw.txt && mkdir d && echo x >d/f && cat rw.txt d/f'
is "$RC/$OUT" $'0/new\nx' "allowWrite [\".\"]: writing and creating in the cwd works"
is "$(cat "$CASE/rw.txt" "$CASE/d/f" 2>&1)" $'new\nx' "...and the host sees the new content"
fctl_capture run -- sh -c 'echo evil >>ro.txt'
isnt "$RC" 0 "denyWrite [\"./ro.txt\"]: appending to it fails"
like "$ERR" "Read-only file system" "...with 'Read-only file system'"
fctl_capture run -- rm -f ro.txt
isnt "$RC" 0 "...removing it fails"
fctl_capture run -- mv ro.txt moved.txt
isnt "$RC" 0 "...renaming it fails"
is "$(sum "$CASE/ro.txt")" "$before" "...and ro.txt is byte-for-byte unchanged"
check "...and no renamed copy exists" test ! -e "$CASE/moved.txt"

# A read-only mount of the host below an allowWrite path stays read-only:
# the caller cannot write there outside the sandbox either. (Made in
# fenced's mount namespace: the test's fenced has one of its own, which
# receives no mount made later where / is not shared.)
in_fenced_ns() {
        nsenter --mount="/proc/$FENCED_PID/ns/mnt" -- "$@"
}
newcase host-ro-mount
put fence.json '{ "filesystem": { "allowWrite": ["."] } }'
put data/file.txt "host read-only"
before=$(sum "$CASE/data/file.txt")
if in_fenced_ns mount --bind "$CASE/data" "$CASE/data" && in_fenced_ns mount -o remount,bind,ro "$CASE/data"; then
        check "outside the sandbox, $TEST_USER cannot write below the read-only mount" \
                in_fenced_ns setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups -- \
                sh -c "! (echo x >>'$CASE/data/file.txt') 2>/dev/null"
        fctl_capture run -- sh -c 'echo evil >>data/file.txt'
        isnt "$RC" 0 "allowWrite [\".\"]: a host read-only mount below it stays read-only"
        like "$ERR" "Read-only file system" "...with 'Read-only file system'"
        is "$(sum "$CASE/data/file.txt")" "$before" "...and the file is unchanged"
        fctl_capture run -- sh -c 'echo ok >top.txt && cat top.txt'
        is "$RC/$OUT" "0/ok" "...while the rest of the tree is writable"
        in_fenced_ns umount "$CASE/data"
else
        skip "cannot make a read-only bind mount in fenced's namespace" "allowWrite: a host read-only mount below it stays read-only"
fi

# The same file given with -s, from another directory.
newcase settings-flag
fctl_capture run -s ../allow-write/fence.json -- sh -c 'echo s >s.txt'
is "$RC" 0 "-s FILE: the file's allowWrite [\".\"] applies to the cwd"
is "$(cat "$CASE/s.txt" 2>&1)" "s" "...and the file was written"

# -t TEMPLATE: local-dev-server writes the project.
newcase template
fctl_capture run -t local-dev-server -- sh -c 'echo t >t.txt'
is "$RC" 0 "-t local-dev-server: the cwd is writable"
is "$(cat "$CASE/t.txt" 2>&1)" "t" "...and the file was written"

# --- denyRead: a directory and a file --------------------------------------
newcase deny-read
put fence.json '{ "filesystem": { "denyRead": ["./secret", "./hidden.txt"] } }'
put secret/a.txt "secret a"
put hidden.txt "hidden"
put visible.txt "visible"
before=$(sum "$CASE/secret/a.txt")
fctl_capture run -- cat secret/a.txt
isnt "$RC" 0 "denyRead [\"./secret\"]: cat of a file in it fails"
unlike "$OUT" "secret a" "...and prints nothing of it"
like "$ERR" "secret/a\.txt: Permission denied" "...with 'Permission denied'"
fctl_capture run -- ls -A secret
if [ "$RC" != 0 ]; then
        pass "...ls of the directory fails"
else
        is "$OUT" "" "...ls of the directory shows nothing"
fi
fctl_capture run -- cat hidden.txt
isnt "$RC" 0 "denyRead of a file: cat fails"
unlike "$OUT" "hidden" "...and prints nothing of it"
fctl_capture run -- cat visible.txt
is "$RC/$OUT" "0/visible" "a file next to them stays readable"
is "$(sum "$CASE/secret/a.txt")" "$before" "the masked file is unchanged on the host"

# --- ways around denyWrite/denyRead inside a writable tree -----------------
newcase bypass
put fence.json '{ "filesystem": { "allowWrite": ["."], "denyWrite": ["./sub/ro.txt"], "denyRead": ["./sub/secret", "./**/.env"] } }'
put sub/ro.txt "read only"
put sub/secret/a.txt "secret"
put deep/x/.env "TOKEN=1"
before=$(sum "$CASE/sub/ro.txt")
fctl_capture run -- ln sub/ro.txt hardlink
isnt "$RC" 0 "a hard link to a denyWrite file cannot be made"
fctl_capture run -- sh -c 'echo evil >tmpf && mv -f tmpf sub/ro.txt'
isnt "$RC" 0 "renaming another file over it fails (editor-style save)"
# Renaming an ancestor would move the denied paths out of the rules of the
# next sandbox (they name ./sub/...): the ancestors are pinned.
fctl_capture run -- sh -c 'mv sub sub2 && { echo evil >>sub2/ro.txt; cat sub2/secret/a.txt; }'
isnt "$RC" 0 "renaming the parent directory of denyRead/denyWrite paths fails"
like "$ERR" "Device or resource busy" "...with 'Device or resource busy'"
unlike "$OUT" "secret" "...and nothing of the denyRead directory is printed"
check "...and sub/ is still in place on the host" test -d "$CASE/sub" -a ! -e "$CASE/sub2"
fctl_capture run -- sh -c 'mkdir -p sub/x && mv sub/secret sub/x/ ; mv sub/ro.txt sub/x/; ls sub/x'
is "$OUT" "" "...nor can the denied paths themselves be moved"
fctl_capture run -- sh -c 'echo evil >>sub/ro.txt; cat sub/secret/a.txt'
unlike "$OUT" "secret" "a second sandbox still cannot read the denyRead file"
is "$(sum "$CASE/sub/ro.txt")" "$before" "...nor change the denyWrite file"
put fence.json '{ "filesystem": { "allowWrite": ["."], "denyRead": ["./a/b/c/secret.txt"] } }'
put a/b/c/secret.txt "deep secret"
fctl_capture run -- sh -c 'mv a a2; mv a/b a/b2; mv a/b/c a/b/c2; cat a*/b*/c*/secret.txt'
unlike "$OUT" "deep secret" "denyRead 3 levels down: no ancestor can be renamed"
check "...and a/b/c is unchanged on the host" test -f "$CASE/a/b/c/secret.txt"
put fence.json '{ "filesystem": { "allowWrite": ["."], "denyWrite": ["./sub/ro.txt"], "denyRead": ["./sub/secret", "./**/.env"] } }'
check "no hard link of the denyWrite file exists" test ! -e "$CASE/hardlink"
fctl_capture run -- sh -c 'mv deep/x deep/y; cp -r deep deep2; cat deep/*/.env deep2/*/.env'
unlike "$OUT" "TOKEN" "denyRead [\"./**/.env\"]: renaming or copying its directory does not reveal it"

newcase relative-glob
put fence.json '{ "filesystem": { "allowWrite": ["."], "denyWrite": ["**/.env"] } }'
put app/.env "TOKEN=1"
before=$(sum "$CASE/app/.env")
fctl_capture run -- sh -c 'echo ok >plain.txt; echo evil >>app/.env'
is "$(cat "$CASE/plain.txt" 2>/dev/null)" "ok" "denyWrite [\"**/.env\"] (documented: matched below the cwd): the sandbox starts"
like "$ERR" "app/\.env: Read-only file system" "...and app/.env is read-only"
is "$(sum "$CASE/app/.env")" "$before" "...and app/.env is unchanged"

# --- allowWrite with a glob -------------------------------------------------
newcase glob
put fence.json '{ "filesystem": { "allowWrite": ["./out*"] } }'
as_user mkdir "$CASE/out1" "$CASE/out2" "$CASE/other"
fctl_capture run -- sh -c 'echo 1 >out1/f && echo 2 >out2/f'
is "$RC" 0 "allowWrite [\"./out*\"]: out1/ and out2/ are writable"
is "$(cat "$CASE/out1/f" "$CASE/out2/f" 2>&1)" $'1\n2' "...and the files exist on the host"
fctl_capture run -- sh -c 'echo 3 >other/f'
isnt "$RC" 0 "...other/ is not writable"
like "$ERR" "Read-only file system" "...with 'Read-only file system'"
check "...and other/f was not created" test ! -e "$CASE/other/f"
fctl_capture run -- sh -c 'echo 4 >outside.txt'
isnt "$RC" 0 "...the cwd itself is not writable"

# --- nested allowWrite paths: one bind where one suffices -----------------
# allowWrite ["./sub"] inside allowWrite ["."] (the same mount on the host)
# adds nothing to the view and is not bound again; a writable path inside a
# read-only one (defaultDenyRead's allowRead ["."]) still is.
newcase nested
as_user mkdir -p "$CASE/sub/deeper" "$CASE/w"
put fence.json '{ "filesystem": { "allowWrite": [".", "./sub/deeper", "./sub"] } }'
fctl_capture run -- sh -c 'echo 1 >sub/deeper/f && echo 2 >sub/f && echo 3 >top.txt && awk -v d="$PWD" '"'"'$5 == d || $5 == d "/sub" || $5 == d "/sub/deeper" { print $5 }'"'"' /proc/self/mountinfo | sed "s|^$PWD|.|"'
is "$RC" 0 "allowWrite [".", "./sub/deeper", "./sub"]: all three are writable"
is "$OUT" "." "...and only the cwd is a mount point in the view (one bind)"
is "$(cat "$CASE/sub/deeper/f" "$CASE/sub/f" "$CASE/top.txt" 2>&1)" $'1\n2\n3' "...and the files exist on the host"
put fence.json '{ "filesystem": { "defaultDenyRead": true, "allowRead": ["."], "allowWrite": ["./w"] } }'
fctl_capture run -- sh -c 'echo 4 >w/f'
is "$RC" 0 "defaultDenyRead, allowRead [\".\"], allowWrite [\"./w\"]: w/ is writable"
is "$(cat "$CASE/w/f" 2>&1)" "4" "...and w/f exists on the host"
fctl_capture run -- sh -c 'echo 5 >top2.txt'
isnt "$RC" 0 "...the cwd itself is not writable"
check "...and top2.txt was not created" test ! -e "$CASE/top2.txt"

# A denyWrite file outside every writable path is read-only in the view
# already: it stays so, without a bind of its own.
as_user sh -c 'echo keep >"$1/ro2.txt"' sh "$CASE"
before=$(sum "$CASE/ro2.txt")
put fence.json '{ "filesystem": { "allowWrite": ["./w"], "denyWrite": ["./ro2.txt", "./w/ro3.txt"] } }'
as_user sh -c 'echo keep >"$1/w/ro3.txt"' sh "$CASE"
fctl_capture run -- sh -c 'echo evil >>ro2.txt || echo failed; echo evil >>w/ro3.txt || echo failed; awk -v d="$PWD" '"'"'$5 == d "/ro2.txt" || $5 == d "/w/ro3.txt" { print $5 }'"'"' /proc/self/mountinfo | sed "s|^$PWD|.|"'
is "$OUT" $'failed\nfailed\n./w/ro3.txt' "denyWrite outside the writable paths: appending fails, with no bind of its own; inside them: fails, with a bind"
like "$ERR" "ro2\.txt: Read-only file system" "...with 'Read-only file system'"
is "$(sum "$CASE/ro2.txt")" "$before" "...and ro2.txt is unchanged"
is "$(cat "$CASE/w/ro3.txt")" "keep" "...and w/ro3.txt too"

# --- bounds: a clear error, never a silently partial list -----------------
newcase bounds
as_user sh -c 'mkdir "$1/many" && cd "$1/many" && seq -f "f%.0f" 1 10001 | xargs touch' sh "$CASE"
put fence.json '{ "filesystem": { "denyRead": ["./many/*"] } }'
fctl_capture run -- true
is "$RC" 125 "a denyRead glob matching 10,001 paths: the sandbox is not created (125)"
like "$ERR" "filesystem\.denyRead: .*many/\*: .*matches more than 10000 paths" "...the error names the key, the pattern and the bound"
like "$ERR" "narrower pattern" "...and says what to do"
deep=$(printf 'd/%.0s' $(seq 1 70))
as_user mkdir -p "$CASE/$deep"
put fence.json '{ "filesystem": { "allowWrite": ["."] } }'
fctl_capture run -- true
is "$RC" 125 "allowWrite [\".\"] over a tree 70 directories deep: the sandbox is not created (125)"
like "$ERR" "deeper than 64 directories" "...the error names the bound"
like "$ERR" "smaller directory" "...and says what to do"
as_user rm -rf "$CASE/many" "$CASE/d"

# --- mandatory protection inside allowWrite ["."] --------------------------
newcase protect
put fence.json '{ "filesystem": { "allowWrite": ["."] } }'
put .bashrc "echo bashrc"
put .gitconfig "[user] name = me"
put .git/config "[core] bare = false"
put .git/hooks/pre-commit "#!/bin/sh"
declare -A sums
for f in .bashrc .gitconfig .git/config .git/hooks/pre-commit; do
        sums[$f]=$(sum "$CASE/$f")
done
for f in .bashrc .gitconfig .git/config .git/hooks/pre-commit; do
        fctl_capture run -- sh -c "echo evil >>'$f'"
        isnt "$RC" 0 "protected $f: appending fails"
        like "$ERR" "Read-only file system" "...with 'Read-only file system'"
        fctl_capture run -- rm -f "$f"
        isnt "$RC" 0 "protected $f: removing fails"
        is "$(sum "$CASE/$f")" "${sums[$f]}" "...and $f is byte-for-byte unchanged"
done
fctl_capture run -- sh -c 'mv .git .g; mkdir -p .git/hooks; echo evil >.git/hooks/post-checkout'
check "renaming .git away and recreating hooks/ fails" test ! -e "$CASE/.git/hooks/post-checkout"
check "...and .git is still in place" test -f "$CASE/.git/config" -a ! -e "$CASE/.g"
fctl_capture run -- sh -c 'echo ok >plain.txt'
is "$RC" 0 "an ordinary file next to them is writable"

# The same protection in the home directory (allowWrite ["~"]).
for f in .bashrc .profile; do
        [ -e "$HOME_DIR/$f" ] || as_user sh -c 'echo "# fence-itest" >"$1"' sh "$HOME_DIR/$f"
        sums[$f]=$(sum "$HOME_DIR/$f")
done
# Outside every writable path (allowWrite ["."] in another directory) they
# are read-only without a bind of their own.
put fence.json '{ "filesystem": { "allowWrite": ["."] } }'
fctl_capture run -- sh -c 'echo evil >>~/.bashrc || echo failed; awk -v h="$HOME" '"'"'$5 == h "/.bashrc" || $5 == h "/.profile" { print $5 }'"'"' /proc/self/mountinfo'
is "$OUT" "failed" "allowWrite [\".\"] elsewhere: appending to ~/.bashrc fails, and ~/.bashrc and ~/.profile need no bind"
is "$(sum "$HOME_DIR/.bashrc")" "${sums[.bashrc]}" "...and ~/.bashrc is unchanged"
put fence.json '{ "filesystem": { "allowWrite": ["~"] } }'
fctl_capture run -- sh -c 'echo evil >>~/.bashrc'
isnt "$RC" 0 "allowWrite [\"~\"]: appending to ~/.bashrc fails"
fctl_capture run -- sh -c 'awk -v h="$HOME" '"'"'$5 == h "/.bashrc" { print "bound" }'"'"' /proc/self/mountinfo'
is "$OUT" "bound" "...where it is bound read-only"
fctl_capture run -- sh -c 'echo evil >>~/.profile'
isnt "$RC" 0 "...appending to ~/.profile fails"
is "$(sum "$HOME_DIR/.bashrc")/$(sum "$HOME_DIR/.profile")" "${sums[.bashrc]}/${sums[.profile]}" "...and both are unchanged"
fctl_capture run -- sh -c 'echo ok >~/fence-itest-home-$$ && cat ~/fence-itest-home-$$ && rm ~/fence-itest-home-$$'
is "$RC/$OUT" "0/ok" "...while an ordinary file in the home can be written"

newcase protect-missing
put fence.json '{ "filesystem": { "allowWrite": ["."] } }'
put .git/config "[core] bare = false"
fctl_capture run -- sh -c 'mkdir -p .git/hooks; echo evil >.git/hooks/pre-commit'
isnt "$RC" 0 "creating .git/hooks/pre-commit where .git/hooks was missing fails"
check "...and no pre-commit hook exists" test ! -e "$CASE/.git/hooks/pre-commit"
fctl_capture run -- sh -c 'echo evil >.bashrc'
isnt "$RC" 0 "creating a missing .bashrc fails"
like "$ERR" "Read-only file system" "...with 'Read-only file system'"
sweeps_done
check "...and no .bashrc exists after the run" test ! -e "$CASE/.bashrc"
for f in .gitmodules .mcp.json .gitconfig .profile; do
        fctl_capture run -- sh -c "echo evil >$f || ln -s /etc/passwd $f || mv fence.json $f"
        isnt "$RC" 0 "creating a missing $f fails (write, symlink, rename)"
        sweeps_done
        check "...and $f does not exist after the run" test ! -e "$CASE/$f"
done
check "fence.json is still in place" test -f "$CASE/fence.json"
fctl_capture run -- sh -c 'mkdir -p .claude/commands && echo evil >.claude/commands/x.md'
isnt "$RC" 0 "creating .claude/commands/x.md where .claude was missing fails"
sweeps_done
check "...and no .claude is left" test ! -e "$CASE/.claude"
fctl_capture run -- sh -c 'echo "[core] hooksPath = /var/tmp" >.git/config.new && mv .git/config.new .git/config'
isnt "$RC" 0 "replacing .git/config by a rename fails"
is "$(cat "$CASE/.git/config")" "[core] bare = false" "...and .git/config is unchanged"

# Placeholders: they exist while the sandbox runs (read-only, empty), and
# nothing new is left in the project or the home afterwards.
newcase placeholders
put fence.json '{ "filesystem": { "allowWrite": [".", "~"] } }'
put .git/HEAD "ref: refs/heads/main"
home_before=$(ls -A "$HOME_DIR" | sort)
case_before=$(cd "$CASE" && find . | sort)
fctl_capture run -- sh -c 'test -f .mcp.json && test ! -s .mcp.json && test -d .vscode && test -d .git/hooks && test -f ~/.zshrc && echo present'
is "$RC/$OUT" "0/present" "while the sandbox runs, the missing names are empty placeholders"
sweeps_done
is "$(cd "$CASE" && find . | sort)" "$case_before" "after the run, no new entry is left in the project"
is "$(ls -A "$HOME_DIR" | sort)" "$home_before" "...nor in the home"
is "$(ls -A "$T/state/placeholders" 2>&1)" "" "...and no placeholder record is left"
# A placeholder the user filled meanwhile (outside the sandbox) is theirs.
fctl_bg "$TEST_USER" "$T/bg.out" run -- sh -c 'while [ ! -e /tmp/stop ]; do sleep 0.05; done'
wait_until 5 test -e "$CASE/.gitmodules"
as_user sh -c 'echo "[submodule]" >"$1/.gitmodules"' sh "$CASE"
id=$(sandbox_id_of "$TEST_USER" "while")
fctl_capture kill -s KILL "$id"
wait "$BG_PID"
sweeps_done
is "$(cat "$CASE/.gitmodules" 2>&1)" "[submodule]" "a placeholder the user wrote to is kept"
is "$(cd "$CASE" && find . | sort)" "$(printf '%s\n' "$case_before" ./.gitmodules | sort)" "...and everything else is removed"
as_user rm -f "$CASE/.gitmodules"

# Two sandboxes in one project: the second finds the first one's
# placeholders as existing protected names and mounts on them. Removing
# them when the first ends must not unprotect the second.
fctl_bg "$TEST_USER" "$T/bg.out" run -- sh -c 'while [ ! -e /tmp/stop ]; do sleep 0.05; done'
first_pid=$BG_PID
wait_until 5 test -e "$CASE/.gitmodules"
first=$(sandbox_id_of "$TEST_USER" "while")
fctl_bg "$TEST_USER" "$T/bg2.out" run -- sh -c 'touch /tmp/ready; while [ ! -e /tmp/stop ]; do sleep 0.05; done; echo evil >.gitmodules; mkdir -p .git/hooks; echo evil >.git/hooks/pre-commit; echo evil >>~/.zshrc'
second_pid=$BG_PID
# /tmp is private: reach the second sandbox's /tmp through its root.
second_ready() {
        pid2=$(pgrep -u "$TEST_USER" -n -f "touch /tmp/ready")
        [ -n "$pid2" ] && [ -e "/proc/$pid2/root/tmp/ready" ]
}
if wait_until 10 second_ready; then
        fctl_capture kill -s KILL "$first"
        wait "$first_pid"
        sweeps_done
        check "when the first sandbox ends, its placeholders stay while the second uses them" test -e "$CASE/.gitmodules"
        touch "/proc/$pid2/root/tmp/stop"
        wait "$second_pid"
        sweeps_done
        unlike "$(cat "$CASE/.gitmodules" 2>/dev/null)" "evil" "...and the second sandbox still cannot create .gitmodules"
        check "...nor a pre-commit hook" test ! -e "$CASE/.git/hooks/pre-commit"
        is "$(grep -c evil "$HOME_DIR/.zshrc" 2>/dev/null)" "" "...nor write ~/.zshrc"
else
        fail "the second sandbox started" "$(cat "$T/bg2.out.err")"
        kill "$first_pid" "$second_pid" 2>/dev/null
        wait "$first_pid" "$second_pid"
        sweeps_done
fi
is "$(cd "$CASE" && find . | sort)" "$case_before" "after both ended, every placeholder is removed"
is "$(ls -A "$HOME_DIR" | sort)" "$home_before" "...in the home too"

# After SIGKILL of fenced, the next fenced removes what was left.
fctl_bg "$TEST_USER" "$T/bg.out" run -- sh -c 'while [ ! -e /tmp/stop ]; do sleep 0.05; done'
if wait_until 5 test -e "$CASE/.gitmodules"; then
        pass "a second sandbox made its placeholders"
else
        fail "a second sandbox made its placeholders"
fi
kill -KILL "$FENCED_PID"
wait "$FENCED_PID" 2>/dev/null
FENCED_PID=
wait "$BG_PID" 2>/dev/null
check "...after SIGKILL of fenced they are still there" test -e "$CASE/.gitmodules"
fenced_start
is "$(cd "$CASE" && find . | sort)" "$case_before" "the restarted fenced removed every placeholder in the project"
is "$(ls -A "$HOME_DIR" | sort)" "$home_before" "...and in the home"
like "$(cat "$T/fenced.log")" "Removed the placeholders left in users. directories by 1 sandbox" "...and logged it"

newcase git-config
put fence.json '{ "filesystem": { "allowWrite": ["."], "allowGitConfig": true } }'
put .git/config "[core] bare = false"
put .git/hooks/pre-commit "#!/bin/sh"
before=$(sum "$CASE/.git/hooks/pre-commit")
fctl_capture run -- sh -c 'echo "[x] y = z" >>.git/config'
is "$RC" 0 "allowGitConfig: true: .git/config is writable"
is "$(tail -n 1 "$CASE/.git/config")" "[x] y = z" "...and the host sees the change"
fctl_capture run -- sh -c 'echo evil >>.git/hooks/pre-commit'
isnt "$RC" 0 "...but the hooks stay read-only"
is "$(sum "$CASE/.git/hooks/pre-commit")" "$before" "...and the hook is unchanged"

# --- the protection walk's watch: changes between launches ------------------
# fenced marks the directories of a walked tree with fanotify; a launch in an
# unchanged tree takes them from the walk cache without a stat. Each case
# below first makes sure the watch holds a mark on the directory that then
# changes on the host (so the launch after the change would have trusted the
# cache), then checks that the change is protected all the same.
newcase watch
put fence.json '{ "filesystem": { "allowWrite": ["."] } }'
as_user mkdir -p "$CASE/sub/deep" "$CASE/sub/other"
put sub/repo/.git/config "[core] bare = false"
put sub/repo/.git/hooks/pre-commit "#!/bin/sh"
put sub/other/old.mcp "x"

# Whether one of fenced's fanotify groups marks the inode of PATH
# (/proc/PID/fdinfo/FD: "fanotify ino:<hex> ...").
watched() {
        local ino
        ino=$(printf '%x' "$(stat -c %i "$1")")
        # -q: a match wins over an fd that vanished while grep read the list.
        grep -qs "^fanotify ino:$ino " /proc/"$FENCED_PID"/fdinfo/*
}
# The walk cache keeps only directories whose last change is older than
# 100 ms (fs-protect-cache.h): wait until the tree's are, then launch twice
# (the first launch may still list and mark them) until DIR is marked.
watch_settled() {
        local dir=$1 i
        wait_until 5 eval '[ -z "$(find "$CASE" -newerct "@$(date -d "0.3 seconds ago" +%s.%N)" -print -quit)" ]'
        for i in 1 2 3; do
                fctl_capture run -- true
                sweeps_done
                watched "$dir" && return 0
        done
        return 1
}
check "the watch marks the cached directory sub/deep" watch_settled "$CASE/sub/deep"
put sub/deep/.git/config "[core] bare = false"
put sub/deep/.git/hooks/pre-commit "#!/bin/sh"
before=$(sum "$CASE/sub/deep/.git/hooks/pre-commit")
fctl_capture run -- sh -c 'echo evil >>sub/deep/.git/hooks/pre-commit'
isnt "$RC" 0 "a .git/hooks made on the host in a watched directory: appending to its hook fails"
is "$(sum "$CASE/sub/deep/.git/hooks/pre-commit")" "$before" "...and the hook is unchanged"
fctl_capture run -- sh -c 'echo evil >sub/deep/.git/hooks/post-checkout'
isnt "$RC" 0 "...and adding a hook fails"
check "...and no post-checkout hook exists" test ! -e "$CASE/sub/deep/.git/hooks/post-checkout"

check "the watch marks sub/other" watch_settled "$CASE/sub/other"
put sub/other/.mcp.json '{}'
fctl_capture run -- sh -c 'echo evil >>sub/other/.mcp.json'
isnt "$RC" 0 "a protected file made on the host in a watched directory: appending fails"
is "$(cat "$CASE/sub/other/.mcp.json")" "{}" "...and it is unchanged"

check "the watch marks sub/repo/.git" watch_settled "$CASE/sub/repo/.git"
as_user mv "$CASE/sub/repo" "$CASE/sub/moved"
before=$(sum "$CASE/sub/moved/.git/hooks/pre-commit")
fctl_capture run -- sh -c 'echo evil >>sub/moved/.git/hooks/pre-commit'
isnt "$RC" 0 "a repository renamed on the host: appending to its hook at the new path fails"
is "$(sum "$CASE/sub/moved/.git/hooks/pre-commit")" "$before" "...and the hook is unchanged"

check "the watch marks sub/other again" watch_settled "$CASE/sub/other"
as_user rm "$CASE/sub/other/.mcp.json"
fctl_capture run -- sh -c 'echo ok >sub/other/new.txt'
is "$RC" 0 "a protected file removed on the host: the next launch works"
sweeps_done
check "...and leaves no .mcp.json behind" test ! -e "$CASE/sub/other/.mcp.json"

check "the watch marks sub/deep/.git again" watch_settled "$CASE/sub/deep/.git"
as_user chmod 0700 "$CASE/sub/deep/.git/hooks"
as_user rm -r "$CASE/sub/deep/.git/hooks"
fctl_capture run -- sh -c 'mkdir -p sub/deep/.git/hooks; echo evil >sub/deep/.git/hooks/pre-commit'
isnt "$RC" 0 "hooks removed on the host in a watched git directory: recreating a hook fails"
sweeps_done
check "...and no pre-commit hook exists" test ! -e "$CASE/sub/deep/.git/hooks/pre-commit"

# --- extends ----------------------------------------------------------------
newcase extends
put cfg/parent.json '{ "filesystem": { "allowWrite": ["./a"], "denyRead": ["./c", "./a/s.txt"] } }'
put fence.json '{ "extends": "./cfg/parent.json", "filesystem": { "allowWrite": ["./b"], "denyRead": ["!./c"] } }'
put a/s.txt "a secret"
put c/s.txt "c readable again"
as_user mkdir -p "$CASE/b"
fctl_capture run -- sh -c 'echo a >a/x && echo b >b/x'
is "$RC" 0 "extends: the parent's and the child's allowWrite are merged"
is "$(cat "$CASE/a/x" "$CASE/b/x" 2>&1)" $'a\nb' "...and both files were written"
fctl_capture run -- cat a/s.txt
isnt "$RC" 0 "...the parent's denyRead [\"./a/s.txt\"] still applies"
fctl_capture run -- cat c/s.txt
is "$RC/$OUT" "0/c readable again" "\"!./c\" removes the parent's denyRead entry: c/ is readable"
fctl_capture config show
like "$ERR" "1\. $CASE/cfg/parent\.json" "config show lists the parent first"
unlike "$OUT" '"!' "...and the merged configuration has no '!' entries"

newcase extends-cycle
put a.json '{ "extends": "./b.json" }'
put b.json '{ "extends": "./a.json" }'
fctl_capture run -s a.json -- true
is "$RC" 125 "extends cycle: exit 125"
like "$ERR" "a\.json" "...the message names a.json"
like "$ERR" "b\.json" "...and b.json"
fctl_capture config check a.json
is "$RC" 1 "config check of the cycle exits 1"

# --- defaultDenyRead ------------------------------------------------------
newcase deny-default
as_user sh -c 'echo home secret >"$HOME/fence-itest-home.txt"; mkdir -p "$HOME/fence-itest-allowed"; echo allowed >"$HOME/fence-itest-allowed/f"'
put fence.json '{ "filesystem": { "defaultDenyRead": true, "allowRead": [".", "~/fence-itest-allowed"] } }'
fctl_capture run -- cat /etc/hostname
is "$RC/$OUT" "0/$(cat /etc/hostname)" "defaultDenyRead: /etc/hostname is readable"
fctl_capture run -- sh -c 'cat ~/fence-itest-home.txt'
isnt "$RC" 0 "...a file in the home outside the allow lists is not"
unlike "$OUT" "home secret" "...and nothing of it is printed"
fctl_capture run -- sh -c 'cat ~/fence-itest-allowed/f'
is "$RC/$OUT" "0/allowed" "...an allowRead path is readable"
fctl_capture run -- cat fence.json
is "$RC" 0 "...the cwd in allowRead is readable"
fctl_capture run -- ls /var/tmp
isnt "$RC" 0 "...a system directory outside the essential paths is not listable"
rm -rf "$HOME_DIR/fence-itest-home.txt" "$HOME_DIR/fence-itest-allowed"

# The three tiers for non-system paths (defaultDenyRead): allowExecute reads
# and runs files by name but cannot list; allowRead also lists; neither
# writes.
newcase tiers
# (Outside the cwd, which must be readable: rights add up along a hierarchy.)
X=$T/work/tiers-x R=$T/work/tiers-r
as_user sh -c 'mkdir -p "$1" "$2" && printf "#!/bin/sh\necho tool-ran\n" >"$1/tool" && chmod 755 "$1/tool" && echo xdata >"$1/data" && echo rdata >"$2/data"' sh "$X" "$R"
put fence.json "{ \"filesystem\": { \"defaultDenyRead\": true, \"allowRead\": [\".\", \"$R\"], \"allowExecute\": [\"$X\"] } }"
fctl_capture run -- "$X/tool"
is "$RC/$OUT" "0/tool-ran" "allowExecute: a program in it runs"
fctl_capture run -- cat "$X/data"
is "$RC/$OUT" "0/xdata" "...a file in it can be read by name"
fctl_capture run -- ls "$X"
isnt "$RC" 0 "...but the directory cannot be listed"
like "$ERR" "Permission denied" "...with 'Permission denied' (Landlock)"
fctl_capture run -- sh -c "echo evil >>$X/data"
isnt "$RC" 0 "...nor written"
fctl_capture run -- ls "$R"
is "$RC/$OUT" "0/data" "allowRead: the directory can be listed"
fctl_capture run -- sh -c "echo evil >>$R/data"
isnt "$RC" 0 "...but not written"
is "$(cat "$X/data" "$R/data")" $'xdata\nrdata' "...and both files are unchanged"

# strictDenyRead: not even the essential system paths, only the allow lists.
newcase strict
put data.txt "data"
put fence.json '{ "filesystem": { "strictDenyRead": true, "allowRead": [".", "/usr", "/bin", "/lib", "/lib64"] } }'
fctl_capture run -- cat data.txt
is "$RC/$OUT" "0/data" "strictDenyRead: an allowRead path is readable (programs from allowRead /usr, /bin, /lib*)"
fctl_capture run -- cat /etc/hostname
isnt "$RC" 0 ".../etc (an essential path with defaultDenyRead) is not"
unlike "$OUT" "$(cat /etc/hostname)" "...and nothing of it is printed"
fctl_capture run -- sh -c 'ls /etc /var 2>&1; test -e /etc/passwd && echo visible'
unlike "$OUT" "visible" "...nor /etc/passwd"
put fence.json '{ "filesystem": { "strictDenyRead": true, "allowRead": ["."] } }'
fctl_capture run -- true
is "$RC" 127 "strictDenyRead with only the cwd allowed: the command cannot be found (127)"

# wslInterop: /init is executable with defaultDenyRead where it exists (WSL).
newcase wsl
put fence.json '{ "filesystem": { "defaultDenyRead": true, "allowRead": ["."], "wslInterop": true } }'
fctl_capture run -- sh -c 'test -e /init && echo init; echo ran'
if [ -e /init ]; then
        is "$RC/$OUT" $'0/init\nran' "wslInterop: true with defaultDenyRead: /init is there"
else
        is "$RC/$OUT" "0/ran" "wslInterop: true on a host without /init: the sandbox starts all the same"
fi

# --- devices -------------------------------------------------------------------
extra_dev=
for d in /dev/loop-control /dev/kmsg /dev/mem; do
        [ -e "$d" ] && { extra_dev=$d; break; }
done
newcase devices
if [ -n "$extra_dev" ]; then
        fctl_capture run -- test -e "$extra_dev"
        isnt "$RC" 0 "default minimal /dev: $extra_dev is not there"
        put fence.json "{ \"devices\": { \"allow\": [\"$extra_dev\", \"/dev/fence-itest-missing\"] } }"
        fctl_capture run -- sh -c "test -c $extra_dev && echo present; test -e /dev/fence-itest-missing || echo skipped; head -c 1 $extra_dev"
        like "$OUT" "present" "devices.allow: $extra_dev is passed through"
        like "$OUT" "skipped" "...a missing device is skipped"
        like "$ERR" "Permission denied" "...and the kernel's permission check as the caller still applies (root-only node)"
        put fence.json '{ "devices": { "mode": "host" } }'
        fctl_capture run -- sh -c "test -c $extra_dev && echo present; echo x >/dev/null && echo null-ok"
        is "$RC/$OUT" $'0/present\nnull-ok' "devices.mode \"host\": the host's /dev, device nodes usable"
else
        skip "no root-only device node to pass through on this host" "devices.allow"
fi

# --- escalation attempts ----------------------------------------------------
shadow_before=$(sum /etc/shadow)
passwd_before=$(sum /etc/passwd)
newcase escalate
as_user mkdir "$CASE/rw"
as_user ln -s /etc/shadow "$CASE/rw/shadow"
as_user ln -s /etc "$CASE/rw/etc"
put fence.json '{ "filesystem": { "allowWrite": ["./rw", "./rw/shadow", "/etc", "/var/lib"], "allowRead": ["/root"] } }'
fctl_capture run -- cat rw/shadow
isnt "$RC" 0 "a symlink to /etc/shadow in an allowWrite dir (and itself in allowWrite): reading through it fails"
like "$ERR" "Permission denied" "...with 'Permission denied'"
fctl_capture run -- sh -c 'echo "evil::0:0::/:/bin/sh" >>rw/shadow'
isnt "$RC" 0 "...writing through it fails"
fctl_capture run -- sh -c 'ln -sf /etc/shadow rw/shadow2 && cat rw/shadow2'
isnt "$RC" 0 "...a symlink made inside the sandbox reads nothing either"
fctl_capture run -- sh -c 'echo "evil::0:0::/:/bin/sh" >>/etc/passwd'
isnt "$RC" 0 "allowWrite [\"/etc\"]: appending to /etc/passwd fails"
like "$ERR" "Permission denied" "...with 'Permission denied' (the kernel's own check)"
fctl_capture run -- sh -c 'echo "evil::0:0::/:/bin/sh" >>rw/etc/passwd'
isnt "$RC" 0 "...also through a symlink to /etc"
fctl_capture run -- touch /etc/fence-itest-$$
isnt "$RC" 0 "...creating a file in /etc fails"
check "...and it does not exist on the host" test ! -e "/etc/fence-itest-$$"
fctl_capture run -- touch /var/lib/fence-itest-$$
isnt "$RC" 0 "allowWrite [\"/var/lib\"] (root-owned): creating a file there fails"
like "$ERR" "Permission denied" "...with 'Permission denied'"
check "...and it does not exist on the host" test ! -e "/var/lib/fence-itest-$$"
fctl_capture run -- ls /root
isnt "$RC" 0 "allowRead [\"/root\"]: /root still cannot be listed"
newcase escalate-ddr
put fence.json '{ "filesystem": { "defaultDenyRead": true, "allowRead": [".", "/root"] } }'
fctl_capture run -- ls -A /root
isnt "$RC" 0 "defaultDenyRead + allowRead [\"/root\"]: /root still cannot be listed"
is "$(sum /etc/shadow)" "$shadow_before" "/etc/shadow is unchanged"
is "$(sum /etc/passwd)" "$passwd_before" "/etc/passwd is unchanged"

# --- malformed configurations ----------------------------------------------
newcase malformed
put unknown.json '{ "filesystem": { "allowWrit": ["."] } }'
put type.json '{ "filesystem": { "allowWrite": "." } }'
as_user sh -c 'printf "{ \"filesystem\": {\n  \"allowWrite\": [\".\",, ] } }\n" >"$1"' sh "$CASE/bad.json"
put good.json '{ "filesystem": { "allowWrite": ["."] } }'
fctl_capture run -s unknown.json -- true
is "$RC" 125 "an unknown key: exit 125"
like "$ERR" "unknown\.json: filesystem\.allowWrit: unknown key" "...naming the file and the key"
fctl_capture run -s type.json -- true
is "$RC" 125 "a wrong type: exit 125"
like "$ERR" "type\.json: filesystem\.allowWrite: expected" "...naming the file and the key"
fctl_capture run -s bad.json -- true
is "$RC" 125 "bad JSON: exit 125"
like "$ERR" "bad\.json:2:[0-9]+:" "...naming the file, line and column"
fctl_capture run --lenient -s unknown.json -- echo lenient
is "$RC/$OUT" "0/lenient" "--lenient accepts the unknown key"
as_user cp "$CASE/unknown.json" "$CASE/fence.json"
fctl_capture run -- true
is "$RC" 125 "a discovered ./fence.json with an unknown key: exit 125"
like "$ERR" "$CASE/fence\.json: filesystem\.allowWrit" "...naming the file and the key"
for f in unknown type bad; do
        fctl_capture config check $f.json
        is "$RC" 1 "config check $f.json exits 1"
done
fctl_capture config check good.json
is "$RC" 0 "config check good.json exits 0"

# --- templates of a policy's mounts (fenced/fs-template.h) -------------------
# A launch that had to make denyWrite binds and pins leaves fenced a copy of
# its mount namespace; the next launch of the same user with the same policy
# in the same directory clones its writable tree from there. Whatever
# changed on the host in between must not leave the view weaker: each case
# makes a template, changes the tree or the config, and checks the real
# outcome (the write fails, the file is unchanged, the rename is refused).
# fenced runs with --debug here: its log tells whether a template was
# offered and whether the launch had to make a new one.
fenced_stop
fenced_start --debug
stored_count() { grep -c "Stored a filesystem template" "$T/fenced.log"; }
offered_count() { grep -c "Filesystem template for uid [0-9]*: offered" "$T/fenced.log"; }

newcase tmpl
put fence.json '{ "filesystem": { "allowWrite": ["."], "denyWrite": ["./sub/ro.txt", "./d/e/ro2.txt"] } }'
put sub/ro.txt "read only"
put d/e/ro2.txt "read only too"
put other.txt "other"
fctl_capture run -- true
is "$RC" 0 "template: the first launch works"
stored=$(stored_count) offered=$(offered_count)
cmp_num "$stored" -ge 1 "...and leaves fenced a template"
before=$(sum "$CASE/sub/ro.txt")
fctl_capture run -- sh -c 'echo evil >>sub/ro.txt; echo evil >>d/e/ro2.txt; mv sub sub2; mv d/e d/e2; echo ok >w.txt'
is "$(cat "$CASE/w.txt" 2>/dev/null)" "ok" "template: the second launch writes its writable tree"
is "$(sum "$CASE/sub/ro.txt")" "$before" "...not the denyWrite file"
is "$(cat "$CASE/d/e/ro2.txt")" "read only too" "...nor the deeper one"
check "...and its pinned parents stay in place" test -d "$CASE/sub" -a -d "$CASE/d/e" -a ! -e "$CASE/sub2" -a ! -e "$CASE/d/e2"
cmp_num "$(offered_count)" -gt "$offered" "...with the template offered"
is "$(stored_count)" "$stored" "...and used as it was (no new one)"

# The denyWrite file replaced by another inode (an editor's save).
as_user sh -c 'cd "$1" && echo replaced >sub/tmp && mv -f sub/tmp sub/ro.txt' sh "$CASE"
fctl_capture run -- sh -c 'echo evil >>sub/ro.txt; echo evil >sub/ro.txt'
is "$(cat "$CASE/sub/ro.txt")" "replaced" "template: a denyWrite file replaced on the host (rename) stays read-only"

# The same inode under a new directory entry: unlinking the old entry
# detached the template's bind, the inode number did not change.
as_user sh -c 'cd "$1" && ln sub/ro.txt keep && rm sub/ro.txt && ln keep sub/ro.txt && rm keep' sh "$CASE"
stored=$(stored_count)
fctl_capture run -- sh -c 'echo evil >>sub/ro.txt'
isnt "$RC" 0 "template: a denyWrite file re-linked on the host (same inode) cannot be written"
is "$(cat "$CASE/sub/ro.txt")" "replaced" "...and is unchanged"
cmp_num "$(stored_count)" -gt "$stored" "...and the launch made a new template"

# A pinned parent renamed away on the host, another directory in its place.
as_user sh -c 'cd "$1" && mv sub sub.away && mkdir sub && echo new >sub/ro.txt' sh "$CASE"
fctl_capture run -- sh -c 'echo evil >>sub/ro.txt; mv sub sub2; ls -d sub2'
is "$(cat "$CASE/sub/ro.txt")" "new" "template: the denyWrite file in a new directory is read-only"
check "...and the new directory is pinned" test -d "$CASE/sub" -a ! -e "$CASE/sub2"
# ...and back: the old directory (with the template's pin, if any) returns.
as_user sh -c 'cd "$1" && rm -r sub && mv sub.away sub' sh "$CASE"
fctl_capture run -- sh -c 'echo evil >>sub/ro.txt; mv sub sub2; ls -d sub2'
is "$(cat "$CASE/sub/ro.txt")" "replaced" "template: the directory renamed away and back: its file is read-only"
check "...and the directory is pinned" test -d "$CASE/sub" -a ! -e "$CASE/sub2"

# The denyWrite file moved with the template's bind into a fresh directory
# that takes the old one's place: the file keeps its bind, the directory
# has no pin in the template.
fctl_capture run -- true
as_user sh -c 'cd "$1" && mkdir fresh && mv sub/ro.txt fresh/ && mv sub old && mv fresh sub' sh "$CASE"
fctl_capture run -- sh -c 'echo evil >>sub/ro.txt; mv sub sub2; ls -d sub2'
is "$(cat "$CASE/sub/ro.txt")" "replaced" "template: a directory swapped under the denyWrite file: the file is read-only"
check "...and the new directory is pinned" test -d "$CASE/sub" -a ! -e "$CASE/sub2"
as_user rm -r "$CASE/old"

# A new protected name on the host (.git/hooks) since the template.
fctl_capture run -- true
as_user mkdir -p "$CASE/.git/hooks"
fctl_capture run -- sh -c 'echo "#!/bin/sh" >.git/hooks/pre-commit; mv .git .g'
check "template: a .git/hooks made on the host since: nothing can be put in it" test ! -e "$CASE/.git/hooks/pre-commit"
check "...and .git cannot be renamed" test -d "$CASE/.git" -a ! -e "$CASE/.g"

# The policy changed: another template (or none), never the old one.
put fence.json '{ "filesystem": { "allowWrite": ["."], "denyWrite": ["./other.txt"] } }'
fctl_capture run -- sh -c 'echo changed >sub/ro.txt; echo evil >>other.txt'
is "$(cat "$CASE/sub/ro.txt")" "changed" "template: the policy changed: the file it no longer names is writable"
is "$(cat "$CASE/other.txt")" "other" "...and the file it names now is not"
put fence.json '{ "filesystem": { "allowWrite": ["."], "denyWrite": ["./sub/ro.txt", "./d/e/ro2.txt"] } }'
fctl_capture run -- sh -c 'echo evil >sub/ro.txt'
is "$(cat "$CASE/sub/ro.txt")" "changed" "...and back: it is read-only again"

# The template holds no more than the fresh policy makes: a denyWrite file
# removed on the host since leaves no pin on its directory behind.
fctl_capture run -- true
as_user rm "$CASE/d/e/ro2.txt"
fctl_capture run -- sh -c 'mv d/e d/e2 && echo moved'
is "$OUT" "moved" "template: the directory of a denyWrite file removed on the host since can be renamed"
check "...on the host too" test -d "$CASE/d/e2" -a ! -e "$CASE/d/e"

# A protected name that is a symlink (pinned itself, its target bound
# read-only): a launch from the template finds both in place, makes
# neither again and so leaves no new template.
newcase tmpl-link
put fence.json '{ "filesystem": { "allowWrite": ["."], "denyWrite": ["./sub/ro.txt"] } }'
put sub/ro.txt "read only"
put modules.txt "[submodule]"
as_user ln -s modules.txt "$CASE/.gitmodules"
fctl_capture run -- true
fctl_capture run -- true
stored=$(stored_count)
fctl_capture run -- sh -c 'echo evil >>.gitmodules; echo evil >>sub/ro.txt; rm .gitmodules'
is "$(cat "$CASE/modules.txt")/$(cat "$CASE/sub/ro.txt")" "[submodule]/read only" \
        "template: a symlinked protected name: its target and the denyWrite file are unchanged"
check "...and the symlink is still there" test -L "$CASE/.gitmodules"
is "$(stored_count)" "$stored" "...and the launch used the template as it was"

# A denyWrite directory: bound read-only again at every launch, on top of
# the template's bind, with everything below it (a new file made on the
# host included); the template stays as it is.
newcase tmpl-dir
put fence.json '{ "filesystem": { "allowWrite": ["."], "denyWrite": ["./cfg", "./x/ro.txt"] } }'
put cfg/a.txt "a"
put x/ro.txt "ro"
fctl_capture run -- true
fctl_capture run -- true
stored=$(stored_count)
put cfg/sub/b.txt "b"
fctl_capture run -- sh -c 'echo evil >>cfg/a.txt; echo evil >>cfg/sub/b.txt; touch cfg/new; mv cfg cfg2; echo ok >w.txt'
is "$(cat "$CASE/cfg/a.txt")/$(cat "$CASE/cfg/sub/b.txt")/$(cat "$CASE/w.txt" 2>/dev/null)" "a/b/ok" \
        "template: a denyWrite directory and a file made in it since are read-only, the rest writable"
check "...nothing was created in it and it was not renamed" test ! -e "$CASE/cfg/new" -a ! -e "$CASE/cfg2"
is "$(stored_count)" "$stored" "...and the launch used the template as it was"

# Another user, the same config, in a directory and a file both can write:
# it gets a template of its own, never the first user's.
newcase tmpl-shared
chmod 0777 "$CASE"
put fence.json '{ "filesystem": { "allowWrite": ["."], "denyWrite": ["./ro.txt"] } }'
put ro.txt "shared"
chmod 0666 "$CASE/ro.txt"
fctl_capture run -- true
fctl_capture run -- true
offered=$(offered_count)
capture fctl_user2 run -- sh -c 'echo evil >>ro.txt; echo ok'
is "$OUT" "ok" "template: another user with the same config: the sandbox runs"
like "$ERR" "Read-only file system" "...and the denyWrite file is read-only for it"
is "$(cat "$CASE/ro.txt")" "shared" "...and unchanged"
grep "Filesystem template for uid" "$T/fenced.log" | tail -1 | grep -q "uid $(id -u "$TEST_USER2"): none yet"
is "$?" 0 "...and that user was offered no template of the first one"

# Nothing of the templates outlives fenced: no namespace is held in the
# host's mount table.
check "template: no mount of a case directory on the host" sh -c "! grep -q '$T/work' /proc/self/mountinfo"

# --- templates ----------------------------------------------------------------
fctl_capture templates
is "$RC" 0 "fencectl templates exits 0"
is "$(awk '{ print $1 }' <<<"$OUT" | sort | tr '\n' ' ')" \
        "code code-relaxed code-strict disable-telemetry git-readonly local-dev-server " \
        "fencectl templates lists the 6 templates"

finish
