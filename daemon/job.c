/*
 * A job and its state machine. Every state change goes through
 * job_set_state, which checks the transition table, keeps the counts and
 * tells the scheduler's listener.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "log.h"
#include "xmalloc.h"

static const char *job_state_names[JOB_NSTATES] = {
	"queued", "running", "succeeded", "failed", "cancelled"
};

/* job_transitions[from] has bit (1 << to) set when from -> to is allowed. */
static const unsigned int job_transitions[JOB_NSTATES] = {
	[JOB_QUEUED] = (1 << JOB_RUNNING) | (1 << JOB_FAILED) |
	    (1 << JOB_CANCELLED),
	[JOB_RUNNING] = (1 << JOB_SUCCEEDED) | (1 << JOB_FAILED) |
	    (1 << JOB_CANCELLED) | (1 << JOB_QUEUED),
};

RB_GENERATE(job_ids, job, id_entry, job_ids_cmp)
RB_GENERATE(job_keys, job, key_entry, job_keys_cmp)
RB_GENERATE(job_ready, job, ready_entry, job_ready_cmp)

int
job_ids_cmp(struct job *a, struct job *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
}

int
job_keys_cmp(struct job *a, struct job *b)
{
	return (strcmp(a->key, b->key));
}

/* Higher priority first; ties in submission (id) order. */
int
job_ready_cmp(struct job *a, struct job *b)
{
	if (a->priority != b->priority)
		return (a->priority > b->priority ? -1 : 1);
	return (job_ids_cmp(a, b));
}

struct job *
job_create(struct sched *s, const struct msg_spec *spec,
    const struct kind *kind, struct queue *q)
{
	struct job	*job;

	job = xcalloc(1, sizeof *job);
	job->sched = s;
	job->kind = kind;
	job->kidx = (uint8_t)kind_index(kind);
	job->queue = q;
	job->args = xstrdup(spec->args);
	job->name = spec->name != NULL ? xstrdup(spec->name) : NULL;
	job->key = spec->key != NULL ? xstrdup(spec->key) : NULL;
	job->delay_ms = spec->delay_ms;
	job->priority = spec->priority;
	job->timeout_ms = spec->timeout_ms;
	job->retries = spec->retries;
	job->retry_backoff_ms = spec->retry_backoff_ms;
	job->shield = spec->shield;
	job->state = JOB_QUEUED;
	TAILQ_INIT(&job->waits);
	TAILQ_INIT(&job->dependents);
	job->submitted_at = s->now();
	job->started_at = -1;
	job->finished_at = -1;
	return (job);
}

/* Free a job; the scheduler has unlinked it and stopped its timer. */
void
job_free(struct job *job)
{
	if (job == NULL)
		return;
	free(job->args);
	free(job->name);
	free(job->key);
	free(job->stop_reason);
	free(job->result);
	free(job->error_code);
	free(job->error_message);
	free(job->lock_name);
	free(job);
}

const char *
job_state_name(int state)
{
	return (job_state_names[state]);
}

/* The state of a name, or -1. */
int
job_state_by_name(const char *name)
{
	int	 i;

	for (i = 0; i < JOB_NSTATES; i++) {
		if (strcmp(job_state_names[i], name) == 0)
			return (i);
	}
	return (-1);
}

int
job_state_final(int state)
{
	return (state == JOB_SUCCEEDED || state == JOB_FAILED ||
	    state == JOB_CANCELLED);
}

static void
job_count(struct job *job, int state, int delta)
{
	job->sched->counts[state] += delta;
	if (state == JOB_QUEUED)
		job->queue->nqueued += delta;
	else if (state == JOB_RUNNING)
		job->queue->nrunning += delta;
}

/* Move a job to a new state; an illegal transition is a bug. */
void
job_set_state(struct job *job, int state)
{
	int	 old = job->state;

	if ((job_transitions[old] & (1u << state)) == 0)
		fatalx("job %lld: illegal transition %s -> %s",
		    (long long)job->id, job_state_names[old],
		    job_state_names[state]);
	log_debug("job %lld: %s -> %s", (long long)job->id,
	    job_state_names[old], job_state_names[state]);
	job_count(job, old, -1);
	job_count(job, state, 1);
	job->state = state;
	if (state == JOB_RUNNING)
		job->started_at = job->sched->now();
	if (job_state_final(state))
		job->finished_at = job->sched->now();
	persist_mark(job);
	if (job->sched->change_cb != NULL)
		job->sched->change_cb(job, old, job->sched->change_arg);
	if (job_state_final(state))
		sched_final(job);
}

/* Set (code NULL: clear) the job's error; the message defaults to code. */
void
job_vset_error(struct job *job, const char *code, const char *fmt,
    va_list ap)
{
	free(job->error_code);
	free(job->error_message);
	job->error_code = job->error_message = NULL;
	if (code == NULL)
		return;
	job->error_code = xstrdup(code);
	if (fmt == NULL || vasprintf(&job->error_message, fmt, ap) == -1)
		job->error_message = xstrdup(code);
}

void
job_set_error(struct job *job, const char *code, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	job_vset_error(job, code, fmt, ap);
	va_end(ap);
}

void
job_set_result(struct job *job, const char *result)
{
	free(job->result);
	job->result = result != NULL ? xstrdup(result) : NULL;
}

/*
 * The job's canonical spec (as msg_spec_encode writes it, key aside),
 * rebuilt from its fields: the store's copy and key comparisons use it,
 * and memory keeps no second copy of what the job already holds.
 */
char *
job_spec_text(struct job *job)
{
	struct msg_spec	 spec;

	memset(&spec, 0, sizeof spec);
	spec.kind = (char *)job->kind->name;
	spec.args = job->args;
	spec.name = job->name;
	spec.queue = job->queue->name;
	spec.priority = job->priority;
	spec.delay_ms = job->delay_ms;
	spec.timeout_ms = job->timeout_ms;
	spec.retries = job->retries;
	spec.retry_backoff_ms = job->retry_backoff_ms;
	spec.after = job->after;
	spec.nafter = job->nafter;
	spec.lock = job->lock_name;
	spec.shield = job->shield;
	return (msg_spec_encode(&spec, 0));
}

/* The job as a protocol view; strings are borrowed from the job. */
void
job_view(struct job *job, struct msg_view *v)
{
	memset(v, 0, sizeof *v);
	v->id = job->id;
	v->kind = job->kind->name;
	v->name = job->name;
	v->queue = job->queue->name;
	v->priority = job->priority;
	v->state = job_state_names[job->state];
	v->attempts = job->attempts;
	v->submitted_at = job->submitted_at;
	v->started_at = job->started_at;
	v->finished_at = job->finished_at;
	v->args = job->args;
	v->result = job->result;
	v->error_code = job->error_code;
	v->error_message = job->error_message;
	v->waiting_for = sched_waiting_for(job);
	v->compact = 1;		/* see job_create and job_finish */
}

/*
 * What a kind calls when a running job has ended: the state it reached,
 * its result (JSON text or NULL) and an error code and message for failures.
 * Views copy the result as it is, so it must be compact JSON as msg_out or
 * msg_json_compact writes it; so are args (cJSON's print, msg_spec_parse).
 */
void
job_finish(struct job *job, int state, const char *result, const char *code,
    const char *fmt, ...)
{
	va_list	 ap;

	job_set_result(job, result);
	va_start(ap, fmt);
	job_vset_error(job, code, fmt, ap);
	va_end(ap);
	sched_job_finished(job, state);
}

struct event_base *
job_base(struct job *job)
{
	return (job->sched->base);
}
