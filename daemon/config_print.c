/*
 * The configuration as the file would spell it: one key's value
 * (config_format, which reload also uses to compare and log a change)
 * and the whole effective configuration that --check-config prints,
 * which must load again to the same values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_private.h"

/* A duration as a person would write it: the largest exact unit. */
static void
config_format_duration(int64_t ms, char *buf, size_t len)
{
	static const struct {
		const char	*suffix;
		int64_t		 ms;
	} units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 }, { "ms", 1 },
	};
	size_t	 i;

	if (ms == 0) {
		snprintf(buf, len, "0");
		return;
	}
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (ms % units[i].ms == 0)
			break;
	}
	snprintf(buf, len, "%lld%s", (long long)(ms / units[i].ms),
	    units[i].suffix);
}

static void
config_format_size(int64_t v, char *buf, size_t len)
{
	static const char	 units[] = "TGMK";
	size_t			 i;
	int			 shift;

	for (i = 0; i < 4 && v != 0; i++) {
		shift = 10 * (4 - (int)i);
		if (v % ((int64_t)1 << shift) == 0) {
			snprintf(buf, len, "%lld%c", (long long)(v >> shift),
			    units[i]);
			return;
		}
	}
	snprintf(buf, len, "%lld", (long long)v);
}

/* The URLs of listen =, separated by spaces. */
static void
config_format_urls(const struct config *c, char *buf, size_t len)
{
	const struct config_listen	*l;
	size_t				 off = 0;
	int				 n;

	buf[0] = '\0';
	TAILQ_FOREACH(l, &c->listens, entry) {
		if (l->name != NULL || off >= len)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off == 0 ? "" : " ",
		    l->url);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* The value of key i as the file would spell it. */
void
config_format(const struct config *c, int i, char *buf, size_t len)
{
	const struct config_key	*k = config_key_at(i);
	const char		*s;
	int64_t			 v;

	switch (k->type) {
	case CT_COUNT:
		snprintf(buf, len, "%lld", (long long)*CFIELD(c, k, int64_t));
		break;
	case CT_SIZE:
		config_format_size(*CFIELD(c, k, int64_t), buf, len);
		break;
	case CT_DURATION:
		config_format_duration(*CFIELD(c, k, int64_t), buf, len);
		break;
	case CT_STRING:
	case CT_LISTEN:
		s = *CFIELD(c, k, char *);
		snprintf(buf, len, "%s", s != NULL ? s : "");
		break;
	case CT_BOOL:
		snprintf(buf, len, "%s", *CFIELD(c, k, int) ? "true" : "false");
		break;
	case CT_DURABILITY:
		snprintf(buf, len, "%s", *CFIELD(c, k, int) ? "safe" : "fast");
		break;
	case CT_LOG_LEVEL:
		snprintf(buf, len, "%s",
		    config_log_level_name(*CFIELD(c, k, int)));
		break;
	case CT_URLS:
		config_format_urls(c, buf, len);
		break;
	case CT_MODE:
		v = *CFIELD(c, k, int64_t);
		if (v == 0)
			snprintf(buf, len, "%s", "");
		else
			snprintf(buf, len, "%04llo", (long long)v);
		break;
	}
}

/* Whether key i has the same value in both: the same spelling. */
int
config_key_equal(const struct config *a, const struct config *b, int i)
{
	char	 x[4096], y[4096];

	config_format(a, i, x, sizeof x);
	config_format(b, i, y, sizeof y);
	return (strcmp(x, y) == 0);
}

/* A rate in as few digits as read back to the same double. */
static const char *
config_format_rate(double d, char *buf, size_t len)
{
	snprintf(buf, len, "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, len, "%.17g", d);
	return (buf);
}

/*
 * The [listen.NAME] sections, each key spelt out. A literal token is
 * printed too, as the file has it: what is printed must load again.
 */
static void
config_print_listens(const struct config *c, FILE *f)
{
	const struct config_listen	*l;
	char				 buf[256];

	TAILQ_FOREACH(l, &c->listens, entry) {
		if (l->name == NULL)
			continue;
		fprintf(f, "\n[listen.%s]\nurl = %s\n", l->name, l->url);
		if (l->token != NULL)
			fprintf(f, "token = %s\n", l->token);
		if (l->token_file != NULL)
			fprintf(f, "token_file = %s\n", l->token_file);
		fprintf(f, "allow_exec = %s\n", config_listen_exec(l) ?
		    "true" : "false");
		config_kind_names(l->kinds, buf, sizeof buf);
		fprintf(f, "allow_kinds = %s\n", buf);
		fprintf(f, "insecure_no_token = %s\n", l->insecure_no_token ?
		    "true" : "false");
		fprintf(f, "insecure_plain_token = %s\n",
		    l->insecure_plain_token ? "true" : "false");
		if (l->tls_cert_file != NULL)
			fprintf(f, "tls_cert_file = %s\n", l->tls_cert_file);
		if (l->tls_key_file != NULL)
			fprintf(f, "tls_key_file = %s\n", l->tls_key_file);
		if (l->tls_client_ca_file != NULL)
			fprintf(f, "tls_client_ca_file = %s\n",
			    l->tls_client_ca_file);
	}
}

/*
 * listen = with one URL a line (each adds one): all on one line could
 * pass the line limit of the file. An empty listen = says there are none.
 */
static void
config_print_urls(const struct config *c, const char *key, FILE *f)
{
	const struct config_listen	*l;
	int				 n = 0;

	TAILQ_FOREACH(l, &c->listens, entry) {
		if (l->name == NULL) {
			fprintf(f, "%s = %s\n", key, l->url);
			n++;
		}
	}
	if (n == 0)
		fprintf(f, "%s = \n", key);
}

/* The effective configuration, as a file that would produce it. */
void
config_print(const struct config *c, FILE *f)
{
	const struct config_queue	*q;
	const struct config_key		*k;
	const char			*section = NULL;
	char				 buf[4096];
	size_t				 i;

	fprintf(f, "# aiojobsd %s effective configuration (file: %s)\n",
	    AIOJOBS_VERSION, c->path != NULL ? c->path : "none");
	for (i = 0; i < config_nkeys(); i++) {
		k = config_key_at((int)i);
		if (section == NULL || strcmp(section, k->section) != 0) {
			section = k->section;
			fprintf(f, "\n[%s]\n", section);
		}
		if (k->type == CT_URLS) {
			config_print_urls(c, k->name, f);
			continue;
		}
		config_format(c, (int)i, buf, sizeof buf);
		fprintf(f, "%s = %s\n", k->name, buf);
	}
	TAILQ_FOREACH(q, &c->queues, entry) {
		fprintf(f, "\n[queue.%s]\n", q->name);
		if (q->set & CONFIG_Q_LIMIT)
			fprintf(f, "limit = %lld\n", (long long)q->limit);
		if (q->set & CONFIG_Q_RATE)
			fprintf(f, "rate = %s\n", config_format_rate(q->rate,
			    buf, sizeof buf));
		if (q->set & CONFIG_Q_PAUSED)
			fprintf(f, "paused = %s\n", q->paused ? "true" :
			    "false");
	}
	config_print_listens(c, f);
	config_access_print(c, f);
}
