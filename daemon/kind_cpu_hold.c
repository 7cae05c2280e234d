/*
 * The prefetch of short cpu jobs: when every worker is busy with short
 * jobs, a worker may also hold the next jobs (POOL_DEPTH in all). They
 * are sent at once and the worker goes on with them as soon as it
 * replies, so no worker waits for the dispatcher between jobs (pool.c).
 *
 * Only on a worker whose last call took less than CPU_HOLD_US (by its own
 * clock: the loop may lag) and whose current one has not been running for
 * CPU_LONG_US, so that a held job seldom waits behind a long one while
 * another worker could have run it.
 */
#include <stdint.h>

#include "aiojobsd.h"
#include "pool.h"

/* a worker whose last call took less may hold jobs ... */
#define CPU_HOLD_US	2000
/* ... unless its current job has been running for this long */
#define CPU_LONG_US	100000

/*
 * The worker to hold one more job, or NULL: only when all are busy (one
 * that is starting will soon be idle), one that runs short jobs (unless
 * any is set), with room, the one holding fewest.
 */
static struct worker *
kind_cpu_hold_roomiest(struct pool *p, int any)
{
	struct worker	*w, *best = NULL;
	uint64_t	 now;
	int		 i;

	if (p->nbusy < p->opts.workers)
		return (NULL);
	now = pool_now_us();
	for (i = 0; i < p->opts.workers; i++) {
		w = p->workers[i];
		if (w->state != WORKER_BUSY || w->killed ||
		    w->njobs >= POOL_DEPTH)
			continue;
		if (!any && (w->took >= CPU_HOLD_US ||
		    now - w->began >= CPU_LONG_US))
			continue;
		if (best == NULL || w->njobs < best->njobs)
			best = w;
	}
	return (best);
}

/* Whether a busy worker would hold a job now (kind->can_start). */
int
kind_cpu_hold_room(struct pool *p)
{
	return (p != NULL && kind_cpu_hold_roomiest(p, 0) != NULL);
}

/*
 * A job about to start when no worker is idle: a busy worker holds it,
 * to run after what it has (kind->hold). 0 when a worker is idle.
 */
int
kind_cpu_hold(struct job *job)
{
	struct pool	*p = job->queue->sched->pool;
	struct worker	*w;

	if (p->nidle > 0)
		return (0);
	/*
	 * can_start said a worker has room just now; if the clock moved
	 * past a bound since, take it all the same rather than start the
	 * job with no idle worker.
	 */
	if ((w = kind_cpu_hold_roomiest(p, 0)) == NULL &&
	    (w = kind_cpu_hold_roomiest(p, 1)) == NULL)
		return (0);
	pool_hold_on(w, job);
	return (1);
}
