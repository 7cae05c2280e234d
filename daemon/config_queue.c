/*
 * The [queue.NAME] sections: a queue's limit, rate and paused state as
 * the file sets them. Only the keys a section names are applied, so each
 * is marked in set (CONFIG_Q_*).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config_private.h"
#include "msg.h"
#include "xmalloc.h"

void
config_queues_clear(struct config_queues *queues)
{
	struct config_queue	*q;

	while ((q = TAILQ_FIRST(queues)) != NULL) {
		TAILQ_REMOVE(queues, q, entry);
		free(q->name);
		free(q);
	}
}

/* The queue of that name, made when new. */
static struct config_queue *
config_queue(struct config *c, const char *name)
{
	struct config_queue	*q;

	TAILQ_FOREACH(q, &c->queues, entry) {
		if (strcmp(q->name, name) == 0)
			return (q);
	}
	q = xcalloc(1, sizeof *q);
	q->name = xstrdup(name);
	TAILQ_INSERT_TAIL(&c->queues, q, entry);
	return (q);
}

/* One key of a [queue.NAME] section. */
int
config_queue_set(struct config *c, const char *qname, const char *name,
    const char *value, char **cause)
{
	struct config_queue	*q;
	int64_t			 v;
	double			 d;
	char			*end;
	int			 b;

	if (*qname == '\0' || strlen(qname) > MSG_QUEUE_MAX) {
		xasprintf(cause, "a queue name is 1 to %d bytes long",
		    MSG_QUEUE_MAX);
		return (-1);
	}
	if (strcmp(name, "limit") == 0) {
		if (config_value_int(value, &v) != 0 || v > INT32_MAX) {
			xasprintf(cause, "limit wants 0 to %d, not '%s'",
			    INT32_MAX, value);
			return (-1);
		}
		q = config_queue(c, qname);
		q->limit = v;
		q->set |= CONFIG_Q_LIMIT;
	} else if (strcmp(name, "rate") == 0) {
		errno = 0;
		d = strtod(value, &end);
		if (!isdigit((unsigned char)*value) || *end != '\0' ||
		    value[strspn(value, "0123456789.eE+-")] != '\0' ||
		    errno != 0 || !isfinite(d)) {
			xasprintf(cause, "rate wants starts per second (0 for "
			    "any), not '%s'", value);
			return (-1);
		}
		q = config_queue(c, qname);
		q->rate = d;
		q->set |= CONFIG_Q_RATE;
	} else if (strcmp(name, "paused") == 0) {
		if (config_value_bool(value, &b) != 0) {
			xasprintf(cause, "paused wants true or false, not '%s'",
			    value);
			return (-1);
		}
		q = config_queue(c, qname);
		q->paused = b;
		q->set |= CONFIG_Q_PAUSED;
	} else {
		xasprintf(cause, "unknown key '%s' in [queue.%s] (limit, "
		    "rate, paused)", name, qname);
		return (-1);
	}
	return (0);
}
