/*
 * A job's process tree and what finds it again after a crash: its
 * cgroup, or its process group (tree.c, trees.c), over the cgroup files
 * (cgroup.c), /proc (pstat.c) and signals sent as the job's owner
 * (kill_as.c).
 */
#ifndef TREE_H
#define TREE_H

#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct tree;
struct trees;

/* tree.c */
struct tree *tree_create(struct trees *, int64_t, int64_t, uid_t);
int	 tree_cgroup_fd(struct tree *);
void	 tree_started(struct tree *, pid_t);
char	*tree_where(struct tree *);
int	 tree_populated(struct tree *);
void	 tree_signal(struct tree *, int);
void	 tree_kill(struct tree *);
void	 tree_watch(struct tree *, struct event_base *, void (*)(void *),
	    void *);
void	 tree_free(struct tree *);

/* trees.c */
struct trees *trees_create(const char *);
char	*trees_dir(struct trees *);
int	 trees_reap(const char *, char **);
void	 trees_free(struct trees *);
int	 trees_watch(struct trees *, struct event_base *, const char *,
	    void (*)(void *), void *);
void	 trees_unwatch(struct trees *, int);

/* cgroup.c */
int	 cgroup_populated(const char *);
char	*cgroup_procs(const char *);
void	 cgroup_signal(const char *, int, uid_t);
int	 cgroup_kill(const char *);
int	 cgroup_wait_empty(const char *, int64_t);

/* pstat.c */
uint64_t pstat_start(pid_t);
char	*pstat_group(pid_t, uint64_t);

/* kill_as.c */
int	 kill_as(pid_t, int, uid_t);

#endif
