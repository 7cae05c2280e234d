/*
 * libaiojobs: the C client library of aiojobsd. Requests and replies are
 * JSON text (docs/protocol.md); see aiojobs(3).
 *
 * Every call that talks to the daemon takes a timeout in milliseconds and
 * returns within it (a wait within a second of it, should the daemon stop
 * answering while it holds the wait); a negative timeout means no limit.
 * Calls return AIOJOBS_OK (0) or an error code; aiojobs_errmsg() says
 * more. Strings the library returns are freed with aiojobs_free().
 * A handle is used by one thread at a time.
 */
#ifndef AIOJOBS_H
#define AIOJOBS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AIOJOBS_VERSION_MAJOR	0
#define AIOJOBS_VERSION_MINOR	1

/* An idempotency key as the library makes them: 128 bits as hex. */
#define AIOJOBS_KEY_LEN		32

enum aiojobs_code {
	AIOJOBS_OK = 0,
	/* The daemon's error codes (docs/protocol.md, section 2). */
	AIOJOBS_E_BAD_REQUEST = 1,
	AIOJOBS_E_UNKNOWN_OP,
	AIOJOBS_E_UNKNOWN_KIND,
	AIOJOBS_E_NOT_FOUND,
	AIOJOBS_E_QUEUE_FULL,
	AIOJOBS_E_SHUTTING_DOWN,
	AIOJOBS_E_TOO_LARGE,
	AIOJOBS_E_UNAUTHORIZED,
	AIOJOBS_E_FORBIDDEN,
	AIOJOBS_E_CONFLICT,
	AIOJOBS_E_INTERNAL,
	AIOJOBS_E_NOT_DURABLE,
	AIOJOBS_E_OTHER,	/* a code this library does not know */
	/* This side. */
	AIOJOBS_E_UNREACHABLE = 100,	/* no connection to the daemon */
	AIOJOBS_E_TIMEOUT,	/* no reply within the timeout */
	AIOJOBS_E_CLOSED,	/* the connection failed, or the handle */
	AIOJOBS_E_INVALID,	/* a bad argument, URL or token file */
	AIOJOBS_E_BAD_REPLY	/* the daemon's reply is not what it should be */
};

struct aiojobs;
struct aiojobs_events;

/*
 * Handles. The control URL is url, else $AIOJOBS_URL, else
 * ipc://RUNDIR/aiojobsd.sock with RUNDIR as aiojobctl finds it. The token
 * is token, else the first line of token_file, else $AIOJOBS_TOKEN, else
 * the file $AIOJOBS_TOKEN_FILE, else none. TLS settings come from
 * $AIOJOBS_TLS_CA_FILE and friends, or aiojobs_set_tls().
 *
 * *hp is set whatever the result (NULL only when out of memory), so that
 * aiojobs_errmsg(*hp) can say why; aiojobs_close() it either way.
 * aiojobs_open does no IO; aiojobs_connect also checks that the daemon
 * answers a ping within timeout_ms.
 */
int	 aiojobs_open(struct aiojobs **hp, const char *url, const char *token,
	    const char *token_file);
int	 aiojobs_connect(struct aiojobs **hp, const char *url,
	    const char *token, int timeout_ms);
int	 aiojobs_set_tls(struct aiojobs *h, const char *ca_file,
	    const char *server_name, const char *cert_file,
	    const char *key_file);
void	 aiojobs_close(struct aiojobs *h);
const char *aiojobs_url(const struct aiojobs *h);

/* Errors: the last call's code and text, and text for any code. */
int	 aiojobs_errcode(const struct aiojobs *h);
const char *aiojobs_errmsg(const struct aiojobs *h);
const char *aiojobs_strerror(int code);
const char *aiojobs_code_name(int code);
int	 aiojobs_code_from_name(const char *name);

void	 aiojobs_free(void *p);

/*
 * Send any request (a JSON object; the token is added) and receive its
 * reply, of any size, in *reply. An error reply from the daemon returns
 * its code with the reply still in *reply; transport errors leave *reply
 * NULL.
 */
int	 aiojobs_request(struct aiojobs *h, const char *req, int timeout_ms,
	    char **reply);

/*
 * Submit one job spec (a JSON object). The job's idempotency key is key,
 * else the spec's "key", else one the library makes. When a submit gets
 * no reply (timeout, lost connection), submitting the same spec again on
 * the same handle without a key reuses the key made for it, so the daemon
 * returns the first job instead of making a second. id (may be NULL) is
 * the job's id; reply (may be NULL) the whole reply.
 */
int	 aiojobs_submit(struct aiojobs *h, const char *spec, const char *key,
	    int timeout_ms, int64_t *id, char **reply);
const char *aiojobs_last_key(const struct aiojobs *h);
int	 aiojobs_key_new(char key[AIOJOBS_KEY_LEN + 1]);

/*
 * Wait for jobs as asyncio.wait does: return_when is "ALL_COMPLETED"
 * (NULL), "FIRST_COMPLETED" or "FIRST_EXCEPTION". The daemon holds a wait
 * for at most its max_hold; a reply with pending ids before timeout_ms
 * (-1: none) is asked again, so *reply is the daemon's last wait reply:
 * pending ids in it mean the timeout passed.
 */
int	 aiojobs_wait(struct aiojobs *h, const int64_t *ids, size_t n,
	    const char *return_when, int timeout_ms, char **reply);

/* Cancel a job; reply (may be NULL) holds its view once stopped. */
int	 aiojobs_cancel(struct aiojobs *h, int64_t id, int timeout_ms,
	    char **reply);

/*
 * Events of topics starting with prefix (NULL or "": all), from url, else
 * $AIOJOBS_EVENTS_URL, else ipc://RUNDIR/events.sock. The subscription
 * connects in the background and reconnects on its own. recv gives the
 * next event's topic and JSON, or AIOJOBS_E_TIMEOUT after timeout_ms.
 * The fd is readable when an event may wait (poll it, never read it).
 */
int	 aiojobs_events_open(struct aiojobs_events **ep, const char *url,
	    const char *prefix);
int	 aiojobs_events_recv(struct aiojobs_events *e, int timeout_ms,
	    char **topic, char **json);
int	 aiojobs_events_fd(struct aiojobs_events *e);
const char *aiojobs_events_errmsg(const struct aiojobs_events *e);
void	 aiojobs_events_close(struct aiojobs_events *e);

#ifdef __cplusplus
}
#endif

#endif
