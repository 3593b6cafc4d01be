#include <errno.h>
#include <sys/fsuid.h>
#include <sys/socket.h>

#include "socket-as.h"

int socket_as(uid_t uid, gid_t gid, int family, int type) {
        uid_t old_uid;
        gid_t old_gid;
        int fd = -1, e = EPERM;

        old_gid = (gid_t) setfsgid(gid);
        old_uid = (uid_t) setfsuid(uid);
        /* setfsuid() reports no failure: check that the switch happened
         * rather than create the socket as root. */
        if ((uid_t) setfsuid((uid_t) -1) == uid && (gid_t) setfsgid((gid_t) -1) == gid) {
                fd = socket(family, type, 0);
                e = errno;
        }
        (void) setfsuid(old_uid);
        (void) setfsgid(old_gid);
        return fd < 0 ? -e : fd;
}
