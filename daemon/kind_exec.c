/*
 * The exec kind: a child process awaited on the event loop, like
 * asyncio.create_subprocess_exec. The start does not wait for the exec
 * either: spawn.c's error pipe is one more thing the loop watches, and
 * says whether the child exec'd or why not (the job then fails with
 * that). The job ends only when the child has exited, its start is
 * known, both output pipes reached EOF and no process of its tree
 * (tree.c: its cgroup, or its process group) is left, in any order;
 * processes left behind, holding the pipes or not, get the kill grace
 * period, then the whole tree is killed and the pipes closed.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "aiojobsd.h"
#include "exec_args.h"
#include "log.h"
#include "outbuf.h"
#include "runas.h"
#include "spawn.h"
#include "tree.h"
#include "users.h"
#include "xmalloc.h"

#define EXEC_READ_CHUNK		65536
#define EXEC_READS_PER_WAKEUP	16

extern char **environ;

struct exec_stream {
	int		 fd;
	struct event	*ev;
	struct outbuf	 out;
};

struct exec_state {
	struct job		*job;
	pid_t			 pid;
	int			 exited;
	int			 status;
	int			 killed;	/* SIGKILL sent to the tree */
	struct tree		*tree;
	struct exec_stream	 streams[2];	/* stdout, stderr */
	int			 in_fd;
	struct event		*in_ev;
	char			*in_data;
	size_t			 in_len;
	size_t			 in_off;
	struct event		*kill_timer;
	/*
	 * The start: spawn.c's error pipe until the child has exec'd or
	 * said why it could not, and the job's args until then, which that
	 * message names; the job fails with it.
	 */
	int			 start_fd;
	struct event		*start_ev;
	struct exec_args	 args;
	char			*start_error;
};

static void	exec_check_done(struct exec_state *);
static void	exec_kill_after(struct exec_state *, int64_t);
static int	exec_started(struct exec_state *);
static void	exec_watch(struct exec_state *, struct event_base *);

static int
exec_validate(const char *args, struct msg_error *err)
{
	struct exec_args	 ea;

	if (exec_args_parse(args, &ea, err) != 0)
		return (-1);
	exec_args_free(&ea);
	return (0);
}

static void
exec_stream_close(struct exec_stream *es)
{
	if (es->ev != NULL) {
		event_free(es->ev);
		es->ev = NULL;
	}
	if (es->fd != -1) {
		close(es->fd);
		es->fd = -1;
	}
}

static void
exec_stdin_close(struct exec_state *st)
{
	if (st->in_ev != NULL) {
		event_free(st->in_ev);
		st->in_ev = NULL;
	}
	if (st->in_fd != -1) {
		close(st->in_fd);
		st->in_fd = -1;
	}
	free(st->in_data);
	st->in_data = NULL;
}

static char *
exec_result(struct exec_state *st)
{
	static const char *names[2] = { "stdout", "stderr" };
	struct msg_out	*o;
	char		 key[32];
	int		 i;

	o = msg_out_new();
	if (WIFEXITED(st->status))
		msg_out_int(o, "exit_code", WEXITSTATUS(st->status));
	else
		msg_out_null(o, "exit_code");
	if (WIFSIGNALED(st->status))
		msg_out_int(o, "signal", WTERMSIG(st->status));
	else
		msg_out_null(o, "signal");
	for (i = 0; i < 2; i++) {
		struct outbuf	*ob = &st->streams[i].out;

		msg_out_output(o, names[i], ob->buf, ob->len);
		snprintf(key, sizeof key, "%s_bytes", names[i]);
		msg_out_int(o, key, (int64_t)ob->total);
		snprintf(key, sizeof key, "%s_truncated", names[i]);
		msg_out_bool(o, key, outbuf_truncated(ob));
	}
	return (msg_out_finish(o, 0));
}

/* Stop watching the start: it is known, or no longer of interest. */
static void
exec_start_close(struct exec_state *st)
{
	if (st->start_ev != NULL) {
		event_free(st->start_ev);
		st->start_ev = NULL;
	}
	if (st->start_fd != -1) {
		close(st->start_fd);
		st->start_fd = -1;
	}
	exec_args_free(&st->args);
}

/* Release everything the job held; its child is reaped, or never was. */
static void
exec_free(struct exec_state *st)
{
	exec_stream_close(&st->streams[0]);
	exec_stream_close(&st->streams[1]);
	outbuf_free(&st->streams[0].out);
	outbuf_free(&st->streams[1].out);
	exec_stdin_close(st);
	exec_start_close(st);
	free(st->start_error);
	if (st->kill_timer != NULL)
		event_free(st->kill_timer);
	tree_free(st->tree);
	st->job->kdata = NULL;
	free(st);
}

/*
 * Release everything and finish the job: by why its child could not
 * exec, or by its exit status.
 */
static void
exec_end(struct exec_state *st)
{
	struct job	*job = st->job;
	char		*result, *error = st->start_error;
	int		 status = st->status;

	st->start_error = NULL;
	result = error == NULL ? exec_result(st) : NULL;
	exec_free(st);
	persist_set_tree(job, NULL);	/* it is gone: nothing to find */
	if (error != NULL)
		sched_finish(job, JOB_FAILED, NULL, "spawn_failed", "%s",
		    error);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		sched_finish(job, JOB_SUCCEEDED, result, NULL, NULL);
	else if (WIFEXITED(status))
		sched_finish(job, JOB_FAILED, result, "exit_status",
		    "exited with status %d", WEXITSTATUS(status));
	else
		sched_finish(job, JOB_FAILED, result, "exit_status",
		    "killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	free(result);
	free(error);
}

/*
 * The child has exited, its start is known and its pipes are closed: the
 * job ends once its tree is empty too; what it left behind gets the kill
 * grace.
 */
static void
exec_check_done(struct exec_state *st)
{
	if (!st->exited || st->start_fd != -1 ||
	    st->streams[0].fd != -1 || st->streams[1].fd != -1)
		return;
	if (!tree_populated(st->tree))
		exec_end(st);
	else if (!st->killed && !evtimer_pending(st->kill_timer, NULL))
		exec_kill_after(st, st->job->queue->sched->kill_grace_ms);
}

/* The tree has emptied (its cgroup said so). */
static void
exec_empty_cb(void *arg)
{
	exec_check_done(arg);
}

static void
exec_kill_after(struct exec_state *st, int64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(st->kill_timer, &tv);
}

/*
 * The tree is killed; once the child is gone its pipes are not worth
 * waiting for, only the tree's end.
 */
static void
exec_kill(struct exec_state *st)
{
	if (!st->killed)
		tree_kill(st->tree);
	st->killed = 1;
	if (st->exited) {
		exec_stream_close(&st->streams[0]);
		exec_stream_close(&st->streams[1]);
		exec_check_done(st);
	}
}

static void
exec_kill_cb(int fd, short events, void *arg)
{
	struct exec_state	*st = arg;

	log_info("job %lld: processes of child %ld still there after %lld "
	    "ms, killing them", (long long)st->job->id, (long)st->pid,
	    (long long)st->job->queue->sched->kill_grace_ms);
	exec_kill(st);
}

/*
 * The child exited. It may be before the loop has read its start: then
 * it has said all it will, and that is read first.
 */
static void
exec_exit_cb(pid_t pid, int status, void *arg)
{
	struct exec_state	*st = arg;

	if (st->start_fd != -1)
		(void)exec_started(st);
	st->exited = 1;
	st->status = status;
	if (st->killed) {
		exec_kill(st);	/* may end the job and free st */
		return;
	}
	if ((st->streams[0].fd != -1 || st->streams[1].fd != -1) &&
	    !evtimer_pending(st->kill_timer, NULL))
		exec_kill_after(st, st->job->queue->sched->kill_grace_ms);
	exec_check_done(st);
}

static void
exec_read_cb(int fd, short events, void *arg)
{
	struct exec_state	*st = arg;
	struct exec_stream	*es;
	char			 buf[EXEC_READ_CHUNK];
	ssize_t			 n;
	int			 i;

	es = st->streams[0].fd == fd ? &st->streams[0] : &st->streams[1];
	for (i = 0; i < EXEC_READS_PER_WAKEUP; i++) {
		n = read(fd, buf, sizeof buf);
		if (n > 0) {
			outbuf_add(&es->out, buf, (size_t)n);
			job_output_grew(st->job);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		exec_stream_close(es);	/* EOF, or an error: as EOF */
		exec_check_done(st);
		return;
	}
}

static void
exec_write_cb(int fd, short events, void *arg)
{
	struct exec_state	*st = arg;
	ssize_t			 n;

	while (st->in_off < st->in_len) {
		n = write(fd, st->in_data + st->in_off, st->in_len - st->in_off);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1)
			break;	/* EPIPE: the child does not read stdin */
		st->in_off += (size_t)n;
	}
	exec_stdin_close(st);
}

static void
exec_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Pipes: ours end non-blocking and close-on-exec, the child's dup2'd. */
static int
exec_pipes(struct exec_state *st, struct exec_args *ea, int child[3])
{
	int	 p[2], i;

	child[0] = child[1] = child[2] = -1;
	for (i = 0; i < 2; i++) {
		if (pipe2(p, O_CLOEXEC) == -1)
			return (-1);
		st->streams[i].fd = p[0];
		exec_nonblock(p[0]);
		child[i + 1] = p[1];
	}
	if (ea->has_stdin) {
		if (pipe2(p, O_CLOEXEC) == -1)
			return (-1);
		st->in_fd = p[1];
		exec_nonblock(p[1]);
		child[0] = p[0];
	}
	return (0);
}

/*
 * Start the program as ra says, leading its own process group (the tree
 * without a cgroup is that group), without waiting for its exec; 0, or
 * an errno.
 */
static int
exec_spawn_run(struct exec_state *st, const struct runas *ra,
    const char *path, int child[3])
{
	struct exec_args	*ea = &st->args;
	struct spawn		 sp;
	char			**envp;
	int			 r;

	envp = exec_args_envp(ea, environ, ra->user != NULL ?
	    (char **)ra->env : NULL);
	spawn_init(&sp, path, ea->argv, envp);
	memcpy(sp.fds, child, 3 * sizeof child[0]);
	sp.cwd = ea->cwd;
	sp.home = ra->home;
	sp.cgroup_fd = tree_cgroup_fd(st->tree);
	sp.user = ra->user;
	sp.new_pgrp = 1;
	sp.deathsig = SIGKILL;
	r = spawn_start(&sp, &st->pid, &st->start_fd);
	free(envp);
	return (r);
}

/*
 * Why the child did not start, for the job's error. Only a job that
 * runs as its owner (runas.c) changes user.
 */
static char *
exec_spawn_cause(struct exec_state *st, int step, int error)
{
	struct exec_args	*ea = &st->args;
	char			*cause;

	if (step == SPAWN_STEP_USER)
		xasprintf(&cause, "cannot become user %s to run '%s': %s",
		    users_name(job_owner(st->job)), ea->argv[0],
		    strerror(error));
	else if (step == SPAWN_STEP_CAPS)
		xasprintf(&cause, "cannot drop the daemon's capabilities to "
		    "run '%s': %s", ea->argv[0], strerror(error));
	else if (ea->cwd != NULL)
		xasprintf(&cause, "cannot run '%s' in '%s': %s", ea->argv[0],
		    ea->cwd, strerror(error));
	else
		xasprintf(&cause, "cannot run '%s': %s", ea->argv[0],
		    strerror(error));
	return (cause);
}

/*
 * What came of the start, once spawn.c's pipe is readable or the child
 * has exited: -1 while nothing yet; else 0, the pipe is closed, and a
 * failure is what the job will fail with.
 */
static int
exec_started(struct exec_state *st)
{
	int	 r, step = SPAWN_STEP_EXEC;

	if ((r = spawn_result(st->start_fd, &step)) == -1)
		return (-1);
	if (r != 0)
		st->start_error = exec_spawn_cause(st, step, r);
	exec_start_close(st);
	return (0);
}

static void
exec_started_cb(int fd, short events, void *arg)
{
	struct exec_state	*st = arg;

	if (exec_started(st) == 0)
		exec_check_done(st);
}

/*
 * Start the child in its tree (born in the job's cgroup, if it has one),
 * as its owner (runas.c), with a death signal: a crashed daemon leaves
 * no child behind. Returns 0 once the child exists, or -1 and why not;
 * what fails after the clone comes through the start's pipe.
 */
static int
exec_spawn(struct exec_state *st, char **cause)
{
	struct exec_args	*ea = &st->args;
	struct runas		 ra;
	const char		*path;
	int			 child[3], i, r;

	if (runas_get(&ra, job_owner(st->job), cause) != 0)
		return (-1);
	child[0] = child[1] = child[2] = -1;
	if ((path = exec_path_find(ea->argv[0], now_ms())) == NULL)
		r = ENOENT;
	else if (exec_pipes(st, ea, child) == -1)
		r = errno;
	else
		r = exec_spawn_run(st, &ra, path, child);
	for (i = 0; i < 3; i++) {
		if (child[i] != -1)
			close(child[i]);
	}
	if (r != 0)
		*cause = exec_spawn_cause(st, SPAWN_STEP_EXEC, r);
	runas_free(&ra);
	return (r != 0 ? -1 : 0);
}

/* The child could not be started at all (no clone): fail the job. */
static void
exec_spawn_failed(struct exec_state *st, char *cause)
{
	struct job	*job = st->job;

	exec_free(st);
	sched_finish(job, JOB_FAILED, NULL, "spawn_failed", "%s", cause);
	free(cause);
}

static void
exec_start(struct job *job)
{
	struct event_base	*base = job_base(job);
	struct exec_state	*st;
	struct exec_args	 ea;
	char			*cause = NULL;

	/* checked at submit; a stored job may come from another version */
	if (exec_args_parse(job->args, &ea, NULL) != 0) {
		sched_finish(job, JOB_FAILED, NULL, MSG_E_BAD_REQUEST,
		    "the job's stored args do not parse");
		return;
	}
	st = xcalloc(1, sizeof *st);
	st->job = job;
	st->args = ea;		/* st's from here */
	st->in_fd = st->streams[0].fd = st->streams[1].fd = -1;
	st->start_fd = -1;
	st->kill_timer = evtimer_new(base, exec_kill_cb, st);
	st->tree = tree_create(job->queue->sched->trees, job->id,
	    job->attempts, job_owner(job));
	job->kdata = st;
	if (exec_spawn(st, &cause) != 0) {
		exec_spawn_failed(st, cause);
		return;
	}
	log_debug("job %lld: pid %ld: %s", (long long)job->id, (long)st->pid,
	    st->args.argv[0]);
	exec_watch(st, base);
	proc_watch(st->pid, exec_exit_cb, st);
}

/*
 * The child exists: record its tree for a restart after a crash, and
 * watch its start, the tree, the output pipes and stdin.
 */
static void
exec_watch(struct exec_state *st, struct event_base *base)
{
	struct exec_args	*ea = &st->args;
	int			 i;

	tree_started(st->tree, st->pid);
	persist_set_tree(st->job, tree_where(st->tree));
	tree_watch(st->tree, base, exec_empty_cb, st);
	st->start_ev = event_new(base, st->start_fd, EV_READ | EV_PERSIST,
	    exec_started_cb, st);
	event_add(st->start_ev, NULL);
	for (i = 0; i < 2; i++) {
		outbuf_init(&st->streams[i].out, (size_t)ea->max_output);
		st->streams[i].ev = event_new(base, st->streams[i].fd,
		    EV_READ | EV_PERSIST, exec_read_cb, st);
		event_add(st->streams[i].ev, NULL);
	}
	if (st->in_fd != -1) {
		st->in_data = ea->stdin_data;
		st->in_len = ea->stdin_len;
		ea->stdin_data = NULL;
		st->in_ev = event_new(base, st->in_fd, EV_WRITE | EV_PERSIST,
		    exec_write_cb, st);
		event_add(st->in_ev, NULL);
	}
}

/* Cancel and timeout: SIGTERM to the tree, SIGKILL after the grace. */
static void
exec_cancel(struct job *job)
{
	struct exec_state	*st = job->kdata;

	if (st->exited) {
		exec_kill(st);
		return;
	}
	tree_signal(st->tree, SIGTERM);
	evtimer_del(st->kill_timer);
	exec_kill_after(st, job->queue->sched->kill_grace_ms);
}

/* What a running job has captured of a stream so far (op output). */
static const struct outbuf *
exec_output(struct job *job, const char *stream)
{
	struct exec_state	*st = job->kdata;

	if (st == NULL)
		return (NULL);
	if (strcmp(stream, "stdout") == 0)
		return (&st->streams[0].out);
	if (strcmp(stream, "stderr") == 0)
		return (&st->streams[1].out);
	return (NULL);
}

const struct kind kind_exec = {
	.name = "exec",
	.validate = exec_validate,
	.start = exec_start,
	.cancel = exec_cancel,
	.streams = { "stdout", "stderr", NULL },
	.output = exec_output,
};
