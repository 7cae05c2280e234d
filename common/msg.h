/*
 * The wire protocol (PROTOCOL.md, docs/protocol.md): decoding requests into
 * plain structs, building replies, reading replies. The only cJSON user.
 */
#ifndef MSG_H
#define MSG_H

#include <stddef.h>
#include <stdint.h>

/* Request error codes, PROTOCOL section 2. */
#define MSG_E_BAD_REQUEST	"bad_request"
#define MSG_E_UNKNOWN_OP	"unknown_op"
#define MSG_E_UNKNOWN_KIND	"unknown_kind"
#define MSG_E_NOT_FOUND		"not_found"
#define MSG_E_QUEUE_FULL	"queue_full"
#define MSG_E_SHUTTING_DOWN	"shutting_down"
#define MSG_E_TOO_LARGE		"too_large"
#define MSG_E_UNAUTHORIZED	"unauthorized"
#define MSG_E_FORBIDDEN		"forbidden"
#define MSG_E_CONFLICT		"conflict"
#define MSG_E_INTERNAL		"internal"
#define MSG_E_NOT_DURABLE	"not_durable"

/*
 * Limits on what one request can make the daemon hold (docs/protocol.md,
 * "Limits"). Each is checked when the request is decoded, whatever the
 * endpoint, and a request over one is bad_request naming the field and the
 * limit. They bound what a job keeps in memory and in the store, which
 * max_request_bytes alone does not: many small requests add up.
 */
#define MSG_KIND_MAX		64	/* bytes in a kind name */
#define MSG_NAME_MAX		256	/* bytes in a job name */
#define MSG_QUEUE_MAX		128	/* bytes in a queue name */
#define MSG_LOCK_MAX		128	/* bytes in a lock name */
#define MSG_KEY_MAX		256	/* bytes in an idempotency key */
#define MSG_TOKEN_MAX		4096	/* bytes in a token, as in a token file */
#define MSG_AFTER_MAX		10000	/* ids in a job's "after" */
#define MSG_ARGS_MAX		(16 * 1024 * 1024) /* a job's args, as JSON */
#define MSG_ARGS_DEPTH_MAX	100	/* levels in args; a reply adds 3 */
#define MSG_JOBS_MAX		10000	/* job specs in one submit */
#define MSG_IDS_MAX		10000	/* job ids in one wait */
#define MSG_DEPTH_MAX		1000	/* JSON nesting, CJSON_NESTING_LIMIT */
#define MSG_INT_MAX		9007199254740991LL	/* exact in a double */

/*
 * The protocol versions this side speaks, every one from MIN to MAX. A
 * request says which it is written in with "v" (MIN when absent); a new
 * optional field comes with a new version, so that a daemon that does not
 * know the field refuses the version instead of skipping the field.
 */
#define MSG_VERSION_MIN		1
#define MSG_VERSION_MAX		1

/* An error to report: a protocol code and a message for people. */
struct msg_error {
	char	code[32];
	char	message[512];
};

/* Request fields, as bits: an op names the ones it accepts and requires. */
#define MSG_F_JOB		0x0001
#define MSG_F_JOBS		0x0002
#define MSG_F_GROUP		0x0004
#define MSG_F_ID		0x0008
#define MSG_F_IDS		0x0010
#define MSG_F_STATE		0x0020
#define MSG_F_QUEUE		0x0040
#define MSG_F_LIMIT		0x0080
#define MSG_F_BEFORE_ID		0x0100
#define MSG_F_RETURN_WHEN	0x0200
#define MSG_F_TIMEOUT_MS	0x0400
#define MSG_F_NAME		0x0800
#define MSG_F_ACTION		0x1000
#define MSG_F_RATE		0x2000
#define MSG_F_OLDER_THAN	0x4000
#define MSG_F_STREAM		0x8000	/* output: which stream */
#define MSG_F_OFFSET		0x10000	/* output: first byte wanted */
#define MSG_F_LENGTH		0x20000	/* output: bytes wanted at most */
#define MSG_F_OWNER		0x40000	/* list: whose jobs */
#define MSG_F_JOIN		0x80000	/* submit: join this job's group */
#define MSG_F_LAST		MSG_F_JOIN

/* wait's return_when. */
#define MSG_ALL_COMPLETED	0
#define MSG_FIRST_COMPLETED	1
#define MSG_FIRST_EXCEPTION	2

/* A job spec, PROTOCOL section 3.1. */
struct msg_spec {
	char		*kind;
	char		*args;		/* JSON text of an object */
	char		*name;		/* NULL when absent */
	char		*queue;
	int64_t		 priority;
	int64_t		 delay_ms;
	int64_t		 timeout_ms;
	int64_t		 retries;
	int64_t		 retry_backoff_ms;
	int64_t		*after;
	size_t		 nafter;
	char		*lock;		/* NULL when absent */
	int		 shield;
	char		*key;		/* NULL when absent */
	/* who submits it: set by the daemon, never read from a request */
	uint32_t	 owner;
};

/* A decoded request; present says which optional fields were given. */
struct msg_request {
	char		*op;
	char		*token;
	int		 version;	/* "v", MSG_VERSION_MIN when absent */
	unsigned int	 present;
	struct msg_spec	*jobs;		/* "job" decodes as one of these */
	size_t		 njobs;
	int		 group;
	int64_t		 join;		/* a member of the group to join */
	int64_t		 id;
	int64_t		*ids;
	size_t		 nids;
	char		*state;
	char		*queue;
	char		*owner;		/* list: a user name or uid */
	int64_t		 limit;
	int64_t		 before_id;
	int		 return_when;
	int64_t		 timeout_ms;
	char		*name;
	char		*action;
	double		 rate;
	int64_t		 older_than_ms;
	char		*stream;
	int64_t		 offset;
	int64_t		 length;
};

/* A job view, PROTOCOL section 3.2. Strings are borrowed, never owned. */
struct msg_view {
	int64_t		 id;
	const char	*kind;
	const char	*name;
	const char	*queue;
	const char	*owner;		/* user name, or uid in decimal */
	int64_t		 priority;
	const char	*state;
	int64_t		 attempts;
	int64_t		 submitted_at;	/* -1 for null */
	int64_t		 started_at;
	int64_t		 finished_at;
	const char	*args;		/* JSON text, NULL for null */
	const char	*result;	/* JSON text, NULL for null */
	const char	*error_code;	/* NULL when no error */
	const char	*error_message;
	const char	*waiting_for;	/* why a queued job waits, or NULL */
	int		 compact;	/* args, result compact: copied as is */
};

#define MSG_VIEW_ARGS		0x1
#define MSG_VIEW_RESULT		0x2

/*
 * Bytes of each output stream a view carries at most (stdout_more says
 * there are more): the output op reads the rest, so a view of a job with
 * 64 MiB of output stays small.
 */
#define MSG_VIEW_OUTPUT_MAX	(64 * 1024)

/*
 * The largest reply the daemon builds from views (status, wait, list):
 * what nanomsg and NNG clients receive by default. A reply that would be
 * larger is cut and says where to go on (docs/protocol.md, section 4).
 */
#define MSG_REPLY_MAX		(1024 * 1024)
/* Of that, what the views may take: the rest is for ids and fields. */
#define MSG_REPLY_VIEWS_MAX	(MSG_REPLY_MAX - 256 * 1024)

/* A parsed JSON object to read from (a request, a reply, kind args). */
struct msg_in;

void	 msg_error_set(struct msg_error *, const char *, const char *, ...)
	    __attribute__((__format__(__printf__, 3, 4)));
void	 msg_error_append(struct msg_error *, const char *);
int	 msg_utf8_valid(const unsigned char *, size_t);

struct msg_in *msg_in_parse(const char *, size_t, struct msg_error *);
void	 msg_in_free(struct msg_in *);
int	 msg_in_has(struct msg_in *, const char *);
int	 msg_in_int(struct msg_in *, const char *, int64_t *,
	    struct msg_error *);
int	 msg_in_bool(struct msg_in *, const char *, int *, struct msg_error *);
int	 msg_in_double(struct msg_in *, const char *, double *,
	    struct msg_error *);
int	 msg_in_string(struct msg_in *, const char *, const char **,
	    struct msg_error *);
struct msg_in *msg_in_object(struct msg_in *, const char *);
size_t	 msg_in_array_len(struct msg_in *, const char *);
struct msg_in *msg_in_array_at(struct msg_in *, const char *, size_t);
int	 msg_in_array_int(struct msg_in *, const char *, size_t, int64_t *);
const char *msg_in_array_string(struct msg_in *, const char *, size_t);
struct msg_in *msg_in_first(struct msg_in *);
struct msg_in *msg_in_next(struct msg_in *);
const char *msg_in_key(struct msg_in *);
const char *msg_in_value_string(struct msg_in *);
int	 msg_in_value_int(struct msg_in *, int64_t *);
char	*msg_in_text(struct msg_in *, const char *, int);
int	 msg_in_output(struct msg_in *, const char *, const char *, char **,
	    size_t *, struct msg_error *);
void	 msg_in_view(struct msg_in *, struct msg_view *);

struct msg_in *msg_strict_parse(const char *, size_t, struct msg_error *);
int	 msg_strict_text(const char *, struct msg_error *);
const char *msg_strict_unknown(struct msg_in *, const char *const *);

const char *msg_request_op(struct msg_in *, struct msg_error *);
int	 msg_request_decode(struct msg_in *, unsigned int, unsigned int,
	    struct msg_request *, struct msg_error *);
void	 msg_request_clear(struct msg_request *);
char	*msg_request_add_token(const char *, const char *);
char	*msg_object_set_string(const char *, const char *, const char *, int);
int	 msg_spec_decode(struct msg_in *, struct msg_spec *,
	    struct msg_error *);
void	 msg_spec_clear(struct msg_spec *);
#define MSG_SPEC_KEY	0x1	/* msg_spec_encode: with the key */
#define MSG_SPEC_SHORT	0x2	/* only fields not at their defaults */
char	*msg_spec_encode(const struct msg_spec *, int);
char	*msg_spec_store_text(const struct msg_spec *);
int	 msg_spec_same(const char *, const char *);
int	 msg_spec_parse(const char *, struct msg_spec *, struct msg_error *);
int	 msg_specs_parse(const char *, size_t, struct msg_spec **, size_t *,
	    int *, struct msg_error *);

/* A member of a JSON object as raw text (msg_scan.c), borrowed. */
struct msg_member {
	const char	*key;		/* without its quotes */
	size_t		 klen;
	const char	*val;		/* the value's JSON text */
	size_t		 vlen;
};

/* A slice of an output stream of a result (msg_result_slice). */
struct msg_slice {
	char		*buf;		/* the bytes, or NULL for none */
	size_t		 len;
	size_t		 kept;		/* bytes the stream keeps */
	int64_t		 total;		/* bytes the job wrote (X_bytes) */
};

const char *msg_scan_object(const char *);
int	 msg_scan_member(const char **, struct msg_member *);
int	 msg_member_is(const struct msg_member *, const char *);
int	 msg_scan_find(const char *, const char *, struct msg_member *);
int	 msg_result_slice(const char *, const char *, size_t, size_t,
	    struct msg_slice *);
int	 msg_base64_slice(const char *, size_t, size_t, size_t,
	    struct msg_slice *);

/* A reply or request under construction: nested objects and arrays. */
struct msg_out;

struct msg_out *msg_out_new(void);
void	 msg_out_int(struct msg_out *, const char *, int64_t);
void	 msg_out_double(struct msg_out *, const char *, double);
void	 msg_out_bool(struct msg_out *, const char *, int);
void	 msg_out_string(struct msg_out *, const char *, const char *);
void	 msg_out_bytes(struct msg_out *, const char *, const char *, size_t);
void	 msg_out_output(struct msg_out *, const char *, const char *, size_t);
int	 msg_bytes_text(const char *, size_t);
void	 msg_out_null(struct msg_out *, const char *);
int	 msg_out_raw(struct msg_out *, const char *, const char *);
void	 msg_out_json(struct msg_out *, const char *, const char *);
char	*msg_json_compact(const char *);
void	 msg_out_object(struct msg_out *, const char *);
void	 msg_out_array(struct msg_out *, const char *);
void	 msg_out_close(struct msg_out *);
void	 msg_out_view(struct msg_out *, const char *, const struct msg_view *,
	    int);
char	*msg_out_finish(struct msg_out *, int);
size_t	 msg_out_len(const struct msg_out *);
void	 msg_out_free(struct msg_out *);
char	*msg_view_encode(const struct msg_view *, int);
char	*msg_error_reply(const char *, const char *);

#endif
