/*
 * The protocol module, taking a request as it was written: the daemon acts
 * on exactly what the client sent, or refuses it and says why. Three things
 * would otherwise change a request silently. cJSON turns the escape \u0000
 * into a NUL and keeps no length, so every reader would see the string cut
 * there (["echo", "a\u0000b"] would run "echo a"). cJSON keeps both members
 * of a duplicate key while the readers see only the first. And a reader
 * skips the members it does not ask for, so a misspelt "timout_ms" would
 * leave a job without a timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_private.h"
#include "xmalloc.h"

/* Where a member sits in a request, for messages: job.args.argv[1]. */
struct msg_path {
	const struct msg_path	*up;
	const char		*key;	/* the member's name, or NULL: index */
	size_t			 index;
};

/* Write a path as job.args.argv[1]; an empty string for the request. */
static void
msg_path_format(const struct msg_path *p, char *buf, size_t size)
{
	size_t	 len;

	if (p == NULL) {
		buf[0] = '\0';
		return;
	}
	msg_path_format(p->up, buf, size);
	len = strlen(buf);
	if (p->key == NULL)
		snprintf(buf + len, size - len, "[%zu]", p->index);
	else
		snprintf(buf + len, size - len, "%s%.100s", len == 0 ? "" : ".",
		    p->key);
}

/* Set a bad_request error naming the field at a path. */
static int
msg_strict_fail(struct msg_error *err, const char *before,
    const struct msg_path *p, const char *after)
{
	char	 where[256];

	msg_path_format(p, where, sizeof where);
	if (p == NULL)		/* a string on its own (msg_strict_text) */
		msg_error_set(err, MSG_E_BAD_REQUEST, "the string %s", after);
	else
		msg_error_set(err, MSG_E_BAD_REQUEST, "%sfield '%s' %s",
		    before, where, after);
	return (-1);
}

#define MSG_STRICT_NUL	"holds U+0000 (NUL), which no string of a request " \
			"may hold"


/*
 * Whether JSON text holds the escape \u0000. A backslash only occurs in
 * strings, and each one starts an escape that takes the next character:
 * in "\\u0000" the second backslash is escaped and u0000 is plain text.
 */
static int
msg_strict_has_nul(const char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (buf[i] != '\\')
			continue;
		if (len - i > 5 && memcmp(buf + i + 1, "u0000", 5) == 0)
			return (1);
		i++;
	}
	return (0);
}

/*
 * A copy of JSON text with every \u0000 escape made \u0001: the same tree,
 * whose strings differ from the original's exactly where a NUL cut them.
 */
static char *
msg_strict_twin(const char *buf, size_t len)
{
	char	*copy = xmalloc(len + 1);
	size_t	 i;

	memcpy(copy, buf, len);
	copy[len] = '\0';
	for (i = 0; i < len; i++) {
		if (copy[i] != '\\')
			continue;
		if (len - i > 5 && memcmp(copy + i + 1, "u0000", 5) == 0)
			copy[i + 5] = '1';
		i++;
	}
	return (copy);
}

static int
msg_strict_cmp(const void *a, const void *b)
{
	const cJSON	*ja = *(const cJSON * const *)a;
	const cJSON	*jb = *(const cJSON * const *)b;

	return (strcmp(ja->string, jb->string));
}

/*
 * A member name an object gives twice, or NULL. Every object of every
 * request passes here: small ones (most are) are compared pairwise
 * without allocating, larger ones sorted (an env of 1024 names, a cpu
 * input of any size) so the cost stays n log n.
 */
static const char *
msg_strict_dup(cJSON *obj)
{
	cJSON		*c, *d, **v;
	const char	*dup = NULL;
	size_t		 n = 0, i;

	for (c = obj->child; c != NULL; c = c->next)
		n++;
	if (n <= 8) {
		for (c = obj->child; c != NULL; c = c->next) {
			for (d = c->next; d != NULL; d = d->next) {
				if (strcmp(c->string, d->string) == 0)
					return (c->string);
			}
		}
		return (NULL);
	}
	v = xcalloc(n, sizeof *v);
	for (c = obj->child, i = 0; c != NULL; c = c->next)
		v[i++] = c;
	qsort(v, n, sizeof *v, msg_strict_cmp);
	for (i = 1; i < n && dup == NULL; i++) {
		if (strcmp(v[i - 1]->string, v[i]->string) == 0)
			dup = v[i]->string;
	}
	free(v);
	return (dup);
}

/*
 * Check a node and all below it: no duplicate member names, and, when a
 * twin is given (msg_strict_twin), no string or name that a NUL cut.
 */
static int
msg_strict_walk(cJSON *j, cJSON *twin, const struct msg_path *path,
    struct msg_error *err)
{
	struct msg_path	 p;
	cJSON		*c, *t;
	const char	*dup;

	if (twin != NULL && cJSON_IsString(j) &&
	    strcmp(j->valuestring, twin->valuestring) != 0)
		return (msg_strict_fail(err, "", path, MSG_STRICT_NUL));
	if (cJSON_IsObject(j) && (dup = msg_strict_dup(j)) != NULL) {
		p.up = path;
		p.key = dup;
		return (msg_strict_fail(err, "", &p, "is given twice"));
	}
	p.up = path;
	p.index = 0;
	t = twin != NULL ? twin->child : NULL;
	for (c = j->child; c != NULL; c = c->next, p.index++) {
		p.key = cJSON_IsObject(j) ? c->string : NULL;
		if (t != NULL && p.key != NULL && strcmp(p.key, t->string) != 0)
			return (msg_strict_fail(err, "the name of ", &p,
			    MSG_STRICT_NUL));
		if (msg_strict_walk(c, t, &p, err) != 0)
			return (-1);
		t = t != NULL ? t->next : NULL;
	}
	return (0);
}

/*
 * Check parsed JSON against the text it came from: no NUL in any string
 * (a free-form value included: printed again, it would be cut too) and no
 * duplicate key in any object.
 */
int
msg_strict_check(cJSON *j, const char *buf, size_t len,
    struct msg_error *err)
{
	cJSON	*twin = NULL;
	char	*copy;
	int	 r;

	if (msg_strict_has_nul(buf, len)) {
		copy = msg_strict_twin(buf, len);
		twin = cJSON_ParseWithLength(copy, len);
		free(copy);
		if (twin == NULL) {
			msg_error_set(err, MSG_E_BAD_REQUEST, "a string "
			    MSG_STRICT_NUL);
			return (-1);
		}
	}
	r = msg_strict_walk(j, twin, NULL, err);
	cJSON_Delete(twin);
	return (r);
}

/* Parse a request: msg_in_parse, then msg_strict_check. */
struct msg_in *
msg_strict_parse(const char *buf, size_t len, struct msg_error *err)
{
	struct msg_in	*in;

	if ((in = msg_in_parse(buf, len, err)) == NULL)
		return (NULL);
	if (msg_strict_check(J(in), buf, len, err) == 0)
		return (in);
	msg_in_free(in);
	return (NULL);
}

/*
 * Check JSON text of any value (a client's --input) as msg_strict_parse
 * checks a request, before a parse and print would cut it at a NUL. Text
 * that is not JSON passes: saying so is the caller's parser's job.
 */
int
msg_strict_text(const char *text, struct msg_error *err)
{
	cJSON	*j;
	int	 r;

	if ((j = cJSON_Parse(text)) == NULL)
		return (0);
	r = msg_strict_check(j, text, strlen(text), err);
	cJSON_Delete(j);
	return (r);
}

/*
 * The first member of an object whose name is not in known (a NULL-ended
 * list), or NULL when every member is known (or it is no object, which
 * its decoder reports). Each decoder names the fields it reads, so a
 * misspelt field is refused, not skipped.
 */
const char *
msg_strict_unknown(struct msg_in *in, const char *const *known)
{
	cJSON	*c;
	size_t	 i;

	if (!cJSON_IsObject(J(in)))
		return (NULL);
	for (c = J(in)->child; c != NULL; c = c->next) {
		for (i = 0; known[i] != NULL; i++) {
			if (strcmp(c->string, known[i]) == 0)
				break;
		}
		if (known[i] == NULL)
			return (c->string);
	}
	return (NULL);
}
