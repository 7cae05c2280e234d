/*
 * Recovery at start: the queue settings and the queued and running jobs of
 * the store come back into the scheduler, task groups and dependencies are
 * linked again, and jobs that were running when the daemon stopped are
 * retried or failed. Above the scheduler: it only calls down into it.
 */
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "log.h"
#include "sched/sched_parts.h"
#include "store.h"
#include "tree.h"
#include "xmalloc.h"

/* Groups being rebuilt at start: their first member's id, members. */
struct recover_group {
	int64_t			  id;
	struct job		**jobs;
	size_t			  n;
	struct recover_group	 *next;
};

struct recovery {
	struct sched		*s;
	struct recover_group	*groups;
	struct job		**jobs;		/* restored, in id order */
	int			*was_running;
	size_t			 njobs;
	int64_t			 interrupted;
};

static void
recover_group_add(struct recovery *pr, struct job *job)
{
	struct recover_group	*g;

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
recover_interrupted(struct job *job)
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
		sched_set_state(job, JOB_FAILED);
		return;
	}
	persist_set_tree(job, NULL);
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
	sched_set_state(job, JOB_FAILED);
}

static int
recover_job_cb(struct store_row *r, void *arg)
{
	struct recovery	*pr = arg;
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
		persist_set_tree(job, xstrdup(r->tree));
	if (job_group_id(job) > 0)
		recover_group_add(pr, job);
	pr->jobs = xreallocarray(pr->jobs, pr->njobs + 1, sizeof *pr->jobs);
	pr->was_running = xreallocarray(pr->was_running, pr->njobs + 1,
	    sizeof *pr->was_running);
	pr->jobs[pr->njobs] = job;
	pr->was_running[pr->njobs++] = r->state == JOB_RUNNING;
	return (0);
}

static void
recover_queue_cb(const char *name, int64_t limit, double rate, int paused,
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
recover_settle(struct recovery *pr)
{
	struct job	*job;
	size_t		 i;

	for (i = 0; i < pr->njobs; i++) {
		job = pr->jobs[i];
		if (pr->was_running[i] && job->state == JOB_QUEUED) {
			pr->interrupted++;
			recover_interrupted(job);
		}
	}
	for (i = 0; i < pr->njobs; i++) {
		job = pr->jobs[i];
		if (job->state != JOB_QUEUED || job->ready)
			continue;
		sched_link_deps(job);
		if (job->state == JOB_QUEUED)
			sched_ready_at(job, job->not_before);
	}
}

/* Bring back the queued and running jobs of the store. */
int
recover_jobs(struct sched *s, char **cause)
{
	struct recovery	 pr;
	struct recover_group	*g, *next;

	memset(&pr, 0, sizeof pr);
	pr.s = s;
	/* the high-water mark: ids of cleaned jobs are never given again */
	s->next_id = store_max_id(s->store) + 1;
	store_each_queue(s->store, recover_queue_cb, s);
	persist_recount(s);
	if (store_each_unfinished(s->store, recover_job_cb, &pr) != 0) {
		xasprintf(cause, "job store: cannot read the queued jobs");
		return (-1);
	}
	for (g = pr.groups; g != NULL; g = next) {
		next = g->next;
		group_create(s->groups, g->jobs, g->n);
		free(g->jobs);
		free(g);
	}
	recover_settle(&pr);
	if (pr.njobs > 0)
		log_info("restored %zu queued jobs (%lld were running); next "
		    "id %lld", pr.njobs, (long long)pr.interrupted,
		    (long long)s->next_id);
	free(pr.jobs);
	free(pr.was_running);
	sched_kick(s);
	return (0);
}
