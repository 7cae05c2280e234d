/*
 * The worker pool (ProcessPoolExecutor): N worker processes, each spawned
 * by fork+exec of `aiojobsd --worker` in its own process group and talking
 * over two pipes of its own (poolwire.h), read and written from the loop
 * without blocking: no thread hand-off between the loop and a worker, so
 * a job costs a write and a read on each side. Pipes, one a direction,
 * rather than a socketpair: reading a worker's reply from a socket also
 * wakes the worker if it sleeps on the same socket waiting for a job, for
 * nothing, a wake-up a job on each side. The pool knows which
 * worker runs which job: a crash fails exactly that job, cancel and timeout
 * kill exactly that worker, and every dead worker is replaced (with a
 * back-off when workers keep dying before they are ready). SIGHUP may
 * change the number of workers: surplus ones finish their job first.
 *
 * When every worker is busy with short jobs, a worker may also hold the
 * next jobs (POOL_DEPTH in all): they are sent at once and the worker
 * goes on with them as soon as it replies, so no worker waits for the
 * dispatcher between jobs. Only on a worker whose last call took less
 * than POOL_HOLD_US (by its own clock: the loop may lag) and whose
 * current one has not been running for POOL_LONG_US, so that a held job
 * seldom waits behind a long one while another worker could have run
 * it. A held job is still queued for the scheduler; it starts
 * (sched_start_held) when the reply before it arrives. If its worker is
 * killed first, or it may no longer start, it goes back to its queue.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "aiojobsd.h"
#include "log.h"
#include "poolwire.h"
#include "xmalloc.h"

#define WORKER_DOWN	0	/* waiting to be (re)spawned */
#define WORKER_STARTING	1	/* spawned, no hello yet */
#define WORKER_IDLE	2
#define WORKER_BUSY	3
#define WORKER_RETIRING	4	/* said its last reply; exit expected */

/* what one read from a worker asks for */
#define POOL_READ		65536

/* jobs sent to one worker: the one it runs and those it holds */
#define POOL_DEPTH		4
/* a worker whose last call took less may hold jobs ... */
#define POOL_HOLD_US		2000
/* ... unless its current job has been running for this long */
#define POOL_LONG_US		100000

#define POOL_BACKOFF_MIN_MS	100
#define POOL_BACKOFF_MAX_MS	30000

struct worker {
	struct pool	*pool;
	int		 idx;
	unsigned int	 gen;
	int		 state;
	pid_t		 pid;
	int		 jobfd;		/* jobs to it; its EOF stops the worker */
	int		 replyfd;	/* its replies; EOF when it is gone */
	struct event	*ev;		/* readable */
	struct event	*wev;		/* writable, while out is not empty */
	struct evbuffer	*in;
	struct evbuffer	*out;
	/* in the order sent: [0] runs while BUSY; NULL: dropped, not run */
	struct job	*jobs[POOL_DEPTH];
	int		 njobs;
	int		 killed;	/* SIGKILL sent: nothing more starts */
	int		 unflushed;	/* out has jobs for pool_flush_cb */
	uint64_t	 began;		/* when jobs[0] started here (us) */
	uint64_t	 took;		/* the worker's time for its last call */
};

struct pool {
	struct event_base	*base;
	struct sched		*sched;
	struct pool_opts	 opts;		/* opts.workers: the target */
	struct worker		**workers;	/* slots; NULL when gone */
	int			 nslots;
	int			 nbusy;
	int			 nidle;
	int			 fails;	/* workers that died before hello */
	struct event		*respawn_timer;
	struct event		*flush_ev;	/* writes what the turn sent */
	int			 stopping;
};

static void	pool_spawn(struct worker *);

/* Microseconds on the monotonic clock. */
static uint64_t
pool_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}
static void	pool_worker_free(struct worker *);

/* Close a worker's pipes and events; the process is gone or going. */
static void
pool_worker_close(struct worker *w)
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
	w->unflushed = 0;
}

static void
pool_describe(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
}

/* Respawn the workers that are down, unless they keep dying at start. */
static void
pool_respawn_cb(int fd, short events, void *arg)
{
	struct pool	*p = arg;
	int		 i;

	for (i = 0; i < p->opts.workers && !p->stopping; i++) {
		if (p->workers[i]->state == WORKER_DOWN)
			pool_spawn(p->workers[i]);
	}
}

static void
pool_schedule_respawn(struct pool *p)
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
static void
pool_kill(struct worker *w)
{
	if (w->killed || w->pid <= 0)
		return;
	w->killed = 1;
	if (kill(w->pid, SIGKILL) == -1)
		log_warn("worker %d: kill %ld", w->idx, (long)w->pid);
}

/* The held jobs of a worker from i on go back to their queues. */
static void
pool_unhold(struct worker *w, int i)
{
	struct job	*job;
	int		 n = w->njobs;

	w->njobs = i;
	for (; i < n; i++) {
		if ((job = w->jobs[i]) == NULL)
			continue;
		job->kdata = NULL;
		sched_unhold(job);
	}
}

/*
 * A worker process ended: fail the job it ran, if any, give back the
 * ones it held, and replace it.
 */
static void
pool_exit_cb(pid_t pid, int status, void *arg)
{
	struct worker	*w = arg;
	struct pool	*p = w->pool;
	struct job	*job = NULL;
	char		 how[96];
	int		 state = w->state;

	pool_describe(status, how, sizeof how);
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
	if (!p->stopping && state != WORKER_RETIRING && !w->killed) {
		if (job != NULL)
			log_warnx("worker %d (pid %ld) %s while running job %lld",
			    w->idx, (long)pid, how, (long long)job->id);
		else
			log_warnx("worker %d (pid %ld) %s", w->idx, (long)pid,
			    how);
	}
	pool_worker_close(w);
	w->state = WORKER_DOWN;
	w->pid = -1;
	w->killed = 0;
	if (w->idx < p->opts.workers)
		pool_schedule_respawn(p);
	/* held jobs stay in w->jobs (dropped if cancelled) until then */
	if (job != NULL) {
		job->kdata = NULL;
		job_finish(job, JOB_FAILED, NULL, "worker_crashed",
		    "worker %d (pid %ld) %s", w->idx, (long)pid, how);
	}
	pool_unhold(w, 0);
	if (w->idx >= p->opts.workers)
		pool_worker_free(w);	/* the pool shrank */
}

static void
pool_idle(struct worker *w)
{
	w->state = WORKER_IDLE;
	w->pool->nidle++;
	sched_kick(w->pool->sched);
}

/*
 * A reply: "O<output JSON>" or "E<code> <message>", NUL-terminated; in
 * lower case when the worker retires after it (too much memory left in
 * use). us is how long the call took. The worker has gone on with the
 * next job it holds, if any.
 */
static void
pool_reply(struct worker *w, const char *buf, uint32_t us)
{
	struct pool	*p = w->pool;
	struct job	*job = w->jobs[0], *next;
	char		*text, *msg, *json;
	int		 retire = 0;

	w->took = us;
	w->began = pool_now_us();
	memmove(w->jobs, w->jobs + 1, (size_t)(w->njobs - 1) * sizeof *w->jobs);
	w->jobs[--w->njobs] = NULL;
	p->nbusy--;
	if (w->idx >= p->opts.workers)
		retire = 1;
	else if (buf[0] == 'o' || buf[0] == 'e') {
		log_info("worker %d (pid %ld) holds too much memory; replacing "
		    "it", w->idx, (long)w->pid);
		retire = 1;
	}

	/*
	 * Finish this job before the next one starts: never more running
	 * than workers, in the events too. Finishing may drop (cancel) jobs
	 * this worker holds, nothing else of it.
	 */
	job->kdata = NULL;
	if (buf[0] == 'O' || buf[0] == 'o') {
		/*
		 * A plugin's tree may print as anything (raw nodes): views
		 * copy results as they are, so keep only valid JSON, in
		 * compact form; what does not parse is a null result.
		 */
		json = msg_json_compact(buf + 1);
		job_finish(job, JOB_SUCCEEDED, json, NULL, NULL);
		free(json);
	} else {
		text = xstrdup(buf + 1);
		if ((msg = strchr(text, ' ')) != NULL)
			*msg++ = '\0';
		job_finish(job, JOB_FAILED, NULL, text, "%s",
		    msg != NULL ? msg : text);
		free(text);
	}

	if (!retire && !w->killed && w->njobs == 0) {
		pool_idle(w);
		return;
	}
	if (!retire && !w->killed && (next = w->jobs[0]) != NULL &&
	    sched_start_held(next) == 0) {
		p->nbusy++;		/* still BUSY, with the next job */
		return;
	}
	/*
	 * Retiring, or it went on with a job that was dropped or may not
	 * start: stop it. Its reaping gives the jobs it holds back.
	 */
	w->state = WORKER_RETIRING;
	pool_kill(w);
}

/* One message from a worker: NUL-terminated text, as poolwire.h says. */
static void
pool_message(struct worker *w, const char *buf, size_t len, uint32_t us)
{
	if (len < 2 || buf[len - 1] != '\0') {
		if (w->state != WORKER_RETIRING)
			log_warnx("worker %d: broken message", w->idx);
	} else if (buf[0] == 'H' && w->state == WORKER_STARTING) {
		w->pool->fails = 0;
		log_debug("worker %d (pid %ld) ready", w->idx, (long)w->pid);
		pool_idle(w);
	} else if (strchr("OEoe", buf[0]) != NULL &&
	    w->state == WORKER_BUSY && w->njobs > 0)
		pool_reply(w, buf, us);
	else if (w->state != WORKER_RETIRING)	/* replies after a kill */
		log_warnx("worker %d: unexpected message", w->idx);
}

/*
 * Read what the worker wrote: one read, unless that filled the space. -1
 * at EOF or on an error.
 */
static int
pool_fill(struct worker *w)
{
	struct evbuffer_iovec	 v;
	size_t			 room;
	ssize_t			 n;

	for (;;) {
		if (evbuffer_reserve_space(w->in, POOL_READ, &v, 1) < 1)
			fatalx("worker %d: out of memory", w->idx);
		room = v.iov_len;
		if ((n = read(w->replyfd, v.iov_base, room)) <= 0) {
			evbuffer_commit_space(w->in, NULL, 0);
			return (n == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1);
		}
		v.iov_len = (size_t)n;
		evbuffer_commit_space(w->in, &v, 1);
		if ((size_t)n < room)
			return (0);
	}
}

/*
 * Read what the worker wrote and handle every whole message in it. At EOF
 * or an error stop watching: the worker's reaping ends its job.
 */
static void
pool_read_cb(int fd, short events, void *arg)
{
	struct worker		*w = arg;
	struct pool_wire_hdr	 h;
	size_t			 have;

	if (pool_fill(w) != 0)
		event_del(w->ev);
	/* a reply may retire (close) the worker: check in every turn */
	while (w->in != NULL &&
	    (have = evbuffer_get_length(w->in)) >= POOL_WIRE_HDR) {
		evbuffer_copyout(w->in, &h, sizeof h);
		if (h.len > POOL_WIRE_MAX) {
			log_warnx("worker %d: broken stream", w->idx);
			event_del(w->ev);
			evbuffer_drain(w->in, have);
			pool_kill(w);
			break;
		}
		if (have - POOL_WIRE_HDR < h.len)
			break;
		evbuffer_drain(w->in, POOL_WIRE_HDR);
		pool_message(w, (char *)evbuffer_pullup(w->in, h.len), h.len,
		    h.us);
		if (w->in != NULL)
			evbuffer_drain(w->in, h.len);
	}
}

/* Write what is waiting for the worker; the rest when it can take more. */
static void
pool_flush(struct worker *w)
{
	int	 n;

	while (evbuffer_get_length(w->out) > 0 &&
	    (n = evbuffer_write(w->out, w->jobfd)) > 0)
		;
	if (evbuffer_get_length(w->out) == 0)
		return;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		event_add(w->wev, NULL);
	else {
		log_warnx("worker %d: send: %s", w->idx, strerror(errno));
		evbuffer_drain(w->out, evbuffer_get_length(w->out));
		pool_kill(w);		/* fails its job when reaped */
	}
}

static void
pool_write_cb(int fd, short events, void *arg)
{
	pool_flush(arg);
}

/* Write the jobs sent to workers in this turn: one write each. */
static void
pool_flush_cb(int fd, short events, void *arg)
{
	struct pool	*p = arg;
	struct worker	*w;
	int		 i;

	for (i = 0; i < p->nslots; i++) {
		if ((w = p->workers[i]) == NULL || !w->unflushed)
			continue;
		w->unflushed = 0;
		pool_flush(w);
	}
}

/*
 * A pipe whose ends are close-on-exec and above the worker's fds 3 and 4,
 * so that making them its 3 and 4 cannot overwrite one with the other.
 */
static int
pool_pipe(int fds[2])
{
	int	 i, fd;

	if (pipe2(fds, O_CLOEXEC) == -1)
		return (-1);
	for (i = 0; i < 2; i++) {
		if (fds[i] > POOL_CHILD_REPLY_FD)
			continue;
		if ((fd = fcntl(fds[i], F_DUPFD_CLOEXEC,
		    POOL_CHILD_REPLY_FD + 1)) == -1) {
			close(fds[0]);
			close(fds[1]);
			return (-1);
		}
		close(fds[i]);
		fds[i] = fd;
	}
	return (0);
}

/*
 * The pipes to a new worker: our ends non-blocking and watched, child[0]
 * the end it reads jobs from, child[1] the end it writes replies to.
 */
static int
pool_connect(struct worker *w, int child[2])
{
	int	 jobs[2], replies[2];

	if (pool_pipe(jobs) == -1) {
		log_warn("worker %d: pipe", w->idx);
		return (-1);
	}
	if (pool_pipe(replies) == -1) {
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
	w->ev = event_new(w->pool->base, w->replyfd, EV_READ | EV_PERSIST,
	    pool_read_cb, w);
	w->wev = event_new(w->pool->base, w->jobfd, EV_WRITE, pool_write_cb,
	    w);
	if (w->in == NULL || w->out == NULL || w->ev == NULL ||
	    w->wev == NULL)
		fatalx("worker %d: out of memory", w->idx);
	event_add(w->ev, NULL);
	return (0);
}

static int
pool_exec(struct worker *w, int child[2])
{
	struct pool_opts		*o = &w->pool->opts;
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 all, none;
	char				 mem[32], cpu[32];
	char				*argv[] = { "aiojobsd", "--worker",
	    "--job-fd", POOL_CHILD_JOB_FDS, "--reply-fd", POOL_CHILD_REPLY_FDS,
	    "--plugin-dir", (char *)o->plugin_dir,
	    "--memory-limit", mem, "--cpu-limit", cpu,
	    o->user != NULL ? "--user" : NULL, (char *)o->user, NULL };
	extern char			**environ;
	char				**envp;
	int				 r;

	snprintf(mem, sizeof mem, "%lld", (long long)o->memory_limit);
	snprintf(cpu, sizeof cpu, "%lld", (long long)o->cpu_limit);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, child[0], POOL_CHILD_JOB_FD);
	posix_spawn_file_actions_adddup2(&fa, child[1], POOL_CHILD_REPLY_FD);
	posix_spawn_file_actions_addclosefrom_np(&fa, POOL_CHILD_REPLY_FD + 1);
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	/* its own group: a terminal's ^C is for the daemon, not the pool */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	/* without NOTIFY_SOCKET: a plugin must not speak to systemd for us */
	envp = child_env(environ);
	r = posix_spawn(&w->pid, o->exe, &fa, &attr, argv, envp);
	free(envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return (r);
}

static void
pool_spawn(struct worker *w)
{
	int	 child[2], r;

	if (pool_connect(w, child) != 0) {
		w->pool->fails++;
		pool_schedule_respawn(w->pool);
		return;
	}
	r = pool_exec(w, child);
	close(child[0]);
	close(child[1]);
	if (r != 0) {
		log_warnx("worker %d: cannot run %s: %s", w->idx,
		    w->pool->opts.exe, strerror(r));
		pool_worker_close(w);
		w->pool->fails++;
		pool_schedule_respawn(w->pool);
		return;
	}
	w->state = WORKER_STARTING;
	w->took = POOL_HOLD_US;		/* nothing known: no holding yet */
	proc_watch(w->pid, pool_exit_cb, w);
}

/* A new worker in slot idx, spawned now. */
static void
pool_worker_add(struct pool *p, int idx)
{
	struct worker	*w;

	w = xcalloc(1, sizeof *w);
	w->pool = p;
	w->idx = idx;
	w->jobfd = -1;
	w->replyfd = -1;
	w->pid = -1;
	p->workers[idx] = w;
	pool_spawn(w);
}

/* Forget a worker whose process is gone (or never was). */
static void
pool_worker_free(struct worker *w)
{
	struct pool	*p = w->pool;

	pool_worker_close(w);
	p->workers[w->idx] = NULL;
	while (p->nslots > p->opts.workers && p->workers[p->nslots - 1] == NULL)
		p->nslots--;
	free(w);
}

struct pool *
pool_create(struct event_base *base, struct sched *s,
    const struct pool_opts *opts)
{
	struct pool	*p;

	p = xcalloc(1, sizeof *p);
	p->base = base;
	p->sched = s;
	p->opts = *opts;
	p->opts.workers = 0;
	p->respawn_timer = evtimer_new(base, pool_respawn_cb, p);
	p->flush_ev = event_new(base, -1, 0, pool_flush_cb, p);
	pool_resize(p, opts->workers);
	return (p);
}

/* Retire a worker beyond the target: at once unless it runs a job. */
static void
pool_retire(struct worker *w)
{
	switch (w->state) {
	case WORKER_DOWN:
		pool_worker_free(w);
		break;
	case WORKER_IDLE:
		w->pool->nidle--;
		/* FALLTHROUGH */
	case WORKER_STARTING:
		w->state = WORKER_RETIRING;
		pool_kill(w);		/* reaped: pool_exit_cb frees it */
		break;
	case WORKER_BUSY:		/* pool_reply retires it */
	case WORKER_RETIRING:
		break;
	}
}

/*
 * Change the number of workers. New ones start now; surplus ones stop
 * when idle, or after the job they run, never killing a job.
 */
void
pool_resize(struct pool *p, int n)
{
	int	 i, old = p->opts.workers;

	if (n > p->nslots) {
		p->workers = xreallocarray(p->workers, (size_t)n,
		    sizeof *p->workers);
		for (i = p->nslots; i < n; i++)
			p->workers[i] = NULL;
		p->nslots = n;
	}
	p->opts.workers = n;
	for (i = 0; i < n; i++) {
		if (p->workers[i] == NULL)
			pool_worker_add(p, i);
	}
	for (i = n; i < p->nslots; i++) {
		if (p->workers[i] != NULL)
			pool_retire(p->workers[i]);
	}
	if (old != 0 || n != 0)
		log_debug("pool: %d workers (was %d)", n, old);
}

/* Stop every worker and wait for it: the loop is over, blocking is fine. */
void
pool_free(struct pool *p)
{
	struct worker	*w;
	int		 i, status;

	if (p == NULL)
		return;
	p->stopping = 1;
	for (i = 0; i < p->nslots; i++) {
		if ((w = p->workers[i]) == NULL)
			continue;
		pool_worker_close(w);	/* its socket's EOF stops an idle one */
		if (w->pid > 0) {
			kill(w->pid, SIGKILL);
			proc_forget(w->pid);
			while (waitpid(w->pid, &status, 0) == -1 &&
			    errno == EINTR)
				;
		}
		free(w);
	}
	event_free(p->respawn_timer);
	event_free(p->flush_ev);
	free(p->workers);
	free(p);
}

int
pool_total(struct pool *p)
{
	return (p == NULL ? 0 : p->opts.workers);
}

int
pool_busy(struct pool *p)
{
	return (p == NULL ? 0 : p->nbusy);
}

int
pool_has_idle(struct pool *p)
{
	return (p != NULL && p->nidle > 0);
}

/*
 * The worker to hold one more job, or NULL: only when all are busy (one
 * that is starting will soon be idle), one that runs short jobs (unless
 * any is set), with room, the one holding fewest.
 */
static struct worker *
pool_roomiest(struct pool *p, int any)
{
	struct worker	*w, *best = NULL;
	uint64_t	 now;
	int		 i;

	if (p->nbusy < p->opts.workers)
		return (NULL);
	now = pool_now_us();
	for (i = 0; i < p->opts.workers; i++) {
		w = p->workers[i];
		if (w->state != WORKER_BUSY || w->killed ||
		    w->njobs >= POOL_DEPTH)
			continue;
		if (!any && (w->took >= POOL_HOLD_US ||
		    now - w->began >= POOL_LONG_US))
			continue;
		if (best == NULL || w->njobs < best->njobs)
			best = w;
	}
	return (best);
}

int
pool_has_room(struct pool *p)
{
	return (p != NULL && pool_roomiest(p, 0) != NULL);
}

/*
 * Send a job's args to a worker: written once the turn's pump is done,
 * with whatever else the worker gets in this turn.
 */
static void
pool_send(struct worker *w, const char *args)
{
	struct pool_wire_hdr	 h;

	h.len = (uint32_t)strlen(args);
	h.us = 0;
	if (evbuffer_add(w->out, &h, sizeof h) != 0 ||
	    evbuffer_add(w->out, args, h.len) != 0)
		fatalx("worker %d: out of memory", w->idx);
	if (!w->unflushed) {
		w->unflushed = 1;
		event_active(w->pool->flush_ev, EV_TIMEOUT, 1);
	}
}

/* Give a job to an idle worker (the scheduler checked there is one). */
void
pool_run(struct pool *p, struct job *job)
{
	struct worker	*w = NULL;
	int		 i;

	for (i = 0; i < p->opts.workers && w == NULL; i++) {
		if (p->workers[i]->state == WORKER_IDLE)
			w = p->workers[i];
	}
	if (w == NULL) {
		job_finish(job, JOB_FAILED, NULL, "worker_crashed",
		    "no worker is ready");
		return;
	}
	w->state = WORKER_BUSY;
	p->nidle--;
	p->nbusy++;
	w->jobs[0] = job;
	w->njobs = 1;
	w->began = pool_now_us();
	job->kdata = w;
	pool_send(w, job->args);
}

/*
 * A job about to start when no worker is idle: a busy worker holds it,
 * to run after what it has (kind->hold). 0 when a worker is idle.
 */
int
pool_hold(struct job *job)
{
	struct pool	*p = job->queue->sched->pool;
	struct worker	*w;

	if (p->nidle > 0)
		return (0);
	/*
	 * can_start said a worker has room just now; if the clock moved
	 * past a bound since, take it all the same rather than start the
	 * job with no idle worker.
	 */
	if ((w = pool_roomiest(p, 0)) == NULL &&
	    (w = pool_roomiest(p, 1)) == NULL)
		return (0);
	w->jobs[w->njobs++] = job;
	job->kdata = w;
	pool_send(w, job->args);
	return (1);
}

/* A held job was cancelled or failed: it is not to run any more. */
void
pool_drop(struct job *job)
{
	struct worker	*w = job->kdata;
	int		 i;

	for (i = 1; i < w->njobs; i++) {
		if (w->jobs[i] == job)
			w->jobs[i] = NULL;	/* its worker stops at it */
	}
	job->kdata = NULL;
}

/* Cancel or timeout: kill the worker; its reaping ends the job. */
void
pool_cancel(struct job *job)
{
	struct worker	*w = job->kdata;

	if (w != NULL)
		pool_kill(w);
}
