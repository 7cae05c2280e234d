/*
 * The subcommands about jobs already submitted: status, list and cancel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiojobctl.h"
#include "client.h"
#include "msg.h"
#include "output.h"

/* The filters of list. */
struct cmd_list_args {
	const char	*state;
	const char	*queue;
	const char	*owner;
	int64_t		 limit;
	int64_t		 before;
};

static const char *cmd_list_states[] = {
	"queued", "running", "succeeded", "failed", "cancelled", NULL
};

static void
cmd_status_print(struct msg_in *reply)
{
	output_view(msg_in_object(reply, "job"));
}

int
cmd_status(struct ctl *ctl, int argc, char **argv)
{
	struct msg_out	*o;
	int64_t		 id;
	int		 r;

	if ((r = ctl_noopts(ctl, argc, argv, ":")) != 0)
		return (r);
	if (parse_id(ctl, argv[optind], &id) != 0)
		return (CTL_EXIT_USAGE);
	o = request_new("status");
	msg_out_int(o, "id", id);
	return (request_simple(ctl, o, cmd_status_print));
}

static int
cmd_list_is_state(const char *s)
{
	size_t	 i;

	for (i = 0; cmd_list_states[i] != NULL; i++) {
		if (strcmp(s, cmd_list_states[i]) == 0)
			return (1);
	}
	return (0);
}

static int
cmd_list_opts(struct ctl *ctl, int argc, char **argv, struct cmd_list_args *a)
{
	static const struct option	 opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "queue", required_argument, NULL, 'q' },
		{ "owner", required_argument, NULL, 'o' },
		{ "limit", required_argument, NULL, 'n' },
		{ "before", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch;

	while ((ch = ctl_getopt(ctl, argc, argv, ":", opts)) != -1) {
		switch (ch) {
		case 's':
			a->state = optarg;
			break;
		case 'q':
			a->queue = optarg;
			break;
		case 'o':
			a->owner = optarg;
			break;
		case 'n':
			if (parse_int(ctl, "limit", optarg, 0, MSG_INT_MAX,
			    &a->limit) != 0)
				return (CTL_EXIT_USAGE);
			break;
		case 'b':
			if (parse_id(ctl, optarg, &a->before) != 0)
				return (CTL_EXIT_USAGE);
			break;
		default:
			return (CTL_EXIT_USAGE);
		}
	}
	if (a->state != NULL && !cmd_list_is_state(a->state))
		return (ctl_usage_error(ctl, "unknown state '%s'", a->state));
	return (ctl_nargs(ctl, argc - optind));
}

int
cmd_list(struct ctl *ctl, int argc, char **argv)
{
	struct cmd_list_args	 a = { NULL, NULL, NULL, -1, -1 };
	struct msg_out		*o;
	int			 r;

	if ((r = cmd_list_opts(ctl, argc, argv, &a)) != 0)
		return (r);
	o = request_new("list");
	if (a.state != NULL)
		msg_out_string(o, "state", a.state);
	if (a.queue != NULL)
		msg_out_string(o, "queue", a.queue);
	if (a.owner != NULL)
		msg_out_string(o, "owner", a.owner);
	if (a.limit != -1)
		msg_out_int(o, "limit", a.limit);
	if (a.before != -1)
		msg_out_int(o, "before_id", a.before);
	return (request_simple(ctl, o, output_list));
}

/* Cancel one job and print "ID STATE". */
static int
cmd_cancel_one(struct ctl *ctl, int64_t id)
{
	struct ctl_reply	 rep;
	struct msg_out		*o;
	const char		*state = "?";
	int			 r;

	o = request_new("cancel");
	msg_out_int(o, "id", id);
	if ((r = request_send(ctl, o, CLIENT_TIMEOUT_MS, &rep)) != 0)
		return (r);
	if (!request_json(ctl, &rep)) {
		msg_in_string(msg_in_object(rep.in, "job"), "state", &state,
		    NULL);
		printf("%lld %s\n", (long long)id, state);
	}
	request_reply_free(&rep);
	return (0);
}

int
cmd_cancel(struct ctl *ctl, int argc, char **argv)
{
	int64_t	*ids;
	size_t	 i, n;
	int	 r, failed = 0;

	if ((r = ctl_noopts(ctl, argc, argv, ":")) != 0)
		return (r);
	if (parse_ids(ctl, argc - optind, argv + optind, &ids, &n) != 0)
		return (CTL_EXIT_USAGE);
	for (i = 0; i < n; i++) {
		if ((r = cmd_cancel_one(ctl, ids[i])) == CTL_EXIT_ERROR)
			failed = 1;
		else if (r != 0)
			break;
	}
	free(ids);
	if (r != 0 && r != CTL_EXIT_ERROR)
		return (r);
	return (failed ? CTL_EXIT_ERROR : CTL_EXIT_OK);
}
