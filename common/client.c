/*
 * The client side of the control endpoint: one REQ socket, made at the
 * first request. For ipc and tls+tcp URLs the first connection is made
 * before the request is sent, so "not running" (or a certificate not
 * trusted) shows at once instead of at the timeout; NNG reconnects on
 * its own after that.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "endpoint.h"
#include "transport.h"
#include "xmalloc.h"

struct client {
	char			*url;
	struct transport	*transport;	/* NULL until connected */
	char			*token;	/* sent in every request, or NULL */
	struct transport_tls	 tls;	/* for tls+tcp; fields ours */
};

static int	client_send(struct client *, const char *, int, char **,
		    char **);

struct client *
client_open(const char *url, char **cause)
{
	struct client	*c;

	if (endpoint_check(url, cause) != 0)
		return (NULL);
	c = xcalloc(1, sizeof *c);
	c->url = xstrdup(url);
	return (c);
}

static void
client_tls_clear(struct client *c)
{
	free((char *)c->tls.ca_file);
	free((char *)c->tls.server_name);
	free((char *)c->tls.cert_file);
	free((char *)c->tls.key_file);
	memset(&c->tls, 0, sizeof c->tls);
}

static const char *
client_dup(const char *s)
{
	return (s != NULL ? xstrdup(s) : NULL);
}

/*
 * What to trust and show on a tls+tcp:// URL (a copy), before the first
 * request.
 */
void
client_set_tls(struct client *c, const struct transport_tls *tls)
{
	client_tls_clear(c);
	c->tls.ca_file = client_dup(tls->ca_file);
	c->tls.server_name = client_dup(tls->server_name);
	c->tls.cert_file = client_dup(tls->cert_file);
	c->tls.key_file = client_dup(tls->key_file);
}

void
client_close(struct client *c)
{
	if (c == NULL)
		return;
	transport_close(c->transport);
	free(c->url);
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	client_tls_clear(c);
	free(c);
}

/* Send this token (a copy) in every request from now on. */
void
client_set_token(struct client *c, const char *token)
{
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	c->token = token != NULL ? xstrdup(token) : NULL;
}

const char *
client_url(struct client *c)
{
	return (c->url);
}

/*
 * Send one request and wait up to timeout_ms (-1: forever) for its reply,
 * which the caller frees. Returns 0, CLIENT_ERROR, CLIENT_UNREACHABLE or
 * CLIENT_TIMEOUT.
 */
int
client_request(struct client *c, const char *req, int timeout_ms,
    char **reply, char **cause)
{
	char	*with;
	int	 r;

	if (c->token == NULL)
		return (client_send(c, req, timeout_ms, reply, cause));
	if ((with = msg_request_add_token(req, c->token)) == NULL) {
		*reply = NULL;
		xasprintf(cause, "the request is not a JSON object");
		return (CLIENT_ERROR);
	}
	r = client_send(c, with, timeout_ms, reply, cause);
	explicit_bzero(with, strlen(with));
	free(with);
	return (r);
}

/* client_request without a token. */
static int
client_send(struct client *c, const char *req, int timeout_ms, char **reply,
    char **cause)
{
	size_t		 len = strlen(req), n;

	*reply = NULL;
	if (len > CLIENT_MAX_SEND) {
		xasprintf(cause, "request of %zu bytes is larger than the "
		    "%d byte limit of the transport; send less at a time",
		    len, CLIENT_MAX_SEND);
		return (CLIENT_ERROR);
	}
	if (c->transport == NULL && (c->transport = transport_req_dial(c->url,
	    endpoint_ipc_path(c->url) != NULL, &c->tls, cause)) == NULL)
		return (CLIENT_UNREACHABLE);
	switch (transport_request(c->transport, req, len, timeout_ms, reply,
	    &n, cause)) {
	case 0:
		return (0);
	case TRANSPORT_TIMEOUT:
		return (CLIENT_TIMEOUT);
	default:
		return (CLIENT_ERROR);
	}
}

/* A fresh random idempotency key: 128 bits as hex. */
char *
client_key_new(void)
{
	unsigned char	 b[16];
	char		*key;
	size_t		 i;

	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
		abort();
	key = xmalloc(2 * sizeof b + 1);
	for (i = 0; i < sizeof b; i++)
		snprintf(key + 2 * i, 3, "%02x", b[i]);
	return (key);
}

/*
 * A spec as a submit carries it: only the fields that differ from their
 * defaults, and a key (a fresh one if it has none, so that a resent
 * request never creates a second job).
 */
static char *
client_spec_text(struct msg_spec *spec)
{
	if (spec->key == NULL)
		spec->key = client_key_new();
	return (msg_spec_encode(spec, MSG_SPEC_KEY | MSG_SPEC_SHORT));
}

/*
 * How many of n specs, from the first, one submit takes: at most
 * MSG_JOBS_MAX, in a request of at most max bytes. At least one: a spec
 * too large alone is left for the daemon to refuse, naming it.
 */
size_t
client_submit_fit(struct msg_spec *specs, size_t n, size_t max)
{
	size_t	 i, len, used = CLIENT_SUBMIT_ENVELOPE;
	char	*text;

	for (i = 0; i < n && i < MSG_JOBS_MAX; i++) {
		text = client_spec_text(&specs[i]);
		len = strlen(text) + 1;		/* and a comma */
		free(text);
		if (i > 0 && used + len > max)
			break;
		used += len;
	}
	return (i);
}

/* A submit request for specs (see client_spec_text). */
char *
client_submit_request(struct msg_spec *specs, size_t n, int batch, int group)
{
	struct msg_out	*o;
	char		*text;
	size_t		 i;

	o = msg_out_new();
	msg_out_string(o, "op", "submit");
	if (batch)
		msg_out_array(o, "jobs");
	for (i = 0; i < n; i++) {
		text = client_spec_text(&specs[i]);
		msg_out_raw(o, batch ? NULL : "job", text);
		free(text);
	}
	if (batch) {
		msg_out_close(o);
		if (group)
			msg_out_bool(o, "group", 1);
	}
	return (msg_out_finish(o, 0));
}
