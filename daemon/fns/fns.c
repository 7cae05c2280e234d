/* The table of built-in CPU functions, and the error helper they share. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fns.h"

static const struct aiojobs_plugin_fn fns_builtins[] = {
	{ "primes", fn_primes },
	{ "sha256", fn_sha256 },
	{ "spin", fn_spin },
};

aiojobs_fn *
fns_builtin(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof fns_builtins / sizeof fns_builtins[0]; i++) {
		if (strcmp(fns_builtins[i].name, name) == 0)
			return (fns_builtins[i].fn);
	}
	return (NULL);
}

/* Set *error to a formatted message; returns 0 so callers can return it. */
int
fns_error(char **error, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	if (vasprintf(error, fmt, ap) == -1)
		*error = NULL;
	va_end(ap);
	return (0);
}
