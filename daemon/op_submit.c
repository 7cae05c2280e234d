/* submit: one job ("job") or a batch ("jobs"), all or nothing. */
#include <stdlib.h>

#include "aiojobsd.h"
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

int
op_submit(struct aiojobsd *aj, struct creq *cr)
{
	struct msg_request	*req = &cr->req;
	struct msg_error	 err;
	unsigned int		 which = req->present & (MSG_F_JOB | MSG_F_JOBS);
	int64_t			*ids;

	if (which != MSG_F_JOB && which != MSG_F_JOBS) {
		control_error(cr, MSG_E_BAD_REQUEST, "submit needs exactly one "
		    "of the fields 'job' and 'jobs'");
		return (OP_DONE);
	}
	ids = xcalloc(req->njobs, sizeof *ids);
	if (sched_submit(aj->sched, req->jobs, req->njobs, req->group, ids,
	    &err) != 0) {
		free(ids);
		control_error(cr, err.code, "%s", err.message);
	} else	/* ids are the request's from here on */
		op_submit_reply(aj, cr, ids, req->njobs, which == MSG_F_JOBS);
	return (OP_DONE);
}
