/* config-load.h — finding and reading fence.json files and resolving their
 * `extends` chains, on the client side.
 *
 * fencectl runs this with the user's own rights and sends the merged result
 * to fenced (see config.h); the daemon never opens user-named files.
 *
 * Which config applies (fence's precedence): a template given with -t, else
 * the file given with -s, else the nearest fence.jsonc/fence.json in the
 * working directory or a parent, else the user config
 * ($XDG_CONFIG_HOME/fence/fence.{jsonc,json}, or ~/.config/fence/..., or the
 * legacy ~/.fence.{jsonc,json}), else none: the empty default policy.
 *
 * `extends` takes a template name, "@base" (the user config, or an empty one
 * when there is none), or a file path; a value containing '/' or '\' or
 * starting with '.' is a path, relative to the directory of the file that
 * names it. Chains longer than CONFIG_EXTENDS_DEPTH_MAX links, and cycles,
 * are errors.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define CONFIG_EXTENDS_DEPTH_MAX 10U

typedef struct ConfigResolveOptions {
        const char *template_name;      /* -t NAME, or NULL */
        const char *file;               /* -s FILE (relative to cwd), or NULL */
        const char *cwd;                /* absolute; start of discovery and base of -s; NULL: getcwd() */
        const char *home;               /* NULL: $HOME or the passwd entry; "": none */
        const char *xdg_config_home;    /* NULL: $XDG_CONFIG_HOME; "": none */
        bool lenient;                   /* files may hold unknown keys (templates never do) */
} ConfigResolveOptions;

/* Loads, follows `extends`, merges base-first and validates. *ret_chain (if
 * given) lists what was merged, in merge order ("template code",
 * "/home/u/project/fence.json", ...); it is empty when no config was found.
 * On failure *ret_error says which file and key and what is wrong. */
int config_resolve(const ConfigResolveOptions *opts, FenceConfig **ret, char ***ret_chain, char **ret_error);

/* Path of the config discovery picks, or -ENOENT. home/xdg_config_home as
 * in ConfigResolveOptions but taken literally (NULL or "" for none). */
int config_discover(const char *cwd, const char *home, const char *xdg_config_home, char **ret_path);

/* The user config that "@base" refers to, or -ENOENT. */
int config_user_path(const char *home, const char *xdg_config_home, char **ret_path);

/* Reads a regular file of at most CONFIG_TEXT_MAX bytes; NUL-terminated. */
int config_read_file(const char *path, char **ret_text, size_t *ret_size);

/* One file or template, without following `extends`. Messages name the
 * file as given, or "template NAME". */
int config_load_file(const char *path, ConfigParseFlags flags, FenceConfig **ret, char **ret_error);
int config_load_template(const char *name, FenceConfig **ret, char **ret_error);
