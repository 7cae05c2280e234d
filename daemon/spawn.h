/*
 * Starting a child process (spawn.c): the one way the daemon starts a
 * program, for exec jobs (kind_exec.c) and the pool's workers
 * (pool_proc.c). The caller describes the child in a struct spawn; spawn.c
 * makes it so between the clone and execve. Include it as "spawn.h": the
 * daemon's directory is on the include path, so <spawn.h> would find this
 * file too, not posix_spawn's.
 */
#ifndef SPAWN_H
#define SPAWN_H

#include <sys/resource.h>
#include <sys/types.h>

struct user;

/* The child's fds 0 to SPAWN_NFDS - 1 can be given; the pool needs 3, 4. */
#define SPAWN_NFDS	5

/*
 * A child to start. spawn_init fills in what the child has unless the
 * caller says otherwise: stdin, stdout and stderr on /dev/null, nothing
 * else open, the daemon's working directory, cgroup and user, the
 * daemon's process group, none of its capabilities, no death signal.
 */
struct spawn {
	const char	*path;
	char		**argv;
	char		**envp;
	/*
	 * The child's fd i is our fds[i] (-1: /dev/null), for i below
	 * nfds; every other fd is closed at execve. A fd given as its own
	 * number passes on as it is, open or not.
	 */
	int		 fds[SPAWN_NFDS];
	int		 nfds;		/* 3 to SPAWN_NFDS */
	const char	*cwd;		/* or NULL */
	const char	*home;		/* cwd if none, or "/"; or NULL */
	int		 cgroup_fd;	/* born in this cgroup, or -1 */
	const struct user *user;	/* become this user, or NULL */
	int		 new_pgrp;	/* leads a process group */
	/*
	 * The program gets none of the daemon's capabilities. Only a
	 * daemon that is not root has any to drop here (ambient ones,
	 * which pass through execve): root's go with uid 0 when the child
	 * becomes another user, and a child that stays root gets root's
	 * back at execve all the same.
	 */
	int		 drop_caps;
	int		 deathsig;	/* when the daemon dies, or 0 */
	/*
	 * RLIMIT_AS from execve on, or 0: set in the program itself, it
	 * would leave out what its malloc mapped before main (mimalloc maps
	 * its first segment then, and serves later blocks from it).
	 */
	rlim_t		 as_limit;
};

/* Where a spawn failed (spawn_result's step). */
#define SPAWN_STEP_EXEC	0	/* the program: fds, cwd, execve */
#define SPAWN_STEP_USER	1	/* taking its user's identity */
#define SPAWN_STEP_CAPS	2	/* dropping the daemon's capabilities */

void	 spawn_init(struct spawn *, const char *, char **, char **);
int	 spawn_start(const struct spawn *, pid_t *, int *);
int	 spawn_result(int, int *);

#endif
