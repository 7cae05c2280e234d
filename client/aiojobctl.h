/*
 * aiojobctl: what the files of the command line client share. aiojobctl.c
 * holds the subcommand table, request.c talks to the daemon, parse.c reads
 * argument values, cmd_<name>.c are the subcommands, output*.c print.
 */
#ifndef AIOJOBCTL_H
#define AIOJOBCTL_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "transport.h"

#define CTL_EXIT_OK		0
#define CTL_EXIT_JOB		1	/* a job failed, or a wait timed out */
#define CTL_EXIT_USAGE		2
#define CTL_EXIT_UNREACHABLE	3
#define CTL_EXIT_ERROR		4	/* aiojobsd replied with an error */
#define CTL_EXIT_NOT_DURABLE	5	/* jobs exist, not yet on disk */
#define CTL_EXIT_KEPT		(-1)	/* request_call_keep: rep is yours */

struct aiojobs;
struct ctl;

/* A subcommand: usage is "aiojobctl NAME ARGS", then HELP. */
struct ctl_cmd {
	const char	*name;
	const char	*args;
	const char	*help;
	int		 min;
	int		 max;		/* -1: no limit */
	int		(*fn)(struct ctl *, int, char **);
};

/* The run of aiojobctl: global options and the connection. */
struct ctl {
	const char		*url;		/* --url, NULL for the default */
	const char		*events_url;	/* --events-url */
	const char		*token;		/* --token */
	const char		*token_file;	/* --token-file */
	struct transport_tls	 tls;		/* --tls-* flags */
	int			 json;
	char			*rundir;
	char			*control;	/* the control URL in use */
	struct aiojobs		*client;	/* libaiojobs */
	const struct ctl_cmd	*cmd;
};

/* A reply as received, and parsed. */
struct ctl_reply {
	char		*raw;
	struct msg_in	*in;
};

/* Prints an ok reply for people. */
typedef void	request_print_cb(struct msg_in *);

/* Prints the final reply of a wait for n jobs for people. */
typedef void	cmd_wait_print_cb(struct msg_in *, size_t);

/* aiojobctl.c */
void	 ctl_warnx(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
int	 ctl_usage_error(struct ctl *, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
int	 ctl_getopt(struct ctl *, int, char **, const char *,
	    const struct option *);
int	 ctl_nargs(struct ctl *, int);
int	 ctl_noopts(struct ctl *, int, char **, const char *);

/* request.c */
int	 request_bad_url(const char *, const char *);
struct msg_out *request_new(const char *);
int	 request_call(struct ctl *, const char *, int, struct ctl_reply *);
int	 request_call_keep(struct ctl *, const char *, int, const char *,
	    struct ctl_reply *);
int	 request_send(struct ctl *, struct msg_out *, int, struct ctl_reply *);
int	 request_simple(struct ctl *, struct msg_out *, request_print_cb *);
int	 request_json(struct ctl *, struct ctl_reply *);
void	 request_reply_free(struct ctl_reply *);

/* parse.c */
int	 parse_int(struct ctl *, const char *, const char *, int64_t, int64_t,
	    int64_t *);
int	 parse_id(struct ctl *, const char *, int64_t *);
int	 parse_ids(struct ctl *, int, char **, int64_t **, size_t *);
int	 parse_duration(struct ctl *, const char *, const char *, int64_t *);
int	 parse_rate(struct ctl *, const char *, double *);
int	 parse_file(const char *, const char *, size_t, char **, size_t *);

/* cmd_clean.c */
int	 cmd_clean(struct ctl *, int, char **);

/* cmd_daemon.c */
int	 cmd_ping(struct ctl *, int, char **);
int	 cmd_stats(struct ctl *, int, char **);
int	 cmd_queue(struct ctl *, int, char **);
int	 cmd_shutdown(struct ctl *, int, char **);
int	 cmd_reload(struct ctl *, int, char **);

/* cmd_jobs.c */
int	 cmd_status(struct ctl *, int, char **);
int	 cmd_list(struct ctl *, int, char **);
int	 cmd_cancel(struct ctl *, int, char **);

/* cmd_submit.c */
int	 cmd_submit(struct ctl *, int, char **);

/* cmd_submit_cpu.c */
int	 cmd_submit_cpu_build(struct ctl *, int, char **, struct msg_out *);

/* cmd_submit_exec.c */
int	 cmd_submit_exec_build(struct ctl *, int, char **, struct msg_out *);
int	 cmd_submit_exec_wait(struct ctl *, int64_t);

/* cmd_submit_http.c */
int	 cmd_submit_http_build(struct ctl *, int, char **, struct msg_out *);

/* cmd_logs.c */
#define CMD_LOGS_STDOUT		0x1
#define CMD_LOGS_STDERR		0x2

int	 cmd_logs(struct ctl *, int, char **);
int	 cmd_logs_write(struct ctl *, struct msg_in *, int);

/* cmd_wait.c */
int	 cmd_wait(struct ctl *, int, char **);
int	 cmd_wait_final(struct ctl *, int64_t *, size_t, int, int64_t,
	    struct ctl_reply *, int *);
int	 cmd_wait_for(struct ctl *, int64_t *, size_t, int, int64_t,
	    cmd_wait_print_cb *);

/* cmd_watch.c */
int	 cmd_watch(struct ctl *, int, char **);

#endif
