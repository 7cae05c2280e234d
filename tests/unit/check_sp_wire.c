/* Unit tests of common/sp_wire.c: SP headers, frames and routes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "sp_wire.h"

START_TEST(test_header_round_trip)
{
	static const unsigned int protos[] = { SP_PROTO_PUB, SP_PROTO_SUB,
	    SP_PROTO_REQ, SP_PROTO_REP, 0x1234 };
	static const unsigned char req[SP_HEADER_LEN] = { 0x00, 'S', 'P',
	    0x00, 0x00, 0x30, 0x00, 0x00 };
	unsigned char	 head[SP_HEADER_LEN];
	size_t		 i;

	for (i = 0; i < sizeof protos / sizeof protos[0]; i++) {
		sp_header(protos[i], head);
		ck_assert_int_eq(sp_header_proto(head), (int)protos[i]);
	}
	sp_header(SP_PROTO_REQ, head);
	ck_assert_mem_eq(head, req, sizeof req);
}
END_TEST

/* Each byte that must be fixed, wrong in turn. */
START_TEST(test_header_not_sp)
{
	static const int fixed[] = { 0, 1, 2, 3, 6, 7 };
	unsigned char	 head[SP_HEADER_LEN];

	sp_header(SP_PROTO_REQ, head);
	head[fixed[_i]] ^= 0x40;
	ck_assert_int_eq(sp_header_proto(head), -1);
}
END_TEST

START_TEST(test_frame_round_trip)
{
	static const uint64_t lens[] = { 0, 1, 255, 256, 65536,
	    0x0102030405060708ULL, UINT64_MAX };
	unsigned char	 frame[SP_FRAME_MAX];
	uint64_t	 len;
	size_t		 i;
	int		 ipc;

	for (ipc = 0; ipc <= 1; ipc++) {
		ck_assert_uint_eq(sp_frame_len(ipc), ipc ? 9 : 8);
		for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
			sp_frame_put(frame, ipc, lens[i]);
			ck_assert_int_eq(sp_frame_get(frame, ipc, &len), 0);
			ck_assert_uint_eq(len, lens[i]);
		}
	}
	/* big-endian, after the type byte on ipc */
	sp_frame_put(frame, 1, 0x0102);
	ck_assert_int_eq(frame[0], SP_IPC_MSG);
	ck_assert_int_eq(frame[7], 0x01);
	ck_assert_int_eq(frame[8], 0x02);
}
END_TEST

START_TEST(test_frame_bad_ipc_type)
{
	unsigned char	 frame[SP_FRAME_MAX];
	uint64_t	 len;

	sp_frame_put(frame, 1, 10);
	frame[0] = (unsigned char)_i;
	ck_assert_int_eq(sp_frame_get(frame, 1, &len),
	    _i == SP_IPC_MSG ? 0 : -1);
}
END_TEST

START_TEST(test_route)
{
	unsigned char	 msg[64];

	memset(msg, 0, sizeof msg);
	/* a request id alone, then the body */
	msg[0] = 0x80;
	ck_assert_int_eq(sp_route_len(msg, 10), 4);
	/* two devices crossed, then the id */
	msg[0] = 0x00;
	msg[8] = 0x81;
	ck_assert_int_eq(sp_route_len(msg, 12), 12);
	/* the message ends before the id */
	ck_assert_int_eq(sp_route_len(msg, 11), SP_ROUTE_GARBAGE);
	ck_assert_int_eq(sp_route_len(msg, 0), SP_ROUTE_GARBAGE);
	ck_assert_int_eq(sp_route_len(msg, 3), SP_ROUTE_GARBAGE);
}
END_TEST

START_TEST(test_route_hops)
{
	unsigned char	 msg[64];

	memset(msg, 0, sizeof msg);
	msg[4 * (SP_HOPS_MAX - 1)] = 0x80;
	ck_assert_int_eq(sp_route_len(msg, sizeof msg), 4 * SP_HOPS_MAX);
	msg[4 * (SP_HOPS_MAX - 1)] = 0x00;
	msg[4 * SP_HOPS_MAX] = 0x80;
	ck_assert_int_eq(sp_route_len(msg, sizeof msg), SP_ROUTE_TOO_LONG);
}
END_TEST

static Suite *
sp_wire_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("sp_wire");
	tc = tcase_create("wire");
	tcase_add_test(tc, test_header_round_trip);
	tcase_add_loop_test(tc, test_header_not_sp, 0, 6);
	tcase_add_test(tc, test_frame_round_trip);
	tcase_add_loop_test(tc, test_frame_bad_ipc_type, 0, 256);
	tcase_add_test(tc, test_route);
	tcase_add_test(tc, test_route_hops);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(sp_wire_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
