/*
 * Who may do what, from the configuration's [access] and [user.NAME]
 * sections, resolved once (at start and on reload) into uids and gids so
 * that a request costs no lookup in the user database beyond the cached
 * groups of its sender (users.c).
 *
 * Root and the daemon's own user may do everything: they own the store
 * and could read it anyway. Admins (`admins =`) see and control every
 * job and may use the daemon-wide ops. A daemon-wide op (queue,
 * shutdown, clean, reload) is for those three, and for whoever its own
 * key names. A kind is for everyone unless its key names who may submit
 * it. Every other user sees and controls only the jobs they own.
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aiojobsd.h"
#include "log.h"
#include "runas.h"
#include "users.h"
#include "xmalloc.h"

/* Users and groups a rule names. */
struct access_list {
	int		 set;		/* the key is in the file */
	uid_t		*uids;
	size_t		 nuids;
	gid_t		*gids;
	size_t		 ngids;
};

/* A user of a [user.NAME] section, by the digest of its token. */
struct access_token {
	uid_t		 uid;
	unsigned char	 md[ACCESS_TOKEN_MD];
};

static const char *const access_ops[ACCESS_NOPS] = {
	"queue", "shutdown", "clean", "reload"
};

struct access {
	uid_t			 self;		/* the daemon's user */
	struct access_list	 admins;
	struct access_list	 ops[ACCESS_NOPS];
	struct access_list	 kinds[KIND_MAX];
	struct access_token	*tokens;
	size_t			 ntokens;
};

/* The SHA-256 of a token: what a request's token is compared with. */
void
access_token_md(const char *token, unsigned char *md)
{
	unsigned int	 len = ACCESS_TOKEN_MD;

	if (EVP_Digest(token, strlen(token), md, &len, EVP_sha256(),
	    NULL) != 1 || len != ACCESS_TOKEN_MD)
		fatalx("SHA-256 of a token failed");
}

/* One word of a rule: a user name or uid, or @group (a name or gid). */
static int
access_word(struct access_list *l, const char *w, char **cause)
{
	struct group	*gr;
	uid_t		 uid;
	char		*end;
	unsigned long	 v;

	if (*w != '@') {
		if (users_parse(w, &uid) != 0) {
			xasprintf(cause, "unknown user '%s'", w);
			return (-1);
		}
		l->uids = xreallocarray(l->uids, l->nuids + 1, sizeof *l->uids);
		l->uids[l->nuids++] = uid;
		return (0);
	}
	if ((gr = getgrnam(w + 1)) != NULL)
		v = gr->gr_gid;
	else {
		v = strtoul(w + 1, &end, 10);
		if (w[1] < '0' || w[1] > '9' || *end != '\0' ||
		    v >= (unsigned long)(gid_t)-1) {
			xasprintf(cause, "unknown group '%s'", w + 1);
			return (-1);
		}
	}
	l->gids = xreallocarray(l->gids, l->ngids + 1, sizeof *l->gids);
	l->gids[l->ngids++] = (gid_t)v;
	return (0);
}

/* A rule's value: words split by commas or spaces; may be empty. */
static int
access_parse(struct access_list *l, const char *key, const char *who,
    char **cause)
{
	char	*copy, *p, *w, *why;
	int	 r = 0;

	l->set = 1;
	copy = p = xstrdup(who);
	while (r == 0 && (w = strsep(&p, ", \t")) != NULL) {
		if (*w != '\0' && (r = access_word(l, w, &why)) != 0) {
			xasprintf(cause, "[access] %s: %s", key, why);
			free(why);
		}
	}
	free(copy);
	return (r);
}

/* The list a key of [access] fills. */
static struct access_list *
access_list_of(struct access *a, const char *key)
{
	const struct kind	*k;
	int			 i;

	if (strcmp(key, "admins") == 0)
		return (&a->admins);
	for (i = 0; i < ACCESS_NOPS; i++) {
		if (strcmp(access_ops[i], key) == 0)
			return (&a->ops[i]);
	}
	if ((k = kind_find(key)) != NULL)
		return (&a->kinds[kind_index(k)]);
	return (NULL);
}

/* The rules of a configuration whose token files were read. */
struct access *
access_create(const struct config *c, char **cause)
{
	const struct config_rule	*r;
	const struct config_user	*u;
	struct access_list		*l;
	struct access			*a;
	uid_t				 uid;

	a = xcalloc(1, sizeof *a);
	a->self = geteuid();
	TAILQ_FOREACH(r, &c->rules, entry) {
		if ((l = access_list_of(a, r->name)) == NULL ||
		    access_parse(l, r->name, r->who, cause) != 0) {
			if (l == NULL)
				xasprintf(cause, "[access]: unknown key %s",
				    r->name);
			access_free(a);
			return (NULL);
		}
	}
	TAILQ_FOREACH(u, &c->users, entry) {
		if (users_parse(u->name, &uid) != 0) {
			xasprintf(cause, "[user.%s]: no such user", u->name);
			access_free(a);
			return (NULL);
		}
		a->tokens = xreallocarray(a->tokens, a->ntokens + 1,
		    sizeof *a->tokens);
		a->tokens[a->ntokens].uid = uid;
		access_token_md(u->secret, a->tokens[a->ntokens].md);
		a->ntokens++;
	}
	return (a);
}

static void
access_list_clear(struct access_list *l)
{
	free(l->uids);
	free(l->gids);
}

void
access_free(struct access *a)
{
	int	 i;

	if (a == NULL)
		return;
	access_list_clear(&a->admins);
	for (i = 0; i < ACCESS_NOPS; i++)
		access_list_clear(&a->ops[i]);
	for (i = 0; i < KIND_MAX; i++)
		access_list_clear(&a->kinds[i]);
	if (a->tokens != NULL) {
		explicit_bzero(a->tokens, a->ntokens * sizeof *a->tokens);
		free(a->tokens);
	}
	free(a);
}

/* Whether a list names the user, or a group it is in. */
static int
access_names(const struct access_list *l, uid_t uid)
{
	const struct user	*u;
	size_t			 i;

	for (i = 0; i < l->nuids; i++) {
		if (l->uids[i] == uid)
			return (1);
	}
	if (l->ngids == 0)
		return (0);
	u = users_get(uid);
	for (i = 0; i < l->ngids; i++) {
		if (users_in_group(u, l->gids[i]))
			return (1);
	}
	return (0);
}

/* Root and the daemon's user: everything is theirs. */
static int
access_owner(const struct access *a, uid_t uid)
{
	return (uid == 0 || uid == a->self);
}

/* Whether a user sees and controls every job. */
int
access_admin(const struct access *a, uid_t uid)
{
	return (access_owner(a, uid) || access_names(&a->admins, uid));
}

/*
 * Whether a user may use an op: the daemon-wide ones are for admins and
 * whom their key names; the others for everyone.
 */
int
access_op(const struct access *a, const char *op, uid_t uid)
{
	int	 i;

	for (i = 0; i < ACCESS_NOPS; i++) {
		if (strcmp(access_ops[i], op) == 0)
			return (access_admin(a, uid) ||
			    access_names(&a->ops[i], uid));
	}
	return (1);
}

/* Whether a user may submit jobs of a kind. */
int
access_kind(const struct access *a, const struct kind *k, uid_t uid)
{
	const struct access_list	*l = &a->kinds[kind_index(k)];

	return (!l->set || access_owner(a, uid) || access_names(l, uid));
}

/* Whether any [user.NAME] token exists. */
int
access_has_tokens(const struct access *a)
{
	return (a->ntokens > 0);
}

/*
 * The user whose token a request carries: 1 and *uid, or 0. Every token
 * is compared, in a time that does not depend on where they differ.
 */
int
access_token(const struct access *a, const unsigned char *md, uid_t *uid)
{
	size_t	 i;
	int	 found = 0;

	for (i = 0; i < a->ntokens; i++) {
		if (CRYPTO_memcmp(md, a->tokens[i].md, ACCESS_TOKEN_MD) == 0) {
			*uid = a->tokens[i].uid;
			found = 1;
		}
	}
	return (found);
}

/*
 * Whether a user may see and control these jobs: their own, or any for
 * an admin. An id that names no job passes, for the op to answer
 * not_found as it would anyway.
 */
int
access_jobs(const struct access *a, struct sched *s, uid_t uid,
    const int64_t *ids, size_t n, struct msg_error *err)
{
	size_t	 i;
	uid_t	 owner;

	if (access_admin(a, uid))
		return (0);
	for (i = 0; i < n; i++) {
		if (sched_lookup_owner(s, ids[i], &owner) == 0 && owner != uid) {
			msg_error_set(err, MSG_E_FORBIDDEN, "job %lld belongs "
			    "to %s, not to %s", (long long)ids[i],
			    users_name(owner), users_name(uid));
			return (-1);
		}
	}
	return (0);
}

/*
 * Whether a user may submit these specs: each kind must be open to
 * them, and an exec job must be one this daemon can run as its owner
 * (runas_allowed, which the job's start checks again).
 */
int
access_submit(const struct access *a, const struct msg_spec *specs,
    size_t n, uid_t uid, struct msg_error *err)
{
	const struct kind	*k;
	char			*cause;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if ((k = kind_find(specs[i].kind)) == NULL)
			continue;	/* submit says unknown_kind */
		if (!access_kind(a, k, uid)) {
			msg_error_set(err, MSG_E_FORBIDDEN, "%s may not submit "
			    "%s jobs ([access] %s)", users_name(uid), k->name,
			    k->name);
			return (-1);
		}
		if (strcmp(k->name, "exec") == 0 &&
		    runas_allowed(uid, &cause) != 0) {
			msg_error_set(err, MSG_E_FORBIDDEN, "%s", cause);
			free(cause);
			return (-1);
		}
	}
	return (0);
}
