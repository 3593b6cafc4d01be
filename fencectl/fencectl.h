/* fencectl.h — what the verbs of fencectl share.
 *
 * Each verb is `int verb_NAME(Fencectl *ctl, int argc, char *argv[])` with
 * argv[0] the verb's name; it returns the process exit status (0 success,
 * 1 failure, 2 usage error; `run` returns the sandboxed command's status or
 * 125/126/127) and prints its own errors.
 */
#pragma once

#include "varlink.h"

#define EXIT_USAGE 2

typedef struct Fencectl {
        const char *socket_path;        /* --socket, $FENCE_SOCKET, or the default */
} Fencectl;

/* Connects to fenced; on failure prints an error saying what to do and
 * returns a negative errno. */
int fencectl_connect(Fencectl *ctl, VarlinkClient **ret);

/* Calls io.fence.Sandbox.GetPolicyFloor; *ret gets the admin floor as JSON
 * text ("{}" when none). Prints its own error. */
int fencectl_fetch_policy_floor(Fencectl *ctl, char **ret);

int verb_run(Fencectl *ctl, int argc, char *argv[]);
int verb_ps(Fencectl *ctl, int argc, char *argv[]);
int verb_kill(Fencectl *ctl, int argc, char *argv[]);
int verb_features(Fencectl *ctl, int argc, char *argv[]);
int verb_config(Fencectl *ctl, int argc, char *argv[]);
int verb_templates(Fencectl *ctl, int argc, char *argv[]);
