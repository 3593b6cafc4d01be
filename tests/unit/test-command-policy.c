/* Tests for common/command-policy.c: fence's command and ssh rules, the
 * preflight of argvs and shell strings, and the runtime exec check. */
#include <criterion/criterion.h>

#include "command-policy.h"
#include "shell-split.h"
#include "strv.h"

#define STRV(...) ((char *[]) { __VA_ARGS__, NULL })

static CommandPolicy *make(const CommandPolicySettings *s) {
        CommandPolicy *p = NULL;
        cr_assert_eq(command_policy_new(s, &p), 0);
        return p;
}

static CommandPolicy *make_rules(char **deny, char **allow, bool defaults) {
        return make(&(CommandPolicySettings) { .deny = deny, .allow = allow, .use_defaults = defaults });
}

/* 1 denied, 0 allowed; the matched rule (or "") through *rule. */
static int shell(const CommandPolicy *p, const char *script, char **rule) {
        CommandMatch m = {};
        int r = command_policy_check_shell(p, script, &m);

        if (rule)
                *rule = r > 0 && m.rule ? strdup(m.rule) : strdup("");
        command_match_done(&m);
        return r;
}

static void denied(const CommandPolicy *p, const char *script, const char *want_rule) {
        _cleanup_free_ char *rule = NULL;
        cr_expect_eq(shell(p, script, &rule), 1, "expected denied: %s", script);
        if (want_rule)
                cr_expect_str_eq(rule, want_rule, "rule for: %s", script);
}

static void allowed(const CommandPolicy *p, const char *script) {
        _cleanup_free_ char *rule = NULL;
        cr_expect_eq(shell(p, script, &rule), 0, "expected allowed: %s (rule '%s')", script, rule);
}

static bool rule_matches(const char *command, const char *rule) {
        _cleanup_strv_free_ char **argv = NULL;
        cr_assert_eq(shell_split_words(command, &argv), 0);
        return command_rule_matches(rule, argv);
}

Test(command_rule, fence_prefix_semantics) {
        cr_expect(rule_matches("git push", "git push"));
        cr_expect(rule_matches("git push origin main", "git push"));
        cr_expect(rule_matches("/usr/bin/git push", "git push"));
        cr_expect(rule_matches("git push", "/usr/bin/git push"));
        cr_expect(!rule_matches("git pushall", "git push"));
        cr_expect(!rule_matches("git pushx", "git push"));
        cr_expect(!rule_matches("git status", "git push"));
        cr_expect(!rule_matches("gitpush", "git push"));
        cr_expect(!rule_matches("git", "git push"));
        cr_expect(!rule_matches("echo git push", "git push"));
        cr_expect(!rule_matches("rmdir x", "rm"));
}

Test(command_rule, equals_tokens_are_presence_checks) {
        cr_expect(rule_matches("dd if=/dev/zero", "dd if="));
        cr_expect(rule_matches("dd if=/dev/zero of=/tmp/file", "dd if="));
        cr_expect(rule_matches("dd of=/tmp/file if=/dev/zero", "dd if="));
        cr_expect(rule_matches("dd if=", "dd if="));
        cr_expect(!rule_matches("dd if /dev/zero", "dd if="));
        cr_expect(!rule_matches("ddx=/path", "dd="));
        cr_expect(!rule_matches("dd iflag=direct", "dd if="));
        cr_expect(!rule_matches("dd oflag=sync", "dd of="));
        /* The matcher alone is fence's: a wrapper is not the command. */
        cr_expect(!rule_matches("sudo dd if=/dev/zero", "dd if="));
}

Test(command_rule, leading_global_flags) {
        cr_expect(rule_matches("docker --debug run --privileged", "docker run --privileged"));
        cr_expect(rule_matches("docker --context=prod run --privileged", "docker run --privileged"));
        cr_expect(rule_matches("docker --context prod run --privileged", "docker run --privileged"));
        cr_expect(rule_matches("git -C /some/dir push", "git push"));
        cr_expect(rule_matches("git -c a.b=c --no-pager push origin", "git push"));
        /* Positional otherwise, as in fence. */
        cr_expect(!rule_matches("docker run --name test --privileged", "docker run --privileged"));
        cr_expect(!rule_matches("docker foo run --privileged", "docker run --privileged"));
        cr_expect(rule_matches("rm -rf /", "rm -rf"));
        cr_expect(!rule_matches("rm -r -f /", "rm -rf"));
}

Test(command_policy, basic_deny_and_near_misses) {
        _cleanup_command_policy_ CommandPolicy *p = make_rules(STRV("git push", "rm -rf"), NULL, false);

        denied(p, "git push", "git push");
        denied(p, "rm -rf", "rm -rf");
        denied(p, "git push origin main", "git push");
        denied(p, "rm -rf /", "rm -rf");
        denied(p, "/usr/local/bin/git push", "git push");
        denied(p, "./git push", "git push");
        denied(p, "git push \"origin\" 'main'", "git push");
        allowed(p, "git status");
        allowed(p, "git pushx");
        allowed(p, "rm file.txt");
        allowed(p, "rm -r dir");
        allowed(p, "echo git push");
        allowed(p, "echo \"git push\"");
        allowed(p, "grep \"git push\" log.txt");
        allowed(p, "");
        allowed(p, "   ");
}

Test(command_policy, allow_beats_deny) {
        _cleanup_command_policy_ CommandPolicy *p =
                make_rules(STRV("git push"), STRV("git push origin docs", "git status"), false);

        allowed(p, "git push origin docs");
        allowed(p, "git push origin docs --force");
        allowed(p, "git --no-pager push origin docs");
        denied(p, "git push origin main", "git push");
        denied(p, "git push", "git push");
        /* -C may take "status" as its value: then this is a push, which the
         * allow rule for "git status" must not let through. */
        denied(p, "git -C status push", "git push");
        allowed(p, "git status");
}

Test(command_policy, allow_beats_defaults) {
        _cleanup_command_policy_ CommandPolicy *p = make_rules(NULL, STRV("chroot"), true);
        allowed(p, "chroot /srv/x");
        denied(p, "nsenter -t 1", "nsenter");
}

Test(command_policy, default_list) {
        _cleanup_command_policy_ CommandPolicy *p = make_rules(NULL, NULL, true);
        _cleanup_command_policy_ CommandPolicy *off = make_rules(NULL, NULL, false);
        CommandMatch m = {};

        denied(p, "shutdown -h now", "shutdown");
        denied(p, "reboot", "reboot");
        denied(p, "init 0", "init 0");
        allowed(p, "init 3");
        denied(p, "systemctl reboot", "systemctl reboot");
        allowed(p, "systemctl status");
        denied(p, "insmod evil.ko", "insmod");
        denied(p, "mkfs -t ext4 /dev/sda1", "mkfs");
        denied(p, "mkfs.ext4 /dev/sda1", "mkfs.ext4");
        denied(p, "/sbin/mkfs.fat /dev/sdb1", "mkfs.*");
        denied(p, "mkfs.f2fs /dev/sdb1", "mkfs.*");
        allowed(p, "mkfsx");
        denied(p, "dd if=/dev/zero of=/dev/sda", "dd if=");
        denied(p, "dd of=/dev/sda bs=1M if=/dev/zero", "dd if=");
        allowed(p, "dd --help");
        denied(p, "docker run -v /:/ alpine", "docker run -v /:/");
        denied(p, "docker --debug run --privileged alpine", "docker run --privileged");
        allowed(p, "docker run --rm alpine");
        denied(p, "unshare -r sh", "unshare");
        allowed(p, "ls");
        allowed(p, "npm install");

        allowed(off, "shutdown");
        allowed(off, "mkfs.ext4 /dev/sda1");

        cr_assert_eq(command_policy_check_argv(p, STRV("/sbin/reboot"), &m), 1);
        cr_expect_eq(m.source, COMMAND_RULE_DEFAULT);
        cr_expect_str_eq(m.command, "reboot");
        command_match_done(&m);

        const char * const *d = command_policy_default_denied();
        size_t n = 0;
        while (d[n])
                n++;
        cr_expect_eq(n, 30);    /* fence's 29 and mkfs.* */
}

Test(command_policy, chains_pipes_and_substitutions) {
        _cleanup_command_policy_ CommandPolicy *p = make_rules(STRV("git push"), NULL, false);

        denied(p, "ls && git push", "git push");
        denied(p, "git push && ls", NULL);
        denied(p, "ls || git push", NULL);
        denied(p, "ls; git push", NULL);
        denied(p, "echo hello | git push", NULL);
        denied(p, "ls && echo hi || git push", NULL);
        denied(p, "ls\ngit push origin", NULL);
        denied(p, "sleep 1 & git push", NULL);
        denied(p, "(cd repo && git push)", NULL);
        denied(p, "{ git push; }", NULL);
        denied(p, "echo $(git push)", NULL);
        denied(p, "echo `git push`", NULL);
        denied(p, "echo \"result: $(git push)\"", NULL);
        denied(p, "FOO=1 2>/dev/null git push", NULL);
        denied(p, "if true; then git push; fi", NULL);
        denied(p, "cat <<EOF\n$(git push)\nEOF", NULL);
        allowed(p, "cat <<'EOF'\n$(git push)\nEOF");
        allowed(p, "ls && pwd");
        allowed(p, "git status | grep branch");
        allowed(p, "echo 'ls; git push'");
}

Test(command_policy, nested_shells) {
        _cleanup_command_policy_ CommandPolicy *p = make_rules(STRV("git push"), NULL, false);

        denied(p, "bash -c \"git push\"", "git push");
        denied(p, "bash -c 'git push origin main'", NULL);
        denied(p, "sh -c \"git push\"", NULL);
        denied(p, "zsh -c \"git push\"", NULL);
        denied(p, "bash -c \"ls && git push\"", NULL);
        denied(p, "sh -c 'git status; git push'", NULL);
        denied(p, "bash -lc \"git push\"", NULL);
        denied(p, "bash -o pipefail -c 'git push'", NULL);
        denied(p, "/bin/bash -c \"git push\"", NULL);
        denied(p, "/usr/bin/zsh -c 'git push origin main'", NULL);
        denied(p, "bash -c \"sh -c 'git push'\"", NULL);
        denied(p, "fish --command='git push'", NULL);
        allowed(p, "bash -c \"git status\"");
        allowed(p, "bash -c 'ls && pwd'");
        allowed(p, "bash script.sh git push");

        /* The argv form: fencectl run -- sh -c 'git push' */
        cr_expect_eq(command_policy_check_argv(p, STRV("sh", "-c", "git push"), NULL), 1);
        cr_expect_eq(command_policy_check_argv(p, STRV("sh", "-c", "git status"), NULL), 0);
        cr_expect_eq(command_policy_check_argv(p, STRV("echo", "sh", "-c", "git push"), NULL), 0);
}

Test(command_policy, wrappers_are_unwrapped) {
        _cleanup_command_policy_ CommandPolicy *p = make_rules(STRV("git push", "dd if="), NULL, false);

        denied(p, "sudo git push", "git push");
        denied(p, "sudo -u bob -- git push", NULL);
        denied(p, "env FOO=1 git push", NULL);
        denied(p, "env -i -u HOME git push", NULL);
        denied(p, "env -S 'git push'", NULL);
        denied(p, "env --split-string='FOO=1 git push'", NULL);
        denied(p, "nice -n 5 git push", NULL);
        denied(p, "nice -5 git push", NULL);
        denied(p, "nohup git push", NULL);
        denied(p, "timeout 5 git push", NULL);
        denied(p, "timeout -s KILL --kill-after 1 5 git push", NULL);
        denied(p, "xargs -n1 -P 4 git push", NULL);
        denied(p, "stdbuf -oL git push", NULL);
        denied(p, "ionice -c 3 git push", NULL);
        denied(p, "taskset -c 0 git push", NULL);
        denied(p, "setsid git push", NULL);
        denied(p, "time git push", NULL);
        denied(p, "command git push", NULL);
        denied(p, "exec git push", NULL);
        denied(p, "exec -a name git push", NULL);
        denied(p, "flock /tmp/lock git push", NULL);
        denied(p, "flock -w 3 /tmp/lock -c 'ls; git push'", NULL);
        denied(p, "watch -n 1 git push", NULL);
        denied(p, "eval 'git push'", NULL);
        denied(p, "find . -name x -exec git push \\;", NULL);
        denied(p, "/lib64/ld-linux-x86-64.so.2 --library-path /x /usr/bin/git push", NULL);
        denied(p, "valgrind --tool=none git push", NULL);
        denied(p, "sudo env nice git push", NULL);
        denied(p, "sudo dd if=/dev/zero of=/dev/sda", "dd if=");
        allowed(p, "timeout 5 git status");
        allowed(p, "env FOO=1 git status");
        allowed(p, "echo sudo git push");
        allowed(p, "sudo -l");
        allowed(p, "find . -name git -print");
}

Test(command_policy, multicall_binaries) {
        _cleanup_command_policy_ CommandPolicy *p = make_rules(STRV("dd"), NULL, true);

        denied(p, "busybox dd if=/dev/zero of=x", "dd");
        denied(p, "/bin/busybox sh -c 'dd if=/dev/zero'", "dd");
        denied(p, "toybox mkfs.ext4 /dev/sda", "mkfs.ext4");
        allowed(p, "busybox ls");
        allowed(p, "busybox --list");
}

Test(command_policy, runtime_argv_mode) {
        _cleanup_command_policy_ CommandPolicy *p = make(&(CommandPolicySettings) {
                .deny = STRV("git push", "dd"),
                .allow = STRV("git push origin docs"),
                .use_defaults = true,
                .exec_mode = COMMAND_EXEC_ARGV,
        });
        CommandMatch m = {};

        cr_expect(command_policy_has_runtime_rules(p));
        cr_assert_eq(command_policy_check_exec(p, "/usr/bin/git", NULL, STRV("git", "push", "origin"), &m), 1);
        cr_expect_str_eq(m.rule, "git push");
        cr_expect_eq(m.source, COMMAND_RULE_DENY);
        cr_expect_str_eq(m.command, "git push origin");
        command_match_done(&m);

        cr_expect_eq(command_policy_check_exec(p, "/usr/bin/git", NULL, STRV("git", "push", "origin", "docs"), NULL), 0);
        cr_expect_eq(command_policy_check_exec(p, "/usr/bin/git", NULL, STRV("git", "pushx"), NULL), 0);
        /* argv[0] is the caller's choice; the executable's name counts. */
        cr_expect_eq(command_policy_check_exec(p, "/usr/bin/git", NULL, STRV("ls", "push"), NULL), 1);
        /* A symlinked alias is judged under the name it resolves to, too. */
        cr_expect_eq(command_policy_check_exec(p, "/tmp/g", "/usr/bin/git", STRV("g", "push"), NULL), 1);
        /* A multicall binary runs argv[0] as its applet. */
        cr_expect_eq(command_policy_check_exec(p, "/bin/busybox", NULL, STRV("dd", "if=/dev/zero"), NULL), 1);
        cr_expect_eq(command_policy_check_exec(p, "/bin/busybox", NULL, STRV("busybox", "dd"), NULL), 1);
        cr_expect_eq(command_policy_check_exec(p, "/bin/ls", "/bin/busybox", STRV("ls", "-l"), NULL), 0);
        /* The loader runs a program without exec'ing it. */
        cr_expect_eq(command_policy_check_exec(p, "/lib64/ld-linux-x86-64.so.2", NULL,
                                               STRV("ld.so", "/usr/bin/git", "push"), NULL), 1);
        /* Shell scripts are not split at runtime: the shell's own execs are
         * checked when it makes them. */
        cr_expect_eq(command_policy_check_exec(p, "/bin/sh", NULL, STRV("sh", "-c", "git push"), NULL), 0);
        cr_expect_eq(command_policy_check_exec(p, "/usr/bin/env", NULL, STRV("env", "git", "push"), NULL), 1);
        cr_expect_eq(command_policy_check_exec(p, "/sbin/reboot", NULL, STRV("reboot"), NULL), 1);
        /* An exec with an empty argv still has a name. */
        cr_expect_eq(command_policy_check_exec(p, "/bin/dd", NULL, STRV(NULL), NULL), 1);
}

Test(command_policy, runtime_path_mode) {
        _cleanup_command_policy_ CommandPolicy *p = make(&(CommandPolicySettings) {
                .deny = STRV("git push", "curl", "dd", "python3"),
                .allow = STRV("wget"),
                .use_defaults = true,
                .exec_mode = COMMAND_EXEC_PATH,
                .accept_shared_binary = STRV("dd"),
        });
        CommandMatch m = {};

        cr_expect(command_policy_has_runtime_rules(p));
        /* Multi-token rules are preflight-only in path mode, as in fence. */
        cr_expect_eq(command_policy_check_exec(p, "/usr/bin/git", NULL, STRV("git", "push"), NULL), 0);
        cr_assert_eq(command_policy_check_exec(p, "/usr/bin/curl", NULL, STRV("curl", "x"), &m), 1);
        cr_expect_str_eq(m.rule, "curl");
        command_match_done(&m);
        cr_expect_eq(command_policy_check_exec(p, "/usr/bin/python", "/usr/bin/python3", STRV("python"), NULL), 1);
        cr_expect_eq(command_policy_check_exec(p, "/sbin/reboot", NULL, STRV("reboot"), NULL), 1);
        cr_expect_eq(command_policy_check_exec(p, "/sbin/mkfs.ext4", "/sbin/mke2fs", STRV("mkfs.ext4"), NULL), 1);
        /* acceptSharedBinaryCannotRuntimeDeny: a shared binary is let
         * through, a binary of its own is still blocked. */
        cr_expect_eq(command_policy_check_exec(p, "/bin/dd", "/bin/busybox", STRV("dd"), NULL), 0);
        cr_expect_eq(command_policy_check_exec(p, "/bin/busybox", "/bin/busybox", STRV("dd"), NULL), 0);
        cr_expect_eq(command_policy_check_exec(p, "/bin/dd", "/bin/dd", STRV("dd"), NULL), 1);
        cr_expect_eq(command_policy_check_exec(p, "/bin/ls", "/bin/busybox", STRV("ls"), NULL), 0);
}

Test(command_policy, runtime_path_mode_multicall_without_acceptance) {
        _cleanup_command_policy_ CommandPolicy *p = make(&(CommandPolicySettings) {
                .deny = STRV("dd"),
                .exec_mode = COMMAND_EXEC_PATH,
        });

        cr_expect_eq(command_policy_check_exec(p, "/bin/dd", "/bin/busybox", STRV("dd"), NULL), 1);
        cr_expect_eq(command_policy_check_exec(p, "/bin/busybox", NULL, STRV("busybox", "dd"), NULL), 1);
        cr_expect_eq(command_policy_check_exec(p, "/bin/cat", "/bin/busybox", STRV("cat"), NULL), 0);
}

Test(command_policy, runtime_rules_needed) {
        _cleanup_command_policy_ CommandPolicy *none = make_rules(NULL, NULL, false);
        _cleanup_command_policy_ CommandPolicy *multi = make_rules(STRV("git push"), NULL, false);

        cr_expect(!command_policy_has_runtime_rules(none));
        cr_expect(!command_policy_has_runtime_rules(multi));    /* path mode */
        cr_expect_eq(command_policy_exec_mode(multi), COMMAND_EXEC_PATH);
}

static CommandPolicy *make_ssh(void) {
        return make(&(CommandPolicySettings) {
                .ssh_allowed_hosts = STRV("*.example.com", "prod-*"),
                .ssh_denied_hosts = STRV("prod-db.example.com"),
                .ssh_allowed_commands = STRV("ls", "cat", "grep", "tail -f", "git status"),
        });
}

Test(ssh, hosts) {
        _cleanup_command_policy_ CommandPolicy *p = make_ssh();
        CommandMatch m = {};

        allowed(p, "ssh server1.example.com");
        allowed(p, "ssh user@API.Example.com");
        allowed(p, "ssh prod-web-01");
        allowed(p, "ssh -p 2222 -i ~/.ssh/key -v -t server1.example.com");
        allowed(p, "ssh -o StrictHostKeyChecking=no server1.example.com");
        allowed(p, "/usr/bin/ssh server1.example.com ls");
        allowed(p, "ssh ssh://git@server1.example.com:22");
        allowed(p, "ls -la");
        allowed(p, "echo ssh other.com");

        cr_assert_eq(command_policy_check_shell(p, "ssh prod-db.example.com", &m), 1);
        cr_expect_eq(m.source, COMMAND_RULE_SSH_DENIED_HOST);
        cr_expect_str_eq(m.rule, "prod-db.example.com");
        cr_expect_str_eq(m.detail, "prod-db.example.com");
        command_match_done(&m);

        cr_assert_eq(command_policy_check_shell(p, "ssh other.domain.com", &m), 1);
        cr_expect_eq(m.source, COMMAND_RULE_SSH_HOST_NOT_ALLOWED);
        cr_expect_null(m.rule);
        command_match_done(&m);

        denied(p, "ssh dev-server", NULL);
        denied(p, "ssh -l admin other.com", NULL);
        denied(p, "sshpass -p secret ssh other.com", NULL);
        allowed(p, "sshpass -f pwfile ssh server1.example.com");
        /* Where ssh really connects counts, not only the name on the line. */
        denied(p, "ssh -o HostName=evil.com server1.example.com", NULL);
        denied(p, "ssh -oHostname=evil.com server1.example.com", NULL);
        denied(p, "ssh -J jump.evil.com server1.example.com", NULL);
        denied(p, "ssh -o 'ProxyCommand nc evil.com 22' server1.example.com", NULL);
        allowed(p, "ssh -J bastion.example.com server1.example.com");
}

Test(ssh, allowlist_mode) {
        _cleanup_command_policy_ CommandPolicy *p = make_ssh();
        CommandMatch m = {};

        allowed(p, "ssh server.example.com ls");
        allowed(p, "ssh server.example.com ls -la /var/log");
        allowed(p, "ssh server.example.com tail -f /var/log/app.log");
        allowed(p, "ssh server.example.com \"ls && cat file\"");
        allowed(p, "ssh server.example.com \"ls | cat\"");
        denied(p, "ssh server.example.com rm -rf /tmp/cache", NULL);
        denied(p, "ssh server.example.com tail /var/log/app.log", NULL);
        denied(p, "ssh server.example.com \"ls && rm -rf /\"", NULL);
        denied(p, "ssh server.example.com \"git status && rm -rf /\"", NULL);
        denied(p, "ssh server.example.com \"cat file; shutdown\"", NULL);
        denied(p, "ssh server.example.com \"ls | xargs rm\"", NULL);
        denied(p, "ssh server.example.com 'ls $(rm -rf /)'", NULL);

        cr_assert_eq(command_policy_check_shell(p, "ssh server.example.com chmod 777 /tmp", &m), 1);
        cr_expect_eq(m.source, COMMAND_RULE_SSH_COMMAND_NOT_ALLOWED);
        cr_expect_str_eq(m.command, "chmod 777 /tmp");
        cr_expect_str_eq(m.detail, "server.example.com");
        command_match_done(&m);
}

Test(ssh, denylist_mode_and_inherit) {
        _cleanup_command_policy_ CommandPolicy *deny_mode = make(&(CommandPolicySettings) {
                .ssh_allowed_hosts = STRV("*.example.com"),
                .ssh_allow_all_commands = true,
                .ssh_denied_commands = STRV("rm -rf", "shutdown", "chmod"),
        });
        _cleanup_command_policy_ CommandPolicy *inherit = make(&(CommandPolicySettings) {
                .deny = STRV("git push", "npm publish"),
                .use_defaults = true,
                .ssh_allowed_hosts = STRV("*.example.com"),
                .ssh_allow_all_commands = true,
                .ssh_inherit_deny = true,
        });
        _cleanup_command_policy_ CommandPolicy *none = make_rules(NULL, NULL, false);
        CommandMatch m = {};

        allowed(deny_mode, "ssh server.example.com ls -la");
        allowed(deny_mode, "ssh server.example.com rm file.txt");
        allowed(deny_mode, "ssh server.example.com \"ls && cat && grep foo\"");
        denied(deny_mode, "ssh server.example.com rm -rf /tmp/cache", "rm -rf");
        denied(deny_mode, "ssh server.example.com \"cat file; shutdown\"", "shutdown");
        denied(deny_mode, "ssh server.example.com sudo chmod 777 /", "chmod");

        denied(inherit, "ssh server.example.com git push origin main", "git push");
        cr_assert_eq(command_policy_check_shell(inherit, "ssh server.example.com reboot", &m), 1);
        cr_expect_eq(m.source, COMMAND_RULE_SSH_INHERITED_DEFAULT);
        command_match_done(&m);
        allowed(inherit, "ssh server.example.com git status");

        /* No host rules: ssh is not policed (fence). */
        allowed(none, "ssh any-host.com shutdown");
}

Test(ssh, runtime_argv_mode) {
        _cleanup_command_policy_ CommandPolicy *p = make(&(CommandPolicySettings) {
                .exec_mode = COMMAND_EXEC_ARGV,
                .ssh_allowed_hosts = STRV("*.example.com"),
                .ssh_allowed_commands = STRV("ls"),
        });

        cr_expect(command_policy_has_runtime_rules(p));
        cr_expect_eq(command_policy_check_exec(p, "/usr/bin/ssh", NULL, STRV("ssh", "a.example.com", "ls"), NULL), 0);
        cr_expect_eq(command_policy_check_exec(p, "/usr/bin/ssh", NULL, STRV("ssh", "evil.com"), NULL), 1);
        cr_expect_eq(command_policy_check_exec(p, "/usr/bin/ssh", NULL, STRV("ssh", "a.example.com", "rm", "x"), NULL), 1);
}

Test(command_match, describe) {
        _cleanup_command_policy_ CommandPolicy *p = make_rules(STRV("git push"), NULL, true);
        _cleanup_command_policy_ CommandPolicy *s = make_ssh();
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        CommandMatch m = {};

        cr_assert_eq(command_policy_check_shell(p, "git push", &m), 1);
        a = command_match_describe(&m);
        cr_expect_str_eq(a, "rule 'git push' (command.deny)");
        cr_assert_eq(command_policy_check_shell(p, "halt", &m), 1);
        b = command_match_describe(&m);
        cr_expect_str_eq(b, "rule 'halt' (command.useDefaults)");
        cr_assert_eq(command_policy_check_shell(s, "ssh x.org", &m), 1);
        c = command_match_describe(&m);
        cr_expect_str_eq(c, "ssh host 'x.org' is not in ssh.allowedHosts");
        command_match_done(&m);
        cr_expect_str_eq(command_rule_source_to_string(COMMAND_RULE_SSH_DENIED_COMMAND), "ssh.deniedCommands");
}

Test(command_policy, errors_fail_closed) {
        _cleanup_command_policy_ CommandPolicy *p = make_rules(STRV("git push"), NULL, false);
        CommandPolicy *q = NULL;

        cr_expect_eq(command_policy_check_shell(p, "echo 'unterminated", NULL), -EINVAL);
        cr_expect_eq(command_policy_check_shell(p, "echo $(git status", NULL), -EINVAL);
        cr_expect_eq(command_policy_new(&(CommandPolicySettings) { .deny = STRV("") }, &q), -EINVAL);
        cr_expect_eq(command_policy_new(&(CommandPolicySettings) { .deny = STRV("git 'push") }, &q), -EINVAL);
        cr_expect_eq(command_policy_new(&(CommandPolicySettings) { .ssh_allowed_hosts = STRV("") }, &q), -EINVAL);
        cr_expect_null(q);

        /* Nesting without end is refused, not followed forever. */
        cr_expect_eq(command_policy_check_argv(p, STRV("sh", "-c", "env env env env env env env env env env env env env env env env env git push"), NULL), -ELOOP);
}

Test(command_policy, path_mode_names) {
        _cleanup_command_policy_ CommandPolicy *p = make(&(CommandPolicySettings) {
                .deny = STRV("git push", "python3", "/opt/bin/curl", "we*rd", "python3", ".."),
                .allow = STRV("curl", "chroot --help"),
                .use_defaults = true,
                .accept_shared_binary = STRV("reboot"),
        });
        _cleanup_command_policy_ CommandPolicy *argv = make(&(CommandPolicySettings) {
                .deny = STRV("python3"), .use_defaults = true, .exec_mode = COMMAND_EXEC_ARGV,
        });
        _cleanup_command_policy_ CommandPolicy *none = make_rules(STRV("git push"), NULL, false);
        _cleanup_strv_free_ char **names = NULL, **argv_names = NULL, **no_names = NULL;

        cr_assert_eq(command_policy_path_mode_names(p, true, &names), 0);
        /* single tokens only, by basename, once; a literal glob name is left out */
        cr_expect(strv_contains(names, "python3"));
        cr_expect(!strv_contains(names, "git"));
        cr_expect(!strv_contains(names, "we*rd"));
        cr_expect(!strv_contains(names, ".."));
        /* a single-token allow rule lifts the mask; a longer one does not */
        cr_expect(!strv_contains(names, "curl"));
        cr_expect(strv_contains(names, "chroot"));
        /* the defaults, with the built-in glob kept as a pattern */
        cr_expect(strv_contains(names, "shutdown"));
        cr_expect(strv_contains(names, "mkfs.*"));
        cr_expect(!strv_contains(names, "dd"));
        cr_expect(!strv_contains(names, "init"));
        size_t n = 0;
        for (char **x = names; *x; x++)
                n += streq(*x, "python3");
        cr_expect_eq(n, 1);
        cr_expect(command_policy_accepts_shared(p, "reboot"));
        cr_expect(!command_policy_accepts_shared(p, "chroot"));

        _cleanup_strv_free_ char **configured = NULL;
        cr_assert_eq(command_policy_path_mode_names(p, false, &configured), 0);
        cr_expect(strv_contains(configured, "python3"));
        cr_expect(!strv_contains(configured, "shutdown"));

        /* argv mode judges every exec itself: no masks */
        cr_assert_eq(command_policy_path_mode_names(argv, true, &argv_names), 0);
        cr_expect_null(argv_names[0]);
        cr_assert_eq(command_policy_path_mode_names(none, true, &no_names), 0);
        cr_expect_null(no_names[0]);
}
