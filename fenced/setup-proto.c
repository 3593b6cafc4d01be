/* setup-proto.c — see setup-proto.h. */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "setup-proto.h"

int setup_msg_send_fd(int setup_fd, SetupMsgType type, int fd) {
        SetupMsg m = { .type = type };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = &m, .iov_len = sizeof m };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1,
                .msg_control = &control, .msg_controllen = sizeof control,
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        ssize_t n;

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        n = sendmsg(setup_fd, &mh, MSG_NOSIGNAL);
        if (n < 0)
                return -errno;
        return n == (ssize_t) sizeof m ? 0 : -EIO;
}
