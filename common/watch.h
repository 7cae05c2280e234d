/* A subscriber to the event endpoint: a SUB socket and its topic prefixes. */
#ifndef WATCH_H
#define WATCH_H

#include <stddef.h>

struct watch;

struct watch	*watch_open(const char *, const char *const *, size_t, char **);
void		 watch_close(struct watch *);
int		 watch_fd(struct watch *);
int		 watch_recv(struct watch *, char **, size_t *, char **);

#endif
