/*
 * Unit tests of common/endpoint.c: default endpoints and the checks made
 * before nanomsg sees a URL. Check forks every test, so setenv stays inside.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "endpoint.h"

/* A fresh private directory under /tmp. */
static char *
tmpdir_create(void)
{
	char	*dir;

	dir = strdup("/tmp/check_endpoint.XXXXXX");
	ck_assert_ptr_nonnull(dir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	return (dir);
}

/* dir/name, allocated. */
static char *
path_join(const char *dir, const char *name)
{
	char	*path;

	ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
	return (path);
}

/* ipc://path, allocated. */
static char *
ipc_url(const char *path)
{
	char	*url;

	ck_assert_int_ge(asprintf(&url, "ipc://%s", path), 0);
	return (url);
}

/* An ipc URL whose path is len bytes long: "/aaa...". */
static char *
ipc_url_of_len(size_t len)
{
	char	*path, *url;

	path = malloc(len + 1);
	ck_assert_ptr_nonnull(path);
	memset(path, 'a', len);
	path[0] = '/';
	path[len] = '\0';
	url = ipc_url(path);
	free(path);
	return (url);
}

/* Check url is accepted by endpoint_check. */
static void
check_ok(const char *url)
{
	char	*cause = NULL;

	ck_assert_msg(endpoint_check(url, &cause) == 0, "%s refused: %s", url,
	    cause);
	ck_assert_ptr_null(cause);
}

/* Check url is refused by endpoint_check, with a cause naming it. */
static char *
check_fails(const char *url)
{
	char	*cause = NULL;

	ck_assert_msg(endpoint_check(url, &cause) == -1, "%s accepted", url);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, url) != NULL,
	    "cause \"%s\" does not name the URL", cause);
	return (cause);
}

/* endpoint_check */

START_TEST(test_check_ipc)
{
	check_ok("ipc:///short");
	check_ok("ipc://relative.sock");
}
END_TEST

START_TEST(test_check_tcp)
{
	check_ok("tcp://127.0.0.1:1");
	check_ok("tcp://*:7711");
	check_ok("tls+tcp://localhost:7711");
}
END_TEST

START_TEST(test_check_other_transports)
{
	check_ok("inproc://x");
	check_ok("ws://127.0.0.1:8080");
}
END_TEST

static const char *unsupported[] = {
	"foo://x", "", "/tmp/aiojobsd.sock", "ipc:/x", "IPC:///x", "tcp:/x",
};

START_TEST(test_check_unsupported)
{
	free(check_fails(unsupported[_i]));
}
END_TEST

START_TEST(test_check_ipc_empty)
{
	char	*cause;

	cause = check_fails("ipc://");
	ck_assert_ptr_nonnull(strstr(cause, "empty"));
	free(cause);
}
END_TEST

START_TEST(test_check_ipc_at_limit)
{
	char	*url;

	url = ipc_url_of_len(ENDPOINT_IPC_MAX);
	ck_assert_uint_eq(strlen(url), 6 + 107);
	check_ok(url);
	free(url);
}
END_TEST

static const size_t too_long[] = { 108, 120, 121, 122, 4096 };

START_TEST(test_check_ipc_too_long)
{
	char	*url, *cause;

	url = ipc_url_of_len(too_long[_i]);
	cause = check_fails(url);
	ck_assert_msg(strstr(cause, "limit") != NULL &&
	    strstr(cause, "107") != NULL,
	    "cause \"%s\" does not mention the limit", cause);
	free(cause);
	free(url);
}
END_TEST

/* endpoint_check_bind */

START_TEST(test_bind_regular_file)
{
	struct stat	 sb;
	char		*dir, *path, *url, *cause = NULL;
	int		 fd;

	dir = tmpdir_create();
	path = path_join(dir, "precious");
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600), 0);
	ck_assert_int_eq(write(fd, "data", 4), 4);
	close(fd);
	url = ipc_url(path);
	ck_assert_int_eq(endpoint_check_bind(url, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, "not a socket") != NULL,
	    "cause \"%s\" does not say it is not a socket", cause);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert(S_ISREG(sb.st_mode));
	ck_assert_int_eq(sb.st_size, 4);
	unlink(path);
	rmdir(dir);
	free(cause);
	free(url);
	free(path);
	free(dir);
}
END_TEST

START_TEST(test_bind_directory)
{
	char	*dir, *url, *cause = NULL;

	dir = tmpdir_create();
	url = ipc_url(dir);
	ck_assert_int_eq(endpoint_check_bind(url, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "not a socket"));
	rmdir(dir);
	free(cause);
	free(url);
	free(dir);
}
END_TEST

START_TEST(test_bind_missing)
{
	char	*dir, *path, *url, *cause = NULL;

	dir = tmpdir_create();
	path = path_join(dir, "new.sock");
	url = ipc_url(path);
	ck_assert_int_eq(endpoint_check_bind(url, &cause), 0);
	ck_assert_ptr_null(cause);
	rmdir(dir);
	free(url);
	free(path);
	free(dir);
}
END_TEST

/* A stale socket (bound, nobody listens) is no reason to refuse. */
START_TEST(test_bind_socket)
{
	struct sockaddr_un	 sa;
	struct stat		 sb;
	char			*dir, *path, *url, *cause = NULL;
	int			 fd;

	dir = tmpdir_create();
	path = path_join(dir, "live.sock");
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof sa.sun_path);
	strcpy(sa.sun_path, path);
	ck_assert_int_ge(fd = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	url = ipc_url(path);
	ck_assert_msg(endpoint_check_bind(url, &cause) == 0, "refused: %s",
	    cause);
	/* stale (nobody listens): removed, so that the bind takes the path */
	ck_assert_int_eq(lstat(path, &sb), -1);
	ck_assert_int_eq(errno, ENOENT);
	close(fd);
	rmdir(dir);
	free(url);
	free(path);
	free(dir);
}
END_TEST

START_TEST(test_bind_under_file)
{
	char	*dir, *path, *sub, *url, *cause = NULL;
	int	 fd;

	dir = tmpdir_create();
	path = path_join(dir, "file");
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT, 0600), 0);
	close(fd);
	sub = path_join(path, "x.sock");	/* lstat fails with ENOTDIR */
	url = ipc_url(sub);
	ck_assert_int_eq(endpoint_check_bind(url, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	unlink(path);
	rmdir(dir);
	free(cause);
	free(url);
	free(sub);
	free(path);
	free(dir);
}
END_TEST

START_TEST(test_bind_checks_url)
{
	char	*url, *cause = NULL;

	url = ipc_url_of_len(120);
	ck_assert_int_eq(endpoint_check_bind(url, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "limit"));
	free(cause);
	cause = NULL;
	ck_assert_int_eq(endpoint_check_bind("foo://x", &cause), -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	free(url);
}
END_TEST

START_TEST(test_bind_tcp)
{
	char	*cause = NULL;

	ck_assert_int_eq(endpoint_check_bind("tcp://127.0.0.1:1", &cause), 0);
	ck_assert_ptr_null(cause);
}
END_TEST

/* endpoint_ipc_path */

START_TEST(test_ipc_path)
{
	ck_assert_str_eq(endpoint_ipc_path("ipc:///run/x.sock"), "/run/x.sock");
	ck_assert_str_eq(endpoint_ipc_path("ipc://"), "");
	ck_assert_ptr_null(endpoint_ipc_path("tcp://127.0.0.1:1"));
	ck_assert_ptr_null(endpoint_ipc_path("foo"));
}
END_TEST

/* Defaults. */

/* The run directory expected when AIOJOBS_RUNDIR does not apply. */
static char *
rundir_fallback(void)
{
	const char	*xdg;
	char		*dir;

	if (geteuid() == 0)
		return (strdup("/run/aiojobsd"));
	if ((xdg = getenv("XDG_RUNTIME_DIR")) != NULL && *xdg != '\0')
		ck_assert_int_ge(asprintf(&dir, "%s/aiojobsd", xdg), 0);
	else
		ck_assert_int_ge(asprintf(&dir, "/tmp/aiojobsd-%ld",
		    (long)geteuid()), 0);
	return (dir);
}

/* Compare endpoint_rundir() with the expected directory. */
static void
rundir_is(const char *expected)
{
	char	*dir;

	dir = endpoint_rundir();
	ck_assert_str_eq(dir, expected);
	free(dir);
}

START_TEST(test_rundir_env)
{
	ck_assert_int_eq(setenv("AIOJOBS_RUNDIR", "/tmp/rd-test", 1), 0);
	ck_assert_int_eq(setenv("XDG_RUNTIME_DIR", "/tmp/xdg-test", 1), 0);
	rundir_is("/tmp/rd-test");
}
END_TEST

START_TEST(test_rundir_env_empty)
{
	char	*expected;

	ck_assert_int_eq(setenv("AIOJOBS_RUNDIR", "", 1), 0);
	expected = rundir_fallback();
	rundir_is(expected);
	free(expected);
}
END_TEST

START_TEST(test_rundir_xdg)
{
	char	*expected;

	unsetenv("AIOJOBS_RUNDIR");
	ck_assert_int_eq(setenv("XDG_RUNTIME_DIR", "/tmp/xdg-test", 1), 0);
	expected = rundir_fallback();
	rundir_is(expected);
	free(expected);
}
END_TEST

START_TEST(test_rundir_no_xdg)
{
	char	*expected;

	unsetenv("AIOJOBS_RUNDIR");
	unsetenv("XDG_RUNTIME_DIR");
	expected = rundir_fallback();
	rundir_is(expected);
	free(expected);
}
END_TEST

START_TEST(test_control_url_env)
{
	char	*url;

	ck_assert_int_eq(setenv("AIOJOBS_URL", "tcp://127.0.0.1:7711", 1), 0);
	url = endpoint_control_url("/tmp/rd-test");
	ck_assert_str_eq(url, "tcp://127.0.0.1:7711");
	free(url);
}
END_TEST

START_TEST(test_control_url_default)
{
	char	*url;

	unsetenv("AIOJOBS_URL");
	url = endpoint_control_url("/tmp/rd-test");
	ck_assert_str_eq(url, "ipc:///tmp/rd-test/aiojobsd.sock");
	free(url);
	ck_assert_int_eq(setenv("AIOJOBS_URL", "", 1), 0);
	url = endpoint_control_url("/tmp/rd-test");
	ck_assert_str_eq(url, "ipc:///tmp/rd-test/aiojobsd.sock");
	free(url);
}
END_TEST

START_TEST(test_control_url_from_rundir)
{
	char	*dir, *url;

	unsetenv("AIOJOBS_URL");
	ck_assert_int_eq(setenv("AIOJOBS_RUNDIR", "/tmp/rd-test", 1), 0);
	dir = endpoint_rundir();
	url = endpoint_control_url(dir);
	ck_assert_str_eq(url, "ipc:///tmp/rd-test/aiojobsd.sock");
	check_ok(url);
	free(url);
	free(dir);
}
END_TEST

START_TEST(test_events_url)
{
	char	*url;

	unsetenv("AIOJOBS_EVENTS_URL");
	ck_assert_int_eq(setenv("AIOJOBS_URL", "tcp://127.0.0.1:7711", 1), 0);
	url = endpoint_events_url("/tmp/rd-test");
	ck_assert_str_eq(url, "ipc:///tmp/rd-test/events.sock");
	free(url);
	ck_assert_int_eq(setenv("AIOJOBS_EVENTS_URL", "tcp://127.0.0.1:7712",
	    1), 0);
	url = endpoint_events_url("/tmp/rd-test");
	ck_assert_str_eq(url, "tcp://127.0.0.1:7712");
	free(url);
}
END_TEST

/* Whether the address in text (IPv4 or IPv6) counts as loopback. */
static int
addr_loopback(const char *text)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;

	memset(&sin, 0, sizeof sin);
	memset(&sin6, 0, sizeof sin6);
	if (inet_pton(AF_INET, text, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return (endpoint_addr_loopback((struct sockaddr *)&sin));
	}
	ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6.sin6_addr), 1);
	sin6.sin6_family = AF_INET6;
	return (endpoint_addr_loopback((struct sockaddr *)&sin6));
}

static const char *loopback_addrs[] = {
	"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1",
};
static const char *remote_addrs[] = {
	"10.0.0.1", "::ffff:10.0.0.1", "0.0.0.0", "::", "192.168.1.1",
	"128.0.0.1", "fe80::1", "::ffff:128.0.0.1", "::127.0.0.1",
};

START_TEST(test_addr_loopback)
{
	ck_assert_int_eq(addr_loopback(loopback_addrs[_i]), 1);
}
END_TEST

START_TEST(test_addr_remote)
{
	ck_assert_int_eq(addr_loopback(remote_addrs[_i]), 0);
}
END_TEST

START_TEST(test_addr_unix)
{
	struct sockaddr_un	 sun;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	ck_assert_int_eq(endpoint_addr_loopback((struct sockaddr *)&sun), 0);
}
END_TEST

static Suite *
endpoint_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("endpoint");

	tc = tcase_create("check");
	tcase_add_test(tc, test_check_ipc);
	tcase_add_test(tc, test_check_tcp);
	tcase_add_test(tc, test_check_other_transports);
	tcase_add_loop_test(tc, test_check_unsupported, 0,
	    sizeof unsupported / sizeof unsupported[0]);
	tcase_add_test(tc, test_check_ipc_empty);
	tcase_add_test(tc, test_check_ipc_at_limit);
	tcase_add_loop_test(tc, test_check_ipc_too_long, 0,
	    sizeof too_long / sizeof too_long[0]);
	tcase_add_test(tc, test_ipc_path);
	suite_add_tcase(s, tc);

	tc = tcase_create("bind");
	tcase_add_test(tc, test_bind_regular_file);
	tcase_add_test(tc, test_bind_directory);
	tcase_add_test(tc, test_bind_missing);
	tcase_add_test(tc, test_bind_socket);
	tcase_add_test(tc, test_bind_under_file);
	tcase_add_test(tc, test_bind_checks_url);
	tcase_add_test(tc, test_bind_tcp);
	suite_add_tcase(s, tc);

	tc = tcase_create("peer address");
	tcase_add_loop_test(tc, test_addr_loopback, 0,
	    sizeof loopback_addrs / sizeof loopback_addrs[0]);
	tcase_add_loop_test(tc, test_addr_remote, 0,
	    sizeof remote_addrs / sizeof remote_addrs[0]);
	tcase_add_test(tc, test_addr_unix);
	suite_add_tcase(s, tc);

	tc = tcase_create("defaults");
	tcase_add_test(tc, test_rundir_env);
	tcase_add_test(tc, test_rundir_env_empty);
	tcase_add_test(tc, test_rundir_xdg);
	tcase_add_test(tc, test_rundir_no_xdg);
	tcase_add_test(tc, test_control_url_env);
	tcase_add_test(tc, test_control_url_default);
	tcase_add_test(tc, test_control_url_from_rundir);
	tcase_add_test(tc, test_events_url);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(endpoint_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
