#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "config.h"
#include "json.h"
#include "strv.h"

static const char * const device_mode_names[_DEVICE_MODE_MAX] = {
        [DEVICE_MODE_AUTO] = "auto",
        [DEVICE_MODE_MINIMAL] = "minimal",
        [DEVICE_MODE_HOST] = "host",
};

static const char * const network_default_action_names[_NETWORK_DEFAULT_ACTION_MAX] = {
        [NETWORK_DEFAULT_ACTION_DENY] = "deny",
        [NETWORK_DEFAULT_ACTION_PROXY] = "proxy",
};

static const char * const runtime_exec_policy_names[_RUNTIME_EXEC_POLICY_MAX] = {
        [RUNTIME_EXEC_POLICY_PATH] = "path",
        [RUNTIME_EXEC_POLICY_ARGV] = "argv",
};

const char *device_mode_to_string(DeviceMode m) {
        return m > 0 && m < _DEVICE_MODE_MAX ? device_mode_names[m] : NULL;
}

const char *network_default_action_to_string(NetworkDefaultAction a) {
        return a > 0 && a < _NETWORK_DEFAULT_ACTION_MAX ? network_default_action_names[a] : NULL;
}

const char *runtime_exec_policy_to_string(RuntimeExecPolicy p) {
        return p > 0 && p < _RUNTIME_EXEC_POLICY_MAX ? runtime_exec_policy_names[p] : NULL;
}

#define OFF(member) offsetof(FenceConfig, member)

#define F_STRING(p, m, chk, fl) \
        { .path = (p), .kind = FIELD_STRING, .offset = OFF(m), .check = (chk), .floor = (fl) }
#define F_STRV(p, m, chk, fl, is_path_) \
        { .path = (p), .kind = FIELD_STRV, .offset = OFF(m), .check = (chk), .floor = (fl), .is_path = (is_path_) }
#define F_BOOL(p, m, fl) \
        { .path = (p), .kind = FIELD_BOOL, .offset = OFF(m), .floor = (fl) }
#define F_OPTBOOL(p, m, fl) \
        { .path = (p), .kind = FIELD_OPTIONAL_BOOL, .offset = OFF(m), .floor = (fl) }
#define F_ENUM(p, m, names, fl, fv) \
        { .path = (p), .kind = FIELD_ENUM, .offset = OFF(m), .enum_names = (names), \
          .n_enum = (int) ELEMENTSOF(names), .floor = (fl), .floor_value = (fv) }
#define F_PORT(p, m) \
        { .path = (p), .kind = FIELD_PORT, .offset = OFF(m), .floor = FLOOR_REJECT }
#define F_PORTS(p, m) \
        { .path = (p), .kind = FIELD_PORT_LIST, .offset = OFF(m), .floor = FLOOR_REJECT }

/* Row order is the canonical JSON order; the rows of a section must be
 * contiguous. */
const ConfigField config_fields[] = {
        F_STRING("$schema", schema, NULL, FLOOR_IGNORE),
        F_STRING("extends", extends, NULL, FLOOR_REJECT),

        F_STRV("network.allowedDomains", network.allowed_domains, config_check_domain, FLOOR_REJECT, false),
        F_STRV("network.deniedDomains", network.denied_domains, config_check_domain, FLOOR_APPEND, false),
        F_STRV("network.allowUnixSockets", network.allow_unix_sockets, config_check_nonempty, FLOOR_REJECT, true),
        F_BOOL("network.allowAllUnixSockets", network.allow_all_unix_sockets, FLOOR_FORCE_FALSE),
        F_BOOL("network.allowLocalBinding", network.allow_local_binding, FLOOR_FORCE_FALSE),
        F_OPTBOOL("network.allowLocalOutbound", network.allow_local_outbound, FLOOR_FORCE_FALSE),
        F_PORTS("network.allowLocalOutboundPorts", network.allow_local_outbound_ports),
        F_PORT("network.httpProxyPort", network.http_proxy_port),
        F_PORT("network.socksProxyPort", network.socks_proxy_port),
        F_STRING("network.upstreamProxy", network.upstream_proxy, config_check_upstream_proxy, FLOOR_REJECT),
        F_ENUM("network.defaultAction", network.default_action, network_default_action_names,
               FLOOR_FORCE_ENUM, NETWORK_DEFAULT_ACTION_DENY),
        F_STRING("network.dnsServer", network.dns_server, config_check_dns_server, FLOOR_REJECT),

        F_BOOL("filesystem.defaultDenyRead", filesystem.default_deny_read, FLOOR_FORCE_TRUE),
        F_BOOL("filesystem.strictDenyRead", filesystem.strict_deny_read, FLOOR_FORCE_TRUE),
        F_OPTBOOL("filesystem.wslInterop", filesystem.wsl_interop, FLOOR_FORCE_FALSE),
        F_STRV("filesystem.allowRead", filesystem.allow_read, config_check_nonempty, FLOOR_REJECT, true),
        F_STRV("filesystem.allowExecute", filesystem.allow_execute, config_check_nonempty, FLOOR_REJECT, true),
        F_STRV("filesystem.denyRead", filesystem.deny_read, config_check_nonempty, FLOOR_APPEND, true),
        F_STRV("filesystem.allowWrite", filesystem.allow_write, config_check_nonempty, FLOOR_REJECT, true),
        F_STRV("filesystem.denyWrite", filesystem.deny_write, config_check_nonempty, FLOOR_APPEND, true),
        F_BOOL("filesystem.allowGitConfig", filesystem.allow_git_config, FLOOR_FORCE_FALSE),

        F_ENUM("devices.mode", devices.mode, device_mode_names, FLOOR_FORCE_ENUM, DEVICE_MODE_MINIMAL),
        F_STRV("devices.allow", devices.allow, config_check_device_path, FLOOR_REJECT, false),

        F_STRV("command.deny", command.deny, config_check_nonempty, FLOOR_APPEND, false),
        F_STRV("command.allow", command.allow, config_check_nonempty, FLOOR_REJECT, false),
        F_OPTBOOL("command.useDefaults", command.use_defaults, FLOOR_FORCE_TRUE),
        F_STRV("command.acceptSharedBinaryCannotRuntimeDeny", command.accept_shared_binary_cannot_runtime_deny,
               config_check_nonempty, FLOOR_REJECT, false),
        F_ENUM("command.runtimeExecPolicy", command.runtime_exec_policy, runtime_exec_policy_names,
               FLOOR_FORCE_ENUM, RUNTIME_EXEC_POLICY_ARGV),

        F_STRV("ssh.allowedHosts", ssh.allowed_hosts, config_check_host_pattern, FLOOR_REJECT, false),
        F_STRV("ssh.deniedHosts", ssh.denied_hosts, config_check_host_pattern, FLOOR_APPEND, false),
        F_STRV("ssh.allowedCommands", ssh.allowed_commands, config_check_nonempty, FLOOR_REJECT, false),
        F_STRV("ssh.deniedCommands", ssh.denied_commands, config_check_nonempty, FLOOR_APPEND, false),
        F_BOOL("ssh.allowAllCommands", ssh.allow_all_commands, FLOOR_FORCE_FALSE),
        F_BOOL("ssh.inheritDeny", ssh.inherit_deny, FLOOR_FORCE_TRUE),

        F_STRV("macos.mach.lookup", macos.mach_lookup, config_check_mach_service, FLOOR_REJECT, false),
        F_STRV("macos.mach.register", macos.mach_register, config_check_mach_service, FLOOR_REJECT, false),

        F_BOOL("allowPty", allow_pty, FLOOR_FORCE_FALSE),
        F_OPTBOOL("forceNewSession", force_new_session, FLOOR_FORCE_TRUE),
};

const size_t config_fields_count = ELEMENTSOF(config_fields);

const ConfigField *config_field_find(const char *path) {
        for (size_t i = 0; i < config_fields_count; i++)
                if (streq(config_fields[i].path, path))
                        return &config_fields[i];
        return NULL;
}

bool config_field_is_set(const FenceConfig *c, const ConfigField *f) {
        switch (f->kind) {
        case FIELD_STRING:
                return *FIELD_CPTR(c, f, char *) != NULL;
        case FIELD_STRV: {
                char * const *l = *FIELD_CPTR(c, f, char **);
                return l && l[0];
        }
        case FIELD_BOOL:
        case FIELD_OPTIONAL_BOOL:
                return *FIELD_CPTR(c, f, Tristate) != TRISTATE_UNSET;
        case FIELD_ENUM:
                return *FIELD_CPTR(c, f, int) != 0;
        case FIELD_PORT:
                return *FIELD_CPTR(c, f, uint16_t) != 0;
        case FIELD_PORT_LIST:
                return FIELD_CPTR(c, f, PortList)->n > 0;
        }
        return false;
}

void config_field_clear(FenceConfig *c, const ConfigField *f) {
        switch (f->kind) {
        case FIELD_STRING: {
                char **s = FIELD_PTR(c, f, char *);
                free(*s);
                *s = NULL;
                break;
        }
        case FIELD_STRV: {
                char ***l = FIELD_PTR(c, f, char **);
                *l = strv_free(*l);
                break;
        }
        case FIELD_BOOL:
        case FIELD_OPTIONAL_BOOL:
                *FIELD_PTR(c, f, Tristate) = TRISTATE_UNSET;
                break;
        case FIELD_ENUM:
                *FIELD_PTR(c, f, int) = 0;
                break;
        case FIELD_PORT:
                *FIELD_PTR(c, f, uint16_t) = 0;
                break;
        case FIELD_PORT_LIST: {
                PortList *p = FIELD_PTR(c, f, PortList);
                free(p->items);
                *p = (PortList) {};
                break;
        }
        }
}

int config_field_copy(FenceConfig *dst, const FenceConfig *src, const ConfigField *f) {
        config_field_clear(dst, f);

        switch (f->kind) {
        case FIELD_STRING: {
                const char *s = *FIELD_CPTR(src, f, char *);
                if (s) {
                        char *d = strdup(s);
                        if (!d)
                                return -ENOMEM;
                        *FIELD_PTR(dst, f, char *) = d;
                }
                break;
        }
        case FIELD_STRV: {
                char * const *l = *FIELD_CPTR(src, f, char **);
                if (l) {
                        char **d = strv_copy(l);
                        if (!d)
                                return -ENOMEM;
                        *FIELD_PTR(dst, f, char **) = d;
                }
                break;
        }
        case FIELD_BOOL:
        case FIELD_OPTIONAL_BOOL:
                *FIELD_PTR(dst, f, Tristate) = *FIELD_CPTR(src, f, Tristate);
                break;
        case FIELD_ENUM:
                *FIELD_PTR(dst, f, int) = *FIELD_CPTR(src, f, int);
                break;
        case FIELD_PORT:
                *FIELD_PTR(dst, f, uint16_t) = *FIELD_CPTR(src, f, uint16_t);
                break;
        case FIELD_PORT_LIST: {
                const PortList *s = FIELD_CPTR(src, f, PortList);
                PortList *d = FIELD_PTR(dst, f, PortList);
                if (s->n > 0) {
                        d->items = malloc(s->n * sizeof(uint16_t));
                        if (!d->items)
                                return -ENOMEM;
                        memcpy(d->items, s->items, s->n * sizeof(uint16_t));
                        d->n = s->n;
                }
                break;
        }
        }
        return 0;
}

FenceConfig *config_new(void) {
        return calloc(1, sizeof(FenceConfig));
}

FenceConfig *config_free(FenceConfig *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < config_fields_count; i++)
                config_field_clear(c, &config_fields[i]);
        free(c);
        return NULL;
}

int config_copy(const FenceConfig *c, FenceConfig **ret) {
        _cleanup_config_ FenceConfig *n = NULL;
        int r;

        n = config_new();
        if (!n)
                return -ENOMEM;
        for (size_t i = 0; i < config_fields_count; i++) {
                r = config_field_copy(n, c, &config_fields[i]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(n);
        return 0;
}

static bool strv_equal_or_empty(char * const *a, char * const *b) {
        size_t n = strv_length(a);

        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

bool config_equal(const FenceConfig *a, const FenceConfig *b) {
        for (size_t i = 0; i < config_fields_count; i++) {
                const ConfigField *f = &config_fields[i];

                switch (f->kind) {
                case FIELD_STRING:
                        if (!streq_ptr(*FIELD_CPTR(a, f, char *), *FIELD_CPTR(b, f, char *)))
                                return false;
                        break;
                case FIELD_STRV:
                        if (!strv_equal_or_empty(*FIELD_CPTR(a, f, char **), *FIELD_CPTR(b, f, char **)))
                                return false;
                        break;
                case FIELD_BOOL:
                case FIELD_OPTIONAL_BOOL:
                        if (*FIELD_CPTR(a, f, Tristate) != *FIELD_CPTR(b, f, Tristate))
                                return false;
                        break;
                case FIELD_ENUM:
                        if (*FIELD_CPTR(a, f, int) != *FIELD_CPTR(b, f, int))
                                return false;
                        break;
                case FIELD_PORT:
                        if (*FIELD_CPTR(a, f, uint16_t) != *FIELD_CPTR(b, f, uint16_t))
                                return false;
                        break;
                case FIELD_PORT_LIST: {
                        const PortList *pa = FIELD_CPTR(a, f, PortList), *pb = FIELD_CPTR(b, f, PortList);
                        if (pa->n != pb->n ||
                            (pa->n > 0 && memcmp(pa->items, pb->items, pa->n * sizeof(uint16_t)) != 0))
                                return false;
                        break;
                }
                }
        }
        return true;
}

bool config_is_empty(const FenceConfig *c) {
        for (size_t i = 0; i < config_fields_count; i++)
                if (config_field_is_set(c, &config_fields[i]))
                        return false;
        return true;
}

bool config_allow_local_outbound(const FenceConfig *c) {
        /* fence: an unset allowLocalOutbound follows allowLocalBinding. */
        return tristate_to_bool(c->network.allow_local_outbound,
                                tristate_to_bool(c->network.allow_local_binding, false));
}

bool config_default_deny_read(const FenceConfig *c) {
        return c->filesystem.default_deny_read == TRISTATE_TRUE ||
               c->filesystem.strict_deny_read == TRISTATE_TRUE;
}

bool config_use_default_denied_commands(const FenceConfig *c) {
        return tristate_to_bool(c->command.use_defaults, true);
}

DeviceMode config_device_mode(const FenceConfig *c) {
        return c->devices.mode == DEVICE_MODE_UNSET ? DEVICE_MODE_AUTO : c->devices.mode;
}

RuntimeExecPolicy config_runtime_exec_policy(const FenceConfig *c) {
        return c->command.runtime_exec_policy == RUNTIME_EXEC_POLICY_UNSET ? RUNTIME_EXEC_POLICY_PATH
                                                                           : c->command.runtime_exec_policy;
}

NetworkDefaultAction config_network_default_action(const FenceConfig *c) {
        return c->network.default_action == NETWORK_DEFAULT_ACTION_UNSET ? NETWORK_DEFAULT_ACTION_DENY
                                                                         : c->network.default_action;
}

int config_errorf(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;

        if (!ret_error)
                return r;

        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return r;
}

char *config_quote(const char *s) {
        const size_t limit = 200;
        size_t n = strlen(s);
        char *q, *p;

        /* Worst case every byte becomes \u00XX (6 bytes). */
        q = p = malloc((n < limit ? n : limit) * 6 + 8);
        if (!q)
                return NULL;

        *p++ = '"';
        for (size_t i = 0; i < n && i < limit; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c == '"' || c == '\\') {
                        *p++ = '\\';
                        *p++ = (char) c;
                } else if (c < 0x20 || c == 0x7F)
                        /* Keep terminals safe from escape sequences in user data. */
                        p += sprintf(p, "\\u%04x", c);
                else
                        *p++ = (char) c;
        }
        if (n > limit)
                p = stpcpy(p, "...");
        *p++ = '"';
        *p = 0;
        return q;
}

/* ---- canonical JSON ---------------------------------------------------- */

static bool section_is_set(const FenceConfig *c, const char *prefix) {
        size_t l = strlen(prefix);

        for (size_t i = 0; i < config_fields_count; i++)
                if (strncmp(config_fields[i].path, prefix, l) == 0 &&
                    config_field_is_set(c, &config_fields[i]))
                        return true;
        return false;
}

static void gen_field(yajl_gen g, const FenceConfig *c, const ConfigField *f) {
        switch (f->kind) {
        case FIELD_STRING:
                json_gen_string(g, *FIELD_CPTR(c, f, char *));
                break;
        case FIELD_STRV:
                json_gen_strv(g, *FIELD_CPTR(c, f, char **));
                break;
        case FIELD_BOOL:
        case FIELD_OPTIONAL_BOOL:
                json_gen_bool(g, *FIELD_CPTR(c, f, Tristate) == TRISTATE_TRUE);
                break;
        case FIELD_ENUM:
                json_gen_string(g, f->enum_names[*FIELD_CPTR(c, f, int)]);
                break;
        case FIELD_PORT:
                json_gen_int(g, *FIELD_CPTR(c, f, uint16_t));
                break;
        case FIELD_PORT_LIST: {
                const PortList *p = FIELD_CPTR(c, f, PortList);
                json_gen_array_open(g);
                for (size_t i = 0; i < p->n; i++)
                        json_gen_int(g, p->items[i]);
                json_gen_array_close(g);
                break;
        }
        }
}

/* Emits the members of the object at prefix ("" for the top level, else
 * "network." and the like): its keys, and its sections in table order. */
static int gen_object(yajl_gen g, const FenceConfig *c, const char *prefix) {
        size_t plen = strlen(prefix);
        const char *last_section = NULL;
        size_t last_section_len = 0;

        for (size_t i = 0; i < config_fields_count; i++) {
                const ConfigField *f = &config_fields[i];
                const char *rest, *dot;

                if (strncmp(f->path, prefix, plen) != 0)
                        continue;
                rest = f->path + plen;
                dot = strchr(rest, '.');

                if (!dot) {
                        if (config_field_is_set(c, f)) {
                                json_gen_key(g, rest);
                                gen_field(g, c, f);
                        }
                        continue;
                }

                size_t len = (size_t) (dot - rest);
                if (last_section && len == last_section_len && strncmp(rest, last_section, len) == 0)
                        continue;       /* rows of a section are contiguous: done with it */
                last_section = rest;
                last_section_len = len;

                _cleanup_free_ char *sub = NULL;
                if (asprintf(&sub, "%s%.*s.", prefix, (int) len, rest) < 0)
                        return -ENOMEM;
                if (!section_is_set(c, sub))
                        continue;

                _cleanup_free_ char *name = strndup(rest, len);
                if (!name)
                        return -ENOMEM;
                json_gen_key(g, name);
                json_gen_open(g);
                int r = gen_object(g, c, sub);
                if (r < 0)
                        return r;
                json_gen_close(g);
        }
        return 0;
}

int config_to_json(const FenceConfig *c, ConfigJsonFlags flags, char **ret) {
        _cleanup_json_gen_ yajl_gen g = NULL;
        int r;

        g = json_gen_new();
        if (!g)
                return -ENOMEM;
        if (flags & CONFIG_JSON_PRETTY) {
                yajl_gen_config(g, yajl_gen_beautify, 1);
                yajl_gen_config(g, yajl_gen_indent_string, "  ");
        }

        json_gen_open(g);
        r = gen_object(g, c, "");
        if (r < 0)
                return r;
        json_gen_close(g);

        return json_gen_take(g, ret);
}

int config_validate(const FenceConfig *c, const char *origin, char **ret_error) {
        /* Merging can grow a list past what config_parse() accepts, and the
         * merged config still has to pass it in fenced. */
        for (size_t i = 0; i < config_fields_count; i++) {
                const ConfigField *f = &config_fields[i];
                size_t n;

                if (f->kind == FIELD_STRV)
                        n = strv_length(*FIELD_CPTR(c, f, char **));
                else if (f->kind == FIELD_PORT_LIST)
                        n = FIELD_CPTR(c, f, PortList)->n;
                else
                        continue;
                if (n > CONFIG_LIST_MAX)
                        return config_errorf(ret_error, -EINVAL,
                                             "%s: %s: too many entries after merging (%zu, at most %u)",
                                             origin, f->path, n, CONFIG_LIST_MAX);
        }

        /* fence refuses to guess where grey-zone traffic should go. */
        if (c->network.default_action == NETWORK_DEFAULT_ACTION_PROXY && !c->network.upstream_proxy)
                return config_errorf(ret_error, -EINVAL,
                                     "%s: network.defaultAction: \"proxy\" needs network.upstreamProxy "
                                     "(set it to e.g. \"http://127.0.0.1:8080\", or use \"deny\")",
                                     origin);
        return 0;
}

const char *config_error_field(const char *error, const char *origin, char **ret_field) {
        const char *p, *end;

        *ret_field = NULL;
        if (!error || !origin || !(p = startswith(error, origin)) || !(p = startswith(p, ": ")))
                return NULL;
        end = strstr(p, ": ");
        if (!end || end == p || strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.[]-") !=
                                        (size_t) (end - p))
                return NULL;
        *ret_field = strndup(p, (size_t) (end - p));
        return *ret_field ? end + 2 : NULL;
}
