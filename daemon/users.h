/*
 * The users the daemon knows, cached from the user database by uid
 * (users.c): a job's owner, a client, whom a child runs as.
 */
#ifndef USERS_H
#define USERS_H

#include <sys/types.h>

#include <bsd/sys/tree.h>

/* A user the daemon knows (users.c): a job's owner, a client. */
struct user {
	uid_t			 uid;
	gid_t			 gid;		/* primary; -1 when unknown */
	char			*name;		/* or the uid in decimal */
	char			*home;		/* or NULL */
	gid_t			*groups;	/* every group, gid among them */
	int			 ngroups;
	int			 known;		/* in the user database */
	RB_ENTRY(user)		 entry;
};

/* users.c */
const struct user *users_get(uid_t);
const char *users_name(uid_t);
int	 users_parse(const char *, uid_t *);
int	 users_in_group(const struct user *, gid_t);
void	 users_flush(void);

#endif
