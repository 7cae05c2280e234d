/*
 * The pool's insides, shared by its parts and no one else: pool.c (the
 * pool's API and the dispatch of jobs and replies), pool_proc.c (the
 * workers' processes: spawn, reap, respawn, retire, kill) and
 * kind_cpu_hold.c (which busy worker may take the next short job).
 */
#ifndef POOL_H
#define POOL_H

#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

#define WORKER_DOWN	0	/* waiting to be (re)spawned */
#define WORKER_STARTING	1	/* spawned, no hello yet */
#define WORKER_IDLE	2
#define WORKER_BUSY	3
#define WORKER_RETIRING	4	/* said its last reply; exit expected */

/* jobs sent to one worker: the one it runs and those it holds */
#define POOL_DEPTH	4

struct worker {
	struct pool	*pool;
	int		 idx;
	int		 state;
	pid_t		 pid;
	int		 jobfd;		/* jobs to it; its EOF stops the worker */
	int		 replyfd;	/* its replies; EOF when it is gone */
	struct event	*ev;		/* readable */
	struct event	*wev;		/* writable, while out is not empty */
	struct evbuffer	*in;
	struct evbuffer	*out;
	/* in the order sent: [0] runs while BUSY; NULL: dropped, not run */
	struct job	*jobs[POOL_DEPTH];
	int		 njobs;
	int		 killed;	/* SIGKILL sent: nothing more starts */
	/* spawn.c's error pipe, until the worker has exec'd or failed to */
	int		 startfd;
	struct event	*sev;		/* startfd readable */
	uid_t		 uid;		/* worker_user's, for that message */
	int		 start_failed;	/* it could not exec, and said so */
	int		 unflushed;	/* out has jobs for pool_flush_cb */
	uint64_t	 began;		/* when jobs[0] started here (us) */
	uint64_t	 took;		/* the worker's time for its last call */
};

struct pool {
	struct event_base	*base;
	struct sched		*sched;
	struct pool_opts	 opts;		/* opts.workers: the target */
	struct worker		**workers;	/* slots; NULL when gone */
	int			 nslots;
	int			 nbusy;
	int			 nidle;
	int			 fails;	/* workers that died before hello */
	struct event		*respawn_timer;
	struct event		*flush_ev;	/* writes what the turn sent */
	/* pool.c's handlers of a worker's pipes, for pool_proc.c */
	event_callback_fn	 read_cb;
	event_callback_fn	 write_cb;
	int			 stopping;
};

/* pool.c */
uint64_t pool_now_us(void);
void	 pool_hold_on(struct worker *, struct job *);

/* pool_proc.c */
void	 pool_proc_respawn_cb(int, short, void *);
void	 pool_proc_add(struct pool *, int);
void	 pool_proc_retire(struct worker *);
void	 pool_proc_kill(struct worker *);
void	 pool_proc_stop(struct worker *);

#endif
