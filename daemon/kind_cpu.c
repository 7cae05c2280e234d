/*
 * The cpu kind: a function run in a worker process of the pool
 * (ProcessPoolExecutor). args {"fn": name, "input": any JSON}; the result
 * is the function's output. Jobs wait in the scheduler until a worker is
 * idle, or a busy one can take them next (kind_cpu_hold.c); cancel and
 * timeout kill the worker, which the pool replaces.
 */
#include <string.h>

#include "aiojobsd.h"

#define CPU_NAME_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

/* A built-in name, or "<plugin>.<fn>": nothing that could name a path. */
static int
cpu_fn_valid(const char *fn)
{
	size_t	 n = strspn(fn, CPU_NAME_CHARS);

	if (n == 0 || n > 64)
		return (0);
	if (fn[n] == '\0')
		return (1);
	return (fn[n] == '.' && fn[n + 1] != '\0' &&
	    strchr(fn + n + 1, '/') == NULL && strchr(fn + n + 1, '.') == NULL);
}

/*
 * The fields of cpu args; any other is refused. The input is free-form:
 * what it holds is the function's to judge (a plugin's own fields).
 */
static const char *const cpu_fields[] = { "fn", "input", NULL };

static int
cpu_validate(const char *args, struct msg_error *err)
{
	struct msg_in	*in;
	const char	*fn = NULL, *unknown;
	int		 r;

	if ((in = msg_in_parse(args, strlen(args), err)) == NULL)
		return (-1);
	r = msg_in_string(in, "fn", &fn, err);
	if ((unknown = msg_strict_unknown(in, cpu_fields)) != NULL) {
		msg_error_set(err, MSG_E_BAD_REQUEST, "cpu: unknown field "
		    "'%.100s' of 'args'", unknown);
		r = -1;
	} else if (r == 1 && !cpu_fn_valid(fn)) {
		msg_error_set(err, MSG_E_BAD_REQUEST, "cpu: bad function name "
		    "'%.80s': a built-in name or PLUGIN.FN, letters, digits, "
		    "'_' and '-' only", fn);
		r = -1;
	} else if (r != 1)
		msg_error_set(err, MSG_E_BAD_REQUEST, "cpu: field 'fn' of "
		    "'args' must be a string");
	msg_in_free(in);
	return (r == 1 ? 0 : -1);
}

static void
cpu_start(struct job *job)
{
	pool_run(job->queue->sched->pool, job);
}

/*
 * An idle worker starts a job at once. Else a busy worker may take the
 * job to run next (kind_cpu_hold), so that it starts without waiting for a
 * round trip to the dispatcher; not for a queue whose limit or rate the
 * start would have to be checked against later.
 */
static int
cpu_can_start(struct sched *s, struct queue *q)
{
	return (pool_has_idle(s->pool) || (q->limit == 0 && q->rate == 0 &&
	    kind_cpu_hold_room(s->pool)));
}

static int
cpu_usable(struct sched *s, struct msg_error *err)
{
	if (pool_total(s->pool) > 0)
		return (1);
	msg_error_set(err, MSG_E_BAD_REQUEST, "cpu jobs need worker "
	    "processes; this daemon runs with --workers 0 ([pool] "
	    "workers = 0)");
	return (0);
}

const struct kind kind_cpu = {
	.name = "cpu",
	.validate = cpu_validate,
	.start = cpu_start,
	.cancel = pool_cancel,
	.can_start = cpu_can_start,
	.hold = kind_cpu_hold,
	.drop = pool_hold_drop,
	.usable = cpu_usable,
	.waits_for = "worker",
};
