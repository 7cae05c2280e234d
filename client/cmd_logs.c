/*
 * logs: the output an exec job captured, written as it was to our standard
 * output and standard error. submit --wait exec writes it the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aiojobctl.h"
#include "client.h"
#include "msg.h"
#include "output.h"

#define CMD_LOGS_MAX_OUTPUT	(1024 * 1024)	/* PROTOCOL 3.3 default */

/* The streams, in the order of the CMD_LOGS_* bits. */
static const char *cmd_logs_streams[] = { "stdout", "stderr" };

/* The captured output of a job view in s[]; -1 if it has none. */
static int
cmd_logs_output(struct msg_in *job, const char *s[2])
{
	struct msg_in	*res = msg_in_object(job, "result");
	int		 i;

	for (i = 0; i < 2; i++) {
		if (msg_in_string(res, cmd_logs_streams[i], &s[i], NULL) != 1)
			return (-1);
	}
	return (0);
}

/* Say on stderr that a stream was cut, and how much of it is kept. */
static void
cmd_logs_truncated(struct msg_in *job, int i)
{
	struct msg_in	*res = msg_in_object(job, "result");
	const char	*name = cmd_logs_streams[i];
	char		 key[32];
	int64_t		 total = 0, max = CMD_LOGS_MAX_OUTPUT;
	int		 cut = 0;

	snprintf(key, sizeof key, "%s_truncated", name);
	if (msg_in_bool(res, key, &cut, NULL) != 1 || !cut)
		return;
	snprintf(key, sizeof key, "%s_bytes", name);
	msg_in_int(res, key, &total, NULL);
	msg_in_int(msg_in_object(job, "args"), "max_output", &max, NULL);
	ctl_warnx("%s truncated: %lld of %lld bytes kept", name,
	    (long long)(max < total ? max : total), (long long)total);
}

/*
 * Write the output of a job view, the streams chosen by which, then a note
 * for each one cut short: 0, 1 if the job has no output, -1 if writing
 * failed (said on stderr).
 */
int
cmd_logs_write(struct msg_in *job, int which)
{
	FILE		*files[2] = { stdout, stderr };
	const char	*s[2];
	int		 i, failed = 0;

	if (cmd_logs_output(job, s) != 0)
		return (1);
	for (i = 0; i < 2; i++) {
		if (!(which & (1 << i)))
			continue;
		if (fputs(s[i], files[i]) == EOF || fflush(files[i]) == EOF) {
			if (!failed)
				ctl_warnx("writing the job's %s: %s",
				    cmd_logs_streams[i], strerror(errno));
			failed = 1;
		}
	}
	for (i = 0; i < 2; i++) {
		if (which & (1 << i))
			cmd_logs_truncated(job, i);
	}
	return (failed ? -1 : 0);
}

/* Why a job has no output to show: not finished, or it made none. */
static int
cmd_logs_none(struct msg_in *job)
{
	struct msg_view	 v;
	const char	*s[2];

	msg_in_view(job, &v);
	if (v.state == NULL || strcmp(v.state, "queued") == 0 ||
	    strcmp(v.state, "running") == 0)
		ctl_warnx("job %lld has not finished yet (%s); its output is "
		    "kept when it ends", (long long)v.id, output_str(v.state));
	else if (cmd_logs_output(job, s) == 0)
		return (0);
	else if (v.kind == NULL || strcmp(v.kind, "exec") != 0)
		ctl_warnx("job %lld has no output: it is a %s job, not exec",
		    (long long)v.id, output_str(v.kind));
	else if (v.error_message != NULL)
		ctl_warnx("job %lld has no output: %s", (long long)v.id,
		    v.error_message);
	else
		ctl_warnx("job %lld has no output", (long long)v.id);
	return (1);
}

static int
cmd_logs_opts(struct ctl *ctl, int argc, char **argv, int *which)
{
	static const struct option	 opts[] = {
		{ "stdout", no_argument, NULL, 'o' },
		{ "stderr", no_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch;

	*which = 0;
	while ((ch = ctl_getopt(ctl, argc, argv, ":", opts)) != -1) {
		if (ch == 'o')
			*which |= CMD_LOGS_STDOUT;
		else if (ch == 'e')
			*which |= CMD_LOGS_STDERR;
		else
			return (CTL_EXIT_USAGE);
	}
	if (*which == 0)
		*which = CMD_LOGS_STDOUT | CMD_LOGS_STDERR;
	return (ctl_nargs(ctl, argc - optind));
}

int
cmd_logs(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_reply	 rep;
	struct msg_out		*o;
	struct msg_in		*job;
	int64_t			 id;
	int			 r, which, json;

	if ((r = cmd_logs_opts(ctl, argc, argv, &which)) != 0)
		return (r);
	if (parse_id(ctl, argv[optind], &id) != 0)
		return (CTL_EXIT_USAGE);
	o = request_new("status");
	msg_out_int(o, "id", id);
	if ((r = request_send(ctl, o, CLIENT_TIMEOUT_MS, &rep)) != 0)
		return (r);
	job = msg_in_object(rep.in, "job");
	json = request_json(ctl, &rep);
	if (cmd_logs_none(job) != 0)
		r = CTL_EXIT_JOB;
	else if (!json && cmd_logs_write(job, which) != 0)
		r = CTL_EXIT_JOB;
	request_reply_free(&rep);
	return (r);
}
