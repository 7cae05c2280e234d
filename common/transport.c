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
 *
 * A tls+tcp:// URL is dialled with a TLS configuration (NNG's mbedTLS
 * engine in Debian): the daemon's certificate must be signed by the CA
 * file given and carry the server name (a DNS name: this mbedTLS does
 * not check IP addresses). The first connection is made before the dial
 * returns, so that a certificate we do not trust is an error at once,
 * not a request that waits for its timeout while NNG retries.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

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

static int
transport_is_tls(const char *url)
{
	return (strncmp(url, "tls+tcp://", 10) == 0);
}

/* The host of tls+tcp://HOST:PORT (brackets of an IPv6 address gone). */
static char *
transport_url_host(const char *url)
{
	const char	*h = url + strlen("tls+tcp://"), *colon;
	size_t		 n;

	if ((colon = strrchr(h, ':')) == NULL)
		return (xstrdup(h));
	n = (size_t)(colon - h);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']')
		return (xstrndup(h + 1, n - 2));
	return (xstrndup(h, n));
}

/* A whole PEM file, NUL-terminated; NULL with a cause. */
static char *
transport_read_pem(const char *what, const char *path, char **cause)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 size = 0;
	ssize_t	 n;

	if ((f = fopen(path, "re")) == NULL) {
		xasprintf(cause, "%s %s: %s", what, path, strerror(errno));
		return (NULL);
	}
	n = getdelim(&buf, &size, '\0', f);
	fclose(f);
	if (n <= 0) {
		xasprintf(cause, "%s %s is empty", what, path);
		free(buf);
		return (NULL);
	}
	return (buf);
}

/* Our own certificate and its key, for an endpoint that asks for one. */
static int
transport_tls_own(nng_tls_config *cfg, const struct transport_tls *tls,
    char **cause)
{
	char	*cert, *key = NULL;
	int	 rv = 0;

	if ((tls->cert_file == NULL) != (tls->key_file == NULL)) {
		xasprintf(cause, "TLS: a client certificate needs both a "
		    "certificate file and its key file");
		return (-1);
	}
	if (tls->cert_file == NULL)
		return (0);
	if ((cert = transport_read_pem("TLS certificate file",
	    tls->cert_file, cause)) == NULL ||
	    (key = transport_read_pem("TLS key file", tls->key_file,
	    cause)) == NULL)
		rv = -1;
	else if ((rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0)
		rv = transport_fail(cause, "TLS certificate and key",
		    tls->cert_file, rv);
	free(cert);
	if (key != NULL)
		explicit_bzero(key, strlen(key));
	free(key);
	return (rv);
}

/*
 * The TLS configuration of a client of url: the daemon is always
 * verified (with no CA file nothing is trusted, and the dial says so).
 */
static nng_tls_config *
transport_tls_config(const char *url, const struct transport_tls *tls,
    char **cause)
{
	static const struct transport_tls	 none;
	nng_tls_config				*cfg;
	char					*host = NULL;
	int					 rv;

	if (tls == NULL)
		tls = &none;
	if ((rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT)) != 0) {
		transport_fail(cause, "TLS", NULL, rv);
		return (NULL);
	}
	if (tls->server_name == NULL)
		host = transport_url_host(url);
	if ((rv = nng_tls_config_auth_mode(cfg,
	    NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
	    (rv = nng_tls_config_server_name(cfg, host != NULL ? host :
	    tls->server_name)) != 0)
		transport_fail(cause, "TLS", url, rv);
	else if (tls->ca_file != NULL &&
	    (rv = nng_tls_config_ca_file(cfg, tls->ca_file)) != 0)
		transport_fail(cause, "TLS CA file", tls->ca_file, rv);
	else if (transport_tls_own(cfg, tls, cause) != 0)
		rv = -1;
	free(host);
	if (rv == 0)
		return (cfg);
	nng_tls_config_free(cfg);
	return (NULL);
}

/* Set up a dialer: no Nagle on tcp, TLS on tls+tcp. */
static int
transport_dialer_setup(nng_dialer d, const char *url,
    const struct transport_tls *tls, char **cause)
{
	nng_tls_config	*cfg;
	int		 rv;

	if (transport_is_tcp(url) &&
	    (rv = nng_dialer_set_bool(d, NNG_OPT_TCP_NODELAY, true)) != 0)
		return (transport_fail(cause, "tcp-nodelay", url, rv));
	if (!transport_is_tls(url))
		return (0);
	if ((cfg = transport_tls_config(url, tls, cause)) == NULL)
		return (-1);
	rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
	nng_tls_config_free(cfg);	/* the dialer holds its own */
	if (rv != 0)
		return (transport_fail(cause, "TLS", url, rv));
	return (0);
}

/* Why a dial failed, in words that say what to do about TLS. */
static int
transport_dial_fail(char **cause, const char *url, int rv)
{
	if (!transport_is_tls(url))
		return (transport_fail(cause, "connect", url, rv));
	if (rv == NNG_EPEERAUTH) {
		xasprintf(cause, "TLS verification failed: the daemon's "
		    "certificate is not signed by a CA given (pass "
		    "--tls-ca-file FILE, or $AIOJOBS_TLS_CA_FILE)");
		return (-1);
	}
	/* what NNG 1.5.2 with mbedTLS says for a name that does not match */
	if (rv == NNG_ECRYPTO || rv == NNG_ECONNSHUT || rv == NNG_ECLOSED ||
	    rv == NNG_ECONNRESET) {
		xasprintf(cause, "TLS handshake failed (%s): the daemon's "
		    "certificate may not carry the server name (pass "
		    "--tls-server-name NAME, a DNS name: IP addresses are not "
		    "checked), the endpoint may want a client certificate "
		    "(--tls-cert-file and --tls-key-file), or not speak TLS",
		    nng_strerror(rv));
		return (-1);
	}
	return (transport_fail(cause, "connect", url, rv));
}

/*
 * Connect; with wait (always for tls+tcp), fail at once if nobody
 * listens or the TLS handshake fails (the first connection is made
 * before this returns), otherwise in the background, retrying a peer
 * that is not up yet. Either way NNG reconnects on its own when a
 * connection is lost.
 */
static int
transport_dial(struct transport *t, const char *url, int wait,
    const struct transport_tls *tls, char **cause)
{
	nng_dialer	 d;
	int		 rv;

	if ((rv = nng_dialer_create(&d, t->sock, url)) != 0)
		return (transport_fail(cause, "connect", url, rv));
	if (transport_dialer_setup(d, url, tls, cause) != 0) {
		nng_dialer_close(d);
		return (-1);
	}
	if (transport_is_tls(url))
		wait = 1;
	if ((rv = nng_dialer_start(d, wait ? 0 : NNG_FLAG_NONBLOCK)) != 0) {
		nng_dialer_close(d);
		return (transport_dial_fail(cause, url, rv));
	}
	return (0);
}

/*
 * A REQ socket for url (wait: see transport_dial; tls for tls+tcp, or
 * NULL). It never resends a
 * request on its own (the caller has a timeout, and a resend would only
 * duplicate the request) and takes replies of any size.
 */
struct transport *
transport_req_dial(const char *url, int wait, const struct transport_tls *tls,
    char **cause)
{
	struct transport	*t;
	nng_socket		 sock;

	if ((t = transport_open(nng_req0_open, "REQ", cause)) == NULL)
		return (NULL);
	sock = t->sock;
	nng_socket_set_ms(sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, 0);
	if (transport_dial(t, url, wait, tls, cause) != 0) {
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
	    transport_dial(t, url, 0, NULL, cause) != 0)
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
