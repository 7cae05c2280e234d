/*
 * A sentry checks that an ipc endpoint still takes connections. NNG 1.5.2
 * stops taking them for good when a client hangs up while its connection
 * is being set up (see transport_relisten): one careless client would
 * leave the daemon running but deaf. NNG still answers the SP header on
 * such an endpoint; it just never hands the connection to the socket.
 *
 * So every SENTRY_INTERVAL_MS the sentry connects as a client would,
 * sends the SP header, and watches the socket's count of connections
 * taken: if it has not moved within ENDPOINT_PROBE_MS (or the connect
 * fails: the socket file has gone), the endpoint listens afresh.
 * Everything is non-blocking on the loop: a unix connect succeeds or
 * fails at once, and the count is looked at on a short timer.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "aiojobsd.h"
#include "endpoint.h"
#include "log.h"
#include "transport.h"
#include "xmalloc.h"

#define SENTRY_INTERVAL_MS	1000
#define SENTRY_LOOK_MS		5	/* how often a probe looks at the count */

struct sentry {
	struct transport	*transport;	/* the endpoint's; not ours */
	char			*url;
	const char		*path;		/* in url */
	int			 mode;		/* of the socket file */
	long			 gid;
	struct event		*timer;
	int			 fd;		/* the probe, or -1 */
	unsigned int		 before;	/* the count at its connect */
	int			 looks;		/* left before it gives up */
};

static void
sentry_after(struct sentry *s, int ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(s->timer, &tv);
}

/* Listen afresh, with the socket file's mode and group as before. */
static void
sentry_relisten(struct sentry *s)
{
	char	*cause = NULL;

	log_warnx("%s stopped taking connections; listening afresh", s->url);
	if (transport_relisten(s->transport, &cause) != 0 ||
	    endpoint_restrict_to(s->url, s->mode, s->gid, &cause) != 0) {
		log_warnx("%s", cause);
		free(cause);
	}
}

/* End a probe; a dead listener is replaced once the probe is closed. */
static void
sentry_done(struct sentry *s, int alive)
{
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
	if (!alive)
		sentry_relisten(s);
	sentry_after(s, SENTRY_INTERVAL_MS);
}

/* Connect and say the header, as a client would. */
static void
sentry_probe(struct sentry *s)
{
	struct sockaddr_un	 sun;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", s->path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd == -1) {
		sentry_after(s, SENTRY_INTERVAL_MS);	/* out of fds */
		return;
	}
	s->before = transport_accepted(s->transport);
	/* refused, gone, or a full backlog nobody takes from */
	if (connect(s->fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    write(s->fd, endpoint_sp_header, ENDPOINT_SP_HEADER) !=
	    ENDPOINT_SP_HEADER) {
		sentry_done(s, 0);
		return;
	}
	s->looks = ENDPOINT_PROBE_MS / SENTRY_LOOK_MS;
	sentry_after(s, SENTRY_LOOK_MS);
}

/* Start a probe, or look whether the one under way was taken. */
static void
sentry_timer_cb(int unused, short what, void *arg)
{
	struct sentry	*s = arg;

	if (s->fd == -1)
		sentry_probe(s);
	else if (transport_accepted(s->transport) != s->before)
		sentry_done(s, 1);
	else if (--s->looks <= 0)
		sentry_done(s, 0);
	else
		sentry_after(s, SENTRY_LOOK_MS);
}

/*
 * Watch the endpoint a transport listens on, if it is an ipc one (NULL
 * otherwise: NNG's tcp listener does not meet the failure); mode and gid
 * are for its socket file, as endpoint_restrict_to takes them.
 */
struct sentry *
sentry_create(struct event_base *base, struct transport *t, const char *url,
    int mode, long gid)
{
	struct sentry	*s;

	if (endpoint_ipc_path(url) == NULL)
		return (NULL);
	s = xcalloc(1, sizeof *s);
	s->transport = t;
	s->url = xstrdup(url);
	s->path = endpoint_ipc_path(s->url);
	s->mode = mode;
	s->gid = gid;
	s->fd = -1;
	s->timer = evtimer_new(base, sentry_timer_cb, s);
	sentry_after(s, SENTRY_INTERVAL_MS);
	return (s);
}

void
sentry_free(struct sentry *s)
{
	if (s == NULL)
		return;
	if (s->fd != -1)
		close(s->fd);
	event_free(s->timer);
	free(s->url);
	free(s);
}
