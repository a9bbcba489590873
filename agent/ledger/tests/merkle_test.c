// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of agent/ledger/merkle.c: the published RFC 6962 reference
 * tree (roots of every prefix, inclusion and consistency proofs), then
 * random trees against a naive MTH written here from the RFC text, with
 * every proof verified and every corrupted proof rejected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "merkle.h"
#include "tap.h"

#ifndef RFC6962_VECTORS
#define RFC6962_VECTORS "agent/ledger/tests/vectors/rfc6962.txt"
#endif

static merkle_hash leaves[8];
static unsigned int nleaves;

static int unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	return sodium_hex2bin(out, cap, s, strlen(s), NULL, len, NULL);
}

/* Parses "HASH HASH ..." into p; returns the count. */
static size_t hashes(char *s, merkle_hash *p)
{
	size_t n = 0, len;

	for (char *t = strtok(s, " \n"); t; t = strtok(NULL, " \n"))
		if (unhex(t, p[n], MERKLE_HASH_LEN, &len) == 0 &&
		    len == MERKLE_HASH_LEN)
			n++;
	return n;
}

static void vector_line(char *line)
{
	merkle_hash want[MERKLE_MAX_DEPTH], got[MERKLE_MAX_DEPTH], r, r2;
	unsigned long long a, b;
	uint8_t buf[64];
	char arg[256];
	int pos = 0, n;
	size_t len, nw;

	if (sscanf(line, "leaf %255s", arg) == 1) {
		len = 0;
		if (strcmp(arg, "-"))
			unhex(arg, buf, sizeof(buf), &len);
		merkle_leaf_hash(buf, len, leaves[nleaves++]);
	} else if (sscanf(line, "root %llu %255s", &a, arg) == 2) {
		unhex(arg, want[0], MERKLE_HASH_LEN, &len);
		merkle_root(leaves, a, r);
		tap_ok(!memcmp(r, want[0], 32), "RFC 6962 root of size %llu", a);
	} else if (sscanf(line, "inclusion %llu %llu%n", &a, &b, &pos) == 2) {
		nw = hashes(line + pos, want);
		n = merkle_inclusion_proof(leaves, b, a, got);
		tap_ok(n == (int)nw && !memcmp(got, want, nw * 32),
		       "RFC 6962 inclusion proof of leaf %llu in %llu", a, b);
		merkle_root(leaves, b, r);
		tap_ok(merkle_verify_inclusion(a, b, leaves[a], want, nw, r),
		       "RFC 6962 inclusion proof %llu/%llu verifies", a, b);
	} else if (sscanf(line, "consistency %llu %llu%n", &a, &b, &pos) == 2) {
		nw = hashes(line + pos, want);
		n = merkle_consistency_proof(leaves, b, a, got);
		tap_ok(n == (int)nw && !memcmp(got, want, nw * 32),
		       "RFC 6962 consistency proof %llu -> %llu", a, b);
		merkle_root(leaves, a, r);
		merkle_root(leaves, b, r2);
		tap_ok(merkle_verify_consistency(a, b, r, r2, want, nw),
		       "RFC 6962 consistency proof %llu -> %llu verifies", a, b);
	}
}

/* MTH written from RFC 9162 §2.1.1 directly over the leaf data. */
static void naive_mth(uint8_t (*data)[4], size_t n, merkle_hash out)
{
	size_t k = 1;
	merkle_hash l, r;
	uint8_t buf[65];

	if (n == 0) {
		crypto_hash_sha256(out, NULL, 0);
		return;
	}
	if (n == 1) {
		buf[0] = 0;
		memcpy(buf + 1, data[0], 4);
		crypto_hash_sha256(out, buf, 5);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	naive_mth(data, k, l);
	naive_mth(data + k, n - k, r);
	buf[0] = 1;
	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	crypto_hash_sha256(out, buf, 65);
}

#define RND_MAX 70

static void random_trees(void)
{
	static uint8_t data[RND_MAX][4];
	static merkle_hash lh[RND_MAX], roots[RND_MAX + 1];
	merkle_hash p[MERKLE_MAX_DEPTH], want;
	struct merkle_frontier f, g;
	uint8_t ser[MERKLE_MAX_DEPTH * 32];
	int bad_root = 0, bad_front = 0, bad_inc = 0, bad_con = 0;
	int acc_corrupt = 0, acc_wrong = 0, nproofs = 0;

	randombytes_buf(data, sizeof(data));
	merkle_frontier_init(&f);
	merkle_root(lh, 0, roots[0]);
	for (size_t n = 1; n <= RND_MAX; n++) {
		merkle_leaf_hash(data[n - 1], 4, lh[n - 1]);
		merkle_frontier_push(&f, lh[n - 1]);
		naive_mth(data, n, want);
		merkle_root(lh, n, roots[n]);
		bad_root += memcmp(roots[n], want, 32) != 0;
		merkle_frontier_root(&f, p[0]);
		bad_front += memcmp(p[0], want, 32) != 0;
		/* The serialised frontier reloads to the same root. */
		if (merkle_frontier_load(&g, n, ser,
					 merkle_frontier_bytes(&f, ser)) == 0) {
			merkle_frontier_root(&g, p[0]);
			bad_front += memcmp(p[0], want, 32) != 0;
		} else {
			bad_front++;
		}
	}
	tap_ok(!bad_root, "merkle_root matches the naive MTH for sizes 1..%d",
	       RND_MAX);
	tap_ok(!bad_front, "compact range root (and reload) matches the naive MTH");

	for (uint64_t n = 1; n <= RND_MAX; n++) {
		for (uint64_t i = 0; i < n; i++) {
			int k = merkle_inclusion_proof(lh, n, i, p);

			nproofs++;
			bad_inc += !merkle_verify_inclusion(i, n, lh[i], p, k,
							    roots[n]);
			/* Flip one bit of each proof hash in turn. */
			for (int j = 0; j < k; j++) {
				p[j][j % 32] ^= 0x10;
				acc_corrupt += merkle_verify_inclusion(
					i, n, lh[i], p, k, roots[n]);
				p[j][j % 32] ^= 0x10;
			}
			acc_wrong += merkle_verify_inclusion(i, n, lh[(i + 1) % n],
							     p, k, roots[n]) && n > 1;
			acc_wrong += k > 0 && merkle_verify_inclusion(i, n, lh[i],
							     p, k - 1, roots[n]);
			acc_wrong += n > 1 && merkle_verify_inclusion(
				(i + 1) % n, n, lh[i], p, k, roots[n]);
		}
		for (uint64_t m = 1; m <= n; m++) {
			int k = merkle_consistency_proof(lh, n, m, p);

			nproofs++;
			bad_con += !merkle_verify_consistency(m, n, roots[m],
							      roots[n], p, k);
			for (int j = 0; j < k; j++) {
				p[j][31 - j % 32] ^= 1;
				acc_corrupt += merkle_verify_consistency(
					m, n, roots[m], roots[n], p, k);
				p[j][31 - j % 32] ^= 1;
			}
			if (m < n) {
				acc_wrong += merkle_verify_consistency(
					m, n, roots[m - 1 ? m - 1 : n], roots[n], p, k);
				acc_wrong += merkle_verify_consistency(
					m, n, roots[m], roots[n - 1], p, k);
				acc_wrong += merkle_verify_consistency(
					m, n, roots[m], roots[n], p, k - 1);
			}
		}
	}
	tap_ok(!bad_inc, "every inclusion proof in trees 1..%d verifies (%d proofs)",
	       RND_MAX, nproofs);
	tap_ok(!bad_con, "every consistency proof m <= n <= %d verifies", RND_MAX);
	tap_ok(!acc_corrupt, "no proof with a flipped bit verifies");
	tap_ok(!acc_wrong, "no proof verifies for the wrong leaf, index, root or length");
}

static void edge_cases(void)
{
	merkle_hash p[MERKLE_MAX_DEPTH], r;

	merkle_root(leaves, 8, r);
	tap_ok(merkle_inclusion_proof(leaves, 8, 8, p) < 0 &&
	       !merkle_verify_inclusion(8, 8, leaves[0], p, 0, r),
	       "index beyond the tree is rejected");
	tap_ok(merkle_consistency_proof(leaves, 8, 0, p) < 0 &&
	       merkle_consistency_proof(leaves, 4, 5, p) < 0 &&
	       !merkle_verify_consistency(0, 8, r, r, p, 0) &&
	       !merkle_verify_consistency(5, 4, r, r, p, 0),
	       "consistency from size 0 or backwards is rejected");
	tap_ok(merkle_verify_inclusion(0, 1, leaves[0], p, 0, leaves[0]) &&
	       !merkle_verify_inclusion(0, 1, leaves[0], p, 1, leaves[0]),
	       "one-leaf tree: empty path only");
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : RFC6962_VECTORS;
	char line[1024];
	FILE *f;

	if (sodium_init() < 0) {
		fprintf(stderr, "merkle_test: sodium_init failed\n");
		return 1;
	}
	f = fopen(path, "r");
	tap_ok(f != NULL, "vector file %s opens", path);
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (line[0] != '#')
				vector_line(line);
		fclose(f);
		tap_ok(nleaves == 8, "8 reference leaves read");
	}
	edge_cases();
	random_trees();
	return tap_done();
}
