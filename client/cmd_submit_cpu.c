/*
 * submit cpu: a function for the daemon's worker pool, FN [--input JSON],
 * as the args of a cpu job. The input is any JSON text, checked here so
 * that a typo is a usage error rather than a failed request.
 */
#include <string.h>

#include "aiojobctl.h"
#include "msg.h"

/* What a JSON text or string can carry: well-formed UTF-8 without NUL. */
static int
cmd_submit_cpu_utf8(const char *s)
{
	return (msg_utf8_valid((const unsigned char *)s, strlen(s)));
}

/*
 * The options of cpu; they may come before or after FN (getopt permutes),
 * and "--" ends them, for a FN that starts with '-'. The last --input wins.
 */
static int
cmd_submit_cpu_opts(struct ctl *ctl, int argc, char **argv,
    const char **input)
{
	static const struct option	 opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch;

	optind = 0;	/* glibc: start afresh, in permuting mode */
	while ((ch = ctl_getopt(ctl, argc, argv, ":", opts)) != -1) {
		if (ch != 'i')
			return (CTL_EXIT_USAGE);
		*input = optarg;
	}
	return (0);
}

/* cpu FN [--input JSON], argv[0] being "cpu". */
int
cmd_submit_cpu_build(struct ctl *ctl, int argc, char **argv,
    struct msg_out *o)
{
	struct msg_error	 err;
	const char		*input = NULL, *fn;
	int			 r;

	if ((r = cmd_submit_cpu_opts(ctl, argc, argv, &input)) != 0)
		return (r);
	if (argc - optind == 0)
		return (ctl_usage_error(ctl, "cpu: no function given: cpu FN "
		    "[--input JSON]"));
	if (argc - optind > 1)
		return (ctl_usage_error(ctl, "cpu: one function only, then "
		    "--input JSON; '%s' is extra", argv[optind + 1]));
	fn = argv[optind];
	if (*fn == '\0' || !cmd_submit_cpu_utf8(fn))
		return (ctl_usage_error(ctl, "cpu: the function name is empty "
		    "or not UTF-8"));
	msg_out_string(o, "fn", fn);
	if (input == NULL)
		return (0);
	/* the input is parsed and printed again, which cuts at a NUL */
	if (msg_strict_text(input, &err) != 0)
		return (ctl_usage_error(ctl, "--input: %s", err.message));
	if (!cmd_submit_cpu_utf8(input) || msg_out_raw(o, "input", input) != 0)
		return (ctl_usage_error(ctl, "--input: not valid JSON: %.80s%s",
		    input, strlen(input) > 80 ? "..." : ""));
	return (0);
}
