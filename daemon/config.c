/*
 * Configuration. One table names every key: its section in aiojobsd.conf,
 * its command-line flag, its type and range, and whether SIGHUP can apply
 * it. The file is parsed by inih; this module only checks and stores
 * values, so the file, the flags and a reload all go through config_set().
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "duration.h"
#include "endpoint.h"
#include "log.h"
#include "msg.h"
#include "xmalloc.h"

#define CONFIG_QUEUE_PREFIX	"queue."

enum config_type {
	CT_COUNT,
	CT_SIZE,
	CT_DURATION,
	CT_STRING,
	CT_BOOL,
	CT_DURABILITY,
	CT_LOG_LEVEL,
	CT_LISTEN,
};

struct config_key {
	const char		*section;
	const char		*name;
	const char		*flag;		/* long option, NULL for none */
	enum config_type	 type;
	size_t			 off;
	int64_t			 min;
	int64_t			 max;
	int			 reload;	/* SIGHUP applies it */
};

#define OFF(f)	offsetof(struct config, f)

static const struct config_key config_keys[] = {
	{ "daemon", "log_level", "log-level", CT_LOG_LEVEL, OFF(log_level),
	  0, 0, 1 },
	{ "daemon", "limit", "limit", CT_COUNT, OFF(limit),
	  0, INT32_MAX, 1 },
	{ "daemon", "pending_limit", "pending-limit", CT_COUNT,
	  OFF(pending_limit), 0, INT64_MAX, 1 },
	{ "daemon", "max_request_bytes", "max-request-bytes", CT_SIZE,
	  OFF(max_request_bytes), 1024, 64 * 1024 * 1024, 0 },
	{ "daemon", "max_hold", "max-hold", CT_DURATION, OFF(max_hold_ms),
	  0, INT64_MAX, 1 },
	{ "daemon", "kill_grace", "kill-grace", CT_DURATION,
	  OFF(kill_grace_ms), 0, INT64_MAX, 1 },
	{ "daemon", "shutdown_timeout", "shutdown-timeout", CT_DURATION,
	  OFF(shutdown_timeout_ms), 0, INT64_MAX, 1 },

	{ "endpoints", "rundir", "rundir", CT_STRING, OFF(rundir), 0, 0, 0 },
	{ "endpoints", "url", "url", CT_STRING, OFF(url), 0, 0, 0 },
	{ "endpoints", "events_url", "events-url", CT_STRING,
	  OFF(events_url), 0, 0, 0 },
	{ "endpoints", "metrics_listen", "metrics-listen", CT_LISTEN,
	  OFF(metrics_listen), 0, 0, 0 },

	{ "pool", "workers", "workers", CT_COUNT, OFF(workers), 0, 1024, 1 },
	{ "pool", "plugin_dir", "plugin-dir", CT_STRING, OFF(plugin_dir),
	  0, 0, 0 },
	{ "pool", "worker_memory_limit", "worker-memory-limit", CT_SIZE,
	  OFF(worker_memory_limit), 0, INT64_MAX, 0 },
	{ "pool", "worker_cpu_limit", "worker-cpu-limit", CT_COUNT,
	  OFF(worker_cpu_limit), 0, INT32_MAX, 0 },

	{ "http", "tls_ca_file", "tls-ca-file", CT_STRING, OFF(tls_ca_file),
	  0, 0, 0 },
	{ "http", "tls_verify", NULL, CT_BOOL, OFF(tls_verify), 0, 0, 0 },
	{ "http", "connect_timeout", "http-connect-timeout", CT_DURATION,
	  OFF(http_connect_timeout_ms), 0, INT64_MAX, 0 },

	{ "store", "state_dir", "state-dir", CT_STRING, OFF(state_dir),
	  0, 0, 0 },
	{ "store", "durability", "durability", CT_DURABILITY,
	  OFF(durability_safe), 0, 0, 0 },
	{ "store", "retention", "retention", CT_DURATION, OFF(retention_ms),
	  0, INT64_MAX, 1 },
};
#define CONFIG_NKEYS	(sizeof config_keys / sizeof config_keys[0])

static const char *const config_log_levels[] = { "warn", "info", "debug" };

#define FIELD(c, k, t)	((t *)(void *)((char *)(c) + (k)->off))
#define CFIELD(c, k, t)	\
	((const t *)(const void *)((const char *)(c) + (k)->off))

void
config_defaults(struct config *c)
{
	long	 cores = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof *c);
	TAILQ_INIT(&c->queues);
	c->log_level = LOG_LEVEL_INFO;
	c->limit = 100;
	c->pending_limit = 1000000;
	c->max_request_bytes = 1024 * 1024;
	c->max_hold_ms = 30000;
	c->kill_grace_ms = 5000;
	c->shutdown_timeout_ms = 10000;
	c->workers = cores > 0 ? cores : 1;
	c->plugin_dir = xstrdup(AIOJOBS_PLUGIN_DIR);
	c->worker_memory_limit = (int64_t)4 << 30;
	c->tls_verify = 1;
	c->http_connect_timeout_ms = 30000;
	c->durability_safe = 1;
	c->retention_ms = (int64_t)7 * 24 * 3600 * 1000;
}

void
config_queues_clear(struct config_queues *queues)
{
	struct config_queue	*q;

	while ((q = TAILQ_FIRST(queues)) != NULL) {
		TAILQ_REMOVE(queues, q, entry);
		free(q->name);
		free(q);
	}
}

void
config_clear(struct config *c)
{
	size_t	 i;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (config_keys[i].type == CT_STRING ||
		    config_keys[i].type == CT_LISTEN) {
			free(*FIELD(c, &config_keys[i], char *));
			*FIELD(c, &config_keys[i], char *) = NULL;
		}
	}
	config_queues_clear(&c->queues);
	free(c->path);
	c->path = NULL;
}

size_t
config_nkeys(void)
{
	return (CONFIG_NKEYS);
}

const char *
config_key_name(int i)
{
	return (config_keys[i].name);
}

const char *
config_key_section(int i)
{
	return (config_keys[i].section);
}

const char *
config_key_flag(int i)
{
	return (config_keys[i].flag);
}

int
config_reloadable(int i)
{
	return (config_keys[i].reload);
}

/* The key of a section and name, or of a flag when section is NULL. */
int
config_key_find(const char *section, const char *name)
{
	size_t	 i;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (section == NULL) {
			if (config_keys[i].flag != NULL &&
			    strcmp(config_keys[i].flag, name) == 0)
				return ((int)i);
		} else if (strcmp(config_keys[i].section, section) == 0 &&
		    strcmp(config_keys[i].name, name) == 0)
			return ((int)i);
	}
	return (-1);
}

static int
config_parse_int(const char *s, int64_t *v)
{
	char		*end;
	long long	 n;

	if (!isdigit((unsigned char)*s))
		return (-1);
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return (-1);
	*v = n;
	return (0);
}

/* A size in bytes: 4096, 512K, 64M, 2G, 1T. */
static int
config_parse_size(const char *s, int64_t *v)
{
	static const char	 units[] = "KMGT";
	const char		*u;
	char			*num;
	size_t			 n = strlen(s);
	int64_t			 mult = 1;
	int			 r;

	if (n > 1 && (u = strchr(units, toupper((unsigned char)s[n - 1]))) !=
	    NULL && *u != '\0') {
		mult <<= 10 * (u - units + 1);
		n--;
	}
	num = xstrndup(s, n);
	r = config_parse_int(num, v);
	free(num);
	if (r != 0 || *v > INT64_MAX / mult)
		return (-1);
	*v *= mult;
	return (0);
}

static int
config_parse_bool(const char *s, int *v)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t	 i;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v = 1;
			return (0);
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v = 0;
			return (0);
		}
	}
	return (-1);
}

/* host:port with a numeric port; the host is resolved when bound. */
static int
config_check_listen(const char *s)
{
	const char	*colon = strrchr(s, ':');
	int64_t		 port;

	if (colon == NULL || colon == s)
		return (-1);
	if (config_parse_int(colon + 1, &port) != 0 || port < 1 ||
	    port > 65535)
		return (-1);
	return (0);
}

static int
config_range(const struct config_key *k, int64_t v, const char *value,
    char **cause)
{
	if (v >= k->min && v <= k->max)
		return (0);
	if (k->max == INT64_MAX)
		xasprintf(cause, "%s wants %lld or more, not '%s'", k->name,
		    (long long)k->min, value);
	else
		xasprintf(cause, "%s wants %lld to %lld, not '%s'", k->name,
		    (long long)k->min, (long long)k->max, value);
	return (-1);
}

/* Check and store one value of key i. */
static int
config_set_key(struct config *c, int i, const char *value, char **cause)
{
	const struct config_key	*k = &config_keys[i];
	int64_t			 v;
	int			 b;
	size_t			 j;
	char			*why;

	switch (k->type) {
	case CT_COUNT:
		if (config_parse_int(value, &v) != 0) {
			xasprintf(cause, "%s wants a whole number, not '%s'",
			    k->name, value);
			return (-1);
		}
		if (config_range(k, v, value, cause) != 0)
			return (-1);
		*FIELD(c, k, int64_t) = v;
		return (0);
	case CT_SIZE:
		if (config_parse_size(value, &v) != 0) {
			xasprintf(cause, "%s wants a size like 4096, 512K, "
			    "64M or 2G, not '%s'", k->name, value);
			return (-1);
		}
		if (config_range(k, v, value, cause) != 0)
			return (-1);
		*FIELD(c, k, int64_t) = v;
		return (0);
	case CT_DURATION:
		if (duration_parse(value, &v, &why) != 0) {
			xasprintf(cause, "%s: %s", k->name, why);
			free(why);
			return (-1);
		}
		*FIELD(c, k, int64_t) = v;
		return (0);
	case CT_LISTEN:
		if (*value != '\0' && config_check_listen(value) != 0) {
			xasprintf(cause, "%s wants HOST:PORT (e.g. "
			    "127.0.0.1:9464), not '%s'", k->name, value);
			return (-1);
		}
		/* FALLTHROUGH */
	case CT_STRING:
		free(*FIELD(c, k, char *));
		*FIELD(c, k, char *) = *value == '\0' ? NULL : xstrdup(value);
		return (0);
	case CT_BOOL:
		if (config_parse_bool(value, &b) != 0) {
			xasprintf(cause, "%s wants true or false, not '%s'",
			    k->name, value);
			return (-1);
		}
		*FIELD(c, k, int) = b;
		return (0);
	case CT_DURABILITY:
		if (strcmp(value, "safe") != 0 && strcmp(value, "fast") != 0) {
			xasprintf(cause, "%s wants safe or fast, not '%s'",
			    k->name, value);
			return (-1);
		}
		*FIELD(c, k, int) = strcmp(value, "safe") == 0;
		return (0);
	case CT_LOG_LEVEL:
		for (j = 0; j < 3; j++) {
			if (strcmp(value, config_log_levels[j]) == 0) {
				*FIELD(c, k, int) = (int)j;
				return (0);
			}
		}
		xasprintf(cause, "%s wants warn, info or debug, not '%s'",
		    k->name, value);
		return (-1);
	}
	return (-1);
}

static struct config_queue *
config_queue(struct config *c, const char *name)
{
	struct config_queue	*q;

	TAILQ_FOREACH(q, &c->queues, entry) {
		if (strcmp(q->name, name) == 0)
			return (q);
	}
	q = xcalloc(1, sizeof *q);
	q->name = xstrdup(name);
	TAILQ_INSERT_TAIL(&c->queues, q, entry);
	return (q);
}

static int
config_set_queue(struct config *c, const char *qname, const char *name,
    const char *value, char **cause)
{
	struct config_queue	*q;
	int64_t			 v;
	double			 d;
	char			*end;
	int			 b;

	if (*qname == '\0' || strlen(qname) > MSG_QUEUE_MAX) {
		xasprintf(cause, "a queue name is 1 to %d bytes long",
		    MSG_QUEUE_MAX);
		return (-1);
	}
	if (strcmp(name, "limit") == 0) {
		if (config_parse_int(value, &v) != 0 || v > INT32_MAX) {
			xasprintf(cause, "limit wants 0 to %d, not '%s'",
			    INT32_MAX, value);
			return (-1);
		}
		q = config_queue(c, qname);
		q->limit = v;
		q->set |= CONFIG_Q_LIMIT;
	} else if (strcmp(name, "rate") == 0) {
		errno = 0;
		d = strtod(value, &end);
		if (!isdigit((unsigned char)*value) || *end != '\0' ||
		    value[strspn(value, "0123456789.")] != '\0' ||
		    errno != 0 || !isfinite(d)) {
			xasprintf(cause, "rate wants starts per second (0 for "
			    "any), not '%s'", value);
			return (-1);
		}
		q = config_queue(c, qname);
		q->rate = d;
		q->set |= CONFIG_Q_RATE;
	} else if (strcmp(name, "paused") == 0) {
		if (config_parse_bool(value, &b) != 0) {
			xasprintf(cause, "paused wants true or false, not '%s'",
			    value);
			return (-1);
		}
		q = config_queue(c, qname);
		q->paused = b;
		q->set |= CONFIG_Q_PAUSED;
	} else {
		xasprintf(cause, "unknown key '%s' in [queue.%s] (limit, "
		    "rate, paused)", name, qname);
		return (-1);
	}
	return (0);
}

/* One key = value of the file (or a flag, with its key's section). */
int
config_set(struct config *c, const char *section, const char *name,
    const char *value, char **cause)
{
	size_t	 i, n = strlen(CONFIG_QUEUE_PREFIX);
	int	 k;

	if (*section == '\0') {
		xasprintf(cause, "'%s' is outside a section (start with "
		    "[daemon])", name);
		return (-1);
	}
	if (strncmp(section, CONFIG_QUEUE_PREFIX, n) == 0)
		return (config_set_queue(c, section + n, name, value, cause));
	if ((k = config_key_find(section, name)) != -1)
		return (config_set_key(c, k, value, cause));
	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (strcmp(config_keys[i].section, section) == 0)
			break;
	}
	if (i == CONFIG_NKEYS) {
		xasprintf(cause, "unknown section [%s] (daemon, endpoints, "
		    "pool, http, store, queue.NAME)", section);
		return (-1);
	}
	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (strcmp(config_keys[i].name, name) == 0) {
			xasprintf(cause, "'%s' belongs in [%s], not [%s]",
			    name, config_keys[i].section, section);
			return (-1);
		}
	}
	xasprintf(cause, "unknown key '%s' in [%s]", name, section);
	return (-1);
}

/*
 * inih reads through this so errors carry the right line number and
 * section names are not cut to inih's short buffer. Lines are at most
 * what inih was built for (200 bytes in Debian's build).
 */
struct config_reader {
	FILE		*f;
	struct config	*c;
	int		 line;
	char		*section;	/* the current [section], whole */
	char		*cause;		/* first error, no file:line */
	int		 cause_line;
};

static int
config_reader_error(struct config_reader *r, const char *fmt, ...)
    __attribute__((__format__(__printf__, 2, 3)));

static int
config_reader_error(struct config_reader *r, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	if (vasprintf(&r->cause, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	r->cause_line = r->line;
	return (-1);
}

/* Is this a section we know? Checked at its header, keys or not. */
static int
config_check_section(struct config_reader *r, const char *name)
{
	size_t	 i, n = strlen(CONFIG_QUEUE_PREFIX);

	if (strncmp(name, CONFIG_QUEUE_PREFIX, n) == 0) {
		if (name[n] == '\0' || strlen(name + n) > MSG_QUEUE_MAX)
			return (config_reader_error(r, "a queue name is 1 to "
			    "%d bytes long", MSG_QUEUE_MAX));
		return (0);
	}
	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (strcmp(config_keys[i].section, name) == 0)
			return (0);
	}
	return (config_reader_error(r, "unknown section [%s] (daemon, "
	    "endpoints, pool, http, store, queue.NAME)", name));
}

/* A [section] line: remember its whole name. */
static int
config_read_section(struct config_reader *r, const char *line)
{
	const char	*end;

	line += strspn(line, " \t");
	if (*line != '[')
		return (0);
	if ((end = strchr(line, ']')) == NULL)
		return (config_reader_error(r, "syntax error (no ']' after "
		    "the section name)"));
	free(r->section);
	r->section = xstrndup(line + 1, end - line - 1);
	return (config_check_section(r, r->section));
}

static char *
config_read_line(char *buf, int size, void *arg)
{
	struct config_reader	*r = arg;
	int			 ch = EOF, nul = 0, n = 0;

	if (r->cause != NULL)
		return (NULL);
	while (n < size - 1 && (ch = getc(r->f)) != EOF) {
		nul |= ch == '\0';
		buf[n++] = (char)ch;
		if (ch == '\n')
			break;
	}
	if (n == 0)
		return (NULL);
	buf[n] = '\0';
	r->line++;
	if (nul) {
		config_reader_error(r, "NUL byte in the line");
		return (NULL);
	}
	if (buf[n - 1] != '\n' && (ch = getc(r->f)) != EOF) {
		config_reader_error(r, "line longer than %d bytes", size - 2);
		return (NULL);
	}
	if (config_read_section(r, buf) != 0)
		return (NULL);
	return (buf);
}

static int
config_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct config_reader	*r = arg;

	if (r->cause != NULL)
		return (0);
	if (config_set(r->c, r->section != NULL ? r->section : "", name,
	    value, &r->cause) != 0) {
		r->cause_line = r->line;
		return (0);
	}
	return (1);
}

/*
 * Read a configuration file over the values already in c. A missing file
 * is an error only when must_exist is set (it was named explicitly).
 */
int
config_load(struct config *c, const char *path, int must_exist, char **cause)
{
	struct config_reader	 r;
	int			 line;

	memset(&r, 0, sizeof r);
	r.c = c;
	if ((r.f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return (0);
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	line = ini_parse_stream(config_read_line, &r, config_handler, &r);
	if (ferror(r.f) && r.cause == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		fclose(r.f);
		free(r.section);
		return (-1);
	}
	fclose(r.f);
	free(r.section);
	/* inih goes on after a syntax error: report the first error */
	if (r.cause != NULL && (line <= 0 || line >= r.cause_line)) {
		xasprintf(cause, "%s:%d: %s", path, r.cause_line, r.cause);
		free(r.cause);
		return (-1);
	}
	free(r.cause);
	if (line != 0) {
		xasprintf(cause, "%s:%d: %s", path, line, line < 0 ?
		    "out of memory" : "syntax error (want [section] or "
		    "key = value)");
		return (-1);
	}
	free(c->path);
	c->path = xstrdup(path);
	return (0);
}

/* Where the file is when --config does not say: systemd's, then ours. */
char *
config_default_path(void)
{
	const char	*s;
	char		*path;

	if ((s = getenv("AIOJOBS_CONFIG")) != NULL && *s != '\0')
		return (xstrdup(s));
	if ((s = getenv("CONFIGURATION_DIRECTORY")) != NULL && *s != '\0') {
		xasprintf(&path, "%.*s/aiojobsd.conf", (int)strcspn(s, ":"),
		    s);
		return (path);
	}
	if (geteuid() == 0)
		return (xstrdup(AIOJOBS_SYSCONFDIR "/aiojobsd/aiojobsd.conf"));
	if ((s = getenv("XDG_CONFIG_HOME")) != NULL && *s != '\0') {
		xasprintf(&path, "%s/aiojobsd/aiojobsd.conf", s);
		return (path);
	}
	if ((s = getenv("HOME")) != NULL && *s != '\0') {
		xasprintf(&path, "%s/.config/aiojobsd/aiojobsd.conf", s);
		return (path);
	}
	return (NULL);
}

/* The first directory of a systemd *_DIRECTORY variable, or NULL. */
static char *
config_systemd_dir(const char *var)
{
	const char	*s = getenv(var);

	if (s == NULL || *s == '\0')
		return (NULL);
	return (xstrndup(s, strcspn(s, ":")));
}

/*
 * Fill in what depends on the environment (PROTOCOL section 1): the run
 * and state directories (the ones systemd made for us when it did, unless
 * AIOJOBS_* says otherwise) and the endpoints in the run directory.
 */
void
config_resolve(struct config *c)
{
	const char	*s;

	if (c->rundir == NULL) {
		s = getenv("AIOJOBS_RUNDIR");
		if (s == NULL || *s == '\0')
			c->rundir = config_systemd_dir("RUNTIME_DIRECTORY");
		if (c->rundir == NULL)
			c->rundir = endpoint_rundir();
	}
	if (c->url == NULL)
		c->url = endpoint_control_url(c->rundir);
	if (c->events_url == NULL)
		c->events_url = endpoint_events_url(c->rundir);
	if (c->state_dir == NULL) {
		s = getenv("AIOJOBS_STATE_DIR");
		if (s == NULL || *s == '\0')
			c->state_dir = config_systemd_dir("STATE_DIRECTORY");
		if (c->state_dir == NULL)
			c->state_dir = config_state_dir(c->rundir);
	}
}

/* The default state directory, after AIOJOBS_STATE_DIR. */
char *
config_state_dir(const char *rundir)
{
	const char	*s;
	char		*dir;

	if ((s = getenv("AIOJOBS_STATE_DIR")) != NULL && *s != '\0')
		return (xstrdup(s));
	if (geteuid() == 0)
		return (xstrdup("/var/lib/aiojobsd"));
	if ((s = getenv("XDG_STATE_HOME")) != NULL && *s != '\0') {
		xasprintf(&dir, "%s/aiojobsd", s);
		return (dir);
	}
	if ((s = getenv("HOME")) != NULL && *s != '\0') {
		xasprintf(&dir, "%s/.local/state/aiojobsd", s);
		return (dir);
	}
	xasprintf(&dir, "%s/state", rundir);
	return (dir);
}

/* A duration as a person would write it: the largest exact unit. */
static void
config_format_duration(int64_t ms, char *buf, size_t len)
{
	static const struct {
		const char	*suffix;
		int64_t		 ms;
	} units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 }, { "ms", 1 },
	};
	size_t	 i;

	if (ms == 0) {
		snprintf(buf, len, "0");
		return;
	}
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (ms % units[i].ms == 0)
			break;
	}
	snprintf(buf, len, "%lld%s", (long long)(ms / units[i].ms),
	    units[i].suffix);
}

static void
config_format_size(int64_t v, char *buf, size_t len)
{
	static const char	 units[] = "TGMK";
	size_t			 i;
	int			 shift;

	for (i = 0; i < 4 && v != 0; i++) {
		shift = 10 * (4 - (int)i);
		if (v % ((int64_t)1 << shift) == 0) {
			snprintf(buf, len, "%lld%c", (long long)(v >> shift),
			    units[i]);
			return;
		}
	}
	snprintf(buf, len, "%lld", (long long)v);
}

/* The value of key i as the file would spell it. */
void
config_format(const struct config *c, int i, char *buf, size_t len)
{
	const struct config_key	*k = &config_keys[i];
	const char		*s;

	switch (k->type) {
	case CT_COUNT:
		snprintf(buf, len, "%lld", (long long)*CFIELD(c, k, int64_t));
		break;
	case CT_SIZE:
		config_format_size(*CFIELD(c, k, int64_t), buf, len);
		break;
	case CT_DURATION:
		config_format_duration(*CFIELD(c, k, int64_t), buf, len);
		break;
	case CT_STRING:
	case CT_LISTEN:
		s = *CFIELD(c, k, char *);
		snprintf(buf, len, "%s", s != NULL ? s : "");
		break;
	case CT_BOOL:
		snprintf(buf, len, "%s", *CFIELD(c, k, int) ? "true" : "false");
		break;
	case CT_DURABILITY:
		snprintf(buf, len, "%s", *CFIELD(c, k, int) ? "safe" : "fast");
		break;
	case CT_LOG_LEVEL:
		snprintf(buf, len, "%s", config_log_levels[*CFIELD(c, k, int)]);
		break;
	}
}

int
config_key_equal(const struct config *a, const struct config *b, int i)
{
	char	 x[4096], y[4096];

	config_format(a, i, x, sizeof x);
	config_format(b, i, y, sizeof y);
	return (strcmp(x, y) == 0);
}

/* Copy key i's value from src to dst. */
void
config_key_copy(struct config *dst, const struct config *src, int i)
{
	const struct config_key	*k = &config_keys[i];
	const char		*s;

	switch (k->type) {
	case CT_COUNT:
	case CT_SIZE:
	case CT_DURATION:
		*FIELD(dst, k, int64_t) = *CFIELD(src, k, int64_t);
		break;
	case CT_STRING:
	case CT_LISTEN:
		s = *CFIELD(src, k, char *);
		free(*FIELD(dst, k, char *));
		*FIELD(dst, k, char *) = s != NULL ? xstrdup(s) : NULL;
		break;
	case CT_BOOL:
	case CT_DURABILITY:
	case CT_LOG_LEVEL:
		*FIELD(dst, k, int) = *CFIELD(src, k, int);
		break;
	}
}

/* A rate in as few digits as read back to the same double. */
static const char *
config_format_rate(double d, char *buf, size_t len)
{
	snprintf(buf, len, "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, len, "%.17g", d);
	return (buf);
}

/* The effective configuration, as a file that would produce it. */
void
config_print(const struct config *c, FILE *f)
{
	const struct config_queue	*q;
	const char			*section = NULL;
	char				 buf[4096];
	size_t				 i;

	fprintf(f, "# aiojobsd %s effective configuration (file: %s)\n",
	    AIOJOBS_VERSION, c->path != NULL ? c->path : "none");
	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (section == NULL ||
		    strcmp(section, config_keys[i].section) != 0) {
			section = config_keys[i].section;
			fprintf(f, "\n[%s]\n", section);
		}
		config_format(c, (int)i, buf, sizeof buf);
		fprintf(f, "%s = %s\n", config_keys[i].name, buf);
	}
	TAILQ_FOREACH(q, &c->queues, entry) {
		fprintf(f, "\n[queue.%s]\n", q->name);
		if (q->set & CONFIG_Q_LIMIT)
			fprintf(f, "limit = %lld\n", (long long)q->limit);
		if (q->set & CONFIG_Q_RATE)
			fprintf(f, "rate = %s\n", config_format_rate(q->rate,
			    buf, sizeof buf));
		if (q->set & CONFIG_Q_PAUSED)
			fprintf(f, "paused = %s\n", q->paused ? "true" :
			    "false");
	}
}

/* Put the command-line flags back over what the file said. */
int
config_apply_args(struct config *c, const struct config_args *args,
    char **cause)
{
	const struct config_arg	*a;

	TAILQ_FOREACH(a, args, entry) {
		if (config_set_key(c, a->key, a->value, cause) != 0)
			return (-1);
	}
	return (0);
}

void
config_args_free(struct config_args *args)
{
	struct config_arg	*a;

	while ((a = TAILQ_FIRST(args)) != NULL) {
		TAILQ_REMOVE(args, a, entry);
		free(a->value);
		free(a);
	}
}
