/*
 * Durability: the scheduler marks every job it changes; once per loop
 * iteration (a lowest-priority event, server.c) the marked jobs are
 * written and committed in one transaction, and only then are submits
 * answered and finished jobs dropped from memory. Lookups fall back to
 * the store for jobs no longer in memory. At start, queued and running
 * jobs come back from the store.
 */
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

/* The job as a row; the strings are the job's and the dirty entry's. */
static void
persist_row(struct dirty *d, struct store_row *r)
{
	struct job	*job = d->job;
	struct job_more	*m = job->more;

	memset(r, 0, sizeof *r);
	r->id = job->id;
	r->key = job->key;
	if (!job->stored)
		r->spec = d->spec;
	r->kind = (char *)job_kind(job)->name;
	r->name = m != NULL ? m->name : NULL;
	r->queue = job->queue->name;
	r->owner = job->owner;
	r->priority = job->priority;
	r->state = job->state;
	r->attempts = job->attempts;
	r->submitted_at = job->submitted_at;
	r->started_at = job->started_at;
	r->finished_at = job->finished_at;
	r->not_before = job->state == JOB_QUEUED ? job->not_before : -1;
	r->args = job->args;
	r->result = job->result;
	if (m != NULL) {
		r->error_code = m->error_code;
		r->error_message = m->error_message;
		r->group_id = m->group_id;
		r->tree = m->tree;
	}
}

/*
 * A new job: write it at the next commit, with spec as the store's copy
 * of its spec (owned). The text lives only until the row is committed.
 */
void
persist_mark_new(struct job *job, char *spec)
{
	struct sched	*s = job->queue->sched;
	struct dirty	*d;

	if (s->store == NULL || job->dirty) {
		free(spec);
		return;
	}
	if (s->ndirty == s->dirtysize) {
		s->dirtysize = s->dirtysize == 0 ? 64 : s->dirtysize * 2;
		s->dirty = xreallocarray(s->dirty, s->dirtysize,
		    sizeof *s->dirty);
	}
	d = &s->dirty[s->ndirty++];
	d->job = job;
	d->spec = spec;
	job->dirty = 1;
	if (s->dirty_cb != NULL)
		s->dirty_cb(s->dirty_arg);
}

/* The job changed: write it at the next commit. */
void
persist_mark(struct job *job)
{
	persist_mark_new(job, NULL);
}

/* Write the changed jobs into the open transaction (reads then see them). */
int
persist_flush(struct sched *s, char **cause)
{
	struct store_row	 r;
	struct dirty		*d;
	size_t			 i;
	int			 rc;

	if (s->store == NULL)
		return (0);
	for (i = 0; i < s->ndirty; i++) {
		d = &s->dirty[i];
		persist_row(d, &r);
		rc = d->job->stored ? store_update(s->store, &r, cause) :
		    store_insert(s->store, &r, cause);
		if (rc != 0)
			return (-1);
	}
	return (0);
}

/*
 * Write and commit. On success the jobs are clean and finished ones leave
 * memory; on failure (disk full...) they stay marked for the next try.
 */
int
persist_commit(struct sched *s, char **cause)
{
	struct job	*job;
	char		*ignore = NULL;
	size_t		 i;

	if (s->store == NULL)
		return (0);
	if (persist_flush(s, cause) != 0) {
		store_commit(s->store, &ignore);	/* rolls back on failure */
		free(ignore);
		return (-1);
	}
	if (store_commit(s->store, cause) != 0)
		return (-1);
	for (i = 0; i < s->ndirty; i++) {
		job = s->dirty[i].job;
		free(s->dirty[i].spec);
		job->dirty = 0;
		if (job_state_final(job->state)) {
			sched_forget(job);
			continue;
		}
		if (!job->stored) {
			job->stored = 1;	/* from now on, updates only */
			if (s->start_stored)
				sched_maybe_ready(job);	/* held until now */
		}
	}
	s->ndirty = 0;
	/* a burst (a big batch, many ends at once) leaves no big array */
	if (s->dirtysize > 4096) {
		free(s->dirty);
		s->dirty = NULL;
		s->dirtysize = 0;
	}
	return (0);
}

/*
 * A job by id, in memory (*jobp) or, finished, in the store (row filled,
 * *jobp NULL; clear the row). Returns 1 if found, 0 if not.
 */
int
sched_lookup(struct sched *s, int64_t id, struct job **jobp,
    struct store_row *row)
{
	memset(row, 0, sizeof *row);
	if ((*jobp = sched_find(s, id)) != NULL)
		return (1);
	if (s->store == NULL)
		return (0);
	return (store_get(s->store, id, row) == 1);
}

/*
 * The view of a job by id, from memory or the store (clear the row after
 * using the view: its strings may be the row's). Returns 1 if found.
 */
int
sched_view(struct sched *s, int64_t id, struct store_row *row,
    struct msg_view *v)
{
	struct job	*job;

	if (!sched_lookup(s, id, &job, row))
		return (0);
	if (job != NULL)
		job_view(job, v);
	else
		row_view(row, v);
	return (1);
}

/* A stored job as a view; the strings are the row's. */
void
row_view(struct store_row *r, struct msg_view *v)
{
	memset(v, 0, sizeof *v);
	v->id = r->id;
	v->kind = r->kind;
	v->name = r->name;
	v->queue = r->queue;
	v->owner = users_name(r->owner);
	v->priority = r->priority;
	v->state = r->state >= 0 && r->state < JOB_NSTATES ?
	    job_state_name(r->state) : "failed";
	v->attempts = r->attempts;
	v->submitted_at = r->submitted_at;
	v->started_at = r->started_at;
	v->finished_at = r->finished_at;
	v->args = r->args;
	v->result = r->result;
	v->error_code = r->error_code;
	v->error_message = r->error_message;
	v->compact = 1;		/* as stored: see store_sqlite.c, version 2 */
}

/* The counts of finished jobs are the store's (after a restart, a clean). */
void
persist_recount(struct sched *s)
{
	int64_t	 counts[JOB_NSTATES] = { 0 };
	int	 i;

	store_counts(s->store, counts);
	for (i = JOB_SUCCEEDED; i < JOB_NSTATES; i++)
		s->counts[i] = counts[i];
}

/* Groups being rebuilt at start: their first member's id, members. */
struct persist_group {
	int64_t			  id;
	struct job		**jobs;
	size_t			  n;
	struct persist_group	 *next;
};

struct persist_recovery {
	struct sched		*s;
	struct persist_group	*groups;
	struct job		**jobs;		/* restored, in id order */
	int			*was_running;
	size_t			 njobs;
	int64_t			 interrupted;
};

static void
persist_group_add(struct persist_recovery *pr, struct job *job)
{
	struct persist_group	*g;

	for (g = pr->groups; g != NULL && g->id != job_group_id(job);
	    g = g->next)
		;
	if (g == NULL) {
		g = xcalloc(1, sizeof *g);
		g->id = job_group_id(job);
		g->next = pr->groups;
		pr->groups = g;
	}
	g->jobs = xreallocarray(g->jobs, g->n + 1, sizeof *g->jobs);
	g->jobs[g->n++] = job;
}

/*
 * A job that was running when the daemon stopped: retry or fail it, once
 * what is left of its processes is gone. A job whose processes survive
 * is never retried: its next run would overlap them (and hold its lock
 * while they may still write).
 */
static void
persist_interrupted(struct job *job)
{
	const char	*tree = job_tree(job);
	char		*cause = NULL;

	if (tree != NULL && trees_reap(tree, &cause) != 0) {
		job_set_error(job, "interrupted", "the daemon stopped while the "
		    "job was running (attempt %lld) and its processes "
		    "survived: %s; not retried", (long long)job->attempts,
		    cause);
		log_warnx("job %lld: interrupted, not retried: %s",
		    (long long)job->id, cause);
		free(cause);
		job->finished_at = job->queue->sched->now();
		job_set_state(job, JOB_FAILED);
		return;
	}
	job_set_tree(job, NULL);
	if (job->attempts <= job_retries(job)) {
		log_info("job %lld: interrupted in attempt %lld, retrying",
		    (long long)job->id, (long long)job->attempts);
		job->not_before = job->queue->sched->now() + sched_backoff_ms(job);
		persist_mark(job);
		return;
	}
	job_set_error(job, "interrupted", "the daemon stopped while the job "
	    "was running (attempt %lld)", (long long)job->attempts);
	log_info("job %lld: interrupted, no retries left", (long long)job->id);
	job->finished_at = job->queue->sched->now();
	job_set_state(job, JOB_FAILED);
}

static int
persist_restore_cb(struct store_row *r, void *arg)
{
	struct persist_recovery	*pr = arg;
	struct msg_spec		 spec;
	struct msg_error	 err;
	struct job		*job;

	if (msg_spec_parse(r->spec, &spec, &err) != 0 ||
	    kind_find(spec.kind) == NULL) {
		log_warnx("job %lld: cannot restore it: %s", (long long)r->id,
		    err.message);
		return (0);
	}
	free(spec.key);
	spec.key = r->key != NULL ? xstrdup(r->key) : NULL;
	job = sched_restore(pr->s, &spec, r);
	msg_spec_clear(&spec);
	if (r->state == JOB_RUNNING && r->tree != NULL)
		job_set_tree(job, xstrdup(r->tree));
	if (job_group_id(job) > 0)
		persist_group_add(pr, job);
	pr->jobs = xreallocarray(pr->jobs, pr->njobs + 1, sizeof *pr->jobs);
	pr->was_running = xreallocarray(pr->was_running, pr->njobs + 1,
	    sizeof *pr->was_running);
	pr->jobs[pr->njobs] = job;
	pr->was_running[pr->njobs++] = r->state == JOB_RUNNING;
	return (0);
}

static void
persist_queue_cb(const char *name, int64_t limit, double rate, int paused,
    void *arg)
{
	queue_configure(sched_queue(arg, name, 1), QUEUE_SET_ALL, limit, rate,
	    paused);
}

/*
 * Once every job and group is back: settle interrupted jobs (a failure
 * now cancels its group, fails its dependents) and make the rest ready.
 */
static void
persist_settle(struct persist_recovery *pr)
{
	struct job	*job;
	size_t		 i;

	for (i = 0; i < pr->njobs; i++) {
		job = pr->jobs[i];
		if (pr->was_running[i] && job->state == JOB_QUEUED) {
			pr->interrupted++;
			persist_interrupted(job);
		}
	}
	for (i = 0; i < pr->njobs; i++) {
		job = pr->jobs[i];
		if (job->state != JOB_QUEUED || job->ready)
			continue;
		deps_link(job);
		if (job->state == JOB_QUEUED)
			sched_ready_at(job, job->not_before);
	}
}

/* Bring back the queued and running jobs of the store. */
int
persist_recover(struct sched *s, char **cause)
{
	struct persist_recovery	 pr;
	struct persist_group	*g, *next;

	memset(&pr, 0, sizeof pr);
	pr.s = s;
	/* the high-water mark: ids of cleaned jobs are never given again */
	s->next_id = store_max_id(s->store) + 1;
	store_each_queue(s->store, persist_queue_cb, s);
	persist_recount(s);
	if (store_each_unfinished(s->store, persist_restore_cb, &pr) != 0) {
		xasprintf(cause, "job store: cannot read the queued jobs");
		return (-1);
	}
	for (g = pr.groups; g != NULL; g = next) {
		next = g->next;
		group_create(g->jobs, g->n);
		free(g->jobs);
		free(g);
	}
	persist_settle(&pr);
	if (pr.njobs > 0)
		log_info("restored %zu queued jobs (%lld were running); next "
		    "id %lld", pr.njobs, (long long)pr.interrupted,
		    (long long)s->next_id);
	free(pr.jobs);
	free(pr.was_running);
	sched_kick(s);
	return (0);
}
