/*
 * Human output of job views: status as "key: value" lines, list and wait
 * as tables.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "output.h"
#include "xmalloc.h"

#define OUTPUT_LABEL	11	/* width of the labels of output_view */
#define OUTPUT_JSON_LINE 64	/* longer JSON values are pretty-printed */

static const char *output_list_heads[] = {
	"ID", "STATE", "KIND", "QUEUE", "PRIO", "NAME", "AGE", "ERROR", NULL
};
/* When the jobs of several users are in sight (root, an admin). */
static const char *output_list_owner_heads[] = {
	"ID", "STATE", "KIND", "OWNER", "QUEUE", "PRIO", "NAME", "AGE", "ERROR",
	NULL
};
static const char *output_wait_heads[] = {
	"ID", "STATE", "KIND", "NAME", "RUNTIME", "ERROR", NULL
};

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
	if (v.owner != NULL)
		output_kv("owner", v.owner);
	snprintf(buf, sizeof buf, "%" PRId64, v.priority);
	output_kv("priority", buf);
	output_kv("state", output_str(v.state));
	if (v.waiting_for != NULL)
		output_kv("waiting", v.waiting_for);
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
output_list_row(struct output_table *t, struct msg_in *job, int64_t now,
    int owners)
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
	if (owners)
		output_table_cell(t, "%s", output_str(v.owner));
	output_table_cell(t, "%s", output_str(v.queue));
	output_table_cell(t, "%" PRId64, v.priority);
	output_table_cell(t, "%s", output_str(v.name));
	output_table_cell(t, "%s", age);
	output_table_cell(t, "%s", v.error_code != NULL ? v.error_code : "");
}

/* Whether the jobs of a list belong to more than one user. */
static int
output_list_owners(struct msg_in *reply)
{
	struct msg_in	*job;
	struct msg_view	 v;
	const char	*first = NULL;

	job = msg_in_array_at(reply, "jobs", 0);
	for (; job != NULL; job = msg_in_next(job)) {
		msg_in_view(job, &v);
		if (v.owner == NULL)
			continue;
		if (first == NULL)
			first = v.owner;
		else if (strcmp(first, v.owner) != 0)
			return (1);
	}
	return (0);
}

/*
 * The jobs of a list reply, newest first as the daemon sent them; with
 * an owner column when they are not all one user's.
 */
void
output_list(struct msg_in *reply)
{
	struct output_table	*t;
	struct msg_in		*job;
	int64_t			 now = output_now(), before;
	int			 owners = output_list_owners(reply);

	t = output_table_create(owners ? output_list_owner_heads :
	    output_list_heads);
	job = msg_in_array_at(reply, "jobs", 0);
	for (; job != NULL; job = msg_in_next(job))
		output_list_row(t, job, now, owners);
	output_table_print(t, stdout);
	output_table_free(t);
	/* a page the daemon ended early to stay within 1 MiB */
	if (msg_in_int(reply, "next_before_id", &before, NULL) == 1)
		fprintf(stderr, "the page ends here to stay within 1 MiB; "
		    "more: aiojobctl list --before %" PRId64 "\n", before);
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
	struct msg_in		*job, *e;
	int64_t			 id;

	if ((job = msg_in_array_at(reply, "done", 0)) != NULL) {
		t = output_table_create(output_wait_heads);
		for (; job != NULL; job = msg_in_next(job))
			output_wait_row(t, job);
		output_table_print(t, stdout);
		output_table_free(t);
	}
	/* finished jobs whose views did not fit in the reply (1 MiB) */
	if ((e = msg_in_array_at(reply, "more_done", 0)) != NULL) {
		printf("also done (see aiojobctl status ID):");
		for (; e != NULL; e = msg_in_next(e)) {
			if (msg_in_value_int(e, &id) == 0)
				printf(" %" PRId64, id);
		}
		printf("\n");
	}
	if ((e = msg_in_array_at(reply, "pending", 0)) == NULL)
		return;
	printf("pending:");
	for (; e != NULL; e = msg_in_next(e)) {
		if (msg_in_value_int(e, &id) == 0)
			printf(" %" PRId64, id);
	}
	printf("\n");
}
