/*
 * Requests to aiojobsd for every subcommand: connect on first use, send,
 * check the reply; a client error or an error reply becomes a message on
 * stderr and an exit code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiojobctl.h"
#include "client.h"
#include "endpoint.h"
#include "msg.h"
#include "xmalloc.h"

/* Say why a URL cannot be used; an ipc path too long gets its own words. */
int
request_bad_url(const char *url, const char *cause)
{
	const char	*path;

	path = endpoint_ipc_path(url);
	if (path != NULL && strlen(path) > ENDPOINT_IPC_MAX)
		ctl_warnx("invalid URL %s: the ipc path is too long (%zu bytes, "
		    "at most %d)", url, strlen(path), ENDPOINT_IPC_MAX);
	else
		ctl_warnx("invalid URL: %s", cause);
	return (CTL_EXIT_USAGE);
}

/* The token in a file, without one trailing newline; NULL if unread. */
static char *
request_token_file(const char *path)
{
	FILE	*f;
	char	*token = NULL;
	size_t	 size = 0;
	ssize_t	 n;

	if ((f = fopen(path, "re")) == NULL) {
		ctl_warnx("token file %s: %s", path, strerror(errno));
		return (NULL);
	}
	n = getdelim(&token, &size, '\0', f);
	fclose(f);
	if (n <= 0 || (n == 1 && token[0] == '\n')) {
		ctl_warnx("token file %s is empty", path);
		free(token);
		return (NULL);
	}
	if (token[n - 1] == '\n')
		token[n - 1] = '\0';
	return (token);
}

/*
 * The token to send: --token-file or --token, else $AIOJOBS_TOKEN, else
 * the file $AIOJOBS_TOKEN_FILE. 0, or an exit code.
 */
static int
request_token(struct ctl *ctl)
{
	const char	*env = getenv("AIOJOBS_TOKEN");
	const char	*file = getenv("AIOJOBS_TOKEN_FILE");
	char		*token = NULL;

	if (ctl->token != NULL && ctl->token_file != NULL) {
		ctl_warnx("--token and --token-file: give one of them");
		return (CTL_EXIT_USAGE);
	}
	if (ctl->token_file != NULL)
		token = request_token_file(ctl->token_file);
	else if (ctl->token != NULL)
		token = xstrdup(ctl->token);
	else if (env != NULL && *env != '\0')
		token = xstrdup(env);
	else if (file != NULL && *file != '\0')
		token = request_token_file(file);
	else
		return (0);
	if (token == NULL)
		return (CTL_EXIT_USAGE);
	client_set_token(ctl->client, token);
	explicit_bzero(token, strlen(token));
	free(token);
	return (0);
}

/* A --tls-* flag, else its environment variable (empty: unset). */
static const char *
request_tls_value(const char *flag, const char *env)
{
	const char	*v;

	if (flag != NULL)
		return (flag);
	v = getenv(env);
	return (v != NULL && *v != '\0' ? v : NULL);
}

/*
 * What to trust and show on tls+tcp://: the flags, else $AIOJOBS_TLS_*.
 * 0, or an exit code.
 */
static int
request_tls(struct ctl *ctl)
{
	struct transport_tls	 tls;

	tls.ca_file = request_tls_value(ctl->tls.ca_file,
	    "AIOJOBS_TLS_CA_FILE");
	tls.server_name = request_tls_value(ctl->tls.server_name,
	    "AIOJOBS_TLS_SERVER_NAME");
	tls.cert_file = request_tls_value(ctl->tls.cert_file,
	    "AIOJOBS_TLS_CERT_FILE");
	tls.key_file = request_tls_value(ctl->tls.key_file,
	    "AIOJOBS_TLS_KEY_FILE");
	if ((tls.cert_file == NULL) != (tls.key_file == NULL))
		return (ctl_usage_error(ctl, "a client certificate needs both "
		    "--tls-cert-file and --tls-key-file"));
	client_set_tls(ctl->client, &tls);
	return (0);
}

/* Open the control socket on first use. */
static int
request_connect(struct ctl *ctl)
{
	char	*cause = NULL;
	int	 r;

	if (ctl->client != NULL)
		return (0);
	if (ctl->control == NULL)
		ctl->control = ctl->url != NULL ? xstrdup(ctl->url) :
		    endpoint_control_url(ctl->rundir);
	if ((ctl->client = client_open(ctl->control, &cause)) != NULL) {
		if ((r = request_tls(ctl)) != 0)
			return (r);
		return (request_token(ctl));
	}
	r = request_bad_url(ctl->control, cause);
	free(cause);
	return (r);
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
	char	*cause = NULL;
	int	 r;

	memset(rep, 0, sizeof *rep);
	if ((r = request_connect(ctl)) != 0)
		return (r);
	if (strlen(req) > CLIENT_MAX_SEND) {
		ctl_warnx("the request is %zu bytes, the limit is %d",
		    strlen(req), CLIENT_MAX_SEND);
		return (CTL_EXIT_USAGE);
	}
	r = client_request(ctl->client, req, timeout_ms, &rep->raw, &cause);
	/* a TLS failure means something answered: it is not about running */
	if (r == CLIENT_UNREACHABLE && strncmp(cause, "TLS ", 4) == 0)
		ctl_warnx("aiojobsd at %s: %s", ctl->control, cause);
	else if (r == CLIENT_UNREACHABLE)
		ctl_warnx("cannot reach aiojobsd at %s: %s (is aiojobsd "
		    "running?)", ctl->control, cause);
	else if (r != 0)
		ctl_warnx("%s: %s", ctl->control, cause);
	free(cause);
	if (r != 0)
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
