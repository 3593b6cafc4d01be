#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "identity.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cap_t, cap_free);

int identity_become(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups) {
        _cleanup_(cap_freep) cap_t empty = NULL, now = NULL;
        uid_t ru, eu, su;
        gid_t rg, eg, sg;
        int max = (int) cap_max_bits();

        if (setgroups(n_groups, groups) < 0)
                return negative_errno();
        if (setresgid(gid, gid, gid) < 0)
                return negative_errno();

        /* The bounding set can only shrink with CAP_SETPCAP, so before setuid. */
        for (int c = 0; c < max; c++)
                if (cap_drop_bound((cap_value_t) c) < 0 && errno != EINVAL)
                        return negative_errno();
        if (cap_reset_ambient() < 0)
                return negative_errno();

        if (setresuid(uid, uid, uid) < 0)
                return negative_errno();

        /* For uid 0 callers setresuid() keeps the capabilities: clear them. */
        empty = cap_init();
        if (!empty)
                return -ENOMEM;
        if (cap_set_proc(empty) < 0)
                return negative_errno();

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return negative_errno();

        /* Trust, but verify: a sandbox must never start half-privileged. */
        if (getresuid(&ru, &eu, &su) < 0 || ru != uid || eu != uid || su != uid)
                return -EPERM;
        if (getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid || sg != gid)
                return -EPERM;
        now = cap_get_proc();
        if (!now || cap_compare(now, empty) != 0)
                return -EPERM;
        for (int c = 0; c < max; c++)
                if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 0)
                        return -EPERM;
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
                return -EPERM;
        return 0;
}
