/*
 * Listening TCP sockets for the daemon's endpoints (SP control and
 * events, metrics). Resolving a host name blocks, but only at start-up,
 * before the loop runs.
 */
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcp_listen.h"
#include "xmalloc.h"

/*
 * Split HOST:PORT (an IPv6 host in brackets) into two strings for the
 * caller to free: 0, or -1 if there is no ':' or no port.
 */
int
tcp_listen_split(const char *hostport, char **host, char **port)
{
	const char	*colon;
	size_t		 hlen;

	if ((colon = strrchr(hostport, ':')) == NULL || colon[1] == '\0')
		return (-1);
	hlen = (size_t)(colon - hostport);
	if (hlen >= 2 && hostport[0] == '[' && hostport[hlen - 1] == ']') {
		hostport++;
		hlen -= 2;
	}
	*host = xstrndup(hostport, hlen);
	*port = xstrdup(colon + 1);
	return (0);
}

/* A non-blocking socket bound to one address and listening, or -1. */
static int
tcp_listen_bind(const struct addrinfo *ai, int backlog)
{
	int	 fd, one = 1, saved;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return (-1);
	/* A restart must not wait for the last connections' TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, backlog) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	return (fd);
}

/*
 * Listen on host (NULL: every address) and port, on the first address
 * that binds. -1 with a cause in the resolver's or the system's words
 * for the caller to prefix, and errno: the bind's error, or 0 when the
 * host did not resolve.
 */
int
tcp_listen(const char *host, const char *port, int backlog, char **cause)
{
	struct addrinfo	 hints, *res, *ai;
	int		 fd = -1, error, saved = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((error = getaddrinfo(host, port, &hints, &res)) != 0) {
		*cause = xstrdup(gai_strerror(error));
		errno = 0;
		return (-1);
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		if ((fd = tcp_listen_bind(ai, backlog)) == -1)
			saved = errno;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		*cause = xstrdup(strerror(saved));
		errno = saved;
	}
	return (fd);
}
