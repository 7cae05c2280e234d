/*
 * A named queue: the jobs of one name that are ready to start, one ordered
 * set per kind (priority, then submission), so that jobs waiting for a
 * free worker never hold up jobs of other kinds; with the queue's own
 * running limit, pause state and start rate (a token bucket, burst
 * max(1, rate)).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "aiojobsd.h"
#include "xmalloc.h"

RB_GENERATE(queues, queue, entry, queue_cmp)

int
queue_cmp(struct queue *a, struct queue *b)
{
	return (strcmp(a->name, b->name));
}

static void
queue_rate_cb(int fd, short events, void *arg)
{
	struct queue	*q = arg;

	event_active(q->wake, EV_TIMEOUT, 1);
}

/*
 * A new queue of the scheduler s; wake is the scheduler's pass that starts
 * ready jobs, made active when the queue's rate lets the next one start.
 */
struct queue *
queue_create(struct sched *s, const char *name, struct event *wake)
{
	struct queue	*q;
	int		 i;

	q = xcalloc(1, sizeof *q);
	q->name = xstrdup(name);
	q->sched = s;
	q->wake = wake;
	for (i = 0; i < KIND_MAX; i++)
		RB_INIT(&q->ready[i]);
	q->rate_timer = evtimer_new(s->base, queue_rate_cb, q);
	return (q);
}

/* Free a queue; its jobs belong to the scheduler and are freed there. */
void
queue_free(struct queue *q)
{
	if (q == NULL)
		return;
	event_free(q->rate_timer);
	free(q->name);
	free(q);
}

void
queue_push(struct queue *q, struct job *job)
{
	RB_INSERT(job_ready, &q->ready[job->kidx], job);
	job->ready = 1;
}

void
queue_remove(struct queue *q, struct job *job)
{
	if (!job->ready)
		return;
	RB_REMOVE(job_ready, &q->ready[job->kidx], job);
	job->ready = 0;
}

static double
queue_burst(struct queue *q)
{
	return (q->rate > 1 ? q->rate : 1);
}

static void
queue_refill(struct queue *q)
{
	int64_t	 now = q->sched->now();

	q->tokens += (double)(now - q->refilled_at) * q->rate / 1000.0;
	if (q->tokens > queue_burst(q))
		q->tokens = queue_burst(q);
	q->refilled_at = now;
}

/* Whether the rate allows a start now; if not, wake up when it will. */
static int
queue_rate_allows(struct queue *q)
{
	struct timeval	 tv;
	double		 ms;

	if (q->rate == 0)
		return (1);
	queue_refill(q);
	if (q->tokens >= 1)
		return (1);
	if (!evtimer_pending(q->rate_timer, NULL)) {
		ms = ceil((1 - q->tokens) * 1000.0 / q->rate);
		tv.tv_sec = (time_t)(ms / 1000);
		tv.tv_usec = (suseconds_t)fmod(ms, 1000) * 1000;
		evtimer_add(q->rate_timer, &tv);
	}
	return (0);
}

/*
 * The job the queue would start now: its best ready job whose kind can
 * start, if the queue is not paused, below its limit and within its rate.
 */
struct job *
queue_next(struct queue *q)
{
	const struct kind	*kind;
	struct job		*head, *best = NULL;
	int			 i;

	if (q->paused || (q->limit != 0 && q->nrunning >= q->limit))
		return (NULL);
	for (i = 0; i < kind_count(); i++) {
		if ((head = RB_MIN(job_ready, &q->ready[i])) == NULL)
			continue;
		kind = kind_at(i);
		if (kind->can_start != NULL && !kind->can_start(q->sched, q))
			continue;
		if (best == NULL || job_ready_cmp(head, best) < 0)
			best = head;
	}
	if (best == NULL || !queue_rate_allows(q))
		return (NULL);
	return (best);
}

void
queue_take_token(struct queue *q)
{
	if (q->rate != 0)
		q->tokens -= 1;
}

/* A new rate starts with a full bucket. */
/*
 * Set what a queue's settings say, the ones set names (QUEUE_SET_*): the
 * queue op, the [queue.NAME] sections and the settings the store kept all
 * come through here.
 */
void
queue_configure(struct queue *q, int set, int64_t limit, double rate,
    int paused)
{
	if (set & QUEUE_SET_LIMIT)
		q->limit = limit;
	if (set & QUEUE_SET_RATE)
		queue_set_rate(q, rate);
	if (set & QUEUE_SET_PAUSED)
		q->paused = paused;
}

void
queue_set_rate(struct queue *q, double rate)
{
	q->rate = rate;
	q->tokens = queue_burst(q);
	q->refilled_at = q->sched->now();
	evtimer_del(q->rate_timer);
}
