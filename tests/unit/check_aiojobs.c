/*
 * Unit tests of libaiojobs without a daemon: error codes and their
 * names, URLs and token files refused, the keys of submits (kept for a
 * resend of a submit that got no reply), and timeouts with nobody there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "aiojobs.h"
#include "check_main.h"

#define NOBODY	"ipc:///nonexistent/aiojobsd.sock"

static const char *names[] = {
	"bad_request", "unknown_op", "unknown_kind", "not_found",
	"queue_full", "shutting_down", "too_large", "unauthorized",
	"forbidden", "conflict", "internal", "not_durable",
};

START_TEST(test_code_names)
{
	int	 code;

	code = aiojobs_code_from_name(names[_i]);
	ck_assert_int_eq(code, AIOJOBS_E_BAD_REQUEST + _i);
	ck_assert_str_eq(aiojobs_code_name(code), names[_i]);
	ck_assert(strcmp(aiojobs_strerror(code), "unknown error code") != 0);
}
END_TEST

START_TEST(test_code_other)
{
	ck_assert_int_eq(aiojobs_code_from_name("no_such_code"),
	    AIOJOBS_E_OTHER);
	ck_assert_int_eq(aiojobs_code_from_name("timeout"), AIOJOBS_E_OTHER);
	ck_assert_str_eq(aiojobs_code_name(AIOJOBS_E_TIMEOUT), "timeout");
	ck_assert_str_eq(aiojobs_code_name(12345), "unknown");
	ck_assert_str_eq(aiojobs_strerror(12345), "unknown error code");
}
END_TEST

START_TEST(test_bad_url)
{
	struct aiojobs	*h;
	char		 url[300];

	ck_assert_int_eq(aiojobs_open(&h, "bogus://x", NULL, NULL),
	    AIOJOBS_E_INVALID);
	ck_assert_int_eq(aiojobs_errcode(h), AIOJOBS_E_INVALID);
	ck_assert(strncmp(aiojobs_errmsg(h), "invalid URL", 11) == 0);
	aiojobs_close(h);

	snprintf(url, sizeof url, "ipc:///%0200d", 0);
	ck_assert_int_eq(aiojobs_open(&h, url, NULL, NULL),
	    AIOJOBS_E_INVALID);
	ck_assert_ptr_nonnull(strstr(aiojobs_errmsg(h), "too long"));
	aiojobs_close(h);
}
END_TEST

START_TEST(test_token_file)
{
	struct aiojobs	*h;
	char		 path[] = "/tmp/aj-token-XXXXXX";
	int		 fd;

	ck_assert_int_eq(aiojobs_open(&h, NOBODY, NULL,
	    "/nonexistent/token"), AIOJOBS_E_INVALID);
	ck_assert(strncmp(aiojobs_errmsg(h), "token file /nonexistent/token:",
	    30) == 0);
	aiojobs_close(h);

	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, "\n", 1), 1);
	close(fd);
	ck_assert_int_eq(aiojobs_open(&h, NOBODY, NULL, path),
	    AIOJOBS_E_INVALID);
	ck_assert_ptr_nonnull(strstr(aiojobs_errmsg(h), "is empty"));
	aiojobs_close(h);
	unlink(path);

	ck_assert_int_eq(aiojobs_open(&h, NOBODY, "t", "/x"),
	    AIOJOBS_E_INVALID);
	aiojobs_close(h);
}
END_TEST

START_TEST(test_key_new)
{
	char	 a[AIOJOBS_KEY_LEN + 1], b[AIOJOBS_KEY_LEN + 1];

	aiojobs_key_new(a);
	aiojobs_key_new(b);
	ck_assert_uint_eq(strlen(a), AIOJOBS_KEY_LEN);
	ck_assert_uint_eq(strspn(a, "0123456789abcdef"), AIOJOBS_KEY_LEN);
	ck_assert_str_ne(a, b);
}
END_TEST

/* Submit spec to nobody; the key it used (a copy). */
static char *
submit_nobody(struct aiojobs *h, const char *spec, const char *key)
{
	int64_t	 id;
	char	*reply;

	ck_assert_int_eq(aiojobs_submit(h, spec, key, 1000, &id, &reply),
	    AIOJOBS_E_UNREACHABLE);
	ck_assert_ptr_null(reply);
	ck_assert_int_eq(id, -1);
	return (strdup(aiojobs_last_key(h)));
}

START_TEST(test_submit_keys)
{
	struct aiojobs	*h;
	const char	*spec = "{\"kind\":\"sleep\",\"args\":{\"ms\":1}}";
	char		*k1, *k2, *k3;

	ck_assert_int_eq(aiojobs_open(&h, NOBODY, NULL, NULL), AIOJOBS_OK);
	k1 = submit_nobody(h, spec, NULL);
	k2 = submit_nobody(h, spec, NULL);
	ck_assert_str_eq(k1, k2);	/* a resend: the same key */
	free(k2);
	k2 = submit_nobody(h, "{\"kind\":\"sleep\",\"args\":{\"ms\":2}}",
	    NULL);
	ck_assert_str_ne(k1, k2);	/* another spec: a new key */
	k3 = submit_nobody(h, spec, "mine");
	ck_assert_str_eq(k3, "mine");
	free(k3);
	k3 = submit_nobody(h, "{\"kind\":\"sleep\",\"key\":\"own\"}", NULL);
	ck_assert_str_eq(k3, "own");
	free(k1);
	free(k2);
	free(k3);
	ck_assert_int_eq(aiojobs_submit(h, "[1]", NULL, 1000, NULL, NULL),
	    AIOJOBS_E_INVALID);
	ck_assert_int_eq(aiojobs_submit(h, "not json", NULL, 1000, NULL,
	    NULL), AIOJOBS_E_INVALID);
	aiojobs_close(h);
}
END_TEST

START_TEST(test_nobody_there)
{
	struct aiojobs		*h;
	struct aiojobs_events	*e;
	char			*reply, *topic, *json;

	ck_assert_int_eq(aiojobs_connect(&h, NOBODY, NULL, 1000),
	    AIOJOBS_E_UNREACHABLE);
	ck_assert_int_eq(aiojobs_request(h, "{\"op\":\"ping\"}", 1000,
	    &reply), AIOJOBS_E_UNREACHABLE);
	ck_assert_ptr_null(reply);
	aiojobs_close(h);

	ck_assert_int_eq(aiojobs_events_open(&e, "bogus://x", NULL),
	    AIOJOBS_E_INVALID);
	aiojobs_events_close(e);
	ck_assert_int_eq(aiojobs_events_open(&e,
	    "ipc:///nonexistent/events.sock", "job."), AIOJOBS_OK);
	ck_assert_int_ge(aiojobs_events_fd(e), 0);
	ck_assert_int_eq(aiojobs_events_recv(e, 50, &topic, &json),
	    AIOJOBS_E_TIMEOUT);
	ck_assert_ptr_null(topic);
	aiojobs_events_close(e);
}
END_TEST

static Suite *
aiojobs_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("aiojobs");
	tc = tcase_create("client");
	tcase_add_loop_test(tc, test_code_names, 0,
	    sizeof names / sizeof names[0]);
	tcase_add_test(tc, test_code_other);
	tcase_add_test(tc, test_bad_url);
	tcase_add_test(tc, test_token_file);
	tcase_add_test(tc, test_key_new);
	tcase_add_test(tc, test_submit_keys);
	tcase_add_test(tc, test_nobody_there);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (check_main(aiojobs_suite()));
}
