/*
 * What http jobs are made of: their args decoded (http_args.c) and
 * what they share, the resolver and TLS (http_env.c): kind_http.c's.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

struct evdns_base;
struct event_base;

/* Decoded args of an http job (http_args.c). */
struct http_args {
	char		 *url;
	int		  method;	/* enum evhttp_cmd_type */
	const char	 *method_name;
	char		**headers;	/* name, value, name, value... */
	size_t		  nheaders;
	char		 *body;		/* NULL when absent */
	size_t		  body_len;
	int64_t		  max_body;
	int64_t		  follow_redirects;
	int		  fail_on_status;
};

/* http_args.c */
int	 http_args_parse(const char *, struct http_args *, struct msg_error *);
int	 http_args_url(const char *, struct msg_error *);
void	 http_args_free(struct http_args *);

/* What http jobs share: resolver, TLS, settings (kind_http.c). */
struct http_env {
	struct evdns_base	*dns;
	void			*tls;		/* SSL_CTX, made on first use */
	char			*tls_ca_file;
	int			 tls_verify;
	int64_t			 connect_timeout_ms;
	int			 max_conns;	/* open connections at most */
	int			 nconns;
};

/* http_env.c */
struct http_env *http_env_create(struct event_base *, const char *, int,
	    int64_t, char **);
void	 http_env_free(struct http_env *);
void	*http_env_ssl(struct http_env *, const char *, char **);

#endif
