/*
 * clean: delete finished jobs from the store now (older than
 * older_than_ms, of one final state if given); retention does the same in
 * the background.
 */
#include <stdlib.h>

#include "aiojobsd.h"

void
op_clean(struct aiojobsd *aj, struct creq *cr)
{
	struct msg_request	*req = &cr->req;
	struct msg_out		*o;
	char			*cause = NULL;
	int64_t			 n;
	int			 state = -1;

	if (req->state != NULL &&
	    !job_state_final(state = job_state_by_name(req->state))) {
		control_error(cr, MSG_E_BAD_REQUEST, "field 'state': only "
		    "finished jobs are cleaned (succeeded, failed, cancelled)");
		return;
	}
	n = durable_clean(aj, now_ms() - req->older_than_ms, state, INT64_MAX,
	    &cause);
	if (n < 0) {
		control_error(cr, MSG_E_INTERNAL, "%s", cause);
		free(cause);
		return;
	}
	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	msg_out_int(o, "deleted", n);
	durable_reply(aj, cr, msg_out_finish(o, 0));
}
