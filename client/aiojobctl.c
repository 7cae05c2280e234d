/*
 * aiojobctl: the command line front of aiojobsd. A table of subcommands,
 * each parsing its own options and sending requests through the client
 * library; replies are printed by output.c, or raw with --json.
 */
#include <sys/signalfd.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "duration.h"
#include "endpoint.h"
#include "msg.h"
#include "output.h"
#include "watch.h"
#include "xmalloc.h"

#define CTL_EXIT_OK		0
#define CTL_EXIT_JOB		1	/* a job failed, or a wait timed out */
#define CTL_EXIT_USAGE		2
#define CTL_EXIT_UNREACHABLE	3
#define CTL_EXIT_ERROR		4	/* aiojobsd replied with an error */

#define CTL_HOLD_MS		60000	/* a wait round without --timeout */
#define CTL_SLACK_MS		10000	/* added to a wait's receive timeout */
#define CTL_FILE_CHUNK		65536

struct ctl;

/* A subcommand: usage is "aiojobctl NAME ARGS", then HELP. */
struct ctl_cmd {
	const char	*name;
	const char	*args;
	const char	*help;
	int		 min;
	int		 max;		/* -1: no limit */
	int		(*fn)(struct ctl *, int, char **);
};

struct ctl {
	const char		*url;		/* --url, NULL for the default */
	const char		*events_url;	/* --events-url */
	int			 json;
	char			*rundir;
	char			*control;	/* the control URL in use */
	struct client		*client;
	const struct ctl_cmd	*cmd;
};

/* A reply as received, and parsed. */
struct ctl_reply {
	char		*raw;
	struct msg_in	*in;
};

/* A wait in progress, asked again until its condition holds. */
struct ctl_wait {
	int64_t		*ids;
	size_t		 nids;
	int64_t		*pending;
	size_t		 npending;
	int		 return_when;
	int64_t		 deadline;	/* monotonic ms, -1: none */
	int		 bad;		/* a done job failed or was cancelled */
	int		 progress;	/* show "3/10 done" on stderr */
	int		 width;		/* of the progress line shown */
};

/* A kind that has a command line form: submit KIND ARGS... */
struct ctl_kind {
	const char	*name;
	int		 min;
	int		 max;
	int		(*build)(struct ctl *, int, char **, struct msg_out *);
};

/* A submit option that becomes a field of the spec. */
struct ctl_specopt {
	const char	*option;
	const char	*field;
	int64_t		 min;
	int		(*add)(struct ctl *, struct msg_out *,
			    const struct ctl_specopt *, const char *);
};

/* A word of "queue NAME WORD [VALUE]". */
struct ctl_action {
	const char	*word;
	const char	*action;
	int		(*value)(struct ctl *, struct msg_out *, const char *);
};

static int	ctl_ping(struct ctl *, int, char **);
static int	ctl_submit(struct ctl *, int, char **);
static int	ctl_status(struct ctl *, int, char **);
static int	ctl_list(struct ctl *, int, char **);
static int	ctl_wait(struct ctl *, int, char **);
static int	ctl_cancel(struct ctl *, int, char **);
static int	ctl_stats(struct ctl *, int, char **);
static int	ctl_queue(struct ctl *, int, char **);
static int	ctl_watch(struct ctl *, int, char **);
static int	ctl_shutdown(struct ctl *, int, char **);

static int	ctl_kind_sleep(struct ctl *, int, char **, struct msg_out *);
static int	ctl_spec_string(struct ctl *, struct msg_out *,
		    const struct ctl_specopt *, const char *);
static int	ctl_spec_int(struct ctl *, struct msg_out *,
		    const struct ctl_specopt *, const char *);
static int	ctl_spec_duration(struct ctl *, struct msg_out *,
		    const struct ctl_specopt *, const char *);
static int	ctl_queue_limit(struct ctl *, struct msg_out *, const char *);
static int	ctl_queue_rate(struct ctl *, struct msg_out *, const char *);

static void	ctl_warnx(const char *, ...)
		    __attribute__((__format__(__printf__, 1, 2)));
static int	ctl_usage_error(struct ctl *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));

static const struct ctl_cmd ctl_cmds[] = {
	{ "ping", "",
	  "Check that aiojobsd answers; print its version, pid and uptime.\n",
	  0, 0, ctl_ping },
	{ "submit", "[options] KIND ARGS... | [--wait] [--group] --file FILE|-",
	  "Submit a job and print its id.\n"
	  "\n"
	  "kinds:\n"
	  "  sleep DURATION    a timer on the daemon's event loop\n"
	  "\n"
	  "options:\n"
	  "  --queue Q         the queue (default: default)\n"
	  "  --priority N      higher starts first within a queue (default 0)\n"
	  "  --delay D         do not start before D has passed\n"
	  "  --timeout T       stop the job and fail it after T\n"
	  "  --name S          a label for people\n"
	  "  --key K           idempotency key (default: a random one)\n"
	  "  --retries N       extra attempts after a failure\n"
	  "  --wait            wait for the job, print its final status; exit 1\n"
	  "                    if it failed or was cancelled\n"
	  "  --file FILE       submit the JSON spec, or array of specs, in FILE\n"
	  "                    ('-' reads standard input); one id per line\n"
	  "  --group           with --file: the array is a task group\n"
	  "\n"
	  "Durations are like 250ms, 2s, 1m, 1h; a bare number is seconds.\n",
	  0, -1, ctl_submit },
	{ "status", "ID",
	  "Print a job: its state, times, error and result.\n",
	  1, 1, ctl_status },
	{ "list", "[--state S] [--queue Q] [--limit N] [--before ID]",
	  "List jobs, newest first.\n"
	  "\n"
	  "  --state S         only jobs in state S (queued, running, succeeded,\n"
	  "                    failed, cancelled)\n"
	  "  --queue Q         only jobs of queue Q\n"
	  "  --limit N         at most N jobs (default 100)\n"
	  "  --before ID       only jobs older than job ID\n",
	  0, 0, ctl_list },
	{ "wait", "[--any | --first-exception] [--timeout T] ID...",
	  "Wait for jobs to end, as asyncio.wait does, and print them.\n"
	  "\n"
	  "  --any             return when any job has ended\n"
	  "  --first-exception return when any job fails or is cancelled\n"
	  "  --timeout T       give up after T (default: wait forever)\n"
	  "\n"
	  "Exit 1 if a job failed or was cancelled, or jobs are still pending.\n",
	  1, -1, ctl_wait },
	{ "cancel", "ID...",
	  "Cancel jobs; print each job's id and state.\n",
	  1, -1, ctl_cancel },
	{ "stats", "",
	  "Print job counts, queues, workers and uptime.\n",
	  0, 0, ctl_stats },
	{ "queue", "NAME pause|resume|limit N|rate X",
	  "Pause or resume a queue, or set its limit of running jobs (0 for\n"
	  "none) or its rate of job starts per second (0 for none).\n",
	  2, 3, ctl_queue },
	{ "watch", "[PREFIX...]",
	  "Print job events as they happen, those whose topic starts with a\n"
	  "PREFIX (job.failed, job.): all by default. Stop with ^C.\n",
	  0, -1, ctl_watch },
	{ "shutdown", "[--timeout T]",
	  "Stop aiojobsd gracefully: running jobs get T (default 10s) to end.\n",
	  0, 0, ctl_shutdown },
};
#define CTL_NCMDS	(sizeof ctl_cmds / sizeof ctl_cmds[0])

static const struct ctl_kind ctl_kinds[] = {
	{ "sleep", 1, 1, ctl_kind_sleep },
};
#define CTL_NKINDS	(sizeof ctl_kinds / sizeof ctl_kinds[0])

static const struct ctl_specopt ctl_specopts[] = {
	{ "queue", "queue", 0, ctl_spec_string },
	{ "priority", "priority", -MSG_INT_MAX, ctl_spec_int },
	{ "delay", "delay_ms", 0, ctl_spec_duration },
	{ "timeout", "timeout_ms", 0, ctl_spec_duration },
	{ "name", "name", 0, ctl_spec_string },
	{ "key", "key", 0, ctl_spec_string },
	{ "retries", "retries", 0, ctl_spec_int },
};
#define CTL_NSPECOPTS	(sizeof ctl_specopts / sizeof ctl_specopts[0])

static const struct ctl_action ctl_actions[] = {
	{ "pause", "pause", NULL },
	{ "resume", "resume", NULL },
	{ "limit", "set", ctl_queue_limit },
	{ "rate", "set", ctl_queue_rate },
};
#define CTL_NACTIONS	(sizeof ctl_actions / sizeof ctl_actions[0])

/* Indexed by MSG_ALL_COMPLETED and friends. */
static const char *ctl_return_whens[] = {
	"ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"
};

static const char *ctl_states[] = {
	"queued", "running", "succeeded", "failed", "cancelled", NULL
};

static void
ctl_warnx(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "aiojobctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* A mistake on the command line: say what, and where help is. */
static int
ctl_usage_error(struct ctl *ctl, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "aiojobctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (ctl->cmd != NULL)
		fprintf(stderr, "\nsee aiojobctl %s --help\n", ctl->cmd->name);
	else
		fprintf(stderr, "\nsee aiojobctl --help\n");
	return (CTL_EXIT_USAGE);
}

static void
ctl_usage(FILE *f)
{
	size_t	 i;

	fprintf(f, "usage: aiojobctl [--url URL] [--events-url URL] [--json] "
	    "SUBCOMMAND [ARGS...]\n"
	    "       aiojobctl --help | --version\n\nsubcommands:\n");
	for (i = 0; i < CTL_NCMDS; i++)
		fprintf(f, "  %s%s%s\n", ctl_cmds[i].name,
		    *ctl_cmds[i].args == '\0' ? "" : " ", ctl_cmds[i].args);
	fprintf(f, "\n"
	    "  --url URL         control endpoint (default: $AIOJOBS_URL, else\n"
	    "                    ipc://RUNDIR/aiojobsd.sock)\n"
	    "  --events-url URL  event endpoint for watch ($AIOJOBS_EVENTS_URL)\n"
	    "  --json            print the daemon's replies as JSON, one a line\n"
	    "\n"
	    "Each subcommand takes --help. Exit status: 0 success, 1 a job\n"
	    "failed or was cancelled or a wait timed out, 2 usage error,\n"
	    "3 aiojobsd unreachable, 4 aiojobsd replied with an error.\n");
}

static void
ctl_cmd_usage(const struct ctl_cmd *cmd)
{
	printf("usage: aiojobctl %s%s%s\n\n%s", cmd->name,
	    *cmd->args == '\0' ? "" : " ", cmd->args, cmd->help);
}

/* getopt_long with our own messages: '?' when a usage error was printed. */
static int
ctl_getopt(struct ctl *ctl, int argc, char **argv, const char *optstring,
    const struct option *longopts)
{
	const char	*arg;
	int		 ch;

	opterr = 0;
	ch = getopt_long(argc, argv, optstring, longopts, NULL);
	if (ch != '?' && ch != ':')
		return (ch);
	arg = argv[optind - 1];
	if (ch == ':')
		ctl_usage_error(ctl, "option '%s' needs a value", arg);
	else if (strncmp(arg, "--", 2) != 0)
		ctl_usage_error(ctl, "unknown option '-%c'", optopt);
	else if (optopt != 0)
		ctl_usage_error(ctl, "option '%s' takes no value", arg);
	else
		ctl_usage_error(ctl, "unknown option '%s'", arg);
	return ('?');
}

/* Check the number of arguments left against the subcommand's table. */
static int
ctl_nargs(struct ctl *ctl, int n)
{
	if (n < ctl->cmd->min)
		return (ctl_usage_error(ctl, "too few arguments"));
	if (ctl->cmd->max != -1 && n > ctl->cmd->max)
		return (ctl_usage_error(ctl, "too many arguments"));
	return (0);
}

/*
 * The options of a subcommand that has none; optstring "+:" stops at the
 * first argument, so that later ones may start with '-'.
 */
static int
ctl_noopts(struct ctl *ctl, int argc, char **argv, const char *optstring)
{
	static const struct option	 none[] = { { NULL, 0, NULL, 0 } };

	if (ctl_getopt(ctl, argc, argv, optstring, none) != -1)
		return (CTL_EXIT_USAGE);
	return (ctl_nargs(ctl, argc - optind));
}

/* An integer in [min, max], the whole string. */
static int
ctl_int(struct ctl *ctl, const char *what, const char *s, int64_t min,
    int64_t max, int64_t *v)
{
	char		*end;
	long long	 ll;

	errno = 0;
	ll = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || (errno != 0 && errno != ERANGE))
		return (ctl_usage_error(ctl, "invalid %s '%s': not an integer",
		    what, s));
	if (errno == ERANGE || ll < min || ll > max)
		return (ctl_usage_error(ctl, "invalid %s '%s': must be %lld to "
		    "%lld", what, s, (long long)min, (long long)max));
	*v = ll;
	return (0);
}

static int
ctl_id(struct ctl *ctl, const char *s, int64_t *id)
{
	return (ctl_int(ctl, "job id", s, 1, MSG_INT_MAX, id));
}

static int
ctl_duration(struct ctl *ctl, const char *what, const char *s, int64_t *ms)
{
	char	*cause;
	int	 r;

	if (duration_parse(s, ms, &cause) == 0) {
		if (*ms <= MSG_INT_MAX)
			return (0);
		xasprintf(&cause, "invalid duration '%s': too long", s);
	}
	r = ctl_usage_error(ctl, "%s: %s", what, cause);
	free(cause);
	return (r);
}

static int64_t
ctl_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Say why a URL cannot be used; an ipc path too long gets its own words. */
static int
ctl_bad_url(const char *url, const char *cause)
{
	const char	*path;

	path = endpoint_ipc_path(url);
	if (path != NULL && strlen(path) > ENDPOINT_IPC_MAX)
		ctl_warnx("invalid URL %s: the ipc path is too long (%zu bytes, "
		    "at most %d)", url, strlen(path), ENDPOINT_IPC_MAX);
	else
		ctl_warnx("invalid URL: %s", cause);
	return (CTL_EXIT_USAGE);
}

/* Open the control socket on first use. */
static int
ctl_connect(struct ctl *ctl)
{
	char	*cause = NULL;
	int	 r;

	if (ctl->client != NULL)
		return (0);
	if (ctl->control == NULL)
		ctl->control = ctl->url != NULL ? xstrdup(ctl->url) :
		    endpoint_control_url(ctl->rundir);
	if ((ctl->client = client_open(ctl->control, &cause)) != NULL)
		return (0);
	r = ctl_bad_url(ctl->control, cause);
	free(cause);
	return (r);
}

static void
ctl_reply_free(struct ctl_reply *rep)
{
	msg_in_free(rep->in);
	free(rep->raw);
	memset(rep, 0, sizeof *rep);
}

/* With --json print the reply as received; 1 if so. */
static int
ctl_json(struct ctl *ctl, struct ctl_reply *rep)
{
	if (!ctl->json)
		return (0);
	printf("%s\n", rep->raw);
	return (1);
}

/* Parse a reply; an error reply is printed and freed. */
static int
ctl_reply_check(struct ctl *ctl, struct ctl_reply *rep)
{
	struct msg_error	 err;
	struct msg_in		*e;
	const char		*code = "?", *message = "";
	size_t			 len = strlen(rep->raw);
	int			 ok;

	while (len > 0 && rep->raw[len - 1] == '\n')
		rep->raw[--len] = '\0';
	if ((rep->in = msg_in_parse(rep->raw, len, &err)) == NULL ||
	    msg_in_bool(rep->in, "ok", &ok, &err) != 1) {
		ctl_warnx("bad reply from aiojobsd at %s: %s", ctl->control,
		    rep->in == NULL ? err.message : "no boolean 'ok' field");
		ctl_reply_free(rep);
		return (CTL_EXIT_ERROR);
	}
	if (ok)
		return (0);
	ctl_json(ctl, rep);
	e = msg_in_object(rep->in, "error");
	msg_in_string(e, "code", &code, NULL);
	msg_in_string(e, "message", &message, NULL);
	ctl_warnx("%s: %s", code, message);
	ctl_reply_free(rep);
	return (CTL_EXIT_ERROR);
}

/*
 * Send one request and read its reply: 0 when rep holds an ok reply, else
 * the exit code, with the reason printed.
 */
static int
ctl_call(struct ctl *ctl, const char *req, int timeout_ms,
    struct ctl_reply *rep)
{
	char	*cause = NULL;
	int	 r;

	memset(rep, 0, sizeof *rep);
	if ((r = ctl_connect(ctl)) != 0)
		return (r);
	if (strlen(req) > CLIENT_MAX_SEND) {
		ctl_warnx("the request is %zu bytes, the limit is %d",
		    strlen(req), CLIENT_MAX_SEND);
		return (CTL_EXIT_USAGE);
	}
	r = client_request(ctl->client, req, timeout_ms, &rep->raw, &cause);
	if (r == CLIENT_UNREACHABLE)
		ctl_warnx("cannot reach aiojobsd at %s: %s (is aiojobsd "
		    "running?)", ctl->control, cause);
	else if (r != 0)
		ctl_warnx("%s: %s", ctl->control, cause);
	free(cause);
	if (r != 0)
		return (CTL_EXIT_UNREACHABLE);
	return (ctl_reply_check(ctl, rep));
}

static int
ctl_call_out(struct ctl *ctl, struct msg_out *o, int timeout_ms,
    struct ctl_reply *rep)
{
	char	*req;
	int	 r;

	req = msg_out_finish(o, 0);
	r = ctl_call(ctl, req, timeout_ms, rep);
	free(req);
	return (r);
}

/* A request with its op set. */
static struct msg_out *
ctl_op(const char *op)
{
	struct msg_out	*o;

	o = msg_out_new();
	msg_out_string(o, "op", op);
	return (o);
}

/* The common case: one request, its reply printed by fn or as JSON. */
static int
ctl_simple(struct ctl *ctl, struct msg_out *o, void (*fn)(struct msg_in *))
{
	struct ctl_reply	 rep;
	int			 r;

	if ((r = ctl_call_out(ctl, o, CLIENT_TIMEOUT_MS, &rep)) != 0)
		return (r);
	if (!ctl_json(ctl, &rep))
		fn(rep.in);
	ctl_reply_free(&rep);
	return (CTL_EXIT_OK);
}

static int
ctl_id_cmp(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x < y ? -1 : x > y);
}

/* Drop repeated ids, keeping the first of each where it was. */
static size_t
ctl_ids_unique(int64_t *ids, size_t n)
{
	int64_t	*sorted, *p;
	char	*seen;
	size_t	 i, m = 0, k = 0;

	sorted = xcalloc(n, sizeof *sorted);
	memcpy(sorted, ids, n * sizeof *ids);
	qsort(sorted, n, sizeof *sorted, ctl_id_cmp);
	for (i = 0; i < n; i++) {
		if (m == 0 || sorted[m - 1] != sorted[i])
			sorted[m++] = sorted[i];
	}
	seen = xcalloc(m, 1);
	for (i = 0; i < n; i++) {
		p = bsearch(&ids[i], sorted, m, sizeof *sorted, ctl_id_cmp);
		if (!seen[p - sorted]) {
			seen[p - sorted] = 1;
			ids[k++] = ids[i];
		}
	}
	free(seen);
	free(sorted);
	return (k);
}

/* Job ids from the command line, without repeats. */
static int
ctl_ids(struct ctl *ctl, int argc, char **argv, int64_t **ids, size_t *n)
{
	int	 i;

	*ids = xcalloc((size_t)argc, sizeof **ids);
	for (i = 0; i < argc; i++) {
		if (ctl_id(ctl, argv[i], &(*ids)[i]) != 0) {
			free(*ids);
			*ids = NULL;
			return (CTL_EXIT_USAGE);
		}
	}
	*n = ctl_ids_unique(*ids, (size_t)argc);
	return (0);
}

static int
ctl_ping(struct ctl *ctl, int argc, char **argv)
{
	int	 r;

	if ((r = ctl_noopts(ctl, argc, argv, ":")) != 0)
		return (r);
	return (ctl_simple(ctl, ctl_op("ping"), output_ping));
}

static void
ctl_print_job(struct msg_in *reply)
{
	output_view(msg_in_object(reply, "job"));
}

static int
ctl_status(struct ctl *ctl, int argc, char **argv)
{
	struct msg_out	*o;
	int64_t		 id;
	int		 r;

	if ((r = ctl_noopts(ctl, argc, argv, ":")) != 0)
		return (r);
	if (ctl_id(ctl, argv[optind], &id) != 0)
		return (CTL_EXIT_USAGE);
	o = ctl_op("status");
	msg_out_int(o, "id", id);
	return (ctl_simple(ctl, o, ctl_print_job));
}

static int
ctl_is_state(const char *s)
{
	size_t	 i;

	for (i = 0; ctl_states[i] != NULL; i++) {
		if (strcmp(s, ctl_states[i]) == 0)
			return (1);
	}
	return (0);
}

/* The filters of list. */
struct ctl_list_args {
	const char	*state;
	const char	*queue;
	int64_t		 limit;
	int64_t		 before;
};

static int
ctl_list_opts(struct ctl *ctl, int argc, char **argv, struct ctl_list_args *a)
{
	static const struct option	 opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "queue", required_argument, NULL, 'q' },
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
		case 'n':
			if (ctl_int(ctl, "limit", optarg, 0, MSG_INT_MAX,
			    &a->limit) != 0)
				return (CTL_EXIT_USAGE);
			break;
		case 'b':
			if (ctl_id(ctl, optarg, &a->before) != 0)
				return (CTL_EXIT_USAGE);
			break;
		default:
			return (CTL_EXIT_USAGE);
		}
	}
	if (a->state != NULL && !ctl_is_state(a->state))
		return (ctl_usage_error(ctl, "unknown state '%s'", a->state));
	return (ctl_nargs(ctl, argc - optind));
}

static int
ctl_list(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_list_args	 a = { NULL, NULL, -1, -1 };
	struct msg_out		*o;
	int			 r;

	if ((r = ctl_list_opts(ctl, argc, argv, &a)) != 0)
		return (r);
	o = ctl_op("list");
	if (a.state != NULL)
		msg_out_string(o, "state", a.state);
	if (a.queue != NULL)
		msg_out_string(o, "queue", a.queue);
	if (a.limit != -1)
		msg_out_int(o, "limit", a.limit);
	if (a.before != -1)
		msg_out_int(o, "before_id", a.before);
	return (ctl_simple(ctl, o, output_list));
}

/* Milliseconds left of a wait: -1 without a deadline, 0 when past it. */
static int64_t
ctl_wait_remaining(struct ctl_wait *w)
{
	int64_t	 left;

	if (w->deadline < 0)
		return (-1);
	left = w->deadline - ctl_now();
	return (left > 0 ? left : 0);
}

/* Ask once: wait for ids, the daemon holding the request up to timeout. */
static int
ctl_wait_ask(struct ctl *ctl, const int64_t *ids, size_t n, int rw,
    int64_t timeout_ms, struct ctl_reply *rep)
{
	struct msg_out	*o;
	int64_t		 rcv;
	size_t		 i;

	o = ctl_op("wait");
	msg_out_array(o, "ids");
	for (i = 0; i < n; i++)
		msg_out_int(o, NULL, ids[i]);
	msg_out_close(o);
	msg_out_string(o, "return_when", ctl_return_whens[rw]);
	if (timeout_ms >= 0)
		msg_out_int(o, "timeout_ms", timeout_ms);
	rcv = (timeout_ms >= 0 ? timeout_ms : CTL_HOLD_MS) + CTL_SLACK_MS;
	return (ctl_call_out(ctl, o, rcv > INT_MAX ? INT_MAX : (int)rcv, rep));
}

/* Take in a wait reply: its pending ids, and whether a done job is bad. */
static void
ctl_wait_update(struct ctl_wait *w, struct msg_in *reply)
{
	struct msg_in	*job;
	const char	*state;
	size_t		 i, n;
	int64_t		 id;

	job = msg_in_array_at(reply, "done", 0);
	for (; job != NULL; job = msg_in_next(job)) {
		state = NULL;
		msg_in_string(job, "state", &state, NULL);
		if (output_state_bad(state))
			w->bad = 1;
	}
	n = msg_in_array_len(reply, "pending");
	w->npending = 0;
	for (i = 0; i < n && w->npending < w->nids; i++) {
		if (msg_in_array_int(reply, "pending", i, &id) == 0)
			w->pending[w->npending++] = id;
	}
}

/* Whether the condition of return_when holds. */
static int
ctl_wait_held(struct ctl_wait *w)
{
	switch (w->return_when) {
	case MSG_FIRST_COMPLETED:
		return (w->npending < w->nids);
	case MSG_FIRST_EXCEPTION:
		return (w->bad || w->npending == 0);
	}
	return (w->npending == 0);
}

static void
ctl_wait_progress(struct ctl_wait *w, int done)
{
	if (!w->progress)
		return;
	if (done) {
		if (w->width > 0)
			fprintf(stderr, "\r%*s\r", w->width, "");
		return;
	}
	w->width = fprintf(stderr, "\r%zu/%zu done", w->nids - w->npending,
	    w->nids) - 1;
}

/*
 * Wait until the condition holds or the deadline passes. Each round asks
 * about the pending ids only: with a progress line, to return at every job
 * that ends. When the last round was not the whole question, a final ask
 * with no timeout gets the reply to print, with all ids in order.
 */
static int
ctl_wait_run(struct ctl *ctl, struct ctl_wait *w, struct ctl_reply *rep)
{
	int	 rw, r, whole;

	ctl_wait_progress(w, 0);
	for (;;) {
		rw = w->progress ? MSG_FIRST_COMPLETED : w->return_when;
		whole = w->npending == w->nids && rw == w->return_when;
		r = ctl_wait_ask(ctl, w->pending, w->npending, rw,
		    ctl_wait_remaining(w), rep);
		if (r != 0)
			break;
		ctl_wait_update(w, rep->in);
		ctl_wait_progress(w, 0);
		if (ctl_wait_held(w) || ctl_wait_remaining(w) == 0)
			break;
		ctl_reply_free(rep);
	}
	ctl_wait_progress(w, 1);
	if (r != 0 || whole)
		return (r);
	ctl_reply_free(rep);
	r = ctl_wait_ask(ctl, w->ids, w->nids, w->return_when, 0, rep);
	if (r == 0)
		ctl_wait_update(w, rep->in);
	return (r);
}

static void
ctl_wait_init(struct ctl_wait *w, int64_t *ids, size_t n, int rw,
    int64_t timeout_ms)
{
	memset(w, 0, sizeof *w);
	w->ids = ids;
	w->nids = n;
	w->pending = xcalloc(n, sizeof *w->pending);
	memcpy(w->pending, ids, n * sizeof *ids);
	w->npending = n;
	w->return_when = rw;
	w->deadline = timeout_ms < 0 ? -1 : ctl_now() + timeout_ms;
	w->progress = n > 1 && isatty(STDERR_FILENO);
}

/* The exit code of a finished wait. */
static int
ctl_wait_exit(struct ctl_wait *w)
{
	return (w->bad || !ctl_wait_held(w) ? CTL_EXIT_JOB : CTL_EXIT_OK);
}

/* The options of wait; rw and timeout_ms are set from them. */
static int
ctl_wait_opts(struct ctl *ctl, int argc, char **argv, int *rw,
    int64_t *timeout_ms)
{
	static const struct option	 opts[] = {
		{ "any", no_argument, NULL, 'a' },
		{ "first-exception", no_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch, nrw = 0;

	*rw = MSG_ALL_COMPLETED;
	*timeout_ms = -1;
	while ((ch = ctl_getopt(ctl, argc, argv, ":", opts)) != -1) {
		if (ch == 'a' || ch == 'e') {
			*rw = ch == 'a' ? MSG_FIRST_COMPLETED :
			    MSG_FIRST_EXCEPTION;
			nrw++;
		} else if (ch != 't' ||
		    ctl_duration(ctl, "--timeout", optarg, timeout_ms) != 0)
			return (CTL_EXIT_USAGE);
	}
	if (nrw > 1)
		return (ctl_usage_error(ctl, "--any and --first-exception "
		    "exclude each other"));
	return (ctl_nargs(ctl, argc - optind));
}

static int
ctl_wait(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_wait		 w;
	struct ctl_reply	 rep;
	int64_t			*ids, timeout_ms;
	size_t			 n;
	int			 rw, r;

	if ((r = ctl_wait_opts(ctl, argc, argv, &rw, &timeout_ms)) != 0)
		return (r);
	if (ctl_ids(ctl, argc - optind, argv + optind, &ids, &n) != 0)
		return (CTL_EXIT_USAGE);
	ctl_wait_init(&w, ids, n, rw, timeout_ms);
	if ((r = ctl_wait_run(ctl, &w, &rep)) == 0) {
		if (!ctl_json(ctl, &rep))
			output_wait(rep.in);
		ctl_reply_free(&rep);
		r = ctl_wait_exit(&w);
	}
	free(w.pending);
	free(ids);
	return (r);
}

/* Cancel one job and print "ID STATE". */
static int
ctl_cancel_one(struct ctl *ctl, int64_t id)
{
	struct ctl_reply	 rep;
	struct msg_out		*o;
	const char		*state = "?";
	int			 r;

	o = ctl_op("cancel");
	msg_out_int(o, "id", id);
	if ((r = ctl_call_out(ctl, o, CLIENT_TIMEOUT_MS, &rep)) != 0)
		return (r);
	if (!ctl_json(ctl, &rep)) {
		msg_in_string(msg_in_object(rep.in, "job"), "state", &state,
		    NULL);
		printf("%lld %s\n", (long long)id, state);
	}
	ctl_reply_free(&rep);
	return (0);
}

static int
ctl_cancel(struct ctl *ctl, int argc, char **argv)
{
	int64_t	*ids;
	size_t	 i, n;
	int	 r, failed = 0;

	if ((r = ctl_noopts(ctl, argc, argv, ":")) != 0)
		return (r);
	if (ctl_ids(ctl, argc - optind, argv + optind, &ids, &n) != 0)
		return (CTL_EXIT_USAGE);
	for (i = 0; i < n; i++) {
		if ((r = ctl_cancel_one(ctl, ids[i])) == CTL_EXIT_ERROR)
			failed = 1;
		else if (r != 0)
			break;
	}
	free(ids);
	if (r != 0 && r != CTL_EXIT_ERROR)
		return (r);
	return (failed ? CTL_EXIT_ERROR : CTL_EXIT_OK);
}

static int
ctl_stats(struct ctl *ctl, int argc, char **argv)
{
	int	 r;

	if ((r = ctl_noopts(ctl, argc, argv, ":")) != 0)
		return (r);
	return (ctl_simple(ctl, ctl_op("stats"), output_stats));
}

static int
ctl_queue_limit(struct ctl *ctl, struct msg_out *o, const char *s)
{
	int64_t	 limit;

	if (ctl_int(ctl, "limit", s, 0, MSG_INT_MAX, &limit) != 0)
		return (CTL_EXIT_USAGE);
	msg_out_int(o, "limit", limit);
	return (0);
}

static int
ctl_queue_rate(struct ctl *ctl, struct msg_out *o, const char *s)
{
	char	*end;
	double	 rate;

	errno = 0;
	rate = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(rate) ||
	    rate < 0)
		return (ctl_usage_error(ctl, "invalid rate '%s': must be a "
		    "number of jobs per second, 0 or more", s));
	msg_out_double(o, "rate", rate);
	return (0);
}

static const struct ctl_action *
ctl_action_find(const char *word)
{
	size_t	 i;

	for (i = 0; i < CTL_NACTIONS; i++) {
		if (strcmp(word, ctl_actions[i].word) == 0)
			return (&ctl_actions[i]);
	}
	return (NULL);
}

static int
ctl_queue(struct ctl *ctl, int argc, char **argv)
{
	const struct ctl_action	*act;
	struct msg_out		*o;
	int			 r, n;

	if ((r = ctl_noopts(ctl, argc, argv, "+:")) != 0)
		return (r);
	argv += optind;
	n = argc - optind;
	if ((act = ctl_action_find(argv[1])) == NULL)
		return (ctl_usage_error(ctl, "unknown queue action '%s'",
		    argv[1]));
	if (n != (act->value != NULL ? 3 : 2))
		return (ctl_usage_error(ctl, "'%s' takes %s", act->word,
		    act->value != NULL ? "a value" : "no value"));
	o = ctl_op("queue");
	msg_out_string(o, "name", argv[0]);
	msg_out_string(o, "action", act->action);
	if (act->value != NULL && (r = act->value(ctl, o, argv[2])) != 0) {
		free(msg_out_finish(o, 0));
		return (r);
	}
	return (ctl_simple(ctl, o, output_queue));
}

static void
ctl_print_shutdown(struct msg_in *reply)
{
	printf("aiojobsd is shutting down\n");
}

static int
ctl_shutdown(struct ctl *ctl, int argc, char **argv)
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
		    ctl_duration(ctl, "--timeout", optarg, &timeout_ms) != 0)
			return (CTL_EXIT_USAGE);
	}
	if ((r = ctl_nargs(ctl, argc - optind)) != 0)
		return (r);
	o = ctl_op("shutdown");
	if (timeout_ms >= 0)
		msg_out_int(o, "timeout_ms", timeout_ms);
	return (ctl_simple(ctl, o, ctl_print_shutdown));
}

/* Print every event waiting on the socket. */
static int
ctl_watch_drain(struct ctl *ctl, struct watch *w)
{
	char	*msg, *cause;
	size_t	 len;
	int	 r;

	while ((r = watch_recv(w, &msg, &len, &cause)) == 1) {
		if (ctl->json) {
			fwrite(msg, 1, len, stdout);
			putchar('\n');
		} else
			output_event(msg, len);
		fflush(stdout);
		free(msg);
	}
	if (r == 0)
		return (0);
	ctl_warnx("events: %s", cause);
	free(cause);
	return (CTL_EXIT_UNREACHABLE);
}

/* Print events until SIGINT or SIGTERM arrives on sfd. */
static int
ctl_watch_loop(struct ctl *ctl, struct watch *w, int sfd)
{
	struct pollfd	 pfd[2];
	int		 r;

	pfd[0].fd = watch_fd(w);
	pfd[0].events = POLLIN;
	pfd[1].fd = sfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			ctl_warnx("poll: %s", strerror(errno));
			return (CTL_EXIT_UNREACHABLE);
		}
		if (pfd[1].revents != 0)
			return (CTL_EXIT_OK);
		if (pfd[0].revents != 0 && (r = ctl_watch_drain(ctl, w)) != 0)
			return (r);
	}
}

/* A signalfd for SIGINT and SIGTERM, blocked for every thread to come. */
static int
ctl_watch_signals(void)
{
	sigset_t	 set;
	int		 sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) == -1)
		ctl_warnx("signalfd: %s", strerror(errno));
	return (sfd);
}

static int
ctl_watch(struct ctl *ctl, int argc, char **argv)
{
	struct watch	*w;
	const char	*path;
	char		*url, *cause = NULL;
	int		 r, sfd;

	if ((r = ctl_noopts(ctl, argc, argv, ":")) != 0)
		return (r);
	/* Before nanomsg starts its threads, so that they inherit the mask. */
	if ((sfd = ctl_watch_signals()) == -1)
		return (CTL_EXIT_UNREACHABLE);
	url = ctl->events_url != NULL ? xstrdup(ctl->events_url) :
	    endpoint_events_url(ctl->rundir);
	w = watch_open(url, (const char *const *)argv + optind,
	    (size_t)(argc - optind), &cause);
	if (w == NULL)
		r = ctl_bad_url(url, cause);
	else {
		path = endpoint_ipc_path(url);
		if (path != NULL && access(path, F_OK) == -1)
			ctl_warnx("nothing listens at %s yet; waiting for "
			    "aiojobsd", url);
		r = ctl_watch_loop(ctl, w, sfd);
	}
	watch_close(w);
	close(sfd);
	free(cause);
	free(url);
	return (r);
}

/* The state of submit: its options, then the specs to send. */
struct ctl_submit {
	const char	*values[CTL_NSPECOPTS];
	int		 nvalues;
	const char	*file;
	int		 wait;
	int		 group;
	struct msg_spec	*specs;
	size_t		 nspecs;
	int		 batch;
};

#define CTL_OPT_WAIT	0x100
#define CTL_OPT_GROUP	0x101
#define CTL_OPT_FILE	0x102
#define CTL_OPT_SPEC	0x200	/* plus the index in ctl_specopts */

static void
ctl_submit_clear(struct ctl_submit *s)
{
	size_t	 i;

	for (i = 0; i < s->nspecs; i++)
		msg_spec_clear(&s->specs[i]);
	free(s->specs);
}

static int
ctl_kind_sleep(struct ctl *ctl, int argc, char **argv, struct msg_out *o)
{
	int64_t	 ms;

	if (ctl_duration(ctl, "sleep", argv[0], &ms) != 0)
		return (CTL_EXIT_USAGE);
	msg_out_int(o, "ms", ms);
	return (0);
}

static int
ctl_spec_string(struct ctl *ctl, struct msg_out *o,
    const struct ctl_specopt *so, const char *s)
{
	msg_out_string(o, so->field, s);
	return (0);
}

static int
ctl_spec_int(struct ctl *ctl, struct msg_out *o,
    const struct ctl_specopt *so, const char *s)
{
	int64_t	 v;

	if (ctl_int(ctl, so->option, s, so->min, MSG_INT_MAX, &v) != 0)
		return (CTL_EXIT_USAGE);
	msg_out_int(o, so->field, v);
	return (0);
}

static int
ctl_spec_duration(struct ctl *ctl, struct msg_out *o,
    const struct ctl_specopt *so, const char *s)
{
	char	 what[64];
	int64_t	 ms;

	snprintf(what, sizeof what, "--%s", so->option);
	if (ctl_duration(ctl, what, s, &ms) != 0)
		return (CTL_EXIT_USAGE);
	msg_out_int(o, so->field, ms);
	return (0);
}

/* The long options of submit: one per spec option, then the others. */
static void
ctl_submit_longopts(struct option *opts)
{
	static const struct option	 fixed[] = {
		{ "wait", no_argument, NULL, CTL_OPT_WAIT },
		{ "group", no_argument, NULL, CTL_OPT_GROUP },
		{ "file", required_argument, NULL, CTL_OPT_FILE },
		{ NULL, 0, NULL, 0 }
	};
	size_t				 i;

	for (i = 0; i < CTL_NSPECOPTS; i++) {
		opts[i].name = ctl_specopts[i].option;
		opts[i].has_arg = required_argument;
		opts[i].flag = NULL;
		opts[i].val = CTL_OPT_SPEC + (int)i;
	}
	memcpy(opts + CTL_NSPECOPTS, fixed, sizeof fixed);
}

/* Options stop at the kind, so that its arguments may look like options. */
static int
ctl_submit_opts(struct ctl *ctl, int argc, char **argv, struct ctl_submit *s)
{
	struct option	 opts[CTL_NSPECOPTS + 4];
	int		 ch;

	ctl_submit_longopts(opts);
	while ((ch = ctl_getopt(ctl, argc, argv, "+:", opts)) != -1) {
		if (ch >= CTL_OPT_SPEC) {
			s->values[ch - CTL_OPT_SPEC] = optarg;
			s->nvalues++;
		} else if (ch == CTL_OPT_WAIT)
			s->wait = 1;
		else if (ch == CTL_OPT_GROUP)
			s->group = 1;
		else if (ch == CTL_OPT_FILE)
			s->file = optarg;
		else
			return (CTL_EXIT_USAGE);
	}
	if (s->file != NULL && s->nvalues > 0)
		return (ctl_usage_error(ctl, "--file takes the job options "
		    "from the file; only --wait and --group go with it"));
	if (s->file == NULL && s->group)
		return (ctl_usage_error(ctl, "--group needs --file"));
	return (0);
}

static const struct ctl_kind *
ctl_kind_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < CTL_NKINDS; i++) {
		if (strcmp(name, ctl_kinds[i].name) == 0)
			return (&ctl_kinds[i]);
	}
	return (NULL);
}

/* The spec of the command line form as JSON text, or NULL. */
static char *
ctl_submit_text(struct ctl *ctl, struct ctl_submit *s,
    const struct ctl_kind *kind, int argc, char **argv)
{
	struct msg_out	*o, *args;
	char		*text;
	size_t		 i;
	int		 r;

	args = msg_out_new();
	r = kind->build(ctl, argc, argv, args);
	text = msg_out_finish(args, 0);
	o = msg_out_new();
	msg_out_string(o, "kind", kind->name);
	msg_out_raw(o, "args", text);
	free(text);
	for (i = 0; r == 0 && i < CTL_NSPECOPTS; i++) {
		if (s->values[i] != NULL)
			r = ctl_specopts[i].add(ctl, o, &ctl_specopts[i],
			    s->values[i]);
	}
	text = msg_out_finish(o, 0);
	if (r == 0)
		return (text);
	free(text);
	return (NULL);
}

/* submit KIND ARGS...: the spec checked as the daemon would. */
static int
ctl_submit_cli(struct ctl *ctl, struct ctl_submit *s, int argc, char **argv)
{
	const struct ctl_kind	*kind;
	struct msg_error	 err;
	char			*text;
	int			 r;

	if (argc == 0)
		return (ctl_usage_error(ctl, "no job kind given"));
	if ((kind = ctl_kind_find(argv[0])) == NULL)
		return (ctl_usage_error(ctl, "'%s' has no command line form "
		    "(use --file)", argv[0]));
	if (argc - 1 < kind->min || argc - 1 > kind->max)
		return (ctl_usage_error(ctl, "wrong number of arguments for "
		    "%s", kind->name));
	if ((text = ctl_submit_text(ctl, s, kind, argc - 1, argv + 1)) == NULL)
		return (CTL_EXIT_USAGE);
	s->specs = xcalloc(1, sizeof *s->specs);
	if ((r = msg_spec_parse(text, s->specs, &err)) == 0)
		s->nspecs = 1;
	free(text);
	if (r != 0)
		return (ctl_usage_error(ctl, "%s", err.message));
	return (0);
}

/* Read all of a file, or standard input for "-". */
static int
ctl_read_file(const char *path, char **buf, size_t *len)
{
	FILE	*f = stdin;
	size_t	 n, alloc = CTL_FILE_CHUNK;
	int	 error;

	if (strcmp(path, "-") != 0 && (f = fopen(path, "r")) == NULL) {
		ctl_warnx("%s: %s", path, strerror(errno));
		return (CTL_EXIT_USAGE);
	}
	*buf = xmalloc(alloc);
	*len = 0;
	while ((n = fread(*buf + *len, 1, alloc - *len - 1, f)) > 0) {
		if ((*len += n) > CLIENT_MAX_SEND)
			break;
		if (alloc - *len - 1 == 0) {
			alloc *= 2;
			*buf = xreallocarray(*buf, alloc, 1);
		}
	}
	(*buf)[*len] = '\0';
	error = ferror(f);
	if (f != stdin)
		fclose(f);
	if (error)
		ctl_warnx("%s: read error", path);
	else if (*len > CLIENT_MAX_SEND)
		ctl_warnx("%s: larger than %d bytes", path, CLIENT_MAX_SEND);
	else
		return (0);
	free(*buf);
	return (CTL_EXIT_USAGE);
}

/* A file's JSON: one spec object, or an array read as {"jobs": [...]}. */
static struct msg_in *
ctl_file_parse(const char *path, const char *buf, size_t len, int *batch)
{
	struct msg_error	 err;
	struct msg_in		*in;
	struct msg_out		*o;
	char			*text;

	*batch = buf[strspn(buf, " \t\r\n")] == '[';
	if (memchr(buf, '\0', len) != NULL) {
		ctl_warnx("%s: not JSON: contains NUL bytes", path);
		return (NULL);
	}
	if (!*batch) {
		if ((in = msg_in_parse(buf, len, &err)) == NULL)
			ctl_warnx("%s: %s", path, err.message);
		return (in);
	}
	o = msg_out_new();
	if (msg_out_raw(o, "jobs", buf) != 0) {
		free(msg_out_finish(o, 0));
		ctl_warnx("%s: not JSON: syntax error", path);
		return (NULL);
	}
	text = msg_out_finish(o, 0);
	in = msg_in_parse(text, strlen(text), &err);
	free(text);
	return (in);
}

/* Decode the specs of a file, naming the index of a bad one. */
static int
ctl_file_decode(const char *path, struct msg_in *in, struct ctl_submit *s)
{
	struct msg_error	 err;
	struct msg_in		*e;
	size_t			 n;

	if (!s->batch) {
		s->specs = xcalloc(1, sizeof *s->specs);
		if (msg_spec_decode(in, s->specs, &err) != 0) {
			ctl_warnx("%s: %s", path, err.message);
			return (CTL_EXIT_USAGE);
		}
		s->nspecs = 1;
		return (0);
	}
	if ((n = msg_in_array_len(in, "jobs")) == 0) {
		ctl_warnx("%s: the array holds no job specs", path);
		return (CTL_EXIT_USAGE);
	}
	s->specs = xcalloc(n, sizeof *s->specs);
	e = msg_in_array_at(in, "jobs", 0);
	for (; e != NULL; e = msg_in_next(e)) {
		if (msg_spec_decode(e, &s->specs[s->nspecs], &err) != 0) {
			ctl_warnx("%s: job %zu: %s", path, s->nspecs,
			    err.message);
			return (CTL_EXIT_USAGE);
		}
		s->nspecs++;
	}
	return (0);
}

/* submit --file FILE: the specs in the file, each checked. */
static int
ctl_submit_file(struct ctl *ctl, struct ctl_submit *s, int nargs)
{
	struct msg_in	*in;
	char		*buf;
	size_t		 len;
	int		 r;

	if (nargs != 0)
		return (ctl_usage_error(ctl, "--file takes no job kind or "
		    "arguments"));
	if ((r = ctl_read_file(s->file, &buf, &len)) != 0)
		return (r);
	in = ctl_file_parse(s->file, buf, len, &s->batch);
	free(buf);
	if (in == NULL)
		return (CTL_EXIT_USAGE);
	r = ctl_file_decode(s->file, in, s);
	msg_in_free(in);
	if (s->group)
		s->batch = 1;
	return (r);
}

/* The ids of a submit reply, printed one a line unless --json. */
static void
ctl_submit_ids(struct ctl *ctl, struct ctl_reply *rep, int batch,
    int64_t **ids, size_t *n)
{
	size_t	 i, k = 0;

	*n = batch ? msg_in_array_len(rep->in, "ids") : 1;
	*ids = xcalloc(*n, sizeof **ids);
	for (i = 0; i < *n; i++) {
		if (batch ?
		    msg_in_array_int(rep->in, "ids", i, &(*ids)[k]) == 0 :
		    msg_in_int(rep->in, "id", &(*ids)[k], NULL) == 1)
			k++;
	}
	*n = k;
	if (ctl_json(ctl, rep))
		return;
	for (i = 0; i < k; i++)
		printf("%lld\n", (long long)(*ids)[i]);
	fflush(stdout);
}

/* submit --wait: wait for all, print one job as status does. */
static int
ctl_submit_wait(struct ctl *ctl, int64_t *ids, size_t n)
{
	struct ctl_wait		 w;
	struct ctl_reply	 rep;
	struct msg_in		*job;
	int			 r;

	ctl_wait_init(&w, ids, n, MSG_ALL_COMPLETED, -1);
	if ((r = ctl_wait_run(ctl, &w, &rep)) == 0) {
		job = msg_in_array_at(rep.in, "done", 0);
		if (!ctl_json(ctl, &rep)) {
			if (n == 1 && job != NULL)
				output_view(job);
			else
				output_wait(rep.in);
		}
		ctl_reply_free(&rep);
		r = ctl_wait_exit(&w);
	}
	free(w.pending);
	return (r);
}

static int
ctl_submit_send(struct ctl *ctl, struct ctl_submit *s)
{
	struct ctl_reply	 rep;
	char			*req;
	int64_t			*ids;
	size_t			 n;
	int			 r;

	req = client_submit_request(s->specs, s->nspecs, s->batch, s->group);
	r = ctl_call(ctl, req, CLIENT_TIMEOUT_MS, &rep);
	free(req);
	if (r != 0)
		return (r);
	ctl_submit_ids(ctl, &rep, s->batch, &ids, &n);
	ctl_reply_free(&rep);
	if (s->wait && n > 0)
		r = ctl_submit_wait(ctl, ids, n);
	free(ids);
	return (r);
}

static int
ctl_submit(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_submit	 s;
	int			 r;

	memset(&s, 0, sizeof s);
	if ((r = ctl_submit_opts(ctl, argc, argv, &s)) == 0) {
		if (s.file != NULL)
			r = ctl_submit_file(ctl, &s, argc - optind);
		else
			r = ctl_submit_cli(ctl, &s, argc - optind,
			    argv + optind);
	}
	if (r == 0)
		r = ctl_submit_send(ctl, &s);
	ctl_submit_clear(&s);
	return (r);
}

static const struct ctl_cmd *
ctl_cmd_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < CTL_NCMDS; i++) {
		if (strcmp(name, ctl_cmds[i].name) == 0)
			return (&ctl_cmds[i]);
	}
	return (NULL);
}

/* Whether --help or -h comes before any "--". */
static int
ctl_wants_help(int argc, char **argv)
{
	int	 i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return (1);
	}
	return (0);
}

/* The options before the subcommand: -1 to go on, else an exit code. */
static int
ctl_global_opts(struct ctl *ctl, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "events-url", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch;

	while ((ch = ctl_getopt(ctl, argc, argv, "+:h", opts)) != -1) {
		if (ch == 'u')
			ctl->url = optarg;
		else if (ch == 'e')
			ctl->events_url = optarg;
		else if (ch == 'j')
			ctl->json = 1;
		else if (ch == 'h') {
			ctl_usage(stdout);
			return (CTL_EXIT_OK);
		} else if (ch == 'V') {
			printf("aiojobctl %s\n", AIOJOBS_VERSION);
			return (CTL_EXIT_OK);
		} else
			return (CTL_EXIT_USAGE);
	}
	return (-1);
}

/* Find and run the subcommand at argv[0]. */
static int
ctl_run(struct ctl *ctl, int argc, char **argv)
{
	if (argc == 0) {
		ctl_usage(stderr);
		return (CTL_EXIT_USAGE);
	}
	if ((ctl->cmd = ctl_cmd_find(argv[0])) == NULL)
		return (ctl_usage_error(ctl, "unknown subcommand '%s'",
		    argv[0]));
	if (ctl_wants_help(argc, argv)) {
		ctl_cmd_usage(ctl->cmd);
		return (CTL_EXIT_OK);
	}
	ctl->rundir = endpoint_rundir();
	optind = 0;	/* glibc: start afresh, with this optstring's mode */
	return (ctl->cmd->fn(ctl, argc, argv));
}

int
main(int argc, char **argv)
{
	struct ctl	 ctl;
	int		 r;

	memset(&ctl, 0, sizeof ctl);
	if ((r = ctl_global_opts(&ctl, argc, argv)) != -1)
		return (r);
	r = ctl_run(&ctl, argc - optind, argv + optind);
	client_close(ctl.client);
	free(ctl.control);
	free(ctl.rundir);
	return (r);
}
