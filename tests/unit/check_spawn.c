/*
 * Unit tests of daemon/spawn.c: the child's fds (given ones at their
 * numbers even when they sit on each other's, /dev/null, no others),
 * its process group and working directory, and failures reported with
 * their step, read after the start returned, before or after the
 * child's exit. The children are /bin/sh.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "check_main.h"
#include "spawn.h"

static char	*no_env[] = { NULL };

/*
 * Start sp's program and wait for the outcome of its start, as the
 * daemon's loop does without waiting: 0 and the pid once it has exec'd,
 * or an errno and the step, the failed child reaped.
 */
static int
spawn_wait(const struct spawn *sp, pid_t *pidp, int *stepp)
{
	struct pollfd	 pfd;
	pid_t		 pid;
	int		 fd, r;

	*stepp = SPAWN_STEP_EXEC;
	if ((r = spawn_start(sp, &pid, &fd)) != 0)
		return (r);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((r = spawn_result(fd, stepp)) == -1)
		(void)poll(&pfd, 1, -1);
	close(fd);
	if (r != 0) {
		ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
		return (r);
	}
	*pidp = pid;
	return (0);
}

/* Run sh -c script as sp says; returns its exit status. */
static int
run_sh(struct spawn *sp, const char *script)
{
	char	*argv[] = { "sh", "-c", (char *)script, NULL };
	pid_t	 pid;
	int	 step, status;

	sp->path = "/bin/sh";
	sp->argv = argv;
	ck_assert_int_eq(spawn_wait(sp, &pid, &step), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return (WEXITSTATUS(status));
}

/* What the read end of a pipe holds, once its writers are gone. */
static char *
drain(int fd)
{
	static char	 buf[256];
	ssize_t		 n;
	size_t		 have = 0;

	while ((n = read(fd, buf + have, sizeof buf - 1 - have)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	close(fd);
	return (buf);
}

/*
 * In a process of its own, where check's fds may be overwritten: the
 * child's 3 and 4 given as our 4 and 3. Each must reach its number,
 * not be closed by the other's arrival. Exits 0 if they did.
 */
static void
swapped_fds(void)
{
	struct spawn	 sp;
	char		*argv[] = { "sh", "-c",
	    "echo three >&3; echo four >&4", NULL };
	char		 buf[16];
	pid_t		 pid;
	int		 a[2], b[2], step, status;

	/* a and b above 4 first, then their write ends on 4 and 3 */
	if (pipe(a) == -1 || pipe(b) == -1 ||
	    (a[0] = fcntl(a[0], F_DUPFD, 10)) == -1 ||
	    (a[1] = fcntl(a[1], F_DUPFD, 10)) == -1 ||
	    (b[0] = fcntl(b[0], F_DUPFD, 10)) == -1 ||
	    (b[1] = fcntl(b[1], F_DUPFD, 10)) == -1 ||
	    dup2(a[1], 4) != 4 || dup2(b[1], 3) != 3)
		_exit(2);
	close(a[1]);
	close(b[1]);
	spawn_init(&sp, "/bin/sh", argv, no_env);
	sp.fds[3] = 4;		/* the child's 3 is a */
	sp.fds[4] = 3;		/* the child's 4 is b */
	sp.nfds = 5;
	if (spawn_wait(&sp, &pid, &step) != 0 ||
	    waitpid(pid, &status, 0) != pid || status != 0)
		_exit(3);
	close(3);
	close(4);
	memset(buf, 0, sizeof buf);
	if (read(a[0], buf, sizeof buf - 1) != 6 ||
	    strcmp(buf, "three\n") != 0)
		_exit(4);
	memset(buf, 0, sizeof buf);
	if (read(b[0], buf, sizeof buf - 1) != 5 ||
	    strcmp(buf, "four\n") != 0)
		_exit(5);
	_exit(0);
}

START_TEST(test_swapped_fds)
{
	pid_t	 pid;
	int	 status;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0)
		swapped_fds();
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* Not given: stdin, stdout and stderr are /dev/null. */
START_TEST(test_dev_null)
{
	struct spawn	 sp;
	int		 p[2];

	ck_assert_int_eq(pipe(p), 0);
	spawn_init(&sp, NULL, NULL, no_env);
	sp.fds[2] = p[1];
	/* cat ends at once: its stdin is at EOF */
	ck_assert_int_eq(run_sh(&sp, "cat; echo quiet"), 0);
	close(p[1]);
	ck_assert_str_eq(drain(p[0]), "");
}
END_TEST

/* A fd of ours not given is closed in the child, close-on-exec or not. */
START_TEST(test_others_closed)
{
	struct spawn	 sp;
	int		 fd;

	fd = open("/dev/null", O_WRONLY);
	ck_assert_int_eq(dup2(fd, 7), 7);	/* not close-on-exec */
	close(fd);
	spawn_init(&sp, NULL, NULL, no_env);
	sp.fds[3] = 7;
	sp.nfds = 4;
	ck_assert_int_eq(run_sh(&sp, "echo >&3"), 0);
	ck_assert_int_ne(run_sh(&sp, "echo >&7"), 0);
	close(7);
}
END_TEST

/* A process group of its own, and the working directory. */
START_TEST(test_pgrp_and_cwd)
{
	struct spawn	 sp;
	char		*out;
	long		 pgid, pid;
	int		 p[2];

	ck_assert_int_eq(pipe(p), 0);
	spawn_init(&sp, NULL, NULL, no_env);
	sp.fds[1] = p[1];
	sp.new_pgrp = 1;
	sp.cwd = "/tmp";
	/* field 5 of /proc/PID/stat is the process group */
	ck_assert_int_eq(run_sh(&sp, "echo $(cut -d' ' -f5 /proc/$$/stat) "
	    "$$; pwd"), 0);
	close(p[1]);
	out = drain(p[0]);
	ck_assert_int_eq(sscanf(out, "%ld %ld", &pgid, &pid), 2);
	ck_assert_int_eq(pgid, pid);
	ck_assert_str_eq(strchr(out, '\n') + 1, "/tmp\n");
}
END_TEST

/* Failures before execve come back as an errno, the child reaped. */
START_TEST(test_failures)
{
	struct spawn	 sp;
	char		*argv[] = { "sh", "-c", "exit 0", NULL };
	pid_t		 pid = 0;
	int		 step;

	spawn_init(&sp, "/nonexistent/program", argv, no_env);
	ck_assert_int_eq(spawn_wait(&sp, &pid, &step), ENOENT);
	ck_assert_int_eq(step, SPAWN_STEP_EXEC);
	ck_assert_int_eq(pid, 0);
	spawn_init(&sp, "/bin/sh", argv, no_env);
	sp.cwd = "/nonexistent";
	ck_assert_int_eq(spawn_wait(&sp, &pid, &step), ENOENT);
	ck_assert_int_eq(step, SPAWN_STEP_EXEC);
	/* nothing left to reap */
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
	sp.cwd = NULL;
	sp.nfds = SPAWN_NFDS + 1;
	ck_assert_int_eq(spawn_wait(&sp, &pid, &step), EINVAL);
}
END_TEST

/*
 * spawn_start does not wait for the exec: a child reaped before its error
 * pipe is read has left there all it had to say (the daemon's loop may
 * see the exit first).
 */
START_TEST(test_result_after_exit)
{
	struct spawn	 sp;
	char		*argv[] = { "sh", "-c", "exit 0", NULL };
	pid_t		 pid;
	int		 fd, step = -1, status;

	spawn_init(&sp, "/bin/sh", argv, no_env);
	sp.cwd = "/nonexistent";
	ck_assert_int_eq(spawn_start(&sp, &pid, &fd), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 127);
	ck_assert_int_eq(spawn_result(fd, &step), ENOENT);
	ck_assert_int_eq(step, SPAWN_STEP_EXEC);
	close(fd);
	sp.cwd = NULL;
	ck_assert_int_eq(spawn_start(&sp, &pid, &fd), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(spawn_result(fd, &step), 0);	/* EOF: it exec'd */
	close(fd);
}
END_TEST

/*
 * The child leads its process group when spawn_start returns, exec'd or
 * not: a signal to the group at once (a cancel) reaches it.
 */
START_TEST(test_pgrp_at_once)
{
	struct spawn	 sp;
	char		*argv[] = { "sh", "-c", "sleep 10", NULL };
	pid_t		 pid;
	int		 fd, step, status;

	spawn_init(&sp, "/bin/sh", argv, no_env);
	sp.new_pgrp = 1;
	ck_assert_int_eq(spawn_start(&sp, &pid, &fd), 0);
	ck_assert_int_eq(getpgid(pid), pid);
	ck_assert_int_eq(kill(-pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	ck_assert_int_eq(spawn_result(fd, &step), 0);
	close(fd);
}
END_TEST

static Suite *
spawn_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("spawn");
	tc = tcase_create("spawn");
	tcase_add_test(tc, test_swapped_fds);
	tcase_add_test(tc, test_dev_null);
	tcase_add_test(tc, test_others_closed);
	tcase_add_test(tc, test_pgrp_and_cwd);
	tcase_add_test(tc, test_failures);
	tcase_add_test(tc, test_result_after_exit);
	tcase_add_test(tc, test_pgrp_at_once);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (check_main(spawn_suite()));
}
