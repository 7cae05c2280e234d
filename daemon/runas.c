/*
 * Whom an exec job runs as. A daemon shared by every user may switch
 * users (privs.c: root, or CAP_SETUID and CAP_SETGID, as the system unit
 * gives it) and starts each job as its owner: the owner's uid, primary
 * group and supplementary groups, the owner's home as the working
 * directory when the job names none, and HOME, USER and LOGNAME saying
 * who it is. The daemon's own jobs run as they always did: as the
 * daemon, in its working directory, with its environment.
 *
 * A daemon that may not switch users cannot become anyone else. Submit
 * refuses exec jobs of other users there; one that still arrives (stored
 * by a daemon that could, then recovered by one that cannot) fails at
 * start rather than run as the daemon's user. Root's jobs on such a
 * daemon run as the daemon's user, as submit allows: root could become
 * it anyway.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aiojobsd.h"
#include "privs.h"
#include "runas.h"
#include "users.h"
#include "xmalloc.h"

/*
 * Whether this daemon can run an exec job of owner: its own, root's (as
 * the daemon's user), or anyone's when it may switch users. The one rule
 * submit checks first and the start checks again; 0, or -1 and why.
 */
int
runas_allowed(uid_t owner, char **cause)
{
	uid_t	 self = geteuid();

	if (owner == self || owner == 0 || privs_can_switch())
		return (0);
	xasprintf(cause, "exec jobs run as their owner, and this daemon runs "
	    "as %s without the privilege to become another user (root, or "
	    "CAP_SETUID and CAP_SETGID): it cannot become %s",
	    users_name(self), users_name(owner));
	return (-1);
}

/*
 * The identity a job of owner takes (ra->user NULL: the daemon's own)
 * and the variables that say so; 0, or -1 and why it cannot run.
 */
int
runas_get(struct runas *ra, uid_t owner, char **cause)
{
	const struct user	*u;

	memset(ra, 0, sizeof *ra);
	if (runas_allowed(owner, cause) != 0)
		return (-1);
	if (owner == geteuid() || !privs_can_switch())
		return (0);
	u = users_get(owner);
	if (!u->known) {
		xasprintf(cause, "owner uid %lu is not a user of this system: "
		    "the job does not run as a bare uid",
		    (unsigned long)owner);
		return (-1);
	}
	ra->user = u;
	ra->home = u->home != NULL ? u->home : "/";
	xasprintf(&ra->env[0], "HOME=%s", ra->home);
	xasprintf(&ra->env[1], "USER=%s", u->name);
	xasprintf(&ra->env[2], "LOGNAME=%s", u->name);
	return (0);
}

void
runas_free(struct runas *ra)
{
	size_t	 i;

	for (i = 0; i < RUNAS_NENV; i++)
		free(ra->env[i]);
	memset(ra, 0, sizeof *ra);
}
