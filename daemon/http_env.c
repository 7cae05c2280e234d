/*
 * What every http job shares: the asynchronous resolver (evdns: a
 * blocking getaddrinfo on the loop is never an option), the TLS context
 * (system trust store or tls_ca_file, peer and host name verified), and a
 * cap on open connections below RLIMIT_NOFILE, past which jobs wait.
 */
#include <sys/resource.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "aiojobsd.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"

/* File descriptors kept free for everything but http connections. */
#define HTTP_FD_RESERVE	256

static SSL_CTX	*http_env_ctx(struct http_env *, char **);

static int
http_env_max_conns(void)
{
	struct rlimit	 rl;
	long		 n = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		n = (long)rl.rlim_cur;
	else if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		n = 1 << 20;
	n -= HTTP_FD_RESERVE;
	return (n < 16 ? 16 : (int)n);
}

struct http_env *
http_env_create(struct event_base *base, const char *ca_file, int verify,
    int64_t connect_timeout_ms, char **cause)
{
	struct http_env	*env;

	if (ca_file != NULL && access(ca_file, R_OK) == -1) {
		xasprintf(cause, "tls_ca_file %s: %s", ca_file,
		    strerror(errno));
		return (NULL);
	}
	env = xcalloc(1, sizeof *env);
	env->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (env->dns == NULL) {
		log_warnx("http: no usable /etc/resolv.conf; only /etc/hosts "
		    "and numeric addresses resolve");
		env->dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		evdns_base_load_hosts(env->dns, NULL);
	}
	evdns_base_set_option(env->dns, "timeout:", "3");
	evdns_base_set_option(env->dns, "attempts:", "2");
	env->tls_ca_file = ca_file != NULL ? xstrdup(ca_file) : NULL;
	env->tls_verify = verify;
	env->connect_timeout_ms = connect_timeout_ms;
	env->max_conns = http_env_max_conns();
	/* now, so that a bad tls_ca_file stops start-up, not each job */
	if (http_env_ctx(env, cause) == NULL) {
		http_env_free(env);
		return (NULL);
	}
	return (env);
}

void
http_env_free(struct http_env *env)
{
	if (env == NULL)
		return;
	evdns_base_free(env->dns, 1);
	if (env->tls != NULL)
		SSL_CTX_free(env->tls);
	free(env->tls_ca_file);
	free(env);
}

static SSL_CTX *
http_env_ctx(struct http_env *env, char **cause)
{
	SSL_CTX	*ctx;
	int	 ok;

	if (env->tls != NULL)
		return (env->tls);
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (env->tls_ca_file != NULL)
		ok = SSL_CTX_load_verify_locations(ctx, env->tls_ca_file, NULL);
	else
		ok = SSL_CTX_set_default_verify_paths(ctx);
	if (!ok) {
		SSL_CTX_free(ctx);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, env->tls_verify ? SSL_VERIFY_PEER :
	    SSL_VERIFY_NONE, NULL);
	env->tls = ctx;
	return (ctx);
fail:
	xasprintf(cause, "TLS set-up%s%s: %s", env->tls_ca_file != NULL ?
	    " with tls_ca_file " : "", env->tls_ca_file != NULL ?
	    env->tls_ca_file : "", ERR_error_string(ERR_get_error(), NULL));
	return (NULL);
}

/* A TLS session for one connection to host: SNI and host name checked. */
void *
http_env_ssl(struct http_env *env, const char *host, char **cause)
{
	SSL_CTX	*ctx;
	SSL	*ssl;

	if ((ctx = http_env_ctx(env, cause)) == NULL)
		return (NULL);
	if ((ssl = SSL_new(ctx)) == NULL) {
		xasprintf(cause, "TLS: %s", ERR_error_string(ERR_get_error(),
		    NULL));
		return (NULL);
	}
	SSL_set_tlsext_host_name(ssl, host);
	if (env->tls_verify)
		SSL_set1_host(ssl, host);
	return (ssl);
}
