/* config-internal.h — the key table behind config.h, shared by config.c,
 * config-parse.c and config-merge.c. Not for use outside common/config*.c.
 *
 * Every fence.json key is one row: its dotted JSON path, how it is stored,
 * checked, merged and treated by the admin floor. Parsing, serializing,
 * copying, comparing, merging and the floor are loops over this table, so a
 * new key is one row (plus a struct member).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef enum FieldKind {
        FIELD_STRING,           /* char *, NULL when unset; "" parses as unset */
        FIELD_STRV,             /* char **; merged by appending */
        FIELD_BOOL,             /* Tristate; merged with OR */
        FIELD_OPTIONAL_BOOL,    /* Tristate; the child's value wins when set */
        FIELD_ENUM,             /* int, 0 when unset; names in enum_names */
        FIELD_PORT,             /* uint16_t, 0 when unset */
        FIELD_PORT_LIST,        /* PortList */
} FieldKind;

typedef enum FloorRule {
        FLOOR_REJECT,           /* would loosen the policy, or is not policy */
        FLOOR_IGNORE,           /* harmless, dropped ($schema) */
        FLOOR_APPEND,           /* deny lists: the floor's entries are added */
        FLOOR_FORCE_TRUE,       /* restrictions: only true, which is forced */
        FLOOR_FORCE_FALSE,      /* permissions: only false, which is forced */
        FLOOR_FORCE_ENUM,       /* only floor_value, which is forced */
} FloorRule;

/* NULL when the value is acceptable, else why not, phrased to follow the
 * quoted value ("is too broad ..."). */
typedef const char *(*ValueCheck)(const char *value);

typedef struct ConfigField {
        const char *path;               /* "network.allowedDomains" */
        FieldKind kind;
        size_t offset;                  /* into FenceConfig */
        ValueCheck check;               /* strings and list items */
        const char * const *enum_names; /* FIELD_ENUM: [value] = name, [0] = NULL */
        int n_enum;                     /* FIELD_ENUM: number of names incl. [0] */
        FloorRule floor;
        int floor_value;                /* FLOOR_FORCE_ENUM */
        bool is_path;                   /* rewritten by config_normalize_paths() */
} ConfigField;

extern const ConfigField config_fields[];
extern const size_t config_fields_count;

#define FIELD_PTR(cfg, f, type) ((type *) (void *) ((uint8_t *) (cfg) + (f)->offset))
#define FIELD_CPTR(cfg, f, type) ((type const *) (const void *) ((const uint8_t *) (cfg) + (f)->offset))

/* Value checks (config-parse.c). */
const char *config_check_nonempty(const char *v);
const char *config_check_domain(const char *v);
const char *config_check_host_pattern(const char *v);
const char *config_check_device_path(const char *v);
const char *config_check_mach_service(const char *v);
const char *config_check_upstream_proxy(const char *v);
const char *config_check_dns_server(const char *v);

/* Field helpers (config.c). */
bool config_field_is_set(const FenceConfig *c, const ConfigField *f);
void config_field_clear(FenceConfig *c, const ConfigField *f);
int config_field_copy(FenceConfig *dst, const FenceConfig *src, const ConfigField *f);
const ConfigField *config_field_find(const char *path);

/* A "!X" list entry removes X when merging. */
static inline bool config_entry_is_removal(const char *s) {
        return s[0] == '!';
}

/* Lexically cleaned absolute path (no ".", "..", "//", trailing "/");
 * NULL on OOM (config-merge.c). */
char *config_path_clean(const char *p);

/* Sets *ret_error (when ret_error is not NULL) and returns r. */
int config_errorf(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);

/* A user-supplied string made safe to print inside a message: quoted,
 * control characters escaped, cut after 200 bytes. NULL on OOM. */
char *config_quote(const char *s);
