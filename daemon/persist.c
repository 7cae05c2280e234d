/*
 * Jobs to rows: the scheduler marks every job it changes; once per loop
 * iteration (a lowest-priority event, durable.c) the marked jobs are
 * written as rows (job_row) and committed in one transaction, and only
 * then are submits answered and finished jobs dropped from memory
 * (sched_commit). Bringing jobs back at start is recover.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

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

/*
 * Record (where NULL: forget) what finds the job's processes after a
 * crash (tree_where, owned), and write it with the job's row.
 */
void
persist_set_tree(struct job *job, char *where)
{
	job_set_tree(job, where);
	persist_mark(job);
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
		job_row(d->job, &r);
		if (!d->job->stored)
			r.spec = d->spec;
		rc = d->job->stored ? store_update(s->store, &r, cause) :
		    store_insert(s->store, &r, cause);
		if (rc != 0)
			return (-1);
	}
	return (0);
}

/*
 * Write and commit. On success the jobs are clean, and done (the
 * scheduler's) hears of each: a finished one leaves memory, a new one may
 * start. On failure (disk full...) they stay marked for the next try.
 */
int
persist_commit(struct sched *s, void (*done)(struct job *), char **cause)
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
		done(job);
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

