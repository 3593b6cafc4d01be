/* setup-proto.h — messages a sandbox's processes send to fenced over the
 * setup socket (SOCK_SEQPACKET, one struct per message), and how one
 * carrying a file descriptor is sent.
 *
 * The daemon's end has SO_PASSCRED, so the kernel attaches the sender's pid
 * as seen from the daemon's pid namespace: that is how fenced learns the
 * host pid of the command without trusting anything the sandbox says.
 */
#pragma once

#include <stdint.h>

typedef enum SetupMsgType {
        SETUP_MSG_FAILED = 1,      /* setup failed: error + text; the sandbox exits */
        SETUP_MSG_EXEC,            /* the command is about to be executed */
        SETUP_MSG_EXEC_FAILED,     /* execve() failed: error + text (the path) */
        SETUP_MSG_EXITED,          /* the command exited: status (waitpid() form) */
        SETUP_MSG_EXEC_LISTENER,   /* the exec supervisor's seccomp listener, with SCM_RIGHTS */
        SETUP_MSG_FS_TEMPLATE,     /* pid 1's template of the policy's mounts (fs-template.h), with SCM_RIGHTS */
} SetupMsgType;

typedef struct SetupMsg {
        int32_t type;
        int32_t error;          /* positive errno */
        int32_t status;
        char text[500];
} SetupMsg;

/* Sends a message of type with fd attached (SCM_RIGHTS); fd stays the
 * caller's. 0 or negative errno. */
int setup_msg_send_fd(int setup_fd, SetupMsgType type, int fd);
