/*
 * What /proc/PID/stat tells about processes: when one started (a pid can
 * be given again, its start time with it cannot), and which processes are
 * left in a process group. Recovery uses them to find a job's process
 * group after a crash when it had no cgroup.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "tree.h"
#include "xmalloc.h"

struct pstat {
	char			 state;
	long			 pgrp;
	unsigned long long	 start;	/* clock ticks after boot */
};

static int
pstat_read(long pid, struct pstat *ps)
{
	char	 path[64], buf[1024], *p;
	FILE	*f;
	size_t	 n;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if ((f = fopen(path, "re")) == NULL)
		return (-1);
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: skip to its end */
	if ((p = strrchr(buf, ')')) == NULL)
		return (-1);
	if (sscanf(p + 1, " %c %*d %ld %*d %*d %*d %*u %*u %*u %*u %*u %*u "
	    "%*u %*d %*d %*d %*d %*d %*d %llu", &ps->state, &ps->pgrp,
	    &ps->start) != 3)
		return (-1);
	return (0);
}

/* When pid started, in clock ticks after boot; 0 if it is gone. */
uint64_t
pstat_start(pid_t pid)
{
	struct pstat	 ps;

	return (pstat_read(pid, &ps) == 0 ? ps.start : 0);
}

/*
 * The live processes of the group pgid whose leader started at start
 * (none once a new process holds the leader's pid), as pids separated by
 * spaces, or NULL if none is left; owned.
 */
char *
pstat_group(pid_t pgid, uint64_t start)
{
	struct pstat	 ps;
	struct dirent	*de;
	DIR		*d;
	char		*list = NULL, *next;
	long		 pid;

	if (pstat_read(pgid, &ps) == 0 && ps.start != start)
		return (NULL);
	if ((d = opendir("/proc")) == NULL)
		return (NULL);
	while ((de = readdir(d)) != NULL) {
		if ((pid = strtol(de->d_name, &next, 10)) <= 0 ||
		    *next != '\0' || pstat_read(pid, &ps) != 0)
			continue;
		if (ps.state == 'Z' || ps.pgrp != (long)pgid ||
		    ps.start < start)
			continue;
		next = list;
		xasprintf(&list, "%s%s%ld", next != NULL ? next : "",
		    next != NULL ? " " : "", pid);
		free(next);
	}
	closedir(d);
	return (list);
}
