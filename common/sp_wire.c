/*
 * The SP wire format on ipc and tcp (the sp-tcp-mapping and sp-ipc-mapping
 * RFCs, as nanomsg and NNG speak them):
 *
 *   header  00 'S' 'P' 00, the protocol as 16 bits big-endian, 00 00;
 *           both sides send theirs at once, then read the other's.
 *   frame   tcp: the message's length, 64 bits big-endian;
 *           ipc: a type byte (1: a message) and then the same length.
 *   route   a request from REQ starts with 32-bit big-endian words: one
 *           per device it crossed, then the request id, the only one with
 *           its top bit set. A reply goes back with the same words.
 */
#include <stdint.h>

#include "sp_wire.h"

/* The header of a side speaking protocol proto. */
void
sp_header(unsigned int proto, unsigned char *out)
{
	out[0] = 0x00;
	out[1] = 'S';
	out[2] = 'P';
	out[3] = 0x00;
	out[4] = (proto >> 8) & 0xff;
	out[5] = proto & 0xff;
	out[6] = 0x00;
	out[7] = 0x00;
}

/* The protocol a received header names, or -1 if it is not an SP header. */
int
sp_header_proto(const unsigned char *in)
{
	if (in[0] != 0x00 || in[1] != 'S' || in[2] != 'P' || in[3] != 0x00 ||
	    in[6] != 0x00 || in[7] != 0x00)
		return (-1);
	return ((in[4] << 8) | in[5]);
}

/* The length of the frame before each message. */
size_t
sp_frame_len(int ipc)
{
	return (ipc ? SP_FRAME_IPC : SP_FRAME_TCP);
}

/* Write the frame of a message of len bytes. */
void
sp_frame_put(unsigned char *out, int ipc, uint64_t len)
{
	int	 i;

	if (ipc)
		*out++ = SP_IPC_MSG;
	for (i = 7; i >= 0; i--) {
		out[i] = len & 0xff;
		len >>= 8;
	}
}

/* Read a frame: 0 and the message's length, or -1 for an unknown type. */
int
sp_frame_get(const unsigned char *in, int ipc, uint64_t *len)
{
	int	 i;

	if (ipc && *in++ != SP_IPC_MSG)
		return (-1);
	*len = 0;
	for (i = 0; i < 8; i++)
		*len = (*len << 8) | in[i];
	return (0);
}

/*
 * How many bytes of a request are its route, up to and including the
 * request id: a multiple of 4, SP_ROUTE_GARBAGE if the message ends
 * before a request id, or SP_ROUTE_TOO_LONG.
 */
long
sp_route_len(const unsigned char *msg, size_t len)
{
	size_t	 off;
	int	 hops;

	for (off = 0, hops = 0; off + 4 <= len; off += 4) {
		if (++hops > SP_HOPS_MAX)
			return (SP_ROUTE_TOO_LONG);
		if (msg[off] & 0x80)
			return ((long)off + 4);
	}
	return (SP_ROUTE_GARBAGE);
}
