/*
 * Dependencies (`after`): a job starts only when every listed job has
 * succeeded; when one fails or is cancelled, the job fails with
 * dependency_failed without running, and so on down the chain. Ids must
 * exist at submit, so no cycle can form. Each unresolved edge is a link in
 * the dependency's list of dependents.
 */
#include <stdlib.h>

#include "aiojobsd.h"
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
		if (sched_owner(s, spec->after[i], &owner) == -1) {
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
 * Link a new job to its unfinished dependencies; a dependency that already
 * failed or was cancelled fails the job at once.
 */
void
deps_link(struct job *job)
{
	struct job_more	*m = job->more;
	struct job	*dep;
	struct job_dep	*d;
	size_t		 i;
	int		 state;

	for (i = 0; m != NULL && i < m->nafter; i++) {
		dep = sched_find(job->queue->sched, m->after[i]);
		state = dep != NULL ? dep->state :
		    sched_state(job->queue->sched, m->after[i]);
		if (state == JOB_SUCCEEDED)
			continue;
		if (dep == NULL || job_state_final(state)) {
			/* gone from the store too (cleaned): cannot succeed */
			sched_fail_queued(job, "dependency_failed",
			    "dependency %lld %s", (long long)m->after[i],
			    state == JOB_FAILED ? "failed" : state ==
			    JOB_CANCELLED ? "was cancelled" : "is gone");
			return;
		}
		d = xcalloc(1, sizeof *d);
		d->job = job;
		TAILQ_INSERT_TAIL(&job_more(dep)->dependents, d, entry);
		m->deps_left++;
	}
}

/* A job became final: release or fail the jobs that wait for it. */
void
deps_resolve(struct job *dep)
{
	struct job_dep	*d;
	struct job	*job;

	if (dep->more == NULL)
		return;
	while ((d = TAILQ_FIRST(&dep->more->dependents)) != NULL) {
		TAILQ_REMOVE(&dep->more->dependents, d, entry);
		job = d->job;
		free(d);
		if (job->state != JOB_QUEUED)
			continue;	/* cancelled meanwhile */
		if (dep->state != JOB_SUCCEEDED) {
			sched_fail_queued(job, "dependency_failed",
			    "dependency %lld %s", (long long)dep->id,
			    dep->state == JOB_FAILED ? "failed" :
			    "was cancelled");
			continue;
		}
		if (--job->more->deps_left == 0)
			sched_maybe_ready(job);
	}
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
