/* Parse "250ms", "2s", "1.5m", "1h", "1d"; a bare number means seconds. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "xmalloc.h"

static const struct {
	const char	*suffix;
	double		 ms;
} duration_units[] = {
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60 * 1000 },
	{ "h", 60 * 60 * 1000 },
	{ "d", 24 * 60 * 60 * 1000 },
	{ "", 1000 },
};

/* The number: digits and one dot only (strtod would take signs, hex...). */
static int
duration_number(const char *s, size_t n, double *v)
{
	char	*num, *end;
	int	 ok;

	num = xstrndup(s, n);
	errno = 0;
	*v = strtod(num, &end);
	ok = end != num && *end == '\0' && errno == 0 && isfinite(*v);
	free(num);
	return (ok);
}

int
duration_parse(const char *s, int64_t *ms, char **cause)
{
	size_t	 n = strspn(s, "0123456789."), i;
	double	 v;

	if (n == 0 || !duration_number(s, n, &v))
		goto bad;
	for (i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++) {
		if (strcmp(s + n, duration_units[i].suffix) != 0)
			continue;
		v *= duration_units[i].ms;
		if (v > (double)INT64_MAX / 2)
			goto bad;
		*ms = (int64_t)llround(v);
		return (0);
	}
bad:
	if (cause != NULL)
		xasprintf(cause, "invalid duration '%s' (use e.g. 250ms, 2s, "
		    "1m, 1h)", s);
	return (-1);
}
