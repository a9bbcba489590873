// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledger proof: inclusion and consistency proofs, checked here with
 * the same verifier a third party would run, against the signed tree head
 * of that size when there is one.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "merkle.h"
#include "qkd_ledger.h"

static void proof_usage(FILE *f)
{
	fputs("usage: qkd-ledger proof inclusion N [--size S] [-j]\n"
	      "       qkd-ledger proof consistency M N [-j]\n"
	      "  inclusion: proves entry N is in the tree of size S (default:\n"
	      "  the latest signed tree head). consistency: proves the tree of\n"
	      "  size M is a prefix of the tree of size N. Each proof is\n"
	      "  verified, and so is the signed tree head of its size if any.\n"
	      "  Exit 1 if a proof or a tree head does not verify.\n", f);
}

/* The signed head of this size, if any: 1 verified, 0 none, -1 bad. */
static int head_check(struct cli *c, uint64_t size, const uint8_t *root,
		      struct ledger_tree_head *th)
{
	uint8_t pk[LEDGER_PK_LEN];
	char err[512];
	int rc = ledger_tree_head_at(c->l, size, th, err, sizeof(err));

	if (rc)
		return rc < 0 ? -1 : 0;
	if (memcmp(th->root, root, LEDGER_HASH_LEN) ||
	    ledger_public_key(c->l, pk, err, sizeof(err)) ||
	    !ledger_sth_verify(th, pk))
		return -1;
	return 1;
}

static void print_hashes(bool json, const char *name,
			 uint8_t (*p)[LEDGER_HASH_LEN], int n)
{
	printf(json ? ",\"%s\":[" : "%s:\n", name);
	for (int i = 0; i < n; i++) {
		printf(json ? "%s\"" : "  ", json && i ? "," : "");
		out_hex(stdout, p[i], LEDGER_HASH_LEN);
		printf(json ? "\"" : "\n");
	}
	if (json)
		printf("]");
}

static void print_head(bool json, const char *name, int state)
{
	static const char *const s[] = { "bad", "none", "verified" };

	printf(json ? ",\"%s\":\"%s\"" : "%s: %s\n", name, s[state + 1]);
}

static int inclusion(struct cli *c, uint64_t index, uint64_t size, bool json)
{
	uint8_t leaf[LEDGER_HASH_LEN], root[LEDGER_HASH_LEN];
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	struct ledger_tree_head th;
	char err[512];
	bool ok;
	int n, head;

	n = ledger_prove_inclusion(c->l, index, &size, leaf, root, proof, err,
				   sizeof(err));
	if (n < 0) {
		fprintf(stderr, "qkd-ledger: %s\n", err);
		return EX_USAGE;
	}
	ok = merkle_verify_inclusion(index, size, leaf, (const merkle_hash *)proof,
				     (size_t)n, root);
	head = head_check(c, size, root, &th);
	if (json) {
		printf("{\"index\":%llu,\"tree_size\":%llu,\"leaf\":\"",
		       (unsigned long long)index, (unsigned long long)size);
		out_hex(stdout, leaf, LEDGER_HASH_LEN);
		printf("\",\"root\":\"");
		out_hex(stdout, root, LEDGER_HASH_LEN);
		printf("\"");
	} else {
		printf("entry: %llu\ntree size: %llu\nleaf hash: ",
		       (unsigned long long)index, (unsigned long long)size);
		out_hex(stdout, leaf, LEDGER_HASH_LEN);
		printf("\nroot: ");
		out_hex(stdout, root, LEDGER_HASH_LEN);
		printf("\n");
	}
	print_hashes(json, "proof", proof, n);
	print_head(json, "tree_head", head);
	printf(json ? ",\"verified\":%s}\n" : "verified: %s\n",
	       ok && head >= 0 ? "true" : "false");
	return ok && head >= 0 ? EX_OK : EX_BAD;
}

static int consistency(struct cli *c, uint64_t m, uint64_t size, bool json)
{
	uint8_t r1[LEDGER_HASH_LEN], r2[LEDGER_HASH_LEN];
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	struct ledger_tree_head th;
	char err[512];
	int n, h1, h2;
	bool ok;

	n = ledger_prove_consistency(c->l, m, &size, r1, r2, proof, err,
				     sizeof(err));
	if (n < 0) {
		fprintf(stderr, "qkd-ledger: %s\n", err);
		return EX_USAGE;
	}
	ok = merkle_verify_consistency(m, size, r1, r2,
				       (const merkle_hash *)proof, (size_t)n);
	h1 = head_check(c, m, r1, &th);
	h2 = head_check(c, size, r2, &th);
	printf(json ? "{\"old_size\":%llu,\"tree_size\":%llu,\"old_root\":\""
		    : "old size: %llu\ntree size: %llu\nold root: ",
	       (unsigned long long)m, (unsigned long long)size);
	out_hex(stdout, r1, LEDGER_HASH_LEN);
	printf(json ? "\",\"root\":\"" : "\nroot: ");
	out_hex(stdout, r2, LEDGER_HASH_LEN);
	printf(json ? "\"" : "\n");
	print_hashes(json, "proof", proof, n);
	print_head(json, "old_tree_head", h1);
	print_head(json, "tree_head", h2);
	ok = ok && h1 >= 0 && h2 >= 0;
	printf(json ? ",\"verified\":%s}\n" : "verified: %s\n",
	       ok ? "true" : "false");
	return ok ? EX_OK : EX_BAD;
}

int cmd_proof(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t a = 0, b = 0, size = 0;
	bool json = false, incl;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (opt == 'j') {
			json = true;
		} else if (opt == 's') {
			if (parse_u64(optarg, &size) || !size) {
				fprintf(stderr, "qkd-ledger: bad size '%s'\n",
					optarg);
				return EX_USAGE;
			}
		} else if (opt == 'h') {
			proof_usage(stdout);
			return EX_OK;
		} else {
			proof_usage(stderr);
			return EX_USAGE;
		}
	}
	/* GNU getopt moved the operands to the end, in order. */
	argv += optind;
	argc -= optind;
	incl = argc >= 1 && !strcmp(argv[0], "inclusion");
	if (!(incl && argc == 2) &&
	    !(argc == 3 && !strcmp(argv[0], "consistency") && !size)) {
		proof_usage(stderr);
		return EX_USAGE;
	}
	if (parse_u64(argv[1], &a) || (!incl && parse_u64(argv[2], &b))) {
		fprintf(stderr, "qkd-ledger: bad number\n");
		return EX_USAGE;
	}
	rc = cli_open(c);
	if (rc)
		return rc;
	return incl ? inclusion(c, a, size, json) : consistency(c, a, b, json);
}
