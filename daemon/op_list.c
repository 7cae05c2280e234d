/*
 * list: jobs newest first, filtered, paged with before_id; no results.
 * From the store (which has every job once the changes of this iteration
 * are written into its transaction), or from memory without a store.
 */
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"

#define OP_LIST_DEFAULT	100
/* A page: building a reply takes ~2.5 KB per job until it is sent. */
#define OP_LIST_MAX	10000

struct op_list {
	struct msg_out	*o;
	struct sched	*s;
};

/* The newest job older than before_id (0: the newest of all). */
static struct job *
op_list_first(struct sched *s, int64_t before_id)
{
	struct job	 find, *job;

	if (before_id == 0)
		return (RB_MAX(job_ids, &s->jobs));
	find.id = before_id;
	if ((job = RB_NFIND(job_ids, &s->jobs, &find)) == NULL)
		return (RB_MAX(job_ids, &s->jobs));
	return (RB_PREV(job_ids, &s->jobs, job));
}

static int
op_list_match(struct job *job, struct msg_request *req)
{
	if (req->state != NULL &&
	    strcmp(job_state_name(job->state), req->state) != 0)
		return (0);
	if (req->queue != NULL && strcmp(job->queue->name, req->queue) != 0)
		return (0);
	return (1);
}

static void
op_list_memory(struct sched *s, struct msg_request *req, int64_t limit,
    struct msg_out *o)
{
	struct msg_view	 v;
	struct job	*job;
	int64_t		 n = 0;

	for (job = op_list_first(s, req->before_id);
	    job != NULL && (limit == 0 || n < limit);
	    job = RB_PREV(job_ids, &s->jobs, job)) {
		if (!op_list_match(job, req))
			continue;
		job_view(job, &v);
		msg_out_view(o, NULL, &v, MSG_VIEW_ARGS);
		n++;
	}
}

/* A stored row, or the job itself while it is in memory (newer). */
static int
op_list_row_cb(struct store_row *r, void *arg)
{
	struct op_list	*ol = arg;
	struct msg_view	 v;
	struct job	*job;

	if ((job = sched_find(ol->s, r->id)) != NULL)
		job_view(job, &v);
	else
		row_view(r, &v);
	msg_out_view(ol->o, NULL, &v, MSG_VIEW_ARGS);
	return (0);
}

int
op_list(struct aiojobsd *aj, struct creq *cr)
{
	struct msg_request	*req = &cr->req;
	struct op_list		 ol;
	char			*cause = NULL;
	int64_t			 limit;
	int			 state = -1;

	limit = (req->present & MSG_F_LIMIT) ? req->limit : OP_LIST_DEFAULT;
	if (limit > OP_LIST_MAX) {
		control_error(cr, MSG_E_BAD_REQUEST, "field 'limit' is %lld; "
		    "at most %d jobs per page (page on with 'before_id')",
		    (long long)limit, OP_LIST_MAX);
		return (OP_DONE);
	}
	if (limit == 0)
		limit = OP_LIST_MAX;
	ol.o = msg_out_new();
	ol.s = aj->sched;
	msg_out_bool(ol.o, "ok", 1);
	msg_out_array(ol.o, "jobs");
	if (aj->sched->store == NULL)
		op_list_memory(aj->sched, req, limit, ol.o);
	else {
		if (req->state != NULL)
			state = job_state_by_name(req->state);
		if (persist_flush(aj->sched, &cause) != 0 ||
		    store_list(aj->sched->store, state, req->queue,
		    req->before_id, limit, op_list_row_cb, &ol) != 0) {
			msg_out_free(ol.o);
			control_error(cr, MSG_E_INTERNAL, "job store: %s",
			    cause != NULL ? cause : "cannot list");
			free(cause);
			return (OP_DONE);
		}
	}
	msg_out_close(ol.o);
	durable_reply_seen(aj, cr, msg_out_finish(ol.o, 0));
	return (OP_DONE);
}
