/*
 * aiojobsd: the job daemon. Types and prototypes of every daemon module.
 * Mutable daemon-wide state lives in struct aiojobsd.
 */
#ifndef AIOJOBSD_H
#define AIOJOBSD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include "config.h"
#include "msg.h"

struct aiojobsd;
struct event;
struct event_base;
struct sp_peer;
struct sp_request;
struct sp_server;
struct ssl_ctx_st;

/* Daemon-wide ops [access] can limit: queue, shutdown, clean, reload. */
#define ACCESS_NOPS		4
#define ACCESS_TOKEN_MD		32	/* SHA-256 of a token */

/* Job states, PROTOCOL section 3.2. */
#define JOB_QUEUED	0
#define JOB_RUNNING	1
#define JOB_SUCCEEDED	2
#define JOB_FAILED	3
#define JOB_CANCELLED	4
#define JOB_NSTATES	5

/* Why a running job is being stopped. */
#define JOB_STOP_NONE		0
#define JOB_STOP_CANCEL		1
#define JOB_STOP_TIMEOUT	2

struct job;
struct sched;
struct queue;
struct wait_link;
struct job_dep;
struct lock;
struct group;
struct tree;
struct trees;
struct store;		/* store.h */
struct store_row;

/* A kind of job: one file each (kind_<name>.c), listed in kind.c. */
struct kind {
	const char	*name;
	/* Check args at submit time; fill err (bad_request) if bad. */
	int		(*validate)(const char *, struct msg_error *);
	/* Start the job; the kind calls sched_finish when it ends. */
	void		(*start)(struct job *);
	/* Stop a running job; the kind calls sched_finish once stopped. */
	void		(*cancel)(struct job *);
	/*
	 * Whether a job of this kind in this queue could start now, or be
	 * held by hold (NULL: always).
	 */
	int		(*can_start)(struct sched *, struct queue *);
	/*
	 * Take a job about to start, which stays queued for now: 1 if the
	 * kind holds it (in kdata) and later starts it with
	 * sched_start_held or gives it back with sched_unhold; 0 to start
	 * it as usual (NULL: always 0).
	 */
	int		(*hold)(struct job *);
	/* A held job leaves the queue (cancelled or failed): forget it. */
	void		(*drop)(struct job *);
	/* Whether this daemon can run the kind at all (NULL: yes). */
	int		(*usable)(struct sched *, struct msg_error *);
	/* What a job waits for when can_start says no (waiting_for). */
	const char	*waits_for;
	/* The output streams a job keeps, first the default (none: NULL). */
	const char	*streams[3];
	/* A running job's capture buffer of a stream, or NULL (op output). */
	const struct outbuf *(*output)(struct job *, const char *);
};

#define KIND_MAX	8

/* Named queues at most (each lives until the daemon stops). */
#define SCHED_QUEUES_MAX	10000

/*
 * What only some jobs have: a name or key, dependencies, a lock, a group,
 * a timeout or retries, and what a job has once it stops or fails. A job
 * gets this part the first time it needs one of them (job_more), so that
 * the many plain jobs of a big queue cost only struct job.
 */
struct job_more {
	char			*name;
	int64_t			 timeout_ms;
	int64_t			 retries;
	int64_t			 retry_backoff_ms;
	int64_t			*after;		/* dependencies, as submitted */
	size_t			 nafter;
	size_t			 deps_left;	/* not yet succeeded */
	TAILQ_HEAD(, job_dep)	 dependents;	/* jobs waiting for this one */
	char			*lock_name;
	struct lock		*lock;		/* held or waited for */
	struct group		*group;
	int64_t			 group_id;	/* its first member's id */
	char			*stop_reason;
	char			*error_code;
	char			*error_message;
	char			*tree;		/* tree_where while it runs */
};

/*
 * An idempotency key, in the scheduler's set of keys. Without a store,
 * the canonical text of the job's spec follows the key, for comparing
 * later submits with it; with one, the store has it.
 */
struct job_key {
	struct job_key		*next;		/* in its slot (sched/keys.c) */
	uint64_t		 hash;
	struct job		*job;
	uid_t			 owner;		/* keys are per owner */
	char			 key[];
};

/*
 * A job. Owned by the scheduler from submit on. A million of them may be
 * queued or running at once: every field here is paid for by every job,
 * so what most jobs do not use lives in struct job_more.
 */
struct job {
	int64_t			 id;
	struct queue		*queue;		/* and its scheduler */
	char			*args;
	char			*key;		/* in its struct job_key */
	char			*result;	/* JSON text or NULL */
	struct job_more		*more;		/* or NULL: none of it */
	struct event		*timer;		/* delay, retry or timeout */
	/* the kind's running state; for a held job, what holds it */
	void			*kdata;
	int64_t			 priority;
	int64_t			 attempts;
	int64_t			 not_before;	/* delay or backoff end */
	int64_t			 submitted_at;
	int64_t			 started_at;	/* -1 until it happens */
	int64_t			 finished_at;

	uid_t			 owner;		/* who submitted it */
	uint8_t			 kidx;		/* index of kind in kind.c */
	uint8_t			 state;
	uint8_t			 stop;		/* JOB_STOP_* while stopping */
	unsigned int		 shield:1;
	unsigned int		 ready:1;	/* in its queue's ready set */
	unsigned int		 lock_waiting:1;	/* in its lock's queue */
	unsigned int		 dirty:1;	/* changed since the last commit */
	unsigned int		 stored:1;	/* its row is committed */

	RB_ENTRY(job)		 id_entry;
	/*
	 * A queued job can be in its queue's ready set or its lock's
	 * waiters; a running or final one in sched->running or
	 * sched->finals. Never two at once, so the entries share memory.
	 */
	union {
		RB_ENTRY(job)	 ready_entry;
		TAILQ_ENTRY(job) run_entry;
	};
	TAILQ_HEAD(, wait_link)	 waits;		/* held waits on this job */
};
TAILQ_HEAD(jobq, job);
RB_HEAD(job_ids, job);
RB_HEAD(job_ready, job);
RB_HEAD(job_lockq, job);

/* A changed job to write at the next commit, and a new one's spec text. */
struct dirty {
	struct job		*job;
	char			*spec;		/* owned; NULL: none to write */
};

/* A named queue: its own limit, rate and pause state. */
struct queue {
	char			*name;
	int64_t			 limit;		/* 0 = unlimited */
	double			 rate;		/* starts per second, 0 = any */
	double			 tokens;
	int64_t			 refilled_at;
	int			 paused;
	int64_t			 nqueued;
	int64_t			 nrunning;
	struct job_ready	 ready[KIND_MAX];	/* by kind */
	struct event		*rate_timer;
	struct event		*wake;	/* the scheduler's pass, when a token is due */
	struct sched		*sched;
	RB_ENTRY(queue)		 entry;
};
RB_HEAD(queues, queue);

typedef void	sched_change_cb(struct job *, int, void *);
typedef void	sched_output_cb(struct job *, void *);

/* The scheduler: every job, every queue, the limits. */
struct sched {
	struct event_base	*base;
	int64_t			 limit;		/* running jobs, 0 = any */
	int64_t			 pending_limit;
	int64_t			 counts[JOB_NSTATES];
	int64_t			 next_id;
	int			 draining;	/* start nothing new */
	int			 start_stored;	/* start only committed jobs */
	struct job_ids		 jobs;
	struct keys		*keys;
	struct queues		 queues;
	int64_t			 nqueues;
	struct jobq		 running;
	struct jobq		 finals;	/* final, consequences pending */
	int			 resolving;
	struct locks		*locks;
	struct groups		*groups;
	struct event		*pump;
	int64_t			(*now)(void);	/* clock, ms; a test seam */
	int64_t			 kill_grace_ms;	/* SIGTERM to SIGKILL */
	struct pool		*pool;		/* cpu workers, or NULL */
	struct http_env		*http;		/* http jobs, or NULL */
	struct store		*store;		/* or NULL: jobs in memory only */
	struct trees		*trees;		/* exec jobs' trees, or NULL */
	struct dirty		*dirty;		/* to write at the next commit */
	size_t			 ndirty;
	size_t			 dirtysize;
	void			(*dirty_cb)(void *);	/* a commit is due */
	void			*dirty_arg;
	sched_change_cb		*change_cb;
	void			*change_arg;
	sched_output_cb		*output_cb;	/* a running job wrote */
	void			*output_arg;
};

/* A request received on the control endpoint, answered now or later. */
struct creq {
	struct control		*control;
	struct sp_request	*msg;		/* the request and its route */
	int			 held;
	struct msg_request	 req;
	void			*wait;		/* op_wait's state while held */
	/*
	 * Set by whoever keeps state for the request (wait.c): release frees
	 * it when the request goes; reply_now answers a held request at once
	 * with what is known (shutdown). control.c calls them and knows no
	 * more of what a request waits for.
	 */
	void			(*release)(struct creq *);
	void			(*reply_now)(struct creq *);
	char			*reply;		/* sent once committed */
	int64_t			*ids;		/* a submit's jobs, in order */
	size_t			 nids;
	int			 shows;		/* a read: sent even if not */
	uid_t			 uid;		/* who sent it */
	int			 admin;		/* sees every job */
	TAILQ_ENTRY(creq)	 entry;
};
TAILQ_HEAD(creqs, creq);

/* Takes each request an endpoint receives (ops_dispatch). */
typedef void	control_dispatch_cb(struct aiojobsd *, struct creq *,
		    const char *, size_t);

/* A control endpoint: a raw REP endpoint, and what its clients may do. */
struct control {
	struct aiojobsd		*aj;
	struct sp_server	*server;
	control_dispatch_cb	*dispatch;
	char			*url;
	char			*name;		/* for messages */
	int			 has_token;
	unsigned char		 token_md[ACCESS_TOKEN_MD];
	int			 allow_exec;
	int			 insecure_no_token;
	unsigned int		 kinds;		/* a bit per kind index */
	struct ssl_ctx_st	*tls;		/* tls+tcp://, or NULL */
	int			 plain_tcp;	/* tcp://: tokens in clear */
	int			 insecure_plain_token;
	struct creqs		 held;
	size_t			 nheld;
	TAILQ_ENTRY(control)	 entry;
};
TAILQ_HEAD(controls, control);

/* The daemon. */
struct aiojobsd {
	struct event_base	*base;
	struct sched		*sched;
	struct controls		 controls;	/* the default one first */
	struct events		*events;
	struct pool		*pool;
	struct metrics		*metrics;	/* or NULL: off */
	struct access		*access;	/* who may do what */

	struct config		 conf;
	struct config_args	 args;		/* flags, over the file */
	char			*config_path;	/* file to re-read, or NULL */
	struct event		*commit_ev;	/* end of a loop iteration */
	struct event		*commit_timer;	/* grouped commit */
	struct event		*commit_retry;
	struct event		*retention_timer;
	struct creqs		 committing;	/* submits awaiting commit */
	int			 store_failing;

	int64_t			 started_at;
	int			 shutting_down;
	struct event		*shutdown_timer;
	struct event		*signals[4];
	struct event		*waiters_ev;	/* re-check held waits */
	struct event		*stop_ev;	/* end of the final drain */
	int			 rundir_lock;	/* pidfile_lock fds, or -1 */
	int			 state_lock;
	int			 stopping;	/* final drain under way */
	struct event		*notify_status_ev;	/* STATUS= refresh */
	struct event		*notify_watchdog_ev;	/* WATCHDOG=1 */
};

typedef void	proc_exit_cb(pid_t, int, void *);

/* What the worker pool is made of (pool.c). */
struct pool_opts {
	int		 workers;
	const char	*plugin_dir;
	const char	*exe;		/* the daemon's binary */
	int64_t		 memory_limit;	/* bytes of address space, 0 = any */
	int64_t		 cpu_limit;	/* CPU seconds, 0 = any */
	const char	*user;		/* workers run as this user, or NULL */
};

/* Op flags. */
#define OP_F_MUTATES	0x1	/* refused while shutting down */

struct op_entry {
	const char	*name;
	int		 flags;
	unsigned int	 accept;	/* MSG_F_* fields it reads */
	unsigned int	 need;		/* MSG_F_* fields it requires */
	/* answers now, or holds the request and answers it later */
	void		(*fn)(struct aiojobsd *, struct creq *);
};

/* util.c */
int64_t	 now_ms(void);
int	 mkdirs(const char *);

/* job.c */
struct job *job_create(struct sched *, const struct msg_spec *,
	    const struct kind *, struct queue *, const char *);
void	 job_free(struct job *);
struct job_more *job_more(struct job *);
const struct kind *job_kind(struct job *);
const char *job_name(struct job *);
uid_t	 job_owner(struct job *);
struct job_key *job_key_entry(struct job *);
int64_t	 job_timeout_ms(struct job *);
int64_t	 job_retries(struct job *);
int64_t	 job_group_id(struct job *);
const char *job_state_name(int);
int	 job_state_by_name(const char *);
int	 job_state_final(int);
void	 job_set_state(struct job *, int);
void	 job_vset_error(struct job *, const char *, const char *, va_list)
	    __attribute__((__format__(__printf__, 3, 0)));
void	 job_set_error(struct job *, const char *, const char *, ...)
	    __attribute__((__format__(__printf__, 3, 4)));
void	 job_set_result(struct job *, const char *);
void	 job_set_tree(struct job *, char *);
const char *job_tree(struct job *);
int	 job_uncommitted(struct job *);
const char *job_waiting_for(struct job *);
void	 job_row(struct job *, struct store_row *);
void	 job_row_view(const struct store_row *, struct msg_view *);
void	 job_view(struct job *, struct msg_view *);
struct event_base *job_base(struct job *);
void	 job_output_grew(struct job *);
int	 job_ids_cmp(struct job *, struct job *);
int	 job_ready_cmp(struct job *, struct job *);
RB_PROTOTYPE(job_ids, job, id_entry, job_ids_cmp)
RB_PROTOTYPE(job_ready, job, ready_entry, job_ready_cmp)

/* queue.c */
struct queue *queue_create(struct sched *, const char *, struct event *);
void	 queue_free(struct queue *);
int	 queue_cmp(struct queue *, struct queue *);
RB_PROTOTYPE(queues, queue, entry, queue_cmp)
void	 queue_push(struct queue *, struct job *);
void	 queue_remove(struct queue *, struct job *);
struct job *queue_next(struct queue *);
void	 queue_take_token(struct queue *);
void	 queue_set_rate(struct queue *, double);
#define QUEUE_SET_LIMIT		0x1
#define QUEUE_SET_RATE		0x2
#define QUEUE_SET_PAUSED	0x4
#define QUEUE_SET_ALL		0x7
void	 queue_configure(struct queue *, int, int64_t, double, int);

/* sched.c */
struct sched *sched_create(struct event_base *, int64_t, int64_t);
void	 sched_free(struct sched *);
void	 sched_set_change_cb(struct sched *, sched_change_cb *, void *);
void	 sched_set_output_cb(struct sched *, sched_output_cb *, void *);
int	 sched_submit(struct sched *, struct msg_spec *, size_t, int,
	    int64_t, int64_t *, struct msg_error *);
int	 sched_queue_allowed(struct sched *, const char *,
	    struct msg_error *);
struct queue *sched_queue(struct sched *, const char *, int);
void	 sched_cancel(struct job *, const char *);
int	 sched_start_held(struct job *);
void	 sched_unhold(struct job *);
void	 sched_kick(struct sched *);
void	 sched_set_state(struct job *, int);
void	 sched_finish(struct job *, int, const char *, const char *,
	    const char *, ...) __attribute__((__format__(__printf__, 5, 6)));
void	 sched_link_deps(struct job *);
int	 sched_commit(struct sched *, char **);
void	 sched_drain(struct sched *);
struct job *sched_restore(struct sched *, struct msg_spec *,
	    struct store_row *);
void	 sched_ready_at(struct job *, int64_t);
int64_t	 sched_backoff_ms(struct job *);
void	 sched_maybe_ready(struct job *);
int	 sched_cancel_running(struct sched *, int, const char *);
int64_t	 sched_queued(struct sched *);

/* access.c: who may do what */
struct access;
struct access *access_create(const struct config *, char **);
void	 access_free(struct access *);
void	 access_token_md(const char *, unsigned char *);
int	 access_admin(const struct access *, uid_t);
int	 access_op(const struct access *, const char *, uid_t);
int	 access_kind(const struct access *, const struct kind *, uid_t);
int	 access_token(const struct access *, const unsigned char *, uid_t *);
int	 access_has_tokens(const struct access *);
int	 access_jobs(const struct access *, struct sched *, uid_t,
	    const int64_t *, size_t, struct msg_error *);
int	 access_submit(const struct access *, const struct msg_spec *, size_t,
	    uid_t, struct msg_error *);

/* proc.c */
void	 proc_watch(pid_t, proc_exit_cb *, void *);
void	 proc_reap(void);
void	 proc_forget(pid_t);


/* persist.c */
void	 persist_mark(struct job *);
void	 persist_mark_new(struct job *, char *);
void	 persist_set_tree(struct job *, char *);
int	 persist_flush(struct sched *, char **);
int	 persist_commit(struct sched *, void (*)(struct job *), char **);
void	 persist_recount(struct sched *);

/* sched_lookup.c */
struct job *sched_lookup_job(struct sched *, int64_t);
int	 sched_lookup(struct sched *, int64_t, struct job **,
	    struct store_row *);
int	 sched_lookup_view(struct sched *, int64_t, struct store_row *,
	    struct msg_view *);
int	 sched_lookup_state(struct sched *, int64_t);
int	 sched_lookup_owner(struct sched *, int64_t, uid_t *);

/* recover.c */
int	 recover_jobs(struct sched *, char **);

/* kind.c */
const struct kind *kind_find(const char *);
const struct kind *kind_at(int);
int	 kind_count(void);
int	 kind_index(const struct kind *);

/* pool.c */
struct pool *pool_create(struct event_base *, struct sched *,
	    const struct pool_opts *);
void	 pool_free(struct pool *);
void	 pool_resize(struct pool *, int);
int	 pool_total(struct pool *);
int	 pool_busy(struct pool *);
int	 pool_has_idle(struct pool *);
void	 pool_run(struct pool *, struct job *);
void	 pool_hold_drop(struct job *);
void	 pool_cancel(struct job *);

/* kind_cpu_hold.c */
int	 kind_cpu_hold_room(struct pool *);
int	 kind_cpu_hold(struct job *);

/* control.c */
struct control *control_create(struct aiojobsd *,
	    const struct config_listen *, control_dispatch_cb *, char **);
void	 control_free(struct control *);
int	 control_authorize(struct creq *, struct msg_in *,
	    struct msg_error *);
int	 control_permit(struct control *, const struct msg_request *,
	    struct msg_error *);
void	 control_reply(struct creq *, char *);
void	 control_error(struct creq *, const char *, const char *, ...)
	    __attribute__((__format__(__printf__, 3, 4)));
void	 control_hold(struct creq *, void (*)(struct creq *));
void	 control_unhold(struct creq *);
size_t	 control_held_count(struct control *);
void	 control_each_held(struct control *, void (*)(struct creq *));
int	 control_peer(struct creq *, struct sp_peer *);
void	 control_reply_held(struct control *);

/* ops.c */
void	 ops_dispatch(struct aiojobsd *, struct creq *, const char *, size_t);
const struct op_entry *ops_decode(struct msg_in *, struct msg_request *,
	    struct msg_error *);
const struct op_entry *ops_find(const char *);

/* op_*.c */
void	 op_ping(struct aiojobsd *, struct creq *);
void	 op_submit(struct aiojobsd *, struct creq *);
void	 op_status(struct aiojobsd *, struct creq *);
void	 op_list(struct aiojobsd *, struct creq *);
void	 op_wait(struct aiojobsd *, struct creq *);
void	 op_cancel(struct aiojobsd *, struct creq *);
void	 op_stats(struct aiojobsd *, struct creq *);
void	 op_queue(struct aiojobsd *, struct creq *);
void	 op_shutdown(struct aiojobsd *, struct creq *);
void	 op_clean(struct aiojobsd *, struct creq *);
void	 op_output(struct aiojobsd *, struct creq *);
void	 op_reload(struct aiojobsd *, struct creq *);

/* wait.c: held wait and cancel requests */
void	 wait_hold(struct aiojobsd *, struct creq *, int64_t *, size_t, int,
	    int64_t, int);
void	 wait_check_all(struct aiojobsd *);
void	 wait_job_final(struct job *);
typedef char	*wait_reply_cb(struct aiojobsd *, struct creq *);
typedef int	 wait_ready_cb(struct aiojobsd *, struct creq *);
void	 wait_hold_output(struct aiojobsd *, struct creq *, int64_t, int64_t,
	    wait_ready_cb *, wait_reply_cb *);
int	 wait_job_output(struct job *);

/* events.c */
int	 pidfile_lock(const char *, const char *, const char *, char **);

struct events *events_create(struct aiojobsd *, const char *, char **);
void	 events_free(struct events *);
void	 events_publish(struct events *, struct job *);

/* server.c */
int	 server_run(struct aiojobsd *);
void	 server_shutdown(struct aiojobsd *, int64_t);

/* reload.c */
int	 reload_config(struct aiojobsd *, char **);
void	 reload_queues(struct aiojobsd *);
void	 reload_pool(struct aiojobsd *);

/* child_env.c */
int	 child_env_private(const char *);
char	**child_env(char **);

/* notify.c */
void	 notify_ready(struct aiojobsd *);
void	 notify_reloading(struct aiojobsd *);
void	 notify_stopping(struct aiojobsd *);
void	 notify_free(struct aiojobsd *);

/* durable.c */
int	 durable_open(struct aiojobsd *, char **);
void	 durable_close(struct aiojobsd *);
void	 durable_commit(struct aiojobsd *);
void	 durable_commit_soon(struct aiojobsd *);
void	 durable_reply(struct aiojobsd *, struct creq *, char *);
void	 durable_reply_seen(struct aiojobsd *, struct creq *, char *);
void	 durable_retention_cb(int, short, void *);
void	 durable_retention_set(struct aiojobsd *);
int64_t	 durable_clean(struct aiojobsd *, int64_t, int, int64_t, char **);

/* metrics.c */
int	 metrics_create(struct aiojobsd *, char **);
void	 metrics_free(struct aiojobsd *);
void	 metrics_job_changed(struct metrics *, struct job *, int);
void	 metrics_commit_begin(struct metrics *);
void	 metrics_commit_end(struct metrics *);

#endif
