/*
 * The event endpoint: a PUB endpoint publishing "TOPIC JSON" for every state
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
#include "sp_server.h"
#include "xmalloc.h"

struct events {
	struct sp_server	*server;
	char			*url;
};

struct events *
events_create(struct aiojobsd *aj, const char *url, char **cause)
{
	struct events		*ev;
	struct sp_server	*s;

	if (endpoint_check_bind(url, cause) != 0)
		return (NULL);
	if ((s = sp_server_pub(aj->base, url, cause)) == NULL)
		return (NULL);
	if (endpoint_restrict_to(url, config_events_mode(&aj->conf),
	    (long)aj->conf.events_socket_gid, cause) != 0) {
		sp_server_free(s);
		return (NULL);
	}
	ev = xcalloc(1, sizeof *ev);
	ev->server = s;
	ev->url = xstrdup(url);
	return (ev);
}

void
events_free(struct events *ev)
{
	const char	*path;

	if (ev == NULL)
		return;
	sp_server_free(ev->server);
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
	if (ev == NULL || !sp_server_has_peers(ev->server))
		return;
	job_view(job, &v);
	json = msg_view_encode(&v, 0);
	n = xasprintf(&msg, "job.%s %s", v.state, json);
	sp_server_publish(ev->server, msg, (size_t)n);
	free(msg);
	free(json);
}
