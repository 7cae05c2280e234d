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

/* config_value.c */
int	 config_value_int(const char *, int64_t *);
int	 config_value_size(const char *, int64_t *);
int	 config_value_bool(const char *, int *);
int	 config_value_hostport(const char *);
int	 config_value_text(const char *, const char *, char **);

/* config_url.c */
int	 config_url_check(const char *, const char *, char **);

#endif
