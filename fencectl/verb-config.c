/* fencectl config check|show|init and fencectl templates: the fence.json verbs.
 *
 * All of this runs with the user's rights: files are read here and only the
 * admin floor comes from fenced (for `config show`).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-load.h"
#include "config-templates.h"
#include "config.h"
#include "fencectl.h"
#include "log.h"
#include "strv.h"

/* Prints a resolve/parse failure: the message names file, key and problem. */
static int report(int r, const char *err, bool lenient) {
        if (!err)
                return log_error_errno(r, "cannot load the configuration: %m");
        log_error("%s", err);
        if (!lenient && strstr(err, ": unknown key"))
                log_info("(fix the key, or pass --lenient to ignore keys fencectl does not know)");
        return r;
}

static void print_chain(char * const *chain) {
        size_t n = strv_length(chain);

        if (n == 0) {
                fputs("No fence.json found (in this directory, its parents, or ~/.config/fence): "
                      "the default policy applies.\n", stderr);
                return;
        }
        fputs("Configuration, merged in this order:\n", stderr);
        for (size_t i = 0; i < n; i++)
                fprintf(stderr, "  %zu. %s\n", i + 1, chain[i]);
}

/* ---- config check ----------------------------------------------------- */

static void help_check(void) {
        printf("Usage: fencectl config check [--lenient] [FILE]\n\n"
               "Validate FILE, or the fence.json that 'fencectl run' would use here, together\n"
               "with everything it extends. Prints the first problem (file, key, what is wrong)\n"
               "and exits 1, or exits 0 when the configuration is valid.\n\n"
               "Options:\n"
               "  -h --help      Show this help\n"
               "     --lenient   Accept keys that are not part of the fence.json schema\n");
}

static int config_check(Fencectl *ctl, int argc, char *argv[]) {
        enum { ARG_LENIENT = 0x100 };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "lenient", no_argument, NULL, ARG_LENIENT },
                {}
        };
        _cleanup_config_ FenceConfig *c = NULL;
        _cleanup_strv_free_ char **chain = NULL;
        _cleanup_free_ char *err = NULL;
        ConfigResolveOptions o = {};
        int opt, r;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help_check();
                        return 0;
                case ARG_LENIENT:
                        o.lenient = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (argc - optind > 1) {
                log_error("config check takes at most one FILE. Try 'fencectl config check --help'.");
                return EXIT_USAGE;
        }
        o.file = optind < argc ? argv[optind] : NULL;

        r = config_resolve(&o, &c, &chain, &err);
        if (r < 0) {
                report(r, err, o.lenient);
                return 1;
        }
        if (strv_length(chain) == 0) {
                /* A misnamed file should not pass a CI check silently. */
                log_error("no fence.json found in this directory, its parents or ~/.config/fence; "
                          "nothing to check (name one: fencectl config check FILE).");
                return 1;
        }

        printf("%s: valid", chain[strv_length(chain) - 1]);
        if (strv_length(chain) > 1) {
                _cleanup_free_ char *j = strv_join(chain, " → ");
                printf(" (merged: %s)", j ?: "");
        }
        putchar('\n');
        return 0;
}

/* ---- config show ------------------------------------------------------- */

static void help_show(void) {
        printf("Usage: fencectl config show [-s FILE] [-t NAME] [--lenient]\n\n"
               "Print the configuration 'fencectl run' would use: the files and templates it\n"
               "merges (on stderr) and the merged result, including the administrator's\n"
               "floor from fenced, as JSON (on stdout).\n\n"
               "Options:\n"
               "  -h --help           Show this help\n"
               "  -s --settings FILE  Use FILE instead of the discovered fence.json\n"
               "  -t --template NAME  Use a built-in template (see 'fencectl templates')\n"
               "     --lenient        Accept keys that are not part of the fence.json schema\n");
}

/* Merges the admin floor from fenced into c. Without fenced, warns and
 * leaves c alone: showing the user's part is still useful. */
static void apply_floor(Fencectl *ctl, FenceConfig *c, char ***chain) {
        _cleanup_config_ FenceConfig *floor = NULL;
        _cleanup_free_ char *text = NULL, *err = NULL;
        int r;

        r = fencectl_fetch_policy_floor(ctl, &text);
        if (r < 0) {
                log_warning("showing the configuration without the administrator's floor, which only "
                            "fenced can tell (what fenced enforces may be stricter).");
                return;
        }

        r = config_parse(text, strlen(text), "admin floor (from fenced)", 0, &floor, &err);
        if (r >= 0)
                r = config_validate_floor(floor, "admin floor (from fenced)", &err);
        if (r < 0) {
                log_warning("%s; showing the configuration without it.", err ?: "unreadable admin floor");
                return;
        }
        if (config_is_empty(floor))
                return;

        r = config_apply_floor(c, floor);
        if (r < 0) {
                log_warning_errno(r, "cannot apply the admin floor (%m); showing the configuration without it.");
                return;
        }
        (void) strv_extend(chain, "admin floor (from fenced)");
}

static int config_show(Fencectl *ctl, int argc, char *argv[]) {
        enum { ARG_LENIENT = 0x100 };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "settings", required_argument, NULL, 's' },
                { "template", required_argument, NULL, 't' },
                { "lenient", no_argument, NULL, ARG_LENIENT },
                {}
        };
        _cleanup_config_ FenceConfig *c = NULL;
        _cleanup_strv_free_ char **chain = NULL;
        _cleanup_free_ char *err = NULL, *json = NULL;
        ConfigResolveOptions o = {};
        int opt, r;

        while ((opt = getopt_long(argc, argv, "hs:t:", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help_show();
                        return 0;
                case 's':
                        o.file = optarg;
                        break;
                case 't':
                        o.template_name = optarg;
                        break;
                case ARG_LENIENT:
                        o.lenient = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                log_error("unexpected argument '%s'. Try 'fencectl config show --help'.", argv[optind]);
                return EXIT_USAGE;
        }

        r = config_resolve(&o, &c, &chain, &err);
        if (r < 0) {
                report(r, err, o.lenient);
                return 1;
        }

        apply_floor(ctl, c, &chain);
        print_chain(chain);

        r = config_to_json(c, CONFIG_JSON_PRETTY, &json);
        if (r < 0) {
                log_error_errno(r, "cannot format the configuration: %m");
                return 1;
        }
        printf("%s\n", json);
        return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- config init ------------------------------------------------------ */

static void help_init(void) {
        printf("Usage: fencectl config init [-t NAME] [-o FILE] [--force]\n\n"
               "Write a starter fence.json. With -t, it extends the built-in template NAME\n"
               "(see 'fencectl templates'); otherwise it allows writing the current directory\n"
               "and nothing on the network.\n\n"
               "Options:\n"
               "  -h --help           Show this help\n"
               "  -t --template NAME  Extend this template\n"
               "  -o --output FILE    Write FILE instead of ./fence.json ('-' for stdout)\n"
               "     --force          Overwrite FILE if it exists\n");
}

static int starter_text(const char *template_name, char **ret) {
        if (template_name)
                return asprintf(ret,
                                "{\n"
                                "  // Settings here are merged on top of the built-in template \"%s\"\n"
                                "  // ('fencectl config show' prints the result). Lists add entries;\n"
                                "  // an entry \"!X\" removes X inherited from the template.\n"
                                "  \"extends\": \"%s\"\n"
                                "}\n",
                                template_name, template_name) < 0 ? -ENOMEM : 0;

        *ret = strdup("{\n"
                      "  // What commands started with 'fencectl run' may do here; see docs/config.md.\n"
                      "  \"network\": {\n"
                      "    // Domains the sandbox may reach, e.g. \"github.com\", \"*.npmjs.org\".\n"
                      "    \"allowedDomains\": []\n"
                      "  },\n"
                      "  \"filesystem\": {\n"
                      "    // Paths the sandbox may write; \".\" is the directory it starts in.\n"
                      "    \"allowWrite\": [\".\"]\n"
                      "  }\n"
                      "}\n");
        return *ret ? 0 : -ENOMEM;
}

static int write_all(int fd, const char *s) {
        size_t n = strlen(s);

        while (n > 0) {
                ssize_t k = write(fd, s, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                s += k;
                n -= (size_t) k;
        }
        return 0;
}

static int config_init(Fencectl *ctl, int argc, char *argv[]) {
        enum { ARG_FORCE = 0x100 };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "template", required_argument, NULL, 't' },
                { "output", required_argument, NULL, 'o' },
                { "force", no_argument, NULL, ARG_FORCE },
                {}
        };
        const char *template_name = NULL, *output = "fence.json";
        _cleanup_free_ char *text = NULL, *err = NULL;
        _cleanup_config_ FenceConfig *check = NULL;
        _cleanup_close_ int fd = -1;
        bool force = false;
        int opt, r;

        while ((opt = getopt_long(argc, argv, "ht:o:", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help_init();
                        return 0;
                case 't':
                        template_name = optarg;
                        break;
                case 'o':
                        output = optarg;
                        break;
                case ARG_FORCE:
                        force = true;
                        break;
                default:
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                log_error("unexpected argument '%s'. Try 'fencectl config init --help'.", argv[optind]);
                return EXIT_USAGE;
        }

        if (template_name) {
                const ConfigTemplate *t = config_template_find(template_name);
                if (!t) {
                        log_error("unknown template '%s'. Run 'fencectl templates' for the list.", template_name);
                        return EXIT_USAGE;
                }
                template_name = t->name;        /* "code.json" → "code" */
        }

        r = starter_text(template_name, &text);
        if (r < 0) {
                log_oom();
                return 1;
        }
        /* What we write must pass our own parser. */
        r = config_parse(text, strlen(text), output, 0, &check, &err);
        if (r < 0) {
                log_error("internal error: the starter config does not parse: %s", err ?: "?");
                return 1;
        }

        if (streq(output, "-"))
                return write_all(STDOUT_FILENO, text) < 0 ? 1 : 0;

        /* O_EXCL: refusing to overwrite must not race with another writer. */
        fd = open(output, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | (force ? O_TRUNC : O_EXCL), 0644);
        if (fd < 0) {
                if (errno == EEXIST)
                        log_error("%s already exists; not overwriting it (pass --force to replace it).", output);
                else
                        log_error_errno(errno, "cannot create %s: %m", output);
                return 1;
        }
        r = write_all(fd, text);
        if (r >= 0 && close(TAKE_FD(fd)) < 0)
                r = -errno;
        if (r < 0) {
                log_error_errno(r, "cannot write %s: %m", output);
                return 1;
        }

        printf("Wrote %s%s%s%s. Check it with: fencectl config check %s\n", output,
               template_name ? " (extends \"" : "", template_name ?: "", template_name ? "\")" : "", output);
        return 0;
}

/* ---- config --------------------------------------------------------------- */

static void help_config(void) {
        printf("Usage: fencectl config COMMAND [OPTIONS]\n\n"
               "Work with fence.json, the sandbox configuration (see docs/config.md).\n\n"
               "Commands:\n"
               "  check [FILE]                 Validate FILE or the discovered fence.json\n"
               "  show [-s FILE] [-t NAME]     Print the merged configuration as JSON\n"
               "  init [-t NAME] [-o FILE]     Write a starter fence.json\n\n"
               "'fencectl config COMMAND --help' describes a command's options.\n");
}

int verb_config(Fencectl *ctl, int argc, char *argv[]) {
        static const struct option options[] = { { "help", no_argument, NULL, 'h' }, {} };
        static const struct {
                const char *name;
                int (*fn)(Fencectl *ctl, int argc, char *argv[]);
        } subs[] = {
                { "check", config_check },
                { "show", config_show },
                { "init", config_init },
        };
        int opt;

        /* '+': stop at the subcommand; its options are its own. */
        while ((opt = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help_config();
                        return 0;
                default:
                        return EXIT_USAGE;
                }

        if (optind >= argc) {
                log_error("missing subcommand (check, show or init). Try 'fencectl config --help'.");
                return EXIT_USAGE;
        }

        for (size_t i = 0; i < ELEMENTSOF(subs); i++)
                if (streq(argv[optind], subs[i].name)) {
                        int first = optind;
                        optind = 0;     /* glibc: start over for the subcommand */
                        return subs[i].fn(ctl, argc - first, argv + first);
                }

        log_error("unknown subcommand 'config %s'. Try 'fencectl config --help'.", argv[optind]);
        return EXIT_USAGE;
}

/* ---- templates ------------------------------------------------------------ */

static void help_templates(void) {
        printf("Usage: fencectl templates\n\n"
               "List the built-in configuration templates, for 'fencectl run -t NAME',\n"
               "'\"extends\": \"NAME\"' in a fence.json, and 'fencectl config init -t NAME'.\n");
}

int verb_templates(Fencectl *ctl, int argc, char *argv[]) {
        static const struct option options[] = { { "help", no_argument, NULL, 'h' }, {} };
        const ConfigTemplate *t;
        size_t n, width = 0;
        int opt;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help_templates();
                        return 0;
                default:
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                log_error("unexpected argument '%s'. Try 'fencectl templates --help'.", argv[optind]);
                return EXIT_USAGE;
        }

        t = config_templates(&n);
        for (size_t i = 0; i < n; i++)
                if (strlen(t[i].name) > width)
                        width = strlen(t[i].name);

        for (size_t i = 0; i < n; i++) {
                size_t dlen;
                const char *d = config_template_description(&t[i], &dlen);
                printf("%-*s  %.*s\n", (int) width, t[i].name, (int) dlen, d);
        }
        return 0;
}
