/*
 * Locks (asyncio.Lock across jobs): at most one running job holds a given
 * lock name of its owner, across all queues (one user's lock names never
 * block another's jobs). A job that would start while its lock is
 * held waits in the lock's own queue (priority, then submission order) and
 * goes back to its queue's ready set when the lock is released, which
 * happens on every kind of end.
 */
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "log.h"
#include "sched_parts.h"
#include "xmalloc.h"

struct lock {
	uid_t			 owner;
	char			*name;
	struct job		*holder;
	struct job_lockq	 waiters;
	RB_ENTRY(lock)		 entry;
};
RB_HEAD(locks, lock);

int	lock_cmp(struct lock *, struct lock *);
RB_PROTOTYPE(locks, lock, entry, lock_cmp)
RB_GENERATE(locks, lock, entry, lock_cmp)
RB_GENERATE(job_lockq, job, ready_entry, job_lockq_cmp)

int
lock_cmp(struct lock *a, struct lock *b)
{
	if (a->owner != b->owner)
		return (a->owner < b->owner ? -1 : 1);
	return (strcmp(a->name, b->name));
}

int
job_lockq_cmp(struct job *a, struct job *b)
{
	return (job_ready_cmp(a, b));
}

struct locks *
locks_create(void)
{
	struct locks	*l;

	l = xcalloc(1, sizeof *l);
	RB_INIT(l);
	return (l);
}

void
locks_free(struct locks *l)
{
	struct lock	*lk, *next;

	if (l == NULL)
		return;
	RB_FOREACH_SAFE(lk, locks, l, next) {
		RB_REMOVE(locks, l, lk);
		free(lk->name);
		free(lk);
	}
	free(l);
}

static struct lock *
lock_get(struct locks *l, uid_t owner, const char *name)
{
	struct lock	 find, *lk;

	find.owner = owner;
	find.name = (char *)name;
	if ((lk = RB_FIND(locks, l, &find)) != NULL)
		return (lk);
	lk = xcalloc(1, sizeof *lk);
	lk->owner = owner;
	lk->name = xstrdup(name);
	RB_INIT(&lk->waiters);
	RB_INSERT(locks, l, lk);
	return (lk);
}

/*
 * Take the job's lock before it starts: 1 if it may start (no lock, or
 * the lock was free), 0 if it now waits for the lock.
 */
int
lock_acquire(struct job *job)
{
	struct lock	*lk;

	if (job->more == NULL || job->more->lock_name == NULL)
		return (1);
	lk = lock_get(job->queue->sched->locks, job->owner,
	    job->more->lock_name);
	job->more->lock = lk;
	if (lk->holder == NULL || lk->holder == job) {
		lk->holder = job;
		return (1);
	}
	RB_INSERT(job_lockq, &lk->waiters, job);
	job->lock_waiting = 1;
	log_debug("job %lld: waits for lock %s (held by job %lld)",
	    (long long)job->id, lk->name, (long long)lk->holder->id);
	return (0);
}

/*
 * The holder stopped running: returns the best waiter, which waits no
 * more and goes back to its queue (the scheduler puts it there), or NULL.
 */
struct job *
lock_release(struct job *job)
{
	struct lock	*lk = job->more != NULL ? job->more->lock : NULL;
	struct job	*next;

	if (lk == NULL || lk->holder != job)
		return (NULL);
	lk->holder = NULL;
	job->more->lock = NULL;
	if ((next = RB_MIN(job_lockq, &lk->waiters)) == NULL)
		return (NULL);
	RB_REMOVE(job_lockq, &lk->waiters, next);
	next->lock_waiting = 0;
	return (next);
}

/*
 * A queued job leaves the lock's queue, or lets go of the lock it took
 * (cancelled or failed); returns the waiter that may go on, as
 * lock_release does.
 */
struct job *
lock_forget(struct job *job)
{
	if (job->lock_waiting) {
		RB_REMOVE(job_lockq, &job->more->lock->waiters, job);
		job->lock_waiting = 0;
		job->more->lock = NULL;
	}
	return (lock_release(job));
}
