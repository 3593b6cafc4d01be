#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command-policy.h"
#include "shell-split.h"
#include "strv.h"

/* Nesting of wrappers, shells and scripts inside one command. */
#define MAX_NESTING 16
/* Possible positions of the first subcommand word in one argv. */
#define MAX_READINGS 32

/* fence's list, plus "mkfs.*" for the mkfs.<type> helpers it summarizes as
 * `mkfs*` in its documentation. */
static const char * const default_denied[] = {
        "shutdown", "reboot", "halt", "poweroff", "init 0", "init 6",
        "systemctl poweroff", "systemctl reboot", "systemctl halt",
        "insmod", "rmmod", "modprobe", "kexec",
        "mkfs", "mkfs.ext2", "mkfs.ext3", "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs",
        "mkfs.vfat", "mkfs.ntfs", "fdisk", "parted", "dd if=",
        "docker run -v /:/", "docker run --privileged",
        "chroot", "unshare", "nsenter",
        "mkfs.*",
        NULL,
};

typedef struct Rule {
        char *text;             /* as configured */
        char **tokens;          /* tokens[0] is a basename */
        size_t n;
        bool prefix_glob;       /* built-in "mkfs.*": the first token matches by prefix */
} Rule;

typedef struct RuleList {
        Rule *v;
        size_t n;
} RuleList;

struct CommandPolicy {
        RuleList deny, allow, defaults;
        bool use_defaults;
        CommandExecMode exec_mode;
        char **accept_shared;

        char **ssh_allowed_hosts, **ssh_denied_hosts;
        RuleList ssh_allowed_commands, ssh_denied_commands;
        bool ssh_allow_all_commands, ssh_inherit_deny;
};

static const char * const source_names[_COMMAND_RULE_SOURCE_MAX] = {
        [COMMAND_RULE_DENY] = "command.deny",
        [COMMAND_RULE_DEFAULT] = "command.useDefaults",
        [COMMAND_RULE_SSH_DENIED_HOST] = "ssh.deniedHosts",
        [COMMAND_RULE_SSH_HOST_NOT_ALLOWED] = "ssh.allowedHosts",
        [COMMAND_RULE_SSH_INHERITED_DENY] = "command.deny via ssh.inheritDeny",
        [COMMAND_RULE_SSH_INHERITED_DEFAULT] = "command.useDefaults via ssh.inheritDeny",
        [COMMAND_RULE_SSH_DENIED_COMMAND] = "ssh.deniedCommands",
        [COMMAND_RULE_SSH_COMMAND_NOT_ALLOWED] = "ssh.allowedCommands",
        [COMMAND_RULE_UNCHECKABLE] = "runtime exec check",
};

const char *command_rule_source_to_string(CommandRuleSource s) {
        return s >= 0 && s < _COMMAND_RULE_SOURCE_MAX ? source_names[s] : NULL;
}

const char * const *command_policy_default_denied(void) {
        return default_denied;
}

void command_match_done(CommandMatch *m) {
        if (!m)
                return;
        free(m->rule);
        free(m->command);
        free(m->detail);
        *m = (CommandMatch) {};
}

char *command_match_describe(const CommandMatch *m) {
        const char *src = command_rule_source_to_string(m->source) ?: "policy";
        char *s = NULL;
        int r;

        switch (m->source) {
        case COMMAND_RULE_SSH_DENIED_HOST:
                r = asprintf(&s, "ssh host '%s' matches '%s' (%s)", m->detail ?: "", m->rule ?: "", src);
                break;
        case COMMAND_RULE_SSH_HOST_NOT_ALLOWED:
                r = asprintf(&s, "ssh host '%s' is not in %s", m->detail ?: "", src);
                break;
        case COMMAND_RULE_SSH_COMMAND_NOT_ALLOWED:
                r = asprintf(&s, "remote command '%s' on '%s' is not in %s",
                             m->command ?: "", m->detail ?: "", src);
                break;
        case COMMAND_RULE_UNCHECKABLE:
                r = asprintf(&s, "%s (%s fails closed)", m->detail ?: "cannot be checked", src);
                break;
        default:
                r = asprintf(&s, "rule '%s' (%s)", m->rule ?: "", src);
        }
        return r < 0 ? NULL : s;
}

/* Last path component, as fence's filepath.Base: "/usr/bin/git" → "git",
 * "dir/" → "dir". */
static char *basename_dup(const char *path) {
        size_t n = strlen(path);
        const char *start;

        while (n > 1 && path[n - 1] == '/')
                n--;
        start = path + n;
        while (start > path && start[-1] != '/')
                start--;
        if (start == path + n)          /* "/" or "" */
                return strndup(path, n);
        return strndup(start, (size_t) (path + n - start));
}

static void rule_list_done(RuleList *l) {
        for (size_t k = 0; k < l->n; k++) {
                free(l->v[k].text);
                strv_free(l->v[k].tokens);
        }
        free(l->v);
        *l = (RuleList) {};
}

static int rule_list_add(RuleList *l, const char *text, bool builtin) {
        _cleanup_strv_free_ char **tokens = NULL;
        _cleanup_free_ char *t = NULL, *base = NULL;
        Rule *v;
        size_t n;
        int r;

        r = shell_split_words(text, &tokens);
        if (r < 0)
                return r;
        if (!tokens[0])
                return -EINVAL;
        base = basename_dup(tokens[0]);
        t = strdup(text);
        if (!base || !t)
                return -ENOMEM;
        free(tokens[0]);
        tokens[0] = TAKE_PTR(base);

        v = realloc(l->v, (l->n + 1) * sizeof(Rule));
        if (!v)
                return -ENOMEM;
        l->v = v;
        n = strv_length(tokens);        /* before TAKE_PTR: initializers run in any order */
        l->v[l->n++] = (Rule) {
                .text = TAKE_PTR(t),
                .n = n,
                .tokens = TAKE_PTR(tokens),
                .prefix_glob = builtin && endswith(text, ".*"),
        };
        return 0;
}

static int rule_list_fill(RuleList *l, char * const *texts) {
        for (char * const *t = texts; t && *t; t++) {
                int r = rule_list_add(l, *t, false);
                if (r < 0)
                        return r;
        }
        return 0;
}

CommandPolicy *command_policy_free(CommandPolicy *p) {
        if (!p)
                return NULL;
        rule_list_done(&p->deny);
        rule_list_done(&p->allow);
        rule_list_done(&p->defaults);
        rule_list_done(&p->ssh_allowed_commands);
        rule_list_done(&p->ssh_denied_commands);
        strv_free(p->accept_shared);
        strv_free(p->ssh_allowed_hosts);
        strv_free(p->ssh_denied_hosts);
        free(p);
        return NULL;
}

static int copy_patterns(char * const *from, char ***to) {
        for (char * const *h = from; h && *h; h++)
                if (!**h)
                        return -EINVAL;
        if (!from)
                return 0;
        *to = strv_copy(from);
        return *to ? 0 : -ENOMEM;
}

int command_policy_new(const CommandPolicySettings *s, CommandPolicy **ret) {
        _cleanup_command_policy_ CommandPolicy *p = NULL;
        int r;

        if (!s || !ret || (s->exec_mode != COMMAND_EXEC_PATH && s->exec_mode != COMMAND_EXEC_ARGV))
                return -EINVAL;

        p = calloc(1, sizeof(CommandPolicy));
        if (!p)
                return -ENOMEM;
        p->use_defaults = s->use_defaults;
        p->exec_mode = s->exec_mode;
        p->ssh_allow_all_commands = s->ssh_allow_all_commands;
        p->ssh_inherit_deny = s->ssh_inherit_deny;

        if ((r = rule_list_fill(&p->deny, s->deny)) < 0 ||
            (r = rule_list_fill(&p->allow, s->allow)) < 0 ||
            (r = rule_list_fill(&p->ssh_allowed_commands, s->ssh_allowed_commands)) < 0 ||
            (r = rule_list_fill(&p->ssh_denied_commands, s->ssh_denied_commands)) < 0 ||
            (r = copy_patterns(s->ssh_allowed_hosts, &p->ssh_allowed_hosts)) < 0 ||
            (r = copy_patterns(s->ssh_denied_hosts, &p->ssh_denied_hosts)) < 0 ||
            (r = copy_patterns(s->accept_shared_binary, &p->accept_shared)) < 0)
                return r;
        for (const char * const *d = default_denied; *d; d++)
                if ((r = rule_list_add(&p->defaults, *d, true)) < 0)
                        return r;

        *ret = TAKE_PTR(p);
        return 0;
}

CommandExecMode command_policy_exec_mode(const CommandPolicy *p) {
        return p->exec_mode;
}

static bool ssh_policy_active(const CommandPolicy *p) {
        /* fence: without host rules, ssh is not policed at all. */
        return strv_length(p->ssh_allowed_hosts) > 0 || strv_length(p->ssh_denied_hosts) > 0;
}

static bool has_single_token(const RuleList *l) {
        for (size_t k = 0; k < l->n; k++)
                if (l->v[k].n == 1)
                        return true;
        return false;
}

bool command_policy_has_runtime_rules(const CommandPolicy *p) {
        if (p->exec_mode == COMMAND_EXEC_ARGV)
                return p->deny.n > 0 || (p->use_defaults && p->defaults.n > 0) || ssh_policy_active(p);
        return has_single_token(&p->deny) || (p->use_defaults && has_single_token(&p->defaults));
}

/* ---- Matching one rule ---------------------------------------------------- */

#define NO_SUBCOMMAND SIZE_MAX

static bool is_flag(const char *t) {
        return t[0] == '-' && t[1] != 0;
}

static bool is_subcommand_like(const char *t) {
        return t[0] != 0 && !streq(t, "--") && t[0] != '-' && !endswith(t, "=");
}

/* Where the first subcommand word may be: after argv[0], flags are skipped,
 * and a word right after a flag without '=' may be that flag's value. Each
 * position is one reading of the command. Without any, the one reading is
 * "no subcommand". */
static size_t subcommand_readings(char * const *a, size_t n, size_t *out) {
        bool maybe_value = false;
        size_t k = 0;

        for (size_t i = 1; i < n && k < MAX_READINGS; i++) {
                if (streq(a[i], "--")) {
                        if (i + 1 < n)
                                out[k++] = i + 1;
                        break;
                }
                if (is_flag(a[i])) {
                        maybe_value = !strchr(a[i], '=');
                        continue;
                }
                out[k++] = i;
                if (!maybe_value)
                        break;
                maybe_value = false;
        }
        if (k == 0)
                out[k++] = NO_SUBCOMMAND;
        return k;
}

static bool first_token_matches(const Rule *r, const char *cmd) {
        if (r->prefix_glob) {
                size_t l = strlen(r->tokens[0]) - 1;    /* "mkfs.*" → "mkfs." */
                return strncmp(cmd, r->tokens[0], l) == 0 && cmd[l] != 0;
        }
        return streq(cmd, r->tokens[0]);
}

/* fence's prefix semantics under one reading (sub: where the subcommand is). */
static bool rule_matches_reading(const Rule *r, char * const *a, size_t n, size_t sub) {
        bool placed = false;
        size_t pos = 1;

        if (n < r->n || !first_token_matches(r, a[0]))
                return false;

        for (size_t k = 1; k < r->n; k++) {
                const char *want = r->tokens[k];

                if (endswith(want, "=")) {
                        bool found = false;
                        for (size_t i = pos; i < n && !found; i++)
                                found = startswith(a[i], want) != NULL;
                        if (!found)
                                return false;
                        continue;
                }
                if (!placed && is_subcommand_like(want)) {
                        placed = true;
                        if (sub == NO_SUBCOMMAND || sub < pos)
                                return false;
                        pos = sub;      /* what lies between is flags and their values */
                }
                if (pos >= n || !streq(a[pos], want))
                        return false;
                pos++;
        }
        return true;
}

static const Rule *rule_list_find(const RuleList *l, char * const *a, size_t n, size_t sub) {
        for (size_t k = 0; k < l->n; k++)
                if (rule_matches_reading(&l->v[k], a, n, sub))
                        return &l->v[k];
        return NULL;
}

bool command_rule_matches(const char *rule, char * const *argv) {
        _cleanup_(rule_list_done) RuleList l = {};
        _cleanup_free_ char *base = NULL;
        size_t readings[MAX_READINGS], n = strv_length(argv), k;
        char **a;

        if (n == 0 || rule_list_add(&l, rule, false) < 0)
                return false;
        base = basename_dup(argv[0]);
        a = calloc(n + 1, sizeof(char *));
        if (!base || !a) {
                free(a);
                return false;
        }
        memcpy(a, argv, n * sizeof(char *));
        a[0] = base;

        k = subcommand_readings(a, n, readings);
        for (size_t i = 0; i < k; i++)
                if (rule_matches_reading(&l.v[0], a, n, readings[i])) {
                        free(a);
                        return true;
                }
        free(a);
        return false;
}

/* ---- Host patterns ----------------------------------------------------------- */

static char ascii_lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c + 'a' - 'A') : c;
}

/* '*' matches any run of characters; case-insensitive, as hostnames are. */
static bool host_glob(const char *pat, const char *s) {
        const char *star = NULL, *resume = NULL;

        while (*s) {
                if (*pat == '*') {
                        star = pat++;
                        resume = s;
                } else if (*pat && ascii_lower(*pat) == ascii_lower(*s)) {
                        pat++;
                        s++;
                } else if (star) {
                        pat = star + 1;
                        s = ++resume;
                } else
                        return false;
        }
        while (*pat == '*')
                pat++;
        return *pat == 0;
}

static const char *host_find(char * const *patterns, const char *host) {
        for (char * const *p = patterns; p && *p; p++)
                if (host_glob(*p, host))
                        return *p;
        return NULL;
}

/* ---- Checking a command and everything it runs ------------------------------ */

typedef struct Checker Checker;
typedef int (*JudgeFn)(Checker *c, char * const *argv, size_t n);

struct Checker {
        const CommandPolicy *p;
        CommandMatch *ret;
        JudgeFn judge;
        bool runtime;           /* an exec at runtime: scripts are not split */
        const char *ssh_host;   /* judging a remote command on this host */
        unsigned depth;
};

static int deny(Checker *c, CommandRuleSource source, const char *rule, char * const *argv, const char *detail) {
        CommandMatch m = { .source = source };

        if (!c->ret)
                return 1;
        if ((rule && !(m.rule = strdup(rule))) ||
            (argv && !(m.command = strv_join(argv, " "))) ||
            (detail && !(m.detail = strdup(detail)))) {
                command_match_done(&m);
                return -ENOMEM;
        }
        command_match_done(c->ret);
        *c->ret = m;
        return 1;
}

static int check_command(Checker *c, char * const *argv);

static int on_script_command(char **argv, void *userdata) {
        return check_command(userdata, argv);
}

static int check_script(Checker *c, const char *script) {
        return shell_split(script, on_script_command, c);
}

/* command.allow / command.deny / the defaults, reading by reading: a reading
 * is denied when a deny rule matches it and no allow rule does. */
static int judge_rules(Checker *c, char * const *a, size_t n) {
        const CommandPolicy *p = c->p;
        size_t readings[MAX_READINGS], k = subcommand_readings(a, n, readings);

        for (size_t i = 0; i < k; i++) {
                const Rule *r;

                if (rule_list_find(&p->allow, a, n, readings[i]))
                        continue;
                r = rule_list_find(&p->deny, a, n, readings[i]);
                if (r)
                        return deny(c, COMMAND_RULE_DENY, r->text, a, NULL);
                if (p->use_defaults) {
                        r = rule_list_find(&p->defaults, a, n, readings[i]);
                        if (r)
                                return deny(c, COMMAND_RULE_DEFAULT, r->text, a, NULL);
                }
        }
        return 0;
}

/* A remote command under fence's ssh order: inherited denies, deniedCommands,
 * then allowAllCommands or allowedCommands. */
static int judge_ssh_remote(Checker *c, char * const *a, size_t n) {
        const CommandPolicy *p = c->p;
        size_t readings[MAX_READINGS], k = subcommand_readings(a, n, readings);

        for (size_t i = 0; i < k; i++) {
                const Rule *r;

                if (p->ssh_inherit_deny) {
                        r = rule_list_find(&p->deny, a, n, readings[i]);
                        if (r)
                                return deny(c, COMMAND_RULE_SSH_INHERITED_DENY, r->text, a, c->ssh_host);
                        if (p->use_defaults) {
                                r = rule_list_find(&p->defaults, a, n, readings[i]);
                                if (r)
                                        return deny(c, COMMAND_RULE_SSH_INHERITED_DEFAULT, r->text, a, c->ssh_host);
                        }
                }
                r = rule_list_find(&p->ssh_denied_commands, a, n, readings[i]);
                if (r)
                        return deny(c, COMMAND_RULE_SSH_DENIED_COMMAND, r->text, a, c->ssh_host);
                if (p->ssh_allow_all_commands)
                        continue;
                if (!rule_list_find(&p->ssh_allowed_commands, a, n, readings[i]))
                        return deny(c, COMMAND_RULE_SSH_COMMAND_NOT_ALLOWED, NULL, a, c->ssh_host);
        }
        return 0;
}

/* ssh [options] [user@]host [command...]; options as OpenSSH's getopt. */
typedef struct SshCommand {
        const char *host_arg;
        char *host;
        char **extra_hosts;     /* -o HostName=, -J/ProxyJump: where it really connects */
        bool proxy_command;
        char *remote;
} SshCommand;

static void ssh_command_done(SshCommand *s) {
        free(s->host);
        strv_free(s->extra_hosts);
        free(s->remote);
}

/* "user@host", "ssh://user@host:port", "[v6]:port", "user@host:port" (-J). */
static char *ssh_host_from(const char *arg, bool may_have_port) {
        const char *h = startswith(arg, "ssh://"), *at, *end;

        if (h)
                may_have_port = true;
        else
                h = arg;
        at = strrchr(h, '@');
        if (at)
                h = at + 1;
        if (*h == '[') {
                end = strchr(h, ']');
                return end ? strndup(h + 1, (size_t) (end - h - 1)) : strdup(h);
        }
        end = may_have_port ? strchr(h, ':') : NULL;
        if (end && strchr(end + 1, ':'))        /* a bare IPv6 address */
                end = NULL;
        if (!end)
                end = h + strcspn(h, "/");
        return strndup(h, (size_t) (end - h));
}

static int ssh_add_jump_hosts(SshCommand *s, const char *list) {
        _cleanup_free_ char *copy = strdup(list);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (streq(t, "none"))
                        continue;
                if (strv_consume(&s->extra_hosts, ssh_host_from(t, true)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int ssh_option(SshCommand *s, char opt, const char *value) {
        const char *v;

        if (opt == 'J')
                return ssh_add_jump_hosts(s, value);
        if (opt != 'o')
                return 0;
        /* -o Key=Value or -o "Key Value"; keys are case-insensitive. */
        if (strncasecmp(value, "hostname", 8) == 0 && (value[8] == '=' || value[8] == ' ')) {
                v = value + 9 + strspn(value + 9, " =");
                return strv_consume(&s->extra_hosts, strdup(v));
        }
        if (strncasecmp(value, "proxyjump", 9) == 0 && (value[9] == '=' || value[9] == ' '))
                return ssh_add_jump_hosts(s, value + 10 + strspn(value + 10, " ="));
        if (strncasecmp(value, "proxycommand", 12) == 0 && (value[12] == '=' || value[12] == ' ')) {
                v = value + 13 + strspn(value + 13, " =");
                if (strcasecmp(v, "none") != 0)
                        s->proxy_command = true;
        }
        return 0;
}

static int ssh_parse(char * const *a, size_t n, SshCommand *s) {
        static const char with_value[] = "BDEFIJLOPQRSWbceilmopw";
        size_t i = 1;
        int r;

        while (i < n) {
                const char *t = a[i];

                if (streq(t, "--")) {
                        i++;
                        break;
                }
                if (!is_flag(t))
                        break;
                for (size_t j = 1; t[j]; j++)
                        if (strchr(with_value, t[j])) {
                                const char *v = t[j + 1] ? t + j + 1 : (i + 1 < n ? a[++i] : NULL);
                                if (v && (r = ssh_option(s, t[j], v)) < 0)
                                        return r;
                                break;
                        }
                i++;
        }
        if (i >= n)
                return 0;               /* no host: ssh prints its usage */

        s->host_arg = a[i];
        s->host = ssh_host_from(a[i], false);
        if (!s->host)
                return -ENOMEM;
        if (i + 1 < n) {
                s->remote = strv_join((char **) a + i + 1, " ");
                if (!s->remote)
                        return -ENOMEM;
        }
        return 1;
}

static int ssh_check_host(Checker *c, const char *host, char * const *a) {
        const char *pat = host_find(c->p->ssh_denied_hosts, host);

        if (pat)
                return deny(c, COMMAND_RULE_SSH_DENIED_HOST, pat, a, host);
        if (c->p->ssh_allowed_hosts && c->p->ssh_allowed_hosts[0] && !host_find(c->p->ssh_allowed_hosts, host))
                return deny(c, COMMAND_RULE_SSH_HOST_NOT_ALLOWED, NULL, a, host);
        return 0;
}

static int check_ssh(Checker *c, char * const *a, size_t n) {
        _cleanup_(ssh_command_done) SshCommand s = {};
        Checker remote;
        int r;

        r = ssh_parse(a, n, &s);
        if (r <= 0)
                return r;

        r = ssh_check_host(c, s.host, a);
        for (char **h = s.extra_hosts; r == 0 && h && *h; h++)
                r = ssh_check_host(c, *h, a);
        if (r != 0)
                return r;
        if (s.proxy_command)
                return deny(c, COMMAND_RULE_UNCHECKABLE, NULL, a,
                            "ssh ProxyCommand runs a local command the policy cannot see");
        if (!s.remote)
                return 0;               /* interactive session on an allowed host */

        remote = (Checker) {
                .p = c->p,
                .ret = c->ret,
                .judge = judge_ssh_remote,
                .ssh_host = s.host,
                .depth = c->depth,
        };
        return check_script(&remote, s.remote);
}

static int judge_local(Checker *c, char * const *a, size_t n) {
        int r = judge_rules(c, a, n);

        if (r == 0 && streq(a[0], "ssh") && ssh_policy_active(c->p))
                r = check_ssh(c, a, n);
        return r;
}

/* ---- What a command runs ------------------------------------------------------ */

typedef struct Wrapper {
        const char *name;
        const char *short_value;        /* short options taking a value */
        const char * const *long_value; /* long options taking a separate value */
        unsigned operands;              /* words between the options and the command */
        bool assignments;               /* NAME=VALUE words may precede the command */
        bool script;                    /* the rest, joined by spaces, is a shell script */
        char exec_option;               /* ... unless this option is given (watch -x) */
        char split_option;              /* env -S: the value is more arguments */
        bool flock;                     /* FILE -c SCRIPT after the operand */
} Wrapper;

static const char * const sudo_long[] = {
        "--chdir", "--close-from", "--group", "--host", "--prompt", "--chroot", "--role",
        "--type", "--command-timeout", "--other-user", "--user", NULL,
};
static const char * const env_long[] = { "--unset", "--chdir", "--split-string", NULL };
static const char * const nice_long[] = { "--adjustment", NULL };
static const char * const timeout_long[] = { "--kill-after", "--signal", NULL };
static const char * const xargs_long[] = {
        "--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars", "--process-slot-var", NULL,
};
static const char * const stdbuf_long[] = { "--input", "--output", "--error", NULL };
static const char * const ionice_long[] = { "--class", "--classdata", "--pid", NULL };
static const char * const time_long[] = { "--format", "--output", NULL };
static const char * const watch_long[] = { "--interval", "--equexit", NULL };
static const char * const flock_long[] = { "--timeout", "--wait", "--conflict-exit-code", NULL };
static const char * const ldso_long[] = {
        "--library-path", "--preload", "--inhibit-rpath", "--audit", "--argv0",
        "--glibc-hwcaps-prefix", "--glibc-hwcaps-mask", NULL,
};

static const Wrapper wrappers[] = {
        { .name = "sudo", .short_value = "CDghpRrTtUu", .long_value = sudo_long, .assignments = true },
        { .name = "doas", .short_value = "Cu" },
        { .name = "env", .short_value = "uCS", .long_value = env_long, .assignments = true, .split_option = 'S' },
        { .name = "nice", .short_value = "n", .long_value = nice_long },
        { .name = "nohup", .short_value = "" },
        { .name = "timeout", .short_value = "ks", .long_value = timeout_long, .operands = 1 },
        { .name = "xargs", .short_value = "aEILnPsd", .long_value = xargs_long },
        { .name = "stdbuf", .short_value = "ioe", .long_value = stdbuf_long },
        { .name = "ionice", .short_value = "cnp", .long_value = ionice_long },
        { .name = "chrt", .short_value = "TPD", .operands = 1 },
        { .name = "taskset", .short_value = "", .operands = 1 },
        { .name = "setsid", .short_value = "" },
        { .name = "time", .short_value = "fo", .long_value = time_long },
        { .name = "command", .short_value = "" },
        { .name = "exec", .short_value = "a" },
        { .name = "builtin", .short_value = "" },
        { .name = "flock", .short_value = "wE", .long_value = flock_long, .operands = 1, .flock = true },
        { .name = "watch", .short_value = "nq", .long_value = watch_long, .script = true, .exec_option = 'x' },
        { .name = "eval", .short_value = "", .script = true },
        { .name = "valgrind", .short_value = "" },
        { .name = "sshpass", .short_value = "pfdP" },
        /* Multicall binaries: the first word is the applet. */
        { .name = "busybox", .short_value = "" },
        { .name = "toybox", .short_value = "" },
};

/* The dynamic loader runs a program without exec'ing it. */
static const Wrapper ldso_wrapper = { .name = "ld.so", .short_value = "", .long_value = ldso_long };

static const Wrapper *wrapper_find(const char *name) {
        for (size_t k = 0; k < ELEMENTSOF(wrappers); k++)
                if (streq(wrappers[k].name, name))
                        return &wrappers[k];
        if (startswith(name, "ld-linux") || startswith(name, "ld-musl") || streq(name, "ld.so"))
                return &ldso_wrapper;
        return NULL;
}

static bool is_multicall(const char *name) {
        return streq(name, "busybox") || streq(name, "toybox");
}

static bool is_env_assignment(const char *t) {
        size_t k = 0;

        if (!((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z') || t[0] == '_'))
                return false;
        while ((t[k] >= 'a' && t[k] <= 'z') || (t[k] >= 'A' && t[k] <= 'Z') ||
               (t[k] >= '0' && t[k] <= '9') || t[k] == '_')
                k++;
        return t[k] == '=';
}

static bool long_in(const char * const *list, const char *opt, size_t len) {
        for (; list && *list; list++)
                if (strlen(*list) == len && strncmp(*list, opt, len) == 0)
                        return true;
        return false;
}

typedef struct Inner {
        char **argv;            /* what the wrapper runs, or */
        char *script;           /* the shell script it runs */
} Inner;

static void inner_done(Inner *i) {
        strv_free(i->argv);
        free(i->script);
}

/* env -S STRING: STRING's words take its place among env's arguments. */
static int env_split(char * const *a, size_t n, size_t at, const char *value, size_t rest, Inner *ret) {
        _cleanup_strv_free_ char **words = NULL, **v = NULL;
        int r;

        r = shell_split_words(value, &words);
        if (r < 0)
                return r;
        if (strv_extend(&v, a[0]) < 0)
                return -ENOMEM;
        for (size_t i = 1; i < at; i++)
                if (strv_extend(&v, a[i]) < 0)
                        return -ENOMEM;
        for (char **w = words; *w; w++)
                if (strv_extend(&v, *w) < 0)
                        return -ENOMEM;
        for (size_t i = rest; i < n; i++)
                if (strv_extend(&v, a[i]) < 0)
                        return -ENOMEM;
        /* The new argv is env's again: one more pass finds the command. */
        ret->argv = TAKE_PTR(v);
        return 1;
}

static int tail_copy(char * const *a, size_t n, size_t from, Inner *ret) {
        if (from >= n)
                return 0;
        ret->argv = strv_copy((char **) a + from);
        return ret->argv ? 1 : -ENOMEM;
}

static int tail_script(char * const *a, size_t n, size_t from, Inner *ret) {
        if (from >= n)
                return 0;
        ret->script = strv_join((char **) a + from, " ");
        return ret->script ? 1 : -ENOMEM;
}

/* Returns 1 with *ret filled when a[0] is a wrapper that runs something. */
static int unwrap(const Wrapper *w, char * const *a, size_t n, Inner *ret) {
        bool script = w->script;
        size_t i = 1;

        while (i < n) {
                const char *t = a[i];

                if (w->assignments && is_env_assignment(t)) {
                        i++;
                        continue;
                }
                if (streq(t, "--")) {
                        i++;
                        break;
                }
                if (!is_flag(t))
                        break;
                if (t[1] == '-') {
                        const char *eq = strchr(t, '=');
                        size_t len = eq ? (size_t) (eq - t) : strlen(t);

                        if (w->split_option && len == 14 && strncmp(t, "--split-string", len) == 0) {
                                const char *v = eq ? eq + 1 : (i + 1 < n ? a[i + 1] : NULL);
                                return v ? env_split(a, n, i, v, eq ? i + 1 : i + 2, ret) : 0;
                        }
                        if (w->exec_option && streq(t, "--exec"))
                                script = false;
                        if (!eq && long_in(w->long_value, t, len))
                                i++;
                        i++;
                        continue;
                }
                for (size_t j = 1; t[j]; j++) {
                        if (t[j] == w->exec_option)
                                script = false;
                        if (w->short_value && strchr(w->short_value, t[j])) {
                                bool attached = t[j + 1] != 0;
                                const char *v = attached ? t + j + 1 : (i + 1 < n ? a[i + 1] : NULL);

                                if (t[j] == w->split_option)
                                        return v ? env_split(a, n, i, v, i + (attached ? 1 : 2), ret) : 0;
                                if (!attached)
                                        i++;
                                break;
                        }
                }
                i++;
        }

        i += w->operands;
        if (w->flock && i < n && (streq(a[i], "-c") || streq(a[i], "--command"))) {
                if (i + 1 >= n)
                        return 0;
                ret->script = strdup(a[i + 1]);
                return ret->script ? 1 : -ENOMEM;
        }
        return script ? tail_script(a, n, i, ret) : tail_copy(a, n, i, ret);
}

static bool is_shell(const char *name) {
        static const char * const shells[] = {
                "sh", "bash", "rbash", "dash", "ash", "zsh", "ksh", "ksh93", "mksh", "pdksh",
                "yash", "posh", "fish", NULL,
        };
        for (const char * const *s = shells; *s; s++)
                if (streq(name, *s))
                        return true;
        return false;
}

/* The script of `sh -c SCRIPT` (bash -lc, zsh -o x -c, fish --command=...). */
static const char *shell_script(char * const *a, size_t n) {
        bool c = false;

        if (!is_shell(a[0]))
                return NULL;
        for (size_t i = 1; i < n; i++) {
                const char *t = a[i];

                if (streq(t, "--") || streq(t, "-"))
                        return c && i + 1 < n ? a[i + 1] : NULL;
                if (startswith(t, "--")) {
                        if (startswith(t, "--command="))
                                return t + strlen("--command=");
                        if (streq(t, "--command"))
                                return i + 1 < n ? a[i + 1] : NULL;
                        if (streq(t, "--rcfile") || streq(t, "--init-file"))
                                i++;
                        continue;
                }
                if ((t[0] == '-' || t[0] == '+') && t[1]) {
                        size_t skip = 0;
                        for (size_t j = 1; t[j]; j++) {
                                if (t[j] == 'c' && t[0] == '-')
                                        c = true;
                                if (t[j] == 'o' || t[j] == 'O')
                                        skip++;         /* -o OPTION */
                        }
                        i += skip;
                        continue;
                }
                return c ? t : NULL;
        }
        return NULL;
}

static int check_find_exec(Checker *c, char * const *a, size_t n) {
        for (size_t i = 1; i < n; i++) {
                size_t j;

                if (!streq(a[i], "-exec") && !streq(a[i], "-execdir") &&
                    !streq(a[i], "-ok") && !streq(a[i], "-okdir"))
                        continue;
                for (j = i + 1; j < n && !streq(a[j], ";") && !streq(a[j], "+"); j++)
                        ;
                if (j > i + 1) {
                        _cleanup_strv_free_ char **inner = calloc(j - i, sizeof(char *));
                        int r;

                        if (!inner)
                                return -ENOMEM;
                        for (size_t k = i + 1; k < j; k++)
                                if (!(inner[k - i - 1] = strdup(a[k])))
                                        return -ENOMEM;
                        r = check_command(c, inner);
                        if (r != 0)
                                return r;
                }
                i = j;
        }
        return 0;
}

/* Judges argv, then what it runs: a shell's script, a wrapper's command,
 * find's -exec commands. */
static int check_command(Checker *c, char * const *argv) {
        _cleanup_strv_free_ char **v = NULL;
        _cleanup_(inner_done) Inner inner = {};
        const Wrapper *w;
        const char *script;
        size_t n = strv_length(argv);
        char *base;
        int r;

        if (n == 0)
                return 0;
        if (c->depth >= MAX_NESTING)
                return -ELOOP;

        v = strv_copy(argv);
        base = basename_dup(argv[0]);
        if (!v || !base) {
                free(base);
                return -ENOMEM;
        }
        free(v[0]);
        v[0] = base;

        c->depth++;
        r = c->judge(c, v, n);
        if (r == 0 && !c->runtime && (script = shell_script(v, n)))
                r = check_script(c, script);
        if (r == 0 && (w = wrapper_find(v[0]))) {
                r = unwrap(w, v, n, &inner);
                if (r > 0) {
                        if (inner.argv)
                                r = check_command(c, inner.argv);
                        else
                                r = c->runtime ? 0 : check_script(c, inner.script);
                }
        }
        if (r == 0 && streq(v[0], "find"))
                r = check_find_exec(c, v, n);
        c->depth--;
        return r;
}

static void match_reset(CommandMatch *ret) {
        if (ret)
                command_match_done(ret);
}

int command_policy_check_argv(const CommandPolicy *p, char * const *argv, CommandMatch *ret) {
        Checker c = { .p = p, .ret = ret, .judge = judge_local };

        if (!p || !argv)
                return -EINVAL;
        match_reset(ret);
        return check_command(&c, argv);
}

int command_policy_check_shell(const CommandPolicy *p, const char *script, CommandMatch *ret) {
        Checker c = { .p = p, .ret = ret, .judge = judge_local };

        if (!p || !script)
                return -EINVAL;
        match_reset(ret);
        return check_script(&c, script);
}

/* argv with argv[0] replaced by name (argv may be empty). */
static char **argv_renamed(const char *name, char * const *argv) {
        _cleanup_strv_free_ char **v = NULL;

        if (strv_extend(&v, name) < 0)
                return NULL;
        for (size_t i = 1; argv && argv[0] && argv[i]; i++)
                if (strv_extend(&v, argv[i]) < 0)
                        return NULL;
        return TAKE_PTR(v);
}

static int check_exec_argv(Checker *c, const char *path_base, const char *resolved_base, char * const *argv) {
        _cleanup_free_ char *arg0_base = NULL;
        const char *names[3] = { path_base };
        size_t n_names = 1;
        int r = 0;

        /* fence judges [basename(path), argv[1], ...]: argv[0] is the caller's
         * to choose. The resolved name catches symlinked aliases, argv[0]
         * matters only to a multicall binary, which runs it as its applet. */
        if (resolved_base && !streq(resolved_base, path_base))
                names[n_names++] = resolved_base;
        if (argv && argv[0] && (is_multicall(path_base) || (resolved_base && is_multicall(resolved_base)))) {
                arg0_base = basename_dup(argv[0]);
                if (!arg0_base)
                        return -ENOMEM;
                if (!is_multicall(arg0_base))
                        names[n_names++] = arg0_base;
        }

        for (size_t k = 0; k < n_names && r == 0; k++) {
                _cleanup_strv_free_ char **v = argv_renamed(names[k], argv);
                if (!v)
                        return -ENOMEM;
                r = check_command(c, v);
        }
        return r;
}

static bool accepted_shared(const CommandPolicy *p, const Rule *rule, const char *resolved_base) {
        /* fence skips the runtime block of a listed command only when its
         * binary is shared, i.e. is really a file of another name. */
        return strv_contains(p->accept_shared, rule->tokens[0]) && resolved_base &&
               !streq(resolved_base, rule->tokens[0]);
}

static const Rule *single_token_find(const RuleList *l, const char *name) {
        for (size_t k = 0; k < l->n; k++)
                if (l->v[k].n == 1 && first_token_matches(&l->v[k], name))
                        return &l->v[k];
        return NULL;
}

static int check_exec_path(Checker *c, const char *path_base, const char *resolved_base, char * const *argv) {
        const CommandPolicy *p = c->p;
        _cleanup_free_ char *applet = NULL;
        const char *names[3] = { path_base };
        size_t n_names = 1;

        if (resolved_base && !streq(resolved_base, path_base))
                names[n_names++] = resolved_base;
        if (argv && argv[0] && (is_multicall(path_base) || (resolved_base && is_multicall(resolved_base)))) {
                applet = basename_dup(argv[0]);
                if (!applet)
                        return -ENOMEM;
                if (is_multicall(applet)) {
                        free(applet);
                        applet = argv[1] && argv[1][0] != '-' ? basename_dup(argv[1]) : NULL;
                }
                if (applet)
                        names[n_names++] = applet;
        }

        for (size_t k = 0; k < n_names; k++) {
                char *one[2] = { (char *) names[k], NULL };
                const Rule *r;

                if (single_token_find(&p->allow, names[k]))
                        continue;
                r = single_token_find(&p->deny, names[k]);
                if (r && !accepted_shared(p, r, resolved_base))
                        return deny(c, COMMAND_RULE_DENY, r->text, one, NULL);
                if (p->use_defaults) {
                        r = single_token_find(&p->defaults, names[k]);
                        if (r && !accepted_shared(p, r, resolved_base))
                                return deny(c, COMMAND_RULE_DEFAULT, r->text, one, NULL);
                }
        }
        return 0;
}

int command_policy_check_exec(const CommandPolicy *p, const char *path, const char *resolved_path,
                              char * const *argv, CommandMatch *ret) {
        _cleanup_free_ char *path_base = NULL, *resolved_base = NULL;
        Checker c = { .p = p, .ret = ret, .judge = judge_local, .runtime = true };

        if (!p || !path)
                return -EINVAL;
        match_reset(ret);

        path_base = basename_dup(path);
        if (!path_base)
                return -ENOMEM;
        if (resolved_path && !(resolved_base = basename_dup(resolved_path)))
                return -ENOMEM;

        if (p->exec_mode == COMMAND_EXEC_ARGV)
                return check_exec_argv(&c, path_base, resolved_base, argv);
        return check_exec_path(&c, path_base, resolved_base, argv);
}

static int path_names_add(const RuleList *l, const CommandPolicy *p, char ***names) {
        for (size_t k = 0; k < l->n; k++) {
                const Rule *r = &l->v[k];

                if (r->n != 1 || strv_contains(*names, r->tokens[0]))
                        continue;
                /* Only the built-in "mkfs.*" is a pattern; a configured name
                 * with glob characters names no file anyone installs. */
                if (!r->prefix_glob && (r->tokens[0][strcspn(r->tokens[0], "*?[]{}\\")] != 0 ||
                                        streq(r->tokens[0], ".") || streq(r->tokens[0], "..")))
                        continue;
                if (!r->prefix_glob && single_token_find(&p->allow, r->tokens[0]))
                        continue;
                if (strv_extend(names, r->tokens[0]) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int command_policy_path_mode_names(const CommandPolicy *p, bool with_defaults, char ***ret) {
        _cleanup_strv_free_ char **names = calloc(1, sizeof(char *));
        int r;

        if (!p || !ret)
                return -EINVAL;
        if (!names)
                return -ENOMEM;
        if (p->exec_mode == COMMAND_EXEC_PATH) {
                r = path_names_add(&p->deny, p, &names);
                if (r >= 0 && p->use_defaults && with_defaults)
                        r = path_names_add(&p->defaults, p, &names);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(names);
        return 0;
}

bool command_policy_accepts_shared(const CommandPolicy *p, const char *name) {
        return p && name && strv_contains(p->accept_shared, name);
}
