/*
 * libaiojobs: the requests about jobs that need more than one line,
 * submit with its idempotency key, wait asked again under max_hold, and
 * cancel.
 */
#include <stdlib.h>
#include <string.h>

#include "aiojobs_private.h"
#include "client.h"
#include "msg.h"
#include "xmalloc.h"

/* A wait without a deadline asks for this long at a time. */
#define AIOJOBS_WAIT_ROUND_MS	60000
/* Added to a wait's own timeout_ms for its reply to arrive. */
#define AIOJOBS_WAIT_SLACK_MS	1000

int
aiojobs_key_new(char key[AIOJOBS_KEY_LEN + 1])
{
	char	*k;

	k = client_key_new();
	memcpy(key, k, AIOJOBS_KEY_LEN + 1);
	free(k);
	return (AIOJOBS_OK);
}

const char *
aiojobs_last_key(const struct aiojobs *h)
{
	return (h->key);
}

/*
 * The key a submit of spec uses: the caller's, else the spec's own, else
 * the one made for the same spec whose submit got no reply, else a new
 * one. Sets h->key; -1 if spec is not a JSON object.
 */
static int
aiojobs_submit_key(struct aiojobs *h, const char *spec, const char *key)
{
	struct msg_error	 err;
	struct msg_in		*in;
	const char		*own = NULL;
	char			*next;

	if ((in = msg_in_parse(spec, strlen(spec), &err)) == NULL)
		return (-1);
	if (key == NULL)
		msg_in_string(in, "key", &own, NULL);
	if (key != NULL || own != NULL)
		next = xstrdup(key != NULL ? key : own);
	else if (h->unanswered != NULL && h->key != NULL &&
	    strcmp(h->unanswered, spec) == 0)
		next = xstrdup(h->key);
	else
		next = client_key_new();
	msg_in_free(in);
	free(h->key);
	h->key = next;
	return (0);
}

/* The id in an ok (or not_durable) submit reply, or -1. */
static int64_t
aiojobs_reply_id(const char *reply)
{
	struct msg_error	 err;
	struct msg_in		*in;
	int64_t			 id = -1;

	if ((in = msg_in_parse(reply, strlen(reply), &err)) == NULL)
		return (-1);
	if (msg_in_int(in, "id", &id, NULL) != 1)
		id = -1;
	msg_in_free(in);
	return (id);
}

/* Whether r means the request may have been acted on, unanswered. */
static int
aiojobs_unanswered(int r)
{
	return (r == AIOJOBS_E_TIMEOUT || r == AIOJOBS_E_CLOSED ||
	    r == AIOJOBS_E_UNREACHABLE);
}

int
aiojobs_submit(struct aiojobs *h, const char *spec, const char *key,
    int timeout_ms, int64_t *id, char **reply)
{
	struct msg_out	*o;
	char		*job, *req, *rep = NULL;
	int		 r;

	if (id != NULL)
		*id = -1;
	if (reply != NULL)
		*reply = NULL;
	if (h->client == NULL)
		return (h->code);
	if (aiojobs_submit_key(h, spec, key) != 0 ||
	    (job = msg_object_set_string(spec, "key", h->key, 1)) == NULL)
		return (aiojobs_fail(h, AIOJOBS_E_INVALID, "the job spec is "
		    "not a JSON object"));
	o = msg_out_new();
	msg_out_string(o, "op", "submit");
	msg_out_raw(o, "job", job);
	req = msg_out_finish(o, 0);
	free(job);
	r = aiojobs_request(h, req, timeout_ms, &rep);
	free(h->unanswered);
	h->unanswered = aiojobs_unanswered(r) ? xstrdup(spec) : NULL;
	free(req);
	if (rep != NULL && id != NULL)
		*id = aiojobs_reply_id(rep);
	if (reply != NULL)
		*reply = rep;
	else
		free(rep);
	return (r);
}

/* One wait request: the daemon holds it up to hold_ms (-1: its own). */
static char *
aiojobs_wait_request(const int64_t *ids, size_t n, const char *return_when,
    int64_t hold_ms)
{
	struct msg_out	*o;
	size_t		 i;

	o = msg_out_new();
	msg_out_string(o, "op", "wait");
	msg_out_array(o, "ids");
	for (i = 0; i < n; i++)
		msg_out_int(o, NULL, ids[i]);
	msg_out_close(o);
	if (return_when != NULL)
		msg_out_string(o, "return_when", return_when);
	msg_out_int(o, "timeout_ms", hold_ms);
	return (msg_out_finish(o, 0));
}

/* The number of pending ids in a wait reply. */
static size_t
aiojobs_wait_pending(const char *reply)
{
	struct msg_error	 err;
	struct msg_in		*in;
	size_t			 n;

	if ((in = msg_in_parse(reply, strlen(reply), &err)) == NULL)
		return (0);
	n = msg_in_array_len(in, "pending");
	msg_in_free(in);
	return (n);
}

int
aiojobs_wait(struct aiojobs *h, const int64_t *ids, size_t n,
    const char *return_when, int timeout_ms, char **reply)
{
	int64_t	 deadline, left;
	char	*req;
	int	 r;

	*reply = NULL;
	deadline = timeout_ms < 0 ? -1 : aiojobs_now_ms() + timeout_ms;
	for (;;) {
		left = AIOJOBS_WAIT_ROUND_MS;
		if (deadline >= 0 && (left = deadline - aiojobs_now_ms()) < 0)
			left = 0;
		req = aiojobs_wait_request(ids, n, return_when, left);
		free(*reply);
		r = aiojobs_request(h, req, (int)(left +
		    AIOJOBS_WAIT_SLACK_MS), reply);
		free(req);
		if (r != AIOJOBS_OK || aiojobs_wait_pending(*reply) == 0 ||
		    (deadline >= 0 && aiojobs_now_ms() >= deadline))
			return (r);
	}
}

int
aiojobs_cancel(struct aiojobs *h, int64_t id, int timeout_ms, char **reply)
{
	struct msg_out	*o;
	char		*req, *rep = NULL;
	int		 r;

	o = msg_out_new();
	msg_out_string(o, "op", "cancel");
	msg_out_int(o, "id", id);
	req = msg_out_finish(o, 0);
	r = aiojobs_request(h, req, timeout_ms, &rep);
	free(req);
	if (reply != NULL)
		*reply = rep;
	else
		free(rep);
	return (r);
}
