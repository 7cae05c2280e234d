/*
 * Whom an exec job runs as: its owner, when the daemon may switch users
 * (runas.c).
 */
#ifndef RUNAS_H
#define RUNAS_H

#include <sys/types.h>

struct user;

/* The identity an exec job takes (runas.c). */
#define RUNAS_NENV	3
struct runas {
	const struct user	*user;		/* NULL: the daemon's own */
	const char		*home;		/* the default cwd */
	char			*env[RUNAS_NENV + 1]; /* HOME, USER, LOGNAME */
};

/* runas.c */
int	 runas_allowed(uid_t, char **);
int	 runas_get(struct runas *, uid_t, char **);
void	 runas_free(struct runas *);

#endif
