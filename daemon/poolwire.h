/*
 * The framing between the pool and a worker over their two pipes (the
 * worker reads jobs from its fd 3, writes replies to its fd 4): each
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

#define POOL_CHILD_JOB_FD	3
#define POOL_CHILD_JOB_FDS	"3"
#define POOL_CHILD_REPLY_FD	4
#define POOL_CHILD_REPLY_FDS	"4"
/* a length beyond this is a broken stream, not a message */
#define POOL_WIRE_MAX	(1U << 30)

#endif
