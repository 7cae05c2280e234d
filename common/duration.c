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

int
duration_parse(const char *s, int64_t *ms, char **cause)
{
	char	*end;
	double	 v;
	size_t	 i;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v) || v < 0 ||
	    strchr("+-", *s) != NULL)
		goto bad;
	for (i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++) {
		if (strcmp(end, duration_units[i].suffix) != 0)
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
