/*
 * Held requests: a wait (and a cancel whose job stops later) is kept with
 * its routing header and answered when its condition holds, its timeout
 * passes, or max_hold_ms passes (then with pending ids: the client asks
 * again). Every job a wait still waits for links to it, so a job's end
 * updates the wait's counts at once; ready waits are answered once per loop
 * iteration.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "aiojobsd.h"
#include "xmalloc.h"

/* Beyond this many held requests on an endpoint, answer as if timed out. */
#define WAIT_MAX_HELD	4096

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
};

/* Whether asyncio.wait would return now. */
static int
wait_done(struct wait *w)
{
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
	w->views[i] = msg_view_encode(v, MSG_VIEW_ARGS | MSG_VIEW_RESULT);
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
	else if (sched_view(w->aj->sched, w->ids[0], &row, &v)) {
		msg_out_view(o, "job", &v, MSG_VIEW_ARGS | MSG_VIEW_RESULT);
		store_row_clear(&row);
	} else
		msg_out_null(o, "job");
}

static char *
wait_reply_text(struct wait *w)
{
	struct msg_out	*o;
	size_t		 i;

	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	if (w->cancel) {
		wait_out_job(o, w);
		return (msg_out_finish(o, 0));
	}
	msg_out_array(o, "done");
	for (i = 0; i < w->nids; i++) {
		if (w->views[i] != NULL)
			msg_out_json(o, NULL, w->views[i]);
	}
	msg_out_close(o);
	msg_out_array(o, "pending");
	for (i = 0; i < w->nids; i++) {
		if (w->views[i] == NULL)
			msg_out_int(o, NULL, w->ids[i]);
	}
	msg_out_close(o);
	return (msg_out_finish(o, 0));
}

/* Answer a held (or about to be held) request with what is known now. */
void
wait_reply_now(struct creq *cr)
{
	struct wait	*w = cr->wait;
	char		*text = wait_reply_text(w);

	/* the reply is out of the held list once it waits for a commit */
	if (cr->held) {
		TAILQ_REMOVE(&cr->control->held, cr, entry);
		cr->control->nheld--;
		cr->held = 0;
	}
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
			row_view(&row, &v);
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
void
wait_hold(struct aiojobsd *aj, struct creq *cr, int64_t *ids, size_t n,
    int return_when, int64_t timeout_ms, int cancel)
{
	struct wait	*w;
	struct timeval	 tv;
	int64_t		 ms = aj->conf.max_hold_ms;
	ssize_t		 bad;

	w = xcalloc(1, sizeof *w);
	w->aj = aj;
	w->ids = xcalloc(n, sizeof *w->ids);
	memcpy(w->ids, ids, n * sizeof *ids);
	w->views = xcalloc(n, sizeof *w->views);
	w->nids = n;
	w->return_when = return_when;
	w->cancel = cancel;
	cr->wait = w;
	if ((bad = wait_link_jobs(w)) != -1) {
		control_error(cr, MSG_E_NOT_FOUND, "no job with id %lld",
		    (long long)ids[bad]);
		return;
	}
	if (wait_done(w) || timeout_ms == 0 || aj->stopping ||
	    cr->control->nheld >= WAIT_MAX_HELD) {
		wait_reply_now(cr);
		return;
	}
	if (timeout_ms > 0 && timeout_ms < ms)
		ms = timeout_ms;
	if (cancel)
		ms = aj->conf.kill_grace_ms + aj->conf.max_hold_ms;
	w->timer = evtimer_new(aj->base, wait_timer_cb, cr);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(w->timer, &tv);
	control_hold(cr);
}

/* Answer every held request whose condition now holds. */
void
wait_check_all(struct aiojobsd *aj)
{
	struct control	*c;
	struct creq	*cr, *next;

	TAILQ_FOREACH(c, &aj->controls, entry) {
		TAILQ_FOREACH_SAFE(cr, &c->held, entry, next) {
			if (cr->wait != NULL && wait_done(cr->wait))
				wait_reply_now(cr);
		}
	}
}

/* Free a request's wait state (from control_creq_free). */
void
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
