/*
 * clean: delete finished jobs from the daemon's store now, those older
 * than --older-than, of one final state with --state; the daemon's
 * retention does the same in the background.
 */
#include <stdio.h>
#include <string.h>

#include "aiojobctl.h"
#include "msg.h"
#include "output.h"

/* The states a clean may name: the final ones. */
static const char *cmd_clean_states[] = {
	"succeeded", "failed", "cancelled", NULL
};

static int
cmd_clean_is_state(const char *s)
{
	size_t	 i;

	for (i = 0; cmd_clean_states[i] != NULL; i++) {
		if (strcmp(s, cmd_clean_states[i]) == 0)
			return (1);
	}
	return (0);
}

static void
cmd_clean_print(struct msg_in *reply)
{
	int64_t	 n = output_int(reply, "deleted", 0);

	printf("%lld job%s removed\n", (long long)n, n == 1 ? "" : "s");
}

int
cmd_clean(struct ctl *ctl, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "older-than", required_argument, NULL, 'o' },
		{ "state", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct msg_out			*o;
	const char			*state = NULL;
	int64_t				 older_ms = -1;
	int				 ch, r;

	while ((ch = ctl_getopt(ctl, argc, argv, ":", opts)) != -1) {
		if (ch == 'o') {
			if (parse_duration(ctl, "--older-than", optarg,
			    &older_ms) != 0)
				return (CTL_EXIT_USAGE);
		} else if (ch == 's')
			state = optarg;
		else
			return (CTL_EXIT_USAGE);
	}
	if (state != NULL && !cmd_clean_is_state(state))
		return (ctl_usage_error(ctl, "unknown state '%s': only "
		    "finished jobs are cleaned (succeeded, failed, cancelled)",
		    state));
	if ((r = ctl_nargs(ctl, argc - optind)) != 0)
		return (r);
	o = request_new("clean");
	if (older_ms >= 0)
		msg_out_int(o, "older_than_ms", older_ms);
	if (state != NULL)
		msg_out_string(o, "state", state);
	return (request_simple(ctl, o, cmd_clean_print));
}
