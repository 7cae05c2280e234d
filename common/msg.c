/*
 * The wire protocol. Requests are decoded into plain structs whose strings
 * they own; replies are built with a small nesting builder; replies are read
 * through struct msg_in, which is a cJSON node in disguise. Nothing outside
 * this file sees cJSON.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "msg.h"
#include "xmalloc.h"

#define MSG_OUT_DEPTH	16

struct msg_out {
	cJSON	*stack[MSG_OUT_DEPTH];
	int	 depth;
};

static const char *msg_states[] = {
	"queued", "running", "succeeded", "failed", "cancelled", NULL
};
static const char *msg_return_whens[] = {
	"ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION", NULL
};
static const char *msg_actions[] = { "pause", "resume", "set", NULL };

#define J(in)	((cJSON *)(in))
#define IN(j)	((struct msg_in *)(j))

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

/* Whether buf holds well-formed UTF-8 (no overlongs, no surrogates). */
static int
msg_utf8_valid(const unsigned char *p, size_t len)
{
	const unsigned char	*end = p + len;
	unsigned int		 c;
	int			 n, i;

	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1, c = *p & 0x1f;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2, c = *p & 0x0f;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3, c = *p & 0x07;
		else
			return (0);
		if (end - p <= n)
			return (0);
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return (0);
			c = (c << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
		    (n == 3 && (c < 0x10000 || c > 0x10ffff)))
			return (0);
		p += n + 1;
	}
	return (1);
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
static cJSON *
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

static int
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

static const char *
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
	v->priority = msg_in_int_or(in, "priority", 0);
	v->state = msg_in_str_or_null(in, "state");
	v->attempts = msg_in_int_or(in, "attempts", 0);
	v->submitted_at = msg_in_int_or(in, "submitted_at", -1);
	v->started_at = msg_in_int_or(in, "started_at", -1);
	v->finished_at = msg_in_int_or(in, "finished_at", -1);
	if ((e = msg_in_object(in, "error")) != NULL) {
		v->error_code = msg_in_str_or_null(e, "code");
		v->error_message = msg_in_str_or_null(e, "message");
	}
}

static int
msg_in_enum(struct msg_in *in, const char *key, const char **names,
    int *idx, struct msg_error *err)
{
	const char	*s;
	int		 i, r;

	if ((r = msg_in_string(in, key, &s, err)) != 1)
		return (r);
	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(s, names[i]) == 0) {
			*idx = i;
			return (1);
		}
	}
	msg_error_set(err, MSG_E_BAD_REQUEST, "field '%s': unknown value "
	    "'%.64s'", key, s);
	return (-1);
}

/* An integer that must be >= min. */
static int
msg_in_int_min(struct msg_in *in, const char *key, int64_t min, int64_t *v,
    struct msg_error *err)
{
	int	 r;

	if ((r = msg_in_int(in, key, v, err)) != 1)
		return (r);
	if (*v < min) {
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "field '%s' must be at least %lld", key, (long long)min);
		return (-1);
	}
	return (1);
}

/* A string of 1 to max bytes, copied. */
static int
msg_in_name(struct msg_in *in, const char *key, size_t max, char **v,
    struct msg_error *err)
{
	const char	*s;
	int		 r;

	if ((r = msg_in_string(in, key, &s, err)) != 1)
		return (r);
	if (*s == '\0' || strlen(s) > max) {
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "field '%s' must be 1 to %zu bytes long", key, max);
		return (-1);
	}
	*v = xstrdup(s);
	return (1);
}

/* An array of positive integers (job ids), copied. */
static int
msg_in_ids(struct msg_in *in, const char *key, int64_t **ids, size_t *n,
    struct msg_error *err)
{
	cJSON	*j, *e;
	size_t	 i = 0;

	if ((j = msg_in_get(in, key)) == NULL)
		return (0);
	if (!cJSON_IsArray(j))
		goto bad;
	cJSON_ArrayForEach(e, j) {
		if (!msg_is_int(e) || e->valuedouble < 1)
			goto bad;
	}
	*n = (size_t)cJSON_GetArraySize(j);
	*ids = xcalloc(*n, sizeof **ids);
	cJSON_ArrayForEach(e, j)
		(*ids)[i++] = (int64_t)e->valuedouble;
	return (1);
bad:
	msg_error_set(err, MSG_E_BAD_REQUEST,
	    "field '%s' must be an array of job ids (positive integers)", key);
	return (-1);
}

/* Decode a job spec; the error message names the field. */
int
msg_spec_decode(struct msg_in *in, struct msg_spec *s, struct msg_error *err)
{
	cJSON	*args;
	char	*text;

	memset(s, 0, sizeof *s);
	s->retry_backoff_ms = 1000;
	if (!cJSON_IsObject(J(in))) {
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "a job spec must be an object");
		return (-1);
	}
	if (msg_in_name(in, "kind", 64, &s->kind, err) != 1) {
		if (s->kind == NULL && msg_in_has(in, "kind") == 0)
			msg_error_set(err, MSG_E_BAD_REQUEST,
			    "field 'kind' is required");
		goto fail;
	}
	if ((args = msg_in_get(in, "args")) != NULL && !cJSON_IsObject(args)) {
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "field 'args' must be an object");
		goto fail;
	}
	if (args == NULL)
		s->args = xstrdup("{}");
	else {
		if ((text = cJSON_PrintUnformatted(args)) == NULL) {
			msg_error_set(err, MSG_E_INTERNAL, "out of memory");
			goto fail;
		}
		s->args = xstrdup(text);
		cJSON_free(text);
	}
	if (msg_in_name(in, "name", MSG_NAME_MAX, &s->name, err) == -1 ||
	    msg_in_name(in, "queue", MSG_QUEUE_MAX, &s->queue, err) == -1 ||
	    msg_in_int(in, "priority", &s->priority, err) == -1 ||
	    msg_in_int_min(in, "delay_ms", 0, &s->delay_ms, err) == -1 ||
	    msg_in_int_min(in, "timeout_ms", 0, &s->timeout_ms, err) == -1 ||
	    msg_in_int_min(in, "retries", 0, &s->retries, err) == -1 ||
	    msg_in_int_min(in, "retry_backoff_ms", 0, &s->retry_backoff_ms,
	    err) == -1 ||
	    msg_in_ids(in, "after", &s->after, &s->nafter, err) == -1 ||
	    msg_in_name(in, "lock", MSG_QUEUE_MAX, &s->lock, err) == -1 ||
	    msg_in_bool(in, "shield", &s->shield, err) == -1 ||
	    msg_in_name(in, "key", MSG_NAME_MAX, &s->key, err) == -1)
		goto fail;
	if (s->queue == NULL)
		s->queue = xstrdup("default");
	return (0);
fail:
	msg_spec_clear(s);
	return (-1);
}

void
msg_spec_clear(struct msg_spec *s)
{
	free(s->kind);
	free(s->args);
	free(s->name);
	free(s->queue);
	free(s->after);
	free(s->lock);
	free(s->key);
	memset(s, 0, sizeof *s);
}

/* Canonical JSON of a spec: equal specs encode to equal text. */
char *
msg_spec_encode(const struct msg_spec *s, int with_key)
{
	struct msg_out	*o;
	size_t		 i;

	o = msg_out_new();
	msg_out_string(o, "kind", s->kind);
	msg_out_raw(o, "args", s->args);
	msg_out_string(o, "name", s->name);
	msg_out_string(o, "queue", s->queue);
	msg_out_int(o, "priority", s->priority);
	msg_out_int(o, "delay_ms", s->delay_ms);
	msg_out_int(o, "timeout_ms", s->timeout_ms);
	msg_out_int(o, "retries", s->retries);
	msg_out_int(o, "retry_backoff_ms", s->retry_backoff_ms);
	msg_out_array(o, "after");
	for (i = 0; i < s->nafter; i++)
		msg_out_int(o, NULL, s->after[i]);
	msg_out_close(o);
	msg_out_string(o, "lock", s->lock);
	msg_out_bool(o, "shield", s->shield);
	if (with_key)
		msg_out_string(o, "key", s->key);
	return (msg_out_finish(o, 0));
}

/* Decode a spec from JSON text, as msg_spec_encode wrote it. */
int
msg_spec_parse(const char *text, struct msg_spec *s, struct msg_error *err)
{
	struct msg_in	*in;
	int		 r;

	if ((in = msg_in_parse(text, strlen(text), err)) == NULL)
		return (-1);
	r = msg_spec_decode(in, s, err);
	msg_in_free(in);
	return (r);
}

/*
 * Decode the specs of a file: one spec object, or an array of them (array
 * set). Errors name the index. The caller frees each spec and the array.
 */
int
msg_specs_parse(const char *buf, size_t len, struct msg_spec **specs,
    size_t *n, int *array, struct msg_error *err)
{
	cJSON		*j, *e;
	const char	*end;
	char		 where[48];
	size_t		 i = 0;

	*specs = NULL;
	*n = 0;
	if (!msg_utf8_valid((const unsigned char *)buf, len) ||
	    memchr(buf, '\0', len) != NULL ||
	    (j = cJSON_ParseWithLengthOpts(buf, len, &end, 0)) == NULL) {
		msg_error_set(err, MSG_E_BAD_REQUEST, "not JSON (or not UTF-8)");
		return (-1);
	}
	while (end < buf + len && strchr(" \t\r\n", *end) != NULL)
		end++;
	if (end != buf + len || (cJSON_IsArray(j) &&
	    cJSON_GetArraySize(j) == 0) || (!cJSON_IsArray(j) &&
	    !cJSON_IsObject(j))) {
		msg_error_set(err, MSG_E_BAD_REQUEST, "expected one job spec "
		    "object or a non-empty array of them");
		cJSON_Delete(j);
		return (-1);
	}
	*array = cJSON_IsArray(j);
	*n = *array ? (size_t)cJSON_GetArraySize(j) : 1;
	*specs = xcalloc(*n, sizeof **specs);
	for (e = *array ? j->child : j; e != NULL && i < *n; e = e->next, i++) {
		if (msg_spec_decode(IN(e), &(*specs)[i], err) == 0)
			continue;
		if (*array) {
			snprintf(where, sizeof where, " (in jobs[%zu])", i);
			msg_error_append(err, where);
		}
		while (i > 0)
			msg_spec_clear(&(*specs)[--i]);
		free(*specs);
		*specs = NULL;
		*n = 0;
		cJSON_Delete(j);
		return (-1);
	}
	cJSON_Delete(j);
	return (0);
}

/* The op of a request: a required string. */
const char *
msg_request_op(struct msg_in *in, struct msg_error *err)
{
	const char	*op;

	switch (msg_in_string(in, "op", &op, err)) {
	case 1:
		return (op);
	case 0:
		msg_error_set(err, MSG_E_BAD_REQUEST, "field 'op' is required");
		break;
	}
	return (NULL);
}

static int
msg_decode_specs(struct msg_in *in, const char *key, struct msg_request *req,
    struct msg_error *err)
{
	cJSON	*j = msg_in_get(in, key), *e;
	char	 where[48];
	size_t	 n;

	if (j == NULL)
		return (0);
	if (req->jobs != NULL) {
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "give either field 'job' or field 'jobs', not both");
		return (-1);
	}
	if (strcmp(key, "job") == 0) {
		req->jobs = xcalloc(1, sizeof *req->jobs);
		req->njobs = 1;
		if (msg_spec_decode(IN(j), &req->jobs[0], err) == 0)
			return (1);
		msg_error_append(err, " (in 'job')");
		return (-1);
	}
	if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) == 0) {
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "field 'jobs' must be a non-empty array of job specs");
		return (-1);
	}
	req->jobs = xcalloc(cJSON_GetArraySize(j), sizeof *req->jobs);
	n = 0;
	cJSON_ArrayForEach(e, j) {
		if (msg_spec_decode(IN(e), &req->jobs[n], err) != 0) {
			snprintf(where, sizeof where, " (in jobs[%zu])", n);
			msg_error_append(err, where);
			return (-1);
		}
		req->njobs = ++n;
	}
	return (1);
}

static int
msg_decode_field(struct msg_in *in, unsigned int bit, struct msg_request *req,
    struct msg_error *err)
{
	int	 r;

	switch (bit) {
	case MSG_F_JOB:
		return (msg_decode_specs(in, "job", req, err));
	case MSG_F_JOBS:
		return (msg_decode_specs(in, "jobs", req, err));
	case MSG_F_GROUP:
		return (msg_in_bool(in, "group", &req->group, err));
	case MSG_F_ID:
		return (msg_in_int_min(in, "id", 1, &req->id, err));
	case MSG_F_IDS:
		r = msg_in_ids(in, "ids", &req->ids, &req->nids, err);
		if (r == 1 && req->nids == 0) {
			msg_error_set(err, MSG_E_BAD_REQUEST,
			    "field 'ids' must not be empty");
			return (-1);
		}
		return (r);
	case MSG_F_STATE:
		if ((r = msg_in_enum(in, "state", msg_states, &r, err)) == 1)
			req->state = xstrdup(msg_in_str_or_null(in, "state"));
		return (r);
	case MSG_F_QUEUE:
		return (msg_in_name(in, "queue", MSG_QUEUE_MAX, &req->queue,
		    err));
	case MSG_F_LIMIT:
		return (msg_in_int_min(in, "limit", 0, &req->limit, err));
	case MSG_F_BEFORE_ID:
		return (msg_in_int_min(in, "before_id", 1, &req->before_id,
		    err));
	case MSG_F_RETURN_WHEN:
		return (msg_in_enum(in, "return_when", msg_return_whens,
		    &req->return_when, err));
	case MSG_F_TIMEOUT_MS:
		return (msg_in_int_min(in, "timeout_ms", 0, &req->timeout_ms,
		    err));
	case MSG_F_NAME:
		return (msg_in_name(in, "name", MSG_QUEUE_MAX, &req->name,
		    err));
	case MSG_F_ACTION:
		if ((r = msg_in_enum(in, "action", msg_actions, &r, err)) == 1)
			req->action = xstrdup(msg_in_str_or_null(in, "action"));
		return (r);
	case MSG_F_RATE:
		if ((r = msg_in_double(in, "rate", &req->rate, err)) == 1 &&
		    req->rate < 0) {
			msg_error_set(err, MSG_E_BAD_REQUEST,
			    "field 'rate' must not be negative");
			return (-1);
		}
		return (r);
	}
	return (0);
}

static const char *
msg_field_name(unsigned int bit)
{
	static const char *names[] = {
		"job", "jobs", "group", "id", "ids", "state", "queue",
		"limit", "before_id", "return_when", "timeout_ms", "name",
		"action", "rate"
	};
	int	 i;

	for (i = 0; (1u << i) != bit; i++)
		;
	return (names[i]);
}

/*
 * Decode the fields an op accepts; fields it does not know are ignored,
 * fields it requires must be there.
 */
int
msg_request_decode(struct msg_in *in, unsigned int accept, unsigned int need,
    struct msg_request *req, struct msg_error *err)
{
	const char	*op, *token;
	unsigned int	 bit;
	int		 r;

	memset(req, 0, sizeof *req);
	if ((op = msg_request_op(in, err)) == NULL)
		return (-1);
	req->op = xstrdup(op);
	if (msg_in_string(in, "token", &token, err) == -1)
		return (-1);
	if (msg_in_has(in, "token"))
		req->token = xstrdup(token);
	for (bit = 1; bit <= MSG_F_RATE; bit <<= 1) {
		if ((accept & bit) == 0)
			continue;
		if ((r = msg_decode_field(in, bit, req, err)) == -1)
			return (-1);
		if (r == 1)
			req->present |= bit;
	}
	for (bit = 1; bit <= MSG_F_RATE; bit <<= 1) {
		if ((need & bit) && (req->present & bit) == 0) {
			msg_error_set(err, MSG_E_BAD_REQUEST,
			    "field '%s' is required for op '%s'",
			    msg_field_name(bit), req->op);
			return (-1);
		}
	}
	return (0);
}

void
msg_request_clear(struct msg_request *req)
{
	size_t	 i;

	for (i = 0; i < req->njobs; i++)
		msg_spec_clear(&req->jobs[i]);
	free(req->jobs);
	free(req->op);
	free(req->token);
	free(req->ids);
	free(req->state);
	free(req->queue);
	free(req->name);
	free(req->action);
	memset(req, 0, sizeof *req);
}

struct msg_out *
msg_out_new(void)
{
	struct msg_out	*o;

	o = xcalloc(1, sizeof *o);
	if ((o->stack[0] = cJSON_CreateObject()) == NULL)
		abort();
	return (o);
}

/* Add an item to the innermost open object (under key) or array. */
static void
msg_out_add(struct msg_out *o, const char *key, cJSON *item)
{
	cJSON	*top = o->stack[o->depth];

	if (item == NULL)
		abort();
	if (cJSON_IsArray(top))
		cJSON_AddItemToArray(top, item);
	else
		cJSON_AddItemToObject(top, key, item);
}

/* Integers are written as text: cJSON's %.15g would round large ones. */
void
msg_out_int(struct msg_out *o, const char *key, int64_t v)
{
	char	 buf[32];

	snprintf(buf, sizeof buf, "%lld", (long long)v);
	msg_out_add(o, key, cJSON_CreateRaw(buf));
}

void
msg_out_double(struct msg_out *o, const char *key, double v)
{
	msg_out_add(o, key, cJSON_CreateNumber(v));
}

void
msg_out_bool(struct msg_out *o, const char *key, int v)
{
	msg_out_add(o, key, cJSON_CreateBool(v));
}

void
msg_out_string(struct msg_out *o, const char *key, const char *v)
{
	msg_out_add(o, key, v == NULL ? cJSON_CreateNull() :
	    cJSON_CreateString(v));
}

void
msg_out_null(struct msg_out *o, const char *key)
{
	msg_out_add(o, key, cJSON_CreateNull());
}

/* Add JSON text as a value; NULL adds null. Bad text adds null, returns -1. */
int
msg_out_raw(struct msg_out *o, const char *key, const char *text)
{
	cJSON	*j = NULL;

	if (text != NULL &&
	    (j = cJSON_ParseWithOpts(text, NULL, 1)) == NULL) {
		msg_out_null(o, key);
		return (-1);
	}
	msg_out_add(o, key, j == NULL ? cJSON_CreateNull() : j);
	return (0);
}

static void
msg_out_push(struct msg_out *o, const char *key, cJSON *item)
{
	if (o->depth + 1 >= MSG_OUT_DEPTH)
		abort();
	msg_out_add(o, key, item);
	o->stack[++o->depth] = item;
}

void
msg_out_object(struct msg_out *o, const char *key)
{
	msg_out_push(o, key, cJSON_CreateObject());
}

void
msg_out_array(struct msg_out *o, const char *key)
{
	msg_out_push(o, key, cJSON_CreateArray());
}

void
msg_out_close(struct msg_out *o)
{
	if (o->depth > 0)
		o->depth--;
}

static void
msg_out_time(struct msg_out *o, const char *key, int64_t t)
{
	if (t < 0)
		msg_out_null(o, key);
	else
		msg_out_int(o, key, t);
}

static void
msg_out_view_fields(struct msg_out *o, const struct msg_view *v, int flags)
{
	msg_out_int(o, "id", v->id);
	msg_out_string(o, "kind", v->kind);
	msg_out_string(o, "name", v->name);
	msg_out_string(o, "queue", v->queue);
	msg_out_int(o, "priority", v->priority);
	msg_out_string(o, "state", v->state);
	msg_out_int(o, "attempts", v->attempts);
	msg_out_time(o, "submitted_at", v->submitted_at);
	msg_out_time(o, "started_at", v->started_at);
	msg_out_time(o, "finished_at", v->finished_at);
	if (flags & MSG_VIEW_ARGS)
		msg_out_raw(o, "args", v->args);
	if (flags & MSG_VIEW_RESULT)
		msg_out_raw(o, "result", v->result);
	if (v->error_code == NULL)
		msg_out_null(o, "error");
	else {
		msg_out_object(o, "error");
		msg_out_string(o, "code", v->error_code);
		msg_out_string(o, "message", v->error_message != NULL ?
		    v->error_message : "");
		msg_out_close(o);
	}
}

/* A job view; flags say whether args and result are included. */
void
msg_out_view(struct msg_out *o, const char *key, const struct msg_view *v,
    int flags)
{
	msg_out_object(o, key);
	msg_out_view_fields(o, v, flags);
	msg_out_close(o);
}

/* A job view as a message of its own (an event). */
char *
msg_view_encode(const struct msg_view *v, int flags)
{
	struct msg_out	*o;

	o = msg_out_new();
	msg_out_view_fields(o, v, flags);
	return (msg_out_finish(o, 0));
}

/* Throw a message under construction away. */
void
msg_out_free(struct msg_out *o)
{
	if (o == NULL)
		return;
	cJSON_Delete(o->stack[0]);
	free(o);
}

/* The JSON text of the whole message; frees the builder. */
char *
msg_out_finish(struct msg_out *o, int pretty)
{
	char	*s, *copy;

	s = pretty ? cJSON_Print(o->stack[0]) :
	    cJSON_PrintUnformatted(o->stack[0]);
	if (s == NULL)
		abort();
	copy = xstrdup(s);
	cJSON_free(s);
	cJSON_Delete(o->stack[0]);
	free(o);
	return (copy);
}

char *
msg_error_reply(const char *code, const char *message)
{
	struct msg_out	*o;

	o = msg_out_new();
	msg_out_bool(o, "ok", 0);
	msg_out_object(o, "error");
	msg_out_string(o, "code", code);
	msg_out_string(o, "message", message);
	msg_out_close(o);
	return (msg_out_finish(o, 0));
}
