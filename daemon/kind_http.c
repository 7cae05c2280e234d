/*
 * The http kind: an HTTP(S) request as a coroutine on the event loop.
 * Resolve (evdns), connect (one evhttp connection per job, Connection:
 * close, TLS through bufferevent_openssl), send, read the body through a
 * chunk callback that keeps max_body bytes and counts the rest, follow
 * redirects, finish. The job's timeout and cancel both end in
 * http_cancel, which cancels the request and frees everything at once.
 */
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>

#include "aiojobsd.h"
#include "http.h"
#include "log.h"
#include "outbuf.h"
#include "xmalloc.h"

struct http_state {
	struct job			*job;
	struct http_env			*env;
	struct http_args		 args;
	char				*url;	/* current: redirects change it */
	char				*host;
	int				 port;
	int				 https;
	struct evdns_getaddrinfo_request *dnsreq;
	struct evhttp_connection	*evcon;
	struct evhttp_request		*req;
	SSL				*ssl;	/* owned by the connection */
	struct outbuf			 body;
	int64_t				 hops;
	int				 got_headers;
	int64_t				 sent_at;	/* monotonic ms */
	int				 error;	/* evhttp_request_error, or -1 */
	int				 sock_errno;
	int				 tls_started;
	int				 tls_done;
	char				 tls_reason[160];
	int				 cancelling;
	int				 ended;	/* job finished, lookup pending */
	int				 in_lookup;	/* inside evdns_getaddrinfo */
};

/* Response headers larger than this fail the request. */
#define HTTP_MAX_HEADERS	(64 * 1024)

static int	http_ssl_idx = -1;

static void	http_begin(struct http_state *);

static int
http_validate(const char *args, struct msg_error *err)
{
	struct http_args	 ha;

	if (http_args_parse(args, &ha, err) != 0)
		return (-1);
	http_args_free(&ha);
	return (0);
}

static int
http_can_start(struct sched *s, struct queue *q)
{
	return (s->http != NULL && s->http->nconns < s->http->max_conns);
}

/* Response headers; a repeated name gets its values joined by ", ". */
static void
http_result_headers(struct msg_out *o, struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	struct evkeyval		*kv, *seen, *other;
	char			*joined, *tmp;

	msg_out_object(o, "headers");
	TAILQ_FOREACH(kv, h, next) {
		for (seen = TAILQ_FIRST(h); seen != kv; seen = TAILQ_NEXT(seen,
		    next))
			if (strcasecmp(seen->key, kv->key) == 0)
				break;
		if (seen != kv)
			continue;	/* joined under its first occurrence */
		joined = xstrdup(kv->value);
		for (other = TAILQ_NEXT(kv, next); other != NULL;
		    other = TAILQ_NEXT(other, next)) {
			if (strcasecmp(other->key, kv->key) != 0)
				continue;
			xasprintf(&tmp, "%s, %s", joined, other->value);
			free(joined);
			joined = tmp;
		}
		msg_out_string(o, kv->key, joined);
		free(joined);
	}
	msg_out_close(o);
}

static char *
http_result(struct http_state *st, struct evhttp_request *req)
{
	struct msg_out	*o;

	o = msg_out_new();
	msg_out_int(o, "status", evhttp_request_get_response_code(req));
	http_result_headers(o, req);
	msg_out_output(o, "body", st->body.buf, st->body.len);
	msg_out_int(o, "body_bytes", (int64_t)st->body.total);
	msg_out_bool(o, "body_truncated", outbuf_truncated(&st->body));
	if (st->hops > 0)
		msg_out_string(o, "url", st->url);
	return (msg_out_finish(o, 0));
}

static void
http_free(struct http_state *st)
{
	outbuf_free(&st->body);
	http_args_free(&st->args);
	free(st->url);
	free(st->host);
	free(st);
}

/* Finish the job and free its state (or leave that to the lookup). */
static void
http_end(struct http_state *st, int state, const char *result,
    const char *code, const char *fmt, ...)
    __attribute__((__format__(__printf__, 5, 6)));

static void
http_end(struct http_state *st, int state, const char *result,
    const char *code, const char *fmt, ...)
{
	struct job	*job = st->job;
	va_list		 ap;
	char		*msg = NULL;

	if (fmt != NULL) {
		va_start(ap, fmt);
		if (vasprintf(&msg, fmt, ap) == -1)
			msg = NULL;
		va_end(ap);
	}
	st->env->nconns--;
	job->kdata = NULL;
	st->job = NULL;
	/* a lookup may still call back, or be calling: free st after it */
	if (st->dnsreq != NULL || st->in_lookup)
		st->ended = 1;
	else
		http_free(st);
	if (code == NULL)
		sched_finish(job, state, result, NULL, NULL);
	else
		sched_finish(job, state, result, code, "%s", msg != NULL ? msg :
		    code);
	free(msg);
}

static int64_t
http_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
http_free_evcon_cb(evutil_socket_t fd, short events, void *arg)
{
	evhttp_connection_free(arg);
}

/*
 * Let go of the connection: forget its TLS session, then free it now, or
 * (inside one of its own callbacks, which libevent still runs on) on the
 * next turn of the loop.
 */
static void
http_release(struct http_state *st, int now)
{
	struct timeval	 tv = { 0, 0 };

	if (st->ssl != NULL)
		SSL_set_ex_data(st->ssl, http_ssl_idx, NULL);
	st->ssl = NULL;
	st->req = NULL;
	if (st->evcon == NULL)
		return;
	if (now)
		evhttp_connection_free(st->evcon);
	else
		event_base_once(job_base(st->job), -1, EV_TIMEOUT,
		    http_free_evcon_cb, st->evcon, &tv);
	st->evcon = NULL;
}

/* The errors a connect really reports; anything else is left over. */
static const char *
http_errno_text(int e)
{
	switch (e) {
	case ECONNREFUSED:
	case ECONNRESET:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ETIMEDOUT:
	case EADDRNOTAVAIL:
		return (strerror(e));
	}
	return ("connection refused or closed before a response");
}

/* Why a request failed, as a job error. */
static void
http_fail(struct http_state *st)
{
	if (st->cancelling)
		http_end(st, JOB_CANCELLED, NULL, NULL, NULL);
	else if (st->error == EVREQ_HTTP_TIMEOUT)
		http_end(st, JOB_FAILED, NULL, "timeout", "%s:%d: no answer "
		    "within %lld ms", st->host, st->port,
		    (long long)st->env->connect_timeout_ms);
	else if (st->error == EVREQ_HTTP_DATA_TOO_LONG)
		http_end(st, JOB_FAILED, NULL, "connect_failed", "%s:%d: response "
		    "headers larger than %d bytes", st->host, st->port,
		    HTTP_MAX_HEADERS);
	else if (st->error == EVREQ_HTTP_INVALID_HEADER)
		http_end(st, JOB_FAILED, NULL, "connect_failed", "%s:%d: not a "
		    "valid HTTP response", st->host, st->port);
	else if (st->https && st->tls_started && !st->tls_done)
		http_end(st, JOB_FAILED, NULL, "tls_failed", "%s:%d: TLS: %s",
		    st->host, st->port, st->tls_reason[0] != '\0' ?
		    st->tls_reason : "handshake failed");
	else if (!st->got_headers)
		http_end(st, JOB_FAILED, NULL, "connect_failed", "%s:%d: %s",
		    st->host, st->port, http_errno_text(st->sock_errno));
	else
		http_end(st, JOB_FAILED, NULL, "connect_failed", "%s:%d: "
		    "connection lost while reading the response", st->host,
		    st->port);
}

/* A redirect to follow: the Location, made absolute against the URL. */
static char *
http_location(struct http_state *st, struct evhttp_request *req)
{
	const char		*loc;
	struct evhttp_uri	*base;
	char			*abs, *slash;

	loc = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Location");
	if (loc == NULL || *loc == '\0')
		return (NULL);
	if (strncasecmp(loc, "http://", 7) == 0 ||
	    strncasecmp(loc, "https://", 8) == 0)
		return (xstrdup(loc));
	/* another scheme (RFC 3986 "scheme:"): not ours to follow */
	if (isalpha((unsigned char)loc[0]) && loc[strspn(loc, "abcdefghijklm"
	    "nopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")] == ':')
		return (NULL);
	if ((base = evhttp_uri_parse(st->url)) == NULL)
		return (NULL);
	if (loc[0] == '/' && loc[1] == '/')
		xasprintf(&abs, "%s:%s", evhttp_uri_get_scheme(base), loc);
	else if (loc[0] == '/')
		xasprintf(&abs, "%s://%s:%d%s", evhttp_uri_get_scheme(base),
		    st->host, st->port, loc);
	else {
		xasprintf(&abs, "%s://%s:%d%s", evhttp_uri_get_scheme(base),
		    st->host, st->port, evhttp_uri_get_path(base) != NULL ?
		    evhttp_uri_get_path(base) : "/");
		if ((slash = strrchr(abs, '/')) != NULL)
			slash[1] = '\0';
		xasprintf(&slash, "%s%s", abs, loc);
		free(abs);
		abs = slash;
	}
	evhttp_uri_free(base);
	return (abs);
}

static int
http_is_redirect(int code)
{
	return (code == 301 || code == 302 || code == 303 || code == 307 ||
	    code == 308);
}

static void
http_follow(struct http_state *st, char *next, int code)
{
	log_debug("job %lld: %d, following %s", (long long)st->job->id, code,
	    next);
	free(st->url);
	st->url = next;
	st->hops++;
	/* like browsers: 303, and 301/302 after POST, continue with GET */
	if (code == 303 || ((code == 301 || code == 302) &&
	    st->args.method == EVHTTP_REQ_POST)) {
		st->args.method = EVHTTP_REQ_GET;
		free(st->args.body);
		st->args.body = NULL;
		st->args.body_len = 0;
	}
	outbuf_free(&st->body);
	outbuf_init(&st->body, (size_t)st->args.max_body);
	st->error = -1;
	st->got_headers = st->tls_started = st->tls_done = 0;
	st->tls_reason[0] = '\0';
	http_begin(st);
}

static void
http_done_cb(struct evhttp_request *req, void *arg)
{
	struct http_state	*st = arg;
	char			*result, *next;
	int			 code;

	if (req == NULL || (code = evhttp_request_get_response_code(req)) == 0) {
		/* a failed connect skips the error callback: judge here */
		if (st->error == -1) {
			st->sock_errno = EVUTIL_SOCKET_ERROR();
			if (http_mono_ms() - st->sent_at >=
			    st->env->connect_timeout_ms * 9 / 10)
				st->error = EVREQ_HTTP_TIMEOUT;
		}
		http_release(st, 0);
		http_fail(st);
		return;
	}
	http_release(st, 0);
	if (http_is_redirect(code) && st->hops < st->args.follow_redirects &&
	    (next = http_location(st, req)) != NULL) {
		http_follow(st, next, code);
		return;
	}
	result = http_result(st, req);
	if (code >= 400 && st->args.fail_on_status)
		http_end(st, JOB_FAILED, result, "http_status", "HTTP %d %s",
		    code, evhttp_request_get_response_code_line(req) != NULL ?
		    evhttp_request_get_response_code_line(req) : "");
	else
		http_end(st, JOB_SUCCEEDED, result, NULL, NULL);
	free(result);
}

static void
http_error_cb(enum evhttp_request_error error, void *arg)
{
	struct http_state	*st = arg;

	st->error = error;
	st->sock_errno = EVUTIL_SOCKET_ERROR();
}

static int
http_header_cb(struct evhttp_request *req, void *arg)
{
	struct http_state	*st = arg;

	st->got_headers = 1;
	return (0);
}

static void
http_chunk_cb(struct evhttp_request *req, void *arg)
{
	struct http_state	*st = arg;
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	struct evbuffer_iovec	 v[16];
	int			 n, i;

	n = evbuffer_peek(in, -1, NULL, v, 16);
	for (i = 0; i < n && i < 16; i++)
		outbuf_add(&st->body, v[i].iov_base, v[i].iov_len);
	if (n > 0 && st->job != NULL)
		job_output_grew(st->job);
	if (n > 16) {	/* rare: count what was not peeked */
		size_t	 seen = 0;

		for (i = 0; i < 16; i++)
			seen += v[i].iov_len;
		st->body.total += evbuffer_get_length(in) - seen;
	}
}

/* TLS progress and verification failures, for a precise tls_failed. */
static void
http_tls_info_cb(const SSL *ssl, int where, int ret)
{
	struct http_state	*st = SSL_get_ex_data(ssl, http_ssl_idx);

	if (st == NULL)
		return;
	if (where & SSL_CB_HANDSHAKE_START)
		st->tls_started = 1;
	if (where & SSL_CB_HANDSHAKE_DONE)
		st->tls_done = 1;
	if ((where & SSL_CB_ALERT) && st->tls_reason[0] == '\0' &&
	    !st->tls_done)
		snprintf(st->tls_reason, sizeof st->tls_reason, "alert: %s",
		    SSL_alert_desc_string_long(ret));
}

static int
http_tls_verify_cb(int ok, X509_STORE_CTX *ctx)
{
	SSL			*ssl;
	struct http_state	*st;

	if (ok)
		return (1);
	ssl = X509_STORE_CTX_get_ex_data(ctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl != NULL && (st = SSL_get_ex_data(ssl, http_ssl_idx)) != NULL)
		snprintf(st->tls_reason, sizeof st->tls_reason,
		    "certificate verify failed: %s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	return (0);
}

static struct bufferevent *
http_tls_bev(struct http_state *st)
{
	char	*cause = NULL;

	if (http_ssl_idx == -1)
		http_ssl_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if ((st->ssl = http_env_ssl(st->env, st->host, &cause)) == NULL) {
		snprintf(st->tls_reason, sizeof st->tls_reason, "%s", cause);
		free(cause);
		return (NULL);
	}
	SSL_set_ex_data(st->ssl, http_ssl_idx, st);
	SSL_set_info_callback(st->ssl, http_tls_info_cb);
	if (st->env->tls_verify)
		SSL_set_verify(st->ssl, SSL_VERIFY_PEER, http_tls_verify_cb);
	return (bufferevent_openssl_socket_new(job_base(st->job), -1, st->ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS));
}

static void
http_add_headers(struct http_state *st, struct evkeyvalq *out)
{
	char		 host[300];
	size_t		 i;

	const char	*lb = strchr(st->host, ':') != NULL ? "[" : "";
	const char	*rb = *lb != '\0' ? "]" : "";

	if ((st->https && st->port == 443) || (!st->https && st->port == 80))
		snprintf(host, sizeof host, "%s%s%s", lb, st->host, rb);
	else
		snprintf(host, sizeof host, "%s%s%s:%d", lb, st->host, rb,
		    st->port);
	evhttp_add_header(out, "Host", host);
	evhttp_add_header(out, "Connection", "close");
	evhttp_add_header(out, "User-Agent", "aiojobsd/" AIOJOBS_VERSION);
	for (i = 0; i < st->args.nheaders; i++) {
		evhttp_remove_header(out, st->args.headers[2 * i]);
		evhttp_add_header(out, st->args.headers[2 * i],
		    st->args.headers[2 * i + 1]);
	}
	/* the body's real length, whatever a header said */
	evhttp_remove_header(out, "Content-Length");
	if (st->args.body != NULL) {
		snprintf(host, sizeof host, "%zu", st->args.body_len);
		evhttp_add_header(out, "Content-Length", host);
	}
}

/* Connect to the resolved address and send the request. */
static void
http_send(struct http_state *st, const char *ip)
{
	struct bufferevent	*bev = NULL;
	struct evhttp_uri	*uri = evhttp_uri_parse(st->url);
	struct timeval		 tv;
	const char		*path = evhttp_uri_get_path(uri);
	const char		*query = evhttp_uri_get_query(uri);
	char			*target;

	xasprintf(&target, "%s%s%s", path != NULL && *path != '\0' ? path :
	    "/", query != NULL ? "?" : "", query != NULL ? query : "");
	evhttp_uri_free(uri);
	if (st->https && (bev = http_tls_bev(st)) == NULL) {
		free(target);
		st->tls_started = 1;
		http_fail(st);
		return;
	}
	st->evcon = evhttp_connection_base_bufferevent_new(job_base(st->job),
	    st->env->dns, bev, ip, (unsigned short)st->port);
	evhttp_connection_set_retries(st->evcon, 0);
	evhttp_connection_set_max_headers_size(st->evcon, HTTP_MAX_HEADERS);
	st->sent_at = http_mono_ms();
	tv.tv_sec = st->env->connect_timeout_ms / 1000;
	tv.tv_usec = (st->env->connect_timeout_ms % 1000) * 1000;
	evhttp_connection_set_timeout_tv(st->evcon, &tv);
	st->req = evhttp_request_new(http_done_cb, st);
	evhttp_request_set_error_cb(st->req, http_error_cb);
	evhttp_request_set_header_cb(st->req, http_header_cb);
	evhttp_request_set_chunked_cb(st->req, http_chunk_cb);
	http_add_headers(st, evhttp_request_get_output_headers(st->req));
	if (st->args.body != NULL)
		evbuffer_add(evhttp_request_get_output_buffer(st->req),
		    st->args.body, st->args.body_len);
	evhttp_make_request(st->evcon, st->req, st->args.method, target);
	free(target);
}

static void
http_dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct http_state	*st = arg;
	char			 ip[INET6_ADDRSTRLEN];
	const void		*addr;

	st->dnsreq = NULL;
	if (st->ended) {
		http_free(st);	/* the job ended while the lookup ran */
		return;
	}
	if (result == EVUTIL_EAI_CANCEL)
		return;		/* http_cancel ends the job */
	if (result != 0 || res == NULL) {
		http_end(st, JOB_FAILED, NULL, "dns_failed", "cannot resolve "
		    "%s: %s", st->host, evutil_gai_strerror(result));
		return;
	}
	if (res->ai_family == AF_INET6)
		addr = &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
	else
		addr = &((struct sockaddr_in *)res->ai_addr)->sin_addr;
	evutil_inet_ntop(res->ai_family, addr, ip, sizeof ip);
	evutil_freeaddrinfo(res);
	http_send(st, ip);
}

/* Start (or, after a redirect, restart) with the current URL. */
static void
http_begin(struct http_state *st)
{
	struct evdns_getaddrinfo_request *req;
	struct evutil_addrinfo	 hints;
	struct evhttp_uri	*uri;
	struct msg_error	 err;
	size_t			 len;

	if (http_args_url(st->url, &err) != 0 ||
	    (uri = evhttp_uri_parse(st->url)) == NULL) {
		http_end(st, JOB_FAILED, NULL, "connect_failed", "bad redirect "
		    "location '%.200s'", st->url);
		return;
	}
	free(st->host);
	st->host = xstrdup(evhttp_uri_get_host(uri));
	len = strlen(st->host);
	if (len > 2 && st->host[0] == '[' && st->host[len - 1] == ']') {
		memmove(st->host, st->host + 1, len - 2);	/* IPv6 literal */
		st->host[len - 2] = '\0';
	}
	st->https = strcasecmp(evhttp_uri_get_scheme(uri), "https") == 0;
	st->port = evhttp_uri_get_port(uri);
	if (st->port <= 0)
		st->port = st->https ? 443 : 80;
	evhttp_uri_free(uri);
	/* RFC 6761: .invalid never resolves; say so without asking */
	len = strlen(st->host);
	if ((len >= 8 && strcasecmp(st->host + len - 8, ".invalid") == 0) ||
	    strcasecmp(st->host, "invalid") == 0) {
		http_end(st, JOB_FAILED, NULL, "dns_failed", "cannot resolve "
		    "%s: the invalid top-level domain never resolves",
		    st->host);
		return;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
	/* numeric hosts and /etc/hosts names call back before this returns */
	st->in_lookup = 1;
	req = evdns_getaddrinfo(st->env->dns, st->host, NULL, &hints,
	    http_dns_cb, st);
	st->in_lookup = 0;
	if (st->ended)
		http_free(st);		/* the callback ended the job */
	else
		st->dnsreq = req;
}

static void
http_start(struct job *job)
{
	struct http_state	*st;
	struct http_args	 ha;

	/* checked at submit; a stored job may come from another version */
	if (http_args_parse(job->args, &ha, NULL) != 0) {
		sched_finish(job, JOB_FAILED, NULL, MSG_E_BAD_REQUEST,
		    "the job's stored args do not parse");
		return;
	}
	st = xcalloc(1, sizeof *st);
	st->job = job;
	st->env = job->queue->sched->http;
	st->env->nconns++;
	st->error = -1;
	job->kdata = st;
	st->args = ha;
	outbuf_init(&st->body, (size_t)st->args.max_body);
	st->url = xstrdup(st->args.url);
	http_begin(st);
}

/* Cancel and timeout: stop the lookup or the request; ends the job now. */
static void
http_cancel(struct job *job)
{
	struct http_state		*st = job->kdata;
	struct evdns_getaddrinfo_request *dnsreq = st->dnsreq;

	st->cancelling = 1;
	if (dnsreq != NULL)
		evdns_getaddrinfo_cancel(dnsreq);	/* calls back, maybe later */
	/* libevent runs only the error callback of a cancelled request */
	if (st->req != NULL)
		evhttp_cancel_request(st->req);
	http_release(st, 1);
	http_end(st, JOB_CANCELLED, NULL, NULL, NULL);
}

/* The body a running job has received so far (op output). */
static const struct outbuf *
http_output(struct job *job, const char *stream)
{
	struct http_state	*st = job->kdata;

	if (st == NULL || strcmp(stream, "body") != 0)
		return (NULL);
	return (&st->body);
}

const struct kind kind_http = {
	.name = "http",
	.validate = http_validate,
	.start = http_start,
	.cancel = http_cancel,
	.can_start = http_can_start,
	.waits_for = "connection",
	.streams = { "body", NULL },
	.output = http_output,
};
