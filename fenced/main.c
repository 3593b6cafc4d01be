/* fenced — the sandbox daemon: command line, then the manager's loop. */
#include <getopt.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>

#include "log.h"
#include "manager.h"

static void help(void) {
        printf("Usage: %s [OPTIONS]\n\n"
               "The fence sandbox daemon: builds sandboxes for local users who ask over varlink.\n\n"
               "  -h --help                 Show this help and exit\n"
               "     --version              Show the version and exit\n"
               "     --socket PATH          Listen on PATH (default: %s; mode 0666)\n"
               "     --state-dir DIR        Runtime state directory (default: /run/fence)\n"
               "     --log-dir DIR          Where events.jsonl is written (default: /var/log/fence)\n"
               "     --exit-idle-time SEC   Exit after SEC seconds without clients or sandboxes\n"
               "     --policy FILE          Administrator policy floor (default: /etc/fence/policy.json)\n"
               "     --debug                Log debug messages\n\n"
               "With LISTEN_FDS set (socket activation) the passed socket is served instead.\n"
               "See fenced(8).\n",
               program_invocation_short_name, FENCE_DEFAULT_SOCKET);
}

static int parse_seconds(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v > 365ULL * 24 * 3600)
                return -EINVAL;
        *ret = v * 1000000ULL;
        return 0;
}

int main(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_SOCKET, ARG_STATE_DIR, ARG_LOG_DIR, ARG_EXIT_IDLE, ARG_POLICY, ARG_DEBUG };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "log-dir", required_argument, NULL, ARG_LOG_DIR },
                { "exit-idle-time", required_argument, NULL, ARG_EXIT_IDLE },
                { "policy", required_argument, NULL, ARG_POLICY },
                { "debug", no_argument, NULL, ARG_DEBUG },
                {}
        };
        ManagerOptions o = {
                .socket_path = FENCE_DEFAULT_SOCKET,
                .state_dir = "/run/fence",
                .log_dir = "/var/log/fence",
                .policy_path = FENCE_SYSCONFDIR "/fence/policy.json",
        };
        _cleanup_(manager_freep) Manager *m = NULL;
        int c, r;

        if (getenv("JOURNAL_STREAM") || getenv("NOTIFY_SOCKET"))
                log_set_kernel_style_prefix(true);

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_VERSION:
                        printf("fenced %s\n", FENCE_VERSION);
                        return EXIT_SUCCESS;
                case ARG_SOCKET:
                        if (optarg[0] != '/') {
                                log_error("--socket: expected an absolute path, got '%s'.", optarg);
                                return 2;
                        }
                        o.socket_path = optarg;
                        break;
                case ARG_STATE_DIR:
                        if (optarg[0] != '/') {
                                log_error("--state-dir: expected an absolute path, got '%s'.", optarg);
                                return 2;
                        }
                        o.state_dir = optarg;
                        break;
                case ARG_LOG_DIR:
                        o.log_dir = optarg;
                        break;
                case ARG_EXIT_IDLE:
                        if (parse_seconds(optarg, &o.exit_idle_usec) < 0) {
                                log_error("--exit-idle-time: expected a number of seconds, got '%s'.", optarg);
                                return 2;
                        }
                        break;
                case ARG_POLICY:
                        o.policy_path = optarg;
                        break;
                case ARG_DEBUG:
                        log_set_max_level(LOG_DEBUG);
                        break;
                default:
                        fprintf(stderr, "Try '%s --help'.\n", program_invocation_short_name);
                        return 2;
                }
        if (optind < argc) {
                log_error("Unexpected argument '%s'. Try '%s --help'.", argv[optind], program_invocation_short_name);
                return 2;
        }
        if (geteuid() != 0) {
                log_error("fenced must run as root (it creates namespaces, mounts and cgroups for its users).");
                return 1;
        }

        /* Relayed connections cost fds (up to 6 each). */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }

        r = manager_new(&m, &o);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the manager: %m"), 1;
        r = manager_start(m);
        if (r < 0)
                return 1;
        r = manager_run(m);
        return r < 0 ? 1 : r;
}
