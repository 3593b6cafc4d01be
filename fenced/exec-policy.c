#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec-policy.h"
#include "exec-supervisor.h"
#include "setup-proto.h"
#include "strv.h"

/* Where executables live on any distribution; root-owned, so fenced may
 * look at them itself. */
static const char * const system_bin_dirs[] = {
        "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin",
};

/* Bounds on what a PATH may add to the masks. */
#define PATH_DIRS_MAX 64

int exec_policy_from_config(const FenceConfig *c, CommandPolicy **ret) {
        CommandPolicySettings s = {
                .deny = c->command.deny,
                .allow = c->command.allow,
                .use_defaults = config_use_default_denied_commands(c),
                .exec_mode = config_runtime_exec_policy(c) == RUNTIME_EXEC_POLICY_ARGV ? COMMAND_EXEC_ARGV
                                                                                      : COMMAND_EXEC_PATH,
                .accept_shared_binary = c->command.accept_shared_binary_cannot_runtime_deny,
                .ssh_allowed_hosts = c->ssh.allowed_hosts,
                .ssh_denied_hosts = c->ssh.denied_hosts,
                .ssh_allowed_commands = c->ssh.allowed_commands,
                .ssh_denied_commands = c->ssh.denied_commands,
                .ssh_allow_all_commands = tristate_to_bool(c->ssh.allow_all_commands, false),
                .ssh_inherit_deny = tristate_to_bool(c->ssh.inherit_deny, false),
        };

        return command_policy_new(&s, ret);
}

char *exec_policy_describe(const CommandMatch *m) {
        const char *setting = command_rule_source_to_string(m->source);
        const char *cmd = m->command ?: "";
        char *s = NULL;
        int r;

        if (m->source == COMMAND_RULE_UNCHECKABLE)
                r = asprintf(&s, "command denied: it cannot be checked safely (%s): %s", m->detail ?: "?", cmd);
        else if (m->rule && m->detail)
                r = asprintf(&s, "command denied by %s \"%s\" (host %s): %s", setting, m->rule, m->detail, cmd);
        else if (m->rule)
                r = asprintf(&s, "command denied by %s \"%s\": %s", setting, m->rule, cmd);
        else
                r = asprintf(&s, "command denied by %s (host %s is not listed): %s", setting, m->detail ?: "?", cmd);
        return r < 0 ? NULL : s;
}

int exec_policy_preflight(const CommandPolicy *p, char * const *argv, char **ret_message) {
        _cleanup_(command_match_done) CommandMatch m = {};
        char *msg = NULL;
        int r;

        r = command_policy_check_argv(p, argv, &m);
        if (r == 0)
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                _cleanup_free_ char *joined = strv_join(argv, " ");

                if (!joined)
                        return -ENOMEM;
                command_match_done(&m);
                if (asprintf(&msg, "command denied: it cannot be checked safely (%s): %s",
                             r == -EINVAL ? "unterminated quote or substitution" :
                             r == -ELOOP ? "nested too deep" : strerror(-r), joined) < 0)
                        return -ENOMEM;
        } else if (!(msg = exec_policy_describe(&m)))
                return -ENOMEM;

        if (ret_message)
                *ret_message = msg;
        else
                free(msg);
        return 1;
}

bool exec_policy_needs_supervisor(const CommandPolicy *p) {
        return command_policy_exec_mode(p) == COMMAND_EXEC_ARGV && command_policy_has_runtime_rules(p);
}

/* A system binary of that name is shared: a symlink to a file of another
 * name (reboot -> systemctl) or a file with other hard links. */
static bool binary_is_shared(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(system_bin_dirs); i++) {
                char path[PATH_MAX], real[PATH_MAX];
                struct stat st;

                snprintf(path, sizeof path, "%s/%s", system_bin_dirs[i], name);
                if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (st.st_nlink > 1)
                        return true;
                if (realpath(path, real) && !streq(basename(real), name))
                        return true;
        }
        return false;
}

static bool usable_dir(const char *d) {
        /* Taken as a pattern later: no glob characters, absolute, no dot
         * components that would make one directory look like many. */
        return d[0] == '/' && strlen(d) < PATH_MAX / 2 && d[strcspn(d, "*?[]{}\\")] == 0 &&
               !strstr(d, "/./") && !strstr(d, "/../") && !endswith(d, "/.") && !endswith(d, "/..");
}

static int collect_dirs(char * const *env, char ***ret) {
        _cleanup_strv_free_ char **dirs = calloc(1, sizeof(char *));
        const char *path = NULL;

        if (!dirs)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(system_bin_dirs); i++) {
                char real[PATH_MAX];
                const char *d = realpath(system_bin_dirs[i], real) ? real : system_bin_dirs[i];

                if (!strv_contains(dirs, d) && strv_extend(&dirs, d) < 0)
                        return -ENOMEM;
        }

        for (char * const *e = env; e && *e; e++)
                if (startswith(*e, "PATH="))
                        path = *e + 5;
        if (path) {
                _cleanup_free_ char *copy = strdup(path);
                char *save = NULL;
                size_t n = 0;

                if (!copy)
                        return -ENOMEM;
                for (char *d = strtok_r(copy, ":", &save); d && n < PATH_DIRS_MAX; d = strtok_r(NULL, ":", &save), n++) {
                        size_t l = strlen(d);

                        while (l > 1 && d[l - 1] == '/')
                                d[--l] = 0;
                        /* The user's own directories are resolved later, as the user. */
                        if (usable_dir(d) && !strv_contains(dirs, d) && strv_extend(&dirs, d) < 0)
                                return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(dirs);
        return 0;
}

int exec_policy_path_masks(const CommandPolicy *p, char * const *env, char ***deny_read) {
        _cleanup_strv_free_ char **names = NULL, **dirs = NULL;
        int r;

        r = command_policy_path_mode_names(p, &names);
        if (r < 0)
                return r;
        if (!names[0])
                return 0;
        r = collect_dirs(env, &dirs);
        if (r < 0)
                return r;

        for (char **n = names; *n; n++) {
                if (command_policy_accepts_shared(p, *n) && binary_is_shared(*n))
                        continue;
                for (char **d = dirs; *d; d++) {
                        char *pattern = NULL;

                        if (asprintf(&pattern, "%s/%s", streq(*d, "/") ? "" : *d, *n) < 0)
                                return -ENOMEM;
                        if (strv_contains(*deny_read, pattern)) {
                                free(pattern);
                                continue;
                        }
                        if (strv_consume(deny_read, pattern) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

int exec_policy_handoff_listener(int setup_fd, const struct sock_fprog *prog) {
        SetupMsg m = { .type = SETUP_MSG_EXEC_LISTENER };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = &m, .iov_len = sizeof m };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1,
                .msg_control = &control, .msg_controllen = sizeof control,
        };
        struct cmsghdr *c;
        int fd, r = 0;

        fd = exec_supervisor_load_filter(prog);
        if (fd < 0)
                return fd;

        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        if (sendmsg(setup_fd, &mh, MSG_NOSIGNAL) != (ssize_t) sizeof m)
                r = -errno ?: -EIO;
        /* From here on only fenced holds the listener. */
        safe_close(fd);
        return r;
}
