/*
 * The worker pool (ProcessPoolExecutor): N worker processes (pool_proc.c)
 * that run cpu jobs, one at a time each, talking over two pipes of their
 * own (pool_wire.h), read and written from the loop without blocking: no
 * thread hand-off between the loop and a worker, so a job costs a write
 * and a read on each side. This file is the pool's API and the dispatch:
 * a job to an idle worker, a reply to the job it answers. The pool knows
 * which worker runs which job: a crash fails exactly that job, cancel and
 * timeout kill exactly that worker. SIGHUP may change the number of
 * workers: surplus ones finish their job first.
 *
 * A busy worker may also hold the next jobs (kind_cpu_hold.c says which):
 * they are sent at once, and the worker goes on with them as soon as it
 * replies, so no worker waits for the dispatcher between jobs. A held job
 * is still queued for the scheduler; it starts (sched_start_held) when
 * the reply before it arrives. If its worker is killed first, or it may
 * no longer start, it goes back to its queue.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "aiojobsd.h"
#include "log.h"
#include "pool.h"
#include "pool_wire.h"
#include "xmalloc.h"

/* Microseconds on the monotonic clock. */
uint64_t
pool_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

static void
pool_idle(struct worker *w)
{
	w->state = WORKER_IDLE;
	w->pool->nidle++;
	sched_kick(w->pool->sched);
}

/* Finish a job with a worker's reply to it. */
static void
pool_finish(struct job *job, const struct pool_wire_hdr *h, const char *buf)
{
	char	*text, *msg, *json;

	job->kdata = NULL;
	if (h->type == POOL_MSG_OUTPUT) {
		/*
		 * A plugin's tree may print as anything (raw nodes): views
		 * copy results as they are, so keep only valid JSON, in
		 * compact form; what does not parse is a null result.
		 */
		json = msg_json_compact(buf);
		sched_finish(job, JOB_SUCCEEDED, json, NULL, NULL);
		free(json);
		return;
	}
	text = xstrdup(buf);
	if ((msg = strchr(text, ' ')) != NULL)
		*msg++ = '\0';
	sched_finish(job, JOB_FAILED, NULL, text, "%s", msg != NULL ? msg : text);
	free(text);
}

/*
 * A reply to the job a worker runs. The worker has gone on with the next
 * job it holds, if any, unless the reply says it retires (too much memory
 * left in use).
 */
static void
pool_reply(struct worker *w, const struct pool_wire_hdr *h, const char *buf)
{
	struct pool	*p = w->pool;
	struct job	*job = w->jobs[0], *next;
	int		 retire = 0;

	w->took = h->us;
	w->began = pool_now_us();
	memmove(w->jobs, w->jobs + 1, (size_t)(w->njobs - 1) * sizeof *w->jobs);
	w->jobs[--w->njobs] = NULL;
	p->nbusy--;
	if (w->idx >= p->opts.workers)
		retire = 1;
	else if (h->flags & POOL_F_RETIRE) {
		log_info("worker %d (pid %ld) holds too much memory; replacing "
		    "it", w->idx, (long)w->pid);
		retire = 1;
	}

	/*
	 * Finish this job before the next one starts: never more running
	 * than workers, in the events too. Finishing may drop (cancel) jobs
	 * this worker holds, nothing else of it.
	 */
	pool_finish(job, h, buf);

	if (!retire && !w->killed && w->njobs == 0) {
		pool_idle(w);
		return;
	}
	if (!retire && !w->killed && (next = w->jobs[0]) != NULL &&
	    sched_start_held(next) == 0) {
		p->nbusy++;		/* still BUSY, with the next job */
		return;
	}
	/*
	 * Retiring, or it went on with a job that was dropped or may not
	 * start: stop it. Its reaping gives the jobs it holds back.
	 */
	w->state = WORKER_RETIRING;
	pool_proc_kill(w);
}

/* One message from a worker: a NUL-terminated body, as pool_wire.h says. */
static void
pool_message(struct worker *w, const struct pool_wire_hdr *h,
    const char *buf)
{
	int	 reply;

	reply = h->type == POOL_MSG_OUTPUT || h->type == POOL_MSG_ERROR;
	if (h->len < 1 || buf[h->len - 1] != '\0') {
		if (w->state != WORKER_RETIRING)
			log_warnx("worker %d: broken message", w->idx);
	} else if (h->type == POOL_MSG_HELLO && w->state == WORKER_STARTING) {
		w->pool->fails = 0;
		log_debug("worker %d (pid %ld) ready", w->idx, (long)w->pid);
		pool_idle(w);
	} else if (reply && w->state == WORKER_BUSY && w->njobs > 0)
		pool_reply(w, h, buf);
	else if (w->state != WORKER_RETIRING)	/* replies after a kill */
		log_warnx("worker %d: unexpected message", w->idx);
}

/*
 * Read what the worker wrote and handle every whole message in it. At EOF
 * or an error stop watching: the worker's reaping ends its job.
 */
static void
pool_read_cb(int fd, short events, void *arg)
{
	struct worker		*w = arg;
	struct pool_wire_hdr	 h;
	const char		*body;
	int			 r;

	if (pool_wire_fill(w->in, w->replyfd) != 0)
		event_del(w->ev);
	/* a reply may retire (close) the worker: check in every turn */
	while (w->in != NULL && (r = pool_wire_get(w->in, &h, &body)) != 0) {
		if (r == -1) {
			log_warnx("worker %d: broken stream", w->idx);
			event_del(w->ev);
			evbuffer_drain(w->in, evbuffer_get_length(w->in));
			pool_proc_kill(w);
			break;
		}
		pool_message(w, &h, body);
		if (w->in != NULL)
			evbuffer_drain(w->in, h.len);
	}
}

/* Write what is waiting for the worker; the rest when it can take more. */
static void
pool_flush(struct worker *w)
{
	switch (pool_wire_flush(w->out, w->jobfd)) {
	case 0:
		break;
	case 1:
		event_add(w->wev, NULL);
		break;
	default:
		log_warnx("worker %d: send: %s", w->idx, strerror(errno));
		evbuffer_drain(w->out, evbuffer_get_length(w->out));
		pool_proc_kill(w);	/* fails its job when reaped */
		break;
	}
}

static void
pool_write_cb(int fd, short events, void *arg)
{
	pool_flush(arg);
}

/* Write the jobs sent to workers in this turn: one write each. */
static void
pool_flush_cb(int fd, short events, void *arg)
{
	struct pool	*p = arg;
	struct worker	*w;
	int		 i;

	for (i = 0; i < p->nslots; i++) {
		if ((w = p->workers[i]) == NULL || !w->unflushed)
			continue;
		w->unflushed = 0;
		pool_flush(w);
	}
}

struct pool *
pool_create(struct event_base *base, struct sched *s,
    const struct pool_opts *opts)
{
	struct pool	*p;

	p = xcalloc(1, sizeof *p);
	p->base = base;
	p->sched = s;
	p->opts = *opts;
	p->opts.workers = 0;
	p->read_cb = pool_read_cb;
	p->write_cb = pool_write_cb;
	p->respawn_timer = evtimer_new(base, pool_proc_respawn_cb, p);
	p->flush_ev = event_new(base, -1, 0, pool_flush_cb, p);
	pool_resize(p, opts->workers);
	return (p);
}

/*
 * Change the number of workers. New ones start now; surplus ones stop
 * when idle, or after the job they run, never killing a job.
 */
void
pool_resize(struct pool *p, int n)
{
	int	 i, old = p->opts.workers;

	if (n > p->nslots) {
		p->workers = xreallocarray(p->workers, (size_t)n,
		    sizeof *p->workers);
		for (i = p->nslots; i < n; i++)
			p->workers[i] = NULL;
		p->nslots = n;
	}
	p->opts.workers = n;
	for (i = 0; i < n; i++) {
		if (p->workers[i] == NULL)
			pool_proc_add(p, i);
	}
	for (i = n; i < p->nslots; i++) {
		if (p->workers[i] != NULL)
			pool_proc_retire(p->workers[i]);
	}
	if (old != 0 || n != 0)
		log_debug("pool: %d workers (was %d)", n, old);
}

/* Stop every worker and wait for it: the loop is over, blocking is fine. */
void
pool_free(struct pool *p)
{
	int	 i;

	if (p == NULL)
		return;
	p->stopping = 1;
	for (i = 0; i < p->nslots; i++) {
		if (p->workers[i] != NULL)
			pool_proc_stop(p->workers[i]);
	}
	event_free(p->respawn_timer);
	event_free(p->flush_ev);
	free(p->workers);
	free(p);
}

int
pool_total(struct pool *p)
{
	return (p == NULL ? 0 : p->opts.workers);
}

int
pool_busy(struct pool *p)
{
	return (p == NULL ? 0 : p->nbusy);
}

int
pool_has_idle(struct pool *p)
{
	return (p != NULL && p->nidle > 0);
}

/*
 * Send a job's args to a worker: written once the turn's pump is done,
 * with whatever else the worker gets in this turn.
 */
static void
pool_send(struct worker *w, const char *args)
{
	/* args were accepted at submit, far below POOL_WIRE_MAX */
	if (pool_wire_add(w->out, POOL_MSG_JOB, 0, args, strlen(args)) != 0)
		fatalx("worker %d: job args too long", w->idx);
	if (!w->unflushed) {
		w->unflushed = 1;
		event_active(w->pool->flush_ev, EV_TIMEOUT, 1);
	}
}

/* Give a job to an idle worker (the scheduler checked there is one). */
void
pool_run(struct pool *p, struct job *job)
{
	struct worker	*w = NULL;
	int		 i;

	for (i = 0; i < p->opts.workers && w == NULL; i++) {
		if (p->workers[i]->state == WORKER_IDLE)
			w = p->workers[i];
	}
	if (w == NULL) {
		sched_finish(job, JOB_FAILED, NULL, "worker_crashed",
		    "no worker is ready");
		return;
	}
	w->state = WORKER_BUSY;
	p->nidle--;
	p->nbusy++;
	w->jobs[0] = job;
	w->njobs = 1;
	w->began = pool_now_us();
	job->kdata = w;
	pool_send(w, job->args);
}

/* A busy worker takes a job to run after those it has (kind_cpu_hold.c). */
void
pool_hold_on(struct worker *w, struct job *job)
{
	w->jobs[w->njobs++] = job;
	job->kdata = w;
	pool_send(w, job->args);
}

/*
 * A held job was cancelled or failed: it is not to run any more, and its
 * worker stops when it gets there (kind->drop).
 */
void
pool_hold_drop(struct job *job)
{
	struct worker	*w = job->kdata;
	int		 i;

	for (i = 1; i < w->njobs; i++) {
		if (w->jobs[i] == job)
			w->jobs[i] = NULL;
	}
	job->kdata = NULL;
}

/* Cancel or timeout: kill the worker; its reaping ends the job. */
void
pool_cancel(struct job *job)
{
	struct worker	*w = job->kdata;

	if (w != NULL)
		pool_proc_kill(w);
}
