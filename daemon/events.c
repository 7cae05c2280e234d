/*
 * The event endpoint: a PUB socket publishing "TOPIC JSON" for every state
 * change, TOPIC being job.<state>. Best effort: a slow subscriber loses
 * messages, the daemon never waits for one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>

#include "aiojobsd.h"
#include "endpoint.h"
#include "log.h"
#include "xmalloc.h"

struct events {
	int	 sock;
	char	*url;
};

struct events *
events_create(struct aiojobsd *aj, const char *url, char **cause)
{
	struct events	*ev;
	int		 sock;

	if (endpoint_check_bind(url, cause) != 0)
		return (NULL);
	if ((sock = nn_socket(AF_SP, NN_PUB)) < 0) {
		xasprintf(cause, "nn_socket: %s", nn_strerror(nn_errno()));
		return (NULL);
	}
	if (nn_bind(sock, url) < 0) {
		if (nn_errno() == EADDRINUSE)
			xasprintf(cause, "%s: address in use: another aiojobsd "
			    "is already publishing there", url);
		else
			xasprintf(cause, "%s: %s", url,
			    nn_strerror(nn_errno()));
		nn_close(sock);
		return (NULL);
	}
	if (endpoint_restrict_to(url, config_socket_mode(&aj->conf),
	    (long)aj->conf.socket_gid, cause) != 0) {
		nn_close(sock);
		return (NULL);
	}
	ev = xcalloc(1, sizeof *ev);
	ev->sock = sock;
	ev->url = xstrdup(url);
	return (ev);
}

void
events_free(struct events *ev)
{
	const char	*path;

	if (ev == NULL)
		return;
	nn_close(ev->sock);
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
	if (ev == NULL ||
	    nn_get_statistic(ev->sock, NN_STAT_CURRENT_CONNECTIONS) == 0)
		return;
	job_view(job, &v);
	json = msg_view_encode(&v, 0);
	n = xasprintf(&msg, "job.%s %s", v.state, json);
	if (nn_send(ev->sock, msg, (size_t)n, NN_DONTWAIT) < 0 &&
	    nn_errno() != EAGAIN)
		log_debug("events: %s", nn_strerror(nn_errno()));
	free(msg);
	free(json);
}
