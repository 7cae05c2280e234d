/*
 * The SP transport on NNG's native API. NNG runs threads of its own, and
 * its callbacks run on them, so nothing here touches the caller's state
 * from a callback: a socket that receives keeps one receive operation
 * armed, and its callback only queues the message under a lock and makes
 * an eventfd readable. The caller polls that descriptor on its own loop
 * and drains the queue with transport_recv. (NNG_OPT_RECVFD would save
 * the queue, but NNG 1.5.2 can lose its wake-up when a message arrives
 * while the last one is taken: the socket then looks empty for ever.)
 *
 * A received message is an nng_msg: its body is the request and its
 * header the route back (on a raw REP socket), so the reply reuses it.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "transport.h"
#include "xmalloc.h"

/* Messages a PUB socket queues for each subscriber before it drops. */
#define TRANSPORT_PUB_QUEUE	1024

/*
 * Replies a REP socket queues before its own thread hands them to the
 * connections: NNG's most. A reply sent without waiting when the queue is
 * full would be lost.
 */
#define TRANSPORT_REP_QUEUE	8192

/* Received messages queued for the caller before NNG is left to wait. */
#define TRANSPORT_RX_MAX	1024

struct transport {
	nng_socket	 sock;
	nng_listener	 listener;
	char		*url;		/* what it listens on, or NULL */
	atomic_int	 pipes;		/* connected peers */
	atomic_uint	 added;		/* connections ever taken */

	/* Receiving sockets: what the callback queued, under lock. */
	nng_aio		*rx_aio;
	pthread_mutex_t	 rx_lock;
	nng_msg		**rx;		/* a ring of rx_size */
	size_t		 rx_head;
	size_t		 rx_len;
	int		 rx_armed;	/* a receive is under way */
	int		 rx_fd;		/* eventfd: readable while rx_len > 0 */

	/* Sends: one aio, done before nng_send_aio returns (no callback). */
	nng_aio		*tx_aio;
};

/* A received message is an nng_msg; the struct is only a name for it. */
static nng_msg *
transport_nmsg(struct transport_msg *m)
{
	return ((nng_msg *)(void *)m);
}

static int
transport_fail(char **cause, const char *what, const char *url, int rv)
{
	if (url != NULL)
		xasprintf(cause, "%s: %s: %s", url, what, nng_strerror(rv));
	else
		xasprintf(cause, "%s: %s", what, nng_strerror(rv));
	return (-1);
}

/* Small messages must not wait for more: no Nagle on TCP. */
static int
transport_is_tcp(const char *url)
{
	return (strncmp(url, "tcp", 3) == 0 || strncmp(url, "tls+tcp", 7) == 0);
}

static struct transport *
transport_new(nng_socket sock)
{
	struct transport	*t;

	t = xcalloc(1, sizeof *t);
	t->sock = sock;
	atomic_init(&t->pipes, 0);
	atomic_init(&t->added, 0);
	t->rx_fd = -1;
	if (nng_aio_alloc(&t->tx_aio, NULL, NULL) != 0)
		abort();	/* out of memory */
	nng_aio_set_timeout(t->tx_aio, NNG_DURATION_ZERO);
	return (t);
}

/*
 * Send a message without waiting. The aio has no callback and a zero
 * timeout: NNG then finishes it before nng_send_aio returns, on this
 * thread, with no hand-off to its own (a queue with room takes the
 * message; a full one refuses it at once and the message is dropped, as
 * a reply to a client that reads none of its replies, or an event for a
 * subscriber that does not keep up). On success NNG owns the message.
 */
static void
transport_send(struct transport *t, nng_msg *m)
{
	nng_aio_set_msg(t->tx_aio, m);
	nng_send_aio(t->sock, t->tx_aio);
	if (nng_aio_result(t->tx_aio) != 0) {
		nng_msg_free(nng_aio_get_msg(t->tx_aio));
		nng_aio_set_msg(t->tx_aio, NULL);
	}
}

/* A socket of one protocol (open is NNG's nng_<proto>_open), or NULL. */
static struct transport *
transport_open(int (*open)(nng_socket *), const char *what, char **cause)
{
	nng_socket	 sock;
	int		 rv;

	if ((rv = open(&sock)) != 0) {
		xasprintf(cause, "%s socket: %s", what, nng_strerror(rv));
		return (NULL);
	}
	return (transport_new(sock));
}

/* Receive the next message in the background. Called with rx_lock held. */
static void
transport_rx_arm(struct transport *t)
{
	t->rx_armed = 1;
	nng_recv_aio(t->sock, t->rx_aio);
}

/*
 * A message arrived (NNG's thread): queue it, wake the caller's loop if
 * the queue was empty, and receive the next unless the queue is full.
 */
static void
transport_rx_cb(void *arg)
{
	struct transport	*t = arg;
	uint64_t		 one = 1;
	int			 rv = nng_aio_result(t->rx_aio);

	pthread_mutex_lock(&t->rx_lock);
	t->rx_armed = 0;
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
		pthread_mutex_unlock(&t->rx_lock);
		return;
	}
	if (rv == 0) {
		t->rx[(t->rx_head + t->rx_len) % TRANSPORT_RX_MAX] =
		    nng_aio_get_msg(t->rx_aio);
		if (t->rx_len++ == 0 &&
		    write(t->rx_fd, &one, sizeof one) != sizeof one)
			abort();	/* an eventfd write fails only if misused */
	}
	if (t->rx_len < TRANSPORT_RX_MAX)
		transport_rx_arm(t);
	pthread_mutex_unlock(&t->rx_lock);
}

/* Make a socket receive in the background into its queue. */
static int
transport_rx_start(struct transport *t, char **cause)
{
	int	 rv;

	if ((t->rx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		xasprintf(cause, "eventfd: %s", strerror(errno));
		return (-1);
	}
	if ((rv = nng_aio_alloc(&t->rx_aio, transport_rx_cb, t)) != 0)
		return (transport_fail(cause, "aio", NULL, rv));
	pthread_mutex_init(&t->rx_lock, NULL);
	t->rx = xcalloc(TRANSPORT_RX_MAX, sizeof *t->rx);
	pthread_mutex_lock(&t->rx_lock);
	transport_rx_arm(t);
	pthread_mutex_unlock(&t->rx_lock);
	return (0);
}

/* Count connections as the socket takes and drops them (NNG's thread). */
static void
transport_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct transport	*t = arg;

	/*
	 * Every connection that has ADD_PRE gets REM_POST, including one the
	 * protocol refuses; ADD_POST would leave those unmatched.
	 */
	if (ev == NNG_PIPE_EV_ADD_PRE) {
		atomic_fetch_add(&t->pipes, 1);
		atomic_fetch_add(&t->added, 1);
	}
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&t->pipes, 1);
}

/* Bind a socket to a URL; address-in-use gets a message of its own. */
static int
transport_listen(struct transport *t, const char *url, char **cause)
{
	nng_listener	 l;
	int		 rv;

	nng_pipe_notify(t->sock, NNG_PIPE_EV_ADD_PRE, transport_pipe_cb, t);
	nng_pipe_notify(t->sock, NNG_PIPE_EV_REM_POST, transport_pipe_cb, t);
	if ((rv = nng_listener_create(&l, t->sock, url)) != 0)
		return (transport_fail(cause, "listen", url, rv));
	if (transport_is_tcp(url) &&
	    (rv = nng_listener_set_bool(l, NNG_OPT_TCP_NODELAY, true)) != 0) {
		nng_listener_close(l);
		return (transport_fail(cause, "tcp-nodelay", url, rv));
	}
	if ((rv = nng_listener_start(l, 0)) != 0) {
		nng_listener_close(l);
		if (rv != NNG_EADDRINUSE)
			return (transport_fail(cause, "listen", url, rv));
		xasprintf(cause, "%s: address in use: another aiojobsd is "
		    "already listening there", url);
		return (-1);
	}
	t->listener = l;
	if (t->url == NULL)
		t->url = xstrdup(url);
	return (0);
}

/*
 * Listen afresh on the same URL. NNG 1.5.2 stops accepting for good when
 * a client hangs up while the connection is being set up (its own header
 * write fails with EPIPE, which it takes for a closed listener; fixed in
 * later NNG): the daemon's sentry notices and calls this. Connections
 * already made stay.
 */
int
transport_relisten(struct transport *t, char **cause)
{
	nng_listener_close(t->listener);
	return (transport_listen(t, t->url, cause));
}

/*
 * Connect; with wait, fail at once if nobody listens (the first
 * connection is made before this returns), otherwise in the background,
 * retrying a peer that is not up yet. Either way NNG reconnects on its
 * own when a connection is lost.
 */
static int
transport_dial(struct transport *t, const char *url, int wait, char **cause)
{
	nng_dialer	 d;
	int		 rv;

	if ((rv = nng_dialer_create(&d, t->sock, url)) != 0)
		return (transport_fail(cause, "connect", url, rv));
	if (transport_is_tcp(url) &&
	    (rv = nng_dialer_set_bool(d, NNG_OPT_TCP_NODELAY, true)) != 0)
		return (transport_fail(cause, "tcp-nodelay", url, rv));
	if ((rv = nng_dialer_start(d, wait ? 0 : NNG_FLAG_NONBLOCK)) != 0) {
		nng_dialer_close(d);
		return (transport_fail(cause, "connect", url, rv));
	}
	return (0);
}

/*
 * A raw REP socket listening on url: requests come with their route and
 * can be answered in any order, later. Messages over rcvmax bytes make
 * NNG drop the connection that sent them.
 */
struct transport *
transport_rep_listen(const char *url, size_t rcvmax, char **cause)
{
	struct transport	*t;
	nng_socket		 sock;
	int			 rv;

	if ((t = transport_open(nng_rep0_open_raw, "REP", cause)) == NULL)
		return (NULL);
	sock = t->sock;
	if ((rv = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, rcvmax)) != 0) {
		transport_fail(cause, "recv-size-max", url, rv);
		goto fail;
	}
	nng_socket_set_int(sock, NNG_OPT_SENDBUF, TRANSPORT_REP_QUEUE);
	if (transport_rx_start(t, cause) != 0 ||
	    transport_listen(t, url, cause) != 0)
		goto fail;
	return (t);
fail:
	transport_close(t);
	return (NULL);
}

/* A PUB socket listening on url. */
struct transport *
transport_pub_listen(const char *url, char **cause)
{
	struct transport	*t;
	nng_socket		 sock;

	if ((t = transport_open(nng_pub0_open, "PUB", cause)) == NULL)
		return (NULL);
	sock = t->sock;
	nng_socket_set_int(sock, NNG_OPT_SENDBUF, TRANSPORT_PUB_QUEUE);
	if (transport_listen(t, url, cause) != 0) {
		transport_close(t);
		return (NULL);
	}
	return (t);
}

/*
 * A REQ socket for url (wait: see transport_dial). It never resends a
 * request on its own (the caller has a timeout, and a resend would only
 * duplicate the request) and takes replies of any size.
 */
struct transport *
transport_req_dial(const char *url, int wait, char **cause)
{
	struct transport	*t;
	nng_socket		 sock;

	if ((t = transport_open(nng_req0_open, "REQ", cause)) == NULL)
		return (NULL);
	sock = t->sock;
	nng_socket_set_ms(sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, 0);
	if (transport_dial(t, url, wait, cause) != 0) {
		transport_close(t);
		return (NULL);
	}
	return (t);
}

/* A SUB socket for url, subscribed to each prefix ("" or none: all). */
struct transport *
transport_sub_dial(const char *url, const char *const *prefixes, size_t n,
    char **cause)
{
	struct transport	*t;
	nng_socket		 sock;
	size_t			 i;
	int			 rv;

	if ((t = transport_open(nng_sub0_open, "SUB", cause)) == NULL)
		return (NULL);
	sock = t->sock;
	nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, 0);
	for (i = 0; i < (n == 0 ? 1 : n); i++) {
		const char	*p = n == 0 ? "" : prefixes[i];

		if ((rv = nng_socket_set(sock, NNG_OPT_SUB_SUBSCRIBE, p,
		    strlen(p))) != 0) {
			xasprintf(cause, "subscribe '%s': %s", p,
			    nng_strerror(rv));
			goto fail;
		}
	}
	if (transport_rx_start(t, cause) != 0 ||
	    transport_dial(t, url, 0, cause) != 0)
		goto fail;
	return (t);
fail:
	transport_close(t);
	return (NULL);
}

/*
 * Close the socket: its listeners, dialers and connections go with it.
 * The receive callback has returned for good once nng_aio_stop does.
 */
void
transport_close(struct transport *t)
{
	if (t == NULL)
		return;
	nng_close(t->sock);
	nng_aio_free(t->tx_aio);
	if (t->rx_aio != NULL) {
		nng_aio_stop(t->rx_aio);
		nng_aio_free(t->rx_aio);
		pthread_mutex_destroy(&t->rx_lock);
	}
	for (; t->rx_len > 0; t->rx_len--, t->rx_head++)
		nng_msg_free(t->rx[t->rx_head % TRANSPORT_RX_MAX]);
	free(t->rx);
	free(t->url);
	if (t->rx_fd != -1)
		close(t->rx_fd);
	free(t);
}

/*
 * A descriptor that is readable while a message waits: poll it for
 * reading only, never read it, and drain with transport_recv.
 */
int
transport_fd(struct transport *t, char **cause)
{
	if (t->rx_fd == -1) {
		xasprintf(cause, "this socket does not receive in the "
		    "background");
		return (-1);
	}
	return (t->rx_fd);
}

/*
 * Take the next message without waiting: 1, or 0 if none waits. The
 * descriptor is cleared with the last message, under the lock the
 * callback takes, so a wake-up is never lost.
 */
int
transport_recv(struct transport *t, struct transport_msg **msg,
    char **cause)
{
	uint64_t	 n;

	pthread_mutex_lock(&t->rx_lock);
	if (t->rx_len == 0) {
		pthread_mutex_unlock(&t->rx_lock);
		return (0);
	}
	*msg = (struct transport_msg *)(void *)t->rx[t->rx_head];
	t->rx_head = (t->rx_head + 1) % TRANSPORT_RX_MAX;
	if (--t->rx_len == 0 && read(t->rx_fd, &n, sizeof n) != sizeof n)
		abort();	/* it was written when the queue filled */
	if (!t->rx_armed)
		transport_rx_arm(t);
	pthread_mutex_unlock(&t->rx_lock);
	return (1);
}

/*
 * Answer a request from a raw REP socket with body, along its route.
 * The request is consumed either way. A reply to a client that has gone
 * is dropped by NNG without a word.
 */
int
transport_reply(struct transport *t, struct transport_msg *req,
    const char *body, size_t len, char **cause)
{
	nng_msg	*m = transport_nmsg(req);
	int	 rv;

	nng_msg_clear(m);
	if ((rv = nng_msg_append(m, body, len)) != 0) {
		nng_msg_free(m);
		return (transport_fail(cause, "send", NULL, rv));
	}
	transport_send(t, m);
	return (0);
}

/* Publish a message to every subscriber that keeps up; never waits. */
void
transport_publish(struct transport *t, const char *body, size_t len)
{
	nng_msg	*m;

	if (nng_msg_alloc(&m, 0) != 0)
		return;
	if (nng_msg_append(m, body, len) != 0) {
		nng_msg_free(m);
		return;
	}
	transport_send(t, m);
}

/*
 * How many connections a listening socket has taken so far: a count that
 * does not move while clients connect means it no longer takes any.
 */
unsigned int
transport_accepted(struct transport *t)
{
	return (atomic_load(&t->added));
}

/* Whether anyone subscribes now (events nobody reads need no encoding). */
int
transport_has_peers(struct transport *t)
{
	return (atomic_load(&t->pipes) > 0);
}

/*
 * Send a request on a REQ socket and wait up to timeout_ms (-1: for
 * ever) for its reply, NUL-terminated for the caller to free. Returns 0,
 * TRANSPORT_TIMEOUT or TRANSPORT_ERROR.
 */
int
transport_request(struct transport *t, const char *req, size_t len,
    int timeout_ms, char **reply, size_t *replylen, char **cause)
{
	nng_duration	 ms = timeout_ms < 0 ? NNG_DURATION_INFINITE :
			    timeout_ms;
	char		*buf;
	size_t		 sz;
	int		 rv;

	*reply = NULL;
	nng_socket_set_ms(t->sock, NNG_OPT_SENDTIMEO, ms);
	nng_socket_set_ms(t->sock, NNG_OPT_RECVTIMEO, ms);
	if ((rv = nng_send(t->sock, (void *)(uintptr_t)req, len, 0)) != 0 ||
	    (rv = nng_recv(t->sock, &buf, &sz, NNG_FLAG_ALLOC)) != 0) {
		if (rv == NNG_ETIMEDOUT) {
			xasprintf(cause, "no reply within %d ms", timeout_ms);
			return (TRANSPORT_TIMEOUT);
		}
		transport_fail(cause, "request", NULL, rv);
		return (TRANSPORT_ERROR);
	}
	*reply = xmalloc(sz + 1);
	memcpy(*reply, buf, sz);
	(*reply)[sz] = '\0';
	*replylen = sz;
	nng_free(buf, sz);
	return (0);
}

/* The body of a received message and its length. */
const char *
transport_msg_body(struct transport_msg *msg, size_t *len)
{
	nng_msg	*m = transport_nmsg(msg);

	*len = nng_msg_len(m);
	return (nng_msg_body(m));
}

/* Whether two requests came along the same route (a resent copy). */
int
transport_msg_same_route(struct transport_msg *a, struct transport_msg *b)
{
	nng_msg	*ma = transport_nmsg(a), *mb = transport_nmsg(b);
	size_t	 len = nng_msg_header_len(ma);

	return (len != 0 && len == nng_msg_header_len(mb) &&
	    memcmp(nng_msg_header(ma), nng_msg_header(mb), len) == 0);
}

/*
 * The credentials of the process that sent a message, from its ipc
 * connection: 0, or -1 where the transport cannot tell (tcp) or the
 * connection has gone.
 */
int
transport_msg_peer(struct transport_msg *msg, struct transport_peer *peer)
{
	nng_pipe	 p = nng_msg_get_pipe(transport_nmsg(msg));
	uint64_t	 uid, gid, pid;

	if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) != 0 ||
	    nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_GID, &gid) != 0 ||
	    nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_PID, &pid) != 0)
		return (-1);
	peer->uid = (uid_t)uid;
	peer->gid = (gid_t)gid;
	peer->pid = (pid_t)pid;
	return (0);
}

void
transport_msg_free(struct transport_msg *msg)
{
	if (msg != NULL)
		nng_msg_free(transport_nmsg(msg));
}
