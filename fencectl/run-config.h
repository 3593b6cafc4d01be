/* run-config.h — how `fencectl run` turns its options (-s, -t, -p,
 * --expose-host-path*) and the discovered fence.json into the one merged
 * configuration it sends to fenced. */
#pragma once

#include <stdbool.h>

#include "fencectl.h"

typedef struct RunConfigOptions {
        const char *settings;           /* -s FILE */
        const char *template_name;      /* -t NAME */
        bool lenient;                   /* --lenient */
        char **ports;                   /* -p [ADDR:]PORT */
        char **expose_ro;               /* --expose-host-path */
        char **expose_rw;               /* --expose-host-path-rw */
} RunConfigOptions;

void run_config_options_done(RunConfigOptions *o);

/* Validates a -p value; logs a message naming the value on error. */
int run_config_parse_port(const char *value);

/* Resolves and merges the configuration; *ret is the JSON text to send (NULL
 * for the default policy). Prints its own errors (file, key, problem). */
int run_config_resolve(Fencectl *ctl, const RunConfigOptions *o, int cwd_fd, char **ret);
