/* unix-socket-masks.c — see unix-socket-masks.h. */

#include <errno.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "macro.h"
#include "strv.h"
#include "unix-socket-masks.h"

/* /proc/net/unix: "Num RefCount Protocol Flags Type St Inode Path". */
#define SO_ACCEPTCON_FLAG 0x10000UL     /* __SO_ACCEPTCON: listen() was called */
#define TYPE_DGRAM 2UL

int unix_sockets_parse(FILE *f, char ***ret) {
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        ssize_t n;
        bool header = true;

        while ((n = getline(&line, &size, f)) >= 0) {
                unsigned long flags, type;
                int path_at = -1;

                if (header) {
                        header = false;
                        continue;
                }
                if (n > 0 && line[n - 1] == '\n')
                        line[--n] = '\0';
                if (sscanf(line, "%*s %*s %*s %lx %lx %*s %*s %n", &flags, &type, &path_at) < 2 || path_at < 0)
                        continue;
                /* No path: unbound; '@': abstract, per network namespace. */
                if (line[path_at] != '/')
                        continue;
                if (!(flags & SO_ACCEPTCON_FLAG) && type != TYPE_DGRAM)
                        continue;
                if (strv_contains(paths, line + path_at))
                        continue;
                if (strv_extend(&paths, line + path_at) < 0)
                        return -ENOMEM;
        }
        if (ferror(f))
                return -EIO;
        if (!paths && !(paths = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(paths);
        return 0;
}

/* The same list from the kernel's socket diagnostics: it dumps only the
 * sockets in the states asked for (listening; unconnected, for datagram
 * sockets), where /proc/net/unix formats every socket of the host (2 ms
 * for 3,000, most of them connected). -EPROTONOSUPPORT and the like when
 * the kernel has no unix_diag. */
int unix_sockets_diag(char ***ret) {
        struct {
                struct nlmsghdr h;
                struct unix_diag_req r;
        } req = {
                .h = { .nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
                .r = { .sdiag_family = AF_UNIX, .udiag_states = (1U << TCP_LISTEN) | (1U << TCP_CLOSE),
                       .udiag_show = UDIAG_SHOW_NAME },
        };
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_close_ int fd = -1;
        char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (fd < 0)
                return -errno;
        if (send(fd, &req, sizeof req, 0) < 0)
                return -errno;
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof buf, 0);
                int len = (int) n;

                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                        const struct unix_diag_msg *m = NLMSG_DATA(h);
                        int alen;

                        if (h->nlmsg_type == NLMSG_DONE) {
                                if (!paths && !(paths = calloc(1, sizeof(char *))))
                                        return -ENOMEM;
                                *ret = TAKE_PTR(paths);
                                return 0;
                        }
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = NLMSG_DATA(h);
                                return e->error < 0 ? e->error : -EIO;
                        }
                        if (h->nlmsg_len < NLMSG_LENGTH(sizeof *m))
                                continue;
                        /* Listeners, and datagram sockets nobody connected. */
                        if (!(m->udiag_state == TCP_LISTEN || (m->udiag_type == SOCK_DGRAM && m->udiag_state == TCP_CLOSE)))
                                continue;
                        alen = (int) (h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
                        for (struct rtattr *a = (struct rtattr *) (m + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
                                const char *name = RTA_DATA(a);
                                size_t l = RTA_PAYLOAD(a);
                                char *path;

                                /* No name: unbound; a leading NUL: abstract. */
                                if (a->rta_type != UNIX_DIAG_NAME || l == 0 || name[0] != '/')
                                        continue;
                                path = strndup(name, l);
                                if (!path)
                                        return -ENOMEM;
                                if (strv_contains(paths, path)) {
                                        free(path);
                                        continue;
                                }
                                if (strv_consume(&paths, path) < 0)
                                        return -ENOMEM;
                        }
                }
        }
}

int unix_socket_allowed(const char *path, char * const *allow) {
        for (char * const *a = allow; a && *a; a++) {
                size_t l = strlen(*a);

                while (l > 1 && (*a)[l - 1] == '/')
                        l--;
                if (strncmp(path, *a, l) == 0 && (path[l] == '\0' || path[l] == '/' || l == 1))
                        return true;
        }
        return false;
}

/* A path as a fs-glob pattern that matches only itself (most need no
 * escape, and a literal pattern is resolved without a walk). */
static char *glob_escape(const char *s) {
        char *e = malloc(strlen(s) * 2 + 1), *p = e;

        if (!e)
                return NULL;
        for (; *s; s++) {
                if (strchr("*?[\\", *s))
                        *p++ = '\\';
                *p++ = *s;
        }
        *p = '\0';
        return e;
}

typedef struct Caller {
        uid_t uid;
        gid_t gid;
        const gid_t *groups;
        size_t n_groups;
} Caller;

/* Whether the caller's permission bits allow `bit` (S_IROTH, S_IWOTH or
 * S_IXOTH) on st, as the kernel checks them (the owner's class alone when
 * it is the owner, the group's when a member); or the file has an ACL, which
 * could allow more than the bits say (then: reachable). */
static bool may(const Caller *c, const char *path, const struct stat *st, mode_t bit) {
        bool member = st->st_gid == c->gid;

        if (c->uid == 0)
                return true;
        for (size_t i = 0; i < c->n_groups && !member; i++)
                member = c->groups[i] == st->st_gid;
        if (st->st_uid == c->uid ? (st->st_mode & (bit << 6)) :
            member ? (st->st_mode & (bit << 3)) : (st->st_mode & bit))
                return true;
        return getxattr(path, "system.posix_acl_access", NULL, 0) > 0;
}

/* Whether the caller could connect to the socket at real (a real path):
 * search permission on every directory above it, write permission on it. */
static bool reachable(const Caller *c, const char *real, const struct stat *st) {
        char dir[PATH_MAX];
        size_t l = strlen(real);

        if (l >= sizeof dir)
                return true;
        memcpy(dir, real, l + 1);
        for (char *slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                struct stat d;

                *slash = '\0';
                if (stat(dir, &d) == 0 && !may(c, dir, &d, S_IXOTH))
                        return false;
                *slash = '/';
        }
        return may(c, real, st, S_IWOTH);
}

int unix_socket_masks(char * const *allow, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
                      char ***deny_read) {
        _cleanup_strv_free_ char **paths = NULL, **allow_real = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        const Caller caller = { .uid = uid, .gid = gid, .groups = groups, .n_groups = n_groups };
        int r;

        /* An entry may name a socket or directory through a symlink: its
         * real path counts too. (Resolved as root, but only ever used to
         * leave out a mask: the caller's own permissions still apply.) */
        for (char * const *a = allow; a && *a; a++) {
                char real[PATH_MAX];

                if (realpath(*a, real) && strv_extend(&allow_real, real) < 0)
                        return -ENOMEM;
        }

        r = unix_sockets_diag(&paths);
        if (r < 0) {
                f = fopen("/proc/net/unix", "re");
                if (!f)
                        return -errno;
                r = unix_sockets_parse(f, &paths);
                if (r < 0)
                        return r;
        }

        for (char **p = paths; *p; p++) {
                char real[PATH_MAX];
                struct stat st;
                char *pattern;

                /* Gone, replaced, or behind a directory that moved: nothing
                 * to mask at this name. */
                if (!realpath(*p, real) || stat(real, &st) < 0 || !S_ISSOCK(st.st_mode))
                        continue;
                /* connect() needs write permission on the inode and search
                 * permission above it: what the caller could never reach
                 * needs no mask (on a shared host, the other users' sockets
                 * in their 0700 /run/user/UID: a mount each otherwise). */
                if (!reachable(&caller, real, &st))
                        continue;
                /* The sandbox's /tmp and /dev/shm are its own. */
                if (startswith(real, "/tmp/") || startswith(real, "/dev/shm/"))
                        continue;
                if (unix_socket_allowed(real, allow) || unix_socket_allowed(*p, allow) ||
                    unix_socket_allowed(real, allow_real))
                        continue;
                pattern = glob_escape(real);
                if (!pattern)
                        return -ENOMEM;
                if (strv_contains(*deny_read, pattern)) {
                        free(pattern);
                        continue;
                }
                r = strv_consume(deny_read, pattern);
                if (r < 0)
                        return r;
        }
        return 0;
}
