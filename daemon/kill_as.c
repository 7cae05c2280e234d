/*
 * Signals to processes of other users. The system unit lets the daemon
 * switch users (CAP_SETUID, CAP_SETGID) but not signal any process
 * (CAP_KILL), so a job's processes, which run as its owner, are out of
 * its reach; their owner is not. When kill says EPERM, a short-lived
 * child takes the uid that owns the target and signals it from there.
 * The child is forked, not executed, and does nothing but raw system
 * calls before it exits; it is reaped like any child (proc_reap) and its
 * outcome is not waited for: a signal is a request, and what it ends is
 * seen where it always is (the cgroup empties, the process exits).
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "aiojobsd.h"
#include "log.h"
#include "privs.h"
#include "tree.h"

#ifdef SYS_setresuid32
#define KILL_AS_SETRESUID	SYS_setresuid32
#else
#define KILL_AS_SETRESUID	SYS_setresuid
#endif

/* The uid a process (or a group's leader) runs as: its /proc entry's. */
static int
kill_as_owner(pid_t pid, uid_t *uid)
{
	struct stat	 sb;
	char		 path[64];

	snprintf(path, sizeof path, "/proc/%ld", (long)(pid < 0 ? -pid : pid));
	if (stat(path, &sb) == -1)
		return (-1);
	*uid = sb.st_uid;
	return (0);
}

/*
 * kill(pid, sig), and for a process (or group, pid < 0) of another user
 * that this process may become, the same as that user: uid, the owner
 * of the job it belongs to, or (uid_t)-1 to read it from /proc. The
 * caller should know: with ProtectProc=invisible (the system unit) the
 * daemon, without CAP_SYS_PTRACE, sees no /proc entry of another user's
 * process. 0, or -1 with errno as kill's.
 */
int
kill_as(pid_t pid, int sig, uid_t uid)
{
	pid_t	 child;

	if (kill(pid, sig) == 0)
		return (0);
	if (errno != EPERM || !privs_can_switch())
		return (-1);
	if (uid == (uid_t)-1 && kill_as_owner(pid, &uid) == -1) {
		errno = ESRCH;		/* gone in between */
		return (-1);
	}
	if ((child = fork()) == -1)
		return (-1);
	if (child == 0) {
		if (syscall(KILL_AS_SETRESUID, uid, uid, uid) == -1 ||
		    kill(pid, sig) == -1)
			_exit(1);
		_exit(0);
	}
	log_debug("signal %d to %ld sent as uid %lu by child %ld", sig,
	    (long)pid, (unsigned long)uid, (long)child);
	return (0);
}
