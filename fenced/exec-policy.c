#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
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

static bool is_system_dir(const char *d) {
        for (size_t i = 0; i < ELEMENTSOF(system_bin_dirs); i++)
                if (streq(d, system_bin_dirs[i]))
                        return true;
        return false;
}

static bool usable_dir(const char *d) {
        /* Taken as a pattern later: no glob characters, absolute, no dot
         * components that would make one directory look like many. */
        return d[0] == '/' && strlen(d) < PATH_MAX / 2 && d[strcspn(d, "*?[]{}\\")] == 0 &&
               !strstr(d, "/./") && !strstr(d, "/../") && !endswith(d, "/.") && !endswith(d, "/..");
}

/* The system directories, real paths, once each. */
static int collect_system_dirs(char ***ret) {
        _cleanup_strv_free_ char **dirs = calloc(1, sizeof(char *));

        if (!dirs)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(system_bin_dirs); i++) {
                char real[PATH_MAX];

                if (!realpath(system_bin_dirs[i], real))
                        continue;
                if (!strv_contains(dirs, real) && strv_extend(&dirs, real) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(dirs);
        return 0;
}

/* The absolute directories of the command's PATH that are not system ones:
 * the user's own, resolved later as the user. */
static int collect_user_dirs(char * const *env, char * const *system_dirs, char ***ret) {
        _cleanup_strv_free_ char **dirs = calloc(1, sizeof(char *));
        const char *path = NULL;

        if (!dirs)
                return -ENOMEM;

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
                        if (usable_dir(d) && !strv_contains(dirs, d) && !strv_contains(system_dirs, d) &&
                            !is_system_dir(d) && strv_extend(&dirs, d) < 0)
                                return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(dirs);
        return 0;
}

static int add_unique(char ***l, const char *s) {
        return strv_contains(*l, s) ? 0 : strv_extend(l, s);
}

/* A system directory's files of that name (or glob), by their real paths:
 * root's directories, so fenced resolves them itself, once, and the sandbox
 * only mounts the masks (one per file, however many names it has). */
static int add_system_masks(const char *dir, const char *name, char ***deny_read) {
        char path[PATH_MAX], real[PATH_MAX];
        struct stat st;
        int r = 0;

        if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int) sizeof path)
                return 0;
        if (strchr(name, '*')) {
                glob_t g = {};

                if (glob(path, GLOB_NOSORT, NULL, &g) == 0)
                        for (size_t i = 0; i < g.gl_pathc && r >= 0; i++)
                                if (realpath(g.gl_pathv[i], real) && stat(real, &st) == 0 && S_ISREG(st.st_mode))
                                        r = add_unique(deny_read, real);
                globfree(&g);
                return r;
        }
        /* Most names are absent from most directories: one stat() says so. */
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !realpath(path, real))
                return 0;
        return add_unique(deny_read, real);
}

/* What the system directories hold changes with package installs only:
 * each name's real paths are remembered for a while, so a Run does not
 * read /usr/bin (a glob) or stat dozens of paths in fenced's event loop. */
#define MASK_CACHE_USEC (60ULL * 1000000ULL)

typedef struct MaskEntry {
        char *name;
        char **paths;
        uint64_t when;
} MaskEntry;

struct ExecMaskCache {
        MaskEntry *v;
        size_t n;
};

ExecMaskCache *exec_mask_cache_free(ExecMaskCache *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n; i++) {
                free(c->v[i].name);
                strv_free(c->v[i].paths);
        }
        free(c->v);
        free(c);
        return NULL;
}

static int system_masks_of(ExecMaskCache *c, char * const *system_dirs, const char *name, char * const **ret) {
        _cleanup_strv_free_ char **paths = calloc(1, sizeof(char *));
        MaskEntry *e = NULL;
        uint64_t now = now_usec();
        int r;

        for (size_t i = 0; c && i < c->n; i++)
                if (streq(c->v[i].name, name)) {
                        e = &c->v[i];
                        break;
                }
        if (e && now - e->when < MASK_CACHE_USEC) {
                *ret = e->paths;
                return 0;
        }

        if (!paths)
                return -ENOMEM;
        for (char * const *d = system_dirs; *d; d++) {
                r = add_system_masks(*d, name, &paths);
                if (r < 0)
                        return r;
        }
        if (!e) {
                MaskEntry *v = realloc(c->v, (c->n + 1) * sizeof(MaskEntry));
                if (!v)
                        return -ENOMEM;
                c->v = v;
                e = &c->v[c->n];
                *e = (MaskEntry) { .name = strdup(name) };
                if (!e->name)
                        return -ENOMEM;
                c->n++;
        }
        strv_free(e->paths);
        e->paths = TAKE_PTR(paths);
        e->when = now;
        *ret = e->paths;
        return 0;
}

int exec_policy_path_masks(const CommandPolicy *p, char * const *env, ExecMaskCache **cache, char ***deny_read) {
        _cleanup_strv_free_ char **names = NULL, **configured = NULL, **dirs = NULL, **system_dirs = NULL;
        int r;

        r = command_policy_path_mode_names(p, true, &names);
        if (r < 0)
                return r;
        r = command_policy_path_mode_names(p, false, &configured);
        if (r < 0)
                return r;
        if (!names[0])
                return 0;
        if (!*cache) {
                *cache = calloc(1, sizeof(ExecMaskCache));
                if (!*cache)
                        return -ENOMEM;
        }
        r = collect_system_dirs(&system_dirs);
        if (r < 0)
                return r;
        r = collect_user_dirs(env, system_dirs, &dirs);
        if (r < 0)
                return r;

        for (char **n = names; *n; n++) {
                if (command_policy_accepts_shared(p, *n) && binary_is_shared(*n))
                        continue;
                char * const *paths;

                r = system_masks_of(*cache, system_dirs, *n, &paths);
                if (r < 0)
                        return r;
                for (char * const *m = paths; *m; m++)
                        if (add_unique(deny_read, *m) < 0)
                                return -ENOMEM;
                /* The built-in list names system tools: only what the user
                 * configured is looked for in the user's own directories
                 * (each is a path walk in every sandbox's set-up). */
                if (!strv_contains(configured, *n))
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
        int fd, r;

        fd = exec_supervisor_load_filter(prog);
        if (fd < 0)
                return fd;
        r = setup_msg_send_fd(setup_fd, SETUP_MSG_EXEC_LISTENER, fd);
        /* From here on only fenced holds the listener. */
        safe_close(fd);
        return r;
}
