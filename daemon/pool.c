/*
 * The worker pool (ProcessPoolExecutor): N worker processes, each spawned
 * by fork+exec of `aiojobsd --worker` in its own process group and talking
 * over its own socketpair (poolwire.h), read and written from the loop
 * without blocking: no thread hand-off between the loop and a worker, so
 * a job costs a write and a read on each side. The pool knows which
 * worker runs which job: a crash fails exactly that job, cancel and timeout
 * kill exactly that worker, and every dead worker is replaced (with a
 * back-off when workers keep dying before they are ready). SIGHUP may
 * change the number of workers: surplus ones finish their job first.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define POOL_BACKOFF_MIN_MS	100
#define POOL_BACKOFF_MAX_MS	30000

struct worker {
	struct pool	*pool;
	int		 idx;
	unsigned int	 gen;
	int		 state;
	pid_t		 pid;
	int		 fd;		/* our end; its EOF stops the worker */
	struct event	*ev;		/* readable */
	struct event	*wev;		/* writable, while out is not empty */
	struct evbuffer	*in;
	struct evbuffer	*out;
	struct job	*job;
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
	int			 stopping;
};

static void	pool_spawn(struct worker *);
static void	pool_worker_free(struct worker *);

/* Close a worker's socket and events; the process is gone or going. */
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
	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
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

/* A worker process ended: fail its job, if any, and replace it. */
static void
pool_exit_cb(pid_t pid, int status, void *arg)
{
	struct worker	*w = arg;
	struct pool	*p = w->pool;
	struct job	*job = w->job;
	char		 how[96];

	pool_describe(status, how, sizeof how);
	if (w->state == WORKER_STARTING)
		p->fails++;
	else if (w->state == WORKER_IDLE)
		p->nidle--;
	else if (w->state == WORKER_BUSY)
		p->nbusy--;
	if (job == NULL && !p->stopping && w->state != WORKER_RETIRING)
		log_warnx("worker %d (pid %ld) %s", w->idx, (long)pid, how);
	pool_worker_close(w);
	w->state = WORKER_DOWN;
	w->pid = -1;
	w->job = NULL;
	if (w->idx < p->opts.workers)
		pool_schedule_respawn(p);
	if (job != NULL) {
		job->kdata = NULL;
		job_finish(job, JOB_FAILED, NULL, "worker_crashed",
		    "worker %d (pid %ld) %s", w->idx, (long)pid, how);
	}
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
 * A reply: "O<output JSON>" or "E<code> <message>"; in lower case when
 * the worker retires after it (too much memory left in use).
 */
static void
pool_reply(struct worker *w, const char *buf, size_t len)
{
	struct job	*job = w->job;
	char		*text, *msg;

	w->job = NULL;
	w->pool->nbusy--;
	if (w->idx >= w->pool->opts.workers) {
		w->state = WORKER_RETIRING;
		kill(w->pid, SIGKILL);
	} else if (buf[0] == 'o' || buf[0] == 'e') {
		w->state = WORKER_RETIRING;
		log_info("worker %d (pid %ld) holds too much memory; replacing "
		    "it", w->idx, (long)w->pid);
		kill(w->pid, SIGKILL);
	} else
		pool_idle(w);
	job->kdata = NULL;
	text = xstrndup(buf + 1, len - 1);
	if (buf[0] == 'O' || buf[0] == 'o')
		job_finish(job, JOB_SUCCEEDED, text, NULL, NULL);
	else {
		if ((msg = strchr(text, ' ')) != NULL)
			*msg++ = '\0';
		job_finish(job, JOB_FAILED, NULL, text, "%s",
		    msg != NULL ? msg : text);
	}
	free(text);
}

/* One message from a worker. */
static void
pool_message(struct worker *w, const char *buf, size_t len)
{
	if (len > 0 && buf[0] == 'H' && w->state == WORKER_STARTING) {
		w->pool->fails = 0;
		log_debug("worker %d (pid %ld) ready", w->idx, (long)w->pid);
		pool_idle(w);
	} else if (len > 0 && strchr("OEoe", buf[0]) != NULL &&
	    w->state == WORKER_BUSY && w->job != NULL)
		pool_reply(w, buf, len);
	else
		log_warnx("worker %d: unexpected message", w->idx);
}

/*
 * Read what the worker wrote and handle every whole message in it. At EOF
 * or an error stop watching: the worker's reaping ends its job.
 */
static void
pool_read_cb(int fd, short events, void *arg)
{
	struct worker	*w = arg;
	uint32_t	 len;
	size_t		 have;
	int		 n;

	while ((n = evbuffer_read(w->in, w->fd, -1)) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR))
		event_del(w->ev);
	/* a reply may retire (close) the worker: check in every turn */
	while (w->in != NULL &&
	    (have = evbuffer_get_length(w->in)) >= POOL_WIRE_HDR) {
		evbuffer_copyout(w->in, &len, sizeof len);
		if (len > POOL_WIRE_MAX) {
			log_warnx("worker %d: broken stream", w->idx);
			event_del(w->ev);
			evbuffer_drain(w->in, have);
			kill(w->pid, SIGKILL);
			break;
		}
		if (have - POOL_WIRE_HDR < len)
			break;
		evbuffer_drain(w->in, POOL_WIRE_HDR);
		pool_message(w, (char *)evbuffer_pullup(w->in, len), len);
		if (w->in != NULL)
			evbuffer_drain(w->in, len);
	}
}

/* Write what is waiting for the worker; the rest when it can take more. */
static void
pool_flush(struct worker *w)
{
	int	 n;

	while (evbuffer_get_length(w->out) > 0 &&
	    (n = evbuffer_write(w->out, w->fd)) > 0)
		;
	if (evbuffer_get_length(w->out) == 0)
		return;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		event_add(w->wev, NULL);
	else {
		log_warnx("worker %d: send: %s", w->idx, strerror(errno));
		evbuffer_drain(w->out, evbuffer_get_length(w->out));
		kill(w->pid, SIGKILL);	/* fails its job when reaped */
	}
}

static void
pool_write_cb(int fd, short events, void *arg)
{
	pool_flush(arg);
}

/* The socketpair to a new worker: our end watched, *childfd its end. */
static int
pool_connect(struct worker *w, int *childfd)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("worker %d: socketpair", w->idx);
		return (-1);
	}
	/* only our end: the worker reads and writes blocking */
	if (fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) == -1) {
		log_warn("worker %d: fcntl", w->idx);
		close(sv[0]);
		close(sv[1]);
		return (-1);
	}
	w->fd = sv[0];
	*childfd = sv[1];
	w->in = evbuffer_new();
	w->out = evbuffer_new();
	w->ev = event_new(w->pool->base, w->fd, EV_READ | EV_PERSIST,
	    pool_read_cb, w);
	w->wev = event_new(w->pool->base, w->fd, EV_WRITE, pool_write_cb, w);
	if (w->in == NULL || w->out == NULL || w->ev == NULL ||
	    w->wev == NULL)
		fatalx("worker %d: out of memory", w->idx);
	event_add(w->ev, NULL);
	return (0);
}

static int
pool_exec(struct worker *w, int childfd)
{
	struct pool_opts		*o = &w->pool->opts;
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 all, none;
	char				 mem[32], cpu[32];
	char				*argv[] = { "aiojobsd", "--worker",
	    "--parent-fd", "3", "--plugin-dir", (char *)o->plugin_dir,
	    "--memory-limit", mem, "--cpu-limit", cpu, NULL };
	extern char			**environ;
	char				**envp;
	int				 r;

	snprintf(mem, sizeof mem, "%lld", (long long)o->memory_limit);
	snprintf(cpu, sizeof cpu, "%lld", (long long)o->cpu_limit);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, childfd, 3);
	posix_spawn_file_actions_addclosefrom_np(&fa, 4);
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
	envp = notify_environ(environ);
	r = posix_spawn(&w->pid, o->exe, &fa, &attr, argv, envp);
	free(envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return (r);
}

static void
pool_spawn(struct worker *w)
{
	int	 childfd, r;

	if (pool_connect(w, &childfd) != 0) {
		w->pool->fails++;
		pool_schedule_respawn(w->pool);
		return;
	}
	r = pool_exec(w, childfd);
	close(childfd);
	if (r != 0) {
		log_warnx("worker %d: cannot run %s: %s", w->idx,
		    w->pool->opts.exe, strerror(r));
		pool_worker_close(w);
		w->pool->fails++;
		pool_schedule_respawn(w->pool);
		return;
	}
	w->state = WORKER_STARTING;
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
	w->fd = -1;
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
		kill(w->pid, SIGKILL);	/* reaped: pool_exit_cb frees it */
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
		pool_worker_close(w);	/* the pipe's EOF stops an idle one */
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

/* Send a job's args to a worker. */
static void
pool_send(struct worker *w, const char *args)
{
	uint32_t	 len = (uint32_t)strlen(args);

	evbuffer_add(w->out, &len, sizeof len);
	evbuffer_add(w->out, args, len);
	pool_flush(w);
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
	w->job = job;
	job->kdata = w;
	pool_send(w, job->args);
}

/* Cancel or timeout: kill the worker; its reaping ends the job. */
void
pool_cancel(struct job *job)
{
	struct worker	*w = job->kdata;

	if (w != NULL && w->pid > 0 && kill(w->pid, SIGKILL) == -1)
		log_warn("worker %d: kill %ld", w->idx, (long)w->pid);
}
