// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the ledger's host tests and the CLI test fixture. */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "ledger_testlib.h"

void tl_rec(struct tl_rec *t, const char *gw, const char *dev, uint64_t seq,
	    uint8_t code, uint64_t off)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->gw, sizeof(t->gw), "%s", gw);
	t->r.gateway = t->gw;
	t->r.epoch = 1;
	t->r.key_offset = off;
	t->r.key_len = 64;
	crypto_hash_sha256(t->r.ct_hash, (const uint8_t *)&off, sizeof(off));
	t->r.device_id_len = (uint8_t)strlen(dev);
	memcpy(t->dev, dev, t->r.device_id_len);
	t->r.device_id = t->dev;
	t->r.device_seq = seq;
	t->r.device_time = 1700000000000000000ull + seq;
	memset(t->r.integrity, code, sizeof(t->r.integrity));
	t->r.payload_len = (uint32_t)snprintf((char *)t->payload,
					      sizeof(t->payload),
					      "PAYLOAD#%06llu#%s#",
					      (unsigned long long)seq, dev);
	t->r.payload = t->payload;
}

void tl_mkdir(char *dir, size_t len, const char *tag)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, len, "%s/qkd-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp",
		 tag);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(2);
	}
}

static int rm_one(const char *p, const struct stat *sb, int type,
		  struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(p);
}

void tl_rmrf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int tl_open(struct ledger **l, const char *db, const char *key, bool writer,
	    bool auto_register, uint32_t sth_every, uint32_t sth_ms,
	    char *err, size_t errlen)
{
	struct ledger_opts o = {
		.db_path = db,
		.key_path = key,
		.writer = writer,
		.auto_register = auto_register,
		.sth_every = sth_every,
		.sth_ms = sth_ms,
	};

	return ledger_open(l, &o, err, errlen);
}

int tl_append(struct ledger *l, struct tl_rec *t, struct ledger_result *res)
{
	char err[256];
	int rc = ledger_append(l, &t->r, res, err, sizeof(err));

	if (rc < 0) {
		fprintf(stderr, "# append: %s\n", err);
		return rc;
	}
	return (int)res->verdict;
}
