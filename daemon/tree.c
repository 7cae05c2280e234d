/*
 * An exec job's process tree while it runs. Where the daemon may create
 * cgroups (trees_create), each job gets a cgroup v2 leaf of its own; the
 * child is born in it (spawn.c), so every process it starts, setsid and
 * double-fork included, stays in it until it exits, and cgroup.kill
 * reaches them all. Elsewhere the job's process group is the tree: what
 * leaves the group (setsid) escapes it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "aiojobsd.h"
#include "log.h"
#include "tree.h"
#include "xmalloc.h"

struct tree {
	char		*cgroup;	/* its directory, or NULL: the group */
	int		 dirfd;		/* the cgroup, until the spawn */
	struct trees	*trees;		/* whose watch tells it emptied */
	int		 wd;		/* that watch, or -1 */
	pid_t		 pgid;
	uid_t		 owner;		/* the job's: whom to signal as */
	uint64_t	 start;		/* the leader's start time, in ticks */
	int		 killed;
	void		(*empty_cb)(void *);
	void		*arg;
};

/*
 * A tree for one attempt of a job: a new cgroup leaf if the daemon has a
 * place for them, else (or if the leaf cannot be made) the process group.
 * Its processes run as owner, who may send them signals the daemon may
 * not (kill_as).
 */
struct tree *
tree_create(struct trees *ts, int64_t id, int64_t attempt, uid_t owner)
{
	struct tree	*t;
	char		*dir;

	t = xcalloc(1, sizeof *t);
	t->dirfd = t->wd = -1;
	t->trees = ts;
	t->owner = owner;
	if ((dir = trees_dir(ts)) == NULL)
		return (t);
	xasprintf(&t->cgroup, "%s/job-%lld-%lld", dir, (long long)id,
	    (long long)attempt);
	if (mkdir(t->cgroup, 0755) == -1 ||
	    (t->dirfd = open(t->cgroup, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		log_warn("job %lld: cgroup %s, using its process group",
		    (long long)id, t->cgroup);
		rmdir(t->cgroup);
		free(t->cgroup);
		t->cgroup = NULL;
	}
	return (t);
}

/* The cgroup directory the child is to be born in, or -1. */
int
tree_cgroup_fd(struct tree *t)
{
	return (t->dirfd);
}

/* The child runs: remember its group, and what finds it after a crash. */
void
tree_started(struct tree *t, pid_t pid)
{
	t->pgid = pid;
	t->start = pstat_start(pid);
	if (t->dirfd != -1) {
		close(t->dirfd);
		t->dirfd = -1;
	}
}

/* The store's record of the tree (tree_reap reads it back); owned. */
char *
tree_where(struct tree *t)
{
	char	*s;

	if (t->cgroup != NULL)
		xasprintf(&s, "cgroup %s", t->cgroup);
	else
		xasprintf(&s, "pgroup %ld %llu", (long)t->pgid,
		    (unsigned long long)t->start);
	return (s);
}

/*
 * Whether the process group is still the job's: once it has emptied, its
 * id may go to a new process that leads a group of its own, which must
 * never be signalled; that process did not start when the job's child did.
 */
static int
tree_group_ours(struct tree *t)
{
	uint64_t	 start;

	if (t->pgid <= 0)
		return (0);
	start = pstat_start(t->pgid);
	return (start == 0 || start == t->start);
}

/*
 * Whether processes of the tree are left. A process group gives no word
 * when it empties, nor does a cgroup that could not be watched (out of
 * fds): once killed, they count as empty.
 */
int
tree_populated(struct tree *t)
{
	if (t->cgroup != NULL && (t->wd != -1 || !t->killed))
		return (cgroup_populated(t->cgroup) != 0);
	if (t->cgroup != NULL)
		return (0);
	if (t->killed || !tree_group_ours(t))
		return (0);
	/* EPERM: there, but its owner's, not ours to signal */
	return (kill(-t->pgid, 0) == 0 || errno == EPERM);
}

/* Send sig to every process of the tree: a polite first word. */
void
tree_signal(struct tree *t, int sig)
{
	if (t->cgroup != NULL)
		cgroup_signal(t->cgroup, sig, t->owner);
	else if (tree_group_ours(t) && kill_as(-t->pgid, sig, t->owner) == -1 &&
	    errno != ESRCH)
		log_warn("killpg %ld", (long)t->pgid);
}

/* Kill every process of the tree. */
void
tree_kill(struct tree *t)
{
	t->killed = 1;
	if (t->cgroup != NULL) {
		if (cgroup_kill(t->cgroup) == 0)
			return;
		log_warn("%s/cgroup.kill", t->cgroup);
		cgroup_signal(t->cgroup, SIGKILL, t->owner);
		return;
	}
	if (tree_group_ours(t) && kill_as(-t->pgid, SIGKILL, t->owner) == -1 &&
	    errno != ESRCH)
		log_warn("killpg %ld", (long)t->pgid);
}

/* Its cgroup.events changed: maybe it emptied. */
static void
tree_notify_cb(void *arg)
{
	struct tree	*t = arg;

	if (!tree_populated(t))
		t->empty_cb(t->arg);
}

/*
 * Call cb(arg) when the cgroup empties (cgroup.events changes with
 * "populated 0"; libevent cannot wait for the POLLPRI the file signals,
 * so inotify watches it, the documented alternative, through the one
 * instance trees.c keeps for all). A process group gives no such word:
 * nothing is watched.
 */
void
tree_watch(struct tree *t, struct event_base *base, void (*cb)(void *),
    void *arg)
{
	char	*path;

	if (t->cgroup == NULL || t->wd != -1)
		return;
	t->empty_cb = cb;
	t->arg = arg;
	xasprintf(&path, "%s/cgroup.events", t->cgroup);
	t->wd = trees_watch(t->trees, base, path, tree_notify_cb, t);
	free(path);
}

/* Forget the tree; an empty cgroup is removed. */
void
tree_free(struct tree *t)
{
	if (t == NULL)
		return;
	if (t->wd != -1)
		trees_unwatch(t->trees, t->wd);
	if (t->dirfd != -1)
		close(t->dirfd);
	if (t->cgroup != NULL && rmdir(t->cgroup) == -1)
		log_warn("rmdir %s", t->cgroup);
	free(t->cgroup);
	free(t);
}
