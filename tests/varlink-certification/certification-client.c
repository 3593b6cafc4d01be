/* Runs the varlink certification sequence with our client library against a
 * certification server and checks every answer.
 *
 *   varlink-certification-client unix:PATH
 *
 * Exits 0 when every step got exactly the expected answer. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "certification.h"
#include "json.h"
#include "log.h"
#include "strv.h"
#include "varlink.h"

#define READ_TIMEOUT_MS 10000

static int fail(const char *step, const char *fmt, ...) _printf_(2, 3);
static int fail(const char *step, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "FAIL %s: ", step);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return -EPROTO;
}

/* Reads one reply and checks it against the expected parameters (JSON
 * text) and continues flag. */
static int expect_reply(VarlinkClient *c, const char *step, const char *expected, bool continues,
                        VarlinkReply *ret) {
        _cleanup_json_ yajl_val want = cert_parse(expected);
        _cleanup_free_ char *got = NULL;
        VarlinkReply r = {};
        int k;

        k = varlink_client_read(c, &r, READ_TIMEOUT_MS);
        if (k < 0)
                return fail(step, "reading the reply: %s", strerror(-k));
        got = cert_format(r.parameters);
        if (r.error) {
                fail(step, "error %s %s", r.error, got);
                varlink_reply_done(&r);
                return -EPROTO;
        }
        if (!cert_json_equal(r.parameters, want, NULL) || r.continues != continues) {
                fail(step, "got %s (continues=%d), expected %s (continues=%d)",
                     got, r.continues, expected, continues);
                varlink_reply_done(&r);
                return -EPROTO;
        }
        printf("%s: %s%s\n", step, got, r.continues ? " (continues)" : "");
        if (ret)
                *ret = r;
        else
                varlink_reply_done(&r);
        return 0;
}

static int expect_error(VarlinkClient *c, const char *step, const char *method, const char *parameters,
                        const char *error) {
        VarlinkReply r = {};
        int k;

        k = varlink_client_call(c, method, parameters, &r);
        if (k < 0)
                return fail(step, "%s: %s", method, strerror(-k));
        if (!r.error || !streq(r.error, error)) {
                fail(step, "%s answered %s, expected error %s", method, r.error ?: "a reply", error);
                varlink_reply_done(&r);
                return -EPROTO;
        }
        printf("%s: %s as expected\n", step, error);
        varlink_reply_done(&r);
        return 0;
}

/* {"client_id": id} plus every member of prev (the previous step's output). */
static char *step_input(const char *id, yajl_val prev) {
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        char *text = NULL;

        if (!g)
                abort();
        json_gen_open(g);
        json_gen_kv_string(g, "client_id", id);
        for (size_t k = 0; prev && k < prev->u.object.len; k++) {
                json_gen_key(g, prev->u.object.keys[k]);
                json_gen_value(g, prev->u.object.values[k]);
        }
        json_gen_close(g);
        if (json_gen_take(g, &text) < 0)
                abort();
        return text;
}

static int check_service(VarlinkClient *c) {
        VarlinkReply r = {};
        _cleanup_strv_free_ char **interfaces = NULL;
        const char *d;
        int k;

        k = varlink_client_call(c, "org.varlink.service.GetInfo", NULL, &r);
        if (k < 0 || r.error)
                return fail("GetInfo", "%s", k < 0 ? strerror(-k) : r.error);
        k = json_get_strv(r.parameters, "interfaces", &interfaces);
        if (k < 0 || !strv_contains(interfaces, CERT_INTERFACE) ||
            !json_get_string(r.parameters, "vendor") || !json_get_string(r.parameters, "product")) {
                _cleanup_free_ char *got = cert_format(r.parameters);
                varlink_reply_done(&r);
                return fail("GetInfo", "unexpected %s", got);
        }
        printf("GetInfo: vendor '%s', product '%s'\n",
               json_get_string(r.parameters, "vendor"), json_get_string(r.parameters, "product"));
        varlink_reply_done(&r);

        k = varlink_client_call(c, "org.varlink.service.GetInterfaceDescription",
                                "{\"interface\":\"" CERT_INTERFACE "\"}", &r);
        if (k < 0 || r.error)
                return fail("GetInterfaceDescription", "%s", k < 0 ? strerror(-k) : r.error);
        d = json_get_string(r.parameters, "description");
        if (!d || !strstr(d, "interface " CERT_INTERFACE) || !strstr(d, "method Test10(")) {
                varlink_reply_done(&r);
                return fail("GetInterfaceDescription", "not the certification interface");
        }
        printf("GetInterfaceDescription: %zu bytes\n", strlen(d));
        varlink_reply_done(&r);
        return 0;
}

static int run(VarlinkClient *c) {
        VarlinkReply prev = {}, r = {};
        _cleanup_free_ char *id = NULL;
        char method[128], more[CERT_N_MORE][64];
        int k;

        k = check_service(c);
        if (k < 0)
                return k;
        k = expect_error(c, "unknown client", CERT_INTERFACE ".Test01", "{\"client_id\":\"nobody\"}",
                         CERT_ERROR_CLIENT_ID);
        if (k < 0)
                return k;

        k = varlink_client_call(c, CERT_INTERFACE ".Start", NULL, &r);
        if (k < 0 || r.error)
                return fail("Start", "%s", k < 0 ? strerror(-k) : r.error);
        if (!json_get_string(r.parameters, "client_id") || !*json_get_string(r.parameters, "client_id") ||
            r.parameters->u.object.len != 1) {
                varlink_reply_done(&r);
                return fail("Start", "no client_id");
        }
        id = strdup(json_get_string(r.parameters, "client_id"));
        if (!id)
                abort();
        printf("Start: client_id '%s'\n", id);
        varlink_reply_done(&r);

        {
                /* A wrong value is refused (and does not count as a step). */
                _cleanup_free_ char *input = step_input(id, NULL);
                _cleanup_free_ char *wrong = NULL;

                input[strlen(input) - 1] = 0;
                if (asprintf(&wrong, "%s,\"bool\":false}", input) < 0)
                        abort();
                k = expect_error(c, "wrong input", CERT_INTERFACE ".Test02", wrong, CERT_ERROR_CERTIFICATION);
                if (k < 0)
                        return k;
        }

        /* Test01 … Test09: each input is the previous output. */
        for (unsigned step = 1; step < CERT_STEP_MORE; step++) {
                _cleanup_free_ char *input = step_input(id, step > 1 ? prev.parameters : NULL);

                snprintf(method, sizeof method, CERT_INTERFACE ".%s", cert_step_name(step));
                k = varlink_client_send(c, method, input, 0, NULL, 0);
                if (k < 0)
                        break;
                varlink_reply_done(&prev);
                k = expect_reply(c, cert_step_name(step), cert_step_output(step), false, &prev);
                if (k < 0)
                        return k;
        }
        if (k < 0) {
                varlink_reply_done(&prev);
                return fail("send", "%s", strerror(-k));
        }

        /* Test10 with "more": ten replies. */
        {
                _cleanup_free_ char *input = step_input(id, prev.parameters);

                varlink_reply_done(&prev);
                k = varlink_client_send(c, CERT_INTERFACE ".Test10", input, VARLINK_CALL_MORE, NULL, 0);
                if (k < 0)
                        return fail("Test10", "%s", strerror(-k));
        }
        for (unsigned i = 0; i < CERT_N_MORE; i++) {
                cert_more_output(i, more[i], sizeof more[i]);
                k = expect_reply(c, "Test10", more[i], i + 1 < CERT_N_MORE, NULL);
                if (k < 0)
                        return k;
        }

        /* Test11, oneway, with the ten strings. */
        {
                _cleanup_json_gen_ yajl_gen g = json_gen_new();
                _cleanup_free_ char *input = NULL;

                json_gen_open(g);
                json_gen_kv_string(g, "client_id", id);
                json_gen_key(g, "last_more_replies");
                json_gen_array_open(g);
                for (unsigned i = 0; i < CERT_N_MORE; i++) {
                        _cleanup_json_ yajl_val v = cert_parse(more[i]);
                        json_gen_string(g, json_get_string(v, "string"));
                }
                json_gen_array_close(g);
                json_gen_close(g);
                if (json_gen_take(g, &input) < 0)
                        abort();
                k = varlink_client_send(c, CERT_INTERFACE ".Test11", input, VARLINK_CALL_ONEWAY, NULL, 0);
                if (k < 0)
                        return fail("Test11", "%s", strerror(-k));
                printf("Test11: sent oneway\n");
        }

        /* End: a reply to Test11 would be read here instead and fail. */
        {
                _cleanup_free_ char *input = step_input(id, NULL);

                k = varlink_client_send(c, CERT_INTERFACE ".End", input, 0, NULL, 0);
                if (k < 0)
                        return fail("End", "%s", strerror(-k));
                k = expect_reply(c, "End", "{\"all_ok\":true}", false, NULL);
                if (k < 0)
                        return k;
        }

        /* End retired the client_id. */
        {
                _cleanup_free_ char *input = step_input(id, NULL);

                k = expect_error(c, "after End", CERT_INTERFACE ".Test01", input, CERT_ERROR_CLIENT_ID);
                if (k < 0)
                        return k;
        }

        /* Nothing else may be pending on the connection. */
        k = varlink_client_read(c, &r, 0);
        if (k != -EAGAIN) {
                if (k >= 0)
                        varlink_reply_done(&r);
                return fail("End", "unexpected extra message (%d)", k);
        }
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(varlink_client_freep) VarlinkClient *c = NULL;
        const char *path;
        int r;

        if (argc != 2) {
                fprintf(stderr, "Usage: %s unix:PATH\n", argv[0]);
                return 2;
        }
        path = startswith(argv[1], "unix:") ?: argv[1];
        setvbuf(stdout, NULL, _IOLBF, 0);

        r = varlink_client_connect_unix(&c, path);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to %s: %m", path), 1;
        r = run(c);
        if (r < 0)
                return 1;
        printf("Certification passed.\n");
        return 0;
}
