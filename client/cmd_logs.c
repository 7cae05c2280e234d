/*
 * logs: the output an exec job captured, written byte for byte to our
 * standard output and standard error (an http job's body to standard
 * output). submit --wait exec writes it the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiojobctl.h"
#include "client.h"
#include "msg.h"
#include "output.h"
#include "xmalloc.h"

#define CMD_LOGS_MAX_OUTPUT	(1024 * 1024)	/* PROTOCOL 3.3 default */

/* A job's captured streams, in the order of the CMD_LOGS_* bits. */
struct cmd_logs {
	const char	*names[2];	/* NULL: the kind has no such stream */
	const char	*max_key;	/* the arg that bounds what is kept */
	char		*buf[2];
	size_t		 len[2];
};

static void
cmd_logs_clear(struct cmd_logs *l)
{
	free(l->buf[0]);
	free(l->buf[1]);
	memset(l, 0, sizeof *l);
}

/* Append a page of the output op's reply; its length, or -1. */
static int64_t
cmd_logs_page(struct msg_in *in, char **buf, size_t *len, int *eof)
{
	char	*data;
	size_t	 n;

	if (msg_in_output(in, "data", "", &data, &n, NULL) != 1 ||
	    msg_in_bool(in, "eof", eof, NULL) != 1)
		return (-1);
	*buf = xreallocarray(*buf, 1, *len + n + 1);
	memcpy(*buf + *len, data, n);
	*len += n;
	free(data);
	return ((int64_t)n);
}

/*
 * The whole of a finished job's stream, read with the output op in pages
 * (a view carries only its head): 0, or an exit code after a message.
 */
static int
cmd_logs_fetch(struct ctl *ctl, int64_t id, const char *stream, char **buf,
    size_t *len)
{
	struct ctl_reply	 rep;
	struct msg_out		*o;
	int64_t			 n;
	int			 r, eof = 0;

	*buf = xstrdup("");
	*len = 0;
	while (!eof) {
		o = request_new("output");
		msg_out_int(o, "id", id);
		msg_out_string(o, "stream", stream);
		msg_out_int(o, "offset", (int64_t)*len);
		if ((r = request_send(ctl, o, CLIENT_TIMEOUT_MS, &rep)) != 0)
			return (r);
		n = cmd_logs_page(rep.in, buf, len, &eof);
		request_reply_free(&rep);
		if (n == -1 || (n == 0 && !eof)) {
			ctl_warnx("job %lld: bad output reply for %s",
			    (long long)id, stream);
			return (CTL_EXIT_ERROR);
		}
	}
	return (0);
}

/*
 * One stream of a view's result as bytes: the view's own copy (text or
 * base64) when it is whole, else every byte through the output op.
 * 1 when the result has no such stream, else 0 or an exit code.
 */
static int
cmd_logs_stream(struct ctl *ctl, struct msg_in *job, const char *name,
    char **buf, size_t *len)
{
	struct msg_in	*res = msg_in_object(job, "result");
	struct msg_view	 v;
	char		 key[64];
	int		 more = 1;

	snprintf(key, sizeof key, "%s_base64", name);
	if (!msg_in_has(res, name) && !msg_in_has(res, key))
		return (1);
	snprintf(key, sizeof key, "%s_more", name);
	if (msg_in_bool(res, key, &more, NULL) == 1 && !more)
		return (msg_in_output(res, name, "", buf, len, NULL) == 1 ?
		    0 : 1);
	msg_in_view(job, &v);
	return (cmd_logs_fetch(ctl, v.id, name, buf, len));
}

/*
 * The captured output of a job view, as bytes: an exec job's stdout and
 * stderr, an http job's body as its stdout. 0; 1 if it has none; else an
 * exit code after a message.
 */
static int
cmd_logs_output(struct ctl *ctl, struct msg_in *job, struct cmd_logs *l)
{
	struct msg_view	 v;
	int		 i, r;

	memset(l, 0, sizeof *l);
	msg_in_view(job, &v);
	if (v.kind != NULL && strcmp(v.kind, "http") == 0) {
		l->names[0] = "body";
		l->max_key = "max_body";
	} else {
		l->names[0] = "stdout";
		l->names[1] = "stderr";
		l->max_key = "max_output";
	}
	for (i = 0; i < 2; i++) {
		if (l->names[i] != NULL && (r = cmd_logs_stream(ctl, job,
		    l->names[i], &l->buf[i], &l->len[i])) != 0) {
			cmd_logs_clear(l);
			return (r);
		}
	}
	return (0);
}

/* Say on stderr that a stream was cut, and how much of it is kept. */
static void
cmd_logs_truncated(struct msg_in *job, const struct cmd_logs *l, int i)
{
	struct msg_in	*res = msg_in_object(job, "result");
	const char	*name = l->names[i];
	char		 key[32];
	int64_t		 total = 0, max = CMD_LOGS_MAX_OUTPUT;
	int		 cut = 0;

	snprintf(key, sizeof key, "%s_truncated", name);
	if (msg_in_bool(res, key, &cut, NULL) != 1 || !cut)
		return;
	snprintf(key, sizeof key, "%s_bytes", name);
	msg_in_int(res, key, &total, NULL);
	msg_in_int(msg_in_object(job, "args"), l->max_key, &max, NULL);
	ctl_warnx("%s truncated: %lld of %lld bytes kept", name,
	    (long long)(max < total ? max : total), (long long)total);
}

/*
 * Write the output of a job view byte for byte, the streams chosen by
 * which, then a note for each one cut short: 0, 1 if the job has no
 * output, -1 if reading or writing failed (said on stderr).
 */
int
cmd_logs_write(struct ctl *ctl, struct msg_in *job, int which)
{
	FILE		*files[2] = { stdout, stderr };
	struct cmd_logs	 l;
	int		 i, r, failed = 0;

	if ((r = cmd_logs_output(ctl, job, &l)) != 0)
		return (r == 1 ? 1 : -1);
	for (i = 0; i < 2; i++) {
		if (!(which & (1 << i)) || l.names[i] == NULL)
			continue;
		if (fwrite(l.buf[i], 1, l.len[i], files[i]) != l.len[i] ||
		    fflush(files[i]) == EOF) {
			if (!failed)
				ctl_warnx("writing the job's %s: %s",
				    l.names[i], strerror(errno));
			failed = 1;
		}
	}
	for (i = 0; i < 2; i++) {
		if ((which & (1 << i)) && l.names[i] != NULL)
			cmd_logs_truncated(job, &l, i);
	}
	cmd_logs_clear(&l);
	return (failed ? -1 : 0);
}

/* Whether a finished job's result has output (the first stream). */
static int
cmd_logs_has(struct msg_in *job)
{
	struct msg_in	*res = msg_in_object(job, "result");
	struct msg_view	 v;

	msg_in_view(job, &v);
	if (v.kind == NULL)
		return (0);
	if (strcmp(v.kind, "http") == 0)
		return (msg_in_has(res, "body") ||
		    msg_in_has(res, "body_base64"));
	return (strcmp(v.kind, "exec") == 0 && (msg_in_has(res, "stdout") ||
	    msg_in_has(res, "stdout_base64")));
}

/* Why a job has no output to show: not finished, or it made none. */
static int
cmd_logs_none(struct msg_in *job)
{
	struct msg_view	 v;

	msg_in_view(job, &v);
	if (v.state == NULL || strcmp(v.state, "queued") == 0 ||
	    strcmp(v.state, "running") == 0)
		ctl_warnx("job %lld has not finished yet (%s); its output is "
		    "kept when it ends", (long long)v.id, output_str(v.state));
	else if (cmd_logs_has(job))
		return (0);
	else if (v.kind == NULL || (strcmp(v.kind, "exec") != 0 &&
	    strcmp(v.kind, "http") != 0))
		ctl_warnx("job %lld has no output: it is a %s job, not exec "
		    "or http", (long long)v.id, output_str(v.kind));
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
	else if (!json && cmd_logs_write(ctl, job, which) != 0)
		r = CTL_EXIT_JOB;
	request_reply_free(&rep);
	return (r);
}
