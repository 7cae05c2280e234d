/*
 * The subscriber side of the event endpoint (PROTOCOL section 5). A SUB
 * socket connects lazily and reconnects on its own, so a watcher started
 * before the daemon simply sees events once it is up. The caller polls
 * watch_fd() and drains with watch_recv().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>

#include "endpoint.h"
#include "watch.h"
#include "xmalloc.h"

struct watch {
	int	 sock;
	int	 fd;		/* NN_RCVFD: readable when a message waits */
};

/* Subscribe to each prefix; an empty prefix (or none given) gets all. */
static int
watch_subscribe(int sock, const char *const *prefixes, size_t n,
    char **cause)
{
	static const char *const	 all[] = { "" };
	size_t				 i;

	if (n == 0) {
		prefixes = all;
		n = 1;
	}
	for (i = 0; i < n; i++) {
		if (nn_setsockopt(sock, NN_SUB, NN_SUB_SUBSCRIBE, prefixes[i],
		    strlen(prefixes[i])) < 0) {
			xasprintf(cause, "subscribe '%s': %s", prefixes[i],
			    nn_strerror(nn_errno()));
			return (-1);
		}
	}
	return (0);
}

struct watch *
watch_open(const char *url, const char *const *prefixes, size_t n,
    char **cause)
{
	struct watch	*w;
	size_t		 fdlen;
	int		 sock, fd, max = -1;

	if (endpoint_check(url, cause) != 0)
		return (NULL);
	if ((sock = nn_socket(AF_SP, NN_SUB)) < 0) {
		xasprintf(cause, "nn_socket: %s", nn_strerror(nn_errno()));
		return (NULL);
	}
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, &max, sizeof max);
	fdlen = sizeof fd;
	if (watch_subscribe(sock, prefixes, n, cause) != 0)
		goto fail;
	if (nn_getsockopt(sock, NN_SOL_SOCKET, NN_RCVFD, &fd, &fdlen) < 0 ||
	    nn_connect(sock, url) < 0) {
		xasprintf(cause, "%s: %s", url, nn_strerror(nn_errno()));
		goto fail;
	}
	w = xcalloc(1, sizeof *w);
	w->sock = sock;
	w->fd = fd;
	return (w);
fail:
	nn_close(sock);
	return (NULL);
}

void
watch_close(struct watch *w)
{
	if (w == NULL)
		return;
	nn_close(w->sock);
	free(w);
}

/* A descriptor to poll for reading only; never read from it. */
int
watch_fd(struct watch *w)
{
	return (w->fd);
}

/*
 * Take the next event without blocking: 1 with the message (which the
 * caller frees; NUL-terminated, len bytes), 0 when none waits, -1 with a
 * cause on an error.
 */
int
watch_recv(struct watch *w, char **msg, size_t *len, char **cause)
{
	char	*buf;
	int	 n;

	if ((n = nn_recv(w->sock, &buf, NN_MSG, NN_DONTWAIT)) < 0) {
		if (nn_errno() == EAGAIN || nn_errno() == EINTR)
			return (0);
		xasprintf(cause, "receive: %s", nn_strerror(nn_errno()));
		return (-1);
	}
	*msg = xmalloc((size_t)n + 1);
	memcpy(*msg, buf, (size_t)n);
	(*msg)[n] = '\0';
	*len = (size_t)n;
	nn_freemsg(buf);
	return (1);
}
