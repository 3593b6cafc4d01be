#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>

#include "macro.h"
#include "peer-rlimits.h"

/* "unlimited" or a number, as /proc/PID/limits prints a value. */
static int parse_limit(const char *s, rlim_t *ret) {
        char *end;
        unsigned long long v;

        if (streq(s, "unlimited")) {
                *ret = RLIM_INFINITY;
                return 0;
        }
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end != 0)
                return -EBADMSG;
        *ret = (rlim_t) v;
        return 0;
}

/* /proc/PID/limits is readable by anyone, where prlimit() on another
 * user's process needs CAP_SYS_RESOURCE. The kernel prints a header, then
 * one line per limit in RLIMIT_* order: the name in 25 columns, then the
 * soft and the hard value. */
int peer_rlimits_parse(const char *text, PeerRlimits *ret) {
        const char *line = strchr(text, '\n');
        PeerRlimits l;

        for (int i = 0; i < RLIM_NLIMITS; i++) {
                char soft[32], hard[32];

                if (!line || strlen(line + 1) < 27)
                        return -EBADMSG;
                line++;
                if (sscanf(line + 26, "%31s %31s", soft, hard) != 2 ||
                    parse_limit(soft, &l.limit[i].rlim_cur) < 0 || parse_limit(hard, &l.limit[i].rlim_max) < 0)
                        return -EBADMSG;
                line = strchr(line, '\n');
        }
        *ret = l;
        return 0;
}

int peer_rlimits_read(pid_t pid, int pidfd, PeerRlimits *ret) {
        _cleanup_fclose_ FILE *f = NULL;
        char path[64], text[4096];
        size_t n;
        int r;

        if (pid <= 0)
                return -ESRCH;
        if (pidfd < 0 && pidfd != -ENOPROTOOPT)
                return pidfd;
        snprintf(path, sizeof path, "/proc/%d/limits", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? -ESRCH : negative_errno();
        n = fread(text, 1, sizeof text - 1, f);
        if (ferror(f))
                return -EIO;
        text[n] = 0;
        r = peer_rlimits_parse(text, ret);
        if (r < 0)
                return r;
        /* Still the process that connected: the pid was not reused meanwhile. */
        if (pidfd >= 0 && pidfd_send_signal(pidfd, 0, NULL, 0) < 0)
                return negative_errno();
        return 0;
}

int peer_rlimits_apply(const PeerRlimits *l) {
        for (int i = 0; i < RLIM_NLIMITS; i++) {
                struct rlimit cur, want = l->limit[i];

                if (getrlimit((__rlimit_resource_t) i, &cur) < 0)
                        return negative_errno();
                /* RLIM_INFINITY is the largest value: plain comparisons work. */
                if (want.rlim_max > cur.rlim_max)
                        want.rlim_max = cur.rlim_max;
                if (want.rlim_cur > want.rlim_max)
                        want.rlim_cur = want.rlim_max;
                if (setrlimit((__rlimit_resource_t) i, &want) < 0)
                        return negative_errno();
        }
        return 0;
}
