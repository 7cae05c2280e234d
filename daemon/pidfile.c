/*
 * One daemon per run directory and per state directory: each holds an
 * exclusive lock on a file there (with its pid in it) for as long as it
 * runs. A second daemon is refused before it opens the store or listens,
 * with a message that names the first, rather than failing later on a
 * busy store or socket. The kernel drops the lock when the daemon
 * exits, however it exits, so a stale file never blocks a restart.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aiojobsd.h"
#include "xmalloc.h"

/* The pid written in a held lock file, or 0. */
static long
pidfile_owner(int fd)
{
	char	 buf[32];
	ssize_t	 n;

	if ((n = pread(fd, buf, sizeof buf - 1, 0)) <= 0)
		return (0);
	buf[n] = '\0';
	return (strtol(buf, NULL, 10));
}

/*
 * Lock DIR/NAME (creating DIR) and write our pid in it: the descriptor,
 * which the caller keeps open until exit, or -1 with a cause naming the
 * daemon that holds it. What says what the directory is, for messages.
 */
int
pidfile_lock(const char *dir, const char *name, const char *what,
    char **cause)
{
	char	*path, pid[32];
	long	 owner;
	int	 fd, n;

	if (mkdirs(dir) != 0) {
		xasprintf(cause, "mkdir %s: %s", dir, strerror(errno));
		return (-1);
	}
	xasprintf(&path, "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		free(path);
		return (-1);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK && (owner = pidfile_owner(fd)) > 0)
			xasprintf(cause, "another aiojobsd (pid %ld) is "
			    "already running with %s %s", owner, what, dir);
		else
			xasprintf(cause, "%s: lock: %s (is another aiojobsd "
			    "already running with %s %s?)", path,
			    strerror(errno), what, dir);
		close(fd);
		free(path);
		return (-1);
	}
	free(path);
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, (size_t)n, 0) != n) {
		xasprintf(cause, "%s/%s: %s", dir, name, strerror(errno));
		close(fd);
		return (-1);
	}
	return (fd);
}
