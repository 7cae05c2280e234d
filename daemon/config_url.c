/*
 * Control endpoint URLs: which shapes [endpoints] listen = and a
 * [listen.NAME] url may take, and what a URL says about who can reach it.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_private.h"
#include "endpoint.h"
#include "xmalloc.h"

/*
 * A control endpoint's URL: tcp://HOST:PORT, tls+tcp://HOST:PORT (which
 * config_prepare_listen lets through only with a certificate) or
 * ipc://PATH.
 */
int
config_url_check(const char *key, const char *url, char **cause)
{
	char	*why;

	if (strncmp(url, "tcp://", 6) == 0 &&
	    config_value_hostport(url + 6) == 0)
		return (0);
	if (config_url_tls(url) && config_value_hostport(url + 10) == 0)
		return (0);
	if (strncmp(url, "ipc://", 6) == 0) {
		if (endpoint_check(url, &why) == 0)
			return (0);
		xasprintf(cause, "%s: %s", key, why);
		free(why);
		return (-1);
	}
	xasprintf(cause, "%s wants tcp://HOST:PORT, tls+tcp://HOST:PORT or "
	    "ipc://PATH, not '%s'", key, url);
	return (-1);
}

/* Whether a URL is a TLS endpoint's, tls+tcp://HOST:PORT. */
int
config_url_tls(const char *url)
{
	return (strncmp(url, "tls+tcp://", 10) == 0);
}

/*
 * Whether a tcp:// or tls+tcp:// URL binds a loopback address only:
 * 127.0.0.0/8, ::1 or localhost. Anything else (0.0.0.0, *, an interface
 * name, another address) may be reachable from other machines.
 */
int
config_url_loopback(const char *url)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	const char	*h, *colon;
	char		 host[256];
	size_t		 n;

	if (strncmp(url, "tcp://", 6) == 0)
		h = url + 6;
	else if (config_url_tls(url))
		h = url + 10;
	else
		return (0);
	if ((colon = strrchr(h, ':')) == NULL)
		return (0);
	n = (size_t)(colon - h);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof host)
		return (0);
	memcpy(host, h, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0)
		return (1);
	if (inet_pton(AF_INET, host, &a4) == 1)
		return ((ntohl(a4.s_addr) >> 24) == 127);
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return (IN6_IS_ADDR_LOOPBACK(&a6));
	return (0);
}
