/*
 * libaiojobs: the handle, its connection (common/client.c), the token and
 * URL rules aiojobctl follows, errors, and any request.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aiojobs_private.h"
#include "client.h"
#include "endpoint.h"
#include "msg.h"
#include "xmalloc.h"

/* Where the system's shared daemon listens (the system unit's rundir). */
#define AIOJOBS_SYSTEM_RUNDIR	"/run/aiojobsd"

/* Names and texts of the codes, indexed by code. */
static const struct {
	int		 code;
	const char	*name;
	const char	*text;
} aiojobs_codes[] = {
	{ AIOJOBS_OK, "ok", "success" },
	{ AIOJOBS_E_BAD_REQUEST, MSG_E_BAD_REQUEST, "bad request" },
	{ AIOJOBS_E_UNKNOWN_OP, MSG_E_UNKNOWN_OP, "unknown operation" },
	{ AIOJOBS_E_UNKNOWN_KIND, MSG_E_UNKNOWN_KIND, "unknown job kind" },
	{ AIOJOBS_E_NOT_FOUND, MSG_E_NOT_FOUND, "no such job" },
	{ AIOJOBS_E_QUEUE_FULL, MSG_E_QUEUE_FULL, "queue full" },
	{ AIOJOBS_E_SHUTTING_DOWN, MSG_E_SHUTTING_DOWN,
	  "the daemon is shutting down" },
	{ AIOJOBS_E_TOO_LARGE, MSG_E_TOO_LARGE, "request too large" },
	{ AIOJOBS_E_UNAUTHORIZED, MSG_E_UNAUTHORIZED,
	  "token missing or wrong" },
	{ AIOJOBS_E_FORBIDDEN, MSG_E_FORBIDDEN, "not allowed" },
	{ AIOJOBS_E_CONFLICT, MSG_E_CONFLICT, "conflict" },
	{ AIOJOBS_E_INTERNAL, MSG_E_INTERNAL, "internal error of the daemon" },
	{ AIOJOBS_E_NOT_DURABLE, MSG_E_NOT_DURABLE,
	  "the jobs exist but are not on disk yet; resend" },
	{ AIOJOBS_E_OTHER, "other", "an error code this library does not know" },
	{ AIOJOBS_E_UNREACHABLE, "unreachable", "cannot reach aiojobsd" },
	{ AIOJOBS_E_TIMEOUT, "timeout", "no reply in time" },
	{ AIOJOBS_E_CLOSED, "closed", "the connection failed" },
	{ AIOJOBS_E_INVALID, "invalid", "invalid argument" },
	{ AIOJOBS_E_BAD_REPLY, "bad_reply", "bad reply from aiojobsd" },
};
#define AIOJOBS_NCODES	(sizeof aiojobs_codes / sizeof aiojobs_codes[0])

const char *
aiojobs_code_name(int code)
{
	size_t	 i;

	for (i = 0; i < AIOJOBS_NCODES; i++) {
		if (aiojobs_codes[i].code == code)
			return (aiojobs_codes[i].name);
	}
	return ("unknown");
}

const char *
aiojobs_strerror(int code)
{
	size_t	 i;

	for (i = 0; i < AIOJOBS_NCODES; i++) {
		if (aiojobs_codes[i].code == code)
			return (aiojobs_codes[i].text);
	}
	return ("unknown error code");
}

/* The code of a protocol error name; AIOJOBS_E_OTHER if unknown. */
int
aiojobs_code_from_name(const char *name)
{
	size_t	 i;

	for (i = 1; i < AIOJOBS_NCODES; i++) {
		if (aiojobs_codes[i].code < AIOJOBS_E_OTHER &&
		    strcmp(aiojobs_codes[i].name, name) == 0)
			return (aiojobs_codes[i].code);
	}
	return (AIOJOBS_E_OTHER);
}

/* Record an error of the last call and return its code. */
int
aiojobs_fail(struct aiojobs *h, int code, const char *fmt, ...)
{
	va_list	 ap;

	free(h->errmsg);
	va_start(ap, fmt);
	if (vasprintf(&h->errmsg, fmt, ap) == -1)
		abort();
	va_end(ap);
	h->code = code;
	return (code);
}

/* Record a success. */
int
aiojobs_ok(struct aiojobs *h)
{
	free(h->errmsg);
	h->errmsg = NULL;
	h->code = AIOJOBS_OK;
	return (AIOJOBS_OK);
}

int
aiojobs_errcode(const struct aiojobs *h)
{
	return (h != NULL ? h->code : AIOJOBS_E_INVALID);
}

const char *
aiojobs_errmsg(const struct aiojobs *h)
{
	if (h == NULL)
		return ("out of memory");
	if (h->errmsg != NULL)
		return (h->errmsg);
	return (aiojobs_strerror(h->code));
}

void
aiojobs_free(void *p)
{
	free(p);
}

int64_t
aiojobs_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * The run directory: PROTOCOL's rules, except that a user who runs no
 * daemon of their own (no socket where theirs would be) and sets no URL
 * or run directory reaches the system's daemon, which serves every user
 * when its socket lets them in (socket_mode 0666).
 */
char *
aiojobs_rundir(void)
{
	struct stat	 sb;
	char		*dir, *sock;
	int		 own;

	dir = endpoint_rundir();
	if (geteuid() == 0 || getenv("AIOJOBS_RUNDIR") != NULL ||
	    getenv("AIOJOBS_URL") != NULL)
		return (dir);
	xasprintf(&sock, "%s/aiojobsd.sock", dir);
	own = lstat(sock, &sb) == 0;
	free(sock);
	if (!own && lstat(AIOJOBS_SYSTEM_RUNDIR "/aiojobsd.sock", &sb) == 0 &&
	    S_ISSOCK(sb.st_mode)) {
		free(dir);
		return (xstrdup(AIOJOBS_SYSTEM_RUNDIR));
	}
	return (dir);
}

/* Why a URL cannot be used; an ipc path too long gets its own words. */
char *
aiojobs_bad_url(const char *url, const char *cause)
{
	const char	*path;
	char		*why;

	path = endpoint_ipc_path(url);
	if (path != NULL && strlen(path) > ENDPOINT_IPC_MAX)
		xasprintf(&why, "invalid URL %s: the ipc path is too long "
		    "(%zu bytes, at most %d)", url, strlen(path),
		    ENDPOINT_IPC_MAX);
	else
		xasprintf(&why, "invalid URL: %s", cause);
	return (why);
}

/* A handle on url (NULL: the default), without a token yet. */
int
aiojobs_open_url(struct aiojobs **hp, const char *url)
{
	struct aiojobs	*h;
	char		*rundir, *cause = NULL;

	*hp = h = xcalloc(1, sizeof *h);
	if (url != NULL)
		h->url = xstrdup(url);
	else {
		rundir = aiojobs_rundir();
		h->url = endpoint_control_url(rundir);
		free(rundir);
	}
	if ((h->client = client_open(h->url, &cause)) != NULL)
		return (aiojobs_ok(h));
	free(h->errmsg);
	h->errmsg = aiojobs_bad_url(h->url, cause);
	h->code = AIOJOBS_E_INVALID;
	free(cause);
	return (h->code);
}

/* The token in a file, without one trailing newline; NULL if unread. */
static char *
aiojobs_token_file(struct aiojobs *h, const char *path)
{
	FILE	*f;
	char	*token = NULL;
	size_t	 size = 0;
	ssize_t	 n;

	if ((f = fopen(path, "re")) == NULL) {
		aiojobs_fail(h, AIOJOBS_E_INVALID, "token file %s: %s", path,
		    strerror(errno));
		return (NULL);
	}
	n = getdelim(&token, &size, '\0', f);
	fclose(f);
	if (n <= 0 || (n == 1 && token[0] == '\n')) {
		aiojobs_fail(h, AIOJOBS_E_INVALID, "token file %s is empty",
		    path);
		free(token);
		return (NULL);
	}
	if (token[n - 1] == '\n')
		token[n - 1] = '\0';
	return (token);
}

/*
 * The token to send: token or token_file, else $AIOJOBS_TOKEN, else the
 * file $AIOJOBS_TOKEN_FILE, else none.
 */
int
aiojobs_set_token(struct aiojobs *h, const char *token,
    const char *token_file)
{
	const char	*env = getenv("AIOJOBS_TOKEN");
	const char	*file = getenv("AIOJOBS_TOKEN_FILE");
	char		*t = NULL;

	if (h->client == NULL)
		return (h->code);
	if (token != NULL && token_file != NULL)
		return (aiojobs_fail(h, AIOJOBS_E_INVALID, "give a token or "
		    "a token file, not both"));
	h->token_set = 1;
	if (token_file != NULL)
		t = aiojobs_token_file(h, token_file);
	else if (token != NULL)
		t = xstrdup(token);
	else if (env != NULL && *env != '\0')
		t = xstrdup(env);
	else if (file != NULL && *file != '\0')
		t = aiojobs_token_file(h, file);
	else
		return (aiojobs_ok(h));
	if (t == NULL)
		return (h->code);
	client_set_token(h->client, t);
	explicit_bzero(t, strlen(t));
	free(t);
	return (aiojobs_ok(h));
}

/* An environment variable, NULL when unset or empty. */
static const char *
aiojobs_env(const char *name)
{
	const char	*v = getenv(name);

	return (v != NULL && *v != '\0' ? v : NULL);
}

/* What to trust and show on tls+tcp://; NULL: $AIOJOBS_TLS_*. */
int
aiojobs_set_tls(struct aiojobs *h, const char *ca_file,
    const char *server_name, const char *cert_file, const char *key_file)
{
	struct transport_tls	 tls;

	if (h->client == NULL)
		return (h->code);
	tls.ca_file = ca_file != NULL ? ca_file :
	    aiojobs_env("AIOJOBS_TLS_CA_FILE");
	tls.server_name = server_name != NULL ? server_name :
	    aiojobs_env("AIOJOBS_TLS_SERVER_NAME");
	tls.cert_file = cert_file != NULL ? cert_file :
	    aiojobs_env("AIOJOBS_TLS_CERT_FILE");
	tls.key_file = key_file != NULL ? key_file :
	    aiojobs_env("AIOJOBS_TLS_KEY_FILE");
	if ((tls.cert_file == NULL) != (tls.key_file == NULL))
		return (aiojobs_fail(h, AIOJOBS_E_INVALID, "a client "
		    "certificate needs both a certificate and a key file"));
	client_set_tls(h->client, &tls);
	return (aiojobs_ok(h));
}

int
aiojobs_open(struct aiojobs **hp, const char *url, const char *token,
    const char *token_file)
{
	int	 r;

	if ((r = aiojobs_open_url(hp, url)) != AIOJOBS_OK)
		return (r);
	if ((r = aiojobs_set_tls(*hp, NULL, NULL, NULL, NULL)) != AIOJOBS_OK)
		return (r);
	return (aiojobs_set_token(*hp, token, token_file));
}

/* aiojobs_open, then a ping answered within timeout_ms. */
int
aiojobs_connect(struct aiojobs **hp, const char *url, const char *token,
    int timeout_ms)
{
	struct msg_out	*o;
	char		*req, *reply = NULL;
	int		 r;

	if ((r = aiojobs_open(hp, url, token, NULL)) != AIOJOBS_OK)
		return (r);
	o = msg_out_new();
	msg_out_string(o, "op", "ping");
	req = msg_out_finish(o, 0);
	r = aiojobs_request(*hp, req, timeout_ms, &reply);
	free(req);
	free(reply);
	return (r);
}

void
aiojobs_close(struct aiojobs *h)
{
	if (h == NULL)
		return;
	client_close(h->client);
	free(h->url);
	free(h->errmsg);
	free(h->key);
	free(h->unanswered);
	free(h);
}

const char *
aiojobs_url(const struct aiojobs *h)
{
	return (h->url);
}

/* The code of a reply: ok, the daemon's error, or a bad reply. */
static int
aiojobs_reply_code(struct aiojobs *h, const char *reply)
{
	struct msg_error	 err;
	struct msg_in		*in, *e;
	const char		*code = "?", *message = "";
	size_t			 len = strlen(reply);
	int			 ok, r;

	while (len > 0 && reply[len - 1] == '\n')
		len--;
	if ((in = msg_in_parse(reply, len, &err)) == NULL)
		return (aiojobs_fail(h, AIOJOBS_E_BAD_REPLY, "%s",
		    err.message));
	if (msg_in_bool(in, "ok", &ok, &err) != 1) {
		msg_in_free(in);
		return (aiojobs_fail(h, AIOJOBS_E_BAD_REPLY, "no boolean 'ok' "
		    "field"));
	}
	if (ok) {
		msg_in_free(in);
		return (aiojobs_ok(h));
	}
	e = msg_in_object(in, "error");
	msg_in_string(e, "code", &code, NULL);
	msg_in_string(e, "message", &message, NULL);
	r = aiojobs_code_from_name(code);
	if (r == AIOJOBS_E_OTHER)
		aiojobs_fail(h, r, "%s: %s", code, message);
	else
		aiojobs_fail(h, r, "%s", message);
	msg_in_free(in);
	return (r);
}

/* Send a request and receive its reply; see aiojobs.h. */
int
aiojobs_request(struct aiojobs *h, const char *req, int timeout_ms,
    char **reply)
{
	char	*cause = NULL;
	int	 r;

	*reply = NULL;
	if (h->client == NULL)
		return (h->code);
	if (!h->token_set && (r = aiojobs_set_token(h, NULL, NULL)) != 0)
		return (r);
	if (strlen(req) > CLIENT_MAX_SEND)
		return (aiojobs_fail(h, AIOJOBS_E_INVALID, "the request is %zu "
		    "bytes, the limit is %d", strlen(req), CLIENT_MAX_SEND));
	r = client_request(h->client, req, timeout_ms < 0 ? -1 : timeout_ms,
	    reply, &cause);
	if (r == CLIENT_UNREACHABLE)
		aiojobs_fail(h, AIOJOBS_E_UNREACHABLE, "%s", cause);
	else if (r == CLIENT_TIMEOUT)
		aiojobs_fail(h, AIOJOBS_E_TIMEOUT, "%s", cause);
	else if (r != 0)
		aiojobs_fail(h, AIOJOBS_E_CLOSED, "%s", cause);
	free(cause);
	if (r != 0)
		return (h->code);
	return (aiojobs_reply_code(h, *reply));
}
