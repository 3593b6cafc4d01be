#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-internal.h"
#include "config-load.h"
#include "config-templates.h"
#include "config.h"
#include "jsonc.h"
#include "strv.h"

static const char * const config_file_names[] = { "fence.jsonc", "fence.json" };

int config_read_file(const char *path, char **ret_text, size_t *ret_size) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;

        /* O_NONBLOCK: a FIFO named fence.json must not hang us. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (st.st_size > (off_t) CONFIG_TEXT_MAX)
                return -EFBIG;

        /* Read to EOF rather than trusting st_size: the file may change. */
        size_t cap = (size_t) st.st_size + 4096;
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k;

                if (n + 1 >= cap) {
                        char *b;
                        if (cap > CONFIG_TEXT_MAX)
                                return -EFBIG;
                        cap *= 2;
                        b = realloc(buf, cap);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                k = read(fd, buf + n, cap - n - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (n > CONFIG_TEXT_MAX)
                return -EFBIG;
        buf[n] = 0;

        *ret_text = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = n;
        return 0;
}

static int read_error(char **ret_error, const char *origin, int r) {
        if (r == -EFBIG)
                return config_errorf(ret_error, r, "%s: file is too large (at most %u bytes)", origin, CONFIG_TEXT_MAX);
        if (r == -EBADFD)
                return config_errorf(ret_error, r, "%s: not a regular file", origin);
        return config_errorf(ret_error, r, "%s: cannot read the file: %s", origin, strerror(-r));
}

int config_load_file(const char *path, ConfigParseFlags flags, FenceConfig **ret, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = config_read_file(path, &text, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return read_error(ret_error, path, r);

        return config_parse(text, size, path, flags, ret, ret_error);
}

int config_load_template(const char *name, FenceConfig **ret, char **ret_error) {
        const ConfigTemplate *t = config_template_find(name);
        _cleanup_free_ char *origin = NULL;
        _cleanup_free_ char *q = NULL;

        if (!t) {
                q = config_quote(name);
                if (!q)
                        return -ENOMEM;
                return config_errorf(ret_error, -ENOENT,
                                     "unknown template %s (run \"fencectl templates\" for the list)", q);
        }
        if (asprintf(&origin, "template %s", t->name) < 0)
                return -ENOMEM;
        return config_parse(t->text, strlen(t->text), origin, 0, ret, ret_error);
}

static bool is_regular_file(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir/fence.jsonc, else dir/fence.json: .jsonc wins, as in fence. */
static int find_in_dir(const char *dir, char **ret_path) {
        for (size_t i = 0; i < ELEMENTSOF(config_file_names); i++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s%s%s", dir, endswith(dir, "/") ? "" : "/", config_file_names[i]) < 0)
                        return -ENOMEM;
                if (is_regular_file(p)) {
                        *ret_path = TAKE_PTR(p);
                        return 0;
                }
        }
        return -ENOENT;
}

int config_user_path(const char *home, const char *xdg_config_home, char **ret_path) {
        _cleanup_free_ char *dir = NULL;
        int r;

        if (xdg_config_home && xdg_config_home[0] == '/')
                r = asprintf(&dir, "%s/fence", xdg_config_home);
        else if (home && home[0] == '/')
                r = asprintf(&dir, "%s/.config/fence", home);
        else
                return -ENOENT;
        if (r < 0)
                return -ENOMEM;

        r = find_in_dir(dir, ret_path);
        if (r != -ENOENT)
                return r;

        /* fence still reads its older ~/.fence.jsonc and ~/.fence.json. */
        if (home && home[0] == '/')
                for (size_t i = 0; i < ELEMENTSOF(config_file_names); i++) {
                        _cleanup_free_ char *p = NULL;

                        if (asprintf(&p, "%s/.%s", home, config_file_names[i]) < 0)
                                return -ENOMEM;
                        if (is_regular_file(p)) {
                                *ret_path = TAKE_PTR(p);
                                return 0;
                        }
                }
        return -ENOENT;
}

int config_discover(const char *cwd, const char *home, const char *xdg_config_home, char **ret_path) {
        _cleanup_free_ char *dir = NULL;
        int r;

        if (cwd && cwd[0] == '/') {
                dir = strdup(cwd);
                if (!dir)
                        return -ENOMEM;

                for (;;) {
                        char *slash;

                        r = find_in_dir(dir, ret_path);
                        if (r != -ENOENT)
                                return r;

                        if (streq(dir, "/"))
                                break;
                        slash = strrchr(dir, '/');
                        if (slash == dir)
                                slash[1] = 0;
                        else
                                *slash = 0;
                }
        }

        return config_user_path(home, xdg_config_home, ret_path);
}

/* ---- extends chains --------------------------------------------------- */

typedef struct Link {
        FenceConfig *config;
        char *label;            /* chain entry shown to the user */
        char *origin;           /* name in error messages */
        char *dir;              /* base for relative extends; NULL for templates */
        char *ids[2];           /* identities for cycle detection ("@base" + its file) */
} Link;

static void link_done(Link *l) {
        config_free(l->config);
        free(l->label);
        free(l->origin);
        free(l->dir);
        free(l->ids[0]);
        free(l->ids[1]);
        *l = (Link) {};
}

typedef struct Resolver {
        /* One spare slot: the link that would exceed the depth is never loaded. */
        Link links[CONFIG_EXTENDS_DEPTH_MAX + 2];
        size_t n;
        const char *home;
        const char *xdg;
        ConfigParseFlags flags;
} Resolver;

static void resolver_done(Resolver *r) {
        for (size_t i = 0; i < ELEMENTSOF(r->links); i++)
                link_done(&r->links[i]);
}

static char *dirname_of(const char *path) {
        const char *slash = strrchr(path, '/');

        if (!slash)
                return strdup(".");
        if (slash == path)
                return strdup("/");
        return strndup(path, (size_t) (slash - path));
}

/* Symlinked or differently spelled paths to one file are one link. */
static char *file_id(const char *path) {
        char *rp = realpath(path, NULL);
        char *id = NULL;

        if (asprintf(&id, "file:%s", rp ?: path) < 0)
                id = NULL;
        free(rp);
        return id;
}

/* referrer: the origin of the file whose "extends" names path, for a message
 * that points at the "extends" key when path can't be read. */
static int link_file(Link *l, const char *path, const char *origin, const char *referrer, bool empty_ok,
                     ConfigParseFlags flags, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = config_read_file(path, &text, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && referrer)
                return config_errorf(ret_error, r, "%s: extends: cannot read %s: %s", referrer, path,
                                     r == -EBADFD ? "not a regular file" : strerror(-r));
        if (r < 0)
                return read_error(ret_error, origin, r);

        if (referrer && !empty_ok && jsonc_is_blank(text, size))
                return config_errorf(ret_error, -EINVAL,
                                     "%s: the file is empty, so there is nothing to extend (add settings, "
                                     "or remove the \"extends\" in %s)", origin, referrer);

        r = config_parse(text, size, origin, flags, &l->config, ret_error);
        if (r < 0)
                return r;

        l->label = strdup(path);
        l->origin = strdup(origin);
        l->dir = dirname_of(path);
        l->ids[0] = file_id(path);
        if (!l->label || !l->origin || !l->dir || !l->ids[0])
                return -ENOMEM;
        return 0;
}

static int link_template(Link *l, const char *name, char **ret_error) {
        const ConfigTemplate *t;
        int r;

        r = config_load_template(name, &l->config, ret_error);
        if (r < 0)
                return r;
        t = config_template_find(name);

        if (asprintf(&l->label, "template %s", t->name) < 0 ||
            asprintf(&l->origin, "template %s", t->name) < 0 ||
            asprintf(&l->ids[0], "template:%s", t->name) < 0)
                return -ENOMEM;
        return 0;
}

static bool extends_is_path(const char *v) {
        return strpbrk(v, "/\\") || v[0] == '.';
}

static bool link_has_id(const Link *l, const char *id) {
        return id && ((l->ids[0] && streq(l->ids[0], id)) || (l->ids[1] && streq(l->ids[1], id)));
}

/* "a → b → c" for a cycle message. */
static char *chain_description(const Resolver *res, const char *last) {
        _cleanup_strv_free_ char **labels = NULL;

        for (size_t i = 0; i < res->n; i++)
                if (strv_extend(&labels, res->links[i].label) < 0)
                        return NULL;
        if (strv_extend(&labels, last) < 0)
                return NULL;
        return strv_join(labels, " → ");
}

static int load_extends(Resolver *res, Link *cur, Link *next, const char *q, char **ret_error) {
        const char *ext = cur->config->extends;
        int r;

        if (streq(ext, "@base")) {
                _cleanup_free_ char *path = NULL;

                r = config_user_path(res->home, res->xdg, &path);
                if (r == -ENOENT) {
                        /* fence: without a user config, @base is the default (empty) one. */
                        next->config = config_new();
                        next->label = strdup("@base (no user config: empty)");
                        next->origin = strdup("@base");
                        if (!next->config || !next->label || !next->origin)
                                return -ENOMEM;
                } else if (r < 0)
                        return r;
                else {
                        /* fence reads an empty user config as "no settings". */
                        r = link_file(next, path, path, cur->origin, true, res->flags, ret_error);
                        if (r < 0)
                                return r;
                        free(next->label);
                        if (asprintf(&next->label, "@base %s", path) < 0) {
                                next->label = NULL;
                                return -ENOMEM;
                        }
                }
                next->ids[1] = strdup("@base");
                return next->ids[1] ? 0 : -ENOMEM;
        }

        if (extends_is_path(ext)) {
                _cleanup_free_ char *path = NULL;

                if (!cur->dir)
                        return config_errorf(ret_error, -EINVAL,
                                             "%s: extends: %s is a file path, but only files can extend files "
                                             "(templates extend templates)", cur->origin, q);
                _cleanup_free_ char *joined = NULL;
                if (ext[0] != '/' && asprintf(&joined, "%s/%s", cur->dir, ext) < 0)
                        return -ENOMEM;
                /* Cleaned lexically, as fence's filepath.Join does. */
                path = config_path_clean(joined ?: ext);
                if (!path)
                        return -ENOMEM;
                return link_file(next, path, path, cur->origin, false, res->flags, ret_error);
        }

        if (!config_template_find(ext))
                return config_errorf(ret_error, -ENOENT,
                                     "%s: extends: unknown template %s (run \"fencectl templates\" for the list, "
                                     "or write a file path such as \"./base.json\")", cur->origin, q);
        return link_template(next, ext, ret_error);
}

/* Loads what links[n-1] extends into links[n]. */
static int follow_extends(Resolver *res, char **ret_error) {
        Link *cur = &res->links[res->n - 1], *next = &res->links[res->n];
        _cleanup_free_ char *q = config_quote(cur->config->extends);
        int r;

        if (!q)
                return -ENOMEM;

        if (res->n > CONFIG_EXTENDS_DEPTH_MAX)
                return config_errorf(ret_error, -ELOOP,
                                     "%s: extends: the chain is more than %u levels deep "
                                     "(flatten it by merging some of the files)",
                                     cur->origin, CONFIG_EXTENDS_DEPTH_MAX);

        r = load_extends(res, cur, next, q, ret_error);
        if (r < 0)
                return r;

        for (size_t i = 0; i < res->n; i++)
                if (link_has_id(&res->links[i], next->ids[0]) || link_has_id(&res->links[i], next->ids[1])) {
                        _cleanup_free_ char *cycle = chain_description(res, next->label);
                        return config_errorf(ret_error, -ELOOP, "%s: extends: %s leads back into the chain (%s)",
                                             cur->origin, q, cycle ?: "a cycle");
                }

        res->n++;
        return 0;
}

static const char *env_home(void) {
        const char *h = getenv("HOME");
        struct passwd *pw;

        if (h && h[0] == '/')
                return h;
        pw = getpwuid(getuid());
        return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

int config_resolve(const ConfigResolveOptions *opts, FenceConfig **ret, char ***ret_chain, char **ret_error) {
        _cleanup_(resolver_done) Resolver res = {};
        _cleanup_config_ FenceConfig *merged = NULL;
        _cleanup_strv_free_ char **chain = NULL;
        _cleanup_free_ char *cwd_buf = NULL, *path = NULL;
        const char *cwd = opts->cwd;
        int r;

        if (!cwd) {
                cwd = cwd_buf = getcwd(NULL, 0);
                if (!cwd)
                        return config_errorf(ret_error, -errno, "cannot determine the working directory: %m");
        }
        if (cwd[0] != '/')
                return config_errorf(ret_error, -EINVAL, "the working directory must be an absolute path");
        res.home = opts->home ? (opts->home[0] ? opts->home : NULL) : env_home();
        res.xdg = opts->xdg_config_home ? opts->xdg_config_home : getenv("XDG_CONFIG_HOME");
        if (res.xdg && res.xdg[0] != '/')
                res.xdg = NULL;         /* the XDG spec says to ignore relative values */
        res.flags = opts->lenient ? CONFIG_PARSE_LENIENT : 0;

        chain = calloc(1, sizeof(char *));
        merged = config_new();
        if (!chain || !merged)
                return -ENOMEM;

        if (opts->template_name)
                r = link_template(&res.links[0], opts->template_name, ret_error);
        else if (opts->file) {
                _cleanup_free_ char *joined = NULL;
                if (opts->file[0] != '/' && asprintf(&joined, "%s/%s", cwd, opts->file) < 0)
                        return -ENOMEM;
                path = config_path_clean(joined ?: opts->file);
                if (!path)
                        return -ENOMEM;
                r = link_file(&res.links[0], path, opts->file, NULL, true, res.flags, ret_error);
        } else {
                r = config_discover(cwd, res.home, res.xdg, &path);
                if (r == -ENOENT) {
                        /* Nothing found: the default policy, an empty config. */
                        *ret = TAKE_PTR(merged);
                        if (ret_chain)
                                *ret_chain = TAKE_PTR(chain);
                        return 0;
                }
                if (r < 0)
                        return r;
                r = link_file(&res.links[0], path, path, NULL, true, res.flags, ret_error);
        }
        if (r < 0)
                return r;
        res.n = 1;

        while (res.links[res.n - 1].config->extends) {
                r = follow_extends(&res, ret_error);
                if (r < 0)
                        return r;
        }

        for (size_t i = res.n; i > 0; i--) {
                r = config_merge(merged, res.links[i - 1].config);
                if (r < 0)
                        return r;
                r = strv_extend(&chain, res.links[i - 1].label);
                if (r < 0)
                        return r;
        }

        r = config_validate(merged, res.links[0].origin, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(merged);
        if (ret_chain)
                *ret_chain = TAKE_PTR(chain);
        return 0;
}
