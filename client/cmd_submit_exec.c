/*
 * submit exec: a command line as the args of an exec job; and the --wait
 * of one exec job, which behaves like running the command here: its output
 * on ours, its exit status as ours (with a shell's numbers for a signal
 * and for a command that cannot run).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aiojobctl.h"
#include "base64.h"
#include "msg.h"
#include "output.h"
#include "xmalloc.h"

/* Requests are at most 1 MiB by default: leave room for the rest. */
#define CMD_SUBMIT_EXEC_STDIN_MAX	(900 * 1024)
#define CMD_SUBMIT_EXEC_NOT_RUN		127	/* as a shell: cannot run */
#define CMD_SUBMIT_EXEC_SIGNALLED	128	/* plus the signal number */

/* The options of exec, gathered before the args are written. */
struct cmd_submit_exec_opts {
	char		**keys;		/* of --env NAME=VALUE; owned */
	const char	**values;
	size_t		  nenv;
	int		  clear_env;
	char		 *cwd;		/* owned, NULL for none */
	char		 *stdin_data;	/* owned, NULL for none */
	size_t		  stdin_len;
	int64_t		  max_output;	/* -1: not given */
};

static void
cmd_submit_exec_clear(struct cmd_submit_exec_opts *eo)
{
	size_t	 i;

	for (i = 0; i < eo->nenv; i++)
		free(eo->keys[i]);
	free(eo->keys);
	free(eo->values);
	free(eo->cwd);
	free(eo->stdin_data);
}

/* What a JSON string can carry: well-formed UTF-8 without NUL. */
static int
cmd_submit_exec_utf8(const char *s, size_t len)
{
	return (memchr(s, '\0', len) == NULL &&
	    msg_utf8_valid((const unsigned char *)s, len));
}

/* --env NAME=VALUE: NAME is not empty (and cannot hold '='). */
static int
cmd_submit_exec_env(struct ctl *ctl, struct cmd_submit_exec_opts *eo,
    const char *arg)
{
	const char	*eq = strchr(arg, '=');

	if (eq == NULL || eq == arg)
		return (ctl_usage_error(ctl, "--env '%s': must be NAME=VALUE "
		    "with a non-empty NAME", arg));
	eo->keys = xreallocarray(eo->keys, eo->nenv + 1, sizeof *eo->keys);
	eo->values = xreallocarray(eo->values, eo->nenv + 1,
	    sizeof *eo->values);
	eo->keys[eo->nenv] = xstrndup(arg, (size_t)(eq - arg));
	eo->values[eo->nenv++] = eq + 1;
	return (0);
}

/* --cwd DIR: a relative DIR is taken from our current directory. */
static int
cmd_submit_exec_cwd(struct ctl *ctl, struct cmd_submit_exec_opts *eo,
    const char *dir)
{
	char	*here;

	free(eo->cwd);
	eo->cwd = NULL;
	if (*dir == '\0')
		return (ctl_usage_error(ctl, "--cwd needs a directory"));
	if (*dir == '/') {
		eo->cwd = xstrdup(dir);
		return (0);
	}
	if ((here = getcwd(NULL, 0)) == NULL)
		return (ctl_usage_error(ctl, "--cwd %s: the current directory "
		    "is unknown: %s", dir, strerror(errno)));
	if (strcmp(dir, ".") == 0) {
		eo->cwd = here;
		return (0);
	}
	xasprintf(&eo->cwd, "%s%s%s", here, strcmp(here, "/") == 0 ? "" :
	    "/", dir);
	free(here);
	return (0);
}

/*
 * --stdin-file F|-: its contents, that fit in a request: as text, or as
 * base64 (4 bytes for 3) when they are not UTF-8 text.
 */
static int
cmd_submit_exec_stdin(struct ctl *ctl, struct cmd_submit_exec_opts *eo,
    const char *path)
{
	free(eo->stdin_data);
	if (parse_file("--stdin-file", path, CMD_SUBMIT_EXEC_STDIN_MAX,
	    &eo->stdin_data, &eo->stdin_len) != 0)
		return (CTL_EXIT_USAGE);
	if (!msg_bytes_text(eo->stdin_data, eo->stdin_len) &&
	    base64_encoded_len(eo->stdin_len) > CMD_SUBMIT_EXEC_STDIN_MAX)
		return (ctl_usage_error(ctl, "--stdin-file %s: larger than %d "
		    "KiB of bytes that are not UTF-8 text (they travel as "
		    "base64)", strcmp(path, "-") == 0 ? "(standard input)" :
		    path, CMD_SUBMIT_EXEC_STDIN_MAX / 4 * 3 / 1024));
	return (0);
}

/* The options after exec; "+" stops them at the command, as "--" does. */
static int
cmd_submit_exec_opts(struct ctl *ctl, int argc, char **argv,
    struct cmd_submit_exec_opts *eo)
{
	static const struct option	 opts[] = {
		{ "env", required_argument, NULL, 'e' },
		{ "clear-env", no_argument, NULL, 'c' },
		{ "cwd", required_argument, NULL, 'C' },
		{ "stdin-file", required_argument, NULL, 'i' },
		{ "max-output", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch, r = 0;

	optind = 0;
	while (r == 0 && (ch = ctl_getopt(ctl, argc, argv, "+:", opts)) != -1) {
		if (ch == 'e')
			r = cmd_submit_exec_env(ctl, eo, optarg);
		else if (ch == 'c')
			eo->clear_env = 1;
		else if (ch == 'C')
			r = cmd_submit_exec_cwd(ctl, eo, optarg);
		else if (ch == 'i')
			r = cmd_submit_exec_stdin(ctl, eo, optarg);
		else if (ch != 'm' || parse_int(ctl, "--max-output", optarg,
		    0, MSG_INT_MAX, &eo->max_output) != 0)
			r = CTL_EXIT_USAGE;
	}
	return (r);
}

/* A command is given, and every string can travel as JSON. */
static int
cmd_submit_exec_check(struct ctl *ctl, struct cmd_submit_exec_opts *eo,
    int argc, char **argv)
{
	size_t	 i;
	int	 k;

	if (argc == 0)
		return (ctl_usage_error(ctl, "exec: no command given: exec "
		    "[OPTIONS] -- COMMAND [ARG...]"));
	if (*argv[0] == '\0')
		return (ctl_usage_error(ctl, "exec: the command is empty"));
	for (k = 0; k < argc; k++) {
		if (!cmd_submit_exec_utf8(argv[k], strlen(argv[k])))
			return (ctl_usage_error(ctl, "exec: argument %d of the "
			    "command is not UTF-8", k));
	}
	for (i = 0; i < eo->nenv; i++) {
		if (!cmd_submit_exec_utf8(eo->keys[i], strlen(eo->keys[i])) ||
		    !cmd_submit_exec_utf8(eo->values[i],
		    strlen(eo->values[i])))
			return (ctl_usage_error(ctl, "--env %s: not UTF-8",
			    eo->keys[i]));
	}
	if (eo->cwd != NULL && !cmd_submit_exec_utf8(eo->cwd, strlen(eo->cwd)))
		return (ctl_usage_error(ctl, "--cwd: not UTF-8"));
	return (0);
}

/* Whether a later --env sets the same name: the last one wins. */
static int
cmd_submit_exec_env_later(struct cmd_submit_exec_opts *eo, size_t i)
{
	size_t	 k;

	for (k = i + 1; k < eo->nenv; k++) {
		if (strcmp(eo->keys[k], eo->keys[i]) == 0)
			return (1);
	}
	return (0);
}

static void
cmd_submit_exec_args(struct msg_out *o, struct cmd_submit_exec_opts *eo,
    int argc, char **argv)
{
	size_t	 i;
	int	 k;

	msg_out_array(o, "argv");
	for (k = 0; k < argc; k++)
		msg_out_string(o, NULL, argv[k]);
	msg_out_close(o);
	if (eo->nenv > 0) {
		msg_out_object(o, "env");
		for (i = 0; i < eo->nenv; i++) {
			if (!cmd_submit_exec_env_later(eo, i))
				msg_out_string(o, eo->keys[i], eo->values[i]);
		}
		msg_out_close(o);
	}
	if (eo->clear_env)
		msg_out_bool(o, "clear_env", 1);
	/* like running the command here: our directory unless --cwd */
	if (eo->cwd == NULL)
		eo->cwd = getcwd(NULL, 0);
	if (eo->cwd != NULL)
		msg_out_string(o, "cwd", eo->cwd);
	if (eo->stdin_data != NULL)
		msg_out_output(o, "stdin", eo->stdin_data, eo->stdin_len);
	if (eo->max_output != -1)
		msg_out_int(o, "max_output", eo->max_output);
}

/* exec [OPTIONS] [--] COMMAND [ARG...], argv[0] being "exec". */
int
cmd_submit_exec_build(struct ctl *ctl, int argc, char **argv,
    struct msg_out *o)
{
	struct cmd_submit_exec_opts	 eo;
	int				 r;

	memset(&eo, 0, sizeof eo);
	eo.max_output = -1;
	if ((r = cmd_submit_exec_opts(ctl, argc, argv, &eo)) == 0 &&
	    (r = cmd_submit_exec_check(ctl, &eo, argc - optind,
	    argv + optind)) == 0)
		cmd_submit_exec_args(o, &eo, argc - optind, argv + optind);
	cmd_submit_exec_clear(&eo);
	return (r);
}

/*
 * The exit code of an ended exec job, as a shell would give it: the
 * command's, 128 + the signal that killed it, 127 when it could not run,
 * else 1 with the reason (a timeout, a cancel).
 */
static int
cmd_submit_exec_status(struct msg_in *job)
{
	struct msg_in	*res = msg_in_object(job, "result");
	struct msg_view	 v;
	int64_t		 n;

	msg_in_view(job, &v);
	if (v.state != NULL && strcmp(v.state, "succeeded") == 0)
		return (CTL_EXIT_OK);
	if (v.error_code != NULL && strcmp(v.error_code, "exit_status") == 0) {
		if (msg_in_int(res, "exit_code", &n, NULL) == 1 && n >= 0 &&
		    n <= 255)
			return ((int)n);
		if (msg_in_int(res, "signal", &n, NULL) == 1 && n > 0 &&
		    n < 128)
			return (CMD_SUBMIT_EXEC_SIGNALLED + (int)n);
	}
	if (v.error_code != NULL && strcmp(v.error_code, "spawn_failed") == 0) {
		ctl_warnx("%s", output_str(v.error_message));
		return (CMD_SUBMIT_EXEC_NOT_RUN);
	}
	ctl_warnx("job %lld %s: %s", (long long)v.id, output_str(v.state),
	    v.error_message != NULL ? v.error_message :
	    output_str(v.error_code));
	return (CTL_EXIT_JOB);
}

/* submit --wait exec: wait, write the output, exit as the command did. */
int
cmd_submit_exec_wait(struct ctl *ctl, int64_t id)
{
	struct ctl_reply	 rep;
	struct msg_in		*job;
	int			 r, bad, w = 0;

	r = cmd_wait_final(ctl, &id, 1, MSG_ALL_COMPLETED, -1, &rep, &bad);
	if (r != 0)
		return (r);
	job = msg_in_array_at(rep.in, "done", 0);
	if (!request_json(ctl, &rep) && job != NULL)
		w = cmd_logs_write(ctl, job, CMD_LOGS_STDOUT | CMD_LOGS_STDERR);
	if (job == NULL) {
		ctl_warnx("job %lld has not ended", (long long)id);
		r = CTL_EXIT_JOB;
	} else
		r = cmd_submit_exec_status(job);
	if (w == -1 && r == CTL_EXIT_OK)
		r = CTL_EXIT_JOB;
	request_reply_free(&rep);
	return (r);
}
