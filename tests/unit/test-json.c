/* Unit tests of common/json.c and common/strv.c. */

#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>

#include "json.h"
#include "strv.h"

/* Generates with g and returns the text (asserting success). */
static char *gen_take(yajl_gen g) {
        char *text = NULL;

        cr_assert_eq(json_gen_take(g, &text), 0);
        cr_assert_not_null(text);
        return text;
}

static yajl_val parse_ok(const char *text) {
        yajl_val v = NULL;

        cr_assert_eq(json_parse(text, &v, NULL), 0, "failed to parse: %s", text);
        cr_assert_not_null(v);
        return v;
}

Test(json, gen_object_all_types) {
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *text = NULL;
        char *l[] = { "a", "b\"c", NULL };

        cr_assert_not_null(g);
        json_gen_open(g);
        json_gen_kv_string(g, "s", "x\ny");
        json_gen_kv_int(g, "i", -42);
        json_gen_kv_int(g, "big", INT64_MAX);
        json_gen_kv_bool(g, "t", true);
        json_gen_kv_bool(g, "f", false);
        json_gen_key(g, "n");
        json_gen_null(g);
        json_gen_key(g, "nulls");
        json_gen_string(g, NULL);
        json_gen_key(g, "l");
        json_gen_strv(g, l);
        json_gen_key(g, "empty");
        json_gen_strv(g, NULL);
        json_gen_key(g, "arr");
        json_gen_array_open(g);
        json_gen_int(g, 1);
        json_gen_bool(g, true);
        json_gen_array_close(g);
        json_gen_close(g);
        text = gen_take(g);

        cr_assert_str_eq(text,
                         "{\"s\":\"x\\ny\",\"i\":-42,\"big\":9223372036854775807,\"t\":true,\"f\":false,"
                         "\"n\":null,\"nulls\":null,\"l\":[\"a\",\"b\\\"c\"],\"empty\":[],\"arr\":[1,true]}");
}

Test(json, gen_raw_inserts_verbatim) {
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *text = NULL;

        json_gen_open(g);
        json_gen_key(g, "p");
        json_gen_raw(g, "{\"a\":[1,2]}");
        json_gen_kv_int(g, "after", 1);
        json_gen_close(g);
        text = gen_take(g);
        cr_assert_str_eq(text, "{\"p\":{\"a\":[1,2]},\"after\":1}");
}

Test(json, gen_value_roundtrip) {
        const char *in = "{\"a\":[1,2.5,\"x\",null,true,false,{}],\"b\":{\"c\":\"d\"},\"e\":-7}";
        _cleanup_json_ yajl_val v = parse_ok(in), w = NULL;
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *text = NULL;

        json_gen_value(g, v);
        text = gen_take(g);
        cr_assert_str_eq(text, in);
        w = parse_ok(text);
        cr_assert(json_equal(v, w));
}

Test(json, gen_value_null_pointer_is_null) {
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *text = NULL;

        json_gen_array_open(g);
        json_gen_value(g, NULL);
        json_gen_array_close(g);
        text = gen_take(g);
        cr_assert_str_eq(text, "[null]");
}

/* An allocator that puts a zeroed guard area after every block and checks
 * the context pointer yajl hands back, to see whether yajl_gen writes past
 * its state array: into the rest of its struct (the allocator's context,
 * NULL here, comes right before the end) or beyond. Zero is yajl_gen_start,
 * a state that yajl_gen overwrites when it reaches it. */
#define GUARD 1024U
typedef struct Guarded {
        size_t size;
        max_align_t align[];
} Guarded;

static bool guard_intact(const Guarded *b) {
        const unsigned char *tail = (const unsigned char *) b->align + b->size;

        for (size_t i = 0; i < GUARD; i++)
                if (tail[i] != 0)
                        return false;
        return true;
}

static unsigned guard_broken;

static void *guarded_malloc(void *ctx, size_t size) {
        Guarded *b = calloc(1, sizeof(Guarded) + size + GUARD);

        if (!b)
                return NULL;
        b->size = size;
        return b->align;
}

static void guarded_free(void *ctx, void *p) {
        Guarded *b;

        if (ctx)
                guard_broken++;
        if (!p)
                return;
        b = (Guarded *) ((char *) p - offsetof(Guarded, align));
        if (!guard_intact(b))
                guard_broken++;
        free(b);
}

static void *guarded_realloc(void *ctx, void *p, size_t size) {
        Guarded *b = p ? (Guarded *) ((char *) p - offsetof(Guarded, align)) : NULL;
        void *n = guarded_malloc(ctx, size);

        if (!n)
                return NULL;
        if (b) {
                memcpy(n, p, b->size < size ? b->size : size);
                guarded_free(ctx, p);
        }
        return n;
}

/* {"a":{"a":...{"a":1}...}}, depth objects. */
static yajl_val nested_objects(size_t depth) {
        _cleanup_free_ char *text = malloc(6 * depth + 2);
        char *p = text;

        cr_assert_not_null(text);
        for (size_t i = 0; i < depth; i++)
                p = stpcpy(p, "{\"a\":");
        *p++ = '1';
        memset(p, '}', depth);
        p[depth] = 0;
        return parse_ok(text);
}

Test(json, gen_value_too_deep_stays_inside_the_generator) {
        yajl_alloc_funcs afs = { guarded_malloc, guarded_realloc, guarded_free, NULL };
        _cleanup_json_ yajl_val deep = nested_objects(YAJL_MAX_DEPTH + 72);
        _cleanup_free_ char *text = NULL;
        yajl_gen g;

        /* yajl_gen's state array has YAJL_MAX_DEPTH entries and it keeps
         * counting past them: a client's config this deep made fenced
         * write beyond the generator (its print callback and the heap). */
        guard_broken = 0;
        g = yajl_gen_alloc(&afs);
        cr_assert_not_null(g);
        cr_assert_eq(json_gen_value(g, deep), -E2BIG);
        yajl_gen_free(g);
        cr_assert_eq(guard_broken, 0, "yajl_gen wrote past the end of its state array");

        /* Refused as a whole: null in its place, the generator still usable. */
        g = json_gen_new();
        json_gen_array_open(g);
        cr_assert_eq(json_gen_value(g, deep), -E2BIG);
        json_gen_int(g, 1);
        json_gen_array_close(g);
        text = gen_take(g);
        yajl_gen_free(g);
        cr_assert_str_eq(text, "[null,1]");
}

Test(json, gen_value_at_the_depth_limit_roundtrips) {
        _cleanup_json_ yajl_val v = nested_objects(JSON_GEN_VALUE_DEPTH_MAX), w = NULL;
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *text = NULL;

        cr_assert_eq(json_gen_value(g, v), 0);
        text = gen_take(g);
        w = parse_ok(text);
        cr_assert(json_equal(v, w));
}

Test(json, gen_take_null_generator_is_enomem) {
        char *text = NULL;

        /* json_gen_new() returns NULL on OOM; take must not crash on it. */
        cr_assert_eq(json_gen_take(NULL, &text), -ENOMEM);
        cr_assert_null(text);
}

Test(json, gen_rejects_invalid_utf8) {
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *text = NULL;

        /* yajl_gen validates UTF-8 (configured in json_gen_new): the bad
         * string is dropped instead of producing invalid JSON. */
        json_gen_array_open(g);
        json_gen_string(g, "ok");
        json_gen_string(g, "\xff\xfe");
        json_gen_array_close(g);
        text = gen_take(g);
        cr_assert_str_eq(text, "[\"ok\"]");
}

Test(json, parse_errors) {
        yajl_val v = NULL;
        char *err = NULL;

        cr_assert_eq(json_parse("{\"a\":", &v, &err), -EBADMSG);
        cr_assert_null(v);
        cr_assert_not_null(err);
        cr_assert_neq(err[0], 0);
        cr_assert_null(strchr(err, '\n'));
        free(err);

        cr_assert_eq(json_parse("", &v, NULL), -EBADMSG);
        cr_assert_eq(json_parse("{} {}", &v, NULL), -EBADMSG);
        cr_assert_eq(json_parse("[1,]", &v, NULL), -EBADMSG);
        cr_assert_eq(json_parse("\"\xff\"", &v, NULL), -EBADMSG);
        cr_assert_null(v);
}

Test(json, parse_scalars) {
        _cleanup_json_ yajl_val s = parse_ok("\"x\""), n = parse_ok("12"), b = parse_ok("true");

        cr_assert(YAJL_IS_STRING(s));
        cr_assert_str_eq(s->u.string, "x");
        cr_assert(YAJL_IS_INTEGER(n));
        cr_assert_eq(YAJL_GET_INTEGER(n), 12);
        cr_assert(YAJL_IS_TRUE(b));
}

Test(json, getters) {
        _cleanup_json_ yajl_val v = parse_ok(
                "{\"s\":\"str\",\"i\":5,\"neg\":-3,\"d\":1.5,\"t\":true,\"f\":false,\"n\":null,"
                "\"l\":[\"a\",\"b\"],\"bad\":[\"a\",1],\"o\":{\"k\":1}}");
        _cleanup_strv_free_ char **l = NULL;
        char **bad = NULL;
        int64_t i = 0;
        bool b = false;

        cr_assert_not_null(json_get(v, "o"));
        cr_assert(YAJL_IS_OBJECT(json_get(v, "o")));
        cr_assert_null(json_get(v, "missing"));
        cr_assert_null(json_get(json_get(v, "s"), "x"), "json_get on a non-object must be NULL");
        cr_assert_null(json_get(NULL, "x"));

        cr_assert_str_eq(json_get_string(v, "s"), "str");
        cr_assert_null(json_get_string(v, "i"));
        cr_assert_null(json_get_string(v, "missing"));

        cr_assert_eq(json_get_int(v, "i", &i), 0);
        cr_assert_eq(i, 5);
        cr_assert_eq(json_get_int(v, "neg", &i), 0);
        cr_assert_eq(i, -3);
        cr_assert_eq(json_get_int(v, "d", &i), -EINVAL);
        cr_assert_eq(json_get_int(v, "s", &i), -EINVAL);
        cr_assert_eq(json_get_int(v, "n", &i), -ENOENT);
        cr_assert_eq(json_get_int(v, "missing", &i), -ENOENT);
        cr_assert_eq(i, -3, "failed getters must not touch *ret");

        cr_assert_eq(json_get_bool(v, "t", &b), 0);
        cr_assert(b);
        cr_assert_eq(json_get_bool(v, "f", &b), 0);
        cr_assert(!b);
        cr_assert_eq(json_get_bool(v, "i", &b), -EINVAL);
        cr_assert_eq(json_get_bool(v, "missing", &b), -ENOENT);
        cr_assert_eq(json_get_bool(v, "n", &b), -ENOENT);

        cr_assert_eq(json_get_strv(v, "l", &l), 0);
        cr_assert_eq(strv_length(l), 2);
        cr_assert_str_eq(l[0], "a");
        cr_assert_str_eq(l[1], "b");
        cr_assert_null(l[2]);
        cr_assert_eq(json_get_strv(v, "bad", &bad), -EINVAL);
        cr_assert_null(bad);
        cr_assert_eq(json_get_strv(v, "s", &bad), -EINVAL);
        cr_assert_eq(json_get_strv(v, "missing", &bad), -ENOENT);
}

Test(json, get_strv_empty_array_is_empty_strv) {
        _cleanup_json_ yajl_val v = parse_ok("{\"l\":[]}");
        _cleanup_strv_free_ char **l = NULL;

        cr_assert_eq(json_get_strv(v, "l", &l), 0);
        cr_assert_not_null(l);
        cr_assert_null(l[0]);
}

Test(json, equal) {
        static const struct {
                const char *a, *b;
                bool equal;
        } cases[] = {
                { "{\"a\":1,\"b\":[1,2]}", "{\"b\":[1,2],\"a\":1}", true },
                { "{\"a\":1}", "{\"a\":1,\"b\":2}", false },
                { "{\"a\":1,\"b\":2}", "{\"a\":1}", false },
                { "{\"a\":1}", "{\"b\":1}", false },
                { "[1,2]", "[2,1]", false },
                { "[1,2]", "[1,2,3]", false },
                { "1", "1.0", true },
                { "3.141592653589793", "3.141592653589793", true },
                { "1", "2", false },
                { "\"1\"", "1", false },
                { "null", "null", true },
                { "true", "false", false },
                { "true", "true", true },
                { "{}", "[]", false },
                { "{\"x\":{\"y\":[null,{\"z\":\"w\"}]}}", "{\"x\":{\"y\":[null,{\"z\":\"w\"}]}}", true },
                { "{\"x\":{\"y\":[null,{\"z\":\"w\"}]}}", "{\"x\":{\"y\":[null,{\"z\":\"v\"}]}}", false },
        };

        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                _cleanup_json_ yajl_val a = parse_ok(cases[k].a), b = parse_ok(cases[k].b);

                cr_expect_eq(json_equal(a, b), cases[k].equal, "%s vs %s", cases[k].a, cases[k].b);
                cr_expect_eq(json_equal(b, a), cases[k].equal, "%s vs %s (swapped)", cases[k].b, cases[k].a);
        }

        _cleanup_json_ yajl_val one = parse_ok("1");
        cr_assert(json_equal(NULL, NULL));
        cr_assert(!json_equal(one, NULL));
        cr_assert(!json_equal(NULL, one));
}

Test(strv, basics) {
        _cleanup_strv_free_ char **l = NULL, **c = NULL;
        _cleanup_free_ char *joined = NULL, *empty = NULL;

        cr_assert_eq(strv_length(NULL), 0);
        cr_assert(!strv_contains(NULL, "a"));

        cr_assert_eq(strv_extend(&l, "a"), 0);
        cr_assert_eq(strv_extend(&l, "b"), 0);
        cr_assert_eq(strv_consume(&l, strdup("c")), 0);
        cr_assert_eq(strv_length(l), 3);
        cr_assert(strv_contains(l, "b"));
        cr_assert(!strv_contains(l, "d"));
        cr_assert_null(l[3]);

        joined = strv_join(l, ", ");
        cr_assert_str_eq(joined, "a, b, c");

        c = strv_copy(l);
        cr_assert_neq(c, l);
        cr_assert_eq(strv_length(c), 3);
        cr_assert_neq(c[0], l[0], "strv_copy must copy the strings");
        cr_assert_str_eq(c[2], "c");

        empty = strv_join(NULL, ",");
        cr_assert_str_eq(empty, "");

        cr_assert_null(strv_free(NULL));
}

Test(strv, consume_null_is_enomem_and_keeps_list) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert_eq(strv_extend(&l, "x"), 0);
        cr_assert_eq(strv_consume(&l, NULL), -ENOMEM);
        cr_assert_eq(strv_length(l), 1);
        cr_assert_str_eq(l[0], "x");
}

Test(strv, copy_of_null_is_empty) {
        _cleanup_strv_free_ char **c = strv_copy(NULL);

        cr_assert_not_null(c);
        cr_assert_null(c[0]);
}
