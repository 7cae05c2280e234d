/*
 * A request from a REQ peer, held until it is answered: its bytes as they
 * came (the route, then the body) and a reference to its connection. The
 * reply goes back along the same route, in any order and at any time; if
 * the connection has closed by then, the reply is dropped, as the peer
 * can no longer take it.
 */
#include <stdlib.h>
#include <string.h>

#include "sp_conn.h"
#include "sp_request.h"
#include "xmalloc.h"

/*
 * Replies a peer may leave unread before its connection is closed: a
 * client that sends requests and never reads the answers would otherwise
 * grow the daemon without bound. A single reply of any size still goes.
 */
#define SP_REQUEST_UNREAD_MAX	(64 * 1024 * 1024)

struct sp_request {
	struct sp_conn	*conn;		/* a reference */
	unsigned char	*data;		/* route, then body */
	size_t		 route;
	size_t		 len;
	uint64_t	 over;		/* a body over the limit, not kept */
};

/* A request of len bytes, the first route of them its route (data: ours). */
struct sp_request *
sp_request_create(struct sp_conn *conn, unsigned char *data, size_t route,
    size_t len)
{
	struct sp_request	*r;

	r = xcalloc(1, sizeof *r);
	sp_conn_ref(conn);
	r->conn = conn;
	r->data = data;
	r->route = route;
	r->len = len;
	return (r);
}

/*
 * The request was over the receive limit: only its route was kept, and
 * this was its length, for the reply that says so.
 */
void
sp_request_set_over(struct sp_request *r, uint64_t len)
{
	r->over = len;
}

/* The length of a request over the receive limit, or 0. */
uint64_t
sp_request_over(struct sp_request *r)
{
	return (r->over);
}

/* The request without its route. */
const char *
sp_request_body(struct sp_request *r, size_t *len)
{
	*len = r->len - r->route;
	return ((const char *)r->data + r->route);
}

/* Whether two requests came along the same route (a resent copy). */
int
sp_request_same_route(struct sp_request *a, struct sp_request *b)
{
	return (a->conn == b->conn && a->route == b->route &&
	    memcmp(a->data, b->data, a->route) == 0);
}

/* The credentials of the peer that sent it (ipc): 0, or -1. */
int
sp_request_peer(struct sp_request *r, struct sp_peer *peer)
{
	return (sp_conn_peer(r->conn, peer));
}

/* Whether the peer that sent it is on loopback (tcp and tls+tcp). */
int
sp_request_peer_loopback(struct sp_request *r)
{
	return (sp_conn_peer_loopback(r->conn));
}

/* Answer with body along the request's route; the request is freed. */
void
sp_request_reply(struct sp_request *r, const char *body, size_t len)
{
	if (sp_conn_queued(r->conn) > SP_REQUEST_UNREAD_MAX)
		sp_conn_close(r->conn, "the peer leaves its replies unread");
	else
		(void)sp_conn_send(r->conn, r->data, r->route, body, len);
	sp_request_free(r);
}

void
sp_request_free(struct sp_request *r)
{
	if (r == NULL)
		return;
	sp_conn_unref(r->conn);
	free(r->data);
	free(r);
}
