/*
 * Where things are when the configuration does not say: the file
 * itself, the run directory and the state directory. The environment
 * decides (AIOJOBS_*, then the directories systemd made for the unit,
 * then XDG and HOME), so these read it and nothing else.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "endpoint.h"
#include "xmalloc.h"

/* Where the file is when --config does not say: systemd's, then ours. */
char *
config_default_path(void)
{
	const char	*s;
	char		*path;

	if ((s = getenv("AIOJOBS_CONFIG")) != NULL && *s != '\0')
		return (xstrdup(s));
	if ((s = getenv("CONFIGURATION_DIRECTORY")) != NULL && *s != '\0') {
		xasprintf(&path, "%.*s/aiojobsd.conf", (int)strcspn(s, ":"),
		    s);
		return (path);
	}
	if (geteuid() == 0)
		return (xstrdup(AIOJOBS_SYSCONFDIR "/aiojobsd/aiojobsd.conf"));
	if ((s = getenv("XDG_CONFIG_HOME")) != NULL && *s != '\0') {
		xasprintf(&path, "%s/aiojobsd/aiojobsd.conf", s);
		return (path);
	}
	if ((s = getenv("HOME")) != NULL && *s != '\0') {
		xasprintf(&path, "%s/.config/aiojobsd/aiojobsd.conf", s);
		return (path);
	}
	return (NULL);
}

/* The first directory of a systemd *_DIRECTORY variable, or NULL. */
static char *
config_systemd_dir(const char *var)
{
	const char	*s = getenv(var);

	if (s == NULL || *s == '\0')
		return (NULL);
	return (xstrndup(s, strcspn(s, ":")));
}

/*
 * The state directory: AIOJOBS_STATE_DIR, the one systemd made, then
 * where the job store lives by default for root or the user.
 */
static char *
config_state_dir(const char *rundir)
{
	const char	*s;
	char		*dir;

	if ((s = getenv("AIOJOBS_STATE_DIR")) != NULL && *s != '\0')
		return (xstrdup(s));
	if ((dir = config_systemd_dir("STATE_DIRECTORY")) != NULL)
		return (dir);
	if (geteuid() == 0)
		return (xstrdup("/var/lib/aiojobsd"));
	if ((s = getenv("XDG_STATE_HOME")) != NULL && *s != '\0') {
		xasprintf(&dir, "%s/aiojobsd", s);
		return (dir);
	}
	if ((s = getenv("HOME")) != NULL && *s != '\0') {
		xasprintf(&dir, "%s/.local/state/aiojobsd", s);
		return (dir);
	}
	xasprintf(&dir, "%s/state", rundir);
	return (dir);
}

/*
 * Fill in what depends on the environment (PROTOCOL section 1): the run
 * and state directories (the ones systemd made for us when it did, unless
 * AIOJOBS_* says otherwise) and the endpoints in the run directory.
 */
void
config_resolve(struct config *c)
{
	const char	*s;

	if (c->rundir == NULL) {
		s = getenv("AIOJOBS_RUNDIR");
		if (s == NULL || *s == '\0')
			c->rundir = config_systemd_dir("RUNTIME_DIRECTORY");
		if (c->rundir == NULL)
			c->rundir = endpoint_rundir();
	}
	if (c->url == NULL)
		c->url = endpoint_control_url(c->rundir);
	if (c->events_url == NULL)
		c->events_url = endpoint_events_url(c->rundir);
	if (c->state_dir == NULL)
		c->state_dir = config_state_dir(c->rundir);
}
