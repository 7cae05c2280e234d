/*
 * systemd's readiness protocol (sd_notify(3)): READY=1 once the endpoints
 * are bound and the store recovered, RELOADING=1 and STOPPING=1, a STATUS=
 * line kept current and WATCHDOG=1 keep-alives. Outside systemd (no
 * NOTIFY_SOCKET) every call costs a getenv and nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "aiojobsd.h"
#include "log.h"

/* How often the STATUS= line is refreshed. */
#define NOTIFY_STATUS_MS	5000

/* Send one notification; state is "READY=1" and the like, or NULL. */
static void
notify_send(struct aiojobsd *aj, const char *state)
{
	struct sched	*s = aj->sched;
	char		 workers[64] = "";
	int		 r;

	if (aj->pool != NULL)
		snprintf(workers, sizeof workers, ", %d/%d workers busy",
		    pool_busy(aj->pool), pool_total(aj->pool));
	/* unset_environment 0: every later notification needs the socket */
	r = sd_notifyf(0, "%s%sSTATUS=%s%lld running, %lld queued%s",
	    state != NULL ? state : "", state != NULL ? "\n" : "",
	    aj->shutting_down ? "stopping: " : "",
	    (long long)s->counts[JOB_RUNNING],
	    (long long)s->counts[JOB_QUEUED], workers);
	if (r < 0)
		log_warnx("sd_notify %s: %s", state != NULL ? state : "STATUS",
		    strerror(-r));
}

static void
notify_status_cb(int fd, short events, void *arg)
{
	notify_send(arg, NULL);
}

/* Nothing but the keep-alive: it must stay cheap and come on time. */
static void
notify_watchdog_cb(int fd, short events, void *arg)
{
	int	 r;

	if ((r = sd_notify(0, "WATCHDOG=1")) < 0)
		log_debug("sd_notify WATCHDOG=1: %s", strerror(-r));
}

static struct event *
notify_timer(struct aiojobsd *aj, uint64_t usec, event_callback_fn cb)
{
	struct event	*ev;
	struct timeval	 tv;

	tv.tv_sec = usec / 1000000;
	tv.tv_usec = usec % 1000000;
	ev = event_new(aj->base, -1, EV_PERSIST, cb, aj);
	event_add(ev, &tv);
	return (ev);
}

/*
 * Tell systemd the daemon serves (at start and after a reload), and start
 * the STATUS= refresh and the watchdog keep-alive the first time.
 */
void
notify_ready(struct aiojobsd *aj)
{
	uint64_t	 usec;

	notify_send(aj, "READY=1");
	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	if (aj->notify_status_ev == NULL)
		aj->notify_status_ev = notify_timer(aj,
		    NOTIFY_STATUS_MS * 1000, notify_status_cb);
	/* WatchdogSec=: ping twice per period, as sd_watchdog_enabled(3) says */
	if (aj->notify_watchdog_ev == NULL &&
	    sd_watchdog_enabled(0, &usec) > 0) {
		log_debug("watchdog: WATCHDOG=1 every %llu us",
		    (unsigned long long)usec / 2);
		aj->notify_watchdog_ev = notify_timer(aj, usec / 2,
		    notify_watchdog_cb);
		notify_watchdog_cb(-1, 0, aj);
	}
}

/* A reload started: notify_ready says when it is over. */
void
notify_reloading(struct aiojobsd *aj)
{
	notify_send(aj, "RELOADING=1");
}

/* Shutdown started; the watchdog keeps pinging while jobs drain. */
void
notify_stopping(struct aiojobsd *aj)
{
	notify_send(aj, "STOPPING=1");
}

void
notify_free(struct aiojobsd *aj)
{
	if (aj->notify_status_ev != NULL)
		event_free(aj->notify_status_ev);
	if (aj->notify_watchdog_ev != NULL)
		event_free(aj->notify_watchdog_ev);
	aj->notify_status_ev = aj->notify_watchdog_ev = NULL;
}
