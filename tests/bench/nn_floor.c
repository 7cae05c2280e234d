/*
 * nn_floor: the part of aiojobsd's submit -> start latency that is the
 * transport's. One process, no daemon: a server thread holds a REP and a
 * PUB socket on ipc endpoints, as aiojobsd does; for every request it
 * publishes an event and then replies, doing no other work. The client
 * sends a request of the size of a submit and times the event's arrival
 * on its SUB socket (start) and, separately, plain REQ/REP round trips
 * (rtt). Whatever aiojobsd adds on top of these is its own cost; what a
 * latency target asks below them no daemon on this transport can meet.
 *
 *	nn_floor N		prints RESULT lines as aiojobs_load does
 */
#include <err.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/reqrep.h>

#include "benchutil.h"

#define FLOOR_WARMUP	100
#define FLOOR_TIMEOUT	5000	/* ms any one message may take */
#define FLOOR_REQUEST	160	/* bytes: a one-job submit */
#define FLOOR_EVENT	330	/* bytes: a job.running event */
#define FLOOR_REPLY	40	/* bytes: {"ok":true,"ids":[N]} */

struct floor_server {
	int	 rep;
	int	 pub;
};

static void
floor_timeouts(int sock)
{
	int	 ms = FLOOR_TIMEOUT;

	if (nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVTIMEO, &ms,
	    sizeof ms) < 0 || nn_setsockopt(sock, NN_SOL_SOCKET, NN_SNDTIMEO,
	    &ms, sizeof ms) < 0)
		errx(1, "nn_setsockopt: %s", nn_strerror(nn_errno()));
}

static int
floor_socket(int domain, int protocol, const char *url, int bind)
{
	int	 sock;

	if ((sock = nn_socket(domain, protocol)) < 0)
		errx(1, "nn_socket: %s", nn_strerror(nn_errno()));
	floor_timeouts(sock);
	if ((bind ? nn_bind(sock, url) : nn_connect(sock, url)) < 0)
		errx(1, "%s: %s", url, nn_strerror(nn_errno()));
	return (sock);
}

/* Until the sockets close: request in, event out, reply out. */
static void *
floor_serve(void *arg)
{
	struct floor_server	*fs = arg;
	char			 event[FLOOR_EVENT], reply[FLOOR_REPLY];
	char			*req;
	int			 n;

	memset(event, 'e', sizeof event);
	memset(reply, 'r', sizeof reply);
	for (;;) {
		if ((n = nn_recv(fs->rep, &req, NN_MSG, 0)) < 0)
			break;
		nn_freemsg(req);
		if (nn_send(fs->pub, event, sizeof event, NN_DONTWAIT) < 0 &&
		    nn_errno() != EAGAIN)
			break;
		if (nn_send(fs->rep, reply, sizeof reply, 0) < 0)
			break;
	}
	return (NULL);
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
		    "\"us\",\"mode\":\"nn-floor\",\"n\":%zu}\n", name,
		    pcts[i].name, us, n);
	}
}

/* One request: the event's arrival after the send; the reply is read. */
static uint64_t
floor_one(int req, int sub, const char *msg, int rtt_only)
{
	uint64_t	 t0, t;
	char		*buf;

	t0 = bench_now();
	if (nn_send(req, msg, FLOOR_REQUEST, 0) < 0)
		errx(1, "request: %s", nn_strerror(nn_errno()));
	t = 0;
	if (!rtt_only) {
		if (nn_recv(sub, &buf, NN_MSG, 0) < 0)
			errx(1, "event: %s", nn_strerror(nn_errno()));
		t = bench_now() - t0;
		nn_freemsg(buf);
	}
	if (nn_recv(req, &buf, NN_MSG, 0) < 0)
		errx(1, "reply: %s", nn_strerror(nn_errno()));
	nn_freemsg(buf);
	if (rtt_only)
		t = bench_now() - t0;
	return (t);
}

/* Subscribers join asynchronously: send until an event arrives. */
static void
floor_subscribed(int req, int sub, const char *msg)
{
	int	 ms = 10, i;
	char	*buf;

	nn_setsockopt(sub, NN_SOL_SOCKET, NN_RCVTIMEO, &ms, sizeof ms);
	for (i = 0; i < FLOOR_TIMEOUT / ms; i++) {
		floor_one(req, sub, msg, 1);
		if (nn_recv(sub, &buf, NN_MSG, 0) >= 0) {
			nn_freemsg(buf);
			floor_timeouts(sub);
			return;
		}
	}
	errx(1, "the subscriber never received an event");
}

int
main(int argc, char **argv)
{
	struct floor_server	 fs;
	pthread_t		 th;
	char			 dir[] = "/tmp/nn_floor.XXXXXX";
	char			 curl[64], eurl[64], msg[FLOOR_REQUEST];
	uint64_t		*start, *rtt;
	long			 n, i;
	int			 req, sub;

	if (argc != 2 || (n = strtol(argv[1], NULL, 10)) < 1 || n > 1000000) {
		fprintf(stderr, "usage: nn_floor N (1 to 1000000)\n");
		return (2);
	}
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	snprintf(curl, sizeof curl, "ipc://%s/c.sock", dir);
	snprintf(eurl, sizeof eurl, "ipc://%s/e.sock", dir);
	fs.rep = floor_socket(AF_SP, NN_REP, curl, 1);
	fs.pub = floor_socket(AF_SP, NN_PUB, eurl, 1);
	if (pthread_create(&th, NULL, floor_serve, &fs) != 0)
		errx(1, "pthread_create");
	req = floor_socket(AF_SP, NN_REQ, curl, 0);
	sub = floor_socket(AF_SP, NN_SUB, eurl, 0);
	if (nn_setsockopt(sub, NN_SUB, NN_SUB_SUBSCRIBE, "", 0) < 0)
		errx(1, "subscribe: %s", nn_strerror(nn_errno()));
	memset(msg, 'q', sizeof msg);
	floor_subscribed(req, sub, msg);

	start = calloc((size_t)n, sizeof *start);
	rtt = calloc((size_t)n, sizeof *rtt);
	if (start == NULL || rtt == NULL)
		err(1, "calloc");
	for (i = -FLOOR_WARMUP; i < n; i++) {
		uint64_t t = floor_one(req, sub, msg, 0);

		if (i >= 0)
			start[i] = t;
	}
	for (i = -FLOOR_WARMUP; i < n; i++) {
		uint64_t t = floor_one(req, sub, msg, 1);

		if (i >= 0)
			rtt[i] = t;
	}
	floor_report("floor.start", start, (size_t)n);
	floor_report("floor.rtt", rtt, (size_t)n);

	nn_term();	/* ends the server's nn_recv */
	pthread_join(th, NULL);
	nn_close(req);
	nn_close(sub);
	nn_close(fs.rep);
	nn_close(fs.pub);
	snprintf(curl, sizeof curl, "%s/c.sock", dir);
	unlink(curl);
	snprintf(eurl, sizeof eurl, "%s/e.sock", dir);
	unlink(eurl);
	rmdir(dir);
	free(start);
	free(rtt);
	return (0);
}
