/*
 * The protocol module, writing: a nesting builder over cJSON for replies
 * and requests, and job views.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_private.h"
#include "xmalloc.h"

#define MSG_OUT_DEPTH	16

struct msg_out {
	cJSON	*stack[MSG_OUT_DEPTH];
	int	 depth;
};

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

/*
 * A string. Requests are checked UTF-8, but a message that quotes one cut
 * at a byte count ('%.64s') may end inside a character: replies stay
 * well-formed either way.
 */
void
msg_out_string(struct msg_out *o, const char *key, const char *v)
{
	size_t	 len;

	if (v == NULL) {
		msg_out_add(o, key, cJSON_CreateNull());
		return;
	}
	len = strlen(v);
	if (!msg_utf8_valid((const unsigned char *)v, len))
		msg_out_bytes(o, key, v, len);
	else
		msg_out_add(o, key, cJSON_CreateString(v));
}

/*
 * Bytes as a string: what is not well-formed UTF-8, and NUL (which a JSON
 * library of C strings cannot carry), becomes U+FFFD.
 */
void
msg_out_bytes(struct msg_out *o, const char *key, const char *buf,
    size_t len)
{
	const unsigned char	*p = (const unsigned char *)buf;
	char			*s, *q;
	size_t			 i = 0, n;

	q = s = xmalloc(len * 3 + 1);
	while (i < len) {
		n = p[i] == 0 ? 0 : msg_utf8_char(p + i, len - i);
		if (n == 0) {
			memcpy(q, "\xef\xbf\xbd", 3);
			q += 3;
			i++;
			continue;
		}
		memcpy(q, p + i, n);
		q += n;
		i += n;
	}
	*q = '\0';
	msg_out_add(o, key, cJSON_CreateString(s));
	free(s);
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
	msg_out_string(o, "waiting_for", v->waiting_for);
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
