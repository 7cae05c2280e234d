/*
 * Captured output of one stream: a buffer that keeps up to its limit
 * and counts what it dropped (exec jobs' streams, http bodies).
 */
#ifndef OUTBUF_H
#define OUTBUF_H

#include <stddef.h>
#include <stdint.h>

/* Captured output of one stream (outbuf.c). */
struct outbuf {
	char		*buf;
	size_t		 len;
	size_t		 size;
	size_t		 max;
	uint64_t	 total;
};

void	 outbuf_init(struct outbuf *, size_t);
void	 outbuf_add(struct outbuf *, const char *, size_t);
int	 outbuf_truncated(struct outbuf *);
void	 outbuf_free(struct outbuf *);

#endif
