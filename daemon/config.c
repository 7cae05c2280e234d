/*
 * Configuration. One table names every key: its section in aiojobsd.conf,
 * its command-line flag, its type and range, and whether SIGHUP can apply
 * it. The file, the flags and a reload all go through config_set(), which
 * checks and stores values; this file holds the table, the defaults and
 * the setting of values. The rest is in parts with one job each:
 * config_value.c and config_url.c (what a value may look like),
 * config_queue.c, config_listen.c and config_access.c (the sections that
 * are lists beside the table), config_file.c (reading the file),
 * config_print.c (spelling values back), config_paths.c (default paths)
 * and config_prepare.c (token files and groups, read at start).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_private.h"
#include "duration.h"
#include "log.h"
#include "xmalloc.h"

/* 107 bytes of sun_path less "/aiojobsd.sock" */
#define CONFIG_RUNDIR_MAX	93

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

	/* rundir: its ipc socket paths must fit in sun_path (107 bytes) */
	{ "endpoints", "rundir", "rundir", CT_STRING, OFF(rundir), 0,
	  CONFIG_RUNDIR_MAX, 0 },
	{ "endpoints", "url", "url", CT_STRING, OFF(url), 0, 0, 0 },
	{ "endpoints", "events_url", "events-url", CT_STRING,
	  OFF(events_url), 0, 0, 0 },
	{ "endpoints", "metrics_listen", "metrics-listen", CT_LISTEN,
	  OFF(metrics_listen), 0, 0, 0 },
	{ "endpoints", "listen", "listen", CT_URLS, OFF(listens), 0, 0, 0 },
	{ "endpoints", "control_token_file", NULL, CT_STRING,
	  OFF(control_token_file), 0, 0, 0 },
	{ "endpoints", "socket_group", NULL, CT_STRING, OFF(socket_group),
	  0, 0, 0 },
	{ "endpoints", "socket_mode", NULL, CT_MODE, OFF(socket_mode),
	  0, 0, 0 },
	/* events: every job's, so perhaps fewer users than the control */
	{ "endpoints", "events_socket_group", NULL, CT_STRING,
	  OFF(events_socket_group), 0, 0, 0 },
	{ "endpoints", "events_socket_mode", NULL, CT_MODE,
	  OFF(events_socket_mode), 0, 0, 0 },

	{ "pool", "workers", "workers", CT_COUNT, OFF(workers), 0, 1024, 1 },
	{ "pool", "plugin_dir", "plugin-dir", CT_STRING, OFF(plugin_dir),
	  0, 0, 0 },
	{ "pool", "worker_memory_limit", "worker-memory-limit", CT_SIZE,
	  OFF(worker_memory_limit), 0, INT64_MAX, 0 },
	{ "pool", "worker_cpu_limit", "worker-cpu-limit", CT_COUNT,
	  OFF(worker_cpu_limit), 0, INT32_MAX, 0 },
	{ "pool", "worker_user", "worker-user", CT_STRING, OFF(worker_user),
	  0, 0, 0 },

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

void
config_defaults(struct config *c)
{
	long	 cores = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof *c);
	TAILQ_INIT(&c->queues);
	TAILQ_INIT(&c->listens);
	TAILQ_INIT(&c->rules);
	TAILQ_INIT(&c->users);
	c->socket_gid = -1;
	c->events_socket_gid = -1;
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
	config_listens_clear(&c->listens);
	config_access_clear(c);
	config_access_free_secret(c->control_token);
	c->control_token = NULL;
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

/* Key i's whole entry, for the parts that read or print its value. */
const struct config_key *
config_key_at(int i)
{
	return (&config_keys[i]);
}

/* A log level as the file spells it. */
const char *
config_log_level_name(int level)
{
	return (config_log_levels[level]);
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

/* A text key's value: its own limit, then what any value must be. */
static int
config_check_text(const struct config_key *k, const char *value,
    char **cause)
{
	if (k->max > 0 && strlen(value) > (size_t)k->max) {
		xasprintf(cause, "%s is at most %lld bytes long", k->name,
		    (long long)k->max);
		return (-1);
	}
	return (config_value_text(k->name, value, cause));
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
		if (config_value_int(value, &v) != 0) {
			xasprintf(cause, "%s wants a whole number, not '%s'",
			    k->name, value);
			return (-1);
		}
		if (config_range(k, v, value, cause) != 0)
			return (-1);
		*FIELD(c, k, int64_t) = v;
		return (0);
	case CT_SIZE:
		if (config_value_size(value, &v) != 0) {
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
		if (config_check_text(k, value, cause) != 0)
			return (-1);
		if (*value != '\0' && config_value_hostport(value) != 0) {
			xasprintf(cause, "%s wants HOST:PORT (e.g. "
			    "127.0.0.1:9464), not '%s'", k->name, value);
			return (-1);
		}
		/* FALLTHROUGH */
	case CT_STRING:
		if (config_check_text(k, value, cause) != 0)
			return (-1);
		free(*FIELD(c, k, char *));
		*FIELD(c, k, char *) = *value == '\0' ? NULL : xstrdup(value);
		return (0);
	case CT_BOOL:
		if (config_value_bool(value, &b) != 0) {
			xasprintf(cause, "%s wants true or false, not '%s'",
			    k->name, value);
			return (-1);
		}
		*FIELD(c, k, int) = b;
		return (0);
	case CT_URLS:
		return (config_listen_set_urls(c, k->name, value, cause));
	case CT_MODE:
		if (*value == '\0')
			v = 0;
		else if (strcmp(value, "0600") == 0 ||
		    strcmp(value, "600") == 0)
			v = 0600;
		else if (strcmp(value, "0660") == 0 ||
		    strcmp(value, "660") == 0)
			v = 0660;
		else if (strcmp(value, "0666") == 0 ||
		    strcmp(value, "666") == 0)
			v = 0666;	/* every user: each sees their own */
		else {
			xasprintf(cause, "%s wants 0600, 0660 or 0666, not '%s'",
			    k->name, value);
			return (-1);
		}
		*FIELD(c, k, int64_t) = v;
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
		return (config_queue_set(c, section + n, name, value, cause));
	n = strlen(CONFIG_LISTEN_PREFIX);
	if (strncmp(section, CONFIG_LISTEN_PREFIX, n) == 0)
		return (config_listen_set(c, section + n, name, value, cause));
	if (strcmp(section, "access") == 0 || strncmp(section,
	    CONFIG_USER_PREFIX, strlen(CONFIG_USER_PREFIX)) == 0)
		return (config_value_text(name, value, cause) != 0 ? -1 :
		    config_access_set(c, section, name, value, cause));
	if ((k = config_key_find(section, name)) != -1)
		return (config_set_key(c, k, value, cause));
	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (strcmp(config_keys[i].section, section) == 0)
			break;
	}
	if (i == CONFIG_NKEYS) {
		xasprintf(cause, "unknown section [%s] (daemon, endpoints, "
		    "pool, http, store, access, queue.NAME, listen.NAME, user.NAME)",
		    section);
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

/* Copy key i's value from src to dst. */
void
config_key_copy(struct config *dst, const struct config *src, int i)
{
	const struct config_key		*k = &config_keys[i];
	const struct config_listen	*l;
	const char			*s;
	char				*why = NULL;

	switch (k->type) {
	case CT_COUNT:
	case CT_SIZE:
	case CT_DURATION:
	case CT_MODE:
		*FIELD(dst, k, int64_t) = *CFIELD(src, k, int64_t);
		break;
	case CT_URLS:
		config_listen_set_urls(dst, k->name, "", &why);
		TAILQ_FOREACH(l, &src->listens, entry) {
			if (l->name == NULL)
				config_listen_new(dst, NULL, l->url);
		}
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

/* The mode of the daemon's ipc socket files. */
int
config_socket_mode(const struct config *c)
{
	if (c->socket_mode != 0)
		return ((int)c->socket_mode);
	return (c->socket_group != NULL ? 0660 : 0600);
}

/* The mode of the event socket: its own, or the control sockets'. */
int
config_events_mode(const struct config *c)
{
	if (c->events_socket_mode != 0)
		return ((int)c->events_socket_mode);
	if (c->events_socket_group != NULL)
		return (0660);
	return (config_socket_mode(c));
}
