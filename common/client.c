/*
 * The client side of the control endpoint: one REQ socket. nanomsg connects
 * lazily and never reports a missing peer, so for ipc URLs a plain connect
 * to the socket file tells "not running" at once instead of at the timeout.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

#include "client.h"
#include "endpoint.h"
#include "xmalloc.h"

struct client {
	char	*url;
	int	 sock;
	char	*token;		/* sent in every request, or NULL */
};

/* Whether something listens at an ipc path; 0 with a cause if not. */
static int
client_probe_ipc(const char *path, char **cause)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1 &&
	    (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTSOCK ||
	    errno == EACCES || errno == ENOTDIR)) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		close(fd);
		return (0);
	}
	close(fd);
	return (1);
}

static int	client_send(struct client *, const char *, int, char **,
		    char **);

struct client *
client_open(const char *url, char **cause)
{
	struct client	*c;
	int		 sock, max = -1, resend = INT_MAX;

	if (endpoint_check(url, cause) != 0)
		return (NULL);
	if ((sock = nn_socket(AF_SP, NN_REQ)) < 0) {
		xasprintf(cause, "nn_socket: %s", nn_strerror(nn_errno()));
		return (NULL);
	}
	/*
	 * The client times out on its own; a resend after a timeout would
	 * only duplicate the request.
	 */
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, &max, sizeof max);
	nn_setsockopt(sock, NN_REQ, NN_REQ_RESEND_IVL, &resend, sizeof resend);
	if (nn_connect(sock, url) < 0) {
		xasprintf(cause, "%s: %s", url, nn_strerror(nn_errno()));
		nn_close(sock);
		return (NULL);
	}
	c = xcalloc(1, sizeof *c);
	c->url = xstrdup(url);
	c->sock = sock;
	return (c);
}

void
client_close(struct client *c)
{
	if (c == NULL)
		return;
	nn_close(c->sock);
	free(c->url);
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	free(c);
}

/* Send this token (a copy) in every request from now on. */
void
client_set_token(struct client *c, const char *token)
{
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	c->token = token != NULL ? xstrdup(token) : NULL;
}

const char *
client_url(struct client *c)
{
	return (c->url);
}

/*
 * Send one request and wait up to timeout_ms (-1: forever) for its reply,
 * which the caller frees. Returns 0, CLIENT_ERROR or CLIENT_UNREACHABLE.
 */
int
client_request(struct client *c, const char *req, int timeout_ms,
    char **reply, char **cause)
{
	char	*with;
	int	 r;

	if (c->token == NULL)
		return (client_send(c, req, timeout_ms, reply, cause));
	if ((with = msg_request_add_token(req, c->token)) == NULL) {
		*reply = NULL;
		xasprintf(cause, "the request is not a JSON object");
		return (CLIENT_ERROR);
	}
	r = client_send(c, with, timeout_ms, reply, cause);
	explicit_bzero(with, strlen(with));
	free(with);
	return (r);
}

/* client_request without a token. */
static int
client_send(struct client *c, const char *req, int timeout_ms, char **reply,
    char **cause)
{
	const char	*path;
	char		*buf;
	size_t		 len = strlen(req);
	int		 n;

	*reply = NULL;
	if (len > CLIENT_MAX_SEND) {
		xasprintf(cause, "request of %zu bytes is larger than the "
		    "%d byte limit", len, CLIENT_MAX_SEND);
		return (CLIENT_ERROR);
	}
	if ((path = endpoint_ipc_path(c->url)) != NULL &&
	    !client_probe_ipc(path, cause))
		return (CLIENT_UNREACHABLE);
	nn_setsockopt(c->sock, NN_SOL_SOCKET, NN_SNDTIMEO, &timeout_ms,
	    sizeof timeout_ms);
	nn_setsockopt(c->sock, NN_SOL_SOCKET, NN_RCVTIMEO, &timeout_ms,
	    sizeof timeout_ms);
	if (nn_send(c->sock, req, len, 0) < 0) {
		xasprintf(cause, "send: %s", nn_strerror(nn_errno()));
		return (nn_errno() == ETIMEDOUT ? CLIENT_UNREACHABLE :
		    CLIENT_ERROR);
	}
	if ((n = nn_recv(c->sock, &buf, NN_MSG, 0)) < 0) {
		if (nn_errno() == ETIMEDOUT)
			xasprintf(cause, "no reply within %d ms", timeout_ms);
		else
			xasprintf(cause, "receive: %s",
			    nn_strerror(nn_errno()));
		return (nn_errno() == ETIMEDOUT ? CLIENT_UNREACHABLE :
		    CLIENT_ERROR);
	}
	*reply = xstrndup(buf, (size_t)n);
	nn_freemsg(buf);
	return (0);
}

/* A fresh random idempotency key: 128 bits as hex. */
char *
client_key_new(void)
{
	unsigned char	 b[16];
	char		*key;
	size_t		 i;

	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
		abort();
	key = xmalloc(2 * sizeof b + 1);
	for (i = 0; i < sizeof b; i++)
		snprintf(key + 2 * i, 3, "%02x", b[i]);
	return (key);
}

/*
 * A submit request for specs; every spec without a key gets a fresh one,
 * so that a resent request never creates a second job.
 */
char *
client_submit_request(struct msg_spec *specs, size_t n, int batch, int group)
{
	struct msg_out	*o;
	char		*text;
	size_t		 i;

	o = msg_out_new();
	msg_out_string(o, "op", "submit");
	if (batch)
		msg_out_array(o, "jobs");
	for (i = 0; i < n; i++) {
		if (specs[i].key == NULL)
			specs[i].key = client_key_new();
		text = msg_spec_encode(&specs[i], MSG_SPEC_KEY);
		msg_out_raw(o, batch ? NULL : "job", text);
		free(text);
	}
	if (batch) {
		msg_out_close(o);
		if (group)
			msg_out_bool(o, "group", 1);
	}
	return (msg_out_finish(o, 0));
}
