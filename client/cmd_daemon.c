/*
 * The subcommands about the daemon itself: ping, stats, queue (pause,
 * resume, limit, rate), shutdown and reload.
 */
#include <stdio.h>
#include <string.h>

#include "aiojobctl.h"
#include "msg.h"
#include "output.h"

/* A word of "queue NAME WORD [VALUE]". */
struct cmd_queue_action {
	const char	*word;
	const char	*action;
	int		(*value)(struct ctl *, struct msg_out *, const char *);
};

static int	cmd_queue_limit(struct ctl *, struct msg_out *, const char *);
static int	cmd_queue_rate(struct ctl *, struct msg_out *, const char *);

static const struct cmd_queue_action cmd_queue_actions[] = {
	{ "pause", "pause", NULL },
	{ "resume", "resume", NULL },
	{ "limit", "set", cmd_queue_limit },
	{ "rate", "set", cmd_queue_rate },
};
#define CMD_NQUEUE_ACTIONS \
	(sizeof cmd_queue_actions / sizeof cmd_queue_actions[0])

int
cmd_ping(struct ctl *ctl, int argc, char **argv)
{
	int	 r;

	if ((r = ctl_noopts(ctl, argc, argv, ":")) != 0)
		return (r);
	return (request_simple(ctl, request_new("ping"), output_ping));
}

int
cmd_stats(struct ctl *ctl, int argc, char **argv)
{
	int	 r;

	if ((r = ctl_noopts(ctl, argc, argv, ":")) != 0)
		return (r);
	return (request_simple(ctl, request_new("stats"), output_stats));
}

static int
cmd_queue_limit(struct ctl *ctl, struct msg_out *o, const char *s)
{
	int64_t	 limit;

	if (parse_int(ctl, "limit", s, 0, MSG_INT_MAX, &limit) != 0)
		return (CTL_EXIT_USAGE);
	msg_out_int(o, "limit", limit);
	return (0);
}

static int
cmd_queue_rate(struct ctl *ctl, struct msg_out *o, const char *s)
{
	double	 rate;

	if (parse_rate(ctl, s, &rate) != 0)
		return (CTL_EXIT_USAGE);
	msg_out_double(o, "rate", rate);
	return (0);
}

static const struct cmd_queue_action *
cmd_queue_action_find(const char *word)
{
	size_t	 i;

	for (i = 0; i < CMD_NQUEUE_ACTIONS; i++) {
		if (strcmp(word, cmd_queue_actions[i].word) == 0)
			return (&cmd_queue_actions[i]);
	}
	return (NULL);
}

int
cmd_queue(struct ctl *ctl, int argc, char **argv)
{
	const struct cmd_queue_action	*act;
	struct msg_out			*o;
	int				 r, n;

	if ((r = ctl_noopts(ctl, argc, argv, "+:")) != 0)
		return (r);
	argv += optind;
	n = argc - optind;
	if ((act = cmd_queue_action_find(argv[1])) == NULL)
		return (ctl_usage_error(ctl, "unknown queue action '%s'",
		    argv[1]));
	if (n != (act->value != NULL ? 3 : 2))
		return (ctl_usage_error(ctl, "'%s' takes %s", act->word,
		    act->value != NULL ? "a value" : "no value"));
	o = request_new("queue");
	msg_out_string(o, "name", argv[0]);
	msg_out_string(o, "action", act->action);
	if (act->value != NULL && (r = act->value(ctl, o, argv[2])) != 0) {
		msg_out_free(o);
		return (r);
	}
	return (request_simple(ctl, o, output_queue));
}

static void
cmd_shutdown_print(struct msg_in *reply)
{
	printf("aiojobsd is shutting down\n");
}

int
cmd_shutdown(struct ctl *ctl, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct msg_out			*o;
	int64_t				 timeout_ms = -1;
	int				 ch, r;

	while ((ch = ctl_getopt(ctl, argc, argv, ":", opts)) != -1) {
		if (ch != 't' ||
		    parse_duration(ctl, "--timeout", optarg, &timeout_ms) != 0)
			return (CTL_EXIT_USAGE);
	}
	if ((r = ctl_nargs(ctl, argc - optind)) != 0)
		return (r);
	o = request_new("shutdown");
	if (timeout_ms >= 0)
		msg_out_int(o, "timeout_ms", timeout_ms);
	return (request_simple(ctl, o, cmd_shutdown_print));
}

static void
cmd_reload_print(struct msg_in *reply)
{
	printf("aiojobsd reloaded its configuration\n");
}

int
cmd_reload(struct ctl *ctl, int argc, char **argv)
{
	int	 r;

	if ((r = ctl_noopts(ctl, argc, argv, ":")) != 0)
		return (r);
	return (request_simple(ctl, request_new("reload"), cmd_reload_print));
}
