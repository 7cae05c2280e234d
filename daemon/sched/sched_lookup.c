/*
 * Finding a job by id: in memory while it is queued or running (and until
 * its final row is committed), then in the store. Below the scheduler's
 * parts, so that dependencies, groups and the endpoints' checks can ask
 * without calling up into the scheduler.
 */
#include <string.h>

#include "aiojobsd.h"
#include "store.h"

/* The job of an id in memory, or NULL. */
struct job *
sched_lookup_job(struct sched *s, int64_t id)
{
	struct job	 find;

	find.id = id;
	return (RB_FIND(job_ids, &s->jobs, &find));
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
	if ((*jobp = sched_lookup_job(s, id)) != NULL)
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
sched_lookup_view(struct sched *s, int64_t id, struct store_row *row,
    struct msg_view *v)
{
	struct job	*job;

	if (!sched_lookup(s, id, &job, row))
		return (0);
	if (job != NULL)
		job_view(job, v);
	else
		job_row_view(row, v);
	return (1);
}

/* The state of a job in memory or in the store, or -1 if there is none. */
int
sched_lookup_state(struct sched *s, int64_t id)
{
	struct store_row	 row;
	struct job		*job;
	int			 state = -1;

	if (sched_lookup(s, id, &job, &row))
		state = job != NULL ? job->state : row.state;
	store_row_clear(&row);
	return (state);
}

/* The owner of a job in memory or the store: 0, or -1 if none. */
int
sched_lookup_owner(struct sched *s, int64_t id, uid_t *owner)
{
	struct store_row	 row;
	struct job		*job;
	int			 r = -1;

	if (sched_lookup(s, id, &job, &row)) {
		*owner = job != NULL ? job->owner : row.owner;
		r = 0;
	}
	store_row_clear(&row);
	return (r);
}
