// SPDX-License-Identifier: GPL-2.0
/*
 * RFC 9162 (RFC 6962) Merkle tree hashing over leaf hashes: the root (MTH),
 * the compact range a writer keeps to append in O(log n), and inclusion and
 * consistency proofs, both generation (from all leaf hashes of the tree)
 * and verification (from the proof alone).
 */
#ifndef QKD_MERKLE_H
#define QKD_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN	32
#define MERKLE_MAX_DEPTH	64

typedef uint8_t merkle_hash[MERKLE_HASH_LEN];

/* SHA-256(0x00 || data) */
void merkle_leaf_hash(const void *data, size_t len, merkle_hash out);
/* SHA-256(0x01 || left || right) */
void merkle_node_hash(const merkle_hash left, const merkle_hash right,
		      merkle_hash out);
/* SHA-256 of the empty string: the root of the empty tree. */
void merkle_empty_root(merkle_hash out);

/*
 * The roots of the complete subtrees a tree of `size` leaves splits into,
 * largest (leftmost) first: one per set bit of size. Enough to append a
 * leaf and to compute the root without the leaves themselves.
 */
struct merkle_frontier {
	uint64_t size;
	unsigned int count;			/* popcount(size) */
	merkle_hash h[MERKLE_MAX_DEPTH];
};

void merkle_frontier_init(struct merkle_frontier *f);
void merkle_frontier_push(struct merkle_frontier *f, const merkle_hash leaf);
void merkle_frontier_root(const struct merkle_frontier *f, merkle_hash out);
/* Serialised as count * 32 bytes; load checks the length against size. */
size_t merkle_frontier_bytes(const struct merkle_frontier *f, uint8_t *out);
int merkle_frontier_load(struct merkle_frontier *f, uint64_t size,
			 const uint8_t *buf, size_t len);

/* MTH(D[0:n]) over n leaf hashes. */
void merkle_root(const merkle_hash *leaves, uint64_t n, merkle_hash out);

/*
 * Proofs over leaves[0:size]. Fill proof[] (LEDGER_PROOF_MAX entries fit
 * any tree) and return the number of hashes, or -EINVAL for bad sizes.
 */
int merkle_inclusion_proof(const merkle_hash *leaves, uint64_t size,
			   uint64_t index, merkle_hash *proof);
int merkle_consistency_proof(const merkle_hash *leaves, uint64_t size,
			     uint64_t old_size, merkle_hash *proof);

/* RFC 9162 §2.1.3.2 and §2.1.4.2: true if the proof holds. */
bool merkle_verify_inclusion(uint64_t index, uint64_t size,
			     const merkle_hash leaf, const merkle_hash *proof,
			     size_t n, const merkle_hash root);
bool merkle_verify_consistency(uint64_t old_size, uint64_t size,
			       const merkle_hash old_root,
			       const merkle_hash root,
			       const merkle_hash *proof, size_t n);

#endif /* QKD_MERKLE_H */
