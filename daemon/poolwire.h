/*
 * The framing between the pool and a worker over their socketpair: each
 * message is a header (native byte order: both ends are the same binary
 * on the same host) and then len bytes. To the worker: a job's args
 * ({"fn": ..., "input": ...}); from it: "H<pid>" (hello), "O<output
 * JSON>" or "E<code> <message>" (in lower case when it retires after that
 * reply), with a terminating NUL counted in len, and in us how long the
 * call took.
 */
#ifndef POOLWIRE_H
#define POOLWIRE_H

#include <stdint.h>

struct pool_wire_hdr {
	uint32_t	 len;
	uint32_t	 us;		/* replies: the call's microseconds */
};

#define POOL_WIRE_HDR	sizeof(struct pool_wire_hdr)
/* a length beyond this is a broken stream, not a message */
#define POOL_WIRE_MAX	(1U << 30)

#endif
