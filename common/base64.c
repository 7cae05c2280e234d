/*
 * Base64 through OpenSSL's block coder, which the daemon links already.
 * Its decoder skips white space and takes '=' in odd places, so the text
 * is checked to be strict base64 first: a request either carries exactly
 * the bytes it says or is refused.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base64.h"
#include "xmalloc.h"

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The length of the base64 text of len bytes, without a NUL. */
size_t
base64_encoded_len(size_t len)
{
	return ((len + 2) / 3 * 4);
}

/* Write the base64 text of buf and a NUL to out (base64_encoded_len + 1). */
void
base64_encode(char *out, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	size_t			 chunk;

	/* the coder counts in int: long inputs go in parts of whole groups */
	while (len > 0) {
		chunk = len > (size_t)INT_MAX / 4 * 3 ?
		    (size_t)INT_MAX / 4 * 3 : len;
		EVP_EncodeBlock((unsigned char *)out, p, (int)chunk);
		out += base64_encoded_len(chunk);
		p += chunk;
		len -= chunk;
	}
	*out = '\0';
}

/* How many '=' end text; -1 when it is not strict padded base64. */
static int
base64_padding(const char *text, size_t len)
{
	size_t	 i, pad = 0;

	if (len % 4 != 0 || len > (size_t)INT_MAX)
		return (-1);
	while (pad < 2 && pad < len && text[len - 1 - pad] == '=')
		pad++;
	for (i = 0; i < len - pad; i++) {
		if (text[i] == '\0' || strchr(base64_alphabet, text[i]) == NULL)
			return (-1);
	}
	return ((int)pad);
}

/*
 * Decode len bytes of base64 text into a new buffer (NUL-terminated for
 * convenience, *outlen without it); -1 when the text is not strict
 * padded base64.
 */
int
base64_decode(const char *text, size_t len, char **out, size_t *outlen)
{
	unsigned char	*buf;
	int		 pad, n;

	if ((pad = base64_padding(text, len)) == -1)
		return (-1);
	buf = xmalloc(len / 4 * 3 + 1);
	n = len == 0 ? 0 : EVP_DecodeBlock(buf, (const unsigned char *)text,
	    (int)len);
	if (n < pad) {
		free(buf);
		return (-1);
	}
	*outlen = (size_t)(n - pad);
	buf[*outlen] = '\0';
	*out = (char *)buf;
	return (0);
}
