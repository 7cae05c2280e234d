/*
 * Starting a child process with clone3, so that it can be born inside a
 * cgroup (CLONE_INTO_CGROUP): it is in its job's cgroup before it can
 * fork, and nothing it starts escapes. posix_spawn in this glibc cannot
 * do that, so the child does here, in async-signal-safe code, what its
 * file actions and attributes did: a new process group, stdin, stdout and
 * stderr, the working directory, no other fds, default signal
 * dispositions and an empty mask. When it is to run as another user
 * (a root daemon starting a job of its owner), it takes that user's
 * groups, gid and uid before anything else reads a file for it; a
 * daemon that is not root drops the capabilities it may hold, which
 * would pass on through execve (privs.c). Whatever
 * fails before execve reaches the parent as a step and an errno through
 * a close-on-exec pipe.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/close_range.h>
#include <linux/sched.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "aiojobsd.h"
#include "privs.h"

/*
 * The raw system calls, not glibc's setgroups, setgid and setuid: once
 * a process has had threads (a library may start some), those signal
 * every thread on glibc's list to change its credentials too, under a
 * lock; a child of clone3 is one thread with its parent's copy of that
 * list and lock, as they were at the clone. The kernel changes the
 * credentials of the calling thread, which here is the whole process.
 * 32-bit x86 and arm name the calls with 32-bit ids ...32.
 */
#ifdef SYS_setresuid32
#define SPAWN_SYS_SETGROUPS	SYS_setgroups32
#define SPAWN_SYS_SETRESGID	SYS_setresgid32
#define SPAWN_SYS_SETRESUID	SYS_setresuid32
#else
#define SPAWN_SYS_SETGROUPS	SYS_setgroups
#define SPAWN_SYS_SETRESGID	SYS_setresgid
#define SPAWN_SYS_SETRESUID	SYS_setresuid
#endif

/* What the child tells the parent when it cannot exec. */
struct spawn_error {
	int	 step;		/* SPAWN_STEP_* */
	int	 error;		/* errno */
};

/* Put fd on target in the child; a pipe end already there keeps its fd. */
static int
spawn_dup(int fd, int target)
{
	if (fd == target)
		return (fcntl(fd, F_SETFD, 0));
	return (dup2(fd, target) == -1 ? -1 : 0);
}

static int
spawn_stdio(const struct spawn *sp)
{
	int	 fd;

	if (sp->fds[0] != -1) {
		if (spawn_dup(sp->fds[0], 0) == -1)
			return (-1);
	} else {
		if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 ||
		    spawn_dup(fd, 0) == -1)
			return (-1);
	}
	if (spawn_dup(sp->fds[1], 1) == -1 || spawn_dup(sp->fds[2], 2) == -1)
		return (-1);
	return (0);
}

/* Default dispositions for every signal, then an empty mask. */
static void
spawn_signals(void)
{
	struct sigaction	 sa;
	sigset_t		 none;
	int			 sig;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);	/* KILL, STOP: EINVAL */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * Become the job's user: groups first, then the gid, the uid last (once
 * it is set, nothing else may be changed). Real, effective and saved ids
 * all: the job cannot get root back. A root daemon's capabilities go
 * with uid 0; the ambient ones of a daemon that is not root stay, and
 * are dropped next.
 */
static int
spawn_user(const struct user *u)
{
	if (syscall(SPAWN_SYS_SETGROUPS, (size_t)u->ngroups, u->groups) == -1 ||
	    syscall(SPAWN_SYS_SETRESGID, u->gid, u->gid, u->gid) == -1 ||
	    syscall(SPAWN_SYS_SETRESUID, u->uid, u->uid, u->uid) == -1)
		return (-1);
	return (0);
}

/*
 * The working directory, entered as the job's user: a home of mode 0700
 * needs no privilege, and one the user cannot enter (gone, or hidden by
 * ProtectHome=) is no reason to fail the job: it starts in "/".
 */
static int
spawn_cwd(const struct spawn *sp)
{
	if (sp->cwd != NULL)
		return (chdir(sp->cwd));
	if (sp->home != NULL && chdir(sp->home) == -1)
		return (chdir("/"));
	return (0);
}

static void __attribute__((__noreturn__))
spawn_fail(int errfd, int step)
{
	struct spawn_error	 e;

	e.step = step;
	e.error = errno;
	if (write(errfd, &e, sizeof e) != (ssize_t)sizeof e)
		_exit(126);	/* the parent then takes it for an exec */
	_exit(127);
}

/*
 * The child: only async-signal-safe calls from here to execve. The death
 * signal is asked for after the change of user, which clears it.
 */
static void __attribute__((__noreturn__))
spawn_child(const struct spawn *sp, pid_t parent, int errfd)
{
	spawn_signals();
	if (setpgid(0, 0) == -1 || spawn_stdio(sp) == -1)
		spawn_fail(errfd, SPAWN_STEP_EXEC);
	if (sp->user != NULL && spawn_user(sp->user) == -1)
		spawn_fail(errfd, SPAWN_STEP_USER);
	if (sp->drop_caps && privs_drop() == -1)
		spawn_fail(errfd, SPAWN_STEP_CAPS);
	if (sp->deathsig != 0 &&
	    (prctl(PR_SET_PDEATHSIG, sp->deathsig) == -1 ||
	    getppid() != parent))
		_exit(127);	/* the daemon is already gone */
	if (spawn_cwd(sp) == -1)
		spawn_fail(errfd, SPAWN_STEP_EXEC);
	/* evhttp fds are not close-on-exec: none above 2 survives execve */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == -1)
		spawn_fail(errfd, SPAWN_STEP_EXEC);
	execve(sp->path, sp->argv, sp->envp);
	spawn_fail(errfd, SPAWN_STEP_EXEC);
}

/* The clone3 call; with no cgroup a kernel without clone3 gets a fork. */
static pid_t
spawn_clone(const struct spawn *sp)
{
	struct clone_args	 ca;
	pid_t			 pid;

	memset(&ca, 0, sizeof ca);
	ca.exit_signal = SIGCHLD;
	if (sp->cgroup_fd != -1) {
		ca.flags = CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)sp->cgroup_fd;
	}
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
	if (pid == -1 && errno == ENOSYS && sp->cgroup_fd == -1)
		pid = fork();
	return (pid);
}

/* What the child reported: 0 once it has exec'd, or its errno. */
static int
spawn_result(int fd, pid_t pid, int *stepp)
{
	struct spawn_error	 e;
	ssize_t			 n;

	do
		n = read(fd, &e, sizeof e);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof e)
		return (0);	/* EOF: execve closed the pipe */
	/* it has _exit'ed or is about to: reap it here, it never ran */
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	*stepp = e.step;
	return (e.error != 0 ? e.error : EIO);
}

/*
 * Start sp's program; returns 0 and the pid, or an errno value and the
 * step that failed. Signals are blocked across the clone, so the child
 * never runs the loop's signal handler before it has reset it.
 */
int
spawn_run(const struct spawn *sp, pid_t *pidp, int *stepp)
{
	sigset_t	 all, old;
	pid_t		 parent = getpid(), pid;
	int		 p[2], error;

	*stepp = SPAWN_STEP_EXEC;
	if (pipe2(p, O_CLOEXEC) == -1)
		return (errno);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = spawn_clone(sp);
	if (pid == 0)
		spawn_child(sp, parent, p[1]);
	error = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (pid == -1) {
		close(p[0]);
		return (error);
	}
	error = spawn_result(p[0], pid, stepp);
	close(p[0]);
	if (error == 0)
		*pidp = pid;
	return (error);
}
