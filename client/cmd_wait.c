/*
 * wait, and the waiting of submit --wait: long polls asked again until the
 * condition holds, with a progress line on a terminal.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aiojobctl.h"
#include "msg.h"
#include "output.h"
#include "xmalloc.h"

#define CMD_WAIT_HOLD_MS	60000	/* a wait round without --timeout */
#define CMD_WAIT_SLACK_MS	10000	/* added to a wait's receive timeout */

/* A wait in progress, asked again until its condition holds. */
struct cmd_wait_state {
	int64_t		*ids;
	size_t		 nids;
	int64_t		*pending;
	size_t		 npending;
	int		 return_when;
	int64_t		 deadline;	/* monotonic ms, -1: none */
	int		 bad;		/* a done job failed or was cancelled */
	int		 progress;	/* show "3/10 done" on stderr */
	int		 width;		/* of the progress line shown */
};

/* Indexed by MSG_ALL_COMPLETED and friends. */
static const char *cmd_wait_return_whens[] = {
	"ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"
};

static int64_t
cmd_wait_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Milliseconds left of a wait: -1 without a deadline, 0 when past it. */
static int64_t
cmd_wait_remaining(struct cmd_wait_state *w)
{
	int64_t	 left;

	if (w->deadline < 0)
		return (-1);
	left = w->deadline - cmd_wait_now();
	return (left > 0 ? left : 0);
}

/* Ask once: wait for ids, the daemon holding the request up to timeout. */
static int
cmd_wait_ask(struct ctl *ctl, const int64_t *ids, size_t n, int rw,
    int64_t timeout_ms, struct ctl_reply *rep)
{
	struct msg_out	*o;
	int64_t		 rcv;
	size_t		 i;

	o = request_new("wait");
	msg_out_array(o, "ids");
	for (i = 0; i < n; i++)
		msg_out_int(o, NULL, ids[i]);
	msg_out_close(o);
	msg_out_string(o, "return_when", cmd_wait_return_whens[rw]);
	if (timeout_ms >= 0)
		msg_out_int(o, "timeout_ms", timeout_ms);
	rcv = (timeout_ms >= 0 ? timeout_ms : CMD_WAIT_HOLD_MS) +
	    CMD_WAIT_SLACK_MS;
	return (request_send(ctl, o, rcv > INT_MAX ? INT_MAX : (int)rcv, rep));
}

/* Take in a wait reply: its pending ids, and whether a done job is bad. */
static void
cmd_wait_update(struct cmd_wait_state *w, struct msg_in *reply)
{
	struct msg_in	*job, *e;
	const char	*state;
	int64_t		 id;

	job = msg_in_array_at(reply, "done", 0);
	for (; job != NULL; job = msg_in_next(job)) {
		state = NULL;
		msg_in_string(job, "state", &state, NULL);
		if (output_state_bad(state))
			w->bad = 1;
	}
	w->npending = 0;
	for (e = msg_in_array_at(reply, "pending", 0);
	    e != NULL && w->npending < w->nids; e = msg_in_next(e)) {
		if (msg_in_value_int(e, &id) == 0)
			w->pending[w->npending++] = id;
	}
}

/* The ids of a reply's array key (more_done), in a new array. */
static int64_t *
cmd_wait_ids(struct msg_in *reply, const char *key, size_t *n)
{
	struct msg_in	*e;
	int64_t		*ids, id;

	*n = 0;
	for (e = msg_in_array_at(reply, key, 0); e != NULL; e = msg_in_next(e))
		(*n)++;
	ids = xcalloc(*n + 1, sizeof *ids);
	*n = 0;
	for (e = msg_in_array_at(reply, key, 0); e != NULL; e = msg_in_next(e)) {
		if (msg_in_value_int(e, &id) == 0)
			ids[(*n)++] = id;
	}
	return (ids);
}

/*
 * A reply cut at 1 MiB lists in more_done the finished jobs whose views
 * did not fit: ask about them until each was seen, so that a failure
 * among them counts too.
 */
static int
cmd_wait_more(struct ctl *ctl, struct cmd_wait_state *w, struct msg_in *reply)
{
	struct ctl_reply	 rep;
	struct msg_in		*job;
	const char		*state;
	int64_t			*ids;
	size_t			 n;
	int			 r = 0;

	ids = cmd_wait_ids(reply, "more_done", &n);
	while (n > 0 && r == 0) {
		if ((r = cmd_wait_ask(ctl, ids, n, MSG_ALL_COMPLETED, 0,
		    &rep)) != 0)
			break;
		job = msg_in_array_at(rep.in, "done", 0);
		for (; job != NULL; job = msg_in_next(job)) {
			state = NULL;
			msg_in_string(job, "state", &state, NULL);
			if (output_state_bad(state))
				w->bad = 1;
		}
		free(ids);
		ids = cmd_wait_ids(rep.in, "more_done", &n);
		request_reply_free(&rep);
	}
	free(ids);
	return (r);
}

/* Whether the condition of return_when holds. */
static int
cmd_wait_held(struct cmd_wait_state *w)
{
	switch (w->return_when) {
	case MSG_FIRST_COMPLETED:
		return (w->npending < w->nids);
	case MSG_FIRST_EXCEPTION:
		return (w->bad || w->npending == 0);
	}
	return (w->npending == 0);
}

/* Show "3/10 done" on stderr, or clear it when done. */
static void
cmd_wait_progress(struct cmd_wait_state *w, int done)
{
	if (!w->progress)
		return;
	if (done) {
		if (w->width > 0)
			fprintf(stderr, "\r%*s\r", w->width, "");
		return;
	}
	w->width = fprintf(stderr, "\r%zu/%zu done", w->nids - w->npending,
	    w->nids) - 1;
}

/*
 * Wait until the condition holds or the deadline passes. Each round asks
 * about the pending ids only: with a progress line, to return at every job
 * that ends. When the last round was not the whole question, a final ask
 * with no timeout gets the reply to print, with all ids in order.
 */
static int
cmd_wait_run(struct ctl *ctl, struct cmd_wait_state *w, struct ctl_reply *rep)
{
	int	 rw, r, whole;

	cmd_wait_progress(w, 0);
	for (;;) {
		rw = w->progress ? MSG_FIRST_COMPLETED : w->return_when;
		whole = w->npending == w->nids && rw == w->return_when;
		r = cmd_wait_ask(ctl, w->pending, w->npending, rw,
		    cmd_wait_remaining(w), rep);
		if (r != 0)
			break;
		cmd_wait_update(w, rep->in);
		if ((r = cmd_wait_more(ctl, w, rep->in)) != 0) {
			request_reply_free(rep);
			break;
		}
		cmd_wait_progress(w, 0);
		if (cmd_wait_held(w) || cmd_wait_remaining(w) == 0)
			break;
		request_reply_free(rep);
	}
	cmd_wait_progress(w, 1);
	if (r != 0 || whole)
		return (r);
	request_reply_free(rep);
	r = cmd_wait_ask(ctl, w->ids, w->nids, w->return_when, 0, rep);
	if (r == 0)
		cmd_wait_update(w, rep->in);
	if (r == 0 && (r = cmd_wait_more(ctl, w, rep->in)) != 0)
		request_reply_free(rep);
	return (r);
}

static void
cmd_wait_init(struct cmd_wait_state *w, int64_t *ids, size_t n, int rw,
    int64_t timeout_ms)
{
	memset(w, 0, sizeof *w);
	w->ids = ids;
	w->nids = n;
	w->pending = xcalloc(n, sizeof *w->pending);
	memcpy(w->pending, ids, n * sizeof *ids);
	w->npending = n;
	w->return_when = rw;
	w->deadline = timeout_ms < 0 ? -1 : cmd_wait_now() + timeout_ms;
	w->progress = n > 1 && isatty(STDERR_FILENO);
}

/*
 * Wait for n jobs as return_when says, up to timeout_ms (-1: forever). On
 * 0 rep holds the final reply and *bad is set if a job failed or was
 * cancelled, or the condition does not hold; else the exit code.
 */
int
cmd_wait_final(struct ctl *ctl, int64_t *ids, size_t n, int rw,
    int64_t timeout_ms, struct ctl_reply *rep, int *bad)
{
	struct cmd_wait_state	 w;
	int			 r;

	cmd_wait_init(&w, ids, n, rw, timeout_ms);
	if ((r = cmd_wait_run(ctl, &w, rep)) == 0)
		*bad = w.bad || !cmd_wait_held(&w);
	free(w.pending);
	return (r);
}

/*
 * Wait as cmd_wait_final does; print the final reply with fn, or as JSON.
 * The exit code: 1 if a job failed or was cancelled, or the condition does
 * not hold.
 */
int
cmd_wait_for(struct ctl *ctl, int64_t *ids, size_t n, int rw,
    int64_t timeout_ms, cmd_wait_print_cb *fn)
{
	struct ctl_reply	 rep;
	int			 r, bad;

	if ((r = cmd_wait_final(ctl, ids, n, rw, timeout_ms, &rep, &bad)) != 0)
		return (r);
	if (!request_json(ctl, &rep))
		fn(rep.in, n);
	request_reply_free(&rep);
	return (bad ? CTL_EXIT_JOB : CTL_EXIT_OK);
}

/* The options of wait; rw and timeout_ms are set from them. */
static int
cmd_wait_opts(struct ctl *ctl, int argc, char **argv, int *rw,
    int64_t *timeout_ms)
{
	static const struct option	 opts[] = {
		{ "any", no_argument, NULL, 'a' },
		{ "first-exception", no_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch, nrw = 0;

	*rw = MSG_ALL_COMPLETED;
	*timeout_ms = -1;
	while ((ch = ctl_getopt(ctl, argc, argv, ":", opts)) != -1) {
		if (ch == 'a' || ch == 'e') {
			*rw = ch == 'a' ? MSG_FIRST_COMPLETED :
			    MSG_FIRST_EXCEPTION;
			nrw++;
		} else if (ch != 't' ||
		    parse_duration(ctl, "--timeout", optarg, timeout_ms) != 0)
			return (CTL_EXIT_USAGE);
	}
	if (nrw > 1)
		return (ctl_usage_error(ctl, "--any and --first-exception "
		    "exclude each other"));
	return (ctl_nargs(ctl, argc - optind));
}

static void
cmd_wait_print(struct msg_in *reply, size_t n)
{
	output_wait(reply);
}

int
cmd_wait(struct ctl *ctl, int argc, char **argv)
{
	int64_t	*ids, timeout_ms;
	size_t	 n;
	int	 rw, r;

	if ((r = cmd_wait_opts(ctl, argc, argv, &rw, &timeout_ms)) != 0)
		return (r);
	if (parse_ids(ctl, argc - optind, argv + optind, &ids, &n) != 0)
		return (CTL_EXIT_USAGE);
	r = cmd_wait_for(ctl, ids, n, rw, timeout_ms, cmd_wait_print);
	free(ids);
	return (r);
}
