/* Unit tests of fenced/unix-socket-masks.c. */

#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "strv.h"
#include "unix-socket-masks.h"

static const char sample[] =
        "Num       RefCount Protocol Flags    Type St Inode Path\n"
        /* a stream listener */
        "0000000000000000: 00000002 00000000 00010000 0001 01 20001 /run/app.sock\n"
        /* the same path again (two listeners, or a stale one) */
        "0000000000000000: 00000002 00000000 00010000 0001 01 20002 /run/app.sock\n"
        /* a connected stream socket with the server's path: not a listener */
        "0000000000000000: 00000003 00000000 00000000 0001 03 20003 /run/conn.sock\n"
        /* a bound datagram socket */
        "0000000000000000: 00000002 00000000 00000000 0002 01 20004 /run/systemd/journal/dev-log\n"
        /* a seqpacket listener */
        "0000000000000000: 00000002 00000000 00010000 0005 01 20005 /run/seq.sock\n"
        /* abstract and unbound sockets */
        "0000000000000000: 00000002 00000000 00010000 0001 01 20006 @/tmp/.X11-unix/X0\n"
        "0000000000000000: 00000002 00000000 00000000 0001 01 20007\n"
        /* a path with a space */
        "0000000000000000: 00000002 00000000 00010000 0001 01 20008 /run/with space.sock\n"
        /* garbage */
        "not a socket line\n";

Test(unix_socket_masks, parse) {
        FILE *f = fmemopen((void *) sample, strlen(sample), "r");
        char **paths = NULL;

        cr_assert_not_null(f);
        cr_assert_eq(unix_sockets_parse(f, &paths), 0);
        fclose(f);
        cr_assert_eq(strv_length(paths), 4);
        cr_assert_str_eq(paths[0], "/run/app.sock");
        cr_assert_str_eq(paths[1], "/run/systemd/journal/dev-log");
        cr_assert_str_eq(paths[2], "/run/seq.sock");
        cr_assert_str_eq(paths[3], "/run/with space.sock");
        strv_free(paths);
}

Test(unix_socket_masks, parse_empty) {
        static const char header[] = "Num       RefCount Protocol Flags    Type St Inode Path\n";
        FILE *f = fmemopen((void *) header, strlen(header), "r");
        char **paths = NULL;

        cr_assert_eq(unix_sockets_parse(f, &paths), 0);
        fclose(f);
        cr_assert_not_null(paths);
        cr_assert_eq(strv_length(paths), 0);
        strv_free(paths);
}

Test(unix_socket_masks, allowed_is_a_subpath_rule) {
        char *allow[] = { "/var/run/docker.sock", "/home/u/sockets/", "/srv/a", NULL };

        cr_assert(unix_socket_allowed("/var/run/docker.sock", allow));
        cr_assert_not(unix_socket_allowed("/var/run/docker.sock2", allow));
        cr_assert(unix_socket_allowed("/home/u/sockets/x.sock", allow));
        cr_assert(unix_socket_allowed("/home/u/sockets", allow));
        cr_assert_not(unix_socket_allowed("/home/u/socketsx/x.sock", allow));
        cr_assert(unix_socket_allowed("/srv/a/b/c", allow));
        cr_assert_not(unix_socket_allowed("/srv/ab", allow));
        cr_assert_not(unix_socket_allowed("/run/x", NULL));

        char *root[] = { "/", NULL };
        cr_assert(unix_socket_allowed("/anything.sock", root));
}

/* A real listener in this process's network namespace: masked unless allowed,
 * and its path escaped for fs-glob. */
Test(unix_socket_masks, masks_a_live_listener) {
        char dir[] = "/var/tmp/usm-test.XXXXXX", path[sizeof(struct sockaddr_un)];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char **deny = NULL;
        int fd;

        cr_assert_not_null(mkdtemp(dir));
        cr_assert_eq(chmod(dir, 0755), 0);
        snprintf(path, sizeof path, "%s/l[1]*.sock", dir);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        cr_assert_geq(fd, 0);
        cr_assert_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        cr_assert_eq(chmod(path, 0666), 0);
        cr_assert_eq(listen(fd, 1), 0);

        char want[PATH_MAX];
        snprintf(want, sizeof want, "%s/l\\[1]\\*.sock", dir);
        cr_assert_eq(unix_socket_masks(NULL, 12345, 12345, NULL, 0, &deny), 0);
        cr_assert(strv_contains(deny, want), "no mask for %s", want);
        strv_free(deny);
        deny = NULL;

        char *allow[] = { dir, NULL };
        cr_assert_eq(unix_socket_masks(allow, 12345, 12345, NULL, 0, &deny), 0);
        cr_assert_not(strv_contains(deny, want));
        strv_free(deny);
        deny = NULL;

        /* Behind a directory that uid cannot search (another user's
         * /run/user/UID): nothing to mask... */
        cr_assert_eq(chmod(dir, 0750), 0);
        cr_assert_eq(chown(dir, 0, 777), 0);
        cr_assert_eq(unix_socket_masks(NULL, 12345, 12345, NULL, 0, &deny), 0);
        cr_assert_not(strv_contains(deny, want));
        strv_free(deny);
        deny = NULL;
        /* ...unless a group of the caller may. */
        cr_assert_eq(unix_socket_masks(NULL, 12345, 12345, (gid_t[]) { 5, 777 }, 2, &deny), 0);
        cr_assert(strv_contains(deny, want), "no mask for a member of the directory's group");
        strv_free(deny);
        deny = NULL;
        /* ...or the directory's owner, as whom the mode's owner bits count alone. */
        cr_assert_eq(chmod(dir, 0075), 0);
        cr_assert_eq(chown(dir, 12345, 777), 0);
        cr_assert_eq(unix_socket_masks(NULL, 12345, 12345, (gid_t[]) { 777 }, 1, &deny), 0);
        cr_assert_not(strv_contains(deny, want), "the owner has no search bit but is let through");
        strv_free(deny);
        deny = NULL;
        cr_assert_eq(chmod(dir, 0755), 0);

        /* Not writable by that uid: nothing to mask. */
        cr_assert_eq(chmod(path, 0600), 0);
        cr_assert_eq(unix_socket_masks(NULL, 12345, 12345, NULL, 0, &deny), 0);
        cr_assert_not(strv_contains(deny, want));
        strv_free(deny);

        close(fd);
        unlink(path);
        rmdir(dir);
}

/* unix_diag: a listener and an unconnected bound datagram socket are listed,
 * a bound stream socket that does not listen, an abstract listener and a
 * connected pair are not. */
Test(unix_socket_masks, diag_lists_connectable_sockets) {
        char dir[] = "/var/tmp/usm-diag.XXXXXX", listener[108], dgram[108], bound[108];
        int fds[4], pair[2];
        char **paths = NULL;
        int r;

        cr_assert_not_null(mkdtemp(dir));
        snprintf(listener, sizeof listener, "%s/listener", dir);
        snprintf(dgram, sizeof dgram, "%s/dgram", dir);
        snprintf(bound, sizeof bound, "%s/bound", dir);
        struct { int type; const char *path; bool listen; } s[] = {
                { SOCK_STREAM, listener, true }, { SOCK_DGRAM, dgram, false },
                { SOCK_STREAM, bound, false }, { SOCK_STREAM, NULL, true },
        };
        for (int i = 0; i < 4; i++) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                socklen_t l;

                fds[i] = socket(AF_UNIX, s[i].type, 0);
                cr_assert_geq(fds[i], 0);
                if (s[i].path) {
                        strcpy(sa.sun_path, s[i].path);
                        l = sizeof sa;
                } else {
                        memcpy(sa.sun_path, "\0usm-abstract", 13);
                        l = offsetof(struct sockaddr_un, sun_path) + 13;
                }
                cr_assert_eq(bind(fds[i], (struct sockaddr *) &sa, l), 0);
                if (s[i].listen)
                        cr_assert_eq(listen(fds[i], 1), 0);
        }
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);

        r = unix_sockets_diag(&paths);
        if (r < 0)
                cr_skip_test("no unix_diag in this kernel (%s): /proc/net/unix is used", strerror(-r));
        cr_expect(strv_contains(paths, listener), "listener not listed");
        cr_expect(strv_contains(paths, dgram), "unconnected datagram socket not listed");
        cr_expect_not(strv_contains(paths, bound), "a bound socket that does not listen is listed");
        for (char **p = paths; p && *p; p++)
                cr_expect((*p)[0] == '/', "%s is not a path", *p);
        strv_free(paths);

        for (int i = 0; i < 4; i++)
                close(fds[i]);
        close(pair[0]);
        close(pair[1]);
        unlink(listener);
        unlink(dgram);
        unlink(bound);
        rmdir(dir);
}
