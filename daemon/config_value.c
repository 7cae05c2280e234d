/*
 * The shapes a configuration value can take: whole numbers, sizes,
 * booleans, HOST:PORT, and the text rule every value read from or
 * printed to the file must keep. A leaf: the parts of the configuration
 * (keys, queues, endpoints, the file reader) call these and nothing here
 * calls them back.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "config_private.h"
#include "xmalloc.h"

/* A whole number in decimal digits: no sign, no spaces. */
int
config_value_int(const char *s, int64_t *v)
{
	char		*end;
	long long	 n;

	if (!isdigit((unsigned char)*s))
		return (-1);
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return (-1);
	*v = n;
	return (0);
}

/* A size in bytes: 4096, 512K, 64M, 2G, 1T. */
int
config_value_size(const char *s, int64_t *v)
{
	static const char	 units[] = "KMGT";
	const char		*u;
	char			*num;
	size_t			 n = strlen(s);
	int64_t			 mult = 1;
	int			 r;

	if (n > 1 && (u = strchr(units, toupper((unsigned char)s[n - 1]))) !=
	    NULL && *u != '\0') {
		mult <<= 10 * (u - units + 1);
		n--;
	}
	num = xstrndup(s, n);
	r = config_value_int(num, v);
	free(num);
	if (r != 0 || *v > INT64_MAX / mult)
		return (-1);
	*v *= mult;
	return (0);
}

/* true, yes, on, 1 or false, no, off, 0, in any case. */
int
config_value_bool(const char *s, int *v)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t	 i;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v = 1;
			return (0);
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v = 0;
			return (0);
		}
	}
	return (-1);
}

/* host:port with a numeric port; the host is resolved when bound. */
int
config_value_hostport(const char *s)
{
	const char	*colon = strrchr(s, ':');
	int64_t		 port;

	if (colon == NULL || colon == s)
		return (-1);
	if (config_value_int(colon + 1, &port) != 0 || port < 1 ||
	    port > 65535)
		return (-1);
	return (0);
}

/*
 * A text value must read back from what --check-config prints: inih takes
 * " ;" for a comment, and its lines hold INI_MAX_LINE - 2 bytes. A file
 * may say "name=value", two bytes shorter than "name = value" as printed,
 * so a value read from it can still be too long to print.
 */
int
config_value_text(const char *name, const char *value, char **cause)
{
	const char	*p;

	if (*value == ';' || *value == '#') {
		xasprintf(cause, "%s cannot start with '%c'", name, *value);
		return (-1);
	}
	for (p = value; *p != '\0'; p++) {
		if (*p == ';' && (p[-1] == ' ' || p[-1] == '\t')) {
			xasprintf(cause, "%s cannot hold ' ;' (a comment in "
			    "the file)", name);
			return (-1);
		}
	}
	if (strlen(name) + 3 + strlen(value) > INI_MAX_LINE - 2) {
		xasprintf(cause, "%s is too long: a line of the file holds %d "
		    "bytes, \"%s = \" included", name, INI_MAX_LINE - 2, name);
		return (-1);
	}
	return (0);
}
