/*
 * What the parts of the configuration share and nobody else needs:
 * config.c holds the key table and config_set; config_value.c and
 * config_url.c are leaves that check values. Calls go from the file
 * reader and the printer down to config.c, and from there down to the
 * leaves, never back up. The public interface is config.h.
 */
#ifndef CONFIG_PRIVATE_H
#define CONFIG_PRIVATE_H

#include <stdint.h>

#include "config.h"

#define CONFIG_QUEUE_PREFIX	"queue."
#define CONFIG_LISTEN_PREFIX	"listen."

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
