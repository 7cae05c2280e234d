/* shutdown: reply, then stop gracefully (server_shutdown). */
#include "aiojobsd.h"

#define OP_SHUTDOWN_DEFAULT_MS	10000

void
op_shutdown(struct aiojobsd *aj, struct creq *cr)
{
	struct msg_out	*o;
	int64_t		 timeout = OP_SHUTDOWN_DEFAULT_MS;

	if (cr->req.present & MSG_F_TIMEOUT_MS)
		timeout = cr->req.timeout_ms;
	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	control_reply(cr, msg_out_finish(o, 0));
	server_shutdown(aj, timeout);
}
