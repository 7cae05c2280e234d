/*
 * watch: print job events from the daemon's PUB socket until ^C. A poll on
 * the socket and on a signalfd, so that no work happens in a handler.
 */
#include <sys/signalfd.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aiojobctl.h"
#include "endpoint.h"
#include "output.h"
#include "watch.h"
#include "xmalloc.h"

/* Print every event waiting on the socket. */
static int
cmd_watch_drain(struct ctl *ctl, struct watch *w)
{
	char	*msg, *cause;
	size_t	 len;
	int	 r;

	while ((r = watch_recv(w, &msg, &len, &cause)) == 1) {
		if (ctl->json) {
			fwrite(msg, 1, len, stdout);
			putchar('\n');
		} else
			output_event(msg, len);
		fflush(stdout);
		free(msg);
	}
	if (r == 0)
		return (0);
	ctl_warnx("events: %s", cause);
	free(cause);
	return (CTL_EXIT_UNREACHABLE);
}

/* Print events until SIGINT or SIGTERM arrives on sfd. */
static int
cmd_watch_loop(struct ctl *ctl, struct watch *w, int sfd)
{
	struct pollfd	 pfd[2];
	int		 r;

	pfd[0].fd = watch_fd(w);
	pfd[0].events = POLLIN;
	pfd[1].fd = sfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			ctl_warnx("poll: %s", strerror(errno));
			return (CTL_EXIT_UNREACHABLE);
		}
		if (pfd[1].revents != 0)
			return (CTL_EXIT_OK);
		if (pfd[0].revents != 0 && (r = cmd_watch_drain(ctl, w)) != 0)
			return (r);
	}
}

/* A signalfd for SIGINT and SIGTERM, blocked for every thread to come. */
static int
cmd_watch_signals(void)
{
	sigset_t	 set;
	int		 sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) == -1)
		ctl_warnx("signalfd: %s", strerror(errno));
	return (sfd);
}

int
cmd_watch(struct ctl *ctl, int argc, char **argv)
{
	struct watch	*w;
	const char	*path;
	char		*url, *cause = NULL;
	int		 r, sfd;

	if ((r = ctl_noopts(ctl, argc, argv, ":")) != 0)
		return (r);
	/* Before NNG starts its threads, so that they inherit the mask. */
	if ((sfd = cmd_watch_signals()) == -1)
		return (CTL_EXIT_UNREACHABLE);
	url = ctl->events_url != NULL ? xstrdup(ctl->events_url) :
	    endpoint_events_url(ctl->rundir);
	w = watch_open(url, (const char *const *)argv + optind,
	    (size_t)(argc - optind), &cause);
	if (w == NULL)
		r = request_bad_url(url, cause);
	else {
		path = endpoint_ipc_path(url);
		if (path != NULL && access(path, F_OK) == -1)
			ctl_warnx("nothing listens at %s yet; waiting for "
			    "aiojobsd", url);
		r = cmd_watch_loop(ctl, w, sfd);
	}
	watch_close(w);
	close(sfd);
	free(cause);
	free(url);
	return (r);
}
