/*
 * The environment a child of the daemon inherits, without the variables
 * through which systemd talks to the daemon only (notify.c speaks that
 * protocol). A file of its own because the pool, which spawns workers,
 * needs it, and notify.c reads the pool's counts for its STATUS= line:
 * in notify.c, the two would call each other.
 */
#include <string.h>

#include "aiojobsd.h"
#include "xmalloc.h"

/* The variables through which systemd talks to this process only. */
static const char *const notify_vars[] = {
	"NOTIFY_SOCKET", "WATCHDOG_PID", "WATCHDOG_USEC",
};

/*
 * Whether "NAME=value" is one of systemd's variables for the daemon. A
 * child that inherited them would take itself for the service: programs
 * and libraries call sd_notify on their own, and systemd logs their
 * messages as refused (NotifyAccess=main) or takes them for the daemon's.
 */
int
notify_env_private(const char *var)
{
	size_t	 i, len;

	for (i = 0; i < sizeof notify_vars / sizeof notify_vars[0]; i++) {
		len = strlen(notify_vars[i]);
		if (strncmp(var, notify_vars[i], len) == 0 && var[len] == '=')
			return (1);
	}
	return (0);
}

/* environ without systemd's variables for the daemon; free the array. */
char **
notify_env_strip(char **env)
{
	char	**out;
	size_t	  n = 0, i;

	for (i = 0; env[i] != NULL; i++)
		n++;
	out = xcalloc(n + 1, sizeof *out);
	for (n = 0, i = 0; env[i] != NULL; i++) {
		if (!notify_env_private(env[i]))
			out[n++] = env[i];
	}
	return (out);
}
