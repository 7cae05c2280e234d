/*
 * The job store: the one interface the daemon uses to keep jobs on disk.
 *
 * Storage has three layers, each named for what it does:
 * - persist.c turns jobs into rows and back (struct store_row) and decides
 *   when to write them;
 * - store.c (this interface) picks a backend and hands each call to it;
 * - a backend, store_<name>.c, keeps the rows in a database. It is the
 *   only file that knows the database: its headers, its query language.
 *
 * Writes (insert, update, clean, queue settings) join the open batch, a
 * transaction begun by the first write after a commit; store_commit makes
 * the whole batch durable at once (group commit), or, if it fails, none
 * of it. Reads see the batch's writes before it is committed.
 *
 * Adding a backend (PostgreSQL is next) is one file, store_<name>.c,
 * which fills a const struct store_backend with its functions and a URL
 * scheme, and one line in the table in store.c; store_open gives it the
 * configured locations that start with its scheme; store.c says what
 * each operation promises.
 *
 * Today every operation returns when it is done. A backend on a network
 * database will need some to finish later, on the loop: its writes can
 * go out without waiting and report a failure at the commit, but the
 * commit and the reads of jobs no longer in memory (get, get_key, list,
 * and counts after a clean) will need forms that call back. Open, max_id,
 * each_unfinished and each_queue run only at start, before the loop, and
 * may block.
 */
#ifndef STORE_H
#define STORE_H

#include <stdint.h>
#include <sys/types.h>

/*
 * A row's state is its job's state number (JOB_QUEUED 0 ... JOB_CANCELLED
 * 4 in aiojobsd.h, kept on disk as they are); the store needs to know only
 * how many there are and that those from STORE_FIRST_FINAL on are final.
 */
#define STORE_NSTATES		5
#define STORE_FIRST_FINAL	2

/* A job as the store keeps it. Strings are NULL when the column is. */
struct store_row {
	int64_t		 id;
	char		*key;
	char		*spec;
	char		*kind;
	char		*name;
	char		*queue;
	int64_t		 priority;
	int		 state;
	int64_t		 attempts;
	int64_t		 submitted_at;
	int64_t		 started_at;	/* -1 for null */
	int64_t		 finished_at;
	int64_t		 not_before;
	char		*args;
	char		*result;
	char		*error_code;
	char		*error_message;
	int64_t		 group_id;	/* 0 for none */
	char		*tree;		/* a running job's tree_where */
	uid_t		 owner;
};

/*
 * Called for each row a read finds, in the order the read promises; the
 * row's strings are freed after it returns. Returning non-zero stops the
 * read.
 */
typedef int	 store_row_cb(struct store_row *, void *);
/* Called for each queue's kept settings: name, limit, rate, paused. */
typedef void	 store_queue_cb(const char *, int64_t, double, int, void *);

/* What a backend does; store.c calls these, nothing else does. */
struct store_backend {
	const char	*name;
	/* the URL scheme of its locations; NULL: it takes a directory */
	const char	*scheme;

	/* open or create; store_open then sets the store's backend */
	struct store	*(*open)(const char *where, int safe, char **cause);
	void		 (*close)(struct store *);

	int		 (*insert)(struct store *, const struct store_row *,
			    char **);
	int		 (*update)(struct store *, const struct store_row *,
			    char **);
	int		 (*commit)(struct store *, char **);

	int		 (*get)(struct store *, int64_t, struct store_row *);
	int		 (*get_key)(struct store *, uid_t, const char *,
			    struct store_row *);
	int		 (*each_unfinished)(struct store *, store_row_cb *,
			    void *);
	int		 (*list)(struct store *, int, const char *, int64_t,
			    int64_t, int64_t, store_row_cb *, void *);
	int		 (*counts)(struct store *, int64_t[STORE_NSTATES]);
	int64_t		 (*max_id)(struct store *);
	int		 (*group_failed)(struct store *, int64_t);
	int64_t		 (*clean)(struct store *, int64_t, int, int64_t,
			    char **);

	int		 (*put_queue)(struct store *, const char *, int64_t,
			    double, int, char **);
	int		 (*each_queue)(struct store *, store_queue_cb *,
			    void *);
};

/* An open store; each backend's own state begins with this. */
struct store {
	const struct store_backend *backend;
};

/* store.c */
struct store	*store_open(const char *, int, char **);
void		 store_close(struct store *);
int		 store_insert(struct store *, const struct store_row *,
		    char **);
int		 store_update(struct store *, const struct store_row *,
		    char **);
int		 store_commit(struct store *, char **);
int		 store_get(struct store *, int64_t, struct store_row *);
int		 store_get_key(struct store *, uid_t, const char *,
		    struct store_row *);
int		 store_each_unfinished(struct store *, store_row_cb *, void *);
int		 store_list(struct store *, int, const char *, int64_t,
		    int64_t, int64_t, store_row_cb *, void *);
int		 store_counts(struct store *, int64_t[STORE_NSTATES]);
int64_t		 store_max_id(struct store *);
int		 store_group_failed(struct store *, int64_t);
int64_t		 store_clean(struct store *, int64_t, int, int64_t, char **);
int		 store_put_queue(struct store *, const char *, int64_t, double,
		    int, char **);
int		 store_each_queue(struct store *, store_queue_cb *, void *);
void		 store_row_clear(struct store_row *);

#endif /* STORE_H */
