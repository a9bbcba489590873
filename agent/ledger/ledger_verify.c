// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledger verify: recompute everything from the stored columns and stop
 * at the first entry or tree head that does not match. What it proves is
 * in Documentation/ledger.rst ("What verify proves").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "entry.h"
#include "ledger_int.h"

struct vctx {
	struct ledger_verify_report *rep;
	const uint8_t *pk;
	struct ledger_tree_head *heads;
	size_t nheads, cap, next;	/* next head to check */
	uint64_t n;			/* entries seen */
	uint8_t chain[LEDGER_HASH_LEN];
	struct merkle_frontier fr;
};

__attribute__((format(printf, 4, 5)))
static int bad(struct vctx *v, bool at, uint64_t index, const char *fmt, ...)
{
	va_list ap;

	v->rep->ok = false;
	v->rep->have_bad_index = at;
	v->rep->bad_index = index;
	va_start(ap, fmt);
	vsnprintf(v->rep->what, sizeof(v->rep->what), fmt, ap);
	va_end(ap);
	return 1;
}

static int add_head(const struct ledger_tree_head *th, void *ctx)
{
	struct vctx *v = ctx;

	if (v->nheads == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 64;
		void *p = realloc(v->heads, cap * sizeof(*v->heads));

		if (!p)
			return -ENOMEM;
		v->heads = p;
		v->cap = cap;
	}
	v->heads[v->nheads++] = *th;
	return 0;
}

/* Checks the tree heads of the current size. */
static int check_heads(struct vctx *v)
{
	merkle_hash root;

	merkle_frontier_root(&v->fr, root);
	for (; v->next < v->nheads && v->heads[v->next].size == v->n;
	     v->next++) {
		const struct ledger_tree_head *th = &v->heads[v->next];
		uint64_t from = v->next ? v->heads[v->next - 1].size : 0;

		if (memcmp(th->root, root, LEDGER_HASH_LEN))
			return bad(v, false, from, "tree head at size %llu: its"
				   " root does not match entries %llu..%llu"
				   " (rewritten after signing)",
				   (unsigned long long)th->size,
				   (unsigned long long)from,
				   (unsigned long long)th->size - 1);
		if (!v->pk || !ledger_sth_verify(th, v->pk))
			return bad(v, false, th->size, "tree head at size %llu:"
				   " signature does not verify",
				   (unsigned long long)th->size);
		v->rep->tree_heads++;
	}
	return 0;
}

static int check_entry(const struct ledger_entry *e, void *ctx)
{
	struct vctx *v = ctx;
	uint8_t leaf[LEDGER_HASH_LEN], chain[LEDGER_HASH_LEN];

	if (e->index != v->n)
		return bad(v, true, v->n, "entry %llu is missing (the next"
			   " stored entry is %llu)", (unsigned long long)v->n,
			   (unsigned long long)e->index);
	if (e->type != LEDGER_T_RECORD && e->type != LEDGER_T_EVENT)
		return bad(v, true, v->n, "entry %llu has unknown type %u",
			   (unsigned long long)v->n, e->type);
	ledger_entry_leaf(e, leaf);
	if (memcmp(leaf, e->leaf, LEDGER_HASH_LEN))
		return bad(v, true, v->n, "entry %llu: its contents do not"
			   " match its leaf hash (altered)",
			   (unsigned long long)v->n);
	ledger_chain_next(v->chain, leaf, chain);
	if (memcmp(chain, e->chain, LEDGER_HASH_LEN))
		return bad(v, true, v->n, "entry %llu: chain hash mismatch"
			   " (entries before it were altered, removed or"
			   " reordered)", (unsigned long long)v->n);
	memcpy(v->chain, chain, LEDGER_HASH_LEN);
	merkle_frontier_push(&v->fr, leaf);
	v->n++;
	v->rep->entries++;
	return check_heads(v);
}

int ledger_verify(struct ledger *l, const uint8_t *pinned_pk,
		  struct ledger_verify_report *rep, char *err, size_t errlen)
{
	const struct store_ops *o = l->st->ops;
	uint8_t pk[LEDGER_PK_LEN];
	struct ledger_filter all = { 0 };
	struct vctx v = { .rep = rep };
	int rc;

	memset(rep, 0, sizeof(*rep));
	rep->ok = true;
	merkle_frontier_init(&v.fr);
	rc = ledger_public_key(l, pk, err, errlen);
	if (rc && rc != -ENOENT)
		return rc;
	v.pk = rc ? NULL : pk;
	if (pinned_pk) {
		if (v.pk && sodium_memcmp(pk, pinned_pk, LEDGER_PK_LEN)) {
			bad(&v, false, 0, "the public key recorded in the"
			    " ledger is not the pinned key");
			return 0;
		}
		v.pk = pinned_pk;
	}
	rc = o->sth_all(l->st, add_head, &v);
	if (rc) {
		free(v.heads);
		if (rc == -ENOMEM) {
			lg_err(err, errlen, "out of memory");
			return rc;
		}
		lg_err(err, errlen, "%s", l->st->err);
		return -EIO;
	}
	if (v.nheads && !v.pk) {
		free(v.heads);
		bad(&v, false, 0, "tree heads but no public key to check them");
		return 0;
	}
	rc = check_heads(&v);	/* a head of size 0, if any */
	if (!rc)
		rc = o->entries(l->st, &all, check_entry, &v);
	if (rc < 0) {
		lg_err(err, errlen, "%s", l->st->err);
		free(v.heads);
		return -EIO;
	}
	if (rep->ok && v.next < v.nheads)
		bad(&v, true, v.n, "tree head at size %llu covers more entries"
		    " than the ledger holds (%llu): entries from %llu on were"
		    " removed", (unsigned long long)v.heads[v.next].size,
		    (unsigned long long)v.n, (unsigned long long)v.n);
	merkle_frontier_root(&v.fr, rep->root);
	free(v.heads);
	return 0;
}
