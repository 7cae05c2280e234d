/*
 * The daemon's SP endpoints: a raw REP endpoint whose requests are
 * answered in any order (sp_request.h), and a PUB endpoint for events.
 */
#ifndef SP_SERVER_H
#define SP_SERVER_H

#include <stddef.h>

#include "sp_conn.h"
#include "sp_request.h"

struct event_base;
struct sp_server;
struct ssl_ctx_st;

/* A request arrived: it is the callee's, to answer or free. */
typedef void	 sp_server_cb(struct sp_request *, void *);

struct sp_server *sp_server_rep(struct event_base *, const char *, size_t,
		    struct ssl_ctx_st *, sp_server_cb *, void *, char **);
struct sp_server *sp_server_pub(struct event_base *, const char *, char **);
void		 sp_server_free(struct sp_server *);
void		 sp_server_publish(struct sp_server *, const char *, size_t);
int		 sp_server_has_peers(struct sp_server *);

#endif
