#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

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
        if (addr[0] == '[' && endswith(addr, "]")) {
                memmove(addr, addr + 1, strlen(addr));
                addr[strlen(addr) - 1] = 0;
        }
        if (inet_pton(AF_INET, addr, buf) != 1 && inet_pton(AF_INET6, addr, buf) != 1)
                return log_error_errno(EINVAL, "-p %s: '%s' is not a literal IP address (host names are not allowed).",
                                       value, addr);
        return 0;
}

static int read_file(const char *path, char **ret) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *text = NULL;
        size_t n = 0;

        if (!f)
                return negative_errno();
        if (getdelim(&text, &n, '\0', f) < 0) {
                if (ferror(f))
                        return negative_errno();
                text = strdup("");
                if (!text)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(text);
        return 0;
}

int run_config_resolve(Fencectl *ctl, const RunConfigOptions *o, int cwd_fd, char **ret) {
        _cleanup_free_ char *text = NULL, *err = NULL;
        _cleanup_json_ yajl_val v = NULL;
        int r;

        if (o->ports)
                return log_error_errno(EOPNOTSUPP, "-p: exposing sandbox ports needs the network filter, "
                                       "which this version of fenced does not have yet.");
        if (o->template_name)
                return log_error_errno(EOPNOTSUPP, "-t %s: templates are not supported by this build yet.",
                                       o->template_name);
        if (o->expose_ro || o->expose_rw)
                return log_error_errno(EOPNOTSUPP, "--expose-host-path: not supported by this build yet.");
        if (!o->settings) {
                *ret = NULL;
                return 0;
        }
        r = read_file(o->settings, &text);
        if (r < 0)
                return log_error_errno(r, "cannot read %s: %m", o->settings);
        r = json_parse(text, &v, &err);
        if (r < 0 || !YAJL_IS_OBJECT(v))
                return log_error_errno(EINVAL, "%s: %s", o->settings, err ?: "expected a JSON object");
        *ret = TAKE_PTR(text);
        return 0;
}
