/*
 * submit: a job from the command line (a kind with a command line form and
 * the spec options), or the specs of a JSON file; print the ids and, with
 * --wait, wait for the jobs as cmd_wait.c does, or as the kind says (exec
 * behaves like the command: cmd_submit_exec.c). cpu: cmd_submit_cpu.c;
 * http: cmd_submit_http.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aiojobctl.h"
#include "client.h"
#include "msg.h"
#include "output.h"
#include "xmalloc.h"

/*
 * A kind that has a command line form: submit KIND ARGS... The builder
 * gets argv from KIND on and writes the args; wait, if set, is the --wait
 * of that kind for one job, instead of printing its id and final status.
 */
struct cmd_submit_kind {
	const char	*name;
	int		 min;
	int		 max;		/* -1: no limit */
	int		(*build)(struct ctl *, int, char **, struct msg_out *);
	int		(*wait)(struct ctl *, int64_t);
};

/* A submit option that becomes a field of the spec. */
struct cmd_submit_specopt {
	const char	*option;
	const char	*field;
	int		 has_arg;
	int64_t		 min;
	int		(*add)(struct ctl *, struct msg_out *,
			    const struct cmd_submit_specopt *, const char *);
};

static int	cmd_submit_sleep(struct ctl *, int, char **, struct msg_out *);
static int	cmd_submit_string(struct ctl *, struct msg_out *,
		    const struct cmd_submit_specopt *, const char *);
static int	cmd_submit_int(struct ctl *, struct msg_out *,
		    const struct cmd_submit_specopt *, const char *);
static int	cmd_submit_duration(struct ctl *, struct msg_out *,
		    const struct cmd_submit_specopt *, const char *);
static int	cmd_submit_after(struct ctl *, struct msg_out *,
		    const struct cmd_submit_specopt *, const char *);
static int	cmd_submit_true(struct ctl *, struct msg_out *,
		    const struct cmd_submit_specopt *, const char *);

static const struct cmd_submit_kind cmd_submit_kinds[] = {
	{ "sleep", 1, 1, cmd_submit_sleep, NULL },
	{ "exec", 0, -1, cmd_submit_exec_build, cmd_submit_exec_wait },
	{ "cpu", 0, -1, cmd_submit_cpu_build, NULL },
	{ "http", 0, -1, cmd_submit_http_build, NULL },
};
#define CMD_SUBMIT_NKINDS \
	(sizeof cmd_submit_kinds / sizeof cmd_submit_kinds[0])

static const struct cmd_submit_specopt cmd_submit_specopts[] = {
	{ "queue", "queue", 1, 0, cmd_submit_string },
	{ "priority", "priority", 1, -MSG_INT_MAX, cmd_submit_int },
	{ "delay", "delay_ms", 1, 0, cmd_submit_duration },
	{ "timeout", "timeout_ms", 1, 0, cmd_submit_duration },
	{ "name", "name", 1, 0, cmd_submit_string },
	{ "key", "key", 1, 0, cmd_submit_string },
	{ "retries", "retries", 1, 0, cmd_submit_int },
	{ "backoff", "retry_backoff_ms", 1, 0, cmd_submit_duration },
	{ "after", "after", 1, 0, cmd_submit_after },
	{ "lock", "lock", 1, 0, cmd_submit_string },
	{ "shield", "shield", 0, 0, cmd_submit_true },
};
#define CMD_SUBMIT_NSPECOPTS \
	(sizeof cmd_submit_specopts / sizeof cmd_submit_specopts[0])

/* The state of submit: its options, then the specs to send. */
struct cmd_submit_state {
	const char	*values[CMD_SUBMIT_NSPECOPTS];
	int		 nvalues;
	const char	*file;
	const struct cmd_submit_kind *kind;	/* of the command line form */
	int		 wait;
	int		 group;
	int64_t		 durable_wait_ms;
	struct msg_spec	*specs;
	size_t		 nspecs;
	int		 batch;
};

#define CMD_SUBMIT_OPT_WAIT	0x100
#define CMD_SUBMIT_OPT_GROUP	0x101
#define CMD_SUBMIT_OPT_FILE	0x102
#define CMD_SUBMIT_OPT_DURABLE	0x103
#define CMD_SUBMIT_OPT_SPEC	0x200	/* plus the index in the specopts */

/* How long a submit is resent while the daemon cannot write its store. */
#define CMD_SUBMIT_DURABLE_WAIT_MS	30000

static void
cmd_submit_clear(struct cmd_submit_state *s)
{
	size_t	 i;

	for (i = 0; i < s->nspecs; i++)
		msg_spec_clear(&s->specs[i]);
	free(s->specs);
}

/* The args of sleep DURATION. */
static int
cmd_submit_sleep(struct ctl *ctl, int argc, char **argv, struct msg_out *o)
{
	int64_t	 ms;

	if (parse_duration(ctl, "sleep", argv[1], &ms) != 0)
		return (CTL_EXIT_USAGE);
	msg_out_int(o, "ms", ms);
	return (0);
}

static int
cmd_submit_string(struct ctl *ctl, struct msg_out *o,
    const struct cmd_submit_specopt *so, const char *s)
{
	msg_out_string(o, so->field, s);
	return (0);
}

static int
cmd_submit_int(struct ctl *ctl, struct msg_out *o,
    const struct cmd_submit_specopt *so, const char *s)
{
	int64_t	 v;

	if (parse_int(ctl, so->option, s, so->min, MSG_INT_MAX, &v) != 0)
		return (CTL_EXIT_USAGE);
	msg_out_int(o, so->field, v);
	return (0);
}

static int
cmd_submit_duration(struct ctl *ctl, struct msg_out *o,
    const struct cmd_submit_specopt *so, const char *s)
{
	char	 what[64];
	int64_t	 ms;

	snprintf(what, sizeof what, "--%s", so->option);
	if (parse_duration(ctl, what, s, &ms) != 0)
		return (CTL_EXIT_USAGE);
	msg_out_int(o, so->field, ms);
	return (0);
}

/* --after ID,ID,...: job ids, positive integers. */
static int
cmd_submit_after(struct ctl *ctl, struct msg_out *o,
    const struct cmd_submit_specopt *so, const char *s)
{
	char	*copy, *word, *last;
	int64_t	 id;
	int	 r = 0;

	copy = xstrdup(s);
	msg_out_array(o, so->field);
	for (word = strtok_r(copy, ",", &last); word != NULL && r == 0;
	    word = strtok_r(NULL, ",", &last)) {
		if ((r = parse_int(ctl, "--after", word, 1, MSG_INT_MAX,
		    &id)) == 0)
			msg_out_int(o, NULL, id);
	}
	msg_out_close(o);
	free(copy);
	return (r != 0 ? CTL_EXIT_USAGE : 0);
}

/* A flag option: the field is true. */
static int
cmd_submit_true(struct ctl *ctl, struct msg_out *o,
    const struct cmd_submit_specopt *so, const char *s)
{
	msg_out_bool(o, so->field, 1);
	return (0);
}

/* The long options of submit: one per spec option, then the others. */
static void
cmd_submit_longopts(struct option *opts)
{
	static const struct option	 fixed[] = {
		{ "wait", no_argument, NULL, CMD_SUBMIT_OPT_WAIT },
		{ "group", no_argument, NULL, CMD_SUBMIT_OPT_GROUP },
		{ "file", required_argument, NULL, CMD_SUBMIT_OPT_FILE },
		{ "durable-wait", required_argument, NULL,
		    CMD_SUBMIT_OPT_DURABLE },
		{ NULL, 0, NULL, 0 }
	};
	size_t				 i;

	for (i = 0; i < CMD_SUBMIT_NSPECOPTS; i++) {
		opts[i].name = cmd_submit_specopts[i].option;
		opts[i].has_arg = cmd_submit_specopts[i].has_arg ?
		    required_argument : no_argument;
		opts[i].flag = NULL;
		opts[i].val = CMD_SUBMIT_OPT_SPEC + (int)i;
	}
	memcpy(opts + CMD_SUBMIT_NSPECOPTS, fixed, sizeof fixed);
}

/* Options stop at the kind, so that its arguments may look like options. */
static int
cmd_submit_opts(struct ctl *ctl, int argc, char **argv,
    struct cmd_submit_state *s)
{
	struct option	 opts[CMD_SUBMIT_NSPECOPTS + 5];
	int		 ch;

	cmd_submit_longopts(opts);
	while ((ch = ctl_getopt(ctl, argc, argv, "+:", opts)) != -1) {
		if (ch >= CMD_SUBMIT_OPT_SPEC) {
			s->values[ch - CMD_SUBMIT_OPT_SPEC] = optarg != NULL ?
			    optarg : "";
			s->nvalues++;
		} else if (ch == CMD_SUBMIT_OPT_WAIT)
			s->wait = 1;
		else if (ch == CMD_SUBMIT_OPT_GROUP)
			s->group = 1;
		else if (ch == CMD_SUBMIT_OPT_FILE)
			s->file = optarg;
		else if (ch == CMD_SUBMIT_OPT_DURABLE) {
			if (parse_duration(ctl, "--durable-wait", optarg,
			    &s->durable_wait_ms) != 0)
				return (CTL_EXIT_USAGE);
		} else
			return (CTL_EXIT_USAGE);
	}
	if (s->file != NULL && s->nvalues > 0)
		return (ctl_usage_error(ctl, "--file takes the job options "
		    "from the file; only --wait, --group and --durable-wait "
		    "go with it"));
	if (s->file == NULL && s->group)
		return (ctl_usage_error(ctl, "--group needs --file"));
	return (0);
}

/*
 * A file may also hold {"jobs": [SPEC, ...], "group": bool}, the submit
 * request's own shape: take the array and the group flag from it (*jobs
 * stays NULL for a file of another shape). Held to the daemon's rules: no
 * NUL in a string, no duplicate key, no field but these two.
 */
static int
cmd_submit_unwrap(struct cmd_submit_state *s, const char *buf, size_t len,
    char **jobs, struct msg_error *err)
{
	static const char *const fields[] = { "jobs", "group", NULL };
	struct msg_in	*in;
	const char	*unknown;
	int		 group = 0, r = -1;

	*jobs = NULL;
	if ((in = msg_in_parse(buf, len, NULL)) == NULL ||
	    msg_in_array_len(in, "jobs") == 0) {
		msg_in_free(in);
		return (0);
	}
	msg_in_free(in);
	if ((in = msg_strict_parse(buf, len, err)) == NULL)
		return (-1);
	if ((unknown = msg_strict_unknown(in, fields)) != NULL)
		msg_error_set(err, MSG_E_BAD_REQUEST, "unknown field '%.100s' "
		    "beside 'jobs' (only 'group' may go with it)", unknown);
	else if (msg_in_bool(in, "group", &group, err) != -1) {
		*jobs = msg_in_text(in, "jobs", 0);
		s->group |= group;
		r = 0;
	}
	msg_in_free(in);
	return (r);
}

static const struct cmd_submit_kind *
cmd_submit_kind_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < CMD_SUBMIT_NKINDS; i++) {
		if (strcmp(name, cmd_submit_kinds[i].name) == 0)
			return (&cmd_submit_kinds[i]);
	}
	return (NULL);
}

/* The spec of the command line form as JSON text, or NULL. */
static char *
cmd_submit_text(struct ctl *ctl, struct cmd_submit_state *s,
    const struct cmd_submit_kind *kind, int argc, char **argv)
{
	struct msg_out	*o;
	size_t		 i;
	int		 r;

	o = msg_out_new();
	msg_out_string(o, "kind", kind->name);
	msg_out_object(o, "args");
	r = kind->build(ctl, argc, argv, o);
	msg_out_close(o);
	for (i = 0; r == 0 && i < CMD_SUBMIT_NSPECOPTS; i++) {
		if (s->values[i] != NULL)
			r = cmd_submit_specopts[i].add(ctl, o,
			    &cmd_submit_specopts[i], s->values[i]);
	}
	if (r == 0)
		return (msg_out_finish(o, 0));
	msg_out_free(o);
	return (NULL);
}

/* submit KIND ARGS...: the spec checked as the daemon would. */
static int
cmd_submit_cli(struct ctl *ctl, struct cmd_submit_state *s, int argc,
    char **argv)
{
	const struct cmd_submit_kind	*kind;
	struct msg_error		 err;
	char				*text;
	int				 r;

	if (argc == 0)
		return (ctl_usage_error(ctl, "no job kind given"));
	if ((kind = cmd_submit_kind_find(argv[0])) == NULL)
		return (ctl_usage_error(ctl, "'%s' has no command line form "
		    "(use --file)", argv[0]));
	if (argc - 1 < kind->min || (kind->max != -1 && argc - 1 > kind->max))
		return (ctl_usage_error(ctl, "wrong number of arguments for "
		    "%s", kind->name));
	s->kind = kind;
	text = cmd_submit_text(ctl, s, kind, argc, argv);
	if (text == NULL)
		return (CTL_EXIT_USAGE);
	s->specs = xcalloc(1, sizeof *s->specs);
	if ((r = msg_spec_parse(text, s->specs, &err)) == 0)
		s->nspecs = 1;
	free(text);
	if (r != 0)
		return (ctl_usage_error(ctl, "%s", err.message));
	return (0);
}

/* submit --file FILE: one spec object or an array of them, each checked. */
static int
cmd_submit_file(struct ctl *ctl, struct cmd_submit_state *s, int nargs)
{
	struct msg_error	 err;
	char			*buf, *jobs;
	size_t			 len;
	int			 r, array;

	if (nargs != 0)
		return (ctl_usage_error(ctl, "--file takes no job kind or "
		    "arguments"));
	if ((r = parse_file(NULL, s->file, CLIENT_MAX_SEND, &buf, &len)) != 0)
		return (r);
	if ((r = cmd_submit_unwrap(s, buf, len, &jobs, &err)) == 0 &&
	    jobs != NULL) {
		free(buf);
		buf = jobs;
		len = strlen(jobs);
	}
	if (r == 0)
		r = msg_specs_parse(buf, len, &s->specs, &s->nspecs, &array,
		    &err);
	free(buf);
	if (r != 0) {
		ctl_warnx("%s: %s", s->file, err.message);
		return (CTL_EXIT_USAGE);
	}
	s->batch = array || s->group;
	return (0);
}

/* The ids of a submit reply, printed one a line unless quiet; or JSON. */
static void
cmd_submit_ids(struct ctl *ctl, struct ctl_reply *rep, int batch, int quiet,
    int64_t **ids, size_t *n)
{
	struct msg_in	*e;
	size_t		 i, k = 0;

	*n = batch ? msg_in_array_len(rep->in, "ids") : 1;
	*ids = xcalloc(*n, sizeof **ids);
	if (!batch)
		k = msg_in_int(rep->in, "id", &(*ids)[0], NULL) == 1;
	for (e = batch ? msg_in_array_at(rep->in, "ids", 0) : NULL;
	    e != NULL && k < *n; e = msg_in_next(e)) {
		if (msg_in_value_int(e, &(*ids)[k]) == 0)
			k++;
	}
	*n = k;
	if (request_json(ctl, rep) || quiet)
		return;
	for (i = 0; i < k; i++)
		printf("%lld\n", (long long)(*ids)[i]);
	fflush(stdout);
}

/* The jobs of a not_durable reply: they exist, but not on disk yet. */
static void
cmd_submit_unconfirmed(struct ctl_reply *rep)
{
	struct msg_in	*e, *job;
	const char	*message = "", *key;
	int64_t		 id;

	e = msg_in_object(rep->in, "error");
	msg_in_string(e, "message", &message, NULL);
	ctl_warnx("%s: %s", MSG_E_NOT_DURABLE, message);
	for (job = msg_in_array_at(e, "jobs", 0); job != NULL;
	    job = msg_in_next(job)) {
		id = 0;
		key = NULL;
		msg_in_int(job, "id", &id, NULL);
		msg_in_string(job, "key", &key, NULL);
		ctl_warnx("job %lld (key %s) exists but could not be confirmed "
		    "on disk", (long long)id, key != NULL ? key : "none");
	}
}

/* Milliseconds of the monotonic clock. */
static int64_t
cmd_submit_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Send one submit. While the daemon answers not_durable (its store
 * cannot write; the jobs exist in its memory only) resend the very same
 * request: its keys make it name the same jobs, never new ones, and it
 * is answered ok once the store has written them. After --durable-wait
 * the last not_durable reply is left in rep: CTL_EXIT_NOT_DURABLE. The
 * daemon answers a resend only after its next try to write (once a
 * second while it fails), which paces the loop; the short pause guards
 * against a daemon that answers at once.
 */
static int
cmd_submit_call(struct ctl *ctl, struct cmd_submit_state *s, const char *req,
    struct ctl_reply *rep)
{
	struct timespec	 pause = { 0, 100 * 1000 * 1000 };
	int64_t		 deadline = cmd_submit_now_ms() + s->durable_wait_ms;
	int		 r;

	for (;;) {
		r = request_call_keep(ctl, req, CLIENT_TIMEOUT_MS,
		    MSG_E_NOT_DURABLE, rep);
		if (r != CTL_EXIT_KEPT)
			return (r);
		if (cmd_submit_now_ms() >= deadline)
			return (CTL_EXIT_NOT_DURABLE);
		request_reply_free(rep);
		nanosleep(&pause, NULL);
	}
}

/* submit --wait prints one job as status does, more as wait does. */
static void
cmd_submit_wait_print(struct msg_in *reply, size_t n)
{
	struct msg_in	*job;

	job = msg_in_array_at(reply, "done", 0);
	if (n == 1 && job != NULL)
		output_view(job);
	else
		output_wait(reply);
}

/*
 * Send specs[off..] in one submit, or as many as one takes (k): append
 * the ids to ids/n. A group always goes whole: splitting it would break
 * its all-or-nothing, so one too large is the daemon's to refuse. Jobs
 * that exist but could not be confirmed on disk are printed as well,
 * with their keys on standard error (CTL_EXIT_NOT_DURABLE).
 */
static int
cmd_submit_part(struct ctl *ctl, struct cmd_submit_state *s, size_t off,
    size_t *k, int quiet, int64_t **ids, size_t *n)
{
	struct ctl_reply	 rep;
	char			*req;
	int64_t			*got;
	size_t			 ngot;
	int			 r;

	*k = s->nspecs - off;
	if (s->batch && !s->group)
		*k = client_submit_fit(s->specs + off, *k, CLIENT_SUBMIT_MAX);
	req = client_submit_request(s->specs + off, *k, s->batch, s->group);
	r = cmd_submit_call(ctl, s, req, &rep);
	free(req);
	if (r != 0 && r != CTL_EXIT_NOT_DURABLE)
		return (r);
	cmd_submit_ids(ctl, &rep, s->batch, quiet && r == 0, &got, &ngot);
	if (r != 0)
		cmd_submit_unconfirmed(&rep);
	request_reply_free(&rep);
	*ids = xreallocarray(*ids, *n + ngot, sizeof **ids);
	memcpy(*ids + *n, got, ngot * sizeof *got);
	*n += ngot;
	free(got);
	return (r);
}

/*
 * Submit every spec: a batch larger than one request takes (MSG_JOBS_MAX
 * jobs, CLIENT_SUBMIT_MAX bytes) goes in parts, each all-or-nothing. If a
 * part is refused, the parts before it stay submitted and the message
 * says which jobs were and were not.
 */
static int
cmd_submit_send(struct ctl *ctl, struct cmd_submit_state *s)
{
	int64_t	*ids = NULL;
	size_t	 n = 0, off, k;
	int	 r = 0, own;

	own = s->wait && s->kind != NULL && s->kind->wait != NULL;
	for (off = 0; off < s->nspecs; off += k) {
		if ((r = cmd_submit_part(ctl, s, off, &k, own, &ids,
		    &n)) == 0)
			continue;
		if (r == CTL_EXIT_NOT_DURABLE)
			off += k;	/* that part's jobs exist */
		if (off > 0 && off < s->nspecs)
			ctl_warnx("jobs %zu to %zu of %zu were not submitted; "
			    "jobs 0 to %zu were (their ids are above)", off,
			    s->nspecs - 1, s->nspecs, off - 1);
		free(ids);
		return (r);
	}
	if (own && n == 1)
		r = s->kind->wait(ctl, ids[0]);
	else if (s->wait && n > 0)
		r = cmd_wait_for(ctl, ids, n, MSG_ALL_COMPLETED, -1,
		    cmd_submit_wait_print);
	free(ids);
	return (r);
}

int
cmd_submit(struct ctl *ctl, int argc, char **argv)
{
	struct cmd_submit_state	 s;
	int			 r;

	memset(&s, 0, sizeof s);
	s.durable_wait_ms = CMD_SUBMIT_DURABLE_WAIT_MS;
	if ((r = cmd_submit_opts(ctl, argc, argv, &s)) == 0) {
		if (s.file != NULL)
			r = cmd_submit_file(ctl, &s, argc - optind);
		else
			r = cmd_submit_cli(ctl, &s, argc - optind,
			    argv + optind);
	}
	if (r == 0)
		r = cmd_submit_send(ctl, &s);
	cmd_submit_clear(&s);
	return (r);
}
