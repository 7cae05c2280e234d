/*
 * The server's side of tls+tcp:// endpoints. NNG's tls+tcp transport is
 * the SP tcp framing inside a TLS stream, so a TLS endpoint is a tcp one
 * whose connections run through OpenSSL (bufferevent_openssl, in
 * sp_conn.c); this file makes the one SSL_CTX an endpoint's connections
 * share, at start: a certificate and its key, TLS 1.2 at least, and,
 * with a client CA, a certificate from every client signed by that CA.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "sp_tls.h"
#include "xmalloc.h"

/* Sessions are not resumed across endpoints that verify differently. */
static const unsigned char	 sp_tls_sid[] = "aiojobsd";

/* The reason for the last OpenSSL error, as cause; the queue is cleared. */
static void
sp_tls_fail(char **cause, const char *what, const char *path)
{
	char	 why[256];

	sp_tls_why(ERR_peek_last_error(), why, sizeof why);
	ERR_clear_error();
	xasprintf(cause, "%s %s: %s", what, path, why);
}

/* Ask every client for a certificate signed by the CAs in ca_file. */
static int
sp_tls_client_ca(SSL_CTX *ctx, const char *ca_file, char **cause)
{
	STACK_OF(X509_NAME)	*names;

	if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1 ||
	    (names = SSL_load_client_CA_file(ca_file)) == NULL) {
		sp_tls_fail(cause, "tls_client_ca_file", ca_file);
		return (-1);
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return (0);
}

/*
 * The TLS context of one endpoint: the certificate (a chain, PEM) and
 * its private key; with client_ca (or NULL) clients must show a
 * certificate it signed. NULL with a cause naming the file at fault.
 */
struct ssl_ctx_st *
sp_tls_server(const char *cert, const char *key, const char *client_ca,
    char **cause)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		sp_tls_fail(cause, "TLS", "context");
		return (NULL);
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* NNG hangs up without a close_notify: an end, not an error */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	SSL_CTX_set_session_id_context(ctx, sp_tls_sid, sizeof sp_tls_sid - 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		sp_tls_fail(cause, "tls_cert_file", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		sp_tls_fail(cause, "tls_key_file", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		sp_tls_fail(cause, "tls_key_file", key);
		goto fail;
	}
	if (client_ca != NULL && sp_tls_client_ca(ctx, client_ca, cause) != 0)
		goto fail;
	return (ctx);
fail:
	SSL_CTX_free(ctx);
	return (NULL);
}

void
sp_tls_free(struct ssl_ctx_st *ctx)
{
	if (ctx != NULL)
		SSL_CTX_free(ctx);
}

/* An OpenSSL error code as words, for a log line or a cause. */
void
sp_tls_why(unsigned long err, char *buf, size_t len)
{
	const char	*reason;

	if (err == 0) {
		snprintf(buf, len, "TLS error");
		return;
	}
	if ((reason = ERR_reason_error_string(err)) != NULL)
		snprintf(buf, len, "%s", reason);
	else
		ERR_error_string_n(err, buf, len);
}
