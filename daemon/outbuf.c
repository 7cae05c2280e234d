/*
 * Captured output: keep the first max bytes of a stream, count the rest.
 * A child writing gigabytes costs the daemon at most max bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "aiojobsd.h"
#include "outbuf.h"
#include "xmalloc.h"

void
outbuf_init(struct outbuf *ob, size_t max)
{
	memset(ob, 0, sizeof *ob);
	ob->max = max;
}

void
outbuf_add(struct outbuf *ob, const char *data, size_t len)
{
	size_t	 keep = 0;

	ob->total += len;
	if (ob->len < ob->max)
		keep = ob->max - ob->len < len ? ob->max - ob->len : len;
	if (keep == 0)
		return;
	if (ob->len + keep > ob->size) {
		ob->size = ob->size == 0 ? 4096 : ob->size;
		while (ob->size < ob->len + keep)
			ob->size *= 2;
		if (ob->size > ob->max)
			ob->size = ob->max;
		ob->buf = xreallocarray(ob->buf, 1, ob->size);
	}
	memcpy(ob->buf + ob->len, data, keep);
	ob->len += keep;
}

int
outbuf_truncated(struct outbuf *ob)
{
	return (ob->total > ob->len);
}

void
outbuf_free(struct outbuf *ob)
{
	free(ob->buf);
	memset(ob, 0, sizeof *ob);
}
