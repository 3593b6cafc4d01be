/* Merging (extends), the admin floor and path normalisation: the operations
 * that combine or rewrite already-validated configs. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "config.h"
#include "strv.h"

/* A set of borrowed strings (open addressing), so that merging and
 * de-duplicating stay linear on lists of any allowed length. */
typedef struct StrSet {
        const char **slots;
        size_t mask;
} StrSet;

static void strset_done(StrSet *s) {
        free(s->slots);
        *s = (StrSet) {};
}

static int strset_init(StrSet *s, size_t n) {
        size_t size = 16;

        while (size < 2 * n)
                size <<= 1;
        s->slots = calloc(size, sizeof(char *));
        if (!s->slots)
                return -ENOMEM;
        s->mask = size - 1;
        return 0;
}

static size_t strset_hash(const char *v) {
        size_t h = 14695981039346656037ULL;     /* FNV-1a */

        for (; *v; v++)
                h = (h ^ (unsigned char) *v) * 1099511628211ULL;
        return h;
}

/* Adds v unless present; true when it was added. */
static bool strset_add(StrSet *s, const char *v) {
        for (size_t i = strset_hash(v) & s->mask;; i = (i + 1) & s->mask) {
                if (!s->slots[i]) {
                        s->slots[i] = v;
                        return true;
                }
                if (streq(s->slots[i], v))
                        return false;
        }
}

static bool strset_contains(const StrSet *s, const char *v) {
        for (size_t i = strset_hash(v) & s->mask;; i = (i + 1) & s->mask) {
                if (!s->slots[i])
                        return false;
                if (streq(s->slots[i], v))
                        return true;
        }
}

/* *base becomes: its entries minus those child removes ("!X"), then child's
 * other entries; without duplicates and without removal entries. */
static int strv_merge(char ***base, char * const *child) {
        _cleanup_(strset_done) StrSet removed = {}, seen = {};
        _cleanup_strv_free_ char **out = NULL;
        size_t nb = strv_length(*base), nc = strv_length(child), k = 0;

        if (strset_init(&removed, nc) < 0 || strset_init(&seen, nb + nc) < 0)
                return -ENOMEM;
        out = calloc(nb + nc + 1, sizeof(char *));
        if (!out)
                return -ENOMEM;

        for (size_t i = 0; i < nc; i++)
                if (config_entry_is_removal(child[i]))
                        strset_add(&removed, child[i] + 1);

        for (size_t i = 0; i < nb + nc; i++) {
                const char *e = i < nb ? (*base)[i] : child[i - nb];

                if (config_entry_is_removal(e))
                        continue;
                /* Child's removals apply to the inherited entries only. */
                if (i < nb && strset_contains(&removed, e))
                        continue;
                if (!strset_add(&seen, e))
                        continue;
                out[k] = strdup(e);
                if (!out[k])
                        return -ENOMEM;
                k++;
        }

        strv_free(*base);
        *base = TAKE_PTR(out);
        return 0;
}

static int ports_merge(PortList *base, const PortList *child) {
        _cleanup_free_ uint8_t *seen = NULL;
        uint16_t *items;
        size_t n = 0;

        seen = calloc(65536 / 8, 1);
        items = malloc((base->n + child->n + 1) * sizeof(uint16_t));
        if (!seen || !items) {
                free(items);
                return -ENOMEM;
        }

        for (size_t k = 0; k < 2; k++) {
                const PortList *src = k == 0 ? base : child;
                for (size_t i = 0; i < src->n; i++) {
                        uint16_t p = src->items[i];
                        if (seen[p / 8] & (1U << (p % 8)))
                                continue;
                        seen[p / 8] |= (uint8_t) (1U << (p % 8));
                        items[n++] = p;
                }
        }

        free(base->items);
        base->items = items;
        base->n = n;
        return 0;
}

static void imply_default_deny_read(FenceConfig *c) {
        /* fence: strictDenyRead implies defaultDenyRead. */
        if (c->filesystem.strict_deny_read == TRISTATE_TRUE)
                c->filesystem.default_deny_read = TRISTATE_TRUE;
}

int config_merge(FenceConfig *base, const FenceConfig *child) {
        int r;

        for (size_t i = 0; i < config_fields_count; i++) {
                const ConfigField *f = &config_fields[i];

                switch (f->kind) {
                case FIELD_STRV:
                        r = strv_merge(FIELD_PTR(base, f, char **), *FIELD_CPTR(child, f, char **));
                        if (r < 0)
                                return r;
                        break;

                case FIELD_PORT_LIST:
                        r = ports_merge(FIELD_PTR(base, f, PortList), FIELD_CPTR(child, f, PortList));
                        if (r < 0)
                                return r;
                        break;

                case FIELD_BOOL: {
                        Tristate *b = FIELD_PTR(base, f, Tristate), cv = *FIELD_CPTR(child, f, Tristate);
                        if (*b == TRISTATE_TRUE || cv == TRISTATE_TRUE)
                                *b = TRISTATE_TRUE;
                        else if (*b == TRISTATE_FALSE || cv == TRISTATE_FALSE)
                                *b = TRISTATE_FALSE;
                        break;
                }

                case FIELD_STRING:
                case FIELD_OPTIONAL_BOOL:
                case FIELD_ENUM:
                case FIELD_PORT:
                        if (config_field_is_set(child, f)) {
                                r = config_field_copy(base, child, f);
                                if (r < 0)
                                        return r;
                        }
                        break;
                }
        }

        /* Inheritance is resolved once merged. */
        free(base->extends);
        base->extends = NULL;

        imply_default_deny_read(base);
        return 0;
}

/* ---- admin floor ------------------------------------------------------ */

int config_validate_floor(const FenceConfig *floor, const char *origin, char **ret_error) {
        for (size_t i = 0; i < config_fields_count; i++) {
                const ConfigField *f = &config_fields[i];

                if (!config_field_is_set(floor, f))
                        continue;

                switch (f->floor) {
                case FLOOR_IGNORE:
                        break;

                case FLOOR_REJECT:
                        return config_errorf(ret_error, -EINVAL,
                                             "%s: %s: not allowed in an admin floor (a floor can only tighten "
                                             "the policy: remove this key, see docs/config.md)",
                                             origin, f->path);

                case FLOOR_APPEND: {
                        char * const *l = *FIELD_CPTR(floor, f, char **);
                        for (size_t j = 0; l[j]; j++)
                                if (config_entry_is_removal(l[j]))
                                        return config_errorf(ret_error, -EINVAL,
                                                             "%s: %s[%zu]: a floor cannot remove entries "
                                                             "(drop the leading \"!\")",
                                                             origin, f->path, j);
                        break;
                }

                case FLOOR_FORCE_TRUE:
                        if (*FIELD_CPTR(floor, f, Tristate) != TRISTATE_TRUE)
                                return config_errorf(ret_error, -EINVAL,
                                                     "%s: %s: only true is allowed in an admin floor "
                                                     "(false would not tighten anything; remove the key)",
                                                     origin, f->path);
                        break;

                case FLOOR_FORCE_FALSE:
                        if (*FIELD_CPTR(floor, f, Tristate) != TRISTATE_FALSE)
                                return config_errorf(ret_error, -EINVAL,
                                                     "%s: %s: only false is allowed in an admin floor "
                                                     "(a floor cannot grant permissions)",
                                                     origin, f->path);
                        break;

                case FLOOR_FORCE_ENUM:
                        if (*FIELD_CPTR(floor, f, int) != f->floor_value)
                                return config_errorf(ret_error, -EINVAL,
                                                     "%s: %s: only \"%s\" is allowed in an admin floor",
                                                     origin, f->path, f->enum_names[f->floor_value]);
                        break;
                }
        }
        return 0;
}

int config_apply_floor(FenceConfig *c, const FenceConfig *floor) {
        int r;

        if (config_validate_floor(floor, "floor", NULL) < 0)
                return -EINVAL;

        /* fenced never follows "extends": that happened on the client. */
        free(c->extends);
        c->extends = NULL;

        for (size_t i = 0; i < config_fields_count; i++) {
                const ConfigField *f = &config_fields[i];

                /* A removal entry that reached us unmerged must not be read as
                 * a path or pattern further down. */
                if (f->kind == FIELD_STRV) {
                        r = strv_merge(FIELD_PTR(c, f, char **), NULL);
                        if (r < 0)
                                return r;
                }

                if (!config_field_is_set(floor, f))
                        continue;

                switch (f->floor) {
                case FLOOR_APPEND:
                        r = strv_merge(FIELD_PTR(c, f, char **), *FIELD_CPTR(floor, f, char **));
                        if (r < 0)
                                return r;
                        break;
                case FLOOR_FORCE_TRUE:
                        *FIELD_PTR(c, f, Tristate) = TRISTATE_TRUE;
                        break;
                case FLOOR_FORCE_FALSE:
                        *FIELD_PTR(c, f, Tristate) = TRISTATE_FALSE;
                        break;
                case FLOOR_FORCE_ENUM:
                        *FIELD_PTR(c, f, int) = f->floor_value;
                        break;
                case FLOOR_IGNORE:
                case FLOOR_REJECT:
                        break;
                }
        }

        imply_default_deny_read(c);
        return 0;
}

/* ---- paths ------------------------------------------------------------- */

/* Lexically cleans an absolute path: no empty, "." or ".." components, no
 * trailing slash. Symlinks are the sandbox builder's business, resolved later
 * with the caller's identity. */
char *config_path_clean(const char *p) {
        size_t n = strlen(p);
        char *out = malloc(n + 2), *o = out;

        if (!out)
                return NULL;

        while (*p) {
                size_t len;

                p += strspn(p, "/");
                len = strcspn(p, "/");
                if (len == 0)
                        break;
                if (len == 1 && p[0] == '.')
                        ;
                else if (len == 2 && p[0] == '.' && p[1] == '.') {
                        /* Back to the previous '/', never above the root. */
                        while (o > out && *--o != '/')
                                ;
                } else {
                        *o++ = '/';
                        memcpy(o, p, len);
                        o += len;
                }
                p += len;
        }
        if (o == out)
                *o++ = '/';
        *o = 0;
        return out;
}

static char *path_join_clean(const char *dir, const char *rel) {
        _cleanup_free_ char *j = NULL;

        if (asprintf(&j, "%s/%s", dir, rel) < 0)
                return NULL;
        return config_path_clean(j);
}

static bool has_glob(const char *s) {
        return strpbrk(s, "*?[]") != NULL;
}

static int normalize_one(const char *e, const char *home, const char *cwd, char **ret) {
        const char *rest;
        char *n;

        if (streq(e, "~") || startswith(e, "~/")) {
                if (!home || home[0] != '/')
                        return -EINVAL;
                rest = e[1] ? e + 2 : "";
                n = path_join_clean(home, rest);
        } else if (e[0] == '/')
                n = strdup(e);
        else if (streq(e, ".") || streq(e, "..") || startswith(e, "./") || startswith(e, "../") || !has_glob(e))
                n = path_join_clean(cwd, e);
        else
                /* fence keeps relative glob patterns ("**" + "/.env") as written. */
                n = strdup(e);

        if (!n)
                return -ENOMEM;
        *ret = n;
        return 0;
}

int config_normalize_paths(FenceConfig *c, const char *home, const char *cwd) {
        int r;

        if (!cwd || cwd[0] != '/')
                return -EINVAL;

        for (size_t i = 0; i < config_fields_count; i++) {
                const ConfigField *f = &config_fields[i];
                char ***l = FIELD_PTR(c, f, char **);
                _cleanup_strv_free_ char **out = NULL;

                if (f->kind != FIELD_STRV || !f->is_path || !*l)
                        continue;

                _cleanup_(strset_done) StrSet seen = {};
                size_t n = strv_length(*l), k = 0;

                out = calloc(n + 1, sizeof(char *));
                if (!out || strset_init(&seen, n) < 0)
                        return -ENOMEM;

                for (char **e = *l; *e; e++) {
                        char *p;

                        if (config_entry_is_removal(*e))
                                continue;
                        r = normalize_one(*e, home, cwd, &p);
                        if (r < 0)
                                return r;
                        if (!strset_add(&seen, p)) {
                                free(p);
                                continue;
                        }
                        out[k++] = p;
                }

                strv_free(*l);
                *l = TAKE_PTR(out);
        }
        return 0;
}
