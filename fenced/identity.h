/* identity.h — becoming the caller inside the sandbox: uid, gid and
 * supplementary groups of the caller, every capability set emptied
 * (effective, permitted, inheritable, ambient, bounding), no_new_privs.
 * After it the kernel's own checks apply exactly as to the caller outside.
 */
#pragma once

#include <sys/types.h>

/* Irreversible; verifies the result and fails (-EPERM) if anything stuck. */
int identity_become(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups);
