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
RB_GENERATE(job_keys, job_key, entry, job_keys_cmp)
RB_GENERATE(job_ready, job, ready_entry, job_ready_cmp)

int
job_ids_cmp(struct job *a, struct job *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
}

int
job_keys_cmp(struct job_key *a, struct job_key *b)
{
	if (a->owner != b->owner)
		return (a->owner < b->owner ? -1 : 1);
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

/*
 * A new job of a spec. keyspec is the canonical text of a keyed spec for
 * a scheduler without a store, which has nowhere else to keep it; NULL
 * otherwise.
 */
struct job *
job_create(struct sched *s, const struct msg_spec *spec,
    const struct kind *kind, struct queue *q, const char *keyspec)
{
	struct job	*job;
	struct job_more	*m;
	struct job_key	*k;
	size_t		 klen, slen;

	job = xcalloc(1, sizeof *job);
	job->owner = spec->owner;
	job->kidx = (uint8_t)kind_index(kind);
	job->queue = q;
	job->args = xstrdup(spec->args);
	job->priority = spec->priority;
	job->shield = spec->shield;
	job->state = JOB_QUEUED;
	TAILQ_INIT(&job->waits);
	job->submitted_at = s->now();
	job->started_at = -1;
	job->finished_at = -1;
	if (spec->key != NULL) {
		klen = strlen(spec->key) + 1;
		slen = keyspec != NULL ? strlen(keyspec) + 1 : 0;
		k = xcalloc(1, sizeof *k + klen + slen);
		k->job = job;
		k->owner = spec->owner;
		memcpy(k->key, spec->key, klen);
		if (keyspec != NULL)
			memcpy(k->key + klen, keyspec, slen);
		job->key = k->key;
	}
	/* the retry backoff matters only with retries */
	if (spec->name != NULL || spec->timeout_ms != 0 || spec->retries != 0) {
		m = job_more(job);
		m->name = spec->name != NULL ? xstrdup(spec->name) : NULL;
		m->timeout_ms = spec->timeout_ms;
		m->retries = spec->retries;
		m->retry_backoff_ms = spec->retry_backoff_ms;
	}
	return (job);
}

/* The key's entry of a keyed job, around its key. */
struct job_key *
job_key_entry(struct job *job)
{
	if (job->key == NULL)
		return (NULL);
	return ((struct job_key *)(void *)(job->key -
	    offsetof(struct job_key, key)));
}

/* The job's rarely used part, made on first use. */
struct job_more *
job_more(struct job *job)
{
	struct job_more	*m;

	if ((m = job->more) == NULL) {
		m = job->more = xcalloc(1, sizeof *m);
		TAILQ_INIT(&m->dependents);
	}
	return (m);
}

const struct kind *
job_kind(struct job *job)
{
	return (kind_at(job->kidx));
}

const char *
job_name(struct job *job)
{
	return (job->more != NULL ? job->more->name : NULL);
}

/* The uid of the user who submitted the job. */
uid_t
job_owner(struct job *job)
{
	return (job->owner);
}

int64_t
job_timeout_ms(struct job *job)
{
	return (job->more != NULL ? job->more->timeout_ms : 0);
}

int64_t
job_retries(struct job *job)
{
	return (job->more != NULL ? job->more->retries : 0);
}

int64_t
job_group_id(struct job *job)
{
	return (job->more != NULL ? job->more->group_id : 0);
}

/* Free a job; the scheduler has unlinked it and stopped its timer. */
void
job_free(struct job *job)
{
	struct job_more	*m;

	if (job == NULL)
		return;
	if ((m = job->more) != NULL) {
		free(m->name);
		free(m->after);
		free(m->lock_name);
		free(m->stop_reason);
		free(m->error_code);
		free(m->error_message);
		free(m->tree);
		free(m);
	}
	free(job_key_entry(job));
	free(job->args);
	free(job->result);
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
	job->queue->sched->counts[state] += delta;
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
		job->started_at = job->queue->sched->now();
	if (job_state_final(state))
		job->finished_at = job->queue->sched->now();
	persist_mark(job);
	if (job->queue->sched->change_cb != NULL)
		job->queue->sched->change_cb(job, old, job->queue->sched->change_arg);
	if (job_state_final(state))
		sched_final(job);
}

/* Set (code NULL: clear) the job's error; the message defaults to code. */
void
job_vset_error(struct job *job, const char *code, const char *fmt,
    va_list ap)
{
	struct job_more	*m;

	if (code == NULL && job->more == NULL)
		return;
	m = job_more(job);
	free(m->error_code);
	free(m->error_message);
	m->error_code = m->error_message = NULL;
	if (code == NULL)
		return;
	m->error_code = xstrdup(code);
	if (fmt == NULL || vasprintf(&m->error_message, fmt, ap) == -1)
		m->error_message = xstrdup(code);
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

/* What finds the job's processes after a crash, or NULL. */
const char *
job_tree(struct job *job)
{
	return (job->more != NULL ? job->more->tree : NULL);
}

/*
 * Record (where NULL: forget) what finds the job's processes after a
 * crash (tree_where, owned); it is written with the job's row.
 */
void
job_set_tree(struct job *job, char *where)
{
	struct job_more	*m;

	if (where == NULL && job->more == NULL)
		return;
	m = job_more(job);
	free(m->tree);
	m->tree = where;
	persist_mark(job);
}

/* The job as a protocol view; strings are borrowed from the job. */
void
job_view(struct job *job, struct msg_view *v)
{
	memset(v, 0, sizeof *v);
	v->id = job->id;
	v->kind = job_kind(job)->name;
	v->name = job_name(job);
	v->queue = job->queue->name;
	v->owner = users_name(job->owner);
	v->priority = job->priority;
	v->state = job_state_names[job->state];
	v->attempts = job->attempts;
	v->submitted_at = job->submitted_at;
	v->started_at = job->started_at;
	v->finished_at = job->finished_at;
	v->args = job->args;
	v->result = job->result;
	if (job->more != NULL) {
		v->error_code = job->more->error_code;
		v->error_message = job->more->error_message;
	}
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
	return (job->queue->sched->base);
}

/* A kind kept more output of a running job: tell who listens. */
void
job_output_grew(struct job *job)
{
	struct sched	*s = job->queue->sched;

	if (s->output_cb != NULL)
		s->output_cb(job, s->output_arg);
}
