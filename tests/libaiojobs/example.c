/*
 * A program on libaiojobs alone, built against an installed copy by
 * tests/integration/test_libaiojobs.py. Each mode does one thing and
 * prints what happened as "name value" lines:
 *
 *   example run URL SPEC		submit, wait, print the wait reply
 *   example status URL ID		a status request (not_found for others)
 *   example connect URL MS		connect within MS (no daemon: an error)
 *   example resend URL SPEC		connect, read a line from stdin, submit
 *					within 300 ms, read a line, submit the
 *					same spec again
 *   example cancel URL SPEC		submit, cancel, print the reply
 *   example events URL EVENTS SPEC	subscribe to job.succeeded, run a job,
 *					print the event's topic
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <aiojobs.h>

#define EXAMPLE_TIMEOUT_MS	10000

static int64_t
example_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Print a call's code, its name and text; return it. */
static int
example_code(const char *what, struct aiojobs *h, int code)
{
	printf("%s %s %d\n", what, aiojobs_code_name(code), code);
	if (code != AIOJOBS_OK)
		printf("%s_message %s (%s)\n", what, aiojobs_errmsg(h),
		    aiojobs_strerror(code));
	fflush(stdout);
	return (code);
}

/* Submit spec and wait for its job to end. */
static int
example_run(struct aiojobs *h, const char *spec)
{
	char	*reply;
	int64_t	 id;

	if (example_code("submit", h, aiojobs_submit(h, spec, NULL,
	    EXAMPLE_TIMEOUT_MS, &id, NULL)) != AIOJOBS_OK)
		return (1);
	printf("id %lld\nkey %s\n", (long long)id, aiojobs_last_key(h));
	if (example_code("wait", h, aiojobs_wait(h, &id, 1, NULL,
	    EXAMPLE_TIMEOUT_MS, &reply)) != AIOJOBS_OK)
		return (1);
	printf("reply %s\n", reply);
	aiojobs_free(reply);
	return (0);
}

/* A request naming job id (not ours: not_found). */
static int
example_status(struct aiojobs *h, const char *id)
{
	char	 req[64];
	char	*reply;
	int	 r;

	snprintf(req, sizeof req, "{\"op\":\"status\",\"id\":%lld}",
	    strtoll(id, NULL, 10));
	r = example_code("status", h, aiojobs_request(h, req,
	    EXAMPLE_TIMEOUT_MS, &reply));
	if (reply != NULL)
		printf("reply %s\n", reply);
	aiojobs_free(reply);
	return (r == AIOJOBS_OK ? 0 : 1);
}

/*
 * Once told on stdin, submit with a short timeout; once told again,
 * submit the same spec again.
 */
static int
example_resend(struct aiojobs *h, const char *spec)
{
	char	 line[16];
	int64_t	 id;

	if (fgets(line, sizeof line, stdin) == NULL)
		return (1);
	example_code("first", h, aiojobs_submit(h, spec, NULL, 300, &id,
	    NULL));
	printf("first_key %s\n", aiojobs_last_key(h));
	fflush(stdout);
	if (fgets(line, sizeof line, stdin) == NULL)
		return (1);
	if (example_code("second", h, aiojobs_submit(h, spec, NULL,
	    EXAMPLE_TIMEOUT_MS, &id, NULL)) != AIOJOBS_OK)
		return (1);
	printf("second_key %s\nid %lld\n", aiojobs_last_key(h),
	    (long long)id);
	return (0);
}

/* Submit and cancel at once. */
static int
example_cancel(struct aiojobs *h, const char *spec)
{
	char	*reply;
	int64_t	 id;

	if (example_code("submit", h, aiojobs_submit(h, spec, NULL,
	    EXAMPLE_TIMEOUT_MS, &id, NULL)) != AIOJOBS_OK)
		return (1);
	if (example_code("cancel", h, aiojobs_cancel(h, id,
	    EXAMPLE_TIMEOUT_MS, &reply)) != AIOJOBS_OK)
		return (1);
	printf("reply %s\n", reply);
	aiojobs_free(reply);
	return (0);
}

/* Subscribe to job.succeeded, run spec, print the event that came. */
static int
example_events(struct aiojobs *h, const char *url, const char *spec)
{
	struct aiojobs_events	*e;
	char			*topic, *json;
	int			 r;

	if (aiojobs_events_open(&e, url, "job.succeeded") != AIOJOBS_OK) {
		printf("events_open %s\n", aiojobs_events_errmsg(e));
		aiojobs_events_close(e);
		return (1);
	}
	if ((r = example_run(h, spec)) == 0) {
		r = aiojobs_events_recv(e, EXAMPLE_TIMEOUT_MS, &topic, &json);
		if (r == AIOJOBS_OK) {
			printf("topic %s\nevent %s\n", topic, json);
			aiojobs_free(topic);
			aiojobs_free(json);
		} else
			printf("events_recv %s\n", aiojobs_events_errmsg(e));
	}
	aiojobs_events_close(e);
	return (r != 0);
}

/* Connect and do what the mode says. */
static int
example_mode(int argc, char **argv)
{
	struct aiojobs	*h;
	int64_t		 start;
	int		 r, ms;

	ms = strcmp(argv[1], "connect") == 0 ? atoi(argv[3]) :
	    EXAMPLE_TIMEOUT_MS;
	start = example_now_ms();
	r = aiojobs_connect(&h, argv[2], NULL, ms);
	setvbuf(stdout, NULL, _IOLBF, 0);	/* the test reads line by line */
	printf("elapsed_ms %lld\n", (long long)(example_now_ms() - start));
	if (example_code("connect", h, r) != AIOJOBS_OK)
		r = 1;
	else if (strcmp(argv[1], "run") == 0)
		r = example_run(h, argv[3]);
	else if (strcmp(argv[1], "status") == 0)
		r = example_status(h, argv[3]);
	else if (strcmp(argv[1], "resend") == 0)
		r = example_resend(h, argv[3]);
	else if (strcmp(argv[1], "cancel") == 0)
		r = example_cancel(h, argv[3]);
	else if (strcmp(argv[1], "events") == 0 && argc == 5)
		r = example_events(h, argv[3], argv[4]);
	else
		r = 2;
	aiojobs_close(h);
	return (r);
}

int
main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: example MODE URL ARG [ARG]\n");
		return (2);
	}
	return (example_mode(argc, argv));
}
