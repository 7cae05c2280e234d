/*
 * The table of operations. Checks common to all of them (JSON with no NUL
 * in a string and no duplicate key, the endpoint's token, protocol version,
 * op name, unknown fields, field types, required fields, the kinds the
 * endpoint takes, shutting down) happen here, once, before the handler
 * runs.
 */
#include <string.h>

#include "aiojobsd.h"
#include "log.h"
#include "users.h"

static const struct op_entry ops[] = {
	{ "ping", 0, 0, 0, op_ping },
	{ "submit", OP_F_MUTATES, MSG_F_JOB | MSG_F_JOBS | MSG_F_GROUP |
	    MSG_F_JOIN, 0, op_submit },
	{ "status", 0, MSG_F_ID, MSG_F_ID, op_status },
	{ "list", 0, MSG_F_STATE | MSG_F_QUEUE | MSG_F_LIMIT | MSG_F_BEFORE_ID |
	    MSG_F_OWNER, 0, op_list },
	{ "wait", 0, MSG_F_IDS | MSG_F_RETURN_WHEN | MSG_F_TIMEOUT_MS,
	    MSG_F_IDS, op_wait },
	{ "cancel", 0, MSG_F_ID, MSG_F_ID, op_cancel },
	{ "stats", 0, 0, 0, op_stats },
	{ "queue", 0, MSG_F_NAME | MSG_F_ACTION | MSG_F_LIMIT | MSG_F_RATE,
	    MSG_F_NAME | MSG_F_ACTION, op_queue },
	{ "shutdown", 0, MSG_F_TIMEOUT_MS, 0, op_shutdown },
	{ "clean", 0, MSG_F_OLDER_THAN | MSG_F_STATE, 0, op_clean },
	{ "reload", 0, 0, 0, op_reload },
	{ "output", 0, MSG_F_ID | MSG_F_STREAM | MSG_F_OFFSET | MSG_F_LENGTH |
	    MSG_F_TIMEOUT_MS, MSG_F_ID, op_output },
};

const struct op_entry *
ops_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		if (strcmp(ops[i].name, name) == 0)
			return (&ops[i]);
	}
	return (NULL);
}

/* The op a parsed request names, its fields decoded into req. */
const struct op_entry *
ops_decode(struct msg_in *in, struct msg_request *req, struct msg_error *err)
{
	const struct op_entry	*op;
	const char		*name;

	if ((name = msg_request_op(in, err)) == NULL)
		return (NULL);
	if ((op = ops_find(name)) == NULL) {
		msg_error_set(err, MSG_E_UNKNOWN_OP, "unknown op '%.64s'",
		    name);
		return (NULL);
	}
	if (msg_request_decode(in, op->accept, op->need, req, err) != 0)
		return (NULL);
	return (op);
}

/*
 * What the sender may do: a daemon-wide op only if [access] lets them,
 * jobs named by id only their own (admins: any).
 */
static int
ops_access(struct aiojobsd *aj, struct creq *cr, const struct op_entry *op,
    struct msg_error *err)
{
	struct msg_request	*req = &cr->req;

	if (!access_op(aj->access, op->name, cr->uid)) {
		msg_error_set(err, MSG_E_FORBIDDEN, "op %s is for root, the "
		    "daemon's user, [access] admins and [access] %s; %s is "
		    "none of them", op->name, op->name, users_name(cr->uid));
		return (-1);
	}
	if (req->present & MSG_F_ID)
		return (access_jobs(aj->access, aj->sched, cr->uid, &req->id, 1,
		    err));
	if (req->present & MSG_F_IDS)
		return (access_jobs(aj->access, aj->sched, cr->uid, req->ids,
		    req->nids, err));
	return (0);
}

/* Decode a request, run its handler; the handler replies now or later. */
void
ops_dispatch(struct aiojobsd *aj, struct creq *cr, const char *body,
    size_t len)
{
	const struct op_entry	*op;
	struct msg_in		*in;
	struct msg_error	 err;

	if ((in = msg_strict_parse(body, len, &err)) == NULL)
		goto fail;
	if (control_authorize(cr, in, &err) != 0)
		goto fail;
	if ((op = ops_decode(in, &cr->req, &err)) == NULL)
		goto fail;
	msg_in_free(in);
	if (control_permit(cr->control, &cr->req, &err) != 0 ||
	    ops_access(aj, cr, op, &err) != 0) {
		control_error(cr, err.code, "%s", err.message);
		return;
	}
	if ((op->flags & OP_F_MUTATES) && aj->shutting_down) {
		control_error(cr, MSG_E_SHUTTING_DOWN,
		    "the daemon is shutting down");
		return;
	}
	log_debug("op %s", op->name);
	op->fn(aj, cr);
	return;
fail:
	msg_in_free(in);
	control_error(cr, err.code, "%s", err.message);
}
