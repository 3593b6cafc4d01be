/* fencectl — the client of fenced: global options and verb dispatch. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "fencectl.h"
#include "json.h"
#include "log.h"

static void help(void) {
        printf("Usage: %s [--socket PATH] COMMAND [ARGS...]\n\n"
               "Run commands in sandboxes built by fenced, and control them.\n\n"
               "Commands:\n"
               "  run [OPTIONS] [--] CMD [ARG...]   Run a command in a new sandbox\n"
               "  run [OPTIONS] -c STRING           Run a shell command line in a new sandbox\n"
               "  ps                                List your sandboxes\n"
               "  kill [-s SIGNAL] ID               Send a signal to a sandbox's command\n"
               "  features                          Show what fenced enforces on this host\n"
               "  config check|show|init            Validate, show or create a fence.json\n"
               "  templates                         List the built-in configuration templates\n"
               "  version                           Show the versions of fencectl and fenced\n"
               "  help                              Show this help\n\n"
               "Options:\n"
               "  -h --help          Show this help (COMMAND --help for a command's own)\n"
               "     --version       Show the version\n"
               "     --socket PATH   fenced's socket (default: $FENCE_SOCKET, else %s)\n\n"
               "See fencectl(1).\n",
               program_invocation_short_name, FENCE_DEFAULT_SOCKET);
}

int fencectl_connect(Fencectl *ctl, VarlinkClient **ret) {
        int r = varlink_client_connect_unix(ret, ctl->socket_path);

        if (r < 0)
                log_error_errno(r, "cannot reach fenced at %s: %m. Is fenced running? "
                                "(start it with 'systemctl start fenced.socket', or point --socket/$FENCE_SOCKET at it)",
                                ctl->socket_path);
        return r;
}

int fencectl_fetch_policy_floor(Fencectl *ctl, char **ret) {
        _cleanup_(varlink_client_freep) VarlinkClient *c = NULL;
        _cleanup_json_gen_ yajl_gen g = NULL;
        VarlinkReply reply = {};
        int r;

        r = fencectl_connect(ctl, &c);
        if (r < 0)
                return r;
        r = varlink_client_call(c, "io.fence.Sandbox.GetPolicyFloor", NULL, &reply);
        if (r < 0)
                return log_error_errno(r, "GetPolicyFloor failed: %m");
        if (reply.error) {
                log_error("fenced refused GetPolicyFloor: %s", reply.error);
                varlink_reply_done(&reply);
                return -EIO;
        }
        g = json_gen_new();
        if (!g) {
                varlink_reply_done(&reply);
                return -ENOMEM;
        }
        json_gen_value(g, json_get(reply.parameters, "policy"));
        varlink_reply_done(&reply);
        return json_gen_take(g, ret);
}

static int verb_version(Fencectl *ctl, int argc, char *argv[]) {
        _cleanup_(varlink_client_freep) VarlinkClient *c = NULL;
        VarlinkReply reply = {};

        if (argc > 1) {
                if (streq(argv[1], "--help") || streq(argv[1], "-h")) {
                        printf("Usage: fencectl version\n\nShow the versions of fencectl and of the running fenced.\n");
                        return 0;
                }
                log_error("unexpected argument '%s'. Try 'fencectl version --help'.", argv[1]);
                return EXIT_USAGE;
        }

        printf("fencectl %s\n", FENCE_VERSION);
        if (varlink_client_connect_unix(&c, ctl->socket_path) < 0 ||
            varlink_client_call(c, "io.fence.Sandbox.GetFeatures", NULL, &reply) < 0 || reply.error) {
                printf("fenced not reachable at %s\n", ctl->socket_path);
                varlink_reply_done(&reply);
                return 0;
        }
        printf("fenced %s\n", json_get_string(reply.parameters, "version") ?: "unknown");
        varlink_reply_done(&reply);
        return 0;
}

static int verb_help(Fencectl *ctl, int argc, char *argv[]) {
        help();
        return 0;
}

int main(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_SOCKET };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "socket", required_argument, NULL, ARG_SOCKET },
                {}
        };
        static const struct {
                const char *name;
                int (*fn)(Fencectl *ctl, int argc, char *argv[]);
        } verbs[] = {
                { "run", verb_run },
                { "ps", verb_ps },
                { "kill", verb_kill },
                { "features", verb_features },
                { "config", verb_config },
                { "templates", verb_templates },
                { "version", verb_version },
                { "help", verb_help },
        };
        Fencectl ctl = { .socket_path = getenv("FENCE_SOCKET") };
        int c;

        /* A closed 0, 1 or 2 would be taken by the next open() (the cwd fd
         * sent to fenced, a config file) and then read or written as stdio. */
        for (int fd = 0; fd < 3; fd++)
                if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
                    open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
                        return 125;

        if (!ctl.socket_path || !ctl.socket_path[0])
                ctl.socket_path = FENCE_DEFAULT_SOCKET;

        /* '+': options after the verb belong to the verb. */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("fencectl %s\n", FENCE_VERSION);
                        return 0;
                case ARG_SOCKET:
                        ctl.socket_path = optarg;
                        break;
                default:
                        fprintf(stderr, "Try '%s --help'.\n", program_invocation_short_name);
                        return EXIT_USAGE;
                }

        if (optind >= argc) {
                log_error("missing command. Try '%s --help'.", program_invocation_short_name);
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(argv[optind], verbs[i].name)) {
                        int first = optind;

                        /* Each verb parses its own options; optind = 0 makes
                         * glibc's getopt start over. */
                        optind = 0;
                        return verbs[i].fn(&ctl, argc - first, argv + first);
                }
        log_error("unknown command '%s'. Try '%s --help'.", argv[optind], program_invocation_short_name);
        return EXIT_USAGE;
}
