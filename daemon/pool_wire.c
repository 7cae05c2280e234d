/*
 * The framing of the pool's pipes (pool_wire.h) and their IO on the pool's
 * side: messages encoded into and decoded from evbuffers, read from and
 * written to non-blocking pipes. Nothing here knows workers or jobs, so
 * the same checks serve the worker's side (pool_wire_next) and a unit
 * test drives them without a pool.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log.h"
#include "pool_wire.h"

/* what one read from a pipe asks for */
#define POOL_WIRE_READ	65536

/* A header for a body of len bytes; us is clamped to what fits. */
void
pool_wire_hdr_set(struct pool_wire_hdr *h, enum pool_msg type, int flags,
    size_t len, uint64_t us)
{
	memset(h, 0, sizeof *h);
	h->len = (uint32_t)len;
	h->type = (uint16_t)type;
	h->flags = (uint16_t)flags;
	h->us = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/*
 * Whether the have bytes at buf start with a whole message: 1 if so (its
 * header in h), 0 if more must be read first, -1 if the length is beyond
 * POOL_WIRE_MAX (a broken stream). With 0, h holds the header when have
 * covers it, and h->len is 0 when it does not.
 */
int
pool_wire_next(const void *buf, size_t have, struct pool_wire_hdr *h)
{
	memset(h, 0, sizeof *h);
	if (have < POOL_WIRE_HDR)
		return (0);
	memcpy(h, buf, sizeof *h);
	if (h->len > POOL_WIRE_MAX)
		return (-1);
	return (have - POOL_WIRE_HDR >= h->len);
}

/* Append one message to out: -1 if the body is too long to send. */
int
pool_wire_add(struct evbuffer *out, enum pool_msg type, int flags,
    const void *body, size_t len)
{
	struct pool_wire_hdr	 h;

	if (len > POOL_WIRE_MAX)
		return (-1);
	pool_wire_hdr_set(&h, type, flags, len, 0);
	if (evbuffer_add(out, &h, sizeof h) != 0 ||
	    evbuffer_add(out, body, len) != 0)
		fatalx("pool: out of memory");
	return (0);
}

/*
 * Take the header of the first message in `in` if all of it is there: 1,
 * with its header in h and *body at its h->len bytes, made contiguous;
 * the caller drains them when done. 0 if it is not all there yet; -1 on a
 * broken stream (nothing is taken).
 */
int
pool_wire_get(struct evbuffer *in, struct pool_wire_hdr *h, const char **body)
{
	unsigned char	 buf[POOL_WIRE_HDR];
	size_t		 have = evbuffer_get_length(in);
	int		 r;

	*body = NULL;
	if (evbuffer_copyout(in, buf, sizeof buf) < 0)
		return (-1);
	if ((r = pool_wire_next(buf, have, h)) != 1)
		return (r);
	evbuffer_drain(in, POOL_WIRE_HDR);
	*body = (const char *)evbuffer_pullup(in, h->len);
	return (1);
}

/*
 * Read what is waiting in fd into in: one read, unless that filled the
 * space. -1 at EOF or on an error.
 */
int
pool_wire_fill(struct evbuffer *in, int fd)
{
	struct evbuffer_iovec	 v;
	size_t			 room;
	ssize_t			 n;

	for (;;) {
		if (evbuffer_reserve_space(in, POOL_WIRE_READ, &v, 1) < 1)
			fatalx("pool: out of memory");
		room = v.iov_len;
		if ((n = read(fd, v.iov_base, room)) <= 0) {
			evbuffer_commit_space(in, NULL, 0);
			return (n == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1);
		}
		v.iov_len = (size_t)n;
		evbuffer_commit_space(in, &v, 1);
		if ((size_t)n < room)
			return (0);
	}
}

/*
 * Write what out holds to fd: 0 when all is written, 1 when the pipe is
 * full (the rest waits until it is writable), -1 on an error (errno).
 */
int
pool_wire_flush(struct evbuffer *out, int fd)
{
	while (evbuffer_get_length(out) > 0 &&
	    evbuffer_write(out, fd) > 0)
		;
	if (evbuffer_get_length(out) == 0)
		return (0);
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return (1);
	return (-1);
}
