/*
 * The control endpoint: a raw REP socket, so a request can be answered
 * later (a held wait) while others are served. Each request keeps its
 * routing header until its reply is sent with it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

#include "aiojobsd.h"
#include "endpoint.h"
#include "log.h"
#include "xmalloc.h"

/* Messages handled per wake-up before other events get a turn. */
#define CONTROL_BATCH	1024

static void	control_read_cb(int, short, void *);

/* The transport drops larger messages; between the two, too_large. */
static int
control_rcvmax(int64_t max_request)
{
	int64_t	 max = max_request * 16;

	if (max < 16 * 1024 * 1024)
		max = 16 * 1024 * 1024;
	return (max > 1024 * 1024 * 1024 ? 1024 * 1024 * 1024 : (int)max);
}

struct control *
control_create(struct aiojobsd *aj, const char *url, char **cause)
{
	struct control	*c;
	size_t		 sz = sizeof(int);
	int		 sock, fd;
	int		 max = control_rcvmax(aj->conf.max_request_bytes);

	if (endpoint_check_bind(url, cause) != 0)
		return (NULL);
	if ((sock = nn_socket(AF_SP_RAW, NN_REP)) < 0) {
		xasprintf(cause, "nn_socket: %s", nn_strerror(nn_errno()));
		return (NULL);
	}
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, &max, sizeof max);
	if (nn_bind(sock, url) < 0) {
		if (nn_errno() == EADDRINUSE)
			xasprintf(cause, "%s: address in use: another aiojobsd "
			    "is already listening there", url);
		else
			xasprintf(cause, "%s: %s", url,
			    nn_strerror(nn_errno()));
		nn_close(sock);
		return (NULL);
	}
	if (endpoint_restrict(url, cause) != 0) {
		nn_close(sock);
		return (NULL);
	}
	if (nn_getsockopt(sock, NN_SOL_SOCKET, NN_RCVFD, &fd, &sz) < 0)
		fatalx("NN_RCVFD: %s", nn_strerror(nn_errno()));
	c = xcalloc(1, sizeof *c);
	c->aj = aj;
	c->sock = sock;
	c->url = xstrdup(url);
	TAILQ_INIT(&c->held);
	c->ev = event_new(aj->base, fd, EV_READ | EV_PERSIST, control_read_cb,
	    c);
	event_add(c->ev, NULL);
	return (c);
}

static void
control_creq_free(struct creq *cr)
{
	if (cr->held) {
		TAILQ_REMOVE(&cr->control->held, cr, entry);
		cr->control->nheld--;
	}
	wait_release(cr);
	if (cr->hdr != NULL)
		nn_freemsg(cr->hdr);
	msg_request_clear(&cr->req);
	free(cr);
}

/* Close the endpoint; held requests are dropped unanswered. */
void
control_free(struct control *c)
{
	const char	*path;
	struct creq	*cr;

	if (c == NULL)
		return;
	while ((cr = TAILQ_FIRST(&c->held)) != NULL)
		control_creq_free(cr);
	event_free(c->ev);
	nn_close(c->sock);
	if ((path = endpoint_ipc_path(c->url)) != NULL && unlink(path) == -1 &&
	    errno != ENOENT)
		log_warn("unlink %s", path);
	free(c->url);
	free(c);
}

/* Find the SP routing header in a received control chunk. */
static void
control_find_sphdr(struct creq *cr)
{
	struct nn_msghdr	 mh;
	struct nn_cmsghdr	*cmsg;

	memset(&mh, 0, sizeof mh);
	mh.msg_control = &cr->hdr;
	mh.msg_controllen = NN_MSG;
	for (cmsg = NN_CMSG_FIRSTHDR(&mh); cmsg != NULL;
	    cmsg = NN_CMSG_NXTHDR(&mh, cmsg)) {
		if (cmsg->cmsg_level == PROTO_SP && cmsg->cmsg_type == SP_HDR) {
			cr->sphdr = NN_CMSG_DATA(cmsg);
			cr->sphdrlen = cmsg->cmsg_len - NN_CMSG_LEN(0);
			return;
		}
	}
}

/* A resent copy of a request still held: same routing header. */
static int
control_is_duplicate(struct control *c, struct creq *cr)
{
	struct creq	*h;

	if (cr->sphdr == NULL)
		return (0);
	TAILQ_FOREACH(h, &c->held, entry) {
		if (h->sphdrlen == cr->sphdrlen &&
		    memcmp(h->sphdr, cr->sphdr, cr->sphdrlen) == 0)
			return (1);
	}
	return (0);
}

static void
control_handle(struct control *c, struct creq *cr, const char *body,
    size_t len)
{
	struct aiojobsd	*aj = c->aj;

	if (control_is_duplicate(c, cr)) {
		log_debug("dropping a resent copy of a held request");
		control_creq_free(cr);
		return;
	}
	if ((int64_t)len > aj->conf.max_request_bytes) {
		control_error(cr, MSG_E_TOO_LARGE, "request of %zu bytes is "
		    "larger than max_request_bytes (%lld)", len,
		    (long long)aj->conf.max_request_bytes);
		return;
	}
	ops_dispatch(aj, cr, body, len);
}

/* Drain the socket: NN_RCVFD is level-triggered and may wake spuriously. */
static void
control_read_cb(int fd, short events, void *arg)
{
	struct control		*c = arg;
	struct nn_msghdr	 mh;
	struct nn_iovec		 iov;
	struct creq		*cr;
	void			*body, *hdr;
	int			 n, i;

	for (i = 0; i < CONTROL_BATCH; i++) {
		memset(&mh, 0, sizeof mh);
		iov.iov_base = &body;
		iov.iov_len = NN_MSG;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		hdr = NULL;
		mh.msg_control = &hdr;
		mh.msg_controllen = NN_MSG;
		if ((n = nn_recvmsg(c->sock, &mh, NN_DONTWAIT)) < 0) {
			if (nn_errno() != EAGAIN && nn_errno() != EINTR)
				log_warnx("control receive: %s",
				    nn_strerror(nn_errno()));
			return;
		}
		cr = xcalloc(1, sizeof *cr);
		cr->control = c;
		cr->hdr = hdr;
		control_find_sphdr(cr);
		control_handle(c, cr, body, (size_t)n);
		nn_freemsg(body);
	}
}

/* Send the reply (freeing it) and free the request. */
void
control_reply(struct creq *cr, char *json)
{
	struct nn_msghdr	 mh;
	struct nn_iovec		 iov;

	memset(&mh, 0, sizeof mh);
	iov.iov_base = json;
	iov.iov_len = strlen(json);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (cr->hdr != NULL) {
		mh.msg_control = &cr->hdr;
		mh.msg_controllen = NN_MSG;
	}
	if (nn_sendmsg(cr->control->sock, &mh, NN_DONTWAIT) < 0)
		log_warnx("control send: %s", nn_strerror(nn_errno()));
	else
		cr->hdr = NULL;	/* nanomsg owns it now */
	free(json);
	control_creq_free(cr);
}

void
control_error(struct creq *cr, const char *code, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	log_debug("error reply: %s: %s", code, msg != NULL ? msg : code);
	control_reply(cr, msg_error_reply(code, msg != NULL ? msg : code));
	free(msg);
}

/* Keep a request to answer later. */
void
control_hold(struct creq *cr)
{
	TAILQ_INSERT_TAIL(&cr->control->held, cr, entry);
	cr->control->nheld++;
	cr->held = 1;
}

/* Answer every held request now with what is known (shutdown). */
void
control_reply_held(struct control *c)
{
	struct creq	*cr;

	while ((cr = TAILQ_FIRST(&c->held)) != NULL)
		wait_reply_now(cr);
}
