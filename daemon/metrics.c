/*
 * Prometheus metrics and a health check over http (--metrics-listen):
 * GET /metrics in the text exposition format 0.0.4, GET /healthz. The
 * counters (submits, finishes, run times, store commits) are bumped by
 * cheap hooks; the gauges are read at scrape time from the sources the
 * stats op uses. Off unless configured: aj->metrics stays NULL and the
 * hooks do nothing.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "aiojobsd.h"
#include "log.h"
#include "tcp_listen.h"
#include "xmalloc.h"

#define METRICS_BACKLOG		64
#define METRICS_TIMEOUT_S	10	/* an idle or slow scraper */
#define METRICS_MAX_HEADERS	8192
#define METRICS_MAX_BODY	1024	/* nothing here takes a body */
#define METRICS_MAXBOUNDS	16
/* The final states, JOB_SUCCEEDED to JOB_CANCELLED, are the last three. */
#define METRICS_NOUTCOMES	(JOB_NSTATES - JOB_SUCCEEDED)

#define METRICS_TEXT	"text/plain; version=0.0.4; charset=utf-8"
#define METRICS_PLAIN	"text/plain; charset=utf-8"

/* A histogram bucket's upper bound, and the le label that shows it. */
struct metrics_bound {
	uint64_t	 us;
	const char	*le;
};

/* Job run times: from a sleep of a few ms to a long exec. */
static const struct metrics_bound metrics_run_bounds[] = {
	{ 5000, "0.005" }, { 10000, "0.01" }, { 25000, "0.025" },
	{ 50000, "0.05" }, { 100000, "0.1" }, { 250000, "0.25" },
	{ 500000, "0.5" }, { 1000000, "1" }, { 2500000, "2.5" },
	{ 5000000, "5" }, { 10000000, "10" }, { 30000000, "30" },
	{ 60000000, "60" }, { 120000000, "120" }, { 300000000, "300" },
};

/* Store commits: tens of us without fsync, ms with it, more on a bad disk. */
static const struct metrics_bound metrics_commit_bounds[] = {
	{ 100, "0.0001" }, { 250, "0.00025" }, { 500, "0.0005" },
	{ 1000, "0.001" }, { 2500, "0.0025" }, { 5000, "0.005" },
	{ 10000, "0.01" }, { 25000, "0.025" }, { 50000, "0.05" },
	{ 100000, "0.1" }, { 250000, "0.25" }, { 500000, "0.5" },
	{ 1000000, "1" }, { 2500000, "2.5" },
};

#define METRICS_NITEMS(b)	(sizeof (b) / sizeof (b)[0])
_Static_assert(METRICS_NITEMS(metrics_run_bounds) <= METRICS_MAXBOUNDS,
    "too many run time buckets");
_Static_assert(METRICS_NITEMS(metrics_commit_bounds) <= METRICS_MAXBOUNDS,
    "too many commit buckets");

/* Counts per bucket, not cumulative (the output sums them); +Inf last. */
struct metrics_hist {
	const struct metrics_bound	*b;
	size_t				 nb;
	uint64_t			 n[METRICS_MAXBOUNDS + 1];
	uint64_t			 count;
	uint64_t			 sum_us;
};

struct metrics {
	struct aiojobsd		*aj;
	struct evhttp		*http;
	uint64_t		 submitted[KIND_MAX];
	uint64_t		 finished[KIND_MAX][METRICS_NOUTCOMES];
	struct metrics_hist	 run[KIND_MAX];
	struct metrics_hist	 commit;
	uint64_t		 commit_start;	/* us, monotonic */
};

static void	metrics_serve(struct metrics *, struct evhttp_request *);
static void	metrics_health(struct metrics *, struct evhttp_request *);

/* What the server answers, by path. */
static const struct metrics_route {
	const char	*path;
	void		(*fn)(struct metrics *, struct evhttp_request *);
} metrics_routes[] = {
	{ "/metrics", metrics_serve },
	{ "/healthz", metrics_health },
};

/* Monotonic microseconds, for durations the wall clock could bend. */
static uint64_t
metrics_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

static void
metrics_hist_init(struct metrics_hist *h, const struct metrics_bound *b,
    size_t nb)
{
	memset(h, 0, sizeof *h);
	h->b = b;
	h->nb = nb;
}

static void
metrics_observe(struct metrics_hist *h, uint64_t us)
{
	size_t	 i;

	for (i = 0; i < h->nb && us > h->b[i].us; i++)
		continue;
	h->n[i]++;
	h->count++;
	h->sum_us += us;
}

/* A job changed state (server.c): count submits, finishes, run times. */
void
metrics_job_changed(struct metrics *m, struct job *job, int old)
{
	int64_t	 ms;

	if (m == NULL || job->kidx >= KIND_MAX)
		return;
	if (old == -1) {		/* a new job: sched_add */
		m->submitted[job->kidx]++;
		return;
	}
	if (!job_state_final(job->state))
		return;
	m->finished[job->kidx][job->state - JOB_SUCCEEDED]++;
	/* A queued job cancelled or failed never ran: no run time. */
	if (old == JOB_RUNNING) {
		ms = job->finished_at - job->started_at;
		metrics_observe(&m->run[job->kidx],
		    ms > 0 ? (uint64_t)ms * 1000 : 0);
	}
}

/* A store commit starts (durable.c). */
void
metrics_commit_begin(struct metrics *m)
{
	if (m != NULL)
		m->commit_start = metrics_now_us();
}

/* The commit begun last succeeded: record how long it took. */
void
metrics_commit_end(struct metrics *m)
{
	if (m != NULL)
		metrics_observe(&m->commit, metrics_now_us() - m->commit_start);
}

static void
metrics_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* Append s as a label value: backslash, quote and newline escaped. */
static void
metrics_add_value(struct evbuffer *b, const char *s)
{
	size_t	 n;

	while (*s != '\0') {
		n = strcspn(s, "\\\"\n");
		evbuffer_add(b, s, n);
		s += n;
		if (*s == '\0')
			break;
		evbuffer_add(b, *s == '\n' ? "\\n" : *s == '"' ? "\\\"" :
		    "\\\\", 2);
		s++;
	}
}

/* One histogram's samples; labels is "" or `name="value"`. */
static void
metrics_add_hist(struct evbuffer *b, const char *name, const char *labels,
    const struct metrics_hist *h)
{
	const char		*sep = *labels != '\0' ? "," : "";
	unsigned long long	 cum = 0;
	size_t			 i;

	for (i = 0; i <= h->nb; i++) {
		cum += h->n[i];
		evbuffer_add_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", name,
		    labels, sep, i < h->nb ? h->b[i].le : "+Inf", cum);
	}
	if (*labels != '\0')
		evbuffer_add_printf(b, "%s_sum{%s} %llu.%06llu\n%s_count{%s} "
		    "%llu\n", name, labels,
		    (unsigned long long)(h->sum_us / 1000000),
		    (unsigned long long)(h->sum_us % 1000000), name, labels,
		    (unsigned long long)h->count);
	else
		evbuffer_add_printf(b, "%s_sum %llu.%06llu\n%s_count %llu\n",
		    name, (unsigned long long)(h->sum_us / 1000000),
		    (unsigned long long)(h->sum_us % 1000000), name,
		    (unsigned long long)h->count);
}

/* The start of a queue's sample, name{queue="Q" (the name escaped). */
static void
metrics_add_queue(struct evbuffer *b, const char *name, struct queue *q)
{
	evbuffer_add_printf(b, "%s{queue=\"", name);
	metrics_add_value(b, q->name);
	evbuffer_add(b, "\"", 1);
}

/* Jobs by state, as the stats op counts them, and by queue. */
static void
metrics_add_jobs(struct metrics *m, struct evbuffer *b)
{
	struct sched	*s = m->aj->sched;
	struct queue	*q;
	int		 i;

	metrics_family(b, "aiojobsd_jobs", "gauge",
	    "Jobs by state (as the stats op reports them).");
	for (i = 0; i < JOB_NSTATES; i++)
		evbuffer_add_printf(b, "aiojobsd_jobs{state=\"%s\"} %lld\n",
		    job_state_name(i), (long long)s->counts[i]);
	metrics_family(b, "aiojobsd_queue_jobs", "gauge",
	    "Queued and running jobs by queue.");
	RB_FOREACH(q, queues, &s->queues) {
		metrics_add_queue(b, "aiojobsd_queue_jobs", q);
		evbuffer_add_printf(b, ",state=\"queued\"} %lld\n",
		    (long long)q->nqueued);
		metrics_add_queue(b, "aiojobsd_queue_jobs", q);
		evbuffer_add_printf(b, ",state=\"running\"} %lld\n",
		    (long long)q->nrunning);
	}
	metrics_family(b, "aiojobsd_queue_paused", "gauge",
	    "1 if the queue is paused.");
	RB_FOREACH(q, queues, &s->queues) {
		metrics_add_queue(b, "aiojobsd_queue_paused", q);
		evbuffer_add_printf(b, "} %d\n", q->paused ? 1 : 0);
	}
}

/* Submits and finishes by kind; run time histograms by kind. */
static void
metrics_add_kinds(struct metrics *m, struct evbuffer *b)
{
	char		 labels[64];
	int		 k, o;

	metrics_family(b, "aiojobsd_jobs_submitted_total", "counter",
	    "Jobs accepted by submit, by kind.");
	for (k = 0; k < kind_count(); k++)
		evbuffer_add_printf(b, "aiojobsd_jobs_submitted_total{"
		    "kind=\"%s\"} %llu\n", kind_at(k)->name,
		    (unsigned long long)m->submitted[k]);
	metrics_family(b, "aiojobsd_jobs_finished_total", "counter",
	    "Jobs that reached a final state, by kind and outcome.");
	for (k = 0; k < kind_count(); k++) {
		for (o = 0; o < METRICS_NOUTCOMES; o++)
			evbuffer_add_printf(b, "aiojobsd_jobs_finished_total{"
			    "kind=\"%s\",outcome=\"%s\"} %llu\n",
			    kind_at(k)->name, job_state_name(JOB_SUCCEEDED + o),
			    (unsigned long long)m->finished[k][o]);
	}
	metrics_family(b, "aiojobsd_job_duration_seconds", "histogram",
	    "Run time of finished jobs from start to finish, by kind.");
	for (k = 0; k < kind_count(); k++) {
		snprintf(labels, sizeof labels, "kind=\"%s\"",
		    kind_at(k)->name);
		metrics_add_hist(b, "aiojobsd_job_duration_seconds", labels,
		    &m->run[k]);
	}
}

/* Workers, the store, the process. */
static void
metrics_add_daemon(struct metrics *m, struct evbuffer *b)
{
	struct aiojobsd	*aj = m->aj;
	int64_t		 up = now_ms() - aj->started_at;

	metrics_family(b, "aiojobsd_workers", "gauge",
	    "CPU worker processes in the pool.");
	evbuffer_add_printf(b, "aiojobsd_workers %d\n", pool_total(aj->pool));
	metrics_family(b, "aiojobsd_workers_busy", "gauge",
	    "CPU workers running a job.");
	evbuffer_add_printf(b, "aiojobsd_workers_busy %d\n",
	    pool_busy(aj->pool));
	metrics_family(b, "aiojobsd_store_commit_duration_seconds",
	    "histogram", "Time to write and commit the job store's "
	    "transaction.");
	metrics_add_hist(b, "aiojobsd_store_commit_duration_seconds", "",
	    &m->commit);
	metrics_family(b, "aiojobsd_store_failing", "gauge",
	    "1 while the job store cannot write.");
	evbuffer_add_printf(b, "aiojobsd_store_failing %d\n",
	    aj->store_failing ? 1 : 0);
	metrics_family(b, "aiojobsd_start_time_seconds", "gauge",
	    "Start time of the daemon since the Unix epoch.");
	evbuffer_add_printf(b, "aiojobsd_start_time_seconds %lld.%03lld\n",
	    (long long)(aj->started_at / 1000),
	    (long long)(aj->started_at % 1000));
	metrics_family(b, "aiojobsd_uptime_seconds", "gauge",
	    "Time since the daemon started.");
	evbuffer_add_printf(b, "aiojobsd_uptime_seconds %lld.%03lld\n",
	    (long long)(up / 1000), (long long)(up % 1000));
}

static void
metrics_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *body)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, reason, body);
}

static void
metrics_reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	struct evbuffer	*b = evbuffer_new();

	evbuffer_add(b, text, strlen(text));
	metrics_reply(req, code, reason, METRICS_PLAIN, b);
	evbuffer_free(b);
}

static void
metrics_serve(struct metrics *m, struct evhttp_request *req)
{
	struct evbuffer	*b = evbuffer_new();

	metrics_add_jobs(m, b);
	metrics_add_kinds(m, b);
	metrics_add_daemon(m, b);
	metrics_reply(req, HTTP_OK, "OK", METRICS_TEXT, b);
	evbuffer_free(b);
}

/* Healthy unless the store cannot write or the daemon is going away. */
static void
metrics_health(struct metrics *m, struct evhttp_request *req)
{
	struct aiojobsd	*aj = m->aj;

	if (aj->store_failing)
		metrics_reply_text(req, 503, "Service Unavailable",
		    "store failing: the job store cannot write\n");
	else if (aj->shutting_down)
		metrics_reply_text(req, 503, "Service Unavailable",
		    "shutting down\n");
	else
		metrics_reply_text(req, HTTP_OK, "OK", "ok\n");
}

static void
metrics_request_cb(struct evhttp_request *req, void *arg)
{
	struct metrics			*m = arg;
	const struct evhttp_uri		*uri;
	struct evkeyvalq		*out;
	const char			*path = NULL;
	size_t				 i;

	if ((uri = evhttp_request_get_evhttp_uri(req)) != NULL)
		path = evhttp_uri_get_path(uri);
	for (i = 0; path != NULL && i < METRICS_NITEMS(metrics_routes); i++) {
		if (strcmp(path, metrics_routes[i].path) != 0)
			continue;
		if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
			out = evhttp_request_get_output_headers(req);
			evhttp_add_header(out, "Allow", "GET");
			metrics_reply_text(req, 405, "Method Not Allowed",
			    "method not allowed: use GET\n");
			return;
		}
		metrics_routes[i].fn(m, req);
		return;
	}
	metrics_reply_text(req, HTTP_NOTFOUND, "Not Found", "not found\n");
}

/* Listen on HOST:PORT (config.c checked the shape; [v6] in brackets). */
static int
metrics_listen(const char *spec, char **cause)
{
	char	*host, *port, *why;
	int	 fd;

	if (tcp_listen_split(spec, &host, &port) != 0) {
		xasprintf(cause, "metrics_listen %s: not HOST:PORT", spec);
		return (-1);
	}
	fd = tcp_listen(host, port, METRICS_BACKLOG, &why);
	free(host);
	free(port);
	if (fd != -1)
		return (fd);
	if (errno == EADDRINUSE)
		xasprintf(cause, "metrics_listen %s: address in use: another "
		    "process is listening on that port", spec);
	else
		xasprintf(cause, "metrics_listen %s: %s", spec, why);
	free(why);
	return (-1);
}

/* Serve metrics if metrics_listen is set; a port in use fails start-up. */
int
metrics_create(struct aiojobsd *aj, char **cause)
{
	struct metrics	*m;
	int		 fd, k;

	if (aj->conf.metrics_listen == NULL)
		return (0);
	if ((fd = metrics_listen(aj->conf.metrics_listen, cause)) == -1)
		return (-1);
	m = xcalloc(1, sizeof *m);
	m->aj = aj;
	for (k = 0; k < KIND_MAX; k++)
		metrics_hist_init(&m->run[k], metrics_run_bounds,
		    METRICS_NITEMS(metrics_run_bounds));
	metrics_hist_init(&m->commit, metrics_commit_bounds,
	    METRICS_NITEMS(metrics_commit_bounds));
	if ((m->http = evhttp_new(aj->base)) == NULL)
		fatalx("evhttp_new failed");
	evhttp_set_timeout(m->http, METRICS_TIMEOUT_S);
	evhttp_set_max_headers_size(m->http, METRICS_MAX_HEADERS);
	evhttp_set_max_body_size(m->http, METRICS_MAX_BODY);
	/* Every method reaches metrics_request_cb, which answers 405. */
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(m->http, metrics_request_cb, m);
	/* Fails only out of memory; the fd is then in an unknown state. */
	if (evhttp_accept_socket_with_handle(m->http, fd) == NULL)
		fatalx("evhttp_accept_socket_with_handle failed");
	aj->metrics = m;
	log_info("metrics on http://%s/metrics", aj->conf.metrics_listen);
	return (0);
}

void
metrics_free(struct aiojobsd *aj)
{
	struct metrics	*m = aj->metrics;

	if (m == NULL)
		return;
	evhttp_free(m->http);
	free(m);
	aj->metrics = NULL;
}
