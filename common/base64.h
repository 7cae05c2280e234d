/*
 * Base64 (RFC 4648, standard alphabet, padded) for bytes that JSON cannot
 * carry as text: job output and binary input (docs/protocol.md, 3.3).
 */
#ifndef BASE64_H
#define BASE64_H

#include <stddef.h>

size_t	 base64_encoded_len(size_t);
void	 base64_encode(char *, const void *, size_t);
int	 base64_decode(const char *, size_t, char **, size_t *);

#endif
