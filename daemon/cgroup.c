/*
 * The files of one cgroup v2 directory: whether processes are left in
 * it (cgroup.events), who they are (cgroup.procs), and killing them all
 * (cgroup.kill, which also reaches processes forked while it runs).
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aiojobsd.h"
#include "log.h"
#include "tree.h"
#include "xmalloc.h"

/* Read at most size - 1 bytes of dir/name into buf; returns the length. */
static ssize_t
cgroup_read(const char *dir, const char *name, char *buf, size_t size)
{
	char	 path[PATH_MAX];
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return (n);
}

/* 1 if processes are left, 0 if none (or the cgroup is gone). */
int
cgroup_populated(const char *dir)
{
	char	 buf[512], *p;

	if (cgroup_read(dir, "cgroup.events", buf, sizeof buf) <= 0)
		return (0);
	if ((p = strstr(buf, "populated ")) == NULL)
		return (0);
	return (p[10] == '1');
}

/* The pids in the cgroup, separated by spaces, or NULL if none; owned. */
char *
cgroup_procs(const char *dir)
{
	char	 buf[4096], *p;
	ssize_t	 n;

	if ((n = cgroup_read(dir, "cgroup.procs", buf, sizeof buf)) <= 0)
		return (NULL);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	for (p = buf; *p != '\0'; p++) {
		if (*p == '\n')
			*p = ' ';
	}
	return (xstrdup(buf));
}

/*
 * Send sig to each process in the cgroup now (new ones are missed), as
 * uid if they are another user's ((uid_t)-1: whoever /proc says).
 */
void
cgroup_signal(const char *dir, int sig, uid_t uid)
{
	char		 path[PATH_MAX];
	FILE		*f;
	long		 pid;

	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fscanf(f, "%ld", &pid) == 1) {
		if (kill_as((pid_t)pid, sig, uid) == -1 && errno != ESRCH)
			log_warn("kill %ld", pid);
	}
	fclose(f);
}

/* Kill every process in the cgroup and its descendants. */
int
cgroup_kill(const char *dir)
{
	char	 path[PATH_MAX];
	int	 fd, rc;

	snprintf(path, sizeof path, "%s/cgroup.kill", dir);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return (-1);
	rc = write(fd, "1", 1) == 1 ? 0 : -1;
	close(fd);
	return (rc);
}

/* "populated 1" in the cgroup.events text read from fd (from its start). */
static int
cgroup_events_populated(int fd)
{
	char	 buf[512], *p;
	ssize_t	 n;

	if ((n = pread(fd, buf, sizeof buf - 1, 0)) <= 0)
		return (0);
	buf[n] = '\0';
	return ((p = strstr(buf, "populated ")) != NULL && p[10] == '1');
}

/*
 * Wait at most ms for the cgroup to empty; returns 0 once it has. Only
 * for start-up, before the loop runs. cgroup.events signals POLLPRI when
 * it changes after its last read.
 */
int
cgroup_wait_empty(const char *dir, int64_t ms)
{
	struct pollfd	 pfd;
	char		 path[PATH_MAX];
	int64_t		 deadline = now_ms() + ms, left;
	int		 populated;

	snprintf(path, sizeof path, "%s/cgroup.events", dir);
	if ((pfd.fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (0);	/* the cgroup is gone */
	pfd.events = POLLPRI;
	while ((populated = cgroup_events_populated(pfd.fd)) &&
	    (left = deadline - now_ms()) > 0) {
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			break;
	}
	close(pfd.fd);
	return (populated ? -1 : 0);
}
