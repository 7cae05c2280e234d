/*
 * The protocol module, writing: a nesting builder for replies, requests
 * and job views. Values go straight into one growable buffer as compact
 * JSON, byte for byte what cJSON would print for the same tree: a reply
 * costs no tree, no node or key copies and no second pass.
 */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "msg_private.h"
#include "xmalloc.h"

#define MSG_OUT_DEPTH	16

/* What is open at each level: an object or an array, and its state. */
#define MSG_OUT_ARRAY	0x1	/* else an object */
#define MSG_OUT_FULL	0x2	/* has a member: the next needs a comma */
#define MSG_OUT_DROP	0x4	/* added to an object without a key */

struct msg_out {
	char		*buf;
	size_t		 len;
	size_t		 size;
	int		 depth;
	unsigned char	 level[MSG_OUT_DEPTH];
};

/* Room for need more bytes; the buffer doubles, so appends stay cheap. */
static void
msg_out_grow(struct msg_out *o, size_t need)
{
	size_t	 size = o->size;

	if (o->len + need <= o->size)
		return;
	while (size < o->len + need) {
		if (size > SIZE_MAX / 2)
			abort();
		size *= 2;
	}
	o->buf = xreallocarray(o->buf, 1, size);
	o->size = size;
}

static inline void
msg_out_put(struct msg_out *o, const char *p, size_t n)
{
	msg_out_grow(o, n);
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static inline void
msg_out_putc(struct msg_out *o, char c)
{
	msg_out_grow(o, 1);
	o->buf[o->len++] = c;
}

struct msg_out *
msg_out_new(void)
{
	struct msg_out	*o;

	o = xcalloc(1, sizeof *o);
	o->size = 256;
	o->buf = xmalloc(o->size);
	o->buf[o->len++] = '{';
	return (o);
}

/*
 * Write bytes as the body of a string the way cJSON does: '"', '\\' and
 * the control characters escaped, \b \f \n \r \t by name, the others as
 * \u00xx; everything else, even bytes that are not UTF-8, as it is.
 */
static void
msg_out_escape(struct msg_out *o, const unsigned char *p, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*end = p + len, *run;
	char			*q;

	while (p < end) {
		run = p;
		while (p < end && *p > 31 && *p != '"' && *p != '\\')
			p++;
		msg_out_put(o, (const char *)run, (size_t)(p - run));
		if (p == end)
			break;
		msg_out_grow(o, 6);
		q = o->buf + o->len;
		*q++ = '\\';
		switch (*p) {
		case '"':
		case '\\':
			*q++ = (char)*p;
			break;
		case '\b':
			*q++ = 'b';
			break;
		case '\f':
			*q++ = 'f';
			break;
		case '\n':
			*q++ = 'n';
			break;
		case '\r':
			*q++ = 'r';
			break;
		case '\t':
			*q++ = 't';
			break;
		default:
			memcpy(q, "u00", 3);
			q[3] = hex[*p >> 4];
			q[4] = hex[*p & 0xf];
			q += 5;
			break;
		}
		o->len = (size_t)(q - o->buf);
		p++;
	}
}

/*
 * Start a value in the innermost open object (under key) or array: the
 * comma and the key. Returns 0 when the value is to be dropped instead,
 * as cJSON drops an item added to an object without a key.
 */
static int
msg_out_member(struct msg_out *o, const char *key)
{
	unsigned char	*top = &o->level[o->depth];

	if (*top & MSG_OUT_DROP)
		return (0);
	if (!(*top & MSG_OUT_ARRAY) && key == NULL)
		return (0);
	if (*top & MSG_OUT_FULL)
		msg_out_putc(o, ',');
	*top |= MSG_OUT_FULL;
	if (!(*top & MSG_OUT_ARRAY)) {
		msg_out_putc(o, '"');
		msg_out_escape(o, (const unsigned char *)key, strlen(key));
		msg_out_put(o, "\":", 2);
	}
	return (1);
}

/* A value already in its final form (a number, a literal). */
static void
msg_out_token(struct msg_out *o, const char *key, const char *p, size_t n)
{
	if (msg_out_member(o, key))
		msg_out_put(o, p, n);
}

/*
 * An integer's digits as %lld writes them, without printf (which a reply
 * of views would feel), at the end of buf[24]; returns where they start.
 */
static char *
msg_int_text(int64_t v, char buf[24])
{
	char		*p = buf + 24;
	uint64_t	 u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	return (p);
}

/* Integers are written as they are (cJSON's %.15g would round large ones). */
void
msg_out_int(struct msg_out *o, const char *key, int64_t v)
{
	char	 buf[24], *p;

	p = msg_int_text(v, buf);
	msg_out_token(o, key, p, (size_t)(buf + sizeof buf - p));
}

/* Whether two doubles are equal to within the precision of the larger. */
static int
msg_out_double_close(double a, double b)
{
	double	 max = fabs(a) > fabs(b) ? fabs(a) : fabs(b);

	return (fabs(a - b) <= max * DBL_EPSILON);
}

/*
 * A double as cJSON prints a number: 15 significant digits unless they do
 * not read back as (nearly) the same finite value, then 17; NaN and
 * infinities as null. Integral values under 10^15 so come out as integers: those are
 * written without printf (cJSON's sprintf and sscanf cost a microsecond a
 * number). Returns the length of the text in buf.
 */
static size_t
msg_number_text(double v, char buf[32])
{
	char	 point, *p;
	double	 test;
	int64_t	 i;
	int	 n;

	if (isnan(v) || isinf(v)) {
		memcpy(buf, "null", 5);
		return (4);
	}
	if (fabs(v) < 1e15 && (double)(i = (int64_t)v) == v &&
	    (v != 0 || !signbit(v))) {
		p = msg_int_text(i, buf);
		n = (int)(buf + 24 - p);
		memmove(buf, p, (size_t)n);
		buf[n] = '\0';
		return ((size_t)n);
	}
	/*
	 * cJSON takes 15 digits that read back as infinity for a value near
	 * DBL_MAX (an infinite difference is "within" an infinite bound): the
	 * text must read back as a finite number, or a stored job's args
	 * would turn that number into null on the next read.
	 */
	n = snprintf(buf, 32, "%1.15g", v);
	if (sscanf(buf, "%lg", &test) != 1 || !isfinite(test) ||
	    !msg_out_double_close(test, v))
		n = snprintf(buf, 32, "%1.17g", v);
	point = *localeconv()->decimal_point;
	if (point != '.' && (p = strchr(buf, point)) != NULL)
		*p = '.';
	return ((size_t)n);
}

void
msg_out_double(struct msg_out *o, const char *key, double v)
{
	char	 buf[32];
	size_t	 n;

	n = msg_number_text(v, buf);
	msg_out_token(o, key, buf, n);
}

void
msg_out_bool(struct msg_out *o, const char *key, int v)
{
	if (v)
		msg_out_token(o, key, "true", 4);
	else
		msg_out_token(o, key, "false", 5);
}

/*
 * Bytes as a string: what is not well-formed UTF-8, and NUL (which a JSON
 * library of C strings cannot carry), becomes U+FFFD.
 */
void
msg_out_bytes(struct msg_out *o, const char *key, const char *buf,
    size_t len)
{
	const unsigned char	*p = (const unsigned char *)buf, *run;
	const unsigned char	*end = p + len;
	size_t			 n;

	if (!msg_out_member(o, key))
		return;
	msg_out_putc(o, '"');
	while (p < end) {
		run = p;
		for (; p < end && *p != 0; p += n) {
			n = *p < 0x80 ? 1 : msg_utf8_char(p, (size_t)(end - p));
			if (n == 0)
				break;
		}
		msg_out_escape(o, run, (size_t)(p - run));
		if (p == end)
			break;
		msg_out_put(o, "\xef\xbf\xbd", 3);
		p++;
	}
	msg_out_putc(o, '"');
}

/* Whether bytes can travel as a JSON string unchanged: UTF-8 without NUL. */
int
msg_bytes_text(const char *buf, size_t len)
{
	if (len == 0)
		return (1);	/* buf may be NULL: nothing was kept */
	return (memchr(buf, '\0', len) == NULL &&
	    msg_utf8_valid((const unsigned char *)buf, len));
}

/*
 * Bytes that must arrive unchanged (job output, a response body): as the
 * string key when they are text (msg_bytes_text), else key is null and
 * key_base64 holds them in base64 (docs/protocol.md, 3.3).
 */
void
msg_out_output(struct msg_out *o, const char *key, const char *buf,
    size_t len)
{
	char	 key64[64];
	size_t	 n;

	if (msg_bytes_text(buf, len)) {
		msg_out_bytes(o, key, buf, len);
		return;
	}
	msg_out_null(o, key);
	snprintf(key64, sizeof key64, "%s_base64", key);
	if (!msg_out_member(o, key64))
		return;
	n = base64_encoded_len(len);
	msg_out_grow(o, n + 3);
	o->buf[o->len++] = '"';
	base64_encode(o->buf + o->len, buf, len);
	o->len += n;
	o->buf[o->len++] = '"';
}

/*
 * A string. Requests are checked UTF-8, but a message that quotes one cut
 * at a byte count ('%.64s') may end inside a character: replies stay
 * well-formed either way.
 */
void
msg_out_string(struct msg_out *o, const char *key, const char *v)
{
	if (v == NULL)
		msg_out_null(o, key);
	else
		msg_out_bytes(o, key, v, strlen(v));
}

void
msg_out_null(struct msg_out *o, const char *key)
{
	msg_out_token(o, key, "null", 4);
}

/*
 * A cJSON tree as cJSON_PrintUnformatted writes it, byte for byte (tested
 * against it in check_msg). -1 where cJSON's printing fails: a raw node
 * without text or a node of no type.
 */
static int
msg_tree_write(struct msg_out *o, const cJSON *j)
{
	const cJSON	*c;
	char		 num[32];
	const char	*t;

	switch (j->type & 0xff) {
	case cJSON_NULL:
		msg_out_put(o, "null", 4);
		return (0);
	case cJSON_False:
		msg_out_put(o, "false", 5);
		return (0);
	case cJSON_True:
		msg_out_put(o, "true", 4);
		return (0);
	case cJSON_Number:
		msg_out_put(o, num, msg_number_text(j->valuedouble, num));
		return (0);
	case cJSON_String:
		t = j->valuestring != NULL ? j->valuestring : "";
		msg_out_putc(o, '"');
		msg_out_escape(o, (const unsigned char *)t, strlen(t));
		msg_out_putc(o, '"');
		return (0);
	case cJSON_Raw:
		if (j->valuestring == NULL)
			return (-1);
		msg_out_put(o, j->valuestring, strlen(j->valuestring));
		return (0);
	case cJSON_Array:
	case cJSON_Object:
		msg_out_putc(o, (j->type & 0xff) == cJSON_Array ? '[' : '{');
		for (c = j->child; c != NULL; c = c->next) {
			if (c != j->child)
				msg_out_putc(o, ',');
			if ((j->type & 0xff) == cJSON_Object) {
				t = c->string != NULL ? c->string : "";
				msg_out_putc(o, '"');
				msg_out_escape(o, (const unsigned char *)t,
				    strlen(t));
				msg_out_put(o, "\":", 2);
			}
			if (msg_tree_write(o, c) != 0)
				return (-1);
		}
		msg_out_putc(o, (j->type & 0xff) == cJSON_Array ? ']' : '}');
		return (0);
	}
	return (-1);
}

/*
 * A tree as compact JSON text (what cJSON_PrintUnformatted gives, without
 * its printf and sscanf for every number); NULL where that fails.
 */
char *
msg_json_print(const cJSON *j)
{
	struct msg_out	 o;

	memset(&o, 0, sizeof o);
	o.size = 64;
	o.buf = xmalloc(o.size);
	if (msg_tree_write(&o, j) != 0) {
		free(o.buf);
		return (NULL);
	}
	msg_out_putc(&o, '\0');
	return (o.buf);
}

/*
 * JSON text in the compact form cJSON prints (so that a copy is what
 * parsing and printing it again would give); NULL if it does not parse,
 * or has anything after the value.
 */
char *
msg_json_compact(const char *text)
{
	cJSON	*j;
	char	*s;

	if ((j = cJSON_ParseWithOpts(text, NULL, 1)) == NULL)
		return (NULL);
	s = msg_json_print(j);		/* a parsed tree always prints */
	cJSON_Delete(j);
	return (s);
}

/* Add JSON text as a value; NULL adds null. Bad text adds null, returns -1. */
int
msg_out_raw(struct msg_out *o, const char *key, const char *text)
{
	char	*s;

	if (text == NULL) {
		msg_out_null(o, key);
		return (0);
	}
	if ((s = msg_json_compact(text)) == NULL) {
		msg_out_null(o, key);
		return (-1);
	}
	msg_out_json(o, key, s);
	free(s);
	return (0);
}

/*
 * Add JSON text that is already compact and valid, as msg_json_compact,
 * cJSON's printing or this builder wrote it (integers under 10^15):
 * copied as it is. NULL adds null.
 */
void
msg_out_json(struct msg_out *o, const char *key, const char *text)
{
	if (text == NULL)
		msg_out_null(o, key);
	else
		msg_out_token(o, key, text, strlen(text));
}

static void
msg_out_push(struct msg_out *o, const char *key, unsigned char kind)
{
	unsigned char	 drop;

	if (o->depth + 1 >= MSG_OUT_DEPTH)
		abort();
	drop = msg_out_member(o, key) ? 0 : MSG_OUT_DROP;
	if (!drop)
		msg_out_putc(o, (kind & MSG_OUT_ARRAY) ? '[' : '{');
	o->level[++o->depth] = kind | drop;
}

void
msg_out_object(struct msg_out *o, const char *key)
{
	msg_out_push(o, key, 0);
}

void
msg_out_array(struct msg_out *o, const char *key)
{
	msg_out_push(o, key, MSG_OUT_ARRAY);
}

void
msg_out_close(struct msg_out *o)
{
	unsigned char	 top;

	if (o->depth == 0)
		return;
	top = o->level[o->depth--];
	if (!(top & MSG_OUT_DROP))
		msg_out_putc(o, (top & MSG_OUT_ARRAY) ? ']' : '}');
}

static void
msg_out_time(struct msg_out *o, const char *key, int64_t t)
{
	if (t < 0)
		msg_out_null(o, key);
	else
		msg_out_int(o, key, t);
}

/*
 * Args and result of a view the daemon holds are compact already (see
 * msg_view.compact); other text is parsed and printed again.
 */
static void
msg_out_view_json(struct msg_out *o, const char *key, const char *text,
    int compact)
{
	if (compact)
		msg_out_json(o, key, text);
	else
		msg_out_raw(o, key, text);
}

/*
 * The head of a text stream as raw JSON string content: the longest
 * prefix that decodes to max bytes at most, cut between characters and
 * escapes. Returns its length in raw bytes.
 */
static size_t
msg_text_head(const char *raw, size_t rawlen, size_t max)
{
	const unsigned char	*p = (const unsigned char *)raw;
	size_t			 i = 0, dec = 0, step, add;

	while (i < rawlen) {
		if (p[i] == '\\')	/* \uXXXX is 3 bytes of UTF-8 at most */
			step = p[i + 1] == 'u' ? 6 : 2, add = step == 6 ? 3 : 1;
		else if (p[i] >= 0xc0)
			step = add = p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : 2;
		else
			step = add = 1;
		if (dec + add > max || i + step > rawlen)
			break;
		i += step;
		dec += add;
	}
	return (i);
}

/* The members of a result (msg_scan.c); -1 if too many or not JSON. */
#define MSG_RESULT_MEMBERS	64

static int
msg_result_members(const char *text, struct msg_member *m, size_t *n)
{
	const char	*p;

	if ((p = msg_scan_object(text)) == NULL)
		return (-1);
	for (*n = 0; *n < MSG_RESULT_MEMBERS && msg_scan_member(&p, &m[*n]);
	    (*n)++) {
		if (m[*n].klen >= 48)
			return (-1);
	}
	p += strspn(p, " \t\r\n");
	return (*p == '}' ? 0 : -1);
}

/* Member name among m, or NULL. */
static const struct msg_member *
msg_result_get(const struct msg_member *m, size_t n, const char *name)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (msg_member_is(&m[i], name))
			return (&m[i]);
	}
	return (NULL);
}

/*
 * Whether member x of a result is an output stream: a string (or null)
 * X with an integer X_bytes beside it (exec's stdout and stderr, http's
 * body), or X_base64 of such a stream.
 */
static int
msg_result_stream(const struct msg_member *m, size_t n,
    const struct msg_member *x, char name[64])
{
	char	 key[80];
	size_t	 len = x->klen;

	if (len > 7 && memcmp(x->key + len - 7, "_base64", 7) == 0)
		len -= 7;
	snprintf(name, 64, "%.*s", (int)len, x->key);
	snprintf(key, sizeof key, "%s_bytes", name);
	return (msg_result_get(m, n, key) != NULL &&
	    (*x->val == '"' || *x->val == 'n'));
}

/*
 * Output stream name of a result, its first max bytes at most (a text
 * cut between characters), and name_more saying whether it goes on.
 */
static void
msg_out_stream_head(struct msg_out *o, const struct msg_member *m, size_t n,
    const char *name, size_t max)
{
	const struct msg_member	*x, *b64;
	struct msg_slice	 sl;
	char			 key[80];
	size_t			 cut;
	int			 more = 0;

	x = msg_result_get(m, n, name);
	snprintf(key, sizeof key, "%s_base64", name);
	b64 = msg_result_get(m, n, key);
	if (x != NULL && *x->val == '"') {
		cut = msg_text_head(x->val + 1, x->vlen - 2, max);
		more = cut < x->vlen - 2;
		if (msg_out_member(o, name)) {
			msg_out_putc(o, '"');
			msg_out_put(o, x->val + 1, cut);
			msg_out_putc(o, '"');
		}
	} else if (b64 != NULL && *b64->val == '"' &&
	    msg_base64_slice(b64->val + 1, b64->vlen - 2, 0, max, &sl) == 0) {
		msg_out_output(o, name, sl.buf != NULL ? sl.buf : "", sl.len);
		more = sl.kept > sl.len;
		free(sl.buf);
	} else
		msg_out_null(o, name);
	snprintf(key, sizeof key, "%s_more", name);
	msg_out_bool(o, key, more);
}

/*
 * A job's result with its output streams cut to their first max bytes
 * (MSG_VIEW_OUTPUT_MAX), so that a view stays small whatever a job
 * wrote; the whole output is read with the output op. The text is
 * scanned, not parsed: a result can hold 128 MiB of output.
 */
static void
msg_out_result(struct msg_out *o, const char *key, const char *text,
    int compact, size_t max)
{
	struct msg_member	 m[MSG_RESULT_MEMBERS];
	char			 name[64], done[64] = "";
	char			*copy = NULL;
	size_t			 n, i;

	if (text != NULL && strstr(text, "_bytes\"") != NULL && !compact)
		text = copy = msg_json_compact(text);
	if (text == NULL || strstr(text, "_bytes\"") == NULL ||
	    msg_result_members(text, m, &n) != 0) {
		msg_out_view_json(o, key, text, compact || copy != NULL);
		free(copy);
		return;
	}
	msg_out_object(o, key);
	for (i = 0; i < n; i++) {
		if (msg_result_stream(m, n, &m[i], name)) {
			if (strcmp(name, done) != 0)
				msg_out_stream_head(o, m, n, name, max);
			snprintf(done, sizeof done, "%s", name);
			continue;
		}
		snprintf(name, sizeof name, "%.*s", (int)m[i].klen, m[i].key);
		if (msg_out_member(o, name))
			msg_out_put(o, m[i].val, m[i].vlen);
	}
	msg_out_close(o);
	free(copy);
}

static void
msg_out_view_fields(struct msg_out *o, const struct msg_view *v, int flags)
{
	msg_out_int(o, "id", v->id);
	msg_out_string(o, "kind", v->kind);
	msg_out_string(o, "name", v->name);
	msg_out_string(o, "queue", v->queue);
	if (v->owner != NULL)
		msg_out_string(o, "owner", v->owner);
	msg_out_int(o, "priority", v->priority);
	msg_out_string(o, "state", v->state);
	msg_out_int(o, "attempts", v->attempts);
	msg_out_time(o, "submitted_at", v->submitted_at);
	msg_out_time(o, "started_at", v->started_at);
	msg_out_time(o, "finished_at", v->finished_at);
	if (flags & MSG_VIEW_ARGS)
		msg_out_view_json(o, "args", v->args, v->compact);
	if (flags & MSG_VIEW_RESULT)
		msg_out_result(o, "result", v->result, v->compact,
		    MSG_VIEW_OUTPUT_MAX);
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

/* How many bytes a message under construction has so far. */
size_t
msg_out_len(const struct msg_out *o)
{
	return (o->len);
}

/* Throw a message under construction away. */
void
msg_out_free(struct msg_out *o)
{
	if (o == NULL)
		return;
	free(o->buf);
	free(o);
}

static void
msg_out_indent(struct msg_out *o, int n)
{
	msg_out_grow(o, (size_t)n);
	memset(o->buf + o->len, '\t', (size_t)n);
	o->len += (size_t)n;
}

/*
 * Compact text laid out as cJSON's formatted printing does: an object's
 * members on lines of their own indented by tabs, "key":<tab>value; an
 * array's elements on one line after ", ". Scalars are copied, so numbers
 * stay exactly as written.
 */
static char *
msg_out_pretty(const char *s, size_t len)
{
	struct msg_out	 p;
	unsigned char	*array;
	int		 depth = 0;
	size_t		 i, start;

	memset(&p, 0, sizeof p);
	p.size = len * 2 + 16;
	p.buf = xmalloc(p.size);
	array = xmalloc(len);	/* deeper than the builder: raw text */
	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '"':
			start = i++;
			while (i < len && s[i] != '"')
				i += s[i] == '\\' ? 2 : 1;
			if (i >= len)
				i = len - 1;	/* not ours: copy what there is */
			msg_out_put(&p, s + start, i + 1 - start);
			break;
		case '{':
		case '[':
			array[depth] = s[i] == '[';
			msg_out_putc(&p, s[i]);
			depth++;
			if (s[i] == '{') {
				msg_out_putc(&p, '\n');
				if (i + 1 < len && s[i + 1] != '}')
					msg_out_indent(&p, depth);
			}
			break;
		case '}':
			if (i > 0 && s[i - 1] != '{')
				msg_out_putc(&p, '\n');
			if (depth > 0)
				msg_out_indent(&p, depth - 1);
			/* FALLTHROUGH */
		case ']':
			msg_out_putc(&p, s[i]);
			if (depth > 0)
				depth--;
			break;
		case ',':
			if (depth > 0 && array[depth - 1])
				msg_out_put(&p, ", ", 2);
			else {
				msg_out_put(&p, ",\n", 2);
				msg_out_indent(&p, depth);
			}
			break;
		case ':':
			msg_out_put(&p, ":\t", 2);
			break;
		default:
			msg_out_putc(&p, s[i]);
			break;
		}
	}
	msg_out_putc(&p, '\0');
	free(array);
	return (p.buf);
}

/* The JSON text of the whole message; frees the builder. */
char *
msg_out_finish(struct msg_out *o, int pretty)
{
	char	*s;

	while (o->depth > 0)
		msg_out_close(o);
	msg_out_putc(o, '}');
	if (pretty) {
		s = msg_out_pretty(o->buf, o->len);
		msg_out_free(o);
		return (s);
	}
	msg_out_putc(o, '\0');
	s = o->buf;
	free(o);
	return (s);
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
