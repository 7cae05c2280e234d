/*
 * Requests to aiojobsd for every subcommand, through libaiojobs: connect
 * on first use, send, check the reply; a client error or an error reply
 * becomes a message on stderr and an exit code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiojobctl.h"
#include "aiojobs_private.h"
#include "client.h"
#include "msg.h"
#include "xmalloc.h"

/* Say why a URL cannot be used, in libaiojobs' words. */
int
request_bad_url(const char *url, const char *cause)
{
	char	*why;

	why = aiojobs_bad_url(url, cause);
	ctl_warnx("%s", why);
	free(why);
	return (CTL_EXIT_USAGE);
}

/*
 * What to trust and show on tls+tcp://: the flags, else $AIOJOBS_TLS_*
 * (libaiojobs reads those). 0, or an exit code.
 */
static int
request_tls(struct ctl *ctl)
{
	const struct transport_tls	*t = &ctl->tls;

	if (aiojobs_set_tls(ctl->client, t->ca_file, t->server_name,
	    t->cert_file, t->key_file) != AIOJOBS_OK)
		return (ctl_usage_error(ctl, "a client certificate needs both "
		    "--tls-cert-file and --tls-key-file"));
	return (0);
}

/*
 * The token to send: --token-file or --token, else $AIOJOBS_TOKEN, else
 * the file $AIOJOBS_TOKEN_FILE (libaiojobs reads those). 0, or an exit
 * code.
 */
static int
request_token(struct ctl *ctl)
{
	if (ctl->token != NULL && ctl->token_file != NULL) {
		ctl_warnx("--token and --token-file: give one of them");
		return (CTL_EXIT_USAGE);
	}
	if (aiojobs_set_token(ctl->client, ctl->token, ctl->token_file) !=
	    AIOJOBS_OK) {
		ctl_warnx("%s", aiojobs_errmsg(ctl->client));
		return (CTL_EXIT_USAGE);
	}
	return (0);
}

/* Open the control socket on first use, through libaiojobs. */
static int
request_connect(struct ctl *ctl)
{
	int	 r;

	if (ctl->client != NULL)
		return (0);
	/* --url, else the library's rules: $AIOJOBS_URL, the run directory */
	if (aiojobs_open_url(&ctl->client, ctl->url) != AIOJOBS_OK) {
		ctl_warnx("%s", aiojobs_errmsg(ctl->client));
		aiojobs_close(ctl->client);
		ctl->client = NULL;
		return (CTL_EXIT_USAGE);
	}
	free(ctl->control);
	ctl->control = xstrdup(aiojobs_url(ctl->client));
	if ((r = request_tls(ctl)) != 0)
		return (r);
	return (request_token(ctl));
}

void
request_reply_free(struct ctl_reply *rep)
{
	msg_in_free(rep->in);
	free(rep->raw);
	memset(rep, 0, sizeof *rep);
}

/* With --json print the reply as received; 1 if so. */
int
request_json(struct ctl *ctl, struct ctl_reply *rep)
{
	if (!ctl->json)
		return (0);
	printf("%s\n", rep->raw);
	return (1);
}

/*
 * Parse a reply; an error reply is printed and freed, but one with the
 * code keep (if not NULL) is left in rep for the caller, who gets
 * CTL_EXIT_KEPT.
 */
static int
request_check(struct ctl *ctl, struct ctl_reply *rep, const char *keep)
{
	struct msg_error	 err;
	struct msg_in		*e;
	const char		*code = "?", *message = "";
	size_t			 len = strlen(rep->raw);
	int			 ok;

	while (len > 0 && rep->raw[len - 1] == '\n')
		rep->raw[--len] = '\0';
	if ((rep->in = msg_in_parse(rep->raw, len, &err)) == NULL ||
	    msg_in_bool(rep->in, "ok", &ok, &err) != 1) {
		ctl_warnx("bad reply from aiojobsd at %s: %s", ctl->control,
		    rep->in == NULL ? err.message : "no boolean 'ok' field");
		request_reply_free(rep);
		return (CTL_EXIT_ERROR);
	}
	if (ok)
		return (0);
	if (keep == NULL)
		request_json(ctl, rep);
	e = msg_in_object(rep->in, "error");
	msg_in_string(e, "code", &code, NULL);
	msg_in_string(e, "message", &message, NULL);
	if (keep != NULL && strcmp(code, keep) == 0)
		return (CTL_EXIT_KEPT);
	ctl_warnx("%s: %s", code, message);
	request_reply_free(rep);
	return (CTL_EXIT_ERROR);
}

/* Whether a request failed because the daemon could not be reached. */
static int
request_unreached(int code)
{
	return (code == AIOJOBS_E_UNREACHABLE || code == AIOJOBS_E_TIMEOUT);
}

/*
 * Send one request and read its reply: 0 when rep holds an ok reply, else
 * the exit code, with the reason printed.
 */
int
request_call(struct ctl *ctl, const char *req, int timeout_ms,
    struct ctl_reply *rep)
{
	return (request_call_keep(ctl, req, timeout_ms, NULL, rep));
}

/*
 * request_call, but an error reply with the code keep is the caller's:
 * CTL_EXIT_KEPT with the reply in rep, nothing printed.
 */
int
request_call_keep(struct ctl *ctl, const char *req, int timeout_ms,
    const char *keep, struct ctl_reply *rep)
{
	const char	*cause;
	int		 r;

	memset(rep, 0, sizeof *rep);
	if ((r = request_connect(ctl)) != 0)
		return (r);
	if (strlen(req) > CLIENT_MAX_SEND) {
		ctl_warnx("the request is %zu bytes, the limit is %d",
		    strlen(req), CLIENT_MAX_SEND);
		return (CTL_EXIT_USAGE);
	}
	r = aiojobs_request(ctl->client, req, timeout_ms, &rep->raw);
	cause = aiojobs_errmsg(ctl->client);
	/* a TLS failure means something answered: it is not about running */
	if (request_unreached(r) && strncmp(cause, "TLS ", 4) == 0)
		ctl_warnx("aiojobsd at %s: %s", ctl->control, cause);
	else if (request_unreached(r))
		ctl_warnx("cannot reach aiojobsd at %s: %s (is aiojobsd "
		    "running?)", ctl->control, cause);
	else if (rep->raw == NULL)
		ctl_warnx("%s: %s", ctl->control, cause);
	if (rep->raw == NULL)
		return (CTL_EXIT_UNREACHABLE);
	return (request_check(ctl, rep, keep));
}

/* request_call with a built request, which it frees. */
int
request_send(struct ctl *ctl, struct msg_out *o, int timeout_ms,
    struct ctl_reply *rep)
{
	char	*req;
	int	 r;

	req = msg_out_finish(o, 0);
	r = request_call(ctl, req, timeout_ms, rep);
	free(req);
	return (r);
}

/* A request with its op set. */
struct msg_out *
request_new(const char *op)
{
	struct msg_out	*o;

	o = msg_out_new();
	msg_out_string(o, "op", op);
	return (o);
}

/* The common case: one request, its reply printed by fn or as JSON. */
int
request_simple(struct ctl *ctl, struct msg_out *o, request_print_cb *fn)
{
	struct ctl_reply	 rep;
	int			 r;

	if ((r = request_send(ctl, o, CLIENT_TIMEOUT_MS, &rep)) != 0)
		return (r);
	if (!request_json(ctl, &rep))
		fn(rep.in);
	request_reply_free(&rep);
	return (CTL_EXIT_OK);
}
