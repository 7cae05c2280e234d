/*
 * Held requests: a wait (and a cancel whose job stops later) is kept with
 * its routing header and answered when its condition holds, its timeout
 * passes, or max_hold_ms passes (then with pending ids: the client asks
 * again). Every job a wait still waits for links to it, so a job's end
 * updates the wait's counts at once; ready waits are answered once per loop
 * iteration.
 */
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
	TAILQ_ENTRY(wait_link)	 entry;	/* in job->waits */
};

struct wait {
	struct aiojobsd		*aj;
	int64_t			*ids;
	size_t			 nids;
	size_t			 ndone;
	size_t			 nbad;	/* failed or cancelled */
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

static void
wait_count(struct wait *w, int state)
{
	w->ndone++;
	if (state != JOB_SUCCEEDED)
		w->nbad++;
}

/* A job reached a final state: count it in every wait linked to it. */
void
wait_job_final(struct job *job)
{
	struct wait_link	*l;

	while ((l = TAILQ_FIRST(&job->waits)) != NULL) {
		TAILQ_REMOVE(&job->waits, l, entry);
		l->job = NULL;
		wait_count(l->wait, job->state);
	}
}

/* Add the view of a job (memory or store) if it is final: 1 if so. */
static int
wait_out_final(struct msg_out *o, const char *key, struct sched *s,
    int64_t id, int any)
{
	struct store_row	 row;
	struct msg_view		 v;
	struct job		*job;
	int			 r = 0;

	if (!sched_lookup(s, id, &job, &row))
		return (0);
	if (job != NULL)
		job_view(job, &v);
	else
		row_view(&row, &v);
	if (any || job_state_final(job != NULL ? job->state : row.state)) {
		msg_out_view(o, key, &v, MSG_VIEW_ARGS | MSG_VIEW_RESULT);
		r = 1;
	}
	store_row_clear(&row);
	return (r);
}

static char *
wait_reply_text(struct wait *w)
{
	struct sched	*s = w->aj->sched;
	struct msg_out	*o;
	size_t		 i;

	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	if (w->cancel) {
		wait_out_final(o, "job", s, w->ids[0], 1);
		return (msg_out_finish(o, 0));
	}
	msg_out_array(o, "done");
	for (i = 0; i < w->nids; i++)
		wait_out_final(o, NULL, s, w->ids[i], 0);
	msg_out_close(o);
	msg_out_array(o, "pending");
	for (i = 0; i < w->nids; i++) {
		if (!job_state_final(sched_state(s, w->ids[i])))
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

/* Count the jobs already final; link the others to the wait. */
static void
wait_link_jobs(struct wait *w)
{
	struct wait_link	*l;
	struct job		*job;
	size_t			 i;

	w->links = xcalloc(w->nids, sizeof *w->links);
	for (i = 0; i < w->nids; i++) {
		job = sched_find(w->aj->sched, w->ids[i]);
		if (job == NULL || job_state_final(job->state)) {
			wait_count(w, job != NULL ? job->state :
			    sched_state(w->aj->sched, w->ids[i]));
			continue;
		}
		l = &w->links[w->nlinks++];
		l->wait = w;
		l->job = job;
		TAILQ_INSERT_TAIL(&job->waits, l, entry);
	}
}

/*
 * Answer now if the condition holds, the timeout is 0, the daemon is
 * stopping or too many requests are held; otherwise hold the request.
 * Every id must name a job.
 */
void
wait_hold(struct aiojobsd *aj, struct creq *cr, int64_t *ids, size_t n,
    int return_when, int64_t timeout_ms, int cancel)
{
	struct wait	*w;
	struct timeval	 tv;
	int64_t		 ms = aj->conf.max_hold_ms;

	w = xcalloc(1, sizeof *w);
	w->aj = aj;
	w->ids = xcalloc(n, sizeof *w->ids);
	memcpy(w->ids, ids, n * sizeof *ids);
	w->nids = n;
	w->return_when = return_when;
	w->cancel = cancel;
	cr->wait = w;
	wait_link_jobs(w);
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
	free(w->links);
	free(w->ids);
	free(w);
	cr->wait = NULL;
}
