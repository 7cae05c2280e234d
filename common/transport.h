/*
 * The clients' side of the SP transport (NNG's native API) behind one
 * module: REQ and SUB sockets. Nothing else in the clients knows which SP
 * library carries the messages.
 */
#ifndef TRANSPORT_H
#define TRANSPORT_H

#include <stddef.h>

/*
 * The least a daemon's endpoint receives: a larger message is thrown away
 * unread (and a request answered too_large), so our clients never send
 * more.
 */
#define TRANSPORT_RECV_MIN	(16 * 1024 * 1024)

/* transport_request results besides 0. */
#define TRANSPORT_ERROR		-1	/* a local error */
#define TRANSPORT_TIMEOUT	-2	/* nobody answered in time */

struct transport;
struct transport_msg;

/*
 * What a client of a tls+tcp:// endpoint trusts and shows: the CA file
 * that signed the daemon's certificate, the name that certificate must
 * carry (NULL: the URL's host), and its own certificate and key for an
 * endpoint that asks for one (both or neither). NULL fields are unset.
 */
struct transport_tls {
	const char	*ca_file;
	const char	*server_name;
	const char	*cert_file;
	const char	*key_file;
};

/* Dialling sides (clients); they reconnect on their own. */
struct transport *transport_req_dial(const char *, int,
		    const struct transport_tls *, char **);
struct transport *transport_sub_dial(const char *, const char *const *,
		    size_t, char **);

void		 transport_close(struct transport *);
int		 transport_fd(struct transport *, char **);
int		 transport_recv(struct transport *, struct transport_msg **,
		    char **);
int		 transport_request(struct transport *, const char *, size_t,
		    int, char **, size_t *, char **);

const char	*transport_msg_body(struct transport_msg *, size_t *);
void		 transport_msg_free(struct transport_msg *);

#endif
