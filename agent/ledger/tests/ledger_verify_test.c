// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of ledger_verify(): a clean ledger passes; then each kind of
 * tampering, on its own copy of the same ledger, makes it fail and name
 * the right entry: a payload edited through SQL, one raw byte of the file
 * on disk, a deleted entry, a truncated tail, reordered entries, a forged
 * or re-signed tree head, a pinned key that is not the ledger's, and a
 * rewrite that recomputes every leaf and chain hash after the change.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "entry.h"
#include "ledger_testlib.h"
#include "tap.h"

#define NREC 20

static char dir[PATH_MAX], base[PATH_MAX + 16], key[PATH_MAX + 16];
static char err[256];

/* 20 records, a head every 4 entries (sizes 4, 8, ..., 20). */
static int make_base(void)
{
	struct ledger_result res;
	struct ledger *l;
	struct tl_rec t;

	snprintf(base, sizeof(base), "%s/base.db", dir);
	snprintf(key, sizeof(key), "%s/base.key", dir);
	if (tl_open(&l, base, key, true, true, 4, 3600 * 1000, err,
		    sizeof(err))) {
		fprintf(stderr, "# %s\n", err);
		return -1;
	}
	for (int i = 0; i < NREC; i++) {
		tl_rec(&t, "gw1", i % 2 ? "dev-odd" : "dev-even", (uint64_t)i, 7,
		       (uint64_t)i * 64);
		tl_append(l, &t, &res);
		ledger_commit(l, err, sizeof(err));
	}
	ledger_close(l);	/* checkpoints the WAL into the file */
	return 0;
}

/* A fresh copy of the base ledger, as path. */
static void copy(const char *name, char *path, size_t len)
{
	char cmd[3 * PATH_MAX];

	snprintf(path, len, "%s/%s.db", dir, name);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", base, path);
	if (system(cmd))
		fprintf(stderr, "# copy failed\n");
}

static int sql(const char *path, const char *stmt)
{
	sqlite3 *db;
	char *msg = NULL;
	int rc;

	if (sqlite3_open(path, &db))
		return -1;
	rc = sqlite3_exec(db, stmt, NULL, NULL, &msg);
	if (rc)
		fprintf(stderr, "# sql: %s\n", msg);
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc;
}

static struct ledger_verify_report rep;

static int verify(const char *path, const uint8_t *pk)
{
	struct ledger *l;
	int rc = tl_open(&l, path, NULL, false, false, 0, 0, err, sizeof(err));

	memset(&rep, 0, sizeof(rep));
	if (rc) {
		fprintf(stderr, "# open: %s\n", err);
		return rc;
	}
	rc = ledger_verify(l, pk, &rep, err, sizeof(err));
	ledger_close(l);
	if (rc)
		fprintf(stderr, "# verify: %s\n", err);
	else
		printf("# %s: %s\n", path + strlen(dir) + 1,
		       rep.ok ? "ok" : rep.what);
	return rc;
}

static bool bad_at(uint64_t index, const char *word)
{
	return !rep.ok && rep.have_bad_index && rep.bad_index == index &&
	       strstr(rep.what, word);
}

/* Flips one byte of the unique pattern in the file itself. */
static int raw_edit(const char *path, const char *pattern)
{
	size_t plen = strlen(pattern), n;
	int fd = open(path, O_RDWR), hits = 0;
	struct stat sb;
	uint8_t *buf;
	off_t at = -1;

	if (fd < 0 || fstat(fd, &sb))
		return -1;
	buf = malloc((size_t)sb.st_size);
	n = buf ? (size_t)pread(fd, buf, (size_t)sb.st_size, 0) : 0;
	for (size_t i = 0; n >= plen && i + plen <= n; i++)
		if (!memcmp(buf + i, pattern, plen)) {
			hits++;
			at = (off_t)i;
		}
	free(buf);
	if (hits == 1) {
		uint8_t c = 'X';

		/* The digit after "PAYLOAD#00", inside the stored blob. */
		if (pwrite(fd, &c, 1, at + 10) != 1)
			hits = -1;
	}
	close(fd);
	return hits;
}

static uint8_t payloads[NREC][96];

static int rewrite_cb(const struct ledger_entry *e, void *ctx)
{
	struct ledger_entry *out = ctx;

	out[e->index] = *e;
	memcpy(payloads[e->index], e->payload, e->payload_len);
	out[e->index].payload = payloads[e->index];
	return 0;
}

/*
 * The capable attacker: changes entry 5's flags and recomputes every leaf
 * and chain hash from there, so only the signed heads can tell.
 */
static int rewrite_all(const char *path)
{
	static struct ledger_entry ents[NREC];
	uint8_t chain[32] = { 0 };
	struct ledger *l;
	sqlite3 *db;
	sqlite3_stmt *st;

	if (tl_open(&l, path, NULL, false, false, 0, 0, err, sizeof(err)))
		return -1;
	ledger_entries(l, NULL, rewrite_cb, ents, err, sizeof(err));
	ledger_close(l);
	if (sqlite3_open(path, &db))
		return -1;
	sqlite3_prepare_v2(db, "UPDATE entries SET flags = ?1, leaf = ?2,"
			   " chain = ?3 WHERE idx = ?4", -1, &st, NULL);
	ents[5].flags |= LEDGER_F_UNTRUSTED;
	for (int i = 0; i < NREC; i++) {
		ledger_entry_leaf(&ents[i], ents[i].leaf);
		ledger_chain_next(chain, ents[i].leaf, chain);
		sqlite3_reset(st);
		sqlite3_bind_int(st, 1, (int)ents[i].flags);
		sqlite3_bind_blob(st, 2, ents[i].leaf, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, chain, 32, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 4, i);
		sqlite3_step(st);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return 0;
}

int main(void)
{
	char p[PATH_MAX + 32], stmt[512], hex[129];
	uint8_t pk[32], sk[64], sig[64];

	if (sodium_init() < 0)
		return 2;
	tl_mkdir(dir, sizeof(dir), "verify");
	tap_ok(make_base() == 0, "base ledger of %d records written", NREC);
	tap_ok(verify(base, NULL) == 0 && rep.ok && rep.entries == NREC &&
	       rep.tree_heads == 5, "clean ledger verifies (20 entries, 5 heads)");

	copy("sql_payload", p, sizeof(p));
	sql(p, "UPDATE entries SET payload = CAST('PAYLOAD#000007#dev-odX#'"
	    " AS BLOB) WHERE idx = 7");
	tap_ok(verify(p, NULL) == 0 && bad_at(7, "altered"),
	       "payload edited through SQL: entry 7 named");

	copy("raw_byte", p, sizeof(p));
	tap_ok(raw_edit(p, "PAYLOAD#000011#dev-odd#") == 1,
	       "the payload of entry 11 found once in the file");
	tap_ok(verify(p, NULL) == 0 && bad_at(11, "altered"),
	       "one raw byte changed on disk: entry 11 named");

	copy("gw_column", p, sizeof(p));
	sql(p, "UPDATE entries SET device_seq = 99 WHERE idx = 13");
	tap_ok(verify(p, NULL) == 0 && bad_at(13, "altered"),
	       "device seq edited: entry 13 named");

	copy("leaf_column", p, sizeof(p));
	sql(p, "UPDATE entries SET leaf = zeroblob(32) WHERE idx = 2");
	tap_ok(verify(p, NULL) == 0 && bad_at(2, "altered"),
	       "stored leaf hash edited: entry 2 named");

	copy("deleted", p, sizeof(p));
	sql(p, "DELETE FROM entries WHERE idx = 9");
	tap_ok(verify(p, NULL) == 0 && bad_at(9, "missing"),
	       "entry deleted: entry 9 named missing");

	copy("truncated", p, sizeof(p));
	sql(p, "DELETE FROM entries WHERE idx = 19");
	tap_ok(verify(p, NULL) == 0 && bad_at(19, "removed"),
	       "last entry deleted: the head at 20 names entry 19");

	copy("reordered", p, sizeof(p));
	sql(p, "UPDATE entries SET idx = -1 WHERE idx = 3;"
	    "UPDATE entries SET idx = 3 WHERE idx = 5;"
	    "UPDATE entries SET idx = 5 WHERE idx = -1;");
	tap_ok(verify(p, NULL) == 0 && bad_at(3, "altered"),
	       "entries 3 and 5 swapped: entry 3 named");

	copy("sig_flip", p, sizeof(p));
	sql(p, "UPDATE tree_heads SET sig = zeroblob(64) WHERE size = 12");
	tap_ok(verify(p, NULL) == 0 && !rep.ok && strstr(rep.what, "size 12") &&
	       strstr(rep.what, "signature"), "zeroed signature of head 12 named");

	/* A head re-signed by another key over the same message. */
	copy("resigned", p, sizeof(p));
	{
		struct ledger_tree_head th = { 0 };
		struct ledger *l;
		uint8_t msg[LEDGER_STH_MSG_LEN];

		crypto_sign_keypair(pk, sk);
		tl_open(&l, p, NULL, false, false, 0, 0, err, sizeof(err));
		ledger_tree_head(l, &th, err, sizeof(err));
		ledger_close(l);
		ledger_sth_message(&th, msg);
		crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
		sodium_bin2hex(hex, sizeof(hex), sig, 64);
		snprintf(stmt, sizeof(stmt), "UPDATE tree_heads SET sig ="
			 " x'%s' WHERE size = 20", hex);
		sql(p, stmt);
	}
	tap_ok(verify(p, NULL) == 0 && !rep.ok && strstr(rep.what, "size 20") &&
	       strstr(rep.what, "signature"),
	       "head signed by another key: refused");
	tap_ok(verify(base, pk) == 0 && !rep.ok && strstr(rep.what, "pinned"),
	       "pinning a key that is not the ledger's fails");
	{
		struct ledger *l;

		tl_open(&l, base, NULL, false, false, 0, 0, err, sizeof(err));
		ledger_public_key(l, pk, err, sizeof(err));
		ledger_close(l);
	}
	tap_ok(verify(base, pk) == 0 && rep.ok, "pinning the right key passes");

	copy("pubkey", p, sizeof(p));
	sodium_bin2hex(hex, sizeof(hex), pk, 32);
	hex[0] = hex[0] == 'a' ? 'b' : 'a';
	snprintf(stmt, sizeof(stmt),
		 "UPDATE meta SET v = x'%s' WHERE k = 'pubkey'", hex);
	sql(p, stmt);
	tap_ok(verify(p, NULL) == 0 && !rep.ok && strstr(rep.what, "signature"),
	       "recorded public key replaced: heads no longer verify");

	copy("rewritten", p, sizeof(p));
	tap_ok(rewrite_all(p) == 0 && verify(p, NULL) == 0 && !rep.ok &&
	       rep.bad_index == 4 && strstr(rep.what, "size 8") &&
	       strstr(rep.what, "4..7"),
	       "entry 5 changed, every leaf and chain recomputed: the head at"
	       " 8 names entries 4..7");

	copy("head_root", p, sizeof(p));
	sql(p, "UPDATE tree_heads SET root = zeroblob(32) WHERE size = 16");
	tap_ok(verify(p, NULL) == 0 && !rep.ok && strstr(rep.what, "size 16") &&
	       strstr(rep.what, "12..15"), "head root edited: entries 12..15 named");

	tl_rmrf(dir);
	return tap_done();
}
