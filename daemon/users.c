/*
 * The users the daemon meets: the owners of jobs and the clients that
 * connect. A job keeps only its owner's uid; its name (for views and the
 * log), home, primary group and supplementary groups (to run an exec job
 * as its owner, to check group rules) come from the system's user
 * database through this cache, so that a list of a thousand jobs asks
 * the database once per owner, not once per job. The cache is emptied on
 * reload, when the administrator may have changed users or groups.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aiojobsd.h"
#include "users.h"
#include "xmalloc.h"

/* Supplementary groups of a user at most (NGROUPS_MAX on Linux). */
#define USERS_GROUPS_MAX	65536

int	users_cmp(struct user *, struct user *);

RB_HEAD(users_tree, user);
RB_PROTOTYPE(users_tree, user, entry, users_cmp)
RB_GENERATE(users_tree, user, entry, users_cmp)

static struct users_tree	users = RB_INITIALIZER(&users);

int
users_cmp(struct user *a, struct user *b)
{
	return (a->uid < b->uid ? -1 : a->uid > b->uid);
}

/* The groups a user is in: its primary group first, then the rest. */
static void
users_groups(struct user *u)
{
	int	 n = 32;
	gid_t	*g;

	for (;;) {
		g = xreallocarray(NULL, (size_t)n, sizeof *g);
		if (getgrouplist(u->name, u->gid, g, &n) != -1)
			break;
		free(g);
		if (n > USERS_GROUPS_MAX) {
			/* a broken database: only the primary group */
			n = 1;
			g = xcalloc(1, sizeof *g);
			g[0] = u->gid;
			break;
		}
	}
	u->groups = g;
	u->ngroups = n;
}

/* Fill a user from the database; unknown uids get their number as name. */
static void
users_load(struct user *u)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwuid(u->uid)) == NULL) {
		xasprintf(&u->name, "%lu", (unsigned long)u->uid);
		u->gid = (gid_t)-1;
		return;
	}
	u->known = 1;
	u->name = xstrdup(pw->pw_name);
	u->gid = pw->pw_gid;
	if (pw->pw_dir != NULL && pw->pw_dir[0] == '/')
		u->home = xstrdup(pw->pw_dir);
	users_groups(u);
}

/* The user of a uid, from the cache or the database; never NULL. */
const struct user *
users_get(uid_t uid)
{
	struct user	 find, *u;

	find.uid = uid;
	if ((u = RB_FIND(users_tree, &users, &find)) != NULL)
		return (u);
	u = xcalloc(1, sizeof *u);
	u->uid = uid;
	users_load(u);
	RB_INSERT(users_tree, &users, u);
	return (u);
}

/* A user's name, or its uid in decimal when the system has no name. */
const char *
users_name(uid_t uid)
{
	return (users_get(uid)->name);
}

/* The uid of a user name, or of a uid written in decimal: 0 or -1. */
int
users_parse(const char *name, uid_t *uid)
{
	struct passwd	*pw;
	char		*end;
	unsigned long	 v;

	if ((pw = getpwnam(name)) != NULL) {
		*uid = pw->pw_uid;
		return (0);
	}
	errno = 0;
	v = strtoul(name, &end, 10);
	if (name[0] < '0' || name[0] > '9' || *end != '\0' || errno != 0 ||
	    v >= (unsigned long)(uid_t)-1)
		return (-1);
	*uid = (uid_t)v;
	return (0);
}

/* Whether a user is in a group, as its primary or a supplementary one. */
int
users_in_group(const struct user *u, gid_t gid)
{
	int	 i;

	for (i = 0; i < u->ngroups; i++) {
		if (u->groups[i] == gid)
			return (1);
	}
	return (u->gid == gid);
}

/* Forget every user (reload): the next lookup asks the database again. */
void
users_flush(void)
{
	struct user	*u, *next;

	RB_FOREACH_SAFE(u, users_tree, &users, next) {
		RB_REMOVE(users_tree, &users, u);
		free(u->name);
		free(u->home);
		free(u->groups);
		free(u);
	}
}
