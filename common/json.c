#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "json.h"
#include "strv.h"

yajl_gen json_gen_new(void) {
        yajl_gen g = yajl_gen_alloc(NULL);
        if (g)
                yajl_gen_config(g, yajl_gen_validate_utf8, 1);
        return g;
}

int json_gen_take(yajl_gen g, char **ret) {
        const unsigned char *buf;
        size_t len;
        char *s;

        if (!g)
                return -ENOMEM;
        if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return -EINVAL;
        s = strndup((const char *) buf, len);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

void json_gen_open(yajl_gen g) {
        yajl_gen_map_open(g);
}

void json_gen_close(yajl_gen g) {
        yajl_gen_map_close(g);
}

void json_gen_array_open(yajl_gen g) {
        yajl_gen_array_open(g);
}

void json_gen_array_close(yajl_gen g) {
        yajl_gen_array_close(g);
}

void json_gen_string(yajl_gen g, const char *s) {
        if (s)
                yajl_gen_string(g, (const unsigned char *) s, strlen(s));
        else
                yajl_gen_null(g);
}

void json_gen_key(yajl_gen g, const char *key) {
        yajl_gen_string(g, (const unsigned char *) key, strlen(key));
}

void json_gen_int(yajl_gen g, int64_t v) {
        yajl_gen_integer(g, (long long) v);
}

void json_gen_bool(yajl_gen g, bool b) {
        yajl_gen_bool(g, b);
}

void json_gen_null(yajl_gen g) {
        yajl_gen_null(g);
}

void json_gen_raw(yajl_gen g, const char *json) {
        /* yajl_gen_number() emits its argument verbatim, separators included. */
        yajl_gen_number(g, json, strlen(json));
}

/* True when v nests more than max containers (itself included); never
 * descends further than that. */
static bool json_deeper_than(yajl_val v, unsigned max) {
        if (!v || !(YAJL_IS_OBJECT(v) || YAJL_IS_ARRAY(v)))
                return false;
        if (max == 0)
                return true;
        for (size_t i = 0; i < (YAJL_IS_OBJECT(v) ? v->u.object.len : v->u.array.len); i++)
                if (json_deeper_than(YAJL_IS_OBJECT(v) ? v->u.object.values[i] : v->u.array.values[i], max - 1))
                        return true;
        return false;
}

static void json_gen_value_unchecked(yajl_gen g, yajl_val v) {
        if (!v) {
                yajl_gen_null(g);
                return;
        }
        switch (v->type) {
        case yajl_t_string:
                json_gen_string(g, v->u.string);
                break;
        case yajl_t_number:
                yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
                break;
        case yajl_t_object:
                yajl_gen_map_open(g);
                for (size_t i = 0; i < v->u.object.len; i++) {
                        json_gen_key(g, v->u.object.keys[i]);
                        json_gen_value_unchecked(g, v->u.object.values[i]);
                }
                yajl_gen_map_close(g);
                break;
        case yajl_t_array:
                yajl_gen_array_open(g);
                for (size_t i = 0; i < v->u.array.len; i++)
                        json_gen_value_unchecked(g, v->u.array.values[i]);
                yajl_gen_array_close(g);
                break;
        case yajl_t_true:
                yajl_gen_bool(g, 1);
                break;
        case yajl_t_false:
                yajl_gen_bool(g, 0);
                break;
        default:
                yajl_gen_null(g);
        }
}

int json_gen_value(yajl_gen g, yajl_val v) {
        if (json_deeper_than(v, JSON_GEN_VALUE_DEPTH_MAX)) {
                yajl_gen_null(g);
                return -E2BIG;
        }
        json_gen_value_unchecked(g, v);
        return 0;
}

void json_gen_strv(yajl_gen g, char * const *l) {
        yajl_gen_array_open(g);
        if (l)
                for (; *l; l++)
                        json_gen_string(g, *l);
        yajl_gen_array_close(g);
}

void json_gen_kv_string(yajl_gen g, const char *key, const char *s) {
        json_gen_key(g, key);
        json_gen_string(g, s);
}

void json_gen_kv_int(yajl_gen g, const char *key, int64_t v) {
        json_gen_key(g, key);
        json_gen_int(g, v);
}

void json_gen_kv_bool(yajl_gen g, const char *key, bool b) {
        json_gen_key(g, key);
        json_gen_bool(g, b);
}

int json_parse(const char *text, yajl_val *ret, char **ret_error) {
        char err[256] = "";
        yajl_val v;

        v = yajl_tree_parse(text, err, sizeof err);
        if (!v) {
                if (ret_error) {
                        /* yajl's messages span lines; keep the first one. */
                        err[strcspn(err, "\n")] = 0;
                        *ret_error = strdup(err[0] ? err : "invalid JSON");
                }
                return -EBADMSG;
        }
        *ret = v;
        return 0;
}

yajl_val json_get(yajl_val obj, const char *key) {
        if (!obj || obj->type != yajl_t_object)
                return NULL;
        for (size_t i = 0; i < obj->u.object.len; i++)
                if (streq(obj->u.object.keys[i], key))
                        return obj->u.object.values[i];
        return NULL;
}

const char *json_get_string(yajl_val obj, const char *key) {
        yajl_val v = json_get(obj, key);
        return YAJL_IS_STRING(v) ? v->u.string : NULL;
}

int json_get_int(yajl_val obj, const char *key, int64_t *ret) {
        yajl_val v = json_get(obj, key);
        if (!v || YAJL_IS_NULL(v))
                return -ENOENT;
        if (!YAJL_IS_INTEGER(v))
                return -EINVAL;
        *ret = YAJL_GET_INTEGER(v);
        return 0;
}

int json_get_bool(yajl_val obj, const char *key, bool *ret) {
        yajl_val v = json_get(obj, key);
        if (!v || YAJL_IS_NULL(v))
                return -ENOENT;
        if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
                return -EINVAL;
        *ret = YAJL_IS_TRUE(v);
        return 0;
}

int json_get_strv(yajl_val obj, const char *key, char ***ret) {
        yajl_val v = json_get(obj, key);
        _cleanup_strv_free_ char **l = NULL;

        if (!v || YAJL_IS_NULL(v))
                return -ENOENT;
        if (!YAJL_IS_ARRAY(v))
                return -EINVAL;
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < v->u.array.len; i++) {
                yajl_val e = v->u.array.values[i];
                if (!YAJL_IS_STRING(e))
                        return -EINVAL;
                if (strv_extend(&l, e->u.string) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

bool json_equal(yajl_val a, yajl_val b) {
        if (!a || !b)
                return a == b;
        if (YAJL_IS_NUMBER(a) && YAJL_IS_NUMBER(b)) {
                if (YAJL_IS_INTEGER(a) && YAJL_IS_INTEGER(b))
                        return YAJL_GET_INTEGER(a) == YAJL_GET_INTEGER(b);
                return YAJL_GET_DOUBLE(a) == YAJL_GET_DOUBLE(b);
        }
        if (a->type != b->type)
                return false;
        switch (a->type) {
        case yajl_t_string:
                return streq(a->u.string, b->u.string);
        case yajl_t_object:
                if (a->u.object.len != b->u.object.len)
                        return false;
                for (size_t i = 0; i < a->u.object.len; i++) {
                        yajl_val o = json_get(b, a->u.object.keys[i]);
                        if (!o || !json_equal(a->u.object.values[i], o))
                                return false;
                }
                return true;
        case yajl_t_array:
                if (a->u.array.len != b->u.array.len)
                        return false;
                for (size_t i = 0; i < a->u.array.len; i++)
                        if (!json_equal(a->u.array.values[i], b->u.array.values[i]))
                                return false;
                return true;
        default:
                return true;
        }
}
