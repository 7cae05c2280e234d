/*
 * The SP transport (NNG's native API) behind one module: the daemon's raw
 * REP and PUB endpoints, the clients' REQ and SUB sockets. Nothing else
 * knows which SP library carries the messages.
 */
#ifndef TRANSPORT_H
#define TRANSPORT_H

#include <sys/types.h>

#include <stddef.h>

/*
 * The least a daemon's endpoint receives: larger messages may make it drop
 * the connection, so our clients never send more.
 */
#define TRANSPORT_RECV_MIN	(16 * 1024 * 1024)

/* transport_request results besides 0. */
#define TRANSPORT_ERROR		-1	/* a local error */
#define TRANSPORT_TIMEOUT	-2	/* nobody answered in time */

struct transport;
struct transport_msg;

/* Who sent a message, where the transport can tell (ipc only). */
struct transport_peer {
	uid_t	uid;
	gid_t	gid;
	pid_t	pid;
};

/* Listening sides (the daemon). */
struct transport *transport_rep_listen(const char *, size_t, char **);
struct transport *transport_pub_listen(const char *, char **);
int		 transport_relisten(struct transport *, char **);

/* Dialling sides (clients); they reconnect on their own. */
struct transport *transport_req_dial(const char *, int, char **);
struct transport *transport_sub_dial(const char *, const char *const *,
		    size_t, char **);

void		 transport_close(struct transport *);
int		 transport_fd(struct transport *, char **);
int		 transport_recv(struct transport *, struct transport_msg **,
		    char **);
int		 transport_reply(struct transport *, struct transport_msg *,
		    const char *, size_t, char **);
void		 transport_publish(struct transport *, const char *, size_t);
int		 transport_has_peers(struct transport *);
unsigned int	 transport_accepted(struct transport *);
int		 transport_request(struct transport *, const char *, size_t,
		    int, char **, size_t *, char **);

const char	*transport_msg_body(struct transport_msg *, size_t *);
int		 transport_msg_same_route(struct transport_msg *,
		    struct transport_msg *);
int		 transport_msg_peer(struct transport_msg *,
		    struct transport_peer *);
void		 transport_msg_free(struct transport_msg *);

#endif
