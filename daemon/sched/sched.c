/*
 * The scheduler: owns every job from submit on. Delays, retries, pauses,
 * limits and rates all come down to one question answered in sched_pump:
 * which ready job starts next. Starts happen in a deferred event so that a
 * burst of submits or finishes is handled in one pass.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "aiojobsd.h"
#include "log.h"
#include "sched_parts.h"
#include "store.h"
#include "xmalloc.h"

static void	sched_pump_cb(int, short, void *);
static void	sched_add_links(struct job *, struct msg_spec *);
static void	sched_add_key(struct job *);
static void	sched_timer_cb(int, short, void *);
static void	sched_final(struct job *);
static void	sched_release_lock(struct job *);
static void	sched_forget_lock(struct job *);

struct sched *
sched_create(struct event_base *base, int64_t limit, int64_t pending_limit)
{
	struct sched	*s;

	s = xcalloc(1, sizeof *s);
	s->base = base;
	s->limit = limit;
	s->pending_limit = pending_limit;
	s->next_id = 1;
	s->now = now_ms;
	s->kill_grace_ms = 5000;
	RB_INIT(&s->jobs);
	s->keys = keys_create();
	RB_INIT(&s->queues);
	TAILQ_INIT(&s->running);
	TAILQ_INIT(&s->finals);
	s->locks = locks_create();
	s->groups = groups_create();
	s->pump = event_new(base, -1, 0, sched_pump_cb, s);
	return (s);
}

/* Free everything; running jobs are stopped without telling anyone. */
void
sched_free(struct sched *s)
{
	struct job	*job, *jnext;
	struct queue	*q, *qnext;
	size_t		 i;

	if (s == NULL)
		return;
	s->change_cb = NULL;
	s->draining = 1;
	while ((job = TAILQ_FIRST(&s->running)) != NULL) {
		sched_cancel(job, "daemon stopped");
		if (TAILQ_FIRST(&s->running) == job)
			TAILQ_REMOVE(&s->running, job, run_entry);
	}
	RB_FOREACH_SAFE(job, job_ids, &s->jobs, jnext) {
		RB_REMOVE(job_ids, &s->jobs, job);
		if (job->timer != NULL)
			event_free(job->timer);
		deps_free(job);
		group_unref(job);
		job_free(job);
	}
	for (i = 0; i < s->ndirty; i++)
		free(s->dirty[i].spec);
	free(s->dirty);
	locks_free(s->locks);
	groups_free(s->groups);
	keys_free(s->keys);
	RB_FOREACH_SAFE(q, queues, &s->queues, qnext) {
		RB_REMOVE(queues, &s->queues, q);
		queue_free(q);
	}
	event_free(s->pump);
	free(s);
}

void
sched_set_change_cb(struct sched *s, sched_change_cb *cb, void *arg)
{
	s->change_cb = cb;
	s->change_arg = arg;
}

/* Who hears that a running job wrote output (held output requests). */
void
sched_set_output_cb(struct sched *s, sched_output_cb *cb, void *arg)
{
	s->output_cb = cb;
	s->output_arg = arg;
}

static struct job *
sched_find_key(struct sched *s, uid_t owner, const char *key)
{
	return (keys_find(s->keys, owner, key));
}

/*
 * The text of the spec a job in memory was submitted with: the store's
 * once its row is committed (row filled; clear it), else its new row's,
 * or without a store the copy after its key.
 */
static const char *
sched_key_spec(struct sched *s, struct job *job, struct store_row *row)
{
	size_t	 i;

	memset(row, 0, sizeof *row);
	if (s->store == NULL)
		return (job->key + strlen(job->key) + 1);
	if (job->stored)
		return (store_get_key(s->store, job->owner, job->key, row) == 1 ?
		    row->spec : "");
	for (i = 0; i < s->ndirty; i++) {
		if (s->dirty[i].job == job)
			return (s->dirty[i].spec);
	}
	return ("");
}

/* The queue of a name; created on first use when create is set. */
struct queue *
sched_queue(struct sched *s, const char *name, int create)
{
	struct queue	 find, *q;

	find.name = (char *)name;
	if ((q = RB_FIND(queues, &s->queues, &find)) != NULL || !create)
		return (q);
	q = queue_create(s, name, s->pump);
	RB_INSERT(queues, &s->queues, q);
	s->nqueues++;
	return (q);
}

int64_t
sched_queued(struct sched *s)
{
	return (s->counts[JOB_QUEUED]);
}

/* Start the deferred pass that starts ready jobs. */
void
sched_kick(struct sched *s)
{
	event_active(s->pump, EV_TIMEOUT, 1);
}

static void
sched_timer_add(struct job *job, int64_t ms)
{
	struct timeval	 tv;

	/* libevent counts from its cached loop time, maybe stale: refresh */
	event_base_update_cache_time(job->queue->sched->base);
	if (job->timer == NULL)
		job->timer = evtimer_new(job->queue->sched->base,
		    sched_timer_cb, job);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(job->timer, &tv);
}

static void
sched_timer_del(struct job *job)
{
	if (job->timer != NULL) {
		event_free(job->timer);
		job->timer = NULL;
	}
}

/*
 * Put a queued job in its queue's ready set if nothing holds it back:
 * its commit (durability safe), dependencies, a lock, a delay or
 * back-off that has not passed.
 */
void
sched_maybe_ready(struct job *job)
{
	if (job->state != JOB_QUEUED || job->ready || job_uncommitted(job) ||
	    (job->more != NULL && job->more->deps_left > 0) ||
	    job->lock_waiting || (job->timer != NULL &&
	    evtimer_pending(job->timer, NULL)))
		return;
	queue_push(job->queue, job);
	sched_kick(job->queue->sched);
}

/* Make a queued job ready at a time of the protocol's clock (ms). */
void
sched_ready_at(struct job *job, int64_t when)
{
	int64_t	 ms = when - job->queue->sched->now();

	job->not_before = when;
	if (ms > 0)
		sched_timer_add(job, ms);
	else
		sched_maybe_ready(job);
}

/* Make a queued job ready now, or after ms. */
static void
sched_ready_after(struct job *job, int64_t ms)
{
	sched_ready_at(job, job->queue->sched->now() + ms);
}

/*
 * Queues live until the daemon stops (and in the store): a client making
 * up a new name per job must not grow that set without bound.
 */
int
sched_queue_allowed(struct sched *s, const char *name, struct msg_error *err)
{
	if (s->nqueues < SCHED_QUEUES_MAX || sched_queue(s, name, 0) != NULL)
		return (1);
	msg_error_set(err, MSG_E_BAD_REQUEST, "queue '%s' would be queue "
	    "number %d; at most %d queues exist at once", name,
	    SCHED_QUEUES_MAX + 1, SCHED_QUEUES_MAX);
	return (0);
}

/* Check one spec of a submit. */
static int
sched_check_one(struct sched *s, struct msg_spec *spec, struct msg_error *err)
{
	const struct kind	*kind;

	if ((kind = kind_find(spec->kind)) == NULL) {
		msg_error_set(err, MSG_E_UNKNOWN_KIND, "unknown kind '%s'",
		    spec->kind);
		return (-1);
	}
	if ((kind->usable != NULL && !kind->usable(s, err)) ||
	    !sched_queue_allowed(s, spec->queue, err) ||
	    kind->validate(spec->args, err) != 0)
		return (-1);
	return (deps_check(s, spec, "", err));
}

/*
 * Check spec i of a submit of n; the message names its place in a
 * batch, written only when there is a message.
 */
static int
sched_check_spec(struct sched *s, struct msg_spec *specs, size_t i,
    size_t n, struct msg_error *err)
{
	char	 where[48];

	if (sched_check_one(s, &specs[i], err) == 0)
		return (0);
	if (n > 1) {
		snprintf(where, sizeof where, " (in jobs[%zu])", i);
		msg_error_append(err, where);
	}
	return (-1);
}

static int
sched_key_order(const void *a, const void *b, void *arg)
{
	const struct msg_spec	*specs = arg;
	const struct msg_spec	*x = &specs[*(const size_t *)a];
	const struct msg_spec	*y = &specs[*(const size_t *)b];
	int			 c;

	if (x->owner != y->owner)
		return (x->owner < y->owner ? -1 : 1);
	if ((c = strcmp(x->key, y->key)) != 0)
		return (c);
	return (*(const size_t *)a < *(const size_t *)b ? -1 : 1);
}

/*
 * For each spec of a batch, the index of the first one before it with
 * the same owner and key, or -1. Sorting finds them in n log n; comparing
 * each key with all before it took n² compares, a sixth of the CPU of a
 * batch of 1,000 keyed jobs.
 */
static ssize_t *
sched_batch_dups(struct msg_spec *specs, size_t n)
{
	ssize_t	*dup;
	size_t	*order, i, k = 0;

	dup = xcalloc(n, sizeof *dup);
	order = xcalloc(n, sizeof *order);
	for (i = 0; i < n; i++) {
		dup[i] = -1;
		if (specs[i].key != NULL)
			order[k++] = i;
	}
	qsort_r(order, k, sizeof *order, sched_key_order, specs);
	for (i = 1; i < k; i++) {
		if (specs[order[i]].owner == specs[order[i - 1]].owner &&
		    strcmp(specs[order[i]].key, specs[order[i - 1]].key) == 0)
			dup[order[i]] = dup[order[i - 1]] != -1 ?
			    dup[order[i - 1]] : (ssize_t)order[i - 1];
	}
	free(order);
	return (dup);
}

/*
 * Look up a spec's key: 0 when new, 1 with *id when the same spec was
 * submitted with it before, 2 with *id the index of the spec earlier in
 * the batch (dup[i]) with the same key and text, -1 (conflict) when
 * another spec was. The canonical text of a spec with a key is left in
 * texts[i].
 */
static int
sched_check_key(struct sched *s, struct msg_spec *specs, char **texts,
    const ssize_t *dup, size_t i, int64_t *id, struct msg_error *err)
{
	struct store_row row;
	struct job	*job;
	char		*text;
	int		 r = 0;

	if (specs[i].key == NULL)
		return (0);
	text = texts[i] = msg_spec_store_text(&specs[i]);
	if ((job = sched_find_key(s, specs[i].owner, specs[i].key)) != NULL) {
		r = msg_spec_same(sched_key_spec(s, job, &row), text) ? 1 : -1;
		*id = job->id;
		store_row_clear(&row);
	} else if (s->store != NULL &&
	    store_get_key(s->store, specs[i].owner, specs[i].key, &row) == 1) {
		r = msg_spec_same(row.spec, text) ? 1 : -1;
		*id = row.id;
		store_row_clear(&row);
	}
	if (r == 0 && dup[i] != -1) {
		r = strcmp(texts[dup[i]], text) == 0 ? 2 : -1;
		*id = dup[i];
	}
	if (r == -1)
		msg_error_set(err, MSG_E_CONFLICT, "key '%s' was used for a "
		    "different job", specs[i].key);
	return (r);
}

/*
 * "join": the id of the task group that job join is in (*gid), if the
 * submitter owns that job and no member of the group has failed. The
 * group may have left memory with its last running member: the store
 * then says whether one failed.
 */
static int
sched_check_join(struct sched *s, uid_t owner, int64_t join, int64_t *gid,
    struct msg_error *err)
{
	struct store_row	 row;
	struct job		*job;
	uid_t			 o;
	int			 r;

	if (sched_lookup_owner(s, join, &o) == -1 ||
	    sched_lookup(s, join, &job, &row) != 1) {
		msg_error_set(err, MSG_E_NOT_FOUND, "field 'join': no job with "
		    "id %lld", (long long)join);
		return (-1);
	}
	*gid = job != NULL ? job_group_id(job) : row.group_id;
	store_row_clear(&row);
	if (o != owner) {
		msg_error_set(err, MSG_E_FORBIDDEN, "field 'join': job %lld "
		    "belongs to another user", (long long)join);
		return (-1);
	}
	if (*gid == 0) {
		msg_error_set(err, MSG_E_BAD_REQUEST, "field 'join': job %lld "
		    "is not in a task group", (long long)join);
		return (-1);
	}
	if ((r = group_joinable(s->groups, *gid)) == 0 && s->store != NULL) {
		if ((r = store_group_failed(s->store, *gid)) == -1) {
			msg_error_set(err, MSG_E_INTERNAL, "job store: cannot "
			    "read the members of task group %lld",
			    (long long)*gid);
			return (-1);
		}
		r = r == 1 ? -1 : 1;
	}
	if (r == -1) {
		msg_error_set(err, MSG_E_CONFLICT, "field 'join': a member of "
		    "the task group of job %lld failed: the group takes no "
		    "new members", (long long)join);
		return (-1);
	}
	return (0);
}

/*
 * A new job of a spec; keyspec is the canonical text of a keyed spec
 * (owned from here on), NULL otherwise.
 */
static struct job *
sched_add(struct sched *s, struct msg_spec *spec, char *keyspec)
{
	struct job	*job;

	job = job_create(s, spec, kind_find(spec->kind),
	    sched_queue(s, spec->queue, 1), s->store == NULL ? keyspec : NULL);
	job->id = s->next_id++;
	RB_INSERT(job_ids, &s->jobs, job);
	sched_add_key(job);
	s->counts[JOB_QUEUED]++;
	job->queue->nqueued++;
	/* the store's copy of the spec, kept only until it is committed */
	if (s->store != NULL && keyspec == NULL)
		keyspec = msg_spec_store_text(spec);
	persist_mark_new(job, s->store != NULL ? keyspec : NULL);
	if (s->store == NULL)
		free(keyspec);
	if (s->change_cb != NULL)
		s->change_cb(job, -1, s->change_arg);
	sched_add_links(job, spec);
	sched_link_deps(job);
	if (job->state == JOB_QUEUED)
		sched_ready_after(job, spec->delay_ms);
	return (job);
}

/* A job of the store back in memory, as it was (recover.c). */
struct job *
sched_restore(struct sched *s, struct msg_spec *spec, struct store_row *r)
{
	struct job	*job;

	spec->owner = r->owner;
	job = job_create(s, spec, kind_find(spec->kind),
	    sched_queue(s, spec->queue, 1), NULL);
	job->id = r->id;
	job->attempts = r->attempts;
	job->submitted_at = r->submitted_at;
	job->started_at = r->started_at;
	job->not_before = r->not_before > 0 ? r->not_before : 0;
	if (r->group_id != 0)
		job_more(job)->group_id = r->group_id;
	job->stored = 1;
	RB_INSERT(job_ids, &s->jobs, job);
	sched_add_key(job);
	s->counts[JOB_QUEUED]++;
	job->queue->nqueued++;
	sched_add_links(job, spec);
	return (job);
}

/* A keyed job joins the set of keys. */
static void
sched_add_key(struct job *job)
{
	if (job->key != NULL)
		keys_add(job->queue->sched->keys, job_key_entry(job));
}

/* What a job keeps of its spec for dependencies and locks. */
static void
sched_add_links(struct job *job, struct msg_spec *spec)
{
	struct job_more	*m;

	if (spec->nafter > 0) {
		m = job_more(job);
		m->after = xcalloc(spec->nafter, sizeof *m->after);
		memcpy(m->after, spec->after, spec->nafter * sizeof *m->after);
		m->nafter = spec->nafter;
	}
	if (spec->lock != NULL)
		job_more(job)->lock_name = xstrdup(spec->lock);
}

/*
 * Submit a batch of specs, all or nothing. ids receives the id of each
 * spec: a new job, or the earlier job of the same idempotency key.
 */
int
sched_submit(struct sched *s, struct msg_spec *specs, size_t n, int group,
    int64_t join, int64_t *ids, struct msg_error *err)
{
	struct job	**made;
	char		**texts;
	ssize_t		 *dup;
	int		 *reuse;
	int64_t		  gid = 0;
	size_t		  i, fresh = 0, nmade = 0;
	int		  r = -1;

	reuse = xcalloc(n, sizeof *reuse);
	texts = xcalloc(n, sizeof *texts);
	dup = sched_batch_dups(specs, n);
	if (join != 0 && sched_check_join(s, specs[0].owner, join, &gid,
	    err) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (sched_check_spec(s, specs, i, n, err) != 0)
			goto out;
		if ((reuse[i] = sched_check_key(s, specs, texts, dup, i,
		    &ids[i], err)) == -1)
			goto out;
		if (reuse[i] == 0)
			fresh++;
	}
	if (s->pending_limit != 0 && (int64_t)fresh > s->pending_limit) {
		msg_error_set(err, MSG_E_QUEUE_FULL, "a batch of %zu new jobs "
		    "can never fit: the pending limit is %lld "
		    "(pending_limit); split the batch", fresh,
		    (long long)s->pending_limit);
		goto out;
	}
	if (s->pending_limit != 0 &&
	    sched_queued(s) + (int64_t)fresh > s->pending_limit) {
		msg_error_set(err, MSG_E_QUEUE_FULL, "%lld jobs are queued, the "
		    "pending limit is %lld; retry later",
		    (long long)sched_queued(s), (long long)s->pending_limit);
		goto out;
	}
	made = xcalloc(n, sizeof *made);
	for (i = 0; i < n; i++) {
		if (reuse[i] == 0) {
			made[nmade] = sched_add(s, &specs[i], texts[i]);
			texts[i] = NULL;
			ids[i] = made[nmade++]->id;
		} else if (reuse[i] == 2)
			ids[i] = ids[ids[i]];
	}
	if (group && nmade > 0)
		group_create(s->groups, made, nmade);
	else if (gid != 0 && nmade > 0)
		group_join(s->groups, gid, made, nmade);
	free(made);
	r = 0;
out:
	for (i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	free(dup);
	free(reuse);
	return (r);
}

/* A job becomes running; its kind starts it, or has already. */
static void
sched_running(struct job *job)
{
	struct sched	*s = job->queue->sched;

	queue_take_token(job->queue);
	job->attempts++;
	TAILQ_INSERT_TAIL(&s->running, job, run_entry);
	sched_set_state(job, JOB_RUNNING);
	if (job_timeout_ms(job) > 0)
		sched_timer_add(job, job_timeout_ms(job));
}

static void
sched_start(struct job *job)
{
	sched_running(job);
	job_kind(job)->start(job);
}

/*
 * A job its kind held (kind->hold) has started there: it is running from
 * now. A pause since it was handed over does not stop it, as it does not
 * stop a running job. -1 if it may not start any more (the daemon is
 * stopping); the kind then stops it and gives it back (sched_unhold).
 */
int
sched_start_held(struct job *job)
{
	if (job->queue->sched->draining || job->state != JOB_QUEUED)
		return (-1);
	sched_running(job);
	return (0);
}

/* A held job did not start: it goes back to its queue. */
void
sched_unhold(struct job *job)
{
	sched_release_lock(job);
	sched_maybe_ready(job);
}

/* A queued job leaves for good: its kind lets go of it if it holds it. */
static void
sched_drop_held(struct job *job)
{
	if (job->kdata != NULL && job_kind(job)->drop != NULL)
		job_kind(job)->drop(job);
}

/* The best startable job over all queues: priority, then submission. */
static struct job *
sched_next(struct sched *s)
{
	struct queue	*q;
	struct job	*head, *best = NULL;

	RB_FOREACH(q, queues, &s->queues) {
		if ((head = queue_next(q)) == NULL)
			continue;
		if (best == NULL || job_ready_cmp(head, best) < 0)
			best = head;
	}
	return (best);
}

static void
sched_pump_cb(int fd, short events, void *arg)
{
	struct sched	*s = arg;
	struct job	*job;

	while (!s->draining && (s->limit == 0 ||
	    s->counts[JOB_RUNNING] < s->limit)) {
		if ((job = sched_next(s)) == NULL)
			break;
		queue_remove(job->queue, job);
		if (!lock_acquire(job))
			continue;
		if (job_kind(job)->hold == NULL || !job_kind(job)->hold(job))
			sched_start(job);
	}
}

/* A delay or retry backoff ended, or a running job timed out. */
static void
sched_timer_cb(int fd, short events, void *arg)
{
	struct job	*job = arg;
	int64_t		 left;

	if (job->state == JOB_QUEUED) {
		/* never start early by the clock the protocol reports */
		if ((left = job->not_before - job->queue->sched->now()) > 0)
			sched_timer_add(job, left);
		else
			sched_maybe_ready(job);
		return;
	}
	if (job->state != JOB_RUNNING || job->stop != JOB_STOP_NONE)
		return;
	log_info("job %lld: timed out after %lld ms", (long long)job->id,
	    (long long)job_timeout_ms(job));
	job->stop = JOB_STOP_TIMEOUT;
	job_kind(job)->cancel(job);
}

/*
 * Cancel a job: a queued one at once; a running one is stopped by its kind,
 * which then finishes it (at once or later). Final jobs stay as they are.
 */
void
sched_cancel(struct job *job, const char *reason)
{
	if (job->state == JOB_QUEUED) {
		sched_drop_held(job);
		sched_timer_del(job);
		queue_remove(job->queue, job);
		sched_forget_lock(job);
		job_set_error(job, "cancelled", "%s", reason);
		sched_set_state(job, JOB_CANCELLED);
		return;
	}
	if (job->state != JOB_RUNNING || job->stop != JOB_STOP_NONE)
		return;
	job->stop = JOB_STOP_CANCEL;
	free(job_more(job)->stop_reason);
	job->more->stop_reason = xstrdup(reason);
	job_kind(job)->cancel(job);
}

/* The wait before the next retry: retry k waits backoff * 2^(k-1). */
int64_t
sched_backoff_ms(struct job *job)
{
	int64_t	 ms = job->more != NULL ? job->more->retry_backoff_ms : 0;
	int64_t	 k;

	for (k = 1; k < job->attempts && ms < INT64_MAX / 4; k++)
		ms *= 2;
	return (ms);
}

/* Retry a failed job after its backoff. */
static void
sched_retry(struct job *job)
{
	int64_t	 ms = sched_backoff_ms(job);

	log_info("job %lld: attempt %lld failed (%s), retrying in %lld ms",
	    (long long)job->id, (long long)job->attempts,
	    job->more != NULL ? job->more->error_code : NULL, (long long)ms);
	job_set_result(job, NULL);
	job_set_error(job, NULL, NULL);
	sched_set_state(job, JOB_QUEUED);
	sched_ready_after(job, ms);
}

/*
 * A running job's kind has finished it (sched_finish). A stop the
 * scheduler asked for decides the final state; a failure with retries left
 * requeues.
 */
static void
sched_finished(struct job *job, int state)
{
	struct sched	*s = job->queue->sched;

	sched_timer_del(job);
	TAILQ_REMOVE(&s->running, job, run_entry);
	sched_release_lock(job);
	if (job->stop == JOB_STOP_CANCEL) {
		state = JOB_CANCELLED;
		job_set_error(job, "cancelled", "%s", job->more->stop_reason);
	} else if (job->stop == JOB_STOP_TIMEOUT) {
		state = JOB_FAILED;
		job_set_error(job, "timeout", "timed out after %lld ms",
		    (long long)job_timeout_ms(job));
	}
	job->stop = JOB_STOP_NONE;
	if (state == JOB_FAILED && job->attempts <= job_retries(job))
		sched_retry(job);
	else
		sched_set_state(job, state);
	sched_kick(s);
}

/*
 * What a kind calls when a running job has ended: the state it reached,
 * its result (JSON text or NULL) and an error code and message for failures.
 * Views copy the result as it is, so it must be compact JSON as msg_out or
 * msg_json_compact writes it; so are args (cJSON's print, msg_spec_parse).
 */
void
sched_finish(struct job *job, int state, const char *result,
    const char *code, const char *fmt, ...)
{
	va_list	 ap;

	job_set_result(job, result);
	va_start(ap, fmt);
	job_vset_error(job, code, fmt, ap);
	va_end(ap);
	sched_finished(job, state);
}

/* Fail a queued job without running it: dependency dep failed or is gone. */
static void
sched_fail_dependency(struct job *job, int64_t dep, int state)
{
	sched_drop_held(job);
	sched_timer_del(job);
	queue_remove(job->queue, job);
	sched_forget_lock(job);
	job_set_error(job, "dependency_failed", "dependency %lld %s",
	    (long long)dep, state == JOB_FAILED ? "failed" :
	    state == JOB_CANCELLED ? "was cancelled" : "is gone");
	sched_set_state(job, JOB_FAILED);
}

/*
 * Link a queued job to its unfinished dependencies (at submit, and at
 * recovery once every job is back); one that already failed, was
 * cancelled or is gone fails the job at once.
 */
void
sched_link_deps(struct job *job)
{
	int64_t	 dep;
	int	 state;

	if (deps_link(job, &dep, &state) != 0)
		sched_fail_dependency(job, dep, state);
}

/*
 * The job's lock is free again: the best job waiting for it goes back to
 * its queue.
 */
static void
sched_release_lock(struct job *job)
{
	struct job	*next;

	if ((next = lock_release(job)) != NULL)
		sched_maybe_ready(next);
}

/* A queued job that waited for its lock, or held it, lets go of it. */
static void
sched_forget_lock(struct job *job)
{
	struct job	*next;

	if ((next = lock_forget(job)) != NULL)
		sched_maybe_ready(next);
}

/*
 * Move a job to a new state and do what follows: write its row at the
 * next commit, tell the listener (events, metrics, waits), and settle
 * what depended on a job that became final.
 */
void
sched_set_state(struct job *job, int state)
{
	struct sched	*s = job->queue->sched;
	int		 old = job->state;

	job_set_state(job, state);
	persist_mark(job);
	if (s->change_cb != NULL)
		s->change_cb(job, old, s->change_arg);
	if (job_state_final(state))
		sched_final(job);
}

/* A member of job's group failed: cancel the rest of the group. */
static void
sched_cancel_group(struct job *job)
{
	struct job	*other;
	const int64_t	*ids;
	char		 reason[96];
	size_t		 i, n;

	log_info("job %lld failed: cancelling the rest of its group",
	    (long long)job->id);
	snprintf(reason, sizeof reason, "group member %lld failed",
	    (long long)job->id);
	ids = group_ids(job, &n);
	for (i = 0; i < n; i++) {
		other = sched_lookup_job(job->queue->sched, ids[i]);
		if (other != NULL && other != job)
			sched_cancel(other, reason);
	}
}

/*
 * A job became final: settle what depends on it (dependents, its task
 * group). Settling can make more jobs final; they are queued and settled
 * in this loop, never by recursion, however long a chain is.
 */
static void
sched_final(struct job *job)
{
	struct sched	*s = job->queue->sched;
	struct job	*next;
	int		 ready;

	TAILQ_INSERT_TAIL(&s->finals, job, run_entry);
	if (s->resolving)
		return;
	s->resolving = 1;
	while ((job = TAILQ_FIRST(&s->finals)) != NULL) {
		TAILQ_REMOVE(&s->finals, job, run_entry);
		while ((next = deps_next(job, &ready)) != NULL) {
			if (job->state != JOB_SUCCEEDED)
				sched_fail_dependency(next, job->id, job->state);
			else if (ready)
				sched_maybe_ready(next);
		}
		if (group_member_final(job))
			sched_cancel_group(job);
	}
	s->resolving = 0;
}

/* A finished job leaves memory (it is in the store). */
static void
sched_forget(struct job *job)
{
	struct sched	*s = job->queue->sched;

	RB_REMOVE(job_ids, &s->jobs, job);
	if (job->key != NULL)
		keys_remove(s->keys, job_key_entry(job));
	if (job->timer != NULL)
		event_free(job->timer);
	deps_free(job);
	group_unref(job);
	job_free(job);
}

/*
 * A job's row is committed: a finished job leaves memory, and a new one
 * may start now (durability safe holds it until then).
 */
static void
sched_committed(struct job *job)
{
	if (job_state_final(job->state)) {
		sched_forget(job);
		return;
	}
	if (!job->stored) {
		job->stored = 1;	/* from now on, updates only */
		if (job->queue->sched->start_stored)
			sched_maybe_ready(job);
	}
}

/*
 * Write the changed jobs and commit them (once per loop iteration,
 * durable.c). On failure they stay marked for the next try.
 */
int
sched_commit(struct sched *s, char **cause)
{
	return (persist_commit(s, sched_committed, cause));
}

/* Start nothing new from now on. */
void
sched_drain(struct sched *s)
{
	s->draining = 1;
}

/*
 * Cancel every running job, shielded ones too unless skip_shield is set.
 * Returns how many jobs are still running afterwards.
 */
int
sched_cancel_running(struct sched *s, int skip_shield, const char *reason)
{
	struct job	*job, *next;
	int		 left = 0;

	TAILQ_FOREACH_SAFE(job, &s->running, run_entry, next) {
		if (!skip_shield || !job->shield)
			sched_cancel(job, reason);
	}
	TAILQ_FOREACH(job, &s->running, run_entry)
		left++;
	return (left);
}
