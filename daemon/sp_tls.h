/* TLS for SP endpoints (tls+tcp://): the server's side, on OpenSSL. */
#ifndef SP_TLS_H
#define SP_TLS_H

#include <stddef.h>

struct ssl_ctx_st;

struct ssl_ctx_st *sp_tls_server(const char *, const char *, const char *,
		    char **);
void		 sp_tls_free(struct ssl_ctx_st *);
void		 sp_tls_why(unsigned long, char *, size_t);

#endif
