/*
 * Human output of aiojobctl. Replies arrive as struct msg_in; everything
 * here only reads them and prints to stdout. --json never gets here. This
 * file: times and durations, the daemon's replies (ping, stats, queue) and
 * events; job views are in output_job.c, tables in output_table.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg.h"
#include "output.h"
#include "xmalloc.h"

/* Duration units, largest first. */
static const struct {
	int64_t		 ms;
	const char	*suffix;
} output_units[] = {
	{ 24 * 60 * 60 * 1000, "d" },
	{ 60 * 60 * 1000, "h" },
	{ 60 * 1000, "m" },
	{ 1000, "s" },
};
#define OUTPUT_NUNITS	(sizeof output_units / sizeof output_units[0])

/* The job states of stats, in the order they are printed. */
static const char *output_states[] = {
	"queued", "running", "succeeded", "failed", "cancelled"
};
#define OUTPUT_NSTATES	(sizeof output_states / sizeof output_states[0])

static const char *output_queue_heads[] = {
	"NAME", "LIMIT", "RATE", "PAUSED", "QUEUED", "RUNNING", NULL
};

/* Epoch milliseconds as local time with milliseconds; "-" for none. */
void
output_time(int64_t ms, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t;
	size_t		 n;

	t = (time_t)(ms / 1000);
	if (ms < 0 || localtime_r(&t, &tm) == NULL ||
	    (n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm)) == 0) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf + n, len - n, ".%03d", (int)(ms % 1000));
}

/* A duration for people: 250ms, 2.5s, 3m20s, 1h5m, 2d3h. */
void
output_duration(int64_t ms, char *buf, size_t len)
{
	size_t	 i;
	int64_t	 rest;

	if (ms < 0)
		snprintf(buf, len, "-");
	else if (ms < 1000)
		snprintf(buf, len, "%" PRId64 "ms", ms);
	else if (ms < 60 * 1000)
		snprintf(buf, len, "%" PRId64 ".%" PRId64 "s", ms / 1000,
		    ms % 1000 / 100);
	else {
		for (i = 0; ms < output_units[i].ms; i++)
			;
		rest = ms % output_units[i].ms / output_units[i + 1].ms;
		if (rest == 0)
			snprintf(buf, len, "%" PRId64 "%s",
			    ms / output_units[i].ms, output_units[i].suffix);
		else
			snprintf(buf, len, "%" PRId64 "%s%" PRId64 "%s",
			    ms / output_units[i].ms, output_units[i].suffix,
			    rest, output_units[i + 1].suffix);
	}
}

/* Whether a final state is a bad one: failed or cancelled. */
int
output_state_bad(const char *state)
{
	return (state != NULL && (strcmp(state, "failed") == 0 ||
	    strcmp(state, "cancelled") == 0));
}

/* The time of day, as epoch milliseconds. */
int64_t
output_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* An integer member of in, or dflt when there is none. */
int64_t
output_int(struct msg_in *in, const char *key, int64_t dflt)
{
	int64_t	 v;

	return (msg_in_int(in, key, &v, NULL) == 1 ? v : dflt);
}

/* A string to print: "-" for none. */
const char *
output_str(const char *s)
{
	return (s == NULL ? "-" : s);
}

void
output_ping(struct msg_in *reply)
{
	const char	*version = NULL, *user = NULL;
	char		 up[32];
	int		 admin = 0;

	msg_in_string(reply, "version", &version, NULL);
	output_duration(output_int(reply, "uptime_ms", -1), up, sizeof up);
	printf("aiojobsd %s pid %" PRId64 " up %s\n", output_str(version),
	    output_int(reply, "pid", 0), up);
	/* who the daemon takes us for: the owner of what we submit */
	if (msg_in_string(reply, "user", &user, NULL) == 1) {
		msg_in_bool(reply, "admin", &admin, NULL);
		printf("you are %s%s\n", user, admin ? " (admin: every "
		    "user's jobs)" : "");
	}
}

static void
output_rate(double rate, char *buf, size_t len)
{
	if (rate <= 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%g/s", rate);
}

static void
output_queue_row(struct output_table *t, struct msg_in *q, const char *name)
{
	double	 rate = 0;
	int	 paused = 0;
	int64_t	 limit;
	char	 buf[64];

	msg_in_double(q, "rate", &rate, NULL);
	msg_in_bool(q, "paused", &paused, NULL);
	output_rate(rate, buf, sizeof buf);
	output_table_row(t);
	output_table_cell(t, "%s", name);
	if ((limit = output_int(q, "limit", 0)) == 0)
		output_table_cell(t, "unlimited");
	else
		output_table_cell(t, "%" PRId64, limit);
	output_table_cell(t, "%s", buf);
	output_table_cell(t, "%s", paused ? "yes" : "no");
	output_table_cell(t, "%" PRId64, output_int(q, "queued", 0));
	output_table_cell(t, "%" PRId64, output_int(q, "running", 0));
}

static void
output_stats_jobs(struct msg_in *jobs)
{
	size_t	 i;

	printf("jobs:    ");
	for (i = 0; i < OUTPUT_NSTATES; i++) {
		printf("%s %s %" PRId64, i == 0 ? "" : ",", output_states[i],
		    output_int(jobs, output_states[i], 0));
	}
	printf("\n");
}

/* A stats reply: job counts, workers, uptime, then a table of queues. */
void
output_stats(struct msg_in *reply)
{
	struct output_table	*t;
	struct msg_in		*workers, *q;
	char			 up[32];

	output_stats_jobs(msg_in_object(reply, "jobs"));
	workers = msg_in_object(reply, "workers");
	printf("workers:  %" PRId64 " total, %" PRId64 " busy\n",
	    output_int(workers, "total", 0), output_int(workers, "busy", 0));
	output_duration(output_int(reply, "uptime_ms", -1), up, sizeof up);
	printf("uptime:   %s\n\n", up);
	t = output_table_create(output_queue_heads);
	q = msg_in_first(msg_in_object(reply, "queues"));
	for (; q != NULL; q = msg_in_next(q))
		output_queue_row(t, q, msg_in_key(q));
	output_table_print(t, stdout);
	output_table_free(t);
}

/* The queue object of a queue reply, as one line. */
void
output_queue(struct msg_in *reply)
{
	struct msg_in	*q = msg_in_object(reply, "queue");
	const char	*name = NULL;
	double		 rate = 0;
	int		 paused = 0;
	int64_t		 limit;
	char		 buf[64], lim[32];

	msg_in_string(q, "name", &name, NULL);
	msg_in_double(q, "rate", &rate, NULL);
	msg_in_bool(q, "paused", &paused, NULL);
	output_rate(rate, buf, sizeof buf);
	if ((limit = output_int(q, "limit", 0)) == 0)
		snprintf(lim, sizeof lim, "unlimited");
	else
		snprintf(lim, sizeof lim, "%" PRId64, limit);
	printf("%s limit=%s rate=%s paused=%s queued=%" PRId64
	    " running=%" PRId64 "\n", output_str(name), lim, buf,
	    paused ? "yes" : "no", output_int(q, "queued", 0),
	    output_int(q, "running", 0));
}

/* The local time of day now, as HH:MM:SS.mmm. */
static void
output_clock(char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t;
	int64_t		 now = output_now();
	size_t		 n;

	t = (time_t)(now / 1000);
	if (localtime_r(&t, &tm) == NULL ||
	    (n = strftime(buf, len, "%H:%M:%S", &tm)) == 0) {
		snprintf(buf, len, "--:--:--.---");
		return;
	}
	snprintf(buf + n, len - n, ".%03d", (int)(now % 1000));
}

/* An event "TOPIC JSON" as one line: time, topic, id, kind, queue, more. */
void
output_event(const char *msg, size_t len)
{
	struct msg_in	*in;
	struct msg_view	 v;
	const char	*sp;
	char		 clock[32];

	output_clock(clock, sizeof clock);
	if ((sp = memchr(msg, ' ', len)) == NULL ||
	    (in = msg_in_parse(sp + 1, len - (size_t)(sp + 1 - msg),
	    NULL)) == NULL) {
		printf("%s %.*s\n", clock, (int)len, msg);
		return;
	}
	msg_in_view(in, &v);
	printf("%s %.*s %" PRId64 " %s %s", clock, (int)(sp - msg), msg, v.id,
	    output_str(v.kind), output_str(v.queue));
	if (v.name != NULL)
		printf(" name=\"%s\"", v.name);
	if (v.error_code != NULL)
		printf(" error=%s: %s", v.error_code,
		    output_str(v.error_message));
	printf("\n");
	msg_in_free(in);
}
