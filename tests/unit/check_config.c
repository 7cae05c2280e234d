/*
 * The configuration through its API: every key of the table read from a
 * file and normalized, config_print read back, refusals with their file
 * and line, command-line flags over the file, [queue.NAME] sections, the
 * environment (run, state and configuration directories), reload flags
 * and copies. Files live in a temporary directory per test case, removed
 * by the runner even when a test fails.
 */
#include <sys/stat.h>

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char	 dir[64];

/* Every variable config.c or endpoint.c reads; unset around each test. */
static const char *const env_names[] = {
	"AIOJOBS_RUNDIR", "RUNTIME_DIRECTORY", "AIOJOBS_STATE_DIR",
	"STATE_DIRECTORY", "AIOJOBS_URL", "AIOJOBS_EVENTS_URL",
	"AIOJOBS_CONFIG", "CONFIGURATION_DIRECTORY", "XDG_RUNTIME_DIR",
	"XDG_STATE_HOME", "XDG_CONFIG_HOME", "HOME",
};
#define NENV	(sizeof env_names / sizeof env_names[0])
static char	*env_saved[NENV];

/* The directory, made in the runner once per test case (fork or not). */
static void
dir_setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/ajcheckcfgXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int
remove_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return (remove(path));
}

/* Runs even after a failed test, so nothing is left behind. */
static void
dir_teardown(void)
{
	ck_assert_int_eq(nftw(dir, remove_cb, 8, FTW_DEPTH | FTW_PHYS), 0);
}

static void
env_setup(void)
{
	const char	*s;
	size_t		 i;

	for (i = 0; i < NENV; i++) {
		s = getenv(env_names[i]);
		env_saved[i] = s != NULL ? strdup(s) : NULL;
		unsetenv(env_names[i]);
	}
}

static void
env_teardown(void)
{
	size_t	 i;

	for (i = 0; i < NENV; i++) {
		if (env_saved[i] != NULL)
			setenv(env_names[i], env_saved[i], 1);
		else
			unsetenv(env_names[i]);
		free(env_saved[i]);
		env_saved[i] = NULL;
	}
}

/* Write len bytes to dir/name; the path is the caller's to free. */
static char *
write_conf_len(const char *name, const char *text, size_t len)
{
	FILE	*f;
	char	*path;

	ck_assert_int_ne(asprintf(&path, "%s/%s", dir, name), -1);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return (path);
}

static char *
write_conf(const char *name, const char *text)
{
	return (write_conf_len(name, text, strlen(text)));
}

/* Load a file that must be good. */
static void
load_ok(struct config *c, const char *path)
{
	char	*cause = NULL;

	ck_assert_msg(config_load(c, path, 1, &cause) == 0, "%s: %s", path,
	    cause != NULL ? cause : "?");
	ck_assert_ptr_null(cause);
}

static int
key(const char *section, const char *name)
{
	int	 i;

	i = config_key_find(section, name);
	ck_assert_msg(i != -1, "no key [%s] %s", section, name);
	return (i);
}

static void
check_key(const struct config *c, const char *section, const char *name,
    const char *want)
{
	char	 buf[4096];

	config_format(c, key(section, name), buf, sizeof buf);
	ck_assert_msg(strcmp(buf, want) == 0, "[%s] %s is '%s', want '%s'",
	    section, name, buf, want);
}

/*
 * A non-default value for every key and how config_format spells it back.
 * A key added to the table without a line here fails test_samples_cover.
 */
static const struct sample {
	const char	*section;
	const char	*name;
	const char	*value;
	const char	*want;
} samples[] = {
	{ "daemon", "log_level", "debug", "debug" },
	{ "daemon", "limit", "250", "250" },
	{ "daemon", "pending_limit", "5000", "5000" },
	{ "daemon", "max_request_bytes", "2048K", "2M" },
	{ "daemon", "max_hold", "90s", "90s" },
	{ "daemon", "kill_grace", "1.5m", "90s" },
	{ "daemon", "shutdown_timeout", "120", "2m" },
	{ "endpoints", "rundir", "/tmp/aj/run", "/tmp/aj/run" },
	{ "endpoints", "url", "ipc:///tmp/aj/run/c.sock",
	  "ipc:///tmp/aj/run/c.sock" },
	{ "endpoints", "events_url", "tcp://127.0.0.1:5555",
	  "tcp://127.0.0.1:5555" },
	{ "endpoints", "metrics_listen", "127.0.0.1:9464", "127.0.0.1:9464" },
	{ "endpoints", "listen", "tcp://127.0.0.1:7711  ipc:///tmp/aj/x.sock",
	  "tcp://127.0.0.1:7711 ipc:///tmp/aj/x.sock" },
	{ "endpoints", "control_token_file", "/etc/aj/token",
	  "/etc/aj/token" },
	{ "endpoints", "socket_group", "aiojobs", "aiojobs" },
	{ "endpoints", "socket_mode", "660", "0660" },
	{ "endpoints", "events_socket_group", "adm", "adm" },
	{ "endpoints", "events_socket_mode", "0666", "0666" },
	{ "pool", "workers", "777", "777" },
	{ "pool", "plugin_dir", "/opt/aj/plugins", "/opt/aj/plugins" },
	{ "pool", "worker_memory_limit", "1048576k", "1G" },
	{ "pool", "worker_cpu_limit", "2", "2" },
	{ "pool", "worker_user", "nobody", "nobody" },
	{ "http", "tls_ca_file", "/etc/ssl/aj-ca.pem", "/etc/ssl/aj-ca.pem" },
	{ "http", "tls_verify", "Off", "false" },
	{ "http", "connect_timeout", "1.5h", "90m" },
	{ "store", "state_dir", "/var/tmp/aj", "/var/tmp/aj" },
	{ "store", "durability", "fast", "fast" },
	{ "store", "retention", "48h", "2d" },
};
#define NSAMPLES	(sizeof samples / sizeof samples[0])

static const struct sample *
sample_of(int i)
{
	size_t	 j;

	for (j = 0; j < NSAMPLES; j++) {
		if (strcmp(samples[j].name, config_key_name(i)) == 0 &&
		    strcmp(samples[j].section, config_key_section(i)) == 0)
			return (&samples[j]);
	}
	return (NULL);
}

/* A file setting every key, each under its own section header. */
static char *
write_every_key(const char *name, const char *extra)
{
	char	*text = NULL, *path;
	size_t	 len = 0, i;
	FILE	*f;

	ck_assert_ptr_nonnull(f = open_memstream(&text, &len));
	fprintf(f, "# every key\n");
	for (i = 0; i < NSAMPLES; i++) {
		fprintf(f, "\n[%s]\n%s = %s\n", samples[i].section,
		    samples[i].name, samples[i].value);
	}
	fprintf(f, "%s", extra);
	ck_assert_int_eq(fclose(f), 0);
	path = write_conf(name, text);
	free(text);
	return (path);
}

static const char queue_text[] =
	"\n[queue.a]\nlimit = 3\n"
	"\n[queue.b]\nrate = 2.5\npaused = yes\n"
	"\n[queue.c]\npaused = false\n";

START_TEST(test_samples_cover)
{
	size_t	 i;

	ck_assert_uint_eq(config_nkeys(), NSAMPLES);
	for (i = 0; i < config_nkeys(); i++) {
		ck_assert_msg(sample_of((int)i) != NULL,
		    "key [%s] %s has no sample value in check_config.c",
		    config_key_section((int)i), config_key_name((int)i));
	}
	for (i = 0; i < NSAMPLES; i++)
		key(samples[i].section, samples[i].name);
}
END_TEST

/* Key _i, from a file setting every key, normalized and not the default. */
START_TEST(test_every_key)
{
	const struct sample	*s = sample_of(_i);
	struct config		 c, d;
	char			*path, buf[4096];

	ck_assert_msg(s != NULL, "no sample for %s", config_key_name(_i));
	config_defaults(&d);
	config_format(&d, _i, buf, sizeof buf);
	ck_assert_msg(strcmp(buf, s->want) != 0, "[%s] %s sample '%s' is "
	    "the default", s->section, s->name, s->want);
	path = write_every_key("every.conf", "");
	config_defaults(&c);
	load_ok(&c, path);
	check_key(&c, s->section, s->name, s->want);
	ck_assert_str_eq(c.path, path);
	ck_assert_msg(!config_key_equal(&c, &d, _i), "%s equal to default",
	    s->name);
	config_clear(&c);
	config_clear(&d);
	free(path);
}
END_TEST

/* The same values, read through the typed fields. */
START_TEST(test_every_key_fields)
{
	struct config	 c;
	char		*path;

	path = write_every_key("every.conf", "");
	config_defaults(&c);
	load_ok(&c, path);
	ck_assert_int_eq(c.limit, 250);
	ck_assert_int_eq(c.max_request_bytes, 2 * 1024 * 1024);
	ck_assert_int_eq(c.kill_grace_ms, 90000);
	ck_assert_int_eq(c.worker_memory_limit, (int64_t)1 << 30);
	ck_assert_int_eq(c.tls_verify, 0);
	ck_assert_int_eq(c.durability_safe, 0);
	ck_assert_int_eq(c.http_connect_timeout_ms, 90 * 60 * 1000);
	ck_assert_int_eq(c.retention_ms, (int64_t)2 * 86400 * 1000);
	ck_assert_str_eq(c.metrics_listen, "127.0.0.1:9464");
	ck_assert(TAILQ_EMPTY(&c.queues));
	config_clear(&c);
	free(path);
}
END_TEST

/* Spellings config_set takes and how config_format writes them. */
static const struct sample normal[] = {
	{ "http", "tls_verify", "yes", "true" },
	{ "http", "tls_verify", "ON", "true" },
	{ "http", "tls_verify", "1", "true" },
	{ "http", "tls_verify", "No", "false" },
	{ "http", "tls_verify", "0", "false" },
	{ "daemon", "max_request_bytes", "2m", "2M" },
	{ "daemon", "max_request_bytes", "1025K", "1025K" },
	{ "daemon", "max_request_bytes", "1536", "1536" },
	{ "daemon", "max_request_bytes", "65536K", "64M" },
	{ "pool", "worker_memory_limit", "3072G", "3T" },
	{ "pool", "worker_memory_limit", "0", "0" },
	{ "daemon", "max_hold", "3600000ms", "1h" },
	{ "daemon", "max_hold", "0.5", "500ms" },
	{ "daemon", "max_hold", "0", "0" },
	{ "daemon", "max_hold", "36h", "36h" },
	{ "daemon", "max_hold", "1500ms", "1500ms" },
	{ "daemon", "limit", "007", "7" },
	{ "daemon", "limit", "2147483647", "2147483647" },
	{ "daemon", "pending_limit", "9223372036854775807",
	  "9223372036854775807" },
	{ "pool", "workers", "1024", "1024" },
	{ "endpoints", "metrics_listen", "[::1]:65535", "[::1]:65535" },
	{ "endpoints", "metrics_listen", "", "" },
	{ "store", "durability", "safe", "safe" },
	{ "daemon", "log_level", "warn", "warn" },
};

START_TEST(test_normalize)
{
	const struct sample	*s = &normal[_i];
	struct config		 c;
	char			*cause = NULL;

	config_defaults(&c);
	ck_assert_int_eq(config_set(&c, "endpoints", "metrics_listen",
	    "localhost:1", &cause), 0);
	ck_assert_int_eq(config_set(&c, "store", "durability", "fast",
	    &cause), 0);
	ck_assert_msg(config_set(&c, s->section, s->name, s->value,
	    &cause) == 0, "'%s': %s", s->value, cause);
	check_key(&c, s->section, s->name, s->want);
	config_clear(&c);
}
END_TEST

/* What config_print writes of a configuration, as text. */
static char *
print_text(const struct config *c)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*f;

	ck_assert_ptr_nonnull(f = open_memstream(&text, &len));
	config_print(c, f);
	ck_assert_int_eq(fclose(f), 0);
	return (text);
}

/*
 * [access] and [user.NAME]: kept as written, the last of a key given
 * twice winning, printed so that they load again; unknown keys refused.
 */
START_TEST(test_access_sections)
{
	struct config	 c, back;
	char		*path, *text, *again, *cause = NULL;

	path = write_conf("access.conf", "[access]\nexec = root\n"
	    "admins = @0, 1\nexec = @0 root\n\n[user.root]\ntoken = t0k\n");
	config_defaults(&c);
	load_ok(&c, path);
	ck_assert_str_eq(TAILQ_FIRST(&c.rules)->name, "exec");
	ck_assert_str_eq(TAILQ_FIRST(&c.rules)->who, "@0 root");
	ck_assert_str_eq(TAILQ_FIRST(&c.users)->token, "t0k");
	ck_assert_int_eq(config_prepare_users(&c, &cause), 0);
	ck_assert_str_eq(TAILQ_FIRST(&c.users)->secret, "t0k");
	text = print_text(&c);
	ck_assert_ptr_nonnull(strstr(text, "\n[access]\nexec = @0 root\n"
	    "admins = @0, 1\n\n[user.root]\ntoken = t0k\n"));
	free(path);
	path = write_conf("printed.conf", text);
	config_defaults(&back);
	load_ok(&back, path);
	again = print_text(&back);
	/* the same, after the header line naming the file */
	ck_assert_str_eq(strchr(text, '\n'), strchr(again, '\n'));
	free(text);
	free(again);
	free(path);
	config_clear(&back);
	ck_assert_int_eq(config_set(&c, "access", "rm", "root", &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "unknown key 'rm' in [access]"));
	free(cause);
	ck_assert_int_eq(config_set(&c, "user.root", "token_file", "/x",
	    &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "both token and token_file"));
	free(cause);
	config_clear(&c);
}
END_TEST

/* The same every-key file, printed and read back into a fresh config. */
START_TEST(test_print_round_trip)
{
	struct config			 c, back, d;
	const struct config_queue	*q, *qb;
	char				*path, *out;
	FILE				*f;
	size_t				 i, n = 0;

	path = write_every_key("every.conf", queue_text);
	config_defaults(&c);
	load_ok(&c, path);
	ck_assert_int_ne(asprintf(&out, "%s/printed.conf", dir), -1);
	ck_assert_ptr_nonnull(f = fopen(out, "w"));
	config_print(&c, f);
	ck_assert_int_eq(fclose(f), 0);

	config_defaults(&back);
	config_defaults(&d);
	load_ok(&back, out);
	for (i = 0; i < config_nkeys(); i++) {
		ck_assert_msg(config_key_equal(&c, &back, (int)i),
		    "%s differs after config_print", config_key_name((int)i));
		ck_assert_msg(!config_key_equal(&d, &back, (int)i),
		    "%s back at its default", config_key_name((int)i));
	}
	qb = TAILQ_FIRST(&back.queues);
	TAILQ_FOREACH(q, &c.queues, entry) {
		ck_assert_ptr_nonnull(qb);
		ck_assert_str_eq(qb->name, q->name);
		ck_assert_int_eq(qb->set, q->set);
		ck_assert_int_eq(qb->limit, q->limit);
		ck_assert(qb->rate == q->rate);
		ck_assert_int_eq(qb->paused, q->paused);
		qb = TAILQ_NEXT(qb, entry);
		n++;
	}
	ck_assert_ptr_null(qb);
	ck_assert_uint_eq(n, 3);
	config_clear(&c);
	config_clear(&back);
	config_clear(&d);
	free(out);
	free(path);
}
END_TEST

/* Printed defaults read over a full config put every key back. */
START_TEST(test_print_defaults_round_trip)
{
	struct config	 d, c;
	char		*path, *out;
	FILE		*f;
	size_t		 i;

	config_defaults(&d);
	ck_assert_int_ne(asprintf(&out, "%s/defaults.conf", dir), -1);
	ck_assert_ptr_nonnull(f = fopen(out, "w"));
	config_print(&d, f);
	ck_assert_int_eq(fclose(f), 0);

	path = write_every_key("every.conf", "");
	config_defaults(&c);
	load_ok(&c, path);
	load_ok(&c, out);
	for (i = 0; i < config_nkeys(); i++) {
		ck_assert_msg(config_key_equal(&c, &d, (int)i),
		    "%s not back to its default", config_key_name((int)i));
	}
	ck_assert_ptr_null(c.rundir);
	ck_assert_ptr_null(c.metrics_listen);
	ck_assert_str_eq(c.path, out);
	config_clear(&c);
	config_clear(&d);
	free(out);
	free(path);
}
END_TEST

/* A file with one bad line (never line 1), and what the cause says. */
static const struct bad {
	const char	*text;
	int		 line;
	const char	*needle;
} bad[] = {
	{ "# count\n[daemon]\nlimit = ten\n", 3,
	  "limit wants a whole number, not 'ten'" },
	{ "[daemon]\nlog_level = info\n\nlimit = -5\n", 4, "'-5'" },
	{ "[daemon]\nlimit =\n", 2, "limit wants a whole number, not ''" },
	{ "[daemon]\nlimit = 2147483648\n", 2,
	  "limit wants 0 to 2147483647, not '2147483648'" },
	{ "[daemon]\npending_limit = 1e3\n", 2,
	  "pending_limit wants a whole number" },
	{ "[daemon]\npending_limit = 99999999999999999999\n", 2,
	  "pending_limit wants a whole number" },
	{ "[daemon]\nlimit = 5\n[pool]\nworkers = 1025\n", 4,
	  "workers wants 0 to 1024, not '1025'" },
	{ "[daemon]\nlimit = 5\nmax_request_bytes = 100\n", 3,
	  "max_request_bytes wants 1024 to 67108864, not '100'" },
	{ "[daemon]\nmax_request_bytes = 128M\n", 2,
	  "max_request_bytes wants 1024 to 67108864" },
	{ "[pool]\nworkers = 2\nworker_memory_limit = 4X\n", 3,
	  "worker_memory_limit wants a size" },
	{ "[pool]\nworker_memory_limit = 9999999999T\n", 2,
	  "worker_memory_limit wants a size" },
	{ "[pool]\nworker_memory_limit = 1.5G\n", 2,
	  "worker_memory_limit wants a size" },
	{ "[daemon]\nkill_grace = 5 minutes\n", 2,
	  "kill_grace: invalid duration '5 minutes'" },
	{ "[daemon]\nlimit = 1\nmax_hold = -1s\n", 3, "max_hold" },
	{ "\n[http]\ntls_verify = maybe\n", 3,
	  "tls_verify wants true or false, not 'maybe'" },
	{ "[store]\nretention = 1d\ndurability = maybe\n", 3,
	  "durability wants safe or fast, not 'maybe'" },
	{ "[daemon]\nlog_level = loud\n", 2,
	  "log_level wants warn, info or debug, not 'loud'" },
	{ "[daemon]\nlog_level = DEBUG\n", 2, "'DEBUG'" },
	{ "[endpoints]\nmetrics_listen = 127.0.0.1\n", 2,
	  "metrics_listen wants HOST:PORT" },
	{ "[endpoints]\nmetrics_listen = localhost:0\n", 2,
	  "metrics_listen wants HOST:PORT" },
	{ "[endpoints]\nmetrics_listen = localhost:70000\n", 2,
	  "'localhost:70000'" },
	{ "[endpoints]\nmetrics_listen = :9464\n", 2, "':9464'" },
	{ "[endpoints]\nmetrics_listen = host:\n", 2, "'host:'" },
	{ "# top\nlimit = 5\n[daemon]\n", 2,
	  "'limit' is outside a section" },
	{ "[daemon]\nlimit = 5\n[deamon]\nlimit = 6\n", 3,
	  "unknown section [deamon]" },
	{ "[daemon]\nlimit = 5\nlimmit = 6\n", 3,
	  "unknown key 'limmit' in [daemon]" },
	{ "# wrong place\n[daemon]\nworkers = 4\n", 3,
	  "'workers' belongs in [pool], not [daemon]" },
	{ "[pool]\nlimit = 4\n", 2, "'limit' belongs in [daemon], not [pool]" },
	{ "[queue.x]\nlimit = 1\nburst = 3\n", 3,
	  "unknown key 'burst' in [queue.x]" },
	{ "[queue.x]\nrate = 1\nlimit = -1\n", 3,
	  "limit wants 0 to 2147483647, not '-1'" },
	{ "[queue.x]\nlimit = 2147483648\n", 2, "'2147483648'" },
	{ "[queue.x]\nlimit = 1\nrate = abc\n", 3,
	  "rate wants starts per second (0 for any), not 'abc'" },
	{ "[queue.x]\nrate = -1\n", 2, "not '-1'" },
	{ "[queue.x]\nrate = 1e400\n", 2, "not '1e400'" },
	{ "[queue.x]\nrate = 2/s\n", 2, "not '2/s'" },
	{ "[queue.x]\npaused = maybe\n", 2,
	  "paused wants true or false, not 'maybe'" },
	{ "[daemon]\nlimit = 5\nthis line has no equals sign\n", 3,
	  "syntax error" },
	{ "[daemon]\nlimit = 5\n[pool\n", 3, "syntax error" },
	{ "[daemon]\nlimit = 1\n[queue.]\nlimit = 3\n", 3,
	  "a queue name is 1 to 128 bytes long" },
	{ "[queue]\nlimit = 3\n", 1, "unknown section [queue]" },
	{ "[daemon]\nlimit = 1\n[deamon]\n", 3, "unknown section [deamon]" },
	{ "[listen.a]\nurl = tcp://127.0.0.1:1\nallow_kinds = sleep, rm\n", 3,
	  "allow_kinds: unknown kind 'rm'" },
	{ "[listen.a]\nurl = tcp://127.0.0.1:1\nallow_kinds = ,\n", 3,
	  "allow_kinds wants one or more of" },
	{ "[daemon]\nlimit = 1\n[listen.a]\nallow_exec = no\n", 3,
	  "[listen.a] has no url" },
	{ "[listen.a]\nurl = http://x:1\n", 2,
	  "url wants tcp://HOST:PORT, tls+tcp://HOST:PORT or ipc://PATH, "
	  "not 'http://x:1'" },
	{ "[listen.a]\nurl = tcp://127.0.0.1\n", 2,
	  "url wants tcp://HOST:PORT" },
	{ "[listen.a]\nurl = tcp://h:1\ntoken = x\ntoken_file = /t\n", 4,
	  "both token and token_file" },
	{ "[listen.a]\nurl = tcp://h:1\ntoken_file =\n", 3,
	  "token_file must not be empty" },
	{ "[listen.a]\nurl = tcp://h:1\ninsecure_no_token = maybe\n", 3,
	  "insecure_no_token wants true or false" },
	{ "[listen.a]\nurl = tcp://h:1\nallowexec = 1\n", 3,
	  "unknown key 'allowexec' in [listen.a]" },
	{ "[daemon]\nlimit = 1\n[listen.]\n", 3, "an endpoint name" },
	{ "[daemon]\nlimit = 1\n[listen.a/b]\n", 3, "an endpoint name" },
	{ "[daemon]\nlimit = 1\n[listen]\n", 3, "unknown section [listen]" },
	{ "[endpoints]\nlisten = udp://h:1\n", 2, "listen wants tcp://" },
	/* as printed ("token = ;x") the value would read as a comment */
	{ "[listen.a]\nurl = tcp://h:1\ntoken =;x\n", 3,
	  "token cannot start with ';'" },
	{ "[listen.a]\nurl = tcp://h:1\ntoken_file =#x\n", 3,
	  "token_file cannot start with '#'" },
	{ "[endpoints]\nsocket_mode = 0644\n", 2,
	  "socket_mode wants 0600, 0660 or 0666, not '0644'" },
};

START_TEST(test_bad)
{
	const struct bad	*b = &bad[_i];
	struct config		 c;
	char			*path, *cause = NULL, prefix[128];

	path = write_conf("bad.conf", b->text);
	config_defaults(&c);
	ck_assert_msg(config_load(&c, path, 1, &cause) == -1,
	    "accepted:\n%s", b->text);
	ck_assert_ptr_nonnull(cause);
	snprintf(prefix, sizeof prefix, "%s:%d: ", path, b->line);
	ck_assert_msg(strncmp(cause, prefix, strlen(prefix)) == 0,
	    "cause \"%s\" does not start with \"%s\"", cause, prefix);
	ck_assert_msg(strstr(cause + strlen(prefix), b->needle) != NULL,
	    "cause \"%s\" does not say \"%s\"", cause, b->needle);
	ck_assert_ptr_null(c.path);
	free(cause);
	config_clear(&c);
	free(path);
}
END_TEST

/* A line over inih's limit (200 bytes in Debian's build) is refused. */
START_TEST(test_bad_long_line)
{
	struct config	 c;
	char		*text, *path, *cause = NULL, prefix[128];
	size_t		 n = 5000, len;

	ck_assert_ptr_nonnull(text = malloc(n + 64));
	strcpy(text, "[daemon]\nlimit = 5\n[pool]\nplugin_dir = /");
	len = strlen(text);
	memset(text + len, 'p', n);
	strcpy(text + len + n, "\nworkers = 2\n");
	path = write_conf("long.conf", text);
	config_defaults(&c);
	ck_assert_int_eq(config_load(&c, path, 1, &cause), -1);
	snprintf(prefix, sizeof prefix, "%s:4: ", path);
	ck_assert_msg(strncmp(cause, prefix, strlen(prefix)) == 0,
	    "cause \"%s\" does not start with \"%s\"", cause, prefix);
	ck_assert_ptr_nonnull(strstr(cause, "line longer than"));
	free(cause);
	config_clear(&c);
	free(text);
	free(path);
}
END_TEST

/* A line of 190 bytes is within inih's limit. */
START_TEST(test_long_line_within_limit)
{
	struct config	 c;
	char		*text, *path;
	size_t		 n = 170, len;

	ck_assert_ptr_nonnull(text = malloc(n + 64));
	strcpy(text, "# long\n[http]\ntls_ca_file = /");
	len = strlen(text);
	memset(text + len, 'c', n);
	strcpy(text + len + n, "\n");
	path = write_conf("long.conf", text);
	config_defaults(&c);
	load_ok(&c, path);
	ck_assert_uint_eq(strlen(c.tls_ca_file), n + 1);
	config_clear(&c);
	free(text);
	free(path);
}
END_TEST

/* The first error is the one reported, even when it is a syntax error. */
START_TEST(test_first_error_reported)
{
	struct config	 c;
	char		*path, *cause = NULL, prefix[128];

	path = write_conf("two.conf",
	    "[daemon]\nno equals here\nlimit = 5\nlimit = ten\n");
	config_defaults(&c);
	ck_assert_int_eq(config_load(&c, path, 1, &cause), -1);
	snprintf(prefix, sizeof prefix, "%s:2: ", path);
	ck_assert_msg(strncmp(cause, prefix, strlen(prefix)) == 0,
	    "cause \"%s\" does not start with \"%s\"", cause, prefix);
	free(cause);
	cause = NULL;
	config_clear(&c);
	free(path);

	/* The missing ']' is the mistake, not the key under it. */
	path = write_conf("bracket.conf",
	    "[daemon]\nlimit = 5\n[pool\nworkers = 2\n");
	config_defaults(&c);
	ck_assert_int_eq(config_load(&c, path, 1, &cause), -1);
	snprintf(prefix, sizeof prefix, "%s:3: ", path);
	ck_assert_msg(strncmp(cause, prefix, strlen(prefix)) == 0,
	    "cause \"%s\" does not start with \"%s\"", cause, prefix);
	free(cause);
	config_clear(&c);
	free(path);
}
END_TEST

/* A NUL byte cannot hide the rest of its line. */
START_TEST(test_nul_byte_refused)
{
	static const char	 text[] = "[daemon]\nlimit = 5\0 junk\n";
	struct config		 c;
	char			*path, *cause = NULL, prefix[128];

	path = write_conf_len("nul.conf", text, sizeof text - 1);
	config_defaults(&c);
	ck_assert_msg(config_load(&c, path, 1, &cause) == -1,
	    "a NUL byte on line 2 was accepted");
	snprintf(prefix, sizeof prefix, "%s:2: ", path);
	ck_assert_msg(strncmp(cause, prefix, strlen(prefix)) == 0,
	    "cause \"%s\" does not start with \"%s\"", cause, prefix);
	ck_assert_ptr_nonnull(strstr(cause, "NUL"));
	free(cause);
	config_clear(&c);
	free(path);
}
END_TEST

/* A queue name of 60 bytes (128 allowed) is not cut short. */
START_TEST(test_queue_name_kept)
{
	struct config			 c;
	const struct config_queue	*q;
	char				 name[64], text[128], *path;

	memset(name, 'q', 60);
	name[60] = '\0';
	snprintf(text, sizeof text, "# q\n[queue.%s]\nlimit = 3\n", name);
	path = write_conf("q60.conf", text);
	config_defaults(&c);
	load_ok(&c, path);
	ck_assert_ptr_nonnull(q = TAILQ_FIRST(&c.queues));
	ck_assert_str_eq(q->name, name);
	config_clear(&c);
	free(path);
}
END_TEST

/* A queue name of 129 bytes is refused on its section's line. */
START_TEST(test_queue_name_too_long)
{
	struct config	 c;
	char		 name[160], text[256], prefix[128];
	char		*path, *cause = NULL;

	memset(name, 'q', 129);
	name[129] = '\0';
	snprintf(text, sizeof text, "# q\n[queue.%s]\nlimit = 3\n", name);
	path = write_conf("q129.conf", text);
	config_defaults(&c);
	ck_assert_msg(config_load(&c, path, 1, &cause) == -1,
	    "a 129-byte queue name was accepted as '%s'",
	    TAILQ_FIRST(&c.queues)->name);
	snprintf(prefix, sizeof prefix, "%s:2: ", path);
	ck_assert_msg(strncmp(cause, prefix, strlen(prefix)) == 0 &&
	    strstr(cause, "1 to 128 bytes") != NULL, "cause \"%s\"", cause);
	free(cause);
	config_clear(&c);
	free(path);
}
END_TEST

/* config_print keeps a queue's rate exactly. */
START_TEST(test_print_rate_exact)
{
	struct config	 c, back;
	char		*path, *out;
	FILE		*f;

	path = write_conf("rate.conf", "[queue.r]\nrate = 0.1234567\n");
	config_defaults(&c);
	load_ok(&c, path);
	ck_assert_int_ne(asprintf(&out, "%s/printed.conf", dir), -1);
	ck_assert_ptr_nonnull(f = fopen(out, "w"));
	config_print(&c, f);
	ck_assert_int_eq(fclose(f), 0);
	config_defaults(&back);
	load_ok(&back, out);
	ck_assert_msg(TAILQ_FIRST(&back.queues)->rate ==
	    TAILQ_FIRST(&c.queues)->rate, "rate %.17g printed and read as "
	    "%.17g", TAILQ_FIRST(&c.queues)->rate,
	    TAILQ_FIRST(&back.queues)->rate);
	config_clear(&c);
	config_clear(&back);
	free(out);
	free(path);
}
END_TEST

START_TEST(test_missing_file)
{
	struct config	 c, d;
	char		*path, *cause = NULL;
	size_t		 i;

	ck_assert_int_ne(asprintf(&path, "%s/absent.conf", dir), -1);
	config_defaults(&c);
	ck_assert_int_eq(config_load(&c, path, 1, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strncmp(cause, path, strlen(path)) == 0 &&
	    strstr(cause, "No such file") != NULL, "cause \"%s\"", cause);
	ck_assert_ptr_null(c.path);
	free(cause);
	cause = NULL;

	config_defaults(&d);
	ck_assert_int_eq(config_load(&c, path, 0, &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_ptr_null(c.path);
	for (i = 0; i < config_nkeys(); i++)
		ck_assert(config_key_equal(&c, &d, (int)i));
	ck_assert(TAILQ_EMPTY(&c.queues));
	config_clear(&c);
	config_clear(&d);
	free(path);
}
END_TEST

/* A directory opens but cannot be read: an error even when optional. */
START_TEST(test_unreadable)
{
	struct config	 c;
	char		*path, *cause = NULL;

	ck_assert_int_ne(asprintf(&path, "%s/sub", dir), -1);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	config_defaults(&c);
	ck_assert_int_eq(config_load(&c, path, 0, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strncmp(cause, path, strlen(path)) == 0 &&
	    strstr(cause, "directory") != NULL, "cause \"%s\"", cause);
	ck_assert_ptr_null(c.path);
	free(cause);
	config_clear(&c);
	free(path);
}
END_TEST

START_TEST(test_later_wins)
{
	struct config	 c;
	char		*path;

	path = write_conf("twice.conf",
	    "[daemon]\nlimit = 5\nlog_level = debug\n"
	    "[pool]\nplugin_dir = /a\nworkers = 2\n"
	    "[daemon]\nlimit = 9\n"
	    "[pool]\nplugin_dir = /b\n");
	config_defaults(&c);
	load_ok(&c, path);
	check_key(&c, "daemon", "limit", "9");
	check_key(&c, "daemon", "log_level", "debug");
	check_key(&c, "pool", "plugin_dir", "/b");
	check_key(&c, "pool", "workers", "2");
	config_clear(&c);
	free(path);
}
END_TEST

/* A second file read over the first keeps what it does not name. */
START_TEST(test_load_over)
{
	struct config	 c;
	char		*one, *two;

	one = write_conf("one.conf",
	    "[daemon]\nlimit = 5\npending_limit = 6\n");
	two = write_conf("two.conf", "[daemon]\nlimit = 8\n");
	config_defaults(&c);
	load_ok(&c, one);
	load_ok(&c, two);
	check_key(&c, "daemon", "limit", "8");
	check_key(&c, "daemon", "pending_limit", "6");
	ck_assert_str_eq(c.path, two);
	config_clear(&c);
	free(one);
	free(two);
}
END_TEST

static void
add_arg(struct config_args *args, const char *flag, const char *value)
{
	struct config_arg	*a;

	ck_assert_ptr_nonnull(a = calloc(1, sizeof *a));
	a->key = config_key_find(NULL, flag);
	ck_assert_msg(a->key != -1, "no flag --%s", flag);
	ck_assert_ptr_nonnull(a->value = strdup(value));
	TAILQ_INSERT_TAIL(args, a, entry);
}

START_TEST(test_flags_over_file)
{
	struct config		 c;
	struct config_args	 args;
	char			*path, *cause = NULL;

	path = write_conf("flags.conf",
	    "[daemon]\nlimit = 5\npending_limit = 10\nmax_hold = 1m\n"
	    "[pool]\nworkers = 2\n[endpoints]\nurl = tcp://127.0.0.1:1\n");
	config_defaults(&c);
	load_ok(&c, path);
	check_key(&c, "daemon", "limit", "5");

	TAILQ_INIT(&args);
	add_arg(&args, "limit", "7");
	add_arg(&args, "workers", "9");
	add_arg(&args, "max-hold", "2s");
	add_arg(&args, "url", "ipc:///tmp/aj.sock");
	add_arg(&args, "limit", "8");
	ck_assert_int_eq(config_apply_args(&c, &args, &cause), 0);
	ck_assert_ptr_null(cause);
	check_key(&c, "daemon", "limit", "8");
	check_key(&c, "pool", "workers", "9");
	check_key(&c, "daemon", "max_hold", "2s");
	check_key(&c, "endpoints", "url", "ipc:///tmp/aj.sock");
	check_key(&c, "daemon", "pending_limit", "10");

	add_arg(&args, "workers", "1025");
	ck_assert_int_eq(config_apply_args(&c, &args, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, "workers wants 0 to 1024") != NULL,
	    "cause \"%s\"", cause);
	free(cause);
	config_args_free(&args);
	ck_assert(TAILQ_EMPTY(&args));
	config_clear(&c);
	free(path);
}
END_TEST

/* Flags are spelt with dashes; tls_verify has none. */
START_TEST(test_flag_names)
{
	int	 k;

	ck_assert_int_eq(config_key_find(NULL, "max-request-bytes"),
	    key("daemon", "max_request_bytes"));
	ck_assert_int_eq(config_key_find(NULL, "http-connect-timeout"),
	    key("http", "connect_timeout"));
	ck_assert_int_eq(config_key_find(NULL, "max_request_bytes"), -1);
	ck_assert_int_eq(config_key_find(NULL, "tls-verify"), -1);
	ck_assert_int_eq(config_key_find("daemon", "workers"), -1);
	ck_assert_int_eq(config_key_find("nosuch", "limit"), -1);
	k = key("http", "tls_verify");
	ck_assert_ptr_null(config_key_flag(k));
	ck_assert_str_eq(config_key_flag(key("store", "state_dir")),
	    "state-dir");
	ck_assert_str_eq(config_key_section(key("pool", "workers")), "pool");
	ck_assert_str_eq(config_key_name(key("store", "retention")),
	    "retention");
}
END_TEST

START_TEST(test_queues)
{
	struct config			 c;
	const struct config_queue	*q;
	char				*path;

	path = write_conf("queues.conf",
	    "[daemon]\nlimit = 5\n"
	    "[queue.a]\nlimit = 3\n"
	    "[queue.b]\nrate = 2.5\npaused = yes\n"
	    "[queue.a]\npaused = false\n");
	config_defaults(&c);
	load_ok(&c, path);

	ck_assert_ptr_nonnull(q = TAILQ_FIRST(&c.queues));
	ck_assert_str_eq(q->name, "a");
	ck_assert_int_eq(q->set, CONFIG_Q_LIMIT | CONFIG_Q_PAUSED);
	ck_assert_int_eq(q->limit, 3);
	ck_assert_int_eq(q->paused, 0);

	ck_assert_ptr_nonnull(q = TAILQ_NEXT(q, entry));
	ck_assert_str_eq(q->name, "b");
	ck_assert_int_eq(q->set, CONFIG_Q_RATE | CONFIG_Q_PAUSED);
	ck_assert_double_eq(q->rate, 2.5);
	ck_assert_int_eq(q->paused, 1);

	ck_assert_ptr_null(TAILQ_NEXT(q, entry));
	check_key(&c, "daemon", "limit", "5");

	config_queues_clear(&c.queues);
	ck_assert(TAILQ_EMPTY(&c.queues));
	check_key(&c, "daemon", "limit", "5");
	config_clear(&c);
	free(path);
}
END_TEST

/* Only the keys a section names are marked set. */
START_TEST(test_queue_set_flags)
{
	struct config			 c;
	const struct config_queue	*q;
	char				*cause = NULL;

	config_defaults(&c);
	ck_assert_int_eq(config_set(&c, "queue.r", "rate", "0", &cause), 0);
	ck_assert_ptr_nonnull(q = TAILQ_FIRST(&c.queues));
	ck_assert_int_eq(q->set, CONFIG_Q_RATE);
	ck_assert_double_eq(q->rate, 0);
	ck_assert_int_eq(config_set(&c, "queue.r", "limit", "0", &cause), 0);
	ck_assert_int_eq(q->set, CONFIG_Q_RATE | CONFIG_Q_LIMIT);
	ck_assert_int_eq(config_set(&c, "queue.s", "nope", "1", &cause), -1);
	free(cause);
	ck_assert_ptr_null(TAILQ_NEXT(q, entry));	/* no empty queue.s */
	config_clear(&c);
}
END_TEST

/* The [listen.NAME] sections and listen = URLs, in file order. */
START_TEST(test_listen_sections)
{
	struct config			 c, back;
	const struct config_listen	*l;
	char				*path, *out, *cause = NULL, buf[256];
	FILE				*f;

	path = write_conf("listen.conf",
	    "[endpoints]\nlisten = ipc:///tmp/aj/l.sock\n"
	    "[listen.api]\nurl = tcp://127.0.0.1:7711\ntoken = abc\n"
	    "allow_kinds = sleep,http\n"
	    "[listen.ops]\nurl = tcp://[::1]:7712\nallow_exec = yes\n");
	config_defaults(&c);
	ck_assert_int_eq(config_set(&c, "endpoints", "listen",
	    "tcp://127.0.0.1:7713", &cause), 0);
	load_ok(&c, path);
	/* the flag went first; applied again over the file, it is kept once */
	ck_assert_int_eq(config_set(&c, "endpoints", "listen",
	    "tcp://127.0.0.1:7713", &cause), 0);
	check_key(&c, "endpoints", "listen",
	    "tcp://127.0.0.1:7713 ipc:///tmp/aj/l.sock");

	ck_assert_ptr_nonnull(l = TAILQ_FIRST(&c.listens));
	ck_assert_ptr_null(l->name);
	ck_assert_str_eq(config_listen_name(l), "tcp://127.0.0.1:7713");
	ck_assert_int_eq(config_listen_exec(l), 0);	/* tcp */
	ck_assert_uint_eq(l->kinds, CONFIG_KINDS_ALL);
	ck_assert_ptr_nonnull(l = TAILQ_NEXT(l, entry));
	ck_assert_str_eq(l->url, "ipc:///tmp/aj/l.sock");
	ck_assert_int_eq(config_listen_exec(l), 1);	/* ipc */
	ck_assert_ptr_nonnull(l = TAILQ_NEXT(l, entry));
	ck_assert_str_eq(config_listen_name(l), "api");
	ck_assert_str_eq(l->token, "abc");
	ck_assert_int_eq(l->line, 3);
	config_kind_names(l->kinds, buf, sizeof buf);
	ck_assert_str_eq(buf, "http, sleep");
	ck_assert_int_eq(config_listen_exec(l), 0);
	ck_assert_ptr_nonnull(l = TAILQ_NEXT(l, entry));
	ck_assert_str_eq(l->name, "ops");
	ck_assert_int_eq(config_listen_exec(l), 1);
	ck_assert_ptr_null(TAILQ_NEXT(l, entry));

	/* printed and read back: the same, defaults spelt out */
	ck_assert_int_ne(asprintf(&out, "%s/printed.conf", dir), -1);
	ck_assert_ptr_nonnull(f = fopen(out, "w"));
	config_print(&c, f);
	ck_assert_int_eq(fclose(f), 0);
	config_defaults(&back);
	load_ok(&back, out);
	ck_assert(!config_listens_equal(&c, &back));
	ck_assert_int_eq(config_set(&c, "listen.api", "allow_exec", "false",
	    &cause), 0);
	ck_assert_int_eq(config_set(&c, "listen.ops", "allow_kinds",
	    "cpu exec http sleep", &cause), 0);
	ck_assert_int_eq(config_set(&c, "listen.api", "insecure_no_token",
	    "false", &cause), 0);
	ck_assert(config_listens_equal(&c, &back));
	ck_assert(config_key_equal(&c, &back, key("endpoints", "listen")));

	/* empty forgets the listen = URLs, not the sections */
	ck_assert_int_eq(config_set(&c, "endpoints", "listen", "", &cause), 0);
	check_key(&c, "endpoints", "listen", "");
	ck_assert(config_listens_equal(&c, &back));
	ck_assert_int_eq(config_set(&c, "listen.new", "url", "ipc:///x/y",
	    &cause), 0);
	ck_assert(!config_listens_equal(&c, &back));
	ck_assert_ptr_null(cause);
	config_clear(&c);
	config_clear(&back);
	free(out);
	free(path);
}
END_TEST

/*
 * listen = URLs that would pass a line of the file together print one a
 * line, and load back the same.
 */
START_TEST(test_print_many_urls)
{
	struct config	 c, back;
	char		*out, *cause = NULL, url[64], *p, *line;
	size_t		 n;
	FILE		*f;
	int		 i;

	config_defaults(&c);
	for (i = 0; i < 12; i++) {
		snprintf(url, sizeof url, "tcp://127.0.0.1:%d", 7000 + i);
		ck_assert_int_eq(config_set(&c, "endpoints", "listen", url,
		    &cause), 0);
	}
	ck_assert_int_ne(asprintf(&out, "%s/urls.conf", dir), -1);
	ck_assert_ptr_nonnull(f = fopen(out, "w"));
	config_print(&c, f);
	ck_assert_int_eq(fclose(f), 0);
	config_defaults(&back);
	load_ok(&back, out);
	ck_assert(config_key_equal(&c, &back, key("endpoints", "listen")));
	ck_assert(config_listens_equal(&c, &back));

	/* one listen = line each */
	ck_assert_ptr_nonnull(f = fopen(out, "r"));
	line = NULL;
	n = 0;
	i = 0;
	while (getline(&line, &n, f) != -1) {
		if (strncmp(line, "listen = ", 9) == 0) {
			ck_assert_ptr_null(strchr(line + 9, ' '));
			i++;
		}
	}
	ck_assert_int_eq(i, 12);
	free(line);
	fclose(f);

	/* none: an empty listen = */
	ck_assert_int_eq(config_set(&back, "endpoints", "listen", "", &cause),
	    0);
	ck_assert_ptr_nonnull(f = open_memstream(&p, &n));
	config_print(&back, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(p, "\nlisten = \n"));
	free(p);
	config_clear(&c);
	config_clear(&back);
	free(out);
}
END_TEST

/*
 * "url=URL" fits a line "url = URL" would not: such values are refused,
 * as what --check-config prints must load again.
 */
START_TEST(test_url_too_long_to_print)
{
	static const struct {
		const char	*head, *tail;	/* the long value goes between */
	} forms[] = {
		{ "[endpoints]\nlisten=tcp://", ":1\n" },
		{ "[listen.a]\nurl=tcp://", ":1\n" },
		{ "[listen.a]\nurl = ipc:///tmp/x\ntoken=", "\n" },
		{ "[listen.a]\nurl = ipc:///tmp/x\ntoken_file=/", "\n" },
	};
	struct config	 c;
	char		 text[512], fill[256], *path, *cause = NULL;
	const char	*last;
	size_t		 i, len;

	for (i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		/* fill the last line to the longest the file takes: 198 */
		last = strrchr(forms[i].head, '\n') + 1;
		len = 198 - strlen(last) - (strlen(forms[i].tail) - 1);
		memset(fill, 'h', len);
		fill[len] = '\0';
		snprintf(text, sizeof text, "%s%s%s", forms[i].head, fill,
		    forms[i].tail);
		path = write_conf("longurl.conf", text);
		config_defaults(&c);
		ck_assert_msg(config_load(&c, path, 1, &cause) == -1,
		    "%s loaded", text);
		ck_assert_msg(strstr(cause, "too long") != NULL, "%s", cause);
		free(cause);
		cause = NULL;
		config_clear(&c);
		free(path);
	}
}
END_TEST

/* A token file at mode, holding text: its token, or the refusal. */
static int
prepare_token(const char *text, mode_t mode, char **token, char **cause)
{
	struct config	 c;
	char		*path;
	int		 r;

	path = write_conf("token", text);
	ck_assert_int_eq(chmod(path, mode), 0);
	config_defaults(&c);
	ck_assert_int_eq(config_set(&c, "endpoints", "url", "ipc:///x/c.sock",
	    cause), 0);
	ck_assert_int_eq(config_set(&c, "endpoints", "events_url",
	    "ipc:///x/e.sock", cause), 0);
	ck_assert_int_eq(config_set(&c, "listen.a", "url",
	    "tcp://0.0.0.0:7711", cause), 0);
	ck_assert_int_eq(config_set(&c, "listen.a", "token_file", path,
	    cause), 0);
	r = config_prepare(&c, cause);
	*token = r == 0 ? strdup(TAILQ_FIRST(&c.listens)->secret) : NULL;
	config_clear(&c);
	free(path);
	return (r);
}

START_TEST(test_token_files)
{
	char	*token = NULL, *cause = NULL;

	ck_assert_int_eq(prepare_token("tok\n", 0600, &token, &cause), 0);
	ck_assert_str_eq(token, "tok");
	free(token);
	ck_assert_int_eq(prepare_token("t o k\n\n", 0400, &token, &cause), 0);
	ck_assert_str_eq(token, "t o k\n");	/* one newline dropped */
	free(token);
	ck_assert_int_eq(prepare_token("tok", 0644, &token, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "has mode 0644"));
	free(cause);
	cause = NULL;
	ck_assert_int_eq(prepare_token("tok", 0602, &token, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "0602"));
	free(cause);
	cause = NULL;
	ck_assert_int_eq(prepare_token("\n", 0600, &token, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "is empty"));
	ck_assert_ptr_nonnull(strstr(cause, "endpoint a: "));
	free(cause);
	cause = NULL;
	ck_assert_int_eq(prepare_token("a\377b", 0600, &token, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "not UTF-8"));
	free(cause);
}
END_TEST

/* What config_prepare refuses besides token files. */
START_TEST(test_prepare_refusals)
{
	static const struct {
		const char	*section;
		const char	*name;
		const char	*value;
		const char	*needle;	/* NULL: accepted */
	} cases[] = {
		{ "listen.w", "url", "tcp://0.0.0.0:1", "insecure_no_token" },
		{ "listen.w", "insecure_no_token", "yes", NULL },
		{ "listen.v", "url", "tcp://*:2", "[listen.v]" },
		{ "listen.v", "token", "t", NULL },
		{ "endpoints", "listen", "tcp://[::]:3", "[listen.NAME]" },
		{ "endpoints", "listen", "", NULL },
		{ "endpoints", "listen", "tcp://127.9.9.9:3", NULL },
		{ "listen.x", "url", "tcp://127.9.9.9:3", "both listen on" },
		{ "listen.x", "url", "ipc:///x/c.sock", "already the control" },
		{ "listen.x", "url", "ipc:///x/e.sock", "already the event" },
		{ "listen.x", "url", "ipc:///x/l.sock", NULL },
		{ "endpoints", "socket_group", "no-such-group-zz",
		  "unknown group 'no-such-group-zz'" },
		{ "endpoints", "socket_group", "12345", NULL },
		{ "endpoints", "events_socket_group", "no-such-group-zy",
		  "events_socket_group: unknown group 'no-such-group-zy'" },
		{ "endpoints", "events_socket_group", "4321", NULL },
		{ "endpoints", "control_token_file", "/nonexistent/t",
		  "/nonexistent/t" },
	};
	struct config	 c;
	char		*cause = NULL;
	size_t		 i;
	int		 r;

	config_defaults(&c);
	ck_assert_int_eq(config_set(&c, "endpoints", "url", "ipc:///x/c.sock",
	    &cause), 0);
	ck_assert_int_eq(config_set(&c, "endpoints", "events_url",
	    "ipc:///x/e.sock", &cause), 0);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ck_assert_msg(config_set(&c, cases[i].section, cases[i].name,
		    cases[i].value, &cause) == 0, "%zu: %s", i, cause);
		r = config_prepare(&c, &cause);
		if (cases[i].needle == NULL) {
			ck_assert_msg(r == 0, "%zu refused: %s", i, cause);
			continue;
		}
		ck_assert_msg(r == -1, "%zu accepted", i);
		ck_assert_msg(strstr(cause, cases[i].needle) != NULL,
		    "%zu: \"%s\" lacks \"%s\"", i, cause, cases[i].needle);
		free(cause);
		cause = NULL;
	}
	ck_assert_int_eq(c.socket_gid, 12345);
	ck_assert_int_eq(config_socket_mode(&c), 0660);
	ck_assert_int_eq(c.events_socket_gid, 4321);
	ck_assert_int_eq(config_events_mode(&c), 0660);
	config_clear(&c);
}
END_TEST

/* Which tcp addresses are loopback only. */
START_TEST(test_url_loopback)
{
	static const struct {
		const char	*url;
		int		 loopback;
	} cases[] = {
		{ "tcp://127.0.0.1:1", 1 }, { "tcp://127.255.0.9:1", 1 },
		{ "tcp://localhost:1", 1 }, { "tcp://[::1]:1", 1 },
		{ "tcp://0.0.0.0:1", 0 }, { "tcp://*:1", 0 },
		{ "tcp://128.0.0.1:1", 0 }, { "tcp://[::]:1", 0 },
		{ "tcp://eth0:1", 0 }, { "tcp://lo:1", 0 },
		{ "tcp://127.0.0.1.evil:1", 0 },
		{ "tcp://[::ffff:10.0.0.1]:1", 0 },
		{ "ipc:///x/y", 0 },
	};
	size_t	 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(config_url_loopback(cases[i].url) ==
		    cases[i].loopback, "%s", cases[i].url);
}
END_TEST

START_TEST(test_resolve_runtime_directory)
{
	struct config	 c;

	setenv("RUNTIME_DIRECTORY", "/x/a:/x/b", 1);
	config_defaults(&c);
	config_resolve(&c);
	ck_assert_str_eq(c.rundir, "/x/a");
	ck_assert_str_eq(c.url, "ipc:///x/a/aiojobsd.sock");
	ck_assert_str_eq(c.events_url, "ipc:///x/a/events.sock");
	config_clear(&c);

	setenv("AIOJOBS_RUNDIR", "", 1);	/* empty is unset */
	config_defaults(&c);
	config_resolve(&c);
	ck_assert_str_eq(c.rundir, "/x/a");
	config_clear(&c);
}
END_TEST

START_TEST(test_resolve_rundir_order)
{
	struct config	 c;
	char		*cause = NULL;

	setenv("RUNTIME_DIRECTORY", "/x/a", 1);
	setenv("AIOJOBS_RUNDIR", "/y/r", 1);
	config_defaults(&c);
	config_resolve(&c);
	ck_assert_str_eq(c.rundir, "/y/r");
	ck_assert_str_eq(c.url, "ipc:///y/r/aiojobsd.sock");
	config_clear(&c);

	config_defaults(&c);
	ck_assert_int_eq(config_set(&c, "endpoints", "rundir", "/z/c",
	    &cause), 0);
	config_resolve(&c);
	ck_assert_str_eq(c.rundir, "/z/c");
	ck_assert_str_eq(c.url, "ipc:///z/c/aiojobsd.sock");
	ck_assert_str_eq(c.events_url, "ipc:///z/c/events.sock");
	config_clear(&c);
}
END_TEST

START_TEST(test_resolve_urls)
{
	struct config	 c;
	char		*cause = NULL;

	setenv("RUNTIME_DIRECTORY", "/x/a", 1);
	setenv("AIOJOBS_URL", "tcp://127.0.0.1:7000", 1);
	setenv("AIOJOBS_EVENTS_URL", "tcp://127.0.0.1:7001", 1);
	config_defaults(&c);
	config_resolve(&c);
	ck_assert_str_eq(c.rundir, "/x/a");
	ck_assert_str_eq(c.url, "tcp://127.0.0.1:7000");
	ck_assert_str_eq(c.events_url, "tcp://127.0.0.1:7001");
	config_clear(&c);

	config_defaults(&c);
	ck_assert_int_eq(config_set(&c, "endpoints", "url",
	    "ipc:///u/c.sock", &cause), 0);
	config_resolve(&c);
	ck_assert_str_eq(c.url, "ipc:///u/c.sock");
	ck_assert_str_eq(c.events_url, "tcp://127.0.0.1:7001");
	config_clear(&c);
}
END_TEST

START_TEST(test_resolve_state_dir)
{
	struct config	 c;
	char		*cause = NULL;

	setenv("RUNTIME_DIRECTORY", "/x/a", 1);
	setenv("STATE_DIRECTORY", "/s/a:/s/b", 1);
	config_defaults(&c);
	config_resolve(&c);
	ck_assert_str_eq(c.state_dir, "/s/a");
	config_clear(&c);

	setenv("AIOJOBS_STATE_DIR", "/s/env", 1);
	config_defaults(&c);
	config_resolve(&c);
	ck_assert_str_eq(c.state_dir, "/s/env");
	config_clear(&c);

	config_defaults(&c);
	ck_assert_int_eq(config_set(&c, "store", "state_dir", "/s/conf",
	    &cause), 0);
	config_resolve(&c);
	ck_assert_str_eq(c.state_dir, "/s/conf");
	config_clear(&c);
}
END_TEST

START_TEST(test_default_path)
{
	char	*p;

	setenv("AIOJOBS_CONFIG", "/a/b.conf", 1);
	setenv("CONFIGURATION_DIRECTORY", "/etc/x", 1);
	ck_assert_ptr_nonnull(p = config_default_path());
	ck_assert_str_eq(p, "/a/b.conf");
	free(p);

	unsetenv("AIOJOBS_CONFIG");
	ck_assert_ptr_nonnull(p = config_default_path());
	ck_assert_str_eq(p, "/etc/x/aiojobsd.conf");
	free(p);

	setenv("AIOJOBS_CONFIG", "", 1);
	setenv("CONFIGURATION_DIRECTORY", "/etc/y:/etc/z", 1);
	ck_assert_ptr_nonnull(p = config_default_path());
	ck_assert_str_eq(p, "/etc/y/aiojobsd.conf");
	free(p);

	unsetenv("CONFIGURATION_DIRECTORY");
	setenv("XDG_CONFIG_HOME", "/h/c", 1);
	ck_assert_ptr_nonnull(p = config_default_path());
	if (geteuid() != 0)
		ck_assert_str_eq(p, "/h/c/aiojobsd/aiojobsd.conf");
	else {
		ck_assert_str_ne(p, "/h/c/aiojobsd/aiojobsd.conf");
		ck_assert_msg(p[0] == '/' && strlen(p) > 22 &&
		    strcmp(p + strlen(p) - 22, "aiojobsd/aiojobsd.conf") == 0,
		    "root's default is \"%s\"", p);
	}
	free(p);
}
END_TEST

static const struct {
	const char	*section;
	const char	*name;
	int		 reload;
} reloadable[] = {
	{ "daemon", "limit", 1 },
	{ "daemon", "pending_limit", 1 },
	{ "daemon", "log_level", 1 },
	{ "store", "retention", 1 },
	{ "pool", "workers", 1 },
	{ "daemon", "max_hold", 1 },
	{ "daemon", "kill_grace", 1 },
	{ "daemon", "shutdown_timeout", 1 },
	{ "endpoints", "url", 0 },
	{ "endpoints", "rundir", 0 },
	{ "store", "state_dir", 0 },
	{ "store", "durability", 0 },
	{ "pool", "plugin_dir", 0 },
};

START_TEST(test_reloadable)
{
	ck_assert_msg(config_reloadable(key(reloadable[_i].section,
	    reloadable[_i].name)) == reloadable[_i].reload,
	    "[%s] %s reloadable should be %d", reloadable[_i].section,
	    reloadable[_i].name, reloadable[_i].reload);
}
END_TEST

START_TEST(test_key_copy)
{
	struct config	 src, dst;
	char		*cause = NULL;
	int		 k;

	config_defaults(&src);
	config_defaults(&dst);
	ck_assert_int_eq(config_set(&src, "pool", "plugin_dir", "/p/x",
	    &cause), 0);
	ck_assert_int_eq(config_set(&src, "daemon", "limit", "42", &cause),
	    0);
	ck_assert_int_eq(config_set(&dst, "endpoints", "metrics_listen",
	    "127.0.0.1:1", &cause), 0);

	k = key("pool", "plugin_dir");
	ck_assert(!config_key_equal(&dst, &src, k));
	config_key_copy(&dst, &src, k);
	ck_assert(config_key_equal(&dst, &src, k));
	ck_assert_ptr_ne(dst.plugin_dir, src.plugin_dir);

	k = key("daemon", "limit");
	ck_assert(!config_key_equal(&dst, &src, k));
	config_key_copy(&dst, &src, k);
	ck_assert_int_eq(dst.limit, 42);

	k = key("endpoints", "metrics_listen");	/* NULL over a string */
	config_key_copy(&dst, &src, k);
	ck_assert_ptr_null(dst.metrics_listen);

	k = key("daemon", "pending_limit");	/* untouched */
	ck_assert_int_eq(dst.pending_limit, src.pending_limit);

	config_clear(&src);
	ck_assert_str_eq(dst.plugin_dir, "/p/x");
	check_key(&dst, "pool", "plugin_dir", "/p/x");
	config_clear(&dst);
}
END_TEST

START_TEST(test_clear)
{
	struct config	 c;
	char		*path;

	path = write_every_key("every.conf", queue_text);
	config_defaults(&c);
	load_ok(&c, path);
	ck_assert(!TAILQ_EMPTY(&c.queues));
	config_clear(&c);
	ck_assert_ptr_null(c.path);
	ck_assert_ptr_null(c.rundir);
	ck_assert_ptr_null(c.url);
	ck_assert_ptr_null(c.events_url);
	ck_assert_ptr_null(c.metrics_listen);
	ck_assert_ptr_null(c.plugin_dir);
	ck_assert_ptr_null(c.tls_ca_file);
	ck_assert_ptr_null(c.state_dir);
	ck_assert(TAILQ_EMPTY(&c.queues));
	config_clear(&c);			/* twice is harmless */
	free(path);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc;

	tc = tcase_create("file");
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_checked_fixture(tc, env_setup, env_teardown);
	tcase_add_test(tc, test_samples_cover);
	tcase_add_loop_test(tc, test_every_key, 0, (int)config_nkeys());
	tcase_add_test(tc, test_every_key_fields);
	tcase_add_loop_test(tc, test_normalize, 0,
	    sizeof normal / sizeof normal[0]);
	tcase_add_test(tc, test_print_round_trip);
	tcase_add_test(tc, test_access_sections);
	tcase_add_test(tc, test_print_defaults_round_trip);
	tcase_add_loop_test(tc, test_bad, 0, sizeof bad / sizeof bad[0]);
	tcase_add_test(tc, test_bad_long_line);
	tcase_add_test(tc, test_long_line_within_limit);
	tcase_add_test(tc, test_first_error_reported);
	tcase_add_test(tc, test_nul_byte_refused);
	tcase_add_test(tc, test_queue_name_kept);
	tcase_add_test(tc, test_queue_name_too_long);
	tcase_add_test(tc, test_print_rate_exact);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_unreadable);
	tcase_add_test(tc, test_later_wins);
	tcase_add_test(tc, test_load_over);
	tcase_add_test(tc, test_flags_over_file);
	tcase_add_test(tc, test_flag_names);
	tcase_add_test(tc, test_queues);
	tcase_add_test(tc, test_queue_set_flags);
	tcase_add_test(tc, test_listen_sections);
	tcase_add_test(tc, test_print_many_urls);
	tcase_add_test(tc, test_url_too_long_to_print);
	tcase_add_test(tc, test_token_files);
	tcase_add_test(tc, test_prepare_refusals);
	tcase_add_test(tc, test_url_loopback);
	suite_add_tcase(s, tc);

	tc = tcase_create("env");
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_checked_fixture(tc, env_setup, env_teardown);
	tcase_add_test(tc, test_resolve_runtime_directory);
	tcase_add_test(tc, test_resolve_rundir_order);
	tcase_add_test(tc, test_resolve_urls);
	tcase_add_test(tc, test_resolve_state_dir);
	tcase_add_test(tc, test_default_path);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_checked_fixture(tc, env_setup, env_teardown);
	tcase_add_loop_test(tc, test_reloadable, 0,
	    sizeof reloadable / sizeof reloadable[0]);
	tcase_add_test(tc, test_key_copy);
	tcase_add_test(tc, test_clear);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
