/*
 * Endpoint defaults and checks. nanomsg aborts the process on ipc paths of
 * 108-121 bytes and silently deletes whatever sits at an ipc path when it
 * binds, so both are checked here before any nn_bind or nn_connect.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint.h"
#include "xmalloc.h"

/* The run directory, by the first rule of PROTOCOL section 1 that applies. */
char *
endpoint_rundir(void)
{
	const char	*s;
	char		*dir;

	if ((s = getenv("AIOJOBS_RUNDIR")) != NULL && *s != '\0')
		return (xstrdup(s));
	if (geteuid() == 0)
		return (xstrdup("/run/aiojobsd"));
	if ((s = getenv("XDG_RUNTIME_DIR")) != NULL && *s != '\0') {
		xasprintf(&dir, "%s/aiojobsd", s);
		return (dir);
	}
	xasprintf(&dir, "/tmp/aiojobsd-%ld", (long)geteuid());
	return (dir);
}

/* Control URL: --url beats AIOJOBS_URL beats the run directory. */
char *
endpoint_control_url(const char *rundir)
{
	const char	*s;
	char		*url;

	if ((s = getenv("AIOJOBS_URL")) != NULL && *s != '\0')
		return (xstrdup(s));
	xasprintf(&url, "ipc://%s/aiojobsd.sock", rundir);
	return (url);
}

char *
endpoint_events_url(const char *rundir)
{
	const char	*s;
	char		*url;

	if ((s = getenv("AIOJOBS_EVENTS_URL")) != NULL && *s != '\0')
		return (xstrdup(s));
	xasprintf(&url, "ipc://%s/events.sock", rundir);
	return (url);
}

/* The file system path of an ipc:// URL, or NULL for other transports. */
const char *
endpoint_ipc_path(const char *url)
{
	if (strncmp(url, "ipc://", 6) != 0)
		return (NULL);
	return (url + 6);
}

/* Check a URL is one nanomsg can use without aborting. */
int
endpoint_check(const char *url, char **cause)
{
	const char	*path;

	if (strncmp(url, "tcp://", 6) != 0 && strncmp(url, "ipc://", 6) != 0 &&
	    strncmp(url, "inproc://", 9) != 0 && strncmp(url, "ws://", 5) != 0) {
		xasprintf(cause, "%s: unsupported URL (use ipc://PATH or "
		    "tcp://HOST:PORT)", url);
		return (-1);
	}
	if ((path = endpoint_ipc_path(url)) == NULL)
		return (0);
	if (*path == '\0') {
		xasprintf(cause, "%s: empty ipc path", url);
		return (-1);
	}
	if (strlen(path) > ENDPOINT_IPC_MAX) {
		xasprintf(cause, "%s: ipc path is %zu bytes, the limit is %d",
		    url, strlen(path), ENDPOINT_IPC_MAX);
		return (-1);
	}
	return (0);
}

/* As endpoint_check, and refuse to let a bind replace anything but a socket. */
int
endpoint_check_bind(const char *url, char **cause)
{
	const char	*path;
	struct stat	 sb;

	if (endpoint_check(url, cause) != 0)
		return (-1);
	if ((path = endpoint_ipc_path(url)) == NULL)
		return (0);
	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT)
			return (0);
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (!S_ISSOCK(sb.st_mode)) {
		xasprintf(cause, "%s exists and is not a socket; not replacing "
		    "it (remove it or choose another URL)", path);
		return (-1);
	}
	return (0);
}

/* Give a bound ipc socket file a mode, and a group unless gid is -1. */
int
endpoint_restrict_to(const char *url, int mode, long gid, char **cause)
{
	const char	*path;

	if ((path = endpoint_ipc_path(url)) == NULL)
		return (0);
	if (gid != -1 && chown(path, (uid_t)-1, (gid_t)gid) == -1) {
		xasprintf(cause, "chown %s to group %ld: %s%s", path, gid,
		    strerror(errno), errno == EPERM ? " (the daemon's user "
		    "must be a member of socket_group)" : "");
		return (-1);
	}
	if (chmod(path, (mode_t)mode) == -1) {
		xasprintf(cause, "chmod %s: %s", path, strerror(errno));
		return (-1);
	}
	return (0);
}
