/*
 * The protocol module, reading a job's result without a tree: the output
 * streams in a result can be tens of megabytes, of which a view needs
 * the head and an output page a slice. The text is the daemon's own
 * compact JSON (msg_out), scanned once for its top-level members.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "msg_private.h"
#include "xmalloc.h"

#define MSG_WS	" \t\r\n"

/* After the string starting at p (a quote), or NULL if it does not end. */
static const char *
msg_scan_string(const char *p)
{
	const char	*q;

	for (p++;; p = q + 2) {
		q = p + strcspn(p, "\"\\");
		if (*q == '\0' || (*q == '\\' && q[1] == '\0'))
			return (NULL);
		if (*q == '"')
			return (q + 1);
	}
}

/* After the JSON value starting at p, or NULL if it is not one. */
static const char *
msg_scan_value(const char *p)
{
	size_t	 depth = 0, n;

	do {
		p += strspn(p, MSG_WS);
		if (*p == '"') {
			if ((p = msg_scan_string(p)) == NULL)
				return (NULL);
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']' || *p == ',' || *p == ':') {
			if (depth == 0)
				return (NULL);
			if (*p == '}' || *p == ']')
				depth--;
			p++;
		} else {
			if ((n = strcspn(p, ",:]}\"{[" MSG_WS)) == 0)
				return (NULL);
			p += n;
		}
	} while (depth > 0);
	return (p);
}

/* Where the members of the object text starts, or NULL if not one. */
const char *
msg_scan_object(const char *text)
{
	text += strspn(text, MSG_WS);
	return (*text == '{' ? text + 1 : NULL);
}

/*
 * The next member of an object from *pp (msg_scan_object, then each
 * member in turn): its key and its value as raw JSON text. 0 at the end
 * of the object, or when the text is not JSON.
 */
int
msg_scan_member(const char **pp, struct msg_member *m)
{
	const char	*p = *pp, *q;

	p += strspn(p, MSG_WS);
	if (*p == ',')
		p += 1 + strspn(p + 1, MSG_WS);
	if (*p != '"' || (q = msg_scan_string(p)) == NULL)
		return (0);
	m->key = p + 1;
	m->klen = (size_t)(q - 1 - m->key);
	p = q + strspn(q, MSG_WS);
	if (*p != ':')
		return (0);
	p += 1 + strspn(p + 1, MSG_WS);
	if ((q = msg_scan_value(p)) == NULL)
		return (0);
	m->val = p;
	m->vlen = (size_t)(q - p);
	*pp = q;
	return (1);
}

/* Whether a member's key is key. */
int
msg_member_is(const struct msg_member *m, const char *key)
{
	return (m->klen == strlen(key) && memcmp(m->key, key, m->klen) == 0);
}

/* Member key of the object text, or 0 (key is plain: no escapes). */
int
msg_scan_find(const char *text, const char *key, struct msg_member *m)
{
	const char	*p;

	if ((p = msg_scan_object(text)) == NULL)
		return (0);
	while (msg_scan_member(&p, m)) {
		if (msg_member_is(m, key))
			return (1);
	}
	return (0);
}

/* Bytes [off, off + want) of base64 text b64 (no padding inside). */
int
msg_base64_slice(const char *b64, size_t b64len, size_t off, size_t want,
    struct msg_slice *sl)
{
	size_t	 pad = 0, from, to, n;
	char	*dec;

	while (pad < 2 && pad < b64len && b64[b64len - 1 - pad] == '=')
		pad++;
	sl->kept = b64len / 4 * 3 - pad;
	if (off >= sl->kept)
		return (0);
	n = sl->kept - off < want ? sl->kept - off : want;
	from = off / 3 * 4;
	to = (off + n + 2) / 3 * 4;
	if (to > b64len)
		to = b64len;
	if (base64_decode(b64 + from, to - from, &dec, &sl->len) != 0)
		return (-1);
	sl->buf = xmalloc(n + 1);
	memcpy(sl->buf, dec + off % 3, n);
	sl->len = n;
	free(dec);
	return (0);
}

/* Bytes [off, off + want) of a JSON string token (text output). */
static int
msg_slice_text(const char *val, size_t vlen, size_t off, size_t want,
    struct msg_slice *sl)
{
	cJSON	*j;
	size_t	 n;

	if ((j = cJSON_ParseWithLength(val, vlen)) == NULL ||
	    !cJSON_IsString(j)) {
		cJSON_Delete(j);
		return (-1);
	}
	sl->kept = strlen(j->valuestring);
	if (off < sl->kept) {
		n = sl->kept - off < want ? sl->kept - off : want;
		sl->buf = xmalloc(n + 1);
		memcpy(sl->buf, j->valuestring + off, n);
		sl->len = n;
	}
	cJSON_Delete(j);
	return (0);
}

/*
 * Bytes [off, off + want) of output stream X of a result (X as text, or
 * X_base64), the bytes the stream keeps and X_bytes, the bytes the job
 * wrote. Only the slice is decoded. -1 when the result is not one.
 */
int
msg_result_slice(const char *result, const char *stream, size_t off,
    size_t want, struct msg_slice *sl)
{
	struct msg_member	 m;
	char			 key[64];
	int			 r = 0;

	memset(sl, 0, sizeof *sl);
	snprintf(key, sizeof key, "%s_bytes", stream);
	if (msg_scan_find(result, key, &m))
		sl->total = strtoll(m.val, NULL, 10);
	snprintf(key, sizeof key, "%s_base64", stream);
	if (msg_scan_find(result, key, &m) && m.vlen >= 2 && *m.val == '"')
		r = msg_base64_slice(m.val + 1, m.vlen - 2, off, want, sl);
	else if (msg_scan_find(result, stream, &m) && *m.val == '"')
		r = msg_slice_text(m.val, m.vlen, off, want, sl);
	if (sl->total < (int64_t)sl->kept)
		sl->total = (int64_t)sl->kept;
	return (r);
}
