/* aiojobsd: command line, defaults, then the server. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aiojobsd.h"
#include "duration.h"
#include "endpoint.h"
#include "log.h"
#include "xmalloc.h"

static const char usage_text[] =
"usage: aiojobsd [options]\n"
"\n"
"Runs the job daemon in the foreground until SIGTERM, SIGINT or a shutdown\n"
"request. Clients talk to it with aiojobctl or the protocol directly.\n"
"\n"
"  --rundir DIR            run directory for the default ipc endpoints\n"
"                          (default: $AIOJOBS_RUNDIR, /run/aiojobsd for root,\n"
"                          $XDG_RUNTIME_DIR/aiojobsd, /tmp/aiojobsd-UID)\n"
"  --url URL               control endpoint (default: $AIOJOBS_URL,\n"
"                          ipc://RUNDIR/aiojobsd.sock)\n"
"  --events-url URL        event endpoint (default: $AIOJOBS_EVENTS_URL,\n"
"                          ipc://RUNDIR/events.sock)\n"
"  --limit N               running jobs at most, 0 = unlimited (default 100)\n"
"  --pending-limit N       queued jobs at most before submit answers\n"
"                          queue_full, 0 = unlimited (default 1000000)\n"
"  --max-request-bytes N   largest request accepted (default 1048576)\n"
"  --max-hold DURATION     longest a wait is held before it is answered\n"
"                          with pending ids (default 30s)\n"
"  --kill-grace DURATION   SIGTERM to SIGKILL grace for stopped children\n"
"                          (default 5s)\n"
"  --workers N             CPU worker processes (default: online cores)\n"
"  --plugin-dir DIR        where PLUGIN.so files of cpu functions are\n"
"                          (default " AIOJOBS_PLUGIN_DIR ")\n"
"  --worker-memory-limit SIZE\n"
"                          address space of each worker, e.g. 512M, 2G;\n"
"                          0 = no limit (default 4G)\n"
"  --worker-cpu-limit SECONDS\n"
"                          CPU time one cpu job may use in its worker\n"
"                          (SIGXCPU: worker_crashed), 0 = no limit\n"
"                          (default 0)\n"
"  --tls-ca-file FILE      trust these CA certificates for https jobs\n"
"                          (default: the system trust store)\n"
"  --no-tls-verify         do not verify https peers (testing only)\n"
"  --http-connect-timeout DURATION\n"
"                          connect and inactivity timeout of http jobs\n"
"                          (default 30s; the job's timeout_ms bounds the\n"
"                          whole request)\n"
"  --state-dir DIR         where the job store (jobs.db) lives (default:\n"
"                          $AIOJOBS_STATE_DIR, /var/lib/aiojobsd for root,\n"
"                          $XDG_STATE_HOME/aiojobsd, ~/.local/state/aiojobsd)\n"
"  --durability safe|fast  safe: every commit reaches the disk before a\n"
"                          submit is answered (default); fast: survives a\n"
"                          crash of the daemon, maybe not of the machine\n"
"  --retention DURATION    finished jobs older than this are removed\n"
"                          (default 7d; 0 keeps them)\n"
"  --shutdown-timeout DURATION\n"
"                          how long SIGTERM lets running jobs finish\n"
"                          (default 10s)\n"
"  -v, --verbose           log every job state change\n"
"  -q, --quiet             log warnings only\n"
"  --version               print the version and exit\n"
"  -h, --help              print this help and exit\n"
"\n"
"Durations: 250ms, 2s, 1m, 1h (a bare number is seconds).\n";

enum {
	OPT_URL = 256, OPT_EVENTS_URL, OPT_RUNDIR, OPT_LIMIT, OPT_PENDING,
	OPT_MAXREQ, OPT_MAXHOLD, OPT_GRACE, OPT_SHUTDOWN, OPT_VERSION,
	OPT_WORKERS, OPT_PLUGIN_DIR, OPT_WMEM, OPT_WCPU, OPT_CAFILE,
	OPT_NOVERIFY, OPT_HTTP_TIMEOUT, OPT_STATE_DIR, OPT_DURABILITY,
	OPT_RETENTION
};

static const struct option options[] = {
	{ "url", required_argument, NULL, OPT_URL },
	{ "events-url", required_argument, NULL, OPT_EVENTS_URL },
	{ "rundir", required_argument, NULL, OPT_RUNDIR },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "pending-limit", required_argument, NULL, OPT_PENDING },
	{ "max-request-bytes", required_argument, NULL, OPT_MAXREQ },
	{ "max-hold", required_argument, NULL, OPT_MAXHOLD },
	{ "kill-grace", required_argument, NULL, OPT_GRACE },
	{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR },
	{ "worker-memory-limit", required_argument, NULL, OPT_WMEM },
	{ "worker-cpu-limit", required_argument, NULL, OPT_WCPU },
	{ "tls-ca-file", required_argument, NULL, OPT_CAFILE },
	{ "no-tls-verify", no_argument, NULL, OPT_NOVERIFY },
	{ "http-connect-timeout", required_argument, NULL, OPT_HTTP_TIMEOUT },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "durability", required_argument, NULL, OPT_DURABILITY },
	{ "retention", required_argument, NULL, OPT_RETENTION },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static __attribute__((__noreturn__)) void
usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "aiojobsd: %s '%s'\nTry 'aiojobsd --help'.\n", what,
	    arg);
	exit(2);
}

static int64_t
parse_count(const char *s, int64_t min, int64_t max, const char *what)
{
	char		*end;
	long long	 v;

	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < min || v > max)
		usage_error(what, s);
	return (v);
}

static int64_t
parse_duration(const char *s)
{
	int64_t	 ms;
	char	*cause;

	if (duration_parse(s, &ms, &cause) != 0) {
		fprintf(stderr, "aiojobsd: %s\nTry 'aiojobsd --help'.\n",
		    cause);
		exit(2);
	}
	return (ms);
}

/* A size in bytes: 4096, 512K, 64M, 2G. */
static int64_t
parse_size(const char *s, const char *what)
{
	static const char	 units[] = "KMGT";
	const char		*u;
	char			*end;
	long long		 v;
	int64_t			 mult = 1;

	v = strtoll(s, &end, 10);
	if (*end != '\0' && end[1] == '\0' &&
	    (u = strchr(units, *end)) != NULL) {
		mult <<= 10 * (u - units + 1);
		end++;
	}
	if (*s == '\0' || *end != '\0' || v < 0 || v > INT64_MAX / mult)
		usage_error(what, s);
	return (v * mult);
}

static void
parse_args(struct aiojobsd *aj, int argc, char **argv)
{
	int	 ch;

	while ((ch = getopt_long(argc, argv, "vqh", options, NULL)) != -1) {
		switch (ch) {
		case OPT_URL:
			aj->url = xstrdup(optarg);
			break;
		case OPT_EVENTS_URL:
			aj->events_url = xstrdup(optarg);
			break;
		case OPT_RUNDIR:
			aj->rundir = xstrdup(optarg);
			break;
		case OPT_LIMIT:
			aj->limit = parse_count(optarg, 0, INT32_MAX,
			    "--limit wants 0 or more, not");
			break;
		case OPT_PENDING:
			aj->pending_limit = parse_count(optarg, 0, INT64_MAX,
			    "--pending-limit wants 0 or more, not");
			break;
		case OPT_MAXREQ:
			aj->max_request_bytes = parse_count(optarg, 1024,
			    64 * 1024 * 1024, "--max-request-bytes wants "
			    "1024 to 67108864, not");
			break;
		case OPT_MAXHOLD:
			aj->max_hold_ms = parse_duration(optarg);
			break;
		case OPT_GRACE:
			aj->kill_grace_ms = parse_duration(optarg);
			break;
		case OPT_SHUTDOWN:
			aj->shutdown_timeout_ms = parse_duration(optarg);
			break;
		case OPT_WORKERS:
			aj->workers = parse_count(optarg, 0, 1024,
			    "--workers wants 0 to 1024, not");
			break;
		case OPT_PLUGIN_DIR:
			free(aj->plugin_dir);
			aj->plugin_dir = xstrdup(optarg);
			break;
		case OPT_WMEM:
			aj->worker_memory_limit = parse_size(optarg,
			    "--worker-memory-limit wants a size like 512M, not");
			break;
		case OPT_CAFILE:
			free(aj->tls_ca_file);
			aj->tls_ca_file = xstrdup(optarg);
			break;
		case OPT_NOVERIFY:
			aj->tls_verify = 0;
			break;
		case OPT_HTTP_TIMEOUT:
			aj->http_connect_timeout_ms = parse_duration(optarg);
			break;
		case OPT_STATE_DIR:
			free(aj->state_dir);
			aj->state_dir = xstrdup(optarg);
			break;
		case OPT_DURABILITY:
			if (strcmp(optarg, "safe") != 0 &&
			    strcmp(optarg, "fast") != 0)
				usage_error("--durability wants safe or fast, "
				    "not", optarg);
			aj->durability_safe = strcmp(optarg, "safe") == 0;
			break;
		case OPT_RETENTION:
			aj->retention_ms = parse_duration(optarg);
			break;
		case OPT_WCPU:
			aj->worker_cpu_limit = parse_count(optarg, 0, INT32_MAX,
			    "--worker-cpu-limit wants seconds, not");
			break;
		case 'v':
			aj->verbose = LOG_LEVEL_DEBUG;
			break;
		case 'q':
			aj->verbose = LOG_LEVEL_WARN;
			break;
		case OPT_VERSION:
			printf("aiojobsd %s\n", AIOJOBS_VERSION);
			exit(0);
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fprintf(stderr, "Try 'aiojobsd --help'.\n");
			exit(2);
		}
	}
	if (optind != argc)
		usage_error("unexpected argument", argv[optind]);
}

/* Endpoints by PROTOCOL section 1: flag, then environment, then rundir. */
static void
resolve_endpoints(struct aiojobsd *aj)
{
	if (aj->rundir == NULL)
		aj->rundir = endpoint_rundir();
	if (aj->url == NULL)
		aj->url = endpoint_control_url(aj->rundir);
	if (aj->events_url == NULL)
		aj->events_url = endpoint_events_url(aj->rundir);
	if (aj->state_dir == NULL)
		aj->state_dir = durable_default_dir(aj->rundir);
}

int
main(int argc, char **argv)
{
	struct aiojobsd	 aj;
	long		 cores;
	int		 rc;

	if (argc > 1 && strcmp(argv[1], "--worker") == 0)
		return (worker_main(argc - 1, argv + 1));
	memset(&aj, 0, sizeof aj);
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	aj.workers = cores > 0 ? (int)cores : 1;
	aj.plugin_dir = xstrdup(AIOJOBS_PLUGIN_DIR);
	aj.worker_memory_limit = (int64_t)4 << 30;
	aj.tls_verify = 1;
	aj.durability_safe = 1;
	aj.retention_ms = (int64_t)7 * 24 * 3600 * 1000;
	aj.http_connect_timeout_ms = 30000;
	aj.limit = 100;
	aj.pending_limit = 1000000;
	aj.max_request_bytes = 1024 * 1024;
	aj.max_hold_ms = 30000;
	aj.kill_grace_ms = 5000;
	aj.shutdown_timeout_ms = 10000;
	aj.verbose = LOG_LEVEL_INFO;
	parse_args(&aj, argc, argv);
	log_init("aiojobsd", aj.verbose);
	resolve_endpoints(&aj);
	rc = server_run(&aj);
	free(aj.rundir);
	free(aj.url);
	free(aj.events_url);
	free(aj.plugin_dir);
	free(aj.tls_ca_file);
	free(aj.state_dir);
	return (rc);
}
