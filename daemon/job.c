/*
 * A job and its state machine. Every state change goes through
 * job_set_state, which checks the transition table, keeps the counts and
 * logs; what follows a change (writing the row, telling listeners,
 * settling dependents and groups) is the scheduler's (sched_set_state).
 * The job is also projected here, once: job_row makes its row, and
 * job_row_view the protocol's view of a row, so that a job in memory and
 * one read back from the store look the same to clients.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "aiojobsd.h"
#include "log.h"
#include "store.h"
#include "tree.h"
#include "users.h"
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
RB_GENERATE(job_ready, job, ready_entry, job_ready_cmp)

int
job_ids_cmp(struct job *a, struct job *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
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

/*
 * Move a job to a new state; an illegal transition is a bug. Only the
 * scheduler calls this, through sched_set_state.
 */
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
 * crash (tree_where, owned); persist_set_tree also writes it.
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
}

/* 1 while a new job waits for its row's commit before it may start. */
int
job_uncommitted(struct job *job)
{
	struct sched	*s = job->queue->sched;

	return (s->start_stored && s->store != NULL && !job->stored);
}

/* Why a queued job has not started, for people (status). */
const char *
job_waiting_for(struct job *job)
{
	const struct kind	*kind = job_kind(job);

	if (job->state != JOB_QUEUED)
		return (NULL);
	if (job_uncommitted(job))
		return ("store");
	if (job->more != NULL && job->more->deps_left > 0)
		return ("dependency");
	if (job->lock_waiting)
		return ("lock");
	if (job->timer != NULL && evtimer_pending(job->timer, NULL))
		return (job->attempts > 0 ? "retry" : "delay");
	if (kind->hold != NULL && job->kdata != NULL)	/* held */
		return (kind->waits_for);
	if (job->queue->paused)
		return ("paused");
	if (kind->can_start != NULL && !kind->can_start(job->queue->sched,
	    job->queue))
		return (kind->waits_for);
	return ("slot");
}

/*
 * The job as the store keeps it, without its spec (the store has it from
 * the job's first write); the strings are borrowed from the job.
 */
void
job_row(struct job *job, struct store_row *r)
{
	struct job_more	*m = job->more;

	memset(r, 0, sizeof *r);
	r->id = job->id;
	r->key = job->key;
	r->kind = (char *)job_kind(job)->name;
	r->name = m != NULL ? m->name : NULL;
	r->queue = job->queue->name;
	r->owner = job->owner;
	r->priority = job->priority;
	r->state = job->state;
	r->attempts = job->attempts;
	r->submitted_at = job->submitted_at;
	r->started_at = job->started_at;
	r->finished_at = job->finished_at;
	r->not_before = job->state == JOB_QUEUED ? job->not_before : -1;
	r->args = job->args;
	r->result = job->result;
	if (m != NULL) {
		r->error_code = m->error_code;
		r->error_message = m->error_message;
		r->group_id = m->group_id;
		r->tree = m->tree;
	}
}

/*
 * A job's row as a protocol view; the strings are the row's. Args and
 * results are compact JSON in memory (job_create, sched_finish) and in
 * the store (store version 2), so views copy them as they are.
 */
void
job_row_view(const struct store_row *r, struct msg_view *v)
{
	memset(v, 0, sizeof *v);
	v->id = r->id;
	v->kind = r->kind;
	v->name = r->name;
	v->queue = r->queue;
	v->owner = users_name(r->owner);
	v->priority = r->priority;
	v->state = r->state >= 0 && r->state < JOB_NSTATES ?
	    job_state_names[r->state] : "failed";
	v->attempts = r->attempts;
	v->submitted_at = r->submitted_at;
	v->started_at = r->started_at;
	v->finished_at = r->finished_at;
	v->args = r->args;
	v->result = r->result;
	v->error_code = r->error_code;
	v->error_message = r->error_message;
	v->compact = 1;
}

/* The job in memory as a protocol view; strings are borrowed from it. */
void
job_view(struct job *job, struct msg_view *v)
{
	struct store_row	 r;

	job_row(job, &r);
	job_row_view(&r, v);
	v->waiting_for = job_waiting_for(job);
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
