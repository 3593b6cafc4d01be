/* mount-file.h — a small generated file bound over a path of the sandbox's
 * view (the sandbox's /etc/resolv.conf), in the clone3() child while it
 * builds the mount view.
 *
 * The file is written on a tmpfs of the view's own (the base tmpfs), cloned
 * into a detached mount, and attached over the target once the view is
 * complete, so later steps (the filesystem policy) cannot cover it. It is
 * read-only, nosuid, nodev, noexec. The host's file is never touched.
 */
#pragma once

/* Writes text to dir/name (dir on a private tmpfs) and returns a detached
 * mount of it in *ret_tree. */
int mount_file_create(const char *dir, const char *name, const char *text, int *ret_tree);

/* Attaches tree over target (symlinks followed). A missing target is not an
 * error (returns 0 and attaches nothing). */
int mount_file_attach(int tree, const char *target);
