/*
 * Dependencies (`after`): a job starts only when every listed job has
 * succeeded; when one fails or is cancelled, the job fails with
 * dependency_failed without running, and so on down the chain. Ids must
 * exist at submit, so no cycle can form. Each unresolved edge is a link in
 * the dependency's list of dependents.
 */
#include <stdlib.h>

#include "aiojobsd.h"
#include "sched_parts.h"
#include "xmalloc.h"

struct job_dep {
	struct job		*job;	/* the dependent */
	TAILQ_ENTRY(job_dep)	 entry;
};

/*
 * Every id of a spec's `after` must name a job of the same owner: one
 * user's job cannot be held back by another's, nor learn how it ended.
 */
int
deps_check(struct sched *s, struct msg_spec *spec, const char *where,
    struct msg_error *err)
{
	size_t	 i;
	uid_t	 owner;

	for (i = 0; i < spec->nafter; i++) {
		if (sched_lookup_owner(s, spec->after[i], &owner) == -1) {
			msg_error_set(err, MSG_E_NOT_FOUND, "field 'after': no "
			    "job with id %lld%s", (long long)spec->after[i],
			    where);
			return (-1);
		}
		if (owner != spec->owner) {
			msg_error_set(err, MSG_E_FORBIDDEN, "field 'after': "
			    "job %lld belongs to another user%s",
			    (long long)spec->after[i], where);
			return (-1);
		}
	}
	return (0);
}

/*
 * Link a queued job to its unfinished dependencies. -1 when one already
 * failed, was cancelled or is gone (cleaned from the store: it cannot
 * succeed any more), with its id and state (-1 for gone): the job cannot
 * run, and the scheduler fails it.
 */
int
deps_link(struct job *job, int64_t *failed, int *state)
{
	struct job_more	*m = job->more;
	struct job	*dep;
	struct job_dep	*d;
	size_t		 i;

	for (i = 0; m != NULL && i < m->nafter; i++) {
		dep = sched_lookup_job(job->queue->sched, m->after[i]);
		*state = dep != NULL ? dep->state :
		    sched_lookup_state(job->queue->sched, m->after[i]);
		if (*state == JOB_SUCCEEDED)
			continue;
		if (dep == NULL || job_state_final(*state)) {
			*failed = m->after[i];
			return (-1);
		}
		d = xcalloc(1, sizeof *d);
		d->job = job;
		TAILQ_INSERT_TAIL(&job_more(dep)->dependents, d, entry);
		m->deps_left++;
	}
	return (0);
}

/*
 * dep became final: take the next queued job that waited for it, or NULL
 * when none is left. If dep succeeded, *ready says the job waits for
 * nothing else now; otherwise the scheduler fails it.
 */
struct job *
deps_next(struct job *dep, int *ready)
{
	struct job_dep	*d;
	struct job	*job;

	while (dep->more != NULL &&
	    (d = TAILQ_FIRST(&dep->more->dependents)) != NULL) {
		TAILQ_REMOVE(&dep->more->dependents, d, entry);
		job = d->job;
		free(d);
		if (job->state != JOB_QUEUED)
			continue;	/* cancelled meanwhile */
		*ready = dep->state == JOB_SUCCEEDED &&
		    --job->more->deps_left == 0;
		return (job);
	}
	return (NULL);
}

/* Drop the links of a job that is freed. */
void
deps_free(struct job *job)
{
	struct job_dep	*d;

	if (job->more == NULL)
		return;
	while ((d = TAILQ_FIRST(&job->more->dependents)) != NULL) {
		TAILQ_REMOVE(&job->more->dependents, d, entry);
		free(d);
	}
}
