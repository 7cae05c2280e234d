/*
 * The protocol module, reading: a message is parsed into a struct msg_in
 * (a cJSON node in disguise) and read with typed getters whose errors name
 * the field. The only cJSON users are msg_in.c, msg_request.c and msg_out.c.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "msg_private.h"
#include "xmalloc.h"

#if CJSON_NESTING_LIMIT != MSG_DEPTH_MAX
#error "MSG_DEPTH_MAX must be cJSON's nesting limit"
#endif

void
msg_error_set(struct msg_error *err, const char *code, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL)
		return;
	snprintf(err->code, sizeof err->code, "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
}

/* Add text to the end of an error's message. */
void
msg_error_append(struct msg_error *err, const char *text)
{
	size_t	 len;

	if (err == NULL)
		return;
	len = strlen(err->message);
	snprintf(err->message + len, sizeof err->message - len, "%s", text);
}

/*
 * The length of the well-formed UTF-8 character at p (no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 if there is none.
 */
size_t
msg_utf8_char(const unsigned char *p, size_t left)
{
	unsigned int	 c;
	size_t		 n, i;

	if (*p < 0x80)
		return (1);
	if (*p >= 0xc2 && *p <= 0xdf)
		n = 1, c = *p & 0x1f;
	else if (*p >= 0xe0 && *p <= 0xef)
		n = 2, c = *p & 0x0f;
	else if (*p >= 0xf0 && *p <= 0xf4)
		n = 3, c = *p & 0x07;
	else
		return (0);
	if (left <= n)
		return (0);
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (n == 3 && (c < 0x10000 || c > 0x10ffff)))
		return (0);
	return (n + 1);
}

/* Whether buf holds well-formed UTF-8. */
int
msg_utf8_valid(const unsigned char *p, size_t len)
{
	const unsigned char	*end = p + len;
	size_t			 n;

	while (p < end) {
		if ((n = msg_utf8_char(p, (size_t)(end - p))) == 0)
			return (0);
		p += n;
	}
	return (1);
}

/*
 * How deep JSON text nests arrays and objects (0 for a scalar), counted on
 * the text: for limits, and to say why a parse failed.
 */
size_t
msg_json_depth(const char *buf, size_t len)
{
	size_t	 i, depth = 0, max = 0;
	int	 in_string = 0;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if (buf[i] == '\\')
				i++;
			else if (buf[i] == '"')
				in_string = 0;
		} else if (buf[i] == '"')
			in_string = 1;
		else if (buf[i] == '[' || buf[i] == '{') {
			if (++depth > max)
				max = depth;
		} else if ((buf[i] == ']' || buf[i] == '}') && depth > 0)
			depth--;
	}
	return (max);
}

/* Parse one JSON object; a single trailing NUL or newline is tolerated. */
struct msg_in *
msg_in_parse(const char *buf, size_t len, struct msg_error *err)
{
	cJSON		*j;
	const char	*end;

	if (len > 0 && (buf[len - 1] == '\0' || buf[len - 1] == '\n'))
		len--;
	if (len == 0 || memchr(buf, '\0', len) != NULL) {
		msg_error_set(err, MSG_E_BAD_REQUEST, "not JSON: %s",
		    len == 0 ? "empty message" : "message contains NUL bytes");
		return (NULL);
	}
	if (!msg_utf8_valid((const unsigned char *)buf, len)) {
		msg_error_set(err, MSG_E_BAD_REQUEST, "not UTF-8");
		return (NULL);
	}
	j = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (j == NULL && msg_json_depth(buf, len) > MSG_DEPTH_MAX) {
		msg_error_set(err, MSG_E_BAD_REQUEST, "not JSON: arrays and "
		    "objects nest deeper than the limit of %d levels",
		    MSG_DEPTH_MAX);
		return (NULL);
	}
	if (j == NULL) {
		msg_error_set(err, MSG_E_BAD_REQUEST, "not JSON: syntax error "
		    "at byte %zu", (size_t)(cJSON_GetErrorPtr() != NULL ?
		    cJSON_GetErrorPtr() - buf : 0));
		return (NULL);
	}
	while (end < buf + len && strchr(" \t\r\n", *end) != NULL)
		end++;
	if (end != buf + len) {
		cJSON_Delete(j);
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "not JSON: trailing data at byte %zu", (size_t)(end - buf));
		return (NULL);
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "the message must be a JSON object");
		return (NULL);
	}
	return (IN(j));
}

void
msg_in_free(struct msg_in *in)
{
	cJSON_Delete(J(in));
}

/* A member, or NULL when absent or null: null counts as absent. */
cJSON *
msg_in_get(struct msg_in *in, const char *key)
{
	cJSON	*j;

	if (in == NULL)
		return (NULL);
	j = cJSON_GetObjectItemCaseSensitive(J(in), key);
	if (j == NULL || cJSON_IsNull(j))
		return (NULL);
	return (j);
}

int
msg_in_has(struct msg_in *in, const char *key)
{
	return (msg_in_get(in, key) != NULL);
}

int
msg_is_int(cJSON *j)
{
	double	 d;

	if (!cJSON_IsNumber(j))
		return (0);
	d = j->valuedouble;
	return (isfinite(d) && floor(d) == d && fabs(d) <= MSG_INT_MAX);
}

/* Readers return 1 when found, 0 when absent, -1 on a wrong type. */
int
msg_in_int(struct msg_in *in, const char *key, int64_t *v,
    struct msg_error *err)
{
	cJSON	*j;

	if ((j = msg_in_get(in, key)) == NULL)
		return (0);
	if (!msg_is_int(j)) {
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "field '%s' must be an integer", key);
		return (-1);
	}
	*v = (int64_t)j->valuedouble;
	return (1);
}

int
msg_in_double(struct msg_in *in, const char *key, double *v,
    struct msg_error *err)
{
	cJSON	*j;

	if ((j = msg_in_get(in, key)) == NULL)
		return (0);
	if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble)) {
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "field '%s' must be a number", key);
		return (-1);
	}
	*v = j->valuedouble;
	return (1);
}

int
msg_in_bool(struct msg_in *in, const char *key, int *v, struct msg_error *err)
{
	cJSON	*j;

	if ((j = msg_in_get(in, key)) == NULL)
		return (0);
	if (!cJSON_IsBool(j)) {
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "field '%s' must be true or false", key);
		return (-1);
	}
	*v = cJSON_IsTrue(j);
	return (1);
}

int
msg_in_string(struct msg_in *in, const char *key, const char **v,
    struct msg_error *err)
{
	cJSON	*j;

	if ((j = msg_in_get(in, key)) == NULL)
		return (0);
	if (!cJSON_IsString(j)) {
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "field '%s' must be a string", key);
		return (-1);
	}
	*v = j->valuestring;
	return (1);
}

/* A member object (borrowed), or NULL when absent or not an object. */
struct msg_in *
msg_in_object(struct msg_in *in, const char *key)
{
	cJSON	*j = msg_in_get(in, key);

	return (cJSON_IsObject(j) ? IN(j) : NULL);
}

size_t
msg_in_array_len(struct msg_in *in, const char *key)
{
	cJSON	*j = msg_in_get(in, key);

	return (cJSON_IsArray(j) ? (size_t)cJSON_GetArraySize(j) : 0);
}

/*
 * Element i of an array: a walk from the first, so loops over an array go
 * msg_in_array_at(in, key, 0) then msg_in_next.
 */
struct msg_in *
msg_in_array_at(struct msg_in *in, const char *key, size_t i)
{
	cJSON	*j = msg_in_get(in, key);

	if (!cJSON_IsArray(j))
		return (NULL);
	return (IN(cJSON_GetArrayItem(j, (int)i)));
}

int
msg_in_array_int(struct msg_in *in, const char *key, size_t i, int64_t *v)
{
	cJSON	*j = J(msg_in_array_at(in, key, i));

	if (!msg_is_int(j))
		return (-1);
	*v = (int64_t)j->valuedouble;
	return (0);
}

const char *
msg_in_array_string(struct msg_in *in, const char *key, size_t i)
{
	cJSON	*j = J(msg_in_array_at(in, key, i));

	return (cJSON_IsString(j) ? j->valuestring : NULL);
}

/* Iterate over the members of an object or the elements of an array. */
struct msg_in *
msg_in_first(struct msg_in *in)
{
	return (in == NULL ? NULL : IN(J(in)->child));
}

struct msg_in *
msg_in_next(struct msg_in *in)
{
	return (in == NULL ? NULL : IN(J(in)->next));
}

const char *
msg_in_key(struct msg_in *in)
{
	return (J(in)->string);
}

/* The integer a node holds (an array element, a member): 0, or -1. */
int
msg_in_value_int(struct msg_in *in, int64_t *v)
{
	if (in == NULL || !msg_is_int(J(in)))
		return (-1);
	*v = (int64_t)J(in)->valuedouble;
	return (0);
}

/* The string a node holds (an array element, a member), or NULL. */
const char *
msg_in_value_string(struct msg_in *in)
{
	return (cJSON_IsString(J(in)) ? J(in)->valuestring : NULL);
}

/* A member as JSON text (NULL when absent), pretty-printed or compact. */
char *
msg_in_text(struct msg_in *in, const char *key, int pretty)
{
	cJSON	*j = key == NULL ? J(in) : msg_in_get(in, key);
	char	*s, *copy;

	if (j == NULL)
		return (NULL);
	s = pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
	if (s == NULL)
		return (NULL);
	copy = xstrdup(s);
	cJSON_free(s);
	return (copy);
}

/*
 * Bytes sent as the string key or, when they are not text, as base64 in
 * key_base64 (msg_out_output): a new buffer in *buf (NUL-terminated, *len
 * without it). 1 when found, 0 when neither is there, -1 when both are,
 * or one is not a string, or the base64 is bad; err names the field of
 * the args of kind.
 */
int
msg_in_output(struct msg_in *in, const char *key, const char *kind,
    char **buf, size_t *len, struct msg_error *err)
{
	char		 key64[64];
	const char	*s = NULL, *s64 = NULL, *bad = NULL;
	int		 r, r64 = 0;

	snprintf(key64, sizeof key64, "%s_base64", key);
	if ((r = msg_in_string(in, key, &s, NULL)) == -1)
		bad = key;
	else if ((r64 = msg_in_string(in, key64, &s64, NULL)) == -1)
		bad = key64;
	if (bad != NULL) {
		msg_error_set(err, MSG_E_BAD_REQUEST, "%s: field '%s' of "
		    "'args' must be a string", kind, bad);
		return (-1);
	}
	if (r == 1 && r64 == 1) {
		msg_error_set(err, MSG_E_BAD_REQUEST, "%s: fields '%s' and "
		    "'%s' of 'args' exclude each other: give one", kind, key,
		    key64);
		return (-1);
	}
	if (r == 1) {
		*buf = xstrdup(s);
		*len = strlen(s);
		return (1);
	}
	if (r64 == 0)
		return (0);
	if (base64_decode(s64, strlen(s64), buf, len) != 0) {
		msg_error_set(err, MSG_E_BAD_REQUEST, "%s: field '%s' of "
		    "'args' must be base64 (RFC 4648, padded)", kind, key64);
		return (-1);
	}
	return (1);
}

const char *
msg_in_str_or_null(struct msg_in *in, const char *key)
{
	const char	*s = NULL;

	msg_in_string(in, key, &s, NULL);
	return (s);
}

static int64_t
msg_in_int_or(struct msg_in *in, const char *key, int64_t dflt)
{
	int64_t	 v;

	return (msg_in_int(in, key, &v, NULL) == 1 ? v : dflt);
}

/* Fill a view from a job object of a reply; args and result stay NULL. */
void
msg_in_view(struct msg_in *in, struct msg_view *v)
{
	struct msg_in	*e;

	memset(v, 0, sizeof *v);
	v->id = msg_in_int_or(in, "id", 0);
	v->kind = msg_in_str_or_null(in, "kind");
	v->name = msg_in_str_or_null(in, "name");
	v->queue = msg_in_str_or_null(in, "queue");
	v->owner = msg_in_str_or_null(in, "owner");
	v->priority = msg_in_int_or(in, "priority", 0);
	v->state = msg_in_str_or_null(in, "state");
	v->attempts = msg_in_int_or(in, "attempts", 0);
	v->submitted_at = msg_in_int_or(in, "submitted_at", -1);
	v->started_at = msg_in_int_or(in, "started_at", -1);
	v->finished_at = msg_in_int_or(in, "finished_at", -1);
	v->waiting_for = msg_in_str_or_null(in, "waiting_for");
	if ((e = msg_in_object(in, "error")) != NULL) {
		v->error_code = msg_in_str_or_null(e, "code");
		v->error_message = msg_in_str_or_null(e, "message");
	}
}
