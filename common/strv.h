/* strv.h — NULL-terminated string vectors (char **), owned element-wise. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

char **strv_free(char **l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char * const *l);
char **strv_copy(char * const *l);
bool strv_contains(char * const *l, const char *s);
/* Appends a copy of value; returns 0 or -ENOMEM (l unchanged then). */
int strv_extend(char ***l, const char *value);
/* Appends value itself, taking ownership (freed on failure). */
int strv_consume(char ***l, char *value);
/* Joins with separator; NULL on OOM. */
char *strv_join(char * const *l, const char *separator);
