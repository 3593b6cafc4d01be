/* config-templates.h — fence's built-in templates (-t NAME, "extends": NAME).
 *
 * Each template is a JSONC file in common/templates/, compiled into the binary
 * (scripts/embed.py). Its first line is a `// ` comment holding the one-line
 * description that `fencectl templates` shows: a comment, not a key, so the
 * file stays a plain fence.json that passes the strict parser.
 */
#pragma once

#include <stddef.h>

typedef struct ConfigTemplate {
        const char *name;       /* "code" */
        const char *text;       /* the JSONC file */
} ConfigTemplate;

/* All templates, sorted by name. */
const ConfigTemplate *config_templates(size_t *ret_n);

/* By name; "code.json" finds "code" as fence allows. NULL when unknown. */
const ConfigTemplate *config_template_find(const char *name);

/* The description from the first line, as a pointer into t->text; its length
 * in *ret_len (0 when the file has none). */
const char *config_template_description(const ConfigTemplate *t, size_t *ret_len);
