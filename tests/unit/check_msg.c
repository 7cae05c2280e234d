/*
 * Unit tests of common/msg.c, the protocol module, through its public API:
 * parsing messages, decoding requests and job specs, encoding specs, building
 * replies and reading them back.
 */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "msg.h"

#define ALL_FIELDS	0x3fff	/* every MSG_F_* bit */

/* Parse text that must be a JSON object. */
static struct msg_in *
parse_ok(const char *text)
{
	struct msg_error	 err;
	struct msg_in		*in;

	memset(&err, 0, sizeof err);
	in = msg_in_parse(text, strlen(text), &err);
	ck_assert_msg(in != NULL, "parse of %s failed: %s", text, err.message);
	return (in);
}

/* Parse len bytes that must be refused as bad_request. */
static void
parse_fails(const char *buf, size_t len)
{
	struct msg_error	 err;
	struct msg_in		*in;

	memset(&err, 0, sizeof err);
	in = msg_in_parse(buf, len, &err);
	ck_assert_ptr_null(in);
	ck_assert_str_eq(err.code, MSG_E_BAD_REQUEST);
	ck_assert_int_gt(strlen(err.message), 0);
}

/* Check an error is bad_request and names a field, quoted as 'field'. */
static void
assert_names_field(const struct msg_error *err, const char *field)
{
	char	 quoted[128];

	snprintf(quoted, sizeof quoted, "'%s'", field);
	ck_assert_str_eq(err->code, MSG_E_BAD_REQUEST);
	ck_assert_msg(strstr(err->message, quoted) != NULL,
	    "message \"%s\" does not name %s", err->message, quoted);
}

/* Decode a request; returns what msg_request_decode returned. */
static int
decode(const char *text, unsigned int accept, unsigned int need,
    struct msg_request *req, struct msg_error *err)
{
	struct msg_in	*in;
	int		 r;

	memset(err, 0, sizeof *err);
	in = parse_ok(text);
	r = msg_request_decode(in, accept, need, req, err);
	msg_in_free(in);
	return (r);
}

/* A request that must be refused, with the error naming field. */
static void
decode_fails(const char *text, unsigned int accept, unsigned int need,
    const char *field)
{
	struct msg_request	 req;
	struct msg_error	 err;

	ck_assert_msg(decode(text, accept, need, &req, &err) == -1,
	    "%s was accepted", text);
	assert_names_field(&err, field);
	msg_request_clear(&req);
}

/* A spec that must decode. */
static void
spec_ok(const char *text, struct msg_spec *s)
{
	struct msg_error	 err;

	memset(&err, 0, sizeof err);
	ck_assert_msg(msg_spec_parse(text, s, &err) == 0,
	    "spec %s refused: %s", text, err.message);
}

/* A spec that must be refused, with the error naming field. */
static void
spec_fails(const char *text, const char *field)
{
	struct msg_spec		 s;
	struct msg_error	 err;

	memset(&err, 0, sizeof err);
	ck_assert_msg(msg_spec_parse(text, &s, &err) == -1,
	    "spec %s was accepted", text);
	assert_names_field(&err, field);
	msg_spec_clear(&s);
}

/* Encode the spec given as text, without or with its key. */
static char *
spec_text(const char *text, int with_key)
{
	struct msg_spec	 s;
	char		*out;

	spec_ok(text, &s);
	out = msg_spec_encode(&s, with_key);
	msg_spec_clear(&s);
	return (out);
}

/* msg_in_parse */

START_TEST(test_parse_object)
{
	struct msg_in	*in;

	in = parse_ok("{\"op\":\"ping\"}");
	ck_assert_int_eq(msg_in_has(in, "op"), 1);
	msg_in_free(in);
}
END_TEST

START_TEST(test_parse_empty)
{
	parse_fails("", 0);
	parse_fails("\n", 1);
	parse_fails("", 1);
}
END_TEST

START_TEST(test_parse_not_json)
{
	parse_fails("hello", 5);
	parse_fails("{\"op\":", 6);
	parse_fails("{'op':'ping'}", 13);
}
END_TEST

START_TEST(test_parse_trailing_garbage)
{
	parse_fails("{} x", 4);
	parse_fails("{}{}", 4);
	parse_fails("{\"op\":\"ping\"} ]", 15);
}
END_TEST

static const char *not_objects[] = {
	"[]", "[{\"op\":\"ping\"}]", "42", "-1.5", "\"op\"", "true", "null",
};

START_TEST(test_parse_not_object)
{
	parse_fails(not_objects[_i], strlen(not_objects[_i]));
}
END_TEST

START_TEST(test_parse_trailing_nul)
{
	struct msg_in	*in;

	/* 14 bytes: the object and its NUL */
	in = msg_in_parse("{\"op\":\"ping\"}", 14, NULL);
	ck_assert_ptr_nonnull(in);
	msg_in_free(in);
}
END_TEST

START_TEST(test_parse_trailing_newline)
{
	struct msg_in	*in;

	in = msg_in_parse("{\"op\":\"ping\"}\n", 14, NULL);
	ck_assert_ptr_nonnull(in);
	msg_in_free(in);
}
END_TEST

START_TEST(test_parse_newline_and_nul)
{
	struct msg_in	*in;

	in = msg_in_parse("{\"op\":\"ping\"}\n", 15, NULL);	/* "\n\0" */
	ck_assert_ptr_nonnull(in);
	msg_in_free(in);
}
END_TEST

START_TEST(test_parse_whitespace)
{
	struct msg_in	*in;

	in = parse_ok(" \t{ \"op\" : \"ping\" }\r\n ");
	msg_in_free(in);
}
END_TEST

START_TEST(test_parse_embedded_nul)
{
	static const char	 a[] = "{\"op\":\"pi\0ng\"}";
	static const char	 b[] = "{\"op\":\"ping\"}\0\0";
	static const char	 c[] = "{\"op\":\"ping\"}\0 ";

	parse_fails(a, sizeof a - 1);
	parse_fails(b, sizeof b - 1);	/* only one trailing NUL */
	parse_fails(c, sizeof c - 1);
}
END_TEST

START_TEST(test_parse_not_nul_terminated)
{
	char		 buf[32];
	struct msg_in	*in;

	memset(buf, 'x', sizeof buf);
	memcpy(buf, "{\"id\":12}", 9);	/* no NUL after the object */
	in = msg_in_parse(buf, 9, NULL);
	ck_assert_ptr_nonnull(in);
	msg_in_free(in);
}
END_TEST

/* msg_in readers */

START_TEST(test_in_readers)
{
	struct msg_in	*in;
	struct msg_error err;
	int64_t		 i;
	double		 d;
	int		 b;
	const char	*s;

	in = parse_ok("{\"i\":-7,\"d\":2.5,\"b\":true,\"s\":\"x\",\"n\":null}");
	ck_assert_int_eq(msg_in_int(in, "i", &i, &err), 1);
	ck_assert_int_eq(i, -7);
	ck_assert_int_eq(msg_in_double(in, "d", &d, &err), 1);
	ck_assert_double_eq(d, 2.5);
	ck_assert_int_eq(msg_in_bool(in, "b", &b, &err), 1);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(msg_in_string(in, "s", &s, &err), 1);
	ck_assert_str_eq(s, "x");
	ck_assert_int_eq(msg_in_int(in, "n", &i, &err), 0);
	ck_assert_int_eq(msg_in_has(in, "n"), 0);
	ck_assert_int_eq(msg_in_string(in, "missing", &s, &err), 0);
	msg_in_free(in);
}
END_TEST

START_TEST(test_in_wrong_types)
{
	struct msg_in	*in;
	struct msg_error err;
	int64_t		 i;
	int		 b;
	const char	*s;

	in = parse_ok("{\"i\":\"7\",\"f\":1.5,\"b\":1,\"s\":[]}");
	ck_assert_int_eq(msg_in_int(in, "i", &i, &err), -1);
	assert_names_field(&err, "i");
	ck_assert_int_eq(msg_in_int(in, "f", &i, &err), -1);
	assert_names_field(&err, "f");
	ck_assert_int_eq(msg_in_bool(in, "b", &b, &err), -1);
	assert_names_field(&err, "b");
	ck_assert_int_eq(msg_in_string(in, "s", &s, &err), -1);
	assert_names_field(&err, "s");
	msg_in_free(in);
}
END_TEST

START_TEST(test_in_int_limits)
{
	struct msg_in	*in;
	struct msg_error err;
	int64_t		 i;

	in = parse_ok("{\"max\":9007199254740991,\"min\":-9007199254740991,"
	    "\"big\":1e300,\"two53\":9007199254740992}");
	ck_assert_int_eq(msg_in_int(in, "max", &i, &err), 1);
	ck_assert_int_eq(i, MSG_INT_MAX);
	ck_assert_int_eq(msg_in_int(in, "min", &i, &err), 1);
	ck_assert_int_eq(i, -MSG_INT_MAX);
	ck_assert_int_eq(msg_in_int(in, "big", &i, &err), -1);
	assert_names_field(&err, "big");
	ck_assert_int_eq(msg_in_int(in, "two53", &i, &err), -1);
	msg_in_free(in);
}
END_TEST

START_TEST(test_in_arrays)
{
	struct msg_in	*in, *e;
	int64_t		 i;

	in = parse_ok("{\"a\":[3,\"s\",{\"k\":1}],\"o\":{\"x\":1,\"y\":2}}");
	ck_assert_uint_eq(msg_in_array_len(in, "a"), 3);
	ck_assert_uint_eq(msg_in_array_len(in, "o"), 0);
	ck_assert_int_eq(msg_in_array_int(in, "a", 0, &i), 0);
	ck_assert_int_eq(i, 3);
	ck_assert_int_eq(msg_in_array_int(in, "a", 1, &i), -1);
	ck_assert_str_eq(msg_in_array_string(in, "a", 1), "s");
	ck_assert_ptr_null(msg_in_array_string(in, "a", 0));
	ck_assert_ptr_nonnull(msg_in_array_at(in, "a", 2));
	ck_assert_ptr_null(msg_in_array_at(in, "a", 3));
	e = msg_in_first(msg_in_object(in, "o"));
	ck_assert_str_eq(msg_in_key(e), "x");
	ck_assert_str_eq(msg_in_key(msg_in_next(e)), "y");
	ck_assert_ptr_null(msg_in_next(msg_in_next(e)));
	msg_in_free(in);
}
END_TEST

/* msg_request_op */

START_TEST(test_op_ok)
{
	struct msg_in	*in;
	struct msg_error err;

	in = parse_ok("{\"op\":\"status\",\"id\":1}");
	ck_assert_str_eq(msg_request_op(in, &err), "status");
	msg_in_free(in);
}
END_TEST

START_TEST(test_op_missing)
{
	struct msg_in	*in;
	struct msg_error err;

	in = parse_ok("{\"id\":1}");
	ck_assert_ptr_null(msg_request_op(in, &err));
	assert_names_field(&err, "op");
	msg_in_free(in);
}
END_TEST

START_TEST(test_op_null)
{
	struct msg_in	*in;
	struct msg_error err;

	in = parse_ok("{\"op\":null}");
	ck_assert_ptr_null(msg_request_op(in, &err));
	assert_names_field(&err, "op");
	msg_in_free(in);
}
END_TEST

START_TEST(test_op_not_string)
{
	struct msg_in	*in;
	struct msg_error err;

	in = parse_ok("{\"op\":1}");
	ck_assert_ptr_null(msg_request_op(in, &err));
	assert_names_field(&err, "op");
	msg_in_free(in);
}
END_TEST

/* msg_request_decode: a field of the wrong type or value, by field. */

static const struct {
	const char	*text;
	const char	*field;
} bad_fields[] = {
	{ "{\"op\":\"x\",\"id\":\"1\"}", "id" },
	{ "{\"op\":\"x\",\"id\":0}", "id" },
	{ "{\"op\":\"x\",\"id\":-1}", "id" },
	{ "{\"op\":\"x\",\"id\":1.5}", "id" },
	{ "{\"op\":\"x\",\"id\":1e300}", "id" },
	{ "{\"op\":\"x\",\"id\":true}", "id" },
	{ "{\"op\":\"x\",\"ids\":5}", "ids" },
	{ "{\"op\":\"x\",\"ids\":{\"a\":1}}", "ids" },
	{ "{\"op\":\"x\",\"ids\":[1,0]}", "ids" },
	{ "{\"op\":\"x\",\"ids\":[-1]}", "ids" },
	{ "{\"op\":\"x\",\"ids\":[1.5]}", "ids" },
	{ "{\"op\":\"x\",\"ids\":[\"1\"]}", "ids" },
	{ "{\"op\":\"x\",\"ids\":[null]}", "ids" },
	{ "{\"op\":\"x\",\"ids\":[]}", "ids" },
	{ "{\"op\":\"x\",\"timeout_ms\":-1}", "timeout_ms" },
	{ "{\"op\":\"x\",\"timeout_ms\":1.5}", "timeout_ms" },
	{ "{\"op\":\"x\",\"timeout_ms\":\"10\"}", "timeout_ms" },
	{ "{\"op\":\"x\",\"limit\":-1}", "limit" },
	{ "{\"op\":\"x\",\"limit\":\"all\"}", "limit" },
	{ "{\"op\":\"x\",\"before_id\":0}", "before_id" },
	{ "{\"op\":\"x\",\"return_when\":\"SOMETIMES\"}", "return_when" },
	{ "{\"op\":\"x\",\"return_when\":\"all_completed\"}", "return_when" },
	{ "{\"op\":\"x\",\"return_when\":0}", "return_when" },
	{ "{\"op\":\"x\",\"state\":\"done\"}", "state" },
	{ "{\"op\":\"x\",\"state\":3}", "state" },
	{ "{\"op\":\"x\",\"queue\":\"\"}", "queue" },
	{ "{\"op\":\"x\",\"queue\":5}", "queue" },
	{ "{\"op\":\"x\",\"name\":[]}", "name" },
	{ "{\"op\":\"x\",\"action\":\"stop\"}", "action" },
	{ "{\"op\":\"x\",\"action\":true}", "action" },
	{ "{\"op\":\"x\",\"rate\":-1}", "rate" },
	{ "{\"op\":\"x\",\"rate\":-0.5}", "rate" },
	{ "{\"op\":\"x\",\"rate\":\"fast\"}", "rate" },
	{ "{\"op\":\"x\",\"group\":\"yes\"}", "group" },
	{ "{\"op\":\"x\",\"group\":1}", "group" },
	{ "{\"op\":\"x\",\"jobs\":[]}", "jobs" },
	{ "{\"op\":\"x\",\"jobs\":{\"kind\":\"sleep\"}}", "jobs" },
	{ "{\"op\":\"x\",\"job\":{\"kind\":\"sleep\",\"retries\":-1}}",
	    "retries" },
	{ "{\"op\":\"x\",\"job\":{}}", "kind" },
	{ "{\"op\":\"x\",\"token\":5}", "token" },
	{ "{\"op\":\"x\",\"token\":{}}", "token" },
};

START_TEST(test_decode_bad_field)
{
	decode_fails(bad_fields[_i].text, ALL_FIELDS, 0, bad_fields[_i].field);
}
END_TEST

START_TEST(test_decode_job_not_object)
{
	decode_fails("{\"op\":\"submit\",\"job\":\"sleep\"}", MSG_F_JOB, 0,
	    "job");
}
END_TEST

/*
 * A field the op does not take is refused, whatever its type: a field of
 * another op, or a misspelt one, would otherwise be skipped unseen.
 */
START_TEST(test_decode_unaccepted_refused)
{
	static const char *fields[] = {
		"\"id\":\"x\"", "\"ids\":0", "\"state\":1", "\"rate\":-1",
		"\"jobs\":[]", "\"job\":7", "\"group\":\"no\"", "\"limit\":-5",
		"\"return_when\":\"never\"", "\"action\":\"fly\"", NULL
	};
	char	 text[128], name[32];
	size_t	 i;

	for (i = 0; fields[i] != NULL; i++) {
		snprintf(text, sizeof text, "{\"op\":\"ping\",%s}", fields[i]);
		snprintf(name, sizeof name, "%.*s",
		    (int)strcspn(fields[i] + 1, "\""), fields[i] + 1);
		decode_fails(text, 0, 0, name);
	}
}
END_TEST

START_TEST(test_decode_unaccepted_beside_accepted)
{
	struct msg_request	 req;
	struct msg_error	 err;

	decode_fails("{\"op\":\"status\",\"id\":9,\"ids\":[9]}", MSG_F_ID,
	    MSG_F_ID, "ids");
	ck_assert_int_eq(decode("{\"op\":\"status\",\"id\":9,\"token\":\"t\","
	    "\"v\":1}", MSG_F_ID, MSG_F_ID, &req, &err), 0);
	ck_assert_int_eq(req.id, 9);
	ck_assert_int_eq(req.version, 1);
	msg_request_clear(&req);
}
END_TEST

/* The message names the field and the fields the op takes. */
START_TEST(test_decode_unknown_fields)
{
	struct msg_request	 req;
	struct msg_error	 err;

	ck_assert_int_eq(decode("{\"op\":\"wait\",\"ids\":[1],"
	    "\"timout_ms\":5}", MSG_F_IDS | MSG_F_TIMEOUT_MS, MSG_F_IDS, &req,
	    &err), -1);
	ck_assert_str_eq(err.code, MSG_E_BAD_REQUEST);
	ck_assert_str_eq(err.message, "unknown field 'timout_ms' for op "
	    "'wait' (it takes token, v, ids, timeout_ms)");
	msg_request_clear(&req);
	/* null counts as absent for a known field, not for an unknown one */
	decode_fails("{\"op\":\"ping\",\"x\":null}", ALL_FIELDS, 0, "x");
	decode_fails("{\"op\":\"ping\",\"future\":{\"a\":[1]}}", ALL_FIELDS,
	    0, "future");
}
END_TEST

/* "v": a version this side speaks, or refused naming those it speaks. */
START_TEST(test_decode_version)
{
	struct msg_request	 req;
	struct msg_error	 err;

	ck_assert_int_eq(decode("{\"op\":\"ping\"}", 0, 0, &req, &err), 0);
	ck_assert_int_eq(req.version, MSG_VERSION_MIN);
	msg_request_clear(&req);
	ck_assert_int_eq(decode("{\"op\":\"ping\",\"v\":1}", 0, 0, &req,
	    &err), 0);
	ck_assert_int_eq(req.version, 1);
	msg_request_clear(&req);
	ck_assert_int_eq(decode("{\"op\":\"ping\",\"v\":2}", 0, 0, &req,
	    &err), -1);
	ck_assert_str_eq(err.message, "field 'v': protocol version 2 is not "
	    "spoken here; this daemon speaks version 1");
	msg_request_clear(&req);
	decode_fails("{\"op\":\"ping\",\"v\":0}", 0, 0, "v");
	decode_fails("{\"op\":\"ping\",\"v\":\"1\"}", 0, 0, "v");
	decode_fails("{\"op\":\"ping\",\"v\":1.5}", 0, 0, "v");
}
END_TEST

/* The version is checked before the op: op names depend on it. */
START_TEST(test_request_op_version_first)
{
	struct msg_error	 err;
	struct msg_in		*in;

	memset(&err, 0, sizeof err);
	in = parse_ok("{\"op\":\"output\",\"v\":3}");
	ck_assert_ptr_null(msg_request_op(in, &err));
	assert_names_field(&err, "v");
	msg_in_free(in);
}
END_TEST

/* A request msg_strict_parse must refuse; the message holds needle. */
static void
strict_fails(const char *text, const char *needle)
{
	struct msg_error	 err;
	struct msg_in		*in;

	memset(&err, 0, sizeof err);
	in = msg_strict_parse(text, strlen(text), &err);
	ck_assert_msg(in == NULL, "%s was accepted", text);
	ck_assert_str_eq(err.code, MSG_E_BAD_REQUEST);
	ck_assert_msg(strstr(err.message, needle) != NULL,
	    "message \"%s\" lacks \"%s\"", err.message, needle);
}

/* A request msg_strict_parse must take. */
static struct msg_in *
strict_ok(const char *text)
{
	struct msg_error	 err;
	struct msg_in		*in;

	memset(&err, 0, sizeof err);
	in = msg_strict_parse(text, strlen(text), &err);
	ck_assert_msg(in != NULL, "%s refused: %s", text, err.message);
	return (in);
}

/* \u0000 anywhere, which cJSON would cut the string at, names its field. */
START_TEST(test_strict_nul)
{
	strict_fails("{\"op\":\"ping\\u0000x\"}", "field 'op' holds U+0000");
	strict_fails("{\"op\":\"submit\",\"job\":{\"kind\":\"exec\",\"args\":"
	    "{\"argv\":[\"echo\",\"a\\u0000b\"]}}}", "'job.args.argv[1]'");
	strict_fails("{\"env\":{\"A\\u0000B\":\"1\"}}",
	    "the name of field 'env.A' holds U+0000");
	strict_fails("{\"jobs\":[{},{\"name\":\"x\\u0000\"}]}",
	    "'jobs[1].name'");
	strict_fails("{\"input\":[[\"\\u0000\"]]}", "'input[0][0]'");
	/* an escaped backslash, then an escape */
	strict_fails("{\"a\":\"\\\\\\u0000\"}", "'a'");
	strict_fails("{\"a\":\"\\u0000\"}\n", "'a'");
}
END_TEST

/* "\\u0000" is a backslash and the text u0000: no NUL, kept as it is. */
START_TEST(test_strict_escaped_backslash)
{
	struct msg_in	*in;
	const char	*v;

	in = strict_ok("{\"a\":\"\\\\u0000\",\"b\":\"\\\\\\\\u0000\","
	    "\"c\":\"u0000\\\\\"}");
	ck_assert_int_eq(msg_in_string(in, "a", &v, NULL), 1);
	ck_assert_str_eq(v, "\\u0000");
	ck_assert_int_eq(msg_in_string(in, "b", &v, NULL), 1);
	ck_assert_str_eq(v, "\\\\u0000");
	msg_in_free(in);
}
END_TEST

/* A key given twice in any object, which readers see once, is refused. */
START_TEST(test_strict_duplicates)
{
	char	 text[8192];
	size_t	 len;
	int	 i;

	strict_fails("{\"op\":\"ping\",\"op\":\"stats\"}",
	    "field 'op' is given twice");
	strict_fails("{\"a\":{\"b\":1,\"c\":2,\"b\":3}}", "'a.b'");
	strict_fails("{\"a\":[1,{\"x\":1,\"x\":1}]}", "'a[1].x'");
	strict_fails("{\"\":1,\"\":2}", "field '' is given twice");
	/* a large object: found by sorting */
	len = (size_t)snprintf(text, sizeof text, "{");
	for (i = 0; i < 300; i++)
		len += (size_t)snprintf(text + len, sizeof text - len,
		    "\"k%d\":%d,", i, i);
	snprintf(text + len, sizeof text - len, "\"k150\":0}");
	strict_fails(text, "'k150'");
}
END_TEST

/* The same name in different objects, and keys that differ only by case. */
START_TEST(test_strict_accepts)
{
	msg_in_free(strict_ok("{\"a\":{\"b\":1,\"B\":2},\"b\":{\"a\":1},"
	    "\"c\":[{\"a\":1},{\"a\":1}],\"s\":\"\\u0001\"}"));
}
END_TEST

START_TEST(test_strict_unknown)
{
	static const char *const known[] = { "a", "b", NULL };
	struct msg_in	*in;

	in = parse_ok("{\"a\":1,\"b\":null}");
	ck_assert_ptr_null(msg_strict_unknown(in, known));
	msg_in_free(in);
	in = parse_ok("{\"a\":1,\"bb\":1,\"c\":1}");
	ck_assert_str_eq(msg_strict_unknown(in, known), "bb");
	msg_in_free(in);
}
END_TEST

/* JSON text of any value, as aiojobctl's --input, is held to them too. */
START_TEST(test_strict_text)
{
	struct msg_error	 err;

	memset(&err, 0, sizeof err);
	ck_assert_int_eq(msg_strict_text("[1,{\"a\":\"\\u0000\"}]", &err), -1);
	ck_assert_str_eq(err.message, "field '[1].a' holds U+0000 (NUL), "
	    "which no string of a request may hold");
	ck_assert_int_eq(msg_strict_text("\"x\\u0000\"", &err), -1);
	ck_assert_str_eq(err.message, "the string holds U+0000 (NUL), which "
	    "no string of a request may hold");
	ck_assert_int_eq(msg_strict_text("{\"a\":1,\"a\":1}", &err), -1);
	ck_assert_str_eq(err.message, "field 'a' is given twice");
	ck_assert_int_eq(msg_strict_text("{\"a\":\"\\\\u0000\"}", &err), 0);
	ck_assert_int_eq(msg_strict_text("not json", &err), 0);
}
END_TEST

/* A spec file as aiojobctl reads it is held to the same rules. */
START_TEST(test_strict_spec_file)
{
	static const char *files[][2] = {
		{ "[{\"kind\":\"sleep\",\"name\":\"a\\u0000\"}]",
		    "'[0].name'" },
		{ "{\"kind\":\"sleep\",\"kind\":\"exec\"}", "'kind'" },
		{ "{\"kind\":\"sleep\",\"timout_ms\":1}", "'timout_ms'" },
	};
	struct msg_spec		*specs;
	struct msg_error	 err;
	size_t			 i, n;
	int			 array;

	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		memset(&err, 0, sizeof err);
		ck_assert_int_eq(msg_specs_parse(files[i][0],
		    strlen(files[i][0]), &specs, &n, &array, &err), -1);
		ck_assert_msg(strstr(err.message, files[i][1]) != NULL,
		    "message \"%s\" lacks %s", err.message, files[i][1]);
	}
}
END_TEST

START_TEST(test_decode_required_missing)
{
	decode_fails("{\"op\":\"status\"}", MSG_F_ID, MSG_F_ID, "id");
	decode_fails("{\"op\":\"wait\"}", MSG_F_IDS, MSG_F_IDS, "ids");
	decode_fails("{\"op\":\"queue\",\"name\":\"q\"}",
	    MSG_F_NAME | MSG_F_ACTION, MSG_F_NAME | MSG_F_ACTION, "action");
}
END_TEST

START_TEST(test_decode_required_names_op)
{
	struct msg_request	 req;
	struct msg_error	 err;

	ck_assert_int_eq(decode("{\"op\":\"status\"}", MSG_F_ID, MSG_F_ID,
	    &req, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "status"));
	msg_request_clear(&req);
}
END_TEST

/* null counts as absent: not present, and missing when required. */
START_TEST(test_decode_null_is_absent)
{
	struct msg_request	 req;
	struct msg_error	 err;

	decode_fails("{\"op\":\"status\",\"id\":null}", MSG_F_ID, MSG_F_ID,
	    "id");
	ck_assert_int_eq(decode("{\"op\":\"list\",\"state\":null,"
	    "\"limit\":null,\"token\":null}", ALL_FIELDS, 0, &req, &err), 0);
	ck_assert_uint_eq(req.present, 0);
	ck_assert_ptr_null(req.state);
	ck_assert_ptr_null(req.token);
	msg_request_clear(&req);
}
END_TEST

START_TEST(test_decode_wait)
{
	struct msg_request	 req;
	struct msg_error	 err;

	ck_assert_int_eq(decode("{\"op\":\"wait\",\"ids\":[3,1,2],"
	    "\"return_when\":\"FIRST_EXCEPTION\",\"timeout_ms\":0}",
	    ALL_FIELDS, MSG_F_IDS, &req, &err), 0);
	ck_assert_uint_eq(req.present,
	    MSG_F_IDS | MSG_F_RETURN_WHEN | MSG_F_TIMEOUT_MS);
	ck_assert_uint_eq(req.nids, 3);
	ck_assert_int_eq(req.ids[0], 3);
	ck_assert_int_eq(req.ids[2], 2);
	ck_assert_int_eq(req.return_when, MSG_FIRST_EXCEPTION);
	ck_assert_int_eq(req.timeout_ms, 0);
	msg_request_clear(&req);
}
END_TEST

START_TEST(test_decode_return_when_values)
{
	struct msg_request	 req;
	struct msg_error	 err;

	ck_assert_int_eq(decode("{\"op\":\"wait\",\"ids\":[1],"
	    "\"return_when\":\"FIRST_COMPLETED\"}", ALL_FIELDS, 0, &req, &err),
	    0);
	ck_assert_int_eq(req.return_when, MSG_FIRST_COMPLETED);
	msg_request_clear(&req);
	ck_assert_int_eq(decode("{\"op\":\"wait\",\"ids\":[1]}", ALL_FIELDS, 0,
	    &req, &err), 0);
	ck_assert_int_eq(req.return_when, MSG_ALL_COMPLETED);
	msg_request_clear(&req);
}
END_TEST

START_TEST(test_decode_list)
{
	struct msg_request	 req;
	struct msg_error	 err;

	ck_assert_int_eq(decode("{\"op\":\"list\",\"state\":\"running\","
	    "\"queue\":\"q1\",\"limit\":0,\"before_id\":10,\"token\":\"t\"}",
	    ALL_FIELDS, 0, &req, &err), 0);
	ck_assert_str_eq(req.state, "running");
	ck_assert_str_eq(req.queue, "q1");
	ck_assert_int_eq(req.limit, 0);
	ck_assert_int_eq(req.before_id, 10);
	ck_assert_str_eq(req.token, "t");
	ck_assert_uint_eq(req.present,
	    MSG_F_STATE | MSG_F_QUEUE | MSG_F_LIMIT | MSG_F_BEFORE_ID);
	msg_request_clear(&req);
}
END_TEST

START_TEST(test_decode_queue_op)
{
	struct msg_request	 req;
	struct msg_error	 err;

	ck_assert_int_eq(decode("{\"op\":\"queue\",\"name\":\"q\","
	    "\"action\":\"set\",\"limit\":4,\"rate\":2.5}", ALL_FIELDS,
	    MSG_F_NAME | MSG_F_ACTION, &req, &err), 0);
	ck_assert_str_eq(req.name, "q");
	ck_assert_str_eq(req.action, "set");
	ck_assert_int_eq(req.limit, 4);
	ck_assert_double_eq(req.rate, 2.5);
	msg_request_clear(&req);
}
END_TEST

START_TEST(test_decode_rate_zero)
{
	struct msg_request	 req;
	struct msg_error	 err;

	ck_assert_int_eq(decode("{\"op\":\"queue\",\"rate\":0}", MSG_F_RATE, 0,
	    &req, &err), 0);
	ck_assert_uint_eq(req.present, MSG_F_RATE);
	ck_assert_double_eq(req.rate, 0);
	msg_request_clear(&req);
}
END_TEST

START_TEST(test_decode_int_limits)
{
	struct msg_request	 req;
	struct msg_error	 err;

	ck_assert_int_eq(decode("{\"op\":\"status\",\"id\":9007199254740991}",
	    MSG_F_ID, MSG_F_ID, &req, &err), 0);
	ck_assert_int_eq(req.id, 9007199254740991LL);
	msg_request_clear(&req);
	decode_fails("{\"op\":\"status\",\"id\":1e300}", MSG_F_ID, 0, "id");
	decode_fails("{\"op\":\"wait\",\"ids\":[1e300]}", MSG_F_IDS, 0, "ids");
}
END_TEST

START_TEST(test_decode_single_job)
{
	struct msg_request	 req;
	struct msg_error	 err;

	ck_assert_int_eq(decode("{\"op\":\"submit\",\"job\":{"
	    "\"kind\":\"sleep\",\"args\":{\"ms\":5}}}", MSG_F_JOB | MSG_F_JOBS,
	    0, &req, &err), 0);
	ck_assert_uint_eq(req.present, MSG_F_JOB);
	ck_assert_uint_eq(req.njobs, 1);
	ck_assert_str_eq(req.jobs[0].kind, "sleep");
	ck_assert_str_eq(req.jobs[0].args, "{\"ms\":5}");
	msg_request_clear(&req);
}
END_TEST

START_TEST(test_decode_batch)
{
	struct msg_request	 req;
	struct msg_error	 err;

	ck_assert_int_eq(decode("{\"op\":\"submit\",\"group\":true,\"jobs\":["
	    "{\"kind\":\"sleep\"},{\"kind\":\"exec\",\"queue\":\"q\"},"
	    "{\"kind\":\"cpu\",\"after\":[1]}]}", ALL_FIELDS, 0, &req, &err),
	    0);
	ck_assert_uint_eq(req.present, MSG_F_JOBS | MSG_F_GROUP);
	ck_assert_int_eq(req.group, 1);
	ck_assert_uint_eq(req.njobs, 3);
	ck_assert_str_eq(req.jobs[1].queue, "q");
	ck_assert_uint_eq(req.jobs[2].nafter, 1);
	msg_request_clear(&req);
}
END_TEST

START_TEST(test_decode_batch_bad_third)
{
	struct msg_request	 req;
	struct msg_error	 err;

	ck_assert_int_eq(decode("{\"op\":\"submit\",\"jobs\":["
	    "{\"kind\":\"a\"},{\"kind\":\"b\"},"
	    "{\"kind\":\"c\",\"priority\":1.5},{\"kind\":\"d\"}]}", MSG_F_JOBS,
	    MSG_F_JOBS, &req, &err), -1);
	assert_names_field(&err, "priority");
	ck_assert_msg(strstr(err.message, "jobs[2]") != NULL,
	    "message \"%s\" does not name jobs[2]", err.message);
	msg_request_clear(&req);
}
END_TEST

START_TEST(test_decode_batch_not_object)
{
	struct msg_request	 req;
	struct msg_error	 err;

	ck_assert_int_eq(decode("{\"op\":\"submit\",\"jobs\":[{\"kind\":\"a\"},"
	    "5]}", MSG_F_JOBS, 0, &req, &err), -1);
	ck_assert_str_eq(err.code, MSG_E_BAD_REQUEST);
	ck_assert_ptr_nonnull(strstr(err.message, "jobs[1]"));
	msg_request_clear(&req);
}
END_TEST

/*
 * Regression test, once a bug (common/msg.c, msg_decode_specs): with both "job" and "jobs" in a
 * request whose op accepts both (submit), "job" is decoded into req->jobs,
 * then "jobs" overwrites the pointer: the first spec leaks (valgrind: 125
 * bytes per request, so any client can grow the daemon) and the request
 * silently means "jobs". The two forms are alternatives (PROTOCOL 4), so
 * giving both is expected to be bad_request.
 */
START_TEST(test_decode_job_and_jobs)
{
	struct msg_request	 req;
	struct msg_error	 err;

	ck_assert_int_eq(decode("{\"op\":\"submit\",\"job\":{\"kind\":\"a\"},"
	    "\"jobs\":[{\"kind\":\"b\"}]}", MSG_F_JOB | MSG_F_JOBS, 0, &req,
	    &err), -1);
	assert_names_field(&err, "jobs");
	msg_request_clear(&req);
}
END_TEST

/*
 * Regression test, once a bug (common/msg.c, msg_decode_specs): every other decoder accepts a NULL
 * struct msg_error (msg_error_set ignores it), but a bad spec in "job" or
 * "jobs" appends to err->message without checking, and crashes on NULL.
 *
 */
START_TEST(test_decode_null_error)
{
	struct msg_request	 req;
	struct msg_in		*in;

	in = parse_ok("{\"op\":\"submit\",\"job\":{\"kind\":5}}");
	ck_assert_int_eq(msg_request_decode(in, MSG_F_JOB, 0, &req, NULL), -1);
	msg_request_clear(&req);
	msg_in_free(in);
}
END_TEST

/* msg_spec_decode, through msg_spec_parse. */

static const struct {
	const char	*text;
	const char	*field;
} bad_specs[] = {
	{ "{}", "kind" },
	{ "{\"args\":{}}", "kind" },
	{ "{\"kind\":null}", "kind" },
	{ "{\"kind\":5}", "kind" },
	{ "{\"kind\":\"\"}", "kind" },
	{ "{\"kind\":\"sleep\",\"args\":[]}", "args" },
	{ "{\"kind\":\"sleep\",\"args\":\"{}\"}", "args" },
	{ "{\"kind\":\"sleep\",\"name\":5}", "name" },
	{ "{\"kind\":\"sleep\",\"name\":\"\"}", "name" },
	{ "{\"kind\":\"sleep\",\"queue\":\"\"}", "queue" },
	{ "{\"kind\":\"sleep\",\"queue\":[\"q\"]}", "queue" },
	{ "{\"kind\":\"sleep\",\"priority\":1.5}", "priority" },
	{ "{\"kind\":\"sleep\",\"priority\":\"1\"}", "priority" },
	{ "{\"kind\":\"sleep\",\"priority\":1e300}", "priority" },
	{ "{\"kind\":\"sleep\",\"delay_ms\":-1}", "delay_ms" },
	{ "{\"kind\":\"sleep\",\"timeout_ms\":\"x\"}", "timeout_ms" },
	{ "{\"kind\":\"sleep\",\"timeout_ms\":-5}", "timeout_ms" },
	{ "{\"kind\":\"sleep\",\"retries\":-1}", "retries" },
	{ "{\"kind\":\"sleep\",\"retries\":true}", "retries" },
	{ "{\"kind\":\"sleep\",\"retry_backoff_ms\":-1}", "retry_backoff_ms" },
	{ "{\"kind\":\"sleep\",\"after\":[\"a\"]}", "after" },
	{ "{\"kind\":\"sleep\",\"after\":[0]}", "after" },
	{ "{\"kind\":\"sleep\",\"after\":[-3]}", "after" },
	{ "{\"kind\":\"sleep\",\"after\":[2.5]}", "after" },
	{ "{\"kind\":\"sleep\",\"after\":7}", "after" },
	{ "{\"kind\":\"sleep\",\"lock\":\"\"}", "lock" },
	{ "{\"kind\":\"sleep\",\"lock\":1}", "lock" },
	{ "{\"kind\":\"sleep\",\"shield\":\"yes\"}", "shield" },
	{ "{\"kind\":\"sleep\",\"shield\":0}", "shield" },
	{ "{\"kind\":\"sleep\",\"key\":\"\"}", "key" },
	{ "{\"kind\":\"sleep\",\"key\":42}", "key" },
};

START_TEST(test_spec_bad_field)
{
	spec_fails(bad_specs[_i].text, bad_specs[_i].field);
}
END_TEST

/* A spec whose name is len bytes long. */
static char *
spec_with_name(size_t len)
{
	static const char	 prefix[] = "{\"kind\":\"sleep\",\"name\":\"";
	char			*text;

	text = malloc(sizeof prefix + len + 2);
	ck_assert_ptr_nonnull(text);
	memcpy(text, prefix, sizeof prefix - 1);
	memset(text + sizeof prefix - 1, 'n', len);
	memcpy(text + sizeof prefix - 1 + len, "\"}", 3);
	return (text);
}

START_TEST(test_spec_name_too_long)
{
	char	*text;

	text = spec_with_name(MSG_NAME_MAX + 1);
	spec_fails(text, "name");
	free(text);
}
END_TEST

START_TEST(test_spec_name_at_limit)
{
	struct msg_spec	 s;
	char		*text;

	text = spec_with_name(MSG_NAME_MAX);
	spec_ok(text, &s);
	ck_assert_uint_eq(strlen(s.name), MSG_NAME_MAX);
	msg_spec_clear(&s);
	free(text);
}
END_TEST

START_TEST(test_spec_not_object)
{
	struct msg_spec		 s;
	struct msg_error	 err;

	ck_assert_int_eq(msg_spec_parse("[1]", &s, &err), -1);
	ck_assert_str_eq(err.code, MSG_E_BAD_REQUEST);
	ck_assert_int_eq(msg_spec_parse("nope", &s, &err), -1);
	ck_assert_str_eq(err.code, MSG_E_BAD_REQUEST);
}
END_TEST

START_TEST(test_spec_defaults)
{
	struct msg_spec	 s;

	spec_ok("{\"kind\":\"sleep\"}", &s);
	ck_assert_str_eq(s.kind, "sleep");
	ck_assert_str_eq(s.args, "{}");
	ck_assert_ptr_null(s.name);
	ck_assert_str_eq(s.queue, "default");
	ck_assert_int_eq(s.priority, 0);
	ck_assert_int_eq(s.delay_ms, 0);
	ck_assert_int_eq(s.timeout_ms, 0);
	ck_assert_int_eq(s.retries, 0);
	ck_assert_int_eq(s.retry_backoff_ms, 1000);
	ck_assert_uint_eq(s.nafter, 0);
	ck_assert_ptr_null(s.lock);
	ck_assert_int_eq(s.shield, 0);
	ck_assert_ptr_null(s.key);
	msg_spec_clear(&s);
}
END_TEST

START_TEST(test_spec_null_is_absent)
{
	struct msg_spec	 s;

	spec_ok("{\"kind\":\"sleep\",\"args\":null,\"name\":null,"
	    "\"queue\":null,\"priority\":null,\"retry_backoff_ms\":null,"
	    "\"after\":null,"
	    "\"lock\":null,\"shield\":null,\"key\":null}", &s);
	ck_assert_str_eq(s.args, "{}");
	ck_assert_ptr_null(s.name);
	ck_assert_str_eq(s.queue, "default");
	ck_assert_int_eq(s.retry_backoff_ms, 1000);
	ck_assert_uint_eq(s.nafter, 0);
	ck_assert_ptr_null(s.key);
	msg_spec_clear(&s);
}
END_TEST

START_TEST(test_spec_all_fields)
{
	struct msg_spec	 s;

	spec_ok("{\"kind\":\"exec\",\"args\":{\"argv\":[\"true\"]},"
	    "\"name\":\"n\",\"queue\":\"q\",\"priority\":-3,\"delay_ms\":10,"
	    "\"timeout_ms\":20,"
	    "\"retries\":2,\"retry_backoff_ms\":0,\"after\":[4,5],"
	    "\"lock\":\"l\",\"shield\":true,\"key\":\"k\"}", &s);
	ck_assert_str_eq(s.args, "{\"argv\":[\"true\"]}");
	ck_assert_str_eq(s.name, "n");
	ck_assert_str_eq(s.queue, "q");
	ck_assert_int_eq(s.priority, -3);
	ck_assert_int_eq(s.delay_ms, 10);
	ck_assert_int_eq(s.timeout_ms, 20);
	ck_assert_int_eq(s.retries, 2);
	ck_assert_int_eq(s.retry_backoff_ms, 0);
	ck_assert_uint_eq(s.nafter, 2);
	ck_assert_int_eq(s.after[1], 5);
	ck_assert_str_eq(s.lock, "l");
	ck_assert_int_eq(s.shield, 1);
	ck_assert_str_eq(s.key, "k");
	msg_spec_clear(&s);
}
END_TEST

/*
 * A field a spec does not have (a misspelt timeout_ms) is refused in a
 * request, whatever its value; a spec the store kept is read as it is.
 */
START_TEST(test_spec_unknown_fields)
{
	struct msg_spec	 s;

	decode_fails("{\"op\":\"submit\",\"job\":{\"kind\":\"sleep\","
	    "\"colour\":\"red\",\"priority\":1}}", MSG_F_JOB, 0, "colour");
	decode_fails("{\"op\":\"submit\",\"jobs\":[{\"kind\":\"sleep\"},"
	    "{\"kind\":\"sleep\",\"timout_ms\":5}]}", MSG_F_JOBS, 0,
	    "timout_ms");
	decode_fails("{\"op\":\"submit\",\"job\":{\"kind\":\"sleep\","
	    "\"x\":null}}", MSG_F_JOB, 0, "x");
	spec_ok("{\"kind\":\"sleep\",\"priority\":1,\"future\":[1]}", &s);
	ck_assert_int_eq(s.priority, 1);
	msg_spec_clear(&s);
}
END_TEST

START_TEST(test_spec_clear_twice)
{
	struct msg_spec	 s;

	spec_ok("{\"kind\":\"sleep\",\"after\":[1]}", &s);
	msg_spec_clear(&s);
	msg_spec_clear(&s);
	ck_assert_ptr_null(s.kind);
}
END_TEST

/* msg_spec_encode */

START_TEST(test_encode_equal_specs)
{
	char	*a, *b;

	a = spec_text("{\"kind\":\"sleep\",\"args\":{\"ms\":5},\"priority\":2,"
	    "\"after\":[1,2]}", 0);
	b = spec_text(" { \"after\" : [1, 2], \"priority\":2, \"args\":"
	    "{\"ms\": 5}, \"kind\":\"sleep\" } ", 0);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_encode_explicit_defaults)
{
	char	*a, *b;

	a = spec_text("{\"kind\":\"sleep\"}", 1);
	b = spec_text("{\"kind\":\"sleep\",\"args\":{},\"queue\":\"default\","
	    "\"priority\":0,\"retry_backoff_ms\":1000,\"after\":[],"
	    "\"shield\":false,\"name\":null}", 1);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_encode_different_specs)
{
	char	*a, *b;

	a = spec_text("{\"kind\":\"sleep\",\"args\":{\"ms\":5}}", 0);
	b = spec_text("{\"kind\":\"sleep\",\"args\":{\"ms\":6}}", 0);
	ck_assert_str_ne(a, b);
	free(a);
	free(b);
}
END_TEST

/* msg_spec_store_text writes msg_spec_encode's short form, byte for byte. */
START_TEST(test_store_text_same)
{
	static const char *specs[] = {
		"{\"kind\":\"sleep\"}",
		"{\"kind\":\"sleep\",\"args\":{\"ms\":51000},\"queue\":\"bench\","
		    "\"delay_ms\":864000000}",
		"{\"kind\":\"exec\",\"args\":{\"argv\":[\"sh\",\"-c\",\"echo "
		    "\\\"a\\\\b\\\"\\n\\t\\u0001\"],\"env\":{\"X\":\"\\u00e9\\u2603\"},"
		    "\"f\":1.5e300,\"g\":-0.25,\"h\":null,\"i\":true,\"j\":[]},"
		    "\"name\":\"n \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t\\u001f\\u007f "
		    "\\u00fc\",\"queue\":\"q\\u00e9\",\"priority\":-9007199254740991,"
		    "\"timeout_ms\":9007199254740991,\"retries\":3,"
		    "\"retry_backoff_ms\":0,\"after\":[1,2,3],\"lock\":\"l\\n\","
		    "\"shield\":true,\"key\":\"k\"}",
	};
	struct msg_spec	 s;
	char		*a, *b;
	size_t		 i;

	for (i = 0; i < sizeof specs / sizeof specs[0]; i++) {
		spec_ok(specs[i], &s);
		a = msg_spec_encode(&s, MSG_SPEC_SHORT);
		b = msg_spec_store_text(&s);
		ck_assert_str_eq(a, b);
		free(a);
		free(b);
		msg_spec_clear(&s);
	}
}
END_TEST

/*
 * The store's form leaves out what a field's absence means; a text the
 * store kept in the long form earlier versions wrote is the same spec.
 */
START_TEST(test_store_text_short)
{
	struct msg_spec	 s;
	char		*a, *b, *lng;

	spec_ok("{\"kind\":\"sleep\",\"args\":{\"ms\":5},\"queue\":\"default\","
	    "\"priority\":0,\"retry_backoff_ms\":1000,\"after\":[],"
	    "\"shield\":false,\"name\":null,\"key\":\"k\"}", &s);
	a = msg_spec_store_text(&s);
	ck_assert_str_eq(a, "{\"kind\":\"sleep\",\"args\":{\"ms\":5}}");
	lng = msg_spec_encode(&s, 0);
	ck_assert_ptr_nonnull(strstr(lng, "\"retry_backoff_ms\":1000"));
	ck_assert(msg_spec_same(lng, a));
	ck_assert(msg_spec_same(a, a));
	msg_spec_clear(&s);

	/* every field away from its default is kept */
	spec_ok("{\"kind\":\"sleep\",\"args\":{\"ms\":5},\"queue\":\"q\","
	    "\"priority\":-1,\"delay_ms\":2,\"timeout_ms\":3,\"retries\":4,"
	    "\"retry_backoff_ms\":0,\"after\":[7],\"lock\":\"l\","
	    "\"shield\":true,\"name\":\"n\"}", &s);
	b = msg_spec_store_text(&s);
	ck_assert_str_eq(b, "{\"kind\":\"sleep\",\"args\":{\"ms\":5},"
	    "\"name\":\"n\",\"queue\":\"q\",\"priority\":-1,\"delay_ms\":2,"
	    "\"timeout_ms\":3,\"retries\":4,\"retry_backoff_ms\":0,"
	    "\"after\":[7],\"lock\":\"l\",\"shield\":true}");
	ck_assert(!msg_spec_same(lng, b));
	ck_assert(!msg_spec_same(a, b));
	ck_assert(!msg_spec_same("not json", b));
	msg_spec_clear(&s);
	free(a);
	free(b);
	free(lng);
}
END_TEST

START_TEST(test_encode_with_key)
{
	char	*a0, *a1, *b0, *b1;

	a0 = spec_text("{\"kind\":\"sleep\",\"key\":\"k1\"}", 0);
	a1 = spec_text("{\"kind\":\"sleep\",\"key\":\"k1\"}", 1);
	b0 = spec_text("{\"kind\":\"sleep\",\"key\":\"k2\"}", 0);
	b1 = spec_text("{\"kind\":\"sleep\",\"key\":\"k2\"}", 1);
	ck_assert_str_eq(a0, b0);
	ck_assert_str_ne(a1, b1);
	ck_assert_ptr_null(strstr(a0, "k1"));
	ck_assert_ptr_nonnull(strstr(a1, "\"key\":\"k1\""));
	free(a0);
	free(a1);
	free(b0);
	free(b1);
}
END_TEST

START_TEST(test_encode_roundtrip)
{
	struct msg_spec	 s;
	char		*a, *b;

	a = spec_text("{\"kind\":\"exec\",\"args\":{\"argv\":[\"echo\","
	    "\"h\\u00e9\"],\"env\":{\"A\":\"\\\"q\\\"\"}},\"name\":\"n\\n\","
	    "\"queue\":\"q\","
	    "\"priority\":-7,\"delay_ms\":1763700000123,"
	    "\"timeout_ms\":20,\"retries\":2,\"retry_backoff_ms\":0,"
	    "\"after\":[4,5],\"lock\":\"l\",\"shield\":true,\"key\":\"k\"}", 1);
	spec_ok(a, &s);
	b = msg_spec_encode(&s, 1);
	ck_assert_str_eq(a, b);
	ck_assert_int_eq(s.delay_ms, 1763700000123LL);
	ck_assert_str_eq(s.name, "n\n");
	msg_spec_clear(&s);
	free(a);
	free(b);
}
END_TEST

/*
 * Regression test, once a bug (common/msg.c, msg_out_int via cJSON 1.7.15 print_number): integers
 * the decoder accepts (|v| <= MSG_INT_MAX) must survive encoding. cJSON
 * prints 9007199254740991 as 9.00719925474099e+15 (its %1.15g round-trip
 * check has a relative tolerance of 1 ulp), which reads back as
 * 9007199254740990.
 */
START_TEST(test_encode_int_limits)
{
	struct msg_spec	 s;
	char		*a;

	a = spec_text("{\"kind\":\"sleep\",\"priority\":-9007199254740991,"
	    "\"delay_ms\":9007199254740991}", 0);
	spec_ok(a, &s);
	ck_assert_int_eq(s.priority, -MSG_INT_MAX);
	ck_assert_int_eq(s.delay_ms, MSG_INT_MAX);
	msg_spec_clear(&s);
	free(a);
}
END_TEST

START_TEST(test_encode_roundtrip_minimal)
{
	struct msg_spec	 s;
	char		*a, *b;

	a = spec_text("{\"kind\":\"sleep\"}", 0);
	spec_ok(a, &s);
	b = msg_spec_encode(&s, 0);
	ck_assert_str_eq(a, b);
	msg_spec_clear(&s);
	free(a);
	free(b);
}
END_TEST

/* msg_out */

START_TEST(test_out_nested)
{
	struct msg_out	*o;
	char		*text;

	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	msg_out_object(o, "o");
	msg_out_int(o, "n", -4);
	msg_out_array(o, "a");
	msg_out_int(o, NULL, 1);
	msg_out_string(o, NULL, "x");
	msg_out_null(o, NULL);
	msg_out_object(o, NULL);
	msg_out_double(o, "d", 2.5);
	msg_out_close(o);
	msg_out_array(o, NULL);
	msg_out_close(o);
	msg_out_close(o);
	msg_out_string(o, "s", NULL);
	msg_out_close(o);
	msg_out_string(o, "after", "y");
	text = msg_out_finish(o, 0);
	ck_assert_str_eq(text, "{\"ok\":true,\"o\":{\"n\":-4,"
	    "\"a\":[1,\"x\",null,{\"d\":2.5},[]],\"s\":null},\"after\":\"y\"}");
	free(text);
}
END_TEST

START_TEST(test_out_read_back)
{
	struct msg_out	*o;
	struct msg_in	*in, *inner;
	struct msg_error err;
	char		*text;
	int64_t		 v;
	const char	*s;

	o = msg_out_new();
	msg_out_object(o, "jobs");
	msg_out_int(o, "queued", 3);
	msg_out_close(o);
	msg_out_array(o, "ids");
	msg_out_int(o, NULL, 1763700000123LL);
	msg_out_close(o);
	msg_out_string(o, "s", "tab\there \"q\" \xc3\xa9");
	text = msg_out_finish(o, 1);
	in = parse_ok(text);
	inner = msg_in_object(in, "jobs");
	ck_assert_int_eq(msg_in_int(inner, "queued", &v, &err), 1);
	ck_assert_int_eq(v, 3);
	ck_assert_int_eq(msg_in_array_int(in, "ids", 0, &v), 0);
	ck_assert_int_eq(v, 1763700000123LL);
	ck_assert_int_eq(msg_in_string(in, "s", &s, &err), 1);
	ck_assert_str_eq(s, "tab\there \"q\" \xc3\xa9");
	msg_in_free(in);
	free(text);
}
END_TEST

/*
 * Regression test, once a bug (common/msg.c, msg_out_int): the same precision loss as in
 * test_encode_int_limits: msg_out_int(o, "a", 9007199254740991) writes
 * {"a":9.00719925474099e+15}, which is 9007199254740990, and not in integer
 * notation either.
 */
START_TEST(test_out_int_limits)
{
	struct msg_out	*o;
	char		*text;

	o = msg_out_new();
	msg_out_int(o, "max", MSG_INT_MAX);
	msg_out_int(o, "min", -MSG_INT_MAX);
	msg_out_int(o, "big", 4503599627370497LL);
	text = msg_out_finish(o, 0);
	ck_assert_str_eq(text, "{\"max\":9007199254740991,"
	    "\"min\":-9007199254740991,\"big\":4503599627370497}");
	free(text);
}
END_TEST

START_TEST(test_out_int_extremes)
{
	struct msg_out	*o;
	char		*text;

	o = msg_out_new();
	msg_out_int(o, "min", INT64_MIN);
	msg_out_int(o, "max", INT64_MAX);
	msg_out_int(o, "zero", 0);
	msg_out_int(o, "neg", -10);
	text = msg_out_finish(o, 0);
	ck_assert_str_eq(text, "{\"min\":-9223372036854775808,"
	    "\"max\":9223372036854775807,\"zero\":0,\"neg\":-10}");
	free(text);
}
END_TEST

START_TEST(test_out_close_at_top)
{
	struct msg_out	*o;
	char		*text;

	o = msg_out_new();
	msg_out_close(o);
	msg_out_int(o, "a", 1);
	text = msg_out_finish(o, 0);
	ck_assert_str_eq(text, "{\"a\":1}");
	free(text);
}
END_TEST

START_TEST(test_out_raw)
{
	struct msg_out	*o;
	char		*text;

	o = msg_out_new();
	ck_assert_int_eq(msg_out_raw(o, "r", "{ \"x\" : [1, 2] }"), 0);
	ck_assert_int_eq(msg_out_raw(o, "n", NULL), 0);
	text = msg_out_finish(o, 0);
	ck_assert_str_eq(text, "{\"r\":{\"x\":[1,2]},\"n\":null}");
	free(text);
}
END_TEST

START_TEST(test_out_raw_bad)
{
	struct msg_out	*o;
	char		*text;

	o = msg_out_new();
	ck_assert_int_eq(msg_out_raw(o, "r", "{\"x\":"), -1);
	ck_assert_int_eq(msg_out_raw(o, "s", "not json"), -1);
	msg_out_int(o, "after", 1);
	text = msg_out_finish(o, 0);
	ck_assert_str_eq(text, "{\"r\":null,\"s\":null,\"after\":1}");
	free(text);
}
END_TEST

/*
 * Regression test, once a bug (common/msg.c, msg_out_raw): cJSON_Parse stops after the first value,
 * so text with trailing data such as "{} x" is taken as {} and returns 0
 * instead of adding null and returning -1.
 */
START_TEST(test_out_raw_trailing)
{
	struct msg_out	*o;
	char		*text;

	o = msg_out_new();
	ck_assert_int_eq(msg_out_raw(o, "r", "{\"a\":1} x"), -1);
	text = msg_out_finish(o, 0);
	ck_assert_str_eq(text, "{\"r\":null}");
	free(text);
}
END_TEST

START_TEST(test_error_reply)
{
	struct msg_in	*in, *e;
	struct msg_error err;
	char		*text;
	const char	*s;
	int		 ok;

	text = msg_error_reply(MSG_E_NOT_FOUND, "job 7: \"not\" found\n");
	ck_assert_str_eq(text, "{\"ok\":false,\"error\":{"
	    "\"code\":\"not_found\","
	    "\"message\":\"job 7: \\\"not\\\" found\\n\"}}");
	in = parse_ok(text);
	ck_assert_int_eq(msg_in_bool(in, "ok", &ok, &err), 1);
	ck_assert_int_eq(ok, 0);
	ck_assert_ptr_nonnull(e = msg_in_object(in, "error"));
	ck_assert_int_eq(msg_in_string(e, "code", &s, &err), 1);
	ck_assert_str_eq(s, "not_found");
	ck_assert_int_eq(msg_in_string(e, "message", &s, &err), 1);
	ck_assert_str_eq(s, "job 7: \"not\" found\n");
	msg_in_free(in);
	free(text);
}
END_TEST

START_TEST(test_error_set_truncates)
{
	struct msg_error	 err;
	char			 big[1024];

	memset(big, 'm', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	msg_error_set(&err, MSG_E_INTERNAL, "%s", big);
	ck_assert_str_eq(err.code, "internal");
	ck_assert_uint_eq(strlen(err.message), sizeof err.message - 1);
	msg_error_set(NULL, MSG_E_INTERNAL, "ignored");
}
END_TEST

/* A view with every field set. */
static void
view_fill(struct msg_view *v)
{
	memset(v, 0, sizeof *v);
	v->id = 42;
	v->kind = "exec";
	v->name = "build";
	v->queue = "default";
	v->priority = 5;
	v->state = "failed";
	v->attempts = 2;
	v->submitted_at = 1763700000123LL;
	v->started_at = 1763700000130LL;
	v->finished_at = 1763700000456LL;
	v->args = "{\"argv\":[\"false\"]}";
	v->result = "{\"exit_code\":1}";
	v->error_code = "exit_status";
	v->error_message = "exited with status 1";
}

/* The text of a reply {"ok":true,"job":VIEW}. */
static char *
view_text(const struct msg_view *v, int flags)
{
	struct msg_out	*o;

	o = msg_out_new();
	msg_out_bool(o, "ok", 1);
	msg_out_view(o, "job", v, flags);
	return (msg_out_finish(o, 0));
}

/*
 * The writer against cJSON itself: a generator drives a msg_out and, in
 * step, a cJSON tree built as the builder's contract says (integers as
 * text, strings repaired to U+FFFD, raw text parsed, an item under no key
 * in an object dropped); the texts must be the same, byte for byte.
 */

struct gen {
	uint64_t	 state;
	struct msg_out	*o;		/* compact */
	struct msg_out	*p;		/* pretty */
	cJSON		*stack[16];	/* as the builder's levels */
	int		 dropped[16];	/* under no key in an object */
	int		 depth;
};

static uint32_t
gen_rand(struct gen *g)
{
	g->state ^= g->state << 13;
	g->state ^= g->state >> 7;
	g->state ^= g->state << 17;
	return ((uint32_t)(g->state >> 11));
}

static uint32_t
gen_below(struct gen *g, uint32_t n)
{
	return (gen_rand(g) % n);
}

/* Length of the well-formed UTF-8 character at p, 0 if there is none. */
static size_t
ref_utf8_char(const unsigned char *p, size_t left)
{
	size_t	 n, i;
	uint32_t c;

	if (p[0] < 0x80)
		return (p[0] == 0 ? 0 : 1);
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, c = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, c = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, c = p[0] & 0x07;
	else
		return (0);
	if (left < n)
		return (0);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) ||
	    (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return (0);
	return (n);
}

/* What the builder must write for bytes: a C string, U+FFFD for bad ones. */
static char *
ref_repair(const char *buf, size_t len)
{
	const unsigned char	*p = (const unsigned char *)buf;
	char			*s, *q;
	size_t			 i = 0, n;

	q = s = malloc(len * 3 + 1);
	ck_assert_ptr_nonnull(s);
	while (i < len) {
		if ((n = ref_utf8_char(p + i, len - i)) == 0) {
			memcpy(q, "\xef\xbf\xbd", 3);
			q += 3;
			i++;
		} else {
			memcpy(q, p + i, n);
			q += n;
			i += n;
		}
	}
	*q = '\0';
	return (s);
}

/* Random bytes, of the kinds that matter to escaping and repair. */
static size_t
gen_bytes(struct gen *g, char *buf, size_t size, int nul)
{
	static const char *const pieces[] = {
		"\"", "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x01", "\x1f",
		"\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xef\xbf\xbd", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\x80",
		"\xbf", "\xff", "\xfe", "\xc0\x80", "\xe0\x80\x80",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
		"\\u0000", "x", "key", " ", "{", "]", ",", ":",
	};
	size_t	 len = 0, n, want = gen_below(g, 12), i;
	int	 k;

	for (i = 0; i < want; i++) {
		k = (int)gen_below(g, 12);
		if (k == 0 && nul) {
			if (len + 1 < size)
				buf[len++] = '\0';
			continue;
		}
		if (k == 1) {
			n = 1;
			buf[len] = (char)(1 + gen_below(g, 255));
			if (len + 1 < size)
				len++;
			continue;
		}
		k = (int)gen_below(g, sizeof pieces / sizeof pieces[0]);
		n = strlen(pieces[k]);
		if (len + n < size) {
			memcpy(buf + len, pieces[k], n);
			len += n;
		}
	}
	buf[len] = '\0';
	return (len);
}

static double
gen_double(struct gen *g)
{
	static const double	 nice[] = {
		0.0, -0.0, 0.5, -1.5, 0.1, 1.0 / 3, 2147483647.0,
		2147483648.0, -2147483648.0, -2147483649.0, 2147483647.5,
		-2147483648.5, 1e15, 1.2e15, 1e17, 9007199254740993.0,
		123456789012345678.0, 1e300, -1e-300, 5e-324, 3.0000000000000004,
		1.7976931348623157e308, 100.0, -7.0, 0.30000000000000004,
	};
	union {
		uint64_t	 u;
		double		 d;
	} b;

	switch (gen_below(g, 5)) {
	case 0:
		return (nice[gen_below(g, sizeof nice / sizeof nice[0])]);
	case 1:
		b.u = ((uint64_t)gen_rand(g) << 32) ^ gen_rand(g) ^
		    ((uint64_t)gen_rand(g) << 43);
		return (b.d);		/* NaNs and infinities too */
	case 2:
		return ((double)(int32_t)gen_rand(g));
	case 3:
		return ((double)(int32_t)gen_rand(g) / (1 + gen_below(g, 1000)));
	default:
		return (ldexp((double)gen_rand(g), (int)gen_below(g, 120) - 60));
	}
}

/* A key: usually one, sometimes none (ignored in arrays, dropped else). */
static const char *
gen_key(struct gen *g, char *buf, size_t size)
{
	if (gen_below(g, 16) == 0)
		return (NULL);
	gen_bytes(g, buf, size, 0);
	return (buf);
}

/* Put an item into the tree as the builder would. */
static void
ref_add(struct gen *g, const char *key, cJSON *item)
{
	cJSON	*top = g->stack[g->depth];

	ck_assert_ptr_nonnull(item);
	if (cJSON_IsArray(top))
		cJSON_AddItemToArray(top, item);
	else if (key != NULL)
		cJSON_AddItemToObject(top, key, item);
	else
		cJSON_Delete(item);
}

static void gen_value(struct gen *, const char *, int);

/* Close the innermost level, as msg_out_close does. */
static void
gen_pop(struct gen *g)
{
	if (g->depth == 0)
		return;
	if (g->dropped[g->depth] && (g->depth == 1 || !g->dropped[g->depth - 1]))
		cJSON_Delete(g->stack[g->depth]);	/* its root, detached */
	g->depth--;
}

static void
gen_pop_all(struct gen *g)
{
	while (g->depth > 0)
		gen_pop(g);
}

/* JSON text for msg_out_raw: a random value, laid out somehow. */
static char *
gen_raw_text(struct gen *g)
{
	struct gen	 sub;
	char		*text, *s;
	cJSON		*j;

	memset(&sub, 0, sizeof sub);
	sub.state = g->state ^ 0x9e3779b97f4a7c15ULL;
	sub.stack[0] = cJSON_CreateObject();
	sub.o = msg_out_new();
	sub.p = msg_out_new();
	gen_value(&sub, "v", 3);
	g->state = sub.state;
	msg_out_free(sub.o);
	msg_out_free(sub.p);
	gen_pop_all(&sub);
	j = cJSON_DetachItemFromObject(sub.stack[0], "v");
	cJSON_Delete(sub.stack[0]);
	if (j == NULL)
		j = cJSON_CreateNull();
	s = gen_below(g, 2) ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	text = strdup(s);
	cJSON_free(s);
	return (text);
}

/* One value (a container up to levels deep) into the three sinks. */
static void
gen_value(struct gen *g, const char *key, int levels)
{
	char		 buf[256], sub[64], *s, *raw;
	cJSON		*node;
	size_t		 len;
	int64_t		 i64;
	double		 d;
	int		 n, i, b, drop;

	if (g->depth + 2 >= 16)
		levels = 0;
	switch (gen_below(g, levels > 0 ? 11 : 8)) {
	case 0:
		i64 = (int64_t)(((uint64_t)gen_rand(g) << 32) | gen_rand(g));
		i64 >>= gen_below(g, 64);
		msg_out_int(g->o, key, i64);
		msg_out_int(g->p, key, i64);
		snprintf(buf, sizeof buf, "%lld", (long long)i64);
		ref_add(g, key, cJSON_CreateRaw(buf));
		break;
	case 1:
		d = gen_double(g);
		msg_out_double(g->o, key, d);
		msg_out_double(g->p, key, d);
		ref_add(g, key, cJSON_CreateNumber(d));
		break;
	case 2:
		b = (int)gen_below(g, 2);
		msg_out_bool(g->o, key, b);
		msg_out_bool(g->p, key, b);
		ref_add(g, key, cJSON_CreateBool(b));
		break;
	case 3:
		msg_out_null(g->o, key);
		msg_out_null(g->p, key);
		ref_add(g, key, cJSON_CreateNull());
		break;
	case 4:
		len = gen_bytes(g, buf, sizeof buf, 0);
		msg_out_string(g->o, key, buf);
		msg_out_string(g->p, key, buf);
		s = ref_repair(buf, len);
		ref_add(g, key, cJSON_CreateString(s));
		free(s);
		break;
	case 5:
		len = gen_bytes(g, buf, sizeof buf, 1);
		msg_out_bytes(g->o, key, buf, len);
		msg_out_bytes(g->p, key, buf, len);
		s = ref_repair(buf, len);
		ref_add(g, key, cJSON_CreateString(s));
		free(s);
		break;
	case 6:
		msg_out_string(g->o, key, NULL);
		msg_out_string(g->p, key, NULL);
		ref_add(g, key, cJSON_CreateNull());
		break;
	case 7:
		raw = gen_raw_text(g);
		ck_assert_int_eq(msg_out_raw(g->o, key, raw), 0);
		ck_assert_int_eq(msg_out_raw(g->p, key, raw), 0);
		ref_add(g, key, cJSON_Parse(raw));
		free(raw);
		break;
	default:
		b = (int)gen_below(g, 2);
		if (b) {
			msg_out_array(g->o, key);
			msg_out_array(g->p, key);
			node = cJSON_CreateArray();
		} else {
			msg_out_object(g->o, key);
			msg_out_object(g->p, key);
			node = cJSON_CreateObject();
		}
		drop = g->dropped[g->depth] ||
		    (!cJSON_IsArray(g->stack[g->depth]) && key == NULL);
		if (g->dropped[g->depth])
			cJSON_AddItemToArray(g->stack[g->depth], node);
		else if (!drop)
			ref_add(g, key, node);
		g->stack[++g->depth] = node;
		g->dropped[g->depth] = drop;
		n = (int)gen_below(g, 5);
		for (i = 0; i < n; i++)
			gen_value(g, gen_key(g, sub, sizeof sub), levels - 1);
		if (gen_below(g, 8) != 0) {	/* else left for later */
			msg_out_close(g->o);
			msg_out_close(g->p);
			gen_pop(g);
		}
		break;
	}
}

#define GEN_SEEDS	100	/* per loop iteration */

static void
gen_start(struct gen *g, uint64_t seed)
{
	memset(g, 0, sizeof *g);
	g->state = seed * 0x9e3779b97f4a7c15ULL + 1;
	g->stack[0] = cJSON_CreateObject();
	g->o = msg_out_new();
	g->p = msg_out_new();
}

static char *
cjson_text(const cJSON *j, int pretty)
{
	static const char	 cjson_max[] = "1.79769313486232e+308";
	static const char	 our_max[] = "1.7976931348623157e+308";
	char			*s, *copy, *p, *q;
	const char		*from;

	s = pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
	ck_assert_ptr_nonnull(s);
	/*
	 * cJSON writes DBL_MAX with 15 digits, which read back as infinity;
	 * msg_out writes the 17 that read back as DBL_MAX. Otherwise the
	 * texts must be the same, byte for byte.
	 */
	copy = malloc(strlen(s) * 2 + 1);
	ck_assert_ptr_nonnull(copy);
	for (from = s, q = copy; (p = strstr(from, cjson_max)) != NULL;
	    from = p + strlen(cjson_max)) {
		memcpy(q, from, (size_t)(p - from));
		q += p - from;
		memcpy(q, our_max, strlen(our_max));
		q += strlen(our_max);
	}
	strcpy(q, from);
	cJSON_free(s);
	return (copy);
}

START_TEST(test_out_as_cjson)
{
	struct gen	 g;
	cJSON		*a, *b;
	char		 key[64], *compact, *pretty, *want, *wantp;
	uint64_t	 seed;
	int		 i, n;

	for (seed = (uint64_t)_i * GEN_SEEDS; seed < (uint64_t)(_i + 1) *
	    GEN_SEEDS; seed++) {
		gen_start(&g, seed);
		n = (int)gen_below(&g, 8);
		for (i = 0; i < n; i++)
			gen_value(&g, gen_key(&g, key, sizeof key), 4);
		gen_pop_all(&g);
		compact = msg_out_finish(g.o, 0);
		pretty = msg_out_finish(g.p, 1);
		want = cjson_text(g.stack[0], 0);
		wantp = cjson_text(g.stack[0], 1);
		ck_assert_msg(strcmp(compact, want) == 0, "seed %llu:\n%s\n%s",
		    (unsigned long long)seed, compact, want);
		ck_assert_msg(strcmp(pretty, wantp) == 0, "seed %llu:\n%s\n%s",
		    (unsigned long long)seed, pretty, wantp);
		/* The same tree, keys repeated and in order: same text. */
		a = cJSON_Parse(compact);
		b = cJSON_Parse(pretty);
		ck_assert_ptr_nonnull(a);
		ck_assert_ptr_nonnull(b);
		free(want);
		free(wantp);
		want = cjson_text(a, 0);
		wantp = cjson_text(b, 0);
		ck_assert_msg(strcmp(want, wantp) == 0, "seed %llu",
		    (unsigned long long)seed);
		/* and the tree printer of msg_json_compact prints it so */
		free(wantp);
		wantp = msg_json_compact(compact);
		ck_assert_ptr_nonnull(wantp);
		ck_assert_msg(strcmp(want, wantp) == 0, "seed %llu:\n%s\n%s",
		    (unsigned long long)seed, want, wantp);
		cJSON_Delete(a);
		cJSON_Delete(b);
		cJSON_Delete(g.stack[0]);
		free(compact);
		free(pretty);
		free(want);
		free(wantp);
	}
}
END_TEST

/* msg_json_compact prints trees as deep as cJSON parses them. */
START_TEST(test_compact_deep)
{
	enum { LEVELS = 450 };		/* an object and an array each */
	static const char	 open[] = "{\"k\": [", close[] = "]}";
	static const char	 mid[] = " -0, 1e300, 12345678901234567, 7 ";
	char			*text, *p, *got, *want;
	cJSON			*j;
	int			 i;

	p = text = malloc(LEVELS * (sizeof open + sizeof close) + sizeof mid);
	ck_assert_ptr_nonnull(text);
	for (i = 0; i < LEVELS; i++)
		p = stpcpy(p, open);
	p = stpcpy(p, mid);
	for (i = 0; i < LEVELS; i++)
		p = stpcpy(p, close);
	ck_assert_ptr_nonnull(j = cJSON_Parse(text));
	want = cjson_text(j, 0);
	cJSON_Delete(j);
	ck_assert_ptr_nonnull(got = msg_json_compact(text));
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	free(text);
}
END_TEST

/* Doubles by the million, as cJSON prints them. */
START_TEST(test_out_double_as_cjson)
{
	struct gen	 g;
	struct msg_out	*o;
	cJSON		*j;
	char		*text, *want;
	double		 d;
	int		 i;

	gen_start(&g, 7);
	msg_out_free(g.o);
	msg_out_free(g.p);
	cJSON_Delete(g.stack[0]);
	for (i = 0; i < 20000; i++) {
		d = gen_double(&g);
		o = msg_out_new();
		msg_out_double(o, "d", d);
		text = msg_out_finish(o, 0);
		j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "d", d);
		want = cjson_text(j, 0);
		cJSON_Delete(j);
		ck_assert_msg(strcmp(text, want) == 0, "%a: %s, %s", d, text,
		    want);
		free(text);
		free(want);
	}
}
END_TEST

START_TEST(test_out_dropped)
{
	struct msg_out	*o;
	char		*text;

	o = msg_out_new();
	msg_out_int(o, NULL, 1);
	msg_out_object(o, NULL);
	msg_out_int(o, "in", 2);
	msg_out_array(o, "a");
	msg_out_int(o, NULL, 3);
	msg_out_close(o);
	msg_out_close(o);
	ck_assert_int_eq(msg_out_raw(o, NULL, "[1]"), 0);
	ck_assert_int_eq(msg_out_raw(o, NULL, "[1"), -1);
	msg_out_json(o, NULL, "[1]");
	msg_out_array(o, "k");
	msg_out_string(o, NULL, "s");
	msg_out_json(o, NULL, "{\"x\":[]}");
	msg_out_close(o);
	text = msg_out_finish(o, 0);
	ck_assert_str_eq(text, "{\"k\":[\"s\",{\"x\":[]}]}");
	free(text);
}
END_TEST

/* The builder nests 15 levels below the message; one more is a bug. */
START_TEST(test_out_depth)
{
	struct msg_out	*o;
	char		*text;
	int		 i;

	o = msg_out_new();
	for (i = 0; i < 15; i++)
		msg_out_array(o, "a");
	text = msg_out_finish(o, 0);
	ck_assert_str_eq(text, "{\"a\":[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]}");
	free(text);
}
END_TEST

START_TEST(test_out_depth_abort)
{
	struct msg_out	*o;
	int		 i;

	o = msg_out_new();
	for (i = 0; i < 16; i++)
		msg_out_object(o, "o");
	msg_out_free(o);
}
END_TEST

/* Raw text nests as deep as cJSON parses; pretty output follows it. */
START_TEST(test_out_raw_deep)
{
	static const char	 mid[] = "{\"k\":{},\"l\":[1,{\"m\":2}]}";
	struct msg_out		*o;
	cJSON			*j;
	char			*raw, *text, *want;
	size_t			 n = 900, i;

	raw = malloc(n * 2 + sizeof mid);
	ck_assert_ptr_nonnull(raw);
	memset(raw, '[', n);
	memcpy(raw + n, mid, sizeof mid - 1);
	memset(raw + n + sizeof mid - 1, ']', n);
	raw[2 * n + sizeof mid - 1] = '\0';
	for (i = 0; i < 2; i++) {
		o = msg_out_new();
		ck_assert_int_eq(msg_out_raw(o, "r", raw), 0);
		text = msg_out_finish(o, (int)i);
		j = cJSON_CreateObject();
		cJSON_AddItemToObject(j, "r", cJSON_Parse(raw));
		want = cjson_text(j, (int)i);
		ck_assert_str_eq(text, want);
		cJSON_Delete(j);
		free(text);
		free(want);
	}
	free(raw);
}
END_TEST

/* Normalised JSON text: compact, as cJSON prints it; NULL when bad. */
START_TEST(test_json_compact)
{
	struct gen	 g;
	char		*s, *t, *raw, *want;
	cJSON		*j;
	int		 i;

	s = msg_json_compact(" { \"a\" : [ 1 , 2.50, 1e2, \"\\u00e9\\/\" ] }\n");
	ck_assert_str_eq(s, "{\"a\":[1,2.5,100,\"\xc3\xa9/\"]}");
	free(s);
	ck_assert_ptr_null(msg_json_compact("{} x"));
	ck_assert_ptr_null(msg_json_compact(""));
	ck_assert_ptr_null(msg_json_compact("{\"a\":"));
	ck_assert_ptr_null(msg_json_compact("nul"));
	s = msg_json_compact("\"\"");
	ck_assert_str_eq(s, "\"\"");
	free(s);

	/* Once normalised, text stays as it is: views may copy it. */
	gen_start(&g, 99);
	msg_out_free(g.o);
	msg_out_free(g.p);
	cJSON_Delete(g.stack[0]);
	for (i = 0; i < 2000; i++) {
		raw = gen_raw_text(&g);
		s = msg_json_compact(raw);
		ck_assert_ptr_nonnull(s);
		j = cJSON_Parse(raw);
		want = cjson_text(j, 0);
		cJSON_Delete(j);
		ck_assert_str_eq(s, want);
		t = msg_json_compact(s);
		ck_assert_str_eq(t, s);
		free(raw);
		free(s);
		free(t);
		free(want);
	}
}
END_TEST

/* Compact text is copied; a view says whether its text is. */
START_TEST(test_out_json)
{
	struct msg_out	*o;
	struct msg_view	 v;
	char		*a, *b;

	o = msg_out_new();
	msg_out_json(o, "j", "{\"x\":[1,\"\\n\"]}");
	msg_out_json(o, "n", NULL);
	a = msg_out_finish(o, 0);
	ck_assert_str_eq(a, "{\"j\":{\"x\":[1,\"\\n\"]},\"n\":null}");
	free(a);

	view_fill(&v);
	a = view_text(&v, MSG_VIEW_ARGS | MSG_VIEW_RESULT);
	v.compact = 1;
	b = view_text(&v, MSG_VIEW_ARGS | MSG_VIEW_RESULT);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);

	/* Text from elsewhere is checked: bad becomes null. */
	v.compact = 0;
	v.args = "{\"a\":";
	v.result = " [ 1 ] ";
	a = view_text(&v, MSG_VIEW_ARGS | MSG_VIEW_RESULT);
	ck_assert_ptr_nonnull(strstr(a, "\"args\":null,\"result\":[1],"));
	free(a);
}
END_TEST

/*
 * A view carries the head of each output stream: a text one cut between
 * characters, a base64 one decoded and written by the text-or-base64
 * rule, each with X_more; other members are copied as they are.
 */
START_TEST(test_view_output_head)
{
	struct msg_view	 v;
	struct msg_in	*in, *res;
	const char	*s;
	char		*result, *a, *buf;
	size_t		 i, len, n = MSG_VIEW_OUTPUT_MAX / 2 + 10;
	int		 more;

	/* "a", then "\u00e9" (2 bytes) n times: the limit falls inside one */
	result = malloc(2 * n + 200);
	ck_assert_ptr_nonnull(result);
	strcpy(result, "{\"exit_code\":0,\"stdout\":\"a");
	len = strlen(result);
	for (i = 0; i < n; i++)
		memcpy(result + len + 2 * i, "\xc3\xa9", 2);
	strcpy(result + len + 2 * n, "\",\"stdout_bytes\":9,"
	    "\"stderr\":null,\"stderr_base64\":\"/29rww==\","
	    "\"stderr_bytes\":4,\"x\":{\"stdout_bytes\":[1]}}");
	view_fill(&v);
	v.compact = 1;
	v.result = result;
	a = view_text(&v, MSG_VIEW_RESULT);
	ck_assert_ptr_nonnull(in = msg_in_parse(a, strlen(a), NULL));
	res = msg_in_object(msg_in_object(in, "job"), "result");
	ck_assert_int_eq(msg_in_string(res, "stdout", &s, NULL), 1);
	ck_assert_uint_eq(strlen(s), MSG_VIEW_OUTPUT_MAX - 1);
	ck_assert(msg_utf8_valid((const unsigned char *)s, strlen(s)));
	ck_assert_int_eq(msg_in_bool(res, "stdout_more", &more, NULL), 1);
	ck_assert_int_eq(more, 1);
	ck_assert_int_eq(msg_in_output(res, "stderr", "", &buf, &len, NULL), 1);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(buf, "\xffok\xc3", 4);
	free(buf);
	ck_assert_int_eq(msg_in_bool(res, "stderr_more", &more, NULL), 1);
	ck_assert_int_eq(more, 0);
	ck_assert_ptr_nonnull(strstr(a, "\"x\":{\"stdout_bytes\":[1]}"));
	msg_in_free(in);
	free(a);
	free(result);
}
END_TEST

START_TEST(test_view_full)
{
	struct msg_view	 v, r;
	struct msg_in	*in, *job;
	char		*text, *t;

	view_fill(&v);
	text = view_text(&v, MSG_VIEW_ARGS | MSG_VIEW_RESULT);
	in = parse_ok(text);
	ck_assert_ptr_nonnull(job = msg_in_object(in, "job"));
	msg_in_view(job, &r);
	ck_assert_int_eq(r.id, 42);
	ck_assert_str_eq(r.kind, "exec");
	ck_assert_str_eq(r.name, "build");
	ck_assert_str_eq(r.queue, "default");
	ck_assert_int_eq(r.priority, 5);
	ck_assert_str_eq(r.state, "failed");
	ck_assert_int_eq(r.attempts, 2);
	ck_assert_int_eq(r.submitted_at, v.submitted_at);
	ck_assert_int_eq(r.started_at, v.started_at);
	ck_assert_int_eq(r.finished_at, v.finished_at);
	ck_assert_str_eq(r.error_code, "exit_status");
	ck_assert_str_eq(r.error_message, "exited with status 1");
	ck_assert_str_eq(t = msg_in_text(job, "args", 0), v.args);
	free(t);
	ck_assert_str_eq(t = msg_in_text(job, "result", 0), v.result);
	free(t);
	msg_in_free(in);
	free(text);
}
END_TEST

START_TEST(test_view_without_args_result)
{
	struct msg_view	 v;
	char		*text;

	view_fill(&v);
	text = view_text(&v, 0);
	ck_assert_ptr_null(strstr(text, "\"args\""));
	ck_assert_ptr_null(strstr(text, "\"result\""));
	ck_assert_ptr_nonnull(strstr(text, "\"error\":{"));
	free(text);
}
END_TEST

START_TEST(test_view_result_only)
{
	struct msg_view	 v;
	char		*text;

	view_fill(&v);
	text = view_text(&v, MSG_VIEW_RESULT);
	ck_assert_ptr_null(strstr(text, "\"args\""));
	ck_assert_ptr_nonnull(strstr(text, "\"result\":{\"exit_code\":1}"));
	free(text);
}
END_TEST

START_TEST(test_view_nulls)
{
	struct msg_view	 v, r;
	struct msg_in	*in;
	char		*text;

	view_fill(&v);
	v.name = NULL;
	v.started_at = v.finished_at = -1;
	v.result = NULL;
	v.error_code = v.error_message = NULL;
	v.state = "queued";
	text = view_text(&v, MSG_VIEW_ARGS | MSG_VIEW_RESULT);
	ck_assert_ptr_nonnull(strstr(text, "\"name\":null"));
	ck_assert_ptr_nonnull(strstr(text, "\"started_at\":null"));
	ck_assert_ptr_nonnull(strstr(text, "\"finished_at\":null"));
	ck_assert_ptr_nonnull(strstr(text, "\"result\":null"));
	ck_assert_ptr_nonnull(strstr(text, "\"error\":null"));
	in = parse_ok(text);
	msg_in_view(msg_in_object(in, "job"), &r);
	ck_assert_ptr_null(r.name);
	ck_assert_int_eq(r.submitted_at, v.submitted_at);
	ck_assert_int_eq(r.started_at, -1);
	ck_assert_int_eq(r.finished_at, -1);
	ck_assert_ptr_null(r.error_code);
	ck_assert_ptr_null(r.error_message);
	msg_in_free(in);
	free(text);
}
END_TEST

START_TEST(test_view_error_without_message)
{
	struct msg_view	 v;
	char		*text;

	view_fill(&v);
	v.error_message = NULL;
	text = view_text(&v, 0);
	ck_assert_ptr_nonnull(strstr(text,
	    "\"error\":{\"code\":\"exit_status\",\"message\":\"\"}"));
	free(text);
}
END_TEST

START_TEST(test_view_in_array)
{
	struct msg_out	*o;
	struct msg_in	*in;
	struct msg_view	 v, r;
	char		*text;

	view_fill(&v);
	o = msg_out_new();
	msg_out_array(o, "done");
	msg_out_view(o, NULL, &v, 0);
	v.id = 43;
	msg_out_view(o, NULL, &v, 0);
	msg_out_close(o);
	msg_out_array(o, "pending");
	msg_out_close(o);
	text = msg_out_finish(o, 0);
	in = parse_ok(text);
	ck_assert_uint_eq(msg_in_array_len(in, "done"), 2);
	ck_assert_uint_eq(msg_in_array_len(in, "pending"), 0);
	msg_in_view(msg_in_array_at(in, "done", 1), &r);
	ck_assert_int_eq(r.id, 43);
	msg_in_free(in);
	free(text);
}
END_TEST

/* Limits (msg.h): "[1,1,...]" of n ids, allocated. */
static char *
limit_ids(size_t n)
{
	char	*text;
	size_t	 i;

	text = malloc(2 * n + 2);
	ck_assert_ptr_nonnull(text);
	text[0] = '[';
	for (i = 0; i < n; i++) {
		text[2 * i + 1] = '1';
		text[2 * i + 2] = i + 1 < n ? ',' : ']';
	}
	text[2 * n + 1] = '\0';
	return (text);
}

/* A request built with a format, decoded with every field accepted. */
static int
limit_decode(struct msg_request *req, struct msg_error *err,
    const char *fmt, ...) __attribute__((__format__(__printf__, 3, 4)));

static int
limit_decode(struct msg_request *req, struct msg_error *err,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*text;
	int	 r;

	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&text, fmt, ap), 0);
	va_end(ap);
	r = decode(text, ALL_FIELDS, 0, req, err);
	free(text);
	return (r);
}

/* The error of a refused request names the field and the limit. */
static void
limit_refused(int r, struct msg_request *req, struct msg_error *err,
    const char *field, long long max)
{
	char	 num[32];

	ck_assert_int_eq(r, -1);
	assert_names_field(err, field);
	snprintf(num, sizeof num, "at most %lld", max);
	ck_assert_msg(strstr(err->message, num) != NULL,
	    "message \"%s\" does not say \"%s\"", err->message, num);
	msg_request_clear(req);
}

START_TEST(test_limit_ids)
{
	struct msg_request	 req;
	struct msg_error	 err;
	char			*ids;

	ids = limit_ids(MSG_IDS_MAX);
	ck_assert_int_eq(limit_decode(&req, &err, "{\"op\":\"wait\","
	    "\"ids\":%s}", ids), 0);
	ck_assert_uint_eq(req.nids, MSG_IDS_MAX);
	msg_request_clear(&req);
	free(ids);
	ids = limit_ids(MSG_IDS_MAX + 1);
	limit_refused(limit_decode(&req, &err, "{\"op\":\"wait\",\"ids\":%s}",
	    ids), &req, &err, "ids", MSG_IDS_MAX);
	free(ids);
}
END_TEST

START_TEST(test_limit_jobs)
{
	struct msg_request	 req;
	struct msg_error	 err;
	const char		*spec = "{\"kind\":\"sleep\"},";
	char			*text, *p;
	size_t			 i, n = MSG_JOBS_MAX + 1;

	text = malloc(32 + n * strlen(spec));
	ck_assert_ptr_nonnull(text);
	p = text + sprintf(text, "{\"op\":\"submit\",\"jobs\":[");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s", spec);
	p[-1] = ']';
	sprintf(p, "}");
	ck_assert_int_eq(decode(text, ALL_FIELDS, 0, &req, &err), -1);
	limit_refused(-1, &req, &err, "jobs", MSG_JOBS_MAX);
	/* drop one spec: at the limit */
	p -= strlen(spec);
	sprintf(p - 1, "]}");
	ck_assert_int_eq(decode(text, ALL_FIELDS, 0, &req, &err), 0);
	ck_assert_uint_eq(req.njobs, MSG_JOBS_MAX);
	msg_request_clear(&req);
	free(text);
}
END_TEST

/* after: a submit is held to the limit; a stored spec is not. */
START_TEST(test_limit_after)
{
	struct msg_request	 req;
	struct msg_error	 err;
	struct msg_spec		 s;
	char			*ids, *text;

	ids = limit_ids(MSG_AFTER_MAX);
	ck_assert_int_eq(limit_decode(&req, &err, "{\"op\":\"submit\","
	    "\"job\":{\"kind\":\"sleep\",\"after\":%s}}", ids), 0);
	ck_assert_uint_eq(req.jobs[0].nafter, MSG_AFTER_MAX);
	msg_request_clear(&req);
	free(ids);
	ids = limit_ids(MSG_AFTER_MAX + 1);
	limit_refused(limit_decode(&req, &err, "{\"op\":\"submit\",\"jobs\":"
	    "[{\"kind\":\"sleep\"},{\"kind\":\"sleep\",\"after\":%s}]}", ids),
	    &req, &err, "after", MSG_AFTER_MAX);
	ck_assert_ptr_nonnull(strstr(err.message, "jobs[1]"));
	ck_assert_int_ge(asprintf(&text, "{\"kind\":\"sleep\",\"after\":%s}",
	    ids), 0);
	spec_ok(text, &s);
	ck_assert_uint_eq(s.nafter, MSG_AFTER_MAX + 1);
	msg_spec_clear(&s);
	free(text);
	free(ids);
}
END_TEST

START_TEST(test_limit_args)
{
	struct msg_request	 req;
	struct msg_error	 err;
	struct msg_spec		 s;
	char			*pad, *text;
	size_t			 n = MSG_ARGS_MAX - strlen("{\"p\":\"\"}");

	pad = malloc(n + 2);
	ck_assert_ptr_nonnull(pad);
	memset(pad, 'p', n);
	pad[n] = '\0';
	ck_assert_int_eq(limit_decode(&req, &err, "{\"op\":\"submit\","
	    "\"job\":{\"kind\":\"cpu\",\"args\":{\"p\":\"%s\"}}}", pad), 0);
	ck_assert_uint_eq(strlen(req.jobs[0].args), MSG_ARGS_MAX);
	msg_request_clear(&req);
	pad[n] = 'p';
	pad[n + 1] = '\0';
	limit_refused(limit_decode(&req, &err, "{\"op\":\"submit\","
	    "\"job\":{\"kind\":\"cpu\",\"args\":{\"p\":\"%s\"}}}", pad),
	    &req, &err, "args", MSG_ARGS_MAX);
	ck_assert_int_ge(asprintf(&text, "{\"kind\":\"cpu\",\"args\":"
	    "{\"p\":\"%s\"}}", pad), 0);
	spec_ok(text, &s);
	msg_spec_clear(&s);
	free(text);
	free(pad);
}
END_TEST

/* Strings of a request and a spec: at the limit, and one byte over. */
static const struct {
	const char	*before;	/* the request is before STRING after */
	const char	*after;
	const char	*field;
	int		 max;
} limit_strings[] = {
	{ "{\"op\":\"ping\",\"token\":\"", "\"}", "token", MSG_TOKEN_MAX },
	{ "{\"op\":\"submit\",\"job\":{\"kind\":\"", "\"}}", "kind",
	  MSG_KIND_MAX },
	{ "{\"op\":\"submit\",\"job\":{\"kind\":\"s\",\"name\":\"", "\"}}",
	  "name", MSG_NAME_MAX },
	{ "{\"op\":\"submit\",\"job\":{\"kind\":\"s\",\"queue\":\"", "\"}}",
	  "queue", MSG_QUEUE_MAX },
	{ "{\"op\":\"submit\",\"job\":{\"kind\":\"s\",\"lock\":\"", "\"}}",
	  "lock", MSG_LOCK_MAX },
	{ "{\"op\":\"submit\",\"job\":{\"kind\":\"s\",\"key\":\"", "\"}}",
	  "key", MSG_KEY_MAX },
	{ "{\"op\":\"queue\",\"action\":\"pause\",\"name\":\"", "\"}", "name",
	  MSG_QUEUE_MAX },
	{ "{\"op\":\"list\",\"queue\":\"", "\"}", "queue", MSG_QUEUE_MAX },
};

START_TEST(test_limit_string)
{
	struct msg_request	 req;
	struct msg_error	 err;
	char			 str[MSG_TOKEN_MAX + 2];
	int			 max = limit_strings[_i].max;

	memset(str, 'a', (size_t)max);
	str[max] = '\0';
	ck_assert_msg(limit_decode(&req, &err, "%s%s%s",
	    limit_strings[_i].before, str, limit_strings[_i].after) == 0,
	    "%s at its limit refused: %s", limit_strings[_i].field,
	    err.message);
	msg_request_clear(&req);
	str[max] = 'a';
	str[max + 1] = '\0';
	limit_refused(limit_decode(&req, &err, "%s%s%s",
	    limit_strings[_i].before, str, limit_strings[_i].after), &req,
	    &err, limit_strings[_i].field, max);
}
END_TEST

/* {"a":[[...]]}: an object around k arrays, 1 + k levels. */
static char *
limit_nested(size_t k)
{
	char	*text;

	text = malloc(2 * k + 8);
	ck_assert_ptr_nonnull(text);
	memcpy(text, "{\"a\":", 5);
	memset(text + 5, '[', k);
	memset(text + 5 + k, ']', k);
	strcpy(text + 5 + 2 * k, "}");
	return (text);
}

/* JSON nesting: MSG_DEPTH_MAX levels parse, one more is refused. */
START_TEST(test_limit_depth)
{
	struct msg_error	 err;
	char			*text;

	text = limit_nested(MSG_DEPTH_MAX - 1);
	msg_in_free(parse_ok(text));
	free(text);
	text = limit_nested(MSG_DEPTH_MAX);
	memset(&err, 0, sizeof err);
	ck_assert_ptr_null(msg_in_parse(text, strlen(text), &err));
	ck_assert_str_eq(err.code, MSG_E_BAD_REQUEST);
	ck_assert_msg(strstr(err.message, "1000") != NULL, "message \"%s\"",
	    err.message);
	free(text);
}
END_TEST

/* args: MSG_ARGS_DEPTH_MAX levels (with its own object) and one more. */
START_TEST(test_limit_args_depth)
{
	struct msg_request	 req;
	struct msg_error	 err;
	char			*args;

	/* limit_nested(k) is {"a":[...]}: 1 + k levels */
	args = limit_nested(MSG_ARGS_DEPTH_MAX - 1);
	ck_assert_int_eq(limit_decode(&req, &err, "{\"op\":\"submit\","
	    "\"job\":{\"kind\":\"cpu\",\"args\":%s}}", args), 0);
	msg_request_clear(&req);
	free(args);
	args = limit_nested(MSG_ARGS_DEPTH_MAX);
	limit_refused(limit_decode(&req, &err, "{\"op\":\"submit\","
	    "\"job\":{\"kind\":\"cpu\",\"args\":%s}}", args), &req, &err,
	    "args", MSG_ARGS_DEPTH_MAX);
	free(args);
}
END_TEST

static Suite *
msg_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("msg");

	tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_object);
	tcase_add_test(tc, test_parse_empty);
	tcase_add_test(tc, test_parse_not_json);
	tcase_add_test(tc, test_parse_trailing_garbage);
	tcase_add_loop_test(tc, test_parse_not_object, 0,
	    sizeof not_objects / sizeof not_objects[0]);
	tcase_add_test(tc, test_parse_trailing_nul);
	tcase_add_test(tc, test_parse_trailing_newline);
	tcase_add_test(tc, test_parse_newline_and_nul);
	tcase_add_test(tc, test_parse_whitespace);
	tcase_add_test(tc, test_parse_embedded_nul);
	tcase_add_test(tc, test_parse_not_nul_terminated);
	suite_add_tcase(s, tc);

	tc = tcase_create("in");
	tcase_add_test(tc, test_in_readers);
	tcase_add_test(tc, test_in_wrong_types);
	tcase_add_test(tc, test_in_int_limits);
	tcase_add_test(tc, test_in_arrays);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_test(tc, test_op_ok);
	tcase_add_test(tc, test_op_missing);
	tcase_add_test(tc, test_op_null);
	tcase_add_test(tc, test_op_not_string);
	tcase_add_loop_test(tc, test_decode_bad_field, 0,
	    sizeof bad_fields / sizeof bad_fields[0]);
	tcase_add_test(tc, test_decode_job_not_object);
	tcase_add_test(tc, test_decode_unaccepted_refused);
	tcase_add_test(tc, test_decode_unaccepted_beside_accepted);
	tcase_add_test(tc, test_decode_unknown_fields);
	tcase_add_test(tc, test_decode_version);
	tcase_add_test(tc, test_request_op_version_first);
	tcase_add_test(tc, test_decode_required_missing);
	tcase_add_test(tc, test_decode_required_names_op);
	tcase_add_test(tc, test_decode_null_is_absent);
	tcase_add_test(tc, test_decode_wait);
	tcase_add_test(tc, test_decode_return_when_values);
	tcase_add_test(tc, test_decode_list);
	tcase_add_test(tc, test_decode_queue_op);
	tcase_add_test(tc, test_decode_rate_zero);
	tcase_add_test(tc, test_decode_int_limits);
	tcase_add_test(tc, test_decode_single_job);
	tcase_add_test(tc, test_decode_batch);
	tcase_add_test(tc, test_decode_batch_bad_third);
	tcase_add_test(tc, test_decode_batch_not_object);
	tcase_add_test(tc, test_decode_job_and_jobs);
	tcase_add_test(tc, test_decode_null_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("spec");
	tcase_add_loop_test(tc, test_spec_bad_field, 0,
	    sizeof bad_specs / sizeof bad_specs[0]);
	tcase_add_test(tc, test_spec_name_too_long);
	tcase_add_test(tc, test_spec_name_at_limit);
	tcase_add_test(tc, test_spec_not_object);
	tcase_add_test(tc, test_spec_defaults);
	tcase_add_test(tc, test_spec_null_is_absent);
	tcase_add_test(tc, test_spec_all_fields);
	tcase_add_test(tc, test_spec_unknown_fields);
	tcase_add_test(tc, test_spec_clear_twice);
	suite_add_tcase(s, tc);

	tc = tcase_create("encode");
	tcase_add_test(tc, test_encode_equal_specs);
	tcase_add_test(tc, test_encode_explicit_defaults);
	tcase_add_test(tc, test_encode_different_specs);
	tcase_add_test(tc, test_encode_with_key);
	tcase_add_test(tc, test_store_text_same);
	tcase_add_test(tc, test_store_text_short);
	tcase_add_test(tc, test_encode_roundtrip);
	tcase_add_test(tc, test_encode_roundtrip_minimal);
	tcase_add_test(tc, test_encode_int_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("out");
	tcase_add_test(tc, test_out_nested);
	tcase_add_test(tc, test_out_read_back);
	tcase_add_test(tc, test_out_int_limits);
	tcase_add_test(tc, test_out_int_extremes);
	tcase_add_test(tc, test_out_close_at_top);
	tcase_add_test(tc, test_out_raw);
	tcase_add_test(tc, test_out_raw_bad);
	tcase_add_test(tc, test_out_raw_trailing);
	tcase_add_test(tc, test_error_reply);
	tcase_add_test(tc, test_error_set_truncates);
	tcase_add_test(tc, test_view_full);
	tcase_add_test(tc, test_view_without_args_result);
	tcase_add_test(tc, test_view_result_only);
	tcase_add_test(tc, test_view_nulls);
	tcase_add_test(tc, test_view_error_without_message);
	tcase_add_test(tc, test_view_in_array);
	tcase_add_loop_test(tc, test_out_as_cjson, 0, 20);
	tcase_add_test(tc, test_out_double_as_cjson);
	tcase_add_test(tc, test_compact_deep);
	tcase_add_test(tc, test_out_dropped);
	tcase_add_test(tc, test_out_depth);
	tcase_add_test_raise_signal(tc, test_out_depth_abort, SIGABRT);
	tcase_add_test(tc, test_out_raw_deep);
	tcase_add_test(tc, test_json_compact);
	tcase_add_test(tc, test_out_json);
	tcase_add_test(tc, test_view_output_head);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("strict");
	tcase_add_test(tc, test_strict_nul);
	tcase_add_test(tc, test_strict_escaped_backslash);
	tcase_add_test(tc, test_strict_duplicates);
	tcase_add_test(tc, test_strict_accepts);
	tcase_add_test(tc, test_strict_unknown);
	tcase_add_test(tc, test_strict_text);
	tcase_add_test(tc, test_strict_spec_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_limit_ids);
	tcase_add_test(tc, test_limit_jobs);
	tcase_add_test(tc, test_limit_after);
	tcase_add_test(tc, test_limit_args);
	tcase_add_loop_test(tc, test_limit_string, 0,
	    sizeof limit_strings / sizeof limit_strings[0]);
	tcase_add_test(tc, test_limit_depth);
	tcase_add_test(tc, test_limit_args_depth);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(msg_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
