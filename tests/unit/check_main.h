/*
 * The main() of a Check runner, written once: the suite runs in fork
 * mode (a crash fails one test, not the suite) and the runner exits 0
 * only when every test passed.
 */
#ifndef CHECK_MAIN_H
#define CHECK_MAIN_H

#include <signal.h>
#include <stdlib.h>

#include <check.h>

/* Run a suite; the exit status for main. */
static inline int
check_main(Suite *suite)
{
	SRunner	*sr;
	int	 failed;

	/* as aiojobsd: a peer that went away is EPIPE, not a signal */
	signal(SIGPIPE, SIG_IGN);
	sr = srunner_create(suite);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

#endif
