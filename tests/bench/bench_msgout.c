/*
 * bench_msgout: the cost of building the reply to a wait for 1,000 sleep
 * jobs ({"ok":true,"done":[1,000 views with args and result],...}), as
 * the daemon builds it. Prints the median time of one reply over rounds.
 *
 * usage: bench_msgout [rounds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg.h"

#define VIEWS	1000
#define REPS	20

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

/* One wait reply for VIEWS finished sleep jobs; its length. */
static size_t
reply(void)
{
	struct msg_out	*o;
	struct msg_view	 v;
	char		*text;
	size_t		 len;
	int		 i;

	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	msg_out_array(o, "done");
	for (i = 0; i < VIEWS; i++) {
		memset(&v, 0, sizeof v);
		v.id = 1000000 + i;
		v.kind = "sleep";
		v.queue = "default";
		v.state = "succeeded";
		v.attempts = 1;
		v.submitted_at = 1763700000123LL + i;
		v.started_at = 1763700000130LL + i;
		v.finished_at = 1763700001131LL + i;
		v.args = "{\"ms\":1000}";
		v.result = "{\"slept_ms\":1001}";
#ifndef BENCH_MSGOUT_OLD
		v.compact = 1;		/* as job_view says */
#endif
		msg_out_view(o, NULL, &v, MSG_VIEW_ARGS | MSG_VIEW_RESULT);
	}
	msg_out_close(o);
	msg_out_array(o, "pending");
	msg_out_close(o);
	text = msg_out_finish(o, 0);
	len = strlen(text);
	free(text);
	return (len);
}

int
main(int argc, char **argv)
{
	double	*t, t0;
	size_t	 len = 0;
	int	 rounds = argc > 1 ? atoi(argv[1]) : 15, i, j;

	if (rounds < 1)
		rounds = 1;
	if ((t = calloc((size_t)rounds, sizeof *t)) == NULL)
		return (1);
	for (i = 0; i < rounds; i++) {
		t0 = now();
		for (j = 0; j < REPS; j++)
			len = reply();
		t[i] = (now() - t0) / REPS;
	}
	qsort(t, (size_t)rounds, sizeof *t, cmp_double);
	printf("wait reply, %d views, %zu bytes: median %.1f us, min %.1f us "
	    "(%d rounds of %d)\n", VIEWS, len, t[rounds / 2] * 1e6, t[0] * 1e6,
	    rounds, REPS);
	free(t);
	return (0);
}
