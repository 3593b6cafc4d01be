/* net-internal.h — what the network modules of one sandbox share (the
 * NetSandbox object and its connections); not for use outside
 * net-sandbox.c, net-conn.c, dns-server.c, tcp-capture.c, proxy-server.c.
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "dns-cache.h"
#include "dns-upstream.h"
#include "net-policy.h"
#include "net-sandbox.h"
#include "proxy-proto.h"
#include "ratelimit.h"
#include "relay.h"
#include "socks5-client.h"

/* Connections a sandbox may have open through the daemon at once (relayed
 * or in handshake); more are refused at accept. Each costs 6 fds. */
#define NET_MAX_CONNS 1024
/* How long a handshake (sniffing, proxy request, connecting out) may take. */
#define NET_HANDSHAKE_TIMEOUT_USEC (10 * 1000 * 1000ULL)
/* How long the transparent relay waits for a ClientHello or request head
 * before deciding with the DNS name alone (server-speaks-first protocols). */
#define NET_SNIFF_TIMEOUT_USEC (300 * 1000ULL)
#define NET_DNS_CACHE_SIZE 4096
/* How long a refused proxy client may go on sending before it is closed. */
#define NET_DRAIN_TIMEOUT_USEC (2 * 1000 * 1000ULL)

typedef enum NetListenerKind {
        NET_LISTEN_TCP,
        NET_LISTEN_DNS_UDP,
        NET_LISTEN_DNS_TCP,
        NET_LISTEN_HTTP,
        NET_LISTEN_SOCKS,
        _NET_LISTEN_MAX,
        /* One per port, after the fixed ones: */
        NET_LISTEN_LOCAL_OUT,   /* in the sandbox: allowLocalOutboundPorts → host loopback */
        NET_LISTEN_EXPOSE,      /* on the host: -p → the sandbox's loopback */
} NetListenerKind;

typedef struct NetListener {
        NetSandbox *ns;
        NetListenerKind kind;
        int family;
        int fd;
        uint16_t port;          /* LOCAL_OUT, EXPOSE: the port to connect to */
        sd_event_source *src;
} NetListener;

typedef struct NetConn NetConn;

typedef enum NetUpstreamKind {
        NET_UPSTREAM_NONE,
        NET_UPSTREAM_SOCKS5,    /* socks5://: the daemon's addresses are sent */
        NET_UPSTREAM_SOCKS5H,   /* socks5h://: names are sent, the proxy resolves */
        NET_UPSTREAM_HTTP,      /* http:// (fence): CONNECT, for defaultAction "proxy" only */
} NetUpstreamKind;

typedef struct NetUpstream {
        NetUpstreamKind kind;
        DnsAddress addr;
        uint16_t port;
        char *username, *password;
        bool default_proxy;     /* defaultAction "proxy": traffic matching no rule goes here */
} NetUpstream;

typedef enum NetRoute {
        NET_ROUTE_DENY,
        NET_ROUTE_DIRECT,
        NET_ROUTE_UPSTREAM,
} NetRoute;

#define NET_N_LISTENERS (_NET_LISTEN_MAX * 2)

struct NetSandbox {
        sd_event *event;
        NetPolicy *policy;
        DnsCache *cache;
        DnsUpstream *dns;
        int netns_fd;
        uid_t uid;              /* the caller, owner of the relay's outgoing sockets */
        gid_t gid;
        int diag_fd;            /* NETLINK_SOCK_DIAG inside the namespace */
        char *cgroup_path;
        net_event_t emit;
        void *userdata;
        NetListener listeners[NET_N_LISTENERS];
        const FenceConfig *config;      /* during net_sandbox_new() only */
        NetListener *local;     /* LOCAL_OUT and EXPOSE listeners */
        size_t n_local;
        int nflog_fd;
        sd_event_source *nflog_src;
        uint16_t http_port, socks_port;
        NetUpstream upstream;
        NetConn *conns;
        unsigned n_conns;
        /* Last reported violation, so a retry loop does not flood the log. */
        char last_report[NET_HOST_MAX + 32];
        uint64_t last_report_usec;
        /* Token bucket over all reports of the sandbox. */
        RateLimit report_limit;
        uint64_t reports_suppressed;
        sd_event_source *summary_timer;
};

typedef enum NetConnKind {
        NET_CONN_TRANSPARENT,
        NET_CONN_HTTP,
        NET_CONN_SOCKS,
        NET_CONN_DNS_TCP,
} NetConnKind;

/* How a connection's outbound attempt ended. */
typedef void (*net_connected_t)(NetConn *c, int error);

struct NetConn {
        NetSandbox *ns;
        NetConn *prev, *next;
        NetConnKind kind;
        int family;             /* of the listener */
        int client_fd, server_fd;
        sd_event_source *client_src, *server_src, *timer;
        struct sockaddr_storage peer;   /* the client's address (in the sandbox) */
        uint16_t local_port;            /* the listener port it connected to */
        int state;
        /* Handshake bytes (read, not peeked) and what to send the server
         * before relaying. */
        uint8_t *buf;
        size_t len;
        char *to_server;
        size_t to_server_len, to_server_off;
        /* The destination: name (or IP text) and port, and the addresses to
         * try in order. */
        ProxyTarget target;
        DnsAddress addrs[8];
        size_t n_addrs, next_addr;
        DnsPending *lookup;
        net_connected_t connected;
        bool connecting;
        bool to_loopback;       /* LOCAL_OUT: the host's loopback is the point */
        bool via_upstream;      /* through ns->upstream to target */
        Socks5Client *socks;
        char *up_head;          /* HTTP upstream: the CONNECT request, then waiting for its answer */
        size_t up_head_len, up_head_off;
        bool up_wait_answer;
        uint16_t connect_port;  /* the port connected to (target's, or the upstream's) */
        int connect_netns;      /* EXPOSE: connect from inside this namespace, else -1 */
        Relay *relay;
};

/* --- net-conn.c --- */
/* Loopback or unspecified (IPv4, IPv6, v4-mapped). */
bool net_addr_is_local(int family, const uint8_t *addr);
/* A connection the listener l accepted: client_fd from peer, in l's family.
 * Takes client_fd (closed on failure); -EMFILE beyond NET_MAX_CONNS. */
int net_conn_new(NetListener *l, NetConnKind kind, int client_fd, const struct sockaddr_storage *peer, NetConn **ret);
/* Waits for the client's first bytes (handler on events of client_fd) for
 * at most NET_HANDSHAKE_TIMEOUT_USEC; frees c on failure. */
int net_conn_start_handshake(NetConn *c, uint32_t events, sd_event_io_handler_t handler);
void net_conn_free(NetConn *c);
/* Closes the client with a TCP reset, then frees c. */
void net_conn_reset(NetConn *c);
int net_conn_set_timeout(NetConn *c, uint64_t usec);
/* Connects out from the host namespace to c->target (resolving a name
 * through the sandbox's upstream DNS, or to c->addrs when n_addrs > 0),
 * sends c->to_server, then calls c->connected. */
void net_conn_connect(NetConn *c, net_connected_t connected);
/* Hands both sockets to a relay; c stays as the relay's owner. */
void net_conn_relay(NetConn *c);
/* Writes a short reply to the client (a proxy status); -EAGAIN counts as
 * failure: the socket is fresh and its buffer empty. */
int net_conn_reply(NetConn *c, const void *data, size_t len);

/* --- net-sandbox.c --- */
/* Reports a refused destination: event "network"/"denied" (or "dns"),
 * naming host, port, the rule or missing rule, and the process. */
void net_report_denied(NetSandbox *ns, const char *source, const char *via, const NetConn *c,
                       const struct sockaddr_storage *peer, int protocol, const char *host, uint16_t port,
                       const NetVerdict *v, const char *why);
/* Whether host:port may be reached; fills *v. */
bool net_check(NetSandbox *ns, const char *host, uint16_t port, NetVerdict *v);
/* Whether and how host:port is reached (port 0: a name for DNS): denied,
 * directly, or through the upstream proxy. Fills *v. */
NetRoute net_route(NetSandbox *ns, const char *host, uint16_t port, NetVerdict *v);

/* --- per listener kind --- */
int dns_server_on_udp(NetListener *l);
int dns_server_on_tcp(NetListener *l, int fd, const struct sockaddr_storage *peer);
int tcp_capture_on_accept(NetListener *l, int fd, const struct sockaddr_storage *peer);
int proxy_server_on_http(NetListener *l, int fd, const struct sockaddr_storage *peer);
int proxy_server_on_socks(NetListener *l, int fd, const struct sockaddr_storage *peer);
int net_local_on_accept(NetListener *l, int fd, const struct sockaddr_storage *peer);
