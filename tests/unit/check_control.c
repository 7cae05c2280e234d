/*
 * A control endpoint through control.c's API: who a request is
 * (control_authorize: the kernel over ipc, tokens otherwise), which kinds
 * it takes (control_permit), replies along each request's route, the
 * endpoint's own refusals (too large, a resent copy of a held request),
 * and its held requests: hold, unhold, count, each_held, reply_held and
 * what closing the endpoint does to them. Real endpoints on ipc paths
 * and on tcp, real clients; the requests come to the test instead of
 * ops.c.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <grp.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "check_main.h"
#include "sp_conn.h"
#include "sp_wire.h"
#include "tenv.h"
#include "transport.h"
#include "xmalloc.h"

#define T_NOBODY	65534
#define T_TOKEN		"user-token-of-nobody"
#define T_LO		"127.0.0.1"

/* What the hooks of held requests saw. */
static int	 t_released;
static int	 t_replied_now;
static int64_t	 t_seen[8];
static int	 t_nseen;

static void
t_setup(void)
{
	tenv_setup();
	t_released = t_replied_now = t_nseen = 0;
}

static void
t_release(struct creq *cr)
{
	t_released++;
}

/* reply_now as a held wait has it: answer at once with what is known. */
static void
t_reply_now(struct creq *cr)
{
	t_replied_now++;
	control_reply(cr, xstrdup("{\"ok\":true,\"now\":true}"));
}

/* A request of test index i, held with the test's hooks. */
static struct creq *
t_hold(int i)
{
	struct creq	*cr = tenv.reqs[i];

	cr->release = t_release;
	control_hold(cr, t_reply_now);
	return (cr);
}

/* each_held's function: note which request it saw, by index. */
static void
t_note(struct creq *cr)
{
	int	 i;

	for (i = 0; i < tenv.nreqs; i++) {
		if (tenv.reqs[i] == cr && t_nseen < 8)
			t_seen[t_nseen++] = i;
	}
}

/* each_held's function that answers what it is given. */
static void
t_answer(struct creq *cr)
{
	t_note(cr);
	control_reply(cr, xstrdup("{\"ok\":true}"));
}

/* Read a reply and check it is body. */
static void
t_expect(int fd, uint32_t id, const char *body)
{
	char	*got = tenv_recv(fd, id);

	ck_assert_str_eq(got, body);
	free(got);
}

/* Ask control_authorize about a request, its body parsed as ops.c does. */
static int
t_authorize(struct creq *cr, struct msg_error *err)
{
	struct msg_error	 perr;
	struct msg_in		*in;
	const char		*body = tenv_body(cr);
	int			 r;

	in = msg_strict_parse(body, strlen(body), &perr);
	ck_assert_ptr_nonnull(in);
	memset(err, 0, sizeof *err);
	r = control_authorize(cr, in, err);
	msg_in_free(in);
	return (r);
}

/* Give the user nobody a token ([user.nobody]), and maybe make it admin. */
static void
t_user_token(int admin)
{
	char	*cause = NULL;

	ck_assert_msg(config_set(&tenv.aj.conf, "user.nobody", "token",
	    T_TOKEN, &cause) == 0, "%s", cause);
	if (admin)
		ck_assert_msg(config_set(&tenv.aj.conf, "access", "admins",
		    "nobody", &cause) == 0, "%s", cause);
	tenv_access();
}

/* An endpoint's section as the defaults have it: any kind, exec on ipc. */
static void
t_listen(struct config_listen *l, const char *name, const char *url)
{
	memset(l, 0, sizeof *l);
	l->name = (char *)name;
	l->url = (char *)url;
	l->allow_exec = -1;
	l->kinds = CONFIG_KINDS_ALL;
}

/* A tcp endpoint on loopback, on a port the kernel picks. */
static struct control *
t_control_tcp(const char *secret, int insecure_no_token)
{
	struct config_listen	 l;

	t_listen(&l, "tcp", "tcp://127.0.0.1:0");
	l.secret = (char *)secret;
	l.insecure_no_token = insecure_no_token;
	return (tenv_control(&l));
}

/*
 * Send a request with this body over tcp from address ip to the tcp
 * endpoint open: as whom it is taken, or -1 with err.
 */
static long
t_tcp_uid(const char *ip, const char *json, int *admin,
    struct msg_error *err)
{
	struct sp_peer	 peer;
	struct creq	*cr;
	long		 uid = -1;
	int		 fd = tenv_client_tcp(ip, tenv_tcp_port());

	tenv_send(fd, 1, json);
	tenv_until_requests(tenv.nreqs + 1);
	cr = tenv.reqs[tenv.nreqs - 1];
	ck_assert_int_eq(control_peer(cr, &peer), -1);	/* no credentials */
	cr->uid = (uid_t)-2;
	if (t_authorize(cr, err) == 0)
		uid = (long)cr->uid;
	if (admin != NULL)
		*admin = cr->admin;
	control_reply(cr, xstrdup("{}"));
	t_expect(fd, 1, "{}");
	close(fd);
	return (uid);
}

/* Replies go back along each request's route, in the order given. */
START_TEST(test_reply_along_route)
{
	struct control	*c = tenv_control_ipc("ctl", NULL);
	int		 a = tenv_client(c), b = tenv_client(c);

	tenv_send(a, 1, "{\"op\":\"ping\"}");
	tenv_until_requests(1);
	tenv_send(b, 2, "{\"op\":\"ping\"}");
	tenv_until_requests(2);
	ck_assert_str_eq(tenv_body(tenv.reqs[1]), "{\"op\":\"ping\"}");
	tenv.reqs[0]->release = t_release;
	tenv.reqs[1]->release = t_release;
	control_reply(tenv.reqs[1], xstrdup("{\"to\":\"b\"}"));
	ck_assert_int_eq(t_released, 1);
	control_reply(tenv.reqs[0], xstrdup("{\"to\":\"a\"}"));
	ck_assert_int_eq(t_released, 2);
	t_expect(b, 2, "{\"to\":\"b\"}");
	t_expect(a, 1, "{\"to\":\"a\"}");
	ck_assert(tenv_silent(a));
	close(a);
	close(b);
}
END_TEST

/* An error reply carries its code and the formatted message. */
START_TEST(test_error_reply)
{
	struct control		*c = tenv_control_ipc("ctl", NULL);
	struct msg_in		*in, *e;
	const char		*s;
	int			 fd = tenv_client(c), ok = 1;

	tenv_send(fd, 9, "{\"op\":\"status\",\"id\":7}");
	tenv_until_requests(1);
	control_error(tenv.reqs[0], MSG_E_NOT_FOUND, "no job with id %d", 7);
	in = tenv_recv_json(fd, 9);
	ck_assert_int_eq(msg_in_bool(in, "ok", &ok, NULL), 1);
	ck_assert_int_eq(ok, 0);
	ck_assert_ptr_nonnull(e = msg_in_object(in, "error"));
	ck_assert_int_eq(msg_in_string(e, "code", &s, NULL), 1);
	ck_assert_str_eq(s, "not_found");
	ck_assert_int_eq(msg_in_string(e, "message", &s, NULL), 1);
	ck_assert_str_eq(s, "no job with id 7");
	msg_in_free(in);
	close(fd);
}
END_TEST

/*
 * A request over max_request_bytes is answered too_large by the
 * endpoint itself; the next one is taken.
 */
START_TEST(test_too_large)
{
	struct control	*c;
	struct msg_in	*in, *e;
	const char	*code;
	int		 fd;

	tenv.aj.conf.max_request_bytes = 16;
	c = tenv_control_ipc("ctl", NULL);
	fd = tenv_client(c);
	tenv_send(fd, 3, "{\"op\":\"ping\",\"pad\":\"xxxxxxxx\"}");
	in = tenv_recv_json(fd, 3);
	ck_assert_ptr_nonnull(e = msg_in_object(in, "error"));
	ck_assert_int_eq(msg_in_string(e, "code", &code, NULL), 1);
	ck_assert_str_eq(code, "too_large");
	msg_in_free(in);
	ck_assert_int_eq(tenv.nreqs, 0);
	tenv_send(fd, 4, "{\"op\":\"ping\"}");
	tenv_until_requests(1);
	control_reply(tenv.reqs[0], xstrdup("{}"));
	t_expect(fd, 4, "{}");
	close(fd);
}
END_TEST

/*
 * A request even over what the endpoint reads (16 times
 * max_request_bytes, 16 MiB at least) is thrown away as it arrives and
 * answered too_large, unread; the connection serves on.
 */
START_TEST(test_too_large_unread)
{
	struct control	*c;
	struct msg_in	*in, *e;
	const char	*s;
	unsigned char	 head[SP_FRAME_IPC + 4], chunk[64 * 1024];
	size_t		 left = TRANSPORT_RECV_MIN + sizeof chunk;
	ssize_t		 n;
	int		 fd;

	tenv.aj.conf.max_request_bytes = 16;
	c = tenv_control_ipc("ctl", NULL);
	fd = tenv_client(c);
	sp_frame_put(head, 1, 4 + left);
	memcpy(head + SP_FRAME_IPC, "\x80\0\0\x07", 4);
	ck_assert_int_eq(write(fd, head, sizeof head), (ssize_t)sizeof head);
	memset(chunk, ' ', sizeof chunk);
	while (left > 0) {
		n = write(fd, chunk, left < sizeof chunk ? left : sizeof chunk);
		if (n > 0)
			left -= (size_t)n;
		else
			tenv_turn();
	}
	in = tenv_recv_json(fd, 7);
	ck_assert_ptr_nonnull(e = msg_in_object(in, "error"));
	ck_assert_int_eq(msg_in_string(e, "code", &s, NULL), 1);
	ck_assert_str_eq(s, "too_large");
	ck_assert_int_eq(msg_in_string(e, "message", &s, NULL), 1);
	ck_assert_ptr_nonnull(strstr(s, "it was not read"));
	msg_in_free(in);
	ck_assert_int_eq(tenv.nreqs, 0);
	tenv_send(fd, 8, "{}");
	tenv_until_requests(1);
	control_reply(tenv.reqs[0], xstrdup("{}"));
	t_expect(fd, 8, "{}");
	close(fd);
}
END_TEST

/*
 * A client that resends a request it is still waiting for (the same
 * route) gets one reply: the copy is dropped while the first is held,
 * and taken again once it was answered.
 */
START_TEST(test_resent_held_request_dropped)
{
	struct control	*c = tenv_control_ipc("ctl", NULL);
	int		 fd = tenv_client(c);

	tenv_send(fd, 5, "{\"op\":\"wait\",\"ids\":[1]}");
	tenv_until_requests(1);
	t_hold(0);
	tenv_send(fd, 5, "{\"op\":\"wait\",\"ids\":[1]}");
	tenv_send(fd, 6, "{\"op\":\"ping\"}");
	tenv_until_requests(2);
	ck_assert_str_eq(tenv_body(tenv.reqs[1]), "{\"op\":\"ping\"}");
	ck_assert_uint_eq(control_held_count(c), 1);
	control_reply(tenv.reqs[1], xstrdup("{\"n\":6}"));
	t_expect(fd, 6, "{\"n\":6}");
	control_reply(tenv.reqs[0], xstrdup("{\"n\":5}"));
	t_expect(fd, 5, "{\"n\":5}");
	tenv_send(fd, 5, "{\"op\":\"wait\",\"ids\":[1]}");
	tenv_until_requests(3);
	control_reply(tenv.reqs[2], xstrdup("{\"n\":5}"));
	t_expect(fd, 5, "{\"n\":5}");
	ck_assert(tenv_silent(fd));
	close(fd);
}
END_TEST

/*
 * Held requests are counted and visited in the order they were held;
 * unhold takes one out once (a second unhold does nothing); a visit may
 * answer (and so free) each request it is given.
 */
START_TEST(test_hold_unhold_each)
{
	struct control	*c = tenv_control_ipc("ctl", NULL);
	int		 fd[3], i;

	for (i = 0; i < 3; i++) {
		fd[i] = tenv_client(c);
		tenv_send(fd[i], 10 + i, "{\"op\":\"wait\",\"ids\":[1]}");
		tenv_until_requests(i + 1);
	}
	for (i = 0; i < 3; i++)
		ck_assert(t_hold(i)->held);
	ck_assert_uint_eq(control_held_count(c), 3);
	control_each_held(c, t_note);
	ck_assert_int_eq(t_nseen, 3);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(t_seen[i], i);
	control_unhold(tenv.reqs[1]);
	ck_assert(!tenv.reqs[1]->held);
	ck_assert_uint_eq(control_held_count(c), 2);
	control_unhold(tenv.reqs[1]);
	ck_assert_uint_eq(control_held_count(c), 2);
	t_nseen = 0;
	control_each_held(c, t_answer);
	ck_assert_int_eq(t_nseen, 2);
	ck_assert_int_eq(t_seen[0], 0);
	ck_assert_int_eq(t_seen[1], 2);
	ck_assert_uint_eq(control_held_count(c), 0);
	ck_assert_int_eq(t_released, 2);
	ck_assert_int_eq(t_replied_now, 0);
	t_expect(fd[0], 10, "{\"ok\":true}");
	t_expect(fd[2], 12, "{\"ok\":true}");
	ck_assert(tenv_silent(fd[1]));
	/* out of the list, the request is still the endpoint's to answer */
	control_reply(tenv.reqs[1], xstrdup("{\"ok\":1}"));
	ck_assert_int_eq(t_released, 3);
	t_expect(fd[1], 11, "{\"ok\":1}");
	for (i = 0; i < 3; i++)
		close(fd[i]);
}
END_TEST

/* Answering a held request takes it off the list; release runs once. */
START_TEST(test_reply_to_held)
{
	struct control	*c = tenv_control_ipc("ctl", NULL);
	int		 fd = tenv_client(c);

	tenv_send(fd, 1, "{\"op\":\"wait\",\"ids\":[1]}");
	tenv_until_requests(1);
	t_hold(0);
	control_reply(tenv.reqs[0], xstrdup("{\"ok\":true}"));
	ck_assert_uint_eq(control_held_count(c), 0);
	ck_assert_int_eq(t_released, 1);
	control_each_held(c, t_note);
	ck_assert_int_eq(t_nseen, 0);
	t_expect(fd, 1, "{\"ok\":true}");
	close(fd);
}
END_TEST

/* At shutdown every held request is answered by its reply_now, once. */
START_TEST(test_reply_held)
{
	struct control	*c = tenv_control_ipc("ctl", NULL);
	int		 a = tenv_client(c), b = tenv_client(c);

	tenv_send(a, 1, "{\"op\":\"wait\",\"ids\":[1]}");
	tenv_send(b, 2, "{\"op\":\"wait\",\"ids\":[2]}");
	tenv_until_requests(2);
	t_hold(0);
	t_hold(1);
	control_reply_held(c);
	ck_assert_int_eq(t_replied_now, 2);
	ck_assert_int_eq(t_released, 2);
	ck_assert_uint_eq(control_held_count(c), 0);
	t_expect(a, 1, "{\"ok\":true,\"now\":true}");
	t_expect(b, 2, "{\"ok\":true,\"now\":true}");
	close(a);
	close(b);
}
END_TEST

/*
 * An endpoint that closes drops its held requests unanswered: each is
 * released once, none is answered, and its clients see the connection
 * close. Its socket file goes with it.
 */
START_TEST(test_close_drops_held)
{
	struct control	*c = tenv_control_ipc("ctl", NULL);
	int		 a = tenv_client(c), b = tenv_client(c);
	char		 path[128];

	tenv_send(a, 1, "{\"op\":\"wait\",\"ids\":[1]}");
	tenv_send(b, 2, "{\"op\":\"wait\",\"ids\":[2]}");
	tenv_until_requests(2);
	t_hold(0);
	t_hold(1);
	snprintf(path, sizeof path, "%s", c->url + 6);
	ck_assert_int_eq(access(path, F_OK), 0);
	tenv_close(c);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(t_released, 2);
	ck_assert_int_eq(t_replied_now, 0);
	ck_assert(tenv_closed(a));
	ck_assert(tenv_closed(b));
	close(a);
	close(b);
}
END_TEST

/*
 * Over ipc the kernel says who sent a request: the peer's uid, whatever
 * token of a [user.NAME] it carries, and there is no need for a token
 * even when users have them.
 */
START_TEST(test_authorize_ipc_peer)
{
	struct control		*c;
	struct msg_error	 err;
	struct sp_peer		 peer;
	int			 fd;

	t_user_token(0);
	c = tenv_control_ipc("ctl", NULL);
	fd = tenv_client(c);
	tenv_send(fd, 1, "{\"op\":\"ping\",\"token\":\"" T_TOKEN "\"}");
	tenv_send(fd, 2, "{\"op\":\"ping\"}");
	tenv_until_requests(2);
	ck_assert_int_eq(control_peer(tenv.reqs[0], &peer), 0);
	ck_assert_int_eq(peer.pid, getpid());
	ck_assert_int_eq(peer.uid, geteuid());
	tenv.reqs[0]->uid = tenv.reqs[1]->uid = T_NOBODY;
	ck_assert_int_eq(t_authorize(tenv.reqs[0], &err), 0);
	ck_assert_int_eq(tenv.reqs[0]->uid, geteuid());
	ck_assert_int_eq(t_authorize(tenv.reqs[1], &err), 0);
	ck_assert_int_eq(tenv.reqs[1]->uid, geteuid());
	ck_assert(tenv.reqs[1]->admin);		/* the daemon's own user */
	control_reply(tenv.reqs[0], xstrdup("{}"));
	control_reply(tenv.reqs[1], xstrdup("{}"));
	close(fd);
}
END_TEST

/* Read len bytes from a blocking socket; 0, or -1 when it ends first. */
static int
t_read_full(int fd, void *buf, size_t len)
{
	size_t	 got = 0;
	ssize_t	 n;

	while (got < len) {
		if ((n = read(fd, (char *)buf + got, len - got)) <= 0)
			return (-1);
		got += (size_t)n;
	}
	return (0);
}

/*
 * In a child process: become nobody, send a ping to the endpoint at path
 * and wait for its reply. Exits 0 once answered. Plain blocking IO: no
 * loop and no Check in a forked child.
 */
static void
t_child_ping(const char *path)
{
	static const char	 body[] = "{\"op\":\"ping\"}";
	struct sockaddr_un	 sun;
	unsigned char		 buf[SP_FRAME_IPC + 4 + sizeof body];
	uint64_t		 len;
	int			 fd;

	if (setgroups(0, NULL) == -1 || setgid(T_NOBODY) == -1 ||
	    setuid(T_NOBODY) == -1)
		_exit(2);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		_exit(3);
	sp_header(SP_PROTO_REQ, buf);
	if (write(fd, buf, SP_HEADER_LEN) != SP_HEADER_LEN ||
	    t_read_full(fd, buf, SP_HEADER_LEN) != 0)
		_exit(4);
	sp_frame_put(buf, 1, 4 + sizeof body - 1);
	memcpy(buf + SP_FRAME_IPC, "\x80\0\0\x01", 4);
	memcpy(buf + SP_FRAME_IPC + 4, body, sizeof body - 1);
	if (write(fd, buf, sizeof buf - 1) != (ssize_t)sizeof buf - 1 ||
	    t_read_full(fd, buf, SP_FRAME_IPC) != 0 ||
	    sp_frame_get(buf, 1, &len) != 0 || len > sizeof buf ||
	    t_read_full(fd, buf, (size_t)len) != 0)
		_exit(5);
	_exit(0);
}

/*
 * A request from another user's process is that user's, and not an
 * admin's. Needs root, to become another user; passes without it.
 */
START_TEST(test_authorize_ipc_other_user)
{
	struct control		*c;
	struct msg_error	 err;
	pid_t			 pid;
	int			 status;

	if (geteuid() != 0)
		return;
	tenv.aj.conf.socket_mode = 0666;
	ck_assert_int_eq(chmod(tenv.dir, 0711), 0);
	c = tenv_control_ipc("ctl", NULL);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0)
		t_child_ping(c->url + 6);
	tenv_until_requests(1);
	ck_assert_int_eq(t_authorize(tenv.reqs[0], &err), 0);
	ck_assert_int_eq(tenv.reqs[0]->uid, T_NOBODY);
	ck_assert(!tenv.reqs[0]->admin);
	control_reply(tenv.reqs[0], xstrdup("{}"));
	while (waitpid(pid, &status, WNOHANG) == 0)
		tenv_turn();
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* An ipc endpoint with a token of its own needs it in every request. */
START_TEST(test_authorize_ipc_endpoint_token)
{
	struct control		*c = tenv_control_ipc("ctl", "endpoint-secret");
	struct msg_error	 err;
	int			 fd = tenv_client(c), i;

	tenv_send(fd, 1, "{\"op\":\"ping\"}");
	tenv_send(fd, 2, "{\"op\":\"ping\",\"token\":\"wrong\"}");
	tenv_send(fd, 3, "{\"op\":\"ping\",\"token\":\"endpoint-secret\"}");
	tenv_until_requests(3);
	ck_assert_int_eq(t_authorize(tenv.reqs[0], &err), -1);
	ck_assert_str_eq(err.code, "unauthorized");
	ck_assert_ptr_nonnull(strstr(err.message, "token missing"));
	ck_assert_int_eq(t_authorize(tenv.reqs[1], &err), -1);
	ck_assert_str_eq(err.code, "unauthorized");
	ck_assert_str_eq(err.message, "token wrong for endpoint ctl");
	ck_assert_int_eq(t_authorize(tenv.reqs[2], &err), 0);
	ck_assert_int_eq(tenv.reqs[2]->uid, geteuid());
	for (i = 0; i < 3; i++)
		control_reply(tenv.reqs[i], xstrdup("{}"));
	close(fd);
}
END_TEST

/* Over tcp without any token anywhere: requests are the daemon's user's. */
START_TEST(test_authorize_tcp_no_tokens)
{
	struct control		*c = t_control_tcp(NULL, 0);
	struct msg_error	 err;
	int			 admin;

	ck_assert(c->plain_tcp);
	ck_assert_int_eq(t_tcp_uid(T_LO, "{\"op\":\"ping\"}", &admin, &err),
	    (long)geteuid());
	ck_assert(admin);
}
END_TEST

/*
 * Over tcp, when users have tokens, a request without one could be
 * anybody's: unauthorized. A user's token makes it that user's.
 */
START_TEST(test_authorize_tcp_user_tokens)
{
	struct msg_error	 err;
	int			 admin;

	t_user_token(0);
	t_control_tcp(NULL, 0);
	ck_assert_int_eq(t_tcp_uid(T_LO, "{\"op\":\"ping\"}", NULL, &err), -1);
	ck_assert_str_eq(err.code, "unauthorized");
	ck_assert_ptr_nonnull(strstr(err.message, "token missing"));
	ck_assert_int_eq(t_tcp_uid(T_LO, "{\"op\":\"ping\",\"token\":\"nope\"}",
	    NULL, &err), -1);
	ck_assert_str_eq(err.code, "unauthorized");
	ck_assert_str_eq(err.message, "token wrong for endpoint tcp");
	ck_assert_int_eq(t_tcp_uid(T_LO, "{\"op\":\"ping\",\"token\":\"" T_TOKEN
	    "\"}", &admin, &err), T_NOBODY);
	ck_assert(!admin);
}
END_TEST

/* A user [access] admins names is an admin over tcp as well. */
START_TEST(test_authorize_tcp_admin)
{
	struct msg_error	 err;
	int			 admin;

	t_user_token(1);
	t_control_tcp(NULL, 0);
	ck_assert_int_eq(t_tcp_uid(T_LO, "{\"op\":\"ping\",\"token\":\"" T_TOKEN
	    "\"}", &admin, &err), T_NOBODY);
	ck_assert(admin);
}
END_TEST

/* insecure_no_token: without a token, the daemon's user, tokens or not. */
START_TEST(test_authorize_tcp_insecure_no_token)
{
	struct msg_error	 err;

	t_user_token(0);
	t_control_tcp(NULL, 1);
	ck_assert_int_eq(t_tcp_uid(T_LO, "{\"op\":\"ping\"}", NULL, &err),
	    (long)geteuid());
	ck_assert_int_eq(t_tcp_uid(T_LO, "{\"op\":\"ping\",\"token\":\"" T_TOKEN
	    "\"}", NULL, &err), T_NOBODY);
}
END_TEST

/*
 * A tcp endpoint's own token acts as the daemon's user, a user's token
 * as that user; none is unauthorized.
 */
START_TEST(test_authorize_tcp_endpoint_token)
{
	struct msg_error	 err;

	t_user_token(0);
	t_control_tcp("endpoint-secret", 0);
	ck_assert_int_eq(t_tcp_uid(T_LO, "{\"op\":\"ping\",\"token\":"
	    "\"endpoint-secret\"}", NULL, &err), (long)geteuid());
	ck_assert_int_eq(t_tcp_uid(T_LO, "{\"op\":\"ping\",\"token\":\"" T_TOKEN
	    "\"}", NULL, &err), T_NOBODY);
	ck_assert_int_eq(t_tcp_uid(T_LO, "{\"op\":\"ping\"}", NULL, &err), -1);
	ck_assert_str_eq(err.code, "unauthorized");
}
END_TEST

/*
 * An IPv4 address of this machine that is not loopback, into ip; 0 when
 * it has none (then a test of remote peers has nothing to connect from).
 */
static int
t_remote_ip(char *ip, size_t len)
{
	struct ifaddrs		*ifa, *i;
	struct sockaddr_in	*sin;
	int			 found = 0;

	ck_assert_int_eq(getifaddrs(&ifa), 0);
	for (i = ifa; i != NULL && !found; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
		    !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		sin = (struct sockaddr_in *)i->ifa_addr;
		found = inet_ntop(AF_INET, &sin->sin_addr, ip, len) != NULL;
	}
	freeifaddrs(ifa);
	return (found);
}

/* A tcp endpoint with a token on every address, on a port the kernel picks. */
static void
t_control_any(int insecure_plain_token)
{
	struct config_listen	 l;

	t_listen(&l, "any", "tcp://0.0.0.0:0");
	l.secret = (char *)"endpoint-secret";
	l.insecure_plain_token = insecure_plain_token;
	tenv_control(&l);
}

/*
 * A token that came over plain tcp from another machine crossed the
 * network in clear text: refused, right or wrong, unless the endpoint
 * says insecure_plain_token. From loopback it is taken. (Another machine
 * is this one's own non-loopback address; without one, only loopback is
 * tried.)
 */
START_TEST(test_authorize_plain_token)
{
	struct msg_error	 err;
	char			 ip[INET_ADDRSTRLEN];
	int			 remote = t_remote_ip(ip, sizeof ip);

	t_control_any(0);
	ck_assert_int_eq(t_tcp_uid(T_LO, "{\"op\":\"ping\",\"token\":"
	    "\"endpoint-secret\"}", NULL, &err), (long)geteuid());
	if (!remote)
		return;
	ck_assert_int_eq(t_tcp_uid(ip, "{\"op\":\"ping\",\"token\":"
	    "\"endpoint-secret\"}", NULL, &err), -1);
	ck_assert_str_eq(err.code, "unauthorized");
	ck_assert_ptr_nonnull(strstr(err.message, "clear text"));
	ck_assert_int_eq(t_tcp_uid(ip, "{\"op\":\"ping\",\"token\":"
	    "\"wrong\"}", NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "clear text"));
	ck_assert_int_eq(t_tcp_uid(ip, "{\"op\":\"ping\"}", NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "token missing"));
	tenv_close(TAILQ_FIRST(&tenv.aj.controls));
	t_control_any(1);
	ck_assert_int_eq(t_tcp_uid(ip, "{\"op\":\"ping\",\"token\":"
	    "\"endpoint-secret\"}", NULL, &err), (long)geteuid());
}
END_TEST

/* Ask control_permit about jobs of these kinds (a batch when n > 1). */
static int
t_permit(struct control *c, const char **kinds, size_t n,
    struct msg_error *err)
{
	struct msg_spec		 specs[4];
	struct msg_request	 req;
	size_t			 i;

	memset(specs, 0, sizeof specs);
	memset(&req, 0, sizeof req);
	for (i = 0; i < n; i++)
		specs[i].kind = (char *)kinds[i];
	req.jobs = specs;
	req.njobs = n;
	req.present = n > 1 ? MSG_F_JOBS : MSG_F_JOB;
	memset(err, 0, sizeof *err);
	return (control_permit(c, &req, err));
}

/*
 * allow_exec off refuses exec jobs, a whole batch with one in it, and
 * says which; other kinds and unknown ones pass (submit refuses those).
 */
START_TEST(test_permit_allow_exec)
{
	static const char	*batch[] = { "sleep", "exec" };
	static const char	*other[] = { "sleep", "no-such-kind" };
	struct config_listen	 l;
	struct control		*c;
	struct msg_error	 err;
	char			 url[128];

	snprintf(url, sizeof url, "ipc://%s/noexec.sock", tenv.dir);
	t_listen(&l, "noexec", url);
	l.allow_exec = 0;
	c = tenv_control(&l);
	ck_assert_int_eq(t_permit(c, batch, 2, &err), -1);
	ck_assert_str_eq(err.code, "forbidden");
	ck_assert_str_eq(err.message, "jobs[1]: exec jobs are not allowed on "
	    "endpoint noexec (allow_exec is off); the batch was refused");
	ck_assert_int_eq(t_permit(c, batch + 1, 1, &err), -1);
	ck_assert_str_eq(err.message, "exec jobs are not allowed on endpoint "
	    "noexec (allow_exec is off)");
	ck_assert_int_eq(t_permit(c, other, 2, &err), 0);
	/* an ipc endpoint takes exec jobs unless it says otherwise */
	c = tenv_control_ipc("ctl", NULL);
	ck_assert_int_eq(t_permit(c, batch, 2, &err), 0);
}
END_TEST

/* allow_kinds: only the kinds named, and the refusal names them. */
START_TEST(test_permit_kinds)
{
	static const char	*cpu[] = { "cpu" };
	static const char	*sleep[] = { "sleep" };
	struct config_listen	 l;
	struct control		*c;
	struct msg_error	 err;
	char			 url[128];

	snprintf(url, sizeof url, "ipc://%s/sleeponly.sock", tenv.dir);
	t_listen(&l, "sleeponly", url);
	l.kinds = 1U << kind_index(kind_find("sleep"));
	c = tenv_control(&l);
	ck_assert_int_eq(t_permit(c, sleep, 1, &err), 0);
	ck_assert_int_eq(t_permit(c, cpu, 1, &err), -1);
	ck_assert_str_eq(err.code, "forbidden");
	ck_assert_str_eq(err.message, "cpu jobs are not allowed on endpoint "
	    "sleeponly (allow_kinds: sleep)");
}
END_TEST

static Suite *
control_suite(void)
{
	Suite	*s = suite_create("control");
	TCase	*tc;

	tc = tcase_create("requests");
	tcase_add_checked_fixture(tc, t_setup, tenv_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_reply_along_route);
	tcase_add_test(tc, test_error_reply);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_too_large_unread);
	tcase_add_test(tc, test_resent_held_request_dropped);
	suite_add_tcase(s, tc);

	tc = tcase_create("held");
	tcase_add_checked_fixture(tc, t_setup, tenv_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_hold_unhold_each);
	tcase_add_test(tc, test_reply_to_held);
	tcase_add_test(tc, test_reply_held);
	tcase_add_test(tc, test_close_drops_held);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_checked_fixture(tc, t_setup, tenv_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_authorize_ipc_peer);
	tcase_add_test(tc, test_authorize_ipc_other_user);
	tcase_add_test(tc, test_authorize_ipc_endpoint_token);
	tcase_add_test(tc, test_authorize_tcp_no_tokens);
	tcase_add_test(tc, test_authorize_tcp_user_tokens);
	tcase_add_test(tc, test_authorize_tcp_admin);
	tcase_add_test(tc, test_authorize_tcp_insecure_no_token);
	tcase_add_test(tc, test_authorize_tcp_endpoint_token);
	tcase_add_test(tc, test_authorize_plain_token);
	tcase_add_test(tc, test_permit_allow_exec);
	tcase_add_test(tc, test_permit_kinds);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (check_main(control_suite()));
}
