/* One SP connection a listener took: header, frames, whole messages. */
#ifndef SP_CONN_H
#define SP_CONN_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "sp_wire.h"

/* What is kept of a message over the limit: a route of the most hops. */
#define SP_CONN_OVER_HEAD	((SP_HOPS_MAX + 1) * 4)

struct event_base;
struct sp_conn;
struct ssl_ctx_st;

/* Who is at the other end of an ipc connection. */
struct sp_peer {
	uid_t	uid;
	gid_t	gid;
	pid_t	pid;
};

/* A whole message arrived: its bytes (NUL-terminated) are the callee's. */
typedef void	 sp_conn_msg_cb(struct sp_conn *, unsigned char *, size_t,
		    void *);
/*
 * A message over the receive limit was read and thrown away as it came:
 * its first bytes (at most SP_CONN_OVER_HEAD; a request's route) and its
 * length. The bytes are the connection's.
 */
typedef void	 sp_conn_over_cb(struct sp_conn *, const unsigned char *,
		    size_t, uint64_t, void *);
/* The connection has closed (once): the callee drops its reference. */
typedef void	 sp_conn_closed_cb(struct sp_conn *, void *);

/* What every connection of one endpoint speaks, and its callbacks. */
struct sp_conn_cfg {
	int			 ipc;		/* ipc framing, else tcp */
	unsigned int		 proto;		/* ours */
	unsigned int		 peer_proto;	/* the only one we talk to */
	size_t			 rcvmax;	/* larger: over_cb, or closed */
	struct ssl_ctx_st	*tls;		/* TLS (tls+tcp), or NULL */
	sp_conn_msg_cb		*msg_cb;
	sp_conn_over_cb		*over_cb;	/* or NULL */
	sp_conn_closed_cb	*closed_cb;
};

struct sp_conn	*sp_conn_create(struct event_base *, int,
		    const struct sp_conn_cfg *, void *);
void		 sp_conn_ref(struct sp_conn *);
void		 sp_conn_unref(struct sp_conn *);
void		 sp_conn_close(struct sp_conn *, const char *);
int		 sp_conn_is_open(struct sp_conn *);
size_t		 sp_conn_queued(struct sp_conn *);
int		 sp_conn_send(struct sp_conn *, const void *, size_t,
		    const void *, size_t);
int		 sp_conn_peer(struct sp_conn *, struct sp_peer *);
int		 sp_conn_peer_loopback(struct sp_conn *);

#endif
