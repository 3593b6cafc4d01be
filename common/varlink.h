/* varlink.h — the varlink protocol (https://varlink.org) over Unix stream
 * sockets, with file-descriptor passing.
 *
 * Wire format: every message is one JSON object followed by a NUL byte.
 * A call is {"method": "iface.Method", "parameters": {...}, "more"|"oneway": true};
 * a reply is {"parameters": {...}, "continues": true} or {"error": "iface.Error",
 * "parameters": {...}}. File descriptors travel as SCM_RIGHTS on the sendmsg()
 * that carries the first byte of a message and belong to that message;
 * parameters refer to them by index (as systemd does).
 *
 * Server: non-blocking, driven by an sd_event loop. One call per connection
 * is dispatched at a time; later messages wait until it is answered. A
 * malformed, oversized (> VARLINK_MESSAGE_MAX or > VARLINK_VALUES_MAX values)
 * or half-sent message, a read that takes its uid's buffered input past
 * VARLINK_INPUT_PER_UID_MAX, or an output queue over VARLINK_OUTPUT_MAX,
 * closes that connection only.
 * org.varlink.service (GetInfo, GetInterfaceDescription) is built in, as are
 * the standard errors for unknown interfaces and methods.
 *
 * Client: blocking (with an optional timeout), for command-line tools and tests.
 *
 * All functions return 0 (or a positive value where said) on success and a
 * negative errno on failure.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <systemd/sd-event.h>
#include <yajl/yajl_tree.h>

#include "macro.h"

#define VARLINK_MESSAGE_MAX (16U * 1024U * 1024U)
#define VARLINK_OUTPUT_MAX (64U * 1024U * 1024U)
/* Streamed replies (continues) are dropped while this much output waits for
 * the peer: see varlink_call_reply(). */
#define VARLINK_STREAM_BACKLOG_MAX (1024U * 1024U)
#define VARLINK_FDS_MAX 16U
/* Values (array elements, object members) in one message: what parsing it
 * may cost the server is bounded by this, not by its length. */
#define VARLINK_VALUES_MAX (256U * 1024U)
/* Unfinished input a server holds for one uid across all its connections;
 * the connection whose read goes past it is closed. */
#define VARLINK_INPUT_PER_UID_MAX (64U * 1024U * 1024U)
/* Connections one uid may have open at once (the default of
 * varlink_server_set_connections_per_uid_max()): each costs the server an
 * fd, and a user must not be able to take all of them. */
#define VARLINK_CONNECTIONS_PER_UID_MAX 256U

/* Standard errors. */
#define VARLINK_ERROR_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"
#define VARLINK_ERROR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define VARLINK_ERROR_METHOD_NOT_IMPLEMENTED "org.varlink.service.MethodNotImplemented"
#define VARLINK_ERROR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
/* Not in the spec's list, but the conventional name for "the handler failed". */
#define VARLINK_ERROR_INTERNAL "org.varlink.service.InternalError"

typedef struct VarlinkServer VarlinkServer;
typedef struct VarlinkConnection VarlinkConnection;
typedef struct VarlinkCall VarlinkCall;
typedef struct VarlinkClient VarlinkClient;

/* ---- server ---------------------------------------------------------- */

/* A method handler. `parameters` is the call's "parameters" object (an empty
 * object when the call had none), valid while the handler runs: a call kept
 * past it no longer holds its message, nor the fds the handler did not take.
 * The handler either answers before returning (varlink_call_reply/error) or
 * keeps a reference (varlink_call_ref) and answers later from the event loop.
 * Returning < 0 without having answered sends VARLINK_ERROR_INTERNAL. */
typedef int (*VarlinkMethodFn)(VarlinkCall *call, yajl_val parameters, void *userdata);

typedef struct VarlinkMethod {
        const char *name;       /* unqualified method name, e.g. "Run" */
        VarlinkMethodFn fn;
} VarlinkMethod;

int varlink_server_new(VarlinkServer **ret, sd_event *event,
                       const char *vendor, const char *product,
                       const char *version, const char *url);
VarlinkServer *varlink_server_free(VarlinkServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkServer *, varlink_server_free);

/* Adds an interface. `description` is the interface's IDL text (the name is
 * read from its "interface NAME" line; served verbatim by
 * GetInterfaceDescription); `methods` ends with a {NULL, NULL} entry. Methods
 * of the IDL that are missing from the table answer MethodNotImplemented. */
int varlink_server_add_interface(VarlinkServer *s, const char *description,
                                 const VarlinkMethod *methods, void *userdata);

/* Serves an already listening socket (e.g. from sd_listen_fds); takes it. */
int varlink_server_listen_fd(VarlinkServer *s, int fd);
/* Creates, binds (replacing a stale socket file) and serves a socket. */
int varlink_server_listen_unix(VarlinkServer *s, const char *path, mode_t mode);

/* Called when a connection goes away (EOF, error, protocol violation,
 * server shutdown), after the cancel handlers of its pending call ran. */
void varlink_server_set_disconnect_handler(VarlinkServer *s,
                                           void (*fn)(VarlinkServer *s, VarlinkConnection *c, void *userdata),
                                           void *userdata);
unsigned varlink_server_n_connections(VarlinkServer *s);
/* A connection from a uid that already has max open is closed right after
 * accept(). */
void varlink_server_set_connections_per_uid_max(VarlinkServer *s, unsigned max);

/* ---- a call being served --------------------------------------------- */

VarlinkCall *varlink_call_ref(VarlinkCall *call);
VarlinkCall *varlink_call_unref(VarlinkCall *call);
DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkCall *, varlink_call_unref);

const char *varlink_call_method(VarlinkCall *call);      /* fully qualified */
bool varlink_call_more(VarlinkCall *call);               /* caller asked for "more" */
bool varlink_call_oneway(VarlinkCall *call);             /* no reply is sent */
/* True once answered with a final reply/error or cancelled (peer gone). */
bool varlink_call_finished(VarlinkCall *call);
VarlinkConnection *varlink_call_connection(VarlinkCall *call);

/* Number of fds that came with the call, and taking one of them (by index):
 * the caller owns the returned fd; -EBADF for an index out of range or an fd
 * already taken. */
size_t varlink_call_n_fds(VarlinkCall *call);
int varlink_call_take_fd(VarlinkCall *call, size_t index);

/* Reply with parameters (serialized JSON object text, NULL for {}).
 * continues=true is only allowed when the caller asked for "more"; a reply
 * with continues=false (and any error) ends the call. Replying to a oneway
 * call, or after the end, is a no-op returning 0. -ENOTCONN when the peer is gone.
 * A reply with continues is dropped (-ENOBUFS, the call and the connection
 * go on) while more than VARLINK_STREAM_BACKLOG_MAX bytes wait for a peer
 * that does not read: a stream (a sandbox's events) must not make the
 * server hold VARLINK_OUTPUT_MAX for every stopped client. */
int varlink_call_reply(VarlinkCall *call, const char *parameters, bool continues);
int varlink_call_error(VarlinkCall *call, const char *error, const char *parameters);
/* org.varlink.service.InvalidParameter with {"parameter": name}. */
int varlink_call_error_invalid_parameter(VarlinkCall *call, const char *name);
/* An error whose parameters are one or two string members (key2 NULL: one). */
int varlink_call_error_strings(VarlinkCall *call, const char *error, const char *key1, const char *value1,
                               const char *key2, const char *value2);

/* Called once if the connection goes away before the call ended. */
void varlink_call_set_cancel_handler(VarlinkCall *call,
                                     void (*fn)(VarlinkCall *call, void *userdata),
                                     void *userdata);

/* ---- connections (server side) ---------------------------------------- */

/* Credentials captured at accept() time: SO_PEERCRED and SO_PEERGROUPS. */
const struct ucred *varlink_connection_peer(VarlinkConnection *c);
/* Supplementary groups of the peer; *ret points into the connection. */
size_t varlink_connection_peer_groups(VarlinkConnection *c, const gid_t **ret);
/* A new pidfd (SO_PEERPIDFD) of the process that connected: unlike the pid
 * number in SO_PEERCRED it never comes to name another process once that
 * one is gone. The caller closes it. -ENOPROTOOPT on kernels before 6.5. */
int varlink_connection_peer_pidfd(VarlinkConnection *c);
void *varlink_connection_get_userdata(VarlinkConnection *c);
void varlink_connection_set_userdata(VarlinkConnection *c, void *userdata);
/* Closes the connection (its pending call is cancelled). */
void varlink_connection_close(VarlinkConnection *c);

/* ---- client ------------------------------------------------------------ */

enum {
        VARLINK_CALL_MORE = 1 << 0,
        VARLINK_CALL_ONEWAY = 1 << 1,
};

typedef struct VarlinkReply {
        yajl_val root;          /* the whole message; owned */
        yajl_val parameters;    /* points into root; an empty object if absent */
        const char *error;      /* points into root; NULL for a non-error reply */
        bool continues;
        int *fds;               /* fds that came with the reply; owned */
        size_t n_fds;
} VarlinkReply;

/* Frees root and closes every fd not taken (set to -1 to take one). */
void varlink_reply_done(VarlinkReply *r);

int varlink_client_connect_unix(VarlinkClient **ret, const char *path);
/* Takes a connected socket. */
int varlink_client_new_fd(VarlinkClient **ret, int fd);
VarlinkClient *varlink_client_free(VarlinkClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkClient *, varlink_client_free);
int varlink_client_fd(VarlinkClient *c);

/* Sends a call: method fully qualified, parameters JSON object text or NULL,
 * flags VARLINK_CALL_*, fds sent with it (not closed; the caller keeps them).
 * -EMSGSIZE for a call the server would refuse unread (too long, too many
 * values or nested too deep). */
int varlink_client_send(VarlinkClient *c, const char *method, const char *parameters,
                        unsigned flags, const int *fds, size_t n_fds);
/* Reads the next reply. timeout_ms < 0 waits forever; 0 returns -EAGAIN when
 * no whole message is buffered yet. -ECONNRESET on EOF, -EBADMSG on a
 * malformed or oversized message. On success *ret must be released with
 * varlink_reply_done(). */
int varlink_client_read(VarlinkClient *c, VarlinkReply *ret, int timeout_ms);
/* send + read of the single reply. */
int varlink_client_call(VarlinkClient *c, const char *method, const char *parameters,
                        VarlinkReply *ret);
