// SPDX-License-Identifier: GPL-2.0
/* Internals of the SQLite store, shared by store_sqlite*.c. */
#ifndef QKD_STORE_SQLITE_INT_H
#define QKD_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store.h"

enum sq_stmt {
	SQ_ENTRY_ADD, SQ_RECORD_EXISTS, SQ_KEY_CHECK, SQ_KEY_ADD,
	SQ_DEV_GET, SQ_DEV_PUT, SQ_META_GET, SQ_META_PUT, SQ_TIP, SQ_LEAVES,
	SQ_NSTMT
};

struct sq {
	struct store base;
	sqlite3 *db;
	sqlite3_stmt *st[SQ_NSTMT];
};

static inline struct sq *sq_of(struct store *s)
{
	return (struct sq *)s;
}

/* The cached statement n, reset and with its bindings cleared. */
sqlite3_stmt *sq_stmt(struct sq *q, enum sq_stmt n);
/* Records the SQLite error in s->err; returns -EIO. */
int sq_fail(struct sq *q, const char *what);
/* sqlite3_bind_blob with SQLITE_STATIC, or NULL for len 0 when nullable. */
int sq_blob(sqlite3_stmt *st, int i, const void *p, size_t len);
void sq_get_blob(sqlite3_stmt *st, int col, void *out, size_t cap,
		 size_t *len);

int sq_entry_add(struct store *s, const struct ledger_entry *e);
int sq_record_exists(struct store *s, const char *gw, const uint8_t *dev,
		     uint8_t dev_len, uint64_t seq);
int sq_entries(struct store *s, const struct ledger_filter *f,
	       ledger_entry_cb cb, void *ctx);
int sq_leaves(struct store *s, uint64_t from, uint64_t n,
	      uint8_t (*out)[LEDGER_HASH_LEN]);
int sq_key_check(struct store *s, const char *gw, uint64_t epoch,
		 uint64_t off, uint32_t len, const uint8_t ct[LEDGER_HASH_LEN]);
int sq_key_add(struct store *s, const char *gw, uint64_t epoch, uint64_t off,
	       uint32_t len, const uint8_t ct[LEDGER_HASH_LEN], uint64_t index);
int sq_device_get(struct store *s, const char *gw, const uint8_t *id,
		  uint8_t id_len, struct ledger_device *d);
int sq_device_put(struct store *s, const struct ledger_device *d);
int sq_devices(struct store *s, const char *gw, ledger_device_cb cb,
	       void *ctx);

#endif /* QKD_STORE_SQLITE_INT_H */
