/* The arguments of an exec job (PROTOCOL 3.3), checked and decoded. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "exec_args.h"
#include "xmalloc.h"

#define EXEC_MAX_OUTPUT_DEFAULT	(1024 * 1024)

/*
 * Limits on what an exec job holds (docs/protocol.md, "Limits"), checked
 * when it is submitted. Linux itself takes at most 2 MiB of argv and
 * environment together (ARG_MAX), and 128 KiB in one string.
 */
#define EXEC_ARGV_MAX		4096		/* argv entries */
#define EXEC_ARGV_BYTES_MAX	(1024 * 1024)	/* argv strings in all */
#define EXEC_ENV_MAX		1024		/* env variables */
#define EXEC_ENV_BYTES_MAX	(256 * 1024)	/* "NAME=value" in all */
#define EXEC_CWD_MAX		4096		/* bytes, PATH_MAX */
#define EXEC_STDIN_MAX		(8 * 1024 * 1024)
#define EXEC_MAX_OUTPUT_MAX	(64 * 1024 * 1024)	/* max_output */

/*
 * The fields of exec args; any other is refused at submit. stdin_base64
 * is the binary form of stdin.
 */
static const char *const exec_args_fields[] = {
	"argv", "env", "clear_env", "cwd", "stdin", "stdin_base64",
	"max_output", NULL
};

static int
exec_args_fail(struct msg_error *err, const char *fmt, ...)
    __attribute__((__format__(__printf__, 2, 3)));

static int
exec_args_fail(struct msg_error *err, const char *fmt, ...)
{
	char	 what[400];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	msg_error_set(err, MSG_E_BAD_REQUEST, "exec: %s", what);
	return (-1);
}

/* A limit on a field of 'args'; the message names the field and limit. */
static int
exec_args_limit(struct msg_error *err, const char *field, size_t n,
    size_t max, const char *unit)
{
	if (n <= max)
		return (0);
	return (exec_args_fail(err, "field '%s' of 'args' has %zu %s; at "
	    "most %zu", field, n, unit, max));
}

/* The limits of a decoded exec job; 0 when it keeps them. */
static int
exec_args_limits(struct exec_args *ea, struct msg_error *err)
{
	size_t	 i, argv_bytes = 0, env_bytes = 0;

	for (i = 0; i < ea->argc; i++)
		argv_bytes += strlen(ea->argv[i]);
	for (i = 0; i < ea->nenv; i++)
		env_bytes += strlen(ea->env[i]);
	if (exec_args_limit(err, "argv", ea->argc, EXEC_ARGV_MAX,
	    "entries") != 0 ||
	    exec_args_limit(err, "argv", argv_bytes, EXEC_ARGV_BYTES_MAX,
	    "bytes in all") != 0 ||
	    exec_args_limit(err, "env", ea->nenv, EXEC_ENV_MAX,
	    "entries") != 0 ||
	    exec_args_limit(err, "env", env_bytes, EXEC_ENV_BYTES_MAX,
	    "bytes in all (NAME=value)") != 0 ||
	    exec_args_limit(err, "cwd", ea->cwd == NULL ? 0 : strlen(ea->cwd),
	    EXEC_CWD_MAX, "bytes") != 0 ||
	    exec_args_limit(err, "stdin", ea->stdin_len, EXEC_STDIN_MAX,
	    "bytes") != 0)
		return (-1);
	if (ea->max_output > EXEC_MAX_OUTPUT_MAX)
		return (exec_args_fail(err, "field 'max_output' of 'args' is "
		    "%lld; at most %d", (long long)ea->max_output,
		    EXEC_MAX_OUTPUT_MAX));
	return (0);
}

static int
exec_args_argv(struct msg_in *in, struct exec_args *ea, struct msg_error *err)
{
	const char	*s;
	size_t		 i, n = msg_in_array_len(in, "argv");

	if (n == 0)
		return (exec_args_fail(err, "field 'argv' of 'args' must be a "
		    "non-empty array of strings"));
	ea->argv = xcalloc(n + 1, sizeof *ea->argv);
	for (i = 0; i < n; i++) {
		if ((s = msg_in_array_string(in, "argv", i)) == NULL)
			return (exec_args_fail(err, "field 'argv' of 'args' "
			    "must be a non-empty array of strings"));
		ea->argv[i] = xstrdup(s);
	}
	if (*ea->argv[0] == '\0')
		return (exec_args_fail(err, "argv[0] must not be empty"));
	ea->argc = n;
	return (0);
}

static int
exec_args_env(struct msg_in *in, struct exec_args *ea, struct msg_error *err)
{
	struct msg_in	*env, *e;
	const char	*k, *v;
	size_t		 n = 0;

	if (!msg_in_has(in, "env"))
		return (0);
	if ((env = msg_in_object(in, "env")) == NULL)
		return (exec_args_fail(err, "field 'env' of 'args' must be an "
		    "object of strings"));
	for (e = msg_in_first(env); e != NULL; e = msg_in_next(e))
		n++;
	ea->env = xcalloc(n + 1, sizeof *ea->env);
	for (e = msg_in_first(env); e != NULL; e = msg_in_next(e)) {
		k = msg_in_key(e);
		if ((v = msg_in_value_string(e)) == NULL)
			return (exec_args_fail(err, "values of 'env' must be "
			    "strings"));
		if (*k == '\0' || strchr(k, '=') != NULL)
			return (exec_args_fail(err, "names in 'env' must be "
			    "non-empty and without '='"));
		xasprintf(&ea->env[ea->nenv++], "%s=%s", k, v);
	}
	return (0);
}

static int
exec_args_rest(struct msg_in *in, struct exec_args *ea, struct msg_error *err)
{
	const char	*s;
	int		 r;

	if (msg_in_bool(in, "clear_env", &ea->clear_env, err) == -1)
		return (exec_args_fail(err, "field 'clear_env' of 'args' must "
		    "be true or false"));
	if ((r = msg_in_string(in, "cwd", &s, err)) == -1)
		return (exec_args_fail(err, "field 'cwd' of 'args' must be a "
		    "string"));
	if (r == 1)
		ea->cwd = xstrdup(s);
	if ((r = msg_in_output(in, "stdin", "exec", &ea->stdin_data,
	    &ea->stdin_len, err)) == -1)
		return (-1);
	ea->has_stdin = r == 1;
	ea->max_output = EXEC_MAX_OUTPUT_DEFAULT;
	if ((r = msg_in_int(in, "max_output", &ea->max_output, err)) == -1 ||
	    ea->max_output < 0)
		return (exec_args_fail(err, "field 'max_output' of 'args' must "
		    "be an integer >= 0"));
	return (0);
}

/*
 * Decode exec args; on error err says which field is wrong. The limits
 * and unknown fields are checked when err is given (at submit): a job
 * accepted before is started (err NULL) whatever the limits are now.
 */
int
exec_args_parse(const char *json, struct exec_args *ea, struct msg_error *err)
{
	struct msg_in	*in;
	const char	*unknown;
	int		 r = -1;

	memset(ea, 0, sizeof *ea);
	if ((in = msg_in_parse(json, strlen(json), err)) == NULL)
		return (-1);
	if (err != NULL &&
	    (unknown = msg_strict_unknown(in, exec_args_fields)) != NULL)
		exec_args_fail(err, "unknown field '%.100s' of 'args'",
		    unknown);
	else if (exec_args_argv(in, ea, err) == 0 &&
	    exec_args_env(in, ea, err) == 0 &&
	    exec_args_rest(in, ea, err) == 0 &&
	    (err == NULL || exec_args_limits(ea, err) == 0))
		r = 0;
	msg_in_free(in);
	if (r != 0)
		exec_args_free(ea);
	return (r);
}

static void
exec_args_free_list(char **list)
{
	size_t	 i;

	if (list == NULL)
		return;
	for (i = 0; list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

void
exec_args_free(struct exec_args *ea)
{
	exec_args_free_list(ea->argv);
	exec_args_free_list(ea->env);
	free(ea->cwd);
	free(ea->stdin_data);
	memset(ea, 0, sizeof *ea);
}

/* Whether one of the n variables of list sets the name of var. */
static int
exec_args_sets(char **list, size_t n, const char *var)
{
	size_t	 j, klen = strcspn(var, "=") + 1;

	for (j = 0; j < n; j++) {
		if (strncmp(list[j], var, klen) == 0)
			return (1);
	}
	return (0);
}

static size_t
exec_args_count(char **list)
{
	size_t	 n = 0;

	while (list != NULL && list[n] != NULL)
		n++;
	return (n);
}

/*
 * The child's environment: the daemon's (unless clear_env), in which the
 * identity's variables (the owner's HOME, USER and LOGNAME, or NULL)
 * replace the daemon's, with the job's variables added or replacing
 * both. The strings are borrowed; free the array. systemd's
 * NOTIFY_SOCKET and WATCHDOG_* are the daemon's, not the job's: a job
 * that saw them would take itself for the service and send systemd
 * notifications of its own.
 */
char **
exec_args_envp(struct exec_args *ea, char **environ_in, char **ident)
{
	char	**envp;
	size_t	  n = 0, nident, i;

	if (ea->clear_env)
		environ_in = ident = NULL;
	nident = exec_args_count(ident);
	envp = xcalloc(exec_args_count(environ_in) + nident + ea->nenv + 1,
	    sizeof *envp);
	for (i = 0; environ_in != NULL && environ_in[i] != NULL; i++) {
		if (!exec_args_sets(ea->env, ea->nenv, environ_in[i]) &&
		    !exec_args_sets(ident, nident, environ_in[i]) &&
		    !child_env_private(environ_in[i]))
			envp[n++] = environ_in[i];
	}
	for (i = 0; i < nident; i++) {
		if (!exec_args_sets(ea->env, ea->nenv, ident[i]))
			envp[n++] = ident[i];
	}
	for (i = 0; i < ea->nenv; i++)
		envp[n++] = ea->env[i];
	return (envp);
}
