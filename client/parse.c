/*
 * Values on the command line: integers, job ids, durations, rates, files
 * to read. A bad one is a usage error, printed here; the caller returns
 * CTL_EXIT_USAGE.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiojobctl.h"
#include "duration.h"
#include "msg.h"
#include "xmalloc.h"

#define PARSE_FILE_CHUNK	65536	/* first buffer of parse_file */

/* An integer in [min, max], the whole string. */
int
parse_int(struct ctl *ctl, const char *what, const char *s, int64_t min,
    int64_t max, int64_t *v)
{
	char		*end;
	long long	 ll;

	errno = 0;
	ll = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || (errno != 0 && errno != ERANGE))
		return (ctl_usage_error(ctl, "invalid %s '%s': not an integer",
		    what, s));
	if (errno == ERANGE || ll < min || ll > max)
		return (ctl_usage_error(ctl, "invalid %s '%s': must be %lld to "
		    "%lld", what, s, (long long)min, (long long)max));
	*v = ll;
	return (0);
}

int
parse_id(struct ctl *ctl, const char *s, int64_t *id)
{
	return (parse_int(ctl, "job id", s, 1, MSG_INT_MAX, id));
}

/* A duration such as 250ms or 2s, as milliseconds; what names it. */
int
parse_duration(struct ctl *ctl, const char *what, const char *s, int64_t *ms)
{
	char	*cause;
	int	 r;

	if (duration_parse(s, ms, &cause) == 0) {
		if (*ms <= MSG_INT_MAX)
			return (0);
		xasprintf(&cause, "invalid duration '%s': too long", s);
	}
	r = ctl_usage_error(ctl, "%s: %s", what, cause);
	free(cause);
	return (r);
}

/* A rate of jobs per second: a finite number, 0 or more. */
int
parse_rate(struct ctl *ctl, const char *s, double *rate)
{
	char	*end;

	errno = 0;
	*rate = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(*rate) ||
	    *rate < 0)
		return (ctl_usage_error(ctl, "invalid rate '%s': must be a "
		    "number of jobs per second, 0 or more", s));
	return (0);
}

static int
parse_id_cmp(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x < y ? -1 : x > y);
}

/* Drop repeated ids, keeping the first of each where it was. */
static size_t
parse_ids_unique(int64_t *ids, size_t n)
{
	int64_t	*sorted, *p;
	char	*seen;
	size_t	 i, m = 0, k = 0;

	sorted = xcalloc(n, sizeof *sorted);
	memcpy(sorted, ids, n * sizeof *ids);
	qsort(sorted, n, sizeof *sorted, parse_id_cmp);
	for (i = 0; i < n; i++) {
		if (m == 0 || sorted[m - 1] != sorted[i])
			sorted[m++] = sorted[i];
	}
	seen = xcalloc(m, 1);
	for (i = 0; i < n; i++) {
		p = bsearch(&ids[i], sorted, m, sizeof *sorted, parse_id_cmp);
		if (!seen[p - sorted]) {
			seen[p - sorted] = 1;
			ids[k++] = ids[i];
		}
	}
	free(seen);
	free(sorted);
	return (k);
}

/* Job ids from the command line, without repeats. */
int
parse_ids(struct ctl *ctl, int argc, char **argv, int64_t **ids, size_t *n)
{
	int	 i;

	*ids = xcalloc((size_t)argc, sizeof **ids);
	for (i = 0; i < argc; i++) {
		if (parse_id(ctl, argv[i], &(*ids)[i]) != 0) {
			free(*ids);
			*ids = NULL;
			return (CTL_EXIT_USAGE);
		}
	}
	*n = parse_ids_unique(*ids, (size_t)argc);
	return (0);
}

/* Read f to the end, up to max bytes and one more; NUL-terminated. */
static int
parse_file_read(FILE *f, size_t max, char **buf, size_t *len)
{
	size_t	 n, alloc = PARSE_FILE_CHUNK;

	*buf = xmalloc(alloc);
	*len = 0;
	while ((n = fread(*buf + *len, 1, alloc - *len - 1, f)) > 0) {
		if ((*len += n) > max)
			break;
		if (alloc - *len - 1 == 0) {
			alloc *= 2;
			*buf = xreallocarray(*buf, alloc, 1);
		}
	}
	(*buf)[*len] = '\0';
	return (ferror(f) ? -1 : 0);
}

/*
 * Read all of a file, or standard input for "-", up to max bytes; what
 * (the option, or NULL) starts the messages. The text ends with a NUL.
 */
int
parse_file(const char *what, const char *path, size_t max, char **buf,
    size_t *len)
{
	FILE	*f = stdin;
	char	*name;
	int	 r = CTL_EXIT_USAGE;

	xasprintf(&name, "%s%s%s", what == NULL ? "" : what,
	    what == NULL ? "" : ": ",
	    strcmp(path, "-") == 0 ? "standard input" : path);
	*buf = NULL;
	if (strcmp(path, "-") != 0)
		f = fopen(path, "r");
	if (f == NULL)
		ctl_warnx("%s: %s", name, strerror(errno));
	else if (parse_file_read(f, max, buf, len) != 0)
		ctl_warnx("%s: read error", name);
	else if (*len > max)
		ctl_warnx("%s: larger than %zu bytes", name, max);
	else
		r = 0;
	if (f != NULL && f != stdin)
		fclose(f);
	if (r != 0) {
		free(*buf);
		*buf = NULL;
	}
	free(name);
	return (r);
}
