/*
 * An exec job's args decoded (exec_args.c), and where its program is
 * found on PATH (exec_path.c): kind_exec.c's.
 */
#ifndef EXEC_ARGS_H
#define EXEC_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

/* Decoded args of an exec job (exec_args.c). */
struct exec_args {
	char		**argv;
	size_t		  argc;
	char		**env;		/* "NAME=value" */
	size_t		  nenv;
	int		  clear_env;
	char		 *cwd;
	char		 *stdin_data;
	size_t		  stdin_len;
	int		  has_stdin;
	int64_t		  max_output;
};

/* exec_args.c */
int	 exec_args_parse(const char *, struct exec_args *, struct msg_error *);
void	 exec_args_free(struct exec_args *);
char	**exec_args_envp(struct exec_args *, char **, char **);

/* exec_path.c */
const char *exec_path_find(const char *, int64_t);

#endif
