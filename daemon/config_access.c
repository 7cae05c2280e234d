/*
 * The configuration of who may do what, kept apart from the rest of
 * config.c because it is a model of its own: the [access] section (each
 * key an op or a kind, its value the users and @groups that may use it;
 * `admins` those who see and control every job) and the [user.NAME]
 * sections (a user reached over tcp or tls by a token). Only the text is
 * kept here; access.c turns it into uids and gids at start and on reload,
 * and config_prepare.c reads the token files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "xmalloc.h"

/* The daemon-wide ops [access] may name, besides admins and the kinds. */
static const char *const config_access_ops[] = {
	"queue", "shutdown", "clean", "reload", NULL
};

/* Longest user name in a [user.NAME] section (useradd's limit). */
#define CONFIG_USER_NAME_MAX	32

static int
config_access_known(const char *name)
{
	size_t	 i;

	if (strcmp(name, "admins") == 0 || kind_find(name) != NULL)
		return (1);
	for (i = 0; config_access_ops[i] != NULL; i++) {
		if (strcmp(config_access_ops[i], name) == 0)
			return (1);
	}
	return (0);
}

/*
 * One key of [access]; a key given twice keeps the last value, and an
 * empty one is as if the key were not there (as for every other key).
 */
static int
config_access_rule(struct config *c, const char *name, const char *value,
    char **cause)
{
	struct config_rule	*r;

	if (!config_access_known(name)) {
		xasprintf(cause, "unknown key '%s' in [access] (admins, queue, "
		    "shutdown, clean, reload, or a kind such as exec)", name);
		return (-1);
	}
	TAILQ_FOREACH(r, &c->rules, entry) {
		if (strcmp(r->name, name) == 0)
			break;
	}
	if (value[strspn(value, ", \t")] == '\0') {
		if (r != NULL) {
			TAILQ_REMOVE(&c->rules, r, entry);
			free(r->name);
			free(r->who);
			free(r);
		}
		return (0);
	}
	if (r == NULL) {
		r = xcalloc(1, sizeof *r);
		r->name = xstrdup(name);
		TAILQ_INSERT_TAIL(&c->rules, r, entry);
	}
	free(r->who);
	r->who = xstrdup(value);
	return (0);
}

static struct config_user *
config_access_user(struct config *c, const char *name)
{
	struct config_user	*u;

	TAILQ_FOREACH(u, &c->users, entry) {
		if (strcmp(u->name, name) == 0)
			return (u);
	}
	u = xcalloc(1, sizeof *u);
	u->name = xstrdup(name);
	TAILQ_INSERT_TAIL(&c->users, u, entry);
	return (u);
}

/* One key of a [user.NAME] section: token or token_file, not both. */
static int
config_access_token(struct config *c, const char *uname, const char *name,
    const char *value, char **cause)
{
	struct config_user	*u;
	int			 literal = strcmp(name, "token") == 0;

	if (*uname == '\0' || strlen(uname) > CONFIG_USER_NAME_MAX) {
		xasprintf(cause, "[user.NAME] needs a user name of 1 to %d "
		    "bytes", CONFIG_USER_NAME_MAX);
		return (-1);
	}
	if (!literal && strcmp(name, "token_file") != 0) {
		xasprintf(cause, "unknown key '%s' in [user.%s] (token, "
		    "token_file)", name, uname);
		return (-1);
	}
	if (*value == '\0' || (literal && !msg_utf8_valid(
	    (const unsigned char *)value, strlen(value)))) {
		xasprintf(cause, "%s in [user.%s] must be non-empty UTF-8 "
		    "text", name, uname);
		return (-1);
	}
	u = config_access_user(c, uname);
	if (literal ? u->token_file != NULL : u->token != NULL) {
		xasprintf(cause, "[user.%s] has both token and token_file; "
		    "set one", uname);
		return (-1);
	}
	if (literal) {
		config_access_free_secret(u->token);
		u->token = xstrdup(value);
	} else {
		free(u->token_file);
		u->token_file = xstrdup(value);
	}
	return (0);
}

/* A key of [access] or of a [user.NAME] section. */
int
config_access_set(struct config *c, const char *section, const char *name,
    const char *value, char **cause)
{
	if (strcmp(section, "access") == 0)
		return (config_access_rule(c, name, value, cause));
	return (config_access_token(c, section + strlen(CONFIG_USER_PREFIX),
	    name, value, cause));
}

/* Free a secret, overwriting it first. */
void
config_access_free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void
config_access_clear(struct config *c)
{
	struct config_rule	*r;
	struct config_user	*u;

	while ((r = TAILQ_FIRST(&c->rules)) != NULL) {
		TAILQ_REMOVE(&c->rules, r, entry);
		free(r->name);
		free(r->who);
		free(r);
	}
	while ((u = TAILQ_FIRST(&c->users)) != NULL) {
		TAILQ_REMOVE(&c->users, u, entry);
		free(u->name);
		config_access_free_secret(u->token);
		free(u->token_file);
		config_access_free_secret(u->secret);
		free(u);
	}
}

/* [access] and the [user.NAME] sections as the file would say them. */
void
config_access_print(const struct config *c, FILE *f)
{
	const struct config_rule	*r;
	const struct config_user	*u;

	if (!TAILQ_EMPTY(&c->rules))
		fprintf(f, "\n[access]\n");
	TAILQ_FOREACH(r, &c->rules, entry)
		fprintf(f, "%s = %s\n", r->name, r->who);
	TAILQ_FOREACH(u, &c->users, entry) {
		fprintf(f, "\n[user.%s]\n", u->name);
		if (u->token != NULL)
			fprintf(f, "token = %s\n", u->token);
		if (u->token_file != NULL)
			fprintf(f, "token_file = %s\n", u->token_file);
	}
}

/* Take the other configuration's [access] and [user.NAME] (reload). */
void
config_access_take(struct config *c, struct config *from)
{
	config_access_clear(c);
	TAILQ_CONCAT(&c->rules, &from->rules, entry);
	TAILQ_CONCAT(&c->users, &from->users, entry);
}
