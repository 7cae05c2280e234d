/*
 * store_floor: what the job store alone costs a job, with no daemon, no
 * IPC and no JSON around it: the daemon's own store (store.h, on its
 * SQLite backend) writes N rows as a sleep job's life writes them, a row
 * at start (the submit's commit) and an update at its end, BATCH rows a
 * transaction as the io and batched-submit benchmarks group them. Any
 * daemon keeping a row a job in this store spends at least this much; a
 * throughput target above it cannot be met by scheduling alone.
 *
 * With "started", the row is written queued and updated twice, when the
 * job starts and when it ends: a safe daemon's three writes, since a job
 * starts only once its submit is durable (a commit without its start),
 * and its start must be durable too, or recovery would run it again
 * instead of knowing it was interrupted. A fast daemon's job that starts
 * before the commit is written once as running, as without "started".
 *
 *	store_floor N BATCH safe|fast DIR [started]
 */
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "benchutil.h"
#include "store.h"

static void
floor_commit(struct store *st)
{
	char	*cause = NULL;

	if (store_commit(st, &cause) != 0)
		errx(1, "%s", cause);
}

/* N updates of the rows to r's state, BATCH a transaction. */
static void
floor_updates(struct store *st, struct store_row *r, long n, long batch)
{
	char	*cause = NULL;
	long	 i;

	for (i = 0; i < n; i++) {
		r->id = i + 1;
		r->submitted_at = r->started_at = 1700000000000 + i;
		if (r->state != JOB_RUNNING)
			r->finished_at = r->started_at + 1000;
		if (store_update(st, r, &cause) != 0)
			errx(1, "%s", cause);
		if ((i + 1) % batch == 0 || i + 1 == n)
			floor_commit(st);
	}
}

static void
floor_result(const char *name, double value, const char *unit,
    const char *mode, long n, long batch)
{
	printf("RESULT {\"name\":\"%s\",\"value\":%.3f,\"unit\":\"%s\","
	    "\"mode\":\"store-floor\",\"durability\":\"%s\",\"n\":%ld,"
	    "\"batch\":%ld}\n", name, value, unit, mode, n, batch);
}

int
main(int argc, char **argv)
{
	struct store		*st;
	struct store_row	 r;
	char			*cause = NULL;
	uint64_t		 t0, t1, ts, t2;
	long			 n, batch, i;
	int			 safe, started;

	if ((argc != 5 && argc != 6) || (n = strtol(argv[1], NULL, 10)) < 1 ||
	    (batch = strtol(argv[2], NULL, 10)) < 1 ||
	    (strcmp(argv[3], "safe") != 0 && strcmp(argv[3], "fast") != 0) ||
	    (argc == 6 && strcmp(argv[5], "started") != 0)) {
		fprintf(stderr, "usage: store_floor N BATCH safe|fast DIR "
		    "[started]\n");
		return (2);
	}
	started = argc == 6;
	safe = strcmp(argv[3], "safe") == 0;
	if ((st = store_open(argv[4], safe, &cause)) == NULL)
		errx(1, "%s", cause);

	memset(&r, 0, sizeof r);
	r.spec = "{\"kind\":\"sleep\",\"args\":{\"ms\":1000}}";
	r.kind = "sleep";
	r.queue = "default";
	r.args = "{\"ms\":1000}";
	r.state = started ? JOB_QUEUED : JOB_RUNNING;
	r.attempts = started ? 0 : 1;
	r.finished_at = r.not_before = -1;

	t0 = bench_now();
	for (i = 0; i < n; i++) {
		r.id = i + 1;
		r.submitted_at = 1700000000000 + i;
		r.started_at = started ? -1 : r.submitted_at;
		if (store_insert(st, &r, &cause) != 0)
			errx(1, "%s", cause);
		if ((i + 1) % batch == 0 || i + 1 == n)
			floor_commit(st);
	}
	t1 = bench_now();
	if (started) {
		r.state = JOB_RUNNING;
		r.attempts = 1;
		floor_updates(st, &r, n, batch);
	}
	ts = bench_now();
	r.state = JOB_SUCCEEDED;
	r.result = "{\"slept_ms\":1000}";
	floor_updates(st, &r, n, batch);
	t2 = bench_now();
	store_close(st);

	printf("store floor, %s, %ld rows in transactions of %ld: insert "
	    "%.2f us a row (%.0f rows/s), ", argv[3], n, batch,
	    (double)(t1 - t0) / 1e3 / (double)n,
	    (double)n * 1e9 / (double)(t1 - t0));
	if (started)
		printf("start update %.2f us a row, ",
		    (double)(ts - t1) / 1e3 / (double)n);
	printf("end update %.2f us a row, all %.2f us a job\n",
	    (double)(t2 - ts) / 1e3 / (double)n,
	    (double)(t2 - t0) / 1e3 / (double)n);
	if (started)
		floor_result("store_floor.start", (double)n * 1e9 /
		    (double)(ts - t1), "rows/s", argv[3], n, batch);
	floor_result("store_floor.insert", (double)n * 1e9 /
	    (double)(t1 - t0), "rows/s", argv[3], n, batch);
	floor_result("store_floor.update", (double)n * 1e9 /
	    (double)(t2 - ts), "rows/s", argv[3], n, batch);
	floor_result("store_floor.job_us", (double)(t2 - t0) / 1e3 /
	    (double)n, "us", argv[3], n, batch);
	return (0);
}
