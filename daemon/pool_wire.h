/*
 * The framing between the pool and a worker over their two pipes (the
 * worker reads jobs from its fd 3, writes replies to its fd 4), and the
 * pool_wire.c functions both ends use for it.
 *
 * Each message is a 12-byte header and then len bytes of body. The header
 * is in native byte order, without padding: both ends are the same binary
 * on the same host.
 *
 *	bytes 0-3	len	the body's length, at most POOL_WIRE_MAX
 *	bytes 4-5	type	enum pool_msg
 *	bytes 6-7	flags	POOL_F_*
 *	bytes 8-11	us	replies: how long the call took, in microseconds
 *
 * To the worker: POOL_MSG_JOB, the body a job's args ({"fn": ...,
 * "input": ...}), not NUL-terminated. From it, each body NUL-terminated,
 * the NUL counted in len: POOL_MSG_HELLO (its pid in decimal) once when
 * it is ready, then for each job POOL_MSG_OUTPUT (the function's output
 * JSON) or POOL_MSG_ERROR ("<code> <message>"), with POOL_F_RETIRE when
 * the worker retires after that reply.
 */
#ifndef POOL_WIRE_H
#define POOL_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum pool_msg {
	POOL_MSG_JOB = 1,	/* to the worker: a job's args */
	POOL_MSG_HELLO,		/* from it: ready, its pid */
	POOL_MSG_OUTPUT,	/* a job's output JSON */
	POOL_MSG_ERROR,		/* a job's error code and message */
};

/* the call left the worker holding too much memory: replace it */
#define POOL_F_RETIRE	0x1

struct pool_wire_hdr {
	uint32_t	 len;
	uint16_t	 type;
	uint16_t	 flags;
	uint32_t	 us;
};

#define POOL_WIRE_HDR	sizeof(struct pool_wire_hdr)
_Static_assert(sizeof(struct pool_wire_hdr) == 12, "pool_wire_hdr padded");

#define POOL_CHILD_JOB_FD	3
#define POOL_CHILD_JOB_FDS	"3"
#define POOL_CHILD_REPLY_FD	4
#define POOL_CHILD_REPLY_FDS	"4"
/* a length beyond this is a broken stream, not a message */
#define POOL_WIRE_MAX	(1U << 30)

struct evbuffer;

/* pool_wire.c */
void	 pool_wire_hdr_set(struct pool_wire_hdr *, enum pool_msg, int, size_t,
	    uint64_t);
int	 pool_wire_next(const void *, size_t, struct pool_wire_hdr *);
int	 pool_wire_add(struct evbuffer *, enum pool_msg, int, const void *,
	    size_t);
int	 pool_wire_get(struct evbuffer *, struct pool_wire_hdr *,
	    const char **);
int	 pool_wire_fill(struct evbuffer *, int);
int	 pool_wire_flush(struct evbuffer *, int);

#endif
