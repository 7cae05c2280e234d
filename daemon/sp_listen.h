/* A listening socket on an ipc:// or tcp:// URL, on the daemon's loop. */
#ifndef SP_LISTEN_H
#define SP_LISTEN_H

struct event_base;
struct sp_listen;

/* A connection was taken: its descriptor, non-blocking, now the callee's. */
typedef void	 sp_listen_cb(int, void *);

struct sp_listen *sp_listen_open(struct event_base *, const char *,
		    sp_listen_cb *, void *, char **);
void		 sp_listen_free(struct sp_listen *);

#endif
