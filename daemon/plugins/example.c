/*
 * An example plugin: two functions, "example.upper" (a string in upper
 * case) and "example.sum" (the sum of an array of numbers). Build it as a
 * shared object named example.so in the plugin directory.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "aiojobs_plugin.h"

static cJSON *
example_upper(const cJSON *input, char **error)
{
	cJSON	*out;
	char	*s;
	size_t	 i;

	if (!cJSON_IsString(input)) {
		*error = strdup("example.upper: input must be a string");
		return (NULL);
	}
	if ((s = strdup(input->valuestring)) == NULL)
		return (NULL);
	for (i = 0; s[i] != '\0'; i++)
		s[i] = (char)toupper((unsigned char)s[i]);
	out = cJSON_CreateString(s);
	free(s);
	return (out);
}

static cJSON *
example_sum(const cJSON *input, char **error)
{
	const cJSON	*e;
	double		 sum = 0;

	if (!cJSON_IsArray(input)) {
		*error = strdup("example.sum: input must be an array of numbers");
		return (NULL);
	}
	cJSON_ArrayForEach(e, input) {
		if (!cJSON_IsNumber(e)) {
			*error = strdup("example.sum: not a number in the input");
			return (NULL);
		}
		sum += e->valuedouble;
	}
	return (cJSON_CreateNumber(sum));
}

static const struct aiojobs_plugin_fn example_fns[] = {
	{ "upper", example_upper },
	{ "sum", example_sum },
	{ NULL, NULL }
};

static const struct aiojobs_plugin example_plugin = {
	AIOJOBS_PLUGIN_ABI, "example", example_fns
};

const struct aiojobs_plugin *aiojobs_plugin_init(void);

const struct aiojobs_plugin *
aiojobs_plugin_init(void)
{
	return (&example_plugin);
}
