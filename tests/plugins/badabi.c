/* A plugin built for another ABI version: the loader must refuse it. */
#include "aiojobs_plugin.h"

static const struct aiojobs_plugin_fn badabi_fns[] = { { NULL, NULL } };
static const struct aiojobs_plugin badabi_plugin = {
	AIOJOBS_PLUGIN_ABI + 1, "badabi", badabi_fns
};

const struct aiojobs_plugin *aiojobs_plugin_init(void);

const struct aiojobs_plugin *
aiojobs_plugin_init(void)
{
	return (&badabi_plugin);
}
