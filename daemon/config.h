/*
 * The daemon's configuration: defaults, then the file (aiojobsd.conf,
 * parsed with inih), then command-line flags. One key table drives all
 * three and SIGHUP reload; see config.c.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include <bsd/sys/queue.h>

/* One [queue.NAME] section; only the keys it names are applied. */
#define CONFIG_Q_LIMIT		0x1
#define CONFIG_Q_RATE		0x2
#define CONFIG_Q_PAUSED		0x4

struct config_queue {
	char				*name;
	int				 set;	/* CONFIG_Q_* */
	int64_t				 limit;
	double				 rate;
	int				 paused;
	TAILQ_ENTRY(config_queue)	 entry;
};
TAILQ_HEAD(config_queues, config_queue);

/*
 * An extra control endpoint: one [listen.NAME] section, or a URL of
 * [endpoints] listen / --listen (name NULL, the default policy).
 */
#define CONFIG_KINDS_ALL	(~0U)

struct config_listen {
	char				*name;	/* NULL: listen = URL */
	char				*url;
	char				*token;	/* token = (literal) */
	char				*token_file;
	char				*secret;	/* the token in force */
	int				 allow_exec;	/* -1: ipc yes */
	unsigned int			 kinds;	/* bit per kind index */
	int				 insecure_no_token;
	int				 insecure_plain_token;
	char				*tls_cert_file;	/* tls+tcp:// only */
	char				*tls_key_file;
	char				*tls_client_ca_file;	/* or NULL */
	int				 line;	/* of its [section] */
	TAILQ_ENTRY(config_listen)	 entry;
};
TAILQ_HEAD(config_listens, config_listen);

/* One key of [access]: an op or a kind, and who may use it. */
struct config_rule {
	char				*name;
	char				*who;	/* users, uids, @groups */
	TAILQ_ENTRY(config_rule)	 entry;
};
TAILQ_HEAD(config_rules, config_rule);

/* One [user.NAME] section: a user that tcp and tls clients act as. */
#define CONFIG_USER_PREFIX	"user."
struct config_user {
	char				*name;
	char				*token;		/* token = */
	char				*token_file;
	char				*secret;	/* the token in force */
	TAILQ_ENTRY(config_user)	 entry;
};
TAILQ_HEAD(config_users, config_user);

/* A flag given on the command line, re-applied over the file on reload. */
struct config_arg {
	int			 key;	/* index in the key table */
	char			*value;
	TAILQ_ENTRY(config_arg)	 entry;
};
TAILQ_HEAD(config_args, config_arg);

struct config {
	char			*path;		/* file read, NULL for none */
	int			 path_given;	/* missing file is an error */

	/* [daemon] */
	int			 log_level;	/* LOG_LEVEL_* */
	int64_t			 limit;
	int64_t			 pending_limit;
	int64_t			 max_request_bytes;
	int64_t			 max_hold_ms;
	int64_t			 kill_grace_ms;
	int64_t			 shutdown_timeout_ms;

	/* [endpoints] */
	char			*rundir;
	char			*url;
	char			*events_url;
	char			*metrics_listen;	/* host:port, NULL off */
	struct config_listens	 listens;	/* [listen.NAME], listen = */
	char			*control_token_file;
	char			*socket_group;
	int64_t			 socket_mode;	/* 0: by socket_group */
	char			*events_socket_group;	/* NULL: socket_group */
	int64_t			 events_socket_mode;	/* 0: as socket_mode */

	/* [pool] */
	int64_t			 workers;
	char			*plugin_dir;
	int64_t			 worker_memory_limit;
	int64_t			 worker_cpu_limit;
	char			*worker_user;	/* NULL: the daemon's user */

	/* [http] */
	char			*tls_ca_file;
	int			 tls_verify;
	int64_t			 http_connect_timeout_ms;

	/* [store] */
	char			*state_dir;
	int			 durability_safe;
	int64_t			 retention_ms;	/* 0: keep forever */

	struct config_queues	 queues;
	struct config_rules	 rules;		/* [access] */
	struct config_users	 users;		/* [user.NAME] */

	/* filled by config_prepare at start, from the keys above */
	char			*control_token;	/* NULL: none */
	int64_t			 socket_gid;	/* -1: the daemon's own */
	int64_t			 events_socket_gid;
};

void	 config_defaults(struct config *);
int	 config_access_set(struct config *, const char *, const char *,
	     const char *, char **);
void	 config_access_free_secret(char *);
void	 config_access_clear(struct config *);
void	 config_access_print(const struct config *, FILE *);
void	 config_access_take(struct config *, struct config *);
void	 config_clear(struct config *);
void	 config_queues_clear(struct config_queues *);
int	 config_load(struct config *, const char *, int, char **);
int	 config_set(struct config *, const char *, const char *,
	     const char *, char **);
int	 config_key_find(const char *, const char *);
void	 config_resolve(struct config *);
int	 config_apply_args(struct config *, const struct config_args *,
	     char **);
void	 config_args_free(struct config_args *);
int	 config_prepare(struct config *, char **);
int	 config_prepare_users(struct config *, char **);
void	 config_listens_clear(struct config_listens *);
int	 config_listens_equal(const struct config *, const struct config *);
int	 config_listen_exec(const struct config_listen *);
const char *config_listen_name(const struct config_listen *);
int	 config_url_loopback(const char *);
int	 config_url_tls(const char *);
int	 config_socket_mode(const struct config *);
int	 config_events_mode(const struct config *);
void	 config_kind_names(unsigned int, char *, size_t);
void	 config_format(const struct config *, int, char *, size_t);
void	 config_print(const struct config *, FILE *);
char	*config_default_path(void);

size_t	 config_nkeys(void);
const char *config_key_name(int);
const char *config_key_section(int);
const char *config_key_flag(int);
int	 config_reloadable(int);
int	 config_key_equal(const struct config *, const struct config *, int);
void	 config_key_copy(struct config *, const struct config *, int);

#endif
