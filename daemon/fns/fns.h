/*
 * CPU functions, run in worker processes: the built-ins and the plugin
 * loader. They speak the plugin ABI (cJSON trees), which is why cJSON is
 * used here and in worker.c besides the protocol module.
 */
#ifndef FNS_H
#define FNS_H

#include "aiojobs_plugin.h"

cJSON		*fn_sha256(const cJSON *, char **);
cJSON		*fn_primes(const cJSON *, char **);
cJSON		*fn_spin(const cJSON *, char **);

aiojobs_fn	*fns_builtin(const char *);
aiojobs_fn	*fns_plugin(const char *, const char *, char **);
int		 fns_error(char **, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));

#endif
