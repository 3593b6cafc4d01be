#include <fcntl.h>
#include <linux/landlock.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "landlock.h"
#include "log.h"
#include "strv.h"

/* Debian 12's linux-libc-dev (6.1) stops at ABI 2; the values below are the
 * kernel's uapi constants (include/uapi/linux/landlock.h). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)                /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)               /* ABI 5 */
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)         /* ABI 6 */
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)                       /* ABI 6 */
#endif
#ifndef LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON
#define LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON (1U << 1)        /* ABI 7 */
#endif

/* The header's struct landlock_ruleset_attr predates the net and scope
 * fields; the kernel takes the struct size as its version. */
struct ruleset_attr_v6 {
        uint64_t handled_access_fs;
        uint64_t handled_access_net;
        uint64_t scoped;
};

#define ACCESS_FS_V1                                                    \
        (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |   \
         LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |   \
         LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
         LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |   \
         LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |   \
         LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | \
         LANDLOCK_ACCESS_FS_MAKE_SYM)

/* The only rights the kernel accepts in a rule whose inode is not a
 * directory (EINVAL otherwise). */
#define ACCESS_FILE                                                     \
        (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |   \
         LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |   \
         LANDLOCK_ACCESS_FS_IOCTL_DEV)

#define ACCESS_READ_EXEC                                                \
        (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE |    \
         LANDLOCK_ACCESS_FS_READ_DIR)

static const uint64_t tier_access[_LANDLOCK_TIER_MAX] = {
        [LANDLOCK_TIER_SYSTEM] = ACCESS_READ_EXEC,
        /* No READ_DIR: files can be opened by name, the directory not listed. */
        [LANDLOCK_TIER_EXECUTE] = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE,
        [LANDLOCK_TIER_READ] = ACCESS_READ_EXEC,
        /* Terminals need ioctls (TCGETS, TIOCGWINSZ, TIOCGPTN on ptmx); nothing
         * in /dev needs to be created, removed or executed. O_TRUNC on a device
         * node is not a truncation, so TRUNCATE is not needed either. */
        [LANDLOCK_TIER_DEVICE] = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                 LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_IOCTL_DEV,
        [LANDLOCK_TIER_WRITE] = UINT64_MAX, /* reduced to the handled rights */
};

struct LandlockRuleset {
        int abi;
        bool default_deny_read;
        bool scoped;
        int fd;                 /* created on first use, once scoping is known */
        uint64_t handled_fs;
};

static int sys_landlock_create_ruleset(const void *attr, size_t size, uint32_t flags) {
        return (int) syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

static int sys_landlock_add_rule(int ruleset_fd, int type, const void *attr, uint32_t flags) {
        return (int) syscall(SYS_landlock_add_rule, ruleset_fd, type, attr, flags);
}

static int sys_landlock_restrict_self(int ruleset_fd, uint32_t flags) {
        return (int) syscall(SYS_landlock_restrict_self, ruleset_fd, flags);
}

int landlock_abi(void) {
        int r = sys_landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
        if (r < 0)
                /* ENOSYS: not built in; EOPNOTSUPP: disabled at boot. */
                return -EOPNOTSUPP;
        return r;
}

static uint64_t handled_fs_for_abi(int abi) {
        uint64_t a = ACCESS_FS_V1;

        if (abi >= 2)
                a |= LANDLOCK_ACCESS_FS_REFER;
        if (abi >= 3)
                a |= LANDLOCK_ACCESS_FS_TRUNCATE;
        if (abi >= 5)
                a |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
        return a;
}

int landlock_ruleset_new(LandlockRuleset **ret, int abi, bool default_deny_read) {
        LandlockRuleset *r;

        if (abi < 1)
                return -EOPNOTSUPP;
        if (abi > LANDLOCK_ABI_KNOWN)
                abi = LANDLOCK_ABI_KNOWN;

        r = malloc(sizeof *r);
        if (!r)
                return -ENOMEM;
        *r = (LandlockRuleset) {
                .abi = abi,
                .default_deny_read = default_deny_read,
                .fd = -1,
                .handled_fs = handled_fs_for_abi(abi),
        };
        *ret = r;
        return 0;
}

LandlockRuleset *landlock_ruleset_free(LandlockRuleset *r) {
        if (!r)
                return NULL;
        safe_close(r->fd);
        free(r);
        return NULL;
}

int landlock_ruleset_set_scoped(LandlockRuleset *r, bool b) {
        if (r->fd >= 0)
                return -EBUSY;
        if (b && r->abi < 6)
                return -EOPNOTSUPP;
        r->scoped = b;
        return 0;
}

static int ruleset_realize(LandlockRuleset *r) {
        struct ruleset_attr_v6 attr = {
                .handled_access_fs = r->handled_fs,
        };
        size_t size;
        int fd;

        if (r->fd >= 0)
                return 0;

        if (r->scoped)
                attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;

        /* Older kernels reject a struct larger than they know unless the
         * tail is zero; passing exactly what the ABI has keeps errors plain. */
        if (r->abi >= 6)
                size = sizeof attr;
        else if (r->abi >= 4)
                size = offsetof(struct ruleset_attr_v6, scoped);
        else
                size = offsetof(struct ruleset_attr_v6, handled_access_net);

        fd = sys_landlock_create_ruleset(&attr, size, 0);
        if (fd < 0)
                return log_debug_errno(errno, "Failed to create Landlock ruleset (ABI %i): %m", r->abi);
        r->fd = fd;
        return 0;
}

int landlock_ruleset_add_path(LandlockRuleset *r, int path_fd, LandlockTier tier) {
        struct landlock_path_beneath_attr rule = {
                .parent_fd = path_fd,
        };
        struct stat st;
        uint64_t access;
        int k;

        if (tier < 0 || tier >= _LANDLOCK_TIER_MAX)
                return -EINVAL;

        k = ruleset_realize(r);
        if (k < 0)
                return k;

        if (fstat(path_fd, &st) < 0)
                return -errno;

        access = tier_access[tier] & r->handled_fs;
        if (!S_ISDIR(st.st_mode))
                access &= ACCESS_FILE;
        if (access == 0)
                /* E.g. the DEVICE tier's listing right on a plain file: the
                 * kernel refuses empty rules, and there is nothing to grant. */
                return 0;

        rule.allowed_access = access;
        if (sys_landlock_add_rule(r->fd, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
                return -errno;
        return 0;
}

int landlock_ruleset_add_path_at(LandlockRuleset *r, int dir_fd, const char *path, LandlockTier tier) {
        _cleanup_close_ int fd = -1;

        fd = openat(dir_fd, path, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return landlock_ruleset_add_path(r, fd, tier);
}

int landlock_ruleset_restrict_self(LandlockRuleset *r) {
        uint32_t flags = 0;
        int k;

        k = ruleset_realize(r);
        if (k < 0)
                return k;

        if (!r->default_deny_read) {
                k = landlock_ruleset_add_path_at(r, AT_FDCWD, "/", LANDLOCK_TIER_SYSTEM);
                if (k < 0)
                        return log_debug_errno(k, "Failed to grant read access to /: %m");
        }

        /* By default the kernel logs denials only until the next execve();
         * the sandboxed program runs after one, and its denials are the ones
         * the monitor wants to see. */
        if (r->abi >= 7)
                flags |= LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON;

        if (sys_landlock_restrict_self(r->fd, flags) < 0)
                return log_debug_errno(errno, "Failed to enforce Landlock ruleset: %m");
        return 0;
}

int landlock_essential_read_paths(const char *home, char ***ret) {
        static const char * const system_paths[] = {
                "/bin", "/sbin", "/usr", "/lib", "/lib64",
                "/etc",                 /* DNS, TLS roots, locale, passwd */
                "/proc", "/sys", "/dev",
                "/opt", "/run", "/tmp",
                "/usr/local", "/nix", "/snap",
        };
        /* Version managers and toolchains installed per user: their runtimes
         * load libraries and modules from the whole tree, not only bin/. */
        static const char * const home_paths[] = {
                ".nvm", ".fnm", ".volta", ".n",
                ".pyenv", ".local/pipx",
                ".rbenv", ".rvm",
                ".cargo/bin", ".rustup",
                "go/bin", ".go",
                ".local/bin", "bin",
                ".bun/bin", ".deno/bin",
        };
        _cleanup_strv_free_ char **l = NULL;
        int k;

        for (size_t i = 0; i < ELEMENTSOF(system_paths); i++) {
                k = strv_extend(&l, system_paths[i]);
                if (k < 0)
                        return k;
        }

        if (home && home[0] == '/')
                for (size_t i = 0; i < ELEMENTSOF(home_paths); i++) {
                        char *p;

                        if (asprintf(&p, "%s%s%s", home, endswith(home, "/") ? "" : "/", home_paths[i]) < 0)
                                return -ENOMEM;
                        k = strv_consume(&l, p);
                        if (k < 0)
                                return k;
                }

        *ret = TAKE_PTR(l);
        return 0;
}
