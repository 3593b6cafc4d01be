/* Unit tests of common/varlink.c: a real server runs its sd_event loop in a
 * thread on a socket in a temporary directory; the tests talk to it with
 * the client API and with raw sockets. The server thread reports what its
 * handlers saw (cancellations, disconnects, oneway calls) as lines on a
 * pipe, so the tests wait for events instead of sleeping. */

#include <criterion/criterion.h>
#include <dirent.h>
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
        /* The peer reads nothing: the stream's backlog limit must stop this. */
        while ((r = varlink_call_reply(call, text, true)) == 0)
                n++;
        notify(userdata, "flood:%d:%s:%u", r, n > 0 ? "sent" : "none", n);
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

/* For the next test_server_start() only; 0: the default. */
static unsigned next_connections_per_uid_max;

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
        if (next_connections_per_uid_max > 0)
                varlink_server_set_connections_per_uid_max(ts->server, next_connections_per_uid_max);
        next_connections_per_uid_max = 0;
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

/* ---- helpers for the test side --------------------------------------------- */

/* Waits for a line starting with prefix from the server thread, skipping
 * others, and copies it to ret. */
static bool wait_event_line(TestServer *ts, const char *prefix, char *ret, size_t size) {
        size_t n = 0;

        for (;;) {
                struct pollfd p = { .fd = ts->notify_fd, .events = POLLIN };
                char ch;

                if (poll(&p, 1, TIMEOUT_MS) <= 0)
                        return false;
                if (read(ts->notify_fd, &ch, 1) != 1)
                        return false;
                if (ch != '\n') {
                        if (n < size - 1)
                                ret[n++] = ch;
                        continue;
                }
                ret[n] = 0;
                n = 0;
                if (startswith(ret, prefix))
                        return true;
        }
}

static bool wait_event(TestServer *ts, const char *prefix) {
        char line[256];

        return wait_event_line(ts, prefix, line, sizeof line);
}

static VarlinkClient *connect_client(TestServer *ts) {
        VarlinkClient *c = NULL;

        cr_assert_eq(varlink_client_connect_unix(&c, ts->path), 0);
        return c;
}

static int raw_connect(TestServer *ts) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        cr_assert_geq(fd, 0);
        strcpy(sa.sun_path, ts->path);
        cr_assert_eq(connect(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        return fd;
}

/* Sends as much as the peer takes; false when it closed on us. */
static bool raw_send(int fd, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
                if (n < 0) {
                        cr_assert(errno == EPIPE || errno == ECONNRESET, "send: %m");
                        return false;
                }
                p += n;
                size -= (size_t) n;
        }
        return true;
}

/* True when the server closes the connection within the timeout; replies
 * that arrive first are drained. */
static bool raw_wait_closed(int fd) {
        static char buf[65536];

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t n;

                if (poll(&p, 1, TIMEOUT_MS) <= 0)
                        return false;
                n = recv(fd, buf, sizeof buf, 0);
                if (n == 0 || (n < 0 && errno == ECONNRESET))
                        return true;
                if (n < 0)
                        return false;
        }
}

static yajl_val parse(const char *text) {
        yajl_val v = NULL;

        cr_assert_eq(json_parse(text, &v, NULL), 0, "bad JSON in test: %s", text);
        return v;
}

/* Asserts the reply has no error and these parameters. */
static void assert_params(const VarlinkReply *r, const char *expected) {
        _cleanup_json_ yajl_val want = parse(expected);
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *got = NULL;

        json_gen_value(g, r->parameters);
        cr_assert_eq(json_gen_take(g, &got), 0);
        cr_assert_null(r->error, "unexpected error %s %s", r->error, got);
        cr_assert(json_equal(r->parameters, want), "parameters %s, expected %s", got, expected);
}

static void assert_error(const VarlinkReply *r, const char *error, const char *expected) {
        _cleanup_json_ yajl_val want = parse(expected);
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *got = NULL;

        json_gen_value(g, r->parameters);
        cr_assert_eq(json_gen_take(g, &got), 0);
        cr_assert_not_null(r->error, "expected error %s, got reply %s", error, got);
        cr_assert_str_eq(r->error, error);
        cr_assert(json_equal(r->parameters, want), "error parameters %s, expected %s", got, expected);
        cr_assert(!r->continues);
}

static void call_expect(VarlinkClient *c, const char *method, const char *parameters, const char *expected) {
        VarlinkReply r = {};

        cr_assert_eq(varlink_client_call(c, method, parameters, &r), 0, "call %s", method);
        assert_params(&r, expected);
        cr_assert(!r.continues);
        varlink_reply_done(&r);
}

static void call_expect_error(VarlinkClient *c, const char *method, const char *parameters,
                              const char *error, const char *expected) {
        VarlinkReply r = {};

        cr_assert_eq(varlink_client_call(c, method, parameters, &r), 0, "call %s", method);
        assert_error(&r, error, expected);
        varlink_reply_done(&r);
}

/* ---- tests ------------------------------------------------------------------ */

Test(varlink, echo) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);

        call_expect(c, "io.fence.test.Echo", "{\"value\":{\"a\":[1,\"x\",null,true]}}",
                    "{\"value\":{\"a\":[1,\"x\",null,true]}}");
        /* NULL parameters go out as {} and come back as an empty object. */
        call_expect(c, "io.fence.test.Echo", NULL, "{}");
}

Test(varlink, echo_large_message_both_ways) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);
        size_t size = 6 * 1024 * 1024;
        _cleanup_free_ char *params = malloc(size + 32);
        VarlinkReply r = {};
        const char *s;

        /* Bigger than any socket buffer: exercises partial writes on both
         * sides and the growth of the input buffers. */
        cr_assert_not_null(params);
        strcpy(params, "{\"value\":\"");
        memset(params + 10, 'y', size);
        strcpy(params + 10 + size, "\"}");
        cr_assert_eq(varlink_client_call(c, "io.fence.test.Echo", params, &r), 0);
        cr_assert_null(r.error);
        s = json_get_string(r.parameters, "value");
        cr_assert_not_null(s);
        cr_assert_eq(strlen(s), size);
        cr_assert_eq(strspn(s, "y"), size);
        varlink_reply_done(&r);

        call_expect(c, "io.fence.test.Echo", "{\"value\":1}", "{\"value\":1}");
}

Test(varlink, more_streams_with_continues) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);

        cr_assert_eq(varlink_client_send(c, "io.fence.test.Stream", "{\"count\":5}", VARLINK_CALL_MORE, NULL, 0), 0);
        for (int i = 0; i < 5; i++) {
                VarlinkReply r = {};
                int64_t index = -1;

                cr_assert_eq(varlink_client_read(c, &r, TIMEOUT_MS), 0);
                cr_assert_null(r.error);
                cr_assert_eq(json_get_int(r.parameters, "index", &index), 0);
                cr_assert_eq(index, i);
                cr_assert_eq(r.continues, i < 4, "reply %d continues=%d", i, r.continues);
                varlink_reply_done(&r);
        }
        /* The connection is free for the next call. */
        call_expect(c, "io.fence.test.Echo", "{\"after\":true}", "{\"after\":true}");
}

Test(varlink, continues_without_more_is_einval) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);
        char expected[32];

        snprintf(expected, sizeof expected, "{\"r\":%d}", -EINVAL);
        call_expect_error(c, "io.fence.test.Stream", "{\"count\":3}", "io.fence.test.NoMore", expected);
}

Test(varlink, oneway_gets_no_reply) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);
        VarlinkReply r = {};

        cr_assert_eq(varlink_client_send(c, "io.fence.test.Record", "{\"value\":\"a\"}", VARLINK_CALL_ONEWAY, NULL, 0), 0);
        cr_assert_eq(varlink_client_send(c, "io.fence.test.Record", "{\"value\":\"b\"}", VARLINK_CALL_ONEWAY, NULL, 0), 0);
        cr_assert(wait_event(ts, "record:a:oneway"));
        cr_assert(wait_event(ts, "record:b:oneway"));
        /* Had the server answered the oneway calls, this would read their replies. */
        cr_assert_eq(varlink_client_read(c, &r, 0), -EAGAIN);
        call_expect(c, "io.fence.test.Echo", "{\"n\":1}", "{\"n\":1}");
        cr_assert_eq(varlink_client_read(c, &r, 0), -EAGAIN);
}

Test(varlink, oneway_then_close_still_runs) {
        _cleanup_server_ TestServer *ts = test_server_start();
        VarlinkClient *c = connect_client(ts);

        cr_assert_eq(varlink_client_send(c, "io.fence.test.Record", "{\"value\":\"last\"}", VARLINK_CALL_ONEWAY, NULL, 0), 0);
        varlink_client_free(c);
        cr_assert(wait_event(ts, "record:last:oneway"));
        cr_assert(wait_event(ts, "disconnect:"));
}

Test(varlink, get_info) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);

        call_expect(c, "org.varlink.service.GetInfo", NULL,
                    "{\"vendor\":\"Fence\",\"product\":\"test\",\"version\":\"1\","
                    "\"url\":\"https://example.org\","
                    "\"interfaces\":[\"org.varlink.service\",\"io.fence.test\"]}");
}

Test(varlink, get_interface_description) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);
        VarlinkReply r = {};
        const char *d;

        cr_assert_eq(varlink_client_call(c, "org.varlink.service.GetInterfaceDescription",
                                         "{\"interface\":\"io.fence.test\"}", &r), 0);
        cr_assert_null(r.error);
        cr_assert_str_eq(json_get_string(r.parameters, "description"), test_idl);
        varlink_reply_done(&r);

        cr_assert_eq(varlink_client_call(c, "org.varlink.service.GetInterfaceDescription",
                                         "{\"interface\":\"org.varlink.service\"}", &r), 0);
        cr_assert_null(r.error);
        d = json_get_string(r.parameters, "description");
        cr_assert_not_null(d);
        cr_assert_not_null(strstr(d, "interface org.varlink.service\n"));
        cr_assert_not_null(strstr(d, "method GetInfo() -> ("));
        cr_assert_not_null(strstr(d, "method GetInterfaceDescription(interface: string) -> (description: string)"));
        cr_assert_not_null(strstr(d, "error MethodNotFound (method: string)"));
        varlink_reply_done(&r);

        call_expect_error(c, "org.varlink.service.GetInterfaceDescription", "{\"interface\":\"org.nope\"}",
                          VARLINK_ERROR_INTERFACE_NOT_FOUND, "{\"interface\":\"org.nope\"}");
        call_expect_error(c, "org.varlink.service.GetInterfaceDescription", NULL,
                          VARLINK_ERROR_INVALID_PARAMETER, "{\"parameter\":\"interface\"}");
}

Test(varlink, standard_errors) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);

        call_expect_error(c, "org.nope.Thing", NULL,
                          VARLINK_ERROR_INTERFACE_NOT_FOUND, "{\"interface\":\"org.nope\"}");
        call_expect_error(c, "io.fence.test.Nope", NULL,
                          VARLINK_ERROR_METHOD_NOT_FOUND, "{\"method\":\"io.fence.test.Nope\"}");
        /* Only mentioned in a comment of the IDL: not declared. */
        call_expect_error(c, "io.fence.test.Fake", NULL,
                          VARLINK_ERROR_METHOD_NOT_FOUND, "{\"method\":\"io.fence.test.Fake\"}");
        /* Declared over several lines, absent from the method table. */
        call_expect_error(c, "io.fence.test.Missing", NULL,
                          VARLINK_ERROR_METHOD_NOT_IMPLEMENTED, "{\"method\":\"io.fence.test.Missing\"}");
        call_expect_error(c, "org.varlink.service.Nope", NULL,
                          VARLINK_ERROR_METHOD_NOT_FOUND, "{\"method\":\"org.varlink.service.Nope\"}");
        call_expect_error(c, "io.fence.test.Need", "{\"other\":1}",
                          VARLINK_ERROR_INVALID_PARAMETER, "{\"parameter\":\"name\"}");
        call_expect_error(c, "NoDot", NULL, VARLINK_ERROR_INVALID_PARAMETER, "{\"parameter\":\"method\"}");
        call_expect_error(c, "io.fence.test.", NULL, VARLINK_ERROR_INVALID_PARAMETER, "{\"parameter\":\"method\"}");
        call_expect_error(c, "io.fence.test.Fail", NULL, VARLINK_ERROR_INTERNAL, "{}");
        /* Every error left the connection usable. */
        call_expect(c, "io.fence.test.Need", "{\"name\":\"x\"}", "{\"name\":\"x\"}");
}

Test(varlink, fd_passing) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);
        _cleanup_close_ int rfd = -1, wfd = -1;
        char expected[32], buf[16] = {};
        int p[2];

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        rfd = p[0];
        wfd = p[1];
        cr_assert_eq(varlink_client_send(c, "io.fence.test.WriteFd", "{\"fd\":0,\"text\":\"hello\"}", 0, &wfd, 1), 0);
        /* The sender keeps its own copy. */
        cr_assert_geq(fcntl(wfd, F_GETFD), 0);
        wfd = safe_close(wfd);

        VarlinkReply r = {};
        cr_assert_eq(varlink_client_read(c, &r, TIMEOUT_MS), 0);
        snprintf(expected, sizeof expected, "{\"again\":%d}", -EBADF);
        assert_params(&r, expected);
        varlink_reply_done(&r);

        cr_assert_eq(read(rfd, buf, sizeof buf - 1), 5);
        cr_assert_str_eq(buf, "hello");
        /* The server closed its copy after writing: EOF. */
        cr_assert_eq(read(rfd, buf, sizeof buf), 0);

        call_expect_error(c, "io.fence.test.WriteFd", "{\"fd\":0,\"text\":\"x\"}",
                          VARLINK_ERROR_INVALID_PARAMETER, "{\"parameter\":\"fd\"}");
}

Test(varlink, fds_belong_to_their_message_when_pipelined) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);
        int fds[3];
        static const char *const expected[] = {
                "{\"value\":\"first\"}", "{\"count\":0}", "{\"count\":0}", "{\"count\":3}", "{\"count\":0}", "{\"count\":1}",
        };

        for (int k = 0; k < 3; k++)
                fds[k] = STDERR_FILENO;
        /* While Later is pending and the next call is buffered, the server
         * does not read: the calls below pile up in the socket and one
         * recvmsg() returns a call without fds together with one with fds. */
        cr_assert_eq(varlink_client_send(c, "io.fence.test.Later", "{\"value\":\"first\"}", 0, NULL, 0), 0);
        cr_assert_eq(varlink_client_send(c, "io.fence.test.CountFds", NULL, 0, NULL, 0), 0);
        cr_assert_eq(varlink_client_send(c, "io.fence.test.CountFds", NULL, 0, NULL, 0), 0);
        cr_assert_eq(varlink_client_send(c, "io.fence.test.CountFds", NULL, 0, fds, 3), 0);
        cr_assert_eq(varlink_client_send(c, "io.fence.test.CountFds", NULL, 0, NULL, 0), 0);
        cr_assert_eq(varlink_client_send(c, "io.fence.test.CountFds", NULL, 0, fds, 1), 0);
        for (size_t k = 0; k < ELEMENTSOF(expected); k++) {
                VarlinkReply r = {};

                cr_assert_eq(varlink_client_read(c, &r, TIMEOUT_MS), 0);
                assert_params(&r, expected[k]);
                varlink_reply_done(&r);
        }
}

Test(varlink, a_kept_call_keeps_no_fds_it_did_not_take) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);
        _cleanup_close_ int rfd = -1, wfd = -1;
        struct pollfd p;
        char buf[8];
        int fds[2];

        /* Hold keeps its call (as Run keeps it for a sandbox's life) and
         * takes no fd: the server must not keep the client's. */
        cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
        rfd = fds[0];
        wfd = fds[1];
        cr_assert_eq(varlink_client_send(c, "io.fence.test.Hold", NULL, VARLINK_CALL_MORE, &wfd, 1), 0);
        cr_assert(wait_event(ts, "hold"));
        wfd = safe_close(wfd);
        p = (struct pollfd) { .fd = rfd, .events = POLLIN };
        cr_assert_eq(poll(&p, 1, TIMEOUT_MS), 1, "the server still holds the pipe's write end");
        cr_assert_eq(read(rfd, buf, sizeof buf), 0);
}

Test(varlink, too_many_fds_close_the_connection) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *other = connect_client(ts);
        _cleanup_close_ int fd = raw_connect(ts);
        const char msg[] = "{\"method\":\"io.fence.test.CountFds\"}";
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * (VARLINK_FDS_MAX + 1))];
        } control = {};
        struct iovec iov = { (void *) msg, sizeof msg };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof control,
        };
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh);
        int fds[VARLINK_FDS_MAX + 1];

        for (size_t k = 0; k < ELEMENTSOF(fds); k++)
                fds[k] = STDERR_FILENO;
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof fds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof fds);
        cr_assert_eq(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t) sizeof msg);

        cr_assert(raw_wait_closed(fd));
        call_expect(other, "io.fence.test.Echo", "{\"still\":\"here\"}", "{\"still\":\"here\"}");

        /* The client API refuses to send that many. */
        cr_assert_eq(varlink_client_send(other, "io.fence.test.CountFds", NULL, 0, fds, ELEMENTSOF(fds)), -EINVAL);
}

static unsigned count_open_fds(void) {
        _cleanup_(closedirp) DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;

        cr_assert_not_null(d);
        for (struct dirent *de; (de = readdir(d)); )
                if (de->d_name[0] != '.')
                        n++;
        return n;
}

Test(varlink, fds_of_an_unfinished_message_are_bounded) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *other = connect_client(ts);
        _cleanup_close_ int fd = -1;
        unsigned before;
        int fds[VARLINK_FDS_MAX];
        bool closed = false;

        call_expect(other, "io.fence.test.Echo", "{\"n\":1}", "{\"n\":1}");
        before = count_open_fds();
        fd = raw_connect(ts);
        for (size_t k = 0; k < ELEMENTSOF(fds); k++)
                fds[k] = STDERR_FILENO;
        /* Each sendmsg() carries one byte and the most fds a message may
         * have; the NUL never comes. The server must not keep them all
         * (a client could fill the daemon's fd table this way). */
        for (unsigned k = 0; k < 64 && !closed; k++) {
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof fds)];
                } control = {};
                struct iovec iov = { (void *) (k == 0 ? "{" : " "), 1 };
                struct msghdr mh = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = &control,
                        .msg_controllen = sizeof control,
                };
                struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh);

                cmsg->cmsg_level = SOL_SOCKET;
                cmsg->cmsg_type = SCM_RIGHTS;
                cmsg->cmsg_len = CMSG_LEN(sizeof fds);
                memcpy(CMSG_DATA(cmsg), fds, sizeof fds);
                if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0) {
                        cr_assert(errno == EPIPE || errno == ECONNRESET, "sendmsg: %m");
                        closed = true;
                }
        }
        cr_assert(raw_wait_closed(fd), "the server kept reading fds for a message that never ends");
        cr_assert(wait_event(ts, "disconnect:"));
        fd = safe_close(fd);
        /* The disconnect handler runs just before the server closes the
         * connection's socket (and the reader's fds): give it the moment. */
        unsigned now = count_open_fds();
        for (unsigned ms = 0; now != before && ms < TIMEOUT_MS; ms++) {
                usleep(1000);
                now = count_open_fds();
        }
        cr_assert_eq(now, before, "fds left open: %u, before %u", now, before);
        call_expect(other, "io.fence.test.Echo", "{\"n\":2}", "{\"n\":2}");
}

static void check_bad_message(const char *data, size_t size) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *other = connect_client(ts);
        _cleanup_close_ int fd = raw_connect(ts);

        /* The other connection is established and known to the server. */
        call_expect(other, "io.fence.test.Echo", "{\"n\":1}", "{\"n\":1}");
        (void) raw_send(fd, data, size);
        cr_assert(raw_wait_closed(fd), "server did not close after %.40s", data);
        cr_assert(wait_event(ts, "disconnect:"));
        call_expect(other, "io.fence.test.Echo", "{\"n\":2}", "{\"n\":2}");
}

#define BAD(s) check_bad_message(s, sizeof(s))      /* with the NUL */

Test(varlink, malformed_json_closes_only_that_connection) {
        BAD("{\"method\": ");
}

Test(varlink, not_an_object_closes) {
        BAD("[\"io.fence.test.Echo\"]");
}

Test(varlink, missing_method_closes) {
        BAD("{\"parameters\":{}}");
}

Test(varlink, non_string_method_closes) {
        BAD("{\"method\":42}");
}

Test(varlink, non_object_parameters_close) {
        BAD("{\"method\":\"io.fence.test.Echo\",\"parameters\":[1]}");
}

Test(varlink, non_bool_more_closes) {
        BAD("{\"method\":\"io.fence.test.Echo\",\"more\":\"yes\"}");
}

Test(varlink, more_and_oneway_close) {
        BAD("{\"method\":\"io.fence.test.Echo\",\"more\":true,\"oneway\":true}");
}

Test(varlink, nul_escape_in_a_string_closes) {
        /* yajl would hand out "io.fence.test.Echo" for this method name. */
        BAD("{\"method\":\"io.fence.test.Echo\\u0000.Other\"}");
}

Test(varlink, escaped_backslash_before_u0000_text_is_fine) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);

        /* "\\u0000" is a backslash followed by the text u0000. */
        call_expect(c, "io.fence.test.Echo", "{\"v\":\"a\\\\u0000\"}", "{\"v\":\"a\\\\u0000\"}");
}

Test(varlink, empty_message_closes) {
        BAD("");
}

Test(varlink, garbage_after_valid_call_closes) {
        const char data[] = "{\"method\":\"io.fence.test.Echo\"}\0{{{{";
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_close_ int fd = raw_connect(ts);
        char buf[128] = {};

        cr_assert(raw_send(fd, data, sizeof data));
        /* The valid call is answered before the garbage is found. */
        cr_assert_gt(recv(fd, buf, sizeof buf - 1, 0), 0);
        cr_assert_str_eq(buf, "{\"parameters\":{}}");
        cr_assert(raw_wait_closed(fd));
}

Test(varlink, deep_nesting_closes_without_crashing) {
        /* Valid JSON, but yajl frees trees recursively: this deep, it
         * would overflow the server's stack. */
        size_t depth = 1024 * 1024;
        _cleanup_free_ char *data = malloc(2 * depth + 1);

        cr_assert_not_null(data);
        memset(data, '[', depth);
        memset(data + depth, ']', depth);
        data[2 * depth] = 0;
        check_bad_message(data, 2 * depth + 1);
}

/* {"method":"io.fence.test.Echo","parameters":{"value":[[...]]}} with the
 * whole message nested `depth` deep. */
static char *echo_nested(size_t depth) {
        const char head[] = "{\"method\":\"io.fence.test.Echo\",\"parameters\":{\"value\":";
        size_t arrays = depth - 2;
        char *data = malloc(sizeof head + 2 * arrays + 2), *p;

        cr_assert_not_null(data);
        p = stpcpy(data, head);
        memset(p, '[', arrays);
        memset(p + arrays, ']', arrays);
        strcpy(p + 2 * arrays, "}}");
        return data;
}

Test(varlink, nesting_beyond_what_yajl_gen_can_write_closes) {
        /* A handler that passes a client's object on (fenced re-serializes
         * the Run config) must never see more than json_gen_value() takes:
         * yajl_gen writes past its state array beyond YAJL_MAX_DEPTH. */
        _cleanup_free_ char *data = echo_nested(JSON_GEN_VALUE_DEPTH_MAX + 1);

        check_bad_message(data, strlen(data) + 1);
}

Test(varlink, nesting_at_the_limit_is_served) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_free_ char *data = echo_nested(JSON_GEN_VALUE_DEPTH_MAX);
        _cleanup_close_ int fd = raw_connect(ts);
        char buf[256] = {};
        ssize_t n;

        cr_assert(raw_send(fd, data, strlen(data) + 1));
        n = recv(fd, buf, sizeof buf - 1, 0);
        cr_assert_gt(n, 0);
        cr_assert(startswith(buf, "{\"parameters\":{\"value\":[[["), "reply: %s", buf);
}

Test(varlink, oversized_message_closes) {
        size_t size = VARLINK_MESSAGE_MAX + 4096;
        _cleanup_free_ char *data = malloc(size);

        cr_assert_not_null(data);
        memset(data, ' ', size);
        check_bad_message(data, size);
}

Test(varlink, half_sent_message_closes) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *other = connect_client(ts);
        _cleanup_close_ int fd = raw_connect(ts);
        const char data[] = "{\"method\":\"io.fence.test.Echo\"";

        call_expect(other, "io.fence.test.Echo", "{\"n\":1}", "{\"n\":1}");
        cr_assert(raw_send(fd, data, strlen(data)));
        cr_assert_eq(shutdown(fd, SHUT_WR), 0);
        cr_assert(raw_wait_closed(fd));
        call_expect(other, "io.fence.test.Echo", "{\"n\":2}", "{\"n\":2}");
}

Test(varlink, half_close_after_call_still_gets_the_reply) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);
        VarlinkReply r = {};

        cr_assert_eq(varlink_client_send(c, "io.fence.test.Later", "{\"value\":\"v\"}", 0, NULL, 0), 0);
        cr_assert_eq(shutdown(varlink_client_fd(c), SHUT_WR), 0);
        cr_assert_eq(varlink_client_read(c, &r, TIMEOUT_MS), 0);
        assert_params(&r, "{\"value\":\"v\"}");
        varlink_reply_done(&r);
        cr_assert_eq(varlink_client_read(c, &r, TIMEOUT_MS), -ECONNRESET);
}

Test(varlink, pipelined_calls_answered_in_order) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);
        static const char *const expected[] = {
                "{\"value\":\"1\"}", "{\"value\":2}", "{\"value\":\"3\"}", "{\"value\":4}",
        };

        /* Later answers from a timer: the Echo behind it must wait. */
        cr_assert_eq(varlink_client_send(c, "io.fence.test.Later", "{\"value\":\"1\"}", 0, NULL, 0), 0);
        cr_assert_eq(varlink_client_send(c, "io.fence.test.Echo", "{\"value\":2}", 0, NULL, 0), 0);
        cr_assert_eq(varlink_client_send(c, "io.fence.test.Later", "{\"value\":\"3\"}", 0, NULL, 0), 0);
        cr_assert_eq(varlink_client_send(c, "io.fence.test.Echo", "{\"value\":4}", 0, NULL, 0), 0);
        for (size_t k = 0; k < ELEMENTSOF(expected); k++) {
                VarlinkReply r = {};

                cr_assert_eq(varlink_client_read(c, &r, TIMEOUT_MS), 0);
                assert_params(&r, expected[k]);
                varlink_reply_done(&r);
        }
}

Test(varlink, cancel_on_client_disconnect) {
        _cleanup_server_ TestServer *ts = test_server_start();
        VarlinkClient *c = connect_client(ts);

        cr_assert_eq(varlink_client_send(c, "io.fence.test.Hold", NULL, 0, NULL, 0), 0);
        cr_assert(wait_event(ts, "hold"));
        varlink_client_free(c);
        /* The cancel handler runs first, then the disconnect handler. */
        cr_assert(wait_event(ts, "cancel:io.fence.test.Hold"));
        cr_assert(wait_event(ts, "disconnect:"));
}

Test(varlink, cancel_on_disconnect_with_a_call_queued) {
        _cleanup_server_ TestServer *ts = test_server_start();
        VarlinkClient *c = connect_client(ts);

        /* With Hold pending and Echo waiting in its buffer the server does not
         * poll for input; the hangup must still be noticed. */
        cr_assert_eq(varlink_client_send(c, "io.fence.test.Hold", NULL, 0, NULL, 0), 0);
        cr_assert_eq(varlink_client_send(c, "io.fence.test.Echo", NULL, 0, NULL, 0), 0);
        cr_assert(wait_event(ts, "hold"));
        varlink_client_free(c);
        cr_assert(wait_event(ts, "cancel:io.fence.test.Hold"));
        cr_assert(wait_event(ts, "disconnect:"));
}

Test(varlink, cancel_on_server_shutdown) {
        TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);
        VarlinkReply r = {};
        uint64_t one = 1;

        cr_assert_eq(varlink_client_send(c, "io.fence.test.Hold", NULL, 0, NULL, 0), 0);
        cr_assert(wait_event(ts, "hold"));
        cr_assert_eq(write(ts->stop_fd, &one, sizeof one), (ssize_t) sizeof one);
        cr_assert(wait_event(ts, "cancel:io.fence.test.Hold"));
        cr_assert(wait_event(ts, "disconnect:"));
        cr_assert(wait_event(ts, "stopped"));
        cr_assert_eq(varlink_client_read(c, &r, TIMEOUT_MS), -ECONNRESET);
        test_server_stop(ts);
}

Test(varlink, a_stream_to_a_peer_that_does_not_read_is_dropped_not_queued) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);
        _cleanup_(varlink_client_freep) VarlinkClient *other = connect_client(ts);
        char expected[64], line[256];
        const size_t size = 65536;
        unsigned sent, got = 0;

        /* Every sandbox's events stream to its client: a client that stopped
         * reading (suspended, or on purpose) must not make the server queue
         * VARLINK_OUTPUT_MAX for it. The stream stops at the backlog limit;
         * the call and the connection go on. */
        snprintf(line, sizeof line, "{\"size\":%zu}", size);
        cr_assert_eq(varlink_client_send(c, "io.fence.test.Flood", line, VARLINK_CALL_MORE, NULL, 0), 0);
        snprintf(expected, sizeof expected, "flood:%d:sent:", -ENOBUFS);
        cr_assert(wait_event_line(ts, expected, line, sizeof line));
        sent = (unsigned) strtoul(line + strlen(expected), NULL, 10);
        cr_assert_leq(sent * size, VARLINK_STREAM_BACKLOG_MAX + 8 * 1024 * 1024,
                      "%u replies of %zu bytes were queued", sent, size);

        /* What was queued arrives, then the handler's error ends the call. */
        for (;;) {
                VarlinkReply r = {};

                cr_assert_eq(varlink_client_read(c, &r, TIMEOUT_MS), 0);
                if (!r.continues) {
                        cr_assert_str_eq(r.error, VARLINK_ERROR_INTERNAL);
                        varlink_reply_done(&r);
                        break;
                }
                got++;
                varlink_reply_done(&r);
        }
        cr_assert_eq(got, sent);
        call_expect(c, "io.fence.test.Echo", "{\"n\":1}", "{\"n\":1}");
        call_expect(other, "io.fence.test.Echo", "{\"n\":2}", "{\"n\":2}");
}

Test(varlink, connections_per_uid_are_bounded) {
        _cleanup_server_ TestServer *ts = NULL;
        VarlinkClient *c[4] = {};
        _cleanup_close_ int extra = -1;

        /* Every connection costs the server an fd: one user opening
         * thousands of idle ones would leave none for anybody else. */
        next_connections_per_uid_max = 3;
        ts = test_server_start();
        for (size_t k = 0; k < 3; k++) {
                c[k] = connect_client(ts);
                call_expect(c[k], "io.fence.test.Echo", "{\"n\":1}", "{\"n\":1}");
        }
        extra = raw_connect(ts);
        cr_assert(raw_wait_closed(extra), "a fourth connection of the same uid was kept");
        extra = safe_close(extra);

        /* A connection that went away makes room again. */
        c[0] = varlink_client_free(c[0]);
        cr_assert(wait_event(ts, "disconnect:"));
        c[3] = connect_client(ts);
        call_expect(c[3], "io.fence.test.Echo", "{\"n\":2}", "{\"n\":2}");
        for (size_t k = 0; k < ELEMENTSOF(c); k++)
                varlink_client_free(c[k]);
}

Test(varlink, peer_credentials) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);
        char expected[128];
        int n = getgroups(0, NULL);

        cr_assert_geq(n, 0);
        snprintf(expected, sizeof expected, "{\"uid\":%u,\"gid\":%u,\"pid\":%d,\"groups\":%d}",
                 (unsigned) getuid(), (unsigned) getgid(), (int) getpid(), n);
        call_expect(c, "io.fence.test.Peer", NULL, expected);
}

Test(varlink, client_read_timeouts) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);
        VarlinkReply r = {};

        cr_assert_eq(varlink_client_send(c, "io.fence.test.Hold", NULL, 0, NULL, 0), 0);
        cr_assert(wait_event(ts, "hold"));
        cr_assert_eq(varlink_client_read(c, &r, 0), -EAGAIN);
        cr_assert_eq(varlink_client_read(c, &r, 30), -ETIMEDOUT);
}

Test(varlink, client_argument_errors) {
        _cleanup_server_ TestServer *ts = test_server_start();
        _cleanup_(varlink_client_freep) VarlinkClient *c = connect_client(ts);
        VarlinkClient *none = NULL;
        char path[200];

        cr_assert_eq(varlink_client_send(c, "io.fence.test.Echo", NULL, VARLINK_CALL_MORE | VARLINK_CALL_ONEWAY, NULL, 0), -EINVAL);
        cr_assert_eq(varlink_client_send(c, "io.fence.test.Echo", NULL, 1U << 7, NULL, 0), -EINVAL);
        cr_assert_eq(varlink_client_send(c, NULL, NULL, 0, NULL, 0), -EINVAL);
        cr_assert_eq(varlink_client_send(c, "io.fence.test.Echo", NULL, 0, NULL, 1), -EINVAL);

        snprintf(path, sizeof path, "%s/nope", ts->dir);
        cr_assert_eq(varlink_client_connect_unix(&none, path), -ENOENT);
        cr_assert_eq(varlink_client_connect_unix(&none, ""), -EINVAL);
        cr_assert_null(none);
        call_expect(c, "io.fence.test.Echo", "{\"ok\":true}", "{\"ok\":true}");
}

Test(varlink, client_rejects_bad_replies) {
        int p[2];
        VarlinkClient *c = NULL;
        VarlinkReply r = {};

        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p), 0);
        cr_assert_eq(varlink_client_new_fd(&c, p[0]), 0);
        cr_assert_eq(varlink_client_fd(c), p[0]);

        cr_assert(raw_send(p[1], "[1]", 4));
        cr_assert_eq(varlink_client_read(c, &r, TIMEOUT_MS), -EBADMSG);
        cr_assert(raw_send(p[1], "{\"error\":5}", 12));
        cr_assert_eq(varlink_client_read(c, &r, TIMEOUT_MS), -EBADMSG);
        cr_assert(raw_send(p[1], "{\"continues\":\"x\"}", 18));
        cr_assert_eq(varlink_client_read(c, &r, TIMEOUT_MS), -EBADMSG);
        /* A reply without parameters reads as an empty object. */
        cr_assert(raw_send(p[1], "{\"error\":\"a.B\"}", 16));
        cr_assert_eq(varlink_client_read(c, &r, TIMEOUT_MS), 0);
        cr_assert_str_eq(r.error, "a.B");
        cr_assert(YAJL_IS_OBJECT(r.parameters));
        cr_assert_eq(r.parameters->u.object.len, 0);
        varlink_reply_done(&r);
        /* Half a message, then EOF. */
        cr_assert(raw_send(p[1], "{\"para", 6));
        close(p[1]);
        cr_assert_eq(varlink_client_read(c, &r, TIMEOUT_MS), -ECONNRESET);
        varlink_client_free(c);
}

Test(varlink, client_receives_fds) {
        int p[2], pp[2];
        _cleanup_(varlink_client_freep) VarlinkClient *c = NULL;
        VarlinkReply r = {};
        const char msg[] = "{\"parameters\":{\"fd\":0}}";
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { (void *) msg, sizeof msg };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control };
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh);
        char buf[8] = {};

        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p), 0);
        cr_assert_eq(pipe2(pp, O_CLOEXEC), 0);
        cr_assert_eq(varlink_client_new_fd(&c, p[0]), 0);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &pp[1], sizeof(int));
        cr_assert_eq(sendmsg(p[1], &mh, MSG_NOSIGNAL), (ssize_t) sizeof msg);
        close(pp[1]);

        cr_assert_eq(varlink_client_read(c, &r, TIMEOUT_MS), 0);
        cr_assert_eq(r.n_fds, 1);
        cr_assert_eq(write(r.fds[0], "ok", 2), 2);
        varlink_reply_done(&r);
        cr_assert_eq(read(pp[0], buf, sizeof buf), 2);
        cr_assert_str_eq(buf, "ok");
        /* varlink_reply_done() closed the only write end. */
        cr_assert_eq(read(pp[0], buf, sizeof buf), 0);
        close(pp[0]);
        close(p[1]);
}

/* ---- server set-up without a running loop ---------------------------------- */

Test(varlink, add_interface_errors) {
        _cleanup_(varlink_server_freep) VarlinkServer *s = NULL;
        static const VarlinkMethod none[] = { {} };

        cr_assert_eq(varlink_server_new(&s, NULL, "v", "p", "1", "u"), 0);
        cr_assert_eq(varlink_server_add_interface(s, "method Foo()\n", none, NULL), -EINVAL);
        cr_assert_eq(varlink_server_add_interface(s, "# interface io.fence.commented\nmethod Foo()\n", none, NULL), -EINVAL);
        cr_assert_eq(varlink_server_add_interface(s, "interface org.varlink.service\n", none, NULL), -EEXIST);
        cr_assert_eq(varlink_server_add_interface(s, "interface io.fence.a\nmethod Foo() -> ()\n", none, NULL), 0);
        cr_assert_eq(varlink_server_add_interface(s, "interface io.fence.a\n", none, NULL), -EEXIST);
        cr_assert_eq(varlink_server_add_interface(s, "interface io.fence.b\n", NULL, NULL), 0);
        cr_assert_eq(varlink_server_n_connections(s), 0);
}

Test(varlink, listen_unix_replaces_only_stale_sockets) {
        char dir[] = "/tmp/test-varlink-XXXXXX", path[128], file[128];
        _cleanup_(varlink_server_freep) VarlinkServer *a = NULL, *b = NULL;
        struct stat st;
        int fd;

        cr_assert_not_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/sock", dir);
        snprintf(file, sizeof file, "%s/file", dir);

        /* A socket file nobody listens on. */
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, path);
        cr_assert_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        close(fd);

        cr_assert_eq(varlink_server_new(&a, NULL, "v", "p", "1", "u"), 0);
        cr_assert_eq(varlink_server_new(&b, NULL, "v", "p", "1", "u"), 0);
        cr_assert_eq(varlink_server_listen_unix(a, path, 0660), 0);
        cr_assert_eq(stat(path, &st), 0);
        cr_assert(S_ISSOCK(st.st_mode));
        cr_assert_eq(st.st_mode & 07777, 0660);

        /* Somebody listens there now. */
        cr_assert_eq(varlink_server_listen_unix(b, path, 0600), -EADDRINUSE);

        fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        cr_assert_geq(fd, 0);
        close(fd);
        cr_assert_eq(varlink_server_listen_unix(b, file, 0600), -EEXIST);
        cr_assert_eq(varlink_server_listen_unix(b, "", 0600), -EINVAL);

        unlink(path);
        unlink(file);
        rmdir(dir);
}
