/*
 * The event endpoint: a PUB socket publishing "TOPIC JSON" for every state
 * change, TOPIC being job.<state>. Best effort: a slow subscriber loses
 * messages, the daemon never waits for one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aiojobsd.h"
#include "endpoint.h"
#include "log.h"
#include "transport.h"
#include "xmalloc.h"

struct events {
	struct transport	*transport;
	char			*url;
	struct sentry		*sentry;	/* ipc only */
};

struct events *
events_create(struct aiojobsd *aj, const char *url, char **cause)
{
	struct events		*ev;
	struct transport	*t;

	if (endpoint_check_bind(url, cause) != 0)
		return (NULL);
	if ((t = transport_pub_listen(url, cause)) == NULL)
		return (NULL);
	if (endpoint_restrict_to(url, config_socket_mode(&aj->conf),
	    (long)aj->conf.socket_gid, cause) != 0) {
		transport_close(t);
		return (NULL);
	}
	ev = xcalloc(1, sizeof *ev);
	ev->transport = t;
	ev->url = xstrdup(url);
	ev->sentry = sentry_create(aj->base, t, url,
	    config_socket_mode(&aj->conf), (long)aj->conf.socket_gid);
	return (ev);
}

void
events_free(struct events *ev)
{
	const char	*path;

	if (ev == NULL)
		return;
	sentry_free(ev->sentry);
	transport_close(ev->transport);
	if ((path = endpoint_ipc_path(ev->url)) != NULL &&
	    unlink(path) == -1 && errno != ENOENT)
		log_warn("unlink %s", path);
	free(ev->url);
	free(ev);
}

void
events_publish(struct events *ev, struct job *job)
{
	struct msg_view	 v;
	char		*json, *msg;
	int		 n;

	/* Nobody listens: skip the encoding (a third of a short job's cost). */
	if (ev == NULL || !transport_has_peers(ev->transport))
		return;
	job_view(job, &v);
	json = msg_view_encode(&v, 0);
	n = xasprintf(&msg, "job.%s %s", v.state, json);
	transport_publish(ev->transport, msg, (size_t)n);
	free(msg);
	free(json);
}
