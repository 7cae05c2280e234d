/*
 * What the endpoints need at start, after the file and the flags: the
 * token files read (each a private file), the socket groups looked up,
 * worker_user checked, and the refusal of an endpoint open to the
 * network without a token. The only part of the configuration that
 * opens files other than aiojobsd.conf or asks the system about users.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aiojobsd.h"
#include "config_private.h"
#include "msg.h"
#include "privs.h"
#include "xmalloc.h"

#define CONFIG_TOKEN_MAX	4096	/* bytes in a token file */

/*
 * Open a file that holds a secret (what names it: "token file"): only
 * the daemon's user (or root) may own it and nobody else may read or
 * write it. The descriptor, or -1 with a cause.
 */
static int
config_open_private(const char *what, const char *path, char **cause)
{
	struct stat	 sb;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		xasprintf(cause, "%s %s: %s", what, path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &sb) == -1)
		xasprintf(cause, "%s %s: %s", what, path, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		xasprintf(cause, "%s %s is not a regular file", what, path);
	else if (sb.st_uid != geteuid() && sb.st_uid != 0)
		xasprintf(cause, "%s %s is owned by uid %lu, not by the "
		    "daemon's user (uid %lu) or root", what, path,
		    (unsigned long)sb.st_uid, (unsigned long)geteuid());
	else if ((sb.st_mode & 077) != 0)
		xasprintf(cause, "%s %s has mode %04o: its group or others "
		    "can read or change it (chmod 600 %s)", what, path,
		    (unsigned int)(sb.st_mode & 07777), path);
	else
		return (fd);
	close(fd);
	return (-1);
}

/*
 * Read a token file, a private one (config_open_private). One trailing
 * newline is dropped.
 */
static int
config_read_token(const char *path, char **token, char **cause)
{
	char		 buf[CONFIG_TOKEN_MAX + 2];
	ssize_t		 n = 0;
	size_t		 len = 0;
	int		 fd;

	if ((fd = config_open_private("token file", path, cause)) == -1)
		return (-1);
	while (len < sizeof buf &&
	    (n = read(fd, buf + len, sizeof buf - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n == -1)
		xasprintf(cause, "token file %s: %s", path, strerror(errno));
	else {
		if (len > 0 && buf[len - 1] == '\n')
			len--;
		if (len == 0)
			xasprintf(cause, "token file %s is empty", path);
		else if (len > CONFIG_TOKEN_MAX)
			xasprintf(cause, "token file %s is longer than %d "
			    "bytes", path, CONFIG_TOKEN_MAX);
		else if (memchr(buf, '\0', len) != NULL ||
		    !msg_utf8_valid((unsigned char *)buf, len))
			xasprintf(cause, "token file %s is not UTF-8 text",
			    path);
		else
			*token = xstrndup(buf, len);
	}
	explicit_bzero(buf, sizeof buf);
	return (*token != NULL ? 0 : -1);
}

/* socket_group and events_socket_group: a group name, or a gid. */
static int
config_group_gid(const char *key, const char *group, int64_t *gid,
    char **cause)
{
	struct group	*gr;
	int64_t		 v;

	*gid = -1;
	if (group == NULL)
		return (0);
	if ((gr = getgrnam(group)) != NULL)
		*gid = gr->gr_gid;
	else if (config_value_int(group, &v) == 0 && v < UINT32_MAX)
		*gid = v;
	else {
		xasprintf(cause, "%s: unknown group '%s'", key, group);
		return (-1);
	}
	return (0);
}

static int
config_socket_gid(struct config *c, char **cause)
{
	if (config_group_gid("socket_group", c->socket_group, &c->socket_gid,
	    cause) != 0 || config_group_gid("events_socket_group",
	    c->events_socket_group, &c->events_socket_gid, cause) != 0)
		return (-1);
	if (c->events_socket_group == NULL)
		c->events_socket_gid = c->socket_gid;
	return (0);
}

/*
 * The TLS keys of an endpoint: a certificate and a private key (a
 * private file) for tls+tcp://, and none of them for other URLs.
 */
static int
config_prepare_tls(struct config_listen *l, char **cause)
{
	const char	*key;
	char		*why;
	int		 fd;

	if (!config_url_tls(l->url)) {
		key = l->tls_cert_file != NULL ? "tls_cert_file" :
		    l->tls_key_file != NULL ? "tls_key_file" :
		    l->tls_client_ca_file != NULL ? "tls_client_ca_file" : NULL;
		if (key == NULL)
			return (0);
		xasprintf(cause, "[listen.%s]: %s is only for tls+tcp:// "
		    "URLs, and url is %s", l->name, key, l->url);
		return (-1);
	}
	if (l->name == NULL) {
		xasprintf(cause, "endpoint %s: a tls+tcp:// endpoint needs a "
		    "[listen.NAME] section with tls_cert_file and "
		    "tls_key_file", l->url);
		return (-1);
	}
	if (l->tls_cert_file == NULL || l->tls_key_file == NULL) {
		xasprintf(cause, "[listen.%s]: url %s is tls+tcp:// and needs "
		    "%s", l->name, l->url, l->tls_cert_file == NULL ?
		    "tls_cert_file (the server's certificate)" :
		    "tls_key_file (the certificate's private key)");
		return (-1);
	}
	if ((fd = config_open_private("TLS key file", l->tls_key_file,
	    &why)) == -1) {
		xasprintf(cause, "[listen.%s]: %s", l->name, why);
		free(why);
		return (-1);
	}
	close(fd);
	return (0);
}

/*
 * One extra endpoint: its TLS files, its token, and whether it may go
 * without one (on the network: with client certificates only).
 */
static int
config_prepare_listen(struct config_listen *l, char **cause)
{
	const char	*name = config_listen_name(l);
	char		*why;

	if (config_prepare_tls(l, cause) != 0)
		return (-1);
	if (l->insecure_plain_token && strncmp(l->url, "tcp://", 6) != 0) {
		xasprintf(cause, "[listen.%s]: insecure_plain_token is only for "
		    "tcp:// URLs, and url is %s", l->name, l->url);
		return (-1);
	}

	config_access_free_secret(l->secret);
	l->secret = NULL;
	if (l->token_file != NULL) {
		if (config_read_token(l->token_file, &l->secret, &why) != 0) {
			xasprintf(cause, "endpoint %s: %s", name, why);
			free(why);
			return (-1);
		}
	} else if (l->token != NULL)
		l->secret = xstrdup(l->token);
	if (l->secret != NULL || l->insecure_no_token ||
	    l->tls_client_ca_file != NULL || (strncmp(l->url, "tcp://", 6) != 0
	    && !config_url_tls(l->url)) || config_url_loopback(l->url))
		return (0);
	if (l->name == NULL)
		xasprintf(cause, "endpoint %s is not on a loopback address "
		    "and has no token: use a [listen.NAME] section with "
		    "token_file (or insecure_no_token = true)", l->url);
	else
		xasprintf(cause, "endpoint %s (%s) is not on a loopback "
		    "address and has no token: set token_file in [listen.%s] "
		    "(or insecure_no_token = true to let anyone who can reach "
		    "it in)", name, l->url, name);
	return (-1);
}

/*
 * worker_user must exist, and a daemon that is not root can only run its
 * workers as itself.
 */
static int
config_worker_user(struct config *c, char **cause)
{
	struct passwd	*pw;

	if (c->worker_user == NULL)
		return (0);
	if ((pw = getpwnam(c->worker_user)) == NULL) {
		xasprintf(cause, "worker_user: no user '%s'", c->worker_user);
		return (-1);
	}
	if (!privs_can_switch() && pw->pw_uid != geteuid()) {
		xasprintf(cause, "worker_user: only a daemon that may switch "
		    "users (root, or CAP_SETUID and CAP_SETGID) can run its "
		    "workers as %s", c->worker_user);
		return (-1);
	}
	return (0);
}

/*
 * The tokens of the [user.NAME] sections, read from their files; no two
 * users may share one, or a request could not say whose it is.
 */
int
config_prepare_users(struct config *c, char **cause)
{
	struct config_user	*u, *v;
	char			*why;

	TAILQ_FOREACH(u, &c->users, entry) {
		config_access_free_secret(u->secret);
		u->secret = NULL;
		if (u->token_file != NULL && config_read_token(u->token_file,
		    &u->secret, &why) != 0) {
			xasprintf(cause, "[user.%s]: %s", u->name, why);
			free(why);
			return (-1);
		}
		if (u->token != NULL)
			u->secret = xstrdup(u->token);
		if (u->secret == NULL) {
			xasprintf(cause, "[user.%s] has no token: set "
			    "token_file", u->name);
			return (-1);
		}
		for (v = TAILQ_FIRST(&c->users); v != u;
		    v = TAILQ_NEXT(v, entry)) {
			if (strcmp(u->secret, v->secret) == 0) {
				xasprintf(cause, "[user.%s] and [user.%s] have "
				    "the same token", v->name, u->name);
				return (-1);
			}
		}
	}
	return (0);
}

/*
 * What the endpoints need at start, after config_resolve: the socket
 * group, the tokens read from their files, the refusal of an endpoint
 * open to the network without a token, and no URL bound twice.
 */
int
config_prepare(struct config *c, char **cause)
{
	struct config_listen	*l, *m;

	if (config_socket_gid(c, cause) != 0 ||
	    config_prepare_users(c, cause) != 0 ||
	    config_worker_user(c, cause) != 0)
		return (-1);
	config_access_free_secret(c->control_token);
	c->control_token = NULL;
	if (c->control_token_file != NULL && config_read_token(
	    c->control_token_file, &c->control_token, cause) != 0)
		return (-1);
	TAILQ_FOREACH(l, &c->listens, entry) {
		if (config_prepare_listen(l, cause) != 0)
			return (-1);
		if (strcmp(l->url, c->url) == 0 ||
		    strcmp(l->url, c->events_url) == 0) {
			xasprintf(cause, "endpoint %s: %s is already the %s "
			    "endpoint", config_listen_name(l), l->url,
			    strcmp(l->url, c->url) == 0 ? "control" : "event");
			return (-1);
		}
		for (m = TAILQ_NEXT(l, entry); m != NULL;
		    m = TAILQ_NEXT(m, entry)) {
			if (strcmp(l->url, m->url) == 0) {
				xasprintf(cause, "endpoints %s and %s both "
				    "listen on %s", config_listen_name(l),
				    config_listen_name(m), l->url);
				return (-1);
			}
		}
	}
	return (0);
}
