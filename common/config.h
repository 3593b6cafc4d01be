/* config.h — the fence.json configuration model: FenceConfig, its parser and
 * validator, merging (`extends`), canonical JSON, the admin floor and path
 * normalisation. docs/config.md is the user-facing description of every key.
 *
 * The schema is fence's (Use-Tusk/fence), so an existing fence.json works
 * unchanged; fenced adds `network.dnsServer`, socks5:// upstream proxies and
 * an optional `:port` on domain patterns.
 *
 * Life of a config: fencectl parses each file of an `extends` chain
 * (config_parse), merges them base-first into an empty config (config_merge),
 * checks the result (config_validate) and sends config_to_json() to fenced.
 * fenced parses that text with the same config_parse(), validates it, applies
 * the admin floor (config_apply_floor) and normalises paths for the caller
 * (config_normalize_paths).
 *
 * Lists: an entry "!X" in a list removes X inherited from a parent when
 * merging (fence issue #122). Removal entries are consumed by config_merge();
 * a merged config holds none.
 *
 * Errors: functions taking `char **ret_error` put a message there on failure
 * ("ORIGIN: network.allowedDomains[2]: ..."; ORIGIN is the file name or
 * "template NAME" given by the caller) and return a negative errno:
 * -EBADMSG for malformed text, -EINVAL for invalid values, -ENOMEM.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* Upper bounds for a config text (a file, or what a client sends) and for
 * the entries of one list: fenced parses and merges untrusted input. */
#define CONFIG_TEXT_MAX (1024U * 1024U)
#define CONFIG_LIST_MAX 16384U

/* Booleans remember whether a file set them: merging and the admin floor must
 * tell "false" from "absent". Zero is unset, so a zeroed struct is empty. */
typedef enum Tristate {
        TRISTATE_UNSET = 0,
        TRISTATE_FALSE,
        TRISTATE_TRUE,
} Tristate;

static inline bool tristate_to_bool(Tristate t, bool unset_value) {
        return t == TRISTATE_UNSET ? unset_value : t == TRISTATE_TRUE;
}

/* Enums: 0 is "not set"; the effective default is documented per key. */
typedef enum DeviceMode {
        DEVICE_MODE_UNSET = 0,
        DEVICE_MODE_AUTO,
        DEVICE_MODE_MINIMAL,
        DEVICE_MODE_HOST,
        _DEVICE_MODE_MAX,
} DeviceMode;

typedef enum NetworkDefaultAction {
        NETWORK_DEFAULT_ACTION_UNSET = 0,
        NETWORK_DEFAULT_ACTION_DENY,
        NETWORK_DEFAULT_ACTION_PROXY,
        _NETWORK_DEFAULT_ACTION_MAX,
} NetworkDefaultAction;

typedef enum RuntimeExecPolicy {
        RUNTIME_EXEC_POLICY_UNSET = 0,
        RUNTIME_EXEC_POLICY_PATH,
        RUNTIME_EXEC_POLICY_ARGV,
        _RUNTIME_EXEC_POLICY_MAX,
} RuntimeExecPolicy;

/* The JSON spelling ("auto", "deny", "argv", ...); NULL for UNSET. */
const char *device_mode_to_string(DeviceMode m);
const char *network_default_action_to_string(NetworkDefaultAction a);
const char *runtime_exec_policy_to_string(RuntimeExecPolicy p);

typedef struct PortList {
        uint16_t *items;
        size_t n;
} PortList;

/* String lists are NULL-terminated strv (see strv.h); NULL means empty.
 * Strings are NULL when unset; ports 0 when unset. Comments name the JSON key. */
typedef struct FenceConfig {
        char *schema;                           /* "$schema" (editors only) */
        char *extends;                          /* template name, "@base" or a file path */

        struct {
                char **allowed_domains;         /* allowedDomains */
                char **denied_domains;          /* deniedDomains */
                char **allow_unix_sockets;      /* allowUnixSockets */
                Tristate allow_all_unix_sockets;/* allowAllUnixSockets */
                Tristate allow_local_binding;   /* allowLocalBinding */
                Tristate allow_local_outbound;  /* allowLocalOutbound (unset: = allowLocalBinding) */
                PortList allow_local_outbound_ports; /* allowLocalOutboundPorts */
                uint16_t http_proxy_port;       /* httpProxyPort */
                uint16_t socks_proxy_port;      /* socksProxyPort */
                char *upstream_proxy;           /* upstreamProxy: http:// or socks5[h]:// URL */
                NetworkDefaultAction default_action; /* defaultAction */
                char *dns_server;               /* dnsServer (fenced): IP[:port] */
        } network;

        struct {
                char **allow_read;              /* allowRead */
                char **allow_execute;           /* allowExecute */
                char **deny_read;               /* denyRead */
                char **allow_write;             /* allowWrite */
                char **deny_write;              /* denyWrite */
                Tristate default_deny_read;     /* defaultDenyRead */
                Tristate strict_deny_read;      /* strictDenyRead (implies defaultDenyRead) */
                Tristate allow_git_config;      /* allowGitConfig */
                Tristate wsl_interop;           /* wslInterop (unset: auto-detect) */
        } filesystem;

        struct {
                DeviceMode mode;                /* mode (unset: auto) */
                char **allow;                   /* allow: /dev/... paths */
        } devices;

        struct {
                char **deny;                    /* deny */
                char **allow;                   /* allow */
                Tristate use_defaults;          /* useDefaults (unset: true) */
                char **accept_shared_binary_cannot_runtime_deny; /* acceptSharedBinaryCannotRuntimeDeny */
                RuntimeExecPolicy runtime_exec_policy; /* runtimeExecPolicy (unset: path) */
        } command;

        struct {
                char **allowed_hosts;           /* allowedHosts */
                char **denied_hosts;            /* deniedHosts */
                char **allowed_commands;        /* allowedCommands */
                char **denied_commands;         /* deniedCommands */
                Tristate allow_all_commands;    /* allowAllCommands */
                Tristate inherit_deny;          /* inheritDeny */
        } ssh;

        struct {
                char **mach_lookup;             /* macos.mach.lookup (kept, unused on Linux) */
                char **mach_register;           /* macos.mach.register (kept, unused on Linux) */
        } macos;

        Tristate allow_pty;                     /* allowPty */
        Tristate force_new_session;             /* forceNewSession */
} FenceConfig;

FenceConfig *config_new(void);
FenceConfig *config_free(FenceConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(FenceConfig *, config_free);
#define _cleanup_config_ _cleanup_(config_freep)

int config_copy(const FenceConfig *c, FenceConfig **ret);
/* Same settings (an empty list equals an absent one). */
bool config_equal(const FenceConfig *a, const FenceConfig *b);
bool config_is_empty(const FenceConfig *c);

/* Effective values of keys whose default depends on other keys. */
bool config_allow_local_outbound(const FenceConfig *c);
bool config_default_deny_read(const FenceConfig *c);
bool config_use_default_denied_commands(const FenceConfig *c);
DeviceMode config_device_mode(const FenceConfig *c);
RuntimeExecPolicy config_runtime_exec_policy(const FenceConfig *c);
NetworkDefaultAction config_network_default_action(const FenceConfig *c);

typedef enum ConfigParseFlags {
        CONFIG_PARSE_LENIENT = 1 << 0,  /* unknown keys are skipped instead of errors */
} ConfigParseFlags;

/* Parses JSONC text (size bytes, need not be NUL-terminated) and checks every
 * value. Text with nothing but whitespace and comments is an empty config.
 * Does not follow `extends` (see config-load.h). */
int config_parse(const char *text, size_t size, const char *origin, ConfigParseFlags flags,
                 FenceConfig **ret, char **ret_error);

/* Checks rules that span keys (defaultAction "proxy" needs upstreamProxy);
 * meant for a merged config, as a parent may supply the other key. */
int config_validate(const FenceConfig *c, const char *origin, char **ret_error);

/* Splits an error of config_parse()/config_validate() for origin,
 * "ORIGIN: KEY.PATH: text", into the key path (*ret_field, allocated) and
 * the text (returned, points into error). NULL and *ret_field NULL when the
 * error names no key (syntax errors, "too large"). */
const char *config_error_field(const char *error, const char *origin, char **ret_field);

/* Merges child into base as fence does: lists append without duplicates
 * ("!X" entries in child remove X first), booleans OR, optional booleans
 * (allowLocalOutbound, wslInterop, useDefaults, forceNewSession) and strings,
 * enums and ports take child's value when child sets one. base->extends is
 * cleared and base ends up without removal entries. */
int config_merge(FenceConfig *base, const FenceConfig *child);

typedef enum ConfigJsonFlags {
        CONFIG_JSON_PRETTY = 1 << 0,    /* indented, for people */
} ConfigJsonFlags;

/* Canonical JSON: keys in a fixed order, unset values and empty lists left
 * out. config_parse() of the result gives back an equal config. */
int config_to_json(const FenceConfig *c, ConfigJsonFlags flags, char **ret);

/* The admin floor (/etc/fence/policy.json) can only tighten: deny lists are
 * appended, defaultDenyRead/strictDenyRead/inheritDeny/useDefaults/
 * forceNewSession may be true, permissions (allowPty, allowLocalBinding, ...)
 * may be false, runtimeExecPolicy "argv", defaultAction "deny", devices.mode
 * "minimal". Anything else is refused with a message naming the key. */
int config_validate_floor(const FenceConfig *floor, const char *origin, char **ret_error);
/* Applies a floor that passed config_validate_floor() (-EINVAL otherwise).
 * Also drops what only makes sense before merging and that a client may
 * still have sent: removal entries and "extends". */
int config_apply_floor(FenceConfig *c, const FenceConfig *floor);

/* Rewrites the path lists (filesystem.*, network.allowUnixSockets) as fence
 * does: "~" and "~/x" under home; "./x", "../x" and relative paths without
 * glob characters under cwd (lexically cleaned); absolute paths and other
 * relative glob patterns stay as they are. Glob characters are kept for the
 * sandbox builder. Duplicates are dropped. home and cwd must be absolute
 * (-EINVAL). */
int config_normalize_paths(FenceConfig *c, const char *home, const char *cwd);
