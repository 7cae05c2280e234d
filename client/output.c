/*
 * Human output of aiojobctl. Replies arrive as struct msg_in; everything
 * here only reads them and prints to stdout. --json never gets here.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg.h"
#include "output.h"
#include "xmalloc.h"

#define OUTPUT_LABEL	11	/* width of the labels of output_view */
#define OUTPUT_JSON_LINE 64	/* longer JSON values are pretty-printed */

struct output_table {
	size_t	  ncols;
	char	**cells;	/* row-major, the headers first */
	size_t	  ncells;
	size_t	  alloc;
};

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

static const char *output_list_heads[] = {
	"ID", "STATE", "KIND", "QUEUE", "PRIO", "NAME", "AGE", "ERROR", NULL
};
static const char *output_wait_heads[] = {
	"ID", "STATE", "KIND", "NAME", "RUNTIME", "ERROR", NULL
};
static const char *output_queue_heads[] = {
	"NAME", "LIMIT", "RATE", "PAUSED", "QUEUED", "RUNNING", NULL
};

/* Append a cell, copied, with control characters made visible as '?'. */
static void
output_table_add(struct output_table *t, char *s)
{
	char	*p;

	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	if (t->ncells == t->alloc) {
		t->alloc = t->alloc == 0 ? 64 : t->alloc * 2;
		t->cells = xreallocarray(t->cells, t->alloc, sizeof *t->cells);
	}
	t->cells[t->ncells++] = s;
}

/* A table with the given NULL-terminated column headers. */
struct output_table *
output_table_create(const char *const *heads)
{
	struct output_table	*t;

	t = xcalloc(1, sizeof *t);
	while (heads[t->ncols] != NULL)
		output_table_add(t, xstrdup(heads[t->ncols++]));
	return (t);
}

void
output_table_free(struct output_table *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

/* Start a new row; a short row before it is filled with empty cells. */
void
output_table_row(struct output_table *t)
{
	while (t->ncells % t->ncols != 0)
		output_table_add(t, xstrdup(""));
}

void
output_table_cell(struct output_table *t, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		abort();
	va_end(ap);
	output_table_add(t, s);
}

/* Columns on a terminal: UTF-8 continuation bytes take no room. */
static size_t
output_width(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return (n);
}

/* The width of each column: its widest cell. */
static size_t *
output_table_widths(struct output_table *t)
{
	size_t	*w, i, n;

	w = xcalloc(t->ncols, sizeof *w);
	for (i = 0; i < t->ncells; i++) {
		n = output_width(t->cells[i]);
		if (n > w[i % t->ncols])
			w[i % t->ncols] = n;
	}
	return (w);
}

/* Print the table; a row ends after its last non-empty cell. */
void
output_table_print(struct output_table *t, FILE *f)
{
	char	**row;
	size_t	 *w, r, c, last;

	output_table_row(t);
	w = output_table_widths(t);
	for (r = 0; r < t->ncells; r += t->ncols) {
		row = t->cells + r;
		last = t->ncols - 1;
		while (last > 0 && *row[last] == '\0')
			last--;
		for (c = 0; c < last; c++)
			fprintf(f, "%s%*s", row[c],
			    (int)(w[c] - output_width(row[c]) + 2), "");
		fprintf(f, "%s\n", row[last]);
	}
	free(w);
}

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

static int64_t
output_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int64_t
output_int(struct msg_in *in, const char *key, int64_t dflt)
{
	int64_t	 v;

	return (msg_in_int(in, key, &v, NULL) == 1 ? v : dflt);
}

static const char *
output_str(const char *s)
{
	return (s == NULL ? "-" : s);
}

void
output_ping(struct msg_in *reply)
{
	const char	*version = NULL;
	char		 up[32];

	msg_in_string(reply, "version", &version, NULL);
	output_duration(output_int(reply, "uptime_ms", -1), up, sizeof up);
	printf("aiojobsd %s pid %" PRId64 " up %s\n", output_str(version),
	    output_int(reply, "pid", 0), up);
}

/* One "label: value" line; later lines of a value are indented to match. */
static void
output_kv(const char *label, const char *value)
{
	const char	*nl;
	char		 key[32];

	snprintf(key, sizeof key, "%s:", label);
	printf("%-*s ", OUTPUT_LABEL, key);
	while ((nl = strchr(value, '\n')) != NULL) {
		printf("%.*s\n%-*s ", (int)(nl - value), value, OUTPUT_LABEL,
		    "");
		value = nl + 1;
	}
	printf("%s\n", value);
}

static void
output_kv_time(const char *label, int64_t ms)
{
	char	 buf[64];

	output_time(ms, buf, sizeof buf);
	output_kv(label, buf);
}

/*
 * Pretty JSON with spaces: a tab starting a line indents by two, a tab
 * after a colon is one space. JSON strings never hold a raw tab.
 */
static char *
output_untab(const char *text)
{
	char	*out, *p;
	int	 bol = 1;

	p = out = xmalloc(2 * strlen(text) + 1);
	for (; *text != '\0'; text++) {
		if (*text == '\t' && bol) {
			*p++ = ' ';
			*p++ = ' ';
		} else
			*p++ = *text == '\t' ? ' ' : *text;
		bol = *text == '\n' || (bol && *text == '\t');
	}
	*p = '\0';
	return (out);
}

/* A member of a view as JSON: on one line if short, else pretty. */
static void
output_kv_json(struct msg_in *job, const char *label, const char *key)
{
	char	*text, *pretty;

	if ((text = msg_in_text(job, key, 0)) == NULL)
		return;
	if (strlen(text) > OUTPUT_JSON_LINE) {
		free(text);
		pretty = msg_in_text(job, key, 1);
		text = output_untab(pretty);
		free(pretty);
	}
	output_kv(label, text);
	free(text);
}

/* A job view as aligned "key: value" lines, as status prints it. */
void
output_view(struct msg_in *job)
{
	struct msg_view	 v;
	char		 buf[640];

	msg_in_view(job, &v);
	snprintf(buf, sizeof buf, "%" PRId64, v.id);
	output_kv("id", buf);
	output_kv("kind", output_str(v.kind));
	output_kv("name", output_str(v.name));
	output_kv("queue", output_str(v.queue));
	snprintf(buf, sizeof buf, "%" PRId64, v.priority);
	output_kv("priority", buf);
	output_kv("state", output_str(v.state));
	snprintf(buf, sizeof buf, "%" PRId64, v.attempts);
	output_kv("attempts", buf);
	output_kv_time("submitted", v.submitted_at);
	output_kv_time("started", v.started_at);
	output_kv_time("finished", v.finished_at);
	if (v.error_code != NULL) {
		snprintf(buf, sizeof buf, "%s: %s", v.error_code,
		    output_str(v.error_message));
		output_kv("error", buf);
	}
	output_kv_json(job, "args", "args");
	output_kv_json(job, "result", "result");
}

/* How long a job ran, or has been running. */
static void
output_runtime(const struct msg_view *v, char *buf, size_t len)
{
	if (v->started_at < 0)
		snprintf(buf, len, "-");
	else if (v->finished_at < 0)
		output_duration(output_now() - v->started_at, buf, len);
	else
		output_duration(v->finished_at - v->started_at, buf, len);
}

static void
output_list_row(struct output_table *t, struct msg_in *job, int64_t now)
{
	struct msg_view	 v;
	char		 age[32];

	msg_in_view(job, &v);
	output_duration(v.submitted_at < 0 ? -1 : now - v.submitted_at, age,
	    sizeof age);
	output_table_row(t);
	output_table_cell(t, "%" PRId64, v.id);
	output_table_cell(t, "%s", output_str(v.state));
	output_table_cell(t, "%s", output_str(v.kind));
	output_table_cell(t, "%s", output_str(v.queue));
	output_table_cell(t, "%" PRId64, v.priority);
	output_table_cell(t, "%s", output_str(v.name));
	output_table_cell(t, "%s", age);
	output_table_cell(t, "%s", v.error_code != NULL ? v.error_code : "");
}

/* The jobs of a list reply, newest first as the daemon sent them. */
void
output_list(struct msg_in *reply)
{
	struct output_table	*t;
	struct msg_in		*job;
	int64_t			 now = output_now();

	t = output_table_create(output_list_heads);
	job = msg_in_array_at(reply, "jobs", 0);
	for (; job != NULL; job = msg_in_next(job))
		output_list_row(t, job, now);
	output_table_print(t, stdout);
	output_table_free(t);
}

static void
output_wait_row(struct output_table *t, struct msg_in *job)
{
	struct msg_view	 v;
	char		 runtime[32];

	msg_in_view(job, &v);
	output_runtime(&v, runtime, sizeof runtime);
	output_table_row(t);
	output_table_cell(t, "%" PRId64, v.id);
	output_table_cell(t, "%s", output_str(v.state));
	output_table_cell(t, "%s", output_str(v.kind));
	output_table_cell(t, "%s", output_str(v.name));
	output_table_cell(t, "%s", runtime);
	if (v.error_code != NULL)
		output_table_cell(t, "%s: %s", v.error_code,
		    output_str(v.error_message));
}

/* A wait reply: the done jobs as a table, then the ids still pending. */
void
output_wait(struct msg_in *reply)
{
	struct output_table	*t;
	struct msg_in		*job;
	size_t			 i, n;
	int64_t			 id;

	if ((job = msg_in_array_at(reply, "done", 0)) != NULL) {
		t = output_table_create(output_wait_heads);
		for (; job != NULL; job = msg_in_next(job))
			output_wait_row(t, job);
		output_table_print(t, stdout);
		output_table_free(t);
	}
	if ((n = msg_in_array_len(reply, "pending")) == 0)
		return;
	printf("pending:");
	for (i = 0; i < n; i++) {
		if (msg_in_array_int(reply, "pending", i, &id) == 0)
			printf(" %" PRId64, id);
	}
	printf("\n");
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
