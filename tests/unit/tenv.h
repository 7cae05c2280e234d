/*
 * What the unit tests of control.c and wait.c share: a daemon's state
 * (struct aiojobsd with its loop, a scheduler without a store, the
 * access rules of its configuration) and control endpoints (ipc paths
 * in a temporary directory, tcp on a port the kernel picks), whose
 * requests come to the test instead of ops.c; and raw REQ clients that
 * write SP bytes as any peer would. The test turns the loop itself.
 */
#ifndef TENV_H
#define TENV_H

#include <stddef.h>
#include <stdint.h>

#include "aiojobsd.h"

/* Requests a test may send in all: more than an endpoint will hold. */
#define TENV_REQS_MAX	8192

struct tenv {
	struct aiojobsd	 aj;
	char		 dir[64];
	/* every request the endpoints took, in the order they came */
	struct creq	*reqs[TENV_REQS_MAX];
	int		 nreqs;
};

extern struct tenv	 tenv;

void		 tenv_setup(void);
void		 tenv_teardown(void);
void		 tenv_access(void);
struct control	*tenv_control(struct config_listen *);
struct control	*tenv_control_ipc(const char *, const char *);
void		 tenv_close(struct control *);
void		 tenv_turn(void);
void		 tenv_until_requests(int);
int		 tenv_client(struct control *);
int		 tenv_tcp_port(void);
int		 tenv_client_tcp(const char *, int);
void		 tenv_send(int, uint32_t, const char *);
char		*tenv_recv(int, uint32_t);
struct msg_in	*tenv_recv_json(int, uint32_t);
int		 tenv_silent(int);
int		 tenv_closed(int);
const char	*tenv_body(struct creq *);

#endif
