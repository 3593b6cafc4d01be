/* The org.varlink.certification service on our varlink library, for
 * certifying it against other implementations' clients.
 *
 *   varlink-certification-server [--exit-on-end] unix:PATH
 *
 * With --exit-on-end the process exits when the connection that made the
 * first End call closes: 0 when that client passed every step in order, 1
 * otherwise. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/random.h>

#include "certification.h"
#include "json.h"
#include "log.h"
#include "varlink.h"

#define CLIENTS_MAX 100U

typedef struct CertClient {
        char id[33];
        unsigned next;          /* the step this client has to call next */
} CertClient;

typedef struct CertService {
        sd_event *event;
        CertClient clients[CLIENTS_MAX];
        bool exit_on_end;
        int end_status;                 /* exit status once End was called, else -1 */
        VarlinkConnection *end_connection;
} CertService;

static CertClient *service_find_client(CertService *s, const char *id) {
        if (!id)
                return NULL;
        for (size_t k = 0; k < CLIENTS_MAX; k++)
                if (s->clients[k].id[0] && streq(s->clients[k].id, id))
                        return &s->clients[k];
        return NULL;
}

static int reply_certification_error(VarlinkCall *call, const char *wants, yajl_val got) {
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *text = NULL;
        int r;

        log_warning("%s: wrong input, wants %s", varlink_call_method(call), wants);
        if (!g)
                return -ENOMEM;
        json_gen_open(g);
        json_gen_key(g, "wants");
        json_gen_raw(g, wants);
        json_gen_key(g, "got");
        json_gen_value(g, got);
        json_gen_close(g);
        r = json_gen_take(g, &text);
        if (r < 0)
                return r;
        return varlink_call_error(call, CERT_ERROR_CERTIFICATION, text);
}

static int method_start(VarlinkCall *call, yajl_val parameters, void *userdata) {
        CertService *s = userdata;
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *text = NULL;
        CertClient *c = NULL;
        uint8_t bytes[16];
        int r;

        if (parameters->u.object.len != 0)
                return reply_certification_error(call, "{}", parameters);

        for (size_t k = 0; k < CLIENTS_MAX && !c; k++)
                if (!s->clients[k].id[0])
                        c = &s->clients[k];
        if (!c)
                return -EBUSY;
        if (getrandom(bytes, sizeof bytes, 0) != (ssize_t) sizeof bytes)
                return -errno;
        for (size_t k = 0; k < sizeof bytes; k++)
                snprintf(c->id + 2 * k, 3, "%02x", bytes[k]);
        c->next = 1;

        if (!g)
                return -ENOMEM;
        json_gen_open(g);
        json_gen_kv_string(g, "client_id", c->id);
        json_gen_close(g);
        r = json_gen_take(g, &text);
        if (r < 0)
                return r;
        return varlink_call_reply(call, text, false);
}

/* Test01 … Test09: the input must be the output of the step before. */
static int method_test(VarlinkCall *call, yajl_val parameters, void *userdata) {
        CertService *s = userdata;
        const char *method = strrchr(varlink_call_method(call), '.') + 1;
        unsigned step = (unsigned) cert_step_from_name(method);
        const char *wants = step > 1 ? cert_step_output(step - 1) : "{}";
        _cleanup_json_ yajl_val expected = cert_parse(wants);
        CertClient *c = service_find_client(s, json_get_string(parameters, "client_id"));

        if (!c)
                return varlink_call_error(call, CERT_ERROR_CLIENT_ID, NULL);
        if (c->next != step || !cert_json_equal(parameters, expected, "client_id") ||
            varlink_call_more(call) || varlink_call_oneway(call))
                return reply_certification_error(call, wants, parameters);

        c->next = step + 1;
        return varlink_call_reply(call, cert_step_output(step), false);
}

static int method_test10(VarlinkCall *call, yajl_val parameters, void *userdata) {
        CertService *s = userdata;
        const char *wants = cert_step_output(CERT_STEP_MORE - 1);
        _cleanup_json_ yajl_val expected = cert_parse(wants);
        CertClient *c = service_find_client(s, json_get_string(parameters, "client_id"));
        int r;

        if (!c)
                return varlink_call_error(call, CERT_ERROR_CLIENT_ID, NULL);
        if (c->next != CERT_STEP_MORE || !varlink_call_more(call) ||
            !cert_json_equal(parameters, expected, "client_id"))
                return reply_certification_error(call, wants, parameters);

        c->next = CERT_STEP_MORE + 1;
        for (unsigned i = 0; i < CERT_N_MORE; i++) {
                char text[64];

                cert_more_output(i, text, sizeof text);
                r = varlink_call_reply(call, text, i + 1 < CERT_N_MORE);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Oneway: a wrong call cannot be answered, it just does not advance the
 * client, so End reports all_ok=false. */
static int method_test11(VarlinkCall *call, yajl_val parameters, void *userdata) {
        CertService *s = userdata;
        CertClient *c = service_find_client(s, json_get_string(parameters, "client_id"));
        yajl_val l = json_get(parameters, "last_more_replies");
        bool ok;

        if (!c)
                return varlink_call_error(call, CERT_ERROR_CLIENT_ID, NULL);

        ok = c->next == CERT_STEP_ONEWAY && varlink_call_oneway(call) &&
             parameters->u.object.len == 2 && YAJL_IS_ARRAY(l) && l->u.array.len == CERT_N_MORE;
        for (unsigned i = 0; ok && i < CERT_N_MORE; i++) {
                char text[64];
                _cleanup_json_ yajl_val want = NULL;

                cert_more_output(i, text, sizeof text);
                want = cert_parse(text);
                ok = cert_json_equal(l->u.array.values[i], json_get(want, "string"), NULL);
        }
        if (!ok) {
                log_warning("Test11: wrong input or not oneway.");
                return reply_certification_error(call, "{\"last_more_replies\":[]}", parameters);
        }
        c->next = CERT_STEP_END;
        return varlink_call_reply(call, NULL, false);
}

static int method_end(VarlinkCall *call, yajl_val parameters, void *userdata) {
        CertService *s = userdata;
        CertClient *c = service_find_client(s, json_get_string(parameters, "client_id"));
        bool all_ok;

        if (!c)
                return varlink_call_error(call, CERT_ERROR_CLIENT_ID, NULL);
        all_ok = c->next == CERT_STEP_END && parameters->u.object.len == 1;
        *c = (CertClient) {};

        log_info("End: client %s.", all_ok ? "passed every step" : "FAILED");
        if (s->end_status < 0) {
                s->end_status = all_ok ? 0 : 1;
                s->end_connection = varlink_call_connection(call);
        }
        return varlink_call_reply(call, all_ok ? "{\"all_ok\":true}" : "{\"all_ok\":false}", false);
}

static void on_disconnect(VarlinkServer *server, VarlinkConnection *c, void *userdata) {
        CertService *s = userdata;

        if (s->exit_on_end && s->end_status >= 0 && c == s->end_connection)
                (void) sd_event_exit(s->event, s->end_status);
}

static const VarlinkMethod cert_methods[] = {
        { "Start", method_start },
        { "Test01", method_test },
        { "Test02", method_test },
        { "Test03", method_test },
        { "Test04", method_test },
        { "Test05", method_test },
        { "Test06", method_test },
        { "Test07", method_test },
        { "Test08", method_test },
        { "Test09", method_test },
        { "Test10", method_test10 },
        { "Test11", method_test11 },
        { "End", method_end },
        {}
};

int main(int argc, char *argv[]) {
        _cleanup_(varlink_server_freep) VarlinkServer *server = NULL;
        CertService service = { .end_status = -1 };
        const char *address = NULL, *path;
        sigset_t mask;
        int r;

        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--exit-on-end"))
                        service.exit_on_end = true;
                else if (!address)
                        address = argv[i];
                else
                        address = NULL, i = argc;
        }
        if (!address) {
                fprintf(stderr, "Usage: %s [--exit-on-end] unix:PATH\n", argv[0]);
                return 2;
        }
        path = startswith(address, "unix:") ?: address;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&service.event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m"), 1;
        (void) sd_event_add_signal(service.event, NULL, SIGTERM, NULL, NULL);
        (void) sd_event_add_signal(service.event, NULL, SIGINT, NULL, NULL);

        r = varlink_server_new(&server, service.event, "fenced", "varlink certification", "1",
                               "https://varlink.org");
        if (r < 0)
                return log_error_errno(r, "Failed to create the server: %m"), 1;
        r = varlink_server_add_interface(server, certification_idl, cert_methods, &service);
        if (r < 0)
                return log_error_errno(r, "Failed to add " CERT_INTERFACE ": %m"), 1;
        varlink_server_set_disconnect_handler(server, on_disconnect, &service);
        r = varlink_server_listen_unix(server, path, 0600);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on %s: %m", path), 1;

        r = sd_event_loop(service.event);
        server = varlink_server_free(server);
        sd_event_unref(service.event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), 1;
        return r;
}
