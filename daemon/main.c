/* aiojobsd: command line and configuration file, then the server. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef AIOJOBS_MIMALLOC
#include <mimalloc.h>
#endif

#include "aiojobsd.h"
#include "endpoint.h"
#include "log.h"
#include "worker.h"
#include "xmalloc.h"

static const char usage_text[] =
"usage: aiojobsd [options]\n"
"\n"
"Runs the job daemon in the foreground until SIGTERM, SIGINT or a shutdown\n"
"request. Clients talk to it with aiojobctl or the protocol directly.\n"
"\n"
"  -c, --config FILE       configuration file (default: $AIOJOBS_CONFIG,\n"
"                          $CONFIGURATION_DIRECTORY/aiojobsd.conf,\n"
"                          " AIOJOBS_SYSCONFDIR "/aiojobsd/aiojobsd.conf\n"
"                          for root,\n"
"                          ~/.config/aiojobsd/aiojobsd.conf); flags win\n"
"  --check-config          check the configuration, print the effective\n"
"                          one and exit\n"
"  --rundir DIR            run directory for the default ipc endpoints\n"
"                          (default: $AIOJOBS_RUNDIR, /run/aiojobsd for root,\n"
"                          $XDG_RUNTIME_DIR/aiojobsd, /tmp/aiojobsd-UID)\n"
"  --url URL               control endpoint (default: $AIOJOBS_URL,\n"
"                          ipc://RUNDIR/aiojobsd.sock)\n"
"  --events-url URL        event endpoint (default: $AIOJOBS_EVENTS_URL,\n"
"                          ipc://RUNDIR/events.sock)\n"
"  --metrics-listen HOST:PORT\n"
"                          serve Prometheus /metrics and /healthz over\n"
"                          http there (default: off)\n"
"  --listen URL            another control endpoint, tcp://HOST:PORT or\n"
"                          ipc://PATH (may be repeated; adds to the\n"
"                          file's): no token, no exec jobs on tcp; tokens\n"
"                          and other policies are set in [listen.NAME]\n"
"                          sections of the file\n"
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
"  --worker-user USER      run the workers as USER (a root daemon: an\n"
"                          unprivileged user; default: the daemon's)\n"
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
"  --log-level LEVEL       warn, info or debug (default info)\n"
"  -v, --verbose           log every job state change (--log-level debug)\n"
"  -q, --quiet             log warnings only (--log-level warn)\n"
"  --version               print the version and exit\n"
"  -h, --help              print this help and exit\n"
"\n"
"Durations: 250ms, 2s, 1m, 1h (a bare number is seconds). Every flag\n"
"but --config has a key in the file; see aiojobsd.conf(5). SIGHUP\n"
"re-reads the file.\n";

/* Long options after the key table's flags. */
enum {
	OPT_CONFIG = 1, OPT_CHECK, OPT_VERSION, OPT_NOVERIFY, OPT_KEY = 256
};

struct main_opts {
	char		*config;
	int		 check;
};

static struct option *
main_options(void)
{
	static const struct option fixed[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "no-tls-verify", no_argument, NULL, OPT_NOVERIFY },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
	};
	size_t		 nfixed = sizeof fixed / sizeof fixed[0];
	size_t		 i, n = 0;
	struct option	*o;

	o = xcalloc(config_nkeys() + nfixed + 1, sizeof *o);
	for (i = 0; i < config_nkeys(); i++) {
		if (config_key_flag((int)i) == NULL)
			continue;
		o[n].name = config_key_flag((int)i);
		o[n].has_arg = required_argument;
		o[n].val = OPT_KEY + (int)i;
		n++;
	}
	memcpy(o + n, fixed, sizeof fixed);
	return (o);
}

/* Check a flag's value now, and keep it to go over the file's values. */
static void
main_arg(struct aiojobsd *aj, const char *flag, const char *section,
    const char *name, const char *value)
{
	struct config_arg	*a;
	char			*cause;

	a = xcalloc(1, sizeof *a);
	a->key = config_key_find(section, name);
	a->value = xstrdup(value);
	TAILQ_INSERT_TAIL(&aj->args, a, entry);
	if (config_set(&aj->conf, section, name, value, &cause) != 0) {
		fprintf(stderr, "aiojobsd: option %s%s: %s\nTry 'aiojobsd "
		    "--help'.\n", *flag == '-' ? "" : "--", flag, cause);
		exit(2);
	}
}

static void
parse_args(struct aiojobsd *aj, struct main_opts *mo, int argc, char **argv)
{
	struct option	*options = main_options();
	int		 ch, k;

	while ((ch = getopt_long(argc, argv, "c:vqh", options, NULL)) != -1) {
		if (ch >= OPT_KEY) {
			k = ch - OPT_KEY;
			main_arg(aj, config_key_flag(k), config_key_section(k),
			    config_key_name(k), optarg);
			continue;
		}
		switch (ch) {
		case 'c':
			free(mo->config);
			mo->config = xstrdup(optarg);
			break;
		case OPT_CHECK:
			mo->check = 1;
			break;
		case OPT_NOVERIFY:
			main_arg(aj, "--no-tls-verify", "http", "tls_verify",
			    "false");
			break;
		case 'v':
			main_arg(aj, "-v", "daemon", "log_level", "debug");
			break;
		case 'q':
			main_arg(aj, "-q", "daemon", "log_level", "warn");
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
	free(options);
	if (optind != argc) {
		fprintf(stderr, "aiojobsd: unexpected argument '%s'\n"
		    "Try 'aiojobsd --help'.\n", argv[optind]);
		exit(2);
	}
}

/* Defaults, then the file, then the flags again; exits on errors. */
static void
main_config(struct aiojobsd *aj, struct main_opts *mo)
{
	const char	*env = getenv("AIOJOBS_CONFIG");
	char		*path, *cause;
	int		 given;

	/* a file someone named must exist; the default one may not */
	given = mo->config != NULL || (env != NULL && *env != '\0');
	path = mo->config != NULL ? xstrdup(mo->config) :
	    config_default_path();
	aj->conf.path_given = given;
	if (path != NULL && (config_load(&aj->conf, path, given, &cause) != 0 ||
	    config_apply_args(&aj->conf, &aj->args, &cause) != 0)) {
		fprintf(stderr, "aiojobsd: %s\n", cause);
		exit(1);
	}
	if (aj->conf.path == NULL && given)
		aj->conf.path = xstrdup(path);
	aj->config_path = path;
	config_resolve(&aj->conf);
	if (config_prepare(&aj->conf, &cause) != 0) {
		fprintf(stderr, "aiojobsd: %s\n", cause);
		exit(1);
	}
}

/* Which malloc this build runs on (meson's allocator option). */
static void
main_log_malloc(void)
{
#ifdef AIOJOBS_MIMALLOC
	log_debug("malloc: mimalloc %d.%d.%d", mi_version() / 100,
	    mi_version() / 10 % 10, mi_version() % 10);
#else
	log_debug("malloc: the C library's");
#endif
}

int
main(int argc, char **argv)
{
	struct aiojobsd		 aj;
	struct main_opts	 mo;
	int			 rc;

	if (argc > 1 && strcmp(argv[1], "--worker") == 0)
		return (worker_main(argc - 1, argv + 1));
	memset(&aj, 0, sizeof aj);
	memset(&mo, 0, sizeof mo);
	TAILQ_INIT(&aj.args);
	config_defaults(&aj.conf);
	parse_args(&aj, &mo, argc, argv);
	main_config(&aj, &mo);
	if (mo.check) {
		config_print(&aj.conf, stdout);
		rc = 0;
	} else {
		log_init("aiojobsd", aj.conf.log_level);
		main_log_malloc();
		rc = server_run(&aj);
	}
	config_clear(&aj.conf);
	config_args_free(&aj.args);
	free(aj.config_path);
	free(mo.config);
	return (rc);
}
