/*
 * reload: what SIGHUP does, for a client that cannot signal the daemon
 * (another user, or a remote one), with the outcome in the reply.
 */
#include <stdlib.h>

#include "aiojobsd.h"
#include "log.h"
#include "users.h"

void
op_reload(struct aiojobsd *aj, struct creq *cr)
{
	struct msg_out	*o;
	char		*cause = NULL;

	log_info("reload requested by %s", users_name(cr->uid));
	if (reload_config(aj, &cause) != 0) {
		log_warnx("reload failed: %s", cause);
		control_error(cr, MSG_E_INTERNAL, "reload failed: %s", cause);
		free(cause);
		return;
	}
	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	control_reply(cr, msg_out_finish(o, 0));
}
