/* varlink.c — the varlink wire protocol over Unix stream sockets.
 * See varlink.h for the interface and the protocol summary. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "json.h"
#include "log.h"
#include "strv.h"
#include "varlink.h"

/* Minimum free space offered to one recvmsg(). */
#define READ_CHUNK (64U * 1024U)
/* A read buffer larger than this is freed once it is empty. */
#define READ_SHRINK (1024U * 1024U)
/* yajl builds and frees trees recursively: a message of nothing but '['
 * would overflow the stack, so nesting is checked before parsing. And
 * whatever a message holds must be re-serializable with yajl_gen (a handler
 * passing a client's object on, json_gen_value()): no deeper than that. */
#define JSON_DEPTH_MAX ((unsigned) JSON_GEN_VALUE_DEPTH_MAX)
#define SERVICE_INTERFACE "org.varlink.service"

/* Served by GetInterfaceDescription("org.varlink.service"). */
static const char service_description[] =
        "# The interface every varlink service provides: what the service is and\n"
        "# which interfaces it implements.\n"
        "interface org.varlink.service\n"
        "\n"
        "# Vendor, product, version, URL and the interfaces of this service.\n"
        "method GetInfo() -> (\n"
        "  vendor: string,\n"
        "  product: string,\n"
        "  version: string,\n"
        "  url: string,\n"
        "  interfaces: []string\n"
        ")\n"
        "\n"
        "# The IDL text of one of the interfaces of this service.\n"
        "method GetInterfaceDescription(interface: string) -> (description: string)\n"
        "\n"
        "# No interface of that name is served here.\n"
        "error InterfaceNotFound (interface: string)\n"
        "\n"
        "# The interface has no method of that name.\n"
        "error MethodNotFound (method: string)\n"
        "\n"
        "# The interface declares the method but this service does not implement it.\n"
        "error MethodNotImplemented (method: string)\n"
        "\n"
        "# A parameter is missing or has a wrong value.\n"
        "error InvalidParameter (parameter: string)\n"
        "\n"
        "# The caller may not do this.\n"
        "error PermissionDenied ()\n"
        "\n"
        "# The method must be called with \"more\".\n"
        "error ExpectedMore ()\n";

/* Handed out for an absent "parameters"; read-only storage, never freed. */
static const struct yajl_val_s empty_object = { .type = yajl_t_object };

static void close_many(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                fds[i] = safe_close(fds[i]);
}

/* ---- reading NUL-delimited messages with their fds --------------------- */

/* Fds received by one recvmsg(). The kernel ends a stream recvmsg() right
 * after the first skb that carries fds, and senders put a message's fds on
 * the sendmsg() carrying its first byte, so the batch belongs to the
 * message that contains the last byte of that read. */
typedef struct FdBatch {
        uint64_t offset;        /* stream offset of that last byte */
        int *fds;
        size_t n_fds;
} FdBatch;

typedef struct MessageReader {
        char *buf;
        size_t alloc;
        size_t start;           /* first unprocessed byte */
        size_t end;             /* end of received data */
        size_t scanned;         /* bytes after start known to hold no NUL */
        uint64_t base;          /* stream offset of buf[0] */
        FdBatch *batches;
        size_t n_batches;
} MessageReader;

static void reader_done(MessageReader *m) {
        for (size_t i = 0; i < m->n_batches; i++) {
                close_many(m->batches[i].fds, m->batches[i].n_fds);
                free(m->batches[i].fds);
        }
        free(m->batches);
        free(m->buf);
        *m = (MessageReader) {};
}

/* Frees a big buffer once everything in it has been taken (invalidates the
 * text reader_next() handed out), so that a connection does not keep for
 * its whole life, and count against its uid's input budget, the room one
 * big message needed. */
static void reader_shrink(MessageReader *m) {
        if (m->start != m->end || m->alloc <= READ_SHRINK)
                return;
        free(m->buf);
        m->buf = NULL;
        m->base += m->start;
        m->start = m->end = m->alloc = 0;
}

static int reader_make_room(MessageReader *m) {
        size_t want, cap = VARLINK_MESSAGE_MAX + 1 + READ_CHUNK;
        char *p;

        reader_shrink(m);
        if (m->start > 0) {
                memmove(m->buf, m->buf + m->start, m->end - m->start);
                m->base += m->start;
                m->end -= m->start;
                m->start = 0;
        }
        if (m->alloc - m->end >= READ_CHUNK)
                return 0;

        /* Only a partial message (≤ VARLINK_MESSAGE_MAX) is ever kept when
         * reading, so the cap always leaves a chunk free. */
        want = m->alloc * 2;
        if (want < m->end + READ_CHUNK)
                want = m->end + READ_CHUNK;
        if (want > cap)
                want = cap;
        p = realloc(m->buf, want);
        if (!p)
                return -ENOMEM;
        m->buf = p;
        m->alloc = want;
        return 0;
}

static size_t reader_n_fds(const MessageReader *m) {
        size_t n = 0;

        for (size_t i = 0; i < m->n_batches; i++)
                n += m->batches[i].n_fds;
        return n;
}

/* One recvmsg(). Returns bytes read, 0 on EOF, -EAGAIN, -EBADMSG for
 * truncated ancillary data or a message that already has more fds than it
 * may carry, -errno. */
static int reader_read(MessageReader *m, int fd) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * VARLINK_FDS_MAX)];
        } control;
        struct iovec iov;
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof control,
        };
        _cleanup_free_ int *fds = NULL;
        size_t n_fds = 0;
        ssize_t n;
        int r;

        /* Nobody reads while a whole message is buffered, so every fd held
         * now belongs to the unfinished one: without this, a peer sending
         * fds a byte at a time and never the NUL would fill our fd table
         * long before its message reaches VARLINK_MESSAGE_MAX. */
        if (reader_n_fds(m) > VARLINK_FDS_MAX)
                return -EBADMSG;

        r = reader_make_room(m);
        if (r < 0)
                return r;

        iov = (struct iovec) { m->buf + m->end, m->alloc - m->end };
        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return errno == EINTR ? -EAGAIN : negative_errno();

        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                size_t k;
                int *p;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                p = realloc(fds, (n_fds + k) * sizeof(int));
                if (!p) {
                        /* Cannot keep them: close them all rather than leak. */
                        int tmp[VARLINK_FDS_MAX];
                        memcpy(tmp, CMSG_DATA(c), k * sizeof(int));
                        close_many(tmp, k);
                        close_many(fds, n_fds);
                        return -ENOMEM;
                }
                fds = p;
                memcpy(fds + n_fds, CMSG_DATA(c), k * sizeof(int));
                n_fds += k;
        }

        if ((mh.msg_flags & MSG_CTRUNC) || (n == 0 && n_fds > 0)) {
                close_many(fds, n_fds);
                return -EBADMSG;
        }
        if (n == 0)
                return 0;

        if (n_fds > 0) {
                FdBatch *b = realloc(m->batches, (m->n_batches + 1) * sizeof(FdBatch));
                if (!b) {
                        close_many(fds, n_fds);
                        return -ENOMEM;
                }
                m->batches = b;
                m->batches[m->n_batches++] = (FdBatch) {
                        .offset = m->base + m->end + (size_t) n - 1,
                        .fds = TAKE_PTR(fds),
                        .n_fds = n_fds,
                };
        }
        m->end += (size_t) n;
        return (int) (n > INT32_MAX ? INT32_MAX : n);
}

/* Finds the next NUL; returns its position or NULL, caching the scan. */
static char *reader_find_end(MessageReader *m) {
        char *p = memchr(m->buf + m->start + m->scanned, 0, m->end - m->start - m->scanned);
        if (!p)
                m->scanned = m->end - m->start;
        return p;
}

static bool reader_has_message(MessageReader *m) {
        return m->buf && reader_find_end(m);
}

static bool reader_has_partial(const MessageReader *m) {
        return m->end > m->start;
}

/* Takes the next whole message out of the buffer: *ret_text points into the
 * buffer (NUL-terminated, valid until the next reader_read()), the fds are
 * the caller's. Returns 1, 0 when no whole message is buffered, -EBADMSG
 * for an oversized message or too many fds. */
static int reader_next(MessageReader *m, char **ret_text, size_t *ret_len,
                       int **ret_fds, size_t *ret_n_fds) {
        _cleanup_free_ int *fds = NULL;
        size_t len, n_fds = 0, n_batches = 0;
        uint64_t last;
        char *p;

        if (!m->buf)
                return 0;
        p = reader_find_end(m);
        if (!p)
                return m->scanned > VARLINK_MESSAGE_MAX ? -EBADMSG : 0;

        len = (size_t) (p - (m->buf + m->start));
        if (len > VARLINK_MESSAGE_MAX)
                return -EBADMSG;

        last = m->base + (uint64_t) (p - m->buf);
        for (; n_batches < m->n_batches && m->batches[n_batches].offset <= last; n_batches++)
                n_fds += m->batches[n_batches].n_fds;

        if (n_fds > VARLINK_FDS_MAX)
                return -EBADMSG;
        if (n_fds > 0) {
                size_t k = 0;

                fds = malloc(n_fds * sizeof(int));
                if (!fds)
                        return -ENOMEM;
                for (size_t i = 0; i < n_batches; i++) {
                        memcpy(fds + k, m->batches[i].fds, m->batches[i].n_fds * sizeof(int));
                        k += m->batches[i].n_fds;
                        free(m->batches[i].fds);
                }
                memmove(m->batches, m->batches + n_batches, (m->n_batches - n_batches) * sizeof(FdBatch));
                m->n_batches -= n_batches;
        }

        *ret_text = m->buf + m->start;
        *ret_len = len;
        *ret_fds = TAKE_PTR(fds);
        *ret_n_fds = n_fds;
        m->start += len + 1;
        m->scanned = 0;
        return 1;
}

/* Checks what yajl would accept but we must not: nesting deeper than
 * JSON_DEPTH_MAX, more than VARLINK_VALUES_MAX values (a tree costs about
 * 80 bytes per value: 16 MiB of "0," would take 600 MiB and a second to
 * build), and "\u0000" in strings, which yajl_tree would hand out as a C
 * string cut short at that point (a path "a\u0000b" would read as "a"). */
static bool message_is_safe(const char *text, size_t len) {
        bool in_string = false, escaped = false;
        unsigned depth = 0;
        size_t n_values = 1;

        for (size_t i = 0; i < len; i++) {
                char ch = text[i];

                if (in_string) {
                        if (escaped) {
                                escaped = false;
                                if (ch == 'u' && len - i > 4 && memcmp(text + i + 1, "0000", 4) == 0)
                                        return false;
                        } else if (ch == '\\')
                                escaped = true;
                        else if (ch == '"')
                                in_string = false;
                } else if (ch == '"')
                        in_string = true;
                else if (ch == '[' || ch == '{') {
                        if (++depth > JSON_DEPTH_MAX)
                                return false;
                } else if ((ch == ']' || ch == '}') && depth > 0)
                        depth--;
                else if ((ch == ',' || ch == ':') && ++n_values > VARLINK_VALUES_MAX)
                        return false;
        }
        return true;
}

/* Parses one message into an object. -EBADMSG for anything else. */
static int message_parse(const char *text, size_t len, yajl_val *ret) {
        _cleanup_json_ yajl_val v = NULL;
        int r;

        if (!message_is_safe(text, len))
                return -EBADMSG;
        r = json_parse(text, &v, NULL);
        if (r < 0)
                return r;
        if (!YAJL_IS_OBJECT(v))
                return -EBADMSG;
        *ret = TAKE_PTR(v);
        return 0;
}

/* An optional object member: the object, or the shared empty object when
 * absent or null. NULL when present with another type. */
static yajl_val message_get_object(yajl_val root, const char *key) {
        yajl_val v = json_get(root, key);

        if (!v || YAJL_IS_NULL(v))
                return (yajl_val) &empty_object;
        return YAJL_IS_OBJECT(v) ? v : NULL;
}

/* An optional boolean member; -EBADMSG when present with another type. */
static int message_get_flag(yajl_val root, const char *key, bool *ret) {
        int r = json_get_bool(root, key, ret);

        if (r == -ENOENT) {
                *ret = false;
                return 0;
        }
        return r < 0 ? -EBADMSG : 0;
}

/* ---- server data ------------------------------------------------------- */

typedef struct VarlinkInterface {
        char *name;
        char *description;
        char **declared;                /* method names in the IDL */
        VarlinkMethod *methods;         /* copy of the table, names owned */
        size_t n_methods;
        void *userdata;
} VarlinkInterface;

struct VarlinkServer {
        sd_event *event;
        char *vendor, *product, *version, *url;

        VarlinkInterface **interfaces;
        size_t n_interfaces;

        sd_event_source **listeners;
        size_t n_listeners;
        sd_event_source *resume_timer;  /* set while accepting is paused */

        VarlinkConnection *connections;
        unsigned n_connections;
        unsigned connections_per_uid_max;

        void (*disconnect)(VarlinkServer *s, VarlinkConnection *c, void *userdata);
        void *disconnect_userdata;
};

struct VarlinkConnection {
        VarlinkServer *server;
        VarlinkConnection *prev, *next;

        int fd;
        sd_event_source *io;
        sd_event_source *defer;         /* processes queued input, or tears down */
        uint32_t events;

        struct ucred peer;
        gid_t *groups;
        size_t n_groups;

        MessageReader input;
        char *output;
        size_t output_start, output_end, output_alloc;

        VarlinkCall *current;           /* the call being served; we own a ref */
        VarlinkCall *calls;             /* every call still pointing here */

        void *userdata;
        bool read_eof;                  /* peer shut its writing side */
        bool dead;                      /* to be torn down from the event loop */
};

struct VarlinkCall {
        unsigned n_ref;
        VarlinkConnection *connection;  /* NULL once the connection is gone */
        VarlinkCall *prev, *next;       /* in connection->calls */

        yajl_val root;
        yajl_val parameters;
        const char *method;             /* points into root, or method_owned */
        char *method_owned;
        bool more, oneway;
        bool finished, cancelled;

        int *fds;
        size_t n_fds;

        void (*cancel)(VarlinkCall *call, void *userdata);
        void *cancel_userdata;
};

static void connection_schedule(VarlinkConnection *c);

/* ---- calls --------------------------------------------------------------- */

static void call_detach(VarlinkCall *call) {
        VarlinkConnection *c = call->connection;

        if (!c)
                return;
        if (call->prev)
                call->prev->next = call->next;
        else
                c->calls = call->next;
        if (call->next)
                call->next->prev = call->prev;
        call->prev = call->next = NULL;
        call->connection = NULL;
}

VarlinkCall *varlink_call_ref(VarlinkCall *call) {
        if (call)
                call->n_ref++;
        return call;
}

VarlinkCall *varlink_call_unref(VarlinkCall *call) {
        if (!call || --call->n_ref > 0)
                return NULL;
        call_detach(call);
        close_many(call->fds, call->n_fds);
        free(call->fds);
        yajl_tree_free(call->root);
        free(call->method_owned);
        free(call);
        return NULL;
}

/* The handler returned without answering and keeps the call (a sandbox's
 * Run, for its whole life): it took what it needed. The parsed message
 * costs tens of times its text (up to VARLINK_MESSAGE_MAX), and the fds it
 * did not take are the client's: hold on to neither. */
static void call_release_message(VarlinkCall *call) {
        char *method;

        close_many(call->fds, call->n_fds);
        free(call->fds);
        call->fds = NULL;
        call->n_fds = 0;

        method = strdup(call->method);
        if (!method)
                return;         /* keep it all: costs memory, breaks nothing */
        call->method = call->method_owned = method;
        call->parameters = (yajl_val) &empty_object;
        yajl_tree_free(call->root);
        call->root = NULL;
}

/* Builds a call from a message; takes the fds (closed on failure). */
static int call_new(VarlinkConnection *c, const char *text, size_t len,
                    int *fds, size_t n_fds, VarlinkCall **ret) {
        _cleanup_free_ int *owned = fds;
        _cleanup_json_ yajl_val root = NULL;
        yajl_val parameters;
        const char *method;
        bool more = false, oneway = false;
        VarlinkCall *call;
        int r;

        r = message_parse(text, len, &root);
        if (r < 0)
                goto fail;
        method = json_get_string(root, "method");
        parameters = message_get_object(root, "parameters");
        if (!method || !parameters ||
            message_get_flag(root, "more", &more) < 0 ||
            message_get_flag(root, "oneway", &oneway) < 0 ||
            (more && oneway)) {
                r = -EBADMSG;
                goto fail;
        }

        call = calloc(1, sizeof *call);
        if (!call) {
                r = -ENOMEM;
                goto fail;
        }
        *call = (VarlinkCall) {
                .n_ref = 1,
                .connection = c,
                .next = c->calls,
                .root = TAKE_PTR(root),
                .parameters = parameters,
                .method = method,
                .more = more,
                .oneway = oneway,
                .fds = TAKE_PTR(owned),
                .n_fds = n_fds,
        };
        if (c->calls)
                c->calls->prev = call;
        c->calls = call;
        *ret = call;
        return 0;

fail:
        close_many(fds, n_fds);
        return r;
}

const char *varlink_call_method(VarlinkCall *call) {
        return call->method;
}

bool varlink_call_more(VarlinkCall *call) {
        return call->more;
}

bool varlink_call_oneway(VarlinkCall *call) {
        return call->oneway;
}

bool varlink_call_finished(VarlinkCall *call) {
        return call->finished;
}

VarlinkConnection *varlink_call_connection(VarlinkCall *call) {
        return call->connection;
}

size_t varlink_call_n_fds(VarlinkCall *call) {
        return call->n_fds;
}

int varlink_call_take_fd(VarlinkCall *call, size_t index) {
        if (index >= call->n_fds || call->fds[index] < 0)
                return -EBADF;
        return TAKE_FD(call->fds[index]);
}

void varlink_call_set_cancel_handler(VarlinkCall *call,
                                     void (*fn)(VarlinkCall *call, void *userdata),
                                     void *userdata) {
        call->cancel = fn;
        call->cancel_userdata = userdata;
}

/* Ends the call: the connection drops its reference and moves on to the
 * next queued message from the event loop (not from here, so that handlers
 * never run nested inside one another). */
static void call_finish(VarlinkCall *call) {
        VarlinkConnection *c = call->connection;

        call->finished = true;
        if (c && c->current == call) {
                c->current = NULL;
                connection_schedule(c);
                varlink_call_unref(call);
        }
}

/* 1: go ahead and send; 0: nothing to send (oneway, already ended);
 * -ENOTCONN: the peer is gone. */
static int call_can_send(VarlinkCall *call) {
        if (call->cancelled)
                return -ENOTCONN;
        if (call->finished || call->oneway)
                return 0;
        if (!call->connection || call->connection->dead)
                return -ENOTCONN;
        return 1;
}

static int connection_enqueue(VarlinkConnection *c, const char *data, size_t size);

static int call_send(VarlinkCall *call, const char *error, const char *parameters, bool continues) {
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *text = NULL;
        int r;

        if (!g)
                return -ENOMEM;
        json_gen_open(g);
        if (error)
                json_gen_kv_string(g, "error", error);
        json_gen_key(g, "parameters");
        json_gen_raw(g, parameters ?: "{}");
        if (continues)
                json_gen_kv_bool(g, "continues", true);
        json_gen_close(g);
        r = json_gen_take(g, &text);
        if (r < 0)
                return r;

        /* The terminating NUL is the message delimiter. */
        return connection_enqueue(call->connection, text, strlen(text) + 1);
}

int varlink_call_reply(VarlinkCall *call, const char *parameters, bool continues) {
        int r;

        if (continues && !call->more)
                return -EINVAL;
        r = call_can_send(call);
        if (r <= 0)
                return r;
        if (continues && call->connection->output_end - call->connection->output_start > VARLINK_STREAM_BACKLOG_MAX)
                return -ENOBUFS;
        r = call_send(call, NULL, parameters, continues);
        if (r < 0)
                return r;
        if (!continues)
                call_finish(call);
        return 0;
}

int varlink_call_error(VarlinkCall *call, const char *error, const char *parameters) {
        int r;

        if (!error || !*error)
                return -EINVAL;
        r = call_can_send(call);
        if (r <= 0)
                return r;
        r = call_send(call, error, parameters, false);
        if (r < 0)
                return r;
        call_finish(call);
        return 0;
}

int varlink_call_error_strings(VarlinkCall *call, const char *error, const char *key1, const char *value1,
                               const char *key2, const char *value2) {
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *text = NULL;
        int r;

        if (!g)
                return -ENOMEM;
        json_gen_open(g);
        json_gen_kv_string(g, key1, value1);
        if (key2)
                json_gen_kv_string(g, key2, value2);
        json_gen_close(g);
        r = json_gen_take(g, &text);
        if (r < 0)
                return r;
        return varlink_call_error(call, error, text);
}

static int call_error_string(VarlinkCall *call, const char *error, const char *key, const char *value) {
        return varlink_call_error_strings(call, error, key, value, NULL, NULL);
}

int varlink_call_error_invalid_parameter(VarlinkCall *call, const char *name) {
        return call_error_string(call, VARLINK_ERROR_INVALID_PARAMETER, "parameter", name);
}

/* ---- interfaces -------------------------------------------------------- */

static bool is_name_char(char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
               (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';
}

/* Reads just enough of an IDL text: the "interface NAME" declaration and
 * the names of "method NAME(" declarations. Comments run from '#' to the end
 * of the line. A member called "method" ("method: string") is not a
 * declaration because no name and '(' follow it. */
static int idl_parse(const char *text, char **ret_name, char ***ret_methods) {
        _cleanup_free_ char *clean = strdup(text), *name = NULL;
        _cleanup_strv_free_ char **methods = NULL;
        char *p;
        int r;

        if (!clean)
                return -ENOMEM;
        for (p = clean; *p; )
                if (*p == '#') {
                        size_t k = strcspn(p, "\n");
                        memset(p, ' ', k);
                        p += k;
                } else
                        p++;

        methods = calloc(1, sizeof(char *));
        if (!methods)
                return -ENOMEM;

        for (p = clean; *p; ) {
                const char *w, *n;
                size_t wl, nl;

                while (*p && !is_name_char(*p))
                        p++;
                w = p;
                while (is_name_char(*p))
                        p++;
                wl = (size_t) (p - w);
                if (wl == 0)
                        break;
                /* A keyword must stand on its own, not end a longer token. */
                if (w > clean && !strchr(" \t\r\n", w[-1]))
                        continue;

                if (wl == strlen("interface") && strncmp(w, "interface", wl) == 0 && !name) {
                        n = p + strspn(p, " \t\r\n");
                        if (n == p)
                                continue;
                        nl = 0;
                        while (is_name_char(n[nl]))
                                nl++;
                        if (nl == 0 || !memchr(n, '.', nl))
                                return -EINVAL;
                        name = strndup(n, nl);
                        if (!name)
                                return -ENOMEM;
                        p = (char *) n + nl;
                } else if (wl == strlen("method") && strncmp(w, "method", wl) == 0) {
                        const char *q;

                        n = p + strspn(p, " \t\r\n");
                        if (n == p)
                                continue;
                        nl = 0;
                        while (is_name_char(n[nl]))
                                nl++;
                        if (nl == 0)
                                continue;
                        q = n + nl + strspn(n + nl, " \t\r\n");
                        if (*q != '(')
                                continue;
                        r = strv_consume(&methods, strndup(n, nl));
                        if (r < 0)
                                return r;
                        p = (char *) q;
                }
        }

        if (!name)
                return -EINVAL;
        *ret_name = TAKE_PTR(name);
        *ret_methods = TAKE_PTR(methods);
        return 0;
}

static VarlinkInterface *interface_free(VarlinkInterface *i) {
        if (!i)
                return NULL;
        for (size_t k = 0; k < i->n_methods; k++)
                free((char *) i->methods[k].name);
        free(i->methods);
        strv_free(i->declared);
        free(i->description);
        free(i->name);
        free(i);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkInterface *, interface_free);

static VarlinkInterface *server_find_interface(VarlinkServer *s, const char *name, size_t len) {
        for (size_t k = 0; k < s->n_interfaces; k++)
                if (strlen(s->interfaces[k]->name) == len && strncmp(s->interfaces[k]->name, name, len) == 0)
                        return s->interfaces[k];
        return NULL;
}

int varlink_server_add_interface(VarlinkServer *s, const char *description,
                                 const VarlinkMethod *methods, void *userdata) {
        _cleanup_(interface_freep) VarlinkInterface *i = NULL;
        VarlinkInterface **a;
        size_t n = 0;
        int r;

        if (!description)
                return -EINVAL;
        i = calloc(1, sizeof *i);
        if (!i)
                return -ENOMEM;
        r = idl_parse(description, &i->name, &i->declared);
        if (r < 0)
                return r;
        if (streq(i->name, SERVICE_INTERFACE) || server_find_interface(s, i->name, strlen(i->name)))
                return -EEXIST;
        i->description = strdup(description);
        if (!i->description)
                return -ENOMEM;

        while (methods && methods[n].name)
                n++;
        i->methods = calloc(n + 1, sizeof(VarlinkMethod));
        if (!i->methods)
                return -ENOMEM;
        for (; i->n_methods < n; i->n_methods++) {
                if (!methods[i->n_methods].fn)
                        return -EINVAL;
                i->methods[i->n_methods].fn = methods[i->n_methods].fn;
                i->methods[i->n_methods].name = strdup(methods[i->n_methods].name);
                if (!i->methods[i->n_methods].name)
                        return -ENOMEM;
        }
        i->userdata = userdata;

        a = realloc(s->interfaces, (s->n_interfaces + 1) * sizeof(VarlinkInterface *));
        if (!a)
                return -ENOMEM;
        s->interfaces = a;
        s->interfaces[s->n_interfaces++] = TAKE_PTR(i);
        return 0;
}

/* ---- built-in org.varlink.service ----------------------------------------- */

static int service_get_info(VarlinkServer *s, VarlinkCall *call) {
        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *text = NULL;
        int r;

        if (!g)
                return -ENOMEM;
        json_gen_open(g);
        json_gen_kv_string(g, "vendor", s->vendor);
        json_gen_kv_string(g, "product", s->product);
        json_gen_kv_string(g, "version", s->version);
        json_gen_kv_string(g, "url", s->url);
        json_gen_key(g, "interfaces");
        json_gen_array_open(g);
        json_gen_string(g, SERVICE_INTERFACE);
        for (size_t k = 0; k < s->n_interfaces; k++)
                json_gen_string(g, s->interfaces[k]->name);
        json_gen_array_close(g);
        json_gen_close(g);
        r = json_gen_take(g, &text);
        if (r < 0)
                return r;
        return varlink_call_reply(call, text, false);
}

static int service_get_interface_description(VarlinkServer *s, VarlinkCall *call) {
        const char *name = json_get_string(call->parameters, "interface"), *description = NULL;
        VarlinkInterface *i;

        if (!name)
                return varlink_call_error_invalid_parameter(call, "interface");
        if (streq(name, SERVICE_INTERFACE))
                description = service_description;
        else if ((i = server_find_interface(s, name, strlen(name))))
                description = i->description;
        if (!description)
                return call_error_string(call, VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface", name);

        _cleanup_json_gen_ yajl_gen g = json_gen_new();
        _cleanup_free_ char *text = NULL;
        int r;

        if (!g)
                return -ENOMEM;
        json_gen_open(g);
        json_gen_kv_string(g, "description", description);
        json_gen_close(g);
        r = json_gen_take(g, &text);
        if (r < 0)
                return r;
        return varlink_call_reply(call, text, false);
}

/* Routes a call; errors of the handlers become InternalError. The spec's
 * MethodNotFound/MethodNotImplemented carry "method: string" without saying
 * which form: like systemd we send the fully qualified name (varlink/go sends
 * the bare member name for MethodNotFound and the qualified one for
 * MethodNotImplemented; clients only display it). */
static void server_dispatch(VarlinkServer *s, VarlinkCall *call) {
        const char *method = call->method, *dot = strrchr(method, '.'), *member;
        VarlinkInterface *i;
        VarlinkMethodFn fn = NULL;
        size_t len;
        int r;

        if (!dot || dot == method || !dot[1]) {
                r = varlink_call_error_invalid_parameter(call, "method");
                goto finish;
        }
        len = (size_t) (dot - method);
        member = dot + 1;

        if (len == strlen(SERVICE_INTERFACE) && strncmp(method, SERVICE_INTERFACE, len) == 0) {
                if (streq(member, "GetInfo"))
                        r = service_get_info(s, call);
                else if (streq(member, "GetInterfaceDescription"))
                        r = service_get_interface_description(s, call);
                else
                        r = call_error_string(call, VARLINK_ERROR_METHOD_NOT_FOUND, "method", method);
                goto finish;
        }

        i = server_find_interface(s, method, len);
        if (!i) {
                _cleanup_free_ char *name = strndup(method, len);
                r = name ? call_error_string(call, VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface", name) : -ENOMEM;
                goto finish;
        }

        for (size_t k = 0; k < i->n_methods; k++)
                if (streq(i->methods[k].name, member)) {
                        fn = i->methods[k].fn;
                        break;
                }
        if (!fn) {
                r = call_error_string(call,
                                      strv_contains(i->declared, member) ? VARLINK_ERROR_METHOD_NOT_IMPLEMENTED
                                                                         : VARLINK_ERROR_METHOD_NOT_FOUND,
                                      "method", method);
                goto finish;
        }

        r = fn(call, call->parameters, i->userdata);

finish:
        if (r < 0 && !call->finished) {
                log_debug_errno(r, "Method %s failed: %m", method);
                (void) varlink_call_error(call, VARLINK_ERROR_INTERNAL, NULL);
        }
}

/* ---- connections ---------------------------------------------------------- */

static bool connection_output_pending(const VarlinkConnection *c) {
        return c->output_end > c->output_start;
}

/* Writes as much queued output as the socket takes. Marks the connection
 * dead when the peer is gone. */
static void connection_flush(VarlinkConnection *c) {
        while (connection_output_pending(c)) {
                ssize_t n = send(c->fd, c->output + c->output_start, c->output_end - c->output_start,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                c->dead = true;
                        break;
                }
                c->output_start += (size_t) n;
        }
        if (!connection_output_pending(c))
                c->output_start = c->output_end = 0;
}

static int connection_enqueue(VarlinkConnection *c, const char *data, size_t size) {
        size_t queued = c->output_end - c->output_start;

        if (queued + size > VARLINK_OUTPUT_MAX) {
                /* The peer does not read its replies; give up on it. */
                log_debug("Output queue of connection from pid %d is full, closing it.", (int) c->peer.pid);
                varlink_connection_close(c);
                return -ENOBUFS;
        }
        if (c->output_end + size > c->output_alloc) {
                size_t want;
                char *p;

                if (c->output_start > 0)
                        memmove(c->output, c->output + c->output_start, queued);
                c->output_start = 0;
                c->output_end = queued;
                want = c->output_alloc * 2;
                if (want < queued + size)
                        want = queued + size;
                if (want > c->output_alloc) {
                        p = realloc(c->output, want);
                        if (!p)
                                return -ENOMEM;
                        c->output = p;
                        c->output_alloc = want;
                }
        }
        memcpy(c->output + c->output_end, data, size);
        c->output_end += size;

        /* Most replies fit into the socket right away; EPOLLOUT handles the rest. */
        connection_flush(c);
        if (c->dead) {
                connection_schedule(c);
                return -ENOTCONN;
        }
        return 0;
}

static void connection_schedule(VarlinkConnection *c) {
        (void) sd_event_source_set_enabled(c->defer, SD_EVENT_ONESHOT);
}

/* Parses and serves queued messages, one call at a time. A new call waits
 * until the replies before it left the output queue, so a peer that does
 * not read cannot make us queue without bound. */
static void connection_process(VarlinkConnection *c) {
        while (!c->dead && !c->current && !connection_output_pending(c)) {
                _cleanup_(varlink_call_unrefp) VarlinkCall *call = NULL;
                int *fds;
                size_t len, n_fds;
                char *text;
                int r;

                r = reader_next(&c->input, &text, &len, &fds, &n_fds);
                if (r == 0)
                        break;
                if (r > 0) {
                        r = call_new(c, text, len, fds, n_fds, &call);
                        reader_shrink(&c->input);
                }
                if (r < 0) {
                        log_debug_errno(r, "Closing connection from pid %d after a malformed message: %m",
                                        (int) c->peer.pid);
                        c->dead = true;
                        break;
                }

                c->current = varlink_call_ref(call);
                server_dispatch(c->server, call);
                if (!call->finished)
                        call_release_message(call);

                if (call->oneway)
                        call_finish(call);
                else if (!call->finished && !c->dead && call->n_ref == 2) {
                        /* Only we and the connection hold it: the handler neither
                         * answered nor kept it, and nobody ever could. */
                        log_warning("Method %s neither answered nor kept its call.", call->method);
                        (void) varlink_call_error(call, VARLINK_ERROR_INTERNAL, NULL);
                }
        }
}

static bool connection_can_read(VarlinkConnection *c) {
        return !c->dead && !c->read_eof && !reader_has_message(&c->input);
}

/* Bytes of read buffer held for a uid's connections. */
static size_t server_uid_input(VarlinkServer *s, uid_t uid) {
        size_t n = 0;

        for (VarlinkConnection *c = s->connections; c; c = c->next)
                if (c->peer.uid == uid && !c->dead)
                        n += c->input.alloc;
        return n;
}

static void connection_read(VarlinkConnection *c) {
        int r;

        if (!connection_can_read(c))
                return;
        r = reader_read(&c->input, c->fd);
        if (r == -EAGAIN)
                return;
        if (r < 0) {
                log_debug_errno(r, "Closing connection from pid %d: %m", (int) c->peer.pid);
                c->dead = true;
        } else if (r == 0) {
                c->read_eof = true;
                if (reader_has_partial(&c->input)) {
                        log_debug("Closing connection from pid %d after a half-sent message.", (int) c->peer.pid);
                        c->dead = true;
                }
        } else if (!reader_has_message(&c->input) && c->input.scanned > VARLINK_MESSAGE_MAX) {
                log_debug("Closing connection from pid %d: message too long.", (int) c->peer.pid);
                c->dead = true;
        } else if (c->input.alloc > READ_CHUNK &&
                   server_uid_input(c->server, c->peer.uid) > VARLINK_INPUT_PER_UID_MAX) {
                log_info("uid %u holds more than %u MiB of unfinished messages: closing its connection from pid %d.",
                         (unsigned) c->peer.uid, VARLINK_INPUT_PER_UID_MAX >> 20, (int) c->peer.pid);
                c->dead = true;
        }
}

static void connection_disconnect(VarlinkConnection *c) {
        VarlinkServer *s = c->server;

        c->dead = true;
        if (c->current) {
                VarlinkCall *call = TAKE_PTR(c->current);

                call->finished = call->cancelled = true;
                if (call->cancel)
                        call->cancel(call, call->cancel_userdata);
                varlink_call_unref(call);
        }
        while (c->calls)
                call_detach(c->calls);

        if (s->disconnect)
                s->disconnect(s, c, s->disconnect_userdata);

        if (c->prev)
                c->prev->next = c->next;
        else
                s->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_connections--;

        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->defer);
        safe_close(c->fd);
        reader_done(&c->input);
        free(c->output);
        free(c->groups);
        free(c);

        if (s->resume_timer) {
                /* An fd was freed: try accepting again. */
                for (size_t k = 0; k < s->n_listeners; k++)
                        (void) sd_event_source_set_enabled(s->listeners[k], SD_EVENT_ON);
                s->resume_timer = sd_event_source_disable_unref(s->resume_timer);
        }
}

/* Called at the end of every event callback of a connection: tears it down
 * when it is done, else asks epoll for what it needs next. */
static void connection_settle(VarlinkConnection *c) {
        uint32_t events = 0;

        if (!c->dead && c->read_eof && !c->current &&
            !connection_output_pending(c) && !reader_has_message(&c->input))
                c->dead = true;
        if (c->dead) {
                connection_disconnect(c);
                return;
        }

        if (connection_can_read(c))
                events |= EPOLLIN;
        if (connection_output_pending(c))
                events |= EPOLLOUT;
        if (events != c->events && sd_event_source_set_io_events(c->io, events) >= 0)
                c->events = events;
}

static int connection_on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        VarlinkConnection *c = userdata;

        if (revents & EPOLLOUT)
                connection_flush(c);
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                connection_read(c);
        connection_process(c);

        /* Both directions are shut: whatever cannot be read anymore will
         * never be answered. */
        if ((revents & (EPOLLHUP | EPOLLERR)) && !connection_can_read(c))
                c->dead = true;

        connection_settle(c);
        return 0;
}

static int connection_on_defer(sd_event_source *source, void *userdata) {
        VarlinkConnection *c = userdata;

        connection_process(c);
        connection_settle(c);
        return 0;
}

static int peer_groups(int fd, gid_t **ret, size_t *ret_n) {
        socklen_t len = 64 * sizeof(gid_t);

        for (unsigned attempt = 0; attempt < 4; attempt++) {
                _cleanup_free_ gid_t *groups = malloc(len > 0 ? len : 1);
                socklen_t l = len;

                if (!groups)
                        return -ENOMEM;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &l) >= 0) {
                        *ret = TAKE_PTR(groups);
                        *ret_n = l / sizeof(gid_t);
                        return 0;
                }
                if (errno != ERANGE)
                        return negative_errno();
                /* The kernel told us the size it needs. */
                len = l;
        }
        return -ERANGE;
}

static unsigned server_uid_connections(VarlinkServer *s, uid_t uid) {
        unsigned n = 0;

        for (VarlinkConnection *c = s->connections; c; c = c->next)
                if (c->peer.uid == uid && !c->dead)
                        n++;
        return n;
}

static int connection_new(VarlinkServer *s, int fd) {
        _cleanup_close_ int owned = fd;
        VarlinkConnection *c;
        socklen_t l = sizeof(struct ucred);
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->server = s;
        c->fd = -1;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->peer, &l) < 0) {
                r = negative_errno();
                goto fail;
        }
        if (server_uid_connections(s, c->peer.uid) >= s->connections_per_uid_max) {
                log_debug("uid %u has %u connections open already, closing the new one.",
                          (unsigned) c->peer.uid, s->connections_per_uid_max);
                r = -EUSERS;
                goto fail;
        }
        r = peer_groups(fd, &c->groups, &c->n_groups);
        if (r < 0)
                goto fail;

        r = sd_event_add_io(s->event, &c->io, fd, EPOLLIN, connection_on_io, c);
        if (r < 0)
                goto fail;
        c->events = EPOLLIN;
        r = sd_event_add_defer(s->event, &c->defer, connection_on_defer, c);
        if (r < 0)
                goto fail;
        r = sd_event_source_set_enabled(c->defer, SD_EVENT_OFF);
        if (r < 0)
                goto fail;

        c->fd = TAKE_FD(owned);
        c->next = s->connections;
        if (s->connections)
                s->connections->prev = c;
        s->connections = c;
        s->n_connections++;
        return 0;

fail:
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->defer);
        free(c->groups);
        free(c);
        return r;
}

const struct ucred *varlink_connection_peer(VarlinkConnection *c) {
        return &c->peer;
}

size_t varlink_connection_peer_groups(VarlinkConnection *c, const gid_t **ret) {
        if (ret)
                *ret = c->groups;
        return c->n_groups;
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

int varlink_connection_peer_pidfd(VarlinkConnection *c) {
        socklen_t l = sizeof(int);
        int pidfd = -1;

        /* The socket keeps a reference to the peer's struct pid, not to its
         * number: asked at any time, this is still the process of connect(). */
        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &l) < 0)
                return negative_errno();
        return pidfd;
}

void *varlink_connection_get_userdata(VarlinkConnection *c) {
        return c->userdata;
}

void varlink_connection_set_userdata(VarlinkConnection *c, void *userdata) {
        c->userdata = userdata;
}

void varlink_connection_close(VarlinkConnection *c) {
        /* Torn down from the event loop, so that a handler may close the
         * connection of the call it is serving. */
        if (!c->dead) {
                c->dead = true;
                connection_schedule(c);
        }
}

/* ---- server -------------------------------------------------------------- */

int varlink_server_new(VarlinkServer **ret, sd_event *event,
                       const char *vendor, const char *product,
                       const char *version, const char *url) {
        _cleanup_(varlink_server_freep) VarlinkServer *s = NULL;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        if (event)
                s->event = sd_event_ref(event);
        else {
                r = sd_event_default(&s->event);
                if (r < 0)
                        return r;
        }
        s->connections_per_uid_max = VARLINK_CONNECTIONS_PER_UID_MAX;
        s->vendor = strdup(vendor ?: "");
        s->product = strdup(product ?: "");
        s->version = strdup(version ?: "");
        s->url = strdup(url ?: "");
        if (!s->vendor || !s->product || !s->version || !s->url)
                return -ENOMEM;

        *ret = TAKE_PTR(s);
        return 0;
}

VarlinkServer *varlink_server_free(VarlinkServer *s) {
        if (!s)
                return NULL;
        while (s->connections)
                connection_disconnect(s->connections);
        for (size_t k = 0; k < s->n_listeners; k++)
                sd_event_source_disable_unref(s->listeners[k]);
        free(s->listeners);
        sd_event_source_disable_unref(s->resume_timer);
        for (size_t k = 0; k < s->n_interfaces; k++)
                interface_free(s->interfaces[k]);
        free(s->interfaces);
        free(s->vendor);
        free(s->product);
        free(s->version);
        free(s->url);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

static int server_on_resume(sd_event_source *source, uint64_t usec, void *userdata) {
        VarlinkServer *s = userdata;

        for (size_t k = 0; k < s->n_listeners; k++)
                (void) sd_event_source_set_enabled(s->listeners[k], SD_EVENT_ON);
        s->resume_timer = sd_event_source_disable_unref(s->resume_timer);
        return 0;
}

/* Out of fds or memory: a level-triggered listener would spin, so stop
 * accepting until a connection goes away or a second passed. */
static void server_pause_accept(VarlinkServer *s) {
        if (s->resume_timer)
                return;
        if (sd_event_add_time_relative(s->event, &s->resume_timer, CLOCK_MONOTONIC,
                                       1000000, 0, server_on_resume, s) < 0)
                return;
        for (size_t k = 0; k < s->n_listeners; k++)
                (void) sd_event_source_set_enabled(s->listeners[k], SD_EVENT_OFF);
}

static int server_on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        VarlinkServer *s = userdata;
        int cfd, r;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                /* The peer gave up before we got to it, or a signal: not our problem. */
                if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                        return 0;
                log_warning_errno(errno, "Failed to accept a varlink connection, pausing: %m");
                server_pause_accept(s);
                return 0;
        }
        r = connection_new(s, cfd);
        if (r < 0 && r != -EUSERS)      /* over the per-uid limit: logged at debug level */
                log_warning_errno(r, "Failed to set up a varlink connection: %m");
        return 0;
}

int varlink_server_listen_fd(VarlinkServer *s, int fd) {
        _cleanup_close_ int owned = fd;
        sd_event_source **a, *source = NULL;
        int flags, r;

        if (fd < 0)
                return -EBADF;
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return negative_errno();

        a = realloc(s->listeners, (s->n_listeners + 1) * sizeof(sd_event_source *));
        if (!a)
                return -ENOMEM;
        s->listeners = a;

        r = sd_event_add_io(s->event, &source, fd, EPOLLIN, server_on_accept, s);
        if (r < 0)
                return r;
        r = sd_event_source_set_io_fd_own(source, true);
        if (r < 0) {
                sd_event_source_disable_unref(source);
                return r;
        }
        TAKE_FD(owned);
        s->listeners[s->n_listeners++] = source;
        return 0;
}

static int sockaddr_un_from_path(struct sockaddr_un *sa, socklen_t *ret_len, const char *path) {
        size_t l = strlen(path);

        if (l == 0 || l >= sizeof sa->sun_path)
                return -EINVAL;
        *sa = (struct sockaddr_un) { .sun_family = AF_UNIX };
        memcpy(sa->sun_path, path, l);
        *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + l + 1);
        return 0;
}

/* Removes a socket file nobody listens on; -EADDRINUSE when somebody does,
 * -EEXIST when the path is something else than a socket. */
static int unlink_stale_socket(const struct sockaddr_un *sa, socklen_t len) {
        _cleanup_close_ int probe = -1;
        struct stat st;

        if (lstat(sa->sun_path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (probe < 0)
                return negative_errno();
        if (connect(probe, (const struct sockaddr *) sa, len) >= 0 || errno == EAGAIN)
                return -EADDRINUSE;
        if (unlink(sa->sun_path) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

int varlink_server_listen_unix(VarlinkServer *s, const char *path, mode_t mode) {
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa;
        socklen_t len;
        int r;

        r = sockaddr_un_from_path(&sa, &len, path);
        if (r < 0)
                return r;
        r = unlink_stale_socket(&sa, len);
        if (r < 0)
                return r;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        /* bind() creates the file with the socket inode's mode minus the
         * umask: never wider than `mode`, set exactly right after. */
        (void) fchmod(fd, mode);
        if (bind(fd, (const struct sockaddr *) &sa, len) < 0)
                return negative_errno();
        if (chmod(path, mode) < 0 || listen(fd, SOMAXCONN) < 0) {
                r = negative_errno();
                (void) unlink(path);
                return r;
        }
        return varlink_server_listen_fd(s, TAKE_FD(fd));
}

void varlink_server_set_disconnect_handler(VarlinkServer *s,
                                           void (*fn)(VarlinkServer *s, VarlinkConnection *c, void *userdata),
                                           void *userdata) {
        s->disconnect = fn;
        s->disconnect_userdata = userdata;
}

unsigned varlink_server_n_connections(VarlinkServer *s) {
        return s->n_connections;
}

void varlink_server_set_connections_per_uid_max(VarlinkServer *s, unsigned max) {
        s->connections_per_uid_max = max;
}

/* ---- client ---------------------------------------------------------------- */

struct VarlinkClient {
        int fd;
        MessageReader input;
};

int varlink_client_new_fd(VarlinkClient **ret, int fd) {
        VarlinkClient *c;

        if (fd < 0)
                return -EBADF;
        c = calloc(1, sizeof *c);
        if (!c) {
                safe_close(fd);
                return -ENOMEM;
        }
        c->fd = fd;
        *ret = c;
        return 0;
}

int varlink_client_connect_unix(VarlinkClient **ret, const char *path) {
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa;
        socklen_t len;
        int r;

        r = sockaddr_un_from_path(&sa, &len, path);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (const struct sockaddr *) &sa, len) < 0)
                return negative_errno();
        return varlink_client_new_fd(ret, TAKE_FD(fd));
}

VarlinkClient *varlink_client_free(VarlinkClient *c) {
        if (!c)
                return NULL;
        safe_close(c->fd);
        reader_done(&c->input);
        free(c);
        return NULL;
}

int varlink_client_fd(VarlinkClient *c) {
        return c->fd;
}

/* Writes all of data; the fds go with the first sendmsg() only, which is
 * what makes them arrive with the first byte of the message. */
static int send_all(int fd, const char *data, size_t size, const int *fds, size_t n_fds) {
        while (size > 0) {
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof(int) * VARLINK_FDS_MAX)];
                } control = {};
                struct iovec iov = { (void *) data, size };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t n;

                if (n_fds > 0) {
                        struct cmsghdr *cmsg;

                        mh.msg_control = &control;
                        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                        cmsg = CMSG_FIRSTHDR(&mh);
                        cmsg->cmsg_level = SOL_SOCKET;
                        cmsg->cmsg_type = SCM_RIGHTS;
                        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * n_fds);
                }

                n = sendmsg(fd, &mh, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd p = { .fd = fd, .events = POLLOUT };
                                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                                        return negative_errno();
                                continue;
                        }
                        return negative_errno();
                }
                n_fds = 0;
                data += n;
                size -= (size_t) n;
        }
        return 0;
}

int varlink_client_send(VarlinkClient *c, const char *method, const char *parameters,
                        unsigned flags, const int *fds, size_t n_fds) {
        _cleanup_json_gen_ yajl_gen g = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        if (!method || (flags & ~(unsigned) (VARLINK_CALL_MORE | VARLINK_CALL_ONEWAY)) ||
            ((flags & VARLINK_CALL_MORE) && (flags & VARLINK_CALL_ONEWAY)) ||
            n_fds > VARLINK_FDS_MAX || (n_fds > 0 && !fds))
                return -EINVAL;

        g = json_gen_new();
        if (!g)
                return -ENOMEM;
        json_gen_open(g);
        json_gen_kv_string(g, "method", method);
        json_gen_key(g, "parameters");
        json_gen_raw(g, parameters ?: "{}");
        if (flags & VARLINK_CALL_MORE)
                json_gen_kv_bool(g, "more", true);
        if (flags & VARLINK_CALL_ONEWAY)
                json_gen_kv_bool(g, "oneway", true);
        json_gen_close(g);
        r = json_gen_take(g, &text);
        if (r < 0)
                return r;
        /* What the server would drop unanswered: say so here instead. */
        len = strlen(text);
        if (len > VARLINK_MESSAGE_MAX || !message_is_safe(text, len))
                return -EMSGSIZE;

        return send_all(c->fd, text, len + 1, fds, n_fds);
}

void varlink_reply_done(VarlinkReply *r) {
        if (!r)
                return;
        yajl_tree_free(r->root);
        close_many(r->fds, r->n_fds);
        free(r->fds);
        *r = (VarlinkReply) {};
}

/* Takes the fds (closed on failure). */
static int reply_parse(const char *text, size_t len, int *fds, size_t n_fds, VarlinkReply *ret) {
        _cleanup_free_ int *owned = fds;
        _cleanup_json_ yajl_val root = NULL;
        yajl_val parameters, error;
        bool continues;
        int r;

        r = message_parse(text, len, &root);
        if (r < 0)
                goto fail;
        parameters = message_get_object(root, "parameters");
        error = json_get(root, "error");
        r = message_get_flag(root, "continues", &continues);
        if (r < 0 || !parameters || (error && !YAJL_IS_STRING(error) && !YAJL_IS_NULL(error))) {
                r = -EBADMSG;
                goto fail;
        }

        *ret = (VarlinkReply) {
                .parameters = parameters,
                .error = YAJL_IS_STRING(error) ? error->u.string : NULL,
                .continues = continues,
                .fds = TAKE_PTR(owned),
                .n_fds = n_fds,
        };
        ret->root = TAKE_PTR(root);
        return 0;

fail:
        close_many(fds, n_fds);
        return r;
}

static uint64_t now_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000U + (uint64_t) ts.tv_nsec / 1000000U;
}

int varlink_client_read(VarlinkClient *c, VarlinkReply *ret, int timeout_ms) {
        uint64_t deadline = timeout_ms > 0 ? now_msec() + (uint64_t) timeout_ms : 0;

        for (;;) {
                struct pollfd p = { .fd = c->fd, .events = POLLIN };
                int *fds, wait = timeout_ms, r;
                size_t len, n_fds;
                char *text;

                r = reader_next(&c->input, &text, &len, &fds, &n_fds);
                if (r < 0)
                        return r;
                if (r > 0)
                        return reply_parse(text, len, fds, n_fds, ret);

                if (timeout_ms > 0) {
                        uint64_t now = now_msec();
                        wait = now >= deadline ? 0 : (int) (deadline - now);
                }
                r = poll(&p, 1, wait);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (r == 0)
                        return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;

                r = reader_read(&c->input, c->fd);
                if (r == -EAGAIN)
                        continue;
                if (r < 0)
                        return r;
                if (r == 0)
                        return -ECONNRESET;
        }
}

int varlink_client_call(VarlinkClient *c, const char *method, const char *parameters,
                        VarlinkReply *ret) {
        int r;

        r = varlink_client_send(c, method, parameters, 0, NULL, 0);
        if (r < 0)
                return r;
        return varlink_client_read(c, ret, -1);
}
