/* primes: {"below": n} -> {"count": primes below n}; a sieve of odd numbers. */
#include <stdint.h>
#include <stdlib.h>

#include "fns.h"

#define PRIMES_MAX	4294967296.0	/* 2^32: a 256 MiB sieve at most */

static double
primes_count(uint64_t below)
{
	unsigned char	*composite;
	uint64_t	 i, j, n;
	double		 count;

	if (below <= 2)
		return (0);
	n = below / 2;			/* odd numbers 1, 3, ... < below */
	if ((composite = calloc(n / 8 + 1, 1)) == NULL)
		return (-1);
	count = 1;			/* 2 */
	for (i = 1; i < n; i++) {
		if (composite[i / 8] & (1u << (i % 8)))
			continue;
		count++;
		for (j = (2 * i + 1) * (2 * i + 1) / 2; j < n; j += 2 * i + 1)
			composite[j / 8] |= 1u << (j % 8);
	}
	free(composite);
	return (count);
}

cJSON *
fn_primes(const cJSON *input, char **error)
{
	const cJSON	*below;
	cJSON		*out;
	double		 count;

	below = cJSON_GetObjectItemCaseSensitive(input, "below");
	if (!cJSON_IsNumber(below) || below->valuedouble < 0 ||
	    below->valuedouble > PRIMES_MAX) {
		fns_error(error, "primes: input needs 'below', an integer "
		    "from 0 to 2^32");
		return (NULL);
	}
	if ((count = primes_count((uint64_t)below->valuedouble)) < 0) {
		fns_error(error, "primes: out of memory");
		return (NULL);
	}
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "count", count);
	return (out);
}
