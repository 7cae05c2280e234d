/*
 * libaiojobs: a subscription to the event endpoint (common/watch.c), its
 * messages split into topic and JSON, received with a timeout.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiojobs_private.h"
#include "endpoint.h"
#include "watch.h"
#include "xmalloc.h"

struct aiojobs_events {
	struct watch	*watch;		/* NULL if the URL was refused */
	char		*errmsg;
};

/* Record why the last call failed; return code. */
static int
aiojobs_events_fail(struct aiojobs_events *e, int code, const char *fmt, ...)
{
	va_list	 ap;

	free(e->errmsg);
	va_start(ap, fmt);
	if (vasprintf(&e->errmsg, fmt, ap) == -1)
		abort();
	va_end(ap);
	return (code);
}

int
aiojobs_events_open(struct aiojobs_events **ep, const char *url,
    const char *prefix)
{
	struct aiojobs_events	*e;
	const char		*p[1] = { prefix != NULL ? prefix : "" };
	char			*rundir, *u, *cause = NULL;
	int			 r = AIOJOBS_OK;

	*ep = e = xcalloc(1, sizeof *e);
	if (url != NULL)
		u = xstrdup(url);
	else {
		rundir = aiojobs_rundir();
		u = endpoint_events_url(rundir);
		free(rundir);
	}
	if ((e->watch = watch_open(u, p, 1, &cause)) == NULL) {
		e->errmsg = aiojobs_bad_url(u, cause);
		r = AIOJOBS_E_INVALID;
		free(cause);
	}
	free(u);
	return (r);
}

void
aiojobs_events_close(struct aiojobs_events *e)
{
	if (e == NULL)
		return;
	watch_close(e->watch);
	free(e->errmsg);
	free(e);
}

int
aiojobs_events_fd(struct aiojobs_events *e)
{
	return (e->watch != NULL ? watch_fd(e->watch) : -1);
}

const char *
aiojobs_events_errmsg(const struct aiojobs_events *e)
{
	if (e == NULL)
		return ("out of memory");
	return (e->errmsg != NULL ? e->errmsg : "success");
}

/* Split "TOPIC JSON" into its two parts (copies). */
static void
aiojobs_events_split(const char *msg, char **topic, char **json)
{
	const char	*sp;

	if ((sp = strchr(msg, ' ')) == NULL)
		sp = msg + strlen(msg);
	*topic = xstrndup(msg, (size_t)(sp - msg));
	*json = xstrdup(*sp == ' ' ? sp + 1 : sp);
}

/* Wait until an event may be there, up to ms; 0 on time out. */
static int
aiojobs_events_poll(struct aiojobs_events *e, int64_t ms)
{
	struct pollfd	 pfd;
	int		 n;

	pfd.fd = watch_fd(e->watch);
	pfd.events = POLLIN;
	while ((n = poll(&pfd, 1, (int)ms)) == -1 && errno == EINTR)
		;
	return (n);
}

int
aiojobs_events_recv(struct aiojobs_events *e, int timeout_ms, char **topic,
    char **json)
{
	int64_t	 deadline, left;
	char	*msg, *cause = NULL;
	size_t	 len;
	int	 r;

	*topic = *json = NULL;
	if (e->watch == NULL)
		return (AIOJOBS_E_INVALID);
	deadline = aiojobs_now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	for (;;) {
		if ((r = watch_recv(e->watch, &msg, &len, &cause)) == 1) {
			aiojobs_events_split(msg, topic, json);
			free(msg);
			return (AIOJOBS_OK);
		}
		if (r == -1) {
			r = aiojobs_events_fail(e, AIOJOBS_E_CLOSED, "%s",
			    cause);
			free(cause);
			return (r);
		}
		if ((left = deadline - aiojobs_now_ms()) <= 0 ||
		    aiojobs_events_poll(e, left) <= 0)
			return (aiojobs_events_fail(e, AIOJOBS_E_TIMEOUT,
			    "no event within %d ms", timeout_ms));
	}
}
