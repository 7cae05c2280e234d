/*
 * A job's state machine through job.c's API: the transition table (each
 * allowed move, and a refused one stopping the daemon as the bug it is),
 * the counts each move keeps, the times it stamps and the state names.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "aiojobsd.h"

static struct event_base	*base;
static struct sched		*s;

static void
setup(void)
{
	base = event_base_new();
	s = sched_create(base, 0, 0);
}

static void
teardown(void)
{
	sched_free(s);
	event_base_free(base);
}

/* A queued job of a long sleep; the loop never runs, so nothing starts. */
static struct job *
queued_job(void)
{
	struct msg_spec		 spec;
	struct msg_error	 err;
	int64_t			 id;

	ck_assert_int_eq(msg_spec_parse("{\"kind\":\"sleep\",\"args\":"
	    "{\"ms\":100000}}", &spec, &err), 0);
	ck_assert_int_eq(sched_submit(s, &spec, 1, 0, 0, &id, &err), 0);
	msg_spec_clear(&spec);
	return (sched_lookup_job(s, id));
}

START_TEST(test_names)
{
	int	 i;

	for (i = 0; i < JOB_NSTATES; i++)
		ck_assert_int_eq(job_state_by_name(job_state_name(i)), i);
	ck_assert_int_eq(job_state_by_name("done"), -1);
	ck_assert(!job_state_final(JOB_QUEUED));
	ck_assert(!job_state_final(JOB_RUNNING));
	ck_assert(job_state_final(JOB_SUCCEEDED));
	ck_assert(job_state_final(JOB_FAILED));
	ck_assert(job_state_final(JOB_CANCELLED));
}
END_TEST

/* Run the loop until the job is in state, at most 100 turns. */
static void
run_until(struct job *job, int state)
{
	int	 i;

	for (i = 0; i < 100 && job->state != state; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_int_eq(job->state, state);
}

/*
 * The moves the scheduler makes, as it makes them: queued -> running
 * (the loop starts it), running -> cancelled; queued -> cancelled. Each
 * keeps the counts and stamps the times.
 */
START_TEST(test_moves_keep_counts_and_times)
{
	struct job	*a = queued_job(), *b;

	ck_assert_int_eq(s->counts[JOB_QUEUED], 1);
	ck_assert_int_eq(a->started_at, -1);
	run_until(a, JOB_RUNNING);
	ck_assert_int_eq(s->counts[JOB_QUEUED], 0);
	ck_assert_int_eq(s->counts[JOB_RUNNING], 1);
	ck_assert_int_eq(a->queue->nrunning, 1);
	ck_assert_int_ge(a->started_at, 0);
	sched_cancel(a, "test");
	run_until(a, JOB_CANCELLED);
	ck_assert_int_eq(s->counts[JOB_RUNNING], 0);
	ck_assert_int_eq(s->counts[JOB_CANCELLED], 1);
	ck_assert_int_ge(a->finished_at, a->started_at);
	b = queued_job();
	sched_cancel(b, "test");
	ck_assert_int_eq(b->state, JOB_CANCELLED);
	ck_assert_int_eq(b->started_at, -1);
	ck_assert_int_ge(b->finished_at, 0);
	ck_assert_int_eq(s->counts[JOB_QUEUED], 0);
	ck_assert_int_eq(s->counts[JOB_CANCELLED], 2);
}
END_TEST

/* A final state is final: leaving it is a bug, and the daemon stops. */
START_TEST(test_final_is_final)
{
	struct job	*job = queued_job();

	job_set_state(job, JOB_CANCELLED);
	job_set_state(job, JOB_RUNNING);	/* exits 1 */
}
END_TEST

/* A queued job cannot succeed without running. */
START_TEST(test_queued_cannot_succeed)
{
	job_set_state(queued_job(), JOB_SUCCEEDED);	/* exits 1 */
}
END_TEST

static Suite *
job_suite(void)
{
	Suite	*su = suite_create("job");
	TCase	*tc = tcase_create("states");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_moves_keep_counts_and_times);
	tcase_add_exit_test(tc, test_final_is_final, 1);
	tcase_add_exit_test(tc, test_queued_cannot_succeed, 1);
	suite_add_tcase(su, tc);
	return (su);
}

int
main(void)
{
	SRunner	*sr = srunner_create(job_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
