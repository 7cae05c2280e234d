/*
 * Task groups (asyncio.TaskGroup): the jobs of one batch submitted with
 * "group": true, and those submitted later with "join" naming one of
 * them. When a member fails, every member still queued or running is
 * cancelled, the message naming the failed member, and the group takes
 * no new members.
 *
 * A group lives in memory while one of its members does, found by its
 * id (its first member's) in the scheduler's table of groups. Once all
 * have ended and left memory, the store still knows the group's members
 * and whether one failed (store_group_failed), which is all a join needs.
 */
#include <stdio.h>
#include <stdlib.h>

#include "aiojobsd.h"
#include "log.h"
#include "sched_parts.h"
#include "xmalloc.h"

struct group {
	int64_t			 id;
	int			 refs;
	int			 failed;
	size_t			 n;
	int64_t			*ids;
	struct groups		*groups;
	RB_ENTRY(group)		 entry;
};

static int	group_cmp(struct group *, struct group *);

RB_HEAD(group_tree, group);
RB_PROTOTYPE(group_tree, group, entry, group_cmp)
RB_GENERATE(group_tree, group, entry, group_cmp)

static int
group_cmp(struct group *a, struct group *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
}

struct groups {
	struct group_tree	 tree;
};

struct groups *
groups_create(void)
{
	struct groups	*gs;

	gs = xcalloc(1, sizeof *gs);
	RB_INIT(&gs->tree);
	return (gs);
}

/* Free the table; its groups went with their last members. */
void
groups_free(struct groups *gs)
{
	if (gs == NULL)
		return;
	if (!RB_EMPTY(&gs->tree))
		fatalx("task groups outlive their members");
	free(gs);
}

/* The group of an id in memory, or NULL. */
static struct group *
group_find(struct groups *gs, int64_t id)
{
	struct group	 find;

	find.id = id;
	return (RB_FIND(group_tree, &gs->tree, &find));
}

/* Make jobs members of group id, which is made if no member is left. */
static void
group_add(struct groups *gs, int64_t id, struct job **jobs, size_t n)
{
	struct group	*g;
	size_t		 i;

	if ((g = group_find(gs, id)) == NULL) {
		g = xcalloc(1, sizeof *g);
		g->id = id;
		g->groups = gs;
		RB_INSERT(group_tree, &gs->tree, g);
	}
	g->ids = xreallocarray(g->ids, g->n + n, sizeof *g->ids);
	for (i = 0; i < n; i++) {
		g->ids[g->n++] = jobs[i]->id;
		job_more(jobs[i])->group = g;
		if (jobs[i]->more->group_id != id) {
			jobs[i]->more->group_id = id;
			persist_mark(jobs[i]);
		}
		g->refs++;
	}
}

/*
 * A new group of jobs (a batch with "group": true), or one read back at
 * start: its id is its members' group id, else its first job's.
 */
void
group_create(struct groups *gs, struct job **jobs, size_t n)
{
	int64_t	 id = job_group_id(jobs[0]);

	group_add(gs, id != 0 ? id : jobs[0]->id, jobs, n);
}

/*
 * Whether jobs may join the group id: 1 while it is in memory and no
 * member failed, -1 once one did, 0 when none of its members is in
 * memory (the store knows then).
 */
int
group_joinable(struct groups *gs, int64_t id)
{
	struct group	*g = group_find(gs, id);

	if (g == NULL)
		return (0);
	return (g->failed ? -1 : 1);
}

/* Jobs join group id, which group_joinable or the store allowed. */
void
group_join(struct groups *gs, int64_t id, struct job **jobs, size_t n)
{
	group_add(gs, id, jobs, n);
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
		RB_REMOVE(group_tree, &g->groups->tree, g);
		free(g->ids);
		free(g);
	}
}
