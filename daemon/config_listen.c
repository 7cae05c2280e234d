/*
 * The extra control endpoints: the [listen.NAME] sections, and the URLs
 * of [endpoints] listen = (and --listen), which are endpoints without a
 * name and with the default policy. This file keeps the list; the
 * tokens and TLS files they name are read by config_prepare.c.
 */
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "config_private.h"
#include "endpoint.h"
#include "msg.h"
#include "xmalloc.h"

#define CONFIG_LISTEN_NAME_MAX	64

static void
config_listen_free(struct config_listen *l)
{
	free(l->name);
	free(l->url);
	config_access_free_secret(l->token);
	free(l->token_file);
	config_access_free_secret(l->secret);
	free(l->tls_cert_file);
	free(l->tls_key_file);
	free(l->tls_client_ca_file);
	free(l);
}

void
config_listens_clear(struct config_listens *listens)
{
	struct config_listen	*l;

	while ((l = TAILQ_FIRST(listens)) != NULL) {
		TAILQ_REMOVE(listens, l, entry);
		config_listen_free(l);
	}
}

/* A new endpoint at the end of the list, with the default policy. */
struct config_listen *
config_listen_new(struct config *c, const char *name, const char *url)
{
	struct config_listen	*l;

	l = xcalloc(1, sizeof *l);
	l->name = name != NULL ? xstrdup(name) : NULL;
	l->url = url != NULL ? xstrdup(url) : NULL;
	l->allow_exec = -1;
	l->kinds = CONFIG_KINDS_ALL;
	TAILQ_INSERT_TAIL(&c->listens, l, entry);
	return (l);
}

/* The URLs of listen = (and --listen): "" forgets them, else adds. */
int
config_listen_set_urls(struct config *c, const char *key, const char *value,
    char **cause)
{
	struct config_listen	*l, *next;
	char			*copy, *p, *url;
	int			 r = 0;

	if (*value == '\0') {
		TAILQ_FOREACH_SAFE(l, &c->listens, entry, next) {
			if (l->name == NULL) {
				TAILQ_REMOVE(&c->listens, l, entry);
				config_listen_free(l);
			}
		}
		return (0);
	}
	copy = p = xstrdup(value);
	while (r == 0 && (url = strsep(&p, " \t")) != NULL) {
		if (*url == '\0')
			continue;
		if ((r = config_url_check(key, url, cause)) != 0 ||
		    (r = config_value_text(key, url, cause)) != 0)
			break;
		TAILQ_FOREACH(l, &c->listens, entry) {
			if (l->name == NULL && strcmp(l->url, url) == 0)
				break;
		}
		if (l == NULL)	/* flags are applied twice: once is enough */
			config_listen_new(c, NULL, url);
	}
	free(copy);
	return (r);
}

/* A [listen.NAME] name: 1 to 64 letters, digits, '-' and '_'. */
static int
config_check_listen_name(const char *name, char **cause)
{
	size_t	 n = strlen(name);

	if (n == 0 || n > CONFIG_LISTEN_NAME_MAX ||
	    name[strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")] != '\0') {
		xasprintf(cause, "an endpoint name ([listen.NAME]) is 1 to %d "
		    "letters, digits, '-' or '_'", CONFIG_LISTEN_NAME_MAX);
		return (-1);
	}
	return (0);
}

/* The [listen.NAME] of that name, made when new. */
static struct config_listen *
config_listen(struct config *c, const char *name)
{
	struct config_listen	*l;

	TAILQ_FOREACH(l, &c->listens, entry) {
		if (l->name != NULL && strcmp(l->name, name) == 0)
			return (l);
	}
	return (config_listen_new(c, name, NULL));
}

/*
 * A [listen.NAME] header of the file: the name checked and the endpoint
 * made, even if no key follows, with the line of its first header.
 */
int
config_listen_section(struct config *c, const char *name, int line,
    char **cause)
{
	struct config_listen	*l;

	if (config_check_listen_name(name, cause) != 0)
		return (-1);
	l = config_listen(c, name);
	if (l->line == 0)
		l->line = line;
	return (0);
}

/* The names of the kinds in a mask, "cpu, exec, ..." */
void
config_kind_names(unsigned int kinds, char *buf, size_t len)
{
	size_t	 off = 0;
	int	 i, n;

	buf[0] = '\0';
	for (i = 0; i < kind_count() && off < len; i++) {
		if ((kinds & (1U << i)) == 0)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off == 0 ? "" :
		    ", ", kind_at(i)->name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* allow_kinds: names from the kind table, split by commas or spaces. */
static int
config_parse_kinds(const char *value, unsigned int *kinds, char **cause)
{
	const struct kind	*k;
	char			*copy, *p, *w, all[256];
	int			 r = 0;

	*kinds = 0;
	copy = p = xstrdup(value);
	while ((w = strsep(&p, ", \t")) != NULL) {
		if (*w == '\0')
			continue;
		if ((k = kind_find(w)) == NULL) {
			r = -1;
			break;
		}
		*kinds |= 1U << kind_index(k);
	}
	if (r == 0 && *kinds != 0) {
		free(copy);
		return (0);
	}
	config_kind_names(CONFIG_KINDS_ALL, all, sizeof all);
	if (r != 0)
		xasprintf(cause, "allow_kinds: unknown kind '%s' (kinds: %s)",
		    w, all);
	else
		xasprintf(cause, "allow_kinds wants one or more of %s", all);
	free(copy);
	return (-1);
}

/* token = or token_file =, one or the other. */
static int
config_set_token(struct config_listen *l, const char *name,
    const char *value, char **cause)
{
	int	 literal = strcmp(name, "token") == 0;

	if (*value == '\0') {
		xasprintf(cause, "%s must not be empty", name);
		return (-1);
	}
	if (literal ? l->token_file != NULL : l->token != NULL) {
		xasprintf(cause, "[listen.%s] has both token and token_file; "
		    "set one", l->name);
		return (-1);
	}
	if (literal && !msg_utf8_valid((const unsigned char *)value,
	    strlen(value))) {
		xasprintf(cause, "token must be UTF-8 text");
		return (-1);
	}
	if (literal) {
		config_access_free_secret(l->token);
		l->token = xstrdup(value);
	} else {
		free(l->token_file);
		l->token_file = xstrdup(value);
	}
	return (0);
}

/* tls_cert_file, tls_key_file or tls_client_ca_file: a path. */
static int
config_set_tls(struct config_listen *l, const char *name, const char *value,
    char **cause)
{
	char	**field;

	if (strcmp(name, "tls_cert_file") == 0)
		field = &l->tls_cert_file;
	else if (strcmp(name, "tls_key_file") == 0)
		field = &l->tls_key_file;
	else if (strcmp(name, "tls_client_ca_file") == 0)
		field = &l->tls_client_ca_file;
	else {
		xasprintf(cause, "unknown key '%s' in [listen.%s] (the TLS "
		    "keys are tls_cert_file, tls_key_file and "
		    "tls_client_ca_file)", name, l->name);
		return (-1);
	}
	if (*value == '\0') {
		xasprintf(cause, "%s must not be empty", name);
		return (-1);
	}
	free(*field);
	*field = xstrdup(value);
	return (0);
}

/* One key of a [listen.NAME] section. */
int
config_listen_set(struct config *c, const char *lname, const char *name,
    const char *value, char **cause)
{
	struct config_listen	*l;
	unsigned int		 kinds;
	int			 b;

	if (config_check_listen_name(lname, cause) != 0)
		return (-1);
	l = config_listen(c, lname);
	if (config_value_text(name, value, cause) != 0)
		return (-1);
	if (strcmp(name, "url") == 0) {
		if (config_url_check(name, value, cause) != 0)
			return (-1);
		free(l->url);
		l->url = xstrdup(value);
	} else if (strcmp(name, "token") == 0 ||
	    strcmp(name, "token_file") == 0)
		return (config_set_token(l, name, value, cause));
	else if (strncmp(name, "tls_", 4) == 0)
		return (config_set_tls(l, name, value, cause));
	else if (strcmp(name, "allow_kinds") == 0) {
		if (config_parse_kinds(value, &kinds, cause) != 0)
			return (-1);
		l->kinds = kinds;
	} else if (strcmp(name, "allow_exec") == 0 ||
	    strcmp(name, "insecure_no_token") == 0 ||
	    strcmp(name, "insecure_plain_token") == 0) {
		if (config_value_bool(value, &b) != 0) {
			xasprintf(cause, "%s wants true or false, not '%s'",
			    name, value);
			return (-1);
		}
		if (strcmp(name, "allow_exec") == 0)
			l->allow_exec = b;
		else if (strcmp(name, "insecure_no_token") == 0)
			l->insecure_no_token = b;
		else
			l->insecure_plain_token = b;
	} else {
		xasprintf(cause, "unknown key '%s' in [listen.%s] (url, token, "
		    "token_file, allow_exec, allow_kinds, insecure_no_token, "
		    "insecure_plain_token, tls_cert_file, tls_key_file, "
		    "tls_client_ca_file)", name, lname);
		return (-1);
	}
	return (0);
}

/* Whether an endpoint takes exec jobs: as configured, else ipc only. */
int
config_listen_exec(const struct config_listen *l)
{
	if (l->allow_exec != -1)
		return (l->allow_exec);
	return (endpoint_ipc_path(l->url) != NULL);
}

/* An endpoint as messages name it: NAME, or the URL of listen =. */
const char *
config_listen_name(const struct config_listen *l)
{
	return (l->name != NULL ? l->name : l->url);
}

static int
config_str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

/* Whether two configurations have the same [listen.NAME] sections. */
int
config_listens_equal(const struct config *a, const struct config *b)
{
	const struct config_listen	*x, *y;

	y = TAILQ_FIRST(&b->listens);
	TAILQ_FOREACH(x, &a->listens, entry) {
		if (x->name == NULL)
			continue;
		while (y != NULL && y->name == NULL)
			y = TAILQ_NEXT(y, entry);
		if (y == NULL || !config_str_equal(x->name, y->name) ||
		    !config_str_equal(x->url, y->url) ||
		    !config_str_equal(x->token, y->token) ||
		    !config_str_equal(x->token_file, y->token_file) ||
		    x->allow_exec != y->allow_exec || x->kinds != y->kinds ||
		    x->insecure_no_token != y->insecure_no_token ||
		    x->insecure_plain_token != y->insecure_plain_token ||
		    !config_str_equal(x->tls_cert_file, y->tls_cert_file) ||
		    !config_str_equal(x->tls_key_file, y->tls_key_file) ||
		    !config_str_equal(x->tls_client_ca_file,
		    y->tls_client_ca_file))
			return (0);
		y = TAILQ_NEXT(y, entry);
	}
	while (y != NULL && y->name == NULL)
		y = TAILQ_NEXT(y, entry);
	return (y == NULL);
}
