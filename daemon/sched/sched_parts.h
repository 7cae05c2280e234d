/*
 * The scheduler's parts that only it calls: dependencies (deps.c), locks
 * (lock.c), task groups (group.c) and the table of keys (keys.c). They
 * answer the scheduler through their results and never call it (see
 * docs/architecture.md).
 */
#ifndef SCHED_PARTS_H
#define SCHED_PARTS_H

#include "aiojobsd.h"

/* deps.c */
int	 deps_check(struct sched *, struct msg_spec *, const char *,
	    struct msg_error *);
int	 deps_link(struct job *, int64_t *, int *);
struct job *deps_next(struct job *, int *);
void	 deps_free(struct job *);

/* lock.c */
struct locks *locks_create(void);
void	 locks_free(struct locks *);
int	 lock_acquire(struct job *);
struct job *lock_release(struct job *);
struct job *lock_forget(struct job *);
int	 job_lockq_cmp(struct job *, struct job *);
RB_PROTOTYPE(job_lockq, job, ready_entry, job_lockq_cmp)

/* keys.c */
struct keys *keys_create(void);
void	 keys_free(struct keys *);
struct job *keys_find(struct keys *, uid_t, const char *);
void	 keys_add(struct keys *, struct job_key *);
void	 keys_remove(struct keys *, struct job_key *);

/* group.c */
struct groups *groups_create(void);
void	 groups_free(struct groups *);
void	 group_create(struct groups *, struct job **, size_t);
int	 group_joinable(struct groups *, int64_t);
void	 group_join(struct groups *, int64_t, struct job **, size_t);
int	 group_member_final(struct job *);
const int64_t *group_ids(struct job *, size_t *);
void	 group_unref(struct job *);

#endif
