/* submit: one job ("job") or a batch ("jobs"), all or nothing. */
#include <stdlib.h>

#include "aiojobsd.h"
#include "log.h"
#include "users.h"
#include "xmalloc.h"

static void
op_submit_reply(struct aiojobsd *aj, struct creq *cr, int64_t *ids, size_t n,
    int batch)
{
	struct msg_out	*o;
	size_t		 i;

	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	if (!batch)
		msg_out_int(o, "id", ids[0]);
	else {
		msg_out_array(o, "ids");
		for (i = 0; i < n; i++)
			msg_out_int(o, NULL, ids[i]);
		msg_out_close(o);
	}
	/*
	 * Durable once the transaction holding the jobs has committed; the
	 * ids stay with the request to say which jobs exist if it fails.
	 */
	cr->ids = ids;
	cr->nids = n;
	durable_reply(aj, cr, msg_out_finish(o, 0));
}

/* Who submitted what: the log is where an operator looks for it. */
static void
op_submit_log(struct creq *cr, const int64_t *ids, size_t n)
{
	if (n == 1)
		log_info("job %lld (%s) submitted by %s", (long long)ids[0],
		    cr->req.jobs[0].kind, users_name(cr->uid));
	else
		log_info("%zu jobs submitted by %s, ids %lld to %lld", n,
		    users_name(cr->uid), (long long)ids[0],
		    (long long)ids[n - 1]);
}

void
op_submit(struct aiojobsd *aj, struct creq *cr)
{
	struct msg_request	*req = &cr->req;
	struct msg_error	 err;
	unsigned int		 which = req->present & (MSG_F_JOB | MSG_F_JOBS);
	int64_t			*ids;
	size_t			 i;

	if (which != MSG_F_JOB && which != MSG_F_JOBS) {
		control_error(cr, MSG_E_BAD_REQUEST, "submit needs exactly one "
		    "of the fields 'job' and 'jobs'");
		return;
	}
	if (req->group && (req->present & MSG_F_JOIN)) {
		control_error(cr, MSG_E_BAD_REQUEST, "submit takes 'group' "
		    "(a new task group) or 'join' (an open one), not both");
		return;
	}
	for (i = 0; i < req->njobs; i++)
		req->jobs[i].owner = cr->uid;
	if (access_submit(aj->access, req->jobs, req->njobs, cr->uid,
	    &err) != 0) {
		control_error(cr, err.code, "%s", err.message);
		return;
	}
	ids = xcalloc(req->njobs, sizeof *ids);
	if (sched_submit(aj->sched, req->jobs, req->njobs, req->group,
	    req->join, ids, &err) != 0) {
		free(ids);
		control_error(cr, err.code, "%s", err.message);
	} else {	/* ids are the request's from here on */
		op_submit_log(cr, ids, req->njobs);
		op_submit_reply(aj, cr, ids, req->njobs, which == MSG_F_JOBS);
	}
}
