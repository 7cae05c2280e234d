/* The arguments of an http job (PROTOCOL 3.3), checked and decoded. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "aiojobsd.h"
#include "http.h"
#include "xmalloc.h"

#define HTTP_MAX_BODY_DEFAULT	(1024 * 1024)

/*
 * Limits on what an http job holds (docs/protocol.md, "Limits"), checked
 * when it is submitted.
 */
#define HTTP_URL_MAX		8192		/* bytes in the URL */
#define HTTP_HEADERS_MAX	100		/* request headers */
#define HTTP_HEADERS_BYTES_MAX	(64 * 1024)	/* names and values */
#define HTTP_BODY_MAX		(8 * 1024 * 1024) /* request body */
#define HTTP_MAX_BODY_MAX	(64 * 1024 * 1024) /* max_body */

static const struct {
	const char		*name;
	enum evhttp_cmd_type	 cmd;
} http_methods[] = {
	{ "GET", EVHTTP_REQ_GET }, { "POST", EVHTTP_REQ_POST },
	{ "HEAD", EVHTTP_REQ_HEAD }, { "PUT", EVHTTP_REQ_PUT },
	{ "DELETE", EVHTTP_REQ_DELETE }, { "OPTIONS", EVHTTP_REQ_OPTIONS },
	{ "PATCH", EVHTTP_REQ_PATCH }, { "TRACE", EVHTTP_REQ_TRACE },
};

/*
 * The fields of http args; any other is refused at submit. body_base64
 * is the binary form of body.
 */
static const char *const http_args_fields[] = {
	"url", "method", "headers", "body", "body_base64", "max_body",
	"follow_redirects", "fail_on_status", NULL
};

static int
http_args_fail(struct msg_error *err, const char *what)
{
	msg_error_set(err, MSG_E_BAD_REQUEST, "http: %s", what);
	return (-1);
}

/* A limit on a field of 'args'; the message names the field and limit. */
static int
http_args_limit(struct msg_error *err, const char *field, size_t n,
    size_t max, const char *unit)
{
	if (n <= max)
		return (0);
	msg_error_set(err, MSG_E_BAD_REQUEST, "http: field '%s' of 'args' "
	    "has %zu %s; at most %zu", field, n, unit, max);
	return (-1);
}

/* The limits of decoded http args; 0 when they keep them. */
static int
http_args_limits(struct http_args *ha, struct msg_error *err)
{
	size_t	 i, bytes = 0;

	for (i = 0; i < 2 * ha->nheaders; i++)
		bytes += strlen(ha->headers[i]);
	if (http_args_limit(err, "headers", ha->nheaders, HTTP_HEADERS_MAX,
	    "entries") != 0 ||
	    http_args_limit(err, "headers", bytes, HTTP_HEADERS_BYTES_MAX,
	    "bytes in names and values") != 0 ||
	    http_args_limit(err, "body", ha->body_len, HTTP_BODY_MAX,
	    "bytes") != 0)
		return (-1);
	if (ha->max_body > HTTP_MAX_BODY_MAX) {
		msg_error_set(err, MSG_E_BAD_REQUEST, "http: field 'max_body' "
		    "of 'args' is %lld; at most %d", (long long)ha->max_body,
		    HTTP_MAX_BODY_MAX);
		return (-1);
	}
	return (0);
}

/* http:// or https:// with a host; the scheme decides the default port. */
int
http_args_url(const char *url, struct msg_error *err)
{
	struct evhttp_uri	*uri;
	const char		*scheme, *host;
	int			 ok;

	if ((uri = evhttp_uri_parse(url)) == NULL)
		return (http_args_fail(err, "field 'url' of 'args' is not a "
		    "valid URL"));
	scheme = evhttp_uri_get_scheme(uri);
	host = evhttp_uri_get_host(uri);
	ok = scheme != NULL && (strcasecmp(scheme, "http") == 0 ||
	    strcasecmp(scheme, "https") == 0) && host != NULL && *host != '\0';
	evhttp_uri_free(uri);
	if (!ok)
		return (http_args_fail(err, "field 'url' of 'args' must be an "
		    "http:// or https:// URL with a host"));
	return (0);
}

static int
http_args_method(struct msg_in *in, struct http_args *ha,
    struct msg_error *err)
{
	const char	*m = "GET";
	size_t		 i;

	if (msg_in_string(in, "method", &m, err) == -1)
		return (http_args_fail(err, "field 'method' of 'args' must be "
		    "a string"));
	for (i = 0; i < sizeof http_methods / sizeof http_methods[0]; i++) {
		if (strcasecmp(m, http_methods[i].name) == 0) {
			ha->method = http_methods[i].cmd;
			ha->method_name = http_methods[i].name;
			return (0);
		}
	}
	return (http_args_fail(err, "field 'method' of 'args': unknown "
	    "method"));
}

/* Request headers: strings without CR or LF (no header injection). */
static int
http_args_headers(struct msg_in *in, struct http_args *ha,
    struct msg_error *err)
{
	struct msg_in	*h, *e;
	const char	*k, *v;
	size_t		 n = 0;

	if (!msg_in_has(in, "headers"))
		return (0);
	if ((h = msg_in_object(in, "headers")) == NULL)
		return (http_args_fail(err, "field 'headers' of 'args' must be "
		    "an object of strings"));
	for (e = msg_in_first(h); e != NULL; e = msg_in_next(e))
		n++;
	ha->headers = xcalloc(2 * n + 1, sizeof *ha->headers);
	for (e = msg_in_first(h); e != NULL; e = msg_in_next(e)) {
		k = msg_in_key(e);
		if ((v = msg_in_value_string(e)) == NULL)
			return (http_args_fail(err, "values of 'headers' must "
			    "be strings"));
		if (*k == '\0' || strpbrk(k, "\r\n: ") != NULL ||
		    strpbrk(v, "\r\n") != NULL)
			return (http_args_fail(err, "a header name or value "
			    "holds a line break, a colon or a space"));
		ha->headers[ha->nheaders * 2] = xstrdup(k);
		ha->headers[ha->nheaders * 2 + 1] = xstrdup(v);
		ha->nheaders++;
	}
	return (0);
}

static int
http_args_rest(struct msg_in *in, struct http_args *ha,
    struct msg_error *err)
{
	if (msg_in_output(in, "body", "http", &ha->body, &ha->body_len,
	    err) == -1)
		return (-1);
	ha->max_body = HTTP_MAX_BODY_DEFAULT;
	if (msg_in_int(in, "max_body", &ha->max_body, err) == -1 ||
	    ha->max_body < 0)
		return (http_args_fail(err, "field 'max_body' of 'args' must "
		    "be an integer >= 0"));
	if (msg_in_int(in, "follow_redirects", &ha->follow_redirects,
	    err) == -1 || ha->follow_redirects < 0 ||
	    ha->follow_redirects > 100)
		return (http_args_fail(err, "field 'follow_redirects' of "
		    "'args' must be an integer from 0 to 100"));
	ha->fail_on_status = 1;
	if (msg_in_bool(in, "fail_on_status", &ha->fail_on_status, err) == -1)
		return (http_args_fail(err, "field 'fail_on_status' of 'args' "
		    "must be true or false"));
	return (0);
}

/*
 * Decode http args; on error err names the field. The limits and unknown
 * fields are checked when err is given (at submit): a job accepted before
 * is started (err NULL) whatever the limits are now.
 */
int
http_args_parse(const char *json, struct http_args *ha,
    struct msg_error *err)
{
	struct msg_in	*in;
	const char	*url, *unknown;
	int		 r = -1;

	memset(ha, 0, sizeof *ha);
	if ((in = msg_in_parse(json, strlen(json), err)) == NULL)
		return (-1);
	if (err != NULL &&
	    (unknown = msg_strict_unknown(in, http_args_fields)) != NULL)
		msg_error_set(err, MSG_E_BAD_REQUEST, "http: unknown field "
		    "'%.100s' of 'args'", unknown);
	else if (msg_in_string(in, "url", &url, err) != 1)
		http_args_fail(err, "field 'url' of 'args' must be a string");
	else if ((err == NULL || http_args_limit(err, "url", strlen(url),
	    HTTP_URL_MAX, "bytes") == 0) && http_args_url(url, err) == 0) {
		ha->url = xstrdup(url);
		if (http_args_method(in, ha, err) == 0 &&
		    http_args_headers(in, ha, err) == 0 &&
		    http_args_rest(in, ha, err) == 0 &&
		    (err == NULL || http_args_limits(ha, err) == 0))
			r = 0;
	}
	msg_in_free(in);
	if (r != 0)
		http_args_free(ha);
	return (r);
}

void
http_args_free(struct http_args *ha)
{
	size_t	 i;

	for (i = 0; i < 2 * ha->nheaders; i++)
		free(ha->headers[i]);
	free(ha->headers);
	free(ha->url);
	free(ha->body);
	memset(ha, 0, sizeof *ha);
}
