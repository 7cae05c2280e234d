/* Small helpers of the daemon. */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "aiojobsd.h"
#include "xmalloc.h"

/* Wall-clock time in Unix epoch milliseconds, as the protocol reports. */
int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * mkdir -p with mode 0700: a state directory under ~/.local/state or a
 * run directory given by flag may have missing parents on a new account.
 */
int
mkdirs(const char *dir)
{
	char	*path, *p;
	int	 r = 0;

	path = xstrdup(dir);
	for (p = path + 1; r == 0 && *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			r = -1;
		*p = '/';
	}
	if (r == 0 && mkdir(path, 0700) == -1 && errno != EEXIST)
		r = -1;
	free(path);
	return (r);
}
