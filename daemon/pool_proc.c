/*
 * The life of the pool's worker processes: each is `aiojobsd --worker`,
 * started by spawn.c as every child of the daemon is, in its own process
 * group, as worker_user when one is set, with two pipes of its own
 * (pool_wire.h). Pipes, one a direction, rather than a socketpair:
 * reading a worker's reply from a socket also wakes the worker if it
 * sleeps on the same socket waiting for a job, for nothing, a wake-up a
 * job on each side.
 *
 * A worker that dies fails the job it ran, gives the ones it held back to
 * their queues and is replaced, with a back-off when workers keep dying
 * before they are ready. A worker beyond the pool's size (after SIGHUP)
 * retires when idle, or after the job it runs. What a worker's pipes
 * carry is pool.c's business: it registered their handlers in the pool.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "aiojobsd.h"
#include "log.h"
#include "pool.h"
#include "pool_wire.h"
#include "spawn.h"
#include "users.h"
#include "xmalloc.h"

#define POOL_BACKOFF_MIN_MS	100
#define POOL_BACKOFF_MAX_MS	30000

/* the worker's job and reply fds are among those a child can be given */
_Static_assert(POOL_CHILD_JOB_FD < SPAWN_NFDS &&
    POOL_CHILD_REPLY_FD < SPAWN_NFDS, "SPAWN_NFDS too small for a worker");

extern char **environ;

static void	pool_proc_spawn(struct worker *);
static int	pool_proc_started(struct worker *);

/* Stop watching a worker's start: it is known, or of no more interest. */
static void
pool_proc_start_close(struct worker *w)
{
	if (w->sev != NULL)
		event_free(w->sev);
	w->sev = NULL;
	if (w->startfd != -1)
		close(w->startfd);
	w->startfd = -1;
}

/* Close a worker's pipes and events; the process is gone or going. */
static void
pool_proc_close(struct worker *w)
{
	if (w->ev != NULL)
		event_free(w->ev);
	w->ev = NULL;
	if (w->wev != NULL)
		event_free(w->wev);
	w->wev = NULL;
	if (w->in != NULL)
		evbuffer_free(w->in);
	w->in = NULL;
	if (w->out != NULL)
		evbuffer_free(w->out);
	w->out = NULL;
	if (w->jobfd != -1)
		close(w->jobfd);
	w->jobfd = -1;
	if (w->replyfd != -1)
		close(w->replyfd);
	w->replyfd = -1;
	pool_proc_start_close(w);
	w->unflushed = 0;
}

/* Forget a worker whose process is gone (or never was). */
static void
pool_proc_free(struct worker *w)
{
	struct pool	*p = w->pool;

	pool_proc_close(w);
	p->workers[w->idx] = NULL;
	while (p->nslots > p->opts.workers && p->workers[p->nslots - 1] == NULL)
		p->nslots--;
	free(w);
}

static void
pool_proc_describe(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
}

/* Respawn the workers that are down, unless they keep dying at start. */
void
pool_proc_respawn_cb(int fd, short events, void *arg)
{
	struct pool	*p = arg;
	int		 i;

	for (i = 0; i < p->opts.workers && !p->stopping; i++) {
		if (p->workers[i]->state == WORKER_DOWN)
			pool_proc_spawn(p->workers[i]);
	}
}

static void
pool_proc_schedule_respawn(struct pool *p)
{
	struct timeval	 tv = { 0, 0 };
	int64_t		 ms = 0;
	int		 i;

	if (p->stopping || evtimer_pending(p->respawn_timer, NULL))
		return;
	if (p->fails > 0) {
		ms = POOL_BACKOFF_MIN_MS;
		for (i = 1; i < p->fails && ms < POOL_BACKOFF_MAX_MS; i++)
			ms *= 2;
		if (ms > POOL_BACKOFF_MAX_MS)
			ms = POOL_BACKOFF_MAX_MS;
		log_warnx("workers keep dying before they are ready (%d in a "
		    "row); next start in %lld ms", p->fails, (long long)ms);
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(p->respawn_timer, &tv);
}

/* Send SIGKILL, once; the worker's reaping settles its jobs. */
void
pool_proc_kill(struct worker *w)
{
	if (w->killed || w->pid <= 0)
		return;
	w->killed = 1;
	if (kill(w->pid, SIGKILL) == -1)
		log_warn("worker %d: kill %ld", w->idx, (long)w->pid);
}

/* The held jobs of a worker go back to their queues. */
static void
pool_proc_unhold(struct worker *w)
{
	struct job	*job;
	int		 i, n = w->njobs;

	w->njobs = 0;
	for (i = 0; i < n; i++) {
		if ((job = w->jobs[i]) == NULL)
			continue;
		job->kdata = NULL;
		sched_unhold(job);
	}
}

/*
 * A worker process ended: fail the job it ran, if any, give back the
 * ones it held, and replace it. One that could not exec may end before
 * the loop has read why: it has said all it will, and that comes first.
 */
static void
pool_proc_exit_cb(pid_t pid, int status, void *arg)
{
	struct worker	*w = arg;
	struct pool	*p = w->pool;
	struct job	*job = NULL;
	char		 how[96];
	int		 state = w->state;

	if (w->startfd != -1)
		(void)pool_proc_started(w);
	pool_proc_describe(status, how, sizeof how);
	if (state == WORKER_STARTING)
		p->fails++;
	else if (state == WORKER_IDLE)
		p->nidle--;
	else if (state == WORKER_BUSY) {
		p->nbusy--;
		job = w->jobs[0];
		w->jobs[0] = NULL;
	}
	/* what the daemon did not ask for: the operator should hear of it */
	if (!p->stopping && state != WORKER_RETIRING && !w->killed &&
	    !w->start_failed) {
		if (job != NULL)
			log_warnx("worker %d (pid %ld) %s while running job %lld",
			    w->idx, (long)pid, how, (long long)job->id);
		else
			log_warnx("worker %d (pid %ld) %s", w->idx, (long)pid,
			    how);
	}
	pool_proc_close(w);
	w->state = WORKER_DOWN;
	w->pid = -1;
	w->killed = 0;
	w->start_failed = 0;
	if (w->idx < p->opts.workers)
		pool_proc_schedule_respawn(p);
	/* held jobs stay in w->jobs (dropped if cancelled) until then */
	if (job != NULL) {
		job->kdata = NULL;
		sched_finish(job, JOB_FAILED, NULL, "worker_crashed",
		    "worker %d (pid %ld) %s", w->idx, (long)pid, how);
	}
	pool_proc_unhold(w);
	if (w->idx >= p->opts.workers)
		pool_proc_free(w);	/* the pool shrank */
}

/*
 * The pipes to a new worker: our ends non-blocking and watched, child[0]
 * the end it reads jobs from, child[1] the end it writes replies to.
 */
static int
pool_proc_connect(struct worker *w, int child[2])
{
	struct pool	*p = w->pool;
	int		 jobs[2], replies[2];

	if (pipe2(jobs, O_CLOEXEC) == -1) {
		log_warn("worker %d: pipe", w->idx);
		return (-1);
	}
	if (pipe2(replies, O_CLOEXEC) == -1) {
		log_warn("worker %d: pipe", w->idx);
		close(jobs[0]);
		close(jobs[1]);
		return (-1);
	}
	/* only our ends: the worker reads and writes blocking */
	if (fcntl(jobs[1], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(replies[0], F_SETFL, O_NONBLOCK) == -1) {
		log_warn("worker %d: fcntl", w->idx);
		close(jobs[0]);
		close(jobs[1]);
		close(replies[0]);
		close(replies[1]);
		return (-1);
	}
	w->jobfd = jobs[1];
	w->replyfd = replies[0];
	child[0] = jobs[0];
	child[1] = replies[1];
	w->in = evbuffer_new();
	w->out = evbuffer_new();
	w->ev = event_new(p->base, w->replyfd, EV_READ | EV_PERSIST,
	    p->read_cb, w);
	w->wev = event_new(p->base, w->jobfd, EV_WRITE, p->write_cb, w);
	if (w->in == NULL || w->out == NULL || w->ev == NULL ||
	    w->wev == NULL)
		fatalx("worker %d: out of memory", w->idx);
	event_add(w->ev, NULL);
	return (0);
}

/*
 * The user the workers run as (NULL: the daemon's), taken on before the
 * worker runs anything: a cpu job's arguments are its submitter's, and a
 * root daemon's worker would read any file a function is given the path
 * of. Asked of users.c at each start, as a reload empties its cache; -1
 * if worker_user, checked at the daemon's start, is no longer a user.
 */
static int
pool_proc_user(struct worker *w, const struct user **up)
{
	const char	*name = w->pool->opts.user;
	uid_t		 uid;

	*up = NULL;
	if (name == NULL)
		return (0);
	if (users_parse(name, &uid) != 0 || !(*up = users_get(uid))->known) {
		log_warnx("worker %d: no user %s", w->idx, name);
		return (-1);
	}
	return (0);
}

/*
 * Start the worker: jobs on its fd 3, replies on its fd 4, stdin
 * /dev/null, stdout and stderr the daemon's, as user u (or the daemon's
 * user), without the daemon's capabilities. Returns 0 once it exists
 * (whether it exec'd, w->startfd says), or an errno.
 */
static int
pool_proc_exec(struct worker *w, const struct user *u, int child[2])
{
	struct pool_opts	*o = &w->pool->opts;
	struct spawn		 sp;
	char			 mem[32], cpu[32];
	char			*argv[] = { "aiojobsd", "--worker",
	    "--job-fd", POOL_CHILD_JOB_FDS, "--reply-fd", POOL_CHILD_REPLY_FDS,
	    "--plugin-dir", (char *)o->plugin_dir,
	    "--memory-limit", mem, "--cpu-limit", cpu, NULL };
	char			**envp;
	int			 r;

	snprintf(mem, sizeof mem, "%lld", (long long)o->memory_limit);
	snprintf(cpu, sizeof cpu, "%lld", (long long)o->cpu_limit);
	/* without NOTIFY_SOCKET: a plugin must not speak to systemd for us */
	envp = child_env(environ);
	spawn_init(&sp, o->exe, argv, envp);
	sp.fds[1] = 1;
	sp.fds[2] = 2;
	sp.fds[POOL_CHILD_JOB_FD] = child[0];
	sp.fds[POOL_CHILD_REPLY_FD] = child[1];
	sp.nfds = POOL_CHILD_REPLY_FD + 1;
	sp.user = u;
	/* its own group: a terminal's ^C is for the daemon, not the pool */
	sp.new_pgrp = 1;
	sp.deathsig = SIGKILL;
#if !defined(__SANITIZE_ADDRESS__)
	/* AddressSanitizer reserves terabytes of address space (worker.c) */
	if (o->memory_limit > 0)
		sp.as_limit = (rlim_t)o->memory_limit;
#endif
	r = spawn_start(&sp, &w->pid, &w->startfd);
	free(envp);
	return (r);
}

/* Say why a worker did not start (spawn.c's step and errno). */
static void
pool_proc_cannot(struct worker *w, int step, int error)
{
	if (step == SPAWN_STEP_USER)
		log_warnx("worker %d: cannot become %s: %s", w->idx,
		    users_name(w->uid), strerror(error));
	else if (step == SPAWN_STEP_CAPS)
		log_warnx("worker %d: cannot drop the daemon's capabilities: "
		    "%s", w->idx, strerror(error));
	else
		log_warnx("worker %d: cannot run %s: %s", w->idx,
		    w->pool->opts.exe, strerror(error));
}

/*
 * What came of the worker's start, once its error pipe is readable or
 * it has exited: -1 while nothing yet; else 0 and the pipe is closed. A
 * worker that could not exec says why here and is replaced when reaped.
 */
static int
pool_proc_started(struct worker *w)
{
	int	 r, step = SPAWN_STEP_EXEC;

	if ((r = spawn_result(w->startfd, &step)) == -1)
		return (-1);
	if (r != 0) {
		pool_proc_cannot(w, step, r);
		w->start_failed = 1;
	}
	pool_proc_start_close(w);
	return (0);
}

static void
pool_proc_start_cb(int fd, short events, void *arg)
{
	(void)pool_proc_started(arg);
}

/*
 * Start a worker, without waiting for its exec: until it says hello it
 * is starting, and its start's pipe is watched.
 */
static void
pool_proc_spawn(struct worker *w)
{
	const struct user	*u;
	int			 child[2], r;

	if (pool_proc_user(w, &u) != 0 || pool_proc_connect(w, child) != 0) {
		w->pool->fails++;
		pool_proc_schedule_respawn(w->pool);
		return;
	}
	r = pool_proc_exec(w, u, child);
	close(child[0]);
	close(child[1]);
	if (r != 0) {
		pool_proc_cannot(w, SPAWN_STEP_EXEC, r);
		pool_proc_close(w);
		w->pool->fails++;
		pool_proc_schedule_respawn(w->pool);
		return;
	}
	w->state = WORKER_STARTING;
	w->took = UINT64_MAX;		/* nothing known: no holding yet */
	w->uid = u != NULL ? u->uid : geteuid();
	w->sev = event_new(w->pool->base, w->startfd, EV_READ | EV_PERSIST,
	    pool_proc_start_cb, w);
	if (w->sev == NULL)
		fatalx("worker %d: out of memory", w->idx);
	event_add(w->sev, NULL);
	proc_watch(w->pid, pool_proc_exit_cb, w);
}

/* A new worker in slot idx, spawned now. */
void
pool_proc_add(struct pool *p, int idx)
{
	struct worker	*w;

	w = xcalloc(1, sizeof *w);
	w->pool = p;
	w->idx = idx;
	w->jobfd = -1;
	w->replyfd = -1;
	w->startfd = -1;
	w->pid = -1;
	p->workers[idx] = w;
	pool_proc_spawn(w);
}

/* Retire a worker beyond the target: at once unless it runs a job. */
void
pool_proc_retire(struct worker *w)
{
	switch (w->state) {
	case WORKER_DOWN:
		pool_proc_free(w);
		break;
	case WORKER_IDLE:
		w->pool->nidle--;
		/* FALLTHROUGH */
	case WORKER_STARTING:
		w->state = WORKER_RETIRING;
		pool_proc_kill(w);	/* reaped: pool_proc_exit_cb frees it */
		break;
	case WORKER_BUSY:		/* pool_reply retires it */
	case WORKER_RETIRING:
		break;
	}
}

/*
 * Stop a worker and wait for it, then forget it: for pool_free, once the
 * loop is over, where blocking is fine.
 */
void
pool_proc_stop(struct worker *w)
{
	int	 status;

	pool_proc_close(w);	/* its pipe's EOF stops an idle one */
	if (w->pid > 0) {
		kill(w->pid, SIGKILL);
		proc_forget(w->pid);
		while (waitpid(w->pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	free(w);
}
