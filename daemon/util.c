/* Small helpers of the daemon. */
#include <time.h>

#include "aiojobsd.h"

/* Wall-clock time in Unix epoch milliseconds, as the protocol reports. */
int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}
