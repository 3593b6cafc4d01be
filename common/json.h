/* json.h — small helpers over yajl: building JSON text with yajl_gen and
 * reading values out of yajl_tree documents.
 *
 * Building: `yajl_gen g = json_gen_new(); json_gen_open(g) ... json_gen_close(g);
 * json_gen_take(g, &text);`. yajl_gen does not report unbalanced maps or
 * arrays when the text is taken: keeping them balanced is the caller's job.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(yajl_gen, yajl_gen_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(yajl_val, yajl_tree_free);
#define _cleanup_json_gen_ _cleanup_(yajl_gen_freep)
#define _cleanup_json_ _cleanup_(yajl_tree_freep)

yajl_gen json_gen_new(void);
/* Copies the generated text into a new NUL-terminated string. 0 or -ENOMEM. */
int json_gen_take(yajl_gen g, char **ret);

void json_gen_open(yajl_gen g);         /* { */
void json_gen_close(yajl_gen g);        /* } */
void json_gen_array_open(yajl_gen g);   /* [ */
void json_gen_array_close(yajl_gen g);  /* ] */
void json_gen_key(yajl_gen g, const char *key);
void json_gen_string(yajl_gen g, const char *s);   /* NULL → null */
void json_gen_int(yajl_gen g, int64_t v);
void json_gen_bool(yajl_gen g, bool b);
void json_gen_null(yajl_gen g);
/* Inserts already-serialized JSON text verbatim (the caller vouches for it). */
void json_gen_raw(yajl_gen g, const char *json);
/* Emits a whole parsed value (deep copy). yajl_gen cannot nest deeper than
 * YAJL_MAX_DEPTH and, past it, writes beyond its own state array: a value
 * nested deeper than JSON_GEN_VALUE_DEPTH_MAX (leaving the rest for the
 * caller's own containers) is emitted as null and -E2BIG returned. */
#define JSON_GEN_VALUE_DEPTH_MAX (YAJL_MAX_DEPTH / 2)
int json_gen_value(yajl_gen g, yajl_val v);
void json_gen_strv(yajl_gen g, char * const *l);

void json_gen_kv_string(yajl_gen g, const char *key, const char *s);
void json_gen_kv_int(yajl_gen g, const char *key, int64_t v);
void json_gen_kv_bool(yajl_gen g, const char *key, bool b);

/* Parses text (must be NUL-terminated). On failure *ret_error (if given) gets
 * yajl's message. Returns 0, -EBADMSG or -ENOMEM. */
int json_parse(const char *text, yajl_val *ret, char **ret_error);

/* Member of an object, NULL when absent or when obj is not an object. */
yajl_val json_get(yajl_val obj, const char *key);
/* Typed getters: NULL/false when absent or of another type. */
const char *json_get_string(yajl_val obj, const char *key);
/* 0 and *ret set when present and an integer, -ENOENT absent, -EINVAL wrong type. */
int json_get_int(yajl_val obj, const char *key, int64_t *ret);
int json_get_bool(yajl_val obj, const char *key, bool *ret);
/* Array of strings into a new strv. -ENOENT absent, -EINVAL wrong type. */
int json_get_strv(yajl_val obj, const char *key, char ***ret);

/* Deep equality (objects compared as unordered key sets; numbers by text). */
bool json_equal(yajl_val a, yajl_val b);
