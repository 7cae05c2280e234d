/*
 * The server: the event loop, signals, the listener that turns job state
 * changes into events and wait wake-ups, and graceful shutdown.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "aiojobsd.h"
#include "endpoint.h"
#include "http.h"
#include "log.h"
#include "tree.h"
#include "xmalloc.h"

/* How long the loop keeps running after the last replies are sent. */
#define SERVER_DRAIN_MS		200
#define SERVER_PRIORITIES	3
#define SERVER_PRIO_LOW		2

static void	server_stop(struct aiojobsd *);

/* Every job state change: publish it; wake held waits when it matters. */
static void
server_job_changed(struct job *job, int old, void *arg)
{
	struct aiojobsd	*aj = arg;

	events_publish(aj->events, job);
	metrics_job_changed(aj->metrics, job, old);
	if (job_state_final(job->state))
		wait_job_final(job);
	if (old == JOB_RUNNING || job_state_final(job->state))
		event_active(aj->waiters_ev, EV_TIMEOUT, 1);
}

/* A running job wrote output: held output requests may be answered. */
static void
server_job_output(struct job *job, void *arg)
{
	struct aiojobsd	*aj = arg;

	if (wait_job_output(job))
		event_active(aj->waiters_ev, EV_TIMEOUT, 1);
}

/* Once per loop iteration with finished jobs: answer waits, maybe stop. */
static void
server_waiters_cb(int fd, short events, void *arg)
{
	struct aiojobsd	*aj = arg;

	wait_check_all(aj);
	if (aj->shutting_down && !aj->stopping &&
	    aj->sched->counts[JOB_RUNNING] == 0)
		server_stop(aj);
}

static void
server_stop_cb(int fd, short events, void *arg)
{
	struct aiojobsd	*aj = arg;

	event_base_loopbreak(aj->base);
}

/*
 * Nothing runs any more: answer what is held, then keep serving for a
 * short drain so the last replies leave before the sockets close.
 */
static void
server_stop(struct aiojobsd *aj)
{
	struct timeval	 tv = { 0, SERVER_DRAIN_MS * 1000 };
	struct control	*c;

	aj->stopping = 1;
	log_info("all jobs stopped; %lld queued jobs stay queued",
	    (long long)aj->sched->counts[JOB_QUEUED]);
	durable_commit(aj);
	TAILQ_FOREACH(c, &aj->controls, entry)
		control_reply_held(c);
	evtimer_add(aj->stop_ev, &tv);
}

/* The shutdown timeout passed: cancel what still runs, except shields. */
static void
server_shutdown_timer_cb(int fd, short events, void *arg)
{
	struct aiojobsd	*aj = arg;
	int		 left;

	left = sched_cancel_running(aj->sched, 1, "cancelled by shutdown");
	if (left > 0)
		log_info("waiting for %d shielded or stopping jobs", left);
	event_active(aj->waiters_ev, EV_TIMEOUT, 1);
}

/*
 * Stop gracefully: refuse submissions, let running jobs finish for up to
 * timeout_ms, then cancel the rest (server_shutdown_timer_cb).
 */
void
server_shutdown(struct aiojobsd *aj, int64_t timeout_ms)
{
	struct timeval	 tv;

	if (aj->shutting_down)
		return;
	aj->shutting_down = 1;
	sched_drain(aj->sched);
	log_info("shutting down: %lld running jobs get %lld ms to finish",
	    (long long)aj->sched->counts[JOB_RUNNING], (long long)timeout_ms);
	notify_stopping(aj);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	aj->shutdown_timer = evtimer_new(aj->base, server_shutdown_timer_cb,
	    aj);
	evtimer_add(aj->shutdown_timer, &tv);
	event_active(aj->waiters_ev, EV_TIMEOUT, 1);
}

static void
server_signal_cb(int sig, short events, void *arg)
{
	struct aiojobsd	*aj = arg;
	char		*cause = NULL;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("%s received", strsignal(sig));
		server_shutdown(aj, aj->conf.shutdown_timeout_ms);
		break;
	case SIGCHLD:
		proc_reap();
		break;
	case SIGHUP:
		if (reload_config(aj, &cause) != 0) {
			log_warnx("SIGHUP: reload failed: %s", cause);
			free(cause);
		}
		break;
	}
}

static void
server_signals(struct aiojobsd *aj)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	size_t		 i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		aj->signals[i] = evsignal_new(aj->base, sigs[i],
		    server_signal_cb, aj);
		evsignal_add(aj->signals[i], NULL);
	}
}

/* Take all the fds we are allowed: clients, pipes and jobs share them. */
static void
server_raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit RLIMIT_NOFILE");
	}
}

/*
 * Create the run directory (0700): default endpoints and workers live
 * there. When the sockets are for a group too (socket_group, socket_mode
 * 0660) it is 0750 and of that group, so the group can reach them; when
 * they are for every user (0666), everyone may pass through it (x).
 */
static int
server_rundir(struct aiojobsd *aj, char **cause)
{
	struct stat	 sb;
	long		 gid = aj->conf.socket_gid != -1 ?
			    (long)aj->conf.socket_gid :
			    (long)aj->conf.events_socket_gid;
	mode_t		 mode = 0700;

	if (mkdirs(aj->conf.rundir) != 0) {
		xasprintf(cause, "mkdir %s: %s", aj->conf.rundir,
		    strerror(errno));
		return (-1);
	}
	if (stat(aj->conf.rundir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		xasprintf(cause, "%s is not a directory", aj->conf.rundir);
		return (-1);
	}
	/* whom the sockets let in must reach them: x, and r for the group */
	if ((config_socket_mode(&aj->conf) | config_events_mode(&aj->conf)) &
	    070)
		mode = 0750;
	if ((config_socket_mode(&aj->conf) | config_events_mode(&aj->conf)) &
	    07)
		mode |= 0011;
	if (sb.st_uid == geteuid() && gid != -1 && sb.st_gid != (gid_t)gid &&
	    chown(aj->conf.rundir, (uid_t)-1, (gid_t)gid) == -1) {
		xasprintf(cause, "chown %s to group %ld: %s", aj->conf.rundir,
		    gid, strerror(errno));
		return (-1);
	}
	if (sb.st_uid == geteuid() && (sb.st_mode & 0777) != mode &&
	    ((sb.st_mode & 077) != 0 || mode != 0700) &&
	    chmod(aj->conf.rundir, mode) == -1) {
		xasprintf(cause, "chmod %s: %s", aj->conf.rundir,
		    strerror(errno));
		return (-1);
	}
	return (0);
}

/* The default control endpoint, with full access, then [listen.NAME]. */
static int
server_controls(struct aiojobsd *aj, char **cause)
{
	struct config_listen	 dflt, *l;
	struct control		*c;

	memset(&dflt, 0, sizeof dflt);
	dflt.name = (char *)"control";
	dflt.url = aj->conf.url;
	dflt.secret = aj->conf.control_token;
	dflt.allow_exec = 1;
	dflt.kinds = CONFIG_KINDS_ALL;
	if ((c = control_create(aj, &dflt, ops_dispatch, cause)) == NULL)
		return (-1);
	TAILQ_INSERT_TAIL(&aj->controls, c, entry);
	TAILQ_FOREACH(l, &aj->conf.listens, entry) {
		if ((c = control_create(aj, l, ops_dispatch, cause)) == NULL)
			return (-1);
		TAILQ_INSERT_TAIL(&aj->controls, c, entry);
	}
	return (0);
}

static int
server_open(struct aiojobsd *aj, char **cause)
{
	if (server_rundir(aj, cause) != 0)
		return (-1);
	if ((aj->rundir_lock = pidfile_lock(aj->conf.rundir, "aiojobsd.pid",
	    "run directory", cause)) == -1 ||
	    (aj->state_lock = pidfile_lock(aj->conf.state_dir, "aiojobsd.lock",
	    "state directory", cause)) == -1)
		return (-1);
	aj->sched->http = http_env_create(aj->base, aj->conf.tls_ca_file,
	    aj->conf.tls_verify, aj->conf.http_connect_timeout_ms, cause);
	if (aj->sched->http == NULL)
		return (-1);
	/* before recovery: what a crashed run left must be gone first */
	aj->sched->trees = trees_create(aj->conf.state_dir);
	if (durable_open(aj, cause) != 0)
		return (-1);
	if ((aj->access = access_create(&aj->conf, cause)) == NULL ||
	    server_controls(aj, cause) != 0)
		return (-1);
	if (metrics_create(aj, cause) != 0)
		return (-1);
	aj->events = events_create(aj, aj->conf.events_url, cause);
	if (aj->events == NULL)
		return (-1);
	reload_pool(aj);
	reload_queues(aj);
	return (0);
}

static void
server_close(struct aiojobsd *aj)
{
	struct control	*c;
	size_t		 i;

	while ((c = TAILQ_FIRST(&aj->controls)) != NULL) {
		TAILQ_REMOVE(&aj->controls, c, entry);
		control_free(c);
	}
	metrics_free(aj);
	access_free(aj->access);
	aj->access = NULL;
	events_free(aj->events);
	aj->events = NULL;
	http_env_free(aj->sched->http);
	durable_close(aj);
	trees_free(aj->sched->trees);
	sched_free(aj->sched);
	pool_free(aj->pool);
	for (i = 0; i < sizeof aj->signals / sizeof aj->signals[0]; i++) {
		if (aj->signals[i] != NULL)
			event_free(aj->signals[i]);
	}
	if (aj->shutdown_timer != NULL)
		event_free(aj->shutdown_timer);
	event_free(aj->waiters_ev);
	event_free(aj->stop_ev);
	notify_free(aj);
	event_base_free(aj->base);
	if (aj->state_lock != -1)
		close(aj->state_lock);
	if (aj->rundir_lock != -1)
		close(aj->rundir_lock);
}

/* Run the daemon until it has shut down; returns the exit status. */
int
server_run(struct aiojobsd *aj)
{
	char	*cause = NULL;
	int	 rc = 0;

	umask(077);
	TAILQ_INIT(&aj->controls);
	aj->rundir_lock = aj->state_lock = -1;
	server_raise_nofile();
	aj->started_at = now_ms();
	if ((aj->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	event_base_priority_init(aj->base, SERVER_PRIORITIES);
	aj->waiters_ev = event_new(aj->base, -1, 0, server_waiters_cb, aj);
	event_priority_set(aj->waiters_ev, SERVER_PRIO_LOW);
	aj->stop_ev = evtimer_new(aj->base, server_stop_cb, aj);
	aj->sched = sched_create(aj->base, aj->conf.limit,
	    aj->conf.pending_limit);
	aj->sched->kill_grace_ms = aj->conf.kill_grace_ms;
	sched_set_change_cb(aj->sched, server_job_changed, aj);
	sched_set_output_cb(aj->sched, server_job_output, aj);
	server_signals(aj);
	if (server_open(aj, &cause) != 0) {
		log_warnx("%s", cause);
		free(cause);
		rc = 1;
		goto out;
	}
	log_info("aiojobsd %s listening on %s, events on %s (limit %lld, "
	    "pending limit %lld, %lld workers)", AIOJOBS_VERSION, aj->conf.url,
	    aj->conf.events_url, (long long)aj->conf.limit,
	    (long long)aj->conf.pending_limit, (long long)aj->conf.workers);
	notify_ready(aj);
	event_base_dispatch(aj->base);
	log_info("stopped");
out:
	server_close(aj);
	return (rc);
}
