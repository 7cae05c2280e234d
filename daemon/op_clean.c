/*
 * clean: delete finished jobs from the store now (older than
 * older_than_ms, of one final state if given); retention does the same in
 * the background.
 */
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"

int
op_clean(struct aiojobsd *aj, struct creq *cr)
{
	struct msg_request	*req = &cr->req;
	struct sched		*s = aj->sched;
	struct msg_out		*o;
	char			*cause = NULL;
	int64_t			 n = 0, counts[JOB_NSTATES] = { 0 };
	int			 i, state = -1;

	for (i = JOB_SUCCEEDED; req->state != NULL && i < JOB_NSTATES; i++) {
		if (strcmp(req->state, job_state_name(i)) == 0)
			state = i;
	}
	if (req->state != NULL && state == -1) {
		control_error(cr, MSG_E_BAD_REQUEST, "field 'state': only "
		    "finished jobs are cleaned (succeeded, failed, cancelled)");
		return (OP_DONE);
	}
	/* commit first: a changed job written again would come back */
	if (s->store != NULL)
		durable_commit(aj);
	if (s->store != NULL && (aj->store_failing ||
	    (n = store_clean(s->store, now_ms() - req->older_than_ms, state,
	    INT64_MAX, &cause)) < 0)) {
		control_error(cr, MSG_E_INTERNAL, "%s", cause != NULL ? cause :
		    "the job store cannot write");
		free(cause);
		return (OP_DONE);
	}
	if (s->store != NULL) {
		store_counts(s->store, counts);
		for (i = JOB_SUCCEEDED; i < JOB_NSTATES; i++)
			s->counts[i] = counts[i];
	}
	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	msg_out_int(o, "deleted", n);
	durable_reply(aj, cr, msg_out_finish(o, 0));
	return (OP_DONE);
}
