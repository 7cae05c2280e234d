/*
 * Task groups (asyncio.TaskGroup): the jobs of one batch submitted with
 * "group": true. When a member fails, every member still queued or
 * running is cancelled, the message naming the failed member.
 */
#include <stdio.h>
#include <stdlib.h>

#include "aiojobsd.h"
#include "log.h"
#include "xmalloc.h"

struct group {
	int		 refs;
	int		 failed;
	size_t		 n;
	int64_t		*ids;
};

void
group_create(struct job **jobs, size_t n)
{
	struct group	*g;
	size_t		 i;

	g = xcalloc(1, sizeof *g);
	g->n = n;
	g->ids = xcalloc(n, sizeof *g->ids);
	for (i = 0; i < n; i++) {
		g->ids[i] = jobs[i]->id;
		job_more(jobs[i])->group = g;
		if (jobs[i]->more->group_id == 0) {
			jobs[i]->more->group_id = jobs[0]->id;
			persist_mark(jobs[i]);
		}
		g->refs++;
	}
}

/* A member is final; its failure cancels the rest of the group. */
void
group_member_final(struct job *job)
{
	struct group	*g = job->more != NULL ? job->more->group : NULL;
	struct job	*other;
	char		 reason[96];
	size_t		 i;

	if (g == NULL || job->state != JOB_FAILED || g->failed)
		return;
	g->failed = 1;
	log_info("job %lld failed: cancelling the rest of its group",
	    (long long)job->id);
	snprintf(reason, sizeof reason, "group member %lld failed",
	    (long long)job->id);
	for (i = 0; i < g->n; i++) {
		other = sched_find(job->queue->sched, g->ids[i]);
		if (other != NULL && other != job)
			sched_cancel(other, reason);
	}
}

/* The job is freed: drop its reference to the group. */
void
group_unref(struct job *job)
{
	struct group	*g = job->more != NULL ? job->more->group : NULL;

	if (g == NULL)
		return;
	job->more->group = NULL;
	if (--g->refs == 0) {
		free(g->ids);
		free(g);
	}
}
