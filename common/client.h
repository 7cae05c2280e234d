/* The client library: connect, request with a timeout, build submits. */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>

#include "msg.h"
#include "transport.h"

/*
 * Requests larger than this are refused before they reach the wire: the
 * daemon might drop the connection instead of answering too_large.
 */
#define CLIENT_MAX_SEND		TRANSPORT_RECV_MIN
#define CLIENT_TIMEOUT_MS	10000

/*
 * A batch is split into submits of at most this many bytes: the daemon's
 * default max_request_bytes. CLIENT_SUBMIT_ENVELOPE is room for the rest
 * of the request ({"op":"submit","jobs":[...],"group":true} and a token).
 */
#define CLIENT_SUBMIT_MAX	(1024 * 1024)
#define CLIENT_SUBMIT_ENVELOPE	1024

/* client_request results besides 0. */
#define CLIENT_ERROR		-1	/* a local error: bad URL, too large */
#define CLIENT_UNREACHABLE	-2	/* no connection could be made */
#define CLIENT_TIMEOUT		-3	/* connected, but no reply in time */

struct client;

struct client	*client_open(const char *, char **);
void		 client_close(struct client *);
void		 client_set_token(struct client *, const char *);
void		 client_set_tls(struct client *, const struct transport_tls *);
const char	*client_url(struct client *);
int		 client_request(struct client *, const char *, int, char **,
		    char **);
char		*client_key_new(void);
size_t		 client_submit_fit(struct msg_spec *, size_t, size_t);
char		*client_submit_request(struct msg_spec *, size_t, int, int);

#endif
