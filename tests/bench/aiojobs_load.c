/*
 * aiojobs_load: a load generator for a running aiojobsd, with baselines
 * against beanstalkd, for scripts/bench. It speaks to the daemon only
 * through the client library (client.h, watch.h, msg.h), times with
 * CLOCK_MONOTONIC and prints one line per measurement,
 *
 *	RESULT {"name":"io.wall","value":1.23,"unit":"s","mode":"io",...}
 *
 * between lines for people. Every mode stops at --max-seconds. Requests
 * are built before the clock starts, so the client's encoding is not
 * timed; replies are parsed as they come, as any client would.
 *
 * io N	N sleep jobs of --ms, submitted in batches of --batch over one REQ
 *	connection, and awaited while the submits go on by 16 threads on
 *	connections of their own (wait, ALL_COMPLETED, long-polled, the ids
 *	submitted so far, at most 10,000 a request), as a client gathering
 *	its jobs would (--wait-after: one connection, waits once every
 *	job is in). With --limit 0 every job sleeps at the
 *	same time, so the wall time beyond --ms is what the daemon spends on
 *	N jobs: decoding, storing, scheduling, timers, finishing, committing
 *	and reading the results back for the client. With --pid, VmRSS
 *	before and VmHWM after (reset through clear_refs first) give the
 *	memory one live job costs, if all were alive at once (--ms longer
 *	than the submit phase).
 * latency N
 *	One sleep 0 job at a time on a fresh queue. The time from sending
 *	the submit to the job.running event on a SUB socket is how long the
 *	daemon takes to start a job on an idle system. A thread receives
 *	the events, so that they are timed when they arrive and not when the
 *	submit's reply has been read; the next job is submitted once the
 *	last one's final event came. The submit's round trip is reported
 *	too, and how often the job ran before its submit was answered.
 *	--fast-check: 10 warm-up jobs instead of 100, for quick checks.
 * submit N
 *	Submissions to a paused queue, so nothing runs: the cost of
 *	accepting and committing jobs alone, one job a request (--batch 1,
 *	the default) or in batches. With --clients C, C threads on
 *	connections of their own send the N submits together, each its
 *	share one at a time: the total rate is how well the daemon serves
 *	many clients at once (in safe mode, how well they share commits).
 * bs-put N, bs-latency N
 *	The same two questions asked of beanstalkd over its text protocol,
 *	with the spec that submit (bs-put) or latency (bs-latency) would
 *	send, the same bytes, as the payload: put throughput, one put at a
 *	time or --pipeline (a writer thread and a reader on one connection);
 *	and the time from sending a put to the return of the reserve that a
 *	consumer thread keeps waiting.
 * cpu N
 *	N cpu jobs of --fn (primes), submitted and awaited as in io: the
 *	dispatch rate of the worker pool. Each job's input is --input
 *	(JSON) when given; else it is the job's index, and the result must
 *	be the index again (--fn crashy.echo of the test plugins).
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "client.h"
#include "endpoint.h"
#include "msg.h"
#include "watch.h"
#include "xmalloc.h"

#define LOAD_EXIT_OK		0
#define LOAD_EXIT_FAIL		1	/* the run failed or a job did */
#define LOAD_EXIT_USAGE		2
#define LOAD_EXIT_UNREACHABLE	3	/* aiojobsd or beanstalkd is not there */

#define LOAD_WARMUP		100	/* latency samples thrown away */
#define LOAD_WARMUP_FAST	10	/* the same with --fast-check */
#define LOAD_EVENT_MS		5000	/* how long one event may take */
#define LOAD_WAIT_MS		10000	/* timeout_ms of one wait */
#define LOAD_N_MAX		100000000
#define LOAD_CLIENTS_MAX	256

struct load_mode;

/* What the command line asked for, and the connection to the daemon. */
struct load {
	const struct load_mode	*mode;
	char			*url;
	char			*events_url;
	struct client		*client;
	int64_t			 n;
	int64_t			 batch;
	int64_t			 ms;
	int64_t			 clients;	/* submit: connections */
	long			 pid;
	int			 pipeline;
	int			 fast_check;
	int			 keys;
	int			 wait_after;	/* io: wait once all are in */
	int			 resume;
	char			*queue;		/* NULL: the default queue */
	char			*fn;		/* cpu: the function */
	char			*input;		/* cpu: JSON; NULL: the index */
	int			 echo;		/* cpu: result must be input */
	const char		*host;
	const char		*port;
	int64_t			 max_seconds;
	uint64_t		 deadline;	/* CLOCK_MONOTONIC ns */
	int			 status;	/* exit status on failure */
};

/* A mode: its arguments for --help and whether it needs aiojobsd. */
struct load_mode {
	const char	*name;
	const char	*args;
	int		 daemon;
	int		(*fn)(struct load *);
};

static int	load_io(struct load *);
static int	load_cpu(struct load *);
static int	load_latency(struct load *);
static int	load_submit_mode(struct load *);
static int	load_bs_put(struct load *);
static int	load_bs_latency(struct load *);

static const struct load_mode load_modes[] = {
	{ "io", "N [--batch 1000] [--ms 1000] [--pid PID] [--wait-after]", 1,
	    load_io },
	{ "cpu", "N [--batch 1000] [--fn primes] [--input JSON]", 1,
	    load_cpu },
	{ "latency", "N [--fast-check]", 1, load_latency },
	{ "submit", "N [--batch 1] [--clients 1] [--queue bench] [--resume]",
	    1, load_submit_mode },
	{ "bs-put", "N [--pipeline] [--port 11300]", 0, load_bs_put },
	{ "bs-latency", "N [--port 11300]", 0, load_bs_latency },
};
#define LOAD_NMODES	(sizeof load_modes / sizeof load_modes[0])

static double
load_secs(uint64_t ns)
{
	return ((double)ns / 1e9);
}

/* Milliseconds left before the time limit, 0 once it passed. */
static int
load_left_ms(struct load *l)
{
	uint64_t	 now = bench_now();

	if (now >= l->deadline)
		return (0);
	return ((int)((l->deadline - now) / 1000000) + 1);
}

/* Whether the time limit passed; says so once it has. */
static int
load_expired(struct load *l)
{
	if (load_left_ms(l) > 0)
		return (0);
	warnx("%s: time limit of %lld s reached", l->mode->name,
	    (long long)l->max_seconds);
	l->status = LOAD_EXIT_FAIL;
	return (1);
}

/* A condition variable that times out on CLOCK_MONOTONIC. */
static void
load_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t	 attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* The CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait. */
static struct timespec
load_cond_limit(int ms)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return (ts);
}

/*
 * A result line under construction, with the mode's settings: batch, ms
 * and the payload's bytes when they apply.
 */
static struct msg_out *
load_result_new(struct load *l, const char *name, double value,
    const char *unit, int64_t payload)
{
	struct msg_out	*o;

	o = msg_out_new();
	msg_out_string(o, "name", name);
	msg_out_double(o, "value", value);
	msg_out_string(o, "unit", unit);
	msg_out_string(o, "mode", l->mode->name);
	msg_out_int(o, "n", l->n);
	if (l->batch > 0)
		msg_out_int(o, "batch", l->batch);
	if (l->mode->daemon)
		msg_out_int(o, "ms", l->ms);
	if (payload > 0)
		msg_out_int(o, "payload_bytes", payload);
	if (l->pipeline)
		msg_out_bool(o, "pipeline", 1);
	if (l->keys)
		msg_out_bool(o, "keys", 1);
	if (l->wait_after)
		msg_out_bool(o, "wait_after", 1);
	if (l->clients > 1)
		msg_out_int(o, "clients", l->clients);
	return (o);
}

static void
load_result_print(struct msg_out *o)
{
	char	*text;

	text = msg_out_finish(o, 0);
	printf("RESULT %s\n", text);
	fflush(stdout);
	free(text);
}

static void
load_result(struct load *l, const char *name, double value, const char *unit,
    int64_t payload)
{
	load_result_print(load_result_new(l, name, value, unit, payload));
}

/* Report p50, p90, p99 and max of samples (ns) in microseconds. */
static void
load_report_pcts(struct load *l, const char *prefix, uint64_t *ns, size_t n,
    int64_t payload)
{
	static const struct {
		const char	*name;
		double		 p;
	} pcts[] = {
		{ "p50", 0.50 }, { "p90", 0.90 }, { "p99", 0.99 }, { "max", 1 }
	};
#define LOAD_NPCTS	(sizeof pcts / sizeof pcts[0])
	char		 name[64];
	double		 us[LOAD_NPCTS];
	size_t		 i;

	qsort(ns, n, sizeof *ns, bench_cmp_u64);
	printf("%s over %zu samples:", prefix, n);
	for (i = 0; i < LOAD_NPCTS; i++) {
		us[i] = (double)bench_rank(ns, n, pcts[i].p) / 1e3;
		printf(" %s %.1f us", pcts[i].name, us[i]);
	}
	printf("\n");
	for (i = 0; i < LOAD_NPCTS; i++) {
		snprintf(name, sizeof name, "%s.%s", prefix, pcts[i].name);
		load_result(l, name, us[i], "us", payload);
	}
#undef LOAD_NPCTS
}

/*
 * Send a request to aiojobsd and parse the reply; NULL after saying why
 * when there is none or it is not ok.
 */
static struct msg_in *
load_request(struct load *l, const char *req)
{
	struct msg_error	 e;
	struct msg_in		*in, *err;
	const char		*code = "?", *message = "?";
	char			*reply, *cause;
	int			 r, ok = 0;

	if (load_expired(l))
		return (NULL);
	r = client_request(l->client, req, load_left_ms(l), &reply, &cause);
	if (r != 0) {
		warnx("aiojobsd at %s: %s", client_url(l->client), cause);
		free(cause);
		l->status = r == CLIENT_UNREACHABLE ? LOAD_EXIT_UNREACHABLE :
		    LOAD_EXIT_FAIL;
		return (NULL);
	}
	in = msg_in_parse(reply, strlen(reply), &e);
	free(reply);
	if (in == NULL) {
		warnx("aiojobsd replied: %s", e.message);
		return (NULL);
	}
	if (msg_in_bool(in, "ok", &ok, NULL) == 1 && ok)
		return (in);
	if ((err = msg_in_object(in, "error")) != NULL) {
		msg_in_string(err, "code", &code, NULL);
		msg_in_string(err, "message", &message, NULL);
	}
	warnx("aiojobsd: %s: %s", code, message);
	msg_in_free(in);
	return (NULL);
}

/* Send a request whose reply is only checked to be ok. */
static int
load_request_ok(struct load *l, const char *req)
{
	struct msg_in	*in;

	if ((in = load_request(l, req)) == NULL)
		return (-1);
	msg_in_free(in);
	return (0);
}

/*
 * The fields of the job spec every mode submits (or puts); i is the job's
 * index in the run.
 */
static void
load_spec_fields(struct load *l, struct msg_out *o, int64_t i)
{
	char	*key;

	if (l->mode->fn == load_cpu) {
		msg_out_string(o, "kind", "cpu");
		msg_out_object(o, "args");
		msg_out_string(o, "fn", l->fn);
		if (l->input != NULL)
			msg_out_raw(o, "input", l->input);
		else
			msg_out_int(o, "input", i);
		msg_out_close(o);
	} else {
		msg_out_string(o, "kind", "sleep");
		msg_out_object(o, "args");
		msg_out_int(o, "ms", l->ms);
		msg_out_close(o);
	}
	if (l->queue != NULL)
		msg_out_string(o, "queue", l->queue);
	if (l->keys) {
		key = client_key_new();
		msg_out_string(o, "key", key);
		free(key);
	}
}

/* One job spec as JSON text: the payload of the beanstalkd modes. */
static char *
load_spec_text(struct load *l)
{
	struct msg_out	*o;

	o = msg_out_new();
	load_spec_fields(l, o, 0);
	return (msg_out_finish(o, 0));
}

/*
 * A submit of n jobs, indexes first on: "job" when batch is off, else
 * "jobs".
 */
static char *
load_submit_text(struct load *l, int64_t first, int64_t n, int batch)
{
	struct msg_out	*o;
	int64_t		 i;

	o = msg_out_new();
	msg_out_string(o, "op", "submit");
	if (batch)
		msg_out_array(o, "jobs");
	for (i = 0; i < n; i++) {
		msg_out_object(o, batch ? NULL : "job");
		load_spec_fields(l, o, first + i);
		msg_out_close(o);
	}
	if (batch)
		msg_out_close(o);
	return (msg_out_finish(o, 0));
}

/*
 * Every submit of the run, built before the clock starts so that the
 * client's encoding is not timed. batch 1 sends "job", anything else
 * "jobs" (also for a last batch of one).
 */
static char **
load_submits(struct load *l, size_t *nreq)
{
	char	**reqs;
	int64_t	  left = l->n, count;
	size_t	  i;

	*nreq = (size_t)((l->n + l->batch - 1) / l->batch);
	reqs = xreallocarray(NULL, *nreq, sizeof *reqs);
	for (i = 0; i < *nreq; i++) {
		count = left < l->batch ? left : l->batch;
		reqs[i] = load_submit_text(l, l->n - left, count,
		    l->batch > 1);
		left -= count;
	}
	return (reqs);
}

static void
load_submits_free(char **reqs, size_t nreq)
{
	size_t	 i;

	for (i = 0; i < nreq; i++)
		free(reqs[i]);
	free(reqs);
}

/* Send one submit and append the ids it returns. */
static int
load_submit(struct load *l, const char *req, int64_t *ids, size_t *nids)
{
	struct msg_in	*in, *e;
	int64_t		 id;

	if ((in = load_request(l, req)) == NULL)
		return (-1);
	if (msg_in_int(in, "id", &id, NULL) == 1)
		ids[(*nids)++] = id;
	/* element by element: indexing walks the list from its head */
	for (e = msg_in_array_at(in, "ids", 0); e != NULL; e = msg_in_next(e)) {
		if (msg_in_value_int(e, &id) == 0)
			ids[(*nids)++] = id;
	}
	msg_in_free(in);
	return (0);
}

/* A wait for ids, ALL_COMPLETED, held up to timeout_ms. */
static char *
load_wait_text(const int64_t *ids, size_t n, int timeout_ms)
{
	struct msg_out	*o;
	size_t		 i;

	o = msg_out_new();
	msg_out_string(o, "op", "wait");
	msg_out_array(o, "ids");
	for (i = 0; i < n; i++)
		msg_out_int(o, NULL, ids[i]);
	msg_out_close(o);
	msg_out_string(o, "return_when", "ALL_COMPLETED");
	msg_out_int(o, "timeout_ms", timeout_ms);
	return (msg_out_finish(o, 0));
}

/*
 * Whether a done job's result is its input (its index), when the mode
 * checks that: the view carries the job's own args, so a result given to
 * the wrong job shows.
 */
static int
load_echo_ok(struct load *l, struct msg_in *view)
{
	int64_t	 id = -1, input, result;

	if (!l->echo)
		return (1);
	if (msg_in_int(view, "id", &id, NULL) != 1 ||
	    msg_in_int(msg_in_object(view, "args"), "input", &input,
	    NULL) != 1 || msg_in_int(view, "result", &result, NULL) != 1 ||
	    result != input) {
		warnx("job %lld: not the result it was sent", (long long)id);
		return (0);
	}
	return (1);
}

/* Count the done jobs of a wait reply that did not succeed. */
static size_t
load_wait_failed(struct load *l, struct msg_in *in)
{
	struct msg_in	*view;
	const char	*state;
	size_t		 failed = 0;

	/* element by element: indexing walks the list from its head */
	for (view = msg_in_array_at(in, "done", 0); view != NULL;
	    view = msg_in_next(view)) {
		state = NULL;
		msg_in_string(view, "state", &state, NULL);
		if (state == NULL || strcmp(state, "succeeded") != 0 ||
		    !load_echo_ok(l, view))
			failed++;
	}
	return (failed);
}

/* Ask again for what is still pending, in place; its count. */
static size_t
load_wait_pending(struct msg_in *in, int64_t *ids)
{
	struct msg_in	*e;
	size_t		 np = 0;

	for (e = msg_in_array_at(in, "pending", 0); e != NULL;
	    e = msg_in_next(e)) {
		if (msg_in_value_int(e, &ids[np]) == 0)
			np++;
	}
	return (np);
}

/* Wait until up to MSG_IDS_MAX jobs finished; add those that failed. */
static int
load_wait_chunk(struct load *l, const int64_t *ids, size_t n, size_t *failed)
{
	struct msg_in	*in;
	int64_t		*pending;
	char		*req;
	int		 timeout;

	pending = xreallocarray(NULL, n, sizeof *pending);
	memcpy(pending, ids, n * sizeof *pending);
	while (n > 0) {
		/* a second for the reply to come back before the limit */
		if ((timeout = load_left_ms(l) - 1000) <= 0) {
			l->deadline = bench_now();
			load_expired(l);
			break;
		}
		if (timeout > LOAD_WAIT_MS)
			timeout = LOAD_WAIT_MS;
		req = load_wait_text(pending, n, timeout);
		in = load_request(l, req);
		free(req);
		if (in == NULL)
			break;
		*failed += load_wait_failed(l, in);
		n = load_wait_pending(in, pending);
		msg_in_free(in);
	}
	free(pending);
	return (n == 0 ? 0 : -1);
}

/* Wait for all ids, MSG_IDS_MAX a request; add those that failed. */
static int
load_wait_all(struct load *l, const int64_t *ids, size_t n, size_t *failed)
{
	size_t	 i, chunk;

	for (i = 0; i < n; i += chunk) {
		chunk = n - i < MSG_IDS_MAX ? n - i : MSG_IDS_MAX;
		if (load_wait_chunk(l, ids + i, chunk, failed) != 0)
			return (-1);
	}
	return (0);
}

/* A connection of a thread's own, sending the token too; 0 or -1. */
static int
load_connect_own(struct load *lw)
{
	char	*cause, *token;

	if ((lw->client = client_open(lw->url, &cause)) == NULL) {
		warnx("%s", cause);
		free(cause);
		return (-1);
	}
	if ((token = getenv("AIOJOBS_TOKEN")) != NULL && *token != '\0')
		client_set_token(lw->client, token);
	return (0);
}

/*
 * io's waiters: threads on connections of their own that wait for the ids
 * already submitted while the submits go on, up to MSG_IDS_MAX ids a
 * wait, as a client gathering its jobs would. Jobs that are still running
 * when their wait arrives are answered from memory as they end; a wait
 * sent only after they ended reads them back from the job store.
 */
#define LOAD_WAITERS	16

struct load_waiters {
	struct load	*l;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	const int64_t	*ids;		/* written by the submitter */
	size_t		 nids;		/* submitted so far */
	size_t		 taken;		/* handed to a waiter */
	int		 submitted;	/* no more ids will come */
	int		 error;
	size_t		 failed;
	pthread_t	 threads[LOAD_WAITERS];
	int		 nthreads;
};

/* The next ids to wait for (0 when there are no more). */
static size_t
load_waiters_take(struct load_waiters *w, size_t *from)
{
	size_t	 n = 0;

	pthread_mutex_lock(&w->lock);
	while (w->taken == w->nids && !w->submitted && !w->error)
		pthread_cond_wait(&w->cond, &w->lock);
	if (!w->error && w->taken < w->nids) {
		*from = w->taken;
		n = w->nids - w->taken;
		if (n > MSG_IDS_MAX)
			n = MSG_IDS_MAX;
		w->taken += n;
	}
	pthread_mutex_unlock(&w->lock);
	return (n);
}

static void *
load_waiter(void *arg)
{
	struct load_waiters	*w = arg;
	struct load		 lw = *w->l;
	size_t			 from = 0, n, failed = 0;
	int			 error;

	error = load_connect_own(&lw) != 0;
	while (!error && (n = load_waiters_take(w, &from)) > 0) {
		if (load_wait_chunk(&lw, w->ids + from, n, &failed) != 0)
			error = 1;
	}
	client_close(lw.client);
	pthread_mutex_lock(&w->lock);
	w->failed += failed;
	if (error) {
		w->error = 1;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return (NULL);
}

static void
load_waiters_start(struct load_waiters *w, struct load *l,
    const int64_t *ids)
{
	memset(w, 0, sizeof *w);
	w->l = l;
	w->ids = ids;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	for (; w->nthreads < LOAD_WAITERS; w->nthreads++) {
		if (pthread_create(&w->threads[w->nthreads], NULL, load_waiter,
		    w) != 0)
			errx(LOAD_EXIT_FAIL, "pthread_create");
	}
}

/* More ids were submitted (ids[0 .. nids)), or (done) all were. */
static void
load_waiters_feed(struct load_waiters *w, size_t nids, int done)
{
	pthread_mutex_lock(&w->lock);
	w->nids = nids;
	w->submitted = done;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Wait for the waiters; 0 when every id was waited for. */
static int
load_waiters_join(struct load_waiters *w, size_t *failed)
{
	int	 i, r;

	for (i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	r = w->error || w->taken < w->nids ? -1 : 0;
	*failed = w->failed;
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	return (r);
}

/* A "kB" field of /proc/PID/status ("VmRSS") in bytes, or -1. */
static int64_t
load_proc_bytes(long pid, const char *field)
{
	FILE		*f;
	char		 path[64], line[256];
	size_t		 len = strlen(field);
	long long	 kb = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, field, len) == 0 && line[len] == ':') {
			if (sscanf(line + len + 1, "%lld", &kb) != 1)
				kb = -1;
			break;
		}
	}
	fclose(f);
	return (kb < 0 ? -1 : kb * 1024);
}

/* Set the peak RSS (VmHWM) of pid back to its current RSS. */
static int
load_reset_hwm(long pid)
{
	FILE	*f;
	char	 path[64];
	int	 r;

	snprintf(path, sizeof path, "/proc/%ld/clear_refs", pid);
	if ((f = fopen(path, "w")) == NULL)
		return (-1);
	r = fputs("5", f) < 0;
	return (fclose(f) != 0 || r ? -1 : 0);
}

/* The daemon's RSS before a run; resets its peak. -1 if it is not there. */
static int64_t
load_memory_before(struct load *l, int *reset)
{
	int64_t	 rss;

	if ((rss = load_proc_bytes(l->pid, "VmRSS")) == -1) {
		warn("/proc/%ld/status", l->pid);
		return (-1);
	}
	*reset = load_reset_hwm(l->pid) == 0;
	if (!*reset)
		warnx("cannot reset the peak RSS of %ld: it may be an earlier "
		    "run's", l->pid);
	return (rss);
}

/*
 * Report the daemon's memory: before, once the last job was submitted,
 * its peak, and the growth a job of both. The first is what a live job
 * costs if all were alive at once, so if the first job was still
 * sleeping when the last was submitted; the peak also holds what
 * answering the waits takes as the jobs end (replies of 10,000 views).
 */
static void
load_memory_report(struct load *l, int64_t before, int64_t submitted,
    int reset, uint64_t submit_ns)
{
	struct msg_out	*o;
	int64_t		 peak;
	double		 per;

	if ((peak = load_proc_bytes(l->pid, "VmHWM")) == -1) {
		warnx("/proc/%ld/status: no VmHWM", l->pid);
		return;
	}
	per = (double)(peak - before) / (double)l->n;
	printf("io: daemon RSS %.1f MiB before, peak %.1f MiB, %.0f bytes "
	    "a job\n", (double)before / 1048576, (double)peak / 1048576, per);
	if (load_secs(submit_ns) * 1e3 >= (double)l->ms)
		printf("io: the first jobs ended before the last was "
		    "submitted: bytes a job is too low (raise --ms)\n");
	if (submitted != -1) {
		printf("io: daemon RSS %.1f MiB once all were submitted, %.0f "
		    "bytes a job\n", (double)submitted / 1048576,
		    (double)(submitted - before) / (double)l->n);
		load_result(l, "io.bytes_per_job_submitted",
		    (double)(submitted - before) / (double)l->n, "bytes/job", 0);
	}
	load_result(l, "io.rss_before", (double)before, "bytes", 0);
	load_result(l, "io.rss_peak", (double)peak, "bytes", 0);
	o = load_result_new(l, "io.bytes_per_job", per, "bytes/job", 0);
	msg_out_bool(o, "peak_reset", reset);
	load_result_print(o);
}

/*
 * Send the submits and wait for every job, while submitting (the
 * waiters) or once all are in (--wait-after). *t1 is when the last submit
 * was answered, *rss the daemon's RSS then (with --pid).
 */
static int
load_run(struct load *l, char **reqs, size_t nreq, int64_t *ids,
    size_t *failed, uint64_t *t1, int64_t *rss)
{
	struct load_waiters	 w;
	size_t			 nids = 0, i;
	int			 ok;

	if (!l->wait_after)
		load_waiters_start(&w, l, ids);
	for (i = 0, ok = 1; i < nreq && ok; i++) {
		ok = load_submit(l, reqs[i], ids, &nids) == 0;
		if (!l->wait_after)
			load_waiters_feed(&w, nids, !ok || i + 1 == nreq);
	}
	*t1 = bench_now();
	if (l->pid != 0)
		*rss = load_proc_bytes(l->pid, "VmRSS");
	if (l->wait_after)
		return (!ok || load_wait_all(l, ids, nids, failed) != 0 ? -1 : 0);
	return (load_waiters_join(&w, failed) != 0 || !ok ? -1 : 0);
}

/* io: submit N sleep jobs in batches, then wait for all of them. */
static int
load_io(struct load *l)
{
	char			**reqs;
	int64_t			 *ids, before = 0, submitted = -1;
	size_t			  nreq, failed = 0;
	uint64_t		  t0, t1, t2;
	int			  reset = 0, r = -1;

	if (l->pid != 0 && (before = load_memory_before(l, &reset)) == -1)
		return (-1);
	reqs = load_submits(l, &nreq);
	ids = xreallocarray(NULL, (size_t)l->n, sizeof *ids);
	t0 = bench_now();
	if (load_run(l, reqs, nreq, ids, &failed, &t1, &submitted) != 0)
		goto out;
	t2 = bench_now();
	printf("io: %lld jobs of %lld ms: submitted in %.3f s (%.0f jobs/s), "
	    "all done after %.3f s (%.0f jobs/s, %.3f s beyond the sleep)\n",
	    (long long)l->n, (long long)l->ms, load_secs(t1 - t0),
	    (double)l->n / load_secs(t1 - t0), load_secs(t2 - t0),
	    (double)l->n / load_secs(t2 - t0),
	    load_secs(t2 - t0) - (double)l->ms / 1e3);
	load_result(l, "io.wall", load_secs(t2 - t0), "s", 0);
	load_result(l, "io.submit", load_secs(t1 - t0), "s", 0);
	load_result(l, "io.submit_rate", (double)l->n / load_secs(t1 - t0),
	    "jobs/s", 0);
	load_result(l, "io.rate", (double)l->n / load_secs(t2 - t0),
	    "jobs/s", 0);
	if (l->pid != 0)
		load_memory_report(l, before, submitted, reset, t1 - t0);
	if (failed > 0)
		warnx("io: %zu jobs did not succeed", failed);
	r = failed > 0 ? -1 : 0;
out:
	load_submits_free(reqs, nreq);
	free(ids);
	return (r);
}

/*
 * cpu: submit N cpu jobs in batches and wait for all of them: how fast
 * the pool takes jobs through its workers and back.
 */
static int
load_cpu(struct load *l)
{
	char		**reqs;
	int64_t		 *ids, rss;
	size_t		  nreq, failed = 0;
	uint64_t	  t0, t1, t2;
	struct msg_out	 *o;
	int		  r = -1;

	if (l->input != NULL) {
		o = msg_out_new();
		r = msg_out_raw(o, "input", l->input);
		msg_out_free(o);
		if (r != 0) {
			warnx("--input is not JSON: %s", l->input);
			l->status = LOAD_EXIT_USAGE;
			return (-1);
		}
		r = -1;
	}
	l->echo = l->input == NULL;
	reqs = load_submits(l, &nreq);
	ids = xreallocarray(NULL, (size_t)l->n, sizeof *ids);
	t0 = bench_now();
	if (load_run(l, reqs, nreq, ids, &failed, &t1, &rss) != 0)
		goto out;
	t2 = bench_now();
	printf("cpu: %lld jobs of %s: submitted in %.3f s (%.0f jobs/s), "
	    "all done after %.3f s (%.0f jobs/s)\n", (long long)l->n, l->fn,
	    load_secs(t1 - t0), (double)l->n / load_secs(t1 - t0),
	    load_secs(t2 - t0), (double)l->n / load_secs(t2 - t0));
	load_result(l, "cpu.wall", load_secs(t2 - t0), "s", 0);
	load_result(l, "cpu.submit", load_secs(t1 - t0), "s", 0);
	load_result(l, "cpu.rate", (double)l->n / load_secs(t2 - t0),
	    "jobs/s", 0);
	if (failed > 0)
		warnx("cpu: %zu jobs did not succeed", failed);
	r = failed > 0 ? -1 : 0;
out:
	load_submits_free(reqs, nreq);
	free(ids);
	return (r);
}

/* Pause or resume a queue. */
static int
load_queue_action(struct load *l, const char *action)
{
	struct msg_out	*o;
	char		*req;
	int		 r;

	o = msg_out_new();
	msg_out_string(o, "op", "queue");
	msg_out_string(o, "name", l->queue);
	msg_out_string(o, "action", action);
	req = msg_out_finish(o, 0);
	r = load_request_ok(l, req);
	free(req);
	return (r);
}

/* submit: the requests one at a time; how long they took in *took. */
static int
load_submit_serial(struct load *l, char **reqs, size_t nreq, int64_t *ids,
    uint64_t *rtt, uint64_t *took)
{
	uint64_t	 t0, t1;
	size_t		 nids = 0, i;

	t0 = bench_now();
	for (i = 0; i < nreq; i++) {
		t1 = bench_now();
		if (load_submit(l, reqs[i], ids, &nids) != 0)
			return (-1);
		rtt[i] = bench_now() - t1;
	}
	*took = bench_now() - t0;
	return (0);
}

/*
 * submit --clients C: one client's share of the requests, sent one at a
 * time on a connection of its own once every client is connected.
 */
struct load_share {
	struct load		*l;
	pthread_barrier_t	*start;
	pthread_t		 thread;
	char			**reqs;
	size_t			 nreq;
	int64_t			*ids;		/* where its jobs' ids go */
	uint64_t		*rtt;		/* one a request */
	uint64_t		 end;		/* when its last reply came */
	int			 error;
};

static void *
load_share_main(void *arg)
{
	struct load_share	*sh = arg;
	struct load		 lw = *sh->l;
	uint64_t		 t;
	size_t			 i, nids = 0;

	/* connected (a ping answered) before the clock starts */
	if (load_connect_own(&lw) != 0 ||
	    load_request_ok(&lw, "{\"op\":\"ping\"}") != 0)
		sh->error = 1;
	pthread_barrier_wait(sh->start);
	for (i = 0; !sh->error && i < sh->nreq; i++) {
		t = bench_now();
		if (load_submit(&lw, sh->reqs[i], sh->ids, &nids) != 0)
			sh->error = 1;
		sh->rtt[i] = bench_now() - t;
	}
	sh->end = bench_now();
	client_close(lw.client);
	return (NULL);
}

/*
 * submit --clients C: the requests shared out among C threads that start
 * together; *took runs from the start to the last client's last reply.
 */
static int
load_submit_clients(struct load *l, char **reqs, size_t nreq, int64_t *ids,
    uint64_t *rtt, uint64_t *took)
{
	struct load_share	*sh;
	pthread_barrier_t	 start;
	size_t			 c = (size_t)l->clients, i, at = 0;
	uint64_t		 t0, end = 0;
	int			 r = 0;

	sh = xcalloc(c, sizeof *sh);
	pthread_barrier_init(&start, NULL, (unsigned int)c + 1);
	for (i = 0; i < c; i++) {
		sh[i].l = l;
		sh[i].start = &start;
		sh[i].reqs = reqs + at;
		sh[i].nreq = nreq / c + (i < nreq % c);
		sh[i].ids = ids + at * (size_t)l->batch;
		sh[i].rtt = rtt + at;
		at += sh[i].nreq;
		if (pthread_create(&sh[i].thread, NULL, load_share_main,
		    &sh[i]) != 0)
			errx(LOAD_EXIT_FAIL, "pthread_create");
	}
	pthread_barrier_wait(&start);
	t0 = bench_now();
	for (i = 0; i < c; i++) {
		pthread_join(sh[i].thread, NULL);
		if (sh[i].error)
			r = -1;
		if (sh[i].end > end)
			end = sh[i].end;
	}
	*took = end - t0;
	pthread_barrier_destroy(&start);
	free(sh);
	return (r);
}

/* submit: N jobs to a paused queue, one request at a time per client. */
static int
load_submit_mode(struct load *l)
{
	char		**reqs;
	int64_t		 *ids;
	uint64_t	 *rtt, took;
	size_t		  nreq;
	int		  r = -1;

	if (load_queue_action(l, "pause") != 0)
		return (-1);
	reqs = load_submits(l, &nreq);
	if (l->clients > (int64_t)nreq)
		l->clients = (int64_t)nreq;
	ids = xreallocarray(NULL, (size_t)l->n, sizeof *ids);
	rtt = xreallocarray(NULL, nreq, sizeof *rtt);
	if ((l->clients > 1 ? load_submit_clients(l, reqs, nreq, ids, rtt,
	    &took) : load_submit_serial(l, reqs, nreq, ids, rtt, &took)) != 0)
		goto out;
	printf("submit: %lld jobs in %zu requests from %lld client(s) to "
	    "paused queue %s: %.3f s, %.0f jobs/s\n", (long long)l->n, nreq,
	    (long long)l->clients, l->queue, load_secs(took),
	    (double)l->n / load_secs(took));
	load_result(l, "submit.rate", (double)l->n / load_secs(took),
	    "jobs/s", 0);
	load_report_pcts(l, "submit.rtt", rtt, nreq, 0);
	if (l->resume)
		r = load_queue_action(l, "resume");
	else {
		printf("submit: the jobs stay queued in paused queue %s "
		    "(--resume runs them)\n", l->queue);
		r = 0;
	}
out:
	load_submits_free(reqs, nreq);
	free(ids);
	free(rtt);
	return (r);
}

/*
 * The latest events of the jobs, kept by a thread that receives them as
 * they arrive. One job runs at a time, so a short ring is enough.
 */
#define LOAD_EVENTS	64
#define LOAD_EV_RUNNING	0
#define LOAD_EV_FINAL	1

struct load_events {
	struct watch	*watch;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 stop;
	int		 error;
	struct {
		int64_t		 id;
		int		 type;
		int		 ok;	/* a final event: succeeded */
		uint64_t	 at;
	}		 ring[LOAD_EVENTS];
	unsigned int	 next;
};

/* Note one event, "job.STATE {view}", received at a time. */
static void
load_events_add(struct load_events *ev, const char *msg, uint64_t at)
{
	struct msg_in	*in;
	const char	*json;
	int64_t		 id = 0;
	unsigned int	 i;

	if ((json = strchr(msg, ' ')) == NULL ||
	    strncmp(msg, "job.queued ", 11) == 0 ||
	    (in = msg_in_parse(json + 1, strlen(json + 1), NULL)) == NULL)
		return;
	msg_in_int(in, "id", &id, NULL);
	msg_in_free(in);
	pthread_mutex_lock(&ev->lock);
	i = ev->next++ % LOAD_EVENTS;
	ev->ring[i].id = id;
	ev->ring[i].type = strncmp(msg, "job.running ", 12) == 0 ?
	    LOAD_EV_RUNNING : LOAD_EV_FINAL;
	ev->ring[i].ok = strncmp(msg, "job.succeeded ", 14) == 0;
	ev->ring[i].at = at;
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
}

/* The receiving thread: poll the SUB socket, time and note each event. */
static void *
load_events_main(void *arg)
{
	struct load_events	*ev = arg;
	struct pollfd		 pfd;
	char			*msg, *cause;
	size_t			 len;
	int			 r = 0, stop = 0;

	pfd.fd = watch_fd(ev->watch);
	pfd.events = POLLIN;
	while (!stop && r != -1) {
		if (poll(&pfd, 1, 100) > 0) {
			while ((r = watch_recv(ev->watch, &msg, &len,
			    &cause)) == 1) {
				load_events_add(ev, msg, bench_now());
				free(msg);
			}
		}
		pthread_mutex_lock(&ev->lock);
		if (r == -1) {
			warnx("events: %s", cause);
			free(cause);
			ev->error = 1;
			pthread_cond_broadcast(&ev->cond);
		}
		stop = ev->stop;
		pthread_mutex_unlock(&ev->lock);
	}
	return (NULL);
}

/* Subscribe to the job events and start the receiving thread. */
static int
load_events_start(struct load *l, struct load_events *ev)
{
	static const char *const	 topics[] = { "job." };
	char				*cause;

	memset(ev, 0, sizeof *ev);
	if ((ev->watch = watch_open(l->events_url, topics, 1, &cause)) ==
	    NULL) {
		warnx("%s", cause);
		free(cause);
		return (-1);
	}
	pthread_mutex_init(&ev->lock, NULL);
	load_cond_init(&ev->cond);
	if ((errno = pthread_create(&ev->thread, NULL, load_events_main,
	    ev)) != 0)
		err(LOAD_EXIT_FAIL, "pthread_create");
	return (0);
}

static void
load_events_stop(struct load_events *ev)
{
	pthread_mutex_lock(&ev->lock);
	ev->stop = 1;
	pthread_mutex_unlock(&ev->lock);
	pthread_join(ev->thread, NULL);
	watch_close(ev->watch);
	pthread_cond_destroy(&ev->cond);
	pthread_mutex_destroy(&ev->lock);
}

/*
 * The ring slot of an event of job id and type that came at or after
 * since (a reused job's old events do not count), or -1; lock held.
 */
static int
load_events_find(struct load_events *ev, int64_t id, int type,
    uint64_t since)
{
	unsigned int	 i;

	for (i = 0; i < LOAD_EVENTS; i++) {
		if (ev->ring[i].id == id && ev->ring[i].type == type &&
		    ev->ring[i].at >= since)
			return ((int)i);
	}
	return (-1);
}

/*
 * Wait up to ms for an event of job id since a time: its time, and for a
 * final event whether the job succeeded; 0 when none came.
 */
static uint64_t
load_events_wait(struct load_events *ev, int64_t id, int type,
    uint64_t since, int ms, int *ok)
{
	struct timespec	 ts = load_cond_limit(ms);
	uint64_t	 at = 0;
	int		 i;

	pthread_mutex_lock(&ev->lock);
	while ((i = load_events_find(ev, id, type, since)) == -1 &&
	    !ev->error) {
		if (pthread_cond_timedwait(&ev->cond, &ev->lock, &ts) ==
		    ETIMEDOUT)
			break;
	}
	if (i != -1) {
		at = ev->ring[i].at;
		*ok = ev->ring[i].ok;
	}
	pthread_mutex_unlock(&ev->lock);
	return (at);
}

/* One latency sample: a job from submit to running, then to its end. */
struct load_sample {
	uint64_t	 start;		/* submit sent -> job.running */
	uint64_t	 rtt;		/* submit sent -> reply */
	int		 early;		/* job.running came before the reply */
};

/*
 * Submit one job, time its start, wait for its end. The request is built
 * for each job, outside the timing, so that --keys gives each its own.
 */
static int
load_latency_one(struct load *l, struct load_events *ev,
    struct load_sample *s)
{
	char		*req;
	int64_t		 id = 0;
	size_t		 n = 0;
	uint64_t	 t0, t1, at;
	int		 ok = 0, r;

	req = load_submit_text(l, 0, 1, 0);
	t0 = bench_now();
	r = load_submit(l, req, &id, &n);
	t1 = bench_now();
	free(req);
	if (r != 0)
		return (-1);
	if ((at = load_events_wait(ev, id, LOAD_EV_RUNNING, t0,
	    LOAD_EVENT_MS, &ok)) == 0) {
		warnx("latency: no job.running event for job %lld within "
		    "%d ms", (long long)id, LOAD_EVENT_MS);
		return (-1);
	}
	s->start = at - t0;
	s->rtt = t1 - t0;
	s->early = at < t1;
	if (load_events_wait(ev, id, LOAD_EV_FINAL, t0, LOAD_EVENT_MS,
	    &ok) == 0 || !ok) {
		warnx("latency: job %lld did not succeed within %d ms",
		    (long long)id, LOAD_EVENT_MS);
		return (-1);
	}
	return (0);
}

/* Submit until one job's event arrives: then the SUB socket is connected. */
static int
load_latency_connect(struct load *l, struct load_events *ev)
{
	char		*req;
	int64_t		 id;
	size_t		 n;
	uint64_t	 t0;
	int		 ok, r;

	do {
		n = 0;
		req = load_submit_text(l, 0, 1, 0);
		t0 = bench_now();
		r = load_submit(l, req, &id, &n);
		free(req);
		if (r != 0)
			return (-1);
		if (load_events_wait(ev, id, LOAD_EV_FINAL, t0, 200, &ok) != 0)
			return (0);
	} while (!load_expired(l));
	return (-1);
}

/* Warn when other jobs run: they would be measured too. */
static void
load_latency_idle(struct load *l)
{
	struct msg_in	*in;
	int64_t		 running = 0;

	if ((in = load_request(l, "{\"op\":\"stats\"}")) == NULL)
		return;
	msg_in_int(msg_in_object(in, "jobs"), "running", &running, NULL);
	if (running > 0)
		warnx("latency: %lld jobs are running: the daemon is not "
		    "idle", (long long)running);
	msg_in_free(in);
}

/* Report the samples of a latency run. */
static void
load_latency_report(struct load *l, struct load_sample *s, size_t n,
    int64_t payload)
{
	uint64_t	*ns;
	size_t		 i, early = 0;

	ns = xreallocarray(NULL, n, sizeof *ns);
	for (i = 0; i < n; i++) {
		ns[i] = s[i].start;
		early += s[i].early;
	}
	load_report_pcts(l, "latency.start", ns, n, payload);
	for (i = 0; i < n; i++)
		ns[i] = s[i].rtt;
	load_report_pcts(l, "latency.submit_rtt", ns, n, payload);
	printf("latency: job.running came before the submit reply in "
	    "%zu of %zu samples\n", early, n);
	load_result(l, "latency.running_before_reply",
	    (double)early / (double)n, "fraction", payload);
	free(ns);
}

/* latency: submit -> running of one sleep 0 job at a time. */
static int
load_latency(struct load *l)
{
	struct load_events	 ev;
	struct load_sample	*s = NULL;
	char			*req, *spec;
	int64_t			 i, warmup, payload;
	int			 r = -1;

	warmup = l->fast_check ? LOAD_WARMUP_FAST : LOAD_WARMUP;
	load_latency_idle(l);
	req = load_submit_text(l, 0, 1, 0);
	spec = load_spec_text(l);
	payload = (int64_t)strlen(spec);
	printf("latency: queue %s, spec of %lld bytes, request of %zu\n",
	    l->queue, (long long)payload, strlen(req));
	if (load_events_start(l, &ev) != 0)
		goto out;
	s = xcalloc((size_t)l->n, sizeof *s);
	if (load_latency_connect(l, &ev) != 0)
		goto stop;
	for (i = -warmup; i < l->n; i++) {
		if (load_latency_one(l, &ev, &s[i < 0 ? 0 : i]) != 0)
			goto stop;
	}
	load_latency_report(l, s, (size_t)l->n, payload);
	r = 0;
stop:
	load_events_stop(&ev);
	free(s);
out:
	free(spec);
	free(req);
	return (r);
}

/* A connection to beanstalkd and what was read but not yet taken. */
struct bs_conn {
	int	 fd;
	size_t	 off;
	size_t	 len;
	char	 buf[8192];
};

/* Connect to beanstalkd; sends and receives fail after 10 s. */
static int
bs_connect(struct load *l, struct bs_conn *c)
{
	struct addrinfo	 hints, *ai;
	struct timeval	 tv = { 10, 0 };
	int		 one = 1, e;

	memset(c, 0, sizeof *c);
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(l->host, l->port, &hints, &ai)) != 0) {
		warnx("beanstalkd %s:%s: %s", l->host, l->port,
		    gai_strerror(e));
		return (-1);
	}
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd == -1 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) ==
	    -1) {
		warn("beanstalkd not reachable at %s:%s", l->host, l->port);
		l->status = LOAD_EXIT_UNREACHABLE;
		if (c->fd != -1)
			close(c->fd);
		freeaddrinfo(ai);
		return (-1);
	}
	freeaddrinfo(ai);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return (0);
}

static int
bs_write(struct bs_conn *c, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = send(c->fd, buf, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			warn("beanstalkd: send");
			return (-1);
		}
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

/* Read more into the buffer, moving what is left to its start. */
static int
bs_fill(struct bs_conn *c)
{
	ssize_t	 n;

	memmove(c->buf, c->buf + c->off, c->len - c->off);
	c->len -= c->off;
	c->off = 0;
	if (c->len == sizeof c->buf) {
		warnx("beanstalkd: line too long");
		return (-1);
	}
	do
		n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		if (n == 0)
			warnx("beanstalkd closed the connection");
		else
			warn("beanstalkd: no reply");
		return (-1);
	}
	c->len += (size_t)n;
	return (0);
}

/* Take one reply line, without its CRLF. */
static int
bs_line(struct bs_conn *c, char *line, size_t size)
{
	char	*end;
	size_t	 n;

	while ((end = memmem(c->buf + c->off, c->len - c->off, "\r\n", 2)) ==
	    NULL) {
		if (bs_fill(c) != 0)
			return (-1);
	}
	n = (size_t)(end - (c->buf + c->off));
	snprintf(line, size, "%.*s", (int)n, c->buf + c->off);
	c->off += n + 2;
	return (0);
}

/* Take n bytes (a job body and its CRLF) and throw them away. */
static int
bs_skip(struct bs_conn *c, size_t n)
{
	size_t	 take;

	while (n > 0) {
		if (c->off == c->len && bs_fill(c) != 0)
			return (-1);
		take = c->len - c->off < n ? c->len - c->off : n;
		c->off += take;
		n -= take;
	}
	return (0);
}

/* Send a command and check that its reply line starts with expect. */
static int
bs_command(struct bs_conn *c, const char *cmd, const char *expect)
{
	char	 line[256];

	if (bs_write(c, cmd, strlen(cmd)) != 0 ||
	    bs_line(c, line, sizeof line) != 0)
		return (-1);
	if (strncmp(line, expect, strlen(expect)) != 0) {
		warnx("beanstalkd: '%.*s' answered '%s'",
		    (int)strcspn(cmd, "\r"), cmd, line);
		return (-1);
	}
	return (0);
}

/* A put of the daemon's job spec: the same bytes as a submitted job. */
static char *
bs_put_text(struct load *l, size_t *len, int64_t *payload)
{
	char	*spec, *put;

	spec = load_spec_text(l);
	*payload = (int64_t)strlen(spec);
	*len = (size_t)xasprintf(&put, "put 1024 0 60 %zu\r\n%s\r\n",
	    strlen(spec), spec);
	free(spec);
	return (put);
}

/* A tube of our own, so that runs never see each other's jobs. */
static char *
bs_tube(void)
{
	char	*key, *tube;

	key = client_key_new();
	xasprintf(&tube, "aiojobs-load-%.8s", key);
	free(key);
	return (tube);
}

/* Read a put's reply; the job's id in *id when given. */
static int
bs_inserted(struct bs_conn *c, int64_t *id)
{
	char		 line[256];
	long long	 v;

	if (bs_line(c, line, sizeof line) != 0)
		return (-1);
	if (sscanf(line, "INSERTED %lld", &v) != 1) {
		warnx("beanstalkd: put answered '%s'", line);
		return (-1);
	}
	if (id != NULL)
		*id = v;
	return (0);
}

/* The writer of a pipelined bs-put: n puts, as fast as they go out. */
struct bs_writer {
	struct bs_conn	*c;
	const char	*put;
	size_t		 len;
	int64_t		 n;
	int		 error;
};

static void *
bs_writer_main(void *arg)
{
	struct bs_writer	*w = arg;
	char			*buf;
	int64_t			 per, left = w->n, k, i;

	per = (int64_t)(65536 / w->len) + 1;
	buf = xreallocarray(NULL, (size_t)per, w->len);
	for (i = 0; i < per; i++)
		memcpy(buf + i * (int64_t)w->len, w->put, w->len);
	while (left > 0 && !w->error) {
		k = left < per ? left : per;
		if (bs_write(w->c, buf, (size_t)k * w->len) != 0)
			w->error = 1;
		left -= k;
	}
	free(buf);
	return (NULL);
}

/* Put n jobs from a writer thread while reading the replies here. */
static int
bs_put_pipelined(struct bs_conn *c, const char *put, size_t len, int64_t n)
{
	struct bs_writer	 w = { c, put, len, n, 0 };
	pthread_t		 thread;
	int64_t			 i;
	int			 r = 0;

	if ((errno = pthread_create(&thread, NULL, bs_writer_main, &w)) != 0)
		err(LOAD_EXIT_FAIL, "pthread_create");
	for (i = 0; i < n && r == 0; i++)
		r = bs_inserted(c, NULL);
	if (r != 0)
		shutdown(c->fd, SHUT_RDWR);
	pthread_join(thread, NULL);
	return (r != 0 || w.error ? -1 : 0);
}

/* Put n jobs one at a time, each after the reply to the last. */
static int
bs_put_serial(struct load *l, struct bs_conn *c, const char *put, size_t len)
{
	int64_t	 i;

	for (i = 0; i < l->n; i++) {
		if ((i & 1023) == 0 && load_expired(l))
			return (-1);
		if (bs_write(c, put, len) != 0 || bs_inserted(c, NULL) != 0)
			return (-1);
	}
	return (0);
}

/* bs-put: put throughput of beanstalkd on one connection. */
static int
load_bs_put(struct load *l)
{
	struct bs_conn	 c;
	char		*put, *tube, *use;
	size_t		 len;
	int64_t		 payload;
	uint64_t	 t0, t1;
	int		 r = -1;

	if (bs_connect(l, &c) != 0)
		return (-1);
	put = bs_put_text(l, &len, &payload);
	tube = bs_tube();
	xasprintf(&use, "use %s\r\n", tube);
	if (bs_command(&c, use, "USING ") != 0)
		goto out;
	t0 = bench_now();
	if ((l->pipeline ? bs_put_pipelined(&c, put, len, l->n) :
	    bs_put_serial(l, &c, put, len)) != 0)
		goto out;
	t1 = bench_now();
	printf("bs-put: %lld puts (%s) of %lld bytes to tube %s: %.3f s, "
	    "%.0f jobs/s\n", (long long)l->n, l->pipeline ? "pipelined" :
	    "one at a time", (long long)payload, tube, load_secs(t1 - t0),
	    (double)l->n / load_secs(t1 - t0));
	load_result(l, "bs_put.rate", (double)l->n / load_secs(t1 - t0),
	    "jobs/s", payload);
	r = 0;
out:
	free(use);
	free(tube);
	free(put);
	close(c.fd);
	return (r);
}

/*
 * The consumer of bs-latency: a second connection that keeps a reserve
 * waiting and notes when each job arrives.
 */
struct bs_consumer {
	struct bs_conn	 c;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 ready;		/* the first reserve is on its way */
	int		 stop;
	int		 error;
	int64_t		 id;		/* the latest job reserved */
	uint64_t	 at;
};

/* Publish the state of the consumer to the producer. */
static void
bs_consumer_post(struct bs_consumer *bc, int64_t id, uint64_t at, int error)
{
	pthread_mutex_lock(&bc->lock);
	bc->ready = 1;
	if (id != 0) {
		bc->id = id;
		bc->at = at;
	}
	bc->error |= error;
	pthread_cond_broadcast(&bc->cond);
	pthread_mutex_unlock(&bc->lock);
}

/*
 * Reserve, time and delete jobs until told to stop. A job is posted
 * only once the next reserve was sent, so that the producer's next put
 * always finds a reserve waiting.
 */
static void *
bs_consumer_main(void *arg)
{
	static const char	 reserve[] = "reserve-with-timeout 1\r\n";
	struct bs_consumer	*bc = arg;
	char			 line[256], del[64];
	long long		 id;
	size_t			 bytes;
	int64_t			 last = 0;
	uint64_t		 at = 0;
	int			 stop = 0;

	while (!stop) {
		if (bs_write(&bc->c, reserve, sizeof reserve - 1) != 0)
			break;
		bs_consumer_post(bc, last, at, 0);
		if (bs_line(&bc->c, line, sizeof line) != 0)
			break;
		at = bench_now();
		last = 0;
		if (sscanf(line, "RESERVED %lld %zu", &id, &bytes) == 2) {
			snprintf(del, sizeof del, "delete %lld\r\n", id);
			if (bs_skip(&bc->c, bytes + 2) != 0 ||
			    bs_command(&bc->c, del, "DELETED") != 0)
				break;
			last = id;
		} else if (strcmp(line, "TIMED_OUT") != 0 &&
		    strcmp(line, "DEADLINE_SOON") != 0) {
			warnx("beanstalkd: reserve answered '%s'", line);
			break;
		}
		pthread_mutex_lock(&bc->lock);
		stop = bc->stop;
		pthread_mutex_unlock(&bc->lock);
	}
	if (!stop)
		bs_consumer_post(bc, 0, 0, 1);
	return (NULL);
}

/* Connect the consumer, watch only our tube, start its thread. */
static int
bs_consumer_start(struct load *l, struct bs_consumer *bc, const char *tube)
{
	char	*watch;
	int	 r;

	memset(bc, 0, sizeof *bc);
	if (bs_connect(l, &bc->c) != 0)
		return (-1);
	xasprintf(&watch, "watch %s\r\n", tube);
	r = bs_command(&bc->c, watch, "WATCHING") == 0 &&
	    bs_command(&bc->c, "ignore default\r\n", "WATCHING") == 0;
	free(watch);
	if (!r) {
		close(bc->c.fd);
		return (-1);
	}
	pthread_mutex_init(&bc->lock, NULL);
	load_cond_init(&bc->cond);
	if ((errno = pthread_create(&bc->thread, NULL, bs_consumer_main,
	    bc)) != 0)
		err(LOAD_EXIT_FAIL, "pthread_create");
	return (0);
}

static void
bs_consumer_stop(struct bs_consumer *bc)
{
	pthread_mutex_lock(&bc->lock);
	bc->stop = 1;
	pthread_mutex_unlock(&bc->lock);
	pthread_join(bc->thread, NULL);
	close(bc->c.fd);
	pthread_cond_destroy(&bc->cond);
	pthread_mutex_destroy(&bc->lock);
}

/*
 * Wait for the consumer: until it is ready (id 0) or reserved job id.
 * The time it did, 1 for ready, 0 on an error or after LOAD_EVENT_MS.
 */
static uint64_t
bs_consumer_wait(struct bs_consumer *bc, int64_t id)
{
	struct timespec	 ts = load_cond_limit(LOAD_EVENT_MS);
	uint64_t	 at = 0;
	int		 done;

	pthread_mutex_lock(&bc->lock);
	while (!(done = id == 0 ? bc->ready : bc->id == id) && !bc->error) {
		if (pthread_cond_timedwait(&bc->cond, &bc->lock, &ts) ==
		    ETIMEDOUT)
			break;
	}
	if (done)
		at = id == 0 ? 1 : bc->at;
	pthread_mutex_unlock(&bc->lock);
	return (at);
}

/* One bs-latency sample: put, then the consumer's reserve returning. */
static int
bs_latency_one(struct bs_conn *c, struct bs_consumer *bc, const char *put,
    size_t len, uint64_t *ns)
{
	int64_t		 id;
	uint64_t	 t0, at;

	t0 = bench_now();
	if (bs_write(c, put, len) != 0 || bs_inserted(c, &id) != 0)
		return (-1);
	if ((at = bs_consumer_wait(bc, id)) == 0) {
		warnx("bs-latency: job %lld was not reserved within %d ms",
		    (long long)id, LOAD_EVENT_MS);
		return (-1);
	}
	*ns = at - t0;
	return (0);
}

/* bs-latency: put -> reserve of one job at a time. */
static int
load_bs_latency(struct load *l)
{
	struct bs_consumer	 bc;
	struct bs_conn		 c;
	char			*put, *tube, *use;
	size_t			 len;
	uint64_t		*ns;
	int64_t			 i, payload;
	int			 r = -1;

	if (bs_connect(l, &c) != 0)
		return (-1);
	put = bs_put_text(l, &len, &payload);
	tube = bs_tube();
	xasprintf(&use, "use %s\r\n", tube);
	ns = xcalloc((size_t)l->n, sizeof *ns);
	printf("bs-latency: tube %s, payload of %lld bytes\n", tube,
	    (long long)payload);
	if (bs_command(&c, use, "USING ") != 0 ||
	    bs_consumer_start(l, &bc, tube) != 0)
		goto out;
	if (bs_consumer_wait(&bc, 0) == 0)
		goto stop;
	for (i = -LOAD_WARMUP; i < l->n; i++) {
		if (load_expired(l) ||
		    bs_latency_one(&c, &bc, put, len, &ns[i < 0 ? 0 : i]) != 0)
			goto stop;
	}
	load_report_pcts(l, "bs_latency.start", ns, (size_t)l->n, payload);
	r = 0;
stop:
	bs_consumer_stop(&bc);
out:
	free(ns);
	free(use);
	free(tube);
	free(put);
	close(c.fd);
	return (r);
}

static void
load_usage(FILE *f)
{
	size_t	 i;

	fprintf(f, "usage: aiojobs_load MODE N [options]\n\nmodes:\n");
	for (i = 0; i < LOAD_NMODES; i++)
		fprintf(f, "  %s %s\n", load_modes[i].name, load_modes[i].args);
	fprintf(f, "\n"
	    "  --url URL          control endpoint (default: $AIOJOBS_URL,\n"
	    "                     else ipc://RUNDIR/aiojobsd.sock with\n"
	    "                     RUNDIR from $AIOJOBS_RUNDIR as aiojobctl)\n"
	    "  --events-url URL   event endpoint for latency\n"
	    "                     ($AIOJOBS_EVENTS_URL, else RUNDIR's)\n"
	    "  --batch B          jobs a submit request (1 to 10000)\n"
	    "  --clients C        submit: C connections at once (1 to 256)\n"
	    "  --ms MS            each sleep job's ms (io: 1000, others: 0)\n"
	    "  --fn FN            cpu: the function (primes)\n"
	    "  --input JSON       cpu: every job's input (default: its\n"
	    "                     index, and the result must echo it)\n"
	    "  --pid PID          io: report the daemon's RSS and peak\n"
	    "  --queue NAME       the jobs' queue, also in the payload of\n"
	    "                     bs-* (io: none; latency, bs-latency: a\n"
	    "                     fresh one; submit, bs-put: bench)\n"
	    "  --keys             give each job an idempotency key, as the\n"
	    "                     client library does\n"
	    "  --resume           submit: resume the queue at the end\n"
	    "  --fast-check       latency: 10 warm-up jobs instead of 100\n"
	    "  --pipeline         bs-put: do not wait for each reply\n"
	    "  --wait-after       io, cpu: wait for the jobs only once all\n"
	    "                     are submitted, on the submits' connection\n"
	    "  --host HOST        beanstalkd's host (127.0.0.1)\n"
	    "  --port PORT        beanstalkd's port (11300)\n"
	    "  --max-seconds S    stop any mode after S seconds (120)\n"
	    "\n"
	    "Prints RESULT {json} lines. Exit status: 0 done, 1 the run or a\n"
	    "job failed, 2 usage error, 3 aiojobsd or beanstalkd unreachable.\n"
	    "$AIOJOBS_TOKEN is sent as the token when set.\n");
}

/* A decimal integer in [min, max], or -1 after saying what is wrong. */
static int
load_number(const char *what, const char *s, int64_t min, int64_t max,
    int64_t *v)
{
	char		*end;
	long long	 n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || n < min || n > max) {
		warnx("%s must be an integer from %lld to %lld, not '%s'",
		    what, (long long)min, (long long)max, s);
		return (-1);
	}
	*v = n;
	return (0);
}

static const struct load_mode *
load_mode_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < LOAD_NMODES; i++) {
		if (strcmp(load_modes[i].name, name) == 0)
			return (&load_modes[i]);
	}
	return (NULL);
}

/* Parse the options into l; 0, or an exit status. */
static int
load_options(struct load *l, int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "batch", required_argument, NULL, 'b' },
		{ "clients", required_argument, NULL, 'c' },
		{ "events-url", required_argument, NULL, 'e' },
		{ "fast-check", no_argument, NULL, 'F' },
		{ "fn", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "host", required_argument, NULL, 'H' },
		{ "input", required_argument, NULL, 'i' },
		{ "keys", no_argument, NULL, 'k' },
		{ "max-seconds", required_argument, NULL, 't' },
		{ "ms", required_argument, NULL, 'm' },
		{ "pid", required_argument, NULL, 'p' },
		{ "pipeline", no_argument, NULL, 'P' },
		{ "port", required_argument, NULL, 'T' },
		{ "queue", required_argument, NULL, 'q' },
		{ "resume", no_argument, NULL, 'R' },
		{ "url", required_argument, NULL, 'u' },
		{ "wait-after", no_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 }
	};
	int64_t				 v;
	int				 ch, r = 0;

	while (r == 0 && (ch = getopt_long(argc, argv, "h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			r = load_number("--batch", optarg, 1, MSG_JOBS_MAX,
			    &l->batch);
			break;
		case 'c':
			r = load_number("--clients", optarg, 1,
			    LOAD_CLIENTS_MAX, &l->clients);
			break;
		case 'e':
			l->events_url = xstrdup(optarg);
			break;
		case 'f':
			free(l->fn);
			l->fn = xstrdup(optarg);
			break;
		case 'F':
			l->fast_check = 1;
			break;
		case 'h':
			load_usage(stdout);
			exit(LOAD_EXIT_OK);
		case 'H':
			l->host = optarg;
			break;
		case 'i':
			free(l->input);
			l->input = xstrdup(optarg);
			break;
		case 'k':
			l->keys = 1;
			break;
		case 't':
			r = load_number("--max-seconds", optarg, 1, 86400,
			    &l->max_seconds);
			break;
		case 'm':
			r = load_number("--ms", optarg, 0, 86400000, &l->ms);
			break;
		case 'p':
			r = load_number("--pid", optarg, 1, INT32_MAX, &v);
			l->pid = (long)v;
			break;
		case 'P':
			l->pipeline = 1;
			break;
		case 'T':
			l->port = optarg;
			break;
		case 'q':
			l->queue = xstrdup(optarg);
			break;
		case 'R':
			l->resume = 1;
			break;
		case 'u':
			l->url = xstrdup(optarg);
			break;
		case 'W':
			l->wait_after = 1;
			break;
		default:
			r = -1;
			break;
		}
	}
	return (r == 0 ? 0 : LOAD_EXIT_USAGE);
}

/* The defaults that depend on the mode. */
static void
load_defaults(struct load *l)
{
	char	*key;

	if (l->batch == -1) {
		l->batch = strcmp(l->mode->name, "io") == 0 ||
		    strcmp(l->mode->name, "cpu") == 0 ? 1000 :
		    strcmp(l->mode->name, "submit") == 0 ? 1 : 0;
	}
	if (l->fn == NULL)
		l->fn = xstrdup("primes");
	if (l->ms == -1)
		l->ms = strcmp(l->mode->name, "io") == 0 ? 1000 : 0;
	if (l->queue == NULL && (strcmp(l->mode->name, "submit") == 0 ||
	    strcmp(l->mode->name, "bs-put") == 0))
		l->queue = xstrdup("bench");
	if (l->queue == NULL && strstr(l->mode->name, "latency") != NULL) {
		key = client_key_new();
		xasprintf(&l->queue, "latency-%.8s", key);
		free(key);
	}
}

/* Connect to aiojobsd and check that it answers. */
static int
load_connect(struct load *l)
{
	char	*rundir;

	rundir = endpoint_rundir();
	if (l->url == NULL)
		l->url = endpoint_control_url(rundir);
	if (l->events_url == NULL)
		l->events_url = endpoint_events_url(rundir);
	free(rundir);
	if (load_connect_own(l) != 0)
		return (-1);
	if (load_request_ok(l, "{\"op\":\"ping\"}") != 0) {
		warnx("is aiojobsd running? (--url, $AIOJOBS_RUNDIR)");
		return (-1);
	}
	return (0);
}

int
main(int argc, char **argv)
{
	struct load	 l;
	int		 r;

	memset(&l, 0, sizeof l);
	l.batch = l.ms = -1;
	l.clients = 1;
	l.host = "127.0.0.1";
	l.port = "11300";
	l.max_seconds = 120;
	l.status = LOAD_EXIT_FAIL;
	if ((r = load_options(&l, argc, argv)) != 0)
		return (r);
	if (argc - optind != 2) {
		load_usage(stderr);
		return (LOAD_EXIT_USAGE);
	}
	if ((l.mode = load_mode_find(argv[optind])) == NULL) {
		warnx("unknown mode '%s'; see --help", argv[optind]);
		return (LOAD_EXIT_USAGE);
	}
	if (load_number("N", argv[optind + 1], 1, LOAD_N_MAX, &l.n) != 0)
		return (LOAD_EXIT_USAGE);
	load_defaults(&l);
	/* A last resort should a blocking call outlive every check. */
	alarm((unsigned int)l.max_seconds + 30);
	l.deadline = bench_now() + (uint64_t)l.max_seconds * BENCH_NS;
	r = LOAD_EXIT_OK;
	if ((l.mode->daemon && load_connect(&l) != 0) || l.mode->fn(&l) != 0)
		r = l.status;
	client_close(l.client);
	free(l.url);
	free(l.events_url);
	free(l.queue);
	free(l.fn);
	free(l.input);
	return (r);
}
