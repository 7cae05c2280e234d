/*
 * Held waits through wait.c's API, on a real scheduler with sleep jobs
 * and a real control endpoint: ALL_COMPLETED, FIRST_COMPLETED and
 * FIRST_EXCEPTION answered when their jobs change state, timeouts and
 * max_hold_ms, not_found, the limit of held requests, a reply cut at its
 * size, cancel's reply, answers at shutdown, output reads held until the
 * output grows or the job ends, and a wait's links to its jobs undone
 * when its request goes. The test plays server.c's part: a job that
 * becomes final is given to wait_job_final, and wait_check_all runs
 * when the test says.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "check_main.h"
#include "tenv.h"
#include "xmalloc.h"

#define T_WAIT_MS	5000	/* the longest a job may take to end */
#define T_LONG		"{\"kind\":\"sleep\",\"args\":{\"ms\":100000}}"
#define T_SHORT		"{\"kind\":\"sleep\",\"args\":{\"ms\":0}}"
/* In a paused queue, to start when the test resumes it. */
#define T_SHORT_Q1	"{\"kind\":\"sleep\",\"queue\":\"q1\"," \
			    "\"args\":{\"ms\":0}}"
#define T_FAILS_Q2	"{\"kind\":\"sleep\",\"queue\":\"q2\"," \
			    "\"timeout_ms\":1,\"args\":{\"ms\":100000}}"

static struct control	*t_ctl;
static int		 t_fd;		/* a client of t_ctl */
static int		 t_ready;	/* what t_ready_cb says */
static int		 t_nready;	/* times it was asked */
static int		 t_nreply;	/* times t_reply_cb built a reply */

static uint64_t
t_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* server.c's part: a final job counts in the waits linked to it. */
static void
t_changed(struct job *job, int old, void *arg)
{
	if (job_state_final(job->state))
		wait_job_final(job);
}

static void
t_setup(void)
{
	tenv_setup();
	sched_set_change_cb(tenv.aj.sched, t_changed, NULL);
	sched_queue(tenv.aj.sched, "q1", 1)->paused = 1;
	sched_queue(tenv.aj.sched, "q2", 1)->paused = 1;
	t_ctl = tenv_control_ipc("ctl", NULL);
	t_fd = tenv_client(t_ctl);
	t_ready = t_nready = t_nreply = 0;
}

static void
t_teardown(void)
{
	close(t_fd);
	tenv_teardown();
}

/* Submit one spec; its job, started if it may start. */
static struct job *
t_submit(const char *json)
{
	struct msg_spec		 spec;
	struct msg_error	 err;
	int64_t			 id;

	ck_assert_int_eq(msg_spec_parse(json, &spec, &err), 0);
	ck_assert_msg(sched_submit(tenv.aj.sched, &spec, 1, 0, 0, &id, &err) == 0,
	    "%s", err.message);
	msg_spec_clear(&spec);
	event_base_loop(tenv.aj.base, EVLOOP_NONBLOCK);
	return (sched_lookup_job(tenv.aj.sched, id));
}

/* Let the jobs of a paused queue start. */
static void
t_resume(const char *queue)
{
	sched_queue(tenv.aj.sched, queue, 0)->paused = 0;
	sched_kick(tenv.aj.sched);
}

/* Turn the loop until the job is final. */
static void
t_until_final(struct job *job)
{
	uint64_t	 deadline = t_now_ms() + T_WAIT_MS;

	while (!job_state_final(job->state) && t_now_ms() < deadline)
		event_base_loop(tenv.aj.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert(job_state_final(job->state));
}

/* A request from the client, with request id rid, for the test to hold. */
static struct creq *
t_request(uint32_t rid)
{
	tenv_send(t_fd, rid, "{\"op\":\"wait\"}");
	tenv_until_requests(tenv.nreqs + 1);
	return (tenv.reqs[tenv.nreqs - 1]);
}

/* Hold a wait for these jobs. */
static struct creq *
t_wait(uint32_t rid, struct job **jobs, size_t n, int return_when,
    int64_t timeout_ms)
{
	struct creq	*cr = t_request(rid);
	int64_t		 ids[8];
	size_t		 i;

	ck_assert_uint_le(n, 8);
	for (i = 0; i < n; i++)
		ids[i] = jobs[i]->id;
	wait_hold(&tenv.aj, cr, ids, n, return_when, timeout_ms, 0);
	return (cr);
}

/* The ids of a reply's array key: done (its views' ids) or pending. */
static size_t
t_ids(struct msg_in *in, const char *key, int64_t *ids)
{
	size_t	 i, n = msg_in_array_len(in, key);

	for (i = 0; i < n && i < 8; i++) {
		if (strcmp(key, "done") == 0)
			ck_assert_int_eq(msg_in_int(msg_in_array_at(in, key, i),
			    "id", &ids[i], NULL), 1);
		else
			ck_assert_int_eq(msg_in_array_int(in, key, i, &ids[i]),
			    0);
	}
	return (n);
}

/*
 * Read the reply to request rid: ok, the ids of done in the order given,
 * then those of pending. Returns the reply for more checks.
 */
static struct msg_in *
t_expect(uint32_t rid, struct job **done, size_t ndone, struct job **pending,
    size_t npending)
{
	struct msg_in	*in = tenv_recv_json(t_fd, rid);
	int64_t		 ids[8];
	size_t		 i;
	int		 ok = 0;

	ck_assert_int_eq(msg_in_bool(in, "ok", &ok, NULL), 1);
	ck_assert(ok);
	ck_assert_uint_eq(t_ids(in, "done", ids), ndone);
	for (i = 0; i < ndone; i++)
		ck_assert_int_eq(ids[i], done[i]->id);
	ck_assert_uint_eq(t_ids(in, "pending", ids), npending);
	for (i = 0; i < npending; i++)
		ck_assert_int_eq(ids[i], pending[i]->id);
	return (in);
}

/* The state a reply's done[i] shows. */
static const char *
t_done_state(struct msg_in *in, size_t i)
{
	const char	*s = NULL;

	ck_assert_int_eq(msg_in_string(msg_in_array_at(in, "done", i),
	    "state", &s, NULL), 1);
	return (s);
}

/*
 * Not answered yet: still held after wait_check_all. (The loop is not
 * turned here, so a short timeout cannot answer it meanwhile.)
 */
static void
t_held(void)
{
	wait_check_all(&tenv.aj);
	ck_assert_uint_eq(control_held_count(t_ctl), 1);
}

/* ALL_COMPLETED: answered once every job ended, in the order of ids. */
START_TEST(test_all_completed)
{
	struct job	*a = t_submit(T_SHORT), *b = t_submit(T_LONG);
	struct job	*ids[] = { b, a };
	struct msg_in	*in;

	t_wait(1, ids, 2, MSG_ALL_COMPLETED, -1);
	t_until_final(a);
	t_held();
	ck_assert(tenv_silent(t_fd));
	sched_cancel(b, "by test");
	wait_check_all(&tenv.aj);
	ck_assert_uint_eq(control_held_count(t_ctl), 0);
	in = t_expect(1, ids, 2, NULL, 0);
	ck_assert_str_eq(t_done_state(in, 0), "cancelled");
	ck_assert_str_eq(t_done_state(in, 1), "succeeded");
	msg_in_free(in);
}
END_TEST

/*
 * FIRST_COMPLETED: answered when one job ends; the other is pending and
 * no longer linked to the wait that went.
 */
START_TEST(test_first_completed)
{
	struct job	*slow = t_submit(T_LONG), *fast = t_submit(T_SHORT_Q1);
	struct job	*ids[] = { slow, fast };

	t_wait(1, ids, 2, MSG_FIRST_COMPLETED, -1);
	ck_assert(!TAILQ_EMPTY(&slow->waits));
	t_held();
	ck_assert(tenv_silent(t_fd));
	t_resume("q1");
	t_until_final(fast);
	wait_check_all(&tenv.aj);
	msg_in_free(t_expect(1, &fast, 1, &slow, 1));
	ck_assert(TAILQ_EMPTY(&slow->waits));
	ck_assert_int_eq(slow->state, JOB_RUNNING);
}
END_TEST

/* FIRST_EXCEPTION: a success does not answer it, a failure does. */
START_TEST(test_first_exception)
{
	struct job	*slow = t_submit(T_LONG), *ok = t_submit(T_SHORT_Q1);
	struct job	*bad = t_submit(T_FAILS_Q2);
	struct job	*ids[] = { slow, ok, bad }, *done[] = { ok, bad };
	struct msg_in	*in;

	t_wait(1, ids, 3, MSG_FIRST_EXCEPTION, -1);
	t_resume("q1");
	t_until_final(ok);
	t_held();
	t_resume("q2");
	t_until_final(bad);
	ck_assert_int_eq(bad->state, JOB_FAILED);
	wait_check_all(&tenv.aj);
	in = t_expect(1, done, 2, &slow, 1);
	ck_assert_str_eq(t_done_state(in, 1), "failed");
	msg_in_free(in);
}
END_TEST

/* FIRST_EXCEPTION: a cancelled job is an exception too. */
START_TEST(test_first_exception_cancelled)
{
	struct job	*slow = t_submit(T_LONG), *other = t_submit(T_LONG);
	struct job	*ids[] = { slow, other };

	t_wait(1, ids, 2, MSG_FIRST_EXCEPTION, -1);
	t_held();
	sched_cancel(other, "by test");
	wait_check_all(&tenv.aj);
	msg_in_free(t_expect(1, &other, 1, &slow, 1));
}
END_TEST

/* FIRST_EXCEPTION with no failure: answered when all ended. */
START_TEST(test_first_exception_none_fails)
{
	struct job	*a = t_submit(T_SHORT), *b = t_submit(T_SHORT_Q1);
	struct job	*ids[] = { a, b };

	t_wait(1, ids, 2, MSG_FIRST_EXCEPTION, -1);
	t_until_final(a);
	t_held();
	t_resume("q1");
	t_until_final(b);
	wait_check_all(&tenv.aj);
	msg_in_free(t_expect(1, ids, 2, NULL, 0));
}
END_TEST

/* Jobs final before the wait: answered at once, whatever return_when. */
START_TEST(test_already_final)
{
	struct job	*a = t_submit(T_SHORT);
	int		 rw;

	t_until_final(a);
	for (rw = MSG_ALL_COMPLETED; rw <= MSG_FIRST_EXCEPTION; rw++) {
		t_wait((uint32_t)rw + 1, &a, 1, rw, -1);
		ck_assert_uint_eq(control_held_count(t_ctl), 0);
		msg_in_free(t_expect((uint32_t)rw + 1, &a, 1, NULL, 0));
	}
	ck_assert(TAILQ_EMPTY(&a->waits));
}
END_TEST

/* timeout_ms: answered when it passes, with what is known; 0: at once. */
START_TEST(test_timeout)
{
	struct job	*a = t_submit(T_LONG);

	t_wait(1, &a, 1, MSG_ALL_COMPLETED, 0);
	ck_assert_uint_eq(control_held_count(t_ctl), 0);
	msg_in_free(t_expect(1, NULL, 0, &a, 1));
	t_wait(2, &a, 1, MSG_ALL_COMPLETED, 50);
	t_held();
	msg_in_free(t_expect(2, NULL, 0, &a, 1));
	ck_assert_uint_eq(control_held_count(t_ctl), 0);
	ck_assert(TAILQ_EMPTY(&a->waits));
}
END_TEST

/* max_hold_ms bounds every hold, one without a timeout or a longer one. */
START_TEST(test_max_hold)
{
	struct job	*a = t_submit(T_LONG);

	tenv.aj.conf.max_hold_ms = 50;
	t_wait(1, &a, 1, MSG_ALL_COMPLETED, -1);
	t_held();
	msg_in_free(t_expect(1, NULL, 0, &a, 1));
	t_wait(2, &a, 1, MSG_ALL_COMPLETED, 600000);
	t_held();
	msg_in_free(t_expect(2, NULL, 0, &a, 1));
}
END_TEST

/*
 * An id that names no job: not_found, and the jobs named before it are
 * not left linked to the refused wait.
 */
START_TEST(test_not_found)
{
	struct job	*a = t_submit(T_LONG);
	struct msg_in	*in, *e;
	struct creq	*cr = t_request(1);
	const char	*s;
	int64_t		 ids[2] = { a->id, a->id + 1000 };
	char		 want[64];

	wait_hold(&tenv.aj, cr, ids, 2, MSG_ALL_COMPLETED, -1, 0);
	ck_assert(TAILQ_EMPTY(&a->waits));
	ck_assert_uint_eq(control_held_count(t_ctl), 0);
	in = tenv_recv_json(t_fd, 1);
	ck_assert_ptr_nonnull(e = msg_in_object(in, "error"));
	ck_assert_int_eq(msg_in_string(e, "code", &s, NULL), 1);
	ck_assert_str_eq(s, "not_found");
	ck_assert_int_eq(msg_in_string(e, "message", &s, NULL), 1);
	snprintf(want, sizeof want, "no job with id %lld", (long long)ids[1]);
	ck_assert_str_eq(s, want);
	msg_in_free(in);
	sched_cancel(a, "by test");
}
END_TEST

/*
 * An endpoint holds 4096 requests at most (docs/protocol.md): past that
 * a wait is answered at once, as if its timeout had passed, and the ones
 * held stay held.
 */
START_TEST(test_too_many_held)
{
	struct job	*a = t_submit(T_LONG);
	size_t		 held = 0;
	uint32_t	 rid;

	for (rid = 1; rid < TENV_REQS_MAX; rid++) {
		t_wait(rid, &a, 1, MSG_ALL_COMPLETED, -1);
		if (control_held_count(t_ctl) == held)
			break;
		held = control_held_count(t_ctl);
	}
	ck_assert_uint_lt(rid, TENV_REQS_MAX);
	ck_assert_uint_eq(held, 4096);
	msg_in_free(t_expect(rid, NULL, 0, &a, 1));
	ck_assert_uint_eq(control_held_count(t_ctl), held);
}
END_TEST

/*
 * Views that would take a reply past its size go in more_done, by id:
 * done keeps those that fit (the first always), both in the order of
 * ids, and the reply stays under MSG_REPLY_MAX.
 */
START_TEST(test_reply_cut)
{
	struct msg_error	 err;
	struct msg_in		*in;
	struct creq		*cr;
	struct job		*job;
	int64_t			*ids, id;
	char			 spec[512], name[MSG_NAME_MAX + 1], *text;
	size_t			 i, n = 3000, ndone, nmore;

	memset(name, 'n', MSG_NAME_MAX);
	name[MSG_NAME_MAX] = '\0';
	snprintf(spec, sizeof spec, "{\"kind\":\"sleep\",\"queue\":\"q1\","
	    "\"name\":\"%s\",\"args\":{\"ms\":0}}", name);
	ids = xcalloc(n, sizeof *ids);
	for (i = 0; i < n; i++) {
		job = t_submit(spec);
		ids[i] = job->id;
		sched_cancel(job, "by test");
	}
	cr = t_request(1);
	wait_hold(&tenv.aj, cr, ids, n, MSG_ALL_COMPLETED, -1, 0);
	text = tenv_recv(t_fd, 1);
	ck_assert_uint_lt(strlen(text), MSG_REPLY_MAX);
	in = msg_in_parse(text, strlen(text), &err);
	ck_assert_msg(in != NULL, "%s", err.message);
	ndone = msg_in_array_len(in, "done");
	nmore = msg_in_array_len(in, "more_done");
	ck_assert_uint_gt(ndone, 0);
	ck_assert_uint_gt(nmore, 0);
	ck_assert_uint_eq(ndone + nmore, n);
	ck_assert_uint_eq(msg_in_array_len(in, "pending"), 0);
	for (i = 0; i < n; i++) {
		if (i < ndone)
			ck_assert_int_eq(msg_in_int(msg_in_array_at(in, "done",
			    i), "id", &id, NULL), 1);
		else
			ck_assert_int_eq(msg_in_array_int(in, "more_done",
			    i - ndone, &id), 0);
		ck_assert_int_eq(id, ids[i]);
	}
	msg_in_free(in);
	free(text);
	free(ids);
}
END_TEST

/* The job's view under "job" (cancel's reply), once it is final. */
static void
t_expect_job(uint32_t rid, struct job *job, const char *state)
{
	struct msg_in	*in = tenv_recv_json(t_fd, rid), *v;
	const char	*s;
	int64_t		 id;

	ck_assert_ptr_nonnull(v = msg_in_object(in, "job"));
	ck_assert_int_eq(msg_in_int(v, "id", &id, NULL), 1);
	ck_assert_int_eq(id, job->id);
	ck_assert_int_eq(msg_in_string(v, "state", &s, NULL), 1);
	ck_assert_str_eq(s, state);
	ck_assert(!msg_in_has(in, "done"));
	msg_in_free(in);
}

/*
 * cancel's reply: the job's view when it is final; when it does not stop
 * in time (kill_grace_ms + max_hold_ms), its view as it is.
 */
START_TEST(test_cancel_reply)
{
	struct job	*a = t_submit(T_LONG), *b = t_submit(T_LONG);
	struct creq	*cr = t_request(1);

	wait_hold(&tenv.aj, cr, &a->id, 1, MSG_ALL_COMPLETED, -1, 1);
	t_held();
	sched_cancel(a, "by test");
	wait_check_all(&tenv.aj);
	t_expect_job(1, a, "cancelled");
	tenv.aj.conf.kill_grace_ms = 20;
	tenv.aj.conf.max_hold_ms = 20;
	cr = t_request(2);
	wait_hold(&tenv.aj, cr, &b->id, 1, MSG_ALL_COMPLETED, -1, 1);
	t_held();
	t_expect_job(2, b, "running");
}
END_TEST

/* An output request's test of whether its bytes are there. */
static int
t_ready_cb(struct aiojobsd *aj, struct creq *cr)
{
	ck_assert_ptr_eq(aj, &tenv.aj);
	t_nready++;
	return (t_ready);
}

/* An output request's reply, built when it is answered. */
static char *
t_reply_cb(struct aiojobsd *aj, struct creq *cr)
{
	t_nreply++;
	return (xstrdup(t_ready ? "{\"ok\":true,\"bytes\":1}" :
	    "{\"ok\":true,\"bytes\":0}"));
}

/* Hold an output request on a job. */
static void
t_output(uint32_t rid, struct job *job, int64_t timeout_ms)
{
	struct creq	*cr = t_request(rid);

	wait_hold_output(&tenv.aj, cr, job->id, timeout_ms, t_ready_cb,
	    t_reply_cb);
}

static void
t_expect_output(uint32_t rid, const char *want)
{
	char	*got = tenv_recv(t_fd, rid);

	ck_assert_str_eq(got, want);
	free(got);
}

/*
 * An output read is held while its bytes are not there, output that
 * does not bring them included, and answered once output does.
 */
START_TEST(test_output_until_grown)
{
	struct job	*a = t_submit(T_LONG);

	t_output(1, a, -1);
	ck_assert_int_eq(t_nready, 1);
	t_held();
	ck_assert_int_eq(wait_job_output(a), 0);
	t_held();
	t_ready = 1;
	ck_assert_int_eq(wait_job_output(a), 1);
	wait_check_all(&tenv.aj);
	ck_assert_uint_eq(control_held_count(t_ctl), 0);
	t_expect_output(1, "{\"ok\":true,\"bytes\":1}");
	ck_assert_int_eq(t_nreply, 1);
	ck_assert(TAILQ_EMPTY(&a->waits));
}
END_TEST

/* An output read is answered when its job ends, bytes or not. */
START_TEST(test_output_job_ends)
{
	struct job	*a = t_submit(T_LONG);

	t_output(1, a, -1);
	t_held();
	sched_cancel(a, "by test");
	wait_check_all(&tenv.aj);
	t_expect_output(1, "{\"ok\":true,\"bytes\":0}");
}
END_TEST

/*
 * Answered at once: bytes already there, a final job, or timeout 0.
 * Otherwise its timeout answers it.
 */
START_TEST(test_output_at_once_or_timeout)
{
	struct job	*a = t_submit(T_LONG), *b = t_submit(T_SHORT);

	t_ready = 1;
	t_output(1, a, -1);
	ck_assert_uint_eq(control_held_count(t_ctl), 0);
	t_expect_output(1, "{\"ok\":true,\"bytes\":1}");
	t_ready = 0;
	t_output(2, a, 0);
	ck_assert_uint_eq(control_held_count(t_ctl), 0);
	t_expect_output(2, "{\"ok\":true,\"bytes\":0}");
	t_until_final(b);
	t_output(3, b, -1);
	ck_assert_uint_eq(control_held_count(t_ctl), 0);
	t_expect_output(3, "{\"ok\":true,\"bytes\":0}");
	t_output(4, a, 50);
	t_held();
	t_expect_output(4, "{\"ok\":true,\"bytes\":0}");
	ck_assert_int_eq(t_nreply, 4);
}
END_TEST

/*
 * A request that goes unanswered (its endpoint closes) takes its wait
 * with it: no job stays linked to it, and the jobs end as usual.
 */
START_TEST(test_request_goes)
{
	struct job	*a = t_submit(T_LONG), *b = t_submit(T_LONG);
	struct job	*ids[] = { a, b };

	t_wait(1, ids, 2, MSG_ALL_COMPLETED, -1);
	t_output(2, a, -1);
	ck_assert_uint_eq(control_held_count(t_ctl), 2);
	tenv_close(t_ctl);
	ck_assert(TAILQ_EMPTY(&a->waits));
	ck_assert(TAILQ_EMPTY(&b->waits));
	sched_cancel(a, "by test");
	sched_cancel(b, "by test");
	ck_assert(job_state_final(a->state) && job_state_final(b->state));
	wait_check_all(&tenv.aj);
	ck_assert(tenv_closed(t_fd));
}
END_TEST

/* At shutdown a held wait is answered at once with what is known. */
START_TEST(test_reply_now_at_shutdown)
{
	struct job	*a = t_submit(T_LONG), *b = t_submit(T_SHORT);
	struct job	*ids[] = { a, b };

	t_wait(1, ids, 2, MSG_ALL_COMPLETED, -1);
	t_until_final(b);
	t_held();
	control_reply_held(t_ctl);
	ck_assert_uint_eq(control_held_count(t_ctl), 0);
	msg_in_free(t_expect(1, &b, 1, &a, 1));
	ck_assert(TAILQ_EMPTY(&a->waits));
	/* once the daemon is stopping, a new wait is answered at once */
	tenv.aj.stopping = 1;
	t_wait(2, ids, 2, MSG_ALL_COMPLETED, -1);
	msg_in_free(t_expect(2, &b, 1, &a, 1));
	ck_assert(tenv_silent(t_fd));
}
END_TEST

static Suite *
wait_suite(void)
{
	Suite	*s = suite_create("wait");
	TCase	*tc;

	tc = tcase_create("wait");
	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_all_completed);
	tcase_add_test(tc, test_first_completed);
	tcase_add_test(tc, test_first_exception);
	tcase_add_test(tc, test_first_exception_cancelled);
	tcase_add_test(tc, test_first_exception_none_fails);
	tcase_add_test(tc, test_already_final);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_max_hold);
	tcase_add_test(tc, test_not_found);
	tcase_add_test(tc, test_too_many_held);
	tcase_add_test(tc, test_reply_cut);
	tcase_add_test(tc, test_cancel_reply);
	tcase_add_test(tc, test_reply_now_at_shutdown);
	tcase_add_test(tc, test_request_goes);
	suite_add_tcase(s, tc);

	tc = tcase_create("output");
	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_output_until_grown);
	tcase_add_test(tc, test_output_job_ends);
	tcase_add_test(tc, test_output_at_once_or_timeout);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (check_main(wait_suite()));
}
