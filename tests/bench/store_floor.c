/*
 * store_floor: what the job store alone costs a job, with no daemon, no
 * IPC and no JSON around it: the daemon's own store (store.h, on its
 * SQLite backend) writes N rows as a sleep job's life writes them, a row
 * at start (the submit's commit) and an update at its end, BATCH rows a
 * transaction as the io and batched-submit benchmarks group them. Any
 * daemon keeping a row a job in this store spends at least this much; a
 * throughput target above it cannot be met by scheduling alone.
 *
 *	store_floor N BATCH safe|fast DIR
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
	uint64_t		 t0, t1, t2;
	long			 n, batch, i;
	int			 safe;

	if (argc != 5 || (n = strtol(argv[1], NULL, 10)) < 1 ||
	    (batch = strtol(argv[2], NULL, 10)) < 1 ||
	    (strcmp(argv[3], "safe") != 0 && strcmp(argv[3], "fast") != 0)) {
		fprintf(stderr, "usage: store_floor N BATCH safe|fast DIR\n");
		return (2);
	}
	safe = strcmp(argv[3], "safe") == 0;
	if ((st = store_open(argv[4], safe, &cause)) == NULL)
		errx(1, "%s", cause);

	memset(&r, 0, sizeof r);
	r.spec = "{\"kind\":\"sleep\",\"args\":{\"ms\":1000}}";
	r.kind = "sleep";
	r.queue = "default";
	r.args = "{\"ms\":1000}";
	r.state = JOB_RUNNING;
	r.attempts = 1;
	r.finished_at = r.not_before = -1;

	t0 = bench_now();
	for (i = 0; i < n; i++) {
		r.id = i + 1;
		r.submitted_at = r.started_at = 1700000000000 + i;
		if (store_insert(st, &r, &cause) != 0)
			errx(1, "%s", cause);
		if ((i + 1) % batch == 0 || i + 1 == n)
			floor_commit(st);
	}
	t1 = bench_now();
	r.state = JOB_SUCCEEDED;
	r.result = "{\"slept_ms\":1000}";
	for (i = 0; i < n; i++) {
		r.id = i + 1;
		r.submitted_at = r.started_at = 1700000000000 + i;
		r.finished_at = r.started_at + 1000;
		if (store_update(st, &r, &cause) != 0)
			errx(1, "%s", cause);
		if ((i + 1) % batch == 0 || i + 1 == n)
			floor_commit(st);
	}
	t2 = bench_now();
	store_close(st);

	printf("store floor, %s, %ld rows in transactions of %ld: insert "
	    "%.2f us a row (%.0f rows/s), update %.2f us a row, both %.2f "
	    "us a job\n", argv[3], n, batch,
	    (double)(t1 - t0) / 1e3 / (double)n,
	    (double)n * 1e9 / (double)(t1 - t0),
	    (double)(t2 - t1) / 1e3 / (double)n,
	    (double)(t2 - t0) / 1e3 / (double)n);
	floor_result("store_floor.insert", (double)n * 1e9 /
	    (double)(t1 - t0), "rows/s", argv[3], n, batch);
	floor_result("store_floor.update", (double)n * 1e9 /
	    (double)(t2 - t1), "rows/s", argv[3], n, batch);
	floor_result("store_floor.job_us", (double)(t2 - t0) / 1e3 /
	    (double)n, "us", argv[3], n, batch);
	return (0);
}
