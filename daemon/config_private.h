/*
 * What the parts of the configuration share and nobody else needs; the
 * public interface is config.h. Calls go one way: config_file.c and
 * config_print.c call config.c; config.c calls config_queue.c,
 * config_listen.c and config_access.c; config_prepare.c calls
 * config_listen.c; any of them may call the leaves config_value.c and
 * config_url.c. Nothing calls back up, so no two of them call each other.
 */
#ifndef CONFIG_PRIVATE_H
#define CONFIG_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define CONFIG_QUEUE_PREFIX	"queue."
#define CONFIG_LISTEN_PREFIX	"listen."

enum config_type {
	CT_COUNT,
	CT_SIZE,
	CT_DURATION,
	CT_STRING,
	CT_BOOL,
	CT_DURABILITY,
	CT_LOG_LEVEL,
	CT_LISTEN,
	CT_URLS,	/* control endpoints to add, one listen = per URL */
	CT_MODE,	/* socket file mode: 0600, 0660 or 0666; 0: by group */
};

/* One entry of the key table in config.c. */
struct config_key {
	const char		*section;
	const char		*name;
	const char		*flag;		/* long option, NULL for none */
	enum config_type	 type;
	size_t			 off;
	int64_t			 min;
	int64_t			 max;
	int			 reload;	/* SIGHUP applies it */
};

/* Key k's field in a struct config, writable or not. */
#define FIELD(c, k, t)	((t *)(void *)((char *)(c) + (k)->off))
#define CFIELD(c, k, t)	\
	((const t *)(const void *)((const char *)(c) + (k)->off))

/* config.c */
const struct config_key *config_key_at(int);
const char *config_log_level_name(int);

/* config_value.c */
int	 config_value_int(const char *, int64_t *);
int	 config_value_size(const char *, int64_t *);
int	 config_value_bool(const char *, int *);
int	 config_value_hostport(const char *);
int	 config_value_text(const char *, const char *, char **);

/* config_listen.c */
struct config_listen *config_listen_new(struct config *, const char *,
	     const char *);
int	 config_listen_set_urls(struct config *, const char *, const char *,
	     char **);
int	 config_listen_set(struct config *, const char *, const char *,
	     const char *, char **);
int	 config_listen_section(struct config *, const char *, int, char **);

/* config_queue.c */
int	 config_queue_set(struct config *, const char *, const char *,
	     const char *, char **);

/* config_url.c */
int	 config_url_check(const char *, const char *, char **);

#endif
