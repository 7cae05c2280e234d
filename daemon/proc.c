/*
 * Child processes: whoever spawns a child registers its pid here, and the
 * SIGCHLD handler reaps every exited child without blocking and hands the
 * status to its owner.
 */
#include <sys/wait.h>

#include <errno.h>
#include <stdlib.h>

#include "aiojobsd.h"
#include "log.h"
#include "xmalloc.h"

struct proc {
	pid_t		 pid;
	proc_exit_cb	*cb;
	void		*arg;
	RB_ENTRY(proc)	 entry;
};
RB_HEAD(procs, proc);

int	proc_cmp(struct proc *, struct proc *);
RB_PROTOTYPE(procs, proc, entry, proc_cmp)
RB_GENERATE(procs, proc, entry, proc_cmp)

/* The children of this process; module state, touched only by the loop. */
static struct procs	procs = RB_INITIALIZER(&procs);

int
proc_cmp(struct proc *a, struct proc *b)
{
	return (a->pid < b->pid ? -1 : a->pid > b->pid);
}

/* Call cb(pid, status, arg) once the child has exited. */
void
proc_watch(pid_t pid, proc_exit_cb *cb, void *arg)
{
	struct proc	*p;

	p = xcalloc(1, sizeof *p);
	p->pid = pid;
	p->cb = cb;
	p->arg = arg;
	RB_INSERT(procs, &procs, p);
}

/* Reap every exited child (SIGCHLD); never blocks. */
void
proc_reap(void)
{
	struct proc	 find, *p;
	pid_t		 pid;
	int		 status;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		find.pid = pid;
		if ((p = RB_FIND(procs, &procs, &find)) == NULL) {
			log_debug("reaped unknown child %ld", (long)pid);
			continue;
		}
		RB_REMOVE(procs, &procs, p);
		p->cb(pid, status, p->arg);
		free(p);
	}
}

/* Stop watching a child (its owner reaps it itself). */
void
proc_forget(pid_t pid)
{
	struct proc	 find, *p;

	find.pid = pid;
	if ((p = RB_FIND(procs, &procs, &find)) != NULL) {
		RB_REMOVE(procs, &procs, p);
		free(p);
	}
}
