/*
 * The control endpoints: raw REP endpoints, so a request can be answered
 * later (a held wait) while others are served. Each request keeps its
 * route until its reply is sent along it. Each endpoint has a
 * policy: a token its requests must carry, the kinds of jobs it takes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aiojobsd.h"
#include "endpoint.h"
#include "log.h"
#include "sp_server.h"
#include "sp_tls.h"
#include "transport.h"
#include "xmalloc.h"

static void	control_request_cb(struct sp_request *, void *);

/*
 * The endpoint reads no more of a request than this: a larger one is
 * thrown away as it arrives and answered too_large, as are requests
 * between max_request_bytes and this, which are read whole. It is never
 * below TRANSPORT_RECV_MIN, the most our own clients send.
 */
static size_t
control_rcvmax(int64_t max_request)
{
	int64_t	 max = max_request * 16;

	if (max < TRANSPORT_RECV_MIN)
		max = TRANSPORT_RECV_MIN;
	return (max > 1024 * 1024 * 1024 ? 1024 * 1024 * 1024 : (size_t)max);
}

/* Take an endpoint's policy, and say at start what it lets in. */
static void
control_policy(struct control *c, const struct config_listen *l)
{
	const struct kind	*exec = kind_find("exec");
	int			 tcp;
	char			 kinds[256];

	tcp = strncmp(l->url, "tcp://", 6) == 0 || config_url_tls(l->url);

	c->name = xstrdup(config_listen_name(l));
	c->allow_exec = config_listen_exec(l);
	c->insecure_no_token = l->insecure_no_token;
	c->kinds = l->kinds;
	if (!c->allow_exec && exec != NULL)
		c->kinds &= ~(1U << kind_index(exec));
	if (l->secret != NULL) {
		c->has_token = 1;
		access_token_md(l->secret, c->token_md);
	}
	config_kind_names(c->kinds, kinds, sizeof kinds);
	log_info("endpoint %s%s%s: %s, kinds %s", c->name, l->name != NULL ?
	    " on " : "", l->name != NULL ? l->url : "", c->has_token ?
	    "token" : c->plain_tcp ? "no token (any local user)" : "no token",
	    kinds);
	if (tcp && !c->has_token && !config_url_loopback(l->url))
		log_warnx("endpoint %s takes requests without a token from "
		    "anyone who can reach %s (insecure_no_token)", c->name,
		    l->url);
}

/*
 * The TLS context of a tls+tcp:// endpoint, made once at start (endpoints
 * change only with a restart); nothing for other URLs.
 */
static int
control_tls(struct control *c, const struct config_listen *l, char **cause)
{
	char	*why;

	c->plain_tcp = strncmp(l->url, "tcp://", 6) == 0;
	c->insecure_plain_token = l->insecure_plain_token;
	if (!config_url_tls(l->url))
		return (0);
	if (l->tls_cert_file == NULL || l->tls_key_file == NULL) {
		xasprintf(cause, "endpoint %s: a tls+tcp:// endpoint needs a "
		    "[listen.NAME] section with tls_cert_file and "
		    "tls_key_file", config_listen_name(l));
		return (-1);
	}
	c->tls = sp_tls_server(l->tls_cert_file, l->tls_key_file,
	    l->tls_client_ca_file, &why);
	if (c->tls == NULL) {
		xasprintf(cause, "endpoint %s: %s", config_listen_name(l), why);
		free(why);
		return (-1);
	}
	return (0);
}

/*
 * An endpoint on l's URL, with l's policy, whose requests go to dispatch
 * once the endpoint's own checks pass.
 */
struct control *
control_create(struct aiojobsd *aj, const struct config_listen *l,
    control_dispatch_cb *dispatch, char **cause)
{
	struct control		*c;
	const char		*url = l->url;

	if (endpoint_check_bind(url, cause) != 0)
		return (NULL);
	c = xcalloc(1, sizeof *c);
	if (control_tls(c, l, cause) != 0) {
		free(c);
		return (NULL);
	}
	c->server = sp_server_rep(aj->base, url,
	    control_rcvmax(aj->conf.max_request_bytes), c->tls,
	    control_request_cb, c, cause);
	if (c->server == NULL) {
		sp_tls_free(c->tls);
		free(c);
		return (NULL);
	}
	if (endpoint_restrict_to(url, config_socket_mode(&aj->conf),
	    (long)aj->conf.socket_gid, cause) != 0) {
		sp_server_free(c->server);
		sp_tls_free(c->tls);
		free(c);
		return (NULL);
	}
	c->aj = aj;
	c->dispatch = dispatch;
	c->url = xstrdup(url);
	control_policy(c, l);
	TAILQ_INIT(&c->held);
	return (c);
}

static void
control_creq_free(struct creq *cr)
{
	control_unhold(cr);
	if (cr->release != NULL)
		cr->release(cr);
	sp_request_free(cr->msg);
	msg_request_clear(&cr->req);
	free(cr->ids);
	free(cr);
}

/* Close the endpoint; held requests are dropped unanswered. */
void
control_free(struct control *c)
{
	const char	*path;
	struct creq	*cr;

	if (c == NULL)
		return;
	while ((cr = TAILQ_FIRST(&c->held)) != NULL)
		control_creq_free(cr);
	sp_server_free(c->server);
	sp_tls_free(c->tls);
	if ((path = endpoint_ipc_path(c->url)) != NULL && unlink(path) == -1 &&
	    errno != ENOENT)
		log_warn("unlink %s", path);
	free(c->url);
	free(c->name);
	free(c);
}

static int
control_token_error(struct control *c, int has, struct msg_error *err)
{
	if (has)
		msg_error_set(err, MSG_E_UNAUTHORIZED, "token wrong for "
		    "endpoint %s", c->name);
	else
		msg_error_set(err, MSG_E_UNAUTHORIZED, "token missing: "
		    "endpoint %s needs a \"token\" string in every request",
		    c->name);
	return (-1);
}

/*
 * A token sent over plain tcp from another machine has crossed a network
 * in clear text, where anyone on the path could read it: refuse it
 * (whether right or wrong), unless the endpoint says insecure_plain_token.
 * From loopback the bytes never leave the machine.
 */
static int
control_plain_token(struct creq *cr, struct msg_in *in,
    struct msg_error *err)
{
	struct control	*c = cr->control;

	if (!c->plain_tcp || c->insecure_plain_token || cr->msg == NULL ||
	    sp_request_peer_loopback(cr->msg) || !msg_in_has(in, "token"))
		return (0);
	msg_error_set(err, MSG_E_UNAUTHORIZED, "a token sent over plain tcp "
	    "from another machine travels in clear text: endpoint %s refuses "
	    "it; use a tls+tcp:// endpoint, or set insecure_plain_token = "
	    "true in its [listen.NAME] section", c->name);
	return (-1);
}

/*
 * Who sent a request, before anything else is read of it. Over ipc the
 * kernel says (SO_PEERCRED), and the endpoint's token, if it has one,
 * must be there too. Over tcp and tls the token says: the endpoint's own
 * token acts as the daemon's user, a [user.NAME] token as that user;
 * without one, an endpoint that needs none takes requests as the daemon's
 * user, unless there are [user.NAME] tokens (then a request without one
 * could be anybody's) and the endpoint does not say insecure_no_token.
 * Tokens are hashed with SHA-256 and the digests compared with
 * CRYPTO_memcmp: two buffers of the same length, compared in a time that
 * does not depend on where they differ, so neither a token's bytes nor
 * its length leak through the time a reply takes. (Hashing the request's
 * token takes time in its own length, which its sender knows already.)
 */
int
control_authorize(struct creq *cr, struct msg_in *in, struct msg_error *err)
{
	struct control	*c = cr->control;
	struct sp_peer	 peer;
	unsigned char	 md[ACCESS_TOKEN_MD];
	const char	*token;
	int		 has, own;

	if (control_plain_token(cr, in, err) != 0)
		return (-1);
	if ((has = msg_in_string(in, "token", &token, NULL) == 1))
		access_token_md(token, md);
	own = has && c->has_token &&
	    CRYPTO_memcmp(md, c->token_md, sizeof md) == 0;
	if (control_peer(cr, &peer) == 0) {
		if (c->has_token && !own)
			return (control_token_error(c, has, err));
		cr->uid = peer.uid;
	} else if (own || (!has && !c->has_token && (c->insecure_no_token ||
	    !access_has_tokens(c->aj->access))))
		cr->uid = geteuid();
	else if (!has || !access_token(c->aj->access, md, &cr->uid))
		return (control_token_error(c, has, err));
	cr->admin = access_admin(c->aj->access, cr->uid);
	return (0);
}

/*
 * Whether the endpoint takes jobs of these kinds; a batch is refused as
 * a whole, naming the first job it may not take. Unknown kinds are left
 * for submit to refuse (unknown_kind).
 */
int
control_permit(struct control *c, const struct msg_request *req,
    struct msg_error *err)
{
	const struct kind	*k;
	char			 where[32], why[300], kinds[256];
	size_t			 i;

	for (i = 0; i < req->njobs; i++) {
		if (req->jobs[i].kind == NULL ||
		    (k = kind_find(req->jobs[i].kind)) == NULL ||
		    (c->kinds & (1U << kind_index(k))) != 0)
			continue;
		if (req->present & MSG_F_JOBS)
			snprintf(where, sizeof where, "jobs[%zu]: ", i);
		else
			where[0] = '\0';
		if (strcmp(k->name, "exec") == 0 && !c->allow_exec)
			snprintf(why, sizeof why, "allow_exec is off");
		else {
			config_kind_names(c->kinds, kinds, sizeof kinds);
			snprintf(why, sizeof why, "allow_kinds: %s", kinds);
		}
		msg_error_set(err, MSG_E_FORBIDDEN, "%s%s jobs are not allowed "
		    "on endpoint %s (%s)%s", where, k->name, c->name, why,
		    where[0] != '\0' ? "; the batch was refused" : "");
		return (-1);
	}
	return (0);
}

/* A resent copy of a request still held: same routing header. */
static int
control_is_duplicate(struct control *c, struct creq *cr)
{
	struct creq	*h;

	TAILQ_FOREACH(h, &c->held, entry) {
		if (sp_request_same_route(h->msg, cr->msg))
			return (1);
	}
	return (0);
}

static void
control_handle(struct control *c, struct creq *cr, const char *body,
    size_t len)
{
	struct aiojobsd	*aj = c->aj;

	if (control_is_duplicate(c, cr)) {
		log_debug("dropping a resent copy of a held request");
		control_creq_free(cr);
		return;
	}
	/* on every endpoint, before its token is checked */
	if ((int64_t)len > aj->conf.max_request_bytes) {
		control_error(cr, MSG_E_TOO_LARGE, "request of %zu bytes is "
		    "larger than max_request_bytes (%lld)", len,
		    (long long)aj->conf.max_request_bytes);
		return;
	}
	c->dispatch(aj, cr, body, len);
}

/* A request arrived: its body is read in place, its route kept. */
static void
control_request_cb(struct sp_request *msg, void *arg)
{
	struct control	*c = arg;
	struct creq	*cr;
	const char	*body;
	size_t		 len;

	cr = xcalloc(1, sizeof *cr);
	cr->control = c;
	cr->msg = msg;
	if (sp_request_over(msg) > 0) {
		control_error(cr, MSG_E_TOO_LARGE, "request of %llu bytes is "
		    "larger than the transport's limit of %zu bytes (16 times "
		    "max_request_bytes, at least 16 MiB); it was not read",
		    (unsigned long long)sp_request_over(msg),
		    control_rcvmax(c->aj->conf.max_request_bytes));
		return;
	}
	body = sp_request_body(msg, &len);
	control_handle(c, cr, body, len);
}

/* Send the reply (freeing it) and free the request. */
void
control_reply(struct creq *cr, char *json)
{
	sp_request_reply(cr->msg, json, strlen(json));
	cr->msg = NULL;		/* the reply freed it */
	free(json);
	control_creq_free(cr);
}

/* The credentials of the process that sent a request over ipc. */
int
control_peer(struct creq *cr, struct sp_peer *peer)
{
	return (cr->msg != NULL ? sp_request_peer(cr->msg, peer) : -1);
}

void
control_error(struct creq *cr, const char *code, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	log_debug("error reply: %s: %s", code, msg != NULL ? msg : code);
	control_reply(cr, msg_error_reply(code, msg != NULL ? msg : code));
	free(msg);
}

/* Keep a request to answer later; reply_now answers it at shutdown. */
void
control_hold(struct creq *cr, void (*reply_now)(struct creq *))
{
	TAILQ_INSERT_TAIL(&cr->control->held, cr, entry);
	cr->control->nheld++;
	cr->held = 1;
	cr->reply_now = reply_now;
}

/* A held request leaves the list: answered, or waiting for a commit. */
void
control_unhold(struct creq *cr)
{
	if (!cr->held)
		return;
	TAILQ_REMOVE(&cr->control->held, cr, entry);
	cr->control->nheld--;
	cr->held = 0;
}

/* How many requests the endpoint holds. */
size_t
control_held_count(struct control *c)
{
	return (c->nheld);
}

/* Call fn on each held request; fn may answer (and so free) it. */
void
control_each_held(struct control *c, void (*fn)(struct creq *))
{
	struct creq	*cr, *next;

	TAILQ_FOREACH_SAFE(cr, &c->held, entry, next)
		fn(cr);
}

/* Answer every held request now with what is known (shutdown). */
void
control_reply_held(struct control *c)
{
	struct creq	*cr;

	while ((cr = TAILQ_FIRST(&c->held)) != NULL)
		cr->reply_now(cr);
}
