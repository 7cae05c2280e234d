/*
 * Recovery of process trees without cgroups: a process group recorded as
 * a job's (tree_where) is killed whole and confirmed gone, leader and
 * members alike; a group whose id now belongs to a process that started
 * later is someone else's and is left alone; a record of a cgroup that
 * no longer exists needs nothing.
 */
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aiojobsd.h"
#include "tree.h"

/*
 * A group leader with a member (both wait forever), as a job's child and
 * its grandchild; returns the leader's pid once both run.
 */
static pid_t
start_group(void)
{
	int	 p[2];
	pid_t	 pid;
	char	 c;

	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		setpgid(0, 0);
		if (fork() == 0) {
			close(p[0]);
			close(p[1]);
			for (;;)
				pause();
		}
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	ck_assert_int_gt(pid, 0);
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	return (pid);
}

START_TEST(test_pgroup_killed_and_confirmed)
{
	char	 where[64], *cause = NULL, *left;
	pid_t	 pid = start_group();

	left = pstat_group(pid, pstat_start(pid));
	ck_assert_ptr_nonnull(left);
	ck_assert_msg(strchr(left, ' ') != NULL, "leader and member: %s", left);
	free(left);
	snprintf(where, sizeof where, "pgroup %ld %llu", (long)pid,
	    (unsigned long long)pstat_start(pid));
	ck_assert_msg(trees_reap(where, &cause) == 0, "%s", cause);
	ck_assert_ptr_null(pstat_group(pid, pstat_start(pid)));
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}
END_TEST

START_TEST(test_pgroup_of_another_leader_left_alone)
{
	char	 where[64], *cause = NULL;
	pid_t	 pid = start_group();

	/* the record's leader started earlier: this group is not that one */
	snprintf(where, sizeof where, "pgroup %ld %llu", (long)pid,
	    (unsigned long long)pstat_start(pid) - 1);
	ck_assert_int_eq(trees_reap(where, &cause), 0);
	ck_assert_int_eq(kill(-pid, 0), 0);
	ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), 0);
	killpg(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}
END_TEST

START_TEST(test_cgroup_gone_needs_nothing)
{
	char	*cause = NULL;

	ck_assert_int_eq(trees_reap("cgroup /nonexistent/aiojobsd-0/job-1-1",
	    &cause), 0);
	ck_assert_ptr_null(cause);
}
END_TEST

static Suite *
trees_suite(void)
{
	Suite	*suite = suite_create("trees");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_pgroup_killed_and_confirmed);
	tcase_add_test(tc, test_pgroup_of_another_leader_left_alone);
	tcase_add_test(tc, test_cgroup_gone_needs_nothing);
	suite_add_tcase(suite, tc);
	return (suite);
}

int
main(void)
{
	SRunner	*sr = srunner_create(trees_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
