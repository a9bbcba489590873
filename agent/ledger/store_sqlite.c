// SPDX-License-Identifier: GPL-2.0
/*
 * The SQLite store: schema, connection set-up, transactions, meta and tree
 * heads. WAL with synchronous=FULL, so a COMMIT returns after the WAL is
 * fsync'ed: ledger_commit() acknowledges only durable entries. Readers
 * (qkd-ledger) wait on a busy writer with busy_timeout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_int.h"
#include "store_sqlite_int.h"

#define BUSY_TIMEOUT_MS	10000

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS entries("
	" idx INTEGER PRIMARY KEY, type INTEGER NOT NULL,"
	" recv_ns INTEGER NOT NULL, gateway TEXT NOT NULL,"
	" device BLOB, epoch INTEGER, key_offset INTEGER, key_len INTEGER,"
	" ct_hash BLOB, device_seq INTEGER, device_time INTEGER,"
	" integrity BLOB, flags INTEGER, payload BLOB,"
	" kind INTEGER, detail TEXT,"
	" leaf BLOB NOT NULL, chain BLOB NOT NULL);"
	"CREATE UNIQUE INDEX IF NOT EXISTS entries_dedup"
	" ON entries(gateway, device, device_seq) WHERE type = 1;"
	"CREATE INDEX IF NOT EXISTS entries_device ON entries(device);"
	"CREATE TABLE IF NOT EXISTS key_use("
	" gateway TEXT NOT NULL, epoch INTEGER NOT NULL,"
	" off INTEGER NOT NULL, len INTEGER NOT NULL,"
	" ct_hash BLOB NOT NULL, idx INTEGER NOT NULL);"
	/* Covering, so a key check reads the index alone. */
	"CREATE INDEX IF NOT EXISTS key_use_range"
	" ON key_use(gateway, epoch, off, len, ct_hash);"
	"CREATE TABLE IF NOT EXISTS devices("
	" gateway TEXT NOT NULL, device BLOB NOT NULL,"
	" first_code BLOB, code BLOB, current BLOB,"
	" trusted INTEGER NOT NULL, registered_ns INTEGER NOT NULL,"
	" seen_ns INTEGER NOT NULL, PRIMARY KEY(gateway, device))"
	" WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS tree_heads("
	" size INTEGER PRIMARY KEY, ts_ns INTEGER NOT NULL,"
	" root BLOB NOT NULL, sig BLOB NOT NULL);";

static const char *const stmt_sql[SQ_NSTMT] = {
	[SQ_ENTRY_ADD] = "INSERT INTO entries(idx, type, recv_ns, gateway,"
		" device, epoch, key_offset, key_len, ct_hash, device_seq,"
		" device_time, integrity, flags, payload, kind, detail, leaf,"
		" chain) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,"
		"?14,?15,?16,?17,?18)",
	[SQ_RECORD_EXISTS] = "SELECT 1 FROM entries WHERE type = 1 AND"
		" gateway = ?1 AND device = ?2 AND device_seq = ?3",
	/* Nearest first; see sq_key_check() for where the walk stops. */
	[SQ_KEY_CHECK] = "SELECT off, len, ct_hash FROM key_use WHERE"
		" gateway = ?1 AND epoch = ?2 AND off < ?3"
		" ORDER BY off DESC LIMIT 64",
	[SQ_KEY_ADD] = "INSERT INTO key_use(gateway, epoch, off, len,"
		" ct_hash, idx) VALUES(?1,?2,?3,?4,?5,?6)",
	[SQ_DEV_GET] = "SELECT first_code, code, current, trusted,"
		" registered_ns, seen_ns FROM devices WHERE gateway = ?1 AND"
		" device = ?2",
	[SQ_DEV_PUT] = "INSERT OR REPLACE INTO devices(gateway, device,"
		" first_code, code, current, trusted, registered_ns, seen_ns)"
		" VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
	[SQ_META_GET] = "SELECT v FROM meta WHERE k = ?1",
	[SQ_META_PUT] = "INSERT OR REPLACE INTO meta(k, v) VALUES(?1, ?2)",
	[SQ_TIP] = "SELECT idx, chain FROM entries ORDER BY idx DESC LIMIT 1",
	[SQ_LEAVES] = "SELECT idx, leaf FROM entries WHERE idx >= ?1 AND"
		" idx < ?2 ORDER BY idx",
};

int sq_fail(struct sq *q, const char *what)
{
	snprintf(q->base.err, sizeof(q->base.err), "sqlite: %s: %s", what,
		 q->db ? sqlite3_errmsg(q->db) : "no database");
	return -EIO;
}

sqlite3_stmt *sq_stmt(struct sq *q, enum sq_stmt n)
{
	if (!q->st[n]) {
		if (sqlite3_prepare_v3(q->db, stmt_sql[n], -1,
				       SQLITE_PREPARE_PERSISTENT, &q->st[n],
				       NULL) != SQLITE_OK) {
			sq_fail(q, "prepare");
			return NULL;
		}
	}
	sqlite3_reset(q->st[n]);
	sqlite3_clear_bindings(q->st[n]);
	return q->st[n];
}

int sq_blob(sqlite3_stmt *st, int i, const void *p, size_t len)
{
	if (!len)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_blob(st, i, p, (int)len, SQLITE_STATIC);
}

void sq_get_blob(sqlite3_stmt *st, int col, void *out, size_t cap,
		 size_t *len)
{
	const void *p = sqlite3_column_blob(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);

	if (n > cap)
		n = cap;
	if (p && n)
		memcpy(out, p, n);
	if (len)
		*len = p ? n : 0;
}

static int exec(struct sq *q, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(q->base.err, sizeof(q->base.err), "sqlite: %s: %s",
			 sql, msg ? msg : sqlite3_errmsg(q->db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static void sq_close(struct store *s)
{
	struct sq *q = sq_of(s);

	if (!q)
		return;
	for (int i = 0; i < SQ_NSTMT; i++)
		sqlite3_finalize(q->st[i]);
	sqlite3_close(q->db);
	free(q);
}

static int sq_open(struct store **sp, const char *path, bool create,
		   char *err, size_t errlen)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
		    (create ? SQLITE_OPEN_CREATE : 0);
	struct sq *q = calloc(1, sizeof(*q));
	int rc;

	if (!q) {
		lg_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	q->base.ops = &store_sqlite_ops;
	rc = sqlite3_open_v2(path, &q->db, flags, NULL);
	if (rc != SQLITE_OK) {
		lg_err(err, errlen, "cannot open ledger %s: %s", path,
		       q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
		sq_close(&q->base);
		return rc == SQLITE_CANTOPEN ? -ENOENT : -EIO;
	}
	sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
	if (exec(q, "PRAGMA journal_mode=WAL") ||
	    exec(q, "PRAGMA synchronous=FULL") ||
	    (create && exec(q, schema))) {
		lg_err(err, errlen, "ledger %s: %s", path, q->base.err);
		sq_close(&q->base);
		return -EIO;
	}
	*sp = &q->base;
	return 0;
}

static int sq_begin(struct store *s)
{
	return exec(sq_of(s), "BEGIN IMMEDIATE");
}

static int sq_commit(struct store *s)
{
	return exec(sq_of(s), "COMMIT");
}

static void sq_rollback(struct store *s)
{
	struct sq *q = sq_of(s);

	if (!sqlite3_get_autocommit(q->db))
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_data_version(struct store *s, int64_t *v)
{
	struct sq *q = sq_of(s);
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(q->db, "PRAGMA data_version", -1, &st, NULL))
		return sq_fail(q, "data_version");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : sq_fail(q, "data_version");
}

static int sq_meta_get(struct store *s, const char *key, uint8_t *buf,
		       size_t cap, size_t *len)
{
	struct sq *q = sq_of(s);
	sqlite3_stmt *st = sq_stmt(q, SQ_META_GET);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 1;
	if (rc != SQLITE_ROW)
		return sq_fail(q, "meta");
	sq_get_blob(st, 0, buf, cap, len);
	sqlite3_reset(st);
	return 0;
}

static int sq_meta_put(struct store *s, const char *key, const uint8_t *buf,
		       size_t len)
{
	struct sq *q = sq_of(s);
	sqlite3_stmt *st = sq_stmt(q, SQ_META_PUT);

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, buf, (int)len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sq_fail(q, "meta insert");
	return 0;
}

static int sq_tip(struct store *s, uint64_t *size,
		  uint8_t chain[LEDGER_HASH_LEN])
{
	struct sq *q = sq_of(s);
	sqlite3_stmt *st = sq_stmt(q, SQ_TIP);
	int rc;

	if (!st)
		return -EIO;
	memset(chain, 0, LEDGER_HASH_LEN);
	*size = 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*size = (uint64_t)sqlite3_column_int64(st, 0) + 1;
		sq_get_blob(st, 1, chain, LEDGER_HASH_LEN, NULL);
	} else if (rc != SQLITE_DONE) {
		return sq_fail(q, "tip");
	}
	sqlite3_reset(st);
	return 0;
}

static void sth_row(sqlite3_stmt *st, struct ledger_tree_head *th)
{
	memset(th, 0, sizeof(*th));
	th->size = (uint64_t)sqlite3_column_int64(st, 0);
	th->timestamp_ns = (uint64_t)sqlite3_column_int64(st, 1);
	sq_get_blob(st, 2, th->root, LEDGER_HASH_LEN, NULL);
	sq_get_blob(st, 3, th->sig, LEDGER_SIG_LEN, NULL);
}

static int sq_sth_add(struct store *s, const struct ledger_tree_head *th)
{
	struct sq *q = sq_of(s);
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(q->db, "INSERT OR REPLACE INTO tree_heads"
			       "(size, ts_ns, root, sig) VALUES(?1,?2,?3,?4)",
			       -1, &st, NULL))
		return sq_fail(q, "tree head");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)th->size);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)th->timestamp_ns);
	sqlite3_bind_blob(st, 3, th->root, LEDGER_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, th->sig, LEDGER_SIG_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(q, "tree head insert");
}

static int sth_query(struct sq *q, const char *sql,
		     int (*cb)(const struct ledger_tree_head *, void *),
		     void *ctx)
{
	struct ledger_tree_head th;
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL))
		return sq_fail(q, "tree heads");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sth_row(st, &th);
		ret = cb(&th, ctx);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = sq_fail(q, "tree heads");
	sqlite3_finalize(st);
	return ret;
}

static int copy_head(const struct ledger_tree_head *th, void *ctx)
{
	*(struct ledger_tree_head *)ctx = *th;
	return 2;
}

static int sq_sth_latest(struct store *s, struct ledger_tree_head *th)
{
	int rc = sth_query(sq_of(s), "SELECT size, ts_ns, root, sig FROM"
			   " tree_heads ORDER BY size DESC LIMIT 1",
			   copy_head, th);

	return rc == 2 ? 0 : rc == 0 ? 1 : rc;
}

static int sq_sth_all(struct store *s,
		      int (*cb)(const struct ledger_tree_head *, void *),
		      void *ctx)
{
	return sth_query(sq_of(s), "SELECT size, ts_ns, root, sig FROM"
			 " tree_heads ORDER BY size", cb, ctx);
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.data_version = sq_data_version,
	.meta_get = sq_meta_get,
	.meta_put = sq_meta_put,
	.tip = sq_tip,
	.entry_add = sq_entry_add,
	.record_exists = sq_record_exists,
	.entries = sq_entries,
	.leaves = sq_leaves,
	.key_check = sq_key_check,
	.key_add = sq_key_add,
	.device_get = sq_device_get,
	.device_put = sq_device_put,
	.devices = sq_devices,
	.sth_add = sq_sth_add,
	.sth_latest = sq_sth_latest,
	.sth_all = sq_sth_all,
};
