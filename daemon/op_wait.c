/*
 * wait: asyncio.wait over job ids. Answered at once when the condition
 * already holds or timeout_ms is 0; otherwise held (wait.c).
 */
#include "aiojobsd.h"

void
op_wait(struct aiojobsd *aj, struct creq *cr)
{
	struct msg_request	*req = &cr->req;
	int64_t			 timeout = -1;

	if (req->present & MSG_F_TIMEOUT_MS)
		timeout = req->timeout_ms;
	wait_hold(aj, cr, req->ids, req->nids, req->return_when, timeout, 0);
}
