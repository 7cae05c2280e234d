/* A request received on a REP endpoint, with its route back. */
#ifndef SP_REQUEST_H
#define SP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

struct sp_conn;
struct sp_peer;
struct sp_request;

struct sp_request *sp_request_create(struct sp_conn *, unsigned char *,
		    size_t, size_t);
void		 sp_request_set_over(struct sp_request *, uint64_t);
uint64_t	 sp_request_over(struct sp_request *);
const char	*sp_request_body(struct sp_request *, size_t *);
int		 sp_request_same_route(struct sp_request *,
		    struct sp_request *);
int		 sp_request_peer(struct sp_request *, struct sp_peer *);
int		 sp_request_peer_loopback(struct sp_request *);
void		 sp_request_reply(struct sp_request *, const char *, size_t);
void		 sp_request_free(struct sp_request *);

#endif
