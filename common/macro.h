/* macro.h — cleanup attributes, ownership helpers and tiny string helpers.
 *
 * Ownership is visible in declarations: `_cleanup_free_ char *p = ...;`
 * frees on every return path, `return TAKE_PTR(p);` hands it on.
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Makes room for `need` elements in a heap array of *cap (doubling, at
 * least 32); false when out of memory (the array is left as it was). */
static inline bool greedy_realloc(void **p, size_t *cap, size_t need, size_t size) {
        size_t n;
        void *q;

        if (need <= *cap)
                return true;
        n = *cap ? *cap * 2 : 32;
        if (n < need)
                n = need;
        if (n > SIZE_MAX / size)
                return false;
        q = realloc(*p, n * size);
        if (!q)
                return false;
        *p = q;
        *cap = n;
        return true;
}
#define GREEDY_REALLOC(array, cap, need) greedy_realloc((void **) &(array), &(cap), (need), sizeof(*(array)))

#define TAKE_PTR(p)                     \
        ({                              \
                typeof(p) _p_ = (p);    \
                (p) = NULL;             \
                _p_;                    \
        })

#define TAKE_FD(fd)                     \
        ({                              \
                int _fd_ = (fd);        \
                (fd) = -1;              \
                _fd_;                   \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -1;
}

static inline void closep(int *fd) {
        safe_close(*fd);
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Defines `funcp(type *p)` calling `func(*p)` when it is non-NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)         \
        static inline void func##p(type *p) {           \
                if (*p)                                 \
                        func(*p);                       \
        }

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

/* Returns the rest of s after prefix, or NULL when s does not start with it. */
static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

static inline bool endswith(const char *s, const char *suffix) {
        size_t ls = strlen(s), lx = strlen(suffix);
        return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

/* errno as a negative value, never 0 (for calls that failed without setting it). */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define RET_NERRNO(expr)                        \
        ({                                      \
                int _r_ = (expr);               \
                _r_ < 0 ? negative_errno() : _r_; \
        })
