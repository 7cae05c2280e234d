/*
 * aiojobsd plugin ABI: how a shared object exports CPU functions.
 *
 * A plugin is <plugin_dir>/<plugin>.so and exports
 *
 *	const struct aiojobs_plugin *aiojobs_plugin_init(void);
 *
 * returning a static description whose abi is AIOJOBS_PLUGIN_ABI. A job
 * {"kind":"cpu","args":{"fn":"<plugin>.<name>","input":...}} calls the
 * function of that name in a worker process. The function gets the input
 * as a cJSON tree (never NULL: JSON null when absent) and returns a new
 * tree, which the worker frees; or it returns NULL and sets *error to a
 * malloc'd message, and the job fails with fn_error. A function may take
 * as long as it needs and may crash: it runs in its own worker process.
 */
#ifndef AIOJOBS_PLUGIN_H
#define AIOJOBS_PLUGIN_H

#include <cjson/cJSON.h>

#define AIOJOBS_PLUGIN_ABI	1

typedef cJSON	*aiojobs_fn(const cJSON *input, char **error);

struct aiojobs_plugin_fn {
	const char	*name;
	aiojobs_fn	*fn;
};

struct aiojobs_plugin {
	int				 abi;	/* AIOJOBS_PLUGIN_ABI */
	const char			*name;
	const struct aiojobs_plugin_fn	*fns;	/* ends with { NULL, NULL } */
};

typedef const struct aiojobs_plugin *aiojobs_plugin_init_fn(void);

#define AIOJOBS_PLUGIN_INIT	"aiojobs_plugin_init"

#endif
