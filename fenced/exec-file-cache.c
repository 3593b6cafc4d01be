#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exec-file-cache.h"
#include "macro.h"

/* Linux 6.8; not in Debian 12's headers. */
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif

bool exec_file_key(int fd, const char *path, uid_t fsuid, ExecFileKey *ret) {
        const unsigned need = STATX_TYPE | STATX_MODE | STATX_UID | STATX_INO | STATX_SIZE |
                              STATX_MTIME | STATX_CTIME | STATX_MNT_ID_UNIQUE;
        struct statx sx;

        /* A sandbox running as root could change the file itself. */
        if (fsuid == 0 || !path || path[0] != '/')
                return false;
        if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, need, &sx) < 0 ||
            (sx.stx_mask & need) != need)
                return false;
        if (!S_ISREG(sx.stx_mode) || sx.stx_uid != 0 || (sx.stx_mode & (S_IWGRP | S_IWOTH)))
                return false;
        *ret = (ExecFileKey) {
                .path = path,
                .mnt_id = sx.stx_mnt_id,
                .ino = sx.stx_ino,
                .size = sx.stx_size,
                .dev_major = sx.stx_dev_major,
                .dev_minor = sx.stx_dev_minor,
                .mtime_sec = sx.stx_mtime.tv_sec,
                .mtime_nsec = sx.stx_mtime.tv_nsec,
                .ctime_sec = sx.stx_ctime.tv_sec,
                .ctime_nsec = sx.stx_ctime.tv_nsec,
        };
        return true;
}

static bool key_equal(const ExecFileKey *a, const ExecFileKey *b) {
        return a->ino == b->ino && a->mnt_id == b->mnt_id && a->dev_major == b->dev_major &&
               a->dev_minor == b->dev_minor && a->size == b->size && a->mtime_sec == b->mtime_sec &&
               a->mtime_nsec == b->mtime_nsec && a->ctime_sec == b->ctime_sec &&
               a->ctime_nsec == b->ctime_nsec && streq(a->path, b->path);
}

const ExecFileEntry *exec_file_cache_get(const ExecFileCache *c, const ExecFileKey *key) {
        for (unsigned k = 0; k < c->n; k++)
                if (key_equal(&c->entries[k].key, key))
                        return &c->entries[k];
        return NULL;
}

static void entry_done(ExecFileEntry *e) {
        free((char *) e->key.path);
        free(e->resolved);
        *e = (ExecFileEntry) {};
}

int exec_file_cache_put(ExecFileCache *c, const ExecFileKey *key, const char *resolved, bool plain) {
        _cleanup_free_ char *p = strdup(key->path), *r = strdup(resolved);
        ExecFileEntry *e;

        if (!p || !r)
                return -ENOMEM;
        /* The same path with a changed file: its old entry is dead. */
        for (unsigned k = 0; k < c->n; k++)
                if (streq(c->entries[k].key.path, key->path)) {
                        e = &c->entries[k];
                        goto fill;
                }
        if (c->n < EXEC_FILE_CACHE_SIZE)
                e = &c->entries[c->n++];
        else
                e = &c->entries[c->next++ % EXEC_FILE_CACHE_SIZE];
fill:
        entry_done(e);
        e->key = *key;
        e->key.path = TAKE_PTR(p);
        e->resolved = TAKE_PTR(r);
        e->plain = plain;
        return 0;
}

void exec_file_cache_done(ExecFileCache *c) {
        for (unsigned k = 0; k < c->n; k++)
                entry_done(&c->entries[k]);
        c->n = c->next = 0;
}
