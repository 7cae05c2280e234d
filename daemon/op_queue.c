/* queue: pause, resume, or set the limit and rate of a named queue. */
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "log.h"
#include "store.h"

static void
op_queue_reply(struct creq *cr, struct queue *q)
{
	struct msg_out	*o;

	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	msg_out_object(o, "queue");
	msg_out_string(o, "name", q->name);
	msg_out_int(o, "limit", q->limit);
	msg_out_double(o, "rate", q->rate);
	msg_out_bool(o, "paused", q->paused);
	msg_out_int(o, "queued", q->nqueued);
	msg_out_int(o, "running", q->nrunning);
	msg_out_close(o);
	control_reply(cr, msg_out_finish(o, 0));
}

void
op_queue(struct aiojobsd *aj, struct creq *cr)
{
	struct msg_request	*req = &cr->req;
	struct queue		*q;
	struct msg_error	 err;
	char			*cause = NULL;
	int			 set;

	if (strcmp(req->action, "set") == 0 &&
	    (req->present & (MSG_F_LIMIT | MSG_F_RATE)) == 0) {
		control_error(cr, MSG_E_BAD_REQUEST,
		    "action 'set' needs a 'limit' or a 'rate'");
		return;
	}
	if (!sched_queue_allowed(aj->sched, req->name, &err)) {
		control_error(cr, err.code, "%s", err.message);
		return;
	}
	q = sched_queue(aj->sched, req->name, 1);
	set = ((req->present & MSG_F_LIMIT) ? QUEUE_SET_LIMIT : 0) |
	    ((req->present & MSG_F_RATE) ? QUEUE_SET_RATE : 0);
	if (strcmp(req->action, "set") != 0)
		set |= QUEUE_SET_PAUSED;
	queue_configure(q, set, req->limit, req->rate,
	    strcmp(req->action, "pause") == 0);
	log_info("queue %s: %s, limit %lld, rate %g", q->name,
	    q->paused ? "paused" : "running", (long long)q->limit, q->rate);
	if (aj->sched->store != NULL) {
		if (store_put_queue(aj->sched->store, q->name, q->limit, q->rate,
		    q->paused, &cause) != 0) {
			control_error(cr, MSG_E_INTERNAL, "%s", cause);
			free(cause);
			return;
		}
		durable_commit_soon(aj);
	}
	sched_kick(aj->sched);
	op_queue_reply(cr, q);
}
