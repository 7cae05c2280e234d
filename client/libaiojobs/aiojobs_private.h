/*
 * What the files of libaiojobs share, and what aiojobctl, which links the
 * library's code statically, uses beyond the public aiojobs.h.
 */
#ifndef AIOJOBS_PRIVATE_H
#define AIOJOBS_PRIVATE_H

#include <stdint.h>

#include "aiojobs.h"

struct client;

/* A connection to the control endpoint and the last call's error. */
struct aiojobs {
	struct client	*client;	/* NULL if the URL was refused */
	char		*url;
	int		 token_set;	/* a token was chosen, maybe none */
	int		 code;
	char		*errmsg;
	char		*key;		/* the key of the last submit */
	char		*unanswered;	/* a spec whose submit got no reply */
};

/* aiojobs.c */
int	 aiojobs_fail(struct aiojobs *, int, const char *, ...)
	    __attribute__((__format__(__printf__, 3, 4)));
int	 aiojobs_ok(struct aiojobs *);
char	*aiojobs_rundir(void);
char	*aiojobs_bad_url(const char *, const char *);
int64_t	 aiojobs_now_ms(void);
int	 aiojobs_open_url(struct aiojobs **, const char *);
int	 aiojobs_set_token(struct aiojobs *, const char *, const char *);

#endif
