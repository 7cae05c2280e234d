/* list: jobs newest first, filtered, paged with before_id; no results. */
#include <string.h>

#include "aiojobsd.h"

#define OP_LIST_DEFAULT	100

/* The newest job older than before_id (0: the newest of all). */
static struct job *
op_list_first(struct sched *s, int64_t before_id)
{
	struct job	 find, *job;

	if (before_id == 0)
		return (RB_MAX(job_ids, &s->jobs));
	find.id = before_id;
	if ((job = RB_NFIND(job_ids, &s->jobs, &find)) == NULL)
		return (RB_MAX(job_ids, &s->jobs));
	return (RB_PREV(job_ids, &s->jobs, job));
}

static int
op_list_match(struct job *job, struct msg_request *req)
{
	if (req->state != NULL &&
	    strcmp(job_state_name(job->state), req->state) != 0)
		return (0);
	if (req->queue != NULL && strcmp(job->queue->name, req->queue) != 0)
		return (0);
	return (1);
}

int
op_list(struct aiojobsd *aj, struct creq *cr)
{
	struct msg_request	*req = &cr->req;
	struct msg_out		*o;
	struct msg_view		 v;
	struct job		*job;
	int64_t			 limit, n = 0;

	limit = (req->present & MSG_F_LIMIT) ? req->limit : OP_LIST_DEFAULT;
	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	msg_out_array(o, "jobs");
	for (job = op_list_first(aj->sched, req->before_id);
	    job != NULL && (limit == 0 || n < limit);
	    job = RB_PREV(job_ids, &aj->sched->jobs, job)) {
		if (!op_list_match(job, req))
			continue;
		job_view(job, &v);
		msg_out_view(o, NULL, &v, MSG_VIEW_ARGS);
		n++;
	}
	msg_out_close(o);
	control_reply(cr, msg_out_finish(o, 0));
	return (OP_DONE);
}
