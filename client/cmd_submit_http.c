/*
 * submit http: URL [--method M] [--header 'Name: value' ...] [--data BODY
 * | --data-file F] [--max-body N] [--follow N] [--no-fail-on-status], as
 * the args of an http job. What the daemon would refuse is a usage error
 * here: a URL that is not http(s), a header not of the "Name: value" form
 * or holding a line break, a body that cannot travel as a JSON string.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aiojobctl.h"
#include "msg.h"
#include "xmalloc.h"

/* Requests are at most 1 MiB by default: leave room for the rest. */
#define CMD_SUBMIT_HTTP_DATA_MAX	(900 * 1024)
#define CMD_SUBMIT_HTTP_FOLLOW_MAX	100	/* as the daemon allows */

/* The options of http, gathered before the args are written. */
struct cmd_submit_http_opts {
	const char	 *method;	/* NULL: GET, or POST with a body */
	char		**names;	/* of --header; owned */
	char		**values;	/* owned */
	size_t		  nheaders;
	char		 *data;		/* owned, NULL for none */
	const char	 *data_from;	/* "--data" or "--data-file" */
	int64_t		  max_body;	/* -1: not given */
	int64_t		  follow;	/* -1: not given */
	int		  no_fail;
};

static void
cmd_submit_http_clear(struct cmd_submit_http_opts *ho)
{
	size_t	 i;

	for (i = 0; i < ho->nheaders; i++) {
		free(ho->names[i]);
		free(ho->values[i]);
	}
	free(ho->names);
	free(ho->values);
	free(ho->data);
}

/* What a JSON string can carry: well-formed UTF-8 without NUL. */
static int
cmd_submit_http_utf8(const char *s, size_t len)
{
	return (memchr(s, '\0', len) == NULL &&
	    msg_utf8_valid((const unsigned char *)s, len));
}

/* A header name: visible ASCII but the separators of RFC 9110 tokens. */
static int
cmd_submit_http_token(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0)
		return (0);
	for (i = 0; i < len; i++) {
		if (s[i] <= ' ' || s[i] >= 0x7f ||
		    strchr("\"(),/:;<=>?@[\\]{}", s[i]) != NULL)
			return (0);
	}
	return (1);
}

/*
 * --header 'Name: value': the value without the blanks around it, and
 * no line break anywhere (no header injection). A later --header of the
 * same name (in any case) replaces an earlier one.
 */
static int
cmd_submit_http_header(struct ctl *ctl, struct cmd_submit_http_opts *ho,
    const char *arg)
{
	const char	*colon = strchr(arg, ':'), *v, *end;
	size_t		 i;

	if (colon == NULL || !cmd_submit_http_token(arg, (size_t)(colon - arg)))
		return (ctl_usage_error(ctl, "--header '%s': must be 'Name: "
		    "value', the name made of letters, digits and -_.!#$%%&'*+"
		    "^`|~", arg));
	if (strpbrk(colon, "\r\n") != NULL ||
	    !cmd_submit_http_utf8(arg, strlen(arg)))
		return (ctl_usage_error(ctl, "--header %.*s: the value holds a "
		    "line break or is not UTF-8", (int)(colon - arg), arg));
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (end = v + strlen(v); end > v && (end[-1] == ' ' ||
	    end[-1] == '\t'); end--)
		;
	for (i = 0; i < ho->nheaders; i++) {
		if (strlen(ho->names[i]) == (size_t)(colon - arg) &&
		    strncasecmp(ho->names[i], arg, (size_t)(colon - arg)) == 0)
			break;
	}
	if (i == ho->nheaders) {
		ho->names = xreallocarray(ho->names, i + 1, sizeof *ho->names);
		ho->values = xreallocarray(ho->values, i + 1,
		    sizeof *ho->values);
		ho->nheaders++;
	} else {
		free(ho->names[i]);
		free(ho->values[i]);
	}
	ho->names[i] = xstrndup(arg, (size_t)(colon - arg));
	ho->values[i] = xstrndup(v, (size_t)(end - v));
	return (0);
}

/* --data BODY or --data-file F|-: one of them, UTF-8 text that fits. */
static int
cmd_submit_http_data(struct ctl *ctl, struct cmd_submit_http_opts *ho,
    const char *option, const char *arg)
{
	size_t	 len;

	if (ho->data_from != NULL)
		return (ctl_usage_error(ctl, "%s: the body is already given "
		    "by %s; --data and --data-file go alone", option,
		    ho->data_from));
	ho->data_from = option;
	if (strcmp(option, "--data") == 0) {
		len = strlen(arg);
		if (len > CMD_SUBMIT_HTTP_DATA_MAX)
			return (ctl_usage_error(ctl, "--data: larger than %d "
			    "bytes", CMD_SUBMIT_HTTP_DATA_MAX));
		ho->data = xstrdup(arg);
	} else if (parse_file(option, arg, CMD_SUBMIT_HTTP_DATA_MAX,
	    &ho->data, &len) != 0)
		return (CTL_EXIT_USAGE);
	if (!cmd_submit_http_utf8(ho->data, len))
		return (ctl_usage_error(ctl, "%s: not UTF-8 text (NUL bytes or "
		    "invalid UTF-8); a job's body travels as a JSON string",
		    option));
	return (0);
}

/* --method M: a token; the daemon knows which methods it sends. */
static int
cmd_submit_http_method(struct ctl *ctl, struct cmd_submit_http_opts *ho,
    const char *m)
{
	if (!cmd_submit_http_token(m, strlen(m)))
		return (ctl_usage_error(ctl, "--method '%s': not a method name",
		    m));
	ho->method = m;
	return (0);
}

/* One option of http; 0, or the exit code of a usage error. */
static int
cmd_submit_http_opt(struct ctl *ctl, struct cmd_submit_http_opts *ho,
    int ch)
{
	switch (ch) {
	case 'X':
		return (cmd_submit_http_method(ctl, ho, optarg));
	case 'H':
		return (cmd_submit_http_header(ctl, ho, optarg));
	case 'd':
		return (cmd_submit_http_data(ctl, ho, "--data", optarg));
	case 'D':
		return (cmd_submit_http_data(ctl, ho, "--data-file", optarg));
	case 'm':
		return (parse_int(ctl, "--max-body", optarg, 0, MSG_INT_MAX,
		    &ho->max_body) != 0 ? CTL_EXIT_USAGE : 0);
	case 'f':
		return (parse_int(ctl, "--follow", optarg, 0,
		    CMD_SUBMIT_HTTP_FOLLOW_MAX, &ho->follow) != 0 ?
		    CTL_EXIT_USAGE : 0);
	case 'n':
		ho->no_fail = 1;
		return (0);
	default:
		return (CTL_EXIT_USAGE);
	}
}

/* The options of http, before or after URL (getopt permutes). */
static int
cmd_submit_http_opts(struct ctl *ctl, int argc, char **argv,
    struct cmd_submit_http_opts *ho)
{
	static const struct option	 opts[] = {
		{ "method", required_argument, NULL, 'X' },
		{ "header", required_argument, NULL, 'H' },
		{ "data", required_argument, NULL, 'd' },
		{ "data-file", required_argument, NULL, 'D' },
		{ "max-body", required_argument, NULL, 'm' },
		{ "follow", required_argument, NULL, 'f' },
		{ "no-fail-on-status", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch, r = 0;

	optind = 0;	/* glibc: start afresh, in permuting mode */
	while (r == 0 && (ch = ctl_getopt(ctl, argc, argv, ":", opts)) != -1)
		r = cmd_submit_http_opt(ctl, ho, ch);
	return (r);
}

/* http:// or https:// and a host, as UTF-8 text without blanks. */
static int
cmd_submit_http_url(struct ctl *ctl, const char *url)
{
	const char	*rest = NULL, *p;

	if (strncasecmp(url, "http://", 7) == 0)
		rest = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		rest = url + 8;
	if (rest == NULL || *rest == '\0' || strchr("/?#:", *rest) != NULL)
		return (ctl_usage_error(ctl, "http: '%s' is not an http:// or "
		    "https:// URL with a host", url));
	for (p = url; *p != '\0'; p++) {
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return (ctl_usage_error(ctl, "http: the URL holds a "
			    "blank or a control character"));
	}
	if (!cmd_submit_http_utf8(url, strlen(url)))
		return (ctl_usage_error(ctl, "http: the URL is not UTF-8"));
	return (0);
}

static void
cmd_submit_http_args(struct msg_out *o, struct cmd_submit_http_opts *ho,
    const char *url)
{
	size_t	 i;

	msg_out_string(o, "url", url);
	/* like curl: a body makes the default method POST */
	if (ho->method != NULL || ho->data != NULL)
		msg_out_string(o, "method", ho->method != NULL ? ho->method :
		    "POST");
	if (ho->nheaders > 0) {
		msg_out_object(o, "headers");
		for (i = 0; i < ho->nheaders; i++)
			msg_out_string(o, ho->names[i], ho->values[i]);
		msg_out_close(o);
	}
	if (ho->data != NULL)
		msg_out_string(o, "body", ho->data);
	if (ho->max_body != -1)
		msg_out_int(o, "max_body", ho->max_body);
	if (ho->follow != -1)
		msg_out_int(o, "follow_redirects", ho->follow);
	if (ho->no_fail)
		msg_out_bool(o, "fail_on_status", 0);
}

/* http URL [OPTIONS], argv[0] being "http". */
int
cmd_submit_http_build(struct ctl *ctl, int argc, char **argv,
    struct msg_out *o)
{
	struct cmd_submit_http_opts	 ho;
	int				 r;

	memset(&ho, 0, sizeof ho);
	ho.max_body = ho.follow = -1;
	if ((r = cmd_submit_http_opts(ctl, argc, argv, &ho)) != 0)
		goto out;
	if (argc - optind == 0)
		r = ctl_usage_error(ctl, "http: no URL given: http URL "
		    "[OPTIONS]");
	else if (argc - optind > 1)
		r = ctl_usage_error(ctl, "http: one URL only; '%s' is extra",
		    argv[optind + 1]);
	else if ((r = cmd_submit_http_url(ctl, argv[optind])) == 0)
		cmd_submit_http_args(o, &ho, argv[optind]);
out:
	cmd_submit_http_clear(&ho);
	return (r);
}
