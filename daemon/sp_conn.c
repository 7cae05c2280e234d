/*
 * One SP connection, on the daemon's loop: a bufferevent reads and writes
 * the socket while the kernel and libevent keep the bytes. Both sides send
 * their SP header at once; once the peer's names the protocol we talk to,
 * each whole message (sp_wire.h) goes up to the endpoint's callback.
 * Anything else (a header that is not SP or names another protocol, an
 * unknown ipc frame type, a header not finished SP_CONN_HANDSHAKE_S after
 * the connection, however its bytes were paced) closes this connection
 * and no other: no bytes from a client reach further than its own
 * connection. A message over the receive limit is read and thrown away
 * as it arrives, keeping only its first bytes, so that memory stays
 * bounded and the endpoint can still answer it (over_cb); without
 * over_cb it closes the connection.
 *
 * On a TLS endpoint the same bytes run through OpenSSL
 * (bufferevent_openssl): the handshake comes first, under the same
 * deadline as the header, and a failed handshake closes this connection
 * and no other, like any other bytes that are not SP.
 *
 * A connection is counted: the endpoint holds one reference while it is
 * open, and each request received on it one more, so a reply can still
 * look at the connection after it closed (and is then dropped). It is
 * closed once, by sp_conn_close, which tells the endpoint.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "endpoint.h"
#include "log.h"
#include "sp_conn.h"
#include "sp_tls.h"
#include "sp_wire.h"
#include "xmalloc.h"

/* A peer has this long to send its SP header. */
#define SP_CONN_HANDSHAKE_S	10

/* Bytes read per wake-up: large requests arrive in fewer turns. */
#define SP_CONN_READ_MAX	(256 * 1024)

struct sp_conn {
	struct bufferevent		*bev;		/* NULL once closed */
	struct event			*deadline;	/* until the header */
	struct event			*flush;		/* plain: sp_conn_flush_cb */
	const struct sp_conn_cfg	*cfg;
	void				*arg;		/* for the callbacks */
	unsigned long long		 id;		/* for the log */
	int				 refs;
	int				 open;		/* headers exchanged */
	int				 has_peer;
	struct sp_peer			 peer;
	int				 loopback;	/* tcp peer's address */
	int				 skipping;	/* a message over rcvmax */
	uint64_t			 skip_len;	/* its length */
	uint64_t			 skip_left;	/* bytes still to come */
	unsigned char			 head[SP_CONN_OVER_HEAD];
	size_t				 nhead;		/* its first bytes */
};

static void	sp_conn_read_cb(struct bufferevent *, void *);
static void	sp_conn_event_cb(struct bufferevent *, short, void *);
static void	sp_conn_deadline_cb(int, short, void *);
static void	sp_conn_flush_cb(int, short, void *);
static void	sp_conn_queue(struct sp_conn *, const void *, size_t);

/* The credentials of the process at the other end of a unix socket. */
static int
sp_conn_get_peer(int fd, struct sp_peer *peer)
{
	struct ucred	 uc;
	socklen_t	 len = sizeof uc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1)
		return (-1);
	peer->uid = uc.uid;
	peer->gid = uc.gid;
	peer->pid = uc.pid;
	return (0);
}

/*
 * Whether a tcp peer's address is on loopback (ipc and unknown: no, as
 * only tcp asks).
 */
static int
sp_conn_get_loopback(int fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return (0);
	return (endpoint_addr_loopback((struct sockaddr *)&ss));
}

/* A bufferevent for the socket: plain, or the server's side of TLS. */
static struct bufferevent *
sp_conn_bev(struct event_base *base, int fd, const struct sp_conn_cfg *cfg)
{
	struct bufferevent	*bev;
	SSL			*ssl;

	if (cfg->tls == NULL)
		return (bufferevent_socket_new(base, fd,
		    BEV_OPT_CLOSE_ON_FREE));
	if ((ssl = SSL_new(cfg->tls)) == NULL)
		return (NULL);
	bev = bufferevent_openssl_socket_new(base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return (NULL);
	}
	/* NNG hangs up without a close_notify: that is an end, not an error */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return (bev);
}

/*
 * Take the descriptor of a new connection and send our header; arg goes
 * to the callbacks.
 */
struct sp_conn *
sp_conn_create(struct event_base *base, int fd, const struct sp_conn_cfg *cfg,
    void *arg)
{
	static unsigned long long	 ids;
	struct sp_conn			*c;
	struct timeval			 tv = { SP_CONN_HANDSHAKE_S, 0 };
	unsigned char			 head[SP_HEADER_LEN];

	c = xcalloc(1, sizeof *c);
	c->cfg = cfg;
	c->arg = arg;
	c->id = ++ids;
	c->refs = 1;
	if (cfg->ipc && sp_conn_get_peer(fd, &c->peer) == 0)
		c->has_peer = 1;
	if (!cfg->ipc)
		c->loopback = sp_conn_get_loopback(fd);
	if ((c->bev = sp_conn_bev(base, fd, cfg)) == NULL)
		fatalx("no bufferevent for a connection (out of memory)");
	bufferevent_setcb(c->bev, sp_conn_read_cb, NULL, sp_conn_event_cb, c);
	bufferevent_set_max_single_read(c->bev, SP_CONN_READ_MAX);
	c->deadline = evtimer_new(base, sp_conn_deadline_cb, c);
	evtimer_add(c->deadline, &tv);
	sp_header(cfg->proto, head);
	if (cfg->tls != NULL) {
		bufferevent_write(c->bev, head, sizeof head);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		return (c);
	}
	/*
	 * In the middle of the loop's priorities: after the turn's ordinary
	 * events (the highest), before the lowest, where the daemon puts
	 * what may wait on the disk (its commit), so that what does not wait
	 * for a commit (events, a fast submit's job.running) is not held
	 * back by it. A reply the commit makes brings the loop back here.
	 */
	c->flush = event_new(base, -1, 0, sp_conn_flush_cb, c);
	event_priority_set(c->flush, event_base_get_npriorities(base) / 2);
	bufferevent_enable(c->bev, EV_READ);
	sp_conn_queue(c, head, sizeof head);
	return (c);
}

void
sp_conn_ref(struct sp_conn *c)
{
	c->refs++;
}

/* Drop a reference; the last one frees a closed connection. */
void
sp_conn_unref(struct sp_conn *c)
{
	if (--c->refs > 0)
		return;
	if (c->bev != NULL)
		fatalx("an open SP connection lost its last reference");
	free(c);
}

/*
 * Close the socket now (unsent bytes are dropped) and tell the endpoint,
 * once. why is for the debug log.
 */
void
sp_conn_close(struct sp_conn *c, const char *why)
{
	if (c->bev == NULL)
		return;
	log_debug("SP connection %llu closed: %s", c->id, why);
	bufferevent_free(c->bev);
	c->bev = NULL;
	if (c->deadline != NULL) {
		event_free(c->deadline);
		c->deadline = NULL;
	}
	if (c->flush != NULL) {
		event_free(c->flush);
		c->flush = NULL;
	}
	c->cfg->closed_cb(c, c->arg);
}

int
sp_conn_is_open(struct sp_conn *c)
{
	return (c->bev != NULL && c->open);
}

/* Bytes written but not yet taken by the socket. */
size_t
sp_conn_queued(struct sp_conn *c)
{
	if (c->bev == NULL)
		return (0);
	return (evbuffer_get_length(bufferevent_get_output(c->bev)));
}

/*
 * The end of a loop turn on a plain connection: write what the turn
 * queued, in one system call, without first waiting for the loop to say
 * the socket is writable, which cost two epoll_ctl calls and a loop turn
 * a message. Only what the socket does not take waits for it to become
 * writable (the bufferevent writes it then); an error is left to the
 * bufferevent too, which finds it on that write.
 */
static void
sp_conn_flush_cb(int fd, short events, void *arg)
{
	struct sp_conn	*c = arg;
	struct evbuffer	*out = bufferevent_get_output(c->bev);

	(void)fd;
	(void)events;
	while (evbuffer_get_length(out) > 0 &&
	    evbuffer_write(out, bufferevent_getfd(c->bev)) > 0)
		;
	if (evbuffer_get_length(out) > 0)
		bufferevent_enable(c->bev, EV_WRITE);
	else if (bufferevent_get_enabled(c->bev) & EV_WRITE)
		bufferevent_disable(c->bev, EV_WRITE);
}

/*
 * Queue bytes for the peer. On a plain connection they are written at
 * the end of the loop turn (sp_conn_flush_cb), with whatever else the
 * turn queued for it: writing each message at once cost a quarter of
 * the single-submit rate (a wake-up of the client per event). On TLS the
 * bufferevent writes them when the loop finds the socket writable.
 */
static void
sp_conn_queue(struct sp_conn *c, const void *a, size_t alen)
{
	if (evbuffer_add(bufferevent_get_output(c->bev), a, alen) != 0)
		fatalx("out of memory");
	if (c->flush != NULL)
		event_active(c->flush, 0, 0);
}

/*
 * Send one message made of two parts (the second may be empty): 0, or -1
 * if the connection is closed or not yet open. The bytes are copied.
 */
int
sp_conn_send(struct sp_conn *c, const void *a, size_t alen, const void *b,
    size_t blen)
{
	unsigned char	 frame[SP_FRAME_MAX];

	if (!sp_conn_is_open(c))
		return (-1);
	sp_frame_put(frame, c->cfg->ipc, alen + blen);
	sp_conn_queue(c, frame, sp_frame_len(c->cfg->ipc));
	if (alen > 0)
		sp_conn_queue(c, a, alen);
	if (blen > 0)
		sp_conn_queue(c, b, blen);
	return (0);
}

/* The peer's credentials (ipc): 0, or -1 where they are not known. */
int
sp_conn_peer(struct sp_conn *c, struct sp_peer *peer)
{
	if (!c->has_peer)
		return (-1);
	*peer = c->peer;
	return (0);
}

/* Whether the peer's address is on loopback (a tcp connection). */
int
sp_conn_peer_loopback(struct sp_conn *c)
{
	return (c->loopback);
}

/* The peer's header: open the connection, or close it. */
static int
sp_conn_take_header(struct sp_conn *c, struct evbuffer *in)
{
	unsigned char	 head[SP_HEADER_LEN];
	int		 proto;

	if (evbuffer_remove(in, head, sizeof head) != (int)sizeof head)
		return (0);
	if ((proto = sp_header_proto(head)) == -1) {
		sp_conn_close(c, "not an SP header");
		return (-1);
	}
	if ((unsigned int)proto != c->cfg->peer_proto) {
		sp_conn_close(c, "the peer speaks another SP protocol");
		return (-1);
	}
	c->open = 1;
	event_free(c->deadline);
	c->deadline = NULL;
	return (1);
}

/*
 * Throw away the body of a message over the limit as it arrives, keeping
 * its first bytes: 1 once it has all come (the endpoint is told), 0 if
 * more bytes are needed.
 */
static int
sp_conn_skip(struct sp_conn *c, struct evbuffer *in)
{
	size_t		 n, avail = evbuffer_get_length(in);

	n = sizeof c->head - c->nhead;
	if (n > avail)
		n = avail;
	if (n > c->skip_left)
		n = (size_t)c->skip_left;
	if (n > 0 && evbuffer_remove(in, c->head + c->nhead, n) != (int)n)
		fatalx("evbuffer_remove lost bytes");
	c->nhead += n;
	c->skip_left -= n;
	avail -= n;
	n = avail < c->skip_left ? avail : (size_t)c->skip_left;
	evbuffer_drain(in, n);
	c->skip_left -= n;
	if (c->skip_left > 0)
		return (0);
	c->skipping = 0;
	c->cfg->over_cb(c, c->head, c->nhead, c->skip_len, c->arg);
	return (1);
}

/* A message over the limit begins: skip it, or close the connection. */
static int
sp_conn_over(struct sp_conn *c, struct evbuffer *in, uint64_t len)
{
	if (c->cfg->over_cb == NULL) {
		sp_conn_close(c, "a message over the receive limit");
		return (-1);
	}
	evbuffer_drain(in, sp_frame_len(c->cfg->ipc));
	c->skipping = 1;
	c->skip_len = c->skip_left = len;
	c->nhead = 0;
	return (1);
}

/*
 * Take the next header or whole message from what was read: 1, 0 if more
 * bytes are needed, -1 if the connection closed.
 */
static int
sp_conn_take(struct sp_conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	unsigned char	 frame[SP_FRAME_MAX], *msg;
	size_t		 flen = sp_frame_len(c->cfg->ipc);
	uint64_t	 len;

	if (c->skipping)
		return (sp_conn_skip(c, in));
	if (evbuffer_get_length(in) < (c->open ? flen : SP_HEADER_LEN))
		return (0);
	if (!c->open)
		return (sp_conn_take_header(c, in));
	evbuffer_copyout(in, frame, flen);
	if (sp_frame_get(frame, c->cfg->ipc, &len) != 0) {
		sp_conn_close(c, "unknown ipc frame type");
		return (-1);
	}
	if (len > c->cfg->rcvmax)
		return (sp_conn_over(c, in, len));
	if (evbuffer_get_length(in) - flen < len)
		return (0);
	evbuffer_drain(in, flen);
	msg = xmalloc(len + 1);
	if (evbuffer_remove(in, msg, len) != (int)len)
		fatalx("evbuffer_remove lost bytes");
	msg[len] = '\0';
	c->cfg->msg_cb(c, msg, len, c->arg);
	return (1);
}

/*
 * Bytes arrived: take all whole messages. The callback may close this
 * connection (or every connection): a reference keeps it until the end.
 */
static void
sp_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct sp_conn	*c = arg;

	(void)bev;
	sp_conn_ref(c);
	while (c->bev != NULL && sp_conn_take(c) == 1)
		;
	sp_conn_unref(c);
}

/*
 * A TLS connection failed: the handshake (a client that does not trust
 * us, has no certificate we take, or does not speak TLS at all) or a
 * later record. Said at info: it is what the client's operator asks the
 * daemon's about.
 */
static void
sp_conn_tls_error(struct sp_conn *c)
{
	unsigned long	 err, last = 0;
	char		 why[256], msg[300];

	/* libevent queues SSL_get_error's small codes too: keep a reason */
	while ((err = bufferevent_get_openssl_error(c->bev)) != 0) {
		if (last == 0 || ERR_reason_error_string(err) != NULL)
			last = err;
	}
	if (last == 0 && EVUTIL_SOCKET_ERROR() != 0)
		snprintf(why, sizeof why, "%s",
		    strerror(EVUTIL_SOCKET_ERROR()));
	else
		sp_tls_why(last, why, sizeof why);
	snprintf(msg, sizeof msg, "TLS %s: %s", c->open ? "error" :
	    "handshake failed", why);
	log_info("SP connection %llu: %s", c->id, msg);
	sp_conn_close(c, msg);
}

/*
 * The peer has not finished its header (and on TLS its handshake) in
 * SP_CONN_HANDSHAKE_S from the start, however it paced its bytes.
 */
static void
sp_conn_deadline_cb(int fd, short events, void *arg)
{
	struct sp_conn	*c = arg;

	(void)fd;
	(void)events;
	sp_conn_ref(c);
	sp_conn_close(c, c->cfg->tls != NULL ? "no TLS handshake and SP "
	    "header in time" : "no SP header in time");
	sp_conn_unref(c);
}

static void
sp_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sp_conn	*c = arg;

	(void)bev;
	sp_conn_ref(c);
	if (what & BEV_EVENT_EOF)
		sp_conn_close(c, "the peer hung up");
	else if ((what & BEV_EVENT_ERROR) && c->cfg->tls != NULL)
		sp_conn_tls_error(c);
	else if (what & BEV_EVENT_ERROR)
		sp_conn_close(c, strerror(EVUTIL_SOCKET_ERROR()));
	sp_conn_unref(c);
}
