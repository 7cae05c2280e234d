/* spin: {"ms": n} -> busy for n ms of wall time, {"spun_ms": n}; for tests. */
#include <time.h>

#include "fns.h"

static double
spin_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6);
}

cJSON *
fn_spin(const cJSON *input, char **error)
{
	const cJSON		*ms;
	volatile unsigned long	 x = 0;
	double			 start, end;
	cJSON			*out;

	ms = cJSON_GetObjectItemCaseSensitive(input, "ms");
	if (!cJSON_IsNumber(ms) || ms->valuedouble < 0) {
		fns_error(error, "spin: input needs 'ms', an integer >= 0");
		return (NULL);
	}
	start = spin_now_ms();
	end = start + ms->valuedouble;
	while (spin_now_ms() < end)
		x++;
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "spun_ms", (double)(long)(spin_now_ms() -
	    start));
	return (out);
}
