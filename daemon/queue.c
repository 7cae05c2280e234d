/*
 * A named queue: the jobs of one name that are ready to start, ordered by
 * priority then submission, with the queue's own running limit, pause
 * state and start rate (a token bucket, burst max(1, rate)).
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

	sched_kick(q->sched);
}

struct queue *
queue_create(struct sched *s, const char *name)
{
	struct queue	*q;

	q = xcalloc(1, sizeof *q);
	q->name = xstrdup(name);
	q->sched = s;
	RB_INIT(&q->ready);
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
	RB_INSERT(job_ready, &q->ready, job);
	job->ready = 1;
}

void
queue_remove(struct queue *q, struct job *job)
{
	if (!job->ready)
		return;
	RB_REMOVE(job_ready, &q->ready, job);
	job->ready = 0;
}

struct job *
queue_head(struct queue *q)
{
	return (RB_MIN(job_ready, &q->ready));
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

/*
 * Whether the queue may start its head job now. When only the rate stops
 * it, arm a timer for the moment the next token arrives.
 */
int
queue_can_start(struct queue *q)
{
	struct timeval	 tv;
	double		 ms;

	if (q->paused || RB_EMPTY(&q->ready))
		return (0);
	if (q->limit != 0 && q->nrunning >= q->limit)
		return (0);
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

void
queue_take_token(struct queue *q)
{
	if (q->rate != 0)
		q->tokens -= 1;
}

/* A new rate starts with a full bucket. */
void
queue_set_rate(struct queue *q, double rate)
{
	q->rate = rate;
	q->tokens = queue_burst(q);
	q->refilled_at = q->sched->now();
	evtimer_del(q->rate_timer);
}
