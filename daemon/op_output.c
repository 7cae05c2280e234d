/*
 * output: a slice of a job's output (an exec job's stdout or stderr, an
 * http job's body) by stream, offset and length, read from a running
 * job's capture buffer or a finished job's result. With timeout_ms a
 * request for bytes not written yet is held until they are, or the job
 * ends (wait.c): one op pages through a finished job's output and
 * follows a running one.
 */
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "outbuf.h"
#include "store.h"
#include "xmalloc.h"

/* Bytes per reply at most: as base64 (4 for 3) they stay under 1 MiB. */
#define OUTPUT_PAGE_MAX		(512 * 1024)

/* A job's output as it stands now: its bytes and where they are. */
struct output_now {
	const char	*buf;
	size_t		 base;		/* where in the stream buf starts */
	size_t		 kept;		/* bytes kept (max_output at most) */
	int64_t		 total;		/* bytes the job wrote */
	int		 final;		/* no byte will be added */
	char		*owned;		/* decoded from a result, or NULL */
};

/* The stream of kind named want (NULL: the kind's first), or NULL. */
static const char *
output_stream(const struct kind *kind, const char *want)
{
	size_t	 i;

	for (i = 0; kind != NULL && i < 3 && kind->streams[i] != NULL; i++) {
		if (want == NULL || strcmp(want, kind->streams[i]) == 0)
			return (kind->streams[i]);
	}
	return (NULL);
}

/*
 * The page asked for of a stream in a finished job's result (none: no
 * bytes): only that slice is decoded, as a page of a 64 MiB stream must
 * not cost the loop a parse of all of it.
 */
static void
output_result(const char *result, struct msg_request *req,
    struct output_now *on)
{
	struct msg_slice	 sl;

	if (result == NULL || msg_result_slice(result, req->stream,
	    (size_t)req->offset, (size_t)req->length, &sl) != 0)
		return;
	on->owned = sl.buf;
	on->buf = sl.buf;
	on->base = (size_t)req->offset;
	on->kept = sl.kept;
	on->total = sl.total;
}

/* Read the request's job output as it is now; -1 when the job is gone. */
static int
output_read(struct aiojobsd *aj, struct creq *cr, struct output_now *on)
{
	const struct outbuf	*ob = NULL;
	const struct kind	*kind;
	struct store_row	 row;
	struct job		*job;

	memset(on, 0, sizeof *on);
	if (!sched_lookup(aj->sched, cr->req.id, &job, &row))
		return (-1);
	if (job != NULL && !job_state_final(job->state)) {
		kind = job_kind(job);
		if (job->state == JOB_RUNNING && kind->output != NULL)
			ob = kind->output(job, cr->req.stream);
		if (ob != NULL) {
			on->buf = ob->buf;
			on->kept = ob->len;
			on->total = (int64_t)ob->total;
		}
		return (0);
	}
	on->final = 1;
	output_result(job != NULL ? job->result : row.result, &cr->req, on);
	store_row_clear(&row);
	return (0);
}

/* Whether a held request can be answered: its bytes are there, or none come. */
static int
output_ready(struct aiojobsd *aj, struct creq *cr)
{
	struct output_now	 on;
	int			 ready;

	if (output_read(aj, cr, &on) == -1)
		return (1);
	ready = on.final || on.kept > (size_t)cr->req.offset;
	free(on.owned);
	return (ready);
}

/* The reply: the slice from offset, and where the stream stands. */
static char *
output_reply(struct aiojobsd *aj, struct creq *cr)
{
	struct msg_request	*req = &cr->req;
	struct output_now	 on;
	struct msg_out		*o;
	size_t			 off = (size_t)req->offset, n = 0;

	if (output_read(aj, cr, &on) == -1)
		return (msg_error_reply(MSG_E_NOT_FOUND, "the job is gone"));
	if (off < on.kept)
		n = on.kept - off < (size_t)req->length ? on.kept - off :
		    (size_t)req->length;
	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	msg_out_int(o, "id", req->id);
	msg_out_string(o, "stream", req->stream);
	msg_out_int(o, "offset", req->offset);
	msg_out_int(o, "length", (int64_t)n);
	msg_out_output(o, "data", n > 0 ? on.buf + (off - on.base) : "", n);
	msg_out_int(o, "kept", (int64_t)on.kept);
	msg_out_int(o, "total", on.total);
	msg_out_bool(o, "final", on.final);
	msg_out_bool(o, "eof", on.final && off + n >= on.kept);
	free(on.owned);
	return (msg_out_finish(o, 0));
}

/* Check the job and stream, settle the defaults, then answer or hold. */
void
op_output(struct aiojobsd *aj, struct creq *cr)
{
	struct msg_request	*req = &cr->req;
	const struct kind	*kind;
	const char		*stream;
	struct store_row	 row;
	struct job		*job;
	int64_t			 timeout = 0;

	if (!sched_lookup(aj->sched, req->id, &job, &row)) {
		control_error(cr, MSG_E_NOT_FOUND, "no job with id %lld",
		    (long long)req->id);
		return;
	}
	kind = job != NULL ? job_kind(job) : kind_find(row.kind);
	store_row_clear(&row);
	if ((stream = output_stream(kind, req->stream)) == NULL) {
		if (req->stream != NULL)
			control_error(cr, MSG_E_BAD_REQUEST, "job %lld (%s) has "
			    "no output stream '%s'", (long long)req->id,
			    kind != NULL ? kind->name : "unknown kind",
			    req->stream);
		else
			control_error(cr, MSG_E_BAD_REQUEST, "job %lld (%s) "
			    "keeps no output", (long long)req->id,
			    kind != NULL ? kind->name : "unknown kind");
		return;
	}
	free(req->stream);
	req->stream = xstrdup(stream);
	if (!(req->present & MSG_F_LENGTH) || req->length > OUTPUT_PAGE_MAX)
		req->length = OUTPUT_PAGE_MAX;
	if (req->present & MSG_F_TIMEOUT_MS)
		timeout = req->timeout_ms;
	wait_hold_output(aj, cr, req->id, timeout, output_ready, output_reply);
}
