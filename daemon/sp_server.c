/*
 * The daemon's SP endpoints, wire-compatible with nanomsg and NNG peers
 * (REQ clients on the control endpoint, SUB clients on the events one),
 * served on the daemon's own loop: no thread, no queue between a socket
 * and the code that answers it.
 *
 * REP is raw: each request goes up with its route and is answered when
 * its answer is known; a request that carries no request id closes its
 * connection, one that crossed more than SP_HOPS_MAX devices is dropped
 * (both as NNG does). PUB sends each event to every subscriber that
 * keeps up: one that has SP_SERVER_PUB_UNREAD bytes unread loses the
 * event; the daemon never waits for one.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "log.h"
#include "sp_listen.h"
#include "sp_server.h"
#include "sp_wire.h"
#include "xmalloc.h"

#define SP_SERVER_PUB_UNREAD	(8 * 1024 * 1024)

struct sp_server;

/* A connection the endpoint has taken, until it closes. */
struct sp_server_peer {
	struct sp_server		*server;
	struct sp_conn			*conn;
	TAILQ_ENTRY(sp_server_peer)	 entry;
};

struct sp_server {
	struct event_base		*base;
	struct sp_listen		*listen;
	struct sp_conn_cfg		 cfg;
	TAILQ_HEAD(, sp_server_peer)	 peers;
	size_t				 npeers;
	sp_server_cb			*cb;
	void				*arg;
};

static void
sp_server_accept_cb(int fd, void *arg)
{
	struct sp_server	*s = arg;
	struct sp_server_peer	*p;

	p = xcalloc(1, sizeof *p);
	p->server = s;
	TAILQ_INSERT_TAIL(&s->peers, p, entry);
	s->npeers++;
	p->conn = sp_conn_create(s->base, fd, &s->cfg, p);
}

static void
sp_server_closed_cb(struct sp_conn *conn, void *arg)
{
	struct sp_server_peer	*p = arg;

	TAILQ_REMOVE(&p->server->peers, p, entry);
	p->server->npeers--;
	sp_conn_unref(conn);
	free(p);
}

/* A message on the REP endpoint: a request with its route, or garbage. */
static void
sp_server_request_cb(struct sp_conn *conn, unsigned char *msg, size_t len,
    void *arg)
{
	struct sp_server_peer	*p = arg;
	struct sp_server	*s = p->server;
	long			 route = sp_route_len(msg, len);

	if (route == SP_ROUTE_GARBAGE) {
		free(msg);
		sp_conn_close(conn, "a request without a request id");
		return;
	}
	if (route == SP_ROUTE_TOO_LONG) {
		free(msg);
		log_debug("dropping a request that crossed over %d devices",
		    SP_HOPS_MAX);
		return;
	}
	s->cb(sp_request_create(conn, msg, (size_t)route, len), s->arg);
}

/*
 * A request over the receive limit was thrown away as it came: if its
 * first bytes hold a route, it goes up with the route alone, to be
 * answered that it was too large.
 */
static void
sp_server_over_cb(struct sp_conn *conn, const unsigned char *head,
    size_t nhead, uint64_t len, void *arg)
{
	struct sp_server_peer	*p = arg;
	struct sp_server	*s = p->server;
	struct sp_request	*r;
	unsigned char		*route;
	long			 n = sp_route_len(head, nhead);

	if (n == SP_ROUTE_GARBAGE) {
		sp_conn_close(conn, "a request without a request id");
		return;
	}
	if (n == SP_ROUTE_TOO_LONG) {
		log_debug("dropping a request that crossed over %d devices",
		    SP_HOPS_MAX);
		return;
	}
	route = xmalloc((size_t)n + 1);
	memcpy(route, head, (size_t)n);
	route[n] = '\0';
	r = sp_request_create(conn, route, (size_t)n, (size_t)n);
	sp_request_set_over(r, len);
	s->cb(r, s->arg);
}

/* Subscribers have nothing to say; what they send anyway is dropped. */
static void
sp_server_ignore_cb(struct sp_conn *conn, unsigned char *msg, size_t len,
    void *arg)
{
	(void)conn;
	(void)len;
	(void)arg;
	free(msg);
}

/*
 * Listen on url; a tls+tcp:// URL takes a TLS context and no other URL
 * does, so that no TLS endpoint ever speaks in clear.
 */
static struct sp_server *
sp_server_open(struct event_base *base, const char *url,
    const struct sp_conn_cfg *cfg, char **cause)
{
	struct sp_server	*s;
	int			 tls = strncmp(url, "tls+tcp://", 10) == 0;

	if (tls != (cfg->tls != NULL)) {
		xasprintf(cause, "%s: %s", url, tls ? "a tls+tcp:// endpoint "
		    "needs a certificate and key ([listen.NAME] with "
		    "tls_cert_file and tls_key_file)" : "TLS is only for "
		    "tls+tcp:// URLs");
		return (NULL);
	}
	s = xcalloc(1, sizeof *s);
	s->base = base;
	s->cfg = *cfg;
	s->cfg.ipc = endpoint_ipc_path(url) != NULL;
	s->cfg.closed_cb = sp_server_closed_cb;
	TAILQ_INIT(&s->peers);
	s->listen = sp_listen_open(base, url, sp_server_accept_cb, s, cause);
	if (s->listen == NULL) {
		free(s);
		return (NULL);
	}
	return (s);
}

/*
 * A raw REP endpoint on url: cb gets each request. A message over rcvmax
 * bytes is read and thrown away; cb gets its route alone, and its length
 * from sp_request_over, so that it can be answered. tls is the context
 * of a tls+tcp:// URL (the caller's, kept until sp_server_free), else
 * NULL.
 */
struct sp_server *
sp_server_rep(struct event_base *base, const char *url, size_t rcvmax,
    struct ssl_ctx_st *tls, sp_server_cb *cb, void *arg, char **cause)
{
	struct sp_conn_cfg	 cfg = { 0 };
	struct sp_server	*s;

	cfg.tls = tls;
	cfg.proto = SP_PROTO_REP;
	cfg.peer_proto = SP_PROTO_REQ;
	cfg.rcvmax = rcvmax;
	cfg.msg_cb = sp_server_request_cb;
	cfg.over_cb = sp_server_over_cb;
	if ((s = sp_server_open(base, url, &cfg, cause)) == NULL)
		return (NULL);
	s->cb = cb;
	s->arg = arg;
	return (s);
}

/* A PUB endpoint on url. */
struct sp_server *
sp_server_pub(struct event_base *base, const char *url, char **cause)
{
	struct sp_conn_cfg	 cfg = { 0 };

	cfg.proto = SP_PROTO_PUB;
	cfg.peer_proto = SP_PROTO_SUB;
	cfg.rcvmax = 64 * 1024;
	cfg.msg_cb = sp_server_ignore_cb;
	return (sp_server_open(base, url, &cfg, cause));
}

/*
 * Stop listening and close every connection. Requests still held keep
 * their connections (closed) until they are freed.
 */
void
sp_server_free(struct sp_server *s)
{
	struct sp_server_peer	*p;

	if (s == NULL)
		return;
	sp_listen_free(s->listen);
	while ((p = TAILQ_FIRST(&s->peers)) != NULL)
		sp_conn_close(p->conn, "the endpoint closed");
	free(s);
}

/* Send to every subscriber that keeps up; never waits. */
void
sp_server_publish(struct sp_server *s, const char *body, size_t len)
{
	struct sp_server_peer	*p;

	TAILQ_FOREACH(p, &s->peers, entry) {
		if (sp_conn_queued(p->conn) > SP_SERVER_PUB_UNREAD)
			continue;
		(void)sp_conn_send(p->conn, NULL, 0, body, len);
	}
}

/* Whether anyone is connected (events nobody reads need no encoding). */
int
sp_server_has_peers(struct sp_server *s)
{
	return (s->npeers > 0);
}
