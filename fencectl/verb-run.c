/* fencectl run: send the command, our stdio and cwd to fenced, forward
 * signals, print events (-m), and exit with the command's status. */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "fencectl.h"
#include "json.h"
#include "log.h"
#include "pty-relay.h"
#include "run-config.h"
#include "strv.h"

#define EXIT_CANNOT_RUN 125
#define EXIT_DENIED 126

extern char **environ;

typedef struct RunOptions {
        RunConfigOptions config;
        bool monitor;
        bool debug;
        char *command_string;
        char **argv;            /* points into the caller's argv */
} RunOptions;

static void help(void) {
        printf("Usage: fencectl run [OPTIONS] [--] CMD [ARG...]\n"
               "       fencectl run [OPTIONS] -c STRING\n\n"
               "Run a command in a new sandbox: the host is read-only, /tmp is private, the\n"
               "network is loopback only, and the command runs as you without privileges.\n\n"
               "  -s --settings FILE           Use this fence.json (default: discovered, see fencectl(1))\n"
               "  -t --template NAME           Use a built-in template (fencectl templates)\n"
               "  -c STRING                    Run STRING with /bin/sh -c\n"
               "  -m --monitor                 Print the sandbox's events (violations) on stderr\n"
               "  -d --debug                   Print what fencectl and fenced do on stderr\n"
               "  -p --port [ADDR:]PORT        Expose a port of the sandbox on the host (repeatable)\n"
               "     --expose-host-path PATH   Make PATH readable in the sandbox\n"
               "     --expose-host-path-rw PATH  Make PATH writable in the sandbox\n"
               "     --lenient                 Ignore unknown configuration keys\n"
               "  -h --help                    Show this help\n\n"
               "Exit status: the command's own; 128+N if it died of signal N; 125 if the\n"
               "sandbox could not be created; 126 if CMD is not executable or denied by the\n"
               "command policy; 127 if not found.\n");
}

static int parse_args(int argc, char *argv[], RunOptions *o) {
        enum { ARG_EXPOSE = 0x100, ARG_EXPOSE_RW, ARG_LENIENT };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "settings", required_argument, NULL, 's' },
                { "template", required_argument, NULL, 't' },
                { "monitor", no_argument, NULL, 'm' },
                { "debug", no_argument, NULL, 'd' },
                { "port", required_argument, NULL, 'p' },
                { "expose-host-path", required_argument, NULL, ARG_EXPOSE },
                { "expose-host-path-rw", required_argument, NULL, ARG_EXPOSE_RW },
                { "lenient", no_argument, NULL, ARG_LENIENT },
                {}
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "+hs:t:mdp:c:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 's':
                        o->config.settings = optarg;
                        break;
                case 't':
                        o->config.template_name = optarg;
                        break;
                case 'm':
                        o->monitor = true;
                        break;
                case 'd':
                        o->debug = true;
                        break;
                case 'c':
                        o->command_string = optarg;
                        break;
                case 'p':
                        r = run_config_parse_port(optarg);
                        if (r < 0)
                                return -EINVAL;
                        if (strv_extend(&o->config.ports, optarg) < 0)
                                return log_oom();
                        break;
                case ARG_EXPOSE:
                        if (strv_extend(&o->config.expose_ro, optarg) < 0)
                                return log_oom();
                        break;
                case ARG_EXPOSE_RW:
                        if (strv_extend(&o->config.expose_rw, optarg) < 0)
                                return log_oom();
                        break;
                case ARG_LENIENT:
                        o->config.lenient = true;
                        break;
                default:
                        return -EINVAL;
                }

        if (o->command_string) {
                if (optind < argc) {
                        log_error("-c STRING and a command cannot be given together.");
                        return -EINVAL;
                }
        } else if (optind >= argc) {
                log_error("no command given: fencectl run [OPTIONS] [--] CMD [ARG...], or -c STRING.");
                return -EINVAL;
        } else
                o->argv = argv + optind;
        return 1;
}

/* fds 0-2 may be closed when we are started; the sandbox must still get three. */
static int stdio_fd(int fd) {
        if (fcntl(fd, F_GETFD) >= 0)
                return fd;
        return open("/dev/null", fd == 0 ? O_RDONLY | O_CLOEXEC : O_WRONLY | O_CLOEXEC);
}

static int build_params(const RunOptions *o, char * const *argv, const char *config, bool tty, char **ret) {
        _cleanup_json_gen_ yajl_gen g = json_gen_new();

        if (!g)
                return -ENOMEM;
        json_gen_open(g);
        json_gen_key(g, "argv");
        json_gen_strv(g, argv);
        json_gen_key(g, "env");
        json_gen_strv(g, environ);
        json_gen_kv_int(g, "cwdFd", 0);
        json_gen_kv_int(g, "stdinFd", 1);
        json_gen_kv_int(g, "stdoutFd", 2);
        json_gen_kv_int(g, "stderrFd", 3);
        if (config) {
                json_gen_key(g, "config");
                json_gen_raw(g, config);
        }
        json_gen_kv_bool(g, "monitor", o->monitor);
        json_gen_kv_bool(g, "tty", tty);
        if (o->config.ports) {
                json_gen_key(g, "ports");
                json_gen_strv(g, o->config.ports);
        }
        json_gen_close(g);
        return json_gen_take(g, ret);
}

static void forward_signal(Fencectl *ctl, const char *id, int sig, bool debug) {
        _cleanup_(varlink_client_freep) VarlinkClient *c = NULL;
        VarlinkReply reply = {};
        char params[128];

        if (varlink_client_connect_unix(&c, ctl->socket_path) < 0)
                return;
        snprintf(params, sizeof params, "{\"id\":\"%s\",\"signal\":%d}", id, sig);
        if (varlink_client_call(c, "io.fence.Sandbox.Kill", params, &reply) >= 0) {
                if (debug)
                        log_info("forwarded %s to sandbox %s%s%s", strsignal(sig), id,
                                 reply.error ? ": " : "", reply.error ?: "");
                varlink_reply_done(&reply);
        }
}

static void print_event(yajl_val event) {
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *text = NULL;

        if (!g)
                return;
        json_gen_value(g, event);
        if (json_gen_take(g, &text) >= 0)
                fprintf(stderr, "fence: %s\n", text);
}

static int report_error(const VarlinkReply *reply) {
        const char *msg = json_get_string(reply->parameters, "message");
        const char *field = json_get_string(reply->parameters, "field");
        const char *param = json_get_string(reply->parameters, "parameter");

        if (streq(reply->error, "io.fence.Sandbox.InvalidConfig"))
                log_error("invalid configuration%s%s: %s. Check it with 'fencectl config check'.",
                          field && field[0] ? ": " : "", field ?: "", msg ?: "rejected by fenced");
        else if (streq(reply->error, "io.fence.Sandbox.SandboxSetupFailed"))
                log_error("could not create the sandbox: %s", msg ?: "unknown reason (see fenced's log)");
        else if (streq(reply->error, "io.fence.Sandbox.PermissionDenied"))
                log_error("fenced refused the sandbox: %s", msg ?: "permission denied");
        else if (streq(reply->error, "io.fence.Sandbox.CommandDenied")) {
                log_error("%s", msg ?: "command denied by policy");
                return EXIT_DENIED;
        } else if (streq(reply->error, "io.fence.Sandbox.InvalidArgument"))
                log_error("fenced rejected the request: %s: %s", param ?: "?", msg ?: "invalid");
        else
                log_error("fenced failed the request: %s", reply->error);
        return EXIT_CANNOT_RUN;
}

/* Handles one reply; returns the exit status when the sandbox is over, -1 to continue. */
static int handle_reply(const RunOptions *o, const VarlinkReply *reply, char *id, size_t id_size) {
        const char *state;
        int64_t v;

        if (reply->error)
                return report_error(reply);

        state = json_get_string(reply->parameters, "state");
        if (!state)
                return -1;
        if (streq(state, "started")) {
                const char *s = json_get_string(reply->parameters, "id");
                if (s)
                        snprintf(id, id_size, "%s", s);
                if (o->debug && json_get_int(reply->parameters, "pid", &v) >= 0)
                        log_info("sandbox %s started, command pid %lld", id, (long long) v);
                return -1;
        }
        if (streq(state, "event")) {
                if (o->monitor)
                        print_event(json_get(reply->parameters, "event"));
                return -1;
        }
        if (streq(state, "exited")) {
                const char *exec_error = json_get_string(reply->parameters, "execError");
                int64_t code = EXIT_CANNOT_RUN, sig = 0;

                (void) json_get_int(reply->parameters, "exitCode", &code);
                (void) json_get_int(reply->parameters, "signal", &sig);
                if (exec_error)
                        log_error("%s", exec_error);
                if (o->monitor && json_get_int(reply->parameters, "eventsDropped", &v) >= 0 && v > 0)
                        log_warning("%lld events were not shown: fencectl did not read them fast enough "
                                    "(fenced's journal entries and events.jsonl have them all)", (long long) v);
                if (o->debug)
                        log_info("sandbox %s exited: code %lld, signal %lld", id, (long long) code, (long long) sig);
                if (sig > 0)
                        return 128 + (int) sig;
                return code >= 0 && code <= 255 ? (int) code : EXIT_CANNOT_RUN;
        }
        return -1;
}

static int run_loop(Fencectl *ctl, const RunOptions *o, VarlinkClient *c, int sigfd, PtyRelay *pty) {
        char id[64] = "";
        int pending_signal = 0;

        for (;;) {
                struct pollfd p[4] = {
                        { .fd = varlink_client_fd(c), .events = POLLIN },
                        { .fd = sigfd, .events = POLLIN },
                        { .fd = pty && !pty->stdin_eof ? STDIN_FILENO : -1, .events = POLLIN },
                        { .fd = pty ? pty->master : -1, .events = POLLIN },
                };

                /* Replies already buffered first: poll() cannot see them. */
                for (;;) {
                        VarlinkReply reply = {};
                        int r = varlink_client_read(c, &reply, 0), status;

                        if (r == -EAGAIN)
                                break;
                        if (r < 0) {
                                log_error_errno(r, "lost the connection to fenced: %m");
                                return EXIT_CANNOT_RUN;
                        }
                        status = handle_reply(o, &reply, id, sizeof id);
                        varlink_reply_done(&reply);
                        if (status >= 0) {
                                if (pty)
                                        pty_relay_drain(pty);
                                return status;
                        }
                        if (id[0] && pending_signal) {
                                forward_signal(ctl, id, pending_signal, o->debug);
                                pending_signal = 0;
                        }
                }

                if (poll(p, ELEMENTSOF(p), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "poll() failed: %m"), EXIT_CANNOT_RUN;
                }
                if (p[1].revents & POLLIN) {
                        struct signalfd_siginfo si;

                        if (read(sigfd, &si, sizeof si) != sizeof si)
                                ;
                        else if (si.ssi_signo == SIGWINCH) {
                                if (pty)
                                        pty_relay_resize(pty);
                        } else {
                                if (id[0])
                                        forward_signal(ctl, id, (int) si.ssi_signo, o->debug);
                                else
                                        pending_signal = (int) si.ssi_signo;
                        }
                }
                if (pty && ((p[2].revents | p[3].revents) & (POLLIN | POLLHUP | POLLERR)))
                        /* -EIO: the sandbox closed its side; the exited reply follows. */
                        if (pty_relay_pump(pty, p[2].revents != 0, p[3].revents != 0) == -EIO)
                                pty->master = safe_close(pty->master);
        }
}

int verb_run(Fencectl *ctl, int argc, char *argv[]) {
        _cleanup_(varlink_client_freep) VarlinkClient *c = NULL;
        _cleanup_free_ char *config = NULL, *params = NULL;
        _cleanup_close_ int cwd_fd = -1, sigfd = -1;
        RunOptions o = {};
        PtyRelay pty = { .master = -1, .slave = -1 };
        bool use_pty = pty_relay_wanted();
        char *shell_argv[] = { (char *) "/bin/sh", (char *) "-c", NULL, NULL };
        char * const *cmd;
        int fds[4], r, status;
        sigset_t mask;

        r = parse_args(argc, argv, &o);
        if (r <= 0) {
                run_config_options_done(&o.config);
                if (r < 0)
                        fprintf(stderr, "Try 'fencectl run --help'.\n");
                return r < 0 ? EXIT_USAGE : 0;
        }
        if (o.command_string) {
                shell_argv[2] = o.command_string;
                cmd = shell_argv;
        } else
                cmd = o.argv;

        cwd_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cwd_fd < 0) {
                log_error_errno(errno, "cannot open the current directory: %m");
                status = EXIT_CANNOT_RUN;
                goto out;
        }

        r = run_config_resolve(ctl, &o.config, cwd_fd, &config);
        if (r < 0) {
                status = EXIT_CANNOT_RUN;
                goto out;
        }

        if (use_pty && pty_relay_open(&pty) < 0) {
                log_debug("cannot allocate a pseudo-terminal, passing the terminal through");
                use_pty = false;
        }

        r = build_params(&o, cmd, config, use_pty, &params);
        if (r < 0) {
                log_oom();
                status = EXIT_CANNOT_RUN;
                goto out;
        }

        /* Block before connecting, so no signal is lost; they are read from the
         * signalfd and forwarded once the sandbox exists. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGQUIT);
        if (use_pty)
                sigaddset(&mask, SIGWINCH);
        (void) signal(SIGPIPE, SIG_IGN);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || (sigfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
                log_error_errno(errno, "cannot set up signal forwarding: %m");
                status = EXIT_CANNOT_RUN;
                goto out;
        }

        if (fencectl_connect(ctl, &c) < 0) {
                status = EXIT_CANNOT_RUN;
                goto out;
        }

        fds[0] = cwd_fd;
        for (int i = 0; i < 3; i++)
                fds[i + 1] = use_pty && (i < 2 || isatty(STDERR_FILENO)) ? pty.slave : stdio_fd(i);
        r = varlink_client_send(c, "io.fence.Sandbox.Run", params, VARLINK_CALL_MORE, fds, 4);
        for (int i = 0; i < 3; i++)
                if (fds[i + 1] != i && fds[i + 1] != pty.slave)
                        safe_close(fds[i + 1]);
        if (r == -EMSGSIZE) {
                log_error("the request is too large for fenced (at most %u MiB and %u values: "
                          "arguments, environment and config together)",
                          VARLINK_MESSAGE_MAX >> 20, VARLINK_VALUES_MAX);
                status = EXIT_CANNOT_RUN;
                goto out;
        }
        if (r < 0) {
                log_error_errno(r, "cannot send the request to fenced: %m");
                status = EXIT_CANNOT_RUN;
                goto out;
        }

        if (use_pty && pty_relay_start(&pty) < 0)
                log_debug("cannot put the terminal in raw mode");

        status = run_loop(ctl, &o, c, sigfd, use_pty ? &pty : NULL);
out:
        pty_relay_done(&pty);
        run_config_options_done(&o.config);
        return status;
}
