/*
 * Where exec jobs' cgroups live, and what is left of them after a crash.
 * The daemon makes one directory below its own cgroup for each state
 * directory (two daemons on one host keep apart, a restarted one finds
 * its own again) and a leaf in it for each job (tree.c). At start, before
 * anything runs, every leaf left there is killed and removed, and a job
 * that was running is settled only once the tree its row names is gone.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "aiojobsd.h"
#include "log.h"
#include "tree.h"
#include "xmalloc.h"

/* How long start-up waits for a killed tree to be gone. */
#define TREES_WAIT_MS	5000

/* A tree waiting for its cgroup.events to change (trees_watch). */
struct trees_watch {
	int			 wd;
	void			(*cb)(void *);
	void			*arg;
	RB_ENTRY(trees_watch)	 entry;
};
RB_HEAD(trees_watches, trees_watch);

/*
 * One inotify instance watches every tree's cgroup.events: the kernel
 * releases an instance only after a grace period of its own, milliseconds
 * that an instance per job made the loop wait at each job's end.
 */
struct trees {
	char			*dir;	/* jobs' cgroups; NULL: process groups */
	int			 notify_fd;	/* inotify; -1 without cgroups */
	struct event		*notify_ev;
	struct trees_watches	 watches;	/* by watch descriptor */
};

int	trees_watch_cmp(struct trees_watch *, struct trees_watch *);
RB_PROTOTYPE(trees_watches, trees_watch, entry, trees_watch_cmp)
RB_GENERATE(trees_watches, trees_watch, entry, trees_watch_cmp)

int
trees_watch_cmp(struct trees_watch *a, struct trees_watch *b)
{
	return (a->wd < b->wd ? -1 : a->wd > b->wd);
}

/* This process's cgroup v2 path ("0::/a/b" in /proc/self/cgroup); owned. */
static char *
trees_own_cgroup(void)
{
	char	 line[PATH_MAX + 8], *s = NULL;
	FILE	*f;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return (NULL);
	while (s == NULL && fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "0::/", 4) == 0) {
			line[strcspn(line, "\n")] = '\0';
			s = xstrdup(line + 3);
		}
	}
	fclose(f);
	return (s);
}

/* Where cgroup2 is mounted (/sys/fs/cgroup, or .../unified); owned. */
static char *
trees_mount(void)
{
	char	 line[2 * PATH_MAX], root[PATH_MAX], point[PATH_MAX], *dash;
	char	*s = NULL;
	FILE	*f;

	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return (NULL);
	while (s == NULL && fgets(line, sizeof line, f) != NULL) {
		if ((dash = strstr(line, " - cgroup2 ")) == NULL)
			continue;
		*dash = '\0';
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", root,
		    point) == 2 && strcmp(root, "/") == 0)
			s = xstrdup(point);
	}
	fclose(f);
	return (s);
}

/* A name for the state directory that a restart finds again. */
static uint64_t
trees_hash(const char *s)
{
	uint64_t	 h = 14695981039346656037ULL;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h);
}

/*
 * Move the daemon into a leaf of its own beside the jobs' cgroups: a
 * cgroup that holds processes cannot hand controllers to its children,
 * so under a delegated systemd unit the unit's cgroup must be left to
 * cgroups only. The root cgroup is exempt from that rule.
 */
static void
trees_leave_root(const char *dir, const char *own)
{
	char	*leaf, *procs;
	FILE	*f;

	if (strcmp(own, "/") == 0)
		return;
	xasprintf(&leaf, "%s/daemon", dir);
	xasprintf(&procs, "%s/cgroup.procs", leaf);
	if ((mkdir(leaf, 0755) == -1 && errno != EEXIST) ||
	    (f = fopen(procs, "we")) == NULL)
		log_warn("cannot move the daemon into %s", leaf);
	else {
		if (fprintf(f, "0\n") < 0 || fclose(f) == EOF)
			log_warn("cannot move the daemon into %s", leaf);
	}
	free(procs);
	free(leaf);
}

/* The jobs' cgroup directory, if this daemon may make one; owned. */
static char *
trees_place(const char *state_dir, char **why)
{
	char	*mount, *own, *dir = NULL, *kill;

	mount = trees_mount();
	own = trees_own_cgroup();
	if (mount == NULL || own == NULL)
		xasprintf(why, "no cgroup v2 hierarchy");
	else {
		xasprintf(&dir, "%s%s/aiojobsd-%016llx", mount,
		    strcmp(own, "/") == 0 ? "" : own,
		    (unsigned long long)trees_hash(state_dir));
		xasprintf(&kill, "%s/cgroup.kill", dir);
		if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
			xasprintf(why, "cannot create %s: %s", dir,
			    strerror(errno));
			free(dir);
			dir = NULL;
		} else if (access(kill, W_OK) == -1) {
			xasprintf(why, "%s: %s", kill, strerror(errno));
			rmdir(dir);
			free(dir);
			dir = NULL;
		} else
			trees_leave_root(dir, own);
		free(kill);
	}
	free(mount);
	free(own);
	return (dir);
}

/* Kill what is left in a job's cgroup and remove it; -1 if it stays. */
static int
trees_reap_cgroup(const char *dir, char **cause)
{
	char	*pids;

	if (access(dir, F_OK) == -1 && errno == ENOENT)
		return (0);
	if (cgroup_populated(dir)) {
		if (cgroup_kill(dir) == -1)
			cgroup_signal(dir, SIGKILL, (uid_t)-1);
		if (cgroup_wait_empty(dir, TREES_WAIT_MS) != 0) {
			pids = cgroup_procs(dir);
			xasprintf(cause, "cgroup %s still holds processes %s",
			    dir, pids != NULL ? pids : "(unknown)");
			free(pids);
			return (-1);
		}
	}
	if (rmdir(dir) == -1 && errno != ENOENT)
		log_warn("rmdir %s", dir);
	return (0);
}

/*
 * Kill what is left of a process group and confirm it gone. Nothing
 * tells when a group empties, so /proc is read again every 10 ms until
 * TREES_WAIT_MS has passed.
 */
static int
trees_reap_pgroup(pid_t pgid, uint64_t start, char **cause)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	int64_t		 deadline = now_ms() + TREES_WAIT_MS;
	char		*pids;

	while ((pids = pstat_group(pgid, start)) != NULL) {
		if (killpg(pgid, SIGKILL) == -1 && errno != ESRCH)
			log_warn("killpg %ld", (long)pgid);
		if (now_ms() >= deadline)
			break;
		free(pids);
		nanosleep(&ts, NULL);
	}
	if (pids == NULL)
		return (0);
	xasprintf(cause, "process group %ld still holds processes %s",
	    (long)pgid, pids);
	free(pids);
	return (-1);
}

/*
 * Kill and confirm gone the tree a job's row names (tree_where); returns
 * 0, or -1 and a cause naming what survived.
 */
int
trees_reap(const char *where, char **cause)
{
	unsigned long long	 start;
	long			 pgid;

	if (strncmp(where, "cgroup ", 7) == 0)
		return (trees_reap_cgroup(where + 7, cause));
	if (sscanf(where, "pgroup %ld %llu", &pgid, &start) == 2 && pgid > 0)
		return (trees_reap_pgroup((pid_t)pgid, start, cause));
	log_warnx("unknown process tree record '%s'", where);
	return (0);
}

/* Kill and remove every job cgroup a previous run left behind. */
static void
trees_sweep(struct trees *ts)
{
	struct dirent	*de;
	DIR		*d;
	char		*path, *cause = NULL;

	if ((d = opendir(ts->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || strncmp(de->d_name, "job-", 4) != 0)
			continue;
		xasprintf(&path, "%s/%s", ts->dir, de->d_name);
		if (cgroup_populated(path))
			log_info("killing what is left in %s", path);
		if (trees_reap_cgroup(path, &cause) != 0) {
			log_warnx("%s", cause);
			free(cause);
			cause = NULL;
		}
		free(path);
	}
	closedir(d);
}

/*
 * Find the place for job cgroups and clear it of a previous run's; with
 * none (no cgroup v2, no right to create one) jobs use process groups.
 */
struct trees *
trees_create(const char *state_dir)
{
	struct trees	*ts;
	char		*why = NULL;

	ts = xcalloc(1, sizeof *ts);
	ts->notify_fd = -1;
	RB_INIT(&ts->watches);
	if ((ts->dir = trees_place(state_dir, &why)) == NULL) {
		log_info("process trees: %s; exec jobs run in process groups, "
		    "which processes that call setsid leave", why);
		free(why);
		return (ts);
	}
	trees_sweep(ts);
	/* made now, not at the first job: it is one of the daemon's own */
	if ((ts->notify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		log_warn("inotify: exec jobs' cgroups are not watched");
	log_info("process trees: a cgroup for each exec job in %s", ts->dir);
	return (ts);
}

/* The directory for job cgroups, or NULL: process groups. */
char *
trees_dir(struct trees *ts)
{
	return (ts != NULL ? ts->dir : NULL);
}

/* Changes arrived: call each watch they name (one may end another). */
static void
trees_notify_cb(int fd, short events, void *arg)
{
	struct trees		*ts = arg;
	struct trees_watch	 find, *w;
	struct inotify_event	*ev;
	char			 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t			 n, off;

	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (off = 0; off < n; off += sizeof *ev + ev->len) {
			ev = (struct inotify_event *)(buf + off);
			find.wd = ev->wd;
			if ((w = RB_FIND(trees_watches, &ts->watches,
			    &find)) != NULL)
				w->cb(w->arg);
		}
	}
}

/*
 * Call cb(arg) each time the file at path is modified, until
 * trees_unwatch; returns the watch, or -1 (logged) if it cannot be had.
 */
int
trees_watch(struct trees *ts, struct event_base *base, const char *path,
    void (*cb)(void *), void *arg)
{
	struct trees_watch	*w;
	int			 wd;

	if (ts->notify_fd == -1)
		return (-1);	/* logged at start */
	if (ts->notify_ev == NULL) {
		ts->notify_ev = event_new(base, ts->notify_fd,
		    EV_READ | EV_PERSIST, trees_notify_cb, ts);
		if (ts->notify_ev == NULL)
			fatalx("inotify: out of memory");
		event_add(ts->notify_ev, NULL);
	}
	if ((wd = inotify_add_watch(ts->notify_fd, path, IN_MODIFY)) == -1) {
		log_warn("inotify %s", path);
		return (-1);
	}
	w = xcalloc(1, sizeof *w);
	w->wd = wd;
	w->cb = cb;
	w->arg = arg;
	if (RB_INSERT(trees_watches, &ts->watches, w) != NULL)
		fatalx("inotify %s: watch %d twice", path, wd);
	return (wd);
}

/* Stop a watch; its cgroup may be gone already, and the watch with it. */
void
trees_unwatch(struct trees *ts, int wd)
{
	struct trees_watch	 find, *w;

	find.wd = wd;
	if ((w = RB_FIND(trees_watches, &ts->watches, &find)) == NULL)
		return;
	RB_REMOVE(trees_watches, &ts->watches, w);
	free(w);
	inotify_rm_watch(ts->notify_fd, wd);
}

/* Every watch and the instance go (the daemon stops). */
static void
trees_unwatch_all(struct trees *ts)
{
	struct trees_watch	*w, *next;

	RB_FOREACH_SAFE(w, trees_watches, &ts->watches, next) {
		RB_REMOVE(trees_watches, &ts->watches, w);
		free(w);
	}
	if (ts->notify_ev != NULL)
		event_free(ts->notify_ev);
	if (ts->notify_fd != -1)
		close(ts->notify_fd);
}

/*
 * At exit: running jobs were cancelled (or the daemon stops without
 * telling anyone); what is left of them is killed, so no process
 * outlives the daemon, as none outlives a crashed one past its restart.
 */
void
trees_free(struct trees *ts)
{
	if (ts == NULL)
		return;
	if (ts->dir != NULL) {
		trees_sweep(ts);
		rmdir(ts->dir);	/* fails while the daemon is in it */
	}
	trees_unwatch_all(ts);
	free(ts->dir);
	free(ts);
}
