/*
 * The protocol module, requests: job specs and request fields decoded into
 * plain structs that own their strings, each op taking only the fields it
 * accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_private.h"
#include "xmalloc.h"

static const char *msg_states[] = {
	"queued", "running", "succeeded", "failed", "cancelled", NULL
};
static const char *msg_return_whens[] = {
	"ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION", NULL
};
static const char *msg_actions[] = { "pause", "resume", "set", NULL };

/* The fields of a job spec (PROTOCOL 3.1); any other is refused. */
static const char *const msg_spec_fields[] = {
	"kind", "args", "name", "queue", "priority", "delay_ms", "timeout_ms",
	"retries", "retry_backoff_ms", "after", "lock", "shield", "key", NULL
};

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

/* A limit on the length of a field (msg.h); the message names both. */
static int
msg_check_bytes(const char *key, size_t len, size_t max,
    struct msg_error *err)
{
	if (len <= max)
		return (0);
	msg_error_set(err, MSG_E_BAD_REQUEST,
	    "field '%s' is %zu bytes long; at most %zu", key, len, max);
	return (-1);
}

/* A limit on the entries of an array field (msg.h). */
static int
msg_check_count(const char *key, size_t n, size_t max, struct msg_error *err)
{
	if (n <= max)
		return (0);
	msg_error_set(err, MSG_E_BAD_REQUEST,
	    "field '%s' has %zu entries; at most %zu", key, n, max);
	return (-1);
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
	if (*s == '\0') {
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "field '%s' must not be empty (1 to %zu bytes)", key, max);
		return (-1);
	}
	if (msg_check_bytes(key, strlen(s), max, err) != 0)
		return (-1);
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

/*
 * Refuse a field a spec does not have (a misspelt timeout_ms), in a spec
 * a client gives; a spec the store kept is read as it is.
 */
static int
msg_spec_known(struct msg_in *in, struct msg_error *err)
{
	const char	*unknown;

	if ((unknown = msg_strict_unknown(in, msg_spec_fields)) == NULL)
		return (0);
	msg_error_set(err, MSG_E_BAD_REQUEST, "unknown field '%.100s' in a "
	    "job spec", unknown);
	return (-1);
}

/* Decode a job spec; the error message names the field. */
int
msg_spec_decode(struct msg_in *in, struct msg_spec *s, struct msg_error *err)
{
	cJSON	*args;

	memset(s, 0, sizeof *s);
	s->retry_backoff_ms = 1000;
	if (!cJSON_IsObject(J(in))) {
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "a job spec must be an object");
		return (-1);
	}
	if (msg_in_name(in, "kind", MSG_KIND_MAX, &s->kind, err) != 1) {
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
		if ((s->args = msg_json_print(args)) == NULL) {
			msg_error_set(err, MSG_E_BAD_REQUEST,
			    "field 'args' cannot be printed");
			goto fail;
		}
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
	    msg_in_name(in, "lock", MSG_LOCK_MAX, &s->lock, err) == -1 ||
	    msg_in_bool(in, "shield", &s->shield, err) == -1 ||
	    msg_in_name(in, "key", MSG_KEY_MAX, &s->key, err) == -1)
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

/* Whether a field of a spec has the value its absence gives. */
#define SPEC_DEFAULT_QUEUE(s)	((s)->queue == NULL || \
				    strcmp((s)->queue, "default") == 0)
#define SPEC_DEFAULT_BACKOFF	1000

/*
 * Canonical JSON of a spec: equal specs encode to equal text. With
 * MSG_SPEC_KEY the key too; with MSG_SPEC_SHORT only the fields that
 * differ from what their absence means (kind and args always), the form
 * the store keeps: rows half as long, and still equal for equal specs.
 */
static char *
msg_spec_write(const struct msg_spec *s, int flags, int args_compact)
{
	struct msg_out	*o;
	size_t		 i;
	int		 all = !(flags & MSG_SPEC_SHORT);

	o = msg_out_new();
	msg_out_string(o, "kind", s->kind);
	if (args_compact)
		msg_out_json(o, "args", s->args);
	else
		msg_out_raw(o, "args", s->args);
	if (all || s->name != NULL)
		msg_out_string(o, "name", s->name);
	if (all || !SPEC_DEFAULT_QUEUE(s))
		msg_out_string(o, "queue", s->queue);
	if (all || s->priority != 0)
		msg_out_int(o, "priority", s->priority);
	if (all || s->delay_ms != 0)
		msg_out_int(o, "delay_ms", s->delay_ms);
	if (all || s->timeout_ms != 0)
		msg_out_int(o, "timeout_ms", s->timeout_ms);
	if (all || s->retries != 0)
		msg_out_int(o, "retries", s->retries);
	if (all || s->retry_backoff_ms != SPEC_DEFAULT_BACKOFF)
		msg_out_int(o, "retry_backoff_ms", s->retry_backoff_ms);
	if (all || s->nafter > 0) {
		msg_out_array(o, "after");
		for (i = 0; i < s->nafter; i++)
			msg_out_int(o, NULL, s->after[i]);
		msg_out_close(o);
	}
	if (all || s->lock != NULL)
		msg_out_string(o, "lock", s->lock);
	if (all || s->shield)
		msg_out_bool(o, "shield", s->shield);
	if (flags & MSG_SPEC_KEY)
		msg_out_string(o, "key", s->key);
	return (msg_out_finish(o, 0));
}

char *
msg_spec_encode(const struct msg_spec *s, int flags)
{
	return (msg_spec_write(s, flags, 0));
}

/*
 * msg_spec_encode(s, MSG_SPEC_SHORT), the store's copy of a spec, with
 * args copied as they are: msg_spec_decode leaves them compact, as
 * printing them again would. The text lives until its row is committed
 * (a keyed job copies it) and keeps its buffer's size: shrinking it left
 * small free pieces among the jobs that the heap could not give back
 * (476 -> 442 bytes a job in flight).
 */
char *
msg_spec_store_text(const struct msg_spec *s)
{
	return (msg_spec_write(s, MSG_SPEC_SHORT, s->args != NULL));
}

/*
 * Whether a spec text the store kept (in any form this daemon ever wrote:
 * older ones spelt every field out) and a new msg_spec_store_text are
 * the same spec.
 */
int
msg_spec_same(const char *stored, const char *text)
{
	struct msg_spec		 s;
	struct msg_error	 err;
	char			*again;
	int			 same;

	if (strcmp(stored, text) == 0)
		return (1);
	if (msg_spec_parse(stored, &s, &err) != 0)
		return (0);
	again = msg_spec_store_text(&s);
	same = strcmp(again, text) == 0;
	free(again);
	msg_spec_clear(&s);
	return (same);
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
	if (msg_strict_check(j, buf, len, err) != 0) {
		cJSON_Delete(j);
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
		if (msg_spec_known(IN(e), err) == 0 &&
		    msg_spec_decode(IN(e), &(*specs)[i], err) == 0)
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

/*
 * The protocol version a request is written in: "v", an integer, or the
 * first version when absent. One this side does not speak is refused,
 * saying which it speaks, for the request's fields may mean what this
 * side cannot know.
 */
static int
msg_request_version(struct msg_in *in, int *version, struct msg_error *err)
{
	int64_t	 v = MSG_VERSION_MIN;
	char	 spoken[64];
	size_t	 len;
	int	 i;

	if (msg_in_int(in, "v", &v, err) == -1)
		return (-1);
	if (v >= MSG_VERSION_MIN && v <= MSG_VERSION_MAX) {
		*version = (int)v;
		return (0);
	}
	spoken[0] = '\0';
	for (i = MSG_VERSION_MIN; i <= MSG_VERSION_MAX; i++) {
		len = strlen(spoken);
		snprintf(spoken + len, sizeof spoken - len, "%s%d",
		    len == 0 ? "" : ", ", i);
	}
	msg_error_set(err, MSG_E_BAD_REQUEST, "field 'v': protocol version "
	    "%lld is not spoken here; this daemon speaks version %s",
	    (long long)v, spoken);
	return (-1);
}

/*
 * The op of a request: a required string, in a protocol version this
 * side speaks (checked first: what an op is named depends on it).
 */
const char *
msg_request_op(struct msg_in *in, struct msg_error *err)
{
	const char	*op;
	int		 version;

	if (msg_request_version(in, &version, err) != 0)
		return (NULL);
	switch (msg_in_string(in, "op", &op, err)) {
	case 1:
		return (op);
	case 0:
		msg_error_set(err, MSG_E_BAD_REQUEST, "field 'op' is required");
		break;
	}
	return (NULL);
}

/*
 * The limits a submitted spec must keep beside those of msg_spec_decode.
 * Only new submissions are held to them: a job the store kept from before
 * (under other limits) is still restored.
 */
static int
msg_spec_limits(const struct msg_spec *s, struct msg_error *err)
{
	size_t	 depth;

	if (msg_check_count("after", s->nafter, MSG_AFTER_MAX, err) != 0)
		return (-1);
	if (strlen(s->args) > MSG_ARGS_MAX) {
		msg_error_set(err, MSG_E_BAD_REQUEST, "field 'args' is %zu "
		    "bytes long as JSON; at most %d", strlen(s->args),
		    MSG_ARGS_MAX);
		return (-1);
	}
	if ((depth = msg_json_depth(s->args, strlen(s->args))) >
	    MSG_ARGS_DEPTH_MAX) {
		msg_error_set(err, MSG_E_BAD_REQUEST, "field 'args' nests "
		    "arrays and objects %zu levels deep; at most %d", depth,
		    MSG_ARGS_DEPTH_MAX);
		return (-1);
	}
	return (0);
}

/* Decode one submitted spec; 0 on success. */
static int
msg_decode_spec(struct msg_in *in, struct msg_spec *s, struct msg_error *err)
{
	memset(s, 0, sizeof *s);
	if (msg_spec_known(in, err) != 0 || msg_spec_decode(in, s, err) != 0)
		return (-1);
	if (msg_spec_limits(s, err) == 0)
		return (0);
	msg_spec_clear(s);
	return (-1);
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
		if (msg_decode_spec(IN(j), &req->jobs[0], err) == 0)
			return (1);
		msg_error_append(err, " (in 'job')");
		return (-1);
	}
	if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) == 0) {
		msg_error_set(err, MSG_E_BAD_REQUEST,
		    "field 'jobs' must be a non-empty array of job specs");
		return (-1);
	}
	if (msg_check_count("jobs", (size_t)cJSON_GetArraySize(j),
	    MSG_JOBS_MAX, err) != 0)
		return (-1);
	req->jobs = xcalloc(cJSON_GetArraySize(j), sizeof *req->jobs);
	n = 0;
	cJSON_ArrayForEach(e, j) {
		if (msg_decode_spec(IN(e), &req->jobs[n], err) != 0) {
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
		if (r == 1 && msg_check_count("ids", req->nids, MSG_IDS_MAX,
		    err) != 0)
			return (-1);
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
	case MSG_F_OLDER_THAN:
		return (msg_in_int_min(in, "older_than_ms", 0,
		    &req->older_than_ms, err));
	case MSG_F_STREAM:
		return (msg_in_name(in, "stream", MSG_KIND_MAX, &req->stream,
		    err));
	case MSG_F_OFFSET:
		return (msg_in_int_min(in, "offset", 0, &req->offset, err));
	case MSG_F_LENGTH:
		return (msg_in_int_min(in, "length", 1, &req->length, err));
	case MSG_F_OWNER:
		return (msg_in_name(in, "owner", MSG_QUEUE_MAX, &req->owner,
		    err));
	case MSG_F_JOIN:
		return (msg_in_int_min(in, "join", 1, &req->join, err));
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
		"action", "rate", "older_than_ms", "stream", "offset",
		"length", "owner", "join"
	};
	int	 i;

	for (i = 0; (1u << i) != bit; i++)
		;
	return (names[i]);
}

/*
 * Refuse a field the op does not take: a misspelt one would be skipped
 * and its job run without it. The message lists the fields the op takes.
 */
static int
msg_request_unknown(struct msg_in *in, unsigned int accept, const char *op,
    struct msg_error *err)
{
	const char	*known[40] = { "op", "token", "v" };
	const char	*key;
	char		 takes[300];
	unsigned int	 bit;
	size_t		 n = 3, i, len;

	for (bit = 1; bit <= MSG_F_LAST; bit <<= 1) {
		if (accept & bit)
			known[n++] = msg_field_name(bit);
	}
	known[n] = NULL;
	if ((key = msg_strict_unknown(in, known)) == NULL)
		return (0);
	takes[0] = '\0';
	for (i = 1; i < n; i++) {
		len = strlen(takes);
		snprintf(takes + len, sizeof takes - len, "%s%s",
		    len == 0 ? "" : ", ", known[i]);
	}
	msg_error_set(err, MSG_E_BAD_REQUEST, "unknown field '%.100s' for op "
	    "'%.64s' (it takes %s)", key, op, takes);
	return (-1);
}

/*
 * Decode the fields an op accepts; a field it does not take is refused,
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
	msg_request_version(in, &req->version, NULL);
	if ((r = msg_in_string(in, "token", &token, err)) == -1 ||
	    (r == 1 && msg_check_bytes("token", strlen(token), MSG_TOKEN_MAX,
	    err) != 0))
		return (-1);
	if (r == 1)
		req->token = xstrdup(token);
	if (msg_request_unknown(in, accept, req->op, err) != 0)
		return (-1);
	for (bit = 1; bit <= MSG_F_LAST; bit <<= 1) {
		if ((accept & bit) == 0)
			continue;
		if ((r = msg_decode_field(in, bit, req, err)) == -1)
			return (-1);
		if (r == 1)
			req->present |= bit;
	}
	for (bit = 1; bit <= MSG_F_LAST; bit <<= 1) {
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
	free(req->owner);
	free(req->name);
	free(req->action);
	free(req->stream);
	memset(req, 0, sizeof *req);
}

/*
 * A request's text with a "token" member added (replacing any), for the
 * client library; NULL when the text is not a JSON object.
 */
char *
msg_request_add_token(const char *req, const char *token)
{
	return (msg_object_set_string(req, "token", token, 1));
}

/*
 * A JSON object's text with the string member name set to value: replacing
 * one already there if replace, else keeping one that is not null. NULL when the text is not
 * a JSON object.
 */
char *
msg_object_set_string(const char *text, const char *name, const char *value,
    int replace)
{
	cJSON	*j, *old;
	char	*s, *copy;

	if ((j = cJSON_Parse(text)) == NULL)
		return (NULL);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return (NULL);
	}
	old = cJSON_GetObjectItemCaseSensitive(j, name);
	if (old == NULL || replace || cJSON_IsNull(old)) {
		/* null counts as absent (PROTOCOL section 2) */
		cJSON_DeleteItemFromObjectCaseSensitive(j, name);
		if (cJSON_AddStringToObject(j, name, value) == NULL)
			abort();
	}
	if ((s = cJSON_PrintUnformatted(j)) == NULL)
		abort();
	cJSON_Delete(j);
	copy = xstrdup(s);
	cJSON_free(s);
	return (copy);
}
