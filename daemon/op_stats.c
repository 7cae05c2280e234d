/* stats: job counts by state, queues, workers, uptime. */
#include "aiojobsd.h"

void
op_stats(struct aiojobsd *aj, struct creq *cr)
{
	struct sched	*s = aj->sched;
	struct msg_out	*o;
	struct queue	*q;
	int		 i;

	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	msg_out_object(o, "jobs");
	for (i = 0; i < JOB_NSTATES; i++)
		msg_out_int(o, job_state_name(i), s->counts[i]);
	msg_out_close(o);
	msg_out_object(o, "queues");
	RB_FOREACH(q, queues, &s->queues) {
		msg_out_object(o, q->name);
		msg_out_int(o, "limit", q->limit);
		msg_out_double(o, "rate", q->rate);
		msg_out_int(o, "queued", q->nqueued);
		msg_out_int(o, "running", q->nrunning);
		msg_out_bool(o, "paused", q->paused);
		msg_out_close(o);
	}
	msg_out_close(o);
	msg_out_object(o, "workers");
	msg_out_int(o, "total", pool_total(aj->pool));
	msg_out_int(o, "busy", pool_busy(aj->pool));
	msg_out_close(o);
	msg_out_int(o, "uptime_ms", now_ms() - aj->started_at);
	control_reply(cr, msg_out_finish(o, 0));
}
