/*
 * libFuzzer harness: a control request decoded as ops_dispatch decodes it,
 * each spec of a submit checked by its kind as sched_check_spec does, and
 * the replies built from the outcome (error reply, ids, job views), which
 * are then read back as a client would. No socket, no event loop.
 *
 * Besides crashes and leaks it checks two promises of the protocol and
 * aborts when one breaks: every reply is one UTF-8 JSON object, and a
 * spec survives msg_spec_encode / msg_spec_parse unchanged (the store and
 * idempotency keys compare that text).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "exec_args.h"
#include "http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char *fuzz_environ[] = {
	"PATH=/usr/bin:/bin", "HOME=/root", "NOTIFY_SOCKET=/run/notify",
	"WATCHDOG_USEC=1000", NULL
};

/* An owner's variables, as a root daemon adds them (runas.c). */
static char *fuzz_ident[] = {
	"HOME=/home/alice", "USER=alice", "LOGNAME=alice", NULL
};

/* Abort, so libFuzzer keeps the input, when a promise is broken. */
static void
fuzz_fail(const char *what, const char *why, const char *text)
{
	fprintf(stderr, "fuzz_request: %s: %s\n%s\n", what, why, text);
	abort();
}

/* A reply must be what a client can read: one UTF-8 JSON object. */
static void
fuzz_check_reply(char *reply)
{
	struct msg_in		*in, *job;
	struct msg_error	 err;
	struct msg_view		 v;

	if ((in = msg_in_parse(reply, strlen(reply), &err)) == NULL)
		fuzz_fail("a reply clients cannot read", err.message, reply);
	if ((job = msg_in_object(in, "job")) != NULL)
		msg_in_view(job, &v);
	msg_in_free(in);
	free(reply);
}

static void
fuzz_error_reply(const struct msg_error *err)
{
	fuzz_check_reply(msg_error_reply(err->code, err->message));
}

/*
 * The spec's canonical text decodes back to the same spec; so does the
 * store's short form, which the fast writer and the builder spell alike,
 * and which is the same spec as the long one.
 */
static void
fuzz_check_spec(const struct msg_spec *s)
{
	struct msg_spec		 back;
	struct msg_error	 err;
	char			*text, *again, *store, *lng;

	text = msg_spec_encode(s, MSG_SPEC_KEY);
	if (msg_spec_parse(text, &back, &err) != 0)
		fuzz_fail("a spec's text does not decode", err.message, text);
	again = msg_spec_encode(&back, MSG_SPEC_KEY);
	if (strcmp(text, again) != 0)
		fuzz_fail("a spec's text changed", "encoded, decoded, "
		    "encoded again", again);
	msg_spec_clear(&back);
	free(again);
	free(text);

	store = msg_spec_store_text(s);
	text = msg_spec_encode(s, MSG_SPEC_SHORT);
	if (strcmp(store, text) != 0)
		fuzz_fail("the store's text differs from the short form",
		    store, text);
	if (msg_spec_parse(store, &back, &err) != 0)
		fuzz_fail("the store's text does not decode", err.message,
		    store);
	again = msg_spec_store_text(&back);
	if (strcmp(store, again) != 0)
		fuzz_fail("the store's text changed", "stored, decoded, "
		    "stored again", again);
	lng = msg_spec_encode(s, 0);
	if (!msg_spec_same(lng, store))
		fuzz_fail("the long and short forms differ", lng, store);
	msg_spec_clear(&back);
	free(lng);
	free(again);
	free(text);
	free(store);
}

/* What an exec or http job would make of its args once started. */
static void
fuzz_kind_args(const struct kind *kind, const char *args)
{
	struct exec_args	 ea;
	struct http_args	 ha;
	char			**envp;

	if (strcmp(kind->name, "exec") == 0 &&
	    exec_args_parse(args, &ea, NULL) == 0) {
		envp = exec_args_envp(&ea, fuzz_environ, fuzz_ident);
		free(envp);
		exec_args_free(&ea);
	} else if (strcmp(kind->name, "http") == 0 &&
	    http_args_parse(args, &ha, NULL) == 0)
		http_args_free(&ha);
}

/* The view of a job made from a spec, as status and events show it. */
static void
fuzz_spec_view(const struct msg_spec *s, int64_t id, struct msg_out *o)
{
	struct msg_view	 v;

	memset(&v, 0, sizeof v);
	v.id = id;
	v.kind = s->kind;
	v.name = s->name;
	v.queue = s->queue;
	v.priority = s->priority;
	v.state = "queued";
	v.submitted_at = s->delay_ms;
	v.started_at = -1;
	v.finished_at = -1;
	v.args = s->args;
	v.result = s->args;
	v.waiting_for = s->lock != NULL ? "lock" : NULL;
	v.error_code = s->key;
	v.error_message = s->name;
	msg_out_view(o, NULL, &v, MSG_VIEW_ARGS | MSG_VIEW_RESULT);
	fuzz_check_reply(msg_view_encode(&v, 0));
}

/* submit: every spec checked by its kind, then the ids and the views. */
static void
fuzz_submit(struct msg_request *req)
{
	const struct kind	*kind;
	struct msg_error	 err;
	struct msg_out		*o;
	unsigned int		 which;
	char			 where[48];
	size_t			 i;

	which = req->present & (MSG_F_JOB | MSG_F_JOBS);
	if (which != MSG_F_JOB && which != MSG_F_JOBS) {
		fuzz_check_reply(msg_error_reply(MSG_E_BAD_REQUEST, "submit "
		    "needs exactly one of the fields 'job' and 'jobs'"));
		return;
	}
	for (i = 0; i < req->njobs; i++) {
		where[0] = '\0';
		if (req->njobs > 1)
			snprintf(where, sizeof where, " (in jobs[%zu])", i);
		fuzz_check_spec(&req->jobs[i]);
		if ((kind = kind_find(req->jobs[i].kind)) == NULL) {
			msg_error_set(&err, MSG_E_UNKNOWN_KIND,
			    "unknown kind '%s'%s", req->jobs[i].kind, where);
			fuzz_error_reply(&err);
			return;
		}
		if (kind->validate(req->jobs[i].args, &err) != 0) {
			msg_error_append(&err, where);
			fuzz_error_reply(&err);
			return;
		}
		fuzz_kind_args(kind, req->jobs[i].args);
	}
	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	msg_out_array(o, "jobs");
	for (i = 0; i < req->njobs; i++)
		fuzz_spec_view(&req->jobs[i], (int64_t)i + 1, o);
	msg_out_close(o);
	msg_out_array(o, "ids");
	for (i = 0; i < req->njobs; i++)
		msg_out_int(o, NULL, (int64_t)i + 1);
	msg_out_close(o);
	fuzz_check_reply(msg_out_finish(o, 1));
}

/* The other ops: a reply carrying what was decoded. */
static void
fuzz_reply(struct msg_request *req)
{
	struct msg_out	*o;
	struct msg_view	 v;
	size_t		 i;

	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	memset(&v, 0, sizeof v);
	v.id = req->id;
	v.kind = req->op;
	v.name = req->token;
	v.queue = req->queue != NULL ? req->queue : req->name;
	v.state = req->state;
	v.priority = req->limit;
	v.attempts = req->before_id;
	v.submitted_at = req->timeout_ms;
	v.started_at = req->older_than_ms;
	v.finished_at = -1;
	v.error_code = req->action;
	v.error_message = req->name;
	msg_out_view(o, "job", &v, MSG_VIEW_ARGS | MSG_VIEW_RESULT);
	msg_out_array(o, "pending");
	for (i = 0; i < req->nids; i++)
		msg_out_int(o, NULL, req->ids[i]);
	msg_out_close(o);
	msg_out_object(o, "queue");
	msg_out_string(o, "name", req->name);
	msg_out_double(o, "rate", req->rate);
	msg_out_bool(o, "paused", req->group);
	msg_out_int(o, "return_when", req->return_when);
	msg_out_close(o);
	fuzz_check_reply(msg_out_finish(o, 0));
}

/* Also the input as a reply, read as aiojobctl reads one. */
static void
fuzz_read_view(struct msg_in *in)
{
	struct msg_in	*job;
	struct msg_view	 v;
	char		*text;

	if ((job = msg_in_object(in, "job")) == NULL)
		return;
	msg_in_view(job, &v);
	text = msg_in_text(job, "args", 1);
	free(text);
	fuzz_check_reply(msg_view_encode(&v, 0));
}

/* Also a spec file as aiojobctl submit reads one. */
static void
fuzz_spec_file(const char *buf, size_t len)
{
	struct msg_spec		*specs;
	struct msg_error	 err;
	size_t			 n, i;
	int			 array;

	if (msg_specs_parse(buf, len, &specs, &n, &array, &err) != 0)
		return;
	for (i = 0; i < n; i++) {
		fuzz_check_spec(&specs[i]);
		msg_spec_clear(&specs[i]);
	}
	free(specs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*buf = (const char *)data;
	const struct op_entry	*op;
	struct msg_request	 req;
	struct msg_error	 err;
	struct msg_in		*in;

	memset(&req, 0, sizeof req);
	fuzz_spec_file(buf, size);
	if ((in = msg_strict_parse(buf, size, &err)) == NULL)
		goto fail;
	fuzz_read_view(in);
	if ((op = ops_decode(in, &req, &err)) == NULL)
		goto fail;
	msg_in_free(in);
	if (op->fn == op_submit)
		fuzz_submit(&req);
	else
		fuzz_reply(&req);
	msg_request_clear(&req);
	return (0);
fail:
	msg_in_free(in);
	msg_request_clear(&req);
	fuzz_error_reply(&err);
	return (0);
}
