// SPDX-License-Identifier: GPL-2.0
/*
 * The ledger's storage interface: an ops table, so that a PostgreSQL
 * backend can follow the SQLite one (store_sqlite.c). The ledger core owns
 * the hashing, the chain and the device rules; a store only keeps rows and
 * answers indexed queries, inside one write transaction at a time.
 *
 * All calls return 0 (or a documented positive value) or -errno, with a
 * message in s->err.
 */
#ifndef QKD_LEDGER_STORE_H
#define QKD_LEDGER_STORE_H

#include "ledger_read.h"

#define STORE_META_MAX	(64 * LEDGER_HASH_LEN + 16)

struct store_ops;

struct store {
	const struct store_ops *ops;
	char err[256];
};

struct store_ops {
	const char *name;
	int (*open)(struct store **sp, const char *path, bool create,
		    char *err, size_t errlen);
	void (*close)(struct store *s);
	/* A write transaction: exclusive against other writers. */
	int (*begin)(struct store *s);
	int (*commit)(struct store *s);
	void (*rollback)(struct store *s);
	/* Counter that moves when another connection commits. */
	int (*data_version)(struct store *s, int64_t *v);

	/* meta: small named blobs. get: 0, or 1 if absent. */
	int (*meta_get)(struct store *s, const char *key, uint8_t *buf,
			size_t cap, size_t *len);
	int (*meta_put)(struct store *s, const char *key, const uint8_t *buf,
			size_t len);

	/* Number of entries and the chain hash of the last (zeros if none). */
	int (*tip)(struct store *s, uint64_t *size,
		   uint8_t chain[LEDGER_HASH_LEN]);
	int (*entry_add)(struct store *s, const struct ledger_entry *e);
	/* 1 if a record (gateway, device, seq) exists, else 0. */
	int (*record_exists)(struct store *s, const char *gw,
			     const uint8_t *dev, uint8_t dev_len, uint64_t seq);
	int (*entries)(struct store *s, const struct ledger_filter *f,
		       ledger_entry_cb cb, void *ctx);
	/* Leaf hashes of entries [from, from + n), in order. */
	int (*leaves)(struct store *s, uint64_t from, uint64_t n,
		      uint8_t (*out)[LEDGER_HASH_LEN]);

	/* 0 fresh, -EALREADY same ct_hash, -EKEYREVOKED other ct_hash. */
	int (*key_check)(struct store *s, const char *gw, uint64_t epoch,
			 uint64_t off, uint32_t len,
			 const uint8_t ct[LEDGER_HASH_LEN]);
	int (*key_add)(struct store *s, const char *gw, uint64_t epoch,
		       uint64_t off, uint32_t len,
		       const uint8_t ct[LEDGER_HASH_LEN], uint64_t index);

	/* get: 0, or 1 if unknown. put: insert or replace. */
	int (*device_get)(struct store *s, const char *gw, const uint8_t *id,
			  uint8_t id_len, struct ledger_device *d);
	int (*device_put)(struct store *s, const struct ledger_device *d);
	int (*devices)(struct store *s, const char *gw, ledger_device_cb cb,
		       void *ctx);

	int (*sth_add)(struct store *s, const struct ledger_tree_head *th);
	/* latest: 0, or 1 if none. */
	int (*sth_latest)(struct store *s, struct ledger_tree_head *th);
	/* In increasing size. */
	int (*sth_all)(struct store *s,
		       int (*cb)(const struct ledger_tree_head *th, void *ctx),
		       void *ctx);
};

extern const struct store_ops store_sqlite_ops;

#endif /* QKD_LEDGER_STORE_H */
