/*
 * Plugins: <dir>/<plugin>.so loaded with dlopen on first use of
 * "<plugin>.<fn>" and kept loaded. The ABI version is checked; plugin
 * names are letters, digits, '_' and '-' only, so no path leaves the dir.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fns.h"

#define PLUGIN_MAX	64

struct plugin {
	char				 name[PLUGIN_MAX + 1];
	const struct aiojobs_plugin	*desc;
};

/* Loaded plugins of this worker process (its only state). */
static struct plugin	plugins[PLUGIN_MAX];
static size_t		nplugins;

static const struct aiojobs_plugin *
plugin_load(const char *dir, const char *name, char **error)
{
	aiojobs_plugin_init_fn		*init;
	const struct aiojobs_plugin	*desc;
	char				 path[PATH_MAX];
	void				*h;
	size_t				 i;

	for (i = 0; i < nplugins; i++) {
		if (strcmp(plugins[i].name, name) == 0)
			return (plugins[i].desc);
	}
	snprintf(path, sizeof path, "%s/%s.so", dir, name);
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fns_error(error, "plugin %s: %s", name, dlerror());
		return (NULL);
	}
	init = (aiojobs_plugin_init_fn *)dlsym(h, AIOJOBS_PLUGIN_INIT);
	if (init == NULL || (desc = init()) == NULL ||
	    desc->abi != AIOJOBS_PLUGIN_ABI || nplugins == PLUGIN_MAX) {
		fns_error(error, "plugin %s: no %s, or ABI %d instead of %d",
		    name, AIOJOBS_PLUGIN_INIT, init != NULL && desc != NULL ?
		    desc->abi : -1, AIOJOBS_PLUGIN_ABI);
		dlclose(h);
		return (NULL);
	}
	snprintf(plugins[nplugins].name, sizeof plugins[nplugins].name, "%s",
	    name);
	plugins[nplugins++].desc = desc;
	return (desc);
}

/*
 * The function "<plugin>.<fn>" of the plugin directory, or NULL with
 * *error set (the plugin or the function does not exist).
 */
aiojobs_fn *
fns_plugin(const char *dir, const char *qualified, char **error)
{
	const struct aiojobs_plugin	*desc;
	const struct aiojobs_plugin_fn	*f;
	char				 name[PLUGIN_MAX + 1];
	const char			*dot = strchr(qualified, '.');
	size_t				 len;

	len = dot == NULL ? 0 : (size_t)(dot - qualified);
	if (len == 0 || len > PLUGIN_MAX || strspn(qualified, "abcdefghijkl"
	    "mnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != len) {
		fns_error(error, "no function '%s'", qualified);
		return (NULL);
	}
	memcpy(name, qualified, len);
	name[len] = '\0';
	if ((desc = plugin_load(dir, name, error)) == NULL)
		return (NULL);
	for (f = desc->fns; f->name != NULL; f++) {
		if (strcmp(f->name, dot + 1) == 0)
			return (f->fn);
	}
	fns_error(error, "plugin %s has no function '%s'", name, dot + 1);
	return (NULL);
}
