/*
 * Unit tests of common/base64.c: the RFC 4648 test vectors, every length
 * round trip, and text that is not strict padded base64 refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "base64.h"

static const struct {
	const char	*bytes;
	const char	*text;
} vectors[] = {		/* RFC 4648, section 10 */
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static const char *bad[] = {
	"Zg=", "Zg", "Z===", "Zm9v\n", " Zm9v", "Zm 9", "Zm9v====", "=Zm9",
	"Zm=v", "Zm9-", "Zm9_", "Zm9\xc3\xa9",
};

START_TEST(test_base64_vectors)
{
	char	 out[32], *dec;
	size_t	 n = strlen(vectors[_i].bytes), declen;

	ck_assert_uint_eq(base64_encoded_len(n), strlen(vectors[_i].text));
	base64_encode(out, vectors[_i].bytes, n);
	ck_assert_str_eq(out, vectors[_i].text);
	ck_assert_int_eq(base64_decode(vectors[_i].text,
	    strlen(vectors[_i].text), &dec, &declen), 0);
	ck_assert_uint_eq(declen, n);
	ck_assert_mem_eq(dec, vectors[_i].bytes, n);
	free(dec);
}
END_TEST

/* Every byte value, at every length up to 300: what goes in comes out. */
START_TEST(test_base64_round_trip)
{
	unsigned char	 in[300];
	char		 text[401], *dec;
	size_t		 len, i, declen;

	for (i = 0; i < sizeof in; i++)
		in[i] = (unsigned char)(i * 7 + 3);
	for (len = 0; len <= sizeof in; len++) {
		base64_encode(text, in, len);
		ck_assert_int_eq(base64_decode(text, strlen(text), &dec,
		    &declen), 0);
		ck_assert_uint_eq(declen, len);
		ck_assert_mem_eq(dec, in, len);
		free(dec);
	}
}
END_TEST

START_TEST(test_base64_bad)
{
	char	*dec = NULL;
	size_t	 declen = 0;

	ck_assert_msg(base64_decode(bad[_i], strlen(bad[_i]), &dec,
	    &declen) == -1, "\"%s\" taken", bad[_i]);
	ck_assert_ptr_null(dec);
}
END_TEST

static Suite *
base64_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("base64");
	tc = tcase_create("coder");
	tcase_add_loop_test(tc, test_base64_vectors, 0,
	    sizeof vectors / sizeof vectors[0]);
	tcase_add_test(tc, test_base64_round_trip);
	tcase_add_loop_test(tc, test_base64_bad, 0, sizeof bad / sizeof bad[0]);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(base64_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
