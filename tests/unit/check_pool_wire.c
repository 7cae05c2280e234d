/*
 * Unit tests of daemon/pool_wire.c: the framing of the pool's pipes,
 * encoded and decoded, whole, split across reads, and broken.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>

#include "pool_wire.h"

/* A header as the worker writes it, for a body of len bytes. */
static void
put_hdr(struct evbuffer *b, enum pool_msg type, int flags, size_t len,
    uint64_t us)
{
	struct pool_wire_hdr	 h;

	pool_wire_hdr_set(&h, type, flags, len, us);
	ck_assert_int_eq(evbuffer_add(b, &h, sizeof h), 0);
}

START_TEST(test_header_layout)
{
	struct pool_wire_hdr	 h;
	unsigned char		 raw[POOL_WIRE_HDR];
	uint32_t		 u32;
	uint16_t		 u16;

	ck_assert_uint_eq(POOL_WIRE_HDR, 12);
	pool_wire_hdr_set(&h, POOL_MSG_ERROR, POOL_F_RETIRE, 77, 1234);
	memcpy(raw, &h, sizeof raw);
	memcpy(&u32, raw, 4);
	ck_assert_uint_eq(u32, 77);
	memcpy(&u16, raw + 4, 2);
	ck_assert_uint_eq(u16, POOL_MSG_ERROR);
	memcpy(&u16, raw + 6, 2);
	ck_assert_uint_eq(u16, POOL_F_RETIRE);
	memcpy(&u32, raw + 8, 4);
	ck_assert_uint_eq(u32, 1234);
	/* a call longer than 71 minutes still says it was long */
	pool_wire_hdr_set(&h, POOL_MSG_OUTPUT, 0, 1, (uint64_t)UINT32_MAX + 5);
	ck_assert_uint_eq(h.us, UINT32_MAX);
}
END_TEST

START_TEST(test_round_trip)
{
	static const char	 args[] = "{\"fn\":\"echo\",\"input\":1}";
	struct evbuffer		*b = evbuffer_new();
	struct pool_wire_hdr	 h;
	const char		*body;

	ck_assert_int_eq(pool_wire_add(b, POOL_MSG_JOB, 0, args,
	    strlen(args)), 0);
	ck_assert_int_eq(pool_wire_add(b, POOL_MSG_JOB, 0, "", 0), 0);
	ck_assert_uint_eq(evbuffer_get_length(b),
	    2 * POOL_WIRE_HDR + strlen(args));

	ck_assert_int_eq(pool_wire_get(b, &h, &body), 1);
	ck_assert_uint_eq(h.type, POOL_MSG_JOB);
	ck_assert_uint_eq(h.flags, 0);
	ck_assert_uint_eq(h.us, 0);
	ck_assert_uint_eq(h.len, strlen(args));
	ck_assert_mem_eq(body, args, h.len);
	evbuffer_drain(b, h.len);

	/* an empty body is a whole message too */
	ck_assert_int_eq(pool_wire_get(b, &h, &body), 1);
	ck_assert_uint_eq(h.len, 0);
	evbuffer_drain(b, h.len);
	ck_assert_int_eq(pool_wire_get(b, &h, &body), 0);
	evbuffer_free(b);
}
END_TEST

/* A reply with its flags and time, as the worker sends it. */
START_TEST(test_reply_fields)
{
	struct evbuffer		*b = evbuffer_new();
	struct pool_wire_hdr	 h;
	const char		*body;

	put_hdr(b, POOL_MSG_ERROR, POOL_F_RETIRE, sizeof "fn_error boom", 987);
	evbuffer_add(b, "fn_error boom", sizeof "fn_error boom");
	ck_assert_int_eq(pool_wire_get(b, &h, &body), 1);
	ck_assert_uint_eq(h.type, POOL_MSG_ERROR);
	ck_assert_uint_eq(h.flags, POOL_F_RETIRE);
	ck_assert_uint_eq(h.us, 987);
	ck_assert_str_eq(body, "fn_error boom");
	evbuffer_free(b);
}
END_TEST

/* Fed a byte at a time, a message is there only with its last byte. */
START_TEST(test_partial)
{
	static const char	 out[] = "{\"a\":[1,2,3]}";
	struct evbuffer		*whole = evbuffer_new(), *b = evbuffer_new();
	struct pool_wire_hdr	 h;
	const char		*body;
	unsigned char		*raw;
	size_t			 i, n;

	put_hdr(whole, POOL_MSG_OUTPUT, 0, sizeof out, 5);
	evbuffer_add(whole, out, sizeof out);
	put_hdr(whole, POOL_MSG_HELLO, 0, sizeof "42", 0);
	evbuffer_add(whole, "42", sizeof "42");
	n = evbuffer_get_length(whole);
	raw = evbuffer_pullup(whole, -1);

	for (i = 0; i < POOL_WIRE_HDR + sizeof out; i++) {
		ck_assert_int_eq(pool_wire_get(b, &h, &body), 0);
		/* nothing is taken */
		ck_assert_uint_eq(evbuffer_get_length(b), i);
		evbuffer_add(b, raw + i, 1);
	}
	ck_assert_int_eq(pool_wire_get(b, &h, &body), 1);
	ck_assert_uint_eq(h.type, POOL_MSG_OUTPUT);
	ck_assert_str_eq(body, out);
	evbuffer_drain(b, h.len);

	/* the rest in two pieces: the header split in the middle */
	evbuffer_add(b, raw + i, 5);
	ck_assert_int_eq(pool_wire_get(b, &h, &body), 0);
	evbuffer_add(b, raw + i + 5, n - i - 5);
	ck_assert_int_eq(pool_wire_get(b, &h, &body), 1);
	ck_assert_uint_eq(h.type, POOL_MSG_HELLO);
	ck_assert_str_eq(body, "42");
	evbuffer_free(b);
	evbuffer_free(whole);
}
END_TEST

/* The worker's side: flat memory, the header of what is not all there. */
START_TEST(test_next_flat)
{
	unsigned char		 buf[64];
	struct pool_wire_hdr	 h;

	pool_wire_hdr_set(&h, POOL_MSG_JOB, 0, 10, 0);
	memcpy(buf, &h, sizeof h);
	memset(buf + sizeof h, 'x', 10);
	ck_assert_int_eq(pool_wire_next(buf, 3, &h), 0);
	ck_assert_uint_eq(h.len, 0);
	ck_assert_int_eq(pool_wire_next(buf, POOL_WIRE_HDR + 9, &h), 0);
	ck_assert_uint_eq(h.len, 10);	/* what to make room for */
	ck_assert_int_eq(pool_wire_next(buf, POOL_WIRE_HDR + 10, &h), 1);
	ck_assert_int_eq(pool_wire_next(buf, sizeof buf, &h), 1);
}
END_TEST

/* A length beyond POOL_WIRE_MAX is a broken stream, not a long wait. */
START_TEST(test_oversized)
{
	static const uint32_t	 lens[] = { POOL_WIRE_MAX + 1, UINT32_MAX };
	struct evbuffer		*b = evbuffer_new();
	struct pool_wire_hdr	 h;
	const char		*body;
	unsigned char		 raw[POOL_WIRE_HDR];

	pool_wire_hdr_set(&h, POOL_MSG_OUTPUT, 0, 0, 0);
	h.len = lens[_i];
	memcpy(raw, &h, sizeof raw);
	evbuffer_add(b, raw, sizeof raw);
	ck_assert_int_eq(pool_wire_get(b, &h, &body), -1);
	ck_assert_ptr_null(body);
	ck_assert_uint_eq(evbuffer_get_length(b), POOL_WIRE_HDR);
	ck_assert_int_eq(pool_wire_next(raw, sizeof raw, &h), -1);

	/* and is refused on the way out, before the body is read */
	ck_assert_int_eq(pool_wire_add(b, POOL_MSG_JOB, 0, "",
	    (size_t)POOL_WIRE_MAX + 1), -1);
	ck_assert_uint_eq(evbuffer_get_length(b), POOL_WIRE_HDR);
	evbuffer_free(b);
}
END_TEST

/* The limit itself is a message. */
START_TEST(test_max_accepted)
{
	struct pool_wire_hdr	 h;
	unsigned char		 raw[POOL_WIRE_HDR];

	pool_wire_hdr_set(&h, POOL_MSG_JOB, 0, POOL_WIRE_MAX, 0);
	memcpy(raw, &h, sizeof raw);
	ck_assert_int_eq(pool_wire_next(raw, sizeof raw, &h), 0);
	ck_assert_uint_eq(h.len, POOL_WIRE_MAX);
}
END_TEST

/* Through a non-blocking pipe: out, in partial reads, and EOF. */
START_TEST(test_pipe)
{
	struct evbuffer		*out = evbuffer_new(), *in = evbuffer_new();
	struct pool_wire_hdr	 h;
	const char		*body;
	char			*big;
	size_t			 len = 200000;	/* more than a pipe holds */
	int			 fds[2], r;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ne(fcntl(fds[0], F_SETFL, O_NONBLOCK), -1);
	ck_assert_int_ne(fcntl(fds[1], F_SETFL, O_NONBLOCK), -1);
	big = malloc(len);
	memset(big, 'y', len);
	ck_assert_int_eq(pool_wire_add(out, POOL_MSG_JOB, 0, big, len), 0);

	/* nothing to read yet is not EOF */
	ck_assert_int_eq(pool_wire_fill(in, fds[0]), 0);
	ck_assert_int_eq(pool_wire_get(in, &h, &body), 0);
	while ((r = pool_wire_flush(out, fds[1])) == 1) {
		ck_assert_int_eq(pool_wire_fill(in, fds[0]), 0);
		ck_assert_int_eq(pool_wire_get(in, &h, &body), 0);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(pool_wire_fill(in, fds[0]), 0);
	ck_assert_int_eq(pool_wire_get(in, &h, &body), 1);
	ck_assert_uint_eq(h.len, len);
	ck_assert_mem_eq(body, big, len);
	evbuffer_drain(in, h.len);

	close(fds[1]);
	ck_assert_int_eq(pool_wire_fill(in, fds[0]), -1);
	close(fds[0]);
	free(big);
	evbuffer_free(in);
	evbuffer_free(out);
}
END_TEST

/* Writing to a pipe nobody reads is an error, not a wait. */
START_TEST(test_flush_broken_pipe)
{
	struct evbuffer	*out = evbuffer_new();
	int		 fds[2];

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(fds), 0);
	close(fds[0]);
	pool_wire_add(out, POOL_MSG_JOB, 0, "{}", 2);
	ck_assert_int_eq(pool_wire_flush(out, fds[1]), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(fds[1]);
	evbuffer_free(out);
}
END_TEST

static Suite *
pool_wire_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("pool_wire");
	tc = tcase_create("wire");
	tcase_add_test(tc, test_header_layout);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_reply_fields);
	tcase_add_test(tc, test_partial);
	tcase_add_test(tc, test_next_flat);
	tcase_add_loop_test(tc, test_oversized, 0, 2);
	tcase_add_test(tc, test_max_accepted);
	tcase_add_test(tc, test_pipe);
	tcase_add_test(tc, test_flush_broken_pipe);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(pool_wire_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
