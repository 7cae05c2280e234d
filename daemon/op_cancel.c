/*
 * cancel: a queued job is cancelled at once; a running one is stopped by its
 * kind and the reply waits until it is (at once for most kinds).
 */
#include "aiojobsd.h"

void
op_cancel(struct aiojobsd *aj, struct creq *cr)
{
	struct job	*job;

	if ((job = sched_lookup_job(aj->sched, cr->req.id)) != NULL)
		sched_cancel(job, "cancelled by request");
	wait_hold(aj, cr, &cr->req.id, 1, MSG_ALL_COMPLETED, -1, 1);
}
