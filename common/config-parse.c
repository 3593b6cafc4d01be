#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_parse.h>

#include "config-internal.h"
#include "config.h"
#include "json.h"
#include "jsonc.h"
#include "strv.h"

/* ---- value checks ---------------------------------------------------- */

static bool has_control_or_space(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c <= 0x20 || c == 0x7F)
                        return true;
        }
        return false;
}

/* A decimal port 1..65535 spelled with digits only. */
static bool port_is_valid(const char *s, size_t n) {
        unsigned v = 0;

        if (n == 0 || n > 5)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        return v >= 1 && v <= 65535;
}

static bool ip_is_valid(int family, const char *s, size_t n) {
        char buf[INET6_ADDRSTRLEN + 1];
        unsigned char addr[sizeof(struct in6_addr)];

        if (n == 0 || n >= sizeof buf)
                return false;
        memcpy(buf, s, n);
        buf[n] = 0;
        return inet_pton(family, buf, addr) == 1;
}

/* "[v6]" or "[v6]:port" at the start of s (length n). NULL when fine. */
static const char *check_bracketed_ipv6(const char *s, size_t n, bool allow_port) {
        const char *close = memchr(s, ']', n);
        size_t rest;

        if (!close)
                return "has a \"[\" without a matching \"]\"";
        if (!ip_is_valid(AF_INET6, s + 1, (size_t) (close - s - 1)))
                return "is not a valid IPv6 address";
        rest = n - (size_t) (close - s) - 1;
        if (rest == 0)
                return NULL;
        if (!allow_port || close[1] != ':')
                return "has unexpected text after \"]\"";
        if (!port_is_valid(close + 2, rest - 1))
                return "has an invalid port (expected 1-65535)";
        return NULL;
}

/* Labels separated by single dots, none empty. */
static bool labels_are_valid(const char *s, size_t n) {
        if (n == 0 || s[0] == '.' || s[n - 1] == '.')
                return false;
        for (size_t i = 1; i < n; i++)
                if (s[i] == '.' && s[i - 1] == '.')
                        return false;
        return true;
}

const char *config_check_nonempty(const char *v) {
        return *v ? NULL : "must not be empty";
}

/* fence's rules (scheme, path, "*.com"), plus an optional ":port" and
 * bracketed IPv6 literals, which fenced's relay can enforce. */
const char *config_check_domain(const char *v) {
        size_t n = strlen(v);
        const char *colon;

        if (n == 0)
                return "must not be empty";
        if (strstr(v, "://"))
                return "must not contain a scheme (write the host name only, e.g. \"example.com\")";
        if (strchr(v, '/'))
                return "must not contain a path (write the host name only, e.g. \"example.com\")";
        if (has_control_or_space(v, n) || strpbrk(v, "@?#\\\""))
                return "contains a character that cannot appear in a host name";

        if (v[0] == '[')
                return check_bracketed_ipv6(v, n, true);

        colon = strchr(v, ':');
        if (colon) {
                if (strchr(colon + 1, ':'))
                        return "looks like an IPv6 address; write it in brackets, e.g. \"[2001:db8::1]\"";
                if (!port_is_valid(colon + 1, strlen(colon + 1)))
                        return "has an invalid port (expected 1-65535 after \":\")";
                n = (size_t) (colon - v);
                if (n == 0)
                        return "has no host name before the port";
        }

        if ((n == 9 && strncmp(v, "localhost", 9) == 0) || (n == 1 && v[0] == '*'))
                return NULL;

        if (n >= 2 && v[0] == '*' && v[1] == '.') {
                const char *rest = v + 2;
                size_t rn = n - 2;

                if (memchr(rest, '*', rn))
                        return "may only use a single leading \"*.\" wildcard (e.g. \"*.example.com\")";
                if (!memchr(rest, '.', rn))
                        return "is too broad (a wildcard needs at least two labels after \"*.\", "
                               "e.g. \"*.example.com\")";
                if (!labels_are_valid(rest, rn))
                        return "is not a valid domain name (it has an empty label)";
                return NULL;
        }

        if (memchr(v, '*', n))
                return "may only use a single leading \"*.\" wildcard (e.g. \"*.example.com\")";
        if (!memchr(v, '.', n))
                return "is not a valid domain name (expected e.g. \"example.com\"; "
                       "\"localhost\" and \"*\" are the only names without a dot)";
        if (!labels_are_valid(v, n))
                return "is not a valid domain name (it has an empty label)";
        return NULL;
}

/* SSH host patterns are looser than domains: wildcards anywhere, bare names,
 * IP addresses. */
const char *config_check_host_pattern(const char *v) {
        size_t n = strlen(v);
        const char *colon;

        if (n == 0)
                return "must not be empty";
        if (strstr(v, "://") || strchr(v, '/'))
                return "must not contain a scheme or a path (write the host only)";
        if (strchr(v, '@'))
                return "must not contain a user name (write the host only)";
        if (has_control_or_space(v, n))
                return "contains spaces or control characters";
        colon = strchr(v, ':');
        if (colon && !strchr(colon + 1, ':'))
                return "must not contain a port (give the port to ssh instead)";
        return NULL;
}

const char *config_check_device_path(const char *v) {
        const char *rest = startswith(v, "/dev/");

        if (!*v)
                return "must not be empty";
        if (streq(v, "/dev") || (rest && strspn(rest, "/") == strlen(rest)))
                return "is too broad (use devices.mode \"host\" for the whole /dev)";
        if (!rest)
                return "must be a path under /dev/";
        /* "/dev/../etc" would lexically leave /dev. */
        if (strstr(rest, "..") && (streq(rest, "..") || startswith(rest, "../") || strstr(rest, "/../") ||
                                   endswith(rest, "/..")))
                return "must stay under /dev/ (no \"..\" components)";
        return NULL;
}

const char *config_check_mach_service(const char *v) {
        size_t n = strlen(v);

        if (n == 0)
                return "must not be empty";
        if (streq(v, "*"))
                return NULL;
        if (v[n - 1] == '*')
                n--;
        if (n == 0 || memchr(v, '*', n))
                return "may only use a single trailing \"*\" wildcard";
        return NULL;
}

const char *config_check_upstream_proxy(const char *v) {
        const char *sep = strstr(v, "://"), *auth, *at, *hostport;
        size_t scheme_len, auth_len, hp_len;

        if (has_control_or_space(v, strlen(v)))
                return "contains spaces or control characters";
        if (!sep)
                return "has no scheme (expected e.g. \"http://127.0.0.1:8080\")";
        scheme_len = (size_t) (sep - v);
        if (!((scheme_len == 4 && strncasecmp(v, "http", 4) == 0) ||
              (scheme_len == 6 && strncasecmp(v, "socks5", 6) == 0) ||
              (scheme_len == 7 && strncasecmp(v, "socks5h", 7) == 0)))
                return "has an unsupported scheme (use http://, socks5:// or socks5h://)";

        auth = sep + 3;
        auth_len = strcspn(auth, "/?#");
        if (auth[auth_len] && !streq(auth + auth_len, "/"))
                return "must not contain a path, query or fragment";

        /* user:password@ is allowed; the host part follows the last '@'. */
        at = memrchr(auth, '@', auth_len);
        hostport = at ? at + 1 : auth;
        hp_len = auth_len - (size_t) (hostport - auth);
        if (hp_len == 0)
                return "has no host";
        if (hostport[0] == '[')
                return check_bracketed_ipv6(hostport, hp_len, true);

        const char *colon = memchr(hostport, ':', hp_len);
        if (colon) {
                if (colon == hostport)
                        return "has no host";
                if (!port_is_valid(colon + 1, hp_len - (size_t) (colon - hostport) - 1))
                        return "has an invalid port (expected 1-65535)";
        }
        return NULL;
}

/* An address, not a name: the resolver can't be found by resolving. */
const char *config_check_dns_server(const char *v) {
        size_t n = strlen(v);
        const char *colon;

        if (n == 0)
                return "must not be empty";
        if (v[0] == '[')
                return check_bracketed_ipv6(v, n, true);
        if (ip_is_valid(AF_INET6, v, n) || ip_is_valid(AF_INET, v, n))
                return NULL;
        colon = strchr(v, ':');
        if (colon && ip_is_valid(AF_INET, v, (size_t) (colon - v))) {
                if (!port_is_valid(colon + 1, strlen(colon + 1)))
                        return "has an invalid port (expected 1-65535)";
                return NULL;
        }
        return "is not an IP address (expected e.g. \"1.1.1.1\", \"1.1.1.1:53\" or \"[2606:4700:4700::1111]:53\")";
}

/* ---- parser ------------------------------------------------------------ */

typedef struct ParseContext {
        const char *origin;
        ConfigParseFlags flags;
        FenceConfig *config;
        char **ret_error;
} ParseContext;

/* Unknown keys come from the user: printable ASCII only, bounded. */
static char *sanitize_key(const char *path) {
        size_t n = strnlen(path, 120);
        char *s = strndup(path, n);

        if (!s)
                return NULL;
        for (char *p = s; *p; p++)
                if ((unsigned char) *p < 0x21 || (unsigned char) *p >= 0x7F)
                        *p = '?';
        return s;
}

static int value_error(ParseContext *ctx, const char *path, const char *value, const char *reason) {
        _cleanup_free_ char *q = config_quote(value);

        if (!q)
                return -ENOMEM;
        return config_errorf(ctx->ret_error, -EINVAL, "%s: %s: %s %s", ctx->origin, path, q, reason);
}

static int type_error(ParseContext *ctx, const char *path, const char *expected) {
        return config_errorf(ctx->ret_error, -EINVAL, "%s: %s: expected %s", ctx->origin, path, expected);
}

static int parse_strv(ParseContext *ctx, const ConfigField *f, yajl_val v) {
        _cleanup_strv_free_ char **l = NULL;

        if (!YAJL_IS_ARRAY(v))
                return type_error(ctx, f->path, "array of strings");
        if (v->u.array.len > CONFIG_LIST_MAX)
                return config_errorf(ctx->ret_error, -EINVAL, "%s: %s: too many entries (%zu, at most %u)",
                                     ctx->origin, f->path, v->u.array.len, CONFIG_LIST_MAX);

        l = calloc(v->u.array.len + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        for (size_t i = 0; i < v->u.array.len; i++) {
                yajl_val e = v->u.array.values[i];
                _cleanup_free_ char *where = NULL;
                const char *s, *reason = NULL;

                if (asprintf(&where, "%s[%zu]", f->path, i) < 0)
                        return -ENOMEM;
                if (!YAJL_IS_STRING(e))
                        return type_error(ctx, where, "string");

                s = e->u.string;
                if (config_entry_is_removal(s)) {
                        if (!s[1])
                                reason = "removes nothing (write \"!\" followed by the inherited entry to remove)";
                        else if (f->check)
                                reason = f->check(s + 1);
                } else if (f->check)
                        reason = f->check(s);
                if (reason)
                        return value_error(ctx, where, s, reason);

                l[i] = strdup(s);
                if (!l[i])
                        return -ENOMEM;
        }

        *FIELD_PTR(ctx->config, f, char **) = TAKE_PTR(l);
        return 0;
}

static int parse_port_list(ParseContext *ctx, const ConfigField *f, yajl_val v) {
        PortList *p = FIELD_PTR(ctx->config, f, PortList);
        size_t n = 0;

        if (!YAJL_IS_ARRAY(v))
                return type_error(ctx, f->path, "array of integers");
        if (v->u.array.len > CONFIG_LIST_MAX)
                return config_errorf(ctx->ret_error, -EINVAL, "%s: %s: too many entries (%zu, at most %u)",
                                     ctx->origin, f->path, v->u.array.len, CONFIG_LIST_MAX);

        _cleanup_free_ uint16_t *items = calloc(v->u.array.len + 1, sizeof(uint16_t));
        if (!items)
                return -ENOMEM;

        for (size_t i = 0; i < v->u.array.len; i++) {
                yajl_val e = v->u.array.values[i];
                _cleanup_free_ char *where = NULL;

                if (asprintf(&where, "%s[%zu]", f->path, i) < 0)
                        return -ENOMEM;
                if (!YAJL_IS_INTEGER(e))
                        return type_error(ctx, where, "integer");
                if (YAJL_GET_INTEGER(e) < 1 || YAJL_GET_INTEGER(e) > 65535)
                        return config_errorf(ctx->ret_error, -EINVAL, "%s: %s: %lld is not a port (expected 1-65535)",
                                             ctx->origin, where, (long long) YAJL_GET_INTEGER(e));
                items[n++] = (uint16_t) YAJL_GET_INTEGER(e);
        }

        free(p->items);
        p->items = TAKE_PTR(items);
        p->n = n;
        return 0;
}

static int parse_enum(ParseContext *ctx, const ConfigField *f, yajl_val v) {
        _cleanup_free_ char *q = NULL;
        char choices[128] = "";

        if (!YAJL_IS_STRING(v))
                return type_error(ctx, f->path, "string");

        for (int i = 1; i < f->n_enum; i++)
                if (streq(v->u.string, f->enum_names[i])) {
                        *FIELD_PTR(ctx->config, f, int) = i;
                        return 0;
                }

        for (int i = 1; i < f->n_enum; i++) {
                size_t l = strlen(choices);
                snprintf(choices + l, sizeof choices - l, "%s\"%s\"", i > 1 ? ", " : "", f->enum_names[i]);
        }
        q = config_quote(v->u.string);
        if (!q)
                return -ENOMEM;
        return config_errorf(ctx->ret_error, -EINVAL, "%s: %s: %s is not one of %s",
                             ctx->origin, f->path, q, choices);
}

static int parse_field(ParseContext *ctx, const ConfigField *f, yajl_val v) {
        config_field_clear(ctx->config, f);

        /* null is "not set", as Go's encoding/json (and so fence) reads it. */
        if (YAJL_IS_NULL(v))
                return 0;

        switch (f->kind) {
        case FIELD_STRING: {
                const char *reason;
                if (!YAJL_IS_STRING(v))
                        return type_error(ctx, f->path, "string");
                if (!v->u.string[0])
                        return 0;       /* fence treats "" as unset */
                if (f->check && (reason = f->check(v->u.string)))
                        return value_error(ctx, f->path, v->u.string, reason);
                char *s = strdup(v->u.string);
                if (!s)
                        return -ENOMEM;
                *FIELD_PTR(ctx->config, f, char *) = s;
                return 0;
        }
        case FIELD_STRV:
                return parse_strv(ctx, f, v);
        case FIELD_BOOL:
        case FIELD_OPTIONAL_BOOL:
                if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
                        return type_error(ctx, f->path, "boolean");
                *FIELD_PTR(ctx->config, f, Tristate) = YAJL_IS_TRUE(v) ? TRISTATE_TRUE : TRISTATE_FALSE;
                return 0;
        case FIELD_ENUM:
                return parse_enum(ctx, f, v);
        case FIELD_PORT:
                if (!YAJL_IS_INTEGER(v))
                        return type_error(ctx, f->path, "integer");
                /* 0 is fence's "pick one for me". */
                if (YAJL_GET_INTEGER(v) < 0 || YAJL_GET_INTEGER(v) > 65535)
                        return config_errorf(ctx->ret_error, -EINVAL, "%s: %s: %lld is not a port (expected 0-65535)",
                                             ctx->origin, f->path, (long long) YAJL_GET_INTEGER(v));
                *FIELD_PTR(ctx->config, f, uint16_t) = (uint16_t) YAJL_GET_INTEGER(v);
                return 0;
        case FIELD_PORT_LIST:
                return parse_port_list(ctx, f, v);
        }
        return -EINVAL;
}

/* Is path ("network", "macos.mach") an object that holds keys? */
static bool is_section(const char *path) {
        size_t l = strlen(path);

        for (size_t i = 0; i < config_fields_count; i++)
                if (strncmp(config_fields[i].path, path, l) == 0 && config_fields[i].path[l] == '.')
                        return true;
        return false;
}

/* A known key under prefix spelled like key but for case, for "did you mean". */
static const char *suggest(const char *prefix, const char *key, size_t *ret_len) {
        size_t plen = strlen(prefix), klen = strlen(key);

        for (size_t i = 0; i < config_fields_count; i++) {
                const char *path = config_fields[i].path, *rest;
                size_t len;

                if (strncmp(path, prefix, plen) != 0)
                        continue;
                rest = path + plen;
                len = strcspn(rest, ".");
                if (len == klen && strncasecmp(rest, key, len) == 0) {
                        *ret_len = len;
                        return rest;
                }
        }
        return NULL;
}

static int parse_object(ParseContext *ctx, yajl_val obj, const char *prefix) {
        int r;

        for (size_t i = 0; i < obj->u.object.len; i++) {
                const char *key = obj->u.object.keys[i];
                yajl_val v = obj->u.object.values[i];
                _cleanup_free_ char *path = NULL;
                const ConfigField *f;

                if (asprintf(&path, "%s%s", prefix, key) < 0)
                        return -ENOMEM;

                /* Go keeps the last of duplicate keys; a config that says two
                 * things is a mistake worth pointing at. */
                for (size_t j = 0; j < i; j++)
                        if (streq(obj->u.object.keys[j], key)) {
                                _cleanup_free_ char *s = sanitize_key(path);
                                return config_errorf(ctx->ret_error, -EINVAL, "%s: %s: duplicate key",
                                                     ctx->origin, s ?: "?");
                        }

                f = config_field_find(path);
                if (f) {
                        r = parse_field(ctx, f, v);
                        if (r < 0)
                                return r;
                        continue;
                }

                if (is_section(path)) {
                        _cleanup_free_ char *sub = NULL;

                        if (YAJL_IS_NULL(v))
                                continue;
                        if (!YAJL_IS_OBJECT(v))
                                return type_error(ctx, path, "object");
                        if (asprintf(&sub, "%s.", path) < 0)
                                return -ENOMEM;
                        r = parse_object(ctx, v, sub);
                        if (r < 0)
                                return r;
                        continue;
                }

                if (ctx->flags & CONFIG_PARSE_LENIENT)
                        continue;

                _cleanup_free_ char *s = sanitize_key(path);
                size_t slen = 0;
                const char *sug = suggest(prefix, key, &slen);
                if (sug)
                        return config_errorf(ctx->ret_error, -EINVAL,
                                             "%s: %s: unknown key (did you mean \"%.*s\"?)",
                                             ctx->origin, s ?: "?", (int) slen, sug);
                return config_errorf(ctx->ret_error, -EINVAL,
                                     "%s: %s: unknown key (not part of the fence.json schema; see docs/config.md)",
                                     ctx->origin, s ?: "?");
        }
        return 0;
}

/* Finds where the text stops being JSON, for a "file:line:col:" message. */
static int syntax_error(const char *json, size_t size, const char *origin, char **ret_error) {
        static const yajl_callbacks no_callbacks = {};
        yajl_handle h;
        yajl_status st;
        size_t offset = size;
        unsigned line, column;
        char *msg = NULL;
        int r;

        h = yajl_alloc(&no_callbacks, NULL, NULL);
        if (!h)
                return -ENOMEM;

        st = yajl_parse(h, (const unsigned char *) json, size);
        if (st == yajl_status_ok)
                st = yajl_complete_parse(h);
        else {
                /* yajl stops after the offending token; point at its start. */
                offset = yajl_get_bytes_consumed(h);
                if (offset > 0)
                        offset--;
                if (offset > 0 && json[offset] == '"') {
                        size_t j = offset;
                        while (j > 0 && !(json[j - 1] == '"' && (j < 2 || json[j - 2] != '\\')))
                                j--;
                        if (j > 0)
                                offset = j - 1;
                }
        }

        if (st == yajl_status_ok) {
                yajl_free(h);
                return 0;
        }

        unsigned char *e = yajl_get_error(h, 0, NULL, 0);
        if (e) {
                msg = strdup((const char *) e);
                yajl_free_error(h, e);
        }
        yajl_free(h);
        if (msg)
                msg[strcspn(msg, "\n")] = 0;

        jsonc_position(json, size, offset, &line, &column);
        r = config_errorf(ret_error, -EBADMSG, "%s:%u:%u: %s", origin, line, column,
                          msg && *msg ? msg : "parse error");
        free(msg);
        return r;
}

int config_parse(const char *text, size_t size, const char *origin, ConfigParseFlags flags,
                 FenceConfig **ret, char **ret_error) {
        _cleanup_config_ FenceConfig *c = NULL;
        _cleanup_free_ char *json = NULL;
        _cleanup_json_ yajl_val tree = NULL;
        JsoncError jerr = {};
        char err[256] = "";
        int r;

        if (size > CONFIG_TEXT_MAX)
                return config_errorf(ret_error, -EFBIG, "%s: too large (%zu bytes, at most %u)",
                                     origin, size, CONFIG_TEXT_MAX);

        r = jsonc_to_json(text, size, &json, &jerr);
        if (r == -EBADMSG)
                return config_errorf(ret_error, r, "%s:%u:%u: %s", origin, jerr.line, jerr.column, jerr.message);
        if (r < 0)
                return r;

        c = config_new();
        if (!c)
                return -ENOMEM;

        /* fence reads a file with nothing in it as "no settings". */
        if (json[strspn(json, " \t\r\n")] == 0) {
                *ret = TAKE_PTR(c);
                return 0;
        }

        r = syntax_error(json, size, origin, ret_error);
        if (r < 0)
                return r;

        tree = yajl_tree_parse(json, err, sizeof err);
        if (!tree) {
                err[strcspn(err, "\n")] = 0;
                return config_errorf(ret_error, -EBADMSG, "%s: %s", origin, err[0] ? err : "parse error");
        }
        if (!YAJL_IS_OBJECT(tree))
                return config_errorf(ret_error, -EINVAL, "%s: expected a JSON object ({ ... }) at the top level",
                                     origin);

        ParseContext ctx = {
                .origin = origin,
                .flags = flags,
                .config = c,
                .ret_error = ret_error,
        };
        r = parse_object(&ctx, tree, "");
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}
