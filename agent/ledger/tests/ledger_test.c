// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the ledger library: append, group commit and reopen,
 * deduplication, key accounting, the device rules (registration,
 * integrity change, trust), events, tree heads, the reload after another
 * connection wrote, the writer lock, rollback, and malformed input.
 * ledger_input_test.c-style checks are at the end (malformed()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "entry.h"
#include "ledger_testlib.h"
#include "merkle.h"
#include "tap.h"

static char dir[PATH_MAX], db[PATH_MAX + 16], key[PATH_MAX + 16];
static char err[256];

static void paths(const char *name)
{
	snprintf(db, sizeof(db), "%s/%s.db", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
}

static struct ledger *wopen(bool autoreg, uint32_t every, uint32_t ms)
{
	struct ledger *l = NULL;
	int rc = tl_open(&l, db, key, true, autoreg, every, ms, err,
			 sizeof(err));

	if (rc)
		fprintf(stderr, "# open %s: %s\n", db, err);
	return l;
}

static struct ledger *ropen(void)
{
	struct ledger *l = NULL;

	if (tl_open(&l, db, NULL, false, false, 0, 0, err, sizeof(err)))
		fprintf(stderr, "# open %s: %s\n", db, err);
	return l;
}

static int collect_cb(const struct ledger_entry *e, void *ctx)
{
	struct ledger_entry *out = ctx;

	out[e->index < 64 ? e->index : 63] = *e;
	out[e->index < 64 ? e->index : 63].payload = NULL;
	return 0;
}

static struct ledger_entry ents[64];

static void collect(struct ledger *l)
{
	memset(ents, 0, sizeof(ents));
	ledger_entries(l, NULL, collect_cb, ents, err, sizeof(err));
}

static bool verify_ok(struct ledger *l)
{
	struct ledger_verify_report rep;

	if (ledger_verify(l, NULL, &rep, err, sizeof(err)))
		return false;
	if (!rep.ok)
		fprintf(stderr, "# verify: %s\n", rep.what);
	return rep.ok;
}

static void basics(void)
{
	struct ledger_result res;
	struct tl_rec t;
	struct ledger *l, *r;
	struct stat sb;
	int n = 0;

	paths("basic");
	l = wopen(true, 0, 0);
	tap_ok(l && ledger_size(l) == 0, "writer creates an empty ledger");
	if (!l)
		return;
	tap_ok(stat(key, &sb) == 0 && (sb.st_mode & 0777) == 0600 &&
	       sb.st_size == 32, "signing key created as a 32-byte 0600 seed");
	for (int i = 0; i < 3; i++) {
		tl_rec(&t, "gw1", "dev-a", (uint64_t)i, 1, (uint64_t)i * 64);
		n += tl_append(l, &t, &res) == LEDGER_APPENDED &&
		     res.index == (uint64_t)i;
	}
	tap_ok(n == 3 && ledger_size(l) == 0,
	       "three staged appends, nothing committed yet");
	tap_ok(ledger_commit(l, err, sizeof(err)) == 3 && ledger_size(l) == 3,
	       "commit makes all three durable");
	tap_ok(ledger_commit(l, err, sizeof(err)) == 0, "empty commit is 0");
	tl_rec(&t, "gw1", "dev-a", 1, 1, 9999);
	tap_ok(tl_append(l, &t, &res) == LEDGER_DUPLICATE,
	       "committed (gateway, device, seq) is a duplicate");
	tl_rec(&t, "gw1", "dev-a", 7, 1, 7 * 64);
	tl_append(l, &t, &res);
	tl_rec(&t, "gw1", "dev-a", 7, 1, 8 * 64);
	tap_ok(tl_append(l, &t, &res) == LEDGER_DUPLICATE,
	       "staged (gateway, device, seq) is a duplicate too");
	tl_rec(&t, "gw2", "dev-a", 7, 1, 8 * 64);
	tap_ok(tl_append(l, &t, &res) == LEDGER_APPENDED,
	       "same device and seq on another gateway is not");
	tap_ok(ledger_commit(l, err, sizeof(err)) == 2, "commit counts 2");
	ledger_close(l);

	r = ropen();
	tap_ok(r && ledger_size(r) == 5, "reopened reader sees 5 entries");
	if (!r)
		return;
	collect(r);
	tap_ok(ents[2].type == LEDGER_T_RECORD && ents[2].device_seq == 2 &&
	       !strcmp(ents[2].gateway, "gw1") && ents[2].payload_len == 21 &&
	       ents[2].key_offset == 128 && ents[0].flags == LEDGER_F_REGISTERED &&
	       ents[1].flags == 0, "entries read back with their fields");
	tap_ok(verify_ok(r), "verify passes");
	tap_ok(ledger_append(r, &t.r, &res, err, sizeof(err)) == -EPERM,
	       "a reader cannot append (-EPERM)");
	ledger_close(r);
}

static void keys(void)
{
	uint8_t ct[32], other[32];
	struct ledger_result res;
	struct tl_rec t;
	struct ledger *l;

	paths("keys");
	l = wopen(true, 0, 0);
	if (!l)
		return;
	tl_rec(&t, "gw1", "d", 1, 1, 1000);
	memcpy(ct, t.r.ct_hash, 32);
	memset(other, 0x5a, 32);
	tap_ok(ledger_check_key(l, "gw1", 1, 1000, 64, ct) == 0, "fresh key");
	tl_append(l, &t, &res);
	tap_ok(ledger_check_key(l, "gw1", 1, 1000, 64, ct) == -EALREADY,
	       "staged key range with the same ciphertext: replay");
	ledger_commit(l, err, sizeof(err));
	tap_ok(ledger_check_key(l, "gw1", 1, 1000, 64, ct) == -EALREADY,
	       "committed key range with the same ciphertext: replay");
	tap_ok(ledger_check_key(l, "gw1", 1, 1063, 10, other) == -EKEYREVOKED &&
	       ledger_check_key(l, "gw1", 1, 990, 11, other) == -EKEYREVOKED &&
	       ledger_check_key(l, "gw1", 1, 900, 500, other) == -EKEYREVOKED,
	       "overlapping ranges with another ciphertext: key reuse");
	tap_ok(ledger_check_key(l, "gw1", 1, 1064, 10, other) == 0 &&
	       ledger_check_key(l, "gw1", 1, 936, 64, other) == 0 &&
	       ledger_check_key(l, "gw1", 2, 1000, 64, other) == 0 &&
	       ledger_check_key(l, "gw2", 1, 1000, 64, other) == 0,
	       "adjacent ranges, other epochs and gateways are fresh");
	tap_ok(ledger_check_key(l, "bad gw", 1, 0, 1, ct) == -EINVAL &&
	       ledger_check_key(l, "gw1", 1, 0, 0, ct) == -EINVAL,
	       "check_key rejects bad names and empty ranges");
	ledger_close(l);
}

static struct ledger_device devs[8];
static int ndevs;

static int dev_cb(const struct ledger_device *d, void *ctx)
{
	(void)ctx;
	if (ndevs < 8)
		devs[ndevs++] = *d;
	return 0;
}

static void devices(void)
{
	struct ledger_result res;
	struct tl_rec t;
	struct ledger *l, *r;
	uint64_t seq = 0, off = 0;
	int v;

#define REC(dev, code) (tl_rec(&t, "gw1", dev, ++seq, code, off += 64), \
			tl_append(l, &t, &res))
	paths("dev");
	l = wopen(true, 0, 0);
	if (!l)
		return;
	tap_ok(REC("A", 1) == LEDGER_APPENDED &&
	       res.flags == LEDGER_F_REGISTERED, "first record registers A");
	tap_ok(REC("A", 1) == LEDGER_APPENDED && res.flags == 0,
	       "same code: no flags");
	tap_ok(REC("A", 2) == LEDGER_APPENDED &&
	       res.flags == (LEDGER_F_INTEGRITY | LEDGER_F_UNTRUSTED) &&
	       res.index == 2, "changed code: INTEGRITY|UNTRUSTED");
	tap_ok(ledger_size(l) == 0 && ledger_commit(l, err, sizeof(err)) == 4,
	       "the integrity change added an event entry");
	collect(l);
	tap_ok(ents[3].type == LEDGER_T_EVENT &&
	       ents[3].kind == LEDGER_EV_INTEGRITY &&
	       ents[3].device_id_len == 1 && ents[3].device_id[0] == 'A' &&
	       strstr(ents[3].detail, "entry 2"), "INTEGRITY event names A");
	tap_ok(REC("A", 2) == LEDGER_APPENDED && res.flags == LEDGER_F_UNTRUSTED,
	       "untrusted device's records still appended, flagged");
	tap_ok(REC("A", 1) == LEDGER_APPENDED &&
	       res.flags == (LEDGER_F_INTEGRITY | LEDGER_F_UNTRUSTED),
	       "back to the old code does not restore trust");
	REC("A", 2);
	ledger_commit(l, err, sizeof(err));
	ndevs = 0;
	ledger_devices(l, "gw1", dev_cb, NULL, err, sizeof(err));
	tap_ok(ndevs == 1 && !devs[0].trusted && devs[0].code[0] == 1 &&
	       devs[0].current[0] == 2 && devs[0].first_code[0] == 1,
	       "device list: untrusted, expected 1, current 2");

	/* Another connection trusts A while the writer is open. */
	r = ropen();
	tap_ok(r && ledger_device_trust(r, "gw1", (const uint8_t *)"A", 1, err,
					sizeof(err)) == 0,
	       "a reader handle trusts A (commits at once)");
	tap_ok(r && ledger_size(r) == 10 && ledger_size(l) == 9,
	       "the TRUST event is entry 9; the writer has not looked yet");
	ledger_close(r);
	tap_ok(REC("A", 2) == LEDGER_APPENDED && res.flags == 0 &&
	       res.index == 10, "writer reloads its tip: next index 10, trusted");
	ledger_commit(l, err, sizeof(err));
	collect(l);
	tap_ok(ents[9].kind == LEDGER_EV_TRUST && verify_ok(l),
	       "TRUST event recorded; chain and tree still verify");
	tap_ok(ledger_device_trust(l, "gw1", (const uint8_t *)"Z", 1, err,
				   sizeof(err)) == -ENOENT,
	       "trusting an unknown device: -ENOENT");
	ledger_close(l);

	/* auto_register off */
	paths("noauto");
	l = wopen(false, 0, 0);
	if (!l)
		return;
	v = REC("B", 3);
	tap_ok(v == LEDGER_UNKNOWN_DEVICE && ledger_commit(l, err, sizeof(err)) == 1,
	       "unknown device: verdict UNKNOWN_DEVICE, one event entry");
	collect(l);
	tap_ok(ents[0].type == LEDGER_T_EVENT &&
	       ents[0].kind == LEDGER_EV_UNKNOWN_DEVICE, "the event is recorded");
	tap_ok(ledger_device_add(l, "gw1", (const uint8_t *)"B", 1, err,
				 sizeof(err)) == 0 &&
	       ledger_device_add(l, "gw1", (const uint8_t *)"B", 1, err,
				 sizeof(err)) == -EEXIST, "device add, then -EEXIST: %s", err);
	tap_ok(REC("B", 3) == LEDGER_APPENDED && res.flags == LEDGER_F_REGISTERED,
	       "pre-registered device: its first record sets its code");
	tap_ok(REC("B", 4) == LEDGER_APPENDED &&
	       (res.flags & LEDGER_F_UNTRUSTED), "and a later change untrusts it");
	ledger_commit(l, err, sizeof(err));
	ledger_close(l);
#undef REC
}

static void events_and_heads(void)
{
	struct ledger_tree_head th;
	struct ledger_result res;
	struct tl_rec t;
	struct ledger *l;
	uint8_t pk[32], leaf[32], root[32], proof[LEDGER_PROOF_MAX][32];
	struct timespec ms40 = { 0, 40 * 1000000 };
	int bad = 0, n;

	paths("sth");
	l = wopen(true, 5, 3600 * 1000);
	if (!l)
		return;
	tap_ok(ledger_event(l, LEDGER_EV_BAD_TAG, "gw1", "tag mismatch on frame 9",
			    err, sizeof(err)) == 0 &&
	       ledger_event(l, LEDGER_EV_UNKNOWN_GATEWAY, NULL, "hello from x",
			    err, sizeof(err)) == 0, "events staged");
	ledger_commit(l, err, sizeof(err));
	collect(l);
	tap_ok(ents[0].kind == LEDGER_EV_BAD_TAG && !strcmp(ents[0].gateway, "gw1") &&
	       !strcmp(ents[0].detail, "tag mismatch on frame 9") &&
	       ents[1].gateway[0] == 0, "events read back");
	for (int i = 0; i < 2; i++) {
		tl_rec(&t, "gw1", "d", (uint64_t)i, 1, (uint64_t)i * 64);
		tl_append(l, &t, &res);
	}
	ledger_commit(l, err, sizeof(err));
	tap_ok(ledger_tree_head(l, &th, err, sizeof(err)) == 1 &&
	       ledger_sth_due_ms(l) > 0, "4 entries of 5: no head, due later");
	tl_rec(&t, "gw1", "d", 2, 1, 128);
	tl_append(l, &t, &res);
	ledger_commit(l, err, sizeof(err));
	tap_ok(ledger_tree_head(l, &th, err, sizeof(err)) == 0 && th.size == 5 &&
	       ledger_sth_due_ms(l) == -1, "5th entry: head of size 5 signed");
	tap_ok(ledger_public_key(l, pk, err, sizeof(err)) == 0 &&
	       ledger_sth_verify(&th, pk), "its signature verifies");
	th.timestamp_ns++;
	tap_ok(!ledger_sth_verify(&th, pk), "a changed head does not");
	th.timestamp_ns--;
	for (uint64_t i = 0; i < 5; i++) {
		uint64_t size = 0;

		n = ledger_prove_inclusion(l, i, &size, leaf, root, proof, err,
					   sizeof(err));
		bad += n < 0 || size != 5 || memcmp(root, th.root, 32) ||
		       !merkle_verify_inclusion(i, 5, leaf, (void *)proof,
						(size_t)n, th.root);
	}
	tap_ok(!bad, "inclusion proofs of all entries verify against the head");
	tap_ok(ledger_sign_now(l, err, sizeof(err)) == 0,
	       "sign_now with nothing new signs nothing");
	tl_rec(&t, "gw1", "d", 3, 1, 192);
	tl_append(l, &t, &res);
	tap_ok(ledger_sign_now(l, err, sizeof(err)) == 1 && ledger_size(l) == 6 &&
	       ledger_tree_head(l, &th, err, sizeof(err)) == 0 && th.size == 6,
	       "sign_now commits and signs size 6");
	ledger_close(l);

	paths("sthtime");
	l = wopen(true, 1000, 30);
	if (!l)
		return;
	tl_rec(&t, "gw1", "d", 1, 1, 0);
	tl_append(l, &t, &res);
	ledger_commit(l, err, sizeof(err));
	nanosleep(&ms40, NULL);
	tl_rec(&t, "gw1", "d", 2, 1, 64);
	tl_append(l, &t, &res);
	ledger_commit(l, err, sizeof(err));
	tap_ok(ledger_tree_head(l, &th, err, sizeof(err)) == 0 && th.size == 2,
	       "after sth_ms, the next commit signs (by time)");
	tl_rec(&t, "gw1", "d", 3, 1, 128);
	tl_append(l, &t, &res);
	ledger_commit(l, err, sizeof(err));
	nanosleep(&ms40, NULL);
	tap_ok(ledger_sth_due_ms(l) == 0 && ledger_commit(l, err, sizeof(err)) == 0 &&
	       ledger_tree_head(l, &th, err, sizeof(err)) == 0 && th.size == 3,
	       "a due head is signed by an empty commit");
	ledger_close(l);
}

static void lock_and_rollback(void)
{
	struct ledger_result res;
	struct ledger *l, *l2 = NULL, *r;
	struct tl_rec t;
	int rc;

	paths("lock");
	l = wopen(true, 0, 0);
	if (!l)
		return;
	rc = tl_open(&l2, db, key, true, true, 0, 0, err, sizeof(err));
	tap_ok(rc == -EBUSY && strstr(err, "another writer"),
	       "a second writer is refused: %s", err);
	r = ropen();
	tap_ok(r != NULL, "a reader opens while the writer runs");
	ledger_close(r);
	for (int i = 0; i < 5; i++) {
		tl_rec(&t, "gw1", "d", (uint64_t)i, 1, (uint64_t)i * 64);
		tl_append(l, &t, &res);
		if (i == 1)
			ledger_commit(l, err, sizeof(err));
	}
	ledger_close(l);
	r = ropen();
	tap_ok(r && ledger_size(r) == 2 && verify_ok(r),
	       "close without commit: the 2 committed stay, 3 staged are gone");
	tl_rec(&t, "gw1", "d", 4, 1, 4 * 64);
	tap_ok(r && ledger_check_key(r, "gw1", 1, 256, 64, t.r.ct_hash) == 0,
	       "and their key use is gone too");
	ledger_close(r);
	l = wopen(true, 0, 0);
	tap_ok(l && tl_append(l, &t, &res) == LEDGER_APPENDED && res.index == 2,
	       "the lock is free after close; appends resume at 2");
	ledger_close(l);
}

/* The worked example of Documentation/ledger.rst, byte for byte. */
static void encoding_kat(void)
{
	static const char want[] = "0102" "0000000000000005" "000000003b9aca00"
				   "03" "677731" "00000001" "00" "0001" "78";
	uint8_t buf[128], leaf[32], h[32], pre[129];
	char hex[2 * sizeof(buf) + 1];
	struct ledger_entry e;
	size_t n;

	memset(&e, 0, sizeof(e));
	e.type = LEDGER_T_EVENT;
	e.index = 5;
	e.recv_ns = 1000000000;
	strcpy(e.gateway, "gw1");
	e.kind = LEDGER_EV_BAD_TAG;
	strcpy(e.detail, "x");
	n = ledger_entry_encode(&e, buf);
	sodium_bin2hex(hex, sizeof(hex), buf, n);
	tap_ok(!strcmp(hex, want), "event encoding matches the documented example");
	pre[0] = 0;
	memcpy(pre + 1, buf, n);
	crypto_hash_sha256(h, pre, n + 1);
	ledger_entry_leaf(&e, leaf);
	tap_ok(!memcmp(h, leaf, 32), "leaf hash is SHA-256(0x00 || encoding)");
}

#include "ledger_test_input.c"

int main(void)
{
	if (sodium_init() < 0)
		return 2;
	tl_mkdir(dir, sizeof(dir), "ledger");
	encoding_kat();
	basics();
	keys();
	devices();
	events_and_heads();
	lock_and_rollback();
	malformed();
	tl_rmrf(dir);
	return tap_done();
}
