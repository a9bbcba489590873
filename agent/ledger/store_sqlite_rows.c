// SPDX-License-Identifier: GPL-2.0
/*
 * The SQLite store's rows: entries, key use and devices. 64-bit unsigned
 * values are stored as SQLite's signed integers bit for bit; only the key
 * ranges are compared as numbers, and the ledger keeps those below 2^63.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ledger_int.h"
#include "store_sqlite_int.h"

#define I64(v) ((sqlite3_int64)(v))

int sq_entry_add(struct store *s, const struct ledger_entry *e)
{
	struct sq *q = sq_of(s);
	sqlite3_stmt *st = sq_stmt(q, SQ_ENTRY_ADD);
	bool rec = e->type == LEDGER_T_RECORD;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, I64(e->index));
	sqlite3_bind_int(st, 2, e->type);
	sqlite3_bind_int64(st, 3, I64(e->recv_ns));
	sqlite3_bind_text(st, 4, e->gateway, -1, SQLITE_STATIC);
	sq_blob(st, 5, e->device_id, e->device_id_len);
	if (rec) {
		sqlite3_bind_int64(st, 6, I64(e->epoch));
		sqlite3_bind_int64(st, 7, I64(e->key_offset));
		sqlite3_bind_int64(st, 8, e->key_len);
		sq_blob(st, 9, e->ct_hash, LEDGER_HASH_LEN);
		sqlite3_bind_int64(st, 10, I64(e->device_seq));
		sqlite3_bind_int64(st, 11, I64(e->device_time));
		sq_blob(st, 12, e->integrity, LEDGER_INTEGRITY_LEN);
		sqlite3_bind_int64(st, 13, e->flags);
		/* A zero-length payload is stored as an empty blob, not NULL. */
		sqlite3_bind_blob(st, 14, e->payload_len ? (const void *)e->payload : "",
				  (int)e->payload_len, SQLITE_STATIC);
	} else {
		sqlite3_bind_int64(st, 15, e->kind);
		sqlite3_bind_text(st, 16, e->detail, -1, SQLITE_STATIC);
	}
	sqlite3_bind_blob(st, 17, e->leaf, LEDGER_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 18, e->chain, LEDGER_HASH_LEN, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sq_fail(q, "entry insert");
	return 0;
}

int sq_record_exists(struct store *s, const char *gw, const uint8_t *dev,
		     uint8_t dev_len, uint64_t seq)
{
	struct sq *q = sq_of(s);
	sqlite3_stmt *st = sq_stmt(q, SQ_RECORD_EXISTS);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, gw, -1, SQLITE_STATIC);
	sq_blob(st, 2, dev, dev_len);
	sqlite3_bind_int64(st, 3, I64(seq));
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sq_fail(q, "dedup query");
}

static void entry_row(sqlite3_stmt *st, struct ledger_entry *e)
{
	size_t n;

	memset(e, 0, sizeof(*e));
	e->index = (uint64_t)sqlite3_column_int64(st, 0);
	e->type = (uint8_t)sqlite3_column_int(st, 1);
	e->recv_ns = (uint64_t)sqlite3_column_int64(st, 2);
	snprintf(e->gateway, sizeof(e->gateway), "%s",
		 (const char *)sqlite3_column_text(st, 3) ?: "");
	sq_get_blob(st, 4, e->device_id, LEDGER_DEVICE_ID_MAX, &n);
	e->device_id_len = (uint8_t)n;
	e->epoch = (uint64_t)sqlite3_column_int64(st, 5);
	e->key_offset = (uint64_t)sqlite3_column_int64(st, 6);
	e->key_len = (uint32_t)sqlite3_column_int64(st, 7);
	sq_get_blob(st, 8, e->ct_hash, LEDGER_HASH_LEN, NULL);
	e->device_seq = (uint64_t)sqlite3_column_int64(st, 9);
	e->device_time = (uint64_t)sqlite3_column_int64(st, 10);
	sq_get_blob(st, 11, e->integrity, LEDGER_INTEGRITY_LEN, NULL);
	e->flags = (uint32_t)sqlite3_column_int64(st, 12);
	e->payload = sqlite3_column_blob(st, 13);
	e->payload_len = (uint32_t)sqlite3_column_bytes(st, 13);
	e->kind = (uint32_t)sqlite3_column_int64(st, 14);
	snprintf(e->detail, sizeof(e->detail), "%s",
		 (const char *)sqlite3_column_text(st, 15) ?: "");
	sq_get_blob(st, 16, e->leaf, LEDGER_HASH_LEN, NULL);
	sq_get_blob(st, 17, e->chain, LEDGER_HASH_LEN, NULL);
}

int sq_entries(struct store *s, const struct ledger_filter *f,
	       ledger_entry_cb cb, void *ctx)
{
	struct sq *q = sq_of(s);
	struct ledger_entry e;
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(q->db,
		"SELECT idx, type, recv_ns, gateway, device, epoch,"
		" key_offset, key_len, ct_hash, device_seq, device_time,"
		" integrity, flags, payload, kind, detail, leaf, chain"
		" FROM entries WHERE idx >= ?1"
		" AND (?2 IS NULL OR gateway = ?2)"
		" AND (?3 IS NULL OR device = ?3)"
		" AND (?4 = 0 OR type = 2)"
		" ORDER BY idx LIMIT ?5", -1, &st, NULL))
		return sq_fail(q, "entries query");
	sqlite3_bind_int64(st, 1, I64(f->from));
	if (f->gateway)
		sqlite3_bind_text(st, 2, f->gateway, -1, SQLITE_STATIC);
	if (f->device_id)
		sq_blob(st, 3, f->device_id, f->device_id_len);
	sqlite3_bind_int(st, 4, f->events_only);
	sqlite3_bind_int64(st, 5, f->count ? I64(f->count) : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		entry_row(st, &e);
		ret = cb(&e, ctx);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = sq_fail(q, "entries");
	sqlite3_finalize(st);
	return ret;
}

int sq_leaves(struct store *s, uint64_t from, uint64_t n,
	      uint8_t (*out)[LEDGER_HASH_LEN])
{
	struct sq *q = sq_of(s);
	sqlite3_stmt *st = sq_stmt(q, SQ_LEAVES);
	uint64_t i = 0;
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, I64(from));
	sqlite3_bind_int64(st, 2, I64(from + n));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((uint64_t)sqlite3_column_int64(st, 0) != from + i ||
		    sqlite3_column_bytes(st, 1) != LEDGER_HASH_LEN)
			break;
		sq_get_blob(st, 1, out[i++], LEDGER_HASH_LEN, NULL);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(q, "leaves");
	if (i != n) {
		snprintf(s->err, sizeof(s->err),
			 "entry %llu is missing or damaged",
			 (unsigned long long)(from + i));
		return -EBADMSG;
	}
	return 0;
}

int sq_key_check(struct store *s, const char *gw, uint64_t epoch,
		 uint64_t off, uint32_t len, const uint8_t ct[LEDGER_HASH_LEN])
{
	struct sq *q = sq_of(s);
	sqlite3_stmt *st = sq_stmt(q, SQ_KEY_CHECK);
	int rc, ret = 0;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, gw, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, I64(epoch));
	sqlite3_bind_int64(st, 3, I64(off + len));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t o = (uint64_t)sqlite3_column_int64(st, 0);
		uint64_t l = (uint64_t)sqlite3_column_int64(st, 1);

		/*
		 * Used ranges do not overlap (each was checked before its
		 * key was fetched), so the first one ending at or before
		 * our start means none further down can reach us.
		 */
		if (o + l <= off)
			break;
		/* Overlap: another ciphertext on the same key is reuse. */
		if (sqlite3_column_bytes(st, 2) != LEDGER_HASH_LEN ||
		    memcmp(sqlite3_column_blob(st, 2), ct, LEDGER_HASH_LEN)) {
			ret = -EKEYREVOKED;
			break;
		}
		ret = -EALREADY;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(q, "key use query");
	return ret;
}

int sq_key_add(struct store *s, const char *gw, uint64_t epoch, uint64_t off,
	       uint32_t len, const uint8_t ct[LEDGER_HASH_LEN], uint64_t index)
{
	struct sq *q = sq_of(s);
	sqlite3_stmt *st = sq_stmt(q, SQ_KEY_ADD);

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, gw, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, I64(epoch));
	sqlite3_bind_int64(st, 3, I64(off));
	sqlite3_bind_int64(st, 4, len);
	sqlite3_bind_blob(st, 5, ct, LEDGER_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, I64(index));
	if (sqlite3_step(st) != SQLITE_DONE)
		return sq_fail(q, "key use insert");
	return 0;
}

/* Columns: first_code, code, current, trusted, registered_ns, seen_ns. */
static void device_cols(sqlite3_stmt *st, int c, struct ledger_device *d)
{
	d->has_code = sqlite3_column_type(st, c + 1) == SQLITE_BLOB;
	sq_get_blob(st, c, d->first_code, LEDGER_INTEGRITY_LEN, NULL);
	sq_get_blob(st, c + 1, d->code, LEDGER_INTEGRITY_LEN, NULL);
	sq_get_blob(st, c + 2, d->current, LEDGER_INTEGRITY_LEN, NULL);
	d->trusted = sqlite3_column_int(st, c + 3) != 0;
	d->registered_ns = (uint64_t)sqlite3_column_int64(st, c + 4);
	d->seen_ns = (uint64_t)sqlite3_column_int64(st, c + 5);
}

int sq_device_get(struct store *s, const char *gw, const uint8_t *id,
		  uint8_t id_len, struct ledger_device *d)
{
	struct sq *q = sq_of(s);
	sqlite3_stmt *st = sq_stmt(q, SQ_DEV_GET);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, gw, -1, SQLITE_STATIC);
	sq_blob(st, 2, id, id_len);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(d, 0, sizeof(*d));
		snprintf(d->gateway, sizeof(d->gateway), "%s", gw);
		memcpy(d->id, id, id_len);
		d->id_len = id_len;
		device_cols(st, 0, d);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 1;
	return rc == SQLITE_ROW ? 0 : sq_fail(q, "device query");
}

int sq_device_put(struct store *s, const struct ledger_device *d)
{
	struct sq *q = sq_of(s);
	sqlite3_stmt *st = sq_stmt(q, SQ_DEV_PUT);
	size_t cl = d->has_code ? LEDGER_INTEGRITY_LEN : 0;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, d->gateway, -1, SQLITE_STATIC);
	sq_blob(st, 2, d->id, d->id_len);
	sq_blob(st, 3, d->first_code, cl);
	sq_blob(st, 4, d->code, cl);
	sq_blob(st, 5, d->current, cl);
	sqlite3_bind_int(st, 6, d->trusted);
	sqlite3_bind_int64(st, 7, I64(d->registered_ns));
	sqlite3_bind_int64(st, 8, I64(d->seen_ns));
	if (sqlite3_step(st) != SQLITE_DONE)
		return sq_fail(q, "device update");
	return 0;
}

int sq_devices(struct store *s, const char *gw, ledger_device_cb cb,
	       void *ctx)
{
	struct sq *q = sq_of(s);
	struct ledger_device d;
	sqlite3_stmt *st;
	size_t n;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(q->db,
		"SELECT gateway, device, first_code, code, current, trusted,"
		" registered_ns, seen_ns FROM devices"
		" WHERE ?1 IS NULL OR gateway = ?1 ORDER BY gateway, device",
		-1, &st, NULL))
		return sq_fail(q, "devices query");
	if (gw)
		sqlite3_bind_text(st, 1, gw, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&d, 0, sizeof(d));
		snprintf(d.gateway, sizeof(d.gateway), "%s",
			 (const char *)sqlite3_column_text(st, 0) ?: "");
		sq_get_blob(st, 1, d.id, sizeof(d.id), &n);
		d.id_len = (uint8_t)n;
		device_cols(st, 2, &d);
		ret = cb(&d, ctx);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = sq_fail(q, "devices");
	sqlite3_finalize(st);
	return ret;
}
