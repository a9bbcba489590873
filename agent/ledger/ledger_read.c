// SPDX-License-Identifier: GPL-2.0
/* The read side: entries, devices, tree heads and proofs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_int.h"

static int fail(struct ledger *l, int rc, char *err, size_t errlen)
{
	lg_err(err, errlen, "%s", l->st->err);
	return rc < 0 ? rc : -EIO;
}

int ledger_entries(struct ledger *l, const struct ledger_filter *f,
		   ledger_entry_cb cb, void *ctx, char *err, size_t errlen)
{
	struct ledger_filter all = { 0 };
	int rc;

	rc = l->st->ops->entries(l->st, f ? f : &all, cb, ctx);
	return rc < 0 ? fail(l, rc, err, errlen) : rc;
}

int ledger_devices(struct ledger *l, const char *gateway, ledger_device_cb cb,
		   void *ctx, char *err, size_t errlen)
{
	int rc = l->st->ops->devices(l->st, gateway, cb, ctx);

	return rc < 0 ? fail(l, rc, err, errlen) : rc;
}

int ledger_tree_head(struct ledger *l, struct ledger_tree_head *th,
		     char *err, size_t errlen)
{
	int rc = l->st->ops->sth_latest(l->st, th);

	return rc < 0 ? fail(l, rc, err, errlen) : rc;
}

struct head_at {
	uint64_t size;
	struct ledger_tree_head *th;
};

static int head_at_cb(const struct ledger_tree_head *th, void *ctx)
{
	struct head_at *h = ctx;

	if (th->size != h->size)
		return 0;
	*h->th = *th;
	return 2;
}

int ledger_tree_head_at(struct ledger *l, uint64_t size,
			struct ledger_tree_head *th, char *err, size_t errlen)
{
	struct head_at h = { .size = size, .th = th };
	int rc = l->st->ops->sth_all(l->st, head_at_cb, &h);

	if (rc < 0)
		return fail(l, rc, err, errlen);
	return rc == 2 ? 0 : 1;
}

int ledger_public_key(struct ledger *l, uint8_t pk[LEDGER_PK_LEN],
		      char *err, size_t errlen)
{
	size_t len = 0;
	int rc = l->st->ops->meta_get(l->st, "pubkey", pk, LEDGER_PK_LEN,
				      &len);

	if (rc < 0)
		return fail(l, rc, err, errlen);
	if (rc == 1 || len != LEDGER_PK_LEN) {
		lg_err(err, errlen, "no signing public key recorded yet");
		return -ENOENT;
	}
	return 0;
}

/*
 * The leaf hashes of the first `size` committed entries. size 0 means the
 * latest signed tree head's size, or all entries if none was signed.
 */
static int load_leaves(struct ledger *l, uint64_t *size, merkle_hash **out,
		       char *err, size_t errlen)
{
	struct ledger_tree_head th;
	uint8_t chain[LEDGER_HASH_LEN];
	uint64_t n;
	int rc;

	rc = l->st->ops->tip(l->st, &n, chain);
	if (rc)
		return fail(l, rc, err, errlen);
	if (*size == 0) {
		rc = l->st->ops->sth_latest(l->st, &th);
		if (rc < 0)
			return fail(l, rc, err, errlen);
		*size = rc == 0 ? th.size : n;
	}
	if (*size == 0 || *size > n) {
		lg_err(err, errlen, "tree size %llu is not in 1..%llu",
		       (unsigned long long)*size, (unsigned long long)n);
		return -ERANGE;
	}
	if (*size > SIZE_MAX / LEDGER_HASH_LEN) {
		lg_err(err, errlen, "tree too large to prove in memory");
		return -ENOMEM;
	}
	*out = malloc(*size * LEDGER_HASH_LEN);
	if (!*out) {
		lg_err(err, errlen, "out of memory for %llu leaf hashes",
		       (unsigned long long)*size);
		return -ENOMEM;
	}
	rc = l->st->ops->leaves(l->st, 0, *size, *out);
	if (rc) {
		free(*out);
		return fail(l, rc, err, errlen);
	}
	return 0;
}

int ledger_prove_inclusion(struct ledger *l, uint64_t index, uint64_t *size,
			   uint8_t leaf[LEDGER_HASH_LEN],
			   uint8_t root[LEDGER_HASH_LEN],
			   uint8_t proof[][LEDGER_HASH_LEN],
			   char *err, size_t errlen)
{
	merkle_hash *lv;
	int rc = load_leaves(l, size, &lv, err, errlen);

	if (rc)
		return rc;
	if (index >= *size) {
		lg_err(err, errlen, "entry %llu is not in a tree of size %llu",
		       (unsigned long long)index, (unsigned long long)*size);
		free(lv);
		return -ERANGE;
	}
	memcpy(leaf, lv[index], LEDGER_HASH_LEN);
	merkle_root(lv, *size, root);
	rc = merkle_inclusion_proof(lv, *size, index, proof);
	free(lv);
	return rc;
}

int ledger_prove_consistency(struct ledger *l, uint64_t old_size,
			     uint64_t *size, uint8_t old_root[LEDGER_HASH_LEN],
			     uint8_t root[LEDGER_HASH_LEN],
			     uint8_t proof[][LEDGER_HASH_LEN],
			     char *err, size_t errlen)
{
	merkle_hash *lv;
	int rc;

	if (old_size == 0 || (*size && old_size > *size)) {
		lg_err(err, errlen, "need 1 <= old size <= new size");
		return -ERANGE;
	}
	rc = load_leaves(l, size, &lv, err, errlen);
	if (rc)
		return rc;
	if (old_size > *size) {
		lg_err(err, errlen, "old size %llu exceeds tree size %llu",
		       (unsigned long long)old_size, (unsigned long long)*size);
		free(lv);
		return -ERANGE;
	}
	merkle_root(lv, old_size, old_root);
	merkle_root(lv, *size, root);
	rc = merkle_consistency_proof(lv, *size, old_size, proof);
	free(lv);
	return rc;
}
