/*
 * The job store through its interface (store.h): rows written and read
 * back, updates, commits, keys, listing, cleaning, counts, and the
 * refusals at open (a newer schema, a damaged file). The migrations of
 * the SQLite backend are tested on files written here by hand, and what
 * only SQL shows (the schema version, an index) is read past the store
 * once it is closed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "aiojobsd.h"
#include "store.h"

static char	 dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/ajstoreXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char	 cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct store *
open_store(void)
{
	struct store	*st;
	char		*cause = NULL;

	st = store_open(dir, 1, &cause);
	ck_assert_msg(st != NULL, "%s", cause != NULL ? cause : "?");
	return (st);
}

/* Write jobs.db by hand, as another version of aiojobsd left it. */
static void
write_db(const char *sql)
{
	sqlite3	*db;
	char	 path[128];

	snprintf(path, sizeof path, "%s/jobs.db", dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* The tables of a version-3 store, the jobs table left open to add to. */
#define V3_JOBS \
	"CREATE TABLE jobs (id INTEGER PRIMARY KEY, key TEXT," \
	" spec TEXT NOT NULL, kind TEXT NOT NULL, name TEXT," \
	" queue TEXT NOT NULL, priority INTEGER NOT NULL," \
	" state INTEGER NOT NULL, attempts INTEGER NOT NULL," \
	" submitted_at INTEGER NOT NULL, started_at INTEGER," \
	" finished_at INTEGER, not_before INTEGER, args TEXT NOT NULL," \
	" result TEXT, error_code TEXT, error_message TEXT," \
	" group_id INTEGER"
#define V3_REST \
	"CREATE TABLE queues (name TEXT PRIMARY KEY, lim INTEGER NOT NULL," \
	" rate REAL NOT NULL, paused INTEGER NOT NULL);" \
	"CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"

/* The one integer a query of jobs.db gives, read past the store. */
static int64_t
db_int(const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	char		 path[128];
	int64_t		 v;

	snprintf(path, sizeof path, "%s/jobs.db", dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return (v);
}

static void
row_init(struct store_row *r, int64_t id, int state, const char *key)
{
	memset(r, 0, sizeof *r);
	r->id = id;
	r->key = (char *)key;
	r->spec = "{\"kind\":\"sleep\"}";
	r->kind = "sleep";
	r->queue = "default";
	r->state = state;
	r->submitted_at = 1000 + id;
	r->started_at = r->finished_at = r->not_before = -1;
	r->args = "{\"ms\":1}";
}

START_TEST(test_put_get_commit)
{
	struct store		*st = open_store();
	struct store_row	 r, got;
	char			*cause = NULL;

	row_init(&r, 7, JOB_QUEUED, "k7");
	ck_assert_int_eq(store_insert(st, &r, &cause), 0);
	ck_assert_int_eq(store_get(st, 7, &got), 1);	/* same transaction */
	ck_assert_str_eq(got.key, "k7");
	ck_assert_int_eq(got.started_at, -1);
	store_row_clear(&got);
	ck_assert_int_eq(store_commit(st, &cause), 0);
	store_close(st);
	st = open_store();				/* after a reopen */
	ck_assert_int_eq(store_get(st, 7, &got), 1);
	ck_assert_str_eq(got.args, "{\"ms\":1}");
	ck_assert_int_eq(got.submitted_at, 1007);
	store_row_clear(&got);
	ck_assert_int_eq(store_get(st, 8, &got), 0);
	ck_assert_int_eq(store_get_key(st, 0, "k7", &got), 1);
	ck_assert_int_eq(got.id, 7);
	store_row_clear(&got);
	store_close(st);
}
END_TEST

/* A task group failed when a member did, whichever state the rest are in. */
START_TEST(test_group_failed)
{
	struct store		*st = open_store();
	struct store_row	 r;
	char			*cause = NULL;
	int64_t			 i;
	static const int	 states[] = { JOB_SUCCEEDED, JOB_CANCELLED,
	    JOB_FAILED, JOB_SUCCEEDED, JOB_RUNNING };

	/* group 1: ids 1-3 (one failed); group 4: ids 4-5 (none failed) */
	for (i = 1; i <= 5; i++) {
		row_init(&r, i, states[i - 1], NULL);
		r.group_id = i <= 3 ? 1 : 4;
		ck_assert_int_eq(store_insert(st, &r, &cause), 0);
	}
	row_init(&r, 6, JOB_FAILED, NULL);		/* in no group */
	ck_assert_int_eq(store_insert(st, &r, &cause), 0);
	ck_assert_int_eq(store_commit(st, &cause), 0);
	ck_assert_int_eq(store_group_failed(st, 1), 1);
	ck_assert_int_eq(store_group_failed(st, 4), 0);
	ck_assert_int_eq(store_group_failed(st, 6), 0);
	ck_assert_int_eq(store_group_failed(st, 99), 0);
	store_close(st);
}
END_TEST

START_TEST(test_update_keeps_spec)
{
	struct store		*st = open_store();
	struct store_row	 r, got;
	char			*cause = NULL;

	row_init(&r, 1, JOB_QUEUED, NULL);
	store_insert(st, &r, &cause);
	store_commit(st, &cause);
	r.spec = r.args = NULL;
	r.state = JOB_FAILED;
	r.attempts = 2;
	r.finished_at = 5000;
	r.error_code = "timeout";
	r.error_message = "timed out";
	ck_assert_int_eq(store_update(st, &r, &cause), 0);
	ck_assert_int_eq(store_commit(st, &cause), 0);
	ck_assert_int_eq(store_get(st, 1, &got), 1);
	ck_assert_int_eq(got.state, JOB_FAILED);
	ck_assert_int_eq(got.attempts, 2);
	ck_assert_str_eq(got.spec, "{\"kind\":\"sleep\"}");
	ck_assert_str_eq(got.error_code, "timeout");
	store_row_clear(&got);
	store_close(st);
}
END_TEST

START_TEST(test_uncommitted_is_lost)
{
	struct store		*st = open_store();
	struct store_row	 r, got;
	char			*cause = NULL;

	row_init(&r, 3, JOB_QUEUED, NULL);
	store_insert(st, &r, &cause);
	store_close(st);				/* no commit */
	st = open_store();
	ck_assert_int_eq(store_get(st, 3, &got), 0);
	store_close(st);
}
END_TEST

static int
count_cb(struct store_row *r, void *arg)
{
	(*(int *)arg)++;
	return (0);
}

/* How many jobs the store holds, as a listing of all finds them. */
static int
count_jobs(struct store *st)
{
	int	 n = 0;

	ck_assert_int_eq(store_list(st, -1, NULL, -1, 0, 0, count_cb, &n), 0);
	return (n);
}

static int
newest_cb(struct store_row *r, void *arg)
{
	*(int64_t *)arg = r->id;
	return (1);
}

/* The highest id of a stored job (0 for none): a listing's first. */
static int64_t
newest_id(struct store *st)
{
	int64_t	 id = 0;

	ck_assert_int_eq(store_list(st, -1, NULL, -1, 0, 1, newest_cb, &id),
	    0);
	return (id);
}

START_TEST(test_list_counts_clean)
{
	struct store		*st = open_store();
	struct store_row	 r;
	char			*cause = NULL;
	int64_t			 counts[JOB_NSTATES] = { 0 };
	int			 i, n = 0;

	for (i = 1; i <= 10; i++) {
		row_init(&r, i, i <= 4 ? JOB_QUEUED : i <= 8 ? JOB_SUCCEEDED :
		    JOB_FAILED, NULL);
		if (i > 4)
			r.finished_at = 100 * i;
		store_insert(st, &r, &cause);
	}
	store_commit(st, &cause);
	store_counts(st, counts);
	ck_assert_int_eq(counts[JOB_QUEUED], 4);
	ck_assert_int_eq(counts[JOB_SUCCEEDED], 4);
	ck_assert_int_eq(counts[JOB_FAILED], 2);
	store_list(st, JOB_SUCCEEDED, NULL, -1, 0, 0, count_cb, &n);
	ck_assert_int_eq(n, 4);
	n = 0;
	store_list(st, -1, "default", -1, 6, 3, count_cb, &n);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(newest_id(st), 10);
	/* finished before 750: ids 5, 6, 7 */
	ck_assert_int_eq(store_clean(st, 750, -1, 100, &cause), 3);
	ck_assert_int_eq(store_clean(st, 100000, JOB_FAILED, 100, &cause), 2);
	store_commit(st, &cause);
	memset(counts, 0, sizeof counts);
	store_counts(st, counts);
	ck_assert_int_eq(counts[JOB_QUEUED], 4);
	ck_assert_int_eq(counts[JOB_SUCCEEDED], 1);
	ck_assert_int_eq(counts[JOB_FAILED], 0);
	store_close(st);
}
END_TEST

/* Cleaning the newest jobs does not lower the highest id. */
START_TEST(test_max_id_survives_clean)
{
	struct store		*st = open_store();
	struct store_row	 r;
	char			*cause = NULL;
	int			 i;

	ck_assert_int_eq(store_max_id(st), 0);
	for (i = 1; i <= 5; i++) {
		row_init(&r, i, i < 3 ? JOB_QUEUED : JOB_SUCCEEDED, NULL);
		if (i >= 3)
			r.finished_at = 100;
		store_insert(st, &r, &cause);
	}
	store_commit(st, &cause);
	ck_assert_int_eq(store_max_id(st), 5);
	ck_assert_int_eq(store_clean(st, 1000, -1, 100, &cause), 3);
	store_commit(st, &cause);
	store_close(st);
	st = open_store();
	ck_assert_int_eq(newest_id(st), 2);
	ck_assert_int_eq(store_max_id(st), 5);
	store_close(st);
}
END_TEST

/*
 * A store written by a version-1 aiojobsd (AUTOINCREMENT ids, a UNIQUE
 * key column) opens as version 3 with every row, its keys, and the
 * highest id it had ever given, cleaned rows included.
 */
START_TEST(test_v1_migrated)
{
	static const char *v1 =
	    "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " key TEXT UNIQUE, spec TEXT NOT NULL, kind TEXT NOT NULL,"
	    " name TEXT, queue TEXT NOT NULL, priority INTEGER NOT NULL,"
	    " state INTEGER NOT NULL, attempts INTEGER NOT NULL,"
	    " submitted_at INTEGER NOT NULL, started_at INTEGER,"
	    " finished_at INTEGER, not_before INTEGER, args TEXT NOT NULL,"
	    " result TEXT, error_code TEXT, error_message TEXT,"
	    " group_id INTEGER);"
	    "CREATE INDEX jobs_state ON jobs (state);"
	    "CREATE INDEX jobs_finished ON jobs (finished_at)"
	    " WHERE finished_at IS NOT NULL;"
	    "CREATE TABLE queues (name TEXT PRIMARY KEY, lim INTEGER NOT NULL,"
	    " rate REAL NOT NULL, paused INTEGER NOT NULL);"
	    "INSERT INTO jobs VALUES (1, 'k1', '{\"kind\":\"sleep\"}', 'sleep',"
	    " 'one', 'default', 3, 0, 0, 1001, NULL, NULL, 5000, '{\"ms\":1}',"
	    " NULL, NULL, NULL, NULL);"
	    "INSERT INTO jobs VALUES (7, NULL, '{\"kind\":\"sleep\"}', 'sleep',"
	    " NULL, 'q', 0, 2, 1, 1007, 1010, 1020, NULL, '{\"ms\":1}',"
	    " '{\"slept_ms\":1}', NULL, NULL, NULL);"
	    "INSERT INTO jobs VALUES (8, NULL, '{}', 'cpu', NULL, 'q', 0, 2, 1,"
	    " 1008, 1010, 1020, NULL, '{ \"a\" : [1, 2] }', 'not json', NULL,"
	    " NULL, NULL);"
	    "INSERT INTO jobs VALUES (9, NULL, '{\"kind\":\"sleep\"}', 'sleep',"
	    " NULL, 'q', 0, 2, 1, 1009, 1010, 1020, NULL, '{\"ms\":1}',"
	    " NULL, NULL, NULL, NULL);"
	    "DELETE FROM jobs WHERE id = 9;"	/* cleaned: 9 stays given */
	    "INSERT INTO queues VALUES ('q', 2, 0.5, 1);"
	    "PRAGMA user_version = 1;";
	struct store		*st;
	struct store_row	 r;
	int64_t			 counts[JOB_NSTATES] = { 0 };

	write_db(v1);
	st = open_store();
	ck_assert_int_eq(store_max_id(st), 9);
	ck_assert_int_eq(store_get_key(st, 0, "k1", &r), 1);
	ck_assert_int_eq(r.id, 1);
	ck_assert_str_eq(r.name, "one");
	ck_assert_int_eq(r.priority, 3);
	ck_assert_int_eq(r.not_before, 5000);
	store_row_clear(&r);
	ck_assert_int_eq(store_get(st, 7, &r), 1);
	ck_assert_int_eq(r.state, JOB_SUCCEEDED);
	ck_assert_str_eq(r.result, "{\"slept_ms\":1}");
	ck_assert_int_eq(r.finished_at, 1020);
	store_row_clear(&r);
	/* old plugin output: normalised, or null when it is not JSON */
	ck_assert_int_eq(store_get(st, 8, &r), 1);
	ck_assert_str_eq(r.args, "{\"a\":[1,2]}");
	ck_assert_ptr_null(r.result);
	store_row_clear(&r);
	store_counts(st, counts);
	ck_assert_int_eq(counts[JOB_QUEUED], 1);
	ck_assert_int_eq(counts[JOB_SUCCEEDED], 2);
	/* new keys go into the new index */
	row_init(&r, 10, JOB_QUEUED, "k2");
	ck_assert_int_eq(store_insert(st, &r, NULL), 0);
	ck_assert_int_eq(store_commit(st, NULL), 0);
	ck_assert_int_eq(store_get_key(st, 0, "k2", &r), 1);
	ck_assert_int_eq(r.id, 10);
	store_row_clear(&r);
	store_close(st);
	ck_assert_int_eq(db_int("PRAGMA user_version"), 6);
}
END_TEST

/* The first version-1 stores had no AUTOINCREMENT, so no sqlite_sequence. */
START_TEST(test_v1_without_sequence_migrated)
{
	struct store	*st;

	write_db(
	    "CREATE TABLE jobs (id INTEGER PRIMARY KEY, key TEXT UNIQUE,"
	    " spec TEXT NOT NULL, kind TEXT NOT NULL, name TEXT,"
	    " queue TEXT NOT NULL, priority INTEGER NOT NULL,"
	    " state INTEGER NOT NULL, attempts INTEGER NOT NULL,"
	    " submitted_at INTEGER NOT NULL, started_at INTEGER,"
	    " finished_at INTEGER, not_before INTEGER, args TEXT NOT NULL,"
	    " result TEXT, error_code TEXT, error_message TEXT,"
	    " group_id INTEGER);"
	    "CREATE INDEX jobs_state ON jobs (state);"
	    "CREATE TABLE queues (name TEXT PRIMARY KEY, lim INTEGER NOT NULL,"
	    " rate REAL NOT NULL, paused INTEGER NOT NULL);"
	    "INSERT INTO jobs VALUES (4, NULL, '{}', 'sleep', NULL, 'default',"
	    " 0, 0, 0, 1, NULL, NULL, NULL, '{}', NULL, NULL, NULL, NULL);"
	    "PRAGMA user_version = 1;");
	st = open_store();
	ck_assert_int_eq(store_max_id(st), 4);
	ck_assert_int_eq(count_jobs(st), 1);
	store_close(st);
	ck_assert_int_eq(db_int("PRAGMA user_version"), 6);
}
END_TEST

/* The ids of the live jobs, as recovery reads them. */
static int
live_cb(struct store_row *r, void *arg)
{
	int64_t	*ids = arg;

	ids[++ids[0]] = r->id;
	return (ids[0] == 7);
}

/*
 * A version-2 store (with the index of live jobs) opens as version 4,
 * without it: its rows, its highest id, and its live jobs in id order.
 */
START_TEST(test_v2_migrated)
{
	struct store	*st;
	int64_t		 ids[8] = { 0 };

	write_db(
	    V3_JOBS ");" V3_REST
	    "CREATE UNIQUE INDEX jobs_key ON jobs (key) WHERE key IS NOT NULL;"
	    "CREATE INDEX jobs_live ON jobs (id) WHERE state < 2;"
	    "CREATE INDEX jobs_finished ON jobs (finished_at)"
	    " WHERE finished_at IS NOT NULL;"
	    "INSERT INTO jobs VALUES (5, NULL, '{}', 'sleep', NULL, 'default',"
	    " 0, 1, 1, 1, 2, NULL, NULL, '{}', NULL, NULL, NULL, NULL);"
	    "INSERT INTO jobs VALUES (6, NULL, '{}', 'sleep', NULL, 'default',"
	    " 0, 2, 1, 1, 2, 3, NULL, '{}', '{}', NULL, NULL, NULL);"
	    "INSERT INTO jobs VALUES (3, 'k', '{}', 'sleep', NULL, 'default',"
	    " 0, 0, 0, 1, NULL, NULL, NULL, '{}', NULL, NULL, NULL, NULL);"
	    "INSERT INTO meta VALUES ('max_id', 12);"
	    "PRAGMA user_version = 2;");
	st = open_store();
	ck_assert_int_eq(store_max_id(st), 12);
	ck_assert_int_eq(store_each_unfinished(st, live_cb, ids), 0);
	ck_assert_int_eq(ids[0], 2);
	ck_assert_int_eq(ids[1], 3);
	ck_assert_int_eq(ids[2], 5);
	ck_assert_int_eq(count_jobs(st), 3);
	store_close(st);
	ck_assert_int_eq(db_int("PRAGMA user_version"), 6);
	ck_assert_int_eq(db_int("SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'jobs_live'"), 0);
}
END_TEST

/*
 * A version-3 store opens as version 5: a running job's row comes back
 * without a tree record, and one written later is read back.
 */
START_TEST(test_v3_migrated_tree_kept)
{
	struct store		*st;
	struct store_row	 r;
	char			*cause = NULL;

	write_db(
	    "CREATE TABLE jobs (id INTEGER PRIMARY KEY, key TEXT,"
	    " spec TEXT NOT NULL, kind TEXT NOT NULL, name TEXT,"
	    " queue TEXT NOT NULL, priority INTEGER NOT NULL,"
	    " state INTEGER NOT NULL, attempts INTEGER NOT NULL,"
	    " submitted_at INTEGER NOT NULL, started_at INTEGER,"
	    " finished_at INTEGER, not_before INTEGER, args TEXT NOT NULL,"
	    " result TEXT, error_code TEXT, error_message TEXT,"
	    " group_id INTEGER);"
	    "CREATE TABLE queues (name TEXT PRIMARY KEY, lim INTEGER NOT NULL,"
	    " rate REAL NOT NULL, paused INTEGER NOT NULL);"
	    "CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	    "INSERT INTO jobs VALUES (5, NULL, '{}', 'exec', NULL, 'default',"
	    " 0, 1, 1, 1, 2, NULL, NULL, '{}', NULL, NULL, NULL, NULL);"
	    "PRAGMA user_version = 3;");
	st = open_store();
	ck_assert_int_eq(store_get(st, 5, &r), 1);
	ck_assert_int_eq(r.state, JOB_RUNNING);
	ck_assert_ptr_null(r.tree);
	store_row_clear(&r);
	row_init(&r, 5, JOB_RUNNING, NULL);
	r.tree = "pgroup 42 1234";
	ck_assert_int_eq(store_update(st, &r, &cause), 0);
	row_init(&r, 6, JOB_RUNNING, NULL);
	r.tree = "cgroup /sys/fs/cgroup/x/job-6-1";
	ck_assert_int_eq(store_insert(st, &r, &cause), 0);
	ck_assert_int_eq(store_commit(st, &cause), 0);
	store_close(st);
	st = open_store();
	ck_assert_int_eq(store_get(st, 5, &r), 1);
	ck_assert_str_eq(r.tree, "pgroup 42 1234");
	store_row_clear(&r);
	ck_assert_int_eq(store_get(st, 6, &r), 1);
	ck_assert_str_eq(r.tree, "cgroup /sys/fs/cgroup/x/job-6-1");
	store_row_clear(&r);
	store_close(st);
	ck_assert_int_eq(db_int("PRAGMA user_version"), 6);
}
END_TEST

/*
 * A version-4 store opens as version 5: its jobs become the daemon's
 * user's, and a key is its owner's: another user may use it too.
 */
START_TEST(test_v4_migrated_owner)
{
	struct store		*st;
	struct store_row	 r;
	char			*cause = NULL;

	write_db(
	    V3_JOBS ", tree TEXT);"
	    "CREATE UNIQUE INDEX jobs_key ON jobs (key) WHERE key IS NOT NULL;"
	    V3_REST
	    "INSERT INTO jobs VALUES (5, 'k', '{}', 'exec', NULL, 'default',"
	    " 0, 0, 0, 1, NULL, NULL, NULL, '{}', NULL, NULL, NULL, NULL,"
	    " NULL);"
	    "PRAGMA user_version = 4;");
	st = open_store();
	ck_assert_int_eq(store_get(st, 5, &r), 1);
	ck_assert_int_eq(r.owner, geteuid());
	store_row_clear(&r);
	ck_assert_int_eq(store_get_key(st, geteuid(), "k", &r), 1);
	ck_assert_int_eq(r.id, 5);
	store_row_clear(&r);
	ck_assert_int_eq(store_get_key(st, geteuid() + 1, "k", &r), 0);
	row_init(&r, 6, JOB_QUEUED, "k");
	r.owner = geteuid() + 1;
	ck_assert_int_eq(store_insert(st, &r, &cause), 0);
	ck_assert_int_eq(store_commit(st, &cause), 0);
	ck_assert_int_eq(store_get_key(st, geteuid() + 1, "k", &r), 1);
	ck_assert_int_eq(r.id, 6);
	ck_assert_int_eq(r.owner, geteuid() + 1);
	store_row_clear(&r);
	store_close(st);
	ck_assert_int_eq(db_int("PRAGMA user_version"), 6);
}
END_TEST

/* A version-1 store that is not what version 1 wrote stops the migration. */
START_TEST(test_bad_v1_refused)
{
	struct store	*st;
	char		*cause = NULL;

	write_db("CREATE TABLE jobs (id INTEGER PRIMARY KEY);"
	    "INSERT INTO jobs VALUES (3);"
	    "PRAGMA user_version = 1;");
	st = store_open(dir, 1, &cause);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(cause, "migrating to schema version 2") != NULL &&
	    strstr(cause, "move it away") != NULL &&
	    strstr(cause, "CREATE") == NULL, "%s", cause);
	free(cause);
	/* nothing half done: the store is still version 1, its row there */
	ck_assert_int_eq(db_int("PRAGMA user_version"), 1);
	ck_assert_int_eq(db_int("SELECT id FROM jobs"), 3);
	ck_assert_int_eq(db_int("SELECT count(*) FROM sqlite_master WHERE "
	    "name IN ('jobs_v2', 'meta')"), 0);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	struct store	*st;
	char		*cause = NULL;

	write_db("PRAGMA user_version = 99");
	st = store_open(dir, 1, &cause);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(cause, "newer"));
	free(cause);
}
END_TEST

START_TEST(test_damaged_refused)
{
	struct store	*st;
	FILE		*f;
	char		 path[128], *cause = NULL;
	int		 i;

	snprintf(path, sizeof path, "%s/jobs.db", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	for (i = 0; i < 1000; i++)
		fputs("this is not a database ", f);
	fclose(f);
	st = store_open(dir, 1, &cause);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(cause, "jobs.db"));
	ck_assert_ptr_nonnull(strstr(cause, "move it away"));
	free(cause);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite	*suite = suite_create("store");
	TCase	*tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_put_get_commit);
	tcase_add_test(tc, test_update_keeps_spec);
	tcase_add_test(tc, test_group_failed);
	tcase_add_test(tc, test_uncommitted_is_lost);
	tcase_add_test(tc, test_list_counts_clean);
	tcase_add_test(tc, test_max_id_survives_clean);
	tcase_add_test(tc, test_v1_migrated);
	tcase_add_test(tc, test_v1_without_sequence_migrated);
	tcase_add_test(tc, test_v2_migrated);
	tcase_add_test(tc, test_v3_migrated_tree_kept);
	tcase_add_test(tc, test_v4_migrated_owner);
	tcase_add_test(tc, test_bad_v1_refused);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_damaged_refused);
	suite_add_tcase(suite, tc);
	return (suite);
}

int
main(void)
{
	SRunner	*sr = srunner_create(store_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
