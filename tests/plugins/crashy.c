/*
 * A plugin that misbehaves on purpose, for the worker pool's isolation
 * tests: crashy.segv, crashy.abort, crashy.exit, crashy.hog (allocates and
 * touches memory until malloc fails), crashy.loop (never returns),
 * crashy.fail (reports an error), crashy.echo (returns its input).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiojobs_plugin.h"

static cJSON *
crashy_segv(const cJSON *input, char **error)
{
	raise(SIGSEGV);
	return (NULL);
}

static __attribute__((__noreturn__)) cJSON *
crashy_abort(const cJSON *input, char **error)
{
	abort();
}

static __attribute__((__noreturn__)) cJSON *
crashy_exit(const cJSON *input, char **error)
{
	exit(7);
}

static cJSON *
crashy_hog(const cJSON *input, char **error)
{
	size_t	 chunk = 16 << 20, total = 0;
	char	*p;

	while ((p = malloc(chunk)) != NULL) {
		memset(p, 1, chunk);	/* really use it; never freed */
		total += chunk;
	}
	if (asprintf(error, "out of memory after %zu MiB", total >> 20) == -1)
		*error = NULL;
	return (NULL);
}

static __attribute__((__noreturn__)) cJSON *
crashy_loop(const cJSON *input, char **error)
{
	volatile unsigned long	 x = 0;

	for (;;)
		x++;
}

static cJSON *
crashy_fail(const cJSON *input, char **error)
{
	*error = strdup("crashy.fail: failed on purpose");
	return (NULL);
}

static cJSON *
crashy_echo(const cJSON *input, char **error)
{
	return (cJSON_Duplicate(input, 1));
}

static const struct aiojobs_plugin_fn crashy_fns[] = {
	{ "segv", crashy_segv },
	{ "abort", crashy_abort },
	{ "exit", crashy_exit },
	{ "hog", crashy_hog },
	{ "loop", crashy_loop },
	{ "fail", crashy_fail },
	{ "echo", crashy_echo },
	{ NULL, NULL }
};

static const struct aiojobs_plugin crashy_plugin = {
	AIOJOBS_PLUGIN_ABI, "crashy", crashy_fns
};

const struct aiojobs_plugin *aiojobs_plugin_init(void);

const struct aiojobs_plugin *
aiojobs_plugin_init(void)
{
	return (&crashy_plugin);
}
