/*
 * The clients' side of the SP transport on NNG's native API: REQ sockets
 * that send a request and wait for its reply, SUB sockets that receive
 * events in the background. (The daemon's side is its own: sp_server.c.)
 * NNG runs threads of its own, and its callbacks run on them, so nothing
 * here touches the caller's state from a callback: a socket that receives
 * keeps one receive operation armed, and its callback only queues the
 * message under a lock and makes an eventfd readable. The caller polls
 * that descriptor on its own loop and drains the queue with
 * transport_recv. (NNG_OPT_RECVFD would save the queue, but NNG 1.5.2 can
 * lose its wake-up when a message arrives while the last one is taken:
 * the socket then looks empty for ever.)
 *
 * A received message is an nng_msg.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>

#include "transport.h"
#include "xmalloc.h"

/* Received messages queued for the caller before NNG is left to wait. */
#define TRANSPORT_RX_MAX	1024

struct transport {
	nng_socket	 sock;

	/* Receiving sockets: what the callback queued, under lock. */
	nng_aio		*rx_aio;
	pthread_mutex_t	 rx_lock;
	nng_msg		**rx;		/* a ring of rx_size */
	size_t		 rx_head;
	size_t		 rx_len;
	int		 rx_armed;	/* a receive is under way */
	int		 rx_fd;		/* eventfd: readable while rx_len > 0 */
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
	t->rx_fd = -1;
	return (t);
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
 * Close the socket: its dialer and connection go with it.
 * The receive callback has returned for good once nng_aio_stop does.
 */
void
transport_close(struct transport *t)
{
	if (t == NULL)
		return;
	nng_close(t->sock);
	if (t->rx_aio != NULL) {
		nng_aio_stop(t->rx_aio);
		nng_aio_free(t->rx_aio);
		pthread_mutex_destroy(&t->rx_lock);
	}
	for (; t->rx_len > 0; t->rx_len--, t->rx_head++)
		nng_msg_free(t->rx[t->rx_head % TRANSPORT_RX_MAX]);
	free(t->rx);
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

void
transport_msg_free(struct transport_msg *msg)
{
	if (msg != NULL)
		nng_msg_free(transport_nmsg(msg));
}
