/*
 * Starting a child process, the one way the daemon starts a program: an
 * exec job's command and a pool worker (`aiojobsd --worker`) alike. The
 * caller describes the child (spawn.h); this file makes it so.
 *
 * The child comes from clone3, so that it can be born inside a cgroup
 * (CLONE_INTO_CGROUP): it is in its job's cgroup before it can fork, and
 * nothing it starts escapes. posix_spawn in this glibc cannot do that,
 * so the child does here, in async-signal-safe code, what its file
 * actions and attributes would: default signal dispositions and an
 * empty mask, a process group of its own, its fds at the numbers it
 * was given and no others, its working directory. When it is to run as
 * another user (a job of its owner, a worker as worker_user), it takes
 * that user's groups, gid and uid before anything else reads a file for
 * it; a daemon that is not root drops the capabilities it may hold,
 * which would pass on through execve (privs.c). Whatever fails before
 * execve reaches the parent as a step and an errno through a
 * close-on-exec pipe. The parent does not wait for that: spawn_start
 * returns once the child exists, and the caller reads the pipe on its
 * loop (spawn_result), where EOF says the child has exec'd.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <linux/close_range.h>
#include <linux/sched.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "aiojobsd.h"
#include "privs.h"
#include "spawn.h"
#include "users.h"

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

/*
 * Put fd on target in the child (-1: /dev/null). A fd already on its
 * number stays, open or not: the worker's stdout and stderr are the
 * daemon's, whatever they are.
 */
static int
spawn_fd(int fd, int target)
{
	int	 flags = target == 0 ? O_RDONLY : O_WRONLY;

	if (fd == -1 && (fd = open("/dev/null", flags | O_CLOEXEC)) == -1)
		return (-1);
	if (fd == target)
		return (fcntl(fd, F_SETFD, 0) == -1 && errno != EBADF ? -1 : 0);
	return (dup2(fd, target) == -1 ? -1 : 0);
}

/*
 * Give the child its fds 0 to nfds - 1. A fd to pass that sits on one
 * of those numbers, other than its own, first moves above them: putting
 * another fd on its number would close it before it is passed.
 */
static int
spawn_fds(const struct spawn *sp)
{
	int	 fds[SPAWN_NFDS], i;

	for (i = 0; i < sp->nfds; i++) {
		fds[i] = sp->fds[i];
		if (fds[i] >= 0 && fds[i] < sp->nfds && fds[i] != i &&
		    (fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, sp->nfds)) == -1)
			return (-1);
	}
	for (i = 0; i < sp->nfds; i++) {
		if (spawn_fd(fds[i], i) == -1)
			return (-1);
	}
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
 * Become the child's user: groups first, then the gid, the uid last (once
 * it is set, nothing else may be changed). Real, effective and saved ids
 * all: the child cannot get root back. A root daemon's capabilities go
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

static int
spawn_as_limit(const struct spawn *sp)
{
	struct rlimit	 rl;

	if (sp->as_limit == 0)
		return (0);
	rl.rlim_cur = rl.rlim_max = sp->as_limit;
	return (setrlimit(RLIMIT_AS, &rl));
}

/*
 * The child: only async-signal-safe calls from here to execve. The death
 * signal is asked for after the change of user, which clears it.
 */
static void __attribute__((__noreturn__))
spawn_child(const struct spawn *sp, pid_t parent, int errfd)
{
	/* the daemon's, before any change of user: see drop_caps, spawn.h */
	int	 root = geteuid() == 0;

	spawn_signals();
	if ((sp->new_pgrp && setpgid(0, 0) == -1) || spawn_fds(sp) == -1)
		spawn_fail(errfd, SPAWN_STEP_EXEC);
	if (sp->user != NULL && spawn_user(sp->user) == -1)
		spawn_fail(errfd, SPAWN_STEP_USER);
	if (sp->drop_caps && !root && privs_drop() == -1)
		spawn_fail(errfd, SPAWN_STEP_CAPS);
	if (sp->deathsig != 0 &&
	    (prctl(PR_SET_PDEATHSIG, sp->deathsig) == -1 ||
	    getppid() != parent))
		_exit(127);	/* the daemon is already gone */
	if (spawn_cwd(sp) == -1 || spawn_as_limit(sp) == -1)
		spawn_fail(errfd, SPAWN_STEP_EXEC);
	/* evhttp fds are not close-on-exec: none past the given survives */
	if (syscall(SYS_close_range, (unsigned int)sp->nfds, ~0U,
	    CLOSE_RANGE_CLOEXEC) == -1)
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

/*
 * What the child reported on the error pipe fd, once it is readable: 0
 * once it has exec'd (EOF: execve closed the pipe), or an errno value and
 * the step that failed; -1 while it has said nothing yet. A child that
 * has exited has said all it will: after its reaping this is never -1.
 */
int
spawn_result(int fd, int *stepp)
{
	struct spawn_error	 e;
	ssize_t			 n;

	n = read(fd, &e, sizeof e);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return (-1);
	if (n != (ssize_t)sizeof e)
		return (0);	/* EOF */
	*stepp = e.step;
	return (e.error != 0 ? e.error : EIO);
}

/* A child of path with argv and envp, as spawn.h says spawn_init leaves it. */
void
spawn_init(struct spawn *sp, const char *path, char **argv, char **envp)
{
	int	 i;

	memset(sp, 0, sizeof *sp);
	sp->path = path;
	sp->argv = argv;
	sp->envp = envp;
	for (i = 0; i < SPAWN_NFDS; i++)
		sp->fds[i] = -1;
	sp->nfds = 3;
	sp->cgroup_fd = -1;
	sp->drop_caps = 1;
}

/*
 * The pipe for the child's errors, close-on-exec, both ends above the fd
 * numbers a child can be given: putting a given fd on its number must
 * not close the child's end, nor pass on either. Non-blocking: the parent
 * reads it on its loop; the child writes one small message to an empty
 * pipe, which never blocks.
 */
static int
spawn_pipe(int p[2])
{
	int	 i, fd;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		return (-1);
	for (i = 0; i < 2; i++) {
		if (p[i] >= SPAWN_NFDS)
			continue;
		if ((fd = fcntl(p[i], F_DUPFD_CLOEXEC, SPAWN_NFDS)) == -1) {
			close(p[0]);
			close(p[1]);
			return (-1);
		}
		close(p[i]);
		p[i] = fd;
	}
	return (0);
}

/*
 * Start sp's program, without waiting for it: returns 0, the pid and the
 * read end of its error pipe (spawn_result says what came of the start),
 * or an errno value. The caller owns both: it watches the child's exit
 * and closes the fd. Signals are blocked across the clone, so the child
 * never runs the loop's signal handler before it has reset it.
 */
int
spawn_start(const struct spawn *sp, pid_t *pidp, int *fdp)
{
	sigset_t	 all, old;
	pid_t		 parent = getpid(), pid;
	int		 p[2], error;

	if (sp->nfds < 3 || sp->nfds > SPAWN_NFDS)
		return (EINVAL);
	if (spawn_pipe(p) == -1)
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
	/*
	 * The child leads its group before it can exec, not only after: a
	 * signal to the group right after the start reaches it (as shells
	 * do it). Once it has exec'd this fails, and it has done it itself.
	 */
	if (sp->new_pgrp)
		(void)setpgid(pid, pid);
	*pidp = pid;
	*fdp = p[0];
	return (0);
}
