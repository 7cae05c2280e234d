/*
 * What the C benchmark programs share: their clock, and percentiles
 * computed one way, so that figures compared in one table (a latency and
 * its transport's floor) are the same statistic.
 */
#ifndef BENCHUTIL_H
#define BENCHUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BENCH_NS	1000000000ULL

/* The time on CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t
bench_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * BENCH_NS + (uint64_t)ts.tv_nsec);
}

/* qsort's comparison of uint64_t samples. */
static inline int
bench_cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/* The p-th percentile (0 < p <= 1) of sorted samples, by nearest rank. */
static inline uint64_t
bench_rank(const uint64_t *sorted, size_t n, double p)
{
	size_t	 i = (size_t)(p * (double)n);

	if ((double)i < p * (double)n)
		i++;
	return (sorted[i == 0 ? 0 : i - 1]);
}

#endif
