/* jsonc.h — JSON with comments (JSONC, as fence.json allows) to plain JSON.
 *
 * Line (`//`) and block comments and trailing commas before `]`/`}` become spaces,
 * so every byte keeps its offset and a parser's error position in the result
 * is the position in the user's file. The same pass rejects what a JSON
 * parser would accept but we must not: NUL bytes, `\u0000` escapes (C strings
 * would silently cut the value short) and absurd nesting.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Config files never nest more than four levels; this only bounds recursion. */
#define JSONC_DEPTH_MAX 32U

typedef struct JsoncError {
        unsigned line;          /* 1-based */
        unsigned column;        /* 1-based, in characters */
        const char *message;    /* static text */
} JsoncError;

/* Returns 0 and a NUL-terminated copy in *ret, -EBADMSG with *ret_error
 * filled in (if given), or -ENOMEM. */
int jsonc_to_json(const char *text, size_t size, char **ret, JsoncError *ret_error);

/* True when text holds nothing but whitespace and comments. */
bool jsonc_is_blank(const char *text, size_t size);

/* Line and column (both 1-based) of a byte offset. */
void jsonc_position(const char *text, size_t size, size_t offset, unsigned *ret_line, unsigned *ret_column);
