/*
 * The subscriber side of the event endpoint (PROTOCOL section 5). A SUB
 * socket connects lazily and reconnects on its own, so a watcher started
 * before the daemon simply sees events once it is up. The caller polls
 * watch_fd() and drains with watch_recv().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "transport.h"
#include "watch.h"
#include "xmalloc.h"

struct watch {
	struct transport	*transport;
	int			 fd;	/* readable when a message waits */
};

struct watch *
watch_open(const char *url, const char *const *prefixes, size_t n,
    char **cause)
{
	struct watch		*w;
	struct transport	*t;
	int			 fd;

	if (endpoint_check(url, cause) != 0)
		return (NULL);
	if ((t = transport_sub_dial(url, prefixes, n, cause)) == NULL)
		return (NULL);
	if ((fd = transport_fd(t, cause)) == -1) {
		transport_close(t);
		return (NULL);
	}
	w = xcalloc(1, sizeof *w);
	w->transport = t;
	w->fd = fd;
	return (w);
}

void
watch_close(struct watch *w)
{
	if (w == NULL)
		return;
	transport_close(w->transport);
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
	struct transport_msg	*m;
	const char		*body;
	int			 rv;

	if ((rv = transport_recv(w->transport, &m, cause)) != 1)
		return (rv);
	body = transport_msg_body(m, len);
	*msg = xmalloc(*len + 1);
	memcpy(*msg, body, *len);
	(*msg)[*len] = '\0';
	transport_msg_free(m);
	return (1);
}
