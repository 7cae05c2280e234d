/*
 * Task groups (asyncio.TaskGroup): the jobs of one batch submitted with
 * "group": true. When a member fails, every member still queued or
 * running is cancelled, the message naming the failed member.
 */
#include <stdio.h>
#include <stdlib.h>

#include "aiojobsd.h"
#include "log.h"
#include "sched_parts.h"
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

/*
 * A member is final: 1 when it is the group's first failure, and the
 * scheduler is to cancel the rest of the group.
 */
int
group_member_final(struct job *job)
{
	struct group	*g = job->more != NULL ? job->more->group : NULL;

	if (g == NULL || job->state != JOB_FAILED || g->failed)
		return (0);
	g->failed = 1;
	return (1);
}

/* The ids of the members of job's group (none if it has none). */
const int64_t *
group_ids(struct job *job, size_t *n)
{
	struct group	*g = job->more != NULL ? job->more->group : NULL;

	*n = g != NULL ? g->n : 0;
	return (g != NULL ? g->ids : NULL);
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
