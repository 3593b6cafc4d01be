#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "socks5-client.h"

#define USERPASS_VERSION 1      /* RFC 1929 sub-negotiation */

typedef enum State {
        STATE_SEND_GREETING,
        STATE_RECV_METHOD,
        STATE_SEND_AUTH,
        STATE_RECV_AUTH,
        STATE_SEND_REQUEST,
        STATE_RECV_REPLY,
        STATE_DONE,
        STATE_FAILED,
} State;

struct Socks5Client {
        State state;
        ProxyTarget target;
        char *username, *password;
        int rep;

        uint8_t out[1 + 1 + 255 + 1 + 255];     /* the largest message: RFC 1929 auth */
        size_t out_len, out_off;
        uint8_t in[4 + 1 + 255 + 2];            /* the largest reply: a domain */
        size_t in_len, in_need;
};

static void secret_free(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

Socks5Client *socks5_client_free(Socks5Client *c) {
        if (!c)
                return NULL;
        secret_free(c->username);
        secret_free(c->password);
        explicit_bzero(c, sizeof *c);   /* out[] may hold the password */
        free(c);
        return NULL;
}

int socks5_client_new(const ProxyTarget *target, const char *username, const char *password,
                      Socks5Client **ret) {
        _cleanup_socks5_client_ Socks5Client *c = NULL;

        if (!target || !ret || target->port == 0 || !!username != !!password)
                return -EINVAL;
        if (target->family == AF_UNSPEC && (target->host[0] == 0 || strlen(target->host) > 255))
                return -EINVAL;
        if (username && (strlen(username) == 0 || strlen(username) > 255 || strlen(password) == 0 ||
                         strlen(password) > 255))
                return -EINVAL;

        c = calloc(1, sizeof(Socks5Client));
        if (!c)
                return -ENOMEM;
        c->target = *target;
        c->rep = -1;
        if (username) {
                c->username = strdup(username);
                c->password = strdup(password);
                if (!c->username || !c->password)
                        return -ENOMEM;
        }

        c->out[0] = SOCKS5_VERSION;
        c->out[1] = 1;
        /* Offer exactly one method: with credentials configured, a proxy
         * that would take us without them is not the proxy we were told of. */
        c->out[2] = c->username ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NO_AUTH;
        c->out_len = 3;
        c->state = STATE_SEND_GREETING;

        *ret = TAKE_PTR(c);
        return 0;
}

static void prepare_send(Socks5Client *c, State state, size_t len) {
        c->state = state;
        c->out_len = len;
        c->out_off = 0;
}

static void prepare_recv(Socks5Client *c, State state, size_t need) {
        c->state = state;
        c->in_len = 0;
        c->in_need = need;
}

static void prepare_auth(Socks5Client *c) {
        size_t ul = strlen(c->username), pl = strlen(c->password), n = 0;

        c->out[n++] = USERPASS_VERSION;
        c->out[n++] = (uint8_t) ul;
        memcpy(c->out + n, c->username, ul);
        n += ul;
        c->out[n++] = (uint8_t) pl;
        memcpy(c->out + n, c->password, pl);
        n += pl;
        prepare_send(c, STATE_SEND_AUTH, n);
}

static void prepare_request(Socks5Client *c) {
        const ProxyTarget *t = &c->target;
        size_t n = 0;

        c->out[n++] = SOCKS5_VERSION;
        c->out[n++] = SOCKS5_CMD_CONNECT;
        c->out[n++] = 0;
        if (t->family == AF_INET) {
                c->out[n++] = SOCKS5_ATYP_IPV4;
                memcpy(c->out + n, t->addr, 4);
                n += 4;
        } else if (t->family == AF_INET6) {
                c->out[n++] = SOCKS5_ATYP_IPV6;
                memcpy(c->out + n, t->addr, 16);
                n += 16;
        } else {
                size_t hl = strlen(t->host);

                c->out[n++] = SOCKS5_ATYP_DOMAIN;
                c->out[n++] = (uint8_t) hl;
                memcpy(c->out + n, t->host, hl);
                n += hl;
        }
        c->out[n++] = (uint8_t) (t->port >> 8);
        c->out[n++] = (uint8_t) t->port;
        prepare_send(c, STATE_SEND_REQUEST, n);
}

static int rep_to_errno(uint8_t rep) {
        switch (rep) {
        case SOCKS5_REP_NOT_ALLOWED:
                return -EACCES;
        case SOCKS5_REP_NETWORK_UNREACHABLE:
                return -ENETUNREACH;
        case SOCKS5_REP_HOST_UNREACHABLE:
                return -EHOSTUNREACH;
        case SOCKS5_REP_CONNECTION_REFUSED:
                return -ECONNREFUSED;
        case SOCKS5_REP_TTL_EXPIRED:
                return -ETIMEDOUT;
        case SOCKS5_REP_COMMAND_NOT_SUPPORTED:
                return -EOPNOTSUPP;
        case SOCKS5_REP_ADDRESS_NOT_SUPPORTED:
                return -EAFNOSUPPORT;
        case SOCKS5_REP_GENERAL_FAILURE:
                return -ECONNABORTED;
        default:
                return -EPROTO;
        }
}

/* Handles a complete answer in c->in; returns 1 when done, 0 to go on, or
 * a negative errno. */
static int handle_answer(Socks5Client *c) {
        switch (c->state) {
        case STATE_RECV_METHOD:
                if (c->in[0] != SOCKS5_VERSION)
                        return -EPROTO;
                if (c->in[1] == SOCKS5_METHOD_NO_ACCEPTABLE)
                        return -EPERM;
                if (c->in[1] != c->out[2])      /* not the method we offered */
                        return -EPROTO;
                if (c->username)
                        prepare_auth(c);
                else
                        prepare_request(c);
                return 0;

        case STATE_RECV_AUTH:
                if (c->in[0] != USERPASS_VERSION)
                        return -EPROTO;
                if (c->in[1] != 0)
                        return -EPERM;
                prepare_request(c);
                return 0;

        case STATE_RECV_REPLY: {
                size_t total;

                if (c->in[0] != SOCKS5_VERSION || c->in[2] != 0)
                        return -EPROTO;
                c->rep = c->in[1];
                if (c->rep != SOCKS5_REP_SUCCEEDED)
                        return rep_to_errno(c->in[1]);
                switch (c->in[3]) {
                case SOCKS5_ATYP_IPV4:
                        total = 4 + 4 + 2;
                        break;
                case SOCKS5_ATYP_IPV6:
                        total = 4 + 16 + 2;
                        break;
                case SOCKS5_ATYP_DOMAIN:
                        total = 5 + (size_t) c->in[4] + 2;
                        break;
                default:
                        return -EPROTO;
                }
                if (c->in_len < total) {
                        c->in_need = total;     /* read the rest of BND.ADDR/PORT */
                        return 0;
                }
                c->state = STATE_DONE;
                return 1;
        }

        default:
                return -EINVAL;
        }
}

static int step(Socks5Client *c, int fd) {
        for (;;) {
                ssize_t n;
                int r;

                switch (c->state) {
                case STATE_SEND_GREETING:
                case STATE_SEND_AUTH:
                case STATE_SEND_REQUEST:
                        while (c->out_off < c->out_len) {
                                n = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
                                if (n < 0) {
                                        if (errno == EINTR)
                                                continue;
                                        if (errno == EAGAIN)
                                                return 0;
                                        return -errno;
                                }
                                c->out_off += (size_t) n;
                        }
                        /* Every message gets a 2-byte answer, except the
                         * request, whose reply we read 5 bytes of first: enough
                         * to know its length. */
                        if (c->state == STATE_SEND_GREETING)
                                prepare_recv(c, STATE_RECV_METHOD, 2);
                        else if (c->state == STATE_SEND_AUTH) {
                                explicit_bzero(c->out, sizeof c->out);
                                prepare_recv(c, STATE_RECV_AUTH, 2);
                        } else
                                prepare_recv(c, STATE_RECV_REPLY, 5);
                        break;

                case STATE_RECV_METHOD:
                case STATE_RECV_AUTH:
                case STATE_RECV_REPLY:
                        while (c->in_len < c->in_need) {
                                n = recv(fd, c->in + c->in_len, c->in_need - c->in_len, 0);
                                if (n < 0) {
                                        if (errno == EINTR)
                                                continue;
                                        if (errno == EAGAIN)
                                                return 0;
                                        return -errno;
                                }
                                if (n == 0)
                                        return -ECONNRESET;
                                c->in_len += (size_t) n;
                        }
                        r = handle_answer(c);
                        if (r != 0)
                                return r;
                        break;

                case STATE_DONE:
                        return 1;

                default:
                        return -EINVAL;
                }
        }
}

int socks5_client_step(Socks5Client *c, int fd) {
        int r;

        if (!c || fd < 0)
                return -EINVAL;
        if (c->state == STATE_FAILED)
                return -EINVAL;
        r = step(c, fd);
        if (r < 0)
                c->state = STATE_FAILED;
        return r;
}

uint32_t socks5_client_events(const Socks5Client *c) {
        switch (c->state) {
        case STATE_SEND_GREETING:
        case STATE_SEND_AUTH:
        case STATE_SEND_REQUEST:
                return EPOLLOUT;
        case STATE_RECV_METHOD:
        case STATE_RECV_AUTH:
        case STATE_RECV_REPLY:
                return EPOLLIN;
        default:
                return 0;
        }
}

int socks5_client_reply_code(const Socks5Client *c) {
        return c ? c->rep : -1;
}
