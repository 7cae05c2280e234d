/*
 * Held requests: a wait (and a cancel whose job stops later) is kept with
 * its routing header and answered when its condition holds, its timeout
 * passes, or max_hold_ms passes (then with pending ids: the client asks
 * again). Every job a wait still waits for links to it, so a job's end
 * updates the wait's counts at once; ready waits are answered once per loop
 * iteration. A held output request is a wait on one job that is also
 * ready when the job wrote the bytes it asks for; its op builds the reply.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "aiojobsd.h"
#include "store.h"
#include "xmalloc.h"

/* Beyond this many held requests on an endpoint, answer as if timed out. */
#define WAIT_MAX_HELD	4096

static void	wait_reply_now(struct creq *);
static void	wait_release(struct creq *);

/* One id of a wait that was not final when the wait began. */
struct wait_link {
	struct wait		*wait;
	struct job		*job;
	size_t			 idx;	/* in wait->ids */
	TAILQ_ENTRY(wait_link)	 entry;	/* in job->waits */
};

struct wait {
	struct aiojobsd		*aj;
	int64_t			*ids;
	size_t			 nids;
	size_t			 ndone;
	size_t			 nbad;	/* failed or cancelled */
	/*
	 * The view of each id once final, taken when it became final: a
	 * finished job soon leaves memory, and reading it back from the
	 * store for the reply would cost more than keeping its text.
	 */
	char			**views;
	int			 return_when;
	int			 cancel;	/* reply as cancel does */
	struct wait_link	*links;
	size_t			 nlinks;
	struct event		*timer;
	struct creq		*cr;
	wait_ready_cb		*ready_cb;	/* output: bytes there yet */
	wait_reply_cb		*reply_cb;	/* output: the reply */
	int			 grew;		/* ready_cb said yes */
};

/* Whether asyncio.wait would return now. */
static int
wait_done(struct wait *w)
{
	if (w->reply_cb != NULL)
		return (w->ndone > 0 || w->grew);
	switch (w->return_when) {
	case MSG_FIRST_COMPLETED:
		return (w->ndone > 0);
	case MSG_FIRST_EXCEPTION:
		return (w->nbad > 0 || w->ndone == w->nids);
	}
	return (w->ndone == w->nids);
}

/* Id i is final: keep its view and count it. */
static void
wait_final(struct wait *w, size_t i, struct msg_view *v, int state)
{
	if (w->reply_cb == NULL)	/* output reads the job itself */
		w->views[i] = msg_view_encode(v,
		    MSG_VIEW_ARGS | MSG_VIEW_RESULT);
	w->ndone++;
	if (state != JOB_SUCCEEDED)
		w->nbad++;
}

/* A job reached a final state: count it in every wait linked to it. */
void
wait_job_final(struct job *job)
{
	struct wait_link	*l;
	struct msg_view		 v;

	if (TAILQ_EMPTY(&job->waits))
		return;
	job_view(job, &v);
	while ((l = TAILQ_FIRST(&job->waits)) != NULL) {
		TAILQ_REMOVE(&job->waits, l, entry);
		l->job = NULL;
		wait_final(l->wait, l->idx, &v, job->state);
	}
}

/*
 * A running job wrote: held output requests on it may have their bytes.
 * Returns 1 when one of them can be answered now.
 */
int
wait_job_output(struct job *job)
{
	struct wait_link	*l;
	struct wait		*w;
	int			 ready = 0;

	TAILQ_FOREACH(l, &job->waits, entry) {
		w = l->wait;
		if (w->ready_cb != NULL && !w->grew &&
		    (w->grew = w->ready_cb(w->aj, w->cr)))
			ready = 1;
	}
	return (ready);
}

/*
 * Cancel's reply: the job's view whatever its state, the one kept if it is
 * final.
 */
static void
wait_out_job(struct msg_out *o, struct wait *w)
{
	struct store_row	 row;
	struct msg_view		 v;

	if (w->views[0] != NULL)
		msg_out_json(o, "job", w->views[0]);
	else if (sched_lookup_view(w->aj->sched, w->ids[0], &row, &v)) {
		msg_out_view(o, "job", &v, MSG_VIEW_ARGS | MSG_VIEW_RESULT);
		store_row_clear(&row);
	} else
		msg_out_null(o, "job");
}

/*
 * The done views that fit in a reply (MSG_REPLY_VIEWS_MAX, the first one
 * always), in the order of ids; the ids of the others go in more_done.
 */
static void
wait_out_done(struct msg_out *o, struct wait *w)
{
	size_t		 i, len = 0, n;
	int		 cut = 0;
	unsigned char	*sent;

	sent = xcalloc(w->nids, 1);
	msg_out_array(o, "done");
	for (i = 0; i < w->nids; i++) {
		if (w->views[i] == NULL)
			continue;
		n = strlen(w->views[i]);
		if (len > 0 && len + n > MSG_REPLY_VIEWS_MAX) {
			cut = 1;
			continue;
		}
		msg_out_json(o, NULL, w->views[i]);
		len += n + 1;
		sent[i] = 1;
	}
	msg_out_close(o);
	if (cut) {
		msg_out_array(o, "more_done");
		for (i = 0; i < w->nids; i++) {
			if (w->views[i] != NULL && !sent[i])
				msg_out_int(o, NULL, w->ids[i]);
		}
		msg_out_close(o);
	}
	free(sent);
}

static char *
wait_reply_text(struct wait *w)
{
	struct msg_out	*o;
	size_t		 i;

	if (w->reply_cb != NULL)
		return (w->reply_cb(w->aj, w->cr));
	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	if (w->cancel) {
		wait_out_job(o, w);
		return (msg_out_finish(o, 0));
	}
	wait_out_done(o, w);
	msg_out_array(o, "pending");
	for (i = 0; i < w->nids; i++) {
		if (w->views[i] == NULL)
			msg_out_int(o, NULL, w->ids[i]);
	}
	msg_out_close(o);
	return (msg_out_finish(o, 0));
}

/* Answer a held (or about to be held) request with what is known now. */
static void
wait_reply_now(struct creq *cr)
{
	struct wait	*w = cr->wait;
	char		*text = wait_reply_text(w);

	/* the reply is out of the held list once it waits for a commit */
	control_unhold(cr);
	if (w->timer != NULL)
		evtimer_del(w->timer);
	durable_reply_seen(w->aj, cr, text);
}

static void
wait_timer_cb(int fd, short events, void *arg)
{
	wait_reply_now(arg);
}

/*
 * Count the jobs already final (in memory or, once committed, only in the
 * store: each read once); link the others to the wait. Returns the index
 * of an id that names no job, or -1.
 */
static ssize_t
wait_link_jobs(struct wait *w)
{
	struct sched		*s = w->aj->sched;
	struct wait_link	*l;
	struct store_row	 row;
	struct msg_view		 v;
	struct job		*job;
	size_t			 i;

	w->links = xcalloc(w->nids, sizeof *w->links);
	for (i = 0; i < w->nids; i++) {
		if (!sched_lookup(s, w->ids[i], &job, &row))
			return ((ssize_t)i);
		if (job == NULL) {
			job_row_view(&row, &v);
			wait_final(w, i, &v, row.state);
			store_row_clear(&row);
		} else if (job_state_final(job->state)) {
			job_view(job, &v);
			wait_final(w, i, &v, job->state);
		} else {
			l = &w->links[w->nlinks++];
			l->wait = w;
			l->job = job;
			l->idx = i;
			TAILQ_INSERT_TAIL(&job->waits, l, entry);
		}
	}
	return (-1);
}

/*
 * Answer now if the condition holds, the timeout is 0, the daemon is
 * stopping or too many requests are held; otherwise hold the request.
 * An id that names no job is answered with not_found.
 */
static struct wait *
wait_new(struct aiojobsd *aj, struct creq *cr, int64_t *ids, size_t n)
{
	struct wait	*w;

	w = xcalloc(1, sizeof *w);
	w->aj = aj;
	w->cr = cr;
	w->ids = xcalloc(n, sizeof *w->ids);
	memcpy(w->ids, ids, n * sizeof *ids);
	w->views = xcalloc(n, sizeof *w->views);
	w->nids = n;
	cr->wait = w;
	cr->release = wait_release;
	return (w);
}

/*
 * Link the wait's jobs, then answer now (not_found, condition holds,
 * timeout 0, stopping, too many held): 1; else 0, to be held.
 */
static int
wait_start(struct aiojobsd *aj, struct creq *cr, int64_t timeout_ms)
{
	struct wait	*w = cr->wait;
	ssize_t		 bad;

	if ((bad = wait_link_jobs(w)) != -1) {
		control_error(cr, MSG_E_NOT_FOUND, "no job with id %lld",
		    (long long)w->ids[bad]);
		return (1);
	}
	if (wait_done(w) || timeout_ms == 0 || aj->stopping ||
	    control_held_count(cr->control) >= WAIT_MAX_HELD) {
		wait_reply_now(cr);
		return (1);
	}
	return (0);
}

/* Hold a request for at most ms (max_hold_ms when the timeout is none). */
static void
wait_arm(struct aiojobsd *aj, struct creq *cr, int64_t ms)
{
	struct wait	*w = cr->wait;
	struct timeval	 tv;

	w->timer = evtimer_new(aj->base, wait_timer_cb, cr);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(w->timer, &tv);
	control_hold(cr, wait_reply_now);
}

/*
 * Hold an output request on job id until ready says its bytes are there,
 * the job ends, or the timeout (-1: none) or max_hold_ms passes; reply
 * builds the answer, now or then.
 */
void
wait_hold_output(struct aiojobsd *aj, struct creq *cr, int64_t id,
    int64_t timeout_ms, wait_ready_cb *ready, wait_reply_cb *reply)
{
	struct wait	*w;
	int64_t		 ms = aj->conf.max_hold_ms;

	w = wait_new(aj, cr, &id, 1);
	w->return_when = MSG_FIRST_COMPLETED;
	w->ready_cb = ready;
	w->reply_cb = reply;
	w->grew = ready(aj, cr);
	if (wait_start(aj, cr, timeout_ms))
		return;
	if (timeout_ms > 0 && timeout_ms < ms)
		ms = timeout_ms;
	wait_arm(aj, cr, ms);
}

void
wait_hold(struct aiojobsd *aj, struct creq *cr, int64_t *ids, size_t n,
    int return_when, int64_t timeout_ms, int cancel)
{
	struct wait	*w;
	int64_t		 ms = aj->conf.max_hold_ms;

	w = wait_new(aj, cr, ids, n);
	w->return_when = return_when;
	w->cancel = cancel;
	if (wait_start(aj, cr, timeout_ms))
		return;
	if (timeout_ms > 0 && timeout_ms < ms)
		ms = timeout_ms;
	if (cancel)
		ms = aj->conf.kill_grace_ms + aj->conf.max_hold_ms;
	wait_arm(aj, cr, ms);
}

/* Answer a held request if its condition now holds. */
static void
wait_check_one(struct creq *cr)
{
	if (cr->wait != NULL && wait_done(cr->wait))
		wait_reply_now(cr);
}

/* Answer every held request whose condition now holds. */
void
wait_check_all(struct aiojobsd *aj)
{
	struct control	*c;

	TAILQ_FOREACH(c, &aj->controls, entry)
		control_each_held(c, wait_check_one);
}

/* Free a request's wait state (its release hook, from control.c). */
static void
wait_release(struct creq *cr)
{
	struct wait	*w = cr->wait;
	size_t		 i;

	if (w == NULL)
		return;
	for (i = 0; i < w->nlinks; i++) {
		if (w->links[i].job != NULL)
			TAILQ_REMOVE(&w->links[i].job->waits, &w->links[i],
			    entry);
	}
	if (w->timer != NULL)
		event_free(w->timer);
	for (i = 0; i < w->nids; i++)
		free(w->views[i]);
	free(w->views);
	free(w->links);
	free(w->ids);
	free(w);
	cr->wait = NULL;
}
