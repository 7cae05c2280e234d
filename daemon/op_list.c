/*
 * list: jobs newest first, filtered, paged with before_id; no results. A
 * page ends at limit jobs, or sooner when the reply would pass 1 MiB
 * less room for the rest: then next_before_id says where to go on.
 * From the store (which has every job once the changes of this iteration
 * are written into its transaction), or from memory without a store.
 */
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "store.h"
#include "users.h"

#define OP_LIST_DEFAULT	100
/* A page: building a reply takes ~2.5 KB per job until it is sent. */
#define OP_LIST_MAX	10000

struct op_list {
	struct msg_out	*o;
	struct sched	*s;
	size_t		 n;		/* views in the reply */
	int64_t		 last_id;	/* of the last one */
	int64_t		 owner;		/* whose jobs, -1: everyone's */
	int		 cut;		/* full: a view was left out */
};

/*
 * Add a view unless the reply would grow past MSG_REPLY_VIEWS_MAX (the
 * first view always goes in): 0, or 1 when the page is full.
 */
static int
op_list_add(struct op_list *ol, const struct msg_view *v)
{
	char	*text;

	text = msg_view_encode(v, MSG_VIEW_ARGS);
	if (ol->n > 0 &&
	    msg_out_len(ol->o) + strlen(text) > MSG_REPLY_VIEWS_MAX) {
		free(text);
		ol->cut = 1;
		return (1);
	}
	msg_out_json(ol->o, NULL, text);
	free(text);
	ol->n++;
	ol->last_id = v->id;
	return (0);
}

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
op_list_match(struct op_list *ol, struct job *job, struct msg_request *req)
{
	if (ol->owner != -1 && job->owner != (uid_t)ol->owner)
		return (0);
	if (req->state != NULL &&
	    strcmp(job_state_name(job->state), req->state) != 0)
		return (0);
	if (req->queue != NULL && strcmp(job->queue->name, req->queue) != 0)
		return (0);
	return (1);
}

static void
op_list_memory(struct op_list *ol, struct msg_request *req, int64_t limit)
{
	struct sched	*s = ol->s;
	struct msg_view	 v;
	struct job	*job;

	for (job = op_list_first(s, req->before_id);
	    job != NULL && (limit == 0 || (int64_t)ol->n < limit);
	    job = RB_PREV(job_ids, &s->jobs, job)) {
		if (!op_list_match(ol, job, req))
			continue;
		job_view(job, &v);
		if (op_list_add(ol, &v) != 0)
			break;
	}
}

/* A stored row, or the job itself while it is in memory (newer). */
static int
op_list_row_cb(struct store_row *r, void *arg)
{
	struct op_list	*ol = arg;
	struct msg_view	 v;
	struct job	*job;

	if ((job = sched_lookup_job(ol->s, r->id)) != NULL)
		job_view(job, &v);
	else
		job_row_view(r, &v);
	return (op_list_add(ol, &v));
}

/*
 * Whose jobs to list: the sender's own, unless an admin asks for all
 * (no owner) or for one user's. 0, or -1 with the error sent.
 */
static int
op_list_owner(struct aiojobsd *aj, struct creq *cr, int64_t *owner)
{
	uid_t	 uid;

	*owner = cr->admin ? -1 : (int64_t)cr->uid;
	if (cr->req.owner == NULL)
		return (0);
	if (users_parse(cr->req.owner, &uid) != 0) {
		control_error(cr, MSG_E_BAD_REQUEST, "field 'owner': no user "
		    "'%s'", cr->req.owner);
		return (-1);
	}
	if (!cr->admin && uid != cr->uid) {
		control_error(cr, MSG_E_FORBIDDEN, "%s may list only their own "
		    "jobs, not those of %s", users_name(cr->uid),
		    users_name(uid));
		return (-1);
	}
	*owner = uid;
	return (0);
}

void
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
		return;
	}
	if (limit == 0)
		limit = OP_LIST_MAX;
	memset(&ol, 0, sizeof ol);
	if (op_list_owner(aj, cr, &ol.owner) != 0)
		return;
	ol.o = msg_out_new();
	ol.s = aj->sched;
	msg_out_bool(ol.o, "ok", 1);
	msg_out_array(ol.o, "jobs");
	if (aj->sched->store == NULL)
		op_list_memory(&ol, req, limit);
	else {
		if (req->state != NULL)
			state = job_state_by_name(req->state);
		if (persist_flush(aj->sched, &cause) != 0 ||
		    store_list(aj->sched->store, state, req->queue, ol.owner,
		    req->before_id, limit, op_list_row_cb, &ol) != 0) {
			msg_out_free(ol.o);
			control_error(cr, MSG_E_INTERNAL, "job store: %s",
			    cause != NULL ? cause : "cannot list");
			free(cause);
			return;
		}
	}
	msg_out_close(ol.o);
	if (ol.cut)	/* the cursor: go on before the last job sent */
		msg_out_int(ol.o, "next_before_id", ol.last_id);
	durable_reply_seen(aj, cr, msg_out_finish(ol.o, 0));
}
