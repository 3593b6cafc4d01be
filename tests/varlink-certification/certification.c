#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certification.h"
#include "json.h"

static const char *const step_names[] = {
        "Start", "Test01", "Test02", "Test03", "Test04", "Test05", "Test06",
        "Test07", "Test08", "Test09", "Test10", "Test11", "End",
};

/* Exactly what the reference implementation (varlink/go) sends and checks:
 * map keys "Foo"/"Bar" in interface.foo included. */
static const char *const step_outputs[] = {
        [1] = "{\"bool\":true}",
        [2] = "{\"int\":1}",
        [3] = "{\"float\":1.0}",
        [4] = "{\"string\":\"ping\"}",
        [5] = "{\"bool\":false,\"int\":2,\"float\":3.141592653589793,\"string\":\"a lot of string\"}",
        [6] = "{\"struct\":{\"bool\":false,\"int\":2,\"float\":3.141592653589793,\"string\":\"a lot of string\"}}",
        [7] = "{\"map\":{\"foo\":\"Foo\",\"bar\":\"Bar\"}}",
        [8] = "{\"set\":{\"one\":{},\"two\":{},\"three\":{}}}",
        [9] = "{\"mytype\":{"
                "\"object\":{\"method\":\"org.varlink.certification.Test09\","
                            "\"parameters\":{\"map\":{\"foo\":\"Foo\",\"bar\":\"Bar\"}}},"
                "\"enum\":\"two\","
                "\"struct\":{\"first\":1,\"second\":\"2\"},"
                "\"array\":[\"one\",\"two\",\"three\"],"
                "\"dictionary\":{\"foo\":\"Foo\",\"bar\":\"Bar\"},"
                "\"stringset\":{\"one\":{},\"two\":{},\"three\":{}},"
                "\"nullable\":null,"
                "\"nullable_array_struct\":null,"
                "\"interface\":{"
                        "\"foo\":[null,{\"Foo\":\"foo\",\"Bar\":\"bar\"},null,{\"one\":\"foo\",\"two\":\"bar\"}],"
                        "\"anon\":{\"foo\":true,\"bar\":false}}"
                "}}",
};

const char *cert_step_name(unsigned step) {
        return step < ELEMENTSOF(step_names) ? step_names[step] : NULL;
}

int cert_step_from_name(const char *name) {
        for (size_t k = 0; k < ELEMENTSOF(step_names); k++)
                if (streq(step_names[k], name))
                        return (int) k;
        return -1;
}

const char *cert_step_output(unsigned step) {
        return step < ELEMENTSOF(step_outputs) ? step_outputs[step] : NULL;
}

void cert_more_output(unsigned i, char *buf, size_t size) {
        snprintf(buf, size, "{\"string\":\"Reply number %u\"}", i + 1);
}

static bool is_null(yajl_val v) {
        return !v || YAJL_IS_NULL(v);
}

/* Every non-null member of a has an equal counterpart in b. */
static bool object_covered(yajl_val a, yajl_val b, const char *skip) {
        for (size_t k = 0; k < a->u.object.len; k++) {
                const char *key = a->u.object.keys[k];
                yajl_val v = a->u.object.values[k];

                if ((skip && streq(key, skip)) || is_null(v))
                        continue;
                if (!cert_json_equal(v, json_get(b, key), NULL))
                        return false;
        }
        return true;
}

bool cert_json_equal(yajl_val a, yajl_val b, const char *skip) {
        if (is_null(a) || is_null(b))
                return is_null(a) && is_null(b);
        if (YAJL_IS_OBJECT(a) && YAJL_IS_OBJECT(b))
                return object_covered(a, b, skip) && object_covered(b, a, skip);
        if (YAJL_IS_ARRAY(a) && YAJL_IS_ARRAY(b)) {
                if (a->u.array.len != b->u.array.len)
                        return false;
                for (size_t k = 0; k < a->u.array.len; k++)
                        if (!cert_json_equal(a->u.array.values[k], b->u.array.values[k], NULL))
                                return false;
                return true;
        }
        return json_equal(a, b);
}

yajl_val cert_parse(const char *text) {
        yajl_val v = NULL;

        if (json_parse(text, &v, NULL) < 0) {
                fprintf(stderr, "BUG: invalid built-in JSON: %s\n", text);
                abort();
        }
        return v;
}

char *cert_format(yajl_val v) {
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        char *text = NULL;

        if (g)
                json_gen_value(g, v);
        if (!g || json_gen_take(g, &text) < 0)
                abort();
        return text;
}
