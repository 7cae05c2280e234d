/*
 * The framing between the pool and a worker over their socketpair: each
 * message is its length (POOL_WIRE_HDR bytes, native byte order: both
 * ends are the same binary on the same host) and then its bytes. To the
 * worker: a job's args ({"fn": ..., "input": ...}); from it: "H<pid>"
 * (hello), "O<output JSON>" or "E<code> <message>" (in lower case when
 * it retires after that reply).
 */
#ifndef POOLWIRE_H
#define POOLWIRE_H

#include <stdint.h>

#define POOL_WIRE_HDR	sizeof(uint32_t)
/* a length beyond this is a broken stream, not a message */
#define POOL_WIRE_MAX	(1U << 30)

#endif
