// SPDX-License-Identifier: GPL-2.0
/*
 * Opening and closing a ledger, the writer lock, and the in-memory tip
 * (size, chain hash, Merkle compact range) that makes an append O(log n).
 * The tip is reloaded whenever another connection committed (qkd-ledger
 * trusting a device appends a TRUST event while qkd-ledgerd runs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ledger_int.h"

void lg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

uint64_t lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t lg_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000;
}

/* Rebuilds the compact range from the leaves: only if meta lost it. */
static int rebuild_frontier(struct ledger *l, char *err, size_t errlen)
{
	enum { CHUNK = 4096 };
	uint8_t (*buf)[LEDGER_HASH_LEN] = malloc(CHUNK * LEDGER_HASH_LEN);
	uint64_t done = 0, n;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	merkle_frontier_init(&l->fr);
	while (done < l->size) {
		n = l->size - done < CHUNK ? l->size - done : CHUNK;
		rc = l->st->ops->leaves(l->st, done, n, buf);
		if (rc) {
			lg_err(err, errlen, "%s", l->st->err);
			break;
		}
		for (uint64_t i = 0; i < n; i++)
			merkle_frontier_push(&l->fr, buf[i]);
		done += n;
	}
	free(buf);
	return rc;
}

int lg_load_tip(struct ledger *l, char *err, size_t errlen)
{
	const struct store_ops *o = l->st->ops;
	uint8_t buf[STORE_META_MAX];
	struct ledger_tree_head th;
	uint64_t fsize = 0;
	size_t len = 0;
	int rc;

	rc = o->tip(l->st, &l->size, l->chain);
	if (!rc)
		rc = o->meta_get(l->st, "frontier", buf, sizeof(buf), &len);
	if (rc < 0) {
		lg_err(err, errlen, "%s", l->st->err);
		return rc;
	}
	for (size_t i = 0; i < 8 && len >= 8; i++)
		fsize = fsize << 8 | buf[i];
	if (rc == 1 || len < 8 || fsize != l->size ||
	    merkle_frontier_load(&l->fr, fsize, buf + 8, len - 8)) {
		rc = rebuild_frontier(l, err, errlen);
		if (rc)
			return rc;
	}
	rc = o->sth_latest(l->st, &th);
	if (rc < 0) {
		lg_err(err, errlen, "%s", l->st->err);
		return rc;
	}
	l->sth_size = rc == 0 ? th.size : 0;
	return 0;
}

int lg_begin(struct ledger *l, char *err, size_t errlen)
{
	const struct store_ops *o = l->st->ops;
	int64_t v;
	int rc;

	if (l->txn)
		return 0;
	rc = o->begin(l->st);
	if (!rc)
		rc = o->data_version(l->st, &v);
	if (rc) {
		lg_err(err, errlen, "%s", l->st->err);
		o->rollback(l->st);
		return -EIO;
	}
	l->txn = true;
	l->staged = 0;
	if (v != l->data_version) {
		rc = lg_load_tip(l, err, errlen);
		if (rc) {
			lg_abort(l);
			return rc;
		}
		l->data_version = v;
	}
	return 0;
}

void lg_abort(struct ledger *l)
{
	l->st->ops->rollback(l->st);
	l->txn = false;
	l->staged = 0;
	/* The staged tip is gone: take the committed one back. */
	if (lg_load_tip(l, NULL, 0))
		l->data_version = -1;	/* retry the reload at the next begin */
}

static int take_lock(struct ledger *l, const char *db, char *err,
		     size_t errlen)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s.lock", db) >= (int)sizeof(path)) {
		lg_err(err, errlen, "ledger path too long");
		return -ENAMETOOLONG;
	}
	l->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (l->lock_fd < 0) {
		lg_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (flock(l->lock_fd, LOCK_EX | LOCK_NB)) {
		int e = errno;

		lg_err(err, errlen, "%s: %s", path,
		       e == EWOULDBLOCK ? "another writer holds this ledger"
					: strerror(e));
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	return 0;
}

/* Records the signing key in the ledger, or checks it is the same one. */
static int bind_pubkey(struct ledger *l, char *err, size_t errlen)
{
	const struct store_ops *o = l->st->ops;
	uint8_t pk[LEDGER_PK_LEN];
	size_t len = 0;
	int rc;

	rc = o->meta_get(l->st, "pubkey", pk, sizeof(pk), &len);
	if (rc == 0) {
		if (len != LEDGER_PK_LEN || memcmp(pk, l->pk, LEDGER_PK_LEN)) {
			lg_err(err, errlen, "the key file does not match the"
			       " public key recorded in the ledger");
			return -EKEYREJECTED;
		}
		return 0;
	}
	if (rc < 0)
		goto fail;
	rc = lg_begin(l, err, errlen);
	if (rc)
		return rc;
	rc = o->meta_put(l->st, "pubkey", l->pk, LEDGER_PK_LEN);
	if (!rc)
		rc = o->meta_put(l->st, "format",
				 (const uint8_t *)"qkdkey-ledger-1", 15);
	if (!rc)
		rc = o->commit(l->st);
	l->txn = false;
	if (!rc)
		return 0;
	l->st->ops->rollback(l->st);
fail:
	lg_err(err, errlen, "%s", l->st->err);
	return -EIO;
}

int ledger_open(struct ledger **lp, const struct ledger_opts *o,
		char *err, size_t errlen)
{
	struct ledger *l;
	int rc;

	*lp = NULL;
	if (!o || !o->db_path || !*o->db_path) {
		lg_err(err, errlen, "no ledger path");
		return -EINVAL;
	}
	if (o->writer && (!o->key_path || !*o->key_path)) {
		lg_err(err, errlen, "the writer needs a signing key file");
		return -EINVAL;
	}
	if (sodium_init() < 0) {
		lg_err(err, errlen, "libsodium failed to initialise");
		return -EIO;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		lg_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	l->lock_fd = -1;
	l->writer = o->writer;
	l->auto_register = o->auto_register;
	l->sth_every = o->sth_every ? o->sth_every : 1000;
	l->sth_ms = o->sth_ms ? o->sth_ms : 1000;
	l->sth_mono_ms = lg_mono_ms();
	rc = l->writer ? take_lock(l, o->db_path, err, errlen) : 0;
	if (!rc && l->writer)
		rc = lg_key_load(l, o->key_path, true, err, errlen);
	if (!rc)
		rc = store_sqlite_ops.open(&l->st, o->db_path, l->writer, err,
					   errlen);
	if (!rc && l->st->ops->data_version(l->st, &l->data_version)) {
		lg_err(err, errlen, "%s", l->st->err);
		rc = -EIO;
	}
	if (!rc)
		rc = lg_load_tip(l, err, errlen);
	if (!rc && l->writer)
		rc = bind_pubkey(l, err, errlen);
	if (rc) {
		ledger_close(l);
		return rc;
	}
	*lp = l;
	return 0;
}

void ledger_close(struct ledger *l)
{
	if (!l)
		return;
	if (l->st) {
		if (l->txn)
			l->st->ops->rollback(l->st);
		l->st->ops->close(l->st);
	}
	if (l->lock_fd >= 0)
		close(l->lock_fd);
	sodium_memzero(l->sk, sizeof(l->sk));
	free(l);
}

uint64_t ledger_size(struct ledger *l)
{
	return l->txn ? l->size - l->staged : l->size;
}

int ledger_sth_due_ms(struct ledger *l)
{
	uint64_t now = lg_mono_ms(), due = l->sth_mono_ms + l->sth_ms;

	if (ledger_size(l) <= l->sth_size)
		return -1;
	return now >= due ? 0 : (int)(due - now);
}

int ledger_check_key(struct ledger *l, const char *gateway, uint64_t epoch,
		     uint64_t key_offset, uint32_t key_len,
		     const uint8_t ct_hash[LEDGER_HASH_LEN])
{
	if (!ledger_gateway_valid(gateway) || !ct_hash || key_len == 0 ||
	    key_offset > (uint64_t)INT64_MAX - key_len ||
	    epoch > (uint64_t)INT64_MAX)
		return -EINVAL;
	return l->st->ops->key_check(l->st, gateway, epoch, key_offset,
				     key_len, ct_hash);
}
