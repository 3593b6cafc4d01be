/* Unit tests of common/varlink.c: a real server runs its sd_event loop in a
 * thread on a socket in a temporary directory; the tests talk to it with
 * the client API and with raw sockets. The server thread reports what its
 * handlers saw (cancellations, disconnects, oneway calls) as lines on a
 * pipe, so the tests wait for events instead of sleeping. */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "json.h"
#include "varlink.h"

#define TIMEOUT_MS 10000

static const char test_idl[] =
        "# Methods the unit tests call.\n"
        "interface io.fence.test\n"
        "\n"
        "# Returns its parameters. (A comment that mentions method Fake() is no declaration.)\n"
        "method Echo(value: ?object) -> (value: ?object)\n"
        "# Replies `count` times, all but the last with continues.\n"
        "method Stream(count: int) -> (index: int)\n"
        "method Record(value: string) -> ()\n"
        "method Hold() -> ()\n"
        "method Later(value: string) -> (value: string)\n"
        "method WriteFd(fd: int, text: string) -> (again: int)\n"
        "method CountFds() -> (count: int)\n"
        "method Fail() -> ()\n"
        "method Need(name: string) -> (name: string)\n"
        "method Peer() -> (uid: int, gid: int, pid: int, groups: int)\n"
        "method Flood(size: int) -> (data: string)\n"
        "method   Missing  (\n"
        "  method: string\n"
        ") -> ()\n"
        "error NoMore (r: int)\n";

/* ---- the server thread ------------------------------------------------------ */

typedef struct TestState TestState;

typedef struct Later {
        TestState *state;
        size_t slot;
        sd_event_source *timer;
        VarlinkCall *call;
        char value[64];
} Later;

struct TestState {
        sd_event *event;
        int notify_fd;
        VarlinkCall *held[16];
        Later *later[16];
};

typedef struct TestServer {
        char dir[64];
        char path[128];
        sd_event *event;
        VarlinkServer *server;
        TestState state;
        int stop_fd;
        int notify_fd;          /* read end */
        pthread_t thread;
} TestServer;

_printf_(2, 3) static void notify(TestState *st, const char *fmt, ...) {
        char buf[256];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
        va_end(ap);
        buf[n++] = '\n';
        cr_assert_eq(write(st->notify_fd, buf, (size_t) n), n);
}

static int reply_json(VarlinkCall *call, yajl_gen g) {
        _cleanup_free_ char *text = NULL;
        int r = json_gen_take(g, &text);

        if (r < 0)
                return r;
        return varlink_call_reply(call, text, false);
}

static int method_echo(VarlinkCall *call, yajl_val parameters, void *userdata) {
        _cleanup_json_gen_ yajl_gen g = json_gen_new();

        json_gen_value(g, parameters);
        return reply_json(call, g);
}

static int method_stream(VarlinkCall *call, yajl_val parameters, void *userdata) {
        int64_t count = 0;
        int r;

        if (!varlink_call_more(call)) {
                char text[64];

                r = varlink_call_reply(call, "{}", true);
                snprintf(text, sizeof text, "{\"r\":%d}", r);
                return varlink_call_error(call, "io.fence.test.NoMore", text);
        }
        if (json_get_int(parameters, "count", &count) < 0 || count < 1)
                return varlink_call_error_invalid_parameter(call, "count");
        for (int64_t i = 0; i < count; i++) {
                char text[64];

                snprintf(text, sizeof text, "{\"index\":%" PRIi64 "}", i);
                r = varlink_call_reply(call, text, i + 1 < count);
                if (r < 0)
                        return r;
        }
        cr_assert(varlink_call_finished(call));
        return 0;
}

static int method_record(VarlinkCall *call, yajl_val parameters, void *userdata) {
        TestState *st = userdata;

        notify(st, "record:%s:%s", json_get_string(parameters, "value"),
               varlink_call_oneway(call) ? "oneway" : "call");
        /* A no-op for a oneway call. */
        return varlink_call_reply(call, NULL, false);
}

static void hold_cancelled(VarlinkCall *call, void *userdata) {
        TestState *st = userdata;

        cr_assert(varlink_call_finished(call));
        cr_assert_eq(varlink_call_reply(call, NULL, false), -ENOTCONN);
        for (size_t k = 0; k < ELEMENTSOF(st->held); k++)
                if (st->held[k] == call)
                        st->held[k] = varlink_call_unref(call);
        notify(st, "cancel:%s", varlink_call_method(call));
}

static int method_hold(VarlinkCall *call, yajl_val parameters, void *userdata) {
        TestState *st = userdata;

        for (size_t k = 0; k < ELEMENTSOF(st->held); k++)
                if (!st->held[k]) {
                        st->held[k] = varlink_call_ref(call);
                        varlink_call_set_cancel_handler(call, hold_cancelled, st);
                        notify(st, "hold");
                        return 0;
                }
        return -ENOSPC;
}

static int later_fire(sd_event_source *s, uint64_t usec, void *userdata) {
        Later *l = userdata;
        TestState *st = l->state;
        char reply[128];

        snprintf(reply, sizeof reply, "{\"value\":\"%s\"}", l->value);
        cr_assert_eq(varlink_call_reply(l->call, reply, false), 0);
        cr_assert(varlink_call_finished(l->call));
        st->later[l->slot] = NULL;
        varlink_call_unref(l->call);
        sd_event_source_disable_unref(l->timer);
        free(l);
        return 0;
}

/* Answers 20 ms later, from the event loop. */
static int method_later(VarlinkCall *call, yajl_val parameters, void *userdata) {
        TestState *st = userdata;
        const char *value = json_get_string(parameters, "value");
        Later *l;

        if (!value || strlen(value) >= sizeof l->value)
                return varlink_call_error_invalid_parameter(call, "value");
        for (size_t k = 0; k < ELEMENTSOF(st->later); k++)
                if (!st->later[k]) {
                        l = calloc(1, sizeof *l);
                        cr_assert_not_null(l);
                        l->state = st;
                        l->slot = k;
                        strcpy(l->value, value);
                        cr_assert_eq(sd_event_add_time_relative(st->event, &l->timer, CLOCK_MONOTONIC,
                                                                20000, 0, later_fire, l), 0);
                        l->call = varlink_call_ref(call);
                        st->later[k] = l;
                        return 0;
                }
        return -ENOSPC;
}

static int method_write_fd(VarlinkCall *call, yajl_val parameters, void *userdata) {
        const char *text = json_get_string(parameters, "text");
        int64_t index = -1;
        _cleanup_close_ int fd = -1;
        char reply[64];

        if (json_get_int(parameters, "fd", &index) < 0 || index < 0)
                return varlink_call_error_invalid_parameter(call, "fd");
        if (!text)
                return varlink_call_error_invalid_parameter(call, "text");
        fd = varlink_call_take_fd(call, (size_t) index);
        if (fd < 0)
                return varlink_call_error_invalid_parameter(call, "fd");
        if (write(fd, text, strlen(text)) != (ssize_t) strlen(text))
                return -errno;
        snprintf(reply, sizeof reply, "{\"again\":%d}", varlink_call_take_fd(call, (size_t) index));
        return varlink_call_reply(call, reply, false);
}

static int method_count_fds(VarlinkCall *call, yajl_val parameters, void *userdata) {
        char reply[64];

        snprintf(reply, sizeof reply, "{\"count\":%zu}", varlink_call_n_fds(call));
        return varlink_call_reply(call, reply, false);
}

static int method_fail(VarlinkCall *call, yajl_val parameters, void *userdata) {
        return -EIO;
}

static int method_need(VarlinkCall *call, yajl_val parameters, void *userdata) {
        if (!json_get_string(parameters, "name"))
                return varlink_call_error_invalid_parameter(call, "name");
        return method_echo(call, parameters, userdata);
}

static int method_peer(VarlinkCall *call, yajl_val parameters, void *userdata) {
        VarlinkConnection *c = varlink_call_connection(call);
        const struct ucred *u = varlink_connection_peer(c);
        const gid_t *groups = NULL;
        size_t n = varlink_connection_peer_groups(c, &groups);
        char reply[128];

        snprintf(reply, sizeof reply, "{\"uid\":%u,\"gid\":%u,\"pid\":%d,\"groups\":%zu}",
                 (unsigned) u->uid, (unsigned) u->gid, (int) u->pid, n);
        return varlink_call_reply(call, reply, false);
}

static void flood_cancelled(VarlinkCall *call, void *userdata) {
        notify(userdata, "cancel:%s", varlink_call_method(call));
}

static int method_flood(VarlinkCall *call, yajl_val parameters, void *userdata) {
        _cleanup_free_ char *text = NULL;
        int64_t size = 0;
        unsigned n = 0;
        int r;

        if (json_get_int(parameters, "size", &size) < 0 || size < 1 || size > 8 * 1024 * 1024)
                return varlink_call_error_invalid_parameter(call, "size");
        text = malloc((size_t) size + 32);
        cr_assert_not_null(text);
        strcpy(text, "{\"data\":\"");
        memset(text + 9, 'x', (size_t) size);
        strcpy(text + 9 + size, "\"}");

        varlink_call_set_cancel_handler(call, flood_cancelled, userdata);
        /* The peer reads nothing: the output queue limit must stop this. */
        while ((r = varlink_call_reply(call, text, true)) == 0)
                n++;
        notify(userdata, "flood:%d:%s", r, n > 0 ? "sent" : "none");
        return r;
}

static const VarlinkMethod test_methods[] = {
        { "Echo", method_echo },
        { "Stream", method_stream },
        { "Record", method_record },
        { "Hold", method_hold },
        { "Later", method_later },
        { "WriteFd", method_write_fd },
        { "CountFds", method_count_fds },
        { "Fail", method_fail },
        { "Need", method_need },
        { "Peer", method_peer },
        { "Flood", method_flood },
        {}
};

static void on_disconnect(VarlinkServer *s, VarlinkConnection *c, void *userdata) {
        notify(userdata, "disconnect:%d", (int) varlink_connection_peer(c)->pid);
}

static int on_stop(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static void *server_thread(void *p) {
        TestServer *ts = p;

        cr_assert_eq(sd_event_loop(ts->event), 0);
        /* Shutting down with live connections cancels their calls. */
        ts->server = varlink_server_free(ts->server);
        notify(&ts->state, "stopped");
        return NULL;
}

static TestServer *test_server_start(void) {
        TestServer *ts = calloc(1, sizeof *ts);
        int p[2];

        cr_assert_not_null(ts);
        strcpy(ts->dir, "/tmp/test-varlink-XXXXXX");
        cr_assert_not_null(mkdtemp(ts->dir));
        snprintf(ts->path, sizeof ts->path, "%s/sock", ts->dir);

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        ts->notify_fd = p[0];
        ts->state.notify_fd = p[1];
        ts->stop_fd = eventfd(0, EFD_CLOEXEC);
        cr_assert_geq(ts->stop_fd, 0);

        cr_assert_eq(sd_event_new(&ts->event), 0);
        ts->state.event = ts->event;
        cr_assert_eq(sd_event_add_io(ts->event, NULL, ts->stop_fd, EPOLLIN, on_stop, NULL), 0);
        cr_assert_eq(varlink_server_new(&ts->server, ts->event, "Fence", "test", "1", "https://example.org"), 0);
        cr_assert_eq(varlink_server_add_interface(ts->server, test_idl, test_methods, &ts->state), 0);
        varlink_server_set_disconnect_handler(ts->server, on_disconnect, &ts->state);
        cr_assert_eq(varlink_server_listen_unix(ts->server, ts->path, 0600), 0);

        cr_assert_eq(pthread_create(&ts->thread, NULL, server_thread, ts), 0);
        return ts;
}

static void test_server_stop(TestServer *ts) {
        uint64_t one = 1;

        cr_assert_eq(write(ts->stop_fd, &one, sizeof one), (ssize_t) sizeof one);
        cr_assert_eq(pthread_join(ts->thread, NULL), 0);
        for (size_t k = 0; k < ELEMENTSOF(ts->state.held); k++)
                varlink_call_unref(ts->state.held[k]);
        for (size_t k = 0; k < ELEMENTSOF(ts->state.later); k++)
                if (ts->state.later[k]) {
                        sd_event_source_disable_unref(ts->state.later[k]->timer);
                        varlink_call_unref(ts->state.later[k]->call);
                        free(ts->state.later[k]);
                }
        sd_event_unref(ts->event);
        unlink(ts->path);
        rmdir(ts->dir);
        close(ts->stop_fd);
        close(ts->notify_fd);
        close(ts->state.notify_fd);
        free(ts);
}

static void test_server_stopp(TestServer **ts) {
        if (*ts)
                test_server_stop(*ts);
}
#define _cleanup_server_ _cleanup_(test_server_stopp)
