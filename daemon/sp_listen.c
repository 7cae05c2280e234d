/*
 * Listening sockets for the SP endpoints: a unix socket for ipc://PATH, a
 * TCP socket for tcp://HOST:PORT and tls+tcp://HOST:PORT. libevent's listener accepts on the
 * loop; each connection goes to the callback with Nagle turned off on
 * TCP (small replies and events must not wait for more).
 *
 * When accept fails for want of descriptors (EMFILE and the like) the
 * listening socket stays readable: listening on would spin the loop. The
 * listener pauses for SP_LISTEN_PAUSE_MS instead, and says so once.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "endpoint.h"
#include "log.h"
#include "sp_listen.h"
#include "tcp_listen.h"
#include "xmalloc.h"

#define SP_LISTEN_PAUSE_MS	100
#define SP_LISTEN_BACKLOG	SOMAXCONN

struct sp_listen {
	struct evconnlistener	*lev;
	struct event		*pause;
	char			*url;
	int			 tcp;
	int			 paused;
	sp_listen_cb		*cb;
	void			*arg;
};

/* A socket bound to an ipc path, listening; -1 with a cause. */
static int
sp_listen_ipc(const char *url, char **cause)
{
	struct sockaddr_un	 sun;
	const char		*path = endpoint_ipc_path(url);
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		xasprintf(cause, "%s: ipc path too long", url);
		return (-1);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		xasprintf(cause, "%s: socket: %s", url, strerror(errno));
		return (-1);
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    listen(fd, SP_LISTEN_BACKLOG) == -1) {
		if (errno == EADDRINUSE)
			xasprintf(cause, "%s: address in use: another aiojobsd "
			    "is already listening there", url);
		else
			xasprintf(cause, "%s: listen: %s", url,
			    strerror(errno));
		close(fd);
		return (-1);
	}
	return (fd);
}

/*
 * A socket listening on tcp://HOST:PORT (or tls+tcp://, the same socket
 * with TLS over it), HOST "*" or nothing for every address; -1 with a
 * cause.
 */
static int
sp_listen_tcp(const char *url, char **cause)
{
	char	*host, *port, *why;
	int	 fd;

	if (tcp_listen_split(strstr(url, "://") + 3, &host, &port) != 0) {
		xasprintf(cause, "%s: not tcp://HOST:PORT", url);
		return (-1);
	}
	fd = tcp_listen(*host == '\0' || strcmp(host, "*") == 0 ? NULL : host,
	    port, SP_LISTEN_BACKLOG, &why);
	free(host);
	free(port);
	if (fd != -1)
		return (fd);
	if (errno == EADDRINUSE)
		xasprintf(cause, "%s: address in use", url);
	else if (errno == 0)
		xasprintf(cause, "%s: %s", url, why);
	else
		xasprintf(cause, "%s: listen: %s", url, why);
	free(why);
	return (-1);
}

static void
sp_listen_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct sp_listen	*l = arg;
	int			 one = 1;

	(void)lev;
	(void)sa;
	(void)salen;
	l->paused = 0;
	if (l->tcp)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof one);
	l->cb(fd, l->arg);
}

static void
sp_listen_resume_cb(int fd, short events, void *arg)
{
	struct sp_listen	*l = arg;

	(void)fd;
	(void)events;
	evconnlistener_enable(l->lev);
}

/* Accept failed: other than for a lost connection, pause a while. */
static void
sp_listen_error_cb(struct evconnlistener *lev, void *arg)
{
	struct sp_listen	*l = arg;
	struct timeval		 tv = { 0, SP_LISTEN_PAUSE_MS * 1000 };
	int			 err = EVUTIL_SOCKET_ERROR();

	if (err == ECONNABORTED || err == EINTR || err == EAGAIN)
		return;
	if (!l->paused)
		log_warnx("%s: accept: %s; new connections wait until "
		    "descriptors are free", l->url, strerror(err));
	l->paused = 1;
	evconnlistener_disable(lev);
	evtimer_add(l->pause, &tv);
}

/* Listen on url; each connection taken goes to cb. */
struct sp_listen *
sp_listen_open(struct event_base *base, const char *url, sp_listen_cb *cb,
    void *arg, char **cause)
{
	struct sp_listen	*l;
	int			 fd, tcp;

	tcp = strncmp(url, "tcp://", 6) == 0 ||
	    strncmp(url, "tls+tcp://", 10) == 0;
	if (endpoint_ipc_path(url) != NULL)
		fd = sp_listen_ipc(url, cause);
	else if (tcp)
		fd = sp_listen_tcp(url, cause);
	else {
		xasprintf(cause, "%s: unsupported URL (use ipc://PATH, "
		    "tcp://HOST:PORT or tls+tcp://HOST:PORT)", url);
		return (NULL);
	}
	if (fd == -1)
		return (NULL);
	l = xcalloc(1, sizeof *l);
	l->url = xstrdup(url);
	l->tcp = tcp;
	l->cb = cb;
	l->arg = arg;
	l->pause = evtimer_new(base, sp_listen_resume_cb, l);
	l->lev = evconnlistener_new(base, sp_listen_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (l->lev == NULL) {
		xasprintf(cause, "%s: listener: %s", url, strerror(errno));
		close(fd);
		event_free(l->pause);
		free(l->url);
		free(l);
		return (NULL);
	}
	evconnlistener_set_error_cb(l->lev, sp_listen_error_cb);
	return (l);
}

/* Stop listening and close the socket (an ipc path stays for the caller). */
void
sp_listen_free(struct sp_listen *l)
{
	if (l == NULL)
		return;
	evconnlistener_free(l->lev);
	event_free(l->pause);
	free(l->url);
	free(l);
}
