// SPDX-License-Identifier: GPL-2.0
/*
 * RFC 9162 §2.1 Merkle trees. The proof generators follow the recursive
 * definitions of the RFC literally (PATH and SUBPROOF over MTH), which is
 * O(n) per proof: the CLI builds proofs, the writer never does. The
 * verifiers are the RFC's iterative algorithms, which need only the proof.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "merkle.h"

void merkle_leaf_hash(const void *data, size_t len, merkle_hash out)
{
	crypto_hash_sha256_state st;
	static const uint8_t zero;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &zero, 1);
	if (len)
		crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, out);
}

void merkle_node_hash(const merkle_hash left, const merkle_hash right,
		      merkle_hash out)
{
	uint8_t buf[1 + 2 * MERKLE_HASH_LEN];

	buf[0] = 1;
	memcpy(buf + 1, left, MERKLE_HASH_LEN);
	memcpy(buf + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
	crypto_hash_sha256(out, buf, sizeof(buf));
}

void merkle_empty_root(merkle_hash out)
{
	crypto_hash_sha256(out, NULL, 0);
}

void merkle_frontier_init(struct merkle_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

/*
 * Appending leaf number `size` completes one subtree per trailing one bit
 * of size: merge that many times, right into left.
 */
void merkle_frontier_push(struct merkle_frontier *f, const merkle_hash leaf)
{
	memcpy(f->h[f->count++], leaf, MERKLE_HASH_LEN);
	for (uint64_t s = f->size; s & 1; s >>= 1) {
		f->count--;
		merkle_node_hash(f->h[f->count - 1], f->h[f->count],
				 f->h[f->count - 1]);
	}
	f->size++;
}

/* MTH splits at the largest power of two, so fold from the right. */
void merkle_frontier_root(const struct merkle_frontier *f, merkle_hash out)
{
	merkle_hash r;

	if (!f->count) {
		merkle_empty_root(out);
		return;
	}
	memcpy(r, f->h[f->count - 1], MERKLE_HASH_LEN);
	for (unsigned int i = f->count - 1; i-- > 0;)
		merkle_node_hash(f->h[i], r, r);
	memcpy(out, r, MERKLE_HASH_LEN);
}

size_t merkle_frontier_bytes(const struct merkle_frontier *f, uint8_t *out)
{
	memcpy(out, f->h, (size_t)f->count * MERKLE_HASH_LEN);
	return (size_t)f->count * MERKLE_HASH_LEN;
}

int merkle_frontier_load(struct merkle_frontier *f, uint64_t size,
			 const uint8_t *buf, size_t len)
{
	unsigned int count = (unsigned int)__builtin_popcountll(size);

	if (len != (size_t)count * MERKLE_HASH_LEN)
		return -EINVAL;
	f->size = size;
	f->count = count;
	memcpy(f->h, buf, len);
	return 0;
}

/* Largest power of two smaller than n (n >= 2). */
static uint64_t split(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

void merkle_root(const merkle_hash *leaves, uint64_t n, merkle_hash out)
{
	merkle_hash l, r;
	uint64_t k;

	if (n == 0) {
		merkle_empty_root(out);
		return;
	}
	if (n == 1) {
		memcpy(out, leaves[0], MERKLE_HASH_LEN);
		return;
	}
	k = split(n);
	merkle_root(leaves, k, l);
	merkle_root(leaves + k, n - k, r);
	merkle_node_hash(l, r, out);
}

/* PATH(m, D[0:n]): the proof from the leaf upwards. */
static int path(const merkle_hash *d, uint64_t n, uint64_t m, merkle_hash *p)
{
	uint64_t k;
	int len;

	if (n == 1)
		return 0;
	k = split(n);
	if (m < k) {
		len = path(d, k, m, p);
		merkle_root(d + k, n - k, p[len]);
	} else {
		len = path(d + k, n - k, m - k, p);
		merkle_root(d, k, p[len]);
	}
	return len + 1;
}

int merkle_inclusion_proof(const merkle_hash *leaves, uint64_t size,
			   uint64_t index, merkle_hash *proof)
{
	if (index >= size)
		return -EINVAL;
	return path(leaves, size, index, proof);
}

/* SUBPROOF(m, D[0:n], b) */
static int subproof(const merkle_hash *d, uint64_t n, uint64_t m, bool b,
		    merkle_hash *p)
{
	uint64_t k;
	int len;

	if (m == n) {
		if (b)
			return 0;
		merkle_root(d, n, p[0]);
		return 1;
	}
	k = split(n);
	if (m <= k) {
		len = subproof(d, k, m, b, p);
		merkle_root(d + k, n - k, p[len]);
	} else {
		len = subproof(d + k, n - k, m - k, false, p);
		merkle_root(d, k, p[len]);
	}
	return len + 1;
}

int merkle_consistency_proof(const merkle_hash *leaves, uint64_t size,
			     uint64_t old_size, merkle_hash *proof)
{
	if (old_size == 0 || old_size > size)
		return -EINVAL;
	return subproof(leaves, size, old_size, true, proof);
}

bool merkle_verify_inclusion(uint64_t index, uint64_t size,
			     const merkle_hash leaf, const merkle_hash *proof,
			     size_t n, const merkle_hash root)
{
	uint64_t fn = index, sn = size - 1;
	merkle_hash r;

	if (index >= size || n > MERKLE_MAX_DEPTH)
		return false;
	memcpy(r, leaf, MERKLE_HASH_LEN);
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && sodium_memcmp(r, root, MERKLE_HASH_LEN) == 0;
}

bool merkle_verify_consistency(uint64_t old_size, uint64_t size,
			       const merkle_hash old_root,
			       const merkle_hash root,
			       const merkle_hash *proof, size_t n)
{
	uint64_t fn, sn;
	merkle_hash fr, sr;
	size_t i = 0;

	if (old_size == 0 || old_size > size || n > MERKLE_MAX_DEPTH)
		return false;
	if (old_size == size)
		return n == 0 &&
		       sodium_memcmp(old_root, root, MERKLE_HASH_LEN) == 0;
	if (n == 0)
		return false;
	fn = old_size - 1;
	sn = size - 1;
	/* An old tree that is a complete subtree is its own first node. */
	if ((old_size & (old_size - 1)) == 0) {
		memcpy(fr, old_root, MERKLE_HASH_LEN);
	} else {
		memcpy(fr, proof[0], MERKLE_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, MERKLE_HASH_LEN);
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < n; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], fr, fr);
			merkle_node_hash(proof[i], sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 &&
	       sodium_memcmp(fr, old_root, MERKLE_HASH_LEN) == 0 &&
	       sodium_memcmp(sr, root, MERKLE_HASH_LEN) == 0;
}
