/*
 * SIGHUP: read the configuration file again, put the command-line flags
 * back over it, and apply what can change while jobs run (limits, log
 * level, retention, worker count, queues). Nothing running or queued is
 * touched; keys that need a restart are only reported. A file that does
 * not parse leaves the running configuration as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "log.h"
#include "store.h"
#include "users.h"
#include "xmalloc.h"

/*
 * What a [queue.NAME] section changed in a queue, for the log ("limit 3
 * (was 1), paused (was running)"); empty if nothing.
 */
static void
reload_queue_changes(const struct queue *q, int64_t limit, double rate,
    int paused, char *buf, size_t len)
{
	size_t	 n = 0;

	buf[0] = '\0';
	if (q->limit != limit)
		n += (size_t)snprintf(buf + n, len - n, ", limit %lld (was %lld)",
		    (long long)q->limit, (long long)limit);
	if (q->rate != rate && n < len)
		n += (size_t)snprintf(buf + n, len - n, ", rate %g (was %g)",
		    q->rate, rate);
	if (q->paused != paused && n < len)
		snprintf(buf + n, len - n, ", %s (was %s)", q->paused ?
		    "paused" : "running", paused ? "paused" : "running");
}

/*
 * Put [pool] into effect: start the worker pool, or resize it to the
 * configured count; at start and on reload.
 */
void
reload_pool(struct aiojobsd *aj)
{
	struct pool_opts	 o;

	if (aj->pool != NULL) {
		pool_resize(aj->pool, (int)aj->conf.workers);
		return;
	}
	if (aj->conf.workers == 0)
		return;
	memset(&o, 0, sizeof o);
	o.workers = aj->conf.workers;
	o.plugin_dir = aj->conf.plugin_dir;
	o.exe = "/proc/self/exe";
	o.memory_limit = aj->conf.worker_memory_limit;
	o.cpu_limit = aj->conf.worker_cpu_limit;
	o.user = aj->conf.worker_user;
	aj->pool = pool_create(aj->base, aj->sched, &o);
	aj->sched->pool = aj->pool;
}

/*
 * Put the [queue.NAME] sections into effect; at start and on reload.
 * Every change is logged: an operator sees what a reload did.
 */
void
reload_queues(struct aiojobsd *aj)
{
	struct config_queue	*cq;
	struct queue		*q;
	char			*cause, changes[256];
	int64_t			 limit;
	double			 rate;
	int			 paused;

	TAILQ_FOREACH(cq, &aj->conf.queues, entry) {
		q = sched_queue(aj->sched, cq->name, 1);
		limit = q->limit;
		rate = q->rate;
		paused = q->paused;
		queue_configure(q, ((cq->set & CONFIG_Q_LIMIT) ?
		    QUEUE_SET_LIMIT : 0) | ((cq->set & CONFIG_Q_RATE) ?
		    QUEUE_SET_RATE : 0) | ((cq->set & CONFIG_Q_PAUSED) ?
		    QUEUE_SET_PAUSED : 0), cq->limit, cq->rate, cq->paused);
		reload_queue_changes(q, limit, rate, paused, changes,
		    sizeof changes);
		if (changes[0] != '\0')
			log_info("queue %s: %s", q->name, changes + 2);
		if (aj->sched->store == NULL)
			continue;
		if (store_put_queue(aj->sched->store, q->name, q->limit,
		    q->rate, q->paused, &cause) != 0) {
			log_warnx("queue %s: %s", q->name, cause);
			free(cause);
		}
	}
	if (aj->sched->store != NULL)
		durable_commit_soon(aj);
	sched_kick(aj->sched);
}

/* The running daemon follows its (changed) configuration. */
static void
reload_apply(struct aiojobsd *aj)
{
	log_set_level(aj->conf.log_level);
	aj->sched->limit = aj->conf.limit;
	aj->sched->pending_limit = aj->conf.pending_limit;
	aj->sched->kill_grace_ms = aj->conf.kill_grace_ms;
	if (aj->sched->store != NULL)
		durable_retention_set(aj);
	reload_pool(aj);
	reload_queues(aj);
}

/* Compare key by key: take what may change now, report the rest. */
static void
reload_keys(struct aiojobsd *aj, struct config *nc)
{
	char	 was[256], now[256];
	int	 i, n = (int)config_nkeys();

	for (i = 0; i < n; i++) {
		if (config_key_equal(&aj->conf, nc, i))
			continue;
		config_format(&aj->conf, i, was, sizeof was);
		config_format(nc, i, now, sizeof now);
		if (!config_reloadable(i)) {
			log_warnx("reload: [%s] %s changed to '%s'; it takes "
			    "effect after a restart (still '%s')",
			    config_key_section(i), config_key_name(i), now,
			    was);
			continue;
		}
		log_info("reload: [%s] %s = %s (was %s)",
		    config_key_section(i), config_key_name(i), now, was);
		config_key_copy(&aj->conf, nc, i);
	}
}

/* Say which [queue.NAME] sections left the file: their queues stay as set. */
static void
reload_queues_gone(struct config_queues *was, struct config_queues *now)
{
	struct config_queue	*cq, *nq;

	TAILQ_FOREACH(cq, was, entry) {
		TAILQ_FOREACH(nq, now, entry) {
			if (strcmp(nq->name, cq->name) == 0)
				break;
		}
		if (nq == NULL)
			log_info("reload: [queue.%s] is gone from the file; "
			    "queue %s keeps its settings", cq->name, cq->name);
	}
}

/*
 * The rules of the new [access] and [user.NAME] sections, or NULL if one
 * of their users, groups or token files is not there. The user database
 * may have changed too: forget what was cached.
 */
static struct access *
reload_access(struct config *nc, char **cause)
{
	users_flush();
	if (config_prepare_users(nc, cause) != 0)
		return (NULL);
	return (access_create(nc, cause));
}

/*
 * Reload (SIGHUP, or the reload op): 0, or -1 with *cause saying why the
 * configuration stays as it was.
 */
int
reload_config(struct aiojobsd *aj, char **cause)
{
	struct config	 nc;
	struct access	*a = NULL;
	char		*why = NULL;

	if (aj->shutting_down) {
		xasprintf(cause, "shutting down");
		return (-1);
	}
	if (aj->config_path == NULL) {
		xasprintf(cause, "no configuration file to read");
		return (-1);
	}
	notify_reloading(aj);
	config_defaults(&nc);
	if (config_load(&nc, aj->config_path, aj->conf.path_given,
	    &why) != 0 || config_apply_args(&nc, &aj->args, &why) != 0 ||
	    (a = reload_access(&nc, &why)) == NULL) {
		xasprintf(cause, "configuration unchanged: %s", why);
		free(why);
		config_clear(&nc);
		notify_ready(aj);
		return (-1);
	}
	config_resolve(&nc);
	reload_keys(aj, &nc);
	access_free(aj->access);
	aj->access = a;
	config_access_take(&aj->conf, &nc);
	if (!config_listens_equal(&aj->conf, &nc))
		log_warnx("reload: the [listen.NAME] endpoints changed; they "
		    "take effect after a restart");
	reload_queues_gone(&aj->conf.queues, &nc.queues);
	config_queues_clear(&aj->conf.queues);
	TAILQ_CONCAT(&aj->conf.queues, &nc.queues, entry);
	config_clear(&nc);
	reload_apply(aj);
	log_info("configuration reloaded from %s", aj->config_path);
	notify_ready(aj);
	return (0);
}
