/*
 * The scheduler through its API, with the real sleep kind on a real event
 * loop: limits, priority order, FIFO ties, delay, pause/resume, cancel,
 * timeout, retries, keys, the pending limit and rates.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "aiojobsd.h"
#include "store.h"

#define MAX_STARTS	64

struct rec {
	int64_t	 starts[MAX_STARTS];	/* ids in start order */
	int64_t	 start_ms[MAX_STARTS];
	int	 nstarts;
	int	 running;
	int	 max_running;
	int	 finished;
};

static struct event_base	*base;
static struct sched		*s;
static struct rec		 rec;

static int64_t
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
record_cb(struct job *job, int old, void *arg)
{
	if (job->state == JOB_RUNNING) {
		if (rec.nstarts < MAX_STARTS) {
			rec.start_ms[rec.nstarts] = mono_ms();
			rec.starts[rec.nstarts++] = job->id;
		}
		if (++rec.running > rec.max_running)
			rec.max_running = rec.running;
	}
	if (old == JOB_RUNNING)
		rec.running--;
	if (job_state_final(job->state))
		rec.finished++;
}

static void
setup(void)
{
	memset(&rec, 0, sizeof rec);
	base = event_base_new();
	s = sched_create(base, 0, 0);
	sched_set_change_cb(s, record_cb, NULL);
}

static void
teardown(void)
{
	sched_free(s);
	event_base_free(base);
}

/* Submit one spec given as JSON; returns the id or -1 with err filled. */
static int64_t
submit(const char *json, struct msg_error *err)
{
	struct msg_spec		 spec;
	struct msg_error	 e;
	int64_t			 id;
	int			 r;

	if (err == NULL)
		err = &e;
	ck_assert_int_eq(msg_spec_parse(json, &spec, err), 0);
	r = sched_submit(s, &spec, 1, 0, 0, &id, err);
	msg_spec_clear(&spec);
	return (r == 0 ? id : -1);
}

/* Run the loop until n jobs finished, at most 10 s. */
static void
run_until_finished(int n)
{
	int64_t	 deadline = mono_ms() + 10000;

	while (rec.finished < n && mono_ms() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_ge(rec.finished, n);
}

/* One pass of the loop: deferred starts happen, no timer fires yet. */
static void
run_pass(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static int
state_of(int64_t id)
{
	return (sched_lookup_job(s, id)->state);
}

START_TEST(test_global_limit)
{
	int	 i;

	s->limit = 3;
	for (i = 0; i < 10; i++)
		ck_assert_int_gt(submit("{\"kind\":\"sleep\",\"args\":"
		    "{\"ms\":20}}", NULL), 0);
	run_pass();
	ck_assert_int_eq(s->counts[JOB_RUNNING], 3);
	ck_assert_int_eq(s->counts[JOB_QUEUED], 7);
	run_until_finished(10);
	ck_assert_int_eq(rec.max_running, 3);
	ck_assert_int_eq(s->counts[JOB_SUCCEEDED], 10);
}
END_TEST

START_TEST(test_unlimited)
{
	int	 i;

	for (i = 0; i < 50; i++)
		submit("{\"kind\":\"sleep\",\"args\":{\"ms\":10}}", NULL);
	run_pass();
	ck_assert_int_eq(s->counts[JOB_RUNNING], 50);
	run_until_finished(50);
}
END_TEST

START_TEST(test_queue_limit)
{
	struct queue	*q;
	int		 i;

	q = sched_queue(s, "q", 1);
	q->limit = 2;
	for (i = 0; i < 6; i++)
		submit("{\"kind\":\"sleep\",\"queue\":\"q\",\"args\":"
		    "{\"ms\":10}}", NULL);
	submit("{\"kind\":\"sleep\",\"args\":{\"ms\":10}}", NULL);
	run_pass();
	ck_assert_int_eq(q->nrunning, 2);
	ck_assert_int_eq(s->counts[JOB_RUNNING], 3);
	run_until_finished(7);
	ck_assert_int_le(rec.max_running, 3);
}
END_TEST

START_TEST(test_priority_and_fifo)
{
	int64_t	 low1, high, low2, mid;

	s->limit = 1;
	sched_queue(s, "default", 1)->paused = 1;
	low1 = submit("{\"kind\":\"sleep\",\"args\":{\"ms\":1}}", NULL);
	high = submit("{\"kind\":\"sleep\",\"priority\":5,\"args\":{\"ms\":1}}",
	    NULL);
	low2 = submit("{\"kind\":\"sleep\",\"args\":{\"ms\":1}}", NULL);
	mid = submit("{\"kind\":\"sleep\",\"priority\":2,\"args\":{\"ms\":1}}",
	    NULL);
	run_pass();
	ck_assert_int_eq(rec.nstarts, 0);
	sched_queue(s, "default", 0)->paused = 0;
	sched_kick(s);
	run_until_finished(4);
	ck_assert_int_eq(rec.starts[0], high);
	ck_assert_int_eq(rec.starts[1], mid);
	ck_assert_int_eq(rec.starts[2], low1);
	ck_assert_int_eq(rec.starts[3], low2);
}
END_TEST

START_TEST(test_delay)
{
	int64_t	 id, t0 = mono_ms();

	id = submit("{\"kind\":\"sleep\",\"delay_ms\":150,\"args\":{\"ms\":1}}",
	    NULL);
	run_pass();
	ck_assert_int_eq(state_of(id), JOB_QUEUED);
	run_until_finished(1);
	ck_assert_int_ge(rec.start_ms[0] - t0, 150);
	ck_assert_int_ge(sched_lookup_job(s, id)->started_at -
	    sched_lookup_job(s, id)->submitted_at, 150);
}
END_TEST

START_TEST(test_cancel_queued)
{
	struct job	*job;
	int64_t		 id;

	sched_queue(s, "default", 1)->paused = 1;
	id = submit("{\"kind\":\"sleep\",\"args\":{\"ms\":1000}}", NULL);
	job = sched_lookup_job(s, id);
	sched_cancel(job, "by test");
	ck_assert_int_eq(job->state, JOB_CANCELLED);
	ck_assert_str_eq(job->more->error_code, "cancelled");
	ck_assert_int_eq(job->started_at, -1);
	ck_assert_int_eq(s->counts[JOB_QUEUED], 0);
	sched_cancel(job, "again");
	ck_assert_int_eq(job->state, JOB_CANCELLED);
	ck_assert_str_eq(job->more->error_message, "by test");
}
END_TEST

START_TEST(test_cancel_delayed)
{
	struct job	*job;
	int64_t		 id;

	id = submit("{\"kind\":\"sleep\",\"delay_ms\":50,\"args\":{\"ms\":1}}",
	    NULL);
	job = sched_lookup_job(s, id);
	sched_cancel(job, "by test");
	ck_assert_int_eq(job->state, JOB_CANCELLED);
	ck_assert_ptr_null(job->timer);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(rec.nstarts, 0);
}
END_TEST

START_TEST(test_cancel_running)
{
	struct job	*job;
	int64_t		 id, next;

	s->limit = 1;
	id = submit("{\"kind\":\"sleep\",\"args\":{\"ms\":5000}}", NULL);
	next = submit("{\"kind\":\"sleep\",\"args\":{\"ms\":1}}", NULL);
	run_pass();
	job = sched_lookup_job(s, id);
	ck_assert_int_eq(job->state, JOB_RUNNING);
	sched_cancel(job, "by test");
	ck_assert_int_eq(job->state, JOB_CANCELLED);
	ck_assert_str_eq(job->more->error_code, "cancelled");
	ck_assert_ptr_nonnull(job->result);
	ck_assert_int_eq(s->counts[JOB_RUNNING], 0);
	run_until_finished(2);
	ck_assert_int_eq(state_of(next), JOB_SUCCEEDED);
}
END_TEST

START_TEST(test_timeout)
{
	struct job	*job;
	int64_t		 id;

	id = submit("{\"kind\":\"sleep\",\"timeout_ms\":30,\"args\":"
	    "{\"ms\":5000}}", NULL);
	run_until_finished(1);
	job = sched_lookup_job(s, id);
	ck_assert_int_eq(job->state, JOB_FAILED);
	ck_assert_str_eq(job->more->error_code, "timeout");
	ck_assert_int_eq(job->attempts, 1);
}
END_TEST

START_TEST(test_retries)
{
	struct job	*job;
	int64_t		 id;

	id = submit("{\"kind\":\"sleep\",\"timeout_ms\":10,\"retries\":2,"
	    "\"retry_backoff_ms\":20,\"args\":{\"ms\":5000}}", NULL);
	run_until_finished(1);
	job = sched_lookup_job(s, id);
	ck_assert_int_eq(job->state, JOB_FAILED);
	ck_assert_int_eq(job->attempts, 3);
	ck_assert_int_eq(rec.nstarts, 3);
	/* backoff 20 ms, then 40 ms: the third start is >= 60 ms later */
	ck_assert_int_ge(rec.start_ms[2] - rec.start_ms[0], 60);
}
END_TEST

START_TEST(test_cancel_stops_retries)
{
	struct job	*job;
	int64_t		 id;

	id = submit("{\"kind\":\"sleep\",\"retries\":5,\"args\":{\"ms\":5000}}",
	    NULL);
	run_pass();
	job = sched_lookup_job(s, id);
	sched_cancel(job, "by test");
	ck_assert_int_eq(job->state, JOB_CANCELLED);
	ck_assert_int_eq(job->attempts, 1);
}
END_TEST

START_TEST(test_pending_limit)
{
	struct msg_error	 err;

	s->pending_limit = 2;
	sched_queue(s, "default", 1)->paused = 1;
	ck_assert_int_gt(submit("{\"kind\":\"sleep\",\"args\":{\"ms\":1}}",
	    NULL), 0);
	ck_assert_int_gt(submit("{\"kind\":\"sleep\",\"args\":{\"ms\":1}}",
	    NULL), 0);
	ck_assert_int_eq(submit("{\"kind\":\"sleep\",\"args\":{\"ms\":1}}",
	    &err), -1);
	ck_assert_str_eq(err.code, "queue_full");
	ck_assert_int_eq(s->counts[JOB_QUEUED], 2);
}
END_TEST

START_TEST(test_unknown_kind)
{
	struct msg_error	 err;

	ck_assert_int_eq(submit("{\"kind\":\"teleport\"}", &err), -1);
	ck_assert_str_eq(err.code, "unknown_kind");
	ck_assert_ptr_nonnull(strstr(err.message, "teleport"));
	ck_assert_int_eq(submit("{\"kind\":\"sleep\",\"args\":{\"ms\":-1}}",
	    &err), -1);
	ck_assert_str_eq(err.code, "bad_request");
	ck_assert_int_eq(submit("{\"kind\":\"sleep\"}", &err), -1);
	ck_assert_str_eq(err.code, "bad_request");
	ck_assert_ptr_null(RB_MIN(job_ids, &s->jobs));
}
END_TEST

START_TEST(test_batch_all_or_nothing)
{
	struct msg_spec		 specs[3];
	struct msg_error	 err;
	int64_t			 ids[3];

	msg_spec_parse("{\"kind\":\"sleep\",\"args\":{\"ms\":1}}", &specs[0],
	    &err);
	msg_spec_parse("{\"kind\":\"sleep\",\"args\":{\"ms\":1}}", &specs[1],
	    &err);
	msg_spec_parse("{\"kind\":\"nope\"}", &specs[2], &err);
	ck_assert_int_eq(sched_submit(s, specs, 3, 0, 0, ids, &err), -1);
	ck_assert_str_eq(err.code, "unknown_kind");
	ck_assert_ptr_nonnull(strstr(err.message, "jobs[2]"));
	ck_assert_ptr_null(RB_MIN(job_ids, &s->jobs));
	ck_assert_int_eq(sched_submit(s, specs, 2, 0, 0, ids, &err), 0);
	ck_assert_int_eq(ids[1], ids[0] + 1);
	msg_spec_clear(&specs[0]);
	msg_spec_clear(&specs[1]);
	msg_spec_clear(&specs[2]);
}
END_TEST

START_TEST(test_keys)
{
	struct msg_error	 err;
	int64_t			 a, b;

	a = submit("{\"kind\":\"sleep\",\"key\":\"k1\",\"args\":{\"ms\":1}}",
	    NULL);
	b = submit("{\"kind\":\"sleep\",\"key\":\"k1\",\"args\":{\"ms\":1}}",
	    NULL);
	ck_assert_int_eq(a, b);
	ck_assert_int_eq(s->counts[JOB_QUEUED], 1);
	ck_assert_int_eq(submit("{\"kind\":\"sleep\",\"key\":\"k1\",\"args\":"
	    "{\"ms\":2}}", &err), -1);
	ck_assert_str_eq(err.code, "conflict");
	run_until_finished(1);
	b = submit("{\"kind\":\"sleep\",\"key\":\"k1\",\"args\":{\"ms\":1}}",
	    NULL);
	ck_assert_int_eq(a, b);
}
END_TEST

START_TEST(test_rate)
{
	struct queue	*q;
	int		 i;

	q = sched_queue(s, "r", 1);
	queue_set_rate(q, 2);
	for (i = 0; i < 3; i++)
		submit("{\"kind\":\"sleep\",\"queue\":\"r\",\"args\":{\"ms\":1}}",
		    NULL);
	run_pass();
	ck_assert_int_eq(rec.nstarts, 2);
	run_until_finished(3);
	ck_assert_int_ge(rec.start_ms[2] - rec.start_ms[0], 400);
}
END_TEST

START_TEST(test_drain_and_cancel_running)
{
	int64_t	 a, b;

	a = submit("{\"kind\":\"sleep\",\"args\":{\"ms\":5000}}", NULL);
	b = submit("{\"kind\":\"sleep\",\"shield\":true,\"args\":{\"ms\":30}}",
	    NULL);
	run_pass();
	sched_drain(s);
	submit("{\"kind\":\"sleep\",\"args\":{\"ms\":1}}", NULL);
	ck_assert_int_eq(sched_cancel_running(s, 1, "shutdown"), 1);
	ck_assert_int_eq(state_of(a), JOB_CANCELLED);
	ck_assert_int_eq(state_of(b), JOB_RUNNING);
	run_until_finished(2);
	ck_assert_int_eq(state_of(b), JOB_SUCCEEDED);
	run_pass();
	ck_assert_int_eq(s->counts[JOB_QUEUED], 1);
}
END_TEST

/* Submit specs as one batch (group or not); ids in ids. */
static void
submit_batch(const char **json, size_t n, int group, int64_t *ids)
{
	struct msg_spec		 specs[8];
	struct msg_error	 err;
	size_t			 i;

	for (i = 0; i < n; i++)
		ck_assert_int_eq(msg_spec_parse(json[i], &specs[i], &err), 0);
	ck_assert_int_eq(sched_submit(s, specs, n, group, 0, ids, &err), 0);
	for (i = 0; i < n; i++)
		msg_spec_clear(&specs[i]);
}

START_TEST(test_after_success)
{
	char	 spec[128];
	int64_t	 a, b;

	a = submit("{\"kind\":\"sleep\",\"args\":{\"ms\":30}}", NULL);
	snprintf(spec, sizeof spec, "{\"kind\":\"sleep\",\"after\":[%lld],"
	    "\"args\":{\"ms\":1}}", (long long)a);
	b = submit(spec, NULL);
	run_pass();
	ck_assert_int_eq(state_of(b), JOB_QUEUED);
	ck_assert_str_eq(job_waiting_for(sched_lookup_job(s, b)), "dependency");
	run_until_finished(2);
	ck_assert_int_eq(state_of(b), JOB_SUCCEEDED);
	ck_assert_int_eq(rec.starts[1], b);
	ck_assert_int_ge(sched_lookup_job(s, b)->started_at,
	    sched_lookup_job(s, a)->finished_at);
}
END_TEST

START_TEST(test_after_chain_fails)
{
	char		 spec[128];
	struct job	*c;
	int64_t		 a, b, cid;

	a = submit("{\"kind\":\"sleep\",\"timeout_ms\":10,\"args\":"
	    "{\"ms\":5000}}", NULL);
	snprintf(spec, sizeof spec, "{\"kind\":\"sleep\",\"after\":[%lld],"
	    "\"args\":{\"ms\":1}}", (long long)a);
	b = submit(spec, NULL);
	snprintf(spec, sizeof spec, "{\"kind\":\"sleep\",\"after\":[%lld],"
	    "\"args\":{\"ms\":1}}", (long long)b);
	cid = submit(spec, NULL);
	run_until_finished(3);
	ck_assert_int_eq(state_of(a), JOB_FAILED);
	ck_assert_int_eq(state_of(b), JOB_FAILED);
	c = sched_lookup_job(s, cid);
	ck_assert_int_eq(c->state, JOB_FAILED);
	ck_assert_str_eq(c->more->error_code, "dependency_failed");
	ck_assert_int_eq(c->attempts, 0);
	ck_assert_int_eq(rec.nstarts, 1);
	/* after a job already failed: fails at submit */
	snprintf(spec, sizeof spec, "{\"kind\":\"sleep\",\"after\":[%lld],"
	    "\"args\":{\"ms\":1}}", (long long)a);
	ck_assert_int_eq(state_of(submit(spec, NULL)), JOB_FAILED);
}
END_TEST

START_TEST(test_after_unknown)
{
	struct msg_error	 err;

	ck_assert_int_eq(submit("{\"kind\":\"sleep\",\"after\":[42],"
	    "\"args\":{\"ms\":1}}", &err), -1);
	ck_assert_str_eq(err.code, "not_found");
}
END_TEST

START_TEST(test_lock_one_at_a_time)
{
	int	 i;

	for (i = 0; i < 4; i++)
		submit("{\"kind\":\"sleep\",\"lock\":\"L\",\"queue\":"
		    "\"q\",\"args\":{\"ms\":10}}", NULL);
	submit("{\"kind\":\"sleep\",\"args\":{\"ms\":10}}", NULL);
	run_pass();
	ck_assert_int_eq(s->counts[JOB_RUNNING], 2);
	run_until_finished(5);
	ck_assert_int_eq(rec.max_running, 2);
	ck_assert_int_eq(s->counts[JOB_SUCCEEDED], 5);
}
END_TEST

START_TEST(test_lock_released_by_cancel)
{
	int64_t	 a, b;

	a = submit("{\"kind\":\"sleep\",\"lock\":\"L\",\"args\":"
	    "{\"ms\":5000}}", NULL);
	b = submit("{\"kind\":\"sleep\",\"lock\":\"L\",\"args\":"
	    "{\"ms\":1}}", NULL);
	run_pass();
	ck_assert_int_eq(state_of(b), JOB_QUEUED);
	ck_assert_str_eq(job_waiting_for(sched_lookup_job(s, b)), "lock");
	sched_cancel(sched_lookup_job(s, a), "by test");
	run_until_finished(2);
	ck_assert_int_eq(state_of(b), JOB_SUCCEEDED);
}
END_TEST

START_TEST(test_group_failure_cancels)
{
	const char	*json[3] = {
		"{\"kind\":\"sleep\",\"args\":{\"ms\":5000}}",
		"{\"kind\":\"sleep\",\"timeout_ms\":10,\"args\":{\"ms\":5000}}",
		"{\"kind\":\"sleep\",\"delay_ms\":5000,\"args\":{\"ms\":1}}",
	};
	struct job	*job;
	int64_t		 ids[3];

	submit_batch(json, 3, 1, ids);
	run_until_finished(3);
	ck_assert_int_eq(state_of(ids[0]), JOB_CANCELLED);
	ck_assert_int_eq(state_of(ids[1]), JOB_FAILED);
	ck_assert_int_eq(state_of(ids[2]), JOB_CANCELLED);
	job = sched_lookup_job(s, ids[0]);
	ck_assert_ptr_nonnull(strstr(job->more->error_message, "2"));
}
END_TEST

START_TEST(test_batch_without_group)
{
	const char	*json[2] = {
		"{\"kind\":\"sleep\",\"args\":{\"ms\":30}}",
		"{\"kind\":\"sleep\",\"timeout_ms\":5,\"args\":{\"ms\":5000}}",
	};
	int64_t		 ids[2];

	submit_batch(json, 2, 0, ids);
	run_until_finished(2);
	ck_assert_int_eq(state_of(ids[0]), JOB_SUCCEEDED);
	ck_assert_int_eq(state_of(ids[1]), JOB_FAILED);
}
END_TEST

/*
 * With start_stored (durability safe) a new job starts only once its row
 * is committed: the start pass runs before the commit in a loop turn.
 */
START_TEST(test_start_after_commit)
{
	static const char *files[] = { "jobs.db", "jobs.db-wal", "jobs.db-shm" };
	char		 dir[] = "/tmp/check_sched.XXXXXX", path[64];
	char		*cause = NULL;
	int64_t		 id;
	size_t		 i;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	s->store = store_open(dir, 1, &cause);
	ck_assert_msg(s->store != NULL, "%s", cause);
	s->start_stored = 1;
	id = submit("{\"kind\":\"sleep\",\"args\":{\"ms\":0}}", NULL);
	run_pass();
	ck_assert_int_eq(state_of(id), JOB_QUEUED);
	ck_assert_str_eq(job_waiting_for(sched_lookup_job(s, id)), "store");
	ck_assert_int_eq(rec.nstarts, 0);
	ck_assert_int_eq(sched_commit(s, &cause), 0);
	run_until_finished(1);
	ck_assert_int_eq(rec.nstarts, 1);
	store_close(s->store);
	s->store = NULL;
	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}
END_TEST

static Suite *
sched_suite(void)
{
	Suite	*suite = suite_create("sched");
	TCase	*tc = tcase_create("sched");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_global_limit);
	tcase_add_test(tc, test_unlimited);
	tcase_add_test(tc, test_queue_limit);
	tcase_add_test(tc, test_priority_and_fifo);
	tcase_add_test(tc, test_delay);
	tcase_add_test(tc, test_cancel_queued);
	tcase_add_test(tc, test_cancel_delayed);
	tcase_add_test(tc, test_cancel_running);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_retries);
	tcase_add_test(tc, test_cancel_stops_retries);
	tcase_add_test(tc, test_pending_limit);
	tcase_add_test(tc, test_unknown_kind);
	tcase_add_test(tc, test_batch_all_or_nothing);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_drain_and_cancel_running);
	tcase_add_test(tc, test_after_success);
	tcase_add_test(tc, test_after_chain_fails);
	tcase_add_test(tc, test_after_unknown);
	tcase_add_test(tc, test_lock_one_at_a_time);
	tcase_add_test(tc, test_lock_released_by_cancel);
	tcase_add_test(tc, test_group_failure_cancels);
	tcase_add_test(tc, test_batch_without_group);
	tcase_add_test(tc, test_start_after_commit);
	suite_add_tcase(suite, tc);
	return (suite);
}

int
main(void)
{
	SRunner	*sr = srunner_create(sched_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
