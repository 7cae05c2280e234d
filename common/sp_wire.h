/*
 * The bytes of the scalability protocols (SP) on a stream: the header
 * each side opens a connection with, the frame before each message, and
 * the route (backtrace) a REQ request carries. Nothing here does IO.
 */
#ifndef SP_WIRE_H
#define SP_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Protocol numbers, as the header carries them. */
#define SP_PROTO_PUB	0x20
#define SP_PROTO_SUB	0x21
#define SP_PROTO_REQ	0x30
#define SP_PROTO_REP	0x31

#define SP_HEADER_LEN	8
#define SP_FRAME_IPC	9	/* a type byte, then the length */
#define SP_FRAME_TCP	8	/* the length alone */
#define SP_FRAME_MAX	9

/* The ipc frame's type byte for a message (the only type there is). */
#define SP_IPC_MSG	0x01

/* Hops a route may carry, as NNG allows by default (its max TTL). */
#define SP_HOPS_MAX	8

/* sp_route_len results besides a length. */
#define SP_ROUTE_GARBAGE	-1	/* no request id: not a REQ peer */
#define SP_ROUTE_TOO_LONG	-2	/* more hops than SP_HOPS_MAX */

void	 sp_header(unsigned int, unsigned char *);
int	 sp_header_proto(const unsigned char *);
size_t	 sp_frame_len(int);
void	 sp_frame_put(unsigned char *, int, uint64_t);
int	 sp_frame_get(const unsigned char *, int, uint64_t *);
long	 sp_route_len(const unsigned char *, size_t);

#endif
