/*
 * Endpoint defaults and checks. An ipc path must fit a socket address,
 * and the SP library deletes whatever sits at an ipc path when nothing
 * answers there, a regular file included: both are checked here before
 * anything listens or connects.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint.h"
#include "sp_wire.h"
#include "xmalloc.h"

/* The run directory, by the first rule of PROTOCOL section 1 that applies. */
char *
endpoint_rundir(void)
{
	const char	*s;
	char		*dir;

	if ((s = getenv("AIOJOBS_RUNDIR")) != NULL && *s != '\0')
		return (xstrdup(s));
	if (geteuid() == 0)
		return (xstrdup("/run/aiojobsd"));
	if ((s = getenv("XDG_RUNTIME_DIR")) != NULL && *s != '\0') {
		xasprintf(&dir, "%s/aiojobsd", s);
		return (dir);
	}
	xasprintf(&dir, "/tmp/aiojobsd-%ld", (long)geteuid());
	return (dir);
}

/* Control URL: --url beats AIOJOBS_URL beats the run directory. */
char *
endpoint_control_url(const char *rundir)
{
	const char	*s;
	char		*url;

	if ((s = getenv("AIOJOBS_URL")) != NULL && *s != '\0')
		return (xstrdup(s));
	xasprintf(&url, "ipc://%s/aiojobsd.sock", rundir);
	return (url);
}

char *
endpoint_events_url(const char *rundir)
{
	const char	*s;
	char		*url;

	if ((s = getenv("AIOJOBS_EVENTS_URL")) != NULL && *s != '\0')
		return (xstrdup(s));
	xasprintf(&url, "ipc://%s/events.sock", rundir);
	return (url);
}

/* The file system path of an ipc:// URL, or NULL for other transports. */
const char *
endpoint_ipc_path(const char *url)
{
	if (strncmp(url, "ipc://", 6) != 0)
		return (NULL);
	return (url + 6);
}

/* Check a URL is one the transport takes (ipc paths that fit). */
int
endpoint_check(const char *url, char **cause)
{
	const char	*path;

	if (strncmp(url, "tcp://", 6) != 0 && strncmp(url, "ipc://", 6) != 0 &&
	    strncmp(url, "tls+tcp://", 10) != 0 &&
	    strncmp(url, "inproc://", 9) != 0 && strncmp(url, "ws://", 5) != 0) {
		xasprintf(cause, "%s: unsupported URL (use ipc://PATH, "
		    "tcp://HOST:PORT or tls+tcp://HOST:PORT)", url);
		return (-1);
	}
	if ((path = endpoint_ipc_path(url)) == NULL)
		return (0);
	if (*path == '\0') {
		xasprintf(cause, "%s: empty ipc path", url);
		return (-1);
	}
	if (strlen(path) > ENDPOINT_IPC_MAX) {
		xasprintf(cause, "%s: ipc path is %zu bytes, the limit is %d",
		    url, strlen(path), ENDPOINT_IPC_MAX);
		return (-1);
	}
	return (0);
}

/*
 * Whether an SP endpoint listens at an ipc path: 1 yes, 0 no (nothing
 * there, or a stale socket), -1 with a cause. The probe sends its header
 * and waits up to timeout_ms for the listener's before it hangs up, as a
 * client would: some SP listeners (NNG 1.5.2's) stop accepting for good
 * when a client hangs up before they have written their header, and the
 * probe must not deafen whatever it asks after.
 */
int
endpoint_probe(const char *path, int timeout_ms, char **cause)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv;
	unsigned char		 hdr[SP_HEADER_LEN];
	size_t			 got = 0;
	ssize_t			 n;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return (-1);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		close(fd);
		if (errno == ENOENT || errno == ECONNREFUSED)
			return (0);
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	sp_header(SP_PROTO_REQ, hdr);
	if (write(fd, hdr, sizeof hdr) == (ssize_t)sizeof hdr) {
		while (got < sizeof hdr &&
		    (n = read(fd, hdr + got, sizeof hdr - got)) > 0)
			got += (size_t)n;
	}
	close(fd);
	return (1);
}

/*
 * As endpoint_check, and refuse to let a bind replace anything but a
 * socket, or a socket something still listens on. A stale socket (nobody
 * listens) is removed for the bind.
 */
int
endpoint_check_bind(const char *url, char **cause)
{
	const char	*path;
	struct stat	 sb;

	if (endpoint_check(url, cause) != 0)
		return (-1);
	if ((path = endpoint_ipc_path(url)) == NULL)
		return (0);
	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT)
			return (0);
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (!S_ISSOCK(sb.st_mode)) {
		xasprintf(cause, "%s exists and is not a socket; not replacing "
		    "it (remove it or choose another URL)", path);
		return (-1);
	}
	switch (endpoint_probe(path, ENDPOINT_PROBE_MS, cause)) {
	case 0:
		if (unlink(path) == -1 && errno != ENOENT) {
			xasprintf(cause, "%s: stale socket: %s", path,
			    strerror(errno));
			return (-1);
		}
		return (0);
	case 1:
		xasprintf(cause, "%s: address in use: another aiojobsd is "
		    "already listening there", url);
		return (-1);
	default:
		return (-1);
	}
}

/* Give a bound ipc socket file a mode, and a group unless gid is -1. */
int
endpoint_restrict_to(const char *url, int mode, long gid, char **cause)
{
	const char	*path;

	if ((path = endpoint_ipc_path(url)) == NULL)
		return (0);
	if (gid != -1 && chown(path, (uid_t)-1, (gid_t)gid) == -1) {
		xasprintf(cause, "chown %s to group %ld: %s%s", path, gid,
		    strerror(errno), errno == EPERM ? " (the daemon's user "
		    "must be a member of socket_group)" : "");
		return (-1);
	}
	if (chmod(path, (mode_t)mode) == -1) {
		xasprintf(cause, "chmod %s: %s", path, strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * Whether a peer's address is on this machine's loopback: 127.0.0.0/8,
 * ::1, or 127.0.0.0/8 mapped into IPv6 (::ffff:127.0.0.1, what a socket
 * bound to :: sees of an IPv4 peer). Anything else may be another
 * machine, and bytes to it cross a network.
 */
int
endpoint_addr_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*b;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		return ((ntohl(sin->sin_addr.s_addr) >> 24) == 127);
	}
	if (sa->sa_family != AF_INET6)
		return (0);
	sin6 = (const struct sockaddr_in6 *)(const void *)sa;
	if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
		return (1);
	b = sin6->sin6_addr.s6_addr;
	return (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && b[12] == 127);
}
