/*
 * A daemon's state and raw REQ clients for the tests of control.c and
 * wait.c (tenv.h). Every step that waits for bytes turns the loop and is
 * bounded by TENV_WAIT_MS.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "sp_request.h"
#include "sp_wire.h"
#include "tenv.h"

#define TENV_WAIT_MS	5000	/* the longest any one step may take */

struct tenv	 tenv;

static uint64_t
tenv_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* The endpoints' dispatcher: the test takes each request in turn. */
static void
tenv_dispatch(struct aiojobsd *aj, struct creq *cr, const char *body,
    size_t len)
{
	ck_assert_ptr_eq(aj, &tenv.aj);
	ck_assert_ptr_eq(body, tenv_body(cr));
	ck_assert_uint_eq(len, strlen(body));
	ck_assert_int_lt(tenv.nreqs, TENV_REQS_MAX);
	tenv.reqs[tenv.nreqs++] = cr;
}

/* A daemon with the default configuration, no endpoint and no job. */
void
tenv_setup(void)
{
	memset(&tenv, 0, sizeof tenv);
	snprintf(tenv.dir, sizeof tenv.dir, "/tmp/check_ctl.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tenv.dir));
	config_defaults(&tenv.aj.conf);
	TAILQ_INIT(&tenv.aj.controls);
	tenv.aj.base = event_base_new();
	ck_assert_ptr_nonnull(tenv.aj.base);
	tenv.aj.sched = sched_create(tenv.aj.base, 0, 0);
	tenv_access();
}

/* Endpoints first: their held requests name jobs of the scheduler. */
void
tenv_teardown(void)
{
	struct control	*c;

	while ((c = TAILQ_FIRST(&tenv.aj.controls)) != NULL)
		tenv_close(c);
	sched_free(tenv.aj.sched);
	access_free(tenv.aj.access);
	config_clear(&tenv.aj.conf);
	event_base_free(tenv.aj.base);
	rmdir(tenv.dir);
}

/* Take the configuration's [access] and [user.NAME] sections as they are. */
void
tenv_access(void)
{
	char	*cause = NULL;

	ck_assert_msg(config_prepare_users(&tenv.aj.conf, &cause) == 0, "%s",
	    cause);
	access_free(tenv.aj.access);
	tenv.aj.access = access_create(&tenv.aj.conf, &cause);
	ck_assert_msg(tenv.aj.access != NULL, "%s", cause);
}

/* Open an endpoint as the daemon does, its requests going to the test. */
struct control *
tenv_control(struct config_listen *l)
{
	struct control	*c;
	char		*cause = NULL;

	c = control_create(&tenv.aj, l, tenv_dispatch, &cause);
	ck_assert_msg(c != NULL, "%s", cause);
	TAILQ_INSERT_TAIL(&tenv.aj.controls, c, entry);
	return (c);
}

/* An ipc endpoint named name, at a file of that name; secret may be NULL. */
struct control *
tenv_control_ipc(const char *name, const char *secret)
{
	struct config_listen	 l;
	char			 url[128];

	memset(&l, 0, sizeof l);
	snprintf(url, sizeof url, "ipc://%s/%s.sock", tenv.dir, name);
	l.name = (char *)name;
	l.url = url;
	l.secret = (char *)secret;
	l.allow_exec = -1;
	l.kinds = CONFIG_KINDS_ALL;
	return (tenv_control(&l));
}

/* Close an endpoint as the daemon does at exit. */
void
tenv_close(struct control *c)
{
	TAILQ_REMOVE(&tenv.aj.controls, c, entry);
	control_free(c);
}

/* Turn the loop a few times without waiting. */
void
tenv_turn(void)
{
	int	 i;

	for (i = 0; i < 10; i++)
		event_base_loop(tenv.aj.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

/* Turn the loop until the endpoints have taken n requests in all. */
void
tenv_until_requests(int n)
{
	uint64_t	 deadline = tenv_now_ms() + TENV_WAIT_MS;

	while (tenv.nreqs < n && tenv_now_ms() < deadline)
		event_base_loop(tenv.aj.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_int_eq(tenv.nreqs, n);
}

/* The body of a request, NUL-terminated. */
const char *
tenv_body(struct creq *cr)
{
	size_t	 len;

	return (sp_request_body(cr->msg, &len));
}

static void
tenv_write(int fd, const void *buf, size_t len)
{
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
}

/* Read exactly len bytes, turning the loop while they are on the way. */
static void
tenv_read(int fd, void *buf, size_t len)
{
	uint64_t	 deadline = tenv_now_ms() + TENV_WAIT_MS;
	size_t		 got = 0;
	ssize_t		 n;

	while (got < len && tenv_now_ms() < deadline) {
		event_base_loop(tenv.aj.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if ((n = read(fd, (char *)buf + got, len - got)) > 0)
			got += (size_t)n;
		else if (n == 0)
			break;
	}
	ck_assert_uint_eq(got, len);
}

/* Open a connected socket as a REQ peer: send our header, read theirs. */
static int
tenv_handshake(int fd)
{
	unsigned char	 head[SP_HEADER_LEN];

	ck_assert_int_ne(fcntl(fd, F_SETFL, O_NONBLOCK), -1);
	sp_header(SP_PROTO_REQ, head);
	tenv_write(fd, head, sizeof head);
	tenv_read(fd, head, sizeof head);
	ck_assert_int_eq(sp_header_proto(head), SP_PROTO_REP);
	return (fd);
}

/* Connect to an ipc endpoint as a REQ peer. */
int
tenv_client(struct control *c)
{
	struct sockaddr_un	 sun;
	int			 fd;

	ck_assert(strncmp(c->url, "ipc://", 6) == 0);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", c->url + 6);
	ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	return (tenv_handshake(fd));
}

/*
 * The port of the tcp endpoint the test opened on port 0: the one
 * listening IPv4 socket of this process.
 */
int
tenv_tcp_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len;
	int			 fd, on;

	for (fd = 3; fd < 1024; fd++) {
		len = sizeof on;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on,
		    &len) == -1 || !on)
			continue;
		len = sizeof sin;
		if (getsockname(fd, (struct sockaddr *)&sin, &len) == 0 &&
		    sin.sin_family == AF_INET)
			return (ntohs(sin.sin_port));
	}
	ck_abort_msg("no tcp endpoint is listening");
	return (-1);
}

/* Connect to a tcp endpoint at address ip (IPv4) as a REQ peer. */
int
tenv_client_tcp(const char *ip, int port)
{
	struct sockaddr_in	 sin;
	int			 fd;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	return (tenv_handshake(fd));
}

/* Whether a client speaks ipc (frames with a type byte) or tcp. */
static int
tenv_ipc(int fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	return (ss.ss_family == AF_UNIX);
}

/* Send a request with request id id (its route) and body. */
void
tenv_send(int fd, uint32_t id, const char *body)
{
	size_t		 blen = strlen(body), flen = sp_frame_len(tenv_ipc(fd));
	unsigned char	*buf = malloc(flen + 4 + blen);

	ck_assert_ptr_nonnull(buf);
	sp_frame_put(buf, tenv_ipc(fd), 4 + blen);
	buf[flen] = (unsigned char)((id >> 24) | 0x80);
	buf[flen + 1] = (id >> 16) & 0xff;
	buf[flen + 2] = (id >> 8) & 0xff;
	buf[flen + 3] = id & 0xff;
	memcpy(buf + flen + 4, body, blen);
	tenv_write(fd, buf, flen + 4 + blen);
	free(buf);
}

/* Read one reply, check it answers request id; its body, to free. */
char *
tenv_recv(int fd, uint32_t id)
{
	unsigned char	 frame[SP_FRAME_MAX], route[4];
	uint64_t	 len;
	char		*body;
	int		 ipc = tenv_ipc(fd);

	tenv_read(fd, frame, sp_frame_len(ipc));
	ck_assert_int_eq(sp_frame_get(frame, ipc, &len), 0);
	ck_assert_uint_ge(len, 4);
	tenv_read(fd, route, sizeof route);
	ck_assert_uint_eq(((uint32_t)route[0] << 24 | (uint32_t)route[1] << 16 |
	    (uint32_t)route[2] << 8 | route[3]), id | 0x80000000U);
	body = malloc(len - 4 + 1);
	ck_assert_ptr_nonnull(body);
	tenv_read(fd, body, len - 4);
	body[len - 4] = '\0';
	return (body);
}

/* Read one reply to request id as JSON; msg_in_free it. */
struct msg_in *
tenv_recv_json(int fd, uint32_t id)
{
	struct msg_error	 err;
	struct msg_in		*in;
	char			*body = tenv_recv(fd, id);

	in = msg_in_parse(body, strlen(body), &err);
	ck_assert_msg(in != NULL, "reply %s: %s", body, err.message);
	free(body);
	return (in);
}

/* Whether nothing came, the loop turned a few times. */
int
tenv_silent(int fd)
{
	char	 c;

	tenv_turn();
	return (read(fd, &c, 1) == -1 && errno == EAGAIN);
}

/* Whether the endpoint closed the connection (EOF or reset), no reply. */
int
tenv_closed(int fd)
{
	uint64_t	 deadline = tenv_now_ms() + TENV_WAIT_MS;
	char		 buf[256];
	ssize_t		 n;

	while (tenv_now_ms() < deadline) {
		tenv_turn();
		n = read(fd, buf, sizeof buf);
		if (n > 0)
			return (0);
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			return (1);
	}
	return (0);
}
