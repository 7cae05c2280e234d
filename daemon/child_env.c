/*
 * The environment a child of the daemon starts with: the daemon's own,
 * but for what systemd says to the daemon alone. Kept apart from
 * notify.c, which speaks to systemd, because the pool and the exec jobs
 * need only this.
 */
#include <stddef.h>
#include <string.h>

#include "aiojobsd.h"
#include "xmalloc.h"

/* The variables through which systemd talks to this process only. */
static const char *const child_env_vars[] = {
	"NOTIFY_SOCKET", "WATCHDOG_PID", "WATCHDOG_USEC",
};
#define CHILD_ENV_NVARS	(sizeof child_env_vars / sizeof child_env_vars[0])

/*
 * Whether "NAME=value" is one of systemd's variables for the daemon. A
 * child that inherited them would take itself for the service: programs
 * and libraries call sd_notify on their own, and systemd logs their
 * messages as refused (NotifyAccess=main) or takes them for the daemon's.
 */
int
child_env_private(const char *var)
{
	size_t	 i, len;

	for (i = 0; i < CHILD_ENV_NVARS; i++) {
		len = strlen(child_env_vars[i]);
		if (strncmp(var, child_env_vars[i], len) == 0 && var[len] == '=')
			return (1);
	}
	return (0);
}

/* environ without systemd's variables for the daemon; free the array. */
char **
child_env(char **env)
{
	char	**out;
	size_t	  n = 0, i;

	for (i = 0; env[i] != NULL; i++)
		n++;
	out = xcalloc(n + 1, sizeof *out);
	for (n = 0, i = 0; env[i] != NULL; i++) {
		if (!child_env_private(env[i]))
			out[n++] = env[i];
	}
	return (out);
}
