/* fs-template.h — fenced's cache of filesystem policy templates: for each
 * (caller, policy, cwd), a mount namespace holding the mounts that policy
 * made in that project the last time (fs-template-ns.h: what one holds, how
 * the sandbox child makes and uses it, and why a stale one can never weaken
 * a view: everything in it is checked again in the new view).
 *
 * The key is everything the mounts depend on: uid, gid, supplementary
 * groups, the cwd (path, device, inode), the home and every field of the
 * filesystem policy. It is compared whole, so one user's template never
 * serves another user or another policy.
 *
 * Nothing is kept longer than useful: at most FS_TEMPLATES_MAX templates
 * (FS_TEMPLATES_PER_USER per uid), the least recently used dropped first;
 * one unused for FS_TEMPLATE_IDLE_USEC (fenced's setting) is dropped by a
 * timer; all are
 * dropped when fenced's own mount namespace (the host's) changes, since a
 * template holds copies of the host's mounts below the writable trees (and
 * would keep an unmounted filesystem busy); and when fenced exits. A
 * template is an nsfs fd, no process; dropping it frees its mounts. No
 * mount of it is ever in the host's namespace.
 */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "sandbox-child.h"

#define FS_TEMPLATES_MAX 16U
#define FS_TEMPLATES_PER_USER 4U
#define FS_TEMPLATE_IDLE_USEC (60ULL * 1000000ULL)

typedef struct FsTemplates FsTemplates;

/* idle_usec: how long an unused template is kept (FS_TEMPLATE_IDLE_USEC). */
int fs_templates_new(sd_event *e, uint64_t idle_usec, FsTemplates **ret);
FsTemplates *fs_templates_free(FsTemplates *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(FsTemplates *, fs_templates_free);

/* Whether a launch of spec could use a template (a writable path and no
 * defaultDenyRead); then *ret gets its key (*ret_len bytes, not a string). */
int fs_template_key(const SandboxSpec *spec, char **ret, size_t *ret_len);

/* The template stored under key: an fd borrowed from t (valid until the
 * next call into t), or -1. *ret_generation: to give fs_templates_put(). */
int fs_templates_get(FsTemplates *t, const char *key, size_t len, uint64_t *ret_generation);

/* Stores ns_fd (taken, checked to be a mount namespace) under key for uid,
 * replacing what was there, unless the host's mounts changed since
 * fs_templates_get() answered with generation. */
void fs_templates_put(FsTemplates *t, const char *key, size_t len, uid_t uid, uint64_t generation, int ns_fd);

/* How many templates are held (tests, logs). */
size_t fs_templates_count(const FsTemplates *t);
