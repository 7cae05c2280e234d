/* The table of job kinds: adding a kind is one file and one line here. */
#include <string.h>

#include "aiojobsd.h"

extern const struct kind kind_cpu;
extern const struct kind kind_exec;
extern const struct kind kind_http;
extern const struct kind kind_sleep;

static const struct kind *kinds[] = {
	&kind_cpu,
	&kind_exec,
	&kind_http,
	&kind_sleep,
};

const struct kind *
kind_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (strcmp(kinds[i]->name, name) == 0)
			return (kinds[i]);
	}
	return (NULL);
}

int
kind_count(void)
{
	return ((int)(sizeof kinds / sizeof kinds[0]));
}

const struct kind *
kind_at(int i)
{
	return (kinds[i]);
}

int
kind_index(const struct kind *kind)
{
	int	 i;

	for (i = 0; i < kind_count(); i++) {
		if (kinds[i] == kind)
			return (i);
	}
	return (-1);
}
