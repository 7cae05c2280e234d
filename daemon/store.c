/*
 * The job store's interface (store.h): picks the backend for a location
 * and hands every call to it. The meaning of each operation is written
 * here, once; a backend does what these comments promise.
 */
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "store.h"

/* The stored state numbers are the job's: one numbering, checked here. */
_Static_assert(STORE_NSTATES == JOB_NSTATES &&
    STORE_FIRST_FINAL == JOB_SUCCEEDED, "store.h's states are not the job's");

extern const struct store_backend store_sqlite_backend;

/* Adding a backend is one file and one line here. */
static const struct store_backend *const store_backends[] = {
	&store_sqlite_backend,
};

#define STORE_NBACKENDS	(sizeof store_backends / sizeof store_backends[0])

/*
 * The backend for a location: the one whose scheme starts it ("name:"),
 * else the one that takes a directory.
 */
static const struct store_backend *
store_backend_for(const char *where)
{
	const struct store_backend	*b, *dir = NULL;
	size_t				 i, len;

	for (i = 0; i < STORE_NBACKENDS; i++) {
		b = store_backends[i];
		if (b->scheme == NULL) {
			if (dir == NULL)
				dir = b;
			continue;
		}
		len = strlen(b->scheme);
		if (strncmp(where, b->scheme, len) == 0 && where[len] == ':')
			return (b);
	}
	return (dir);
}

/*
 * Open (or create) the store at where: a state directory, or a URL whose
 * scheme names a backend. safe: a commit is durable across a power loss,
 * not only across a crash of the daemon. A damaged store, or one written
 * by a newer aiojobsd, is refused with a cause saying what to do.
 */
struct store *
store_open(const char *where, int safe, char **cause)
{
	const struct store_backend	*b = store_backend_for(where);
	struct store			*st;

	if ((st = b->open(where, safe, cause)) != NULL)
		st->backend = b;
	return (st);
}

/* Close the store; an uncommitted batch is lost. */
void
store_close(struct store *st)
{
	if (st != NULL)
		st->backend->close(st);
}

/*
 * Write a new job's whole row into the batch; a row of the same id
 * written earlier in the batch is replaced.
 */
int
store_insert(struct store *st, const struct store_row *r, char **cause)
{
	return (st->backend->insert(st, r, cause));
}

/*
 * Record what changes in a stored job: its state, attempts, times,
 * result, error, group and tree (not its key, spec, args or owner).
 */
int
store_update(struct store *st, const struct store_row *r, char **cause)
{
	return (st->backend->update(st, r, cause));
}

/* Make the batch durable; on failure none of it is kept. */
int
store_commit(struct store *st, char **cause)
{
	return (st->backend->commit(st, cause));
}

/* A job by id: 1 and the row (clear it), 0 if there is none, -1 on error. */
int
store_get(struct store *st, int64_t id, struct store_row *r)
{
	return (st->backend->get(st, id, r));
}

/* A job by its owner's idempotency key, returning as store_get does. */
int
store_get_key(struct store *st, uid_t owner, const char *key,
    struct store_row *r)
{
	return (st->backend->get_key(st, owner, key, r));
}

/* Call cb for each queued or running job, in id order, until it stops. */
int
store_each_unfinished(struct store *st, store_row_cb *cb, void *arg)
{
	return (st->backend->each_unfinished(st, cb, arg));
}

/*
 * Call cb for jobs newest first, filtered by state (-1: any), queue
 * (NULL: any) and owner (-1: any), below before_id (0: from the newest),
 * at most limit (0: all), until it stops.
 */
int
store_list(struct store *st, int state, const char *queue, int64_t owner,
    int64_t before_id, int64_t limit, store_row_cb *cb, void *arg)
{
	return (st->backend->list(st, state, queue, owner, before_id, limit,
	    cb, arg));
}

/* Set counts to the number of stored jobs in each state. */
int
store_counts(struct store *st, int64_t counts[STORE_NSTATES])
{
	return (st->backend->counts(st, counts));
}

/*
 * Whether a member of task group gid ended failed: 1 if one did, 0 if
 * none, -1 on error.
 */
int
store_group_failed(struct store *st, int64_t gid)
{
	return (st->backend->group_failed(st, gid));
}

/* The highest id ever stored, its job cleaned or not; 0 for none. */
int64_t
store_max_id(struct store *st)
{
	return (st->backend->max_id(st));
}

/*
 * Delete, in the batch, at most limit final jobs that finished before
 * cutoff (state -1: any final state), those that finished first first;
 * returns how many, or -1. The highest id stays what it was.
 */
int64_t
store_clean(struct store *st, int64_t cutoff, int state, int64_t limit,
    char **cause)
{
	return (st->backend->clean(st, cutoff, state, limit, cause));
}

/* Keep a queue's settings (limit, rate, pause) in the batch. */
int
store_put_queue(struct store *st, const char *name, int64_t limit,
    double rate, int paused, char **cause)
{
	return (st->backend->put_queue(st, name, limit, rate, paused, cause));
}

/* Call cb for the kept settings of every queue. */
int
store_each_queue(struct store *st, store_queue_cb *cb, void *arg)
{
	return (st->backend->each_queue(st, cb, arg));
}

/* Free a row's strings; the row is empty afterwards. */
void
store_row_clear(struct store_row *r)
{
	free(r->key);
	free(r->spec);
	free(r->kind);
	free(r->name);
	free(r->queue);
	free(r->args);
	free(r->result);
	free(r->error_code);
	free(r->error_message);
	free(r->tree);
	memset(r, 0, sizeof *r);
}
