/*
 * Reading aiojobsd.conf with inih. inih splits the lines; this file
 * feeds it the lines itself, so that every error names the line it is
 * on, a section header is checked even when no key follows it, and a
 * section name is kept whole. Each key = value then goes to config_set.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"
#include "config_private.h"
#include "log.h"
#include "msg.h"
#include "xmalloc.h"

/*
 * inih reads through this so errors carry the right line number and
 * section names are not cut to inih's short buffer. Lines are at most
 * what inih was built for (200 bytes in Debian's build).
 */
struct config_reader {
	FILE		*f;
	struct config	*c;
	int		 line;
	char		*section;	/* the current [section], whole */
	char		*cause;		/* first error, no file:line */
	int		 cause_line;
};

static int
config_reader_error(struct config_reader *r, const char *fmt, ...)
    __attribute__((__format__(__printf__, 2, 3)));

static int
config_reader_error(struct config_reader *r, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	if (vasprintf(&r->cause, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	r->cause_line = r->line;
	return (-1);
}

/* Is this a section we know? Checked at its header, keys or not. */
static int
config_check_section(struct config_reader *r, const char *name)
{
	size_t	 i, n = strlen(CONFIG_QUEUE_PREFIX);
	char	*why;

	if (strncmp(name, CONFIG_QUEUE_PREFIX, n) == 0) {
		if (name[n] == '\0' || strlen(name + n) > MSG_QUEUE_MAX)
			return (config_reader_error(r, "a queue name is 1 to "
			    "%d bytes long", MSG_QUEUE_MAX));
		return (0);
	}
	n = strlen(CONFIG_LISTEN_PREFIX);
	if (strncmp(name, CONFIG_LISTEN_PREFIX, n) == 0) {
		if (config_listen_section(r->c, name + n, r->line, &why) != 0) {
			config_reader_error(r, "%s", why);
			free(why);
			return (-1);
		}
		return (0);
	}
	if (strcmp(name, "access") == 0 || strncmp(name, CONFIG_USER_PREFIX,
	    strlen(CONFIG_USER_PREFIX)) == 0)
		return (0);
	for (i = 0; i < config_nkeys(); i++) {
		if (strcmp(config_key_section((int)i), name) == 0)
			return (0);
	}
	return (config_reader_error(r, "unknown section [%s] (daemon, "
	    "endpoints, pool, http, store, access, queue.NAME, listen.NAME, "
	    "user.NAME)", name));
}

/* A [section] line: remember its whole name. */
static int
config_read_section(struct config_reader *r, const char *line)
{
	const char	*end;

	line += strspn(line, " \t");
	if (*line != '[')
		return (0);
	if ((end = strchr(line, ']')) == NULL)
		return (config_reader_error(r, "syntax error (no ']' after "
		    "the section name)"));
	free(r->section);
	r->section = xstrndup(line + 1, end - line - 1);
	return (config_check_section(r, r->section));
}

static char *
config_read_line(char *buf, int size, void *arg)
{
	struct config_reader	*r = arg;
	int			 ch = EOF, nul = 0, n = 0;

	if (r->cause != NULL)
		return (NULL);
	while (n < size - 1 && (ch = getc(r->f)) != EOF) {
		nul |= ch == '\0';
		buf[n++] = (char)ch;
		if (ch == '\n')
			break;
	}
	if (n == 0)
		return (NULL);
	buf[n] = '\0';
	r->line++;
	if (nul) {
		config_reader_error(r, "NUL byte in the line");
		return (NULL);
	}
	if (buf[n - 1] != '\n' && (ch = getc(r->f)) != EOF) {
		config_reader_error(r, "line longer than %d bytes", size - 2);
		return (NULL);
	}
	if (config_read_section(r, buf) != 0)
		return (NULL);
	return (buf);
}

static int
config_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct config_reader	*r = arg;

	if (r->cause != NULL)
		return (0);
	if (config_set(r->c, r->section != NULL ? r->section : "", name,
	    value, &r->cause) != 0) {
		r->cause_line = r->line;
		return (0);
	}
	return (1);
}

/*
 * Read a configuration file over the values already in c. A missing file
 * is an error only when must_exist is set (it was named explicitly).
 */
int
config_load(struct config *c, const char *path, int must_exist, char **cause)
{
	struct config_reader	 r;
	struct config_listen	*l;
	int			 line;

	memset(&r, 0, sizeof r);
	r.c = c;
	if ((r.f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return (0);
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	line = ini_parse_stream(config_read_line, &r, config_handler, &r);
	if (ferror(r.f) && r.cause == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		fclose(r.f);
		free(r.section);
		return (-1);
	}
	fclose(r.f);
	free(r.section);
	/* inih goes on after a syntax error: report the first error */
	if (r.cause != NULL && (line <= 0 || line >= r.cause_line)) {
		xasprintf(cause, "%s:%d: %s", path, r.cause_line, r.cause);
		free(r.cause);
		return (-1);
	}
	free(r.cause);
	if (line != 0) {
		xasprintf(cause, "%s:%d: %s", path, line, line < 0 ?
		    "out of memory" : "syntax error (want [section] or "
		    "key = value)");
		return (-1);
	}
	TAILQ_FOREACH(l, &c->listens, entry) {
		if (l->name != NULL && l->url == NULL) {
			xasprintf(cause, "%s:%d: [listen.%s] has no url "
			    "(tcp://HOST:PORT or ipc://PATH)", path, l->line,
			    l->name);
			return (-1);
		}
	}
	free(c->path);
	c->path = xstrdup(path);
	return (0);
}
