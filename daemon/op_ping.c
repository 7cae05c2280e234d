/*
 * ping: version, the protocol versions spoken, pid and uptime; how
 * clients find out the daemon is up, and who it takes them for.
 */
#include <unistd.h>

#include "aiojobsd.h"
#include "users.h"

void
op_ping(struct aiojobsd *aj, struct creq *cr)
{
	struct msg_out	*o;
	int		 v;

	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	msg_out_string(o, "version", AIOJOBS_VERSION);
	msg_out_array(o, "versions");
	for (v = MSG_VERSION_MIN; v <= MSG_VERSION_MAX; v++)
		msg_out_int(o, NULL, v);
	msg_out_close(o);
	msg_out_int(o, "pid", getpid());
	msg_out_int(o, "uptime_ms", now_ms() - aj->started_at);
	msg_out_string(o, "user", users_name(cr->uid));
	msg_out_bool(o, "admin", cr->admin);
	control_reply(cr, msg_out_finish(o, 0));
}
