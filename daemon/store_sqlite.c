/*
 * The SQLite backend of the job store (store.h): <dir>/jobs.db in WAL
 * mode, written only from the dispatcher. Writes join the transaction
 * open for this batch and one commit ends it: group commit, so throughput
 * never falls to one fsync per job. Reads on the same connection see
 * what the batch wrote. This is the only file that knows SQL or SQLite.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "aiojobsd.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

#define STORE_SQLITE_VERSION	6

#define STORE_SQLITE_COLS \
	"id, key, spec, kind, name, queue, priority, state, attempts, " \
	"submitted_at, started_at, finished_at, not_before, args, result, " \
	"error_code, error_message, group_id, tree, owner"

static const char *store_sqlite_schema[STORE_SQLITE_VERSION] = {
	/* version 1 */
	"CREATE TABLE jobs ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"	/* ids never reused */
	" key TEXT UNIQUE, spec TEXT NOT NULL,"
	" kind TEXT NOT NULL, name TEXT, queue TEXT NOT NULL,"
	" priority INTEGER NOT NULL, state INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL, submitted_at INTEGER NOT NULL,"
	" started_at INTEGER, finished_at INTEGER, not_before INTEGER,"
	" args TEXT NOT NULL, result TEXT, error_code TEXT,"
	" error_message TEXT, group_id INTEGER);"
	"CREATE INDEX jobs_state ON jobs (state);"
	"CREATE INDEX jobs_finished ON jobs (finished_at)"
	" WHERE finished_at IS NOT NULL;"
	"CREATE TABLE queues ("
	" name TEXT PRIMARY KEY, lim INTEGER NOT NULL, rate REAL NOT NULL,"
	" paused INTEGER NOT NULL);",
	/*
	 * version 2: a fifth less work a new row. AUTOINCREMENT updated
	 * sqlite_sequence on every insert; the highest id now goes into
	 * meta only when a clean deletes rows (max(id) cannot fall
	 * otherwise). A job without a key and a finished job no longer get
	 * index entries (key: only set keys; jobs_live: the ids of live
	 * jobs, in the order recovery reads them, until version 3; counts
	 * scan the table, at start and after a clean).
	 */
	"CREATE TABLE jobs_v2 ("
	" id INTEGER PRIMARY KEY,"
	" key TEXT, spec TEXT NOT NULL,"
	" kind TEXT NOT NULL, name TEXT, queue TEXT NOT NULL,"
	" priority INTEGER NOT NULL, state INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL, submitted_at INTEGER NOT NULL,"
	" started_at INTEGER, finished_at INTEGER, not_before INTEGER,"
	" args TEXT NOT NULL, result TEXT, error_code TEXT,"
	" error_message TEXT, group_id INTEGER);"
	/*
	 * Version 1 stored a plugin's result as the plugin wrote it; from
	 * version 2 on every args and result is compact valid JSON, so
	 * replies copy it as it is (job_row_view).
	 */
	"INSERT INTO jobs_v2 SELECT id, key, spec, kind, name, queue,"
	" priority, state, attempts, submitted_at, started_at, finished_at,"
	" not_before, CASE WHEN json_valid(args) THEN json(args) ELSE 'null'"
	" END, CASE WHEN json_valid(result) THEN json(result) END,"
	" error_code, error_message, group_id FROM jobs;"
	"CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"DROP TABLE jobs;"
	"ALTER TABLE jobs_v2 RENAME TO jobs;"
	"CREATE UNIQUE INDEX jobs_key ON jobs (key) WHERE key IS NOT NULL;"
	"CREATE INDEX jobs_live ON jobs (id) WHERE state < 2;"
	"CREATE INDEX jobs_finished ON jobs (finished_at)"
	" WHERE finished_at IS NOT NULL;",
	/*
	 * version 3: no jobs_live. Its entry was written when a job was
	 * submitted and deleted when it finished, a fifth of what the store
	 * cost a job, for one query at start, which now reads the table in
	 * id order (start-up reads all of it for the counts anyway).
	 */
	"DROP INDEX jobs_live;",
	/*
	 * version 4: what finds a running exec job's processes after a
	 * crash (tree_where: its cgroup, or its process group and the
	 * leader's start time), so that recovery kills them before the job
	 * may run again.
	 */
	"ALTER TABLE jobs ADD COLUMN tree TEXT;",
	/*
	 * version 5: every job has an owner, the uid that submitted it; its
	 * idempotency key is its owner's (two users may use the same key).
	 * The jobs already there become the daemon's user's
	 * (store_sqlite_mark_v5).
	 */
	"ALTER TABLE jobs ADD COLUMN owner INTEGER NOT NULL DEFAULT 0;"
	"DROP INDEX IF EXISTS jobs_key;"
	"CREATE UNIQUE INDEX jobs_key ON jobs (owner, key)"
	" WHERE key IS NOT NULL;",
	/*
	 * version 6: a job may join a task group after its other members
	 * have ended and left memory ("join"), unless one of them failed:
	 * the members of a group by its id, for jobs in groups only.
	 */
	"CREATE INDEX jobs_group ON jobs (group_id, state)"
	" WHERE group_id IS NOT NULL;",
};

/* An open SQLite store. */
struct store_sqlite {
	struct store	 st;		/* first: a struct store * is this */
	sqlite3		*db;
	char		*path;
	int		 in_txn;
	sqlite3_stmt	*insert;
	sqlite3_stmt	*update;
	sqlite3_stmt	*get;
	sqlite3_stmt	*get_key;
};

static struct store_sqlite *
store_sqlite_of(struct store *st)
{
	return ((struct store_sqlite *)st);
}

static int
store_sqlite_fail(struct store_sqlite *sq, const char *what, char **cause)
{
	if (cause != NULL)
		xasprintf(cause, "job store %s: %s: %s", sq->path, what,
		    sqlite3_errmsg(sq->db));
	return (-1);
}

static int
store_sqlite_exec(struct store_sqlite *sq, const char *sql, char **cause)
{
	if (sqlite3_exec(sq->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return (store_sqlite_fail(sq, sql, cause));
	return (0);
}

/* The single integer a query gives, or dflt. */
static int64_t
store_sqlite_int(struct store_sqlite *sq, const char *sql, int64_t dflt)
{
	sqlite3_stmt	*s;
	int64_t		 v = dflt;

	if (sqlite3_prepare_v2(sq->db, sql, -1, &s, NULL) != SQLITE_OK)
		return (dflt);
	if (sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return (v);
}

static int
store_sqlite_user_version(struct store_sqlite *sq, int *v)
{
	sqlite3_stmt	*s;
	int		 r;

	if (sqlite3_prepare_v2(sq->db, "PRAGMA user_version", -1, &s,
	    NULL) != SQLITE_OK)
		return (-1);
	r = sqlite3_step(s);
	*v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return (r == SQLITE_ROW ? 0 : -1);
}

/* Migration step v (to version v + 1); a failure says which, not its SQL. */
static int
store_sqlite_step(struct store_sqlite *sq, int v, char **cause)
{
	char	 what[64];

	if (sqlite3_exec(sq->db, store_sqlite_schema[v], NULL, NULL, NULL) ==
	    SQLITE_OK)
		return (0);
	snprintf(what, sizeof what, "migrating to schema version %d", v + 1);
	return (store_sqlite_fail(sq, what, cause));
}

/* Version 2's highest id: version 1's sequence, or its highest row. */
static int
store_sqlite_mark_v2(struct store_sqlite *sq, int64_t seq, char **cause)
{
	char	 sql[128];

	snprintf(sql, sizeof sql, "INSERT INTO meta SELECT 'max_id', "
	    "max(%lld, coalesce(max(id), 0)) FROM jobs", (long long)seq);
	return (store_sqlite_exec(sq, sql, cause));
}

/* Version 5's owner of the jobs written before it: the daemon's user. */
static int
store_sqlite_mark_v5(struct store_sqlite *sq, char **cause)
{
	char	 sql[64];

	snprintf(sql, sizeof sql, "UPDATE jobs SET owner = %lu",
	    (unsigned long)geteuid());
	return (store_sqlite_exec(sq, sql, cause));
}

/* Bring the schema to STORE_SQLITE_VERSION, one step at a time. */
static int
store_sqlite_migrate(struct store_sqlite *sq, char **cause)
{
	char	 sql[64];
	int64_t	 seq;
	int	 v;

	if (store_sqlite_user_version(sq, &v) != 0)
		return (store_sqlite_fail(sq, "reading the schema version",
		    cause));
	if (v > STORE_SQLITE_VERSION) {
		xasprintf(cause, "job store %s has schema version %d, newer "
		    "than this aiojobsd knows (%d): run a newer aiojobsd, or "
		    "move the file away to start with an empty store",
		    sq->path, v, STORE_SQLITE_VERSION);
		return (-1);
	}
	for (; v < STORE_SQLITE_VERSION; v++) {
		/*
		 * Version 1 kept the highest id in sqlite_sequence (stores
		 * made before it used AUTOINCREMENT have none); read it
		 * before the step drops the table, and its row there.
		 */
		seq = v != 1 ? 0 : store_sqlite_int(sq, "SELECT seq FROM "
		    "sqlite_sequence WHERE name = 'jobs'", 0);
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		if (store_sqlite_exec(sq, "BEGIN", cause) != 0 ||
		    store_sqlite_step(sq, v, cause) != 0 ||
		    (v == 1 && store_sqlite_mark_v2(sq, seq, cause) != 0) ||
		    (v == 4 && store_sqlite_mark_v5(sq, cause) != 0) ||
		    store_sqlite_exec(sq, sql, cause) != 0 ||
		    store_sqlite_exec(sq, "COMMIT", cause) != 0)
			return (-1);
		log_info("job store %s: schema version %d", sq->path, v + 1);
	}
	return (0);
}

/* The statements every job's life runs, prepared once. */
static int
store_sqlite_prepare(struct store_sqlite *sq, char **cause)
{
	if (sqlite3_prepare_v2(sq->db, "INSERT OR REPLACE INTO jobs ("
	    STORE_SQLITE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	    "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)", -1,
	    &sq->insert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sq->db, "UPDATE jobs SET state = ?2, "
	    "attempts = ?3, started_at = ?4, finished_at = ?5, "
	    "not_before = ?6, result = ?7, error_code = ?8, "
	    "error_message = ?9, group_id = ?10, tree = ?11 WHERE id = ?1", -1,
	    &sq->update, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sq->db, "SELECT " STORE_SQLITE_COLS " FROM jobs "
	    "WHERE id = ?1", -1, &sq->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sq->db, "SELECT " STORE_SQLITE_COLS " FROM jobs "
	    "WHERE owner = ?1 AND key = ?2", -1, &sq->get_key,
	    NULL) != SQLITE_OK)
		return (store_sqlite_fail(sq, "preparing statements", cause));
	return (0);
}

static int
store_sqlite_mode_fail(const char *path, char **cause)
{
	xasprintf(cause, "%s: cannot make it private to the daemon: %s", path,
	    strerror(errno));
	return (-1);
}

/* Take group and other access away from path, if it has any. */
static int
store_sqlite_close_mode(const char *path, mode_t mode, char **cause)
{
	struct stat	 sb;

	if (stat(path, &sb) == -1)
		return (errno == ENOENT ? 0 : store_sqlite_mode_fail(path,
		    cause));
	if ((sb.st_mode & 077) == 0)
		return (0);
	if (chmod(path, mode) == -1)
		return (store_sqlite_mode_fail(path, cause));
	log_info("%s was mode %03o, now %03o: it holds every user's jobs",
	    path, (unsigned int)(sb.st_mode & 0777), (unsigned int)mode);
	return (0);
}

/*
 * The store holds every job of every user, with its arguments and
 * output, and on a shared daemon the jobs run as those users: only the
 * daemon may read it. What the daemon creates is private already (its
 * umask is 077, and SQLite gives the -wal and -shm files the mode of the
 * database); a directory or files of an older version, or made by hand,
 * are closed here, whatever the umask was when they were made.
 */
static int
store_sqlite_private(const char *dir, const char *db, char **cause)
{
	static const char *const suffixes[] = { "", "-wal", "-shm",
	    "-journal" };
	char	*path;
	size_t	 i;
	int	 r;

	if (store_sqlite_close_mode(dir, 0700, cause) != 0)
		return (-1);
	for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		xasprintf(&path, "%s%s", db, suffixes[i]);
		r = store_sqlite_close_mode(path, 0600, cause);
		free(path);
		if (r != 0)
			return (-1);
	}
	return (0);
}

/*
 * Set the connection up and bring the schema up to date. Only the
 * dispatcher uses the database: exclusive locking spares two fcntl locks
 * per transaction (a read is one) and keeps the WAL index in memory; a
 * second daemon on the same store finds it busy.
 */
static int
store_sqlite_setup(struct store_sqlite *sq, int safe, char **cause)
{
	char	*sql;
	int	 r;

	xasprintf(&sql, "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode "
	    "= WAL; PRAGMA synchronous = %s; PRAGMA foreign_keys = OFF",
	    safe ? "FULL" : "NORMAL");
	r = store_sqlite_exec(sq, sql, cause) != 0 ||
	    store_sqlite_exec(sq, "PRAGMA quick_check", cause) != 0 ||
	    store_sqlite_migrate(sq, cause) != 0 ||
	    store_sqlite_prepare(sq, cause) != 0 ? -1 : 0;
	free(sql);
	return (r);
}

/* Say what to do about a store that would not open. */
static void
store_sqlite_advise(struct store_sqlite *sq, char **cause)
{
	char	*c;

	if (cause == NULL)
		return;
	if (sqlite3_errcode(sq->db) == SQLITE_BUSY) {
		free(*cause);
		xasprintf(cause, "job store %s is in use by another process "
		    "(another aiojobsd with this state directory?)", sq->path);
	} else if (strstr(*cause, "newer") == NULL) {
		c = *cause;
		xasprintf(cause, "%s (if the file is damaged, move it away to "
		    "start with an empty store)", c);
		free(c);
	}
}

static void
store_sqlite_close(struct store *st)
{
	struct store_sqlite	*sq = store_sqlite_of(st);

	if (sq->in_txn)
		sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(sq->insert);
	sqlite3_finalize(sq->update);
	sqlite3_finalize(sq->get);
	sqlite3_finalize(sq->get_key);
	sqlite3_close(sq->db);
	free(sq->path);
	free(sq);
}

/* Open (or create) <dir>/jobs.db. */
static struct store *
store_sqlite_open(const char *dir, int safe, char **cause)
{
	struct store_sqlite	*sq;

	if (mkdirs(dir) != 0) {
		xasprintf(cause, "state directory %s: %s", dir,
		    strerror(errno));
		return (NULL);
	}
	/*
	 * SQLite counts every block it allocates under a global mutex, for
	 * sqlite3_status(), which the daemon never calls: a lock and an
	 * unlock a malloc, some 3% of a job's CPU. The setting can only be
	 * made before SQLite initialises itself, on the first open; later
	 * calls return SQLITE_MISUSE and change nothing.
	 */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	sq = xcalloc(1, sizeof *sq);
	xasprintf(&sq->path, "%s/jobs.db", dir);
	if (store_sqlite_private(dir, sq->path, cause) != 0)
		goto fail;
	if (sqlite3_open_v2(sq->path, &sq->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		store_sqlite_fail(sq, "opening", cause);
		goto fail;
	}
	sqlite3_busy_timeout(sq->db, 0);
	if (store_sqlite_setup(sq, safe, cause) != 0) {
		store_sqlite_advise(sq, cause);
		goto fail;
	}
	return (&sq->st);
fail:
	store_sqlite_close(&sq->st);
	return (NULL);
}

static void
store_sqlite_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static void
store_sqlite_bind_time(sqlite3_stmt *s, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

/* Open the batch's transaction if it is not open yet. */
static int
store_sqlite_begin(struct store_sqlite *sq, char **cause)
{
	if (sq->in_txn)
		return (0);
	if (store_sqlite_exec(sq, "BEGIN", cause) != 0)
		return (-1);
	sq->in_txn = 1;
	return (0);
}

/*
 * Run a prepared write and make it ready for the next use. Its callers
 * bind every parameter before each run, so the old bindings stay.
 */
static int
store_sqlite_run(struct store_sqlite *sq, sqlite3_stmt *s, const char *what,
    char **cause)
{
	int	 rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return (store_sqlite_fail(sq, what, cause));
	return (0);
}

static int
store_sqlite_insert(struct store *st, const struct store_row *r,
    char **cause)
{
	struct store_sqlite	*sq = store_sqlite_of(st);
	sqlite3_stmt		*s = sq->insert;

	if (store_sqlite_begin(sq, cause) != 0)
		return (-1);
	sqlite3_bind_int64(s, 1, r->id);
	store_sqlite_bind_text(s, 2, r->key);
	store_sqlite_bind_text(s, 3, r->spec);
	store_sqlite_bind_text(s, 4, r->kind);
	store_sqlite_bind_text(s, 5, r->name);
	store_sqlite_bind_text(s, 6, r->queue);
	sqlite3_bind_int64(s, 7, r->priority);
	sqlite3_bind_int(s, 8, r->state);
	sqlite3_bind_int64(s, 9, r->attempts);
	sqlite3_bind_int64(s, 10, r->submitted_at);
	store_sqlite_bind_time(s, 11, r->started_at);
	store_sqlite_bind_time(s, 12, r->finished_at);
	store_sqlite_bind_time(s, 13, r->not_before);
	store_sqlite_bind_text(s, 14, r->args);
	store_sqlite_bind_text(s, 15, r->result);
	store_sqlite_bind_text(s, 16, r->error_code);
	store_sqlite_bind_text(s, 17, r->error_message);
	store_sqlite_bind_time(s, 18, r->group_id > 0 ? r->group_id : -1);
	store_sqlite_bind_text(s, 19, r->tree);
	sqlite3_bind_int64(s, 20, r->owner);
	return (store_sqlite_run(sq, s, "writing a job", cause));
}

static int
store_sqlite_update(struct store *st, const struct store_row *r,
    char **cause)
{
	struct store_sqlite	*sq = store_sqlite_of(st);
	sqlite3_stmt		*s = sq->update;

	if (store_sqlite_begin(sq, cause) != 0)
		return (-1);
	sqlite3_bind_int64(s, 1, r->id);
	sqlite3_bind_int(s, 2, r->state);
	sqlite3_bind_int64(s, 3, r->attempts);
	store_sqlite_bind_time(s, 4, r->started_at);
	store_sqlite_bind_time(s, 5, r->finished_at);
	store_sqlite_bind_time(s, 6, r->not_before);
	store_sqlite_bind_text(s, 7, r->result);
	store_sqlite_bind_text(s, 8, r->error_code);
	store_sqlite_bind_text(s, 9, r->error_message);
	store_sqlite_bind_time(s, 10, r->group_id > 0 ? r->group_id : -1);
	store_sqlite_bind_text(s, 11, r->tree);
	return (store_sqlite_run(sq, s, "updating a job", cause));
}

static int
store_sqlite_commit(struct store *st, char **cause)
{
	struct store_sqlite	*sq = store_sqlite_of(st);

	if (!sq->in_txn)
		return (0);
	sq->in_txn = 0;
	if (sqlite3_exec(sq->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return (0);
	store_sqlite_fail(sq, "commit", cause);
	sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL);
	return (-1);
}

static char *
store_sqlite_col_text(sqlite3_stmt *s, int i)
{
	const unsigned char	*t = sqlite3_column_text(s, i);

	return (t == NULL ? NULL : xstrdup((const char *)t));
}

static int64_t
store_sqlite_col_time(sqlite3_stmt *s, int i)
{
	return (sqlite3_column_type(s, i) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(s, i));
}

/* The row a statement selecting STORE_SQLITE_COLS is on. */
static void
store_sqlite_row(sqlite3_stmt *s, struct store_row *r)
{
	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(s, 0);
	r->key = store_sqlite_col_text(s, 1);
	r->spec = store_sqlite_col_text(s, 2);
	r->kind = store_sqlite_col_text(s, 3);
	r->name = store_sqlite_col_text(s, 4);
	r->queue = store_sqlite_col_text(s, 5);
	r->priority = sqlite3_column_int64(s, 6);
	r->state = sqlite3_column_int(s, 7);
	r->attempts = sqlite3_column_int64(s, 8);
	r->submitted_at = sqlite3_column_int64(s, 9);
	r->started_at = store_sqlite_col_time(s, 10);
	r->finished_at = store_sqlite_col_time(s, 11);
	r->not_before = store_sqlite_col_time(s, 12);
	r->args = store_sqlite_col_text(s, 13);
	r->result = store_sqlite_col_text(s, 14);
	r->error_code = store_sqlite_col_text(s, 15);
	r->error_message = store_sqlite_col_text(s, 16);
	r->group_id = store_sqlite_col_time(s, 17);
	r->tree = store_sqlite_col_text(s, 18);
	r->owner = (uid_t)sqlite3_column_int64(s, 19);
}

/* The one row a prepared read finds: 1, 0 for none, -1 on error. */
static int
store_sqlite_get_one(struct store_sqlite *sq, sqlite3_stmt *s,
    struct store_row *r)
{
	int	 rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		store_sqlite_row(s, r);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		log_warnx("job store: %s", sqlite3_errmsg(sq->db));
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

static int
store_sqlite_get(struct store *st, int64_t id, struct store_row *r)
{
	struct store_sqlite	*sq = store_sqlite_of(st);

	sqlite3_bind_int64(sq->get, 1, id);
	return (store_sqlite_get_one(sq, sq->get, r));
}

static int
store_sqlite_get_key(struct store *st, uid_t owner, const char *key,
    struct store_row *r)
{
	struct store_sqlite	*sq = store_sqlite_of(st);

	sqlite3_bind_int64(sq->get_key, 1, owner);
	sqlite3_bind_text(sq->get_key, 2, key, -1, SQLITE_STATIC);
	return (store_sqlite_get_one(sq, sq->get_key, r));
}

/* Call cb for each row of a statement until it stops; finalize it. */
static int
store_sqlite_each_row(sqlite3_stmt *s, store_row_cb *cb, void *arg)
{
	struct store_row	 r;
	int			 rc, stop = 0;

	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_sqlite_row(s, &r);
		stop = cb(&r, arg);
		store_row_clear(&r);
	}
	sqlite3_finalize(s);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1);
}

static int
store_sqlite_each_unfinished(struct store *st, store_row_cb *cb, void *arg)
{
	struct store_sqlite	*sq = store_sqlite_of(st);
	sqlite3_stmt		*s;

	if (sqlite3_prepare_v2(sq->db, "SELECT " STORE_SQLITE_COLS " FROM "
	    "jobs WHERE state < ?1 ORDER BY id", -1, &s, NULL) != SQLITE_OK) {
		log_warnx("job store: %s", sqlite3_errmsg(sq->db));
		return (-1);
	}
	sqlite3_bind_int(s, 1, STORE_FIRST_FINAL);
	return (store_sqlite_each_row(s, cb, arg));
}

static int
store_sqlite_list(struct store *st, int state, const char *queue,
    int64_t owner, int64_t before_id, int64_t limit, store_row_cb *cb,
    void *arg)
{
	struct store_sqlite	*sq = store_sqlite_of(st);
	sqlite3_stmt		*s;

	if (sqlite3_prepare_v2(sq->db, "SELECT " STORE_SQLITE_COLS " FROM "
	    "jobs WHERE (?1 < 0 OR state = ?1) AND (?2 IS NULL OR queue = ?2) "
	    "AND (?3 = 0 OR id < ?3) AND (?5 < 0 OR owner = ?5) ORDER BY id "
	    "DESC LIMIT ?4", -1, &s, NULL) != SQLITE_OK)
		return (store_sqlite_fail(sq, "listing", NULL));
	sqlite3_bind_int(s, 1, state);
	store_sqlite_bind_text(s, 2, queue);
	sqlite3_bind_int64(s, 3, before_id);
	sqlite3_bind_int64(s, 4, limit == 0 ? -1 : limit);
	sqlite3_bind_int64(s, 5, owner);
	return (store_sqlite_each_row(s, cb, arg));
}

static int
store_sqlite_counts(struct store *st, int64_t counts[STORE_NSTATES])
{
	struct store_sqlite	*sq = store_sqlite_of(st);
	sqlite3_stmt		*s;
	int			 rc, state;

	memset(counts, 0, STORE_NSTATES * sizeof *counts);
	if (sqlite3_prepare_v2(sq->db, "SELECT state, count(*) FROM jobs "
	    "GROUP BY state", -1, &s, NULL) != SQLITE_OK)
		return (-1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		state = sqlite3_column_int(s, 0);
		if (state >= 0 && state < STORE_NSTATES)
			counts[state] = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/*
 * The highest id of a row, or of one cleaned away: a clean keeps it in
 * meta before it deletes (rowids alone could fall).
 */
static int64_t
store_sqlite_max_id(struct store *st)
{
	return (store_sqlite_int(store_sqlite_of(st), "SELECT max(coalesce("
	    "(SELECT max(id) FROM jobs), 0), coalesce((SELECT value FROM meta "
	    "WHERE name = 'max_id'), 0))", 0));
}

static int64_t
store_sqlite_clean(struct store *st, int64_t cutoff, int state,
    int64_t limit, char **cause)
{
	struct store_sqlite	*sq = store_sqlite_of(st);
	sqlite3_stmt		*s;
	int			 rc;

	if (store_sqlite_begin(sq, cause) != 0)
		return (-1);
	/* ids are never given twice: keep the highest before it may go */
	if (store_sqlite_exec(sq, "INSERT OR REPLACE INTO meta VALUES "
	    "('max_id', max(coalesce((SELECT max(id) FROM jobs), 0), "
	    "coalesce((SELECT value FROM meta WHERE name = 'max_id'), 0)))",
	    cause) != 0)
		return (-1);
	if (sqlite3_prepare_v2(sq->db, "DELETE FROM jobs WHERE id IN (SELECT "
	    "id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?1 "
	    "AND state >= ?2 AND (?3 < 0 OR state = ?3) ORDER BY finished_at "
	    "LIMIT ?4)", -1, &s, NULL) != SQLITE_OK)
		return (store_sqlite_fail(sq, "cleaning", cause));
	sqlite3_bind_int64(s, 1, cutoff);
	sqlite3_bind_int(s, 2, STORE_FIRST_FINAL);
	sqlite3_bind_int(s, 3, state);
	sqlite3_bind_int64(s, 4, limit);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return (store_sqlite_fail(sq, "cleaning", cause));
	return (sqlite3_changes(sq->db));
}

static int
store_sqlite_put_queue(struct store *st, const char *name, int64_t limit,
    double rate, int paused, char **cause)
{
	struct store_sqlite	*sq = store_sqlite_of(st);
	sqlite3_stmt		*s;
	int			 rc;

	if (store_sqlite_begin(sq, cause) != 0)
		return (-1);
	if (sqlite3_prepare_v2(sq->db, "INSERT OR REPLACE INTO queues (name, "
	    "lim, rate, paused) VALUES (?1, ?2, ?3, ?4)", -1, &s,
	    NULL) != SQLITE_OK)
		return (store_sqlite_fail(sq, "writing a queue", cause));
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, limit);
	sqlite3_bind_double(s, 3, rate);
	sqlite3_bind_int(s, 4, paused);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return (store_sqlite_fail(sq, "writing a queue", cause));
	return (0);
}

static int
store_sqlite_each_queue(struct store *st, store_queue_cb *cb, void *arg)
{
	struct store_sqlite	*sq = store_sqlite_of(st);
	sqlite3_stmt		*s;

	if (sqlite3_prepare_v2(sq->db, "SELECT name, lim, rate, paused FROM "
	    "queues", -1, &s, NULL) != SQLITE_OK)
		return (-1);
	while (sqlite3_step(s) == SQLITE_ROW)
		cb((const char *)sqlite3_column_text(s, 0),
		    sqlite3_column_int64(s, 1), sqlite3_column_double(s, 2),
		    sqlite3_column_int(s, 3), arg);
	sqlite3_finalize(s);
	return (0);
}

static int
store_sqlite_group_failed(struct store *st, int64_t gid)
{
	char	 sql[160];
	int64_t	 n;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE group_id = "
	    "%lld AND state = %d", (long long)gid, JOB_FAILED);
	n = store_sqlite_int(store_sqlite_of(st), sql, -1);
	return (n < 0 ? -1 : n > 0);
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.scheme = NULL,
	.open = store_sqlite_open,
	.close = store_sqlite_close,
	.insert = store_sqlite_insert,
	.update = store_sqlite_update,
	.commit = store_sqlite_commit,
	.get = store_sqlite_get,
	.get_key = store_sqlite_get_key,
	.each_unfinished = store_sqlite_each_unfinished,
	.list = store_sqlite_list,
	.counts = store_sqlite_counts,
	.max_id = store_sqlite_max_id,
	.group_failed = store_sqlite_group_failed,
	.clean = store_sqlite_clean,
	.put_queue = store_sqlite_put_queue,
	.each_queue = store_sqlite_each_queue,
};
