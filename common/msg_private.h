/* Shared by the parts of the protocol module; nothing else includes it. */
#ifndef MSG_PRIVATE_H
#define MSG_PRIVATE_H

#include <cjson/cJSON.h>

#include "msg.h"

/* struct msg_in is a cJSON node in disguise. */
#define J(in)	((cJSON *)(in))
#define IN(j)	((struct msg_in *)(j))

size_t		 msg_utf8_char(const unsigned char *, size_t);
size_t		 msg_json_depth(const char *, size_t);
cJSON		*msg_in_get(struct msg_in *, const char *);
int		 msg_is_int(cJSON *);
char		*msg_json_print(const cJSON *);
const char	*msg_in_str_or_null(struct msg_in *, const char *);
int		 msg_strict_check(cJSON *, const char *, size_t,
		    struct msg_error *);

#endif
