#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "config-load.h"
#include "json.h"
#include "log.h"
#include "run-config.h"
#include "strv.h"

void run_config_options_done(RunConfigOptions *o) {
        o->ports = strv_free(o->ports);
        o->expose_ro = strv_free(o->expose_ro);
        o->expose_rw = strv_free(o->expose_rw);
}

static int parse_port_number(const char *s) {
        char *end;
        long v;

        if (!s[0] || s[0] == '+' || s[0] == '-')
                return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || v < 1 || v > 65535)
                return -EINVAL;
        return (int) v;
}

int run_config_parse_port(const char *value) {
        const char *colon = strrchr(value, ':');
        _cleanup_free_ char *addr = NULL;
        unsigned char buf[sizeof(struct in6_addr)];

        if (!colon) {
                if (parse_port_number(value) < 0)
                        return log_error_errno(EINVAL, "-p %s: invalid port (expected 1-65535 or ADDR:PORT).", value);
                return 0;
        }
        if (parse_port_number(colon + 1) < 0)
                return log_error_errno(EINVAL, "-p %s: invalid port '%s' (expected 1-65535).", value, colon + 1);
        addr = strndup(value, (size_t) (colon - value));
        if (!addr)
                return log_oom();
        /* [::1]:8080 */
        bool bracketed = addr[0] == '[' && endswith(addr, "]");
        if (bracketed) {
                memmove(addr, addr + 1, strlen(addr));
                addr[strlen(addr) - 1] = 0;
        }
        if (inet_pton(AF_INET6, addr, buf) == 1) {
                /* ::1:8080 could as well be the address ::1:8080 with no port. */
                if (!bracketed)
                        return log_error_errno(EINVAL, "-p %s: an IPv6 address needs brackets: [ADDR]:PORT.", value);
                return 0;
        }
        if (inet_pton(AF_INET, addr, buf) != 1)
                return log_error_errno(EINVAL, "-p %s: '%s' is not a literal IP address (host names are not allowed).",
                                       value, addr);
        return 0;
}

static int expose(char ***list, char * const *paths, int cwd_fd) {
        for (char * const *p = paths; p && *p; p++) {
                _cleanup_free_ char *abs = NULL;

                if ((*p)[0] == '/')
                        abs = strdup(*p);
                else {
                        char cwd[PATH_MAX];
                        if (!getcwd(cwd, sizeof cwd))
                                return negative_errno();
                        if (asprintf(&abs, "%s/%s", cwd, *p) < 0)
                                abs = NULL;
                }
                if (!abs || strv_consume(list, TAKE_PTR(abs)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int run_config_resolve(Fencectl *ctl, const RunConfigOptions *o, int cwd_fd, char **ret) {
        _cleanup_config_ FenceConfig *c = NULL;
        _cleanup_strv_free_ char **chain = NULL;
        _cleanup_free_ char *err = NULL, *json = NULL;
        ConfigResolveOptions opts = {
                .template_name = o->template_name,
                .file = o->settings,
                .lenient = o->lenient,
        };
        int r;

        r = config_resolve(&opts, &c, &chain, &err);
        if (r < 0) {
                log_error("%s", err ?: strerror(-r));
                return r;
        }
        r = expose(&c->filesystem.allow_read, o->expose_ro, cwd_fd);
        if (r >= 0)
                r = expose(&c->filesystem.allow_write, o->expose_rw, cwd_fd);
        if (r < 0)
                return log_error_errno(r, "--expose-host-path: %m");

        r = config_to_json(c, 0, &json);
        if (r < 0)
                return log_error_errno(r, "cannot serialize the configuration: %m");
        *ret = TAKE_PTR(json);
        return 0;
}
