/*
 * Unit tests of daemon/sp_server.c and the modules under it: a REP and a
 * PUB endpoint on ipc paths, driven by plain unix-socket clients that
 * write SP bytes as any peer would, with the endpoint's loop turned by
 * the test.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "sp_server.h"
#include "sp_wire.h"

#define T_RCVMAX	4096
#define T_WAIT_MS	5000	/* the longest any one step may take */

struct t_env {
	struct event_base	*base;
	struct sp_server	*server;
	char			 dir[64];
	char			 url[128];
	struct sp_request	*reqs[16];	/* received, not yet answered */
	int			 nreqs;
};

static struct t_env	 env;

static void
t_request_cb(struct sp_request *req, void *arg)
{
	struct t_env	*e = arg;

	ck_assert_int_lt(e->nreqs, 16);
	e->reqs[e->nreqs++] = req;
}

static void
t_setup(void)
{
	char	*cause = NULL;

	memset(&env, 0, sizeof env);
	snprintf(env.dir, sizeof env.dir, "/tmp/check_sp.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(env.dir));
	snprintf(env.url, sizeof env.url, "ipc://%s/rep.sock", env.dir);
	env.base = event_base_new();
	env.server = sp_server_rep(env.base, env.url, T_RCVMAX, NULL, t_request_cb,
	    &env, &cause);
	ck_assert_msg(env.server != NULL, "%s", cause);
}

static void
t_teardown(void)
{
	int	 i;

	for (i = 0; i < env.nreqs; i++)
		sp_request_free(env.reqs[i]);
	sp_server_free(env.server);
	event_base_free(env.base);
	unlink(env.url + strlen("ipc://"));
	rmdir(env.dir);
}

static uint64_t
t_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Turn the loop until the endpoint holds n requests (bounded in time). */
static void
t_until_requests(int n)
{
	uint64_t	 deadline = t_now_ms() + T_WAIT_MS;

	while (env.nreqs < n && t_now_ms() < deadline)
		event_base_loop(env.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_int_eq(env.nreqs, n);
}

/* Turn the loop a few times without waiting. */
static void
t_turn(void)
{
	int	 i;

	for (i = 0; i < 10; i++)
		event_base_loop(env.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static int
t_connect(const char *url)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", url + 6);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	return (fd);
}

static void
t_write(int fd, const void *buf, size_t len)
{
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
}

/* Read exactly len bytes, turning the loop while they are on the way. */
static void
t_read(int fd, void *buf, size_t len)
{
	uint64_t	 deadline = t_now_ms() + T_WAIT_MS;
	size_t		 got = 0;
	ssize_t		 n;

	while (got < len && t_now_ms() < deadline) {
		t_turn();
		if ((n = read(fd, (char *)buf + got, len - got)) > 0)
			got += (size_t)n;
		else if (n == 0)
			break;
	}
	ck_assert_uint_eq(got, len);
}

/* Whether the endpoint closed the connection (EOF or reset). */
static int
t_closed(int fd)
{
	uint64_t	 deadline = t_now_ms() + T_WAIT_MS;
	char		 buf[256];
	ssize_t		 n;

	while (t_now_ms() < deadline) {
		t_turn();
		n = read(fd, buf, sizeof buf);
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			return (1);
	}
	return (0);
}

/* Connect as a REQ peer and read the endpoint's REP header. */
static int
t_req_peer(void)
{
	unsigned char	 head[SP_HEADER_LEN], want[SP_HEADER_LEN];
	int		 fd = t_connect(env.url);

	sp_header(SP_PROTO_REQ, head);
	t_write(fd, head, sizeof head);
	t_read(fd, head, sizeof head);
	sp_header(SP_PROTO_REP, want);
	ck_assert_mem_eq(head, want, sizeof want);
	return (fd);
}

/* An ipc frame with a request id and body, into buf; its length. */
static size_t
t_request(unsigned char *buf, uint32_t id, const char *body)
{
	size_t	 blen = strlen(body);

	sp_frame_put(buf, 1, 4 + blen);
	buf[9] = (id >> 24) | 0x80;
	buf[10] = (id >> 16) & 0xff;
	buf[11] = (id >> 8) & 0xff;
	buf[12] = id & 0xff;
	memcpy(buf + 13, body, blen);
	return (13 + blen);
}

/* Read one reply: check its route is id and its body is want. */
static void
t_expect_reply(int fd, uint32_t id, const char *want)
{
	unsigned char	 frame[SP_FRAME_IPC], got[256];
	uint64_t	 len;

	t_read(fd, frame, sizeof frame);
	ck_assert_int_eq(sp_frame_get(frame, 1, &len), 0);
	ck_assert_uint_eq(len, 4 + strlen(want));
	t_read(fd, got, (size_t)len);
	ck_assert_uint_eq(((uint32_t)got[0] << 24 | (uint32_t)got[1] << 16 |
	    (uint32_t)got[2] << 8 | got[3]), id | 0x80000000U);
	ck_assert_mem_eq(got + 4, want, strlen(want));
}

static void
t_reply(int i, const char *body)
{
	sp_request_reply(env.reqs[i], body, strlen(body));
	env.reqs[i] = NULL;
}

/* A request written a byte at a time arrives whole, once. */
START_TEST(test_request_in_single_bytes)
{
	unsigned char	 buf[64];
	const char	*body;
	size_t		 len, i;
	int		 fd = t_req_peer();

	len = t_request(buf, 7, "{\"op\":\"ping\"}");
	for (i = 0; i < len; i++) {
		t_write(fd, buf + i, 1);
		t_turn();
	}
	t_until_requests(1);
	body = sp_request_body(env.reqs[0], &len);
	ck_assert_uint_eq(len, strlen("{\"op\":\"ping\"}"));
	ck_assert_mem_eq(body, "{\"op\":\"ping\"}", len);
	t_reply(0, "pong");
	t_expect_reply(fd, 7, "pong");
	close(fd);
}
END_TEST

/* Two requests in one write; answered in the other order, each on its way. */
START_TEST(test_replies_in_any_order)
{
	unsigned char	 buf[128];
	size_t		 len;
	int		 fd = t_req_peer();

	len = t_request(buf, 1, "first");
	len += t_request(buf + len, 2, "second");
	t_write(fd, buf, len);
	t_until_requests(2);
	ck_assert(!sp_request_same_route(env.reqs[0], env.reqs[1]));
	t_reply(1, "two");
	t_reply(0, "one");
	t_expect_reply(fd, 2, "two");
	t_expect_reply(fd, 1, "one");
	close(fd);
}
END_TEST

/* A resent request (same id, same connection) has the same route. */
START_TEST(test_resent_request_same_route)
{
	unsigned char	 buf[128];
	size_t		 len;
	int		 fd = t_req_peer(), other = t_req_peer();

	len = t_request(buf, 5, "x");
	t_write(fd, buf, len);
	t_write(fd, buf, len);
	t_write(other, buf, len);
	t_until_requests(3);
	ck_assert(sp_request_same_route(env.reqs[0], env.reqs[1]));
	ck_assert(!sp_request_same_route(env.reqs[0], env.reqs[2]));
	close(fd);
	close(other);
}
END_TEST

/* A reply to a peer that hung up is dropped; the endpoint serves on. */
START_TEST(test_reply_after_hang_up)
{
	unsigned char	 buf[64];
	size_t		 len;
	int		 fd = t_req_peer();

	len = t_request(buf, 3, "held");
	t_write(fd, buf, len);
	t_until_requests(1);
	close(fd);
	t_turn();
	t_reply(0, "too late");
	ck_assert(!sp_server_has_peers(env.server));
	fd = t_req_peer();
	len = t_request(buf, 4, "next");
	t_write(fd, buf, len);
	t_until_requests(2);
	t_reply(1, "served");
	t_expect_reply(fd, 4, "served");
	close(fd);
}
END_TEST

/* Bytes that break the rules close their own connection only. */
START_TEST(test_bad_bytes_close_one_connection)
{
	static const char *what[] = { "frame type", "no request id",
	    "PUB header", "not SP" };
	unsigned char	 buf[64], head[SP_HEADER_LEN];
	size_t		 len;
	int		 fd, good = t_req_peer();

	if (_i >= 2) {
		fd = t_connect(env.url);
		if (_i == 2)
			sp_header(SP_PROTO_PUB, head);
		else
			memcpy(head, "GET / HT", sizeof head);
		t_write(fd, head, sizeof head);
	} else {
		fd = t_req_peer();
		len = t_request(buf, 9, "body");
		if (_i == 0)
			buf[0] = 0x02;
		else {
			sp_frame_put(buf, 1, 2);
			len = 11;
		}
		t_write(fd, buf, len);
	}
	ck_assert_msg(t_closed(fd), "%s: connection left open", what[_i]);
	close(fd);
	ck_assert_int_eq(env.nreqs, 0);
	len = t_request(buf, 10, "still");
	t_write(good, buf, len);
	t_until_requests(1);
	t_reply(0, "here");
	t_expect_reply(good, 10, "here");
	close(good);
}
END_TEST

/*
 * A request over rcvmax is thrown away as it comes and goes up as its
 * route alone, with its length, to be answered; the connection serves on.
 */
START_TEST(test_request_over_rcvmax)
{
	unsigned char	 buf[64], body[1024];
	const char	*got;
	size_t		 len, i, blen = 3 * T_RCVMAX;
	int		 fd = t_req_peer();

	len = t_request(buf, 7, "");
	sp_frame_put(buf, 1, 4 + blen);
	t_write(fd, buf, len);
	memset(body, ' ', sizeof body);
	for (i = 0; i < blen; i += sizeof body)
		t_write(fd, body, sizeof body);
	t_until_requests(1);
	ck_assert_uint_eq(sp_request_over(env.reqs[0]), 4 + blen);
	got = sp_request_body(env.reqs[0], &len);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(len, 0);
	t_reply(0, "too large");
	t_expect_reply(fd, 7, "too large");
	len = t_request(buf, 8, "next");
	t_write(fd, buf, len);
	t_until_requests(2);
	t_reply(1, "served");
	t_expect_reply(fd, 8, "served");
	close(fd);
}
END_TEST

/* A subscriber that reads nothing loses events, never part of one. */
START_TEST(test_pub_drops_whole_events)
{
	struct sp_server	*pub;
	unsigned char		 head[SP_HEADER_LEN], frame[SP_FRAME_IPC];
	char			 url[160], *cause = NULL, *event;
	uint64_t		 len;
	size_t			 size = 100 * 1024;
	int			 fd, i, n = 0;

	snprintf(url, sizeof url, "ipc://%s/pub.sock", env.dir);
	pub = sp_server_pub(env.base, url, &cause);
	ck_assert_msg(pub != NULL, "%s", cause);
	fd = t_connect(url);
	sp_header(SP_PROTO_SUB, head);
	t_write(fd, head, sizeof head);
	t_read(fd, head, sizeof head);
	ck_assert_int_eq(sp_header_proto(head), SP_PROTO_PUB);
	ck_assert(sp_server_has_peers(pub));
	event = malloc(size);
	for (i = 0; i < 200; i++) {
		memset(event, 'a' + i % 26, size);
		sp_server_publish(pub, event, size);
		t_turn();
	}
	/* every event read is whole and in order; some were dropped */
	for (;;) {
		struct pollfd	 pfd = { fd, POLLIN, 0 };

		t_turn();
		if (poll(&pfd, 1, 100) != 1)
			break;
		t_read(fd, frame, sizeof frame);
		ck_assert_int_eq(sp_frame_get(frame, 1, &len), 0);
		ck_assert_uint_eq(len, size);
		t_read(fd, event, size);
		ck_assert_int_eq(event[0], event[size - 1]);
		n++;
	}
	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, 200);
	free(event);
	close(fd);
	sp_server_free(pub);
	unlink(url + 6);
}
END_TEST

static Suite *
sp_server_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("sp_server");
	tc = tcase_create("rep");
	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_add_test(tc, test_request_in_single_bytes);
	tcase_add_test(tc, test_replies_in_any_order);
	tcase_add_test(tc, test_resent_request_same_route);
	tcase_add_test(tc, test_reply_after_hang_up);
	tcase_add_loop_test(tc, test_bad_bytes_close_one_connection, 0, 4);
	tcase_add_test(tc, test_request_over_rcvmax);
	tcase_add_test(tc, test_pub_drops_whole_events);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	signal(SIGPIPE, SIG_IGN);	/* as aiojobsd: a lost peer is EPIPE */
	sr = srunner_create(sp_server_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
