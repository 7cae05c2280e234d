/* Unit tests of common/duration.c: durations as people write them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "duration.h"

static const struct {
	const char	*text;
	int64_t		 ms;
} good[] = {
	{ "250ms", 250 },
	{ "2s", 2000 },
	{ "1m", 60000 },
	{ "1h", 3600000 },
	{ "1d", 86400000 },
	{ "1.5s", 1500 },
	{ "0.5m", 30000 },
	{ "3", 3000 },
	{ "0", 0 },
	{ "0ms", 0 },
	{ "1.5", 1500 },
	{ "100000h", 360000000000LL },
};

static const char *bad[] = {
	"", "abc", "-1s", "-0", "5x", "1e400", "+3s", "+3", "s", "ms", "1 s",
	"1s ", "2sec", "1ms5", "inf", "nan", "1e300h",
};

START_TEST(test_duration_good)
{
	int64_t	 ms = -1;
	char	*cause = NULL;

	ck_assert_msg(duration_parse(good[_i].text, &ms, &cause) == 0,
	    "\"%s\" refused: %s", good[_i].text, cause);
	ck_assert_int_eq(ms, good[_i].ms);
	ck_assert_ptr_null(cause);
}
END_TEST

START_TEST(test_duration_bad)
{
	int64_t	 ms = 77;
	char	*cause = NULL;
	char	 quoted[64];

	ck_assert_msg(duration_parse(bad[_i], &ms, &cause) == -1,
	    "\"%s\" accepted as %lld ms", bad[_i], (long long)ms);
	ck_assert_int_eq(ms, 77);
	ck_assert_ptr_nonnull(cause);
	snprintf(quoted, sizeof quoted, "'%s'", bad[_i]);
	ck_assert_msg(strstr(cause, quoted) != NULL,
	    "cause \"%s\" does not mention %s", cause, quoted);
	free(cause);
}
END_TEST

/*
 * strtod alone skips leading white space and reads signs and hexadecimal:
 * " 3s", " +3s" and "0x10s" must be refused like "+3s".
 */
static const char *bad_strtod[] = { " +3s", " 3s", "0x10s" };

START_TEST(test_duration_bad_strtod)
{
	int64_t	 ms = 77;

	ck_assert_msg(duration_parse(bad_strtod[_i], &ms, NULL) == -1,
	    "\"%s\" accepted as %lld ms", bad_strtod[_i], (long long)ms);
}
END_TEST

START_TEST(test_duration_bad_no_cause)
{
	int64_t	 ms;

	ck_assert_int_eq(duration_parse("5x", &ms, NULL), -1);
}
END_TEST

START_TEST(test_duration_rounds)
{
	int64_t	 ms;

	ck_assert_int_eq(duration_parse("0.0004s", &ms, NULL), 0);
	ck_assert_int_eq(ms, 0);
	ck_assert_int_eq(duration_parse("1.6ms", &ms, NULL), 0);
	ck_assert_int_eq(ms, 2);
}
END_TEST

static Suite *
duration_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("duration");
	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_duration_good, 0,
	    sizeof good / sizeof good[0]);
	tcase_add_loop_test(tc, test_duration_bad, 0,
	    sizeof bad / sizeof bad[0]);
	tcase_add_loop_test(tc, test_duration_bad_strtod, 0,
	    sizeof bad_strtod / sizeof bad_strtod[0]);
	tcase_add_test(tc, test_duration_bad_no_cause);
	tcase_add_test(tc, test_duration_rounds);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(duration_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
