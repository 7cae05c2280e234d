/*
 * aiojobctl: the command line front of aiojobsd. A table of subcommands,
 * each in a cmd_*.c file parsing its own options and sending requests
 * through request.c; replies are printed by output*.c, or raw with --json.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aiojobctl.h"
#include "aiojobs_private.h"
#include "xmalloc.h"

static const struct ctl_cmd ctl_cmds[] = {
	{ "ping", "",
	  "Check that aiojobsd answers; print its version, pid and uptime.\n",
	  0, 0, cmd_ping },
	{ "submit", "[options] KIND ARGS... | [--wait] [--group] --file FILE|-",
	  "Submit a job and print its id.\n"
	  "\n"
	  "kinds:\n"
	  "  sleep DURATION    a timer on the daemon's event loop\n"
	  "  exec [exec options] [--] COMMAND [ARG...]\n"
	  "                    COMMAND run by the daemon, without a shell; its\n"
	  "                    arguments are passed on as they are\n"
	  "  cpu FN [--input JSON]\n"
	  "                    the function FN run in a worker process of the\n"
	  "                    daemon's pool: a built-in (sha256, primes, spin)\n"
	  "                    or PLUGIN.FN from the daemon's plugin directory\n"
	  "  http URL [http options]\n"
	  "                    an HTTP(S) request made by the daemon; the\n"
	  "                    result holds the status, headers and body\n"
	  "\n"
	  "cpu options (after cpu):\n"
	  "  --input JSON      the function's input, any JSON text, e.g.\n"
	  "                    '{\"data\":\"abc\"}' (default: none, null)\n"
	  "\n"
	  "exec options (after exec; '--' ends them):\n"
	  "  --env NAME=VALUE  set a variable in the command's environment\n"
	  "                    (may be repeated)\n"
	  "  --clear-env       start from an empty environment, not the\n"
	  "                    daemon's\n"
	  "  --cwd DIR         run in DIR (a relative DIR is taken from the\n"
	  "                    current directory; default: the current\n"
	  "                    directory, as if the command ran here)\n"
	  "  --stdin-file F    the command's standard input: the bytes of F, at\n"
	  "                    most 900 KiB of text or 675 KiB of other bytes\n"
	  "                    ('-' reads standard input; default: /dev/null)\n"
	  "  --max-output N    keep at most N bytes of each output stream\n"
	  "                    (default 1 MiB); aiojobctl logs ID prints them\n"
	  "\n"
	  "http options (after http, before or after URL):\n"
	  "  --method M        the request method (default GET, or POST with a\n"
	  "                    body)\n"
	  "  --header 'Name: value'\n"
	  "                    send this header (may be repeated; a later one\n"
	  "                    of the same name replaces an earlier one)\n"
	  "  --data BODY       send BODY, UTF-8 text of at most 900 KiB\n"
	  "  --data-file F     send the UTF-8 text of F ('-' reads standard\n"
	  "                    input); not with --data\n"
	  "  --max-body N      keep at most N bytes of the response body\n"
	  "                    (default 1 MiB); the rest is counted\n"
	  "  --follow N        follow up to N redirects (default 0)\n"
	  "  --no-fail-on-status\n"
	  "                    a status >= 400 is a success, not a failure\n"
	  "\n"
	  "options (before KIND):\n"
	  "  --queue Q         the queue (default: default)\n"
	  "  --priority N      higher starts first within a queue (default 0)\n"
	  "  --delay D         do not start before D has passed\n"
	  "  --timeout T       stop the job and fail it after T\n"
	  "  --name S          a label for people\n"
	  "  --key K           idempotency key (default: a random one)\n"
	  "  --retries N       extra attempts after a failure\n"
	  "  --backoff D       wait before retry k is D * 2^(k-1) (default 1s)\n"
	  "  --after ID,ID     start only after these jobs succeeded; fail\n"
	  "                    (dependency_failed) if one fails\n"
	  "  --lock NAME       at most one running job holds NAME\n"
	  "  --shield          a graceful shutdown does not cancel the job\n"
	  "  --wait            wait for the job, print its final status (a cpu\n"
	  "                    function's output as its result); exit 1 if it\n"
	  "                    failed or was cancelled. With exec, behave\n"
	  "                    like the command: print no id, write its output\n"
	  "                    to standard output and standard error, and exit\n"
	  "                    with its exit status (128+N if killed by signal\n"
	  "                    N, 127 if it could not run, 1 if it timed out or\n"
	  "                    was cancelled)\n"
	  "  --file FILE       submit the JSON spec, or array of specs, or\n"
	  "                    {\"jobs\": [...], \"group\": true}, in FILE\n"
	  "                    ('-' reads standard input); one id per line;\n"
	  "                    over 10,000 jobs or 1 MiB it goes in parts,\n"
	  "                    each all or nothing\n"
	  "  --group           with --file: the array is a task group (the\n"
	  "                    first member to fail cancels the others; never\n"
	  "                    split)\n"
	  "  --durable-wait D  while aiojobsd cannot write its job store, resend\n"
	  "                    the submit (same keys: the same jobs) for up to\n"
	  "                    D (default 30s); then print the ids, name the\n"
	  "                    jobs not confirmed on disk and exit 5\n"
	  "\n"
	  "Durations are like 250ms, 2s, 1m, 1h; a bare number is seconds.\n",
	  0, -1, cmd_submit },
	{ "status", "ID",
	  "Print a job: its state, times, error and result.\n",
	  1, 1, cmd_status },
	{ "logs", "[--stdout | --stderr] ID",
	  "Print the output an exec job captured: its stdout on standard\n"
	  "output and its stderr on standard error, byte for byte (an http\n"
	  "job's body on standard output). The daemon keeps the output when\n"
	  "the job ends: a job still queued or running has none yet (exit 1).\n"
	  "\n"
	  "  --stdout          only the job's standard output\n"
	  "  --stderr          only the job's standard error\n",
	  1, 1, cmd_logs },
	{ "list", "[--state S] [--queue Q] [--owner USER] [--limit N] "
	  "[--before ID]",
	  "List jobs, newest first: your own, or every user's for root and\n"
	  "admins (then an OWNER column says whose).\n"
	  "\n"
	  "  --state S         only jobs in state S (queued, running, succeeded,\n"
	  "                    failed, cancelled)\n"
	  "  --queue Q         only jobs of queue Q\n"
	  "  --owner USER      only jobs of USER (a name or uid; root and\n"
	  "                    admins)\n"
	  "  --limit N         at most N jobs (default 100, at most 10000)\n"
	  "  --before ID       only jobs older than job ID\n",
	  0, 0, cmd_list },
	{ "wait", "[--any | --first-exception] [--timeout T] ID...",
	  "Wait for jobs to end, as asyncio.wait does, and print them.\n"
	  "\n"
	  "  --any             return when any job has ended\n"
	  "  --first-exception return when any job fails or is cancelled\n"
	  "  --timeout T       give up after T (default: wait forever)\n"
	  "\n"
	  "Exit 1 if a job failed or was cancelled, or jobs are still pending.\n",
	  1, -1, cmd_wait },
	{ "cancel", "ID...",
	  "Cancel jobs; print each job's id and state.\n",
	  1, -1, cmd_cancel },
	{ "stats", "",
	  "Print job counts, queues, workers and uptime.\n",
	  0, 0, cmd_stats },
	{ "queue", "NAME pause|resume|limit N|rate X",
	  "Pause or resume a queue, or set its limit of running jobs (0 for\n"
	  "none) or its rate of job starts per second (0 for none).\n",
	  2, 3, cmd_queue },
	{ "watch", "[PREFIX...]",
	  "Print job events as they happen, those whose topic starts with a\n"
	  "PREFIX (job.failed, job.): all by default. Stop with ^C.\n",
	  0, -1, cmd_watch },
	{ "clean", "[--older-than D] [--state S]",
	  "Delete finished jobs from the daemon's store now (it also removes\n"
	  "them after its --retention); print how many were removed.\n"
	  "\n"
	  "  --older-than D    only jobs that finished more than D ago\n"
	  "                    (default: any age)\n"
	  "  --state S         only jobs in state S (succeeded, failed,\n"
	  "                    cancelled; default: all three)\n",
	  0, 0, cmd_clean },
	{ "shutdown", "[--timeout T]",
	  "Stop aiojobsd gracefully: running jobs get T to end, then those\n"
	  "that are not shielded are cancelled.\n"
	  "\n"
	  "  --timeout T       how long running jobs get to end (default 10s)\n",
	  0, 0, cmd_shutdown },
	{ "reload", "",
	  "Have aiojobsd read its configuration file again, as SIGHUP does;\n"
	  "a file that does not load leaves the configuration as it was\n"
	  "(exit 4, with the reason).\n",
	  0, 0, cmd_reload },
};
#define CTL_NCMDS	(sizeof ctl_cmds / sizeof ctl_cmds[0])

/* A message on stderr, after the program's name. */
void
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
int
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

/* The usage of aiojobctl as a whole. */
static void
ctl_usage(FILE *f)
{
	size_t	 i;

	fprintf(f, "usage: aiojobctl [--url URL] [--events-url URL] "
	    "[--token-file FILE] [--json]\n"
	    "                 [--tls-ca-file FILE] [--tls-server-name NAME]\n"
	    "                 [--tls-cert-file FILE --tls-key-file FILE]\n"
	    "                 SUBCOMMAND [ARGS...]\n"
	    "       aiojobctl --help | --version\n\nsubcommands:\n");
	for (i = 0; i < CTL_NCMDS; i++)
		fprintf(f, "  %s%s%s\n", ctl_cmds[i].name,
		    *ctl_cmds[i].args == '\0' ? "" : " ", ctl_cmds[i].args);
	fprintf(f, "\n"
	    "  --url URL         control endpoint (default: $AIOJOBS_URL, else\n"
	    "                    ipc://RUNDIR/aiojobsd.sock)\n"
	    "  --events-url URL  event endpoint for watch ($AIOJOBS_EVENTS_URL)\n"
	    "  --token-file FILE send the token in FILE in each request, for\n"
	    "                    endpoints that need one (default:\n"
	    "                    $AIOJOBS_TOKEN, else the file in\n"
	    "                    $AIOJOBS_TOKEN_FILE)\n"
	    "  --token TOKEN     send TOKEN itself; others see command lines\n"
	    "                    (ps): prefer --token-file or the environment\n"
	    "  --tls-ca-file FILE for a tls+tcp:// URL: trust the daemon's\n"
	    "                    certificate if this CA signed it\n"
	    "                    ($AIOJOBS_TLS_CA_FILE)\n"
	    "  --tls-server-name NAME  the name the daemon's certificate must\n"
	    "                    carry (default: the URL's host;\n"
	    "                    $AIOJOBS_TLS_SERVER_NAME)\n"
	    "  --tls-cert-file FILE  a client certificate, for endpoints that\n"
	    "                    ask for one ($AIOJOBS_TLS_CERT_FILE)\n"
	    "  --tls-key-file FILE  its private key ($AIOJOBS_TLS_KEY_FILE)\n"
	    "  --json            print the daemon's replies as JSON, one a line\n"
	    "\n"
	    "Each subcommand takes --help. Exit status: 0 success, 1 a job\n"
	    "failed or was cancelled or a wait timed out, 2 usage error,\n"
	    "3 aiojobsd unreachable, 4 aiojobsd replied with an error;\n"
	    "submit --wait exec exits with the command's status.\n");
}

/* The usage of one subcommand, for its --help. */
static void
ctl_cmd_usage(const struct ctl_cmd *cmd)
{
	printf("usage: aiojobctl %s%s%s\n\n%s", cmd->name,
	    *cmd->args == '\0' ? "" : " ", cmd->args, cmd->help);
}

/*
 * The name of the long option that getopt_long matched when it failed
 * (optopt is its val), as the table spells it: "--stat" typed for --state
 * is --state, "--wait=x" is --wait. NULL if none.
 */
static const char *
ctl_getopt_name(const struct option *longopts)
{
	const struct option	*o;

	for (o = longopts; optopt != 0 && o->name != NULL; o++) {
		if (o->flag == NULL && o->val == optopt)
			return (o->name);
	}
	return (NULL);
}

/* getopt_long with our own messages: '?' when a usage error was printed. */
int
ctl_getopt(struct ctl *ctl, int argc, char **argv, const char *optstring,
    const struct option *longopts)
{
	const char	*arg, *name;
	int		 ch;

	opterr = 0;
	ch = getopt_long(argc, argv, optstring, longopts, NULL);
	if (ch != '?' && ch != ':')
		return (ch);
	arg = argv[optind - 1];
	name = NULL;
	if (strncmp(arg, "--", 2) == 0)
		name = ctl_getopt_name(longopts);
	if (ch == ':' && name != NULL)
		ctl_usage_error(ctl, "option '--%s' needs a value", name);
	else if (ch == ':')
		ctl_usage_error(ctl, "option '%s' needs a value", arg);
	else if (strncmp(arg, "--", 2) != 0)
		ctl_usage_error(ctl, "unknown option '-%c'", optopt);
	else if (name != NULL)
		ctl_usage_error(ctl, "option '--%s' takes no value", name);
	else
		ctl_usage_error(ctl, "unknown option '%s'", arg);
	return ('?');
}

/* Check the number of arguments left against the subcommand's table. */
int
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
int
ctl_noopts(struct ctl *ctl, int argc, char **argv, const char *optstring)
{
	static const struct option	 none[] = { { NULL, 0, NULL, 0 } };

	if (ctl_getopt(ctl, argc, argv, optstring, none) != -1)
		return (CTL_EXIT_USAGE);
	return (ctl_nargs(ctl, argc - optind));
}

/* The subcommand of that name, or NULL. */
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
		{ "token", required_argument, NULL, 't' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "tls-ca-file", required_argument, NULL, 'C' },
		{ "tls-server-name", required_argument, NULL, 'N' },
		{ "tls-cert-file", required_argument, NULL, 'E' },
		{ "tls-key-file", required_argument, NULL, 'K' },
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
		else if (ch == 't')
			ctl->token = optarg;
		else if (ch == 'T')
			ctl->token_file = optarg;
		else if (ch == 'C')
			ctl->tls.ca_file = optarg;
		else if (ch == 'N')
			ctl->tls.server_name = optarg;
		else if (ch == 'E')
			ctl->tls.cert_file = optarg;
		else if (ch == 'K')
			ctl->tls.key_file = optarg;
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
	ctl->rundir = aiojobs_rundir();
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
	aiojobs_close(ctl.client);
	free(ctl.control);
	free(ctl.rundir);
	return (r);
}
