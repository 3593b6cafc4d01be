/* fencectl ps / kill / features: the small verbs that ask fenced once. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fencectl.h"
#include "json.h"
#include "log.h"
#include "strv.h"

static int call_once(Fencectl *ctl, const char *method, const char *params, VarlinkReply *reply) {
        _cleanup_(varlink_client_freep) VarlinkClient *c = NULL;
        int r;

        r = fencectl_connect(ctl, &c);
        if (r < 0)
                return r;
        r = varlink_client_call(c, method, params, reply);
        if (r < 0)
                return log_error_errno(r, "%s failed: %m", method);
        return 0;
}

/* Options shared by verbs that take only --help. */
static int parse_help_only(int argc, char *argv[], void (*help)(void)) {
        static const struct option options[] = { { "help", no_argument, NULL, 'h' }, {} };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("unexpected argument '%s'.", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static void format_age(uint64_t started_usec, char *buf, size_t size) {
        struct timespec ts;
        uint64_t now, s;

        clock_gettime(CLOCK_REALTIME, &ts);
        now = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
        s = now > started_usec ? (now - started_usec) / 1000000ULL : 0;
        if (s < 120)
                snprintf(buf, size, "%llus", (unsigned long long) s);
        else if (s < 7200)
                snprintf(buf, size, "%llum", (unsigned long long) (s / 60));
        else if (s < 2 * 86400)
                snprintf(buf, size, "%lluh", (unsigned long long) (s / 3600));
        else
                snprintf(buf, size, "%llud", (unsigned long long) (s / 86400));
}

static void help_ps(void) {
        printf("Usage: fencectl ps\n\nList your running sandboxes (all of them for root):\n"
               "ID, command pid, user, age and command line.\n");
}

int verb_ps(Fencectl *ctl, int argc, char *argv[]) {
        VarlinkReply reply = {};
        yajl_val list;
        int r;

        r = parse_help_only(argc, argv, help_ps);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;
        if (call_once(ctl, "io.fence.Sandbox.List", NULL, &reply) < 0)
                return 1;
        if (reply.error) {
                log_error("fenced refused List: %s", reply.error);
                varlink_reply_done(&reply);
                return 1;
        }
        list = json_get(reply.parameters, "sandboxes");
        printf("%-16s %8s %-12s %6s %s\n", "ID", "PID", "USER", "AGE", "COMMAND");
        for (size_t i = 0; YAJL_IS_ARRAY(list) && i < list->u.array.len; i++) {
                yajl_val s = list->u.array.values[i];
                _cleanup_strv_free_ char **cmd = NULL;
                _cleanup_free_ char *line = NULL;
                int64_t pid = 0, started = 0;
                char age[32];

                (void) json_get_int(s, "pid", &pid);
                (void) json_get_int(s, "startedUsec", &started);
                (void) json_get_strv(s, "argv", &cmd);
                line = strv_join(cmd, " ");
                format_age((uint64_t) started, age, sizeof age);
                printf("%-16s %8lld %-12s %6s %s\n", json_get_string(s, "id") ?: "?", (long long) pid,
                       json_get_string(s, "user") ?: "?", age, line ?: "");
        }
        varlink_reply_done(&reply);
        return 0;
}

static int parse_signal(const char *s) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (!errno && end != s && !*end)
                return v > 0 && v < _NSIG ? (int) v : -EINVAL;
        if (startswith(s, "SIG"))
                s += 3;
        for (int sig = 1; sig < NSIG; sig++) {
                const char *name = sigabbrev_np(sig);
                if (name && strcasecmp(name, s) == 0)
                        return sig;
        }
        return -EINVAL;
}

static void help_kill(void) {
        printf("Usage: fencectl kill [-s SIGNAL] ID\n\n"
               "Send SIGNAL (default TERM; a name like INT or a number) to the command of\n"
               "sandbox ID (see fencectl ps). KILL kills every process of the sandbox.\n");
}

int verb_kill(Fencectl *ctl, int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "signal", required_argument, NULL, 's' },
                {}
        };
        VarlinkReply reply = {};
        char params[256];
        int c, sig = SIGTERM, status = 0;

        while ((c = getopt_long(argc, argv, "hs:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help_kill();
                        return 0;
                case 's':
                        sig = parse_signal(optarg);
                        if (sig < 0) {
                                log_error("-s %s: unknown signal (use a name like TERM or a number).", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                default:
                        fprintf(stderr, "Try 'fencectl kill --help'.\n");
                        return EXIT_USAGE;
                }
        if (optind + 1 != argc) {
                log_error("expected exactly one sandbox ID (see fencectl ps).");
                return EXIT_USAGE;
        }
        if (strlen(argv[optind]) > 64 || strpbrk(argv[optind], "\"\\")) {
                log_error("'%s' is not a sandbox ID (see fencectl ps).", argv[optind]);
                return EXIT_USAGE;
        }
        snprintf(params, sizeof params, "{\"id\":\"%s\",\"signal\":%d}", argv[optind], sig);
        if (call_once(ctl, "io.fence.Sandbox.Kill", params, &reply) < 0)
                return 1;
        if (reply.error) {
                if (streq(reply.error, "io.fence.Sandbox.NoSuchSandbox"))
                        log_error("no sandbox '%s' of yours is running (see fencectl ps).", argv[optind]);
                else
                        log_error("fenced refused Kill: %s", reply.error);
                status = 1;
        }
        varlink_reply_done(&reply);
        return status;
}

static void help_features(void) {
        printf("Usage: fencectl features\n\nShow what fenced enforces on this host: namespaces,\n"
               "cgroup, Landlock ABI, seccomp filter and deny list, exec supervisor, network filter.\n");
}

int verb_features(Fencectl *ctl, int argc, char *argv[]) {
        VarlinkReply reply = {};
        yajl_val p;
        int r;

        r = parse_help_only(argc, argv, help_features);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;
        if (call_once(ctl, "io.fence.Sandbox.GetFeatures", NULL, &reply) < 0)
                return 1;
        if (reply.error) {
                log_error("fenced refused GetFeatures: %s", reply.error);
                varlink_reply_done(&reply);
                return 1;
        }
        p = reply.parameters;
        for (size_t i = 0; YAJL_IS_OBJECT(p) && i < p->u.object.len; i++) {
                yajl_val v = p->u.object.values[i];
                const char *k = p->u.object.keys[i];

                if (YAJL_IS_ARRAY(v)) {
                        printf("%s:", k);
                        for (size_t j = 0; j < v->u.array.len; j++)
                                printf(" %s", YAJL_IS_STRING(v->u.array.values[j]) ? v->u.array.values[j]->u.string : "?");
                        printf("%s\n", v->u.array.len ? "" : " (none)");
                } else if (YAJL_IS_STRING(v))
                        printf("%s: %s\n", k, v->u.string);
                else if (YAJL_IS_INTEGER(v) && streq(k, "landlockAbi") && YAJL_GET_INTEGER(v) <= 0)
                        printf("%s: none (no Landlock on this kernel: the mount view alone enforces the filesystem "
                               "policy; allowExecute with defaultDenyRead is refused)\n", k);
                else if (YAJL_IS_INTEGER(v))
                        printf("%s: %lld\n", k, YAJL_GET_INTEGER(v));
                else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
                        printf("%s: %s\n", k, YAJL_IS_TRUE(v) ? "yes" : "no");
        }
        varlink_reply_done(&reply);
        return 0;
}
