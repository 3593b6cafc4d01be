/* fs-template-ns.h — the sandbox child's side of the filesystem policy
 * templates (fs-template.h is fenced's side): a mount namespace that holds
 * the mounts one policy made in one project (the writable trees with the
 * denyWrite binds, the pins and the binds of the existing protected names
 * on them), so that the next launch with the same policy clones each
 * writable tree with all its mounts in one open_tree() instead of making
 * them one by one.
 *
 * A template is only ever a head start. What it holds is checked where it
 * matters, in the new sandbox's own view, by the same code that makes the
 * mounts (fs-view.c, fs-protect.c with a full FsPinMemo): each denyWrite or
 * protected file must be on a read-only mount, each ancestor with a
 * writable parent must be a mount point, directories are bound read-only
 * again at every launch; whatever the template lost (a denyWrite file
 * replaced on the host through a hard link or a rename detaches the
 * template's bind; a pinned directory renamed away loses its place) is made
 * again there. The writable trees themselves are taken from the template
 * only when the template's mount at that path is still a read-write mount
 * point of the very directory the caller's path resolves to now.
 *
 * So that a template holds nothing the fresh policy would not make either
 * (a pin that keeps a directory from being renamed, a bind that makes a
 * file read-only, for a path that is no longer denied or protected), each
 * one keeps a manifest of what it was made for (fs-view.c: the writable
 * trees, the denyWrite/denyRead paths and the existing protected paths,
 * each with its inode), on a small tmpfs of its own at /tmp; a launch whose
 * freshly resolved manifest differs does not use it.
 */
#pragma once

#include <stddef.h>
#include <sys/stat.h>

/* In the sandbox child, before its root changes (it must be in its own
 * mount namespace, single-threaded, privileged). Enters the template
 * namespace template_ns, checks that its manifest is the same text, and for
 * each of the n paths checks that it is a
 * read-write mount point there of the directory or file want[i] (device and
 * inode), then clones it with everything mounted below it; then returns to
 * the caller's namespace (root and cwd: that namespace's root). On success
 * trees[i] holds each clone (detached, close-on-exec). On failure nothing is
 * returned: -ESTALE when the template no longer matches, else -errno; in
 * both cases the caller is back in its namespace, except on
 * -ENOTRECOVERABLE (it could not return: it must give up). */
int fs_template_ns_clone(int template_ns, const char *manifest, char * const *paths, const struct stat *want, size_t n,
                         int *trees);

/* In the sandbox child, after the policy's mounts and before anything
 * else: a copy of the current mount namespace without the sandbox's own
 * /proc, /dev and /tmp, holding manifest, as an nsfs fd in *ret
 * (close-on-exec). The caller
 * stays in its namespace (root and cwd: its root), except on
 * -ENOTRECOVERABLE (as above). */
int fs_template_ns_snapshot(const char *manifest, int *ret);
