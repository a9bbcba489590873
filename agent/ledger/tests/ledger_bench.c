// SPDX-License-Identifier: GPL-2.0
/*
 * ledger-bench [-n RECORDS] [-b BATCH] [-p PAYLOAD] [-d DIR]: durable
 * append throughput of the ledger (group commit of BATCH records, WAL,
 * synchronous=FULL) against raw SQLite inserts of the same rows with the
 * same batching and settings, so the ratio is the cost of dedup, key and
 * device bookkeeping, hashing and signing. Prints both rates and the ratio.
 * A measurement, not a test: scripts/bench* decide what to do with it.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "ledger_testlib.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(struct tl_rec *t, long i, uint8_t *payload, uint32_t plen)
{
	char dev[16];

	snprintf(dev, sizeof(dev), "sensor-%ld", i % 16);
	tl_rec(t, "gw1", dev, (uint64_t)i, 1, (uint64_t)i * (plen + 32));
	t->r.key_len = plen + 32;
	t->r.payload = payload;
	t->r.payload_len = plen;
}

static double bench_ledger(const char *dir, long n, long batch, uint32_t plen)
{
	char db[PATH_MAX], key[PATH_MAX], err[256];
	struct ledger_result res;
	uint8_t *payload = calloc(1, plen + 1);
	struct ledger *l;
	struct tl_rec t;
	double t0;

	snprintf(db, sizeof(db), "%s/bench-ledger.db", dir);
	snprintf(key, sizeof(key), "%s/bench-ledger.key", dir);
	if (!payload || tl_open(&l, db, key, true, true, 0, 0, err, sizeof(err))) {
		fprintf(stderr, "ledger-bench: %s\n", err);
		exit(2);
	}
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		fill(&t, i, payload, plen);
		if (ledger_check_key(l, "gw1", 1, t.r.key_offset, t.r.key_len,
				     t.r.ct_hash) ||
		    tl_append(l, &t, &res) != LEDGER_APPENDED)
			exit(2);
		if ((i + 1) % batch == 0 || i + 1 == n)
			if (ledger_commit(l, err, sizeof(err)) < 0) {
				fprintf(stderr, "ledger-bench: %s\n", err);
				exit(2);
			}
	}
	t0 = now_s() - t0;
	ledger_close(l);
	free(payload);
	return (double)n / t0;
}

static double bench_raw(const char *dir, long n, long batch, uint32_t plen)
{
	uint8_t *payload = calloc(1, plen + 1), leaf[32];
	char db[PATH_MAX];
	sqlite3_stmt *st;
	struct tl_rec t;
	sqlite3 *q;
	double t0;

	snprintf(db, sizeof(db), "%s/bench-raw.db", dir);
	if (!payload || sqlite3_open(db, &q) ||
	    sqlite3_exec(q, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "CREATE TABLE r(idx INTEGER PRIMARY KEY, gateway TEXT,"
			 " device BLOB, seq INTEGER, off INTEGER, len INTEGER,"
			 " ct BLOB, integrity BLOB, payload BLOB, leaf BLOB)",
			 NULL, NULL, NULL) ||
	    sqlite3_prepare_v2(q, "INSERT INTO r VALUES(?1,?2,?3,?4,?5,?6,?7,"
			       "?8,?9,?10)", -1, &st, NULL)) {
		fprintf(stderr, "ledger-bench: %s\n", sqlite3_errmsg(q));
		exit(2);
	}
	memset(leaf, 0x11, sizeof(leaf));
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		if (i % batch == 0)
			sqlite3_exec(q, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		fill(&t, i, payload, plen);
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, i);
		sqlite3_bind_text(st, 2, t.r.gateway, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, t.r.device_id, t.r.device_id_len,
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)t.r.device_seq);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)t.r.key_offset);
		sqlite3_bind_int64(st, 6, t.r.key_len);
		sqlite3_bind_blob(st, 7, t.r.ct_hash, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st, 8, t.r.integrity, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st, 9, payload, (int)plen, SQLITE_STATIC);
		sqlite3_bind_blob(st, 10, leaf, 32, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			exit(2);
		if ((i + 1) % batch == 0 || i + 1 == n)
			if (sqlite3_exec(q, "COMMIT", NULL, NULL, NULL))
				exit(2);
	}
	t0 = now_s() - t0;
	sqlite3_finalize(st);
	sqlite3_close(q);
	free(payload);
	return (double)n / t0;
}

int main(int argc, char **argv)
{
	long n = 20000, batch = 64, plen = 256;
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX];
	double a, b;
	int opt;

	snprintf(dir, sizeof(dir), "%s", tmp && *tmp ? tmp : "/tmp");
	while ((opt = getopt(argc, argv, "n:b:p:d:h")) != -1) {
		switch (opt) {
		case 'n': n = atol(optarg); break;
		case 'b': batch = atol(optarg); break;
		case 'p': plen = atol(optarg); break;
		case 'd': snprintf(dir, sizeof(dir), "%s", optarg); break;
		default:
			fprintf(opt == 'h' ? stdout : stderr,
				"usage: ledger-bench [-n RECORDS] [-b BATCH]"
				" [-p PAYLOAD-BYTES] [-d DIR]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (n <= 0 || batch <= 0 || plen < 0 || plen > 65536) {
		fprintf(stderr, "ledger-bench: bad -n, -b or -p\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 2;
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir),
		 "/ledger-bench-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("ledger-bench: mkdtemp");
		return 2;
	}
	a = bench_ledger(dir, n, batch, (uint32_t)plen);
	b = bench_raw(dir, n, batch, (uint32_t)plen);
	printf("records %ld batch %ld payload %ld\n", n, batch, plen);
	printf("ledger %.0f records/s\nraw_sqlite %.0f records/s\n"
	       "ratio %.3f\n", a, b, a / b);
	tl_rmrf(dir);
	return 0;
}
