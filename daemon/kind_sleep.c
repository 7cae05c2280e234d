/*
 * The sleep kind: asyncio.sleep as a timer on the event loop.
 * args {"ms": integer >= 0}, result {"slept_ms": actual}.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "aiojobsd.h"
#include "xmalloc.h"

/*
 * What a sleeping job holds: one allocation with its timer in it (a
 * million may sleep at once), and when it started in CLOCK_MONOTONIC ns.
 * How long it sleeps is read from its args when asked (sleep_args_ms):
 * one more field would put the allocation into the next malloc size.
 */
struct sleep_state {
	struct event	 timer;
	int64_t		 start_ns;
};

/* The field ms of parsed args, checked; err says what is wrong. */
static int
sleep_ms(struct msg_in *in, int64_t *ms, struct msg_error *err)
{
	int	 r;

	r = msg_in_int(in, "ms", ms, err);
	if (r == 0)
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "sleep: field 'ms' of 'args' is required");
	else if (r == 1 && *ms < 0)
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "sleep: field 'ms' of 'args' must be at least 0");
	else if (r == -1)
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "sleep: field 'ms' of 'args' must be an integer");
	return (r == 1 && *ms >= 0 ? 0 : -1);
}

/* The one field of sleep args; any other is refused at submit. */
static const char *const sleep_fields[] = { "ms", NULL };

/*
 * The ms of args in the form nearly every submit has, {"ms":N} with N a
 * plain integer of at most 15 digits, read without building a tree; -1
 * when the args have any other form.
 */
static int64_t
sleep_plain_ms(const char *args)
{
	const char	*p;
	size_t		 n;

	if (strncmp(args, "{\"ms\":", 6) != 0)
		return (-1);
	p = args + 6;
	n = strspn(p, "0123456789");
	if (n == 0 || n > 15 || (p[0] == '0' && n > 1) ||
	    strcmp(p + n, "}") != 0)
		return (-1);
	return (strtoll(p, NULL, 10));
}

static int
sleep_validate(const char *args, struct msg_error *err)
{
	struct msg_in	*in;
	const char	*unknown;
	int64_t		 ms;
	int		 r = -1;

	if (sleep_plain_ms(args) >= 0)
		return (0);
	if ((in = msg_in_parse(args, strlen(args), err)) == NULL)
		return (-1);
	if ((unknown = msg_strict_unknown(in, sleep_fields)) != NULL)
		msg_error_set(err, MSG_E_BAD_REQUEST, "sleep: unknown field "
		    "'%.100s' of 'args'", unknown);
	else
		r = sleep_ms(in, &ms, err);
	msg_in_free(in);
	return (r);
}

/*
 * The ms of args that passed sleep_validate: compact JSON whose only
 * member is an integer ms, read without building a tree.
 */
static int64_t
sleep_args_ms(const char *args)
{
	struct msg_member	 m;

	if (!msg_scan_find(args, "ms", &m))
		return (0);
	return ((int64_t)strtod(m.val, NULL));
}

static int64_t
sleep_now_ns(void)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
}

static int64_t
sleep_elapsed(struct sleep_state *st)
{
	return ((sleep_now_ns() - st->start_ns) / 1000000);
}

/* Release the kind's state and finish the job with the time slept. */
static void
sleep_end(struct job *job, int state)
{
	struct sleep_state	*st = job->kdata;
	struct msg_out		*o;
	char			*result;

	o = msg_out_new();
	msg_out_int(o, "slept_ms", sleep_elapsed(st));
	result = msg_out_finish(o, 0);
	event_del(&st->timer);
	free(st);
	job->kdata = NULL;
	sched_finish(job, state, result, NULL, NULL);
	free(result);
}

static void
sleep_arm(struct sleep_state *st, int64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_base_update_cache_time(event_get_base(&st->timer));
	evtimer_add(&st->timer, &tv);
}

/* The loop's cached clock can fire a timer a little early: sleep the rest. */
static void
sleep_timer_cb(int fd, short events, void *arg)
{
	struct job		*job = arg;
	struct sleep_state	*st = job->kdata;
	int64_t			 left;

	left = sleep_args_ms(job->args) - sleep_elapsed(st);
	if (left > 0)
		sleep_arm(st, left);
	else
		sleep_end(job, JOB_SUCCEEDED);
}

static void
sleep_start(struct job *job)
{
	struct sleep_state	*st;

	st = xcalloc(1, sizeof *st);
	st->start_ns = sleep_now_ns();
	evtimer_assign(&st->timer, job_base(job), sleep_timer_cb, job);
	job->kdata = st;
	sleep_arm(st, sleep_args_ms(job->args));
}

/* Cancelling a sleep is immediate: the timer goes away. */
static void
sleep_cancel(struct job *job)
{
	sleep_end(job, JOB_CANCELLED);
}

const struct kind kind_sleep = {
	.name = "sleep",
	.validate = sleep_validate,
	.start = sleep_start,
	.cancel = sleep_cancel,
};
