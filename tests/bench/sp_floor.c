/*
 * sp_floor: the part of aiojobsd's submit -> start latency that is the
 * transport's. One process, no daemon: a server thread holds a REP and a
 * PUB endpoint on ipc, through the same modules and loop as aiojobsd
 * (daemon/sp_server.c on a libevent loop); for every request it
 * publishes the two events of a job that starts at once (job.queued,
 * job.running) and then replies, doing no other work. The client
 * is aiojobs_load's too: a request through the client library from the
 * main thread, and a thread that polls a watch (SUB) and notes when each
 * event arrived. It times a request of the size of a submit to its
 * second event's arrival (start) and, separately, plain round trips (rtt).
 * Whatever aiojobsd adds on top of these is its own cost; what a latency
 * target asks below them no daemon on this transport can meet.
 *
 * With CLIENTS, CLIENTS threads of clients on connections of their own
 * send N round trips in all at once instead, each its share one at a
 * time (no events): the most requests a second that many clients get
 * through the transport and the server's one loop together, the floor of
 * aiojobs_load's submit --clients.
 *
 *	sp_floor N [CLIENTS]	prints RESULT lines as aiojobs_load does
 */
#include <err.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "benchutil.h"
#include "client.h"
#include "sp_server.h"
#include "transport.h"
#include "watch.h"

#define FLOOR_WARMUP	100
#define FLOOR_WARMUP_CLIENT 10	/* each client's, with CLIENTS */
#define FLOOR_CLIENTS_MAX 256
#define FLOOR_TIMEOUT	5000	/* ms any one message may take */
#define FLOOR_REQUEST	160	/* bytes: a one-job submit */
/*
 * A submitted job that starts at once has two events, job.queued and
 * job.running, which the protocol says every subscriber gets, in that
 * order; the floor publishes two of their size (the views of a short
 * sleep job) and times the second.
 */
#define FLOOR_EVENTS	2
#define FLOOR_EVENT	240	/* bytes: one event */
#define FLOOR_REPLY	40	/* bytes: {"ok":true,"ids":[N]} */

struct floor_server {
	struct event_base	*base;
	struct sp_server	*rep;
	struct sp_server	*pub;
	int			 stop[2];	/* a pipe: readable to stop */
};

/* The client's event thread: when the last event arrived, and how many. */
struct floor_events {
	struct watch	*watch;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	uint64_t	 at;
	uint64_t	 count;
	int		 stop;
};

/* A request: events out, reply out, as the daemon would answer a submit. */
static void
floor_request_cb(struct sp_request *req, void *arg)
{
	struct floor_server	*fs = arg;
	char			 event[FLOOR_EVENT], reply[FLOOR_REPLY];
	int			 i;

	memset(event, 'e', sizeof event);
	memset(reply, 'r', sizeof reply);
	for (i = 0; i < FLOOR_EVENTS; i++)
		sp_server_publish(fs->pub, event, sizeof event);
	sp_request_reply(req, reply, sizeof reply);
}

static void
floor_stop_cb(int fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static void *
floor_serve(void *arg)
{
	struct floor_server	*fs = arg;
	struct event		*stop;

	stop = event_new(fs->base, fs->stop[0], EV_READ, floor_stop_cb,
	    fs->base);
	event_add(stop, NULL);
	event_base_dispatch(fs->base);
	event_free(stop);
	return (NULL);
}

static void
floor_listen(struct floor_server *fs, const char *curl, const char *eurl)
{
	char	*cause = NULL;

	if ((fs->base = event_base_new()) == NULL || pipe(fs->stop) == -1)
		errx(1, "event_base_new or pipe failed");
	if ((fs->rep = sp_server_rep(fs->base, curl, TRANSPORT_RECV_MIN,
	    NULL, floor_request_cb, fs, &cause)) == NULL ||
	    (fs->pub = sp_server_pub(fs->base, eurl, &cause)) == NULL)
		errx(1, "%s", cause);
}

/* Note each event's arrival, as aiojobs_load's event thread does. */
static void *
floor_events_main(void *arg)
{
	struct floor_events	*fe = arg;
	struct pollfd		 pfd = { watch_fd(fe->watch), POLLIN, 0 };
	char			*msg, *cause;
	size_t			 len;
	int			 stop = 0;

	while (!stop) {
		if (poll(&pfd, 1, 50) == -1)
			err(1, "poll");
		while (watch_recv(fe->watch, &msg, &len, &cause) == 1) {
			free(msg);
			pthread_mutex_lock(&fe->lock);
			fe->at = bench_now();
			fe->count++;
			pthread_cond_signal(&fe->cond);
			pthread_mutex_unlock(&fe->lock);
		}
		pthread_mutex_lock(&fe->lock);
		stop = fe->stop;
		pthread_mutex_unlock(&fe->lock);
	}
	return (NULL);
}

/* Wait up to FLOOR_TIMEOUT for event number n: its arrival, or 0. */
static uint64_t
floor_event_wait(struct floor_events *fe, uint64_t n)
{
	struct timespec	 ts;
	uint64_t	 at = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += FLOOR_TIMEOUT / 1000;
	pthread_mutex_lock(&fe->lock);
	while (fe->count < n && pthread_cond_timedwait(&fe->cond, &fe->lock,
	    &ts) == 0)
		;
	if (fe->count >= n)
		at = fe->at;
	pthread_mutex_unlock(&fe->lock);
	return (at);
}

static void
floor_report(const char *name, uint64_t *ns, size_t n)
{
	static const struct {
		const char	*name;
		double		 p;
	} pcts[] = {
		{ "p50", 0.50 }, { "p90", 0.90 }, { "p99", 0.99 }, { "max", 1 }
	};
	size_t		 i;
	double		 us;

	qsort(ns, n, sizeof *ns, bench_cmp_u64);
	printf("%s over %zu samples:", name, n);
	for (i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
		printf(" %s %.1f us", pcts[i].name,
		    (double)bench_rank(ns, n, pcts[i].p) / 1e3);
	}
	printf("\n");
	for (i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
		us = (double)bench_rank(ns, n, pcts[i].p) / 1e3;
		printf("RESULT {\"name\":\"%s.%s\",\"value\":%.3f,\"unit\":"
		    "\"us\",\"mode\":\"sp-floor\",\"n\":%zu}\n", name,
		    pcts[i].name, us, n);
	}
}

/* One request: the event's arrival after the send, or the round trip. */
static uint64_t
floor_one(struct client *c, struct floor_events *fe, const char *msg,
    int rtt_only)
{
	uint64_t	 t0, t, at, n;
	char		*reply, *cause;

	pthread_mutex_lock(&fe->lock);
	n = fe->count + FLOOR_EVENTS;
	pthread_mutex_unlock(&fe->lock);
	t0 = bench_now();
	if (client_request(c, msg, FLOOR_TIMEOUT, &reply, &cause) != 0)
		errx(1, "request: %s", cause);
	t = bench_now() - t0;
	free(reply);
	if ((at = floor_event_wait(fe, n)) == 0)
		errx(1, "no event within %d ms", FLOOR_TIMEOUT);
	return (rtt_only ? t : at - t0);
}

/* Subscribers join asynchronously: send until events arrive. */
static void
floor_subscribed(struct client *c, struct floor_events *fe, const char *msg)
{
	char	*reply, *cause;
	int	 i;

	for (i = 0; i < FLOOR_TIMEOUT / 10; i++) {
		if (client_request(c, msg, FLOOR_TIMEOUT, &reply, &cause) != 0)
			errx(1, "request: %s", cause);
		free(reply);
		pthread_mutex_lock(&fe->lock);
		if (fe->count > 0) {
			pthread_mutex_unlock(&fe->lock);
			return;
		}
		pthread_mutex_unlock(&fe->lock);
		usleep(10000);
	}
	errx(1, "the subscriber never received an event");
}

/* One round trip that must succeed. */
static void
floor_request(struct client *c, const char *msg)
{
	char	*reply, *cause;

	if (client_request(c, msg, FLOOR_TIMEOUT, &reply, &cause) != 0)
		errx(1, "request: %s", cause);
	free(reply);
}

/* Round trips and the arrival of their events, one request at a time. */
static void
floor_latency(const char *curl, const char *eurl, long n)
{
	static const char *const topics[] = { "" };
	struct floor_events	 fe;
	struct client		*c;
	pthread_t		 evth;
	char			*cause, msg[FLOOR_REQUEST];
	uint64_t		*start, *rtt;
	long			 i;

	memset(&fe, 0, sizeof fe);
	if ((c = client_open(curl, &cause)) == NULL ||
	    (fe.watch = watch_open(eurl, topics, 1, &cause)) == NULL)
		errx(1, "%s", cause);
	pthread_mutex_init(&fe.lock, NULL);
	pthread_cond_init(&fe.cond, NULL);
	if (pthread_create(&evth, NULL, floor_events_main, &fe) != 0)
		errx(1, "pthread_create");
	memset(msg, 'q', sizeof msg - 1);
	msg[sizeof msg - 1] = '\0';
	floor_subscribed(c, &fe, msg);

	start = calloc((size_t)n, sizeof *start);
	rtt = calloc((size_t)n, sizeof *rtt);
	if (start == NULL || rtt == NULL)
		err(1, "calloc");
	for (i = -FLOOR_WARMUP; i < n; i++) {
		uint64_t t = floor_one(c, &fe, msg, 0);

		if (i >= 0)
			start[i] = t;
	}
	for (i = -FLOOR_WARMUP; i < n; i++) {
		uint64_t t = floor_one(c, &fe, msg, 1);

		if (i >= 0)
			rtt[i] = t;
	}
	floor_report("floor.start", start, (size_t)n);
	floor_report("floor.rtt", rtt, (size_t)n);

	pthread_mutex_lock(&fe.lock);
	fe.stop = 1;
	pthread_mutex_unlock(&fe.lock);
	pthread_join(evth, NULL);
	client_close(c);
	watch_close(fe.watch);
	free(start);
	free(rtt);
}

/* With CLIENTS: one client's share of the round trips. */
struct floor_share {
	const char		*url;
	pthread_barrier_t	*start;
	pthread_t		 thread;
	long			 n;
	uint64_t		*rtt;		/* one a request */
	uint64_t		 end;		/* when its last reply came */
};

/* Connect, then, once every client has, send the share one at a time. */
static void *
floor_share_main(void *arg)
{
	struct floor_share	*sh = arg;
	struct client		*c;
	char			*cause, msg[FLOOR_REQUEST];
	uint64_t		 t;
	long			 i;

	memset(msg, 'q', sizeof msg - 1);
	msg[sizeof msg - 1] = '\0';
	if ((c = client_open(sh->url, &cause)) == NULL)
		errx(1, "%s", cause);
	for (i = 0; i < FLOOR_WARMUP_CLIENT; i++)
		floor_request(c, msg);
	pthread_barrier_wait(sh->start);
	for (i = 0; i < sh->n; i++) {
		t = bench_now();
		floor_request(c, msg);
		sh->rtt[i] = bench_now() - t;
	}
	sh->end = bench_now();
	client_close(c);
	return (NULL);
}

/* N round trips from nclients clients at once: their total rate. */
static void
floor_clients(const char *curl, long n, long nclients)
{
	struct floor_share	*sh;
	pthread_barrier_t	 start;
	uint64_t		*rtt, t0, end = 0;
	long			 i, at = 0;

	sh = calloc((size_t)nclients, sizeof *sh);
	rtt = calloc((size_t)n, sizeof *rtt);
	if (sh == NULL || rtt == NULL)
		err(1, "calloc");
	pthread_barrier_init(&start, NULL, (unsigned int)nclients + 1);
	for (i = 0; i < nclients; i++) {
		sh[i].url = curl;
		sh[i].start = &start;
		sh[i].n = n / nclients + (i < n % nclients);
		sh[i].rtt = rtt + at;
		at += sh[i].n;
		if (pthread_create(&sh[i].thread, NULL, floor_share_main,
		    &sh[i]) != 0)
			errx(1, "pthread_create");
	}
	pthread_barrier_wait(&start);
	t0 = bench_now();
	for (i = 0; i < nclients; i++) {
		pthread_join(sh[i].thread, NULL);
		if (sh[i].end > end)
			end = sh[i].end;
	}
	printf("%ld round trips from %ld clients at once: %.3f s, %.0f "
	    "requests/s\n", n, nclients, (double)(end - t0) / 1e9,
	    (double)n * 1e9 / (double)(end - t0));
	printf("RESULT {\"name\":\"floor.clients.rate\",\"value\":%.1f,"
	    "\"unit\":\"requests/s\",\"mode\":\"sp-floor\",\"n\":%ld,"
	    "\"clients\":%ld}\n", (double)n * 1e9 / (double)(end - t0), n,
	    nclients);
	floor_report("floor.clients.rtt", rtt, (size_t)n);
	pthread_barrier_destroy(&start);
	free(sh);
	free(rtt);
}

int
main(int argc, char **argv)
{
	struct floor_server	 fs;
	pthread_t		 th;
	char			 dir[] = "/tmp/sp_floor.XXXXXX";
	char			 curl[64], eurl[64];
	long			 n, nclients = 0;

	signal(SIGPIPE, SIG_IGN);	/* as aiojobsd: a lost peer is EPIPE */
	if (argc < 2 || argc > 3 ||
	    (n = strtol(argv[1], NULL, 10)) < 1 || n > 1000000 ||
	    (argc == 3 && ((nclients = strtol(argv[2], NULL, 10)) < 1 ||
	    nclients > FLOOR_CLIENTS_MAX || nclients > n))) {
		fprintf(stderr, "usage: sp_floor N [CLIENTS] (N 1 to 1000000, "
		    "CLIENTS 1 to %d and at most N)\n", FLOOR_CLIENTS_MAX);
		return (2);
	}
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	snprintf(curl, sizeof curl, "ipc://%s/c.sock", dir);
	snprintf(eurl, sizeof eurl, "ipc://%s/e.sock", dir);
	floor_listen(&fs, curl, eurl);
	if (pthread_create(&th, NULL, floor_serve, &fs) != 0)
		errx(1, "pthread_create");
	if (nclients > 0)
		floor_clients(curl, n, nclients);
	else
		floor_latency(curl, eurl, n);

	if (write(fs.stop[1], "", 1) != 1)
		err(1, "write");
	pthread_join(th, NULL);
	sp_server_free(fs.rep);
	sp_server_free(fs.pub);
	event_base_free(fs.base);
	close(fs.stop[0]);
	close(fs.stop[1]);
	unlink(curl + strlen("ipc://"));
	unlink(eurl + strlen("ipc://"));
	rmdir(dir);
	return (0);
}
