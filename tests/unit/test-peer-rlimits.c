/* Unit tests of fenced/peer-rlimits.c. */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "peer-rlimits.h"

static void read_file(const char *path, char *buf, size_t size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        cr_assert_geq(fd, 0);
        n = read(fd, buf, size - 1);
        cr_assert_gt(n, 0);
        buf[n] = 0;
        close(fd);
}

Test(peer_rlimits, parse_matches_getrlimit) {
        struct rlimit fsize = { 123456, 654321 };
        pid_t pid;
        int status;

        /* In a child, so that the test process keeps its limits. */
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                char text[4096];
                PeerRlimits l;

                if (setrlimit(RLIMIT_FSIZE, &fsize) < 0)
                        _exit(2);
                read_file("/proc/self/limits", text, sizeof text);
                if (peer_rlimits_parse(text, &l) < 0)
                        _exit(3);
                for (int i = 0; i < RLIM_NLIMITS; i++) {
                        struct rlimit want;

                        if (getrlimit((__rlimit_resource_t) i, &want) < 0 ||
                            want.rlim_cur != l.limit[i].rlim_cur || want.rlim_max != l.limit[i].rlim_max)
                                _exit(10 + i);
                }
                _exit(l.limit[RLIMIT_FSIZE].rlim_cur == 123456 && l.limit[RLIMIT_FSIZE].rlim_max == 654321 ? 0 : 4);
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}

Test(peer_rlimits, parse_rejects_garbage) {
        PeerRlimits l;

        cr_assert_eq(peer_rlimits_parse("", &l), -EBADMSG);
        cr_assert_eq(peer_rlimits_parse("Limit\nMax cpu time              lots                 unlimited\n", &l),
                     -EBADMSG);
}

Test(peer_rlimits, read_of_a_gone_process_is_esrch) {
        PeerRlimits l;
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0)
                _exit(0);
        cr_assert_eq(waitpid(pid, NULL, 0), pid);
        cr_assert_eq(peer_rlimits_read(pid, -ENOPROTOOPT, &l), -ESRCH);
}

Test(peer_rlimits, apply_never_raises) {
        pid_t pid = fork();
        int status;

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                PeerRlimits l;
                struct rlimit lowered = { 1000, 2000 }, got;

                for (int i = 0; i < RLIM_NLIMITS; i++)
                        if (getrlimit((__rlimit_resource_t) i, &l.limit[i]) < 0)
                                _exit(2);
                if (setrlimit(RLIMIT_NOFILE, &lowered) < 0)
                        _exit(3);
                /* The caller had more than fenced has now: fenced's hard limit holds. */
                l.limit[RLIMIT_NOFILE] = (struct rlimit) { 5000, 8000 };
                l.limit[RLIMIT_FSIZE] = (struct rlimit) { 4096, 8192 };
                if (peer_rlimits_apply(&l) < 0)
                        _exit(4);
                if (getrlimit(RLIMIT_NOFILE, &got) < 0 || got.rlim_cur != 2000 || got.rlim_max != 2000)
                        _exit(5);
                if (getrlimit(RLIMIT_FSIZE, &got) < 0 || got.rlim_cur != 4096 || got.rlim_max != 8192)
                        _exit(6);
                _exit(0);
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}
