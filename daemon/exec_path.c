/*
 * Where a command named without a slash lives, looked up in the daemon's
 * PATH as posix_spawnp would, and remembered for a second: otherwise every
 * spawn tries execve in each PATH directory before the right one, with the
 * daemon waiting for it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aiojobsd.h"
#include "exec_args.h"
#include "xmalloc.h"

#define EXEC_PATH_SLOTS		64
#define EXEC_PATH_TTL_MS	1000

struct exec_path_slot {
	char		*name;
	char		*path;
	int64_t		 expires;
};

/* The cache of this process; only the event loop touches it. */
static struct exec_path_slot	exec_path_cache[EXEC_PATH_SLOTS];

static char *
exec_path_search(const char *name)
{
	const char	*path = getenv("PATH"), *p, *end;
	char		*full;
	size_t		 len;

	if (path == NULL)
		path = "/usr/local/bin:/bin:/usr/bin";
	for (p = path; *p != '\0'; p = *end == ':' ? end + 1 : end) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		xasprintf(&full, "%.*s%s%s", (int)len, len == 0 ? "." : p,
		    "/", name);
		if (access(full, X_OK) == 0)
			return (full);
		free(full);
	}
	return (NULL);
}

/*
 * The path to spawn for argv[0]: itself when it holds a slash, else the
 * PATH entry (cached); NULL when there is none (ENOENT, as execvp says).
 */
const char *
exec_path_find(const char *name, int64_t now)
{
	struct exec_path_slot	*slot, *victim = &exec_path_cache[0];
	size_t			 i;

	if (strchr(name, '/') != NULL)
		return (name);
	for (i = 0; i < EXEC_PATH_SLOTS; i++) {
		slot = &exec_path_cache[i];
		if (slot->name != NULL && strcmp(slot->name, name) == 0 &&
		    slot->expires > now)
			return (slot->path);
		if (slot->expires < victim->expires)
			victim = slot;
	}
	free(victim->name);
	free(victim->path);
	victim->name = xstrdup(name);
	victim->path = exec_path_search(name);
	victim->expires = now + EXEC_PATH_TTL_MS;
	return (victim->path);
}
