/* status: the full view of one job, result included. */
#include "aiojobsd.h"
#include "store.h"

void
op_status(struct aiojobsd *aj, struct creq *cr)
{
	struct store_row	 row;
	struct msg_out		*o;
	struct msg_view		 v;

	if (!sched_lookup_view(aj->sched, cr->req.id, &row, &v)) {
		control_error(cr, MSG_E_NOT_FOUND, "no job with id %lld",
		    (long long)cr->req.id);
		return;
	}
	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	msg_out_view(o, "job", &v, MSG_VIEW_ARGS | MSG_VIEW_RESULT);
	store_row_clear(&row);
	durable_reply_seen(aj, cr, msg_out_finish(o, 0));
}
