/*
 * The daemon's side of durability: opening the store and recovering at
 * start, the commit at the end of a loop iteration with a submit (a
 * lowest-priority event, so every change of the iteration is in it) after
 * which submits are answered, a grouped commit for other changes,
 * retrying when the store cannot write (disk full), and retention.
 */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "aiojobsd.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

#define DURABLE_PRIO		2	/* the lowest */
#define DURABLE_RETRY_MS	1000
/*
 * Changes no one waits on (jobs starting, finishing) are committed within
 * this long, many loop turns in one fsync; a submit's commit is not
 * delayed (durable_reply).
 */
#define DURABLE_GROUP_MS	250
#define RETENTION_EVERY_MS	60000
#define RETENTION_BATCH		1000

static void
durable_dirty_cb(void *arg)
{
	struct aiojobsd	*aj = arg;
	struct timeval	 tv = { 0, DURABLE_GROUP_MS * 1000 };

	if (!aj->store_failing && !evtimer_pending(aj->commit_timer, NULL))
		evtimer_add(aj->commit_timer, &tv);
}

static void
durable_commit_cb(int fd, short events, void *arg)
{
	durable_commit(arg);
}

static void
durable_retry_cb(int fd, short events, void *arg)
{
	struct aiojobsd	*aj = arg;

	aj->store_failing = 0;
	durable_commit(aj);
}

static void
durable_timer(struct event *ev, int64_t ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

int
durable_open(struct aiojobsd *aj, char **cause)
{
	struct sched	*s = aj->sched;

	if ((s->store = store_open(aj->conf.state_dir, aj->conf.durability_safe,
	    cause)) == NULL)
		return (-1);
	TAILQ_INIT(&aj->committing);
	aj->commit_ev = event_new(aj->base, -1, 0, durable_commit_cb, aj);
	event_priority_set(aj->commit_ev, DURABLE_PRIO);
	aj->commit_retry = evtimer_new(aj->base, durable_retry_cb, aj);
	aj->commit_timer = evtimer_new(aj->base, durable_commit_cb, aj);
	event_priority_set(aj->commit_timer, DURABLE_PRIO);
	aj->retention_timer = evtimer_new(aj->base, durable_retention_cb, aj);
	s->dirty_cb = durable_dirty_cb;
	s->dirty_arg = aj;
	/*
	 * safe: a job starts only once its row is committed, so a job whose
	 * submit was not answered ok never runs before it is on disk (the
	 * pump runs before the commit in the same loop turn). fast trades
	 * that for latency: a job may start before its commit.
	 */
	s->start_stored = aj->conf.durability_safe;
	if (recover_jobs(s, cause) != 0)
		return (-1);
	durable_retention_set(aj);
	log_info("job store %s/jobs.db (durability %s, retention %lld s)",
	    aj->conf.state_dir, aj->conf.durability_safe ? "safe" : "fast",
	    (long long)aj->conf.retention_ms / 1000);
	return (0);
}

void
durable_close(struct aiojobsd *aj)
{
	if (aj->commit_ev == NULL)
		return;
	event_free(aj->commit_ev);
	event_free(aj->commit_timer);
	event_free(aj->commit_retry);
	event_free(aj->retention_timer);
	store_close(aj->sched->store);
	aj->sched->store = NULL;
}

/* 1 if the job of this id exists in memory only: its row is not committed. */
static int
durable_unstored(struct aiojobsd *aj, int64_t id)
{
	struct job	*job = sched_lookup_job(aj->sched, id);

	return (job != NULL && !job->stored);
}

static int
durable_id_cmp(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * The ids of a submit's jobs that exist in memory only, each once (a key
 * given twice in a batch names one job twice), in id order; how many.
 */
static size_t
durable_unstored_ids(struct aiojobsd *aj, struct creq *cr, int64_t **ids)
{
	size_t	 i, n = 0, u = 0;

	*ids = xcalloc(cr->nids, sizeof **ids);
	for (i = 0; i < cr->nids; i++) {
		if (durable_unstored(aj, cr->ids[i]))
			(*ids)[n++] = cr->ids[i];
	}
	qsort(*ids, n, sizeof **ids, durable_id_cmp);
	for (i = 0; i < n; i++) {
		if (u == 0 || (*ids)[u - 1] != (*ids)[i])
			(*ids)[u++] = (*ids)[i];
	}
	return (u);
}

/*
 * The reply to a submit whose commit failed, or NULL when every job it
 * named is on disk already (a resubmit of committed keys): the ids as an
 * ok reply has them, and under error.jobs the id and key of each job
 * that exists in memory only.
 */
static char *
durable_not_durable(struct aiojobsd *aj, struct creq *cr, const char *cause)
{
	struct msg_out	*o;
	int64_t		*ids;
	size_t		 i, n;

	if ((n = durable_unstored_ids(aj, cr, &ids)) == 0) {
		free(ids);
		return (NULL);
	}
	o = msg_out_new();
	msg_out_bool(o, "ok", 0);
	if (cr->req.present & MSG_F_JOBS) {
		msg_out_array(o, "ids");
		for (i = 0; i < cr->nids; i++)
			msg_out_int(o, NULL, cr->ids[i]);
		msg_out_close(o);
	} else
		msg_out_int(o, "id", cr->ids[0]);
	msg_out_object(o, "error");
	msg_out_string(o, "code", MSG_E_NOT_DURABLE);
	msg_out_string(o, "message", cause);
	msg_out_array(o, "jobs");
	for (i = 0; i < n; i++) {
		msg_out_object(o, NULL);
		msg_out_int(o, "id", ids[i]);
		msg_out_string(o, "key", sched_lookup_job(aj->sched, ids[i])->key);
		msg_out_close(o);
	}
	msg_out_close(o);
	msg_out_close(o);
	free(ids);
	return (msg_out_finish(o, 0));
}

/*
 * The store could not write: answer what waited for the commit. Reads
 * get their answer (they work on a full disk). A submit gets not_durable,
 * which says its jobs exist, in memory only, rather than an error that
 * would mean they do not: taking them back out of memory is not possible
 * in general, since by now other requests may have named them (after,
 * wait, cancel), resubmits of their keys been answered, and in fast mode
 * they may be running. They are written once the store works again; a
 * client resends the same request (same keys: the same jobs, nothing
 * new) until it is answered ok, so the jobs that exist are always the
 * jobs some client was told of.
 */
static void
durable_failed(struct aiojobsd *aj, const char *cause)
{
	struct creq	*cr;
	char		*reply, *why, *nd;

	xasprintf(&why, "the job store cannot write (%s); the jobs exist "
	    "but are not on disk yet: resend the same request (same keys) "
	    "until it is answered ok", cause);
	while ((cr = TAILQ_FIRST(&aj->committing)) != NULL) {
		TAILQ_REMOVE(&aj->committing, cr, entry);
		reply = cr->reply;
		cr->reply = NULL;
		if (cr->shows || (nd = durable_not_durable(aj, cr, why)) ==
		    NULL) {
			control_reply(cr, reply);
			continue;
		}
		free(reply);
		log_debug("error reply: %s: %s", MSG_E_NOT_DURABLE, why);
		control_reply(cr, nd);
	}
	free(why);
}

/*
 * Commit what this iteration changed, then answer the submits waiting for
 * it. A store that cannot write is tried again a second later; the jobs
 * stay in memory, marked, and are written then (durable_failed).
 */
void
durable_commit(struct aiojobsd *aj)
{
	struct creq	*cr;
	char		*cause = NULL, *reply;

	if (aj->sched->store == NULL || aj->store_failing)
		return;
	evtimer_del(aj->commit_timer);
	metrics_commit_begin(aj->metrics);
	if (sched_commit(aj->sched, &cause) != 0) {
		log_warnx("%s; retrying in %d ms", cause, DURABLE_RETRY_MS);
		aj->store_failing = 1;
		durable_timer(aj->commit_retry, DURABLE_RETRY_MS);
		durable_failed(aj, cause);
		free(cause);
		return;
	}
	metrics_commit_end(aj->metrics);
	while ((cr = TAILQ_FIRST(&aj->committing)) != NULL) {
		TAILQ_REMOVE(&aj->committing, cr, entry);
		reply = cr->reply;
		cr->reply = NULL;
		control_reply(cr, reply);	/* frees cr */
	}
}

/* Commit at the end of this loop iteration. */
void
durable_commit_soon(struct aiojobsd *aj)
{
	if (aj->commit_ev != NULL)
		event_active(aj->commit_ev, EV_TIMEOUT, 1);
}

/*
 * Answer a request that shows jobs (status, list, wait, cancel): what a
 * client has seen must survive a crash, so while changes are waiting for
 * their commit the answer waits for it too (the end of this turn).
 */
void
durable_reply_seen(struct aiojobsd *aj, struct creq *cr, char *reply)
{
	if (aj->sched->store == NULL || aj->store_failing ||
	    aj->sched->ndirty == 0)
		control_reply(cr, reply);
	else {
		cr->shows = 1;
		durable_reply(aj, cr, reply);
	}
}

/* Answer a submit once the transaction holding its jobs has committed. */
void
durable_reply(struct aiojobsd *aj, struct creq *cr, char *reply)
{
	if (aj->sched->store == NULL) {
		control_reply(cr, reply);
		return;
	}
	cr->reply = reply;
	TAILQ_INSERT_TAIL(&aj->committing, cr, entry);
	event_active(aj->commit_ev, EV_TIMEOUT, 1);
}

/* Sweep often enough for a short retention, at most once a second. */
static int64_t
durable_retention_every(struct aiojobsd *aj)
{
	int64_t	 ms = aj->conf.retention_ms;

	if (ms > RETENTION_EVERY_MS)
		ms = RETENTION_EVERY_MS;
	return (ms < 1000 ? 1000 : ms);
}

/*
 * Delete at most limit finished jobs that finished before cutoff (state
 * -1: any final state); returns how many, or -1 with cause. Pending
 * changes are committed first: a changed job written again would come
 * back after its deletion.
 */
int64_t
durable_clean(struct aiojobsd *aj, int64_t cutoff, int state, int64_t limit,
    char **cause)
{
	struct sched	*s = aj->sched;
	int64_t		 n;

	if (s->store == NULL)
		return (0);
	durable_commit(aj);
	if (aj->store_failing) {
		xasprintf(cause, "the job store cannot write");
		return (-1);
	}
	if ((n = store_clean(s->store, cutoff, state, limit, cause)) > 0) {
		persist_recount(s);
		durable_commit_soon(aj);
	}
	return (n);
}

/* Start, restart or stop the retention sweep (0 keeps every job). */
void
durable_retention_set(struct aiojobsd *aj)
{
	if (aj->conf.retention_ms > 0)
		durable_timer(aj->retention_timer, 1000);
	else
		evtimer_del(aj->retention_timer);
}

/* Retention: delete old finished jobs in small batches. */
void
durable_retention_cb(int fd, short events, void *arg)
{
	struct aiojobsd	*aj = arg;
	char		*cause = NULL;
	int64_t		 n;

	n = durable_clean(aj, now_ms() - aj->conf.retention_ms, -1,
	    RETENTION_BATCH, &cause);
	if (n < 0) {
		log_warnx("retention: %s", cause);
		free(cause);
	} else if (n > 0)
		log_info("retention: removed %lld finished jobs", (long long)n);
	durable_timer(aj->retention_timer, n == RETENTION_BATCH ? 1000 :
	    durable_retention_every(aj));
}
